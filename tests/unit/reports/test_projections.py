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
