"""Payment facilitation (便利化类): tax-filing e-verification, freight invoices tagged single-use
in batches, capital-account payments of qualified firms and their post-review sample.

Each rule has a passing and a failing case; the attacks show that nothing releases, consumes,
voids or corrects what a payment used, and that a sample the draw does not give is refused on
chain (order, size, period) or detected off chain (`crossborder.domain.sample`)."""

from __future__ import annotations

import pytest

from crossborder.domain.codes import (
    MAX_TAGGED,
    DocumentStatus,
    DocumentType,
    ForceReason,
    ParticipantKind,
    Reason,
    ReviewOutcome,
    Scenario,
    Stage,
)
from crossborder.domain.sample import check_sample, derive_sample, sample_key
from crossborder.errors import (
    Conflict,
    FirmNotQualified,
    InvalidInput,
    MissingRole,
    NotAnOperator,
    NotRegulator,
    ParticipantDeactivated,
    SampleRejected,
    ScenarioNotAuthorised,
    UnknownEntity,
    WrongState,
)

from .conftest import (
    CNY,
    FIRM_A,
    FIRM_B,
    ISSUED,
    USD,
    ZERO,
    bind,
    deploy_scenario,
    events,
    fp,
    held,
    only_event,
    register,
    reverts,
)

TAX_FILING = DocumentType.TAX_FILING
FREIGHT = DocumentType.FREIGHT_INVOICE
INVOICE = DocumentType.INVOICE
EXPORT = DocumentType.EXPORT_DECLARATION
NOT_AUTHORISED = "ledger: caller is not an authorised scenario"
NO_HOLD = "ledger: no such live hold of this scenario and financing"
LACKS = "consortium: account lacks the role"
PAYMENTS = (Scenario.TAX_PAYMENT, Scenario.FREIGHT_PAYMENT, Scenario.CAPITAL_PAYMENT)
DAY = ISSUED + 10


################################################################
#                           FIXTURES                           #
################################################################


@pytest.fixture(scope="module")
def payments(
    project, consortium, ledger, regulator, accounts, bank_a, bank_b, probe_container, outsider
):
    """The three payment contracts; the tax authority's clerk (accounts[4]); one payment
    verification operator (付汇核验) per bank in every payment scenario (accounts[2], [3])."""
    tax = fp("tax-bureau")
    consortium.onboard(tax, int(ParticipantKind.TAX), ZERO, sender=regulator)
    bind(consortium, regulator, accounts[4], tax, {Scenario.PLATFORM: Stage.REGISTER})
    roles = {scenario: Stage.VERIFY for scenario in PAYMENTS}
    bind(consortium, regulator, accounts[2], bank_a.id, roles)
    bind(consortium, regulator, accounts[3], bank_b.id, roles)
    contracts = {
        name: deploy_scenario(project, name, consortium, ledger, regulator)
        for name in ("TaxPayment", "FreightPayment", "CapitalPayment")
    }
    return contracts


@pytest.fixture(scope="module")
def tax_clerk(accounts, payments):
    return accounts[4]


@pytest.fixture(scope="module")
def teller_a(accounts, payments):
    return accounts[2]


@pytest.fixture(scope="module")
def teller_b(accounts, payments):
    return accounts[3]


@pytest.fixture(scope="module")
def tax(payments):
    return payments["TaxPayment"]


@pytest.fixture(scope="module")
def freight(payments):
    return payments["FreightPayment"]


@pytest.fixture(scope="module")
def capital(payments):
    return payments["CapitalPayment"]


def documents(ledger, clerk, doc_type, label: str, n: int, face: int = 100, owner=FIRM_A, cur=USD):
    """Registers `n` documents of `doc_type` (in batches of 500), `owner`'s, `face` each."""
    docs = [fp(f"{label}-{i}") for i in range(n)]
    for start in range(0, n, 500):
        register(
            ledger, clerk, [(d, owner, face, cur) for d in docs[start : start + 500]], doc_type
        )
    return docs


def paid(contract, tx) -> int:
    """The id of the payment `tx` registered, or 0 when verification failed."""
    found = events(tx, contract.PaymentRegistered)
    return found[0]["payment_id"] if found else 0


def failure(contract, tx) -> tuple[int, bytes]:
    """The reason and fingerprint of the one failed verification `tx` logged."""
    logged = only_event(tx, contract.VerificationFailed)
    return logged["reason"], logged["fingerprint"]


################################################################
#                  TAX-FILING E-VERIFICATION                   #
################################################################


def test_payments_under_a_filing_never_exceed_it_across_banks(
    ledger, tax, tax_clerk, teller_a, teller_b, bank_a, bank_b
):
    (filing,) = documents(ledger, tax_clerk, TAX_FILING, "filing", 1, face=1_000)

    tx = tax.pay(filing, FIRM_A, USD, 600, DAY, sender=teller_a)
    first = paid(tax, tx)
    assert only_event(tx, tax.PaymentRegistered) == {
        "payment_id": first,
        "bank": bank_a.id,
        "payer": FIRM_A,
        "operator": teller_a.address,
        "doc_type": TAX_FILING,
        "currency": USD,
        "amount": 600,
        "documents": 1,
        "value_date": DAY,
    }
    # Held and consumed at once: the ledger's hold record shows nothing live.
    assert ledger.hold_record(tax, first, TAX_FILING, filing)[:2] == (0, 600)
    assert paid(tax, tax.pay(filing, FIRM_A, USD, 400, DAY, sender=teller_b)) == first + 1
    assert ledger.document(TAX_FILING, filing)[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)

    tx = tax.pay(filing, FIRM_A, USD, 1, DAY, sender=teller_a)
    assert paid(tax, tx) == 0
    assert failure(tax, tx) == (Reason.OVER_FINANCED, filing)
    assert tax.verification_failures(bank_a.id, Reason.OVER_FINANCED) == 1
    assert tax.verification_failures(bank_b.id, Reason.OVER_FINANCED) == 0
    assert tax.payment_count() == 2
    payment = tax.payment(first)
    assert (payment.bank, payment.payer, payment.amount, payment.value_date) == (
        bank_a.id,
        FIRM_A,
        600,
        DAY,
    )


def test_an_amount_beyond_what_is_left_is_exceeded(ledger, tax, tax_clerk, teller_a, bank_a):
    (filing,) = documents(ledger, tax_clerk, TAX_FILING, "filing-left", 1, face=1_000)
    assert paid(tax, tax.pay(filing, FIRM_A, USD, 700, DAY, sender=teller_a)) != 0

    tx = tax.pay(filing, FIRM_A, USD, 301, DAY, sender=teller_a)

    assert paid(tax, tx) == 0
    assert failure(tax, tx) == (Reason.OVER_FINANCED, filing)
    assert held(ledger, filing, TAX_FILING) == 700
    assert paid(tax, tax.pay(filing, FIRM_A, USD, 300, DAY, sender=teller_a)) != 0


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("not found", Reason.NOT_FOUND),
        ("wrong payer", Reason.WRONG_OWNER),
        ("currency", Reason.CURRENCY_MISMATCH),
    ],
)
def test_tax_verification_failures_are_counted_by_bank_and_reason(
    ledger, tax, tax_clerk, teller_a, bank_a, case, reason
):
    (filing,) = documents(ledger, tax_clerk, TAX_FILING, f"filing-{case}", 1, face=1_000)
    cited, payer, currency = {
        "not found": (fp("no-such-filing"), FIRM_A, USD),
        "wrong payer": (filing, FIRM_B, USD),
        "currency": (filing, FIRM_A, CNY),
    }[case]

    tx = tax.pay(cited, payer, currency, 100, DAY, sender=teller_a)

    assert paid(tax, tx) == 0
    assert failure(tax, tx) == (reason, cited)
    assert tax.verification_failures(bank_a.id, reason) == 1
    assert tax.failures_by_reason(reason) == 1
    assert held(ledger, filing, TAX_FILING) == 0
    assert tax.payment_count() == 0


def test_a_zero_payment_is_refused(ledger, tax, tax_clerk, teller_a):
    (filing,) = documents(ledger, tax_clerk, TAX_FILING, "filing-zero", 1)
    with reverts("ledger: amount must be positive", InvalidInput):
        tax.pay(filing, FIRM_A, USD, 0, DAY, sender=teller_a)


def test_nothing_frees_a_paid_filing(
    ledger, tax, tax_clerk, teller_a, bank_a, probe_container, consortium, regulator
):
    """The payment's hold is consumed: the filer cannot void it or correct it below the paid
    amount; another scenario under the same id, and the regulator's force-release, find no
    live hold."""
    (filing,) = documents(ledger, tax_clerk, TAX_FILING, "filing-frozen", 1, face=1_000)
    payment_id = paid(tax, tax.pay(filing, FIRM_A, USD, 600, DAY, sender=teller_a))
    probe = deploy_scenario_from(probe_container, consortium, ledger, regulator)

    with reverts("ledger: the document is held", WrongState):
        ledger.void(TAX_FILING, [filing], sender=tax_clerk)
    with reverts("ledger: face below the held amount"):
        ledger.correct_face(TAX_FILING, filing, 599, sender=tax_clerk)
    for call in (probe.release, probe.consume):
        with reverts(NO_HOLD):
            call(payment_id, TAX_FILING, [filing], [600], sender=regulator)
    ledger.set_scenario(tax, False, sender=regulator)
    with reverts(NO_HOLD):
        ledger.force_release(
            tax,
            payment_id,
            bank_a.id,
            TAX_FILING,
            [filing],
            ForceReason.SCENARIO_STOPPED,
            sender=regulator,
        )
    assert held(ledger, filing, TAX_FILING) == 600


def deploy_scenario_from(container, consortium, ledger, regulator):
    contract = container.deploy(consortium, ledger, sender=regulator)
    ledger.set_scenario(contract, True, sender=regulator)
    return contract


################################################################
#                 FREIGHT INVOICES, SINGLE-USE                 #
################################################################


def test_a_batch_of_invoices_is_tagged_whole(ledger, freight, tax_clerk, teller_a, bank_a):
    invoices = documents(ledger, tax_clerk, FREIGHT, "freight", 5, face=250)

    tx = freight.pay(FIRM_A, USD, invoices, DAY, sender=teller_a)

    payment_id = paid(freight, tx)
    assert payment_id == 1
    assert only_event(tx, ledger.DocumentsTagged) == {
        "scenario": freight.address,
        "payment_id": payment_id,
        "bank": bank_a.id,
        "doc_type": FREIGHT,
        "total": 1_250,
        "fingerprints": invoices,
    }
    assert freight.payment(payment_id).amount == 1_250
    assert freight.payment(payment_id).documents == 5
    for invoice in invoices:
        status, face, used, *_ = ledger.document(FREIGHT, invoice)
        assert (status, face, used) == (DocumentStatus.FULLY_USED, 250, 250)
        assert ledger.document(FREIGHT, invoice)[5] != 0  # since when it is used


def test_a_tagged_invoice_cannot_be_paid_again_at_any_bank_and_the_batch_is_all_or_nothing(
    ledger, freight, tax_clerk, teller_a, teller_b, bank_b
):
    invoices = documents(ledger, tax_clerk, FREIGHT, "freight-twice", 4)
    assert paid(freight, freight.pay(FIRM_A, USD, invoices[:1], DAY, sender=teller_a)) != 0

    tx = freight.pay(FIRM_A, USD, [*invoices[1:3], invoices[0], invoices[3]], DAY, sender=teller_b)

    assert paid(freight, tx) == 0
    assert failure(freight, tx) == (Reason.DUPLICATE, invoices[0])
    assert freight.verification_failures(bank_b.id, Reason.DUPLICATE) == 1
    assert events(tx, ledger.DocumentsTagged) == []
    for invoice in invoices[1:]:
        assert ledger.document(FREIGHT, invoice)[:3] == (DocumentStatus.FREE, 100, 0)
    # The untouched invoices still pay, at the other bank.
    assert paid(freight, freight.pay(FIRM_A, USD, invoices[1:], DAY, sender=teller_b)) != 0


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("not found", Reason.NOT_FOUND),
        ("wrong payer", Reason.WRONG_OWNER),
        ("currency", Reason.CURRENCY_MISMATCH),
    ],
)
def test_freight_verification_names_the_first_failing_invoice(
    ledger, freight, tax_clerk, teller_a, bank_a, case, reason
):
    invoices = documents(ledger, tax_clerk, FREIGHT, f"freight-{case}", 3)
    other = {
        "not found": fp("no-such-invoice"),
        "wrong payer": documents(ledger, tax_clerk, FREIGHT, "freight-b", 1, owner=FIRM_B)[0],
        "currency": documents(ledger, tax_clerk, FREIGHT, "freight-cny", 1, cur=CNY)[0],
    }[case]

    tx = freight.pay(FIRM_A, USD, [invoices[0], other, invoices[1]], DAY, sender=teller_a)

    assert paid(freight, tx) == 0
    assert failure(freight, tx) == (reason, other)
    assert freight.verification_failures(bank_a.id, reason) == 1
    assert held(ledger, invoices[0], FREIGHT) == 0


def test_an_invoice_cited_twice_in_one_batch_reverts(ledger, freight, tax_clerk, teller_a):
    invoices = documents(ledger, tax_clerk, FREIGHT, "freight-dup", 2)
    with reverts("ledger: document cited twice", InvalidInput):
        freight.pay(FIRM_A, USD, [invoices[0], invoices[1], invoices[0]], DAY, sender=teller_a)
    with reverts("ledger: no documents", InvalidInput):
        freight.pay(FIRM_A, USD, [], DAY, sender=teller_a)


def test_a_thousand_invoices_are_tagged_in_one_transaction_within_a_block(
    ledger, freight, tax_clerk, teller_a, chain
):
    invoices = documents(ledger, tax_clerk, FREIGHT, "freight-1000", MAX_TAGGED, face=7)

    tx = freight.pay(FIRM_A, USD, invoices, DAY, sender=teller_a)

    assert freight.payment(paid(freight, tx)).amount == 7 * MAX_TAGGED
    print(f"gas for {MAX_TAGGED} invoices: {tx.gas_used}")
    assert tx.gas_used < 30_000_000  # the devnets' block gas limit
    assert {ledger.document(FREIGHT, i)[0] for i in invoices} == {DocumentStatus.FULLY_USED}


def test_nothing_frees_or_changes_a_tagged_invoice(
    ledger, freight, tax_clerk, teller_a, bank_a, probe_container, consortium, regulator
):
    """The filer cannot void or correct a tagged invoice (not even its face upward, which would
    reopen part of it); a scenario cannot hold an invoice or tag anything else; the payment
    left no hold record for anyone (the regulator included) to release or consume."""
    (invoice,) = documents(ledger, tax_clerk, FREIGHT, "freight-frozen", 1)
    (free,) = documents(ledger, tax_clerk, FREIGHT, "freight-free", 1)
    (export,) = documents(ledger, tax_clerk, TAX_FILING, "not-an-invoice", 1)
    payment_id = paid(freight, freight.pay(FIRM_A, USD, [invoice], DAY, sender=teller_a))
    probe = deploy_scenario_from(probe_container, consortium, ledger, regulator)

    with reverts("ledger: the document is held", WrongState):
        ledger.void(FREIGHT, [invoice], sender=tax_clerk)
    for face in (100, 101, 10**6):
        with reverts("ledger: a tagged invoice cannot change", WrongState):
            ledger.correct_face(FREIGHT, invoice, face, sender=tax_clerk)
    with reverts("ledger: invoices are tagged, not held", InvalidInput):
        probe.hold(1, bank_a.id, FIRM_A, USD, FREIGHT, [free], [1], sender=regulator)
    with reverts("ledger: only invoices are tagged", InvalidInput):
        probe.tag(1, bank_a.id, FIRM_A, USD, TAX_FILING, [export], sender=regulator)
    for call in (probe.release, probe.consume):
        with reverts(NO_HOLD):
            call(payment_id, FREIGHT, [invoice], [100], sender=regulator)
    ledger.set_scenario(freight, False, sender=regulator)
    with reverts(NO_HOLD):
        ledger.force_release(
            freight,
            payment_id,
            bank_a.id,
            FREIGHT,
            [invoice],
            ForceReason.SCENARIO_STOPPED,
            sender=regulator,
        )
    assert ledger.document(FREIGHT, invoice)[:3] == (DocumentStatus.FULLY_USED, 100, 100)
    # An untagged invoice is corrected as before.
    ledger.correct_face(FREIGHT, free, 150, sender=tax_clerk)


def test_only_an_authorised_scenario_tags(ledger, freight, tax_clerk, teller_a, bank_a, regulator):
    (invoice,) = documents(ledger, tax_clerk, FREIGHT, "freight-direct", 1)
    for caller in (teller_a, regulator, tax_clerk):
        with reverts(NOT_AUTHORISED, ScenarioNotAuthorised):
            ledger.tag(1, bank_a.id, FIRM_A, USD, FREIGHT, [invoice], sender=caller)
    ledger.set_scenario(freight, False, sender=regulator)
    with reverts(NOT_AUTHORISED, ScenarioNotAuthorised):
        freight.pay(FIRM_A, USD, [invoice], DAY, sender=teller_a)
    assert held(ledger, invoice, FREIGHT) == 0


################################################################
#                  WHO MAY REGISTER A PAYMENT                  #
################################################################


@pytest.mark.parametrize("name", ["TaxPayment", "FreightPayment", "CapitalPayment"])
def test_only_the_scenarios_payment_verification_operator_pays(
    payments, ledger, consortium, regulator, accounts, bank_a, tax_clerk, outsider, name
):
    """A bank operator with every financing stage, or with 付汇核验 in another payment scenario,
    may not pay; an account bound to nothing may not; a deactivated bank's teller may not."""
    contract = payments[name]
    scenario = Scenario(contract.SCENARIO())
    capital = payments["CapitalPayment"]
    capital.set_qualified(FIRM_A, True, sender=regulator)
    if name == "TaxPayment":
        (filing,) = documents(ledger, tax_clerk, TAX_FILING, "who-tax", 1)
        args = (filing, FIRM_A, USD, 10, DAY)
    else:
        doc_type = FREIGHT if name == "FreightPayment" else INVOICE
        args = (FIRM_A, USD, documents(ledger, tax_clerk, doc_type, f"who-{name}", 1), DAY)
    others = [s for s in PAYMENTS if s != scenario]
    clerk = accounts[5]
    bind(consortium, regulator, clerk, bank_a.id, {s: Stage.VERIFY for s in others})
    consortium.set_roles(clerk, int(Scenario.RECEIVABLES), 0b111111, sender=regulator)
    with reverts(LACKS, MissingRole):
        contract.pay(*args, sender=clerk)
    with reverts("consortium: account is not an operator", NotAnOperator):
        contract.pay(*args, sender=outsider)
    consortium.set_roles(clerk, int(scenario), int(Stage.VERIFY), sender=regulator)
    consortium.set_active(bank_a.id, False, sender=regulator)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        contract.pay(*args, sender=clerk)
    consortium.set_active(bank_a.id, True, sender=regulator)
    assert paid(contract, contract.pay(*args, sender=clerk)) == 1


################################################################
#            CAPITAL-ACCOUNT PAYMENTS AND THE SAMPLE           #
################################################################


def capital_payments(ledger, capital, clerk, teller, label: str, n: int) -> list[int]:
    """`n` payments of FIRM_A (qualified), one invoice each; their ids."""
    invoices = documents(ledger, clerk, INVOICE, label, n)
    return [paid(capital, capital.pay(FIRM_A, USD, [i], DAY, sender=teller)) for i in invoices]


def test_only_qualified_firms_pay_without_prior_proof(
    ledger, capital, tax_clerk, teller_a, regulator, bank_a
):
    invoices = documents(ledger, tax_clerk, INVOICE, "capital-q", 2)
    with reverts("capital: the firm is not qualified", FirmNotQualified):
        capital.pay(FIRM_A, USD, invoices, DAY, sender=teller_a)
    tx = capital.set_qualified(FIRM_A, True, sender=regulator)
    assert only_event(tx, capital.FirmQualified) == {
        "firm": FIRM_A,
        "qualified": True,
        "by": regulator.address,
    }
    payment_id = paid(capital, capital.pay(FIRM_A, USD, invoices, DAY, sender=teller_a))
    assert capital.payment(payment_id).amount == 200
    tx = capital.pay(FIRM_A, USD, invoices[:1], DAY, sender=teller_a)
    assert failure(capital, tx) == (Reason.DUPLICATE, invoices[0])
    capital.set_qualified(FIRM_A, False, sender=regulator)
    (fresh,) = documents(ledger, tax_clerk, INVOICE, "capital-q-after", 1)
    with reverts("capital: the firm is not qualified", FirmNotQualified):
        capital.pay(FIRM_A, USD, [fresh], DAY, sender=teller_a)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("set_qualified", (FIRM_A, True)),
        ("close_period", (3,)),
        ("record_sample", (1, [1])),
        ("record_review", (1, ReviewOutcome.COMPLIANT)),
    ],
)
def test_the_regulators_functions(capital, teller_a, bank_a, tax_clerk, outsider, call, args):
    for caller in (teller_a, tax_clerk, outsider):
        with reverts("capital: caller is not the regulator", NotRegulator):
            getattr(capital, call)(*args, sender=caller)


def closed_and_drawn(capital, regulator, chain, size: int) -> tuple[int, bytes]:
    """Closes a period with `size`, mines past its seed block and draws; (period, seed)."""
    tx = capital.close_period(size, sender=regulator)
    period = only_event(tx, capital.PeriodClosed)["period"]
    chain.mine(capital.SEED_DELAY())
    tx = capital.draw(period, sender=regulator)
    return period, only_event(tx, capital.SeedDrawn)["seed"]


@pytest.fixture
def qualified(capital, regulator):
    capital.set_qualified(FIRM_A, True, sender=regulator)


def test_the_seed_is_a_block_named_before_it_exists(
    ledger, capital, tax_clerk, teller_a, regulator, outsider, chain, qualified
):
    ids = capital_payments(ledger, capital, tax_clerk, teller_a, "seed", 3)
    with reverts("capital: unknown period", UnknownEntity):
        capital.draw(1, sender=outsider)

    tx = capital.close_period(2, sender=regulator)

    closed = only_event(tx, capital.PeriodClosed)
    assert closed["seed_block"] == tx.block_number + capital.SEED_DELAY()
    assert (closed["first"], closed["last"], closed["sample_size"]) == (ids[0], ids[-1], 2)
    with reverts("capital: the seed block is not mined yet", WrongState):
        capital.draw(1, sender=outsider)
    with reverts("capital: the seed is not drawn yet", WrongState):
        capital.record_sample(1, [ids[0], ids[1]], sender=regulator)
    chain.mine(capital.SEED_DELAY())
    # Anyone may draw: the seed is the named block's hash.
    tx = capital.draw(1, sender=outsider)
    seed = only_event(tx, capital.SeedDrawn)["seed"]
    assert seed == bytes(chain.provider.get_block(closed["seed_block"]).hash)
    assert capital.period(1).seed == seed
    with reverts("capital: the seed is already drawn", Conflict):
        capital.draw(1, sender=regulator)


def test_a_seed_block_past_the_blockhash_window_is_named_anew(
    ledger, capital, tax_clerk, teller_a, regulator, outsider, chain, qualified
):
    capital_payments(ledger, capital, tax_clerk, teller_a, "window", 2)
    capital.close_period(1, sender=regulator)
    chain.mine(capital.SEED_DELAY() + capital.BLOCKHASH_WINDOW() + 1)

    tx = capital.draw(1, sender=outsider)

    named = only_event(tx, capital.SeedBlockNamed)
    assert named["seed_block"] == tx.block_number + capital.SEED_DELAY()
    assert events(tx, capital.SeedDrawn) == []
    assert capital.period(1).seed == ZERO
    chain.mine(capital.SEED_DELAY())
    assert (
        only_event(capital.draw(1, sender=outsider), capital.SeedDrawn)["seed_block"]
        == (named["seed_block"])
    )


def test_closing_needs_payments_and_a_sample_size(
    ledger, capital, tax_clerk, teller_a, regulator, chain, qualified
):
    with reverts("capital: no payments since the last period", WrongState):
        capital.close_period(1, sender=regulator)
    ids = capital_payments(ledger, capital, tax_clerk, teller_a, "close", 2)
    for size in (0, capital.MAX_SAMPLE() + 1):
        with reverts("capital: sample size out of range", InvalidInput):
            capital.close_period(size, sender=regulator)
    capital.close_period(5, sender=regulator)
    with reverts("capital: no payments since the last period", WrongState):
        capital.close_period(1, sender=regulator)
    later = capital_payments(ledger, capital, tax_clerk, teller_a, "close-2", 1)
    tx = capital.close_period(1, sender=regulator)
    assert only_event(tx, capital.PeriodClosed)["first"] == later[0] == ids[-1] + 1


def test_the_drawn_sample_is_recorded_and_reviewed(
    ledger, capital, tax_clerk, teller_a, regulator, chain, qualified
):
    ids = capital_payments(ledger, capital, tax_clerk, teller_a, "sample", 12)
    period, seed = closed_and_drawn(capital, regulator, chain, 4)
    sample = derive_sample(seed, ids[0], ids[-1], 4)
    assert [capital.sample_key(seed, p) for p in sample] == [sample_key(seed, p) for p in sample]

    tx = capital.record_sample(period, sample, sender=regulator)

    assert only_event(tx, capital.SampleRecorded)["payment_ids"] == sample
    assert all(capital.sampled_in(p) == period for p in sample)
    with reverts("capital: the sample is already recorded", Conflict):
        capital.record_sample(period, sample, sender=regulator)
    outside = next(p for p in ids if p not in sample)
    with reverts("capital: payment not in a recorded sample", WrongState):
        capital.record_review(outside, ReviewOutcome.COMPLIANT, sender=regulator)
    with reverts("capital: unknown review outcome", InvalidInput):
        capital.record_review(sample[0], 3, sender=regulator)
    tx = capital.record_review(sample[0], ReviewOutcome.NONCOMPLIANT, sender=regulator)
    assert only_event(tx, capital.ReviewRecorded) == {
        "period": period,
        "payment_id": sample[0],
        "outcome": ReviewOutcome.NONCOMPLIANT,
        "by": regulator.address,
    }
    with reverts("capital: payment already reviewed", Conflict):
        capital.record_review(sample[0], ReviewOutcome.COMPLIANT, sender=regulator)
    capital.record_review(sample[1], ReviewOutcome.COMPLIANT, sender=regulator)
    assert (capital.period(period).sampled, capital.period(period).reviewed) == (4, 2)
    assert capital.review_of(sample[0]) == ReviewOutcome.NONCOMPLIANT


def test_a_small_period_is_sampled_whole(
    ledger, capital, tax_clerk, teller_a, regulator, chain, qualified
):
    ids = capital_payments(ledger, capital, tax_clerk, teller_a, "small", 3)
    period, seed = closed_and_drawn(capital, regulator, chain, 10)
    sample = derive_sample(seed, ids[0], ids[-1], 10)
    assert sorted(sample) == ids
    with reverts("capital: wrong sample size", SampleRejected):
        capital.record_sample(period, sample[:2], sender=regulator)
    capital.record_sample(period, sample, sender=regulator)


def test_a_sample_the_draw_does_not_give_is_refused_or_detected(
    ledger, capital, tax_clerk, teller_a, regulator, chain, qualified
):
    """Out of order, a repeated id, another period's payment: refused on chain. A subset in
    seed order that skips a payment the draw picks (the regulator sparing a payment) passes the
    contract's checks, and re-deriving the draw from the chain's record detects it."""
    before = capital_payments(ledger, capital, tax_clerk, teller_a, "wrong-0", 2)
    capital.close_period(1, sender=regulator)
    ids = capital_payments(ledger, capital, tax_clerk, teller_a, "wrong", 10)
    period, seed = closed_and_drawn(capital, regulator, chain, 3)
    assert period == 2
    expected = derive_sample(seed, ids[0], ids[-1], 3)
    ordered = derive_sample(seed, ids[0], ids[-1], len(ids))

    with reverts("capital: sample not in seed order", SampleRejected):
        capital.record_sample(period, list(reversed(expected)), sender=regulator)
    with reverts("capital: sample not in seed order", SampleRejected):
        capital.record_sample(period, [expected[0], expected[0], expected[1]], sender=regulator)
    with reverts("capital: payment not in the period", SampleRejected):
        capital.record_sample(period, [before[0], *expected[1:]], sender=regulator)
    spared = [ordered[0], ordered[2], ordered[3]]  # skips the second of the draw
    capital.record_sample(period, spared, sender=regulator)

    closed = capital.period(period)
    check = check_sample(period, closed.seed, closed.first, closed.last, closed.sample_size, spared)
    assert not check.ok
    assert check.missing == (ordered[1],)
    assert check.extra == (ordered[3],)
    honest = check_sample(period, seed, ids[0], ids[-1], 3, expected)
    assert honest.ok and honest.missing == honest.extra == ()
