"""融资授信银企对接: outlets kept by each bank, a firm's request from its own account with the
credit service opened, then match, accept and grant or decline by the bank that was asked."""

from __future__ import annotations

import pytest

from crossborder.domain.codes import CreditPurpose, CreditState, DeclineReason
from crossborder.errors import InvalidInput, OtherBank, ServiceNotOpened, UnknownEntity, WrongState

from .conftest import FIRM_A, FIRM_B, USD, events, only_event, open_service, reverts
from .credit import MATCH, OTHER_REGION, REGION

NOT_OPENED = "credit matching: caller's firm has not opened the credit service with this bank"
WORKING = int(CreditPurpose.WORKING_CAPITAL)


@pytest.fixture(scope="module")
def cm(project, consortium, regulator, desks, firm_accounts):
    """The contract; FIRM_A has opened the credit service with bank A only."""
    open_service(consortium, desks[0].opener, firm_accounts[FIRM_A], FIRM_A, desks[0].id, MATCH)
    return project.CreditMatching.deploy(consortium, sender=regulator)


@pytest.fixture(scope="module")
def applicant_firm(firm_accounts):
    return firm_accounts[FIRM_A]


def add_outlet(cm, desk, name="西安高新支行", region=REGION, contact="029-8888-0001") -> int:
    tx = cm.add_outlet(name, region, contact, sender=desk.keeper)
    return only_event(tx, cm.OutletUpdated)["outlet_id"]


def request(cm, desk, applicant_firm, amount=1_000_000, outlet=0, region=REGION) -> int:
    tx = cm.request_credit(desk.id, amount, USD, WORKING, outlet, region, sender=applicant_firm)
    return only_event(tx, cm.CreditRequested)["request_id"]


def state(cm, request_id) -> CreditState:
    return CreditState(cm.requests(request_id).state)


################################################################
#                           OUTLETS                            #
################################################################


def test_outlets_added_updated_closed_with_events(cm, desk_a):
    tx = cm.add_outlet("西安高新支行", REGION, "029-8888-0001", sender=desk_a.keeper)
    assert only_event(tx, cm.OutletUpdated) == {
        "outlet_id": 1,
        "bank": desk_a.id,
        "name": "西安高新支行",
        "region": REGION,
        "contact": "029-8888-0001",
        "open": True,
        "by": desk_a.keeper.address,
    }
    tx = cm.update_outlet(1, "西安曲江支行", OTHER_REGION, "029-1", sender=desk_a.keeper)
    assert only_event(tx, cm.OutletUpdated)["region"] == OTHER_REGION
    assert cm.outlets(1).region == OTHER_REGION
    tx = cm.close_outlet(1, sender=desk_a.keeper)
    assert only_event(tx, cm.OutletUpdated)["open"] is False
    assert not cm.outlets(1).open
    with reverts("credit matching: outlet is closed", WrongState):
        cm.close_outlet(1, sender=desk_a.keeper)
    with reverts("credit matching: outlet is closed", WrongState):
        cm.update_outlet(1, "x", REGION, "y", sender=desk_a.keeper)


@pytest.mark.parametrize(
    ("name", "region", "contact", "message"),
    [
        ("", REGION, "c", "credit matching: outlet name and contact are required"),
        ("n", REGION, "", "credit matching: outlet name and contact are required"),
        ("n", 99_999, "c", "credit matching: region must be a six-digit code"),
        ("n", 1_000_000, "c", "credit matching: region must be a six-digit code"),
    ],
)
def test_outlet_input_is_checked(cm, desk_a, name, region, contact, message):
    with reverts(message, InvalidInput):
        cm.add_outlet(name, region, contact, sender=desk_a.keeper)
    assert cm.outlet_count() == 0


def test_another_bank_cannot_touch_an_outlet(cm, desk_a, desk_b):
    outlet = add_outlet(cm, desk_a)
    with reverts("credit matching: outlet belongs to another bank", OtherBank):
        cm.update_outlet(outlet, "taken", REGION, "x", sender=desk_b.keeper)
    with reverts("credit matching: outlet belongs to another bank", OtherBank):
        cm.close_outlet(outlet, sender=desk_b.keeper)
    with reverts("credit matching: unknown outlet", UnknownEntity):
        cm.close_outlet(99, sender=desk_a.keeper)
    assert cm.outlets(outlet).open


################################################################
#                      THE FIRM'S REQUEST                      #
################################################################


def test_firm_requests_credit_with_its_own_account(cm, desk_a, applicant_firm):
    outlet = add_outlet(cm, desk_a, region=OTHER_REGION)
    tx = cm.request_credit(desk_a.id, 5_000_00, USD, WORKING, outlet, 0, sender=applicant_firm)
    assert only_event(tx, cm.CreditRequested) == {
        "request_id": 1,
        "firm": FIRM_A,
        "bank": desk_a.id,
        "amount": 5_000_00,
        "currency": USD,
        "purpose": WORKING,
        "outlet_id": outlet,
        "region": OTHER_REGION,  # the preferred outlet's region
        "by": applicant_firm.address,
    }
    record = cm.requests(1)
    assert (record.firm, record.state, record.requested_at > 0) == (FIRM_A, 1, True)


def test_request_needs_the_credit_service_opened_with_that_bank(
    cm, consortium, desk_a, desk_b, applicant_firm, firm_accounts, outsider, regulator
):
    with reverts(NOT_OPENED, ServiceNotOpened):
        request(cm, desk_b, applicant_firm)  # not opened with bank B
    with reverts(NOT_OPENED, ServiceNotOpened):
        request(cm, desk_a, firm_accounts[FIRM_B])  # firm B opened nothing in this scenario
    for account in (outsider, desk_a.keeper, desk_a.opener):  # not a firm's account
        with reverts(NOT_OPENED, ServiceNotOpened):
            request(cm, desk_a, account)
    request(cm, desk_a, applicant_firm)
    consortium.close_service(FIRM_A, desk_a.id, MATCH, sender=applicant_firm)
    with reverts(NOT_OPENED, ServiceNotOpened):
        request(cm, desk_a, applicant_firm)
    assert cm.request_count() == 1


@pytest.mark.parametrize(
    ("amount", "currency", "purpose", "region", "message"),
    [
        (0, USD, WORKING, REGION, "credit matching: amount must be positive"),
        (1, 0, WORKING, REGION, "credit matching: invalid currency"),
        (1, 1000, WORKING, REGION, "credit matching: invalid currency"),
        (1, USD, 0, REGION, "credit matching: unknown purpose"),
        (1, USD, 5, REGION, "credit matching: unknown purpose"),
        (1, USD, WORKING, 0, "credit matching: name an outlet or a six-digit region code"),
    ],
)
def test_request_input_is_checked(
    cm, desk_a, applicant_firm, amount, currency, purpose, region, message
):
    with reverts(message, InvalidInput):
        cm.request_credit(desk_a.id, amount, currency, purpose, 0, region, sender=applicant_firm)


def test_preferred_outlet_must_be_an_open_outlet_of_that_bank(cm, desk_a, desk_b, applicant_firm):
    theirs = add_outlet(cm, desk_b)
    with reverts("credit matching: outlet belongs to another bank", OtherBank):
        request(cm, desk_a, applicant_firm, outlet=theirs)
    ours = add_outlet(cm, desk_a)
    cm.close_outlet(ours, sender=desk_a.keeper)
    with reverts("credit matching: outlet is closed", WrongState):
        request(cm, desk_a, applicant_firm, outlet=ours)
    with reverts("credit matching: unknown outlet", UnknownEntity):
        request(cm, desk_a, applicant_firm, outlet=99)


################################################################
#                  MATCH, ACCEPT, GRANT, DECLINE               #
################################################################


def test_match_accept_grant(cm, desk_a, applicant_firm, chain):
    outlet = add_outlet(cm, desk_a)
    rid = request(cm, desk_a, applicant_firm, amount=1_000_000)
    tx = cm.match_request(rid, outlet, sender=desk_a.matcher)
    assert only_event(tx, cm.CreditRequestUpdated) == {
        "request_id": rid,
        "bank": desk_a.id,
        "outlet_id": outlet,
        "state": int(CreditState.MATCHED),
        "amount": 0,
        "term_days": 0,
        "reason": 0,
        "by": desk_a.matcher.address,
    }
    cm.accept(rid, sender=desk_a.acceptor)
    assert state(cm, rid) == CreditState.ACCEPTED
    with reverts(
        "credit matching: grant must be positive and at most the amount asked", InvalidInput
    ):
        cm.grant(rid, 1_000_001, 180, sender=desk_a.acceptor)
    with reverts("credit matching: term must be positive", InvalidInput):
        cm.grant(rid, 800_000, 0, sender=desk_a.acceptor)
    tx = cm.grant(rid, 800_000, 180, sender=desk_a.acceptor)
    logged = only_event(tx, cm.CreditRequestUpdated)
    assert (logged["state"], logged["amount"], logged["term_days"]) == (4, 800_000, 180)
    record = cm.requests(rid)
    assert (record.granted, record.term_days, record.outlet_id) == (800_000, 180, outlet)
    assert record.requested_at <= record.matched_at <= record.decided_at


@pytest.mark.parametrize("at", [CreditState.REQUESTED, CreditState.MATCHED, CreditState.ACCEPTED])
def test_decline_with_a_reason_before_a_decision(cm, desk_a, applicant_firm, at):
    outlet = add_outlet(cm, desk_a)
    rid = request(cm, desk_a, applicant_firm)
    if at >= CreditState.MATCHED:
        cm.match_request(rid, outlet, sender=desk_a.matcher)
    if at >= CreditState.ACCEPTED:
        cm.accept(rid, sender=desk_a.acceptor)
    for reason in (0, max(DeclineReason) + 1):
        with reverts("credit matching: unknown decline reason", InvalidInput):
            cm.decline(rid, reason, sender=desk_a.acceptor)
    tx = cm.decline(rid, int(DeclineReason.CREDIT_RISK), sender=desk_a.acceptor)
    assert only_event(tx, cm.CreditRequestUpdated)["reason"] == DeclineReason.CREDIT_RISK
    assert state(cm, rid) == CreditState.DECLINED
    with reverts("credit matching: request not in the required state", WrongState):
        cm.decline(rid, int(DeclineReason.OTHER), sender=desk_a.acceptor)


def test_steps_in_order_only(cm, desk_a, applicant_firm):
    outlet = add_outlet(cm, desk_a)
    rid = request(cm, desk_a, applicant_firm)
    wrong = "credit matching: request not in the required state"
    with reverts(wrong, WrongState):
        cm.accept(rid, sender=desk_a.acceptor)
    with reverts(wrong, WrongState):
        cm.grant(rid, 1, 1, sender=desk_a.acceptor)
    cm.match_request(rid, outlet, sender=desk_a.matcher)
    with reverts(wrong, WrongState):
        cm.match_request(rid, outlet, sender=desk_a.matcher)
    cm.accept(rid, sender=desk_a.acceptor)
    cm.grant(rid, 1, 1, sender=desk_a.acceptor)
    for call in (
        lambda: cm.grant(rid, 1, 1, sender=desk_a.acceptor),
        lambda: cm.decline(rid, 1, sender=desk_a.acceptor),
        lambda: cm.accept(rid, sender=desk_a.acceptor),
    ):
        with reverts(wrong, WrongState):
            call()
    with reverts("credit matching: unknown request", UnknownEntity):
        cm.accept(99, sender=desk_a.acceptor)


def test_match_needs_an_open_outlet_of_the_bank(cm, desk_a, desk_b, applicant_firm):
    rid = request(cm, desk_a, applicant_firm)
    theirs = add_outlet(cm, desk_b)
    with reverts("credit matching: outlet belongs to another bank", OtherBank):
        cm.match_request(rid, theirs, sender=desk_a.matcher)
    ours = add_outlet(cm, desk_a)
    cm.close_outlet(ours, sender=desk_a.keeper)
    with reverts("credit matching: outlet is closed", WrongState):
        cm.match_request(rid, ours, sender=desk_a.matcher)
    assert state(cm, rid) == CreditState.REQUESTED


def test_another_bank_cannot_act_on_the_request(cm, desk_a, desk_b, applicant_firm):
    """Bank B's operators, holding every stage, cannot match, accept, grant or decline a
    request the firm made to bank A, not even with bank B's own outlet."""
    outlet_b = add_outlet(cm, desk_b)
    rid = request(cm, desk_a, applicant_firm)
    other = "credit matching: request belongs to another bank"
    with reverts(other, OtherBank):
        cm.match_request(rid, outlet_b, sender=desk_b.matcher)
    cm.match_request(rid, add_outlet(cm, desk_a), sender=desk_a.matcher)
    with reverts(other, OtherBank):
        cm.accept(rid, sender=desk_b.acceptor)
    cm.accept(rid, sender=desk_a.acceptor)
    with reverts(other, OtherBank):
        cm.grant(rid, 1, 1, sender=desk_b.acceptor)
    with reverts(other, OtherBank):
        cm.decline(rid, 1, sender=desk_b.acceptor)
    assert state(cm, rid) == CreditState.ACCEPTED


def test_the_firm_cannot_drive_its_own_request(cm, desk_a, applicant_firm):
    outlet = add_outlet(cm, desk_a)
    rid = request(cm, desk_a, applicant_firm)
    with reverts("consortium: account lacks the role"):
        cm.match_request(rid, outlet, sender=applicant_firm)
    with reverts("consortium: account lacks the role"):
        cm.add_outlet("mine", REGION, "x", sender=applicant_firm)
    assert state(cm, rid) == CreditState.REQUESTED


def test_no_firm_identifier_in_clear(cm, desk_a, applicant_firm):
    """Only the keyed fingerprint: the logs of a whole request carry no plaintext firm id."""
    outlet = add_outlet(cm, desk_a)
    txs = [cm.request_credit(desk_a.id, 10, USD, WORKING, outlet, 0, sender=applicant_firm)]
    rid = events(txs[0], cm.CreditRequested)[0]["request_id"]
    txs.append(cm.match_request(rid, outlet, sender=desk_a.matcher))
    for tx in txs:
        for log in tx.logs:
            assert b"firm-a" not in bytes.fromhex(log["data"].hex().removeprefix("0x"))
