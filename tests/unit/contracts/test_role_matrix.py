"""Role x function matrix: an operator holding only role R may call F iff R is F's role.

One module-scoped fixture puts one financing in the state each stage needs; each test then grants
one role (one transaction) and makes one call, and ape reverts the test's changes afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from crossborder.domain.codes import (
    BANK_ROLES,
    FinancingState,
    ParticipantKind,
    Role,
    Scenario,
)
from crossborder.errors import MissingRole, NotAnOperator, OtherBank

from .conftest import (
    CUSTOMS,
    FIRM_A,
    ISSUED,
    USD,
    ZERO,
    advance,
    apply,
    events,
    fp,
    register,
    reverts,
)

FIRM_M = fp("firm-matrix")
FREE_DOC = fp("matrix-free")
NEW_DOC = fp("matrix-new")


@dataclass
class Matrix:
    bank_op: Any  # bound to bank A, no roles until a test grants one
    customs_op: Any  # bound to customs, no roles until a test grants one
    ids: dict[FinancingState, int]


@pytest.fixture(scope="module")
def matrix(
    consortium, ledger, receivables, regulator, customs_op, accounts, bank_a, bank_b, outsider
):
    states = (
        FinancingState.APPLIED,
        FinancingState.ACCEPTED,
        FinancingState.APPROVED,
        FinancingState.DISBURSED,
    )
    docs = [(fp(f"matrix-{state.name}"), FIRM_A, 10_000, USD) for state in states]
    register(ledger, customs_op, [*docs, (FREE_DOC, FIRM_A, 10_000, USD)])
    ids = {}
    for state, doc in zip(states, docs, strict=True):
        ids[state] = apply(receivables, bank_a, FIRM_A, [doc[0]], [5_000])
        advance(receivables, bank_a, ids[state], state)
    consortium.onboard(FIRM_M, int(ParticipantKind.ENTERPRISE), ZERO, sender=regulator)
    bank_op, data_op = accounts[2], accounts[3]
    consortium.add_operator(bank_op, bank_a.id, 0, sender=regulator)
    consortium.add_operator(data_op, CUSTOMS, 0, sender=regulator)
    return Matrix(bank_op, data_op, ids)


def _call(name: str, receivables, ledger, consortium, m: Matrix, sender):
    ids = m.ids
    if name == "apply":
        return receivables.apply(FIRM_A, USD, [FREE_DOC], [100], sender=sender)
    if name == "accept":
        return receivables.accept(ids[FinancingState.APPLIED], sender=sender)
    if name == "review":
        return receivables.review(ids[FinancingState.ACCEPTED], True, sender=sender)
    if name == "withdraw":
        return receivables.withdraw(ids[FinancingState.APPLIED], sender=sender)
    if name == "register_disbursement":
        return receivables.register_disbursement(
            ids[FinancingState.APPROVED], 1_000, ISSUED, ISSUED + 30, sender=sender
        )
    if name == "register_repayment":
        return receivables.register_repayment(ids[FinancingState.DISBURSED], 1, sender=sender)
    if name == "ledger.register":
        return register(ledger, sender, [(NEW_DOC, FIRM_A, 1, USD)])
    if name == "set_service(receivables)":
        return consortium.set_service(FIRM_M, Scenario.RECEIVABLES, True, sender=sender)
    assert name == "set_service(credit matching)"
    return consortium.set_service(FIRM_M, Scenario.CREDIT_MATCH, True, sender=sender)


FUNCTION_ROLES = {
    "apply": Role.RCV_APPLY,
    "accept": Role.RCV_ACCEPT,
    "review": Role.RCV_REVIEW,
    "withdraw": Role.RCV_APPLY,
    "register_disbursement": Role.RCV_DISBURSE,
    "register_repayment": Role.RCV_REPAY,
    "ledger.register": Role.DOC_REGISTER,
    "set_service(receivables)": Role.RCV_SERVICE,
    "set_service(credit matching)": Role.CM_SERVICE,
}


def _took_effect(name: str, tx, receivables, ledger, consortium, m: Matrix) -> None:
    ids = m.ids
    if name == "apply":
        assert len(events(tx, receivables.FinancingApplied)) == 1
    elif name == "accept":
        assert receivables.financing(ids[FinancingState.APPLIED]).state == FinancingState.ACCEPTED
    elif name == "review":
        assert receivables.financing(ids[FinancingState.ACCEPTED]).state == FinancingState.APPROVED
    elif name == "withdraw":
        assert receivables.financing(ids[FinancingState.APPLIED]).state == FinancingState.WITHDRAWN
    elif name == "register_disbursement":
        assert receivables.financing(ids[FinancingState.APPROVED]).disbursed == 1_000
    elif name == "register_repayment":
        assert receivables.financing(ids[FinancingState.DISBURSED]).repaid == 1
    elif name == "ledger.register":
        assert ledger.document(NEW_DOC)[0] == 1
    else:
        scenario = Scenario.RECEIVABLES if "receivables" in name else Scenario.CREDIT_MATCH
        assert consortium.is_service_opened(FIRM_M, consortium.participant_of(tx.sender), scenario)


def _actor(consortium, regulator, m: Matrix, roles: int):
    """The matrix operator of the institution kind that may hold `roles`, granted exactly them."""
    actor = m.customs_op if roles == Role.DOC_REGISTER else m.bank_op
    consortium.set_roles(actor, int(roles), sender=regulator)
    return actor


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.name)
@pytest.mark.parametrize("function", list(FUNCTION_ROLES))
def test_only_the_functions_role_may_call_it(
    consortium, ledger, receivables, regulator, matrix, function, role
):
    actor = _actor(consortium, regulator, matrix, role)
    if role == FUNCTION_ROLES[function]:
        tx = _call(function, receivables, ledger, consortium, matrix, actor)
        _took_effect(function, tx, receivables, ledger, consortium, matrix)
    else:
        with reverts("consortium: account lacks the role", MissingRole):
            _call(function, receivables, ledger, consortium, matrix, actor)


@pytest.mark.parametrize("function", list(FUNCTION_ROLES))
def test_every_other_role_together_is_not_enough(
    consortium, ledger, receivables, regulator, matrix, function
):
    """No combination of the other roles stands in for the function's own role."""
    needed = FUNCTION_ROLES[function]
    for roles in (0, int(BANK_ROLES) & ~int(needed)):
        actor = _actor(consortium, regulator, matrix, roles)
        with reverts("consortium: account lacks the role", MissingRole):
            _call(function, receivables, ledger, consortium, matrix, actor)


@pytest.mark.parametrize("function", list(FUNCTION_ROLES))
def test_non_operator_is_refused(consortium, ledger, receivables, matrix, outsider, function):
    with reverts("consortium: account is not an operator", NotAnOperator):
        _call(function, receivables, ledger, consortium, matrix, outsider)


_STAGE_OPERATOR = {
    "accept": "acceptor",
    "review": "reviewer",
    "withdraw": "applicant",
    "register_disbursement": "disburser",
    "register_repayment": "repayer",
}


@pytest.mark.parametrize("function", list(_STAGE_OPERATOR))
def test_other_banks_operator_cannot_act_on_the_financing(
    consortium, ledger, receivables, matrix, bank_a, bank_b, function
):
    """An account acts only within its own institution: bank B's operator, holding the stage's
    role, cannot touch bank A's financing; bank A's own operator can."""
    role = _STAGE_OPERATOR[function]
    with reverts("financing: operator belongs to another bank", OtherBank):
        _call(function, receivables, ledger, consortium, matrix, getattr(bank_b, role))
    tx = _call(function, receivables, ledger, consortium, matrix, getattr(bank_a, role))
    _took_effect(function, tx, receivables, ledger, consortium, matrix)


def test_matrix_covers_every_receivables_stage(receivables):
    """The matrix above must grow with the contract: every state-changing function is in it."""
    mutable = {abi.name for abi in receivables.contract_type.mutable_methods}
    assert mutable == {name for name in FUNCTION_ROLES if "." not in name and "(" not in name}
