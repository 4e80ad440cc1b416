"""The hardened core through the SDK on real nodes: the firm's signed consent, ledger-owned holds
that only their owner (or the regulator's logged force-release) frees, and the document
namespace with skip-not-revert registration, void and correction."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from decimal import Decimal

import pytest

from crossborder import errors
from crossborder.demo import FIRMS, onboard
from crossborder.domain.codes import DocumentStatus, ForceReason, Scenario, SkipReason, Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.services.consortium import (
    ConsortiumAdmin,
    close_service,
    revoke_consent,
    service_status,
    sign_consent,
)
from crossborder.services.documents import DocumentRegistry, Screening
from crossborder.services.receivables import ReceivablesDesk

pytestmark = pytest.mark.integration

FIRM_1, FIRM_2, FIRM_3 = FIRMS.values()
RCV = Scenario.RECEIVABLES
_numbers = itertools.count(420_120_260_000_000_001)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def soon(days: int = 30) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


@pytest.fixture(scope="module")
def world(platform, signers):
    demo = onboard(platform, signers)
    customs, banks, firm_signers = demo.customs, demo.banks, demo.firms
    return customs, banks["Bank A"], banks["Bank B"], firm_signers, signers[0]


def declare(platform, customs, amount="1000.00", exporter=FIRM_1):
    declaration = Declaration(
        number=str(next(_numbers)),
        export_date=dt.date(2026, 11, 1),
        exporter=exporter,
        amount=usd(amount),
    )
    DocumentRegistry(platform, customs).register_declarations([declaration])
    return declaration


def apply(platform, bank, firm, declaration, amount):
    application = FinancingApplication(
        firm=firm, citations=(Citation(declaration=declaration.number, amount=usd(amount)),)
    )
    return bank.desk(platform, Stage.APPLY).apply(application)


# 业务开通: the firm's signed consent ----------------------------------------------------------


def test_a_bank_cannot_open_a_service_the_firm_never_signed(platform, world):
    _customs, _bank_a, bank_b, firm_signers, _regulator = world
    # Bank B's own operator signs a consent "for" firm 3: the registry refuses it.
    forged = sign_consent(platform, bank_b.opener, FIRM_3, bank_b.uscc, RCV, soon())
    closed_before = service_status(platform, FIRM_3, bank_b.uscc, RCV)
    ConsortiumAdmin(platform, world[4]).close_service(FIRM_3, bank_b.uscc, RCV)
    with pytest.raises(errors.ConsentInvalid):
        ReceivablesDesk(platform, bank_b.opener).open_services([forged])
    assert service_status(platform, FIRM_3, bank_b.uscc, RCV)[0] is None
    # The firm's own signature opens it, for the consent's validity and scope.
    signed = sign_consent(platform, firm_signers[FIRM_3], FIRM_3, bank_b.uscc, RCV, soon(), 0b011)
    ReceivablesDesk(platform, bank_b.opener).open_services([signed])
    until, scope = service_status(platform, FIRM_3, bank_b.uscc, RCV)
    assert until is not None and until.timestamp() == signed.consent.valid_until
    assert scope == 0b011
    assert closed_before[0] is not None  # the demo had opened it before


def test_replayed_revoked_expired_and_misdirected_consents_are_refused(platform, world):
    _customs, bank_a, bank_b, firm_signers, regulator = world
    firm = firm_signers[FIRM_2]
    ConsortiumAdmin(platform, regulator).close_service(FIRM_2, bank_a.uscc, RCV)
    signed = sign_consent(platform, firm, FIRM_2, bank_a.uscc, RCV, soon())
    opener = ReceivablesDesk(platform, bank_a.opener)
    opener.open_services([signed])
    close_service(platform, firm, FIRM_2, bank_a.uscc, RCV)
    with pytest.raises(errors.ConsentInvalid):  # replay of a used nonce
        opener.open_services([signed])
    revoked = sign_consent(platform, firm, FIRM_2, bank_a.uscc, RCV, soon())
    revoke_consent(platform, firm, revoked.consent.nonce)
    with pytest.raises(errors.ConsentInvalid):
        opener.open_services([revoked])
    expired = replace(
        signed, consent=replace(signed.consent, valid_until=int(dt.datetime.now().timestamp()) - 5)
    )
    with pytest.raises(errors.ConsentInvalid):  # refused before anything is sent
        opener.open_services([expired])
    for_b = sign_consent(platform, firm, FIRM_2, bank_b.uscc, RCV, soon())
    with pytest.raises(errors.ConsentInvalid):  # names bank B, submitted by bank A
        opener.open_services([for_b])
    assert service_status(platform, FIRM_2, bank_a.uscc, RCV)[0] is None
    # An operator without the service stage cannot submit even a valid consent.
    fresh = sign_consent(platform, firm, FIRM_2, bank_a.uscc, RCV, soon())
    with pytest.raises(errors.MissingRole):
        ReceivablesDesk(platform, bank_a.signers[Stage.APPLY]).open_services([fresh])
    opener.open_services([fresh])
    assert service_status(platform, FIRM_2, bank_a.uscc, RCV)[0] is not None


def test_closing_a_service_stops_new_applications_while_live_ones_wind_down(platform, world):
    customs, bank_a, _bank_b, firm_signers, _regulator = world
    d1, d2 = (
        declare(platform, customs, exporter=FIRM_1),
        declare(platform, customs, exporter=FIRM_1),
    )
    fid = apply(platform, bank_a, FIRM_1, d1, "100.00")
    with pytest.raises(errors.AccessDenied):  # another firm's account may not close it
        close_service(platform, firm_signers[FIRM_2], FIRM_1, bank_a.uscc, RCV)
    close_service(platform, firm_signers[FIRM_1], FIRM_1, bank_a.uscc, RCV)
    with pytest.raises(errors.ServiceNotOpened):
        apply(platform, bank_a, FIRM_1, d2, "100.00")
    bank_a.desk(platform, Stage.ACCEPT).accept(fid)
    bank_a.desk(platform, Stage.REVIEW).review(fid, True)
    today = dt.date(2026, 11, 20)
    bank_a.desk(platform, Stage.DISBURSE).register_disbursement(
        fid, usd("100.00"), today, today + dt.timedelta(days=30)
    )
    bank_a.desk(platform, Stage.REPAY).register_repayment(fid, usd("100.00"))
    assert bank_a.desk(platform, Stage.REPAY).financing(fid).state.name == "CLOSED"
    signed = sign_consent(platform, firm_signers[FIRM_1], FIRM_1, bank_a.uscc, RCV, soon())
    ReceivablesDesk(platform, bank_a.opener).open_services([signed])
    assert apply(platform, bank_a, FIRM_1, d2, "100.00") > 0


# Holds belong to whoever took them ------------------------------------------------------------


def test_force_release_needs_a_stopped_scenario_and_frees_only_that_financing(platform, world):
    customs, bank_a, bank_b, _firm_signers, regulator = world
    admin = ConsortiumAdmin(platform, regulator)
    d = declare(platform, customs, amount="1000.00")
    fid = apply(platform, bank_a, FIRM_1, d, "1000.00")
    with pytest.raises(errors.WrongState):  # the scenario is live: nothing may free its holds
        admin.force_release("ReceivablesFinancing", fid, ForceReason.SCENARIO_STOPPED)
    with pytest.raises(errors.WrongState):  # bank A is active
        admin.force_release("ReceivablesFinancing", fid, ForceReason.BANK_DEACTIVATED)
    with pytest.raises(errors.NotRegulator):
        ConsortiumAdmin(platform, bank_b.opener).set_scenario("ReceivablesFinancing", False)
    admin.set_scenario("ReceivablesFinancing", False)
    try:
        with pytest.raises(errors.ScenarioNotAuthorised):
            apply(platform, bank_b, FIRM_1, declare(platform, customs), "1.00")
        assert admin.force_release("ReceivablesFinancing", fid, ForceReason.SCENARIO_STOPPED) == 1
    finally:
        admin.set_scenario("ReceivablesFinancing", True)
    assert Screening(platform).declarations([d.number])[0].status is DocumentStatus.FREE
    # The stopped financing winds down without touching the freed document.
    bank_a.desk(platform, Stage.ACCEPT).accept(fid)
    bank_a.desk(platform, Stage.REVIEW).review(fid, False)
    assert apply(platform, bank_b, FIRM_1, d, "1000.00") > 0


def test_a_deactivated_banks_holds_are_not_frozen_for_ever(platform, world, signers):
    customs, bank_a, _bank_b, _firm_signers, regulator = world
    admin = ConsortiumAdmin(platform, regulator)
    d = declare(platform, customs, amount="500.00")
    fid = apply(platform, bank_a, FIRM_1, d, "500.00")
    admin.set_active(bank_a.uscc, False)
    try:
        with pytest.raises(errors.ParticipantDeactivated):
            bank_a.desk(platform, Stage.APPLY).withdraw(fid)
        admin.force_release("ReceivablesFinancing", fid, ForceReason.BANK_DEACTIVATED)
        with pytest.raises(errors.WrongState):  # nothing left to free
            admin.force_release("ReceivablesFinancing", fid, ForceReason.BANK_DEACTIVATED)
    finally:
        admin.set_active(bank_a.uscc, True)
    assert Screening(platform).declarations([d.number])[0].status is DocumentStatus.FREE


# The document namespace ---------------------------------------------------------------------


def test_registration_skips_what_is_there_and_registers_the_rest(platform, world):
    customs = world[0]
    old = declare(platform, customs)
    new = Declaration(
        number=str(next(_numbers)),
        export_date=dt.date(2026, 11, 2),
        exporter=FIRM_2,
        amount=usd("250.00"),
    )
    result = DocumentRegistry(platform, customs).register_declarations([old, new])
    assert result.documents == 1
    assert result.skipped == ((old.number, SkipReason.ALREADY_REGISTERED),)
    assert Screening(platform).declarations([new.number])[0].face == usd("250.00")


def test_void_and_correct_only_by_the_registrar_and_never_below_held(platform, world):
    customs, bank_a, bank_b, _firm_signers, _regulator = world
    registry = DocumentRegistry(platform, customs)
    d = declare(platform, customs, amount="800.00")
    with pytest.raises(errors.AccessDenied):  # a bank may not void customs' documents
        DocumentRegistry(platform, bank_b.opener).void_declarations([d.number])
    fid = apply(platform, bank_a, FIRM_1, d, "600.00")
    with pytest.raises(errors.WrongState):
        registry.void_declarations([d.number])
    with pytest.raises(errors.InvalidInput):
        registry.correct_face(d.number, usd("599.99"))
    registry.correct_face(d.number, usd("600.00"))
    assert Screening(platform).declarations([d.number])[0].status is DocumentStatus.FULLY_USED
    bank_a.desk(platform, Stage.APPLY).withdraw(fid)
    registry.void_declarations([d.number])
    assert Screening(platform).declarations([d.number])[0].status is DocumentStatus.UNKNOWN
    again = registry.register_declarations([d])
    assert again.documents == 1
