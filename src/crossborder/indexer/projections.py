"""Projections: the reporting tables as a fold of the platform's events.

An *entity* projection (a participant, a document, a financing…) keeps one row per key, created
by one event and changed by later ones; all events of one entity carry the same first topic, so
that a reorg can find them again in the raw events table and recompute the entity from those
that remain. An event may also end an entity (a voided document): its row is deleted, and a
later creating event starts a new one. A *fact* projection (a verification attempt, a lifecycle
step, a force-release) appends one row per event, keyed by the event's position, and a reorg
simply deletes the rows above the ancestor.

Every decoded event is kept in ``raw_events`` whether or not a projection folds it; ``RAW_ONLY``
names the events no projection folds on purpose.

An event a projection cannot fold (it contradicts the rows, e.g. releases a hold never taken, or
its arguments have an unexpected shape) never stops the indexer: that projection skips it, and
the event is listed in ``anomalies`` with the reason. A reorg's replay skips it again.

Forward indexing folds a whole committed range in memory: rows first touched by an event that
creates them are inserted without a look-up, the others are read once, changed, and written back.

A few columns are no event's but follow from other projections' rows (a policy's buyer credit
limit used by its live financings, a claim's amount applied to repayments): the last projection
(``PolicyFinancingTotals``) recomputes them after the others, for what a range touched, and for
everything after a reorg.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, select, tuple_

from ..chain.packing import unpack
from ..domain.codes import DocumentType, FinancingState
from ..errors import CrossborderError
from . import schema as s
from .events import Event

Row = dict[str, Any]
Key = tuple[Any, ...]
CHUNK = 500
ZERO32 = "0x" + "00" * 32
DECLARATION = int(DocumentType.EXPORT_DECLARATION)
# Document types the ledger never links (a declaration is not linked to a declaration).
UNLINKED_TYPES = frozenset({DECLARATION, int(DocumentType.IMPORT_DECLARATION)})


class ProjectionError(CrossborderError):
    """An event contradicts the projections (e.g. it changes an entity never created)."""


# What a projection's fold may raise on one event it cannot fold: a contradiction, or arguments
# missing or of the wrong type.
NOT_FOLDABLE = (ProjectionError, KeyError, TypeError, ValueError, IndexError)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """An event one projection could not fold: skipped by it, kept in raw_events."""

    block_number: int
    log_index: int
    projection: str
    event: str
    address: str
    message: str

    @classmethod
    def of(cls, projection: str, event: Event, error: BaseException) -> Anomaly:
        message = str(error) if isinstance(error, ProjectionError) else repr(error)
        return cls(
            event.block_number, event.log_index, projection, event.name, event.address, message
        )

    def row(self) -> Row:
        return {
            "block_number": self.block_number,
            "log_index": self.log_index,
            "projection": self.projection,
            "event": self.event,
            "address": self.address,
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.event} at block {self.block_number}, log {self.log_index}: {self.message}"


def _skipped(conn: Connection, projection: str, ancestor: int) -> set[tuple[int, int]]:
    """The events this projection already skipped as anomalies, at or below ``ancestor``."""
    a = s.anomalies
    rows = conn.execute(
        select(a.c.block_number, a.c.log_index).where(
            (a.c.projection == projection) & (a.c.block_number <= ancestor)
        )
    )
    return {(r.block_number, r.log_index) for r in rows}


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Insert many rows through the driver's executemany, skipping SQLAlchemy's per-row
    parameter processing (the hot path of a backfill). JSON values must be passed as text."""
    compiled = table.insert().compile(dialect=conn.dialect)
    if compiled.positiontup is not None and len(compiled.positiontup) > 1:
        # itemgetter builds each row's tuple in C (a backfill makes millions of them).
        pick = itemgetter(*compiled.positiontup)
        conn.exec_driver_sql(compiled.string, [pick(r) for r in rows])
    elif compiled.positiontup is not None:
        (only,) = compiled.positiontup
        conn.exec_driver_sql(compiled.string, [(r[only],) for r in rows])
    else:
        conn.exec_driver_sql(compiled.string, list(rows))


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class EntityProjection(ABC):
    """One row per entity key, folded from the entity's events.

    Subclasses set ``table``, ``key_columns`` and ``creators`` (events that start an entity; an
    ``upsert`` projection lets any of its events start one) and implement ``key`` and ``apply``.
    """

    table: Table
    key_columns: tuple[str, ...]
    events: frozenset[str]
    creators: frozenset[str]
    upsert = False

    @abstractmethod
    def key(self, event: Event) -> Key:
        """The entity an event belongs to."""

    @abstractmethod
    def apply(self, row: Row | None, event: Event) -> Row | None:
        """The entity's row after ``event`` (``row`` is None when the entity is new); None when
        the event ends the entity (its row is deleted)."""

    # -- folding ---------------------------------------------------------------------------------

    def fold(
        self,
        conn: Connection,
        events: Sequence[Event],
        *,
        fresh: bool = False,
        anomalies: list[Anomaly] | None = None,
        careful: bool = False,
    ) -> int:
        """Apply events (in chain order) and write the rows they change.

        ``apply`` must raise before it changes the row it was given: an event it refuses is
        skipped and the row stays as it was.

        Args:
            conn: The open transaction.
            events: Events of any kind; those of other projections are skipped.
            fresh: No row of these entities exists (a replay after deleting them).
            anomalies: Where to list the events this projection cannot fold (then skipped);
                None to raise on the first one.
            careful: Look up the entities of creating events too (slower; finds an entity
                created twice, which the fast path leaves to the table's key).

        Returns:
            The number of rows written or deleted.

        Raises:
            ProjectionError: An event contradicts the rows, and ``anomalies`` is None.
        """
        mine = [e for e in events if e.name in self.events]
        if not mine:
            return 0
        rows: dict[Key, Row | None] = {}
        existing: set[Key] = set()
        if not fresh:
            rows.update(self._load(conn, self._keys_to_load(mine, careful)))
            existing = set(rows)
        for event in mine:
            try:
                key = self.key(event)
                row = rows.get(key)
                if row is None and not (self.upsert or event.name in self.creators):
                    raise ProjectionError(
                        f"{event.name} at block {event.block_number} changes an unknown "
                        f"{self.table.name} entity {key}"
                    )
                rows[key] = self.apply(row, event)
            except NOT_FOLDABLE as error:
                if anomalies is None:
                    raise
                anomalies.append(Anomaly.of(self.table.name, event, error))
        inserts = [row for key, row in rows.items() if key not in existing and row is not None]
        if inserts:
            bulk_insert(conn, self.table, inserts)
        updates = [row for key in existing if (row := rows[key]) is not None]
        if updates:
            conn.execute(self._update_statement(), [self._update_params(r) for r in updates])
        gone = [key for key in existing if rows[key] is None]
        for chunk in _chunks(gone):
            conn.execute(delete(self.table).where(self._key_clause(chunk)))
        return len(rows)

    def _keys_to_load(self, events: Sequence[Event], careful: bool = False) -> list[Key]:
        seen: set[Key] = set()
        load: list[Key] = []
        for event in events:
            try:
                key = self.key(event)
            except NOT_FOLDABLE:
                continue  # the fold lists it as an anomaly
            if key in seen:
                continue
            seen.add(key)
            if careful or event.name not in self.creators:
                load.append(key)
        return load

    def _key_clause(self, keys: Sequence[Key]) -> Any:
        if len(self.key_columns) == 1:
            return self.table.c[self.key_columns[0]].in_([k[0] for k in keys])
        return tuple_(*(self.table.c[c] for c in self.key_columns)).in_(keys)

    def _load(self, conn: Connection, keys: Sequence[Key]) -> dict[Key, Row]:
        rows: dict[Key, Row] = {}
        for chunk in _chunks(keys):
            for found in conn.execute(select(self.table).where(self._key_clause(chunk))):
                row = dict(found._mapping)
                rows[tuple(row[c] for c in self.key_columns)] = row
        return rows

    def _update_statement(self) -> Any:
        where = and_(*(self.table.c[c] == bindparam(f"k_{c}") for c in self.key_columns))
        values: dict[str, Any] = {
            c.name: bindparam(c.name) for c in self.table.c if c.name not in self.key_columns
        }
        return self.table.update().where(where).values(values)

    def _update_params(self, row: Row) -> Row:
        params = {k: v for k, v in row.items() if k not in self.key_columns}
        params.update({f"k_{c}": row[c] for c in self.key_columns})
        return params

    # -- reorgs ------------------------------------------------------------------------------------

    def rollback(self, conn: Connection, orphans: Sequence[Event], ancestor: int) -> None:
        """Recompute the entities that orphaned events touched from the events that remain."""
        mine = [e for e in orphans if e.name in self.events]
        if not mine:
            return
        keys = list({key for e in mine if (key := self._key_or_none(e)) is not None})
        for chunk in _chunks(keys):
            conn.execute(delete(self.table).where(self._key_clause(chunk)))
        topics = sorted({e.topic1 for e in mine if e.topic1 is not None})
        wanted = set(keys)
        skipped = _skipped(conn, self.table.name, ancestor)
        history = [
            event
            for event in load_events(
                conn,
                (s.raw_events.c.block_number <= ancestor)
                & s.raw_events.c.event.in_(sorted(self.events)),
                topics,
            )
            if self._key_or_none(event) in wanted
            and (event.block_number, event.log_index) not in skipped
        ]
        # The events skipped the first time are skipped again (and already listed).
        self.fold(conn, history, fresh=True, anomalies=[])

    def _key_or_none(self, event: Event) -> Key | None:
        try:
            return self.key(event)
        except NOT_FOLDABLE:
            return None


class FactProjection(ABC):
    """One appended row per event, keyed by the event's (block number, log index)."""

    table: Table
    events: frozenset[str]

    @abstractmethod
    def rows(self, event: Event) -> Iterable[Row]:
        """The rows one event appends."""

    def fold(
        self,
        conn: Connection,
        events: Sequence[Event],
        *,
        fresh: bool = False,
        anomalies: list[Anomaly] | None = None,
        careful: bool = False,
    ) -> int:
        rows: list[Row] = []
        for e in events:
            if e.name not in self.events:
                continue
            try:
                rows.extend(list(self.rows(e)))  # all of an event's rows, or none
            except NOT_FOLDABLE as error:
                if anomalies is None:
                    raise
                anomalies.append(Anomaly.of(self.table.name, e, error))
        if rows:
            bulk_insert(conn, self.table, rows)
        return len(rows)

    def rollback(self, conn: Connection, orphans: Sequence[Event], ancestor: int) -> None:
        conn.execute(delete(self.table).where(self.table.c.block_number > ancestor))


def load_events(conn: Connection, where: Any, topics: Sequence[str] | None = None) -> list[Event]:
    """Raw events matching ``where`` (and, if given, one of ``topics``), in chain order."""
    t = s.raw_events
    found: list[Event] = []
    groups: Iterable[Sequence[str] | None] = [None] if topics is None else _chunks(topics)
    for chunk in groups:
        query = select(t).where(where)
        if chunk is not None:
            query = query.where(t.c.topic1.in_(chunk))
        for r in conn.execute(query):
            found.append(
                Event(
                    r.block_number,
                    r.log_index,
                    r.block_hash,
                    r.block_time,
                    r.tx_hash,
                    r.address,
                    r.event,
                    r.topic1,
                    r.args,
                )
            )
    found.sort(key=lambda e: (e.block_number, e.log_index))
    return found


# -- the projections -------------------------------------------------------------------------------


class Participants(EntityProjection):
    table = s.participants
    key_columns = ("participant",)
    events = frozenset({"ParticipantOnboarded", "ParticipantStatusUpdated"})
    creators = frozenset({"ParticipantOnboarded"})

    def key(self, event: Event) -> Key:
        return (event.args["participant"],)

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        if row is None:
            parent = a["parent"]
            return {
                "participant": a["participant"],
                "kind": a["kind"],
                "parent": None if parent == ZERO32 else parent,
                "active": True,
                "onboarded_at": event.block_time,
                "updated_block": event.block_number,
            }
        row.update(active=a["active"], updated_block=event.block_number)
        return row


class Operators(EntityProjection):
    """Operator accounts and the participant each is bound to (for good)."""

    table = s.operators
    key_columns = ("account",)
    events = frozenset({"OperatorAdded"})
    creators = frozenset({"OperatorAdded"})

    def key(self, event: Event) -> Key:
        return (event.args["account"],)

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        if row is not None:
            raise ProjectionError(f"operator {a['account']} bound twice")
        return {
            "account": a["account"],
            "participant": a["participant"],
            "added_at": event.block_time,
            "updated_block": event.block_number,
        }


class OperatorRoles(EntityProjection):
    """Each operator's stage flags per scenario (``Consortium.roles_of(account, scenario)``)."""

    table = s.operator_roles
    key_columns = ("account", "scenario")
    events = frozenset({"RolesUpdated"})
    creators = frozenset()
    upsert = True

    def key(self, event: Event) -> Key:
        return (event.args["account"], event.args["scenario"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        return {
            "account": a["account"],
            "scenario": a["scenario"],
            "participant": a["participant"],
            "stages": a["stages"],
            "updated_at": event.block_time,
            "updated_block": event.block_number,
        }


class ScenarioRoles(EntityProjection):
    """The scenario table: the stages each kind of participant may hold in each scenario."""

    table = s.scenario_roles
    key_columns = ("scenario", "kind")
    events = frozenset({"RolesDefined"})
    creators = frozenset()
    upsert = True

    def key(self, event: Event) -> Key:
        return (event.args["scenario"], event.args["kind"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        return {
            "scenario": a["scenario"],
            "kind": a["kind"],
            "stages": a["stages"],
            "updated_block": event.block_number,
        }


class Services(EntityProjection):
    table = s.services
    key_columns = ("firm", "bank", "scenario")
    events = frozenset({"ServiceUpdated"})
    creators = frozenset()
    upsert = True

    def key(self, event: Event) -> Key:
        a = event.args
        return (a["firm"], a["bank"], a["scenario"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        return {
            "firm": a["firm"],
            "bank": a["bank"],
            "scenario": a["scenario"],
            "opened": a["opened"],
            "scope": a["scope"],
            "valid_until": a["valid_until"],
            "updated_at": event.block_time,
            "updated_block": event.block_number,
        }


class ScenarioContracts(EntityProjection):
    table = s.scenario_contracts
    key_columns = ("address",)
    events = frozenset({"ScenarioAuthorised"})
    creators = frozenset()
    upsert = True

    def key(self, event: Event) -> Key:
        return (event.args["scenario"],)

    def apply(self, row: Row | None, event: Event) -> Row:
        return {
            "address": event.args["scenario"],
            "enabled": event.args["enabled"],
            "updated_block": event.block_number,
        }


HOLD_EVENTS = frozenset({"AmountHeld", "AmountReleased", "AmountConsumed"})


def _document_key(event: Event) -> Key:
    return (event.args["doc_type"], event.args["fingerprint"])


class DocumentLinks(EntityProjection):
    """The ledger's links of documents of the goods to the export declarations of the same goods,
    as its ``linked_declaration`` view shows them.

    A document is linked once while it lives (``DocumentLinked``); voiding it drops the link
    (``DocumentVoided`` deletes the row), so a document registered again is unlinked until it is
    linked again, to the same declaration or another. A void is also a creating event, so that
    voiding a document never linked (the bulk of voids) contradicts nothing; the rows a void
    deletes are looked up all the same.
    """

    table = s.document_links
    key_columns = ("doc_type", "fingerprint")
    events = frozenset({"DocumentLinked", "DocumentVoided"})
    creators = frozenset({"DocumentLinked", "DocumentVoided"})

    def key(self, event: Event) -> Key:
        return _document_key(event)

    def _keys_to_load(self, events: Sequence[Event], careful: bool = False) -> list[Key]:
        keys = super()._keys_to_load(events, careful)
        if careful:
            return keys
        # The fast path does not look creators up, but a void must find the link it deletes
        # (only documents of the goods are ever linked: never declarations).
        known = set(keys)
        for event in events:
            if event.name != "DocumentVoided":
                continue
            key = self._key_or_none(event)
            if key is not None and key[0] not in UNLINKED_TYPES and key not in known:
                known.add(key)
                keys.append(key)
        return keys

    def apply(self, row: Row | None, event: Event) -> Row | None:
        a = event.args
        if event.name == "DocumentVoided":
            return None  # the link, if any, goes with the document
        if row is not None:
            raise ProjectionError(
                f"document {a['fingerprint']} of type {a['doc_type']} linked twice"
            )
        return {
            "doc_type": a["doc_type"],
            "fingerprint": a["fingerprint"],
            "declaration": a["declaration"],
            "operator": a["operator"],
            "linked_at": event.block_time,
            "updated_block": event.block_number,
        }


class Documents(EntityProjection):
    """The ledger's live documents by (type, fingerprint), as its ``document`` view shows them,
    with the declaration a document of the goods is linked to (its ``linked_declaration``).

    A voided document's row is deleted, and its link with it; registering it again starts a new
    row, unlinked until a ``DocumentLinked`` links it again.
    """

    table = s.documents
    key_columns = ("doc_type", "fingerprint")
    events = (
        frozenset(
            {
                "DocumentRegistered",
                "DocumentVoided",
                "FaceCorrected",
                "DocumentLinked",
                "DocumentsTagged",
            }
        )
        | HOLD_EVENTS
    )
    creators = frozenset({"DocumentRegistered"})

    def key(self, event: Event) -> Key:
        return _document_key(event)

    # A payment tags a batch of invoices in one event: folded as one event per invoice (each
    # named like the batch, with its own fingerprint as the entity's topic).

    def fold(
        self,
        conn: Connection,
        events: Sequence[Event],
        *,
        fresh: bool = False,
        anomalies: list[Anomaly] | None = None,
        careful: bool = False,
    ) -> int:
        return super().fold(
            conn, per_document(events), fresh=fresh, anomalies=anomalies, careful=careful
        )

    def rollback(self, conn: Connection, orphans: Sequence[Event], ancestor: int) -> None:
        # A tagged invoice changes no more (the ledger freezes it), so the history of a document
        # an orphaned event touched never holds a tag below the ancestor.
        super().rollback(conn, per_document(orphans), ancestor)

    def apply(self, row: Row | None, event: Event) -> Row | None:
        a = event.args
        name = event.name
        if name == "DocumentRegistered":
            if row is not None:
                raise ProjectionError(
                    f"document {a['fingerprint']} of type {a['doc_type']} registered twice"
                )
            word = unpack(a["record"])
            return {
                "doc_type": a["doc_type"],
                "fingerprint": a["fingerprint"],
                "face": word.face,
                "currency": word.currency,
                "registrar": word.registrar,
                "issued_day": word.issued_day,
                "held": word.held,
                "held_since": word.since or None,
                "linked_declaration": None,  # the ledger registers a document unlinked
                "registered_at": event.block_time,
                "updated_block": event.block_number,
            }
        assert row is not None
        if name == "DocumentVoided":
            return None
        if name == "DocumentLinked":
            if row["linked_declaration"] is not None:
                raise ProjectionError(
                    f"document {a['fingerprint']} of type {a['doc_type']} linked twice"
                )
            row.update(linked_declaration=a["declaration"], updated_block=event.block_number)
            return row
        row["updated_block"] = event.block_number
        if name == "FaceCorrected":
            row["face"] = a["face"]
            return row
        if name == "DocumentsTagged":
            if row["held"] != 0:
                raise ProjectionError(f"invoice {a['fingerprint']} tagged while used")
            row.update(held=row["face"], held_since=event.block_time)
            return row
        # Every hold event carries the document's held total after it. The ledger stamps the
        # time the first live hold began, and clears it once nothing is held.
        row["held"] = a["held"]
        if name == "AmountHeld" and row["held_since"] is None:
            row["held_since"] = event.block_time
        elif a["held"] == 0:
            row["held_since"] = None
        return row


class Holds(EntityProjection):
    """Each hold record: (scenario contract, financing, document) -> live and consumed amounts.

    A regulator's force-release frees the live amount like a release (the ledger logs an
    AmountReleased per document); ``force_releases`` records the action itself.

    A financing citing a document of the goods linked to an export declaration holds on both
    (the ledger logs each): the declaration's hold names the cited document in ``via``, so that
    the financing's amount is counted once, on what it cites.
    """

    table = s.holds
    key_columns = ("scenario_address", "financing_id", "doc_type", "fingerprint")
    events = HOLD_EVENTS
    creators = frozenset({"AmountHeld"})

    def __init__(self) -> None:
        self._via: dict[tuple[int, int], str] = {}

    def fold(
        self,
        conn: Connection,
        events: Sequence[Event],
        *,
        fresh: bool = False,
        anomalies: list[Anomaly] | None = None,
        careful: bool = False,
    ) -> int:
        self._via = self._links_held(conn, events)
        try:
            return super().fold(conn, events, fresh=fresh, anomalies=anomalies, careful=careful)
        finally:
            self._via = {}

    def _links_held(self, conn: Connection, events: Sequence[Event]) -> dict[tuple[int, int], str]:
        """For each hold taken on an export declaration (by its event's position): the cited
        document it was taken through, if any.

        The ledger logs a linked document's hold and, as the very next log of the same
        transaction, the same financing's hold on the declaration the document is linked to (a
        declaration cited itself follows no hold of another type). The previous log tells, then,
        whatever the document's link is by now: voiding a document drops its link, and the
        document registered again may be linked to another declaration. That log is in these
        events, or else (a replay of some entities only) in ``raw_events``, which keeps them all.
        """
        on_declarations: list[tuple[Event, Key]] = []
        for e in events:
            if e.name != "AmountHeld":
                continue
            key = self._key_or_none(e)
            if key is not None and key[2] == DECLARATION:
                on_declarations.append((e, key))
        if not on_declarations:
            return {}
        by_position = {(e.block_number, e.log_index): e for e in events}
        missing = sorted(
            {(e.block_number, e.log_index - 1) for e, _ in on_declarations if e.log_index > 0}
            - set(by_position)
        )
        raw = s.raw_events
        for chunk in _chunks(missing):
            where = (raw.c.event == "AmountHeld") & tuple_(raw.c.block_number, raw.c.log_index).in_(
                chunk
            )
            for found in load_events(conn, where):
                by_position[(found.block_number, found.log_index)] = found
        via: dict[tuple[int, int], str] = {}
        for e, (scenario, fid, _, _) in on_declarations:
            before = by_position.get((e.block_number, e.log_index - 1))
            if before is None or before.name != "AmountHeld" or before.tx_hash != e.tx_hash:
                continue
            through = self._key_or_none(before)
            # The same financing's hold on a document of the goods, not on a declaration.
            if (
                through is not None
                and through[:2] == (scenario, fid)
                and through[2] not in UNLINKED_TYPES
            ):
                via[(e.block_number, e.log_index)] = through[3]
        return via

    def key(self, event: Event) -> Key:
        a = event.args
        return (a["scenario"], a["financing_id"], a["doc_type"], a["fingerprint"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        amount = a["amount"]
        t = event.block_time
        if event.name == "AmountHeld":
            if row is None:
                return {
                    "scenario_address": a["scenario"],
                    "financing_id": a["financing_id"],
                    "doc_type": a["doc_type"],
                    "fingerprint": a["fingerprint"],
                    "amount": amount,
                    "live": amount,
                    "consumed": 0,
                    "state": "live",
                    "via": self._via.get((event.block_number, event.log_index)),
                    "held_at": t,
                    "ended_at": None,
                    "updated_block": event.block_number,
                }
            row.update(
                amount=row["amount"] + amount,
                live=row["live"] + amount,
                state="live",
                ended_at=None,
                updated_block=event.block_number,
            )
            return row
        assert row is not None
        if amount > row["live"]:
            raise ProjectionError(
                f"{event.name} at block {event.block_number} frees {amount} of a hold with "
                f"{row['live']} live"
            )
        row["live"] -= amount
        if event.name == "AmountConsumed":
            row["consumed"] += amount
        if row["live"] == 0:
            row["state"] = "consumed" if row["consumed"] else "released"
            row["ended_at"] = t
        row["updated_block"] = event.block_number
        return row


FINANCING_EVENTS = frozenset(
    {
        "FinancingApplied",
        "FinancingAccepted",
        "FinancingReviewed",
        "FinancingWithdrawn",
        "DisbursementRegistered",
        "RepaymentRegistered",
    }
)


def _step(event: Event) -> tuple[str, FinancingState, int]:
    """A lifecycle event's action, the state after it, and its amount."""
    a = event.args
    name = event.name
    if name == "FinancingApplied":
        return "applied", FinancingState.APPLIED, a["amount"]
    if name == "FinancingAccepted":
        return "accepted", FinancingState.ACCEPTED, 0
    if name == "FinancingReviewed":
        if a["approved"]:
            return "approved", FinancingState.APPROVED, 0
        return "rejected", FinancingState.REJECTED, 0
    if name == "FinancingWithdrawn":
        return "withdrawn", FinancingState.WITHDRAWN, 0
    if name == "DisbursementRegistered":
        return "disbursed", FinancingState.DISBURSED, a["amount"]
    state = FinancingState.CLOSED if a["closed"] else FinancingState.DISBURSED
    return "repaid", state, a["amount"]


class Financings(EntityProjection):
    table = s.financings
    key_columns = ("scenario_address", "financing_id")
    events = FINANCING_EVENTS
    creators = frozenset({"FinancingApplied"})

    def __init__(self, scenarios: Mapping[str, int]) -> None:
        self.scenarios = scenarios

    def key(self, event: Event) -> Key:
        return (event.address, event.args["financing_id"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        t = event.block_time
        if row is None:
            return {
                "scenario_address": event.address,
                "financing_id": a["financing_id"],
                "scenario": self.scenarios.get(event.address, 0),
                "bank": a["bank"],
                "firm": a["firm"],
                "applicant": a["applicant"],
                "currency": a["currency"],
                "documents": a["documents"],
                "state": int(FinancingState.APPLIED),
                "requested": a["amount"],
                "approved": 0,
                "disbursed": 0,
                "repaid": 0,
                "applied_at": t,
                "applied_day": s.reporting_day(t),
                "approved_at": None,
                "disbursed_at": None,
                "closed_at": None,
                "value_day": None,
                "due_day": None,
                "updated_block": event.block_number,
            }
        action, state, _ = _step(event)
        row.update(state=int(state), updated_block=event.block_number)
        if action == "approved":
            row.update(approved=row["requested"], approved_at=t)
        elif action == "disbursed":
            row.update(
                disbursed=a["amount"],
                disbursed_at=t,
                value_day=a["value_date"],
                due_day=a["due_date"],
            )
        elif action == "repaid":
            row["repaid"] = a["repaid"]
            if a["closed"]:
                row["closed_at"] = t
        return row


class FinancingSteps(FactProjection):
    table = s.financing_states
    events = FINANCING_EVENTS

    def rows(self, event: Event) -> Iterable[Row]:
        action, state, amount = _step(event)
        a = event.args
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "scenario_address": event.address,
            "financing_id": a["financing_id"],
            "action": action,
            "state": int(state),
            "operator": a["applicant"] if event.name == "FinancingApplied" else a["operator"],
            "amount": amount,
            "at": event.block_time,
            "day": s.reporting_day(event.block_time),
        }


class VerificationAttempts(FactProjection):
    """核验: each application's verification, failed (with its reason) or passed (reason 0)."""

    table = s.verification_attempts
    events = frozenset({"VerificationFailed", "FinancingApplied"})

    def __init__(self, scenarios: Mapping[str, int]) -> None:
        self.scenarios = scenarios

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        passed = event.name == "FinancingApplied"
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "scenario_address": event.address,
            "scenario": self.scenarios.get(event.address, 0),
            "bank": a["bank"],
            "firm": a["firm"],
            "fingerprint": None if passed else a["fingerprint"],
            "doc_type": None if passed else a["doc_type"],
            "reason": 0 if passed else a["reason"],
            "amount": a["amount"],
            "currency": a["currency"],
            "applicant": a["applicant"],
            "financing_id": a["financing_id"] if passed else None,
            "at": event.block_time,
            "day": s.reporting_day(event.block_time),
        }


class Registrations(FactProjection):
    """Registration batches: documents registered, and those skipped as already registered
    (a skipped document makes no row and no count elsewhere)."""

    table = s.registrations
    events = frozenset({"DocumentsRegistered"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "registrar": a["registrar"],
            "operator": a["operator"],
            "doc_type": a["doc_type"],
            "count": a["count"],
            "skipped": a["skipped"],
            "at": event.block_time,
        }


class ForceReleases(FactProjection):
    """The regulator's force-releases of one financing's holds, with the reason."""

    table = s.force_releases
    events = frozenset({"HoldsForceReleased"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "ledger": event.address,
            "scenario_address": a["scenario"],
            "financing_id": a["financing_id"],
            "bank": a["bank"],
            "reason": a["reason"],
            "documents": a["documents"],
            "by": a["by"],
            "tx_hash": event.tx_hash,
            "at": event.block_time,
            "day": s.reporting_day(event.block_time),
        }


class ConsentRevocations(FactProjection):
    """Consents a firm revoked before any bank submitted them."""

    table = s.consent_revocations
    events = frozenset({"ConsentRevoked"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "firm": a["firm"],
            "nonce": f"0x{a['nonce']:064x}",
            "by": a["by"],
            "at": event.block_time,
        }


# -- payment facilitation (便利化类) ------------------------------------------------------------


def per_document(events: Sequence[Event]) -> list[Event]:
    """Events with each ``DocumentsTagged`` batch split into one event per invoice."""
    out: list[Event] = []
    for e in events:
        if e.name != "DocumentsTagged" or "fingerprint" in e.args:
            out.append(e)
            continue
        for fingerprint in e.args["fingerprints"]:
            args = {"doc_type": e.args["doc_type"], "fingerprint": fingerprint}
            out.append(e._replace(topic1=fingerprint, args=args))
    return out


class Payments(FactProjection):
    """Each payment registered (付汇核验), with its bank, payer, amount and documents."""

    table = s.payments
    events = frozenset({"PaymentRegistered"})

    def __init__(self, scenarios: Mapping[str, int]) -> None:
        self.scenarios = scenarios

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "scenario_address": event.address,
            "scenario": self.scenarios.get(event.address, 0),
            "payment_id": a["payment_id"],
            "bank": a["bank"],
            "payer": a["payer"],
            "operator": a["operator"],
            "doc_type": a["doc_type"],
            "currency": a["currency"],
            "amount": a["amount"],
            "documents": a["documents"],
            "value_day": a["value_date"],
            "at": event.block_time,
            "day": s.reporting_day(event.block_time),
        }


class InvoiceTags(FactProjection):
    """Each invoice a payment tagged single-use, with the payment and its bank."""

    table = s.invoice_tags
    events = frozenset({"DocumentsTagged"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        for position, fingerprint in enumerate(a["fingerprints"]):
            yield {
                "block_number": event.block_number,
                "log_index": event.log_index,
                "position": position,
                "scenario_address": a["scenario"],
                "payment_id": a["payment_id"],
                "bank": a["bank"],
                "doc_type": a["doc_type"],
                "fingerprint": fingerprint,
                "at": event.block_time,
                "day": s.reporting_day(event.block_time),
            }


class QualifiedFirms(EntityProjection):
    """Firms qualified for capital-account payment facilitation, as ``qualified`` shows them."""

    table = s.qualified_firms
    key_columns = ("scenario_address", "firm")
    events = frozenset({"FirmQualified"})
    creators = frozenset()
    upsert = True

    def key(self, event: Event) -> Key:
        return (event.address, event.args["firm"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        return {
            "scenario_address": event.address,
            "firm": a["firm"],
            "qualified": a["qualified"],
            "by": a["by"],
            "updated_at": event.block_time,
            "updated_block": event.block_number,
        }


REVIEW_PERIOD_EVENTS = frozenset(
    {"PeriodClosed", "SeedBlockNamed", "SeedDrawn", "SampleRecorded", "ReviewRecorded"}
)
NONCOMPLIANT = 2  # ReviewOutcome.NONCOMPLIANT


class ReviewPeriods(EntityProjection):
    """Capital-account post-review periods: closed, seed block (named again past the window),
    seed drawn, sample recorded, and reviewed and non-compliant counts."""

    table = s.review_periods
    key_columns = ("scenario_address", "period")
    events = REVIEW_PERIOD_EVENTS
    creators = frozenset({"PeriodClosed"})

    def key(self, event: Event) -> Key:
        return (event.address, event.args["period"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        if event.name == "PeriodClosed":
            if row is not None:
                raise ProjectionError(f"period {a['period']} closed twice")
            return {
                "scenario_address": event.address,
                "period": a["period"],
                "first_payment": a["first"],
                "last_payment": a["last"],
                "sample_size": a["sample_size"],
                "seed_block": a["seed_block"],
                "seed": None,
                "sampled": 0,
                "reviewed": 0,
                "noncompliant": 0,
                "closed_at": event.block_time,
                "updated_block": event.block_number,
            }
        assert row is not None
        row["updated_block"] = event.block_number
        if event.name == "SeedBlockNamed":
            row["seed_block"] = a["seed_block"]
        elif event.name == "SeedDrawn":
            row["seed"] = a["seed"]
        elif event.name == "SampleRecorded":
            row["sampled"] = len(a["payment_ids"])
        else:
            row["reviewed"] += 1
            row["noncompliant"] += a["outcome"] == NONCOMPLIANT
        return row


class SampledPayments(FactProjection):
    """Each payment of a recorded post-review sample, in the sample's order."""

    table = s.sampled_payments
    events = frozenset({"SampleRecorded"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        for position, payment_id in enumerate(a["payment_ids"]):
            yield {
                "block_number": event.block_number,
                "log_index": event.log_index,
                "position": position,
                "scenario_address": event.address,
                "period": a["period"],
                "payment_id": payment_id,
            }


class PaymentReviews(FactProjection):
    """Each post-review outcome of a sampled payment."""

    table = s.payment_reviews
    events = frozenset({"ReviewRecorded"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "scenario_address": event.address,
            "period": a["period"],
            "payment_id": a["payment_id"],
            "outcome": a["outcome"],
            "by": a["by"],
            "at": event.block_time,
            "day": s.reporting_day(event.block_time),
        }


# -- export credit-insurance policy financing (出口信保保单融资) ----------------------------------


def _id_or_none(value: str) -> str | None:
    return None if value == ZERO32 else value


class Policies(EntityProjection):
    """Policies as the policy contract's ``policy`` view shows them: terms, assignee and the
    bank awaiting the insurer's confirmation. ``used`` is kept by ``PolicyFinancingTotals``."""

    table = s.policies
    key_columns = ("scenario_address", "policy")
    events = frozenset({"PolicyRegistered", "AssignmentRequested", "ClaimsAssigned"})
    creators = frozenset({"PolicyRegistered"})

    def key(self, event: Event) -> Key:
        return (event.address, event.args["policy"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        if event.name == "PolicyRegistered":
            if row is not None:
                raise ProjectionError(f"policy {a['policy']} registered twice")
            return {
                "scenario_address": event.address,
                "policy": a["policy"],
                "firm": a["firm"],
                "buyer": a["buyer"],
                "insurer": a["insurer"],
                "credit_limit": a["credit_limit"],
                "used": 0,
                "currency": a["currency"],
                "valid_until": a["valid_until"],
                "assignee": None,
                "pending": None,
                "registered_at": event.block_time,
                "updated_block": event.block_number,
            }
        assert row is not None
        if event.name == "AssignmentRequested":
            row["pending"] = a["bank"]
        else:  # ClaimsAssigned: the insurer confirmed the pending assignment
            if row["pending"] != a["bank"]:
                raise ProjectionError(
                    f"policy {a['policy']}: the insurer confirmed an assignment to {a['bank']} "
                    f"that was not requested"
                )
            row.update(assignee=a["bank"], pending=None)
        row["updated_block"] = event.block_number
        return row


class Shipments(EntityProjection):
    """Shipments declared under policies (投保申报), by export declaration, and their cover."""

    table = s.shipments
    key_columns = ("scenario_address", "declaration")
    events = frozenset({"ShipmentDeclared", "CoverConfirmed"})
    creators = frozenset({"ShipmentDeclared"})

    def key(self, event: Event) -> Key:
        return (event.address, event.args["declaration"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        if event.name == "ShipmentDeclared":
            if row is not None:
                raise ProjectionError(f"shipment {a['declaration']} declared twice")
            return {
                "scenario_address": event.address,
                "declaration": a["declaration"],
                "policy": a["policy"],
                "insured": a["insured"],
                "covered": False,
                "declared_at": event.block_time,
                "covered_at": None,
                "updated_block": event.block_number,
            }
        assert row is not None
        if row["policy"] != a["policy"]:
            raise ProjectionError(f"cover of {a['declaration']} confirmed under another policy")
        if not row["covered"]:
            row.update(covered=True, covered_at=event.block_time)
        row["updated_block"] = event.block_number
        return row


class AdvanceRatios(EntityProjection):
    """Each bank's advance ratio (basis points of the insured amount), as last set."""

    table = s.advance_ratios
    key_columns = ("scenario_address", "bank")
    events = frozenset({"AdvanceRatioSet"})
    creators = frozenset()
    upsert = True

    def key(self, event: Event) -> Key:
        return (event.address, event.args["bank"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        return {
            "scenario_address": event.address,
            "bank": a["bank"],
            "ratio_bps": a["ratio_bps"],
            "set_by": a["by"],
            "updated_at": event.block_time,
            "updated_block": event.block_number,
        }


CLAIM_FILED, CLAIM_PAID, CLAIM_DECLINED = 1, 2, 3


class Claims(EntityProjection):
    """Claims (理赔) as the policy contract's ``claim`` view shows them; ``applied`` is kept by
    ``PolicyFinancingTotals`` from the claim repayments."""

    table = s.claims
    key_columns = ("scenario_address", "claim_id")
    events = frozenset({"ClaimUpdated"})
    creators = frozenset()
    upsert = True  # filed (created) or settled, told apart by the status

    def key(self, event: Event) -> Key:
        return (event.address, event.args["claim_id"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        status = a["status"]
        if status == CLAIM_FILED:
            if row is not None:
                raise ProjectionError(f"claim {a['claim_id']} filed twice")
            return {
                "scenario_address": event.address,
                "claim_id": a["claim_id"],
                "policy": a["policy"],
                "bank": _id_or_none(a["bank"]),
                "declaration": a["declaration"],
                "status": status,
                "amount": a["amount"],
                "paid": 0,
                "applied": 0,
                "filed_at": event.block_time,
                "settled_at": None,
                "updated_block": event.block_number,
            }
        if status not in (CLAIM_PAID, CLAIM_DECLINED):
            raise ProjectionError(f"claim {a['claim_id']}: unknown status {status}")
        if row is None:
            raise ProjectionError(f"claim {a['claim_id']} settled but never filed")
        if row["status"] != CLAIM_FILED:
            raise ProjectionError(f"claim {a['claim_id']} settled twice")
        if a["amount"] > row["amount"]:
            raise ProjectionError(f"claim {a['claim_id']} paid beyond the claim")
        row.update(
            status=status,
            paid=a["amount"],
            bank=_id_or_none(a["bank"]),
            settled_at=event.block_time,
            updated_block=event.block_number,
        )
        return row


def _fact_head(event: Event) -> Row:
    return {
        "block_number": event.block_number,
        "log_index": event.log_index,
        "scenario_address": event.address,
    }


def _fact_time(event: Event) -> Row:
    return {"at": event.block_time, "day": s.reporting_day(event.block_time)}


class Assignments(FactProjection):
    """Claim-rights assignments: requested by the bank, confirmed by the insurer."""

    table = s.assignments
    events = frozenset({"AssignmentRequested", "ClaimsAssigned"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            **_fact_head(event),
            "policy": a["policy"],
            "bank": a["bank"],
            "action": "requested" if event.name == "AssignmentRequested" else "confirmed",
            "by": a["by"],
            **_fact_time(event),
        }


class LossNotices(FactProjection):
    """The insurer's loss notices (可能损失通知) on insured shipments."""

    table = s.loss_notices
    events = frozenset({"LossNotified"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            **_fact_head(event),
            "policy": a["policy"],
            "bank": _id_or_none(a["bank"]),
            "declaration": a["declaration"],
            "amount": a["amount"],
            "by": a["by"],
            **_fact_time(event),
        }


class ClaimRepayments(FactProjection):
    """Paid claims applied as repayments of financings on their policy."""

    table = s.claim_repayments
    events = frozenset({"ClaimRepayment"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            **_fact_head(event),
            "financing_id": a["financing_id"],
            "claim_id": a["claim_id"],
            "amount": a["amount"],
            "by": a["by"],
            **_fact_time(event),
        }


# Financings that use their policy's buyer credit limit: until rejected, withdrawn or closed.
LIVE_STATES = tuple(int(state) for state in FinancingState if state.holds_amounts)


class PolicyFinancingTotals:
    """Columns derived from other projections, recomputed after them: each policy's ``used``
    (the requested amounts of its live financings, which cite its shipments' declarations) and
    each claim's ``applied`` (its claim repayments).

    Forward, it recomputes the policies and claims a range touched; after a reorg, all of them.
    It folds no event of its own.
    """

    events: frozenset[str] = frozenset()

    @staticmethod
    def _used() -> Any:
        p, f, h, sh = s.policies, s.financings, s.holds, s.shipments
        financed = (
            select(h.c.financing_id)
            .select_from(
                h.join(
                    sh,
                    and_(
                        sh.c.scenario_address == h.c.scenario_address,
                        sh.c.declaration == h.c.fingerprint,
                    ),
                )
            )
            .where(
                (h.c.scenario_address == p.c.scenario_address)
                & (h.c.doc_type == DECLARATION)
                & (sh.c.policy == p.c.policy)
            )
            .correlate(p)
        )
        return (
            select(func.coalesce(func.sum(f.c.requested), 0))
            .where(
                (f.c.scenario_address == p.c.scenario_address)
                & f.c.state.in_(LIVE_STATES)
                & f.c.financing_id.in_(financed)
            )
            .scalar_subquery()
        )

    @staticmethod
    def _applied() -> Any:
        c, r = s.claims, s.claim_repayments
        return (
            select(func.coalesce(func.sum(r.c.amount), 0))
            .where((r.c.scenario_address == c.c.scenario_address) & (r.c.claim_id == c.c.claim_id))
            .scalar_subquery()
        )

    def _policies_of(self, conn: Connection, financings: Sequence[Key]) -> list[Key]:
        h, sh = s.holds, s.shipments
        found: set[Key] = set()
        for chunk in _chunks(sorted(financings)):
            query = (
                select(sh.c.scenario_address, sh.c.policy)
                .select_from(
                    h.join(
                        sh,
                        and_(
                            sh.c.scenario_address == h.c.scenario_address,
                            sh.c.declaration == h.c.fingerprint,
                        ),
                    )
                )
                .where(
                    (h.c.doc_type == DECLARATION)
                    & tuple_(h.c.scenario_address, h.c.financing_id).in_(chunk)
                )
                .distinct()
            )
            found.update((r.scenario_address, r.policy) for r in conn.execute(query))
        return sorted(found)

    def fold(
        self,
        conn: Connection,
        events: Sequence[Event],
        *,
        fresh: bool = False,
        anomalies: list[Anomaly] | None = None,
        careful: bool = False,
    ) -> int:
        financings: set[Key] = set()
        claims: set[Key] = set()
        for e in events:
            try:
                if e.name in FINANCING_EVENTS:
                    financings.add((e.address, e.args["financing_id"]))
                elif e.name in ("ClaimUpdated", "ClaimRepayment"):
                    claims.add((e.address, e.args["claim_id"]))
            except NOT_FOLDABLE:
                continue  # the projections that fold it list it as an anomaly
        written = 0
        p, c = s.policies, s.claims
        if financings:
            # Only a contract with policies has financings that use a buyer credit limit.
            with_policies = {
                address
                for address in {a for a, _ in financings}
                if conn.execute(
                    select(p.c.policy).where(p.c.scenario_address == address).limit(1)
                ).first()
                is not None
            }
            financings = {k for k in financings if k[0] in with_policies}
        if financings:
            policies = self._policies_of(conn, sorted(financings))
            for chunk in _chunks(policies):
                written += conn.execute(
                    p.update()
                    .where(tuple_(p.c.scenario_address, p.c.policy).in_(chunk))
                    .values(used=self._used())
                ).rowcount
        for chunk in _chunks(sorted(claims)):
            written += conn.execute(
                c.update()
                .where(tuple_(c.c.scenario_address, c.c.claim_id).in_(chunk))
                .values(applied=self._applied())
            ).rowcount
        return written

    def rollback(self, conn: Connection, orphans: Sequence[Event], ancestor: int) -> None:
        """Recompute every policy's and claim's derived column from the rows that remain."""
        conn.execute(s.policies.update().values(used=self._used()))
        conn.execute(s.claims.update().values(applied=self._applied()))


Projection = EntityProjection | FactProjection | PolicyFinancingTotals

# Platform events that no projection folds, on purpose: they stay in ``raw_events`` (every
# decoded event does), and ``tests/integration/indexer/test_events.py`` fails when a contract
# gains an event that is neither projected nor listed here.
RAW_ONLY = frozenset(
    {
        "OwnershipTransferStarted",  # the regulator's admin handover: in raw_events
        "OwnershipTransferred",
        "DocumentSkipped",  # counted per batch in registrations.skipped
    }
)


def all_projections(scenarios: Mapping[str, int]) -> list[Projection]:
    """Every projection, given each scenario contract's address (lowercase) and scenario code."""
    from .credit_projections import credit_projections  # it builds on this module's bases

    return [
        Participants(),
        Operators(),
        OperatorRoles(),
        ScenarioRoles(),
        Services(),
        ScenarioContracts(),
        DocumentLinks(),
        Documents(),
        Holds(),
        Financings(scenarios),
        FinancingSteps(),
        VerificationAttempts(scenarios),
        Registrations(),
        ForceReleases(),
        ConsentRevocations(),
        Policies(),
        Shipments(),
        AdvanceRatios(),
        Claims(),
        Assignments(),
        LossNotices(),
        ClaimRepayments(),
        Payments(scenarios),
        InvoiceTags(),
        QualifiedFirms(),
        ReviewPeriods(),
        SampledPayments(),
        PaymentReviews(),
        *credit_projections(),
        PolicyFinancingTotals(),  # last: derived from the rows the others wrote
    ]


def projected_events(projections: Iterable[Projection]) -> frozenset[str]:
    """The names of the events some projection folds."""
    return frozenset(name for p in projections for name in p.events)
