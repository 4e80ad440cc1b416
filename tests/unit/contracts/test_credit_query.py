"""授权查证: the firm's authorisation is its signed consent in the CREDIT_QUERY scenario (the one
EIP-712 mechanism of the consortium); every query is checked against it and recorded, a refused
query counted with its reason instead of reverting."""

from __future__ import annotations

import pytest

from crossborder.domain.codes import CreditScope, QueryOutcome, Stage
from crossborder.errors import (
    ConsentInvalid,
    InvalidInput,
    MissingRole,
    NotAnOperator,
)

from .conftest import (
    FIRM_A,
    FIRM_B,
    RCV,
    consent,
    only_event,
    open_service,
    reverts,
    sign,
)
from .credit import QRY

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ALL = int(CreditScope.ALL)
OK, NONE, EXPIRED, OUT, INACTIVE = (int(o) for o in QueryOutcome)


@pytest.fixture(scope="module")
def cq(project, consortium, regulator, desks):
    return project.CreditQuery.deploy(consortium, sender=regulator)


@pytest.fixture
def firm_key(firm_accounts):
    return firm_accounts[FIRM_A]


def authorise(consortium, desk, firm_key, firm=FIRM_A, **terms):
    """The firm signs an authorisation of `desk`'s bank, its opener submits it."""
    return open_service(consortium, desk.opener, firm_key, firm, desk.id, QRY, **terms)


def query(cq, desk, firm=FIRM_A, scope=ALL) -> int:
    """Records a query by `desk`'s querier; returns the outcome from the logged audit record."""
    tx = cq.record_query(firm, scope, sender=desk.querier)
    return only_event(tx, cq.CreditQueried)["outcome"]


################################################################
#                   AUTHORISED AND REFUSED                     #
################################################################


def test_authorised_query_leaves_an_audit_record(cq, consortium, desk_a, firm_key):
    authorise(consortium, desk_a, firm_key)
    tx = cq.record_query(FIRM_A, int(CreditScope.TRADE), sender=desk_a.querier)
    assert only_event(tx, cq.CreditQueried) == {
        "query_id": 1,
        "bank": desk_a.id,
        "firm": FIRM_A,
        "scope": int(CreditScope.TRADE),
        "outcome": OK,
        "by": desk_a.querier.address,
    }
    assert cq.query_count() == 1
    assert cq.queries(desk_a.id, OK) == 1
    assert cq.queries_by_outcome(OK) == 1
    assert cq.check(FIRM_A, desk_a.id, ALL) == OK


def test_query_without_authorisation_is_refused_and_counted(cq, desk_a):
    """Nothing reverts: the refused query is on chain, counted by bank and reason."""
    assert query(cq, desk_a) == NONE
    assert query(cq, desk_a) == NONE
    assert cq.query_count() == 2
    assert cq.queries(desk_a.id, NONE) == 2
    assert cq.queries(desk_a.id, OK) == 0
    assert cq.queries_by_outcome(NONE) == 2


def test_another_scenarios_consent_does_not_authorise_queries(cq, consortium, desk_a):
    """The fixture's firms opened receivables (scope ALL) with every bank: no query rights."""
    assert consortium.service(FIRM_A, desk_a.id, RCV)[1] == ALL
    assert query(cq, desk_a) == NONE


def test_another_banks_authorisation_does_not_count(cq, consortium, desk_a, desk_b, firm_key):
    authorise(consortium, desk_a, firm_key)
    assert query(cq, desk_b) == NONE
    assert query(cq, desk_a) == OK
    assert (cq.queries(desk_b.id, NONE), cq.queries(desk_a.id, OK)) == (1, 1)


def test_another_firms_authorisation_does_not_count(cq, consortium, desk_a, firm_accounts):
    authorise(consortium, desk_a, firm_accounts[FIRM_B], FIRM_B)
    assert query(cq, desk_a, FIRM_A) == NONE
    assert query(cq, desk_a, FIRM_B) == OK


@pytest.mark.parametrize(
    ("granted", "asked", "outcome"),
    [
        (CreditScope.TRADE, CreditScope.TRADE, OK),
        (CreditScope.TRADE, CreditScope.REGULATORY, OUT),
        (CreditScope.TRADE, CreditScope.TRADE | CreditScope.BASIC, OUT),
        (CreditScope.BASIC | CreditScope.REGULATORY, CreditScope.REGULATORY, OK),
        (CreditScope.ALL, CreditScope.ALL, OK),
        (CreditScope(0), CreditScope.BASIC, OUT),
    ],
)
def test_scope_not_granted_is_refused(cq, consortium, desk_a, firm_key, granted, asked, outcome):
    authorise(consortium, desk_a, firm_key, scope=int(granted))
    assert query(cq, desk_a, scope=int(asked)) == outcome
    assert cq.queries(desk_a.id, outcome) == 1


def test_expired_authorisation_is_refused(cq, consortium, desk_a, firm_key, chain):
    until = chain.pending_timestamp + 1_000
    authorise(consortium, desk_a, firm_key, valid_until=until)
    chain.mine(timestamp=until - 5)
    assert query(cq, desk_a) == OK
    assert cq.check(FIRM_A, desk_a.id, ALL) == OK
    chain.mine(timestamp=until + 10)
    assert query(cq, desk_a) == EXPIRED
    assert (cq.queries(desk_a.id, OK), cq.queries(desk_a.id, EXPIRED)) == (1, 1)


@pytest.mark.parametrize("by", ["firm", "regulator"])
def test_revoked_authorisation_is_refused(cq, consortium, regulator, desk_a, firm_key, by):
    authorise(consortium, desk_a, firm_key)
    assert query(cq, desk_a) == OK
    closer = firm_key if by == "firm" else regulator
    consortium.close_service(FIRM_A, desk_a.id, QRY, sender=closer)
    assert query(cq, desk_a) == NONE


def test_the_bank_cannot_revoke_for_the_firm_nor_reopen_by_replay(cq, consortium, desk_a, firm_key):
    terms = consent(FIRM_A, desk_a.id, QRY)
    signature = sign(terms, firm_key, consortium)
    consortium.open_service(terms.as_tuple(), signature, sender=desk_a.opener)
    with reverts("consortium: only the firm or the regulator may close a service"):
        consortium.close_service(FIRM_A, desk_a.id, QRY, sender=desk_a.opener)
    consortium.close_service(FIRM_A, desk_a.id, QRY, sender=firm_key)
    with reverts("consortium: consent already used or revoked", ConsentInvalid):
        consortium.open_service(terms.as_tuple(), signature, sender=desk_a.opener)
    assert query(cq, desk_a) == NONE


def test_firm_deactivated_is_refused(cq, consortium, regulator, desk_a, firm_key):
    authorise(consortium, desk_a, firm_key)
    consortium.set_active(FIRM_A, False, sender=regulator)
    assert query(cq, desk_a) == INACTIVE
    consortium.set_active(FIRM_A, True, sender=regulator)
    assert query(cq, desk_a) == OK


@pytest.mark.parametrize("scope", [0, 8, 2**32 - 1])
def test_unknown_scope_reverts(cq, desk_a, scope):
    with reverts("credit query: unknown scope", InvalidInput):
        cq.record_query(FIRM_A, scope, sender=desk_a.querier)
    assert cq.query_count() == 0


################################################################
#              THE AUTHORISATION'S SIGNATURE                   #
################################################################


def _refused_then_accepted(cq, consortium, desk, terms, bad: bytes, message: str, good: bytes):
    """`bad` is refused with `message` and authorises nothing; then `good` authorises."""
    with reverts(message, ConsentInvalid):
        consortium.open_service(terms.as_tuple(), bad, sender=desk.opener)
    assert query(cq, desk) == NONE
    consortium.open_service(terms.as_tuple(), good, sender=desk.opener)
    assert query(cq, desk) == OK


def test_replayed_authorisation_is_refused(cq, consortium, desk_a, firm_key):
    terms = consent(FIRM_A, desk_a.id, QRY)
    signature = sign(terms, firm_key, consortium)
    consortium.open_service(terms.as_tuple(), signature, sender=desk_a.opener)
    with reverts("consortium: consent already used or revoked", ConsentInvalid):
        consortium.open_service(terms.as_tuple(), signature, sender=desk_a.opener)


def test_authorisation_revoked_before_submission_is_refused(cq, consortium, desk_a, firm_key):
    terms = consent(FIRM_A, desk_a.id, QRY)
    signature = sign(terms, firm_key, consortium)
    consortium.revoke_consent(terms.nonce, sender=firm_key)
    with reverts("consortium: consent already used or revoked", ConsentInvalid):
        consortium.open_service(terms.as_tuple(), signature, sender=desk_a.opener)
    assert query(cq, desk_a) == NONE


def test_expired_authorisation_cannot_be_submitted(cq, consortium, desk_a, firm_key, chain):
    late = consent(FIRM_A, desk_a.id, QRY, valid_until=chain.pending_timestamp - 1)
    with reverts("consortium: consent expired", ConsentInvalid):
        consortium.open_service(
            late.as_tuple(), sign(late, firm_key, consortium), sender=desk_a.opener
        )
    assert query(cq, desk_a) == NONE


@pytest.mark.parametrize("domain", ["chain id", "verifying contract"])
def test_authorisation_for_another_domain_is_refused(
    cq, consortium, desk_a, firm_key, chain, domain
):
    terms = consent(FIRM_A, desk_a.id, QRY)
    if domain == "chain id":
        bad = sign(terms, firm_key, consortium, chain_id=chain.chain_id + 1)
    else:
        bad = sign(terms, firm_key, consortium, verifying_contract=cq.address)
    good = sign(terms, firm_key, consortium)
    _refused_then_accepted(
        cq, consortium, desk_a, terms, bad, "consortium: consent not signed by the firm", good
    )


def test_malleable_s_is_refused(cq, consortium, desk_a, firm_key):
    terms = consent(FIRM_A, desk_a.id, QRY)
    good = sign(terms, firm_key, consortium)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    _refused_then_accepted(
        cq, consortium, desk_a, terms, twin, "ecdsa: invalid signature `s` value", good
    )


@pytest.mark.parametrize("who", ["the bank's querier", "another firm's account", "outsider"])
def test_signer_not_bound_to_the_firm_is_refused(
    cq, consortium, desk_a, firm_key, firm_accounts, outsider, who
):
    by = {
        "the bank's querier": desk_a.querier,
        "another firm's account": firm_accounts[FIRM_B],
        "outsider": outsider,
    }[who]
    terms = consent(FIRM_A, desk_a.id, QRY)
    _refused_then_accepted(
        cq,
        consortium,
        desk_a,
        terms,
        sign(terms, by, consortium),
        "consortium: consent not signed by the firm",
        sign(terms, firm_key, consortium),
    )


def test_authorisation_naming_another_bank_cannot_be_submitted(
    cq, consortium, desk_a, desk_b, firm_key
):
    terms = consent(FIRM_A, desk_a.id, QRY)
    with reverts("consortium: the consent names another bank"):
        consortium.open_service(
            terms.as_tuple(), sign(terms, firm_key, consortium), sender=desk_b.opener
        )
    assert query(cq, desk_b) == NONE


################################################################
#                      WHO MAY QUERY                           #
################################################################


def test_only_an_operator_with_the_query_stage_records(
    cq, consortium, regulator, desk_a, firm_key, outsider, bank_a
):
    authorise(consortium, desk_a, firm_key)
    with reverts("consortium: account is not an operator", NotAnOperator):
        cq.record_query(FIRM_A, ALL, sender=outsider)
    with reverts("consortium: account is not an operator", NotAnOperator):
        cq.record_query(FIRM_A, ALL, sender=regulator)
    # The firm itself holds no stage; an opener's SERVICE stage does not query.
    for account in (firm_key, desk_a.opener, bank_a.applicant):
        with reverts("consortium: account lacks the role", MissingRole):
            cq.record_query(FIRM_A, ALL, sender=account)
    # QUERY granted in another scenario does not count.
    consortium.set_roles(desk_a.querier, QRY, 0, sender=regulator)
    with reverts("consortium: account lacks the role", MissingRole):
        cq.record_query(FIRM_A, ALL, sender=desk_a.querier)
    assert cq.query_count() == 0
    consortium.set_roles(desk_a.querier, QRY, Stage.QUERY, sender=regulator)
    assert query(cq, desk_a) == OK


def test_a_deactivated_banks_querier_is_stopped(cq, consortium, regulator, desk_a, firm_key):
    authorise(consortium, desk_a, firm_key)
    consortium.set_active(desk_a.id, False, sender=regulator)
    with reverts("consortium: participant is deactivated"):
        cq.record_query(FIRM_A, ALL, sender=desk_a.querier)


def test_queries_are_counted_per_bank_and_outcome(cq, consortium, desk_a, desk_b, firm_key):
    authorise(consortium, desk_a, firm_key, scope=int(CreditScope.BASIC))
    outcomes = [
        query(cq, desk_a, scope=int(CreditScope.BASIC)),
        query(cq, desk_a, scope=int(CreditScope.TRADE)),
        query(cq, desk_b),
        query(cq, desk_a, FIRM_B),
    ]
    assert outcomes == [OK, OUT, NONE, NONE]
    assert [cq.queries(desk_a.id, o) for o in (OK, NONE, OUT)] == [1, 1, 1]
    assert cq.queries(desk_b.id, NONE) == 1
    assert sum(cq.queries_by_outcome(o) for o in QueryOutcome) == cq.query_count() == 4
