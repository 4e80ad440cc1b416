"""The indexer's projections over hand-made events (no chain): documents keyed by (type,
fingerprint), skipped, voided and corrected documents, holds and the regulator's force-release,
roles per scenario and the statistician's scope, and events nothing projects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crossborder.domain.codes import ForceReason, ParticipantKind, Scenario, Stage
from crossborder.errors import AccessDenied, MissingRole
from crossborder.indexer import Checkpoint, Store
from crossborder.indexer import schema as s
from crossborder.indexer.events import Event, Undecoded
from crossborder.indexer.projections import Documents, ProjectionError
from crossborder.indexer.store import BlockInfo, CheckpointMoved
from crossborder.reports import REPORTS, Filters, Scope
from crossborder.reports.scope import scope_of

from .test_reports import BANK_A, BANK_B, BRANCH, EXPORT, FIRM, LEDGER, SCENARIO, ZERO, h, record

IMPORT = 2
CONSORTIUM = "0x" + "ee" * 20
REGULATOR = "0x" + "99" * 20
CUSTOMS_OPERATOR = "0x" + "c0" * 20
T0 = 1_735_700_000


def account(n: int) -> str:
    return "0x" + f"{n:040x}"


def topic(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


class Ranges:
    """Hand-made events committed range by range, as the indexer commits them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.block = 0
        self.pending: list[Event] = []
        self.undecoded: list[Undecoded] = []

    def next_block(self) -> None:
        self.block += 1

    def emit(self, name: str, address: str, topic1: str | None, **args: Any) -> None:
        index = sum(1 for e in self.pending if e.block_number == self.block)
        time = T0 + self.block * 600
        self.pending.append(
            Event(self.block, index, h(self.block), time, h(0), address, name, topic1, args)
        )

    def commit(self) -> int:
        """Commit everything emitted since the last commit; returns the range's end block."""
        numbers = sorted(
            {e.block_number for e in self.pending} | {u.block_number for u in self.undecoded}
        )
        infos = [BlockInfo(n, h(n), T0 + n * 600) for n in numbers or [self.block]]
        self.store.commit_range(self.pending, infos, infos[-1], self.undecoded)
        self.pending, self.undecoded = [], []
        return infos[-1].number

    # -- the ledger's events ---------------------------------------------------------------------

    def register(
        self, fp: int, doc_type: int = EXPORT, face: int = 100_000, skip: tuple[int, ...] = ()
    ) -> None:
        for skipped in skip:
            self.emit(
                "DocumentSkipped",
                LEDGER,
                h(skipped),
                fingerprint=h(skipped),
                doc_type=doc_type,
                reason=1,
            )
        self.emit(
            "DocumentRegistered",
            LEDGER,
            h(fp),
            fingerprint=h(fp),
            doc_type=doc_type,
            record=record(face),
        )
        self.emit(
            "DocumentsRegistered",
            LEDGER,
            h(0xC5),
            registrar=h(0xC5),
            operator=CUSTOMS_OPERATOR,
            doc_type=doc_type,
            count=1,
            skipped=len(skip),
        )

    def hold(
        self, name: str, fp: int, fid: int, amount: int, held: int, doc_type: int = EXPORT
    ) -> None:
        self.emit(
            name,
            LEDGER,
            h(fp),
            fingerprint=h(fp),
            scenario=SCENARIO,
            financing_id=fid,
            doc_type=doc_type,
            amount=amount,
            held=held,
        )

    def apply(self, fid: int, fp: int, amount: int, held: int, bank: str = BANK_A) -> None:
        self.hold("AmountHeld", fp, fid, amount, held)
        self.emit(
            "FinancingApplied",
            SCENARIO,
            h(fid),
            financing_id=fid,
            bank=bank,
            firm=FIRM,
            applicant=account(0x11),
            currency=840,
            amount=amount,
            documents=1,
        )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    result = Store(f"sqlite:///{tmp_path / 'p.sqlite'}", {SCENARIO: int(Scenario.RECEIVABLES)})
    result.create()
    yield result
    result.close()


def _rows(store: Store, table: Any) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table))]


def _documents(store: Store) -> dict[tuple[int, str], dict[str, Any]]:
    return {(r["doc_type"], r["fingerprint"]): r for r in _rows(store, s.documents)}


def test_one_fingerprint_under_two_types_is_two_documents(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1, EXPORT, face=100_000)
    c.register(1, IMPORT, face=70_000)
    c.next_block()
    c.apply(1, 1, 40_000, held=40_000)
    c.commit()
    docs = _documents(store)
    assert set(docs) == {(EXPORT, h(1)), (IMPORT, h(1))}
    assert (docs[(EXPORT, h(1))]["face"], docs[(EXPORT, h(1))]["held"]) == (100_000, 40_000)
    assert (docs[(IMPORT, h(1))]["face"], docs[(IMPORT, h(1))]["held"]) == (70_000, 0)
    assert docs[(EXPORT, h(1))]["held_since"] == T0 + 2 * 600
    assert docs[(IMPORT, h(1))]["held_since"] is None
    (hold,) = _rows(store, s.holds)
    assert (hold["doc_type"], hold["fingerprint"], hold["live"]) == (EXPORT, h(1), 40_000)


def test_skipped_documents_make_no_row_and_no_count(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100_000)
    c.commit()
    c.next_block()
    # The batch repeats document 1 (skipped, its face unchanged) and adds document 2.
    c.register(2, face=50_000, skip=(1,))
    c.commit()
    docs = _documents(store)
    assert set(docs) == {(EXPORT, h(1)), (EXPORT, h(2))}
    assert docs[(EXPORT, h(1))]["face"] == 100_000
    batches = _rows(store, s.registrations)
    assert [(b["count"], b["skipped"]) for b in batches] == [(1, 0), (1, 1)]
    raw = [r["event"] for r in _rows(store, s.raw_events)]
    assert raw.count("DocumentSkipped") == 1  # kept, though nothing projects it


@pytest.mark.parametrize("ranges", ["one range", "a range per step"])
def test_void_then_register_again(store: Store, ranges: str) -> None:
    c = Ranges(store)

    def step() -> None:
        if ranges != "one range":
            c.commit()
        c.next_block()

    c.next_block()
    c.register(1, face=100_000)
    c.register(2, face=60_000)
    step()
    c.apply(1, 1, 100_000, held=100_000)
    step()
    c.hold("AmountReleased", 1, 1, 100_000, held=0)
    step()
    c.emit(
        "DocumentVoided", LEDGER, h(1), fingerprint=h(1), doc_type=EXPORT, operator=CUSTOMS_OPERATOR
    )
    c.emit(
        "DocumentVoided", LEDGER, h(2), fingerprint=h(2), doc_type=EXPORT, operator=CUSTOMS_OPERATOR
    )
    step()
    c.register(1, face=90_000)
    step()
    c.emit(
        "FaceCorrected",
        LEDGER,
        h(1),
        fingerprint=h(1),
        doc_type=EXPORT,
        face=95_000,
        operator=CUSTOMS_OPERATOR,
    )
    c.commit()
    docs = _documents(store)
    assert set(docs) == {(EXPORT, h(1))}, "a voided document has no row until registered again"
    again = docs[(EXPORT, h(1))]
    assert (again["face"], again["held"], again["held_since"]) == (95_000, 0, None)
    assert again["registered_at"] == T0 + 5 * 600
    (hold,) = _rows(store, s.holds)
    assert (hold["state"], hold["live"]) == ("released", 0)  # the old hold's history stays


def _anomalies(store: Store) -> list[tuple[str, str, str]]:
    return [(a["projection"], a["event"], a["message"]) for a in _rows(store, s.anomalies)]


def test_an_event_on_a_voided_document_is_an_anomaly_not_a_halt(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1)
    c.commit()
    c.next_block()
    c.emit(
        "DocumentVoided", LEDGER, h(1), fingerprint=h(1), doc_type=EXPORT, operator=CUSTOMS_OPERATOR
    )
    c.commit()
    c.next_block()
    c.apply(1, 1, 10, held=10)
    c.register(2)  # the rest of the range is folded all the same
    end = c.commit()
    ((projection, event, message),) = _anomalies(store)
    assert (projection, event) == ("documents", "AmountHeld")
    assert "unknown documents entity" in message
    assert set(_documents(store)) == {(EXPORT, h(2))}
    (hold,) = _rows(store, s.holds)  # the holds projection could fold it
    assert hold["live"] == 10
    assert store.checkpoint() == Checkpoint(end, h(end))
    assert "AmountHeld" in [r["event"] for r in _rows(store, s.raw_events)], "kept raw"
    # Without a list to record anomalies in, a projection still refuses the event.
    with store.engine.begin() as conn, pytest.raises(ProjectionError):
        Documents().fold(conn, [e for e in _raw_events(store) if e.name == "AmountHeld"])


def _raw_events(store: Store) -> list[Event]:
    from crossborder.indexer.projections import load_events

    with store.engine.connect() as conn:
        return load_events(conn, s.raw_events.c.block_number >= 0)


def test_registering_a_live_document_again_is_an_anomaly(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100)
    c.register(1, face=200)  # in the same range
    c.commit()
    assert _documents(store)[(EXPORT, h(1))]["face"] == 100
    assert [(p, e) for p, e, _ in _anomalies(store)] == [("documents", "DocumentRegistered")]
    c.next_block()
    c.register(1, face=300)  # in a later range: found by looking the creators up again
    c.register(2)
    c.commit()
    assert _documents(store)[(EXPORT, h(1))]["face"] == 100
    assert (EXPORT, h(2)) in _documents(store)
    assert len(_anomalies(store)) == 2 and all(
        "registered twice" in m for *_, m in _anomalies(store)
    )


def test_anomalies_survive_a_rollback_replay_and_go_with_their_blocks(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100_000)
    c.apply(1, 1, 10_000, held=10_000)
    c.commit()
    c.next_block()
    c.hold("AmountReleased", 1, 1, 50_000, held=0)  # more than is live: an anomaly
    ancestor = c.commit()
    c.next_block()
    c.hold("AmountReleased", 1, 1, 10_000, held=0)
    c.hold("AmountReleased", 1, 9, 1, held=0)  # a hold never taken: an anomaly
    c.commit()
    assert len(_anomalies(store)) == 2
    store.rollback(Checkpoint(ancestor, h(ancestor)))
    # The replay of the hold skips the anomalous release again; the later anomaly is gone.
    ((_, event, message),) = _anomalies(store)
    assert event == "AmountReleased" and "frees 50000" in message
    (hold,) = _rows(store, s.holds)
    assert (hold["live"], hold["state"]) == (10_000, "live")


def test_a_commit_that_finds_the_checkpoint_moved_writes_nothing(store: Store) -> None:
    """Two writers on one store: the second to commit the same range is refused, untouched."""
    c = Ranges(store)
    c.next_block()
    c.register(1)
    first = c.commit()
    seen = store.checkpoint()
    c.next_block()
    c.register(2)
    c.commit()  # another writer moves the checkpoint on
    late = [Event(c.block, 0, h(c.block), T0, h(0), LEDGER, "FaceCorrected", h(1), {})]
    block = BlockInfo(c.block, h(c.block), T0)
    with pytest.raises(CheckpointMoved, match=f"from block {first}"):
        store.commit_range(late, [block], block, expected=seen)
    assert len(_rows(store, s.raw_events)) == 4 and not _anomalies(store)
    with pytest.raises(CheckpointMoved):
        store.rollback(None, expected=seen)
    assert set(_documents(store)) == {(EXPORT, h(1)), (EXPORT, h(2))}


def test_force_release_ends_the_hold_and_the_reports_follow(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.emit(
        "ParticipantOnboarded",
        CONSORTIUM,
        BANK_A,
        participant=BANK_A,
        kind=2,
        parent=ZERO,
        by=REGULATOR,
    )
    for fp in (1, 2):
        c.register(fp, face=100_000)
    c.next_block()
    c.apply(1, 1, 60_000, held=60_000)
    c.apply(2, 2, 30_000, held=30_000)
    c.commit()

    def held() -> Any:
        with store.engine.connect() as conn:
            (row,) = REPORTS["firm-stats"](conn, Scope(), Filters(), str).rows
        return row["held"]

    assert held() == 900  # USD 900.00
    c.next_block()
    c.hold("AmountReleased", 1, 1, 60_000, held=0)
    c.emit(
        "HoldsForceReleased",
        LEDGER,
        topic(SCENARIO),
        scenario=SCENARIO,
        financing_id=1,
        bank=BANK_A,
        reason=int(ForceReason.BANK_DEACTIVATED),
        documents=1,
        by=REGULATOR,
    )
    end = c.commit()
    holds = {r["financing_id"]: r for r in _rows(store, s.holds)}
    assert (holds[1]["state"], holds[1]["live"], holds[1]["ended_at"]) == (
        "released",
        0,
        T0 + end * 600,
    )
    assert holds[2]["state"] == "live"
    docs = _documents(store)
    assert (docs[(EXPORT, h(1))]["held"], docs[(EXPORT, h(1))]["held_since"]) == (0, None)
    (action,) = _rows(store, s.force_releases)
    assert (action["financing_id"], action["bank"], action["reason"], action["by"]) == (
        1,
        BANK_A,
        ForceReason.BANK_DEACTIVATED,
        REGULATOR,
    )
    assert held() == 300
    (financing,) = [r for r in _rows(store, s.financings) if r["financing_id"] == 1]
    assert financing["state"] == 1, "the financing itself stays as it was"


def test_partial_release_and_consume_keep_live_and_consumed_apart(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100_000)
    c.apply(1, 1, 80_000, held=80_000)
    c.next_block()
    c.hold("AmountReleased", 1, 1, 30_000, held=50_000)
    c.hold("AmountConsumed", 1, 1, 20_000, held=50_000)
    c.commit()
    (hold,) = _rows(store, s.holds)
    assert (hold["amount"], hold["live"], hold["consumed"], hold["state"]) == (
        80_000,
        30_000,
        20_000,
        "live",
    )
    c.next_block()
    c.hold("AmountConsumed", 1, 1, 30_000, held=50_000)
    c.commit()
    (hold,) = _rows(store, s.holds)
    assert (hold["live"], hold["consumed"], hold["state"]) == (0, 50_000, "consumed")
    assert _documents(store)[(EXPORT, h(1))]["held_since"] is not None  # consumed stays used
    c.next_block()
    c.hold("AmountReleased", 1, 1, 1, held=49_999)
    c.commit()
    assert [(p, e) for p, e, _ in _anomalies(store)] == [("holds", "AmountReleased")]
    assert "frees 1 of a hold with 0 live" in _anomalies(store)[0][2]
    (hold,) = _rows(store, s.holds)
    assert (hold["live"], hold["consumed"], hold["state"]) == (0, 50_000, "consumed")


def test_a_rollback_recomputes_voided_and_registered_again_documents(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100_000)
    c.register(2, face=20_000)
    ancestor = c.commit()
    before = _documents(store)
    c.next_block()
    c.emit(
        "DocumentVoided", LEDGER, h(1), fingerprint=h(1), doc_type=EXPORT, operator=CUSTOMS_OPERATOR
    )
    c.register(1, face=1)
    c.emit(
        "DocumentVoided", LEDGER, h(2), fingerprint=h(2), doc_type=EXPORT, operator=CUSTOMS_OPERATOR
    )
    c.undecoded.append(Undecoded(c.block, 9, h(c.block), h(0), LEDGER, (h(0xBAD),), "0x"))
    c.commit()
    assert _documents(store)[(EXPORT, h(1))]["face"] == 1
    assert (EXPORT, h(2)) not in _documents(store)
    assert store.undecoded_count() == 1
    store.rollback(Checkpoint(ancestor, h(ancestor)))
    assert _documents(store) == before
    assert store.undecoded_count() == 0


def test_events_no_projection_folds_are_kept(store: Store) -> None:
    """A decoded event nothing projects stays in raw_events; a log no known event decodes
    is kept whole in undecoded_logs. Neither is lost."""
    c = Ranges(store)
    c.next_block()
    c.emit("SomethingNew", LEDGER, h(7), value=2**200)
    c.undecoded.append(
        Undecoded(c.block, 1, h(c.block), h(0xAB), LEDGER, (h(0xBAD), h(7)), "0x" + "00" * 32)
    )
    c.commit()
    (raw,) = _rows(store, s.raw_events)
    assert (raw["event"], raw["args"]) == ("SomethingNew", {"value": 2**200})
    (kept,) = _rows(store, s.undecoded_logs)
    assert kept["topics"] == f"{h(0xBAD)} {h(7)}" and kept["tx_hash"] == h(0xAB)
    (block,) = _rows(store, s.blocks)
    assert block["events"] == 2, "the block counts as one with events (reorg detection)"


def test_roles_per_scenario_and_the_statistician_scope(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    for pid, parent in ((BANK_A, ZERO), (BRANCH, BANK_A), (BANK_B, ZERO)):
        c.emit(
            "ParticipantOnboarded",
            CONSORTIUM,
            pid,
            participant=pid,
            kind=int(ParticipantKind.BANK),
            parent=parent,
            by=REGULATOR,
        )
    c.emit("RolesDefined", CONSORTIUM, h(1), scenario=1, kind=2, stages=0x7F, by=REGULATOR)
    operators = {1: BANK_A, 2: BANK_A, 3: BRANCH, 4: BANK_B}
    for n, pid in operators.items():
        c.emit(
            "OperatorAdded",
            CONSORTIUM,
            topic(account(n)),
            account=account(n),
            participant=pid,
            by=REGULATOR,
        )

    def roles(n: int, scenario: int, stages: int) -> None:
        c.emit(
            "RolesUpdated",
            CONSORTIUM,
            topic(account(n)),
            account=account(n),
            participant=operators[n],
            scenario=scenario,
            stages=stages,
            by=REGULATOR,
        )

    roles(1, 1, int(Stage.STATISTICS | Stage.SERVICE))
    roles(1, 2, int(Stage.APPLY))
    roles(2, 1, int(Stage.APPLY))
    roles(3, 3, int(Stage.STATISTICS))  # statistics in another scenario: still a statistician
    roles(4, 1, int(Stage.STATISTICS))
    c.commit()
    with store.engine.connect() as conn:
        assert scope_of(conn, account(1)) == Scope(BANK_A)
        assert scope_of(conn, account(3)) == Scope(BANK_A), "a branch's statistician: its bank"
        assert scope_of(conn, account(4)) == Scope(BANK_B)
        with pytest.raises(MissingRole):
            scope_of(conn, account(2))
    by_key = {(r["account"], r["scenario"]): r["stages"] for r in _rows(store, s.operator_roles)}
    assert by_key[(account(1), 1)] == Stage.STATISTICS | Stage.SERVICE
    assert by_key[(account(1), 2)] == Stage.APPLY
    assert _rows(store, s.scenario_roles)[0]["stages"] == 0x7F

    c.next_block()
    roles(4, 1, 0)  # revoked
    c.emit(
        "ParticipantStatusUpdated",
        CONSORTIUM,
        BANK_A,
        participant=BANK_A,
        active=False,
        by=REGULATOR,
    )
    c.commit()
    with store.engine.connect() as conn:
        with pytest.raises(MissingRole):
            scope_of(conn, account(4))
        with pytest.raises(AccessDenied, match="deactivated"):
            scope_of(conn, account(3))  # the branch of a deactivated bank
        assert scope_of(conn, REGULATOR, REGULATOR) == Scope()


def test_services_and_revoked_consents(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.emit(
        "ServiceUpdated",
        CONSORTIUM,
        FIRM,
        firm=FIRM,
        bank=BANK_A,
        scenario=1,
        opened=True,
        scope=7,
        valid_until=4_102_444_800,
        by=account(5),
    )
    c.emit("ConsentRevoked", CONSORTIUM, FIRM, firm=FIRM, nonce=2**255 + 1, by=account(6))
    c.commit()
    (service,) = _rows(store, s.services)
    assert (service["opened"], service["scope"], service["valid_until"]) == (
        True,
        7,
        4_102_444_800,
    )
    (revoked,) = _rows(store, s.consent_revocations)
    assert revoked["nonce"] == f"0x{2**255 + 1:064x}"
    c.next_block()
    c.emit(
        "ServiceUpdated",
        CONSORTIUM,
        FIRM,
        firm=FIRM,
        bank=BANK_A,
        scenario=1,
        opened=False,
        scope=0,
        valid_until=0,
        by=account(6),
    )
    c.commit()
    (service,) = _rows(store, s.services)
    assert (service["opened"], service["scope"], service["valid_until"]) == (False, 0, 0)


# -- linked documents ----------------------------------------------------------------------------

WAYBILL = 4
LOGISTICS_SC = "0x" + "1c" * 20
POLICY_SC = "0x" + "b0" * 20


def _link(c: Ranges, fp: int, declaration: int, doc_type: int = WAYBILL) -> None:
    c.emit(
        "DocumentLinked",
        LEDGER,
        h(fp),
        fingerprint=h(fp),
        doc_type=doc_type,
        declaration=h(declaration),
        operator=CUSTOMS_OPERATOR,
    )


def _logistics_hold(
    c: Ranges, name: str, fid: int, waybill: int, declaration: int, **a: int
) -> None:
    """The ledger's pair of events for a linked waybill: the waybill's, then its declaration's."""
    for fp, doc_type, held in ((waybill, WAYBILL, a["held_w"]), (declaration, EXPORT, a["held_d"])):
        c.emit(
            name,
            LEDGER,
            h(fp),
            fingerprint=h(fp),
            scenario=LOGISTICS_SC,
            financing_id=fid,
            doc_type=doc_type,
            amount=a["amount"],
            held=held,
        )


def _holds(store: Store) -> dict[tuple[str, int, int, str], dict[str, Any]]:
    return {
        (r["scenario_address"], r["financing_id"], r["doc_type"], r["fingerprint"]): r
        for r in _rows(store, s.holds)
    }


@pytest.mark.parametrize("ranges", ["one range", "a range per step"])
def test_a_linked_waybill_holds_on_its_declaration_through_the_link(
    store: Store, ranges: str
) -> None:
    store.scenarios[LOGISTICS_SC] = int(Scenario.LOGISTICS)
    c = Ranges(store)

    def step() -> None:
        if ranges != "one range":
            c.commit()
        c.next_block()

    c.next_block()
    c.register(1, face=100_000)  # the declaration
    c.register(7, WAYBILL, face=60_000)
    c.register(8, WAYBILL, face=50_000)  # not linked
    step()
    _link(c, 7, 1)
    step()
    _logistics_hold(c, "AmountHeld", 1, 7, 1, amount=60_000, held_w=60_000, held_d=60_000)
    c.hold("AmountHeld", 1, 2, 40_000, held=100_000)  # a receivable on the rest, no link
    c.emit(
        "AmountHeld",
        LEDGER,
        h(8),
        fingerprint=h(8),
        scenario=LOGISTICS_SC,
        financing_id=2,
        doc_type=WAYBILL,
        amount=5_000,
        held=5_000,
    )
    c.commit()
    docs = _documents(store)
    assert docs[(WAYBILL, h(7))]["linked_declaration"] == h(1)
    assert docs[(WAYBILL, h(8))]["linked_declaration"] is None
    assert docs[(EXPORT, h(1))]["linked_declaration"] is None
    assert docs[(EXPORT, h(1))]["held"] == 100_000
    holds = _holds(store)
    assert holds[(LOGISTICS_SC, 1, EXPORT, h(1))]["via"] == h(7)
    assert holds[(LOGISTICS_SC, 1, WAYBILL, h(7))]["via"] is None
    assert holds[(SCENARIO, 2, EXPORT, h(1))]["via"] is None
    assert holds[(LOGISTICS_SC, 2, WAYBILL, h(8))]["via"] is None
    (link,) = _rows(store, s.document_links)
    assert (link["doc_type"], link["fingerprint"], link["declaration"]) == (WAYBILL, h(7), h(1))
    # Released together, later: the declaration's hold keeps naming its waybill.
    c.next_block()
    _logistics_hold(c, "AmountReleased", 1, 7, 1, amount=60_000, held_w=0, held_d=40_000)
    c.commit()
    holds = _holds(store)
    assert holds[(LOGISTICS_SC, 1, EXPORT, h(1))]["via"] == h(7)
    assert holds[(LOGISTICS_SC, 1, EXPORT, h(1))]["state"] == "released"


def _void(c: Ranges, fp: int, doc_type: int = WAYBILL) -> None:
    c.emit(
        "DocumentVoided",
        LEDGER,
        h(fp),
        fingerprint=h(fp),
        doc_type=doc_type,
        operator=CUSTOMS_OPERATOR,
    )


def _links(store: Store) -> dict[tuple[int, str], str]:
    return {
        (r["doc_type"], r["fingerprint"]): r["declaration"] for r in _rows(store, s.document_links)
    }


def test_a_voided_linked_waybill_registered_again_is_unlinked(store: Store) -> None:
    """The ledger drops a link when it voids the document: so do the links and the documents
    tables, and a reorg that orphans the void brings the link back. Voiding a document never
    linked contradicts nothing."""
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100_000)
    c.register(7, WAYBILL, face=60_000)
    c.register(8, WAYBILL, face=10_000)  # never linked
    _link(c, 7, 1)
    linked = c.commit()
    c.next_block()
    _void(c, 7)
    _void(c, 8)
    _void(c, 1, EXPORT)  # a declaration: no link of its own (the waybill's went before)
    voided = c.commit()
    assert _links(store) == {}
    assert set(_documents(store)) == set()
    c.next_block()
    c.register(1, face=100_000)
    c.register(7, WAYBILL, face=70_000)
    c.commit()
    again = _documents(store)[(WAYBILL, h(7))]
    assert (again["face"], again["linked_declaration"]) == (70_000, None)
    c.next_block()
    c.emit(  # held alone: the ledger logs no hold on a declaration
        "AmountHeld",
        LEDGER,
        h(7),
        fingerprint=h(7),
        scenario=LOGISTICS_SC,
        financing_id=3,
        doc_type=WAYBILL,
        amount=1_000,
        held=1_000,
    )
    c.commit()
    assert list(_holds(store)) == [(LOGISTICS_SC, 3, WAYBILL, h(7))]
    assert not _anomalies(store)

    store.rollback(Checkpoint(voided, h(voided)))
    assert _links(store) == {} and set(_documents(store)) == set()
    store.rollback(Checkpoint(linked, h(linked)))  # the void orphaned: linked again
    assert _links(store) == {(WAYBILL, h(7)): h(1)}
    assert _documents(store)[(WAYBILL, h(7))]["linked_declaration"] == h(1)
    assert _documents(store)[(WAYBILL, h(8))]["linked_declaration"] is None
    assert not _anomalies(store)


@pytest.mark.parametrize("target", ["the same declaration", "another declaration"])
@pytest.mark.parametrize("ranges", ["one range", "a range per step"])
def test_a_voided_waybill_linked_again_holds_through_its_new_link(
    store: Store, ranges: str, target: str
) -> None:
    """Linked to declaration 1, financed, released, voided, registered again and linked again
    (to 1 or to 2), financed again: each financing's hold on a declaration names the waybill
    it was taken through, though the waybill's link changed since, whether all of it is
    folded in one range or step by step; a reorg back to before the void and the same blocks
    again give the same rows."""
    store.scenarios[LOGISTICS_SC] = int(Scenario.LOGISTICS)
    c = Ranges(store)

    def step() -> None:
        if ranges != "one range":
            c.commit()
        c.next_block()

    new = 1 if target == "the same declaration" else 2
    c.next_block()
    c.register(1, face=100_000)
    c.register(2, face=100_000)
    c.register(7, WAYBILL, face=60_000)
    _link(c, 7, 1)
    step()
    _logistics_hold(c, "AmountHeld", 1, 7, 1, amount=5_000, held_w=5_000, held_d=5_000)
    step()
    _logistics_hold(c, "AmountReleased", 1, 7, 1, amount=5_000, held_w=0, held_d=0)
    step()
    before_void = c.block - 1
    _void(c, 7)
    c.register(7, WAYBILL, face=70_000)
    step()
    _link(c, 7, new)
    step()
    _logistics_hold(c, "AmountHeld", 2, 7, new, amount=6_000, held_w=6_000, held_d=6_000)
    c.commit()

    assert _links(store) == {(WAYBILL, h(7)): h(new)}
    assert _documents(store)[(WAYBILL, h(7))]["linked_declaration"] == h(new)
    holds = _holds(store)
    assert holds[(LOGISTICS_SC, 1, EXPORT, h(1))]["via"] == h(7)
    assert holds[(LOGISTICS_SC, 1, EXPORT, h(1))]["state"] == "released"
    assert holds[(LOGISTICS_SC, 2, EXPORT, h(new))]["via"] == h(7)
    assert holds[(LOGISTICS_SC, 2, WAYBILL, h(7))]["via"] is None
    assert not _anomalies(store)

    if ranges == "one range":
        return
    before = (_documents(store), _holds(store), _links(store))
    store.rollback(Checkpoint(before_void, h(before_void)))
    assert _links(store) == {(WAYBILL, h(7)): h(1)}
    assert _documents(store)[(WAYBILL, h(7))]["face"] == 60_000
    assert _holds(store)[(LOGISTICS_SC, 1, EXPORT, h(1))]["via"] == h(7)
    c.block = before_void
    c.next_block()
    _void(c, 7)
    c.register(7, WAYBILL, face=70_000)
    c.next_block()
    _link(c, 7, new)
    c.next_block()
    _logistics_hold(c, "AmountHeld", 2, 7, new, amount=6_000, held_w=6_000, held_d=6_000)
    c.commit()
    assert (_documents(store), _holds(store), _links(store)) == before


def test_a_replayed_hold_on_a_declaration_finds_the_document_it_was_taken_through(
    store: Store,
) -> None:
    """A reorg orphans the regulator's force-release of a linked waybill's declaration hold
    alone: the replay of that hold (the declaration's events only, not the waybill's) still
    names the waybill it was taken through."""
    store.scenarios[LOGISTICS_SC] = int(Scenario.LOGISTICS)
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100_000)
    c.register(7, WAYBILL, face=60_000)
    _link(c, 7, 1)
    c.next_block()
    _logistics_hold(c, "AmountHeld", 1, 7, 1, amount=5_000, held_w=5_000, held_d=5_000)
    ancestor = c.commit()
    c.next_block()
    c.emit(
        "AmountReleased",
        LEDGER,
        h(1),
        fingerprint=h(1),
        scenario=LOGISTICS_SC,
        financing_id=1,
        doc_type=EXPORT,
        amount=5_000,
        held=0,
    )
    c.commit()
    assert _holds(store)[(LOGISTICS_SC, 1, EXPORT, h(1))]["state"] == "released"

    store.rollback(Checkpoint(ancestor, h(ancestor)))

    replayed = _holds(store)[(LOGISTICS_SC, 1, EXPORT, h(1))]
    assert (replayed["via"], replayed["live"], replayed["state"]) == (h(7), 5_000, "live")
    assert _holds(store)[(LOGISTICS_SC, 1, WAYBILL, h(7))]["live"] == 5_000
    assert not _anomalies(store)


def test_a_rollback_recomputes_links_and_the_holds_through_them(store: Store) -> None:
    c = Ranges(store)
    c.next_block()
    c.register(1, face=100_000)
    c.register(7, WAYBILL, face=60_000)
    _link(c, 7, 1)
    c.next_block()
    _logistics_hold(c, "AmountHeld", 1, 7, 1, amount=60_000, held_w=60_000, held_d=60_000)
    ancestor = c.commit()
    c.next_block()
    # Only the declaration's side of a later release is orphaned with its waybill's.
    _logistics_hold(c, "AmountReleased", 1, 7, 1, amount=10_000, held_w=50_000, held_d=50_000)
    c.commit()
    store.rollback(Checkpoint(ancestor, h(ancestor)))
    holds = _holds(store)
    assert holds[(LOGISTICS_SC, 1, EXPORT, h(1))]["via"] == h(7)
    assert holds[(LOGISTICS_SC, 1, EXPORT, h(1))]["live"] == 60_000
    assert _documents(store)[(WAYBILL, h(7))]["linked_declaration"] == h(1)
    store.rollback(Checkpoint(1, h(1)))  # back to before the hold, with the link
    assert _holds(store) == {}
    assert _documents(store)[(WAYBILL, h(7))]["linked_declaration"] == h(1)
    store.rollback(None)
    assert not _rows(store, s.document_links) and not _documents(store)
    assert not _anomalies(store)


# -- export credit-insurance policy financing ---------------------------------------------------

INSURER = "0x" + "1a" * 32
INSURER_OPERATOR = "0x" + "1b" * 20
POLICY_FP, OTHER_POLICY = h(0x501), h(0x502)


class Policy:
    """The policy contract's events, on top of ``Ranges``."""

    def __init__(self, c: Ranges) -> None:
        self.c = c

    def emit(self, name: str, topic1: str, **args: Any) -> None:
        self.c.emit(name, POLICY_SC, topic1, **args)

    def register(self, policy: str = POLICY_FP, limit: int = 100_000) -> None:
        self.emit(
            "PolicyRegistered",
            policy,
            policy=policy,
            firm=FIRM,
            insurer=INSURER,
            buyer=h(0xB1),
            credit_limit=limit,
            currency=840,
            valid_until=4_102_444_800,
        )

    def ship(self, declaration: int, insured: int, policy: str = POLICY_FP) -> None:
        self.emit(
            "ShipmentDeclared",
            h(declaration),
            declaration=h(declaration),
            policy=policy,
            insured=insured,
        )

    def cover(self, declaration: int, policy: str = POLICY_FP) -> None:
        self.emit(
            "CoverConfirmed",
            h(declaration),
            declaration=h(declaration),
            policy=policy,
            by=INSURER_OPERATOR,
        )

    def assign(self, name: str, bank: str, policy: str = POLICY_FP) -> None:
        self.emit(name, policy, policy=policy, bank=bank, by=account(0x44))

    def apply(self, fid: int, declaration: int, amount: int, held: int) -> None:
        self.c.emit(
            "AmountHeld",
            LEDGER,
            h(declaration),
            fingerprint=h(declaration),
            scenario=POLICY_SC,
            financing_id=fid,
            doc_type=EXPORT,
            amount=amount,
            held=held,
        )
        self.emit(
            "FinancingApplied",
            h(fid),
            financing_id=fid,
            bank=BANK_A,
            firm=FIRM,
            applicant=account(0x11),
            currency=840,
            amount=amount,
            documents=1,
        )

    def step(self, name: str, fid: int, **args: Any) -> None:
        self.emit(name, h(fid), financing_id=fid, operator=account(0x22), **args)

    def claim(self, claim_id: int, status: int, amount: int, bank: str = BANK_A) -> None:
        self.emit(
            "ClaimUpdated",
            h(claim_id),
            claim_id=claim_id,
            policy=POLICY_FP,
            bank=bank,
            declaration=h(1),
            status=status,
            amount=amount,
            by=INSURER_OPERATOR,
        )

    def claim_repayment(
        self, fid: int, claim_id: int, amount: int, repaid: int, closed: bool
    ) -> None:
        self.step("RepaymentRegistered", fid, amount=amount, repaid=repaid, closed=closed)
        self.emit(
            "ClaimRepayment",
            h(fid),
            financing_id=fid,
            claim_id=claim_id,
            amount=amount,
            by=account(0x22),
        )


def _policy(store: Store) -> dict[str, Any]:
    return {r["policy"]: r for r in _rows(store, s.policies)}[POLICY_FP]


def _claims(store: Store) -> dict[int, dict[str, Any]]:
    return {r["claim_id"]: r for r in _rows(store, s.claims)}


def test_policies_shipments_assignments_claims_and_the_limit_used(store: Store) -> None:
    store.scenarios[POLICY_SC] = int(Scenario.POLICY)
    c = Ranges(store)
    p = Policy(c)
    c.next_block()
    c.register(1, face=100_000)
    c.register(2, face=100_000)
    p.register(limit=90_000)
    p.ship(1, 80_000)
    p.ship(2, 70_000)
    p.cover(1)
    p.emit("AdvanceRatioSet", BANK_A, bank=BANK_A, ratio_bps=8_000, by=REGULATOR)
    p.assign("AssignmentRequested", BANK_B)
    c.commit()
    row = _policy(store)
    assert (row["credit_limit"], row["used"], row["assignee"], row["pending"]) == (
        90_000,
        0,
        None,
        BANK_B,
    )
    shipments = {r["declaration"]: r for r in _rows(store, s.shipments)}
    assert (shipments[h(1)]["covered"], shipments[h(2)]["covered"]) == (True, False)
    assert shipments[h(1)]["covered_at"] == T0 + 600 and shipments[h(2)]["covered_at"] is None
    c.next_block()
    p.assign("AssignmentRequested", BANK_A)  # another bank asks instead
    p.assign("ClaimsAssigned", BANK_A)
    p.emit("AdvanceRatioSet", BANK_A, bank=BANK_A, ratio_bps=7_500, by=REGULATOR)
    p.apply(1, 1, 50_000, held=50_000)
    p.apply(2, 1, 10_000, held=60_000)
    ancestor = c.commit()
    row = _policy(store)
    assert (row["assignee"], row["pending"], row["used"]) == (BANK_A, None, 60_000)
    (ratio,) = _rows(store, s.advance_ratios)
    assert (ratio["bank"], ratio["ratio_bps"], ratio["set_by"]) == (BANK_A, 7_500, REGULATOR)
    assert [(a["action"], a["bank"]) for a in _rows(store, s.assignments)] == [
        ("requested", BANK_B),
        ("requested", BANK_A),
        ("confirmed", BANK_A),
    ]
    c.next_block()
    # Financing 2 withdrawn (its limit freed); financing 1 disbursed, a loss notified, a claim
    # filed and paid, and applied as a partial repayment; another claim declined.
    p.step("FinancingWithdrawn", 2)
    c.hold("AmountReleased", 1, 2, 10_000, held=50_000)
    p.step("FinancingAccepted", 1)
    p.step("FinancingReviewed", 1, approved=True)
    p.step("DisbursementRegistered", 1, amount=50_000, value_date=20_000, due_date=20_090)
    p.emit(
        "LossNotified",
        POLICY_FP,
        policy=POLICY_FP,
        bank=BANK_A,
        declaration=h(1),
        amount=20_000,
        by=INSURER_OPERATOR,
    )
    p.claim(1, 1, 30_000)
    p.claim(1, 2, 20_000)
    p.claim_repayment(1, 1, 20_000, repaid=20_000, closed=False)
    p.claim(2, 1, 5_000, bank=ZERO)
    p.claim(2, 3, 0, bank=ZERO)
    c.commit()
    claims = _claims(store)
    assert (claims[1]["status"], claims[1]["amount"], claims[1]["paid"], claims[1]["applied"]) == (
        2,
        30_000,
        20_000,
        20_000,
    )
    assert (claims[2]["status"], claims[2]["paid"], claims[2]["bank"]) == (3, 0, None)
    assert _policy(store)["used"] == 50_000
    (notice,) = _rows(store, s.loss_notices)
    assert (notice["bank"], notice["amount"]) == (BANK_A, 20_000)
    (repayment,) = _rows(store, s.claim_repayments)
    assert (repayment["financing_id"], repayment["claim_id"], repayment["amount"]) == (1, 1, 20_000)
    financing = {r["financing_id"]: r for r in _rows(store, s.financings)}[1]
    assert (financing["scenario"], financing["repaid"]) == (int(Scenario.POLICY), 20_000)
    c.next_block()
    p.step("RepaymentRegistered", 1, amount=30_000, repaid=50_000, closed=True)
    c.hold("AmountConsumed", 1, 1, 50_000, held=50_000)
    c.commit()
    assert _policy(store)["used"] == 0, "a closed financing frees the buyer credit limit"

    # A reorg back to before the withdrawal: the limit and the claims as they were then.
    store.rollback(Checkpoint(ancestor, h(ancestor)))
    assert _policy(store)["used"] == 60_000
    assert _claims(store) == {}
    assert not _rows(store, s.claim_repayments) and not _rows(store, s.loss_notices)
    assert not _anomalies(store)


def test_a_reorg_of_a_claim_repayment_alone_recomputes_what_the_claim_applied(store: Store) -> None:
    c = Ranges(store)
    p = Policy(c)
    c.next_block()
    c.register(1, face=100_000)
    p.register()
    p.ship(1, 80_000)
    p.cover(1)
    p.assign("AssignmentRequested", BANK_A)
    p.assign("ClaimsAssigned", BANK_A)
    p.apply(1, 1, 50_000, held=50_000)
    p.step("FinancingAccepted", 1)
    p.step("FinancingReviewed", 1, approved=True)
    p.step("DisbursementRegistered", 1, amount=50_000, value_date=20_000, due_date=20_090)
    p.claim(1, 1, 30_000)
    p.claim(1, 2, 30_000)
    ancestor = c.commit()
    c.next_block()
    p.claim_repayment(1, 1, 30_000, repaid=30_000, closed=False)
    c.commit()
    assert _claims(store)[1]["applied"] == 30_000
    store.rollback(Checkpoint(ancestor, h(ancestor)))
    assert (_claims(store)[1]["applied"], _claims(store)[1]["paid"]) == (0, 30_000)
    assert _policy(store)["used"] == 50_000
    assert not _anomalies(store)


def test_policy_events_that_contradict_the_rows_are_anomalies(store: Store) -> None:
    c = Ranges(store)
    p = Policy(c)
    c.next_block()
    p.register()
    p.register()  # twice
    p.assign("ClaimsAssigned", BANK_B)  # never requested
    p.cover(9)  # never declared
    p.claim(5, 2, 1_000)  # paid, never filed
    p.claim(6, 1, 1_000)
    p.claim(6, 3, 0)
    p.claim(6, 2, 500)  # settled twice
    c.commit()
    found = sorted((projection, event) for projection, event, _ in _anomalies(store))
    assert found == [
        ("claims", "ClaimUpdated"),
        ("claims", "ClaimUpdated"),
        ("policies", "ClaimsAssigned"),
        ("policies", "PolicyRegistered"),
        ("shipments", "CoverConfirmed"),
    ]
    assert _policy(store)["assignee"] is None
    assert _claims(store)[6]["status"] == 3


def test_a_store_indexed_by_an_older_version_is_refused_not_half_written(tmp_path: Path) -> None:
    from sqlalchemy import text

    from crossborder.indexer.store import StoreError, open_for_reading

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    store = Store(url)
    store.create()
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE holds DROP COLUMN via"))
    with pytest.raises(StoreError, match=r"older version \(no holds\.via\)"):
        store.create()
    store.close()
    with pytest.raises(StoreError, match="index again into a new store"):
        open_for_reading(url)
