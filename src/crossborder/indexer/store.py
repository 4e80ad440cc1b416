"""The reporting store: SQLite by default, PostgreSQL by URL, written one atomic range at a time.

Each committed range writes its raw events, its projection changes, its blocks and the new
checkpoint in one database transaction: a crash at any instant leaves the store at the end of the
last committed range, and the restart continues from there.

Several indexers may write one store at once (``crossborder up`` follows while a scheduled
``crossborder index --once`` runs): every write transaction first takes the store's write lock
(SQLite ``BEGIN IMMEDIATE``, a PostgreSQL transaction-level advisory lock) and then checks that
the checkpoint is still the one its range continues. If another indexer moved it meanwhile,
nothing is written (``CheckpointMoved``) and the indexer continues from the new checkpoint: the
store ends with exactly the rows one indexer writes.
"""

from __future__ import annotations

import enum
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, create_engine, delete, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..errors import CrossborderError, InvalidInput
from . import schema as s
from .events import Event, Undecoded
from .projections import Anomaly, Projection, all_projections, bulk_insert, load_events

# Blocks without events are kept only this far below the checkpoint: deep enough for any reorg
# the follow loop can meet, small enough not to grow with the chain.
KEEP_EMPTY_BLOCKS = 1024


# The PostgreSQL advisory lock every writer of a store takes ("crossbor" in ASCII).
PG_WRITE_LOCK = 0x63726F7373626F72


class StoreError(CrossborderError):
    """The reporting store cannot be opened or written."""


class CheckpointMoved(CrossborderError):
    """Another indexer committed to the store since this one read its checkpoint: nothing was
    written; read the checkpoint again and continue from there."""


class _Unchecked(enum.Enum):
    ANY = 0


ANY = _Unchecked.ANY


def first_line(error: BaseException) -> str:
    """The first line of an error's message (drivers' messages run over several lines)."""
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


@dataclass(frozen=True, slots=True)
class Discovered:
    """A scenario contract the ledger authorised after the deployment, as the store keeps it.

    Attributes:
        address: Lowercase.
        contract: Its compiled contract's name; None when no compiled contract matched its code.
        scenario: Its scenario code (0 when unknown).
        block_number: The authorising block: its logs are indexed from there on.
    """

    address: str
    contract: str | None
    scenario: int
    block_number: int


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


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for a SQLite file or a PostgreSQL server (``postgresql+psycopg://…``).

    Args:
        url: The SQLAlchemy URL.
        create: Make the SQLite file's folder (a writer); a reader creates nothing.

    Raises:
        InvalidInput: The URL is malformed or names another database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"{url!r} is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if create and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_pragmas if create else _sqlite_reader_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # An unreachable server fails in seconds, not after the OS's TCP timeout.
        args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
        return create_engine(parsed, pool_pre_ping=True, connect_args=args)
    raise InvalidInput(f"the reporting store is SQLite or PostgreSQL, not {backend!r}")


SQLITE_BUSY_SECONDS = 30.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    # WAL with synchronous=NORMAL survives a killed process; only a power cut may lose the
    # last commits, never leave one half-written.
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A backfill writes large ranges: a 64 MiB page cache keeps the indexes' pages in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, retried: on a new file that another process opens at the
    same instant (two indexers started together), SQLite refuses the switch at once with
    "database is locked" without waiting for its busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def outdated_tables(conn: Connection) -> list[str]:
    """Tables of the store that lack columns this version writes (``table.column``): a store
    indexed by an older version, which ``create`` cannot extend; re-index it into a new one."""
    inspector = inspect(conn)
    missing: list[str] = []
    for table in s.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    return missing


def _outdated_message(shown: str, missing: Sequence[str]) -> str:
    return (
        f"the reporting store {shown} was indexed by an older version (no "
        f"{', '.join(missing[:3])}{', …' if len(missing) > 3 else ''}): index again into a new "
        "store, or drop this one first"
    )


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def open_for_reading(url: str) -> Engine:
    """An engine on an existing, indexed store, for the reports: nothing is created.

    Raises:
        InvalidInput: The URL is malformed or names another database.
        StoreError: No store there, it cannot be reached, or it was never indexed.
    """
    engine = make_engine(url, create=False)
    parsed = engine.url
    never = f"run `crossborder index --once --db {_shown(url)}` first"
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.is_file():
            engine.dispose()
            raise StoreError(f"no reporting store at {path}: it was never indexed; {never}")
    try:
        with engine.connect() as conn:
            indexed = inspect(conn).has_table(s.checkpoint.name)
            missing = outdated_tables(conn) if indexed else []
    except SQLAlchemyError as error:
        engine.dispose()
        cause = getattr(error, "orig", None) or error
        raise StoreError(
            f"cannot open the reporting store {_shown(url)}: {first_line(cause)}"
        ) from None
    if not indexed:
        engine.dispose()
        raise StoreError(f"the reporting store {_shown(url)} was never indexed; {never}")
    if missing:
        engine.dispose()
        raise StoreError(_outdated_message(_shown(url), missing))
    return engine


class Store:
    """The reporting store of one platform deployment.

    Args:
        url: The SQLAlchemy database URL.
        scenarios: Each scenario contract's address (lowercase) and scenario code.
    """

    def __init__(self, url: str, scenarios: Mapping[str, int] | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Shared with the projections: the indexer adds the scenarios it discovers.
        self.scenarios: dict[str, int] = dict(scenarios or {})
        self.projections: list[Projection] = all_projections(self.scenarios)
        self._commits = 0

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def create(self) -> None:
        """Create the tables that do not exist yet (under the write lock: two indexers may
        start at once).

        Raises:
            StoreError: The database cannot be reached, or an older version indexed it (its
                tables lack columns this version writes).
        """
        try:
            with self._writing(ANY) as conn:
                s.metadata.create_all(conn)
                missing = outdated_tables(conn)
        except OperationalError as error:
            raise StoreError(
                f"cannot open the reporting store {self!r}: {first_line(error.orig or error)}"
            ) from None
        if missing:
            raise StoreError(
                _outdated_message(self.engine.url.render_as_string(hide_password=True), missing)
            )

    @contextmanager
    def _writing(self, expected: Checkpoint | _Unchecked | None) -> Iterator[Connection]:
        """One write transaction under the store's write lock, committed at the end.

        Args:
            expected: The checkpoint the write continues from; ``ANY`` to skip the check.

        Raises:
            CheckpointMoved: The checkpoint is no longer ``expected``: nothing was written.
        """
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # Takes the write lock now (waiting up to busy_timeout), not at the first write:
                # a deferred transaction could not write after another writer's commit.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})
            if expected is not ANY:
                found = self._checkpoint(conn)
                if found != expected:
                    conn.rollback()
                    raise CheckpointMoved(
                        f"the checkpoint moved from {_at(expected)} to {_at(found)}"
                    )
            yield conn
            conn.commit()

    def drop(self) -> None:
        """Drop every table of the store (for a re-index from scratch)."""
        s.metadata.drop_all(self.engine)

    # -- reading ---------------------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint | None:
        with self.engine.connect() as conn:
            return self._checkpoint(conn)

    @staticmethod
    def _checkpoint(conn: Connection) -> Checkpoint | None:
        row = conn.execute(select(s.checkpoint.c.block_number, s.checkpoint.c.block_hash)).first()
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

    def event_count(self, up_to_block: int | None = None) -> int:
        """Events stored, or those in blocks up to ``up_to_block`` (to compare two indexes that
        stopped at different heads)."""
        query = select(func.count()).select_from(s.raw_events)
        if up_to_block is not None:
            query = query.where(s.raw_events.c.block_number <= up_to_block)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def undecoded_count(self) -> int:
        """Logs of the platform's contracts kept undecoded (no known event matched them)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(s.undecoded_logs)).scalar_one()
            )

    def anomaly_count(self) -> int:
        """Events some projection could not fold (kept in raw_events, listed in anomalies)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(s.anomalies)).scalar_one())

    def discovered(self) -> list[Discovered]:
        """The scenario contracts found after the deployment, in the order they were found."""
        t = s.discovered_contracts
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.block_number, t.c.address)).all()
        return [Discovered(r.address, r.contract, r.scenario, r.block_number) for r in rows]

    # -- writing ---------------------------------------------------------------------------------

    def commit_range(
        self,
        events: Sequence[Event],
        blocks: Sequence[BlockInfo],
        end: BlockInfo,
        undecoded: Sequence[Undecoded] = (),
        *,
        expected: Checkpoint | _Unchecked | None = ANY,
        discovered: Sequence[Discovered] = (),
    ) -> list[Anomaly]:
        """Store one range's events and projections and move the checkpoint to its end block.

        All of it is one transaction: either the whole range is stored, or none of it. Logs
        that no known event decodes are kept whole in ``undecoded_logs``; an event a projection
        cannot fold is skipped by that projection and listed in ``anomalies``, never fatal.

        Args:
            expected: The checkpoint this range continues (``ANY``: do not check).
            discovered: Scenario contracts found in this range.

        Returns:
            The anomalies of this range.

        Raises:
            CheckpointMoved: Another indexer moved the checkpoint: nothing was written.
        """
        try:
            return self._commit_range(events, blocks, end, undecoded, expected, discovered, False)
        except IntegrityError:
            # A creating event whose entity already exists (the fast path does not look creators
            # up): fold again looking every entity up, so that it becomes an anomaly.
            return self._commit_range(events, blocks, end, undecoded, expected, discovered, True)

    def _commit_range(
        self,
        events: Sequence[Event],
        blocks: Sequence[BlockInfo],
        end: BlockInfo,
        undecoded: Sequence[Undecoded],
        expected: Checkpoint | _Unchecked | None,
        discovered: Sequence[Discovered],
        careful: bool,
    ) -> list[Anomaly]:
        anomalies: list[Anomaly] = []
        with self._writing(expected) as conn:
            if events:
                bulk_insert(conn, s.raw_events, [_raw_row(e) for e in events])
                for projection in self.projections:
                    projection.fold(conn, events, anomalies=anomalies, careful=careful)
            if anomalies:
                bulk_insert(conn, s.anomalies, [a.row() for a in anomalies])
            if discovered:
                bulk_insert(
                    conn,
                    s.discovered_contracts,
                    [
                        {
                            "address": d.address,
                            "contract": d.contract,
                            "scenario": d.scenario,
                            "block_number": d.block_number,
                        }
                        for d in discovered
                    ],
                )
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
        return anomalies

    def rollback(
        self, ancestor: Checkpoint | None, *, expected: Checkpoint | _Unchecked | None = ANY
    ) -> int:
        """Forget everything above the common ancestor, in one transaction.

        Args:
            ancestor: The highest stored block still on the chain, or None to forget everything.
            expected: The checkpoint the reorg was found at (``ANY``: do not check).

        Returns:
            How many raw events were dropped.

        Raises:
            CheckpointMoved: Another indexer moved the checkpoint: nothing was changed.
        """
        number = ancestor.block_number if ancestor is not None else -1
        with self._writing(expected) as conn:
            conn.execute(delete(s.anomalies).where(s.anomalies.c.block_number > number))
            orphans = load_events(conn, s.raw_events.c.block_number > number)
            for projection in self.projections:
                projection.rollback(conn, orphans, number)
            conn.execute(delete(s.raw_events).where(s.raw_events.c.block_number > number))
            conn.execute(delete(s.undecoded_logs).where(s.undecoded_logs.c.block_number > number))
            conn.execute(
                delete(s.discovered_contracts).where(s.discovered_contracts.c.block_number > number)
            )
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


def _at(checkpoint: Checkpoint | _Unchecked | None) -> str:
    if isinstance(checkpoint, Checkpoint):
        return f"block {checkpoint.block_number}"
    return "nothing indexed"


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
