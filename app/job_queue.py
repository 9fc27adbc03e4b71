"""The durable job queue: procrastinate 3.10 on the service's PostgreSQL (its tables come with migration 0004).
A campaign's chunks are its jobs, one per chunk of players, run by ``spinledger worker``.

Why procrastinate rather than pgqueuer (both install beside eventsourcing and psycopg 3 here):
- a job can be deferred with a connection of ours, inside our own transaction: a launch's chunk rows and their
  jobs commit together, or neither does;
- a task may be a plain function, run in a thread by the worker: the award path is synchronous code;
- its workers send heartbeats, and the jobs of a worker that stopped sending them (killed, frozen) can be listed
  and retried: a worker killed in the middle of a chunk leaves a job that another worker, or the same one
  restarted, takes up again;
- retries with back-off and a maximum, per task; its schema is SQL we apply with our own migrations.
pgqueuer's consumers are asyncio only, and it has no transactional enqueue with an outside connection.
Neither gives exactly-once: a chunk may run twice, and the idempotency keys make its awards once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Callable, Protocol, Sequence

import procrastinate
from procrastinate import App, PsycopgConnector, RetryStrategy, SyncPsycopgConnector

from app.campaign_store import Chunk

logger = logging.getLogger(__name__)

QUEUE = "campaigns"
ISSUE_CHUNK = "campaigns.issue_chunk"
# A chunk that fails (the database away, a bug) is tried again 8 times, after 2, 4, 8, … 256 s (about 8.5 minutes
# in all), and then the campaign fails.
CHUNK_RETRIES = 8
CHUNK_RETRY = RetryStrategy(max_attempts=CHUNK_RETRIES, exponential_wait=2)


class ChunkIssuer(Protocol):
    def issue_chunk(self, campaign_id: str, chunk: int, *, final_attempt: bool) -> None: ...


def deferring_queue() -> App:
    """The queue as the web app and the CLI use it: to defer jobs, only ever with a connection of the caller's
    (so it opens no pool of its own)."""
    return App(connector=SyncPsycopgConnector())


def defer_chunks(queue: App, conn: Any, campaign_id: str, chunks: Sequence[Chunk]) -> list[int]:
    """One job per chunk, in the caller's transaction on ``conn``; their ids, in order."""
    deferrer = queue.configure_task(ISSUE_CHUNK, queue=QUEUE, connection=conn)
    return deferrer.batch_defer(*({"campaign_id": campaign_id, "chunk": chunk.chunk} for chunk in chunks))


class QueueWorker:
    """Runs procrastinate's worker on its own event loop, in a thread of the worker process: ``concurrency`` chunks
    at once, each in a thread of its own; and, every ``stalled_check_seconds``, takes up again the jobs of workers
    whose heartbeat stopped for ``stalled_seconds``."""

    def __init__(self, conninfo: str, issuer: ChunkIssuer, *, concurrency: int, heartbeat_seconds: float,
                 stalled_seconds: float, stalled_check_seconds: float, poll_seconds: float = 5.0):
        self._app = App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=concurrency + 3))
        self._app.task(name=ISSUE_CHUNK, queue=QUEUE, pass_context=True, retry=CHUNK_RETRY)(self._run_chunk(issuer))
        self._concurrency = concurrency
        self._heartbeat_seconds = heartbeat_seconds
        self._stalled_seconds = stalled_seconds
        self._stalled_check_seconds = stalled_check_seconds
        self._poll_seconds = poll_seconds
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._stopping = threading.Event()

    @staticmethod
    def _run_chunk(issuer: ChunkIssuer) -> Callable[..., None]:
        def issue_chunk(context: procrastinate.JobContext, campaign_id: str, chunk: int) -> None:
            # ``attempts`` counts the runs before this one: the queue retries while it is below CHUNK_RETRIES.
            issuer.issue_chunk(campaign_id, chunk, final_attempt=context.job.attempts >= CHUNK_RETRIES)

        return issue_chunk

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="job-queue", daemon=True)
        self._thread.start()
        self._started.wait(timeout=30)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Lets the running chunks finish, then stops."""
        self._stopping.set()
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            try:
                loop.call_soon_threadsafe(main.cancel)
            except RuntimeError:  # its loop has just ended (between two runs)
                pass
        if self._thread is not None:
            self._thread.join(timeout=120)

    def _run(self) -> None:
        """Runs the queue's worker, and runs it again (after 1, 2, 4 … 30 s) whenever it stops other than by
        ``stop``: a database away, a listener that failed."""
        pause = 1.0
        while not self._stopping.is_set():
            try:
                asyncio.run(self._serve())
            except Exception:
                logger.exception("the job queue's worker stopped; it starts again in %.0f s", pause)
            else:
                if not self._stopping.is_set():
                    logger.error("the job queue's worker stopped by itself; it starts again in %.0f s", pause)
            self._started.set()
            if self._stopping.wait(pause):
                return
            pause = min(30.0, pause * 2)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        async with self._app.open_async():
            recovery = asyncio.create_task(self._retry_stalled_forever())
            self._started.set()
            try:
                await self._app.run_worker_async(
                    queues=[QUEUE], name="spinledger-worker", concurrency=self._concurrency, install_signal_handlers=False,
                    update_heartbeat_interval=self._heartbeat_seconds, stalled_worker_timeout=self._stalled_seconds,
                    fetch_job_polling_interval=self._poll_seconds, delete_jobs="successful",
                )
            except asyncio.CancelledError:
                pass
            finally:
                recovery.cancel()

    def drain(self) -> None:
        """Runs the queue's jobs until none is left, then returns (for the CLI's one-off runs and the tests)."""

        async def run() -> None:
            async with self._app.open_async():
                await self._app.run_worker_async(queues=[QUEUE], name="spinledger-drain", concurrency=self._concurrency,
                                                 install_signal_handlers=False, wait=False, listen_notify=False,
                                                 delete_jobs="successful")

        asyncio.run(run())

    async def _retry_stalled_forever(self) -> None:
        while True:
            try:
                await self.retry_stalled()
            except Exception:
                logger.exception("job queue: looking for stalled jobs failed")
            await asyncio.sleep(self._stalled_check_seconds)

    async def retry_stalled(self) -> int:
        """Puts back in the queue the jobs of workers whose heartbeat stopped."""
        stalled = list(await self._app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=self._stalled_seconds))
        for job in stalled:
            await self._app.job_manager.retry_job(job)
            logger.warning("job queue: job %s (%s %s) of a worker that stopped is queued again", job.id, job.task_name, job.task_kwargs)
        return len(stalled)
