"""A full index against the chain's own state (contract views), into SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crossborder.domain.codes import SCENARIO_TABLE, FinancingState, Reason, Scenario
from crossborder.indexer import Store
from crossborder.indexer import schema as s

from .conftest import dump, fresh_store_url, index
from .world import (
    EXPORT,
    FINANCING_CONTRACTS,
    IMPORT,
    LADING,
    LEDGER,
    LOGISTICS,
    POLICY,
    RECEIVABLES,
    SCENARIO_OF,
    WAYBILL,
    World,
)

ZERO_HEX = "0x" + "00" * 32


def _rows(store: Store, table: Any) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [r._asdict() for r in conn.execute(select(table))]


def _b(hex_id: str) -> bytes:
    return bytes.fromhex(hex_id[2:])


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


def _or_none(value: Any) -> str | None:
    return None if bytes(value) == b"\x00" * 32 else _hex(value)


def test_projections_equal_the_chain_views(world: World, store_kind: str, tmp_path: Path) -> None:
    store = index(world, fresh_store_url(store_kind, tmp_path), initial_range=7)
    addresses = {world.deployment.contracts[c].lower(): c for c in FINANCING_CONTRACTS}
    financings = {
        (addresses[r["scenario_address"]], r["financing_id"]): r for r in _rows(store, s.financings)
    }
    assert len(financings) == len(world.financings)
    for contract in FINANCING_CONTRACTS:
        (count,) = world.view(contract, "financing_count")
        assert count == len([k for k in world.financings if k[0] == contract]) > 0, contract
        for fid in range(1, count + 1):
            (record,) = world.view(contract, "financing", fid)
            applicant, bank, state, currency, requested, disbursed, repaid, docs, _, value, due = (
                record
            )
            row = financings[(contract, fid)]
            assert row["scenario"] == SCENARIO_OF[contract]
            assert row["applicant"] == applicant.lower()
            assert row["bank"] == _hex(bank)
            assert (row["state"], row["currency"], row["documents"]) == (state, currency, docs)
            assert (row["requested"], row["disbursed"], row["repaid"]) == (
                requested,
                disbursed,
                repaid,
            )
            assert row["firm"] == world.hex_id(world.financings[(contract, fid)].firm)
            if disbursed:
                assert (row["value_day"], row["due_day"]) == (value, due)

    # Documents: one row per live (type, fingerprint), as the ledger's `document` view, with
    # the declaration a waybill or bill of lading is linked to.
    documents = {(r["doc_type"], r["fingerprint"]): r for r in _rows(store, s.documents)}
    numbers = list(world.documents) + list(world.transport)
    expected = {(t, "0x" + world.document_fp(t, n).hex()) for t, n in numbers}
    assert set(documents) == expected
    assert {t for t, _ in expected} >= {int(EXPORT), int(IMPORT), int(WAYBILL), int(LADING)}
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
        (linked,) = world.view(LEDGER, "linked_declaration", doc_type, _b(fingerprint))
        assert row["linked_declaration"] == _or_none(linked)
        of_document = [
            h for h in holds if (h["doc_type"], h["fingerprint"]) == (doc_type, fingerprint)
        ]
        assert sum(h["live"] + h["consumed"] for h in of_document) == held
    assert any(r["linked_declaration"] for r in documents.values()), "the story links waybills"
    links = {
        (r["doc_type"], r["fingerprint"]): r["declaration"] for r in _rows(store, s.document_links)
    }
    for (doc_type, fingerprint), declaration in links.items():
        (linked,) = world.view(LEDGER, "linked_declaration", doc_type, _b(fingerprint))
        assert declaration == _hex(linked)
    # The registrar index in each document's word is its registering provider's.
    registrars = {b["doc_type"]: b["registrar"] for b in _rows(store, s.registrations)}
    for row in documents.values():
        (index_of,) = world.view(LEDGER, "registrar_index", _b(registrars[row["doc_type"]]))
        assert row["registrar"] == index_of
    # Every hold record as the ledger's `hold_record` view: live and consumed; a hold on a
    # linked declaration names the cited document it was taken through, linked to it then (a
    # document voided since lost that link, and may be linked to another declaration now).
    raw = _rows(store, s.raw_events)
    ever_linked: dict[tuple[int, str], set[str]] = {}
    for r in raw:
        if r["event"] == "DocumentLinked":
            key = (r["args"]["doc_type"], r["args"]["fingerprint"])
            ever_linked.setdefault(key, set()).add(r["args"]["declaration"])
    voided = {
        (r["args"]["doc_type"], r["args"]["fingerprint"])
        for r in raw
        if r["event"] == "DocumentVoided"
    }
    by_key = {
        (h["scenario_address"], h["financing_id"], h["doc_type"], h["fingerprint"]): h
        for h in holds
    }
    for h in holds:
        assert h["scenario_address"] in addresses
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
        if addresses[h["scenario_address"]] == LOGISTICS and h["doc_type"] == EXPORT:
            assert h["via"] is not None, "a logistics financing holds declarations by links"
        if h["via"] is None:
            continue
        assert h["doc_type"] == EXPORT
        cited = [
            c
            for (sc, fid, _, fp), c in by_key.items()
            if (sc, fid, fp) == (h["scenario_address"], h["financing_id"], h["via"])
        ]
        (through,) = cited
        assert h["fingerprint"] in ever_linked[(through["doc_type"], h["via"])]
        (linked,) = world.view(LEDGER, "linked_declaration", through["doc_type"], _b(h["via"]))
        assert _hex(linked) == h["fingerprint"] or (through["doc_type"], h["via"]) in voided
        assert (through["amount"], through["live"], through["consumed"]) == (
            h["amount"],
            h["live"],
            h["consumed"],
        )
    # What each financing's cited documents hold, as its `cited` view: the holds without `via`.
    for contract, fid in financings:
        fps, live = world.view(contract, "cited", fid)
        address = world.deployment.contracts[contract].lower()
        mine = {
            h["fingerprint"]: h["live"]
            for h in holds
            if (h["scenario_address"], h["financing_id"]) == (address, fid) and h["via"] is None
        }
        assert mine == {_hex(fp): units for fp, units in zip(fps, live, strict=True)}

    failures = Counter(
        (r["scenario_address"], r["bank"], r["reason"])
        for r in _rows(store, s.verification_attempts)
        if r["reason"]
    )
    assert sum(failures.values()) == len(world.failures)
    for contract in FINANCING_CONTRACTS:
        address = world.deployment.contracts[contract].lower()
        for bank in world.banks:
            for reason in Reason:
                if reason is Reason.OK:
                    continue
                (on_chain,) = world.view(
                    contract, "verification_failures", _b(bank.id), int(reason)
                )
                assert failures[(address, bank.id, int(reason))] == on_chain
    failed = [r for r in _rows(store, s.verification_attempts) if r["reason"]]
    assert {r["doc_type"] for r in failed} == {int(EXPORT), int(WAYBILL)}
    assert {r["scenario"] for r in failed} >= {int(Scenario.RECEIVABLES), int(Scenario.LOGISTICS)}

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
    credit = {int(Scenario.CREDIT_MATCH), int(Scenario.CREDIT_QUERY)}  # the credit story's roles
    assert {r["scenario"] for r in roles} == {0, 1, 2, 3} | credit
    for role in roles:
        (stages,) = world.view("Consortium", "roles_of", role["account"], role["scenario"])
        assert role["stages"] == stages
    # The scenario table the deploy wrote, row for row.
    table = {(r["scenario"], r["kind"]): r["stages"] for r in _rows(store, s.scenario_roles)}
    assert table == {(int(sc), int(kind)): int(st) for (sc, kind), st in SCENARIO_TABLE.items()}
    services = _rows(store, s.services)
    financing = [r for r in services if r["scenario"] not in credit]  # the credit story's apart
    assert len(financing) == len(world.firms) * len(world.banks) * len(FINANCING_CONTRACTS)
    assert {r["scenario"] for r in services} - {r["scenario"] for r in financing} == credit
    for svc in services:
        valid_until, scope = world.view(
            "Consortium", "service", _b(svc["firm"]), _b(svc["bank"]), svc["scenario"]
        )
        assert (svc["valid_until"], svc["scope"]) == (valid_until, scope)
        assert svc["opened"] == (valid_until != 0)
    assert len(_rows(store, s.consent_revocations)) == world.revoked

    steps = _rows(store, s.financing_states)
    closed = {
        (r["scenario_address"], r["financing_id"])
        for r in steps
        if r["state"] == FinancingState.CLOSED
    }
    assert closed == {
        (r["scenario_address"], r["financing_id"])
        for r in financings.values()
        if r["state"] == FinancingState.CLOSED
    }
    assert store.undecoded_count() == 0 and store.anomaly_count() == 0
    store.close()


def test_policy_projections_equal_the_contract_views(
    world: World, store_kind: str, tmp_path: Path
) -> None:
    """Policies, shipments, advance ratios, claims, assignments, loss notices and claim
    repayments, as the policy contract's views and the story's own record show them."""
    store = index(world, fresh_store_url(store_kind, tmp_path), initial_range=5)
    address = world.deployment.contracts[POLICY].lower()

    policies = {r["policy"]: r for r in _rows(store, s.policies)}
    assert set(policies) == {"0x" + world.policy_fp(n).hex() for n in world.policies}
    for fingerprint, row in policies.items():
        assert row["scenario_address"] == address
        firm, buyer, insurer, assignee, pending, limit, used, currency, until = world.view(
            POLICY, "policy", _b(fingerprint)
        )
        assert (row["firm"], row["buyer"], row["insurer"]) == (
            _hex(firm),
            _hex(buyer),
            _hex(insurer),
        )
        assert (row["assignee"], row["pending"]) == (_or_none(assignee), _or_none(pending))
        assert (row["credit_limit"], row["used"], row["currency"], row["valid_until"]) == (
            limit,
            used,
            currency,
            until,
        )
        assert row["insurer"] == world.insurer_id
    assert any(r["used"] for r in policies.values()), "a policy's limit is in use"
    assert any(r["pending"] for r in policies.values()), "an assignment awaits the insurer"
    assert all(r["used"] <= r["credit_limit"] for r in policies.values())

    shipments = {r["declaration"]: r for r in _rows(store, s.shipments)}
    insured = {n: p for p in world.policies.values() for n in p.shipments}
    assert set(shipments) == {"0x" + world.fp.declaration(n).hex() for n in insured}
    for fingerprint, row in shipments.items():
        policy, units, covered = world.view(POLICY, "shipment", _b(fingerprint))
        assert (row["policy"], row["insured"], row["covered"]) == (_hex(policy), units, covered)
        assert (row["covered_at"] is not None) == covered
    assert {r["covered"] for r in shipments.values()} == {True, False}

    ratios = {r["bank"]: r["ratio_bps"] for r in _rows(store, s.advance_ratios)}
    assert set(ratios) == {b.id for b in world.banks}
    for bank_id, ratio in ratios.items():
        assert world.view(POLICY, "advance_ratio_bps", _b(bank_id)) == (ratio,)

    claims = {r["claim_id"]: r for r in _rows(store, s.claims)}
    (count,) = world.view(POLICY, "claim_count")
    assert set(claims) == set(range(1, count + 1)) == set(world.claims)
    for claim_id, row in claims.items():
        policy, declaration, status, claimed, paid, applied = world.view(POLICY, "claim", claim_id)
        assert (row["policy"], row["declaration"]) == (_hex(policy), _hex(declaration))
        assert (row["status"], row["amount"], row["paid"], row["applied"]) == (
            status,
            claimed,
            paid,
            applied,
        )
        assert row["bank"] == policies[row["policy"]]["assignee"]
        assert (row["settled_at"] is None) == (status == 1)
    assert {r["status"] for r in claims.values()} == {1, 2, 3}, "filed, paid and declined"
    assert any(r["applied"] for r in claims.values())

    repayments = _rows(store, s.claim_repayments)
    assert sorted((r["financing_id"], r["claim_id"], r["amount"]) for r in repayments) == sorted(
        world.claim_repayments
    )
    notices = _rows(store, s.loss_notices)
    assert notices and all(r["amount"] > 0 for r in notices)
    assert None in {r["bank"] for r in notices}, "a loss notice on a policy not yet assigned"
    assignments = Counter(r["action"] for r in _rows(store, s.assignments))
    confirmed = sum(1 for p in world.policies.values() if p.bank is not None)
    assert assignments == Counter(requested=len(world.policies), confirmed=confirmed)
    store.close()


def test_a_linked_waybill_holds_once_per_financing_on_both_documents(
    world: World, store_kind: str, tmp_path: Path
) -> None:
    """A logistics financing of a linked waybill holds its amount on the waybill and on the
    declaration; another bank is refused on the waybill; the declaration's rest is financed as
    a receivable; a declaration used up first refuses its free waybill; a linked waybill voided
    is unlinked, registered again and linked to another declaration, where it then holds (its
    first financing's hold stays on the first declaration, through it)."""
    assert world.linked_financed and world.linked_refused and world.transport_again
    store = index(world, fresh_store_url(store_kind, tmp_path))
    logistics = world.deployment.contracts[LOGISTICS].lower()
    receivables = world.deployment.contracts[RECEIVABLES].lower()
    holds = _rows(store, s.holds)
    documents = {(r["doc_type"], r["fingerprint"]): r for r in _rows(store, s.documents)}
    attempts = _rows(store, s.verification_attempts)
    bank_b = world.bank("Bank B")
    for (doc_type, number), declaration, units, rest in world.linked_financed:
        waybill = "0x" + world.document_fp(doc_type, number).hex()
        decl = "0x" + world.fp.declaration(declaration).hex()
        assert documents[(doc_type, waybill)]["linked_declaration"] == decl
        (on_waybill,) = [
            h for h in holds if h["fingerprint"] == waybill and h["scenario_address"] == logistics
        ]
        fid = on_waybill["financing_id"]
        mine = [h for h in holds if (h["scenario_address"], h["financing_id"]) == (logistics, fid)]
        assert sorted((h["doc_type"], h["amount"], h["via"]) for h in mine) == sorted(
            [(int(EXPORT), units, waybill), (doc_type, units, None)]
        )
        assert _rows_where(store, fid, logistics)["requested"] == units, "the financing is 600"
        # Bank B was refused on the same waybill: fully used.
        refused = [
            a
            for a in attempts
            if a["fingerprint"] == waybill and a["scenario_address"] == logistics and a["reason"]
        ]
        assert (bank_b.id, int(Reason.DUPLICATE), doc_type) in [
            (a["bank"], a["reason"], a["doc_type"]) for a in refused
        ]
        # The declaration: a receivable gets the rest, and not a unit more.
        on_declaration = [h for h in holds if (h["doc_type"], h["fingerprint"]) == (EXPORT, decl)]
        assert (logistics, units, waybill) in [
            (h["scenario_address"], h["amount"], h["via"]) for h in on_declaration
        ]
        assert (receivables, rest, None) in [
            (h["scenario_address"], h["amount"], h["via"]) for h in on_declaration
        ]
        over = [
            a
            for a in attempts
            if a["fingerprint"] == decl and a["reason"] == int(Reason.OVER_FINANCED)
        ]
        assert rest + 1 in [a["amount"] for a in over]
    for doc_type, number in world.linked_refused:
        waybill = "0x" + world.document_fp(doc_type, number).hex()
        assert documents[(doc_type, waybill)]["held"] == 0
        (refused,) = [a for a in attempts if a["fingerprint"] == waybill and a["reason"]]
        assert refused["reason"] == int(Reason.DUPLICATE), "its declaration is used up"
    raw = _rows(store, s.raw_events)
    links = {
        (r["doc_type"], r["fingerprint"]): r["declaration"] for r in _rows(store, s.document_links)
    }
    for (doc_type, number), first, again in world.transport_again:
        waybill = "0x" + world.document_fp(doc_type, number).hex()
        first_hex = "0x" + world.fp.declaration(first).hex()
        again_hex = "0x" + world.fp.declaration(again).hex()
        events = [
            r["event"]
            for r in raw
            if r["topic1"] == waybill
            and r["event"] in ("DocumentRegistered", "DocumentVoided", "DocumentLinked")
        ]
        assert events == [
            "DocumentRegistered",
            "DocumentLinked",
            "DocumentVoided",
            "DocumentRegistered",
            "DocumentLinked",
        ]
        (linked,) = world.view(LEDGER, "linked_declaration", doc_type, _b(waybill))
        assert _hex(linked) == again_hex != first_hex
        assert documents[(doc_type, waybill)]["linked_declaration"] == again_hex
        assert links[(doc_type, waybill)] == again_hex
        on_waybill = [h for h in holds if h["fingerprint"] == waybill]
        assert len(on_waybill) == 2 and all(h["via"] is None for h in on_waybill)
        through = sorted(
            (h["financing_id"], h["fingerprint"], h["amount"]) for h in holds if h["via"] == waybill
        )
        assert [(fp, amount) for _, fp, amount in through] == [
            (first_hex, 100_00),  # the withdrawn financing's, before the void
            (again_hex, 100_00),  # the kept one's, through the new link
        ], "each financing's declaration hold names the waybill it was taken through"
    store.close()


def _rows_where(store: Store, fid: int, address: str) -> dict[str, Any]:
    (row,) = [
        r
        for r in _rows(store, s.financings)
        if (r["scenario_address"], r["financing_id"]) == (address, fid)
    ]
    return row


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
    assert len(documents) == registered - voided == len(world.documents) + len(world.transport)
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
    contracts = {world.deployment.contracts[c].lower(): c for c in FINANCING_CONTRACTS}
    actions = _rows(store, s.force_releases)
    assert sorted((contracts[a["scenario_address"]], a["financing_id"]) for a in actions) == sorted(
        world.forced
    )
    assert LOGISTICS in {c for c, _ in world.forced}, "a linked waybill's holds were freed"
    holds = _rows(store, s.holds)
    for action in actions:
        key = (contracts[action["scenario_address"]], action["financing_id"])
        f = world.financings[key]
        assert action["bank"] == f.bank.id
        assert action["by"] == world.regulator.address.lower()
        assert action["documents"] == len(f.citations)
        mine = [
            h
            for h in holds
            if (h["scenario_address"], h["financing_id"])
            == (action["scenario_address"], action["financing_id"])
        ]
        linked = [
            n
            for n, _ in f.citations
            if f.doc_type != EXPORT and world.transport[(int(f.doc_type), n)].declaration
        ]
        assert len(mine) == len(f.citations) + len(linked)
        assert len([h for h in mine if h["via"]]) == len(linked)
        for h in mine:
            # The regulator freed the live amount: the hold ended when the action was logged.
            assert (h["live"], h["consumed"], h["state"]) == (0, 0, "released")
            assert h["ended_at"] == action["at"]
        (fps, live) = world.view(f.contract, "cited", f.id)
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


def test_ranges_start_at_one_block_and_shrink_in_proportion_to_dense_ones(
    world: World, tmp_path: Path
) -> None:
    """A catch-up starts with one block and doubles through sparse ranges; a range with far more
    events than the target makes the next one smaller in proportion (a node answering a
    million logs in one range needs gigabytes), and every event is still indexed once."""
    from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes

    url = f"sqlite:///{tmp_path / 'ranges.sqlite'}"
    store = Store(url, scenario_codes(world.rpc, world.deployment, world.abis))
    indexer = Indexer(
        world.rpc, world.deployment, world.abis, store, IndexerConfig(target_events=2)
    )
    fetched: list[tuple[int, int, int]] = []
    fetch = indexer.source.fetch

    def recording(first: int, last: int, addresses: Any = None) -> Any:
        result = fetch(first, last, addresses)
        if addresses is None:
            fetched.append((first, last, result.logs))
        return result

    indexer.source.fetch = recording  # type: ignore[method-assign]
    indexer.run()
    indexer.close()
    fetched.sort()
    assert fetched[0][1] == fetched[0][0]  # one block first
    shrunk = 0
    for (first, last, logs), (nxt_first, nxt_last, _) in itertools.pairwise(fetched):
        span, nxt_span = last - first + 1, nxt_last - nxt_first + 1
        if logs > 4 and nxt_first == last + 1:
            assert nxt_span <= max(1, span * 2 // logs), (first, last, logs, nxt_span)
            shrunk += 1
    assert shrunk > 0
    reference = index(world, f"sqlite:///{tmp_path / 'reference.sqlite'}", initial_range=100_000)
    assert store.event_count() == reference.event_count() > 0
    reference.close()
    store.close()


def test_a_range_holds_at_most_its_gas_budget_beyond_its_first_block(
    world: World, tmp_path: Path
) -> None:
    """Gas bounds what the node builds for one range where a count of blocks cannot: with a
    budget of 1 gas, no range reaches past its first block into another block that used gas
    (ranges of 64 blocks asked), and every event is still indexed once."""
    from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes

    store = Store(
        f"sqlite:///{tmp_path / 'gas.sqlite'}",
        scenario_codes(world.rpc, world.deployment, world.abis),
    )
    config = IndexerConfig(initial_range=64, range_gas=1)
    indexer = Indexer(world.rpc, world.deployment, world.abis, store, config)
    fetched: list[tuple[int, int]] = []
    fetch = indexer.source.fetch

    def recording(first: int, last: int, addresses: Any = None) -> Any:
        if addresses is None:
            fetched.append((first, last))
        return fetch(first, last, addresses)

    indexer.source.fetch = recording  # type: ignore[method-assign]
    indexer.run()
    indexer.close()
    gas = {}
    for first, last in fetched:
        for number in range(first, last + 1):
            header = world.rpc.request("eth_getBlockByNumber", [hex(number), False])
            gas[number] = int(header["gasUsed"], 16)
    assert len(fetched) > 1
    for first, last in fetched:  # (the world mines a block a transaction: no idle blocks)
        assert all(gas[n] == 0 for n in range(first + 1, last + 1)), (first, last)
    reference = index(world, f"sqlite:///{tmp_path / 'reference.sqlite'}", initial_range=100_000)
    assert store.event_count() == reference.event_count() > 0
    reference.close()
    store.close()
