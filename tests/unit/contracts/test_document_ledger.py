"""DocumentLedger: registration, the packed inter-bank view, document status, scenario
authorisation, and the guard shared by two scenario contracts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest

from crossborder.chain.packing import unpack
from crossborder.domain.codes import (
    DocumentStatus,
    DocumentType,
    FinancingState,
    ParticipantKind,
    Reason,
    Role,
)
from crossborder.errors import (
    AccessDenied,
    Conflict,
    InvalidInput,
    MissingRole,
    NotAnOperator,
    NotRegulator,
    ParticipantDeactivated,
    ScenarioNotAuthorised,
    WrongState,
)

from .conftest import (
    CNY,
    CUSTOMS,
    EUR,
    FIRM_A,
    FIRM_B,
    ISSUED,
    USD,
    ZERO,
    advance,
    apply,
    events,
    fp,
    only_event,
    register,
    reverts,
)

EXPORT = DocumentType.EXPORT_DECLARATION
U64 = (1 << 64) - 1

MAY_REGISTER = {
    ParticipantKind.CUSTOMS: {DocumentType.EXPORT_DECLARATION, DocumentType.IMPORT_DECLARATION},
    ParticipantKind.INSURER: {DocumentType.INSURED_SHIPMENT},
    ParticipantKind.LOGISTICS: {
        DocumentType.RAIL_WAYBILL,
        DocumentType.BILL_OF_LADING,
        DocumentType.FREIGHT_INVOICE,
    },
    ParticipantKind.TAX: {DocumentType.TAX_FILING, DocumentType.FREIGHT_INVOICE},
}


@dataclass
class Word:
    """One word of `documents(fps)`, decoded per the layout in DocumentLedger's docstring."""

    face: int
    held: int
    currency: int
    doc_type: int
    issued: int
    since: int
    owner_tag: int

    @classmethod
    def of(cls, word: int) -> Word:
        return cls(
            word & U64,
            (word >> 64) & U64,
            (word >> 128) & 0xFFFF,
            (word >> 144) & 0xFF,
            (word >> 152) & 0xFFFF,
            (word >> 168) & 0xFFFFFFFF,
            word >> 200,
        )


@pytest.fixture(scope="module")
def providers(consortium, regulator, accounts, customs_op, platform, bank_a, bank_b, outsider):
    """One operator per data-provider kind, each holding DOC_REGISTER."""
    ops = {ParticipantKind.CUSTOMS: customs_op}
    for i, kind in enumerate(
        (ParticipantKind.INSURER, ParticipantKind.TAX, ParticipantKind.LOGISTICS)
    ):
        participant = fp(f"provider-{kind.name}")
        consortium.onboard(participant, int(kind), ZERO, sender=regulator)
        consortium.add_operator(
            accounts[4 + i], participant, int(Role.DOC_REGISTER), sender=regulator
        )
        ops[kind] = accounts[4 + i]
    return ops


@pytest.fixture(scope="module")
def eoa_scenario(accounts):
    """An account the tests authorise as a scenario, to call hold/release/consume directly."""
    return accounts[7]


@pytest.fixture(scope="module")
def five_hundred(ledger, customs_op, providers):
    """The largest batch: MAX_REGISTER documents in one transaction."""
    assert ledger.MAX_REGISTER() == 500
    docs = [_doc(f"big-{i}", face=10_000 + i, issued=ISSUED + i % 365) for i in range(500)]
    tx = ledger.register(EXPORT, docs, sender=customs_op)
    assert only_event(tx, ledger.DocumentsRegistered)["count"] == 500
    return docs


@pytest.fixture(scope="module", autouse=True)
def _module_state(providers, five_hundred, chain):
    """Builds the module's state before its first test; the empty block keeps ape's per-test
    restore cheap (py-evm re-executes the snapshot block's transactions)."""
    chain.mine()


def _doc(label: str, owner: bytes = FIRM_A, face: int = 1_000, currency: int = USD, issued=ISSUED):
    return (fp(label), owner, face, currency, issued)


################################################################
#                         REGISTRATION                         #
################################################################


def test_register_a_batch_of_100(ledger, customs_op, providers):
    docs = [
        _doc(
            f"batch-{i}", (FIRM_A, FIRM_B)[i % 2], 1 + i * 7_919, (USD, CNY, EUR)[i % 3], ISSUED + i
        )
        for i in range(100)
    ]
    tx = ledger.register(EXPORT, docs, sender=customs_op)

    assert only_event(tx, ledger.DocumentsRegistered) == {
        "registrar": CUSTOMS,
        "operator": customs_op.address,
        "doc_type": EXPORT,
        "count": 100,
    }
    logged = events(tx, ledger.DocumentRegistered)
    assert len(logged) == 100
    for d, log in zip(docs, logged, strict=True):
        fingerprint, owner, face, currency, issued = d
        record = face | currency << 128 | int(EXPORT) << 144 | issued << 152
        assert log == {"fingerprint": fingerprint, "owner": owner, "record": record}
        assert ledger.document(fingerprint) == (1, face, 0, currency, EXPORT, issued, 0)


def test_register_the_limit_of_500(ledger, five_hundred):
    for d in (five_hundred[0], five_hundred[-1]):
        assert ledger.document(d[0])[:2] == (DocumentStatus.FREE, d[2])


def test_register_more_than_the_limit_reverts(ledger, customs_op, providers):
    docs = [_doc(f"over-{i}") for i in range(501)]
    with ape.reverts():
        ledger.register(EXPORT, docs, sender=customs_op)
    assert ledger.documents([docs[0][0], docs[-1][0]]) == [0, 0]


def test_register_an_empty_batch_reverts(ledger, customs_op, providers):
    with reverts("ledger: empty batch", InvalidInput):
        ledger.register(EXPORT, [], sender=customs_op)
    tx = ledger.register(EXPORT, [_doc("one-of-one")], sender=customs_op)
    assert only_event(tx, ledger.DocumentsRegistered)["count"] == 1


@pytest.mark.parametrize("doc_type", [0, *DocumentType, max(DocumentType) + 1])
@pytest.mark.parametrize("kind", list(MAY_REGISTER), ids=lambda k: k.name)
def test_who_may_register_what(ledger, providers, kind, doc_type):
    doc = _doc(f"typed-{kind.name}-{doc_type}")
    if doc_type in MAY_REGISTER[kind]:
        register(ledger, providers[kind], [doc[:4]], doc_type)
        assert ledger.document(doc[0])[4] == doc_type
    else:
        with reverts("ledger: this participant may not register this document type", AccessDenied):
            register(ledger, providers[kind], [doc[:4]], doc_type)
        assert ledger.document(doc[0])[0] == DocumentStatus.UNKNOWN


@pytest.mark.parametrize("doc_type", [EXPORT, DocumentType.FREIGHT_INVOICE])
def test_bank_may_not_register(ledger, bank_a, providers, doc_type):
    with reverts("consortium: account lacks the role", MissingRole):
        register(ledger, bank_a.applicant, [_doc("by-bank")[:4]], doc_type)


def test_non_operator_or_deactivated_provider_may_not_register(
    ledger, consortium, regulator, customs_op, outsider, providers
):
    with reverts("consortium: account is not an operator", NotAnOperator):
        register(ledger, outsider, [_doc("by-outsider")[:4]])
    consortium.set_active(CUSTOMS, False, sender=regulator)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        register(ledger, customs_op, [_doc("by-deactivated")[:4]])
    consortium.set_active(CUSTOMS, True, sender=regulator)
    register(ledger, customs_op, [_doc("by-reactivated")[:4]])
    assert ledger.document(fp("by-reactivated"))[0] == DocumentStatus.FREE


def test_duplicate_in_the_batch_reverts_the_whole_batch(ledger, customs_op, providers):
    a, b = _doc("dup-a"), _doc("dup-b")
    with reverts("ledger: document already registered", Conflict):
        ledger.register(EXPORT, [a, b, a], sender=customs_op)
    assert ledger.documents([a[0], b[0]]) == [0, 0]


def test_already_registered_reverts_the_whole_batch(ledger, customs_op, providers):
    a, c = _doc("reg-a"), _doc("reg-c")
    ledger.register(EXPORT, [a], sender=customs_op)
    before = ledger.documents([a[0]])
    with reverts("ledger: document already registered", Conflict):
        ledger.register(EXPORT, [c, a], sender=customs_op)
    assert ledger.document(c[0])[0] == DocumentStatus.UNKNOWN
    assert ledger.documents([a[0]]) == before


def test_fingerprints_are_unique_across_providers(ledger, customs_op, providers):
    """One fingerprint, one document: another provider cannot register it again as its type."""
    doc = _doc("cross-provider")
    register(ledger, customs_op, [doc[:4]])
    with reverts("ledger: document already registered", Conflict):
        register(ledger, providers[ParticipantKind.TAX], [doc[:4]], DocumentType.FREIGHT_INVOICE)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"face": 0}, "ledger: face amount must be positive"),
        ({"currency": 0}, "ledger: invalid currency code"),
        ({"currency": 1000}, "ledger: invalid currency code"),
        ({"currency": 65535}, "ledger: invalid currency code"),
        ({"fingerprint": ZERO}, "ledger: empty fingerprint"),
        ({"owner": ZERO}, "ledger: empty fingerprint"),
    ],
)
def test_malformed_document_reverts_the_batch(ledger, customs_op, providers, bad, message):
    good = _doc("well-formed")
    fields = dict(
        zip(("fingerprint", "owner", "face", "currency", "issued"), _doc("bad"), strict=True)
    )
    fields.update(bad)
    with reverts(message, InvalidInput):
        ledger.register(EXPORT, [good, tuple(fields.values())], sender=customs_op)
    assert ledger.documents([good[0], fp("bad")]) == [0, 0]


def test_edge_values_are_accepted(ledger, customs_op, providers):
    """The passing side of the checks above: the smallest face, currency 1 and 999, day 0."""
    docs = [
        _doc("edge-1", face=1, currency=1, issued=0),
        _doc("edge-2", face=U64, currency=999, issued=65535),
    ]
    ledger.register(EXPORT, docs, sender=customs_op)
    assert ledger.document(docs[0][0]) == (1, 1, 0, 1, EXPORT, 0, 0)
    assert ledger.document(docs[1][0]) == (1, U64, 0, 999, EXPORT, 65535, 0)


################################################################
#                    INTER-BANK QUERY (VIEW)                   #
################################################################


def test_documents_view_decodes_per_the_layout(ledger, receivables, bank_a, five_hundred, chain):
    held_docs = {five_hundred[3][0]: 10_003, five_hundred[250][0]: 5_000}  # full and partial
    since = {}
    for fingerprint, amount in held_docs.items():
        apply(receivables, bank_a, FIRM_A, [fingerprint], [amount])
        since[fingerprint] = chain.blocks.head.timestamp
    unknown = [fp(f"unknown-{i}") for i in range(20)]
    # Unknown fingerprints interleaved with the 500 known ones.
    query = [d[0] for d in five_hundred]
    for i, u in enumerate(unknown):
        query.insert(i * 26, u)

    words = ledger.documents(query)

    assert len(words) == len(query) == 520
    by_fp = {d[0]: d for d in five_hundred}
    for fingerprint, raw in zip(query, words, strict=True):
        if fingerprint in unknown:
            assert raw == 0
            continue
        word = Word.of(raw)
        _, _, face, currency, issued = by_fp[fingerprint]
        held = held_docs.get(fingerprint, 0)
        assert word == Word(face, held, currency, EXPORT, issued, since.get(fingerprint, 0), 0)
        assert tuple(unpack(raw)) == (face, held, currency, EXPORT, issued, word.since)


def test_documents_view_bound(ledger):
    assert ledger.MAX_QUERY() == 2000
    assert ledger.documents([fp("q")] * 2000) == [0] * 2000
    with ape.reverts():
        ledger.documents([fp("q")] * 2001)


def test_owner_tag_is_stored_but_not_shown(ledger, receivables, customs_op, bank_a):
    """The owner tag is masked out of the view, yet verification still uses it."""
    doc = _doc("owned-by-b", owner=FIRM_B)
    ledger.register(EXPORT, [doc], sender=customs_op)
    assert ledger.documents([doc[0]])[0] >> 200 == 0
    assert apply(receivables, bank_a, FIRM_A, [doc[0]], [1]) == 0
    assert apply(receivables, bank_a, FIRM_B, [doc[0]], [1]) == 1


################################################################
#                       DOCUMENT STATUS                        #
################################################################


def test_document_status_and_since(ledger, receivables, customs_op, bank_a, chain):
    doc = _doc("status")
    assert ledger.document(doc[0]) == (DocumentStatus.UNKNOWN, 0, 0, 0, 0, 0, 0)
    ledger.register(EXPORT, [doc], sender=customs_op)
    assert ledger.document(doc[0]) == (DocumentStatus.FREE, 1_000, 0, USD, EXPORT, ISSUED, 0)

    first = apply(receivables, bank_a, FIRM_A, [doc[0]], [400])
    since = chain.blocks.head.timestamp
    assert since > 0
    assert ledger.document(doc[0]) == (
        DocumentStatus.PARTLY_USED,
        1_000,
        400,
        USD,
        EXPORT,
        ISSUED,
        since,
    )

    chain.mine(timestamp=since + 3_600)
    second = apply(receivables, bank_a, FIRM_A, [doc[0]], [600])
    assert ledger.document(doc[0])[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)
    assert ledger.document(doc[0])[6] == since  # since the first hold, not the second

    receivables.withdraw(first, sender=bank_a.applicant)
    assert ledger.document(doc[0])[:3] == (DocumentStatus.PARTLY_USED, 1_000, 600)
    assert ledger.document(doc[0])[6] == since  # still used

    receivables.withdraw(second, sender=bank_a.applicant)
    assert ledger.document(doc[0]) == (DocumentStatus.FREE, 1_000, 0, USD, EXPORT, ISSUED, 0)


################################################################
#                    SCENARIO AUTHORISATION                    #
################################################################


def test_set_scenario_by_the_regulator(ledger, regulator, eoa_scenario):
    assert not ledger.scenarios(eoa_scenario)
    tx = ledger.set_scenario(eoa_scenario, True, sender=regulator)
    assert only_event(tx, ledger.ScenarioAuthorised) == {
        "scenario": eoa_scenario.address,
        "enabled": True,
        "by": regulator.address,
    }
    assert ledger.scenarios(eoa_scenario)
    tx = ledger.set_scenario(eoa_scenario, False, sender=regulator)
    assert only_event(tx, ledger.ScenarioAuthorised)["enabled"] is False
    assert not ledger.scenarios(eoa_scenario)


def test_set_scenario_refused_to_others(ledger, bank_a, outsider, eoa_scenario, platform):
    for caller in (outsider, bank_a.applicant, eoa_scenario):
        with reverts("ledger: caller is not the regulator", NotRegulator):
            ledger.set_scenario(eoa_scenario, True, sender=caller)
    assert not ledger.scenarios(eoa_scenario)


def test_set_scenario_follows_the_consortium_owner(
    ledger, consortium, regulator, accounts, eoa_scenario
):
    new_owner = accounts[8]
    consortium.transfer_ownership(new_owner, sender=regulator)
    ledger.set_scenario(eoa_scenario, True, sender=regulator)  # not yet transferred
    consortium.accept_ownership(sender=new_owner)
    with reverts("ledger: caller is not the regulator", NotRegulator):
        ledger.set_scenario(eoa_scenario, False, sender=regulator)
    ledger.set_scenario(eoa_scenario, False, sender=new_owner)
    assert not ledger.scenarios(eoa_scenario)


def _guard_calls(ledger, doc, sender) -> dict[str, Any]:
    return {
        "hold": lambda: ledger.hold(1, FIRM_A, USD, EXPORT, [doc], [1], sender=sender),
        "release": lambda: ledger.release(1, [doc], [0], sender=sender),
        "consume": lambda: ledger.consume(1, [doc], [0], sender=sender),
    }


@pytest.mark.parametrize("function", ["hold", "release", "consume"])
def test_only_authorised_scenarios_touch_amounts(
    ledger, customs_op, regulator, bank_a, eoa_scenario, providers, function
):
    doc = _doc("guarded")
    ledger.register(EXPORT, [doc], sender=customs_op)
    never = (
        "ledger: caller is not an authorised scenario"
        if function == "hold"
        else "ledger: caller was never an authorised scenario"
    )
    for caller in (regulator, bank_a.applicant, eoa_scenario):
        with reverts(never, ScenarioNotAuthorised):
            _guard_calls(ledger, doc[0], caller)[function]()
    ledger.set_scenario(eoa_scenario, True, sender=regulator)
    tx = _guard_calls(ledger, doc[0], eoa_scenario)[function]()
    assert tx.status == 1
    ledger.set_scenario(eoa_scenario, False, sender=regulator)
    if function == "hold":  # stopped: no new holds
        with reverts("ledger: caller is not an authorised scenario", ScenarioNotAuthorised):
            _guard_calls(ledger, doc[0], eoa_scenario)[function]()
    else:  # but what it holds may still be released or consumed
        assert _guard_calls(ledger, doc[0], eoa_scenario)[function]().status == 1


def test_hold_release_consume_directly(ledger, customs_op, regulator, eoa_scenario, providers):
    doc = _doc("direct")
    ledger.register(EXPORT, [doc], sender=customs_op)
    ledger.set_scenario(eoa_scenario, True, sender=regulator)
    args = (5, FIRM_A, USD, EXPORT)

    assert ledger.hold.call(*args, [doc[0]], [1_001], sender=eoa_scenario) == (
        Reason.OVER_FINANCED,
        0,
    )
    assert ledger.hold.call(*args, [fp("nowhere"), doc[0]], [1, 1], sender=eoa_scenario) == (
        Reason.NOT_FOUND,
        0,
    )
    assert ledger.hold.call(*args, [doc[0]], [700], sender=eoa_scenario) == (Reason.OK, 0)
    tx = ledger.hold(*args, [doc[0]], [700], sender=eoa_scenario)
    assert only_event(tx, ledger.AmountHeld) == {
        "fingerprint": doc[0],
        "scenario": eoa_scenario.address,
        "financing_id": 5,
        "amount": 700,
        "held": 700,
    }

    tx = ledger.consume(5, [doc[0]], [700], sender=eoa_scenario)
    assert only_event(tx, ledger.AmountConsumed) == {
        "fingerprint": doc[0],
        "scenario": eoa_scenario.address,
        "financing_id": 5,
        "amount": 700,
        "held": 700,
    }
    assert ledger.document(doc[0])[2] == 700  # consuming does not free
    with reverts("ledger: consume exceeds the held amount", WrongState):
        ledger.consume(5, [doc[0]], [701], sender=eoa_scenario)

    with reverts("ledger: release exceeds the held amount", WrongState):
        ledger.release(5, [doc[0]], [701], sender=eoa_scenario)
    tx = ledger.release(5, [doc[0]], [300], sender=eoa_scenario)
    assert only_event(tx, ledger.AmountReleased)["held"] == 400
    assert ledger.document(doc[0])[2] == 400

    for call in (ledger.release, ledger.consume):
        with reverts("ledger: fingerprints and amounts differ in length", InvalidInput):
            call(5, [doc[0]], [1, 1], sender=eoa_scenario)
    with reverts("ledger: fingerprints and amounts differ in length", InvalidInput):
        ledger.hold(*args, [doc[0]], [], sender=eoa_scenario)


def test_stopped_scenario_takes_no_new_holds_but_winds_down_its_live_ones(
    ledger, receivables, customs_op, regulator, bank_a, providers
):
    doc, other = _doc("retired"), _doc("retired-2")
    ledger.register(EXPORT, [doc, other], sender=customs_op)
    withdrawn = apply(receivables, bank_a, FIRM_A, [doc[0]], [100])
    closing = apply(receivables, bank_a, FIRM_A, [other[0]], [100])
    advance(receivables, bank_a, closing, FinancingState.DISBURSED)
    tx = ledger.set_scenario(receivables, False, sender=regulator)
    assert only_event(tx, ledger.ScenarioAuthorised)["enabled"] is False
    assert not ledger.scenarios(receivables) and ledger.ever_authorised(receivables)

    with reverts("ledger: caller is not an authorised scenario", ScenarioNotAuthorised):
        receivables.apply(FIRM_A, USD, [doc[0]], [1], sender=bank_a.applicant)
    receivables.withdraw(withdrawn, sender=bank_a.applicant)
    assert ledger.document(doc[0])[2] == 0
    receivables.register_repayment(closing, 100, sender=bank_a.repayer)
    assert receivables.financing(closing).state == FinancingState.CLOSED
    assert ledger.document(other[0])[2] == 100


def test_never_authorised_contract_cannot_release_or_consume(
    ledger, customs_op, eoa_scenario, providers
):
    doc = _doc("never")
    ledger.register(EXPORT, [doc], sender=customs_op)
    for fn in (ledger.release, ledger.consume):
        with reverts("ledger: caller was never an authorised scenario", ScenarioNotAuthorised):
            fn(1, [doc[0]], [1], sender=eoa_scenario)


@pytest.mark.parametrize("face", [1_000, 2**63 + 5])
def test_guard_refuses_a_document_cited_twice_in_one_hold(
    ledger, customs_op, regulator, eoa_scenario, providers, face
):
    doc = _doc("twice", face=face)
    ledger.register(EXPORT, [doc], sender=customs_op)
    ledger.set_scenario(eoa_scenario, True, sender=regulator)
    with reverts("ledger: document cited twice", InvalidInput):
        ledger.hold(9, FIRM_A, USD, EXPORT, [doc[0], doc[0]], [face, face], sender=eoa_scenario)
    _, stored_face, held, currency, *_ = ledger.document(doc[0])
    assert (stored_face, held, currency) == (face, 0, USD)
    # Each half alone is fine.
    ledger.hold(9, FIRM_A, USD, EXPORT, [doc[0]], [face], sender=eoa_scenario)
    assert ledger.document(doc[0])[2] == face


def test_guard_refuses_a_zero_hold(ledger, customs_op, regulator, eoa_scenario, providers):
    doc = _doc("zero-hold")
    ledger.register(EXPORT, [doc], sender=customs_op)
    ledger.set_scenario(eoa_scenario, True, sender=regulator)
    with reverts("ledger: amount must be positive", InvalidInput):
        ledger.hold(9, FIRM_A, USD, EXPORT, [doc[0]], [0], sender=eoa_scenario)
    status, _, held, *_, since = ledger.document(doc[0])
    assert (status, held, since) == (DocumentStatus.FREE, 0, 0)


################################################################
#           THE GUARD ACROSS TWO SCENARIO CONTRACTS            #
################################################################


@pytest.fixture
def second(project, consortium, ledger, regulator, receivables, platform):
    """A second scenario contract on the same ledger, standing for another scenario."""
    contract = project.ReceivablesFinancing.deploy(consortium, ledger, sender=regulator)
    ledger.set_scenario(contract, True, sender=regulator)
    return contract


def test_guard_is_shared_by_two_scenarios(ledger, receivables, second, customs_op, bank_a, bank_b):
    doc = _doc("shared", face=1_000)
    ledger.register(EXPORT, [doc], sender=customs_op)
    first = apply(receivables, bank_a, FIRM_A, [doc[0]], [600])
    assert first == 1

    # Over-financing in the other scenario: refused, recorded there, nothing held.
    tx = second.apply(FIRM_A, USD, [doc[0]], [500], sender=bank_b.applicant)
    assert only_event(tx, second.VerificationFailed)["reason"] == Reason.OVER_FINANCED
    assert events(tx, ledger.AmountHeld) == []
    assert second.failures_by_reason(Reason.OVER_FINANCED) == 1
    assert receivables.failures_by_reason(Reason.OVER_FINANCED) == 0
    assert ledger.document(doc[0])[2] == 600

    tx = second.apply(FIRM_A, USD, [doc[0]], [400], sender=bank_b.applicant)
    assert only_event(tx, ledger.AmountHeld) == {
        "fingerprint": doc[0],
        "scenario": second.address,
        "financing_id": 1,  # ids are per scenario; the event says which scenario
        "amount": 400,
        "held": 1_000,
    }
    assert ledger.document(doc[0])[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)

    # Fully used: a duplicate in either scenario.
    for scenario, bank in ((second, bank_b), (receivables, bank_a)):
        tx = scenario.apply(FIRM_A, USD, [doc[0]], [1], sender=bank.applicant)
        assert only_event(tx, scenario.VerificationFailed)["reason"] == Reason.DUPLICATE

    # A rejection in the first scenario frees its part for the second.
    advance(receivables, bank_a, first, FinancingState.REJECTED)
    assert ledger.document(doc[0])[2] == 400
    tx = second.apply(FIRM_A, USD, [doc[0]], [600], sender=bank_b.applicant)
    assert len(events(tx, second.FinancingApplied)) == 1
    assert ledger.document(doc[0])[2] == 1_000
