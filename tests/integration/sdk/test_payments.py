"""Payment facilitation through the SDK on real nodes: tax-filing e-verification, freight
invoices tagged single-use in batches, capital-account payments and a sample anyone re-derives
(the SDK's check and ``scripts/verify_sample.py``, from the chain alone)."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from crossborder import errors
from crossborder.demo import FIRMS, onboard
from crossborder.domain.codes import DocumentStatus, DocumentType, Reason, ReviewOutcome, Stage
from crossborder.domain.documents import document_fingerprint
from crossborder.domain.money import Money, currency
from crossborder.domain.payments import CAPITAL, FREIGHT, TAX, PaymentDocument
from crossborder.services.documents import DocumentRegistry, Screening
from crossborder.services.payments import PaymentDesk, PostReview

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
FIRM_1, FIRM_2, _FIRM_3 = FIRMS.values()
USD = currency("USD")
DAY = dt.date(2026, 11, 20)
_serial = itertools.count(1)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


@pytest.fixture(scope="module")
def demo(platform, signers):
    return onboard(platform, signers)


def documents(platform, signer, kind, n, amount="100.00", payer=FIRM_1, money=None):
    """Registers `n` fresh documents of `kind` (filings SERIAL/CHECK, invoices CODE/NUMBER)."""
    numbers = []
    for _ in range(n):
        i = next(_serial)
        if kind is DocumentType.TAX_FILING:
            numbers.append(f"TF{i:010d}/C{i % 997:03d}")
        else:
            numbers.append(f"{4403190011 + i:010d}/{i:08d}")
    docs = [
        PaymentDocument(kind=kind, number=n, payer=payer, amount=money or usd(amount), issued=DAY)
        for n in numbers
    ]
    DocumentRegistry(platform, signer).register(kind, docs)
    return numbers


def screen(platform, kind, numbers):
    fps = [document_fingerprint(platform.fingerprints, kind, n) for n in numbers]
    return Screening(platform).documents(kind, fps)


def teller(platform, demo, bank, spec):
    return PaymentDesk(platform, demo.banks[bank].teller, spec)


def test_tax_payments_never_exceed_the_filing_across_banks(platform, demo):
    (filing,) = documents(platform, demo.tax, DocumentType.TAX_FILING, 1, "1000.00")
    bank_a, bank_b = teller(platform, demo, "Bank A", TAX), teller(platform, demo, "Bank B", TAX)

    first = bank_a.pay_filing(filing, FIRM_1, usd("600.00"), DAY)
    bank_b.pay_filing(filing, FIRM_1, usd("400.00"), DAY)
    with pytest.raises(errors.OverFinancing, match="exceeds what is left of the filed amount"):
        bank_a.pay_filing(filing, FIRM_1, usd("0.01"), DAY)
    with pytest.raises(errors.WrongExporter, match="payer is not the paying firm"):
        bank_b.pay_filing(filing, FIRM_2, usd("1.00"), DAY)

    payment = bank_a.payment(first)
    assert (payment.amount, payment.documents, payment.value_date) == (usd("600.00"), 1, DAY)
    (info,) = screen(platform, DocumentType.TAX_FILING, [filing])
    assert info.status is DocumentStatus.FULLY_USED
    assert bank_a.verification_failures(demo.banks["Bank A"].uscc)[Reason.OVER_FINANCED] >= 1
    assert bank_a.verification_failures(demo.banks["Bank B"].uscc)[Reason.WRONG_OWNER] >= 1


def test_tax_input_is_checked_before_signing(platform, demo):
    desk = teller(platform, demo, "Bank A", TAX)
    with pytest.raises(errors.InvalidInput, match="SERIAL/CHECK"):
        desk.pay_filing("not a filing", FIRM_1, usd("1.00"), DAY)
    with pytest.raises(errors.InvalidInput, match="positive"):
        desk.pay_filing("TF0000000001/C001", FIRM_1, usd("0.00"), DAY)
    with pytest.raises(errors.InvalidInput, match="pays against a tax filing"):
        desk.pay_invoices(FIRM_1, USD, ["4403190011/00000001"], DAY)


def test_a_freight_batch_is_tagged_once_across_banks(platform, demo):
    invoices = documents(platform, demo.logistics, DocumentType.FREIGHT_INVOICE, 40, "25.00")
    bank_a = teller(platform, demo, "Bank A", FREIGHT)
    bank_b = teller(platform, demo, "Bank B", FREIGHT)

    payment_id = bank_a.pay_invoices(FIRM_1, USD, invoices[:30], DAY)

    assert bank_a.payment(payment_id).amount == usd("750.00")
    with pytest.raises(errors.DuplicateFinancing, match="already used by another payment"):
        bank_b.pay_invoices(FIRM_1, USD, [*invoices[30:], invoices[0]], DAY)
    infos = screen(platform, DocumentType.FREIGHT_INVOICE, invoices)
    assert {i.status for i in infos[:30]} == {DocumentStatus.FULLY_USED}
    assert {i.status for i in infos[30:]} == {DocumentStatus.FREE}  # all or nothing
    assert bank_b.pay_invoices(FIRM_1, USD, invoices[30:], DAY) == payment_id + 1
    with pytest.raises(errors.InvalidInput, match="listed twice"):
        bank_a.pay_invoices(FIRM_1, USD, [invoices[0], invoices[0]], DAY)
    with pytest.raises(errors.InvalidInput, match="1 to 1000"):
        bank_a.pay_invoices(FIRM_1, USD, [], DAY)


def test_only_the_payment_teller_pays(platform, demo):
    (invoice,) = documents(platform, demo.logistics, DocumentType.FREIGHT_INVOICE, 1)
    applicant = PaymentDesk(platform, demo.banks["Bank A"].signers[Stage.APPLY], FREIGHT)
    with pytest.raises(errors.MissingRole):
        applicant.pay_invoices(FIRM_1, USD, [invoice], DAY)
    (info,) = screen(platform, DocumentType.FREIGHT_INVOICE, [invoice])
    assert info.status is DocumentStatus.FREE


def _mine(platform, blocks: int) -> None:
    for _ in range(blocks):
        platform.rpc.request("evm_mine")


def _verify_script(platform, tmp: Path) -> subprocess.CompletedProcess[str]:
    """``scripts/verify_sample.py`` in its own process: the node and the deployment file only."""
    deployment = tmp / "deployment.json"
    platform.deployment.save(deployment)
    script = REPO / "scripts" / "verify_sample.py"
    args = [sys.executable, str(script), "--rpc", platform.rpc.url, "--deployment", str(deployment)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_capital_payments_and_a_sample_anyone_rederives(platform, demo, signers, tmp_path):
    regulator = PostReview(platform, signers[0])
    bank_a = teller(platform, demo, "Bank A", CAPITAL)
    invoices = documents(platform, demo.tax, DocumentType.INVOICE, 14)
    with pytest.raises(errors.FirmNotQualified):
        bank_a.pay_invoices(FIRM_1, USD, invoices[:1], DAY)
    regulator.qualify(FIRM_1)
    assert regulator.is_qualified(FIRM_1) and not regulator.is_qualified(FIRM_2)
    ids = [bank_a.pay_invoices(FIRM_1, USD, [i], DAY) for i in invoices[:12]]

    period = regulator.close_period(5)
    with pytest.raises(errors.WrongState, match="not mined yet"):
        PostReview(platform, signers[5]).draw(period)
    _mine(platform, 4)
    seed = PostReview(platform, signers[5]).draw(period)  # anyone draws
    assert seed is not None
    sample = regulator.record_sample(period)
    assert len(sample) == 5 and set(sample) <= set(ids)
    regulator.record_review(sample[0], ReviewOutcome.NONCOMPLIANT)
    regulator.record_review(sample[1], ReviewOutcome.COMPLIANT)
    closed = regulator.period(period)
    assert (closed.first, closed.last, closed.sampled, closed.reviewed) == (ids[0], ids[-1], 5, 2)
    assert regulator.check(period).ok

    done = _verify_script(platform, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sample matches the draw" in done.stdout

    # A second period whose recorded sample spares a payment the draw picks: in seed order and
    # of the right size, so the contract takes it; re-deriving from the chain detects it.
    more = [bank_a.pay_invoices(FIRM_1, USD, [i], DAY) for i in invoices[12:]]
    second = regulator.close_period(1)
    _mine(platform, 4)
    regulator.draw(second)
    drawn = regulator.sample(second)
    spared = [p for p in more if p not in drawn]
    regulator.record_sample(second, spared)
    check = regulator.check(second)
    assert not check.ok and check.missing == tuple(drawn) and check.extra == tuple(spared)

    done = _verify_script(platform, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "WRONG SAMPLE" in done.stdout
