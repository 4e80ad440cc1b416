"""Consortium: onboarding, operators and their roles, deactivation, service opening, ownership."""

from __future__ import annotations

import pytest
from eth_tester.exceptions import TransactionFailed as EthTesterTransactionFailed
from eth_utils import function_signature_to_4byte_selector

from crossborder.domain.codes import BANK_ROLES, ParticipantKind, Role, Scenario
from crossborder.errors import (
    Conflict,
    InvalidInput,
    MissingRole,
    NotAnOperator,
    NotRegulator,
    ParticipantDeactivated,
    UnknownEntity,
)

from .conftest import FIRM_A, ZERO, events, fp, only_event, reverts

ZERO_ADDRESS = "0x" + "00" * 20
NEW = fp("new-participant")
DATA_PROVIDERS = (
    ParticipantKind.INSURER,
    ParticipantKind.CUSTOMS,
    ParticipantKind.TAX,
    ParticipantKind.LOGISTICS,
)


@pytest.fixture
def op(accounts):
    """A fresh, unbound account."""
    return accounts[2]


@pytest.fixture
def other(accounts):
    return accounts[3]


def _onboard(consortium, regulator, participant, kind, parent=ZERO):
    return consortium.onboard(participant, int(kind), parent, sender=regulator)


################################################################
#                          ONBOARDING                          #
################################################################


@pytest.mark.parametrize("kind", list(ParticipantKind))
def test_onboard_each_kind(consortium, regulator, kind):
    assert consortium.participant(NEW) == (0, False, ZERO)

    tx = _onboard(consortium, regulator, NEW, kind)

    assert consortium.participant(NEW) == (kind, True, ZERO)
    assert consortium.parent_of(NEW) == ZERO
    assert only_event(tx, consortium.ParticipantOnboarded) == {
        "participant": NEW,
        "kind": kind,
        "parent": ZERO,
        "by": regulator.address,
    }


@pytest.mark.parametrize("kind", [0, max(ParticipantKind) + 1, 255])
def test_onboard_unknown_kind_reverts(consortium, regulator, kind):
    with reverts("consortium: unknown participant kind", InvalidInput):
        _onboard(consortium, regulator, NEW, kind)
    assert consortium.participant(NEW) == (0, False, ZERO)


def test_onboard_twice_reverts(consortium, regulator):
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    for kind in (ParticipantKind.BANK, ParticipantKind.ENTERPRISE):
        with reverts("consortium: participant already onboarded", Conflict):
            _onboard(consortium, regulator, NEW, kind)
    assert consortium.participant(NEW) == (ParticipantKind.BANK, True, ZERO)


def test_onboard_empty_id_reverts(consortium, regulator):
    with reverts("consortium: empty participant id", InvalidInput):
        _onboard(consortium, regulator, ZERO, ParticipantKind.BANK)


@pytest.mark.parametrize("kind", [ParticipantKind.BANK, ParticipantKind.REGULATOR])
def test_branch_points_to_its_institution(consortium, regulator, kind):
    head, branch = fp("head"), fp("branch")
    _onboard(consortium, regulator, head, kind)

    tx = _onboard(consortium, regulator, branch, kind, head)

    assert consortium.participant(branch) == (kind, True, head)
    assert consortium.parent_of(branch) == head
    assert only_event(tx, consortium.ParticipantOnboarded)["parent"] == head


def test_deactivating_the_institution_stops_its_branches(consortium, regulator, accounts):
    head, branch = fp("head-office"), fp("branch-office")
    _onboard(consortium, regulator, head, ParticipantKind.BANK)
    _onboard(consortium, regulator, branch, ParticipantKind.BANK, head)
    teller = accounts[29]
    consortium.add_operator(teller, branch, int(Role.RCV_APPLY), sender=regulator)
    assert consortium.authorize(teller, int(Role.RCV_APPLY))[0] == branch

    consortium.set_active(head, False, sender=regulator)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        consortium.authorize(teller, int(Role.RCV_APPLY))

    consortium.set_active(head, True, sender=regulator)
    assert consortium.authorize(teller, int(Role.RCV_APPLY))[0] == branch


def test_branch_of_wrong_kind_or_unknown_parent_reverts(consortium, regulator):
    head = fp("head")
    _onboard(consortium, regulator, head, ParticipantKind.BANK)
    message = "consortium: parent must be onboarded with the same kind"
    with reverts(message, InvalidInput):
        _onboard(consortium, regulator, NEW, ParticipantKind.ENTERPRISE, head)
    with reverts(message, InvalidInput):
        _onboard(consortium, regulator, NEW, ParticipantKind.BANK, fp("never-onboarded"))
    assert consortium.participant(NEW) == (0, False, ZERO)


################################################################
#                          OPERATORS                           #
################################################################


def test_add_operator_binds_account_with_roles(consortium, regulator, op):
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    roles = int(Role.RCV_APPLY | Role.RCV_REPAY)

    tx = consortium.add_operator(op, NEW, roles, sender=regulator)

    assert consortium.participant_of(op) == NEW
    assert consortium.roles_of(op) == roles
    assert consortium.authorize(op, int(Role.RCV_APPLY)) == (NEW, ParticipantKind.BANK)
    assert consortium.authorize(op, roles) == (NEW, ParticipantKind.BANK)
    assert only_event(tx, consortium.OperatorAdded) == {
        "account": op.address,
        "participant": NEW,
        "by": regulator.address,
    }
    assert only_event(tx, consortium.RolesUpdated) == {
        "account": op.address,
        "participant": NEW,
        "roles": roles,
        "by": regulator.address,
    }


def test_account_is_bound_once(consortium, regulator, op, bank_a):
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    consortium.add_operator(op, NEW, 0, sender=regulator)
    for participant in (NEW, bank_a.id):
        with reverts("consortium: account is already an operator", Conflict):
            consortium.add_operator(op, participant, int(Role.RCV_APPLY), sender=regulator)
    assert consortium.participant_of(op) == NEW
    assert consortium.roles_of(op) == 0


def test_add_operator_to_unknown_participant_or_empty_account_reverts(consortium, regulator, op):
    with reverts("consortium: unknown participant", UnknownEntity):
        consortium.add_operator(op, NEW, 0, sender=regulator)
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    with reverts("consortium: empty account", InvalidInput):
        consortium.add_operator(ZERO_ADDRESS, NEW, 0, sender=regulator)
    assert consortium.participant_of(op) == ZERO


def _allowed_roles(kind: ParticipantKind) -> int:
    if kind == ParticipantKind.BANK:
        return int(BANK_ROLES)
    if kind in DATA_PROVIDERS:
        return int(Role.DOC_REGISTER)
    return 0


def test_roles_allowed_per_kind(consortium, regulator, accounts):
    """Bank roles only to banks, DOC_REGISTER only to data providers, nothing to others."""
    for i, kind in enumerate(ParticipantKind):
        participant = fp(f"kind-{kind.name}")
        _onboard(consortium, regulator, participant, kind)
        account = accounts[22 + i]
        consortium.add_operator(account, participant, 0, sender=regulator)
        allowed = _allowed_roles(kind)
        for role in Role:
            if role & allowed:
                tx = consortium.set_roles(account, int(role), sender=regulator)
                assert only_event(tx, consortium.RolesUpdated)["roles"] == role
                assert consortium.roles_of(account) == role
            else:
                with reverts(
                    "consortium: role not allowed for this kind of participant", InvalidInput
                ):
                    consortium.set_roles(account, int(role), sender=regulator)
        if allowed:  # all allowed roles at once
            consortium.set_roles(account, allowed, sender=regulator)
            assert consortium.roles_of(account) == allowed


@pytest.mark.parametrize("bit", [7, 13, 31, 33, 255])
def test_undefined_role_bits_are_refused(consortium, regulator, bank_a, bit):
    with reverts("consortium: role not allowed for this kind of participant", InvalidInput):
        consortium.set_roles(bank_a.applicant, int(Role.RCV_APPLY) | (1 << bit), sender=regulator)
    assert consortium.roles_of(bank_a.applicant) == Role.RCV_APPLY


@pytest.mark.parametrize(
    ("kind", "roles"),
    [
        (ParticipantKind.BANK, Role.DOC_REGISTER),
        (ParticipantKind.CUSTOMS, Role.RCV_APPLY),
        (ParticipantKind.ENTERPRISE, Role.RCV_APPLY),
        (ParticipantKind.REGULATOR, Role.DOC_REGISTER),
    ],
)
def test_add_operator_with_disallowed_roles_binds_nothing(consortium, regulator, op, kind, roles):
    _onboard(consortium, regulator, NEW, kind)
    with reverts("consortium: role not allowed for this kind of participant", InvalidInput):
        consortium.add_operator(op, NEW, int(roles), sender=regulator)
    assert consortium.participant_of(op) == ZERO
    consortium.add_operator(op, NEW, 0, sender=regulator)  # with no roles it binds
    assert consortium.participant_of(op) == NEW


def test_set_roles_replaces_the_roles(consortium, regulator, bank_a):
    account = bank_a.applicant
    tx = consortium.set_roles(account, int(Role.RCV_ACCEPT), sender=regulator)

    assert only_event(tx, consortium.RolesUpdated) == {
        "account": account.address,
        "participant": bank_a.id,
        "roles": Role.RCV_ACCEPT,
        "by": regulator.address,
    }
    assert consortium.authorize(account, int(Role.RCV_ACCEPT)) == (bank_a.id, ParticipantKind.BANK)
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, int(Role.RCV_APPLY))


def test_revoke_all_roles_keeps_the_binding(consortium, regulator, bank_a):
    account = bank_a.applicant
    assert consortium.authorize(account, int(Role.RCV_APPLY))[0] == bank_a.id

    consortium.set_roles(account, 0, sender=regulator)

    assert consortium.roles_of(account) == 0
    assert consortium.participant_of(account) == bank_a.id
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, int(Role.RCV_APPLY))
    with reverts("consortium: account is already an operator", Conflict):
        consortium.add_operator(account, bank_a.id, int(Role.RCV_APPLY), sender=regulator)


def test_set_roles_of_a_non_operator_reverts(consortium, regulator, outsider):
    with reverts("consortium: account is not an operator", NotAnOperator):
        consortium.set_roles(outsider, 0, sender=regulator)


def test_authorize_needs_every_bit_and_a_nonzero_role(consortium, regulator, bank_a):
    account = bank_a.applicant
    both = int(Role.RCV_APPLY | Role.RCV_ACCEPT)
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, both)
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, 0)
    consortium.set_roles(account, both, sender=regulator)
    assert consortium.authorize(account, both) == (bank_a.id, ParticipantKind.BANK)


def test_authorize_a_non_operator_reverts(consortium, outsider):
    with reverts("consortium: account is not an operator", NotAnOperator):
        consortium.authorize(outsider, int(Role.RCV_APPLY))


################################################################
#                         DEACTIVATION                         #
################################################################


def test_deactivation_stops_every_account_and_reactivation_restores(
    consortium, regulator, bank_a, bank_b
):
    operators = [
        (bank_a.applicant, Role.RCV_APPLY),
        (bank_a.acceptor, Role.RCV_ACCEPT),
        (bank_a.reviewer, Role.RCV_REVIEW),
        (bank_a.disburser, Role.RCV_DISBURSE),
        (bank_a.repayer, Role.RCV_REPAY),
        (bank_a.opener, Role.RCV_SERVICE),
    ]
    tx = consortium.set_active(bank_a.id, False, sender=regulator)

    assert only_event(tx, consortium.ParticipantStatusUpdated) == {
        "participant": bank_a.id,
        "active": False,
        "by": regulator.address,
    }
    assert consortium.participant(bank_a.id) == (ParticipantKind.BANK, False, ZERO)
    for account, role in operators:
        with reverts("consortium: participant is deactivated", ParticipantDeactivated):
            consortium.authorize(account, int(role))
    assert consortium.authorize(bank_b.applicant, int(Role.RCV_APPLY))[0] == bank_b.id

    tx = consortium.set_active(bank_a.id, True, sender=regulator)

    assert only_event(tx, consortium.ParticipantStatusUpdated)["active"] is True
    assert consortium.participant(bank_a.id) == (ParticipantKind.BANK, True, ZERO)
    for account, role in operators:
        assert consortium.authorize(account, int(role)) == (bank_a.id, ParticipantKind.BANK)


def test_set_active_of_unknown_participant_reverts(consortium, regulator):
    with reverts("consortium: unknown participant", UnknownEntity):
        consortium.set_active(NEW, True, sender=regulator)


################################################################
#                       SERVICE OPENING                        #
################################################################


@pytest.fixture
def firm(consortium, regulator):
    """An enterprise with no service opened anywhere."""
    _onboard(consortium, regulator, NEW, ParticipantKind.ENTERPRISE)
    return NEW


def test_service_is_opened_per_bank(consortium, bank_a, bank_b, firm):
    rcv = Scenario.RECEIVABLES
    tx = consortium.set_service(firm, rcv, True, sender=bank_b.opener)

    assert only_event(tx, consortium.ServiceUpdated) == {
        "firm": firm,
        "bank": bank_b.id,
        "scenario": rcv,
        "opened": True,
        "by": bank_b.opener.address,
    }
    assert consortium.is_service_opened(firm, bank_b.id, rcv)
    assert not consortium.is_service_opened(firm, bank_a.id, rcv)

    consortium.set_service(firm, rcv, True, sender=bank_a.opener)
    assert consortium.is_service_opened(firm, bank_a.id, rcv)


def test_service_is_opened_per_scenario(consortium, regulator, bank_a, firm):
    consortium.set_service(firm, Scenario.RECEIVABLES, True, sender=bank_a.opener)
    for scenario in (Scenario.POLICY, Scenario.LOGISTICS, Scenario.CREDIT_MATCH):
        assert not consortium.is_service_opened(firm, bank_a.id, scenario)
    consortium.set_roles(bank_a.opener, int(Role.RCV_SERVICE | Role.CM_SERVICE), sender=regulator)
    consortium.set_service(firm, Scenario.CREDIT_MATCH, True, sender=bank_a.opener)
    assert consortium.is_service_opened(firm, bank_a.id, Scenario.CREDIT_MATCH)
    assert consortium.is_service_opened(firm, bank_a.id, Scenario.RECEIVABLES)


def test_closing_the_service(consortium, bank_a, bank_b):
    rcv = Scenario.RECEIVABLES
    assert consortium.is_service_opened(FIRM_A, bank_a.id, rcv)

    tx = consortium.set_service(FIRM_A, rcv, False, sender=bank_a.opener)

    assert only_event(tx, consortium.ServiceUpdated)["opened"] is False
    assert not consortium.is_service_opened(FIRM_A, bank_a.id, rcv)
    assert consortium.is_service_opened(FIRM_A, bank_b.id, rcv)


@pytest.mark.parametrize("target", ["bank", "unknown", "deactivated"])
def test_service_only_for_an_active_enterprise(consortium, regulator, bank_a, target):
    firm = {"bank": bank_a.id, "unknown": NEW, "deactivated": FIRM_A}[target]
    if target == "deactivated":
        consortium.set_active(FIRM_A, False, sender=regulator)
    with reverts("consortium: firm is not an active enterprise", InvalidInput):
        consortium.set_service(firm, Scenario.RECEIVABLES, True, sender=bank_a.opener)


def test_deactivated_firm_loses_its_services_until_reactivated(consortium, regulator, bank_a):
    rcv = Scenario.RECEIVABLES
    consortium.set_active(FIRM_A, False, sender=regulator)
    assert not consortium.is_service_opened(FIRM_A, bank_a.id, rcv)
    consortium.set_active(FIRM_A, True, sender=regulator)
    assert consortium.is_service_opened(FIRM_A, bank_a.id, rcv)


@pytest.mark.parametrize("scenario", [0, max(Scenario) + 1])
def test_unknown_scenario_reverts(consortium, bank_a, firm, scenario):
    with reverts("consortium: unknown scenario", InvalidInput):
        consortium.set_service(firm, scenario, True, sender=bank_a.opener)


@pytest.mark.parametrize("scenario", list(Scenario))
@pytest.mark.parametrize("role", [Role.RCV_SERVICE, Role.CM_SERVICE])
def test_service_role_per_scenario(consortium, regulator, bank_a, firm, scenario, role):
    """Credit matching needs CM_SERVICE; every other scenario needs RCV_SERVICE."""
    needed = Role.CM_SERVICE if scenario == Scenario.CREDIT_MATCH else Role.RCV_SERVICE
    consortium.set_roles(bank_a.opener, int(role), sender=regulator)
    if role == needed:
        consortium.set_service(firm, scenario, True, sender=bank_a.opener)
        assert consortium.is_service_opened(firm, bank_a.id, scenario)
    else:
        with reverts("consortium: account lacks the role", MissingRole):
            consortium.set_service(firm, scenario, True, sender=bank_a.opener)


def test_deactivated_bank_cannot_open_services(consortium, regulator, bank_a, firm):
    consortium.set_active(bank_a.id, False, sender=regulator)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        consortium.set_service(firm, Scenario.RECEIVABLES, True, sender=bank_a.opener)


def test_non_operator_cannot_open_services(consortium, outsider, firm):
    with reverts("consortium: account is not an operator", NotAnOperator):
        consortium.set_service(firm, Scenario.RECEIVABLES, True, sender=outsider)


################################################################
#                          OWNERSHIP                           #
################################################################


def test_two_step_ownership_transfer(consortium, regulator, op, other):
    assert consortium.owner() == regulator.address
    assert consortium.pending_owner() == ZERO_ADDRESS

    tx = consortium.transfer_ownership(op, sender=regulator)

    assert only_event(tx, consortium.OwnershipTransferStarted) == {
        "previous_owner": regulator.address,
        "new_owner": op.address,
    }
    assert consortium.owner() == regulator.address
    assert consortium.pending_owner() == op.address
    for account in (other, regulator):
        with reverts("ownable_2step: caller is not the new owner", NotRegulator):
            consortium.accept_ownership(sender=account)

    tx = consortium.accept_ownership(sender=op)

    assert only_event(tx, consortium.OwnershipTransferred) == {
        "previous_owner": regulator.address,
        "new_owner": op.address,
    }
    assert consortium.owner() == op.address
    assert consortium.pending_owner() == ZERO_ADDRESS
    with reverts("ownable: caller is not the owner", NotRegulator):
        _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    _onboard(consortium, op, NEW, ParticipantKind.BANK)
    assert consortium.participant(NEW)[0] == ParticipantKind.BANK


def test_transfer_can_be_redirected_before_acceptance(consortium, regulator, op, other):
    consortium.transfer_ownership(op, sender=regulator)
    consortium.transfer_ownership(other, sender=regulator)
    with reverts("ownable_2step: caller is not the new owner", NotRegulator):
        consortium.accept_ownership(sender=op)
    consortium.accept_ownership(sender=other)
    assert consortium.owner() == other.address


def test_renounce_ownership_is_not_exposed(consortium, regulator, chain):
    names = {abi.name for abi in consortium.contract_type.mutable_methods}
    assert {"transfer_ownership", "accept_ownership"} <= names
    assert "renounce_ownership" not in names

    # Nor reachable by its selector: the raw call reverts, where `owner()` by the same route works.
    def raw_call(signature: str):
        data = function_signature_to_4byte_selector(signature)
        tx = {"from": regulator.address, "to": consortium.address, "data": data}
        return chain.provider.web3.eth.call(tx)

    assert raw_call("owner()")[-20:] == bytes.fromhex(regulator.address[2:])
    with pytest.raises(EthTesterTransactionFailed):
        raw_call("renounce_ownership()")
    assert consortium.owner() == regulator.address


_ADMIN_CALLS = {
    "onboard": lambda c, a, s: c.onboard(NEW, int(ParticipantKind.BANK), ZERO, sender=s),
    "set_active": lambda c, a, s: c.set_active(FIRM_A, False, sender=s),
    "add_operator": lambda c, a, s: c.add_operator(a, FIRM_A, 0, sender=s),
    "set_roles": lambda c, a, s: c.set_roles(a, 0, sender=s),
    "transfer_ownership": lambda c, a, s: c.transfer_ownership(s, sender=s),
}


@pytest.mark.parametrize("caller", ["outsider", "bank operator", "pending owner"])
@pytest.mark.parametrize("function", list(_ADMIN_CALLS))
def test_admin_functions_refused_for_non_owner(
    consortium, regulator, outsider, bank_a, op, platform, caller, function
):
    if caller == "pending owner":
        consortium.transfer_ownership(op, sender=regulator)
    sender = {"outsider": outsider, "bank operator": bank_a.applicant, "pending owner": op}[caller]
    with reverts("ownable: caller is not the owner", NotRegulator):
        _ADMIN_CALLS[function](consortium, op, sender)
    assert consortium.participant(NEW) == (0, False, ZERO)
    assert consortium.participant(FIRM_A)[1] is True
    assert consortium.owner() == regulator.address


def test_admin_functions_work_for_the_owner(consortium, regulator, op, platform):
    """The passing side of the check above: the same calls go through for the owner."""
    txs = [call(consortium, op, regulator) for call in _ADMIN_CALLS.values()]
    assert len(events(txs[0], consortium.ParticipantOnboarded)) == 1
    assert consortium.participant(FIRM_A)[1] is False
    assert consortium.participant_of(op) == FIRM_A
    assert consortium.pending_owner() == regulator.address
