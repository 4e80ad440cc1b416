"""Logistics financing (西部陆海新通道 / 中欧班列): rail waybills and bills of lading registered by
logistics operators, financed through the one ledger guard (one waybill never pledged at two
banks), and linked to the export declaration of the same goods (`DocumentLedger.link`), so that
a waybill and its declaration together are never financed beyond the goods' value, in either
order, at any bank, in any scenario.

Accounts: 4 the logistics operator's clerk, 5 another logistics operator's, the rest as in
conftest.
"""

from __future__ import annotations

import pytest

from crossborder.domain.codes import (
    DocumentType,
    FinancingState,
    ForceReason,
    ParticipantKind,
    Reason,
    Scenario,
    Stage,
)
from crossborder.errors import (
    Conflict,
    InvalidInput,
    MissingRole,
    NotDocumentRegistrar,
    UnknownEntity,
    WrongState,
)

from .conftest import (
    CNY,
    EXPORT,
    FIRM_A,
    FIRM_B,
    LADING,
    LOG,
    USD,
    WAYBILL,
    ZERO,
    advance,
    apply,
    deploy_scenario,
    events,
    fp,
    grant_stages,
    held,
    onboard,
    only_event,
    open_service,
    register,
    reverts,
)

S = FinancingState
IMPORT = DocumentType.IMPORT_DECLARATION
GOODS = (WAYBILL, LADING)
STOPPED, DEACTIVATED = ForceReason.SCENARIO_STOPPED, ForceReason.BANK_DEACTIVATED
CITED_TWICE = "ledger: document cited twice"
HELD = "ledger: the document is held"
OTHER_OWNER = "ledger: the linked declaration has another owner or currency"


@pytest.fixture(scope="module")
def logistics(project, consortium, ledger, regulator, platform):
    return deploy_scenario(project, "LogisticsFinancing", consortium, ledger, regulator)


@pytest.fixture(scope="module")
def carrier(consortium, regulator, accounts, platform):
    """A logistics operator's clerk (the rail or shipping company): REGISTER on the platform."""
    roles = {Scenario.PLATFORM: Stage.REGISTER}
    onboard(consortium, regulator, "carrier", ParticipantKind.LOGISTICS, accounts[4], roles=roles)
    return accounts[4]


@pytest.fixture(scope="module")
def carrier_2(consortium, regulator, accounts, platform):
    """Another logistics operator's clerk, with the same stage."""
    roles = {Scenario.PLATFORM: Stage.REGISTER}
    onboard(consortium, regulator, "carrier-2", ParticipantKind.LOGISTICS, accounts[5], roles=roles)
    return accounts[5]


@pytest.fixture(scope="module", autouse=True)
def _module_state(
    logistics,
    carrier,
    carrier_2,
    consortium,
    regulator,
    bank_a,
    bank_b,
    firm_accounts,
    outsider,
    receivables,
    chain,
):
    """Both banks' operators hold their stages in the logistics scenario and both firms opened
    the service with both banks (receivables too, from conftest)."""
    for bank in (bank_a, bank_b):
        grant_stages(consortium, regulator, bank, LOG)
        for firm, account in firm_accounts.items():
            open_service(consortium, bank.opener, account, firm, bank.id, LOG)
    chain.mine()


################################################################
#                           HELPERS                            #
################################################################


@pytest.fixture
def goods(ledger, carrier):
    """`goods(label, face=10_000, doc_type=WAYBILL, owner=FIRM_A, currency=USD, link=None)`: the
    carrier registers a waybill (or bill of lading) and links it to `link`, if given."""

    def make(label, face=10_000, doc_type=WAYBILL, owner=FIRM_A, currency=USD, link=None):
        document = fp(label)
        register(ledger, carrier, [(document, owner, face, currency)], doc_type)
        if link is not None:
            ledger.link(doc_type, [document], [link], sender=carrier)
        return document

    return make


@pytest.fixture
def declaration(ledger, customs_op):
    """`declaration(label, face=10_000, owner=FIRM_A, currency=USD)`: customs registers it."""

    def make(label, face=10_000, owner=FIRM_A, currency=USD):
        document = fp(label)
        register(ledger, customs_op, [(document, owner, face, currency)])
        return document

    return make


def finance(logistics, bank, docs, amounts, doc_type=WAYBILL, firm=FIRM_A, currency=USD) -> int:
    """Applies through `bank`'s applicant; the new id, or 0 when verification failed."""
    tx = logistics.apply(firm, currency, doc_type, list(docs), list(amounts), sender=bank.applicant)
    applied = events(tx, logistics.FinancingApplied)
    return applied[0]["financing_id"] if applied else 0


def _failed(contract, tx) -> tuple[int, bytes, int, int]:
    """The one recorded failure of `tx`: (reason, fingerprint, document type, amount)."""
    failed = only_event(tx, contract.VerificationFailed)
    assert events(tx, contract.FinancingApplied) == []
    return failed["reason"], failed["fingerprint"], failed["doc_type"], failed["amount"]


def _tag(bank) -> bytes:
    return bank.id[:16]


################################################################
#               WAYBILLS AND BILLS OF LADING                   #
################################################################


@pytest.mark.parametrize("doc_type", GOODS, ids=lambda t: t.name)
def test_financed_through_the_lifecycle(logistics, ledger, bank_a, goods, doc_type):
    document = goods(f"lifecycle-{doc_type.name}", doc_type=doc_type)

    fid = finance(logistics, bank_a, [document], [6_000], doc_type)

    f = logistics.financing(fid)
    assert (f.state, f.requested, f.doc_type, f.bank) == (S.APPLIED, 6_000, doc_type, bank_a.id)
    assert held(ledger, document, doc_type) == 6_000
    assert logistics.cited(fid) == ([document], [6_000])
    advance(logistics, bank_a, fid, S.CLOSED)
    assert ledger.hold_record(logistics, fid, doc_type, document) == (0, 6_000, _tag(bank_a))
    assert held(ledger, document, doc_type) == 6_000  # repaid: stays used


@pytest.mark.parametrize("doc_type", GOODS, ids=lambda t: t.name)
@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [(10_000, 1, Reason.DUPLICATE), (6_000, 4_001, Reason.OVER_FINANCED)],
    ids=["duplicate", "over-financing"],
)
def test_pledged_at_one_bank_refused_at_another(
    logistics, ledger, bank_a, bank_b, goods, doc_type, first, second, reason
):
    """One waybill (or bill of lading) is never pledged at two banks beyond its value: the
    second bank's attempt is recorded with the guard's reason; the rest stays financeable."""
    document = goods(f"pledged-{doc_type.name}-{reason.name}", doc_type=doc_type)
    assert finance(logistics, bank_a, [document], [first], doc_type) != 0

    tx = logistics.apply(FIRM_A, USD, doc_type, [document], [second], sender=bank_b.applicant)

    assert _failed(logistics, tx) == (reason, document, doc_type, second)
    assert logistics.verification_failures(bank_b.id, reason) == 1
    assert held(ledger, document, doc_type) == first
    if reason == Reason.OVER_FINANCED:
        assert finance(logistics, bank_b, [document], [second - 1], doc_type) != 0
        assert held(ledger, document, doc_type) == 10_000


def test_cites_waybills_or_bills_of_lading_only(
    logistics, bank_a, goods, declaration, ledger, customs_op
):
    export = declaration("not-goods")
    for doc_type in (EXPORT, IMPORT, DocumentType.FREIGHT_INVOICE, 0, 8):
        with reverts(
            "financing: this scenario finances waybills and bills of lading", InvalidInput
        ):
            logistics.apply(FIRM_A, USD, doc_type, [export], [100], sender=bank_a.applicant)
    # Documents are keyed by type: a waybill cited as a bill of lading is not found.
    waybill = goods("typed")
    tx = logistics.apply(FIRM_A, USD, LADING, [waybill], [100], sender=bank_a.applicant)
    assert _failed(logistics, tx) == (Reason.NOT_FOUND, waybill, LADING, 100)


def test_verification_of_the_consignor_and_currency(logistics, bank_a, goods):
    theirs, in_cny = goods("consignor-b", owner=FIRM_B), goods("in-cny", currency=CNY)
    tx = logistics.apply(FIRM_A, USD, WAYBILL, [theirs], [100], sender=bank_a.applicant)
    assert _failed(logistics, tx)[0] == Reason.WRONG_OWNER
    tx = logistics.apply(FIRM_A, USD, WAYBILL, [in_cny], [100], sender=bank_a.applicant)
    assert _failed(logistics, tx)[0] == Reason.CURRENCY_MISMATCH
    assert finance(logistics, bank_a, [in_cny], [100], currency=CNY) != 0


################################################################
#              LINKS: A WAYBILL AND ITS DECLARATION            #
################################################################


@pytest.mark.parametrize("doc_type", GOODS, ids=lambda t: t.name)
def test_link_a_document_of_the_goods_to_its_declaration(
    ledger, carrier, goods, declaration, doc_type
):
    export = declaration(f"linked-export-{doc_type.name}")
    document = goods(f"linked-{doc_type.name}", doc_type=doc_type)
    assert ledger.linked_declaration(doc_type, document) == ZERO

    tx = ledger.link(doc_type, [document], [export], sender=carrier)

    assert only_event(tx, ledger.DocumentLinked) == {
        "fingerprint": document,
        "doc_type": doc_type,
        "declaration": export,
        "operator": carrier.address,
    }
    assert ledger.linked_declaration(doc_type, document) == export
    assert ledger.linked_declaration(EXPORT, export) == ZERO  # the link goes one way
    other = LADING if doc_type == WAYBILL else WAYBILL
    assert ledger.linked_declaration(other, document) == ZERO  # and is keyed by type


def test_link_a_batch(ledger, carrier, goods, declaration):
    exports = [declaration(f"batch-export-{i}") for i in range(3)]
    waybills = [goods(f"batch-waybill-{i}") for i in range(3)]
    tx = ledger.link(WAYBILL, waybills, exports, sender=carrier)
    assert len(events(tx, ledger.DocumentLinked)) == 3
    assert [ledger.linked_declaration(WAYBILL, w) for w in waybills] == exports
    with reverts("ledger: fingerprints and amounts differ in length", InvalidInput):
        ledger.link(WAYBILL, waybills, exports[:2], sender=carrier)


def test_link_only_by_the_registering_provider(
    ledger, carrier, carrier_2, customs_op, bank_a, outsider, goods, declaration
):
    export, waybill = declaration("by-provider-export"), goods("by-provider")
    with reverts("ledger: document registered by another provider", NotDocumentRegistrar):
        ledger.link(WAYBILL, [waybill], [export], sender=carrier_2)
    with reverts("ledger: this participant may not register this document type"):
        ledger.link(WAYBILL, [waybill], [export], sender=customs_op)
    with reverts("consortium: account lacks the role", MissingRole):
        ledger.link(WAYBILL, [waybill], [export], sender=bank_a.applicant)
    with reverts("consortium: account is not an operator"):
        ledger.link(WAYBILL, [waybill], [export], sender=outsider)
    ledger.link(WAYBILL, [waybill], [export], sender=carrier)


def test_link_once(ledger, carrier, goods, declaration):
    first, second = declaration("once-1"), declaration("once-2")
    waybill = goods("once", link=first)
    for target in (first, second):
        with reverts("ledger: the document is already linked", Conflict):
            ledger.link(WAYBILL, [waybill], [target], sender=carrier)
    assert ledger.linked_declaration(WAYBILL, waybill) == first


def test_link_only_to_a_registered_export_declaration(
    ledger, carrier, customs_op, goods, declaration
):
    waybill = goods("to-what")
    import_only = fp("import-only")
    register(ledger, customs_op, [(import_only, FIRM_A, 10_000, USD)], IMPORT)
    other_waybill = goods("to-a-waybill")
    for target in (fp("never-registered"), import_only, other_waybill):
        with reverts("ledger: unknown document", UnknownEntity):
            ledger.link(WAYBILL, [waybill], [target], sender=carrier)
    export = declaration("to-what-export")
    for doc_type in (EXPORT, IMPORT):
        with reverts("ledger: a declaration is not linked to a declaration", InvalidInput):
            ledger.link(doc_type, [export], [export], sender=customs_op)
    with reverts("ledger: unknown document", UnknownEntity):  # the waybill itself unknown
        ledger.link(WAYBILL, [fp("no-waybill")], [export], sender=carrier)
    ledger.link(WAYBILL, [waybill], [export], sender=carrier)


@pytest.mark.parametrize("differs", ["owner", "currency"])
def test_link_only_to_a_declaration_of_the_same_owner_and_currency(
    ledger, carrier, goods, declaration, differs
):
    export = declaration(f"same-{differs}")
    terms = {"owner": FIRM_B} if differs == "owner" else {"currency": CNY}
    waybill = goods(f"same-{differs}-waybill", **terms)
    with reverts(OTHER_OWNER, InvalidInput):
        ledger.link(WAYBILL, [waybill], [export], sender=carrier)
    assert ledger.linked_declaration(WAYBILL, waybill) == ZERO


@pytest.mark.parametrize("which", ["waybill", "declaration"])
def test_link_refused_while_either_is_held(
    ledger, logistics, receivables, carrier, bank_a, goods, declaration, which
):
    export, waybill = declaration(f"held-{which}-export"), goods(f"held-{which}")
    if which == "waybill":
        fid = finance(logistics, bank_a, [waybill], [1])
    else:
        fid = apply(receivables, bank_a, FIRM_A, [export], [1])
    contract = logistics if which == "waybill" else receivables
    with reverts(HELD, WrongState):
        ledger.link(WAYBILL, [waybill], [export], sender=carrier)
    advance(contract, bank_a, fid, S.WITHDRAWN)
    ledger.link(WAYBILL, [waybill], [export], sender=carrier)


################################################################
#              A LINKED WAYBILL HOLDS ON BOTH                  #
################################################################


@pytest.fixture
def linked(goods, declaration):
    """A declaration of goods worth 10,000 and a waybill of 8,000 linked to it."""
    export = declaration("goods-export", face=10_000)
    return goods("goods-waybill", face=8_000, link=export), export


def test_a_linked_waybill_financing_holds_on_both(logistics, ledger, bank_a, linked):
    waybill, export = linked

    tx = logistics.apply(FIRM_A, USD, WAYBILL, [waybill], [6_000], sender=bank_a.applicant)

    fid = only_event(tx, logistics.FinancingApplied)["financing_id"]
    assert [
        (e["fingerprint"], e["doc_type"], e["amount"]) for e in events(tx, ledger.AmountHeld)
    ] == [
        (waybill, WAYBILL, 6_000),
        (export, EXPORT, 6_000),
    ]
    assert (held(ledger, waybill, WAYBILL), held(ledger, export)) == (6_000, 6_000)
    for doc_type, document in ((WAYBILL, waybill), (EXPORT, export)):
        assert ledger.hold_record(logistics, fid, doc_type, document) == (6_000, 0, _tag(bank_a))
    # The financing cites the waybill; the declaration's hold follows it.
    assert logistics.cited(fid) == ([waybill], [6_000])


def test_receivables_then_has_only_the_rest_of_the_declaration(
    logistics, receivables, ledger, bank_a, bank_b, linked
):
    waybill, export = linked
    assert finance(logistics, bank_a, [waybill], [6_000]) != 0

    tx = receivables.apply(FIRM_A, USD, [export], [4_001], sender=bank_b.applicant)

    assert _failed(receivables, tx) == (Reason.OVER_FINANCED, export, EXPORT, 4_001)
    assert apply(receivables, bank_b, FIRM_A, [export], [4_000]) != 0
    assert held(ledger, export) == 10_000
    tx = receivables.apply(FIRM_A, USD, [export], [1], sender=bank_a.applicant)
    assert _failed(receivables, tx)[0] == Reason.DUPLICATE


@pytest.mark.parametrize("order", ["waybill first", "declaration first"])
@pytest.mark.parametrize("banks", ["one bank", "two banks"])
def test_waybill_and_declaration_never_beyond_the_goods_value(
    logistics, receivables, ledger, bank_a, bank_b, goods, declaration, order, banks
):
    """Goods worth 10,000 (both documents' face): 7,000 on one, then at most 3,000 on the
    other, whichever comes first; the failing attempt names the document it cited."""
    export = declaration(f"value-{order}-{banks}")
    waybill = goods(f"value-{order}-{banks}-waybill", link=export)
    second_bank = bank_a if banks == "one bank" else bank_b
    if order == "waybill first":
        assert finance(logistics, bank_a, [waybill], [7_000]) != 0
        tx = receivables.apply(FIRM_A, USD, [export], [3_001], sender=second_bank.applicant)
        assert _failed(receivables, tx) == (Reason.OVER_FINANCED, export, EXPORT, 3_001)
        assert apply(receivables, second_bank, FIRM_A, [export], [3_000]) != 0
    else:
        assert apply(receivables, bank_a, FIRM_A, [export], [7_000]) != 0
        tx = logistics.apply(FIRM_A, USD, WAYBILL, [waybill], [3_001], sender=second_bank.applicant)
        # The waybill has 10,000 left, its declaration 3,000: the link refuses the rest.
        assert _failed(logistics, tx) == (Reason.OVER_FINANCED, waybill, WAYBILL, 3_001)
        assert held(ledger, waybill, WAYBILL) == 0
        assert finance(logistics, second_bank, [waybill], [3_000]) != 0
    assert held(ledger, export) == 10_000
    tx = logistics.apply(FIRM_A, USD, WAYBILL, [waybill], [1], sender=bank_b.applicant)
    assert _failed(logistics, tx)[0] == Reason.DUPLICATE


def test_a_fully_used_declaration_is_a_duplicate_for_its_waybill(
    logistics, receivables, bank_a, bank_b, linked
):
    waybill, export = linked
    assert apply(receivables, bank_a, FIRM_A, [export], [10_000]) != 0
    tx = logistics.apply(FIRM_A, USD, WAYBILL, [waybill], [1], sender=bank_b.applicant)
    assert _failed(logistics, tx) == (Reason.DUPLICATE, waybill, WAYBILL, 1)


def test_two_waybills_of_one_declaration_share_its_value(
    logistics, ledger, bank_a, bank_b, goods, declaration
):
    """Two waybills (two wagons of one shipment) linked to one declaration of 10,000: financed
    apart, at any bank, together at most 10,000."""
    export = declaration("two-wagons")
    first = goods("wagon-1", face=8_000, link=export)
    second = goods("wagon-2", face=8_000, link=export)
    assert finance(logistics, bank_a, [first], [8_000]) != 0
    tx = logistics.apply(FIRM_A, USD, WAYBILL, [second], [2_001], sender=bank_b.applicant)
    assert _failed(logistics, tx) == (Reason.OVER_FINANCED, second, WAYBILL, 2_001)
    assert finance(logistics, bank_b, [second], [2_000]) != 0
    assert held(ledger, export) == 10_000


def test_two_waybills_of_one_declaration_in_one_application_revert(
    logistics, ledger, bank_a, goods, declaration
):
    export = declaration("two-wagons-together")
    first = goods("together-1", face=4_000, link=export)
    second = goods("together-2", face=4_000, link=export)
    unlinked = goods("together-3", face=4_000)
    with reverts(CITED_TWICE, InvalidInput):
        logistics.apply(FIRM_A, USD, WAYBILL, [first, second], [100, 100], sender=bank_a.applicant)
    with reverts(CITED_TWICE, InvalidInput):
        logistics.apply(
            FIRM_A, USD, WAYBILL, [first, unlinked, second], [1, 1, 1], sender=bank_a.applicant
        )
    assert held(ledger, export) == 0
    # Each with an unlinked waybill is fine.
    assert finance(logistics, bank_a, [first, unlinked], [100, 100]) != 0


@pytest.mark.parametrize("end", [S.REJECTED, S.WITHDRAWN])
def test_rejection_and_withdrawal_free_both(
    logistics, receivables, ledger, bank_a, bank_b, linked, end
):
    waybill, export = linked
    fid = finance(logistics, bank_a, [waybill], [6_000])
    advance(logistics, bank_a, fid, S.ACCEPTED if end == S.REJECTED else S.APPROVED)

    if end == S.REJECTED:
        tx = logistics.review(fid, False, sender=bank_a.reviewer)
    else:
        tx = logistics.withdraw(fid, sender=bank_a.applicant)

    assert [
        (e["fingerprint"], e["amount"], e["held"]) for e in events(tx, ledger.AmountReleased)
    ] == [
        (waybill, 6_000, 0),
        (export, 6_000, 0),
    ]
    assert (held(ledger, waybill, WAYBILL), held(ledger, export)) == (0, 0)
    assert ledger.hold_record(logistics, fid, EXPORT, export) == (0, 0, _tag(bank_a))
    assert apply(receivables, bank_b, FIRM_A, [export], [10_000]) != 0


def test_closing_consumes_both(logistics, receivables, ledger, bank_a, bank_b, linked):
    waybill, export = linked
    fid = finance(logistics, bank_a, [waybill], [6_000])
    advance(logistics, bank_a, fid, S.DISBURSED)

    tx = logistics.register_repayment(fid, 6_000, sender=bank_a.repayer)

    assert [(e["fingerprint"], e["amount"]) for e in events(tx, ledger.AmountConsumed)] == [
        (waybill, 6_000),
        (export, 6_000),
    ]
    for doc_type, document in ((WAYBILL, waybill), (EXPORT, export)):
        assert ledger.hold_record(logistics, fid, doc_type, document) == (0, 6_000, _tag(bank_a))
    assert (held(ledger, waybill, WAYBILL), held(ledger, export)) == (6_000, 6_000)
    tx = receivables.apply(FIRM_A, USD, [export], [4_001], sender=bank_b.applicant)
    assert _failed(receivables, tx)[0] == Reason.OVER_FINANCED


@pytest.mark.parametrize("reason", [STOPPED, DEACTIVATED], ids=lambda r: r.name)
def test_force_release_frees_both(
    logistics, consortium, receivables, ledger, regulator, bank_a, bank_b, linked, reason
):
    waybill, export = linked
    fid = finance(logistics, bank_a, [waybill], [6_000])
    advance(logistics, bank_a, fid, S.DISBURSED)
    if reason == STOPPED:
        ledger.set_scenario(logistics, False, sender=regulator)
    else:
        consortium.set_active(bank_a.id, False, sender=regulator)

    tx = ledger.force_release(
        logistics, fid, bank_a.id, WAYBILL, [waybill], reason, sender=regulator
    )

    assert [
        (e["fingerprint"], e["doc_type"], e["amount"]) for e in events(tx, ledger.AmountReleased)
    ] == [
        (waybill, WAYBILL, 6_000),
        (export, EXPORT, 6_000),
    ]
    assert only_event(tx, ledger.HoldsForceReleased)["documents"] == 1
    assert (held(ledger, waybill, WAYBILL), held(ledger, export)) == (0, 0)
    assert apply(receivables, bank_b, FIRM_A, [export], [10_000]) != 0
    # The financing still winds down, with nothing left to consume.
    if reason == DEACTIVATED:
        consortium.set_active(bank_a.id, True, sender=regulator)
    tx = logistics.register_repayment(fid, 6_000, sender=bank_a.repayer)
    assert logistics.financing(fid).state == S.CLOSED
    assert events(tx, ledger.AmountConsumed) == []


@pytest.mark.parametrize("then", ["withdraw", "close", "force-release the waybill"])
def test_force_release_of_the_linked_declaration_alone_leaves_the_waybill_free_to_wind_down(
    logistics, ledger, regulator, bank_a, linked, then
):
    """The regulator names the declaration's hold of a logistics financing (it is there, under
    the scenario and the financing): the waybill's own hold still winds down, by the
    financing's end or by the regulator, rather than sticking for good."""
    waybill, export = linked
    fid = finance(logistics, bank_a, [waybill], [6_000])
    advance(logistics, bank_a, fid, S.DISBURSED if then == "close" else S.APPLIED)
    ledger.set_scenario(logistics, False, sender=regulator)

    ledger.force_release(logistics, fid, bank_a.id, EXPORT, [export], STOPPED, sender=regulator)

    assert (held(ledger, waybill, WAYBILL), held(ledger, export)) == (6_000, 0)
    if then == "withdraw":
        tx = logistics.withdraw(fid, sender=bank_a.applicant)
        event, record = ledger.AmountReleased, (0, 0, _tag(bank_a))
    elif then == "close":
        tx = logistics.register_repayment(fid, 6_000, sender=bank_a.repayer)
        event, record = ledger.AmountConsumed, (0, 6_000, _tag(bank_a))
    else:
        tx = ledger.force_release(
            logistics, fid, bank_a.id, WAYBILL, [waybill], STOPPED, sender=regulator
        )
        event, record = ledger.AmountReleased, (0, 0, _tag(bank_a))
    assert [(e["fingerprint"], e["amount"]) for e in events(tx, event)] == [(waybill, 6_000)]
    assert ledger.hold_record(logistics, fid, WAYBILL, waybill) == record
    assert ledger.hold_record(logistics, fid, EXPORT, export) == (0, 0, _tag(bank_a))
    assert held(ledger, export) == 0


################################################################
#          VOIDING: THE LINK GOES WITH THE DOCUMENT            #
################################################################


@pytest.mark.parametrize("target", ["the same declaration", "another declaration"])
def test_a_voided_waybill_is_unlinked_and_may_be_linked_again(
    logistics, ledger, carrier, bank_a, goods, declaration, target
):
    """Voiding a free linked waybill (a correction) drops its link: registered again it is not
    linked, and its financing holds on itself alone; the carrier may then link it again, to
    the same declaration or another (the corrected waybill may name other goods), and its
    holds follow the new link."""
    label = "relink-same" if target == "the same declaration" else "relink-other"
    export = declaration(f"{label}-export")
    waybill = goods(label, link=export)

    tx = ledger.void(WAYBILL, [waybill], sender=carrier)

    assert only_event(tx, ledger.DocumentVoided)["fingerprint"] == waybill
    assert events(tx, ledger.DocumentLinked) == []
    assert ledger.linked_declaration(WAYBILL, waybill) == ZERO
    register(ledger, carrier, [(waybill, FIRM_A, 9_000, USD)], WAYBILL)  # corrected face
    assert ledger.linked_declaration(WAYBILL, waybill) == ZERO
    tx = logistics.apply(FIRM_A, USD, WAYBILL, [waybill], [1_000], sender=bank_a.applicant)
    assert [(e["fingerprint"], e["amount"]) for e in events(tx, ledger.AmountHeld)] == [
        (waybill, 1_000)
    ]
    assert held(ledger, export) == 0
    fid = only_event(tx, logistics.FinancingApplied)["financing_id"]
    with reverts(HELD, WrongState):  # linking waits for the financing to end
        ledger.link(WAYBILL, [waybill], [export], sender=carrier)
    advance(logistics, bank_a, fid, S.WITHDRAWN)

    new = export if target == "the same declaration" else declaration(f"{label}-export-2")
    tx = ledger.link(WAYBILL, [waybill], [new], sender=carrier)

    assert only_event(tx, ledger.DocumentLinked)["declaration"] == new
    assert ledger.linked_declaration(WAYBILL, waybill) == new
    with reverts("ledger: the document is already linked", Conflict):
        ledger.link(WAYBILL, [waybill], [export], sender=carrier)
    assert finance(logistics, bank_a, [waybill], [2_000]) != 0
    assert (held(ledger, waybill, WAYBILL), held(ledger, new)) == (2_000, 2_000)
    assert held(ledger, export) == (2_000 if new == export else 0)


def test_a_linked_waybill_held_is_not_voided_nor_unlinked(
    logistics, ledger, carrier, customs_op, bank_a, linked
):
    """While a financing holds the linked waybill (and so its declaration), neither can be
    voided: the link stays. Once it ends, the waybill is voided with its link."""
    waybill, export = linked
    fid = finance(logistics, bank_a, [waybill], [1_000])
    with reverts(HELD, WrongState):
        ledger.void(WAYBILL, [waybill], sender=carrier)
    with reverts(HELD, WrongState):
        ledger.void(EXPORT, [export], sender=customs_op)
    assert ledger.linked_declaration(WAYBILL, waybill) == export
    advance(logistics, bank_a, fid, S.REJECTED)
    ledger.void(WAYBILL, [waybill], sender=carrier)
    assert ledger.linked_declaration(WAYBILL, waybill) == ZERO


def test_a_waybill_keeps_its_link_to_a_voided_declaration(
    logistics, ledger, customs_op, bank_a, linked
):
    """Voiding a declaration drops no link to it (a link is the waybill's): the linked
    waybill's financing is then recorded as not found (its declaration is not there), until
    customs registers the declaration again."""
    waybill, export = linked
    ledger.void(EXPORT, [export], sender=customs_op)
    assert ledger.linked_declaration(WAYBILL, waybill) == export

    tx = logistics.apply(FIRM_A, USD, WAYBILL, [waybill], [1_000], sender=bank_a.applicant)

    assert _failed(logistics, tx) == (Reason.NOT_FOUND, waybill, WAYBILL, 1_000)
    register(ledger, customs_op, [(export, FIRM_A, 10_000, USD)])
    assert finance(logistics, bank_a, [waybill], [1_000]) != 0
    assert (held(ledger, waybill, WAYBILL), held(ledger, export)) == (1_000, 1_000)
