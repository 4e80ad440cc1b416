"""Receivables financing end to end through the SDK, on Anvil and on Ganache."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from crossborder import errors
from crossborder.demo import FIRMS, BankDesks, onboard
from crossborder.domain.codes import DocumentStatus, FinancingState, Scenario, SkipReason, Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.services.consortium import ConsortiumAdmin
from crossborder.services.documents import DocumentRegistry, Screening

pytestmark = pytest.mark.integration

FIRM_1, FIRM_2, FIRM_3 = FIRMS.values()
RCV = Scenario.RECEIVABLES
_numbers = itertools.count(310_120_260_000_000_001)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


@pytest.fixture(scope="module")
def consortium(platform, signers):
    demo = onboard(platform, signers)
    customs, banks = demo.customs, demo.banks
    return customs, banks["Bank A"], banks["Bank B"]


@pytest.fixture(scope="module")
def firm_signers(platform, signers, consortium):
    return onboard(platform, signers).firms


def declare(platform, customs, exporter=FIRM_1, amount="1000.00", currency="USD", export=True):
    declaration = Declaration(
        number=str(next(_numbers)),
        export_date=dt.date(2026, 11, 1),
        exporter=exporter,
        amount=Money(amount=Decimal(amount), currency=currency),
        export=export,
    )
    DocumentRegistry(platform, customs).register_declarations([declaration])
    return declaration


def application(firm, *citations):
    return FinancingApplication(
        firm=firm,
        citations=tuple(Citation(declaration=d.number, amount=usd(a)) for d, a in citations),
    )


def desk(platform, bank: BankDesks, role: Stage):
    return bank.desk(platform, role)


def test_full_lifecycle_and_inter_bank_view(platform, consortium):
    customs, bank_a, _bank_b = consortium
    d = declare(platform, customs, amount="1000.00")
    fid = desk(platform, bank_a, Stage.APPLY).apply(application(FIRM_1, (d, "600.00")))
    info = Screening(platform).declarations([d.number])[0]
    assert info.status is DocumentStatus.PARTLY_USED
    assert info.remaining == usd("400.00")
    assert info.used_since is not None

    desk(platform, bank_a, Stage.ACCEPT).accept(fid)
    desk(platform, bank_a, Stage.REVIEW).review(fid, True)
    today = dt.date(2026, 11, 20)
    desk(platform, bank_a, Stage.DISBURSE).register_disbursement(
        fid, usd("600.00"), today, today + dt.timedelta(days=90)
    )
    repay = desk(platform, bank_a, Stage.REPAY)
    repay.register_repayment(fid, usd("100.00"))
    assert repay.financing(fid).state is FinancingState.DISBURSED
    assert repay.financing(fid).outstanding == usd("500.00")
    repay.register_repayment(fid, usd("500.00"))
    record = repay.financing(fid)
    assert record.state is FinancingState.CLOSED
    assert record.due_date == dt.date(2027, 2, 18)
    # Closed by repayment: the document stays used.
    assert Screening(platform).declarations([d.number])[0].held == usd("600.00")


def test_second_bank_refused_duplicate_and_over_financing(platform, consortium):
    customs, bank_a, bank_b = consortium
    full = declare(platform, customs, amount="500.00")
    part = declare(platform, customs, amount="500.00")
    desk(platform, bank_a, Stage.APPLY).apply(application(FIRM_1, (full, "500.00")))
    desk(platform, bank_a, Stage.APPLY).apply(application(FIRM_1, (part, "300.00")))
    b = desk(platform, bank_b, Stage.APPLY)
    with pytest.raises(errors.DuplicateFinancing) as duplicate:
        b.apply(application(FIRM_1, (full, "1.00")))
    assert duplicate.value.fingerprint == platform.fingerprints.declaration(full.number)
    with pytest.raises(errors.OverFinancing):
        b.apply(application(FIRM_1, (part, "200.01")))
    # Exactly what is left still passes.
    assert b.apply(application(FIRM_1, (part, "200.00"))) > 0


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("unknown", errors.DocumentNotFound),
        # Documents are keyed by type: an import declaration is not found as an export one.
        ("import", errors.DocumentNotFound),
        ("other_exporter", errors.WrongExporter),
        ("currency", errors.CurrencyMismatch),
    ],
)
def test_verification_failures_are_typed_and_recorded(platform, consortium, setup, error):
    customs, bank_a, _ = consortium
    if setup == "unknown":
        d = Declaration(
            number=str(next(_numbers)),
            export_date=dt.date(2026, 11, 1),
            exporter=FIRM_1,
            amount=usd("10.00"),
        )
    elif setup == "import":
        d = declare(platform, customs, export=False)
    elif setup == "other_exporter":
        d = declare(platform, customs, exporter=FIRM_2)
    else:
        d = declare(platform, customs, currency="EUR")
    before = platform.view("ReceivablesFinancing", "failures_by_reason", error.reason)[0]
    with pytest.raises(error):
        desk(platform, bank_a, Stage.APPLY).apply(application(FIRM_1, (d, "10.00")))
    after = platform.view("ReceivablesFinancing", "failures_by_reason", error.reason)[0]
    assert after == before + 1


def test_rejection_and_withdrawal_free_the_document(platform, consortium):
    customs, bank_a, bank_b = consortium
    d = declare(platform, customs, amount="100.00")
    apply_a = desk(platform, bank_a, Stage.APPLY)
    fid = apply_a.apply(application(FIRM_1, (d, "100.00")))
    desk(platform, bank_a, Stage.ACCEPT).accept(fid)
    desk(platform, bank_a, Stage.REVIEW).review(fid, False)
    assert Screening(platform).declarations([d.number])[0].status is DocumentStatus.FREE
    other = desk(platform, bank_b, Stage.APPLY).apply(application(FIRM_1, (d, "100.00")))
    desk(platform, bank_b, Stage.APPLY).withdraw(other)
    assert Screening(platform).declarations([d.number])[0].status is DocumentStatus.FREE


def test_access_errors_are_typed_and_raised_before_signing(platform, consortium, signers):
    customs, bank_a, _bank_b = consortium
    d = declare(platform, customs, amount="100.00")
    acceptor = desk(platform, bank_a, Stage.ACCEPT)
    nonce = platform.rpc.request("eth_getTransactionCount", [acceptor.signer.address, "pending"])
    with pytest.raises(errors.MissingRole):
        acceptor.apply(application(FIRM_1, (d, "10.00")))
    assert (
        platform.rpc.request("eth_getTransactionCount", [acceptor.signer.address, "pending"])
        == nonce
    )
    outsider = bank_a.desk(platform, Stage.APPLY).__class__(platform, signers[29])
    with pytest.raises(errors.NotAnOperator):
        outsider.apply(application(FIRM_1, (d, "10.00")))
    ConsortiumAdmin(platform, signers[0]).close_service(FIRM_3, bank_a.uscc, RCV)
    with pytest.raises(errors.ServiceNotOpened):
        desk(platform, bank_a, Stage.APPLY).apply(application(FIRM_3, (d, "10.00")))


def test_maker_checker_and_other_bank(platform, consortium):
    customs, bank_a, bank_b = consortium
    d = declare(platform, customs, amount="100.00")
    fid = desk(platform, bank_a, Stage.APPLY).apply(application(FIRM_1, (d, "50.00")))
    with pytest.raises(errors.OtherBank):
        desk(platform, bank_b, Stage.ACCEPT).accept(fid)
    desk(platform, bank_a, Stage.ACCEPT).accept(fid)
    # The demo's applicant also holds the review role: maker-checker still refuses.
    with pytest.raises(errors.MakerCheckerViolation):
        desk(platform, bank_a, Stage.APPLY).review(fid, True)
    with pytest.raises(errors.MissingRole):
        desk(platform, bank_a, Stage.ACCEPT).review(fid, True)
    desk(platform, bank_a, Stage.REVIEW).review(fid, True)
    with pytest.raises(errors.WrongState):
        desk(platform, bank_a, Stage.ACCEPT).accept(fid)
    with pytest.raises(errors.InvalidInput):
        desk(platform, bank_a, Stage.DISBURSE).register_disbursement(
            fid, usd("50.01"), dt.date(2026, 1, 1), dt.date(2026, 2, 1)
        )


def test_bad_input_rejected_before_anything_is_signed(platform, consortium):
    customs, _bank_a, _ = consortium
    with pytest.raises(ValueError):
        Declaration(
            number="12345",
            export_date=dt.date(2026, 1, 1),
            exporter=FIRM_1,
            amount=usd("1.00"),
        )
    with pytest.raises(ValueError):
        application("91350200MA2Y0000X", (declare(platform, customs), "1.00"))
    d = declare(platform, customs)
    again = DocumentRegistry(platform, customs).register_declarations([d])
    assert again.documents == 0 and again.transactions == 0
    assert again.skipped == ((d.number, SkipReason.ALREADY_REGISTERED),)


def test_a_large_registration_goes_out_in_waves_and_skips_what_is_there(
    platform, consortium, monkeypatch
):
    """Documents on the ledger already are skipped; the rest go out in waves, each sent while
    the ones before it are mined; every one lands once, and progress adds up."""
    from crossborder.services import documents

    customs, _bank_a, _ = consortium
    monkeypatch.setattr(documents, "WAVE_DOCUMENTS", 40)
    registry = DocumentRegistry(platform, customs)
    numbers = [str(next(_numbers)) for _ in range(130)]
    batch = [
        Declaration(
            number=n, export_date=dt.date(2026, 11, 1), exporter=FIRM_1, amount=usd("10.00")
        )
        for n in numbers
    ]
    early = registry.register_declarations(batch[50:55])
    assert early.documents == 5
    sends = []
    send_many = platform.sender.send_many
    monkeypatch.setattr(
        platform.sender,
        "send_many",
        lambda requests: sends.append(len(requests)) or send_many(requests),
    )
    seen = []
    result = registry.register_declarations(batch, batch_size=15, progress=seen.append)
    # 125 fresh documents in waves of 30 (two batches of 15) and a last one of 5.
    assert sends == [2, 2, 2, 2, 1]
    assert result.documents == 125 and result.transactions == 9 and sum(seen) == 125
    assert sorted(result.skipped) == sorted(
        (n, SkipReason.ALREADY_REGISTERED) for n in numbers[50:55]
    )
    infos = Screening(platform).declarations(numbers)
    assert all(info.face == usd("10.00") for info in infos)


def test_apply_many_refuses_before_signing_when_access_is_missing(platform, consortium):
    customs, bank_a, _ = consortium
    d = declare(platform, customs, amount="100.00")
    acceptor = desk(platform, bank_a, Stage.ACCEPT)
    address = acceptor.signer.address
    nonce = platform.rpc.request("eth_getTransactionCount", [address, "pending"])
    with pytest.raises(errors.MissingRole):
        acceptor.apply_many([application(FIRM_1, (d, "10.00"))])
    assert platform.rpc.request("eth_getTransactionCount", [address, "pending"]) == nonce
    outcomes = desk(platform, bank_a, Stage.APPLY).apply_many(
        [application(FIRM_1, (d, "60.00")), application(FIRM_1, (d, "60.00"))]
    )
    assert isinstance(outcomes[0], int)
    assert isinstance(outcomes[1], errors.OverFinancing)


# -- screening over several connections (benchmarks/scale.py) ------------------------------------


def test_screening_over_several_connections_keeps_each_answer_in_place(
    platform, consortium, monkeypatch
):
    """Batches sent at once over several connections come back in the order asked: registered
    and unknown declarations interleaved, one call per two fingerprints, two calls a batch."""
    from crossborder.services import documents

    customs, _bank_a, _bank_b = consortium
    registered = [declare(platform, customs, amount=f"{100 + i}.00") for i in range(9)]
    unknown = [str(next(_numbers)) for _ in range(6)]
    numbers = [d.number for d in registered[:3]] + unknown[:3]
    numbers += [d.number for d in registered[3:]] + unknown[3:]
    faces = {d.number: d.amount for d in registered}
    sequential = Screening(platform).declarations(numbers)  # one batch: 15 < 2,000 per call

    monkeypatch.setattr(documents, "QUERY_BATCH", 2)
    monkeypatch.setattr(documents, "QUERY_GROUP", 4)  # two calls a batch
    calls = []
    batch = platform.rpc.batch
    monkeypatch.setattr(platform.rpc, "batch", lambda c: calls.append(len(c)) or batch(c))
    # Fingerprinted a group of 4 at a time, each group sent as soon as it is ready: 15
    # numbers, 8 calls (of 2, 2, 2, 2, 2, 2, 2 and 1 fingerprints) in 4 batches.
    parallel = Screening(platform).declarations(numbers)
    assert calls == [2, 2, 2, 2]
    fingerprints = [info.fingerprint for info in sequential]
    assert Screening(platform).used(fingerprints) == [
        i for i, info in enumerate(sequential) if info.used
    ]

    assert parallel == sequential
    assert [info.face for info in parallel] == [faces.get(n) for n in numbers]
    assert [info.status is DocumentStatus.UNKNOWN for info in parallel] == [
        n not in faces for n in numbers
    ]
