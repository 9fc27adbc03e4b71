"""What every read model shares: a view that applies a batch of events and its tracking in one transaction.

A view is an ``eventsourcing`` ``PostgresTrackingRecorder``: its tables and its own tracking table live
in PostgreSQL (defined by the schema migrations, ``app/schema/migrations``), and each batch of events is
written together with the position it reaches, so a view is exactly once and resumable. Handlers fold a
batch into rows in memory first, then write each table with one statement (``unnest`` of arrays), so that
catching up costs a few statements per thousand events.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from projections.table_copies import copy_indexes, copy_table


class View(PostgresTrackingRecorder):
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]  # the view's own tables, replaced by a rebuild
    indexes: ClassVar[tuple[str, ...]]  # their secondary indexes (a rebuild renames them too)

    def __init__(self, datastore: PostgresDatastore, *, prefix: str = ""):
        super().__init__(datastore, tracking_table_name=f"{prefix}{self.name}_tracking")
        self.prefix = prefix

    def create_tables(self, *, query_indexes: bool = True) -> None:
        """A prefixed view's tables, if they are not made yet, as copies of the live ones (see
        ``projections.table_copies``); unless told not to, with the indexes only reads use."""
        if not self.prefix:
            raise ValueError("a view's live tables are made by the schema migrations")
        with self.datastore.transaction(commit=True) as cursor:
            for live, copy in self._copies():
                copy_table(cursor, live, copy, self.prefix, query_indexes=query_indexes)
            # The library's mark of a tracking table it made: were it ever to create this one again, it would
            # otherwise take it for an older layout and rename it aside.
            cursor.execute(
                sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE application_name = '__migration__' ON CONFLICT DO NOTHING").format(
                    sql.Identifier(self.tracking_table_name), sql.Identifier(f"{self.name}_tracking")
                )
            )

    def create_query_indexes(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            for live, copy in self._copies():
                copy_indexes(cursor, live, copy, self.prefix, unique=False)

    def _copies(self) -> list[tuple[str, str]]:
        """Each live table of the view, its tracking table's included, with the name of its copy."""
        return [(table, self.prefix + table) for table in (*self.tables, f"{self.name}_tracking")]

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def apply(self, events: Sequence[tuple[Any, Tracking]], position: Tracking) -> None:
        """Writes what ``events`` change, and ``position``, in one transaction."""
        positions = [tracking.notification_id for _, tracking in events]
        self.apply_prepared(self.prepare([event for event, _ in events], positions), positions, position)

    def prepare(self, events: list[Any], positions: list[int]) -> list[Any]:
        """The part of handling a batch (the events at ``positions``) done before its transaction opens (decoding,
        formatting); ``write`` takes what it returns. A rebuild calls it in its reading thread, so that it overlaps
        writing the batch before."""
        return events

    def apply_prepared(self, prepared: list[Any], positions: list[int], position: Tracking) -> None:
        """Writes a prepared batch (the events at ``positions``), and ``position``, in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            # A view is derived data: after a crash, a batch not yet flushed is simply applied again, from the
            # position committed with it, so its commit need not wait for the disk.
            cursor.execute("SET LOCAL synchronous_commit = off")
            if prepared:
                self.write(cursor, prepared, positions)
            self._insert_tracking(cursor, position)

    @abstractmethod
    def write(self, cursor: Cursor[DictRow], events: list[Any], positions: list[int]) -> None:
        """Folds the (prepared) events at these notification ids into rows and writes them; ``apply`` writes
        the tracking."""

    def all_table_names(self) -> list[str]:
        return [self.table(name) for name in self.tables] + [self.tracking_table_name]


class BatchProjection(Projection[View]):
    """A projection whose events are handled by its view in batches; ``process_event`` is one event.

    ``decoded`` false: the projection is handed the store's notifications, undecoded (the event index,
    which records the stored form itself)."""

    decoded: ClassVar[bool] = True

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply([(domain_event, tracking)], tracking)

    def process_batch(self, events: Sequence[tuple[Any, Tracking]], position: Tracking) -> None:
        self.view.apply(events, position)

    def process_prepared(self, prepared: list[Any], positions: list[int], position: Tracking) -> None:
        """A batch already through ``view.prepare``."""
        self.view.apply_prepared(prepared, positions, position)
