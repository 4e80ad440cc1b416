"""A full index against the chain's own state (contract views), into SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select

from crossborder.domain.codes import FinancingState, Reason
from crossborder.indexer import schema as s

from .conftest import dump, fresh_store_url, index
from .world import World

RECEIVABLES = "ReceivablesFinancing"


def _rows(store, table):  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return [r._asdict() for r in conn.execute(select(table))]


def test_projections_equal_the_chain_views(world: World, store_kind: str, tmp_path: Path) -> None:
    store = index(world, fresh_store_url(store_kind, tmp_path), initial_range=7)
    platform = world.platform
    (count,) = platform.view(RECEIVABLES, "financing_count")
    financings = {r["financing_id"]: r for r in _rows(store, s.financings)}
    assert len(financings) == count == len(world.financings)
    for fid in range(1, count + 1):
        (record,) = platform.view(RECEIVABLES, "financing", fid)
        applicant, bank, state, currency, requested, disbursed, repaid, docs, value, due = record
        row = financings[fid]
        assert row["applicant"] == applicant.lower()
        assert row["bank"] == "0x" + bytes(bank).hex()
        assert (row["state"], row["currency"], row["documents"]) == (state, currency, docs)
        assert (row["requested"], row["disbursed"], row["repaid"]) == (requested, disbursed, repaid)
        assert row["firm"] == world.hex_id(world.financings[fid].firm)
        if disbursed:
            assert (row["value_day"], row["due_day"]) == (value, due)

    documents = {r["fingerprint"]: r for r in _rows(store, s.documents)}
    assert len(documents) == len(world.declarations)
    for number, declaration in world.declarations.items():
        fp = world.fp.declaration(number)
        _status, face, held, currency, doc_type, issued, _since = platform.view(
            "DocumentLedger", "document", fp
        )
        row = documents["0x" + fp.hex()]
        assert (row["face"], row["held"], row["currency"]) == (face, held, currency)
        assert (row["doc_type"], row["issued_day"]) == (doc_type, issued)
        assert row["owner"] == world.hex_id(declaration.exporter)
        live = sum(
            h["amount"]
            for h in _rows(store, s.holds)
            if h["fingerprint"] == row["fingerprint"] and h["state"] != "released"
        )
        assert live == held  # live and consumed holds make up the held total

    failures = Counter(
        (r["bank"], r["reason"]) for r in _rows(store, s.verification_attempts) if r["reason"]
    )
    assert sum(failures.values()) == len(world.failures)
    for bank in world.banks:
        for reason in Reason:
            if reason is Reason.OK:
                continue
            (on_chain,) = platform.view(
                RECEIVABLES, "verification_failures", bytes.fromhex(bank.id[2:]), int(reason)
            )
            assert failures[(bank.id, int(reason))] == on_chain

    participants = {r["participant"]: r for r in _rows(store, s.participants)}
    for pid, row in participants.items():
        kind, active, parent = platform.view("Consortium", "participant", bytes.fromhex(pid[2:]))
        parent_hex = "0x" + bytes(parent).hex()
        assert (row["kind"], row["active"]) == (kind, active)
        assert row["parent"] == (None if int(parent_hex, 16) == 0 else parent_hex)
    for op in _rows(store, s.operators):
        (roles,) = platform.view("Consortium", "roles_of", op["account"])
        assert op["roles"] == roles
    for svc in _rows(store, s.services):
        (opened,) = platform.view(
            "Consortium",
            "is_service_opened",
            bytes.fromhex(svc["firm"][2:]),
            bytes.fromhex(svc["bank"][2:]),
            svc["scenario"],
        )
        assert svc["opened"] == opened

    steps = _rows(store, s.financing_states)
    closed = {r["financing_id"] for r in steps if r["state"] == FinancingState.CLOSED}
    assert closed == {f for f, r in financings.items() if r["state"] == FinancingState.CLOSED}
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
