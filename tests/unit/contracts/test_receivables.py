"""Export receivables financing (出口应收账款融资): lifecycle, verification (核验), holds, checks."""

from __future__ import annotations

import ape
import pytest

from crossborder.domain.codes import (
    DocumentStatus,
    DocumentType,
    FinancingState,
    ForceReason,
    ParticipantKind,
    Reason,
    Scenario,
    Stage,
)
from crossborder.errors import (
    InvalidInput,
    MakerCheckerViolation,
    ParticipantDeactivated,
    ServiceNotOpened,
    UnknownEntity,
    WrongState,
    verification_error,
)

from .conftest import (
    CNY,
    EXPORT,
    FIRM_A,
    FIRM_B,
    ISSUED,
    RCV,
    USD,
    ZERO,
    advance,
    apply,
    bind,
    events,
    fp,
    held,
    only_event,
    open_service,
    register,
    reverts,
)

U64 = (1 << 64) - 1
S = FinancingState
ZERO_ADDRESS = "0x" + "00" * 20


def new_doc(
    ledger,
    customs_op,
    label,
    face=1_000,
    owner=FIRM_A,
    currency=USD,
    doc_type=DocumentType.EXPORT_DECLARATION,
) -> bytes:
    register(ledger, customs_op, [(fp(label), owner, face, currency)], doc_type)
    return fp(label)


@pytest.fixture(scope="module", autouse=True)
def by_state(ledger, receivables, customs_op, bank_a, bank_b, outsider, firm_accounts, chain):
    """One financing of bank A in each state, 600 held on its own 1,000 document."""
    ids = {}
    for state in (
        S.APPLIED,
        S.ACCEPTED,
        S.APPROVED,
        S.REJECTED,
        S.WITHDRAWN,
        S.DISBURSED,
        S.CLOSED,
    ):
        doc = new_doc(ledger, customs_op, f"state-{state.name}")
        ids[state] = apply(receivables, bank_a, FIRM_A, [doc], [600])
        advance(receivables, bank_a, ids[state], state)
    chain.mine()  # keeps ape's per-test restore cheap: the snapshot block is empty
    return ids


################################################################
#                    LIFECYCLE END TO END                      #
################################################################


def test_lifecycle_end_to_end(ledger, receivables, customs_op, bank_a, bank_b):
    d1 = new_doc(ledger, customs_op, "life-1", face=1_000)
    d2 = new_doc(ledger, customs_op, "life-2", face=500)
    count = receivables.financing_count()
    fid = count + 1
    assert receivables.apply.call(FIRM_A, USD, [d1, d2], [700, 500], sender=bank_a.applicant) == fid

    tx = receivables.apply(FIRM_A, USD, [d1, d2], [700, 500], sender=bank_a.applicant)

    assert only_event(tx, receivables.FinancingApplied) == {
        "financing_id": fid,
        "bank": bank_a.id,
        "firm": FIRM_A,
        "applicant": bank_a.applicant.address,
        "currency": USD,
        "amount": 1_200,
        "documents": 2,
    }
    assert events(tx, ledger.AmountHeld) == [
        {
            "fingerprint": d1,
            "scenario": receivables.address,
            "financing_id": fid,
            "doc_type": EXPORT,
            "amount": 700,
            "held": 700,
        },
        {
            "fingerprint": d2,
            "scenario": receivables.address,
            "financing_id": fid,
            "doc_type": EXPORT,
            "amount": 500,
            "held": 500,
        },
    ]
    assert events(tx, receivables.VerificationFailed) == []
    assert receivables.financing_count() == fid
    assert receivables.cited(fid) == ([d1, d2], [700, 500])
    f = receivables.financing(fid)
    assert (f.applicant, f.bank, f.state, f.currency) == (
        bank_a.applicant.address,
        bank_a.id,
        S.APPLIED,
        USD,
    )
    assert (f.requested, f.disbursed, f.repaid, f.documents, f.value_date, f.due_date) == (
        1_200,
        0,
        0,
        2,
        0,
        0,
    )
    assert f.doc_type == EXPORT

    tx = receivables.accept(fid, sender=bank_a.acceptor)
    assert only_event(tx, receivables.FinancingAccepted) == {
        "financing_id": fid,
        "operator": bank_a.acceptor.address,
    }
    assert receivables.financing(fid).state == S.ACCEPTED

    tx = receivables.review(fid, True, sender=bank_a.reviewer)
    assert only_event(tx, receivables.FinancingReviewed) == {
        "financing_id": fid,
        "operator": bank_a.reviewer.address,
        "approved": True,
    }
    assert events(tx, ledger.AmountReleased) == []
    assert receivables.financing(fid).state == S.APPROVED

    tx = receivables.register_disbursement(fid, 1_000, ISSUED, ISSUED + 90, sender=bank_a.disburser)
    assert only_event(tx, receivables.DisbursementRegistered) == {
        "financing_id": fid,
        "operator": bank_a.disburser.address,
        "amount": 1_000,
        "value_date": ISSUED,
        "due_date": ISSUED + 90,
    }
    f = receivables.financing(fid)
    assert (f.state, f.disbursed, f.repaid, f.value_date, f.due_date) == (
        S.DISBURSED,
        1_000,
        0,
        ISSUED,
        ISSUED + 90,
    )
    assert f.requested == 1_200

    tx = receivables.register_repayment(fid, 400, sender=bank_a.repayer)
    assert only_event(tx, receivables.RepaymentRegistered) == {
        "financing_id": fid,
        "operator": bank_a.repayer.address,
        "amount": 400,
        "repaid": 400,
        "closed": False,
    }
    assert events(tx, ledger.AmountConsumed) == []
    assert (receivables.financing(fid).state, receivables.financing(fid).repaid) == (
        S.DISBURSED,
        400,
    )

    tx = receivables.register_repayment(fid, 600, sender=bank_a.repayer)
    assert only_event(tx, receivables.RepaymentRegistered) == {
        "financing_id": fid,
        "operator": bank_a.repayer.address,
        "amount": 600,
        "repaid": 1_000,
        "closed": True,
    }
    assert events(tx, ledger.AmountConsumed) == [
        {
            "fingerprint": d1,
            "scenario": receivables.address,
            "financing_id": fid,
            "doc_type": EXPORT,
            "amount": 700,
            "held": 700,
        },
        {
            "fingerprint": d2,
            "scenario": receivables.address,
            "financing_id": fid,
            "doc_type": EXPORT,
            "amount": 500,
            "held": 500,
        },
    ]
    f = receivables.financing(fid)
    assert (f.state, f.disbursed, f.repaid) == (S.CLOSED, 1_000, 1_000)
    # Closed, the documents stay used: d2 fully, d1 with 300 left for anyone.
    assert ledger.document(EXPORT, d1)[:3] == (DocumentStatus.PARTLY_USED, 1_000, 700)
    assert ledger.document(EXPORT, d2)[:3] == (DocumentStatus.FULLY_USED, 500, 500)
    assert receivables.cited(fid) == ([d1, d2], [0, 0])  # consumed: nothing live
    assert ledger.hold_record(receivables, fid, EXPORT, d1) == (0, 700, bank_a.id[:16])
    assert apply(receivables, bank_b, FIRM_A, [d2], [1]) == 0
    assert apply(receivables, bank_b, FIRM_A, [d1], [300]) == fid + 1


def test_single_document_cites_the_requested_amount(ledger, receivables, customs_op, bank_a):
    doc = new_doc(ledger, customs_op, "single")
    fid = apply(receivables, bank_a, FIRM_A, [doc], [250])
    assert receivables.cited(fid) == ([doc], [250])
    assert receivables.financing(fid).documents == 1


def test_unknown_financing_view_is_empty(receivables):
    f = receivables.financing(10**9)
    assert (f.applicant, f.bank, f.state, f.requested, f.documents) == (
        ZERO_ADDRESS,
        ZERO,
        S.NONE,
        0,
        0,
    )
    assert receivables.cited(10**9) == ([], [])


def test_contract_wiring(receivables, consortium, ledger):
    assert receivables.SCENARIO() == Scenario.RECEIVABLES
    assert receivables.CONSORTIUM() == consortium.address
    assert receivables.LEDGER() == ledger.address


################################################################
#                    VERIFICATION (核验)                       #
################################################################


def _situation(ledger, receivables, customs_op, bank_b, reason: Reason) -> tuple[bytes, int]:
    """A document that fails `reason` for FIRM_A in USD at bank A, and the amount to request."""
    if reason == Reason.NOT_FOUND:
        return fp("never-registered"), 100
    if reason == Reason.WRONG_OWNER:
        return new_doc(ledger, customs_op, "exporter-b", owner=FIRM_B), 100
    if reason == Reason.CURRENCY_MISMATCH:
        return new_doc(ledger, customs_op, "in-cny", currency=CNY), 100
    doc = new_doc(ledger, customs_op, "used-elsewhere", face=1_000)
    if reason == Reason.DUPLICATE:  # fully used at bank B: even one unit is a duplicate
        apply(receivables, bank_b, FIRM_A, [doc], [1_000])
        return doc, 1
    assert reason == Reason.OVER_FINANCED  # 400 left: 401 would exceed it
    apply(receivables, bank_b, FIRM_A, [doc], [600])
    return doc, 401


# Documents are keyed by (type, fingerprint): citing a document of another type reads as not
# found, so WRONG_TYPE stays reserved (the table never renumbers) and is never recorded.
FAILING = [r for r in Reason if r not in (Reason.OK, Reason.WRONG_TYPE)]


@pytest.mark.parametrize("reason", FAILING, ids=lambda r: r.name)
def test_failed_verification_is_recorded_not_reverted(
    ledger, receivables, customs_op, bank_a, bank_b, reason
):
    doc, amount = _situation(ledger, receivables, customs_op, bank_b, reason)
    count = receivables.financing_count()
    before = ledger.documents(EXPORT, [doc])
    assert receivables.apply.call(FIRM_A, USD, [doc], [amount], sender=bank_a.applicant) == 0

    tx = receivables.apply(FIRM_A, USD, [doc], [amount], sender=bank_a.applicant)

    failed = only_event(tx, receivables.VerificationFailed)
    assert failed == {
        "bank": bank_a.id,
        "firm": FIRM_A,
        "fingerprint": doc,
        "doc_type": EXPORT,
        "reason": reason,
        "amount": amount,
        "currency": USD,
        "applicant": bank_a.applicant.address,
    }
    assert type(verification_error(failed["reason"])) is type(verification_error(reason))
    assert verification_error(failed["reason"]).reason == reason
    assert events(tx, receivables.FinancingApplied) == []
    assert events(tx, ledger.AmountHeld) == []
    assert ledger.documents(EXPORT, [doc]) == before
    assert receivables.financing_count() == count
    for r in Reason:
        assert receivables.verification_failures(bank_a.id, r) == (r == reason)
        assert receivables.failures_by_reason(r) == (r == reason)
        assert receivables.verification_failures(bank_b.id, r) == 0


def test_a_document_of_another_type_is_not_found(ledger, receivables, customs_op, bank_a):
    """An import declaration cited for export receivables financing: not found under the
    export type, even with the same fingerprint registered as an import declaration."""
    doc = new_doc(ledger, customs_op, "import", doc_type=DocumentType.IMPORT_DECLARATION)
    tx = receivables.apply(FIRM_A, USD, [doc], [100], sender=bank_a.applicant)
    failed = only_event(tx, receivables.VerificationFailed)
    assert (failed["reason"], failed["doc_type"]) == (Reason.NOT_FOUND, EXPORT)
    assert receivables.verification_failures(bank_a.id, Reason.WRONG_TYPE) == 0
    assert held(ledger, doc, DocumentType.IMPORT_DECLARATION) == 0
    # Registered as an export declaration too, it is financed as one.
    register(ledger, customs_op, [(doc, FIRM_A, 1_000, USD)])
    assert apply(receivables, bank_a, FIRM_A, [doc], [100]) != 0


def test_duplicate_and_over_financing_are_told_apart(
    ledger, receivables, customs_op, bank_a, bank_b
):
    doc = new_doc(ledger, customs_op, "boundary", face=1_000)
    apply(receivables, bank_b, FIRM_A, [doc], [999])
    assert apply(receivables, bank_a, FIRM_A, [doc], [2]) == 0  # 1 left: over-financing
    assert apply(receivables, bank_a, FIRM_A, [doc], [1]) != 0  # exactly what is left: passes
    assert apply(receivables, bank_a, FIRM_A, [doc], [1]) == 0  # nothing left: duplicate
    assert receivables.verification_failures(bank_a.id, Reason.OVER_FINANCED) == 1
    assert receivables.verification_failures(bank_a.id, Reason.DUPLICATE) == 1
    assert receivables.failures_by_reason(Reason.OVER_FINANCED) == 1
    assert receivables.failures_by_reason(Reason.DUPLICATE) == 1


def test_failures_accumulate_per_bank_and_reason(receivables, bank_a, bank_b):
    unknown = fp("unknown-again")
    for bank in (bank_a, bank_b, bank_b):
        apply(receivables, bank, FIRM_A, [unknown], [1])
    assert receivables.verification_failures(bank_a.id, Reason.NOT_FOUND) == 1
    assert receivables.verification_failures(bank_b.id, Reason.NOT_FOUND) == 2
    assert receivables.failures_by_reason(Reason.NOT_FOUND) == 3


@pytest.mark.parametrize("second", [Reason.NOT_FOUND, Reason.OVER_FINANCED])
def test_second_document_failing_holds_nothing(ledger, receivables, customs_op, bank_a, second):
    good = new_doc(ledger, customs_op, "good-first", face=1_000)
    if second == Reason.NOT_FOUND:
        bad, amount = fp("missing-second"), 10
    else:
        bad, amount = new_doc(ledger, customs_op, "small-second", face=50), 51

    tx = receivables.apply(FIRM_A, USD, [good, bad], [500, amount], sender=bank_a.applicant)

    failed = only_event(tx, receivables.VerificationFailed)
    assert (failed["fingerprint"], failed["reason"], failed["amount"]) == (bad, second, amount)
    assert events(tx, ledger.AmountHeld) == []
    assert held(ledger, good) == 0
    assert ledger.document(EXPORT, good)[5] == 0  # not marked used either
    # The passing side: with the second document right, both are held together.
    if second == Reason.OVER_FINANCED:
        assert apply(receivables, bank_a, FIRM_A, [good, bad], [500, 50]) != 0
        assert (held(ledger, good), held(ledger, bad)) == (500, 50)
    else:
        assert apply(receivables, bank_a, FIRM_A, [good], [500]) != 0
        assert held(ledger, good) == 500


################################################################
#                    HOLDS: FREED OR KEPT                      #
################################################################


def test_rejection_frees_the_documents(ledger, receivables, customs_op, bank_a, bank_b):
    doc = new_doc(ledger, customs_op, "rejected")
    fid = apply(receivables, bank_a, FIRM_A, [doc], [1_000])
    receivables.accept(fid, sender=bank_a.acceptor)

    tx = receivables.review(fid, False, sender=bank_a.reviewer)

    assert only_event(tx, receivables.FinancingReviewed)["approved"] is False
    assert only_event(tx, ledger.AmountReleased) == {
        "fingerprint": doc,
        "scenario": receivables.address,
        "financing_id": fid,
        "doc_type": EXPORT,
        "amount": 1_000,
        "held": 0,
    }
    assert receivables.financing(fid).state == S.REJECTED
    assert ledger.document(EXPORT, doc)[0] == DocumentStatus.FREE
    assert receivables.cited(fid) == ([doc], [0])
    assert apply(receivables, bank_b, FIRM_A, [doc], [1_000]) != 0


@pytest.mark.parametrize("state", [S.APPLIED, S.ACCEPTED, S.APPROVED])
def test_withdrawal_frees_the_documents(ledger, receivables, customs_op, bank_a, bank_b, state):
    d1 = new_doc(ledger, customs_op, "withdrawn-1")
    d2 = new_doc(ledger, customs_op, "withdrawn-2")
    fid = apply(receivables, bank_a, FIRM_A, [d1, d2], [1_000, 300])
    advance(receivables, bank_a, fid, state)

    tx = receivables.withdraw(fid, sender=bank_a.applicant)

    assert only_event(tx, receivables.FinancingWithdrawn) == {
        "financing_id": fid,
        "operator": bank_a.applicant.address,
    }
    assert [
        (e["fingerprint"], e["amount"], e["held"]) for e in events(tx, ledger.AmountReleased)
    ] == [
        (d1, 1_000, 0),
        (d2, 300, 0),
    ]
    assert receivables.financing(fid).state == S.WITHDRAWN
    assert (held(ledger, d1), held(ledger, d2)) == (0, 0)
    assert apply(receivables, bank_b, FIRM_A, [d1, d2], [1_000, 1_000]) != 0


def test_repayment_does_not_free_the_documents(ledger, receivables, customs_op, bank_a, bank_b):
    doc = new_doc(ledger, customs_op, "repaid")
    fid = apply(receivables, bank_a, FIRM_A, [doc], [1_000])
    advance(receivables, bank_a, fid, S.DISBURSED)

    receivables.register_repayment(fid, 999, sender=bank_a.repayer)
    assert receivables.financing(fid).state == S.DISBURSED
    assert held(ledger, doc) == 1_000

    receivables.register_repayment(fid, 1, sender=bank_a.repayer)
    assert receivables.financing(fid).state == S.CLOSED
    assert ledger.document(EXPORT, doc)[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)
    tx = receivables.apply(FIRM_A, USD, [doc], [1], sender=bank_b.applicant)
    assert only_event(tx, receivables.VerificationFailed)["reason"] == Reason.DUPLICATE


def test_partial_disbursement_still_uses_the_requested_amount(
    ledger, receivables, customs_op, bank_a
):
    """Closing consumes what was held at application, not what was disbursed (the choice in
    DOMAIN.md: the receivable is collected, so the document stays used)."""
    doc = new_doc(ledger, customs_op, "part-disbursed")
    fid = apply(receivables, bank_a, FIRM_A, [doc], [800])
    advance(receivables, bank_a, fid, S.APPROVED)
    receivables.register_disbursement(fid, 500, ISSUED, ISSUED, sender=bank_a.disburser)
    tx = receivables.register_repayment(fid, 500, sender=bank_a.repayer)
    assert only_event(tx, receivables.RepaymentRegistered)["closed"] is True
    assert only_event(tx, ledger.AmountConsumed)["amount"] == 800
    assert held(ledger, doc) == 800


def test_cited_reads_live_amounts_from_the_ledger(
    ledger, receivables, customs_op, regulator, bank_a, bank_b
):
    """The lifecycle keeps only which documents a financing cites; what it holds on each is the
    ledger's: after a force-release the lifecycle releases the rest and skips what was freed."""
    d1 = new_doc(ledger, customs_op, "cited-1")
    d2 = new_doc(ledger, customs_op, "cited-2")
    fid = apply(receivables, bank_a, FIRM_A, [d1, d2], [700, 300])
    assert receivables.cited(fid) == ([d1, d2], [700, 300])
    ledger.set_scenario(receivables, False, sender=regulator)
    ledger.force_release(
        receivables, fid, bank_a.id, EXPORT, [d1], ForceReason.SCENARIO_STOPPED, sender=regulator
    )
    ledger.set_scenario(receivables, True, sender=regulator)
    assert receivables.cited(fid) == ([d1, d2], [0, 300])
    assert receivables.financing(fid).requested == 1_000  # the financing itself is unchanged

    tx = receivables.withdraw(fid, sender=bank_a.applicant)

    assert [(e["fingerprint"], e["amount"]) for e in events(tx, ledger.AmountReleased)] == [
        (d2, 300)
    ]
    assert receivables.cited(fid) == ([d1, d2], [0, 0])
    assert apply(receivables, bank_b, FIRM_A, [d1, d2], [1_000, 1_000]) != 0


################################################################
#                        MAKER-CHECKER                         #
################################################################


def test_applicant_may_not_review_even_with_the_role(
    consortium, receivables, ledger, customs_op, regulator, bank_a
):
    consortium.set_roles(bank_a.applicant, RCV, Stage.APPLY | Stage.REVIEW, sender=regulator)
    doc = new_doc(ledger, customs_op, "maker")
    fid = apply(receivables, bank_a, FIRM_A, [doc], [100])
    receivables.accept(fid, sender=bank_a.acceptor)
    for approve in (True, False):
        with reverts("financing: the applicant may not review", MakerCheckerViolation):
            receivables.review(fid, approve, sender=bank_a.applicant)
    assert receivables.financing(fid).state == S.ACCEPTED

    # The checker is anyone else with the role: the same account may review others' financings.
    consortium.set_roles(bank_a.reviewer, RCV, Stage.APPLY | Stage.REVIEW, sender=regulator)
    other = receivables.apply(
        FIRM_A, USD, [new_doc(ledger, customs_op, "maker-2")], [100], sender=bank_a.reviewer
    )
    other_id = only_event(other, receivables.FinancingApplied)["financing_id"]
    receivables.accept(other_id, sender=bank_a.acceptor)
    receivables.review(other_id, True, sender=bank_a.applicant)
    receivables.review(fid, True, sender=bank_a.reviewer)
    assert receivables.financing(fid).state == receivables.financing(other_id).state == S.APPROVED


################################################################
#                         WRONG STATE                          #
################################################################

ALLOWED = {
    "accept": {S.APPLIED},
    "review": {S.ACCEPTED},
    "withdraw": {S.APPLIED, S.ACCEPTED, S.APPROVED},
    "register_disbursement": {S.APPROVED},
    "register_repayment": {S.DISBURSED},
}


def _stage(receivables, bank, action, fid):
    if action == "accept":
        return receivables.accept(fid, sender=bank.acceptor)
    if action == "review":
        return receivables.review(fid, True, sender=bank.reviewer)
    if action == "withdraw":
        return receivables.withdraw(fid, sender=bank.applicant)
    if action == "register_disbursement":
        return receivables.register_disbursement(fid, 100, ISSUED, ISSUED, sender=bank.disburser)
    return receivables.register_repayment(fid, 100, sender=bank.repayer)


@pytest.mark.parametrize(
    "state",
    [S.APPLIED, S.ACCEPTED, S.APPROVED, S.REJECTED, S.WITHDRAWN, S.DISBURSED, S.CLOSED],
    ids=lambda s: s.name,
)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_each_stage_only_from_its_state(receivables, bank_a, by_state, action, state):
    fid = by_state[state]
    before = receivables.financing(fid)
    if state in ALLOWED[action]:
        _stage(receivables, bank_a, action, fid)
        assert receivables.financing(fid) != before
    else:
        with reverts("financing: wrong state for this action", WrongState):
            _stage(receivables, bank_a, action, fid)
        assert receivables.financing(fid).state == state


@pytest.mark.parametrize("action", list(ALLOWED))
def test_unknown_financing_reverts(receivables, bank_a, action):
    with reverts("financing: unknown financing", UnknownEntity):
        _stage(receivables, bank_a, action, 10**9)


################################################################
#                        AMOUNT CHECKS                         #
################################################################


def test_disbursement_bounds(receivables, bank_a, by_state):
    fid = by_state[S.APPROVED]  # 600 requested
    disburser = bank_a.disburser
    with reverts("financing: disbursement exceeds the approved amount", InvalidInput):
        receivables.register_disbursement(fid, 601, ISSUED, ISSUED, sender=disburser)
    with reverts("financing: amount must be positive", InvalidInput):
        receivables.register_disbursement(fid, 0, ISSUED, ISSUED, sender=disburser)
    with reverts("financing: due date before value date", InvalidInput):
        receivables.register_disbursement(fid, 600, ISSUED, ISSUED - 1, sender=disburser)
    receivables.register_disbursement(fid, 600, ISSUED, ISSUED, sender=disburser)
    assert receivables.financing(fid).disbursed == 600


def test_repayment_bounds(receivables, bank_a, by_state):
    fid = by_state[S.DISBURSED]  # 600 disbursed
    repayer = bank_a.repayer
    with reverts("financing: repayment exceeds the outstanding amount", InvalidInput):
        receivables.register_repayment(fid, 601, sender=repayer)
    with reverts("financing: amount must be positive", InvalidInput):
        receivables.register_repayment(fid, 0, sender=repayer)
    receivables.register_repayment(fid, 200, sender=repayer)
    with reverts("financing: repayment exceeds the outstanding amount", InvalidInput):
        receivables.register_repayment(fid, 401, sender=repayer)
    receivables.register_repayment(fid, 400, sender=repayer)
    assert receivables.financing(fid).state == S.CLOSED


@pytest.mark.parametrize(
    ("docs", "amounts", "message"),
    [
        (["a"], [0], "ledger: amount must be positive"),
        (["a", "b"], [5, 0], "ledger: amount must be positive"),
        (["a", "a"], [5, 5], "ledger: document cited twice"),
        (["a", "b", "a"], [5, 5, 5], "ledger: document cited twice"),
        ([], [], "financing: no documents cited"),
        (["a", "b"], [5], "ledger: fingerprints and amounts differ in length"),
        (["a", "b"], [U64, 1], "financing: total amount too large"),
    ],
)
def test_malformed_application_reverts(
    ledger, receivables, customs_op, bank_a, docs, amounts, message
):
    fps = {
        "a": new_doc(ledger, customs_op, "app-a", face=U64),
        "b": new_doc(ledger, customs_op, "app-b"),
    }
    with reverts(message, InvalidInput):
        receivables.apply(FIRM_A, USD, [fps[d] for d in docs], amounts, sender=bank_a.applicant)
    assert (held(ledger, fps["a"]), held(ledger, fps["b"])) == (0, 0)


def test_largest_amount_passes(ledger, receivables, customs_op, bank_a):
    """The passing side of 'total amount too large': a total of 2**64 - 1 is fine."""
    doc = new_doc(ledger, customs_op, "huge", face=U64)
    fid = apply(receivables, bank_a, FIRM_A, [doc], [U64])
    assert receivables.financing(fid).requested == U64
    assert held(ledger, doc) == U64


def test_absurd_amounts_are_a_recorded_over_financing(ledger, receivables, customs_op, bank_a):
    """Amounts past any face (even summing past 2**256) fail verification before any sum."""
    a = new_doc(ledger, customs_op, "ovf-a")
    b = new_doc(ledger, customs_op, "ovf-b")
    before = receivables.failures_by_reason(Reason.OVER_FINANCED)
    tx = receivables.apply(FIRM_A, USD, [a, b], [2**256 - 1, 1], sender=bank_a.applicant)
    (failure,) = events(tx, receivables.VerificationFailed)
    assert (failure["reason"], failure["fingerprint"]) == (Reason.OVER_FINANCED, a)
    assert receivables.failures_by_reason(Reason.OVER_FINANCED) == before + 1
    assert (held(ledger, a), held(ledger, b)) == (0, 0)


def test_max_cited_documents(ledger, receivables, customs_op, bank_a):
    max_cited = ledger.MAX_CITED()
    docs = [(fp(f"many-{i}"), FIRM_A, 100, USD) for i in range(max_cited + 1)]
    register(ledger, customs_op, docs)
    fps = [d[0] for d in docs]
    with ape.reverts():
        receivables.apply(FIRM_A, USD, fps, [1] * (max_cited + 1), sender=bank_a.applicant)
    fid = apply(receivables, bank_a, FIRM_A, fps[:max_cited], [1] * max_cited)
    assert receivables.financing(fid).documents == max_cited
    assert receivables.cited(fid) == (fps[:max_cited], [1] * max_cited)


################################################################
#                 SERVICE OPENING, DEACTIVATION                #
################################################################


FIRM_C = fp("firm-c")
NO_SERVICE = "financing: firm has not opened the service with this bank"


@pytest.fixture
def firm_c(consortium, regulator, accounts):
    """A firm with no service opened anywhere, and its account (accounts[22])."""
    consortium.onboard(FIRM_C, int(ParticipantKind.ENTERPRISE), ZERO, sender=regulator)
    bind(consortium, regulator, accounts[22], FIRM_C)
    return accounts[22]


def test_service_must_be_opened_with_the_applying_bank(
    consortium, ledger, receivables, customs_op, bank_a, bank_b, firm_c
):
    doc = new_doc(ledger, customs_op, "firm-c-doc", owner=FIRM_C)
    with reverts(NO_SERVICE, ServiceNotOpened):
        receivables.apply(FIRM_C, USD, [doc], [100], sender=bank_a.applicant)

    open_service(consortium, bank_b.opener, firm_c, FIRM_C, bank_b.id)
    with reverts(NO_SERVICE, ServiceNotOpened):  # bank B's opening does not count for bank A
        receivables.apply(FIRM_C, USD, [doc], [100], sender=bank_a.applicant)

    open_service(consortium, bank_a.opener, firm_c, FIRM_C, bank_a.id)
    assert apply(receivables, bank_a, FIRM_C, [doc], [100]) != 0


@pytest.mark.parametrize("closer", ["firm", "regulator"])
def test_closing_the_service_stops_applications_while_live_financings_wind_down(
    consortium,
    ledger,
    receivables,
    customs_op,
    regulator,
    bank_a,
    bank_b,
    by_state,
    firm_accounts,
    closer,
):
    consortium.close_service(
        FIRM_A, bank_a.id, RCV, sender=firm_accounts[FIRM_A] if closer == "firm" else regulator
    )
    doc = new_doc(ledger, customs_op, "after-close")
    with reverts(NO_SERVICE, ServiceNotOpened):
        receivables.apply(FIRM_A, USD, [doc], [100], sender=bank_a.applicant)
    assert apply(receivables, bank_b, FIRM_A, [doc], [100]) != 0  # other banks: unaffected

    # Every live financing of the closed service still moves on to its end.
    receivables.accept(by_state[S.APPLIED], sender=bank_a.acceptor)
    receivables.review(by_state[S.ACCEPTED], True, sender=bank_a.reviewer)
    receivables.register_disbursement(
        by_state[S.APPROVED], 600, ISSUED, ISSUED + 30, sender=bank_a.disburser
    )
    receivables.register_repayment(by_state[S.DISBURSED], 600, sender=bank_a.repayer)
    assert [receivables.financing(by_state[s]).state for s in (S.APPLIED, S.ACCEPTED)] == [
        S.ACCEPTED,
        S.APPROVED,
    ]
    assert receivables.financing(by_state[S.APPROVED]).state == S.DISBURSED
    assert receivables.financing(by_state[S.DISBURSED]).state == S.CLOSED
    receivables.withdraw(by_state[S.APPLIED], sender=bank_a.applicant)
    assert receivables.financing(by_state[S.APPLIED]).state == S.WITHDRAWN


def test_service_lapses_after_valid_until(
    consortium, ledger, receivables, customs_op, bank_a, firm_c, chain
):
    until = chain.pending_timestamp + 1_000
    open_service(consortium, bank_a.opener, firm_c, FIRM_C, bank_a.id, valid_until=until)
    doc = new_doc(ledger, customs_op, "lapsing", owner=FIRM_C)
    fid = apply(receivables, bank_a, FIRM_C, [doc], [100])
    assert fid != 0

    chain.mine(timestamp=until + 1)

    with reverts(NO_SERVICE, ServiceNotOpened):
        receivables.apply(FIRM_C, USD, [doc], [100], sender=bank_a.applicant)
    advance(receivables, bank_a, fid, S.CLOSED)  # the live financing winds down
    # A new consent opens the service again.
    open_service(consortium, bank_a.opener, firm_c, FIRM_C, bank_a.id)
    assert apply(receivables, bank_a, FIRM_C, [doc], [100]) != 0


def test_other_scenario_service_does_not_count(
    consortium, ledger, receivables, customs_op, regulator, bank_a, firm_c
):
    policy = Scenario.POLICY
    consortium.define_roles(policy, ParticipantKind.BANK, Stage.SERVICE, sender=regulator)
    consortium.set_roles(bank_a.opener, policy, Stage.SERVICE, sender=regulator)
    open_service(consortium, bank_a.opener, firm_c, FIRM_C, bank_a.id, policy)
    assert consortium.is_service_opened(FIRM_C, bank_a.id, policy)
    doc = new_doc(ledger, customs_op, "firm-c-doc", owner=FIRM_C)
    with reverts(NO_SERVICE, ServiceNotOpened):
        receivables.apply(FIRM_C, USD, [doc], [100], sender=bank_a.applicant)


def test_deactivated_firm_cannot_be_financed(
    consortium, ledger, receivables, customs_op, regulator, bank_a
):
    doc = new_doc(ledger, customs_op, "firm-off")
    consortium.set_active(FIRM_A, False, sender=regulator)
    with reverts(NO_SERVICE, ServiceNotOpened):
        receivables.apply(FIRM_A, USD, [doc], [100], sender=bank_a.applicant)
    consortium.set_active(FIRM_A, True, sender=regulator)
    assert apply(receivables, bank_a, FIRM_A, [doc], [100]) != 0


def test_deactivated_bank_can_do_nothing(
    consortium, ledger, receivables, customs_op, regulator, bank_a, by_state
):
    doc = new_doc(ledger, customs_op, "bank-off")
    consortium.set_active(bank_a.id, False, sender=regulator)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        receivables.apply(FIRM_A, USD, [doc], [100], sender=bank_a.applicant)
    for action, state in (
        ("accept", S.APPLIED),
        ("withdraw", S.APPROVED),
        ("register_repayment", S.DISBURSED),
    ):
        with reverts("consortium: participant is deactivated", ParticipantDeactivated):
            _stage(receivables, bank_a, action, by_state[state])
    consortium.set_active(bank_a.id, True, sender=regulator)
    assert apply(receivables, bank_a, FIRM_A, [doc], [100]) != 0
    _stage(receivables, bank_a, "accept", by_state[S.APPLIED])
    assert receivables.financing(by_state[S.APPLIED]).state == S.ACCEPTED
