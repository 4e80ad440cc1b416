"""授权查证 and 融资授信银企对接 through the SDK on real nodes: the firm's authorisation is its signed
consent in CREDIT_QUERY; a refused query is recorded on chain and then raised as its typed error;
a credit request goes from the firm's own account through match, accept and grant or decline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crossborder import errors
from crossborder.demo import BANKS, FIRMS, onboard
from crossborder.domain.codes import (
    CreditPurpose,
    CreditScope,
    CreditState,
    DeclineReason,
    QueryOutcome,
    Scenario,
)
from crossborder.domain.money import Money
from crossborder.services import credit_query
from crossborder.services.consortium import (
    open_services,
    revoke_consent,
    sign_consent,
)
from crossborder.services.credit_matching import (
    CreditMatchingDesk,
    Outlet,
    request_credit,
    request_status,
)
from crossborder.services.credit_query import CreditQueryDesk

pytestmark = pytest.mark.integration

FIRM_1, FIRM_2, _ = FIRMS.values()
BANK_A, BANK_B = BANKS.values()
QRY, MATCH = Scenario.CREDIT_QUERY, Scenario.CREDIT_MATCH


def soon(days: int = 30) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


@pytest.fixture(scope="module")
def world(platform, signers):
    """The demo consortium: each bank's opener opens the credit services too, and its credit
    officer holds QUERY and every credit-matching stage."""
    demo = onboard(platform, signers)
    return demo, {demo.banks[name].uscc: officer for name, officer in demo.credit.items()}


def test_authorised_query_and_refusals_are_recorded(platform, world):
    demo, credit = world
    firm, opener = demo.firms[FIRM_1], demo.banks["Bank A"].opener
    desk = CreditQueryDesk(platform, credit[BANK_A])
    # No authorisation yet: refused, recorded, raised.
    with pytest.raises(errors.AuthorisationMissing) as refused:
        desk.record(FIRM_1, CreditScope.TRADE)
    assert refused.value.tx_hash and refused.value.value >= 1
    signed = credit_query.authorise(platform, firm, FIRM_1, BANK_A, soon(), CreditScope.TRADE)
    open_services(platform, opener, [signed])
    assert credit_query.authorisation(platform, FIRM_1, BANK_A)[1] == CreditScope.TRADE
    record = desk.record(FIRM_1, CreditScope.TRADE)
    assert record.outcome == QueryOutcome.AUTHORISED
    assert record.firm == platform.ids.participant(FIRM_1)
    assert record.by.lower() == credit[BANK_A].address.lower()
    assert desk.record(FIRM_1, CreditScope.TRADE).query_id == record.query_id + 1
    with pytest.raises(errors.ScopeNotGranted):
        desk.record(FIRM_1, CreditScope.REGULATORY)
    # Bank B has no authorisation of its own.
    with pytest.raises(errors.AuthorisationMissing):
        CreditQueryDesk(platform, credit[BANK_B]).record(FIRM_1, CreditScope.TRADE)
    # The firm revokes: refused again.
    credit_query.revoke(platform, firm, FIRM_1, BANK_A)
    with pytest.raises(errors.AuthorisationMissing):
        desk.record(FIRM_1, CreditScope.TRADE)
    counts = {
        o: platform.view("CreditQuery", "queries", platform.ids.participant(BANK_A), int(o))[0]
        for o in QueryOutcome
    }
    assert counts[QueryOutcome.AUTHORISED] == 2
    assert counts[QueryOutcome.NOT_AUTHORISED] == 2
    assert counts[QueryOutcome.OUT_OF_SCOPE] == 1


def test_bad_input_is_refused_before_signing(platform, world):
    _demo, credit = world
    desk = CreditQueryDesk(platform, credit[BANK_A])
    before = platform.view("CreditQuery", "query_count")[0]
    for scope in (0, 8, -1):
        with pytest.raises(errors.InvalidInput):
            desk.record(FIRM_1, scope)
    with pytest.raises(errors.InvalidInput):
        desk.record("91350200MA2Y0000X", CreditScope.TRADE)  # bad check character
    assert platform.view("CreditQuery", "query_count")[0] == before


def test_forged_and_replayed_authorisations_are_refused(platform, world):
    demo, credit = world
    opener = demo.banks["Bank B"].opener
    forged = credit_query.authorise(platform, opener, FIRM_2, BANK_B, soon())
    with pytest.raises(errors.ConsentInvalid):
        open_services(platform, opener, [forged])
    signed = credit_query.authorise(platform, demo.firms[FIRM_2], FIRM_2, BANK_B, soon())
    open_services(platform, opener, [signed])
    with pytest.raises(errors.ConsentInvalid):
        open_services(platform, opener, [signed])
    revoked = credit_query.authorise(platform, demo.firms[FIRM_2], FIRM_2, BANK_A, soon())
    revoke_consent(platform, demo.firms[FIRM_2], revoked.consent.nonce)
    with pytest.raises(errors.ConsentInvalid):
        open_services(platform, demo.banks["Bank A"].opener, [revoked])
    desk = CreditQueryDesk(platform, credit[BANK_A])
    assert desk.check(FIRM_2, BANK_A, CreditScope.BASIC) == QueryOutcome.NOT_AUTHORISED
    assert desk.check(FIRM_2, BANK_B, CreditScope.ALL) == QueryOutcome.AUTHORISED


def test_credit_request_match_accept_grant_and_decline(platform, world):
    demo, credit = world
    firm = demo.firms[FIRM_1]
    desk = CreditMatchingDesk(platform, credit[BANK_A])
    outlet = desk.add_outlet(Outlet("厦门湖里支行", 350206, "0592-5550001"))
    amount = Money(Decimal("250000.00"), "USD")
    with pytest.raises(errors.ServiceNotOpened):
        request_credit(platform, firm, BANK_A, amount, CreditPurpose.TRADE_FINANCE, region=350200)
    consent = sign_consent(platform, firm, FIRM_1, BANK_A, MATCH, soon())
    open_services(platform, demo.banks["Bank A"].opener, [consent])
    rid = request_credit(platform, firm, BANK_A, amount, CreditPurpose.TRADE_FINANCE, region=350200)
    assert request_status(platform, rid).state == CreditState.REQUESTED
    desk.match(rid, outlet)
    desk.accept(rid)
    with pytest.raises(errors.InvalidInput):
        desk.grant(rid, Money("250000.01", "USD"), 180)  # more than asked: refused before signing
    with pytest.raises(errors.InvalidInput):
        desk.grant(rid, Money("1000", "EUR"), 180)
    desk.grant(rid, Money("200000", "USD"), 180)
    status = request_status(platform, rid)
    assert (status.state, status.granted, status.term_days, status.outlet_id) == (
        CreditState.GRANTED,
        Money("200000.00", "USD"),
        180,
        outlet,
    )
    assert status.requested_at <= status.matched_at <= status.decided_at
    second = request_credit(platform, firm, BANK_A, amount, CreditPurpose.OTHER, outlet_id=outlet)
    other_bank = CreditMatchingDesk(platform, credit[BANK_B])
    with pytest.raises(errors.OtherBank):
        other_bank.decline(second, DeclineReason.OTHER)
    desk.decline(second, DeclineReason.CREDIT_RISK)
    assert request_status(platform, second).reason == DeclineReason.CREDIT_RISK
    with pytest.raises(errors.UnknownEntity):
        request_status(platform, 10_000)


def test_outlets_belong_to_their_bank(platform, world):
    _demo, credit = world
    desk_a = CreditMatchingDesk(platform, credit[BANK_A])
    outlet = desk_a.add_outlet(Outlet("重庆沙坪坝支行", 500106, "023-1"))
    with pytest.raises(errors.OtherBank):
        CreditMatchingDesk(platform, credit[BANK_B]).close_outlet(outlet)
    with pytest.raises(errors.InvalidInput):
        Outlet("", 500106, "x")
    with pytest.raises(errors.InvalidInput):
        Outlet("n", 50010, "x")
    desk_a.update_outlet(outlet, Outlet("重庆两江支行", 500112, "023-2"))
    desk_a.close_outlet(outlet)
    with pytest.raises(errors.WrongState):
        desk_a.close_outlet(outlet)
