"""The reporting store: SQLite by default, PostgreSQL by URL, written one atomic range at a time.

Each committed range writes its raw events, its projection changes, its blocks and the new
checkpoint in one database transaction: a crash at any instant leaves the store at the end of the
last committed range, and the restart continues from there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, create_engine, delete, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from ..errors import CrossborderError, InvalidInput
from . import schema as s
from .events import Event, Undecoded
from .projections import Projection, all_projections, bulk_insert, load_events

# Blocks without events are kept only this far below the checkpoint: deep enough for any reorg
# the follow loop can meet, small enough not to grow with the chain.
KEEP_EMPTY_BLOCKS = 1024


class StoreError(CrossborderError):
    """The reporting store cannot be opened or written."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The last block whose events are all in the store."""

    block_number: int
    block_hash: str


@dataclass(frozen=True, slots=True)
class BlockInfo:
    number: int
    hash: str
    timestamp: int


def default_db_url(devnet_dir: Path) -> str:
    """The SQLite file next to the devnet's state."""
    return f"sqlite:///{devnet_dir / 'index.sqlite'}"


def make_engine(url: str) -> Engine:
    """An engine for a SQLite file or a PostgreSQL server (``postgresql+psycopg://…``).

    Raises:
        InvalidInput: The URL is malformed or names another database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"{url!r} is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise InvalidInput(f"the reporting store is SQLite or PostgreSQL, not {backend!r}")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL with synchronous=NORMAL survives a killed process; only a power cut may lose the
    # last commits, never leave one half-written.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A backfill writes large ranges: a 64 MiB page cache keeps the indexes' pages in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


class Store:
    """The reporting store of one platform deployment.

    Args:
        url: The SQLAlchemy database URL.
        scenarios: Each scenario contract's address (lowercase) and scenario code.
    """

    def __init__(self, url: str, scenarios: Mapping[str, int] | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.projections: list[Projection] = all_projections(dict(scenarios or {}))
        self._commits = 0

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def create(self) -> None:
        """Create the tables that do not exist yet.

        Raises:
            StoreError: The database cannot be reached.
        """
        try:
            s.metadata.create_all(self.engine)
        except OperationalError as error:
            raise StoreError(f"cannot open the reporting store {self!r}: {error.orig}") from None

    def drop(self) -> None:
        """Drop every table of the store (for a re-index from scratch)."""
        s.metadata.drop_all(self.engine)

    # -- reading ---------------------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.checkpoint.c.block_number, s.checkpoint.c.block_hash)
            ).first()
        return Checkpoint(row.block_number, row.block_hash) if row is not None else None

    def recent_blocks(self, below: int, limit: int) -> list[tuple[int, str]]:
        """Stored ``(number, hash)`` pairs at or below ``below``, highest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(s.blocks.c.number, s.blocks.c.hash)
                .where(s.blocks.c.number <= below)
                .order_by(s.blocks.c.number.desc())
                .limit(limit)
            ).all()
        return [(r.number, r.hash) for r in rows]

    def event_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(s.raw_events)).scalar_one())

    def undecoded_count(self) -> int:
        """Logs of the platform's contracts kept undecoded (no known event matched them)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(s.undecoded_logs)).scalar_one()
            )

    # -- writing ---------------------------------------------------------------------------------

    def commit_range(
        self,
        events: Sequence[Event],
        blocks: Sequence[BlockInfo],
        end: BlockInfo,
        undecoded: Sequence[Undecoded] = (),
    ) -> None:
        """Store one range's events and projections and move the checkpoint to its end block.

        All of it is one transaction: either the whole range is stored, or none of it. Logs
        that no known event decodes are kept whole in ``undecoded_logs``.
        """
        with self.engine.begin() as conn:
            if events:
                bulk_insert(conn, s.raw_events, [_raw_row(e) for e in events])
                for projection in self.projections:
                    projection.fold(conn, events)
            if undecoded:
                bulk_insert(conn, s.undecoded_logs, [_undecoded_row(u) for u in undecoded])
            counts: dict[int, int] = {}
            for number in [e.block_number for e in events] + [u.block_number for u in undecoded]:
                counts[number] = counts.get(number, 0) + 1
            rows = {b.number: b for b in blocks}
            rows[end.number] = end
            conn.execute(
                s.blocks.insert(),
                [
                    {
                        "number": b.number,
                        "hash": b.hash,
                        "timestamp": b.timestamp,
                        "events": counts.get(b.number, 0),
                    }
                    for b in sorted(rows.values(), key=lambda b: b.number)
                ],
            )
            self._set_checkpoint(conn, end.number, end.hash)
            self._commits += 1
            if self._commits % 100 == 0:
                conn.execute(
                    delete(s.blocks).where(
                        (s.blocks.c.events == 0)
                        & (s.blocks.c.number < end.number - KEEP_EMPTY_BLOCKS)
                    )
                )

    def rollback(self, ancestor: Checkpoint | None) -> int:
        """Forget everything above the common ancestor, in one transaction.

        Args:
            ancestor: The highest stored block still on the chain, or None to forget everything.

        Returns:
            How many raw events were dropped.
        """
        number = ancestor.block_number if ancestor is not None else -1
        with self.engine.begin() as conn:
            orphans = load_events(conn, s.raw_events.c.block_number > number)
            for projection in self.projections:
                projection.rollback(conn, orphans, number)
            conn.execute(delete(s.raw_events).where(s.raw_events.c.block_number > number))
            conn.execute(delete(s.undecoded_logs).where(s.undecoded_logs.c.block_number > number))
            conn.execute(delete(s.blocks).where(s.blocks.c.number > number))
            if ancestor is None:
                conn.execute(delete(s.checkpoint))
            else:
                self._set_checkpoint(conn, ancestor.block_number, ancestor.block_hash)
        return len(orphans)

    @staticmethod
    def _set_checkpoint(conn: Connection, number: int, block_hash: str) -> None:
        updated = conn.execute(
            s.checkpoint.update()
            .where(s.checkpoint.c.id == 1)
            .values(block_number=number, block_hash=block_hash)
        )
        if updated.rowcount == 0:
            conn.execute(
                s.checkpoint.insert().values(id=1, block_number=number, block_hash=block_hash)
            )


# Five times faster than json.dumps on the backfill's hot path; big integers stay exact.
_ARGS_JSON = msgspec.json.Encoder()


def _raw_row(e: Event) -> dict[str, Any]:
    return {
        "block_number": e.block_number,
        "log_index": e.log_index,
        "block_hash": e.block_hash,
        "block_time": e.block_time,
        "tx_hash": e.tx_hash,
        "address": e.address,
        "event": e.name,
        "topic1": e.topic1,
        "args": _ARGS_JSON.encode(e.args).decode(),
    }


def _undecoded_row(u: Undecoded) -> dict[str, Any]:
    return {
        "block_number": u.block_number,
        "log_index": u.log_index,
        "block_hash": u.block_hash,
        "tx_hash": u.tx_hash,
        "address": u.address,
        "topics": " ".join(u.topics),
        "data": u.data,
    }
