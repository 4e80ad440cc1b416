"""Policy financing and logistics financing through the SDK on real nodes, on the one guard."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest

from crossborder import errors
from crossborder.demo import FIRMS, onboard
from crossborder.domain.codes import DocumentStatus, DocumentType, FinancingState, Stage
from crossborder.domain.models import (
    Citation,
    Declaration,
    FinancingApplication,
    TransportDocument,
)
from crossborder.domain.money import Money
from crossborder.services.documents import DocumentRegistry, Screening
from crossborder.services.logistics import LogisticsDesk
from crossborder.services.policy import (
    InsurerDesk,
    PolicyDesk,
    read_policy,
    set_advance_ratio,
    sign_assignment,
)
from crossborder.services.receivables import ReceivablesDesk

pytestmark = pytest.mark.integration

FIRM_1, FIRM_2, _FIRM_3 = FIRMS.values()
_numbers = itertools.count(520_120_260_000_000_001)
WAYBILL = DocumentType.RAIL_WAYBILL


def usd(amount: str) -> Money:
    return Money(amount, "USD")


@pytest.fixture(scope="module")
def demo(platform, signers):
    return onboard(platform, signers)


def declare(platform, demo, amount="1000.00", exporter=FIRM_1):
    declaration = Declaration(
        number=str(next(_numbers)),
        export_date=dt.date(2026, 11, 1),
        exporter=exporter,
        amount=usd(amount),
    )
    DocumentRegistry(platform, demo.customs).register_declarations([declaration])
    return declaration


def desk(platform, demo, bank, kind=ReceivablesDesk, stage=Stage.APPLY):
    return kind(platform, demo.banks[bank].signers[stage])


def finance(kind, number, amount, firm=FIRM_1, doc=DocumentType.EXPORT_DECLARATION):
    return FinancingApplication(
        firm=firm, citations=(Citation(document=number, kind=doc, amount=usd(amount)),)
    )


def insured(platform, demo, amount="1000.00", limit="5000.00", assign_to="Bank A"):
    """A covered shipment under a fresh policy whose claim rights are assigned to a bank."""
    declaration = declare(platform, demo, amount)
    number = f"POL-{random.randrange(10**9)}"
    insurer = InsurerDesk(platform, demo.insurer)
    insurer.register_policy(number, FIRM_1, "DE-BUYER-7", usd(limit), dt.date(2027, 12, 31))
    insurer.declare_shipment(declaration.number, number, declaration.amount)
    insurer.confirm_cover(declaration.number)
    bank = demo.banks[assign_to]
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    signed = sign_assignment(platform, demo.firms[FIRM_1], number, FIRM_1, bank.uscc, until)
    PolicyDesk(platform, bank.opener).request_assignment(signed)
    insurer.confirm_assignment(number, bank.uscc)
    return declaration, number


def test_policy_financing_within_ratio_and_limit_and_only_at_the_assignee(platform, demo):
    d, number = insured(platform, demo, amount="1000.00", limit="1500.00")
    bank_a = desk(platform, demo, "Bank A", PolicyDesk)
    with pytest.raises(errors.LimitExceeded):  # the demo's advance ratio is 80 %
        bank_a.apply(finance(PolicyDesk, d.number, "800.01"))
    with pytest.raises(errors.AccessDenied):  # Bank B is not the assignee
        desk(platform, demo, "Bank B", PolicyDesk).apply(finance(PolicyDesk, d.number, "100"))
    fid = bank_a.apply(finance(PolicyDesk, d.number, "800.00"))
    assert read_policy(platform, number).used == usd("800.00")
    # The declaration is held by the policy financing: the receivables guard sees it.
    with pytest.raises(errors.OverFinancing):
        desk(platform, demo, "Bank B").apply(finance(ReceivablesDesk, d.number, "200.01"))
    desk(platform, demo, "Bank A", PolicyDesk, Stage.APPLY).withdraw(fid)
    assert read_policy(platform, number).used == usd("0.00")
    assert Screening(platform).declarations([d.number])[0].status is DocumentStatus.FREE


def test_the_buyer_limit_and_the_other_way_round(platform, demo):
    d1, number = insured(platform, demo, amount="1000.00", limit="900.00")
    insurer = InsurerDesk(platform, demo.insurer)
    d2, d3 = declare(platform, demo, "1000.00"), declare(platform, demo, "1000.00")
    insurer.declare_shipment(d2.number, number, d2.amount)
    # Insured above its declared value: 1500 at 80 % leaves room beyond the declaration's 1000.
    insurer.declare_shipment(d3.number, number, usd("1500.00"))
    for d in (d2, d3):
        insurer.confirm_cover(d.number)
    bank_a = desk(platform, demo, "Bank A", PolicyDesk)
    bank_a.apply(finance(PolicyDesk, d1.number, "600.00"))
    with pytest.raises(errors.LimitExceeded, match="buyer credit limit"):  # 600 + 400 > 900
        bank_a.apply(finance(PolicyDesk, d2.number, "400.00"))
    # A declaration financed as a receivable first: the advance-ratio cap counts what the
    # receivable holds (600 + 250 > 80 % of 1000), though the buyer limit has 300 left.
    desk(platform, demo, "Bank B").apply(finance(ReceivablesDesk, d2.number, "600.00"))
    with pytest.raises(errors.LimitExceeded, match="advance ratio"):
        bank_a.apply(finance(PolicyDesk, d2.number, "250.00"))
    # Fully financed as a receivable, a declaration whose cap would allow more is refused by
    # the ledger's guard: it cannot be financed again as an insured shipment.
    desk(platform, demo, "Bank B").apply(finance(ReceivablesDesk, d3.number, "1000.00"))
    with pytest.raises(errors.DuplicateFinancing):
        bank_a.apply(finance(PolicyDesk, d3.number, "100.00"))


def test_claims_reach_the_assignee_and_a_paid_claim_repays(platform, demo):
    d, number = insured(platform, demo, amount="1000.00")
    bank = demo.banks["Bank A"]
    fid = desk(platform, demo, "Bank A", PolicyDesk).apply(finance(PolicyDesk, d.number, "800.00"))
    desk(platform, demo, "Bank A", PolicyDesk, Stage.ACCEPT).accept(fid)
    desk(platform, demo, "Bank A", PolicyDesk, Stage.REVIEW).review(fid, True)
    today = dt.date(2026, 11, 20)
    desk(platform, demo, "Bank A", PolicyDesk, Stage.DISBURSE).register_disbursement(
        fid, usd("800.00"), today, today + dt.timedelta(days=90)
    )
    insurer = InsurerDesk(platform, demo.insurer)
    insurer.notify_loss(d.number, usd("1000.00"))
    claim_id = insurer.file_claim(d.number, usd("1000.00"))
    repay = desk(platform, demo, "Bank A", PolicyDesk, Stage.REPAY)
    with pytest.raises(errors.WrongState):  # filed, not yet paid
        repay.register_claim_repayment(fid, claim_id)
    insurer.settle_claim(claim_id, usd("500.00"))
    claims = PolicyDesk(platform, bank.opener).claims()
    assert [c.id for c in claims if c.id == claim_id] == [claim_id]
    with pytest.raises(errors.AccessDenied):  # Bank B does not see another bank's claims
        PolicyDesk(platform, demo.banks["Bank B"].opener).claim(claim_id)
    repay.register_claim_repayment(fid, claim_id)
    assert repay.financing(fid).repaid == usd("500.00")
    with pytest.raises(errors.WrongState):  # nothing of the claim left
        repay.register_claim_repayment(fid, claim_id)
    repay.register_repayment(fid, usd("300.00"))
    assert repay.financing(fid).state is FinancingState.CLOSED
    assert read_policy(platform, number).used == usd("0.00")


def test_a_forged_assignment_and_an_unset_ratio_are_refused(platform, demo, signers):
    d = declare(platform, demo, "1000.00")
    number = f"POL-{random.randrange(10**9)}"
    insurer = InsurerDesk(platform, demo.insurer)
    insurer.register_policy(number, FIRM_1, "JP-BUYER-1", usd("5000"), dt.date(2027, 12, 31))
    insurer.declare_shipment(d.number, number, d.amount)
    bank_b = demo.banks["Bank B"]
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    forged = sign_assignment(platform, bank_b.opener, number, FIRM_1, bank_b.uscc, until)
    with pytest.raises(errors.ConsentInvalid):
        PolicyDesk(platform, bank_b.opener).request_assignment(forged)
    with pytest.raises(errors.AccessDenied):  # customs is not an insurer
        InsurerDesk(platform, demo.customs).confirm_cover(d.number)
    signed = sign_assignment(platform, demo.firms[FIRM_1], number, FIRM_1, bank_b.uscc, until)
    PolicyDesk(platform, bank_b.opener).request_assignment(signed)
    insurer.confirm_assignment(number, bank_b.uscc)
    with pytest.raises(errors.WrongState):  # cover not confirmed yet
        desk(platform, demo, "Bank B", PolicyDesk).apply(finance(PolicyDesk, d.number, "10"))
    insurer.confirm_cover(d.number)
    set_advance_ratio(platform, signers[0], bank_b.uscc, Decimal(0))
    try:
        with pytest.raises(errors.LimitExceeded):
            desk(platform, demo, "Bank B", PolicyDesk).apply(finance(PolicyDesk, d.number, "1"))
    finally:
        set_advance_ratio(platform, signers[0], bank_b.uscc, Decimal("0.8"))


# Logistics ------------------------------------------------------------------------------------


def waybill(declaration=None, value="1000.00", kind=WAYBILL):
    return TransportDocument(
        kind=kind,
        number=f"CQ-{random.randrange(10**9)}",
        consignor=FIRM_2,
        goods_value=usd(value),
        issued=dt.date(2026, 11, 3),
        corridor="中欧班列长安号",
        declaration=declaration.number if declaration else None,
    )


def test_one_waybill_cannot_be_pledged_at_two_banks(platform, demo):
    w = waybill()
    bl = waybill(kind=DocumentType.BILL_OF_LADING)
    DocumentRegistry(platform, demo.logistics).register_transport([w, bl])
    desk(platform, demo, "Bank A", LogisticsDesk).apply(
        finance(None, w.number, "1000.00", FIRM_2, WAYBILL)
    )
    with pytest.raises(errors.DuplicateFinancing):
        desk(platform, demo, "Bank B", LogisticsDesk).apply(
            finance(None, w.number, "1.00", FIRM_2, WAYBILL)
        )
    bl_app = finance(None, bl.number, "600.00", FIRM_2, DocumentType.BILL_OF_LADING)
    assert desk(platform, demo, "Bank B", LogisticsDesk).apply(bl_app) > 0
    with pytest.raises(errors.InvalidInput):  # a receivables desk does not cite waybills
        desk(platform, demo, "Bank B").apply(finance(None, w.number, "1.00", FIRM_2, WAYBILL))


def test_a_waybill_and_its_declaration_together_never_exceed_the_goods_value(platform, demo):
    d = declare(platform, demo, "1000.00", exporter=FIRM_2)
    w = waybill(d)
    DocumentRegistry(platform, demo.logistics).register_transport([w])
    fid = desk(platform, demo, "Bank A", LogisticsDesk).apply(
        finance(None, w.number, "600.00", FIRM_2, WAYBILL)
    )
    assert Screening(platform).declarations([d.number])[0].held == usd("600.00")
    with pytest.raises(errors.OverFinancing):
        desk(platform, demo, "Bank B").apply(finance(None, d.number, "400.01", FIRM_2))
    other = desk(platform, demo, "Bank B").apply(finance(None, d.number, "400.00", FIRM_2))
    with pytest.raises(errors.DuplicateFinancing):  # the declaration is now fully used
        desk(platform, demo, "Bank A", LogisticsDesk).apply(
            finance(None, w.number, "1.00", FIRM_2, WAYBILL)
        )
    desk(platform, demo, "Bank A", LogisticsDesk).withdraw(fid)
    infos = Screening(platform).declarations([d.number])
    assert infos[0].held == usd("400.00") and other > 0


def test_linking_is_the_registrars_and_only_to_the_same_firm(platform, demo):
    d = declare(platform, demo, "1000.00", exporter=FIRM_1)
    w = waybill()
    registry = DocumentRegistry(platform, demo.logistics)
    registry.register_transport([w])
    with pytest.raises(errors.InvalidInput):  # the declaration is firm 1's, the waybill firm 2's
        registry.link(WAYBILL, [(w.number, d.number)])
    with pytest.raises(errors.AccessDenied):  # customs did not register the waybill
        DocumentRegistry(platform, demo.customs).link(WAYBILL, [(w.number, d.number)])
