"""The campaign issuers of ``spinledger worker``: ``CAMPAIGN_PROCESSES`` processes of their own, each running the job
queue's worker (``app.job_queue.QueueWorker``) on what ``app.bootstrap`` builds (``app.worker.issue_campaigns``).

Issuing a chunk is Python work (deciding a thousand awards, serialising their events): in the worker's own process
it would share one interpreter lock with the projections that follow those very events. In processes of their own,
the issuers and the projections run side by side. The worker starts them, starts again one that dies (after 1 s,
doubling to 30 s), and stops them (SIGTERM: each lets its running chunks finish); an issuer whose worker died stops
by itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Callable

from app.config import Settings

logger = logging.getLogger(__name__)
STOP_SECONDS = 120
HEALTHY_SECONDS = 60  # an issuer that ran this long before it died starts again after 1 s, not after its last back-off


class CampaignIssuers:
    """Starts, watches and stops the issuer processes."""

    def __init__(self, settings: Settings, target: Callable[[Settings, int], None]):
        """``target(settings, parent_pid)`` is what each process runs: the module it lives in is imported afresh."""
        self._settings = settings
        self._target = target
        self._context = multiprocessing.get_context("spawn")  # a fresh interpreter: no pool or thread of ours copied
        self._processes: list[BaseProcess | None] = [None] * settings.campaign_processes
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started_at: dict[int, float] = {}

    def start(self) -> None:
        for slot in range(len(self._processes)):
            self._processes[slot] = self._spawn(slot)
        self._watcher = threading.Thread(target=self._watch, name="campaign-issuers", daemon=True)
        self._watcher.start()

    def _spawn(self, slot: int) -> BaseProcess:
        process = self._context.Process(target=self._target, args=(self._settings, os.getpid()), name=f"campaign-issuer-{slot}")
        process.start()
        self._started_at[slot] = time.monotonic()
        logger.info("campaign issuer %d started (pid %s)", slot, process.pid)
        return process

    def _watch(self) -> None:
        pauses = [1.0] * len(self._processes)
        due: dict[int, float] = {}  # slot: when its dead process is started again
        while not self._stopping.wait(0.5):
            now = time.monotonic()
            for slot, process in enumerate(self._processes):
                if process is None or process.is_alive():
                    continue
                if slot not in due:
                    if now - self._started_at.get(slot, now) > HEALTHY_SECONDS:
                        pauses[slot] = 1.0  # it had run a good while: this is a new failure, not the same one again
                    logger.error("campaign issuer %d (pid %s) exited with %s; starting it again in %.0f s",
                                 slot, process.pid, process.exitcode, pauses[slot])
                    due[slot] = now + pauses[slot]
                    pauses[slot] = min(30.0, pauses[slot] * 2)
                elif now >= due[slot]:
                    del due[slot]
                    self._processes[slot] = self._spawn(slot)

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
        for process in self._processes:
            if process is not None and process.is_alive():
                process.terminate()  # SIGTERM: its running chunks finish first
        for process in self._processes:
            if process is not None:
                process.join(timeout=STOP_SECONDS)
                if process.is_alive():
                    process.kill()
