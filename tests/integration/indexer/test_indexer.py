"""A full index against the chain's own state (contract views), into SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crossborder.domain.codes import SCENARIO_TABLE, FinancingState, Reason
from crossborder.indexer import Store
from crossborder.indexer import schema as s

from .conftest import dump, fresh_store_url, index
from .world import EXPORT, IMPORT, RECEIVABLES, World

LEDGER = "DocumentLedger"


def _rows(store: Store, table: Any) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [r._asdict() for r in conn.execute(select(table))]


def _b(hex_id: str) -> bytes:
    return bytes.fromhex(hex_id[2:])


def test_projections_equal_the_chain_views(world: World, store_kind: str, tmp_path: Path) -> None:
    store = index(world, fresh_store_url(store_kind, tmp_path), initial_range=7)
    receivables = world.deployment.contracts[RECEIVABLES].lower()
    (count,) = world.view(RECEIVABLES, "financing_count")
    financings = {r["financing_id"]: r for r in _rows(store, s.financings)}
    assert len(financings) == count == len(world.financings)
    for fid in range(1, count + 1):
        (record,) = world.view(RECEIVABLES, "financing", fid)
        applicant, bank, state, currency, requested, disbursed, repaid, docs, _, value, due = record
        row = financings[fid]
        assert row["applicant"] == applicant.lower()
        assert row["bank"] == "0x" + bytes(bank).hex()
        assert (row["state"], row["currency"], row["documents"]) == (state, currency, docs)
        assert (row["requested"], row["disbursed"], row["repaid"]) == (requested, disbursed, repaid)
        assert row["firm"] == world.hex_id(world.financings[fid].firm)
        if disbursed:
            assert (row["value_day"], row["due_day"]) == (value, due)

    # Documents: one row per live (type, fingerprint), as the ledger's `document` view.
    documents = {(r["doc_type"], r["fingerprint"]): r for r in _rows(store, s.documents)}
    expected = {(t, "0x" + world.fp.declaration(n).hex()) for t, n in world.documents}
    assert set(documents) == expected
    holds = _rows(store, s.holds)
    for doc_type, fingerprint in expected:
        status, face, held, currency, issued, since = world.view(
            LEDGER, "document", doc_type, _b(fingerprint)
        )
        row = documents[(doc_type, fingerprint)]
        assert status != 0
        assert (row["face"], row["held"], row["currency"]) == (face, held, currency)
        assert row["issued_day"] == issued
        assert row["held_since"] == (since or None)
        of_document = [
            h for h in holds if (h["doc_type"], h["fingerprint"]) == (doc_type, fingerprint)
        ]
        assert sum(h["live"] + h["consumed"] for h in of_document) == held
    # The registrar index in each document's word is the registering provider's.
    (registrar,) = {b["registrar"] for b in _rows(store, s.registrations)}
    (index_of_customs,) = world.view(LEDGER, "registrar_index", _b(registrar))
    assert {r["registrar"] for r in documents.values()} == {index_of_customs}
    # Every hold record as the ledger's `hold_record` view: live and consumed.
    for h in holds:
        assert h["scenario_address"] == receivables
        live, consumed, _tag = world.view(
            LEDGER,
            "hold_record",
            h["scenario_address"],
            h["financing_id"],
            h["doc_type"],
            _b(h["fingerprint"]),
        )
        assert (h["live"], h["consumed"]) == (live, consumed), h
        assert h["state"] == ("live" if live else "consumed" if consumed else "released")

    failures = Counter(
        (r["bank"], r["reason"]) for r in _rows(store, s.verification_attempts) if r["reason"]
    )
    assert sum(failures.values()) == len(world.failures)
    for bank in world.banks:
        for reason in Reason:
            if reason is Reason.OK:
                continue
            (on_chain,) = world.view(RECEIVABLES, "verification_failures", _b(bank.id), int(reason))
            assert failures[(bank.id, int(reason))] == on_chain
    failed = [r for r in _rows(store, s.verification_attempts) if r["reason"]]
    assert {r["doc_type"] for r in failed} == {int(EXPORT)}

    participants = {r["participant"]: r for r in _rows(store, s.participants)}
    for pid, row in participants.items():
        kind, active, parent = world.view("Consortium", "participant", _b(pid))
        parent_hex = "0x" + bytes(parent).hex()
        assert (row["kind"], row["active"]) == (kind, active)
        assert row["parent"] == (None if int(parent_hex, 16) == 0 else parent_hex)
    for op in _rows(store, s.operators):
        (participant,) = world.view("Consortium", "participant_of", op["account"])
        assert op["participant"] == "0x" + bytes(participant).hex()
    roles = _rows(store, s.operator_roles)
    assert roles
    for role in roles:
        (stages,) = world.view("Consortium", "roles_of", role["account"], role["scenario"])
        assert role["stages"] == stages
    # The scenario table the deploy wrote, row for row.
    table = {(r["scenario"], r["kind"]): r["stages"] for r in _rows(store, s.scenario_roles)}
    assert table == {(int(sc), int(kind)): int(st) for (sc, kind), st in SCENARIO_TABLE.items()}
    services = _rows(store, s.services)
    assert len(services) == len(world.firms) * len(world.banks)
    for svc in services:
        valid_until, scope = world.view(
            "Consortium", "service", _b(svc["firm"]), _b(svc["bank"]), svc["scenario"]
        )
        assert (svc["valid_until"], svc["scope"]) == (valid_until, scope)
        assert svc["opened"] == (valid_until != 0)
    assert len(_rows(store, s.consent_revocations)) == world.revoked

    steps = _rows(store, s.financing_states)
    closed = {r["financing_id"] for r in steps if r["state"] == FinancingState.CLOSED}
    assert closed == {f for f, r in financings.items() if r["state"] == FinancingState.CLOSED}
    assert store.undecoded_count() == 0
    store.close()


def test_one_fingerprint_under_two_types_stays_two_documents(world: World, tmp_path: Path) -> None:
    assert world.two_types, "the story registered a fingerprint under two types"
    store = index(world, f"sqlite:///{tmp_path / 'types.sqlite'}")
    documents = {(r["doc_type"], r["fingerprint"]): r for r in _rows(store, s.documents)}
    for number in world.two_types:
        fingerprint = "0x" + world.fp.declaration(number).hex()
        export, imported = documents[(EXPORT, fingerprint)], documents[(IMPORT, fingerprint)]
        for doc_type, row in ((EXPORT, export), (IMPORT, imported)):
            _, face, held, currency, _, _ = world.view(
                LEDGER, "document", doc_type, _b(fingerprint)
            )
            assert (row["face"], row["held"], row["currency"]) == (face, held, currency)
        assert imported["held"] == 0, "nothing finances an import declaration"
        assert imported["face"] == world.documents[(IMPORT, number)].amount.to_minor()
    store.close()


def test_skipped_documents_make_no_rows_and_no_double_counts(world: World, tmp_path: Path) -> None:
    assert world.skipped, "the story repeated registered documents in a batch"
    store = index(world, f"sqlite:///{tmp_path / 'skipped.sqlite'}")
    raw = _rows(store, s.raw_events)
    registered = Counter(r["event"] for r in raw)["DocumentRegistered"]
    voided = Counter(r["event"] for r in raw)["DocumentVoided"]
    batches = _rows(store, s.registrations)
    assert sum(b["count"] for b in batches) == registered
    assert sum(b["skipped"] for b in batches) == len(world.skipped)
    skipped = [r for r in raw if r["event"] == "DocumentSkipped"]
    assert sorted((r["args"]["doc_type"], r["args"]["fingerprint"]) for r in skipped) == sorted(
        (t, "0x" + world.fp.declaration(n).hex()) for t, n in world.skipped
    )
    documents = {(r["doc_type"], r["fingerprint"]): r for r in _rows(store, s.documents)}
    assert len(documents) == registered - voided == len(world.documents)
    for doc_type, number in world.skipped:
        row = documents[(doc_type, "0x" + world.fp.declaration(number).hex())]
        assert row["face"] == world.documents[(doc_type, number)].amount.to_minor(), (
            "the skipped copy changed nothing"
        )
    store.close()


def test_void_then_register_again_and_face_corrections(world: World, tmp_path: Path) -> None:
    assert world.registered_again and world.voided and world.corrected
    store = index(world, f"sqlite:///{tmp_path / 'void.sqlite'}")
    documents = {(r["doc_type"], r["fingerprint"]): r for r in _rows(store, s.documents)}
    raw = _rows(store, s.raw_events)

    def fp(number: str) -> str:
        return "0x" + world.fp.declaration(number).hex()

    for doc_type, number in world.voided:
        assert (doc_type, fp(number)) not in documents
        assert world.view(LEDGER, "document", doc_type, world.fp.declaration(number))[0] == 0
    for doc_type, number in world.registered_again:
        row = documents[(doc_type, fp(number))]
        events = [
            r
            for r in raw
            if r["topic1"] == fp(number)
            and r["event"] in ("DocumentRegistered", "DocumentVoided")
            and r["args"]["doc_type"] == doc_type
        ]
        assert [e["event"] for e in events][:3] == [
            "DocumentRegistered",
            "DocumentVoided",
            "DocumentRegistered",
        ]
        assert row["registered_at"] == events[2]["block_time"]
        assert row["face"] == world.documents[(doc_type, number)].amount.to_minor()
    for doc_type, number in world.corrected:
        (_, face, held, *_) = world.view(LEDGER, "document", doc_type, world.fp.declaration(number))
        row = documents[(doc_type, fp(number))]
        assert (row["face"], row["held"]) == (face, held)
        assert held <= face
    store.close()


def test_force_release_frees_the_holds_and_is_recorded(world: World, tmp_path: Path) -> None:
    assert world.forced, "the story had the regulator force-release a financing's holds"
    store = index(world, f"sqlite:///{tmp_path / 'forced.sqlite'}")
    receivables = world.deployment.contracts[RECEIVABLES].lower()
    actions = _rows(store, s.force_releases)
    assert sorted(a["financing_id"] for a in actions) == sorted(world.forced)
    holds = _rows(store, s.holds)
    for action in actions:
        fid = action["financing_id"]
        f = world.financings[fid]
        assert (action["scenario_address"], action["bank"]) == (receivables, f.bank.id)
        assert action["by"] == world.regulator.address.lower()
        assert action["documents"] == len(f.citations)
        mine = [h for h in holds if h["financing_id"] == fid]
        assert len(mine) == len(f.citations)
        for h in mine:
            # The regulator freed the live amount: the hold ended when the action was logged.
            assert (h["live"], h["consumed"], h["state"]) == (0, 0, "released")
            assert h["ended_at"] == action["at"]
        (fps, live) = world.view(RECEIVABLES, "cited", fid)
        assert list(live) == [0] * len(fps)
    store.close()


def test_sqlite_and_postgresql_hold_the_same_rows(
    world: World, store_kind: str, tmp_path: Path
) -> None:
    """The same chain gives the same rows in either store, whatever the range sizes."""
    url = fresh_store_url(store_kind, tmp_path)
    index(world, url, initial_range=1, max_range=4).close()
    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    index(world, reference, initial_range=100_000).close()
    assert dump(url) == dump(reference)
