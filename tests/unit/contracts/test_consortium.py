"""Consortium: onboarding, operators and their stages per scenario (the scenario table), branches,
deactivation, service opening by the firm's signed consent (EIP-712), ownership."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_tester.exceptions import TransactionFailed as EthTesterTransactionFailed
from eth_utils import function_signature_to_4byte_selector

from crossborder.domain.codes import (
    FINANCING_STAGES,
    SCENARIO_TABLE,
    ParticipantKind,
    Scenario,
    Stage,
    allowed_stages,
)
from crossborder.domain.consent import CreditScope
from crossborder.errors import (
    AccessDenied,
    Conflict,
    ConsentInvalid,
    InvalidInput,
    MissingRole,
    NotAnOperator,
    NotRegulator,
    ParticipantDeactivated,
    UnknownEntity,
    WrongState,
)

from .conftest import (
    BANK_STAGES,
    FAR,
    FIRM_A,
    FIRM_B,
    RCV,
    ROWLESS,
    ZERO,
    bind,
    consent,
    events,
    fp,
    only_event,
    open_service,
    reverts,
    sign,
)

ZERO_ADDRESS = "0x" + "00" * 20
NEW = fp("new-participant")
ALL_STAGES = Stage(sum(Stage))
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


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
    assert not consortium.is_active(NEW)

    tx = _onboard(consortium, regulator, NEW, kind)

    assert consortium.participant(NEW) == (kind, True, ZERO)
    assert consortium.is_active(NEW)
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


def test_branch_of_a_branch_is_refused(consortium, regulator):
    """Branches are one level deep: a branch's parent must be a head office."""
    head, branch, sub = fp("head"), fp("branch"), fp("sub-branch")
    _onboard(consortium, regulator, head, ParticipantKind.BANK)
    _onboard(consortium, regulator, branch, ParticipantKind.BANK, head)

    with reverts("consortium: a branch may not have branches", InvalidInput):
        _onboard(consortium, regulator, sub, ParticipantKind.BANK, branch)

    assert consortium.participant(sub) == (0, False, ZERO)
    _onboard(consortium, regulator, sub, ParticipantKind.BANK, head)  # under the head office
    assert consortium.participant(sub) == (ParticipantKind.BANK, True, head)


def test_deactivating_the_head_office_stops_its_branch(consortium, regulator, accounts):
    head, branch = fp("head-office"), fp("branch-office")
    _onboard(consortium, regulator, head, ParticipantKind.BANK)
    _onboard(consortium, regulator, branch, ParticipantKind.BANK, head)
    teller = accounts[29]
    bind(consortium, regulator, teller, branch, {RCV: Stage.APPLY})
    assert consortium.authorize(teller, RCV, Stage.APPLY) == (branch, ParticipantKind.BANK)

    consortium.set_active(head, False, sender=regulator)

    assert not consortium.is_active(head) and not consortium.is_active(branch)
    assert consortium.participant(branch)[1] is True  # its own flag is untouched
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        consortium.authorize(teller, RCV, Stage.APPLY)

    consortium.set_active(head, True, sender=regulator)
    assert consortium.is_active(branch)
    assert consortium.authorize(teller, RCV, Stage.APPLY)[0] == branch

    # Deactivating the branch stops the branch alone.
    consortium.set_active(branch, False, sender=regulator)
    assert consortium.is_active(head) and not consortium.is_active(branch)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        consortium.authorize(teller, RCV, Stage.APPLY)


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
#                 OPERATORS AND THE SCENARIO TABLE             #
################################################################


def test_add_operator_binds_without_stages(consortium, regulator, op):
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)

    tx = consortium.add_operator(op, NEW, sender=regulator)

    assert consortium.participant_of(op) == NEW
    assert only_event(tx, consortium.OperatorAdded) == {
        "account": op.address,
        "participant": NEW,
        "by": regulator.address,
    }
    assert events(tx, consortium.RolesUpdated) == []
    for scenario in Scenario:
        assert consortium.roles_of(op, scenario) == 0
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(op, RCV, Stage.APPLY)


def test_set_roles_grants_stages_per_scenario(consortium, regulator, op):
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    consortium.add_operator(op, NEW, sender=regulator)
    stages = Stage.APPLY | Stage.REPAY

    tx = consortium.set_roles(op, RCV, stages, sender=regulator)

    assert only_event(tx, consortium.RolesUpdated) == {
        "account": op.address,
        "participant": NEW,
        "scenario": RCV,
        "stages": stages,
        "by": regulator.address,
    }
    assert consortium.roles_of(op, RCV) == stages
    assert consortium.authorize(op, RCV, Stage.APPLY) == (NEW, ParticipantKind.BANK)
    assert consortium.authorize(op, RCV, stages) == (NEW, ParticipantKind.BANK)
    for scenario in set(Scenario) - {RCV}:
        assert consortium.roles_of(op, scenario) == 0
        with reverts("consortium: account lacks the role", MissingRole):
            consortium.authorize(op, scenario, Stage.APPLY)


def test_account_is_bound_once(consortium, regulator, op, bank_a):
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    consortium.add_operator(op, NEW, sender=regulator)
    for participant in (NEW, bank_a.id):
        with reverts("consortium: account is already an operator", Conflict):
            consortium.add_operator(op, participant, sender=regulator)
    assert consortium.participant_of(op) == NEW


def test_add_operator_to_unknown_participant_or_empty_account_reverts(consortium, regulator, op):
    with reverts("consortium: unknown participant", UnknownEntity):
        consortium.add_operator(op, NEW, sender=regulator)
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    with reverts("consortium: empty account", InvalidInput):
        consortium.add_operator(ZERO_ADDRESS, NEW, sender=regulator)
    assert consortium.participant_of(op) == ZERO


def test_the_owner_may_not_be_an_operator(consortium, regulator, op, other, bank_a):
    message = "consortium: the regulator's admin may not be an operator"
    with reverts(message, InvalidInput):
        consortium.add_operator(regulator, bank_a.id, sender=regulator)
    consortium.transfer_ownership(op, sender=regulator)
    with reverts(message, InvalidInput):  # nor the nominated next owner
        consortium.add_operator(op, bank_a.id, sender=regulator)
    assert consortium.participant_of(regulator) == consortium.participant_of(op) == ZERO

    # The passing side: once the nomination moves on, the account may be bound.
    consortium.transfer_ownership(other, sender=regulator)
    consortium.add_operator(op, bank_a.id, sender=regulator)
    assert consortium.participant_of(op) == bank_a.id


def test_ownership_may_not_go_to_a_bound_operator(consortium, regulator, op, bank_a):
    with reverts("consortium: the regulator's admin may not be an operator", InvalidInput):
        consortium.transfer_ownership(bank_a.applicant, sender=regulator)
    assert consortium.pending_owner() == ZERO_ADDRESS
    consortium.transfer_ownership(op, sender=regulator)  # an unbound account is fine
    assert consortium.pending_owner() == op.address


def test_stages_allowed_equal_the_scenario_table(consortium):
    """The deploy wrote every row; no other (scenario, kind) allows anything."""
    for scenario in Scenario:
        for kind in ParticipantKind:
            assert consortium.stages_allowed(scenario, kind) == allowed_stages(scenario, kind)
    assert allowed_stages(RCV, ParticipantKind.BANK) == FINANCING_STAGES


@pytest.mark.parametrize("kind", list(ParticipantKind), ids=lambda k: k.name)
def test_set_roles_follows_the_scenario_table(consortium, regulator, accounts, kind):
    """Each stage one at a time: granted where the kind's row in that scenario allows it,
    refused everywhere else; then a whole row at once."""
    participant = fp(f"kind-{kind.name}")
    _onboard(consortium, regulator, participant, kind)
    account = accounts[22]
    consortium.add_operator(account, participant, sender=regulator)
    for scenario in Scenario:
        allowed = allowed_stages(scenario, kind)
        for stage in Stage:
            if stage & allowed:
                tx = consortium.set_roles(account, scenario, stage, sender=regulator)
                assert only_event(tx, consortium.RolesUpdated)["stages"] == stage
                assert consortium.roles_of(account, scenario) == stage
            else:
                with reverts(
                    "consortium: role not allowed for this kind of participant", InvalidInput
                ):
                    consortium.set_roles(account, scenario, stage, sender=regulator)
        if allowed:
            consortium.set_roles(account, scenario, allowed, sender=regulator)
            assert consortium.roles_of(account, scenario) == allowed
            assert consortium.authorize(account, scenario, allowed) == (participant, kind)


def test_every_row_of_the_table_is_exercised():
    """The test above walks Scenario x ParticipantKind, so it covers every row of the table."""
    assert set(SCENARIO_TABLE) <= {(s, k) for s in Scenario for k in ParticipantKind}


@pytest.mark.parametrize("bit", [11, 13, 31, 33, 255])
def test_undefined_stage_bits_are_refused(consortium, regulator, bank_a, bit):
    with reverts("consortium: role not allowed for this kind of participant", InvalidInput):
        consortium.set_roles(bank_a.applicant, RCV, int(Stage.APPLY) | (1 << bit), sender=regulator)
    assert consortium.roles_of(bank_a.applicant, RCV) == Stage.APPLY


def test_define_roles_by_the_owner(consortium, regulator, op):
    """A new scenario is new rows: the owner defines one, and the stages can then be granted."""
    _onboard(consortium, regulator, NEW, ParticipantKind.BANK)
    consortium.add_operator(op, NEW, sender=regulator)
    scenario, stages = ROWLESS, Stage.APPLY | Stage.ACCEPT
    with reverts("consortium: role not allowed for this kind of participant", InvalidInput):
        consortium.set_roles(op, scenario, Stage.APPLY, sender=regulator)

    tx = consortium.define_roles(scenario, ParticipantKind.BANK, stages, sender=regulator)

    assert only_event(tx, consortium.RolesDefined) == {
        "scenario": scenario,
        "kind": ParticipantKind.BANK,
        "stages": stages,
        "by": regulator.address,
    }
    assert consortium.stages_allowed(scenario, ParticipantKind.BANK) == stages
    consortium.set_roles(op, scenario, Stage.APPLY, sender=regulator)
    assert consortium.authorize(op, scenario, Stage.APPLY)[0] == NEW
    with reverts("consortium: role not allowed for this kind of participant", InvalidInput):
        consortium.set_roles(op, scenario, Stage.REVIEW, sender=regulator)

    # Narrowing a row stops new grants; what was granted stays until set_roles revokes it.
    consortium.define_roles(scenario, ParticipantKind.BANK, 0, sender=regulator)
    with reverts("consortium: role not allowed for this kind of participant", InvalidInput):
        consortium.set_roles(op, scenario, Stage.APPLY, sender=regulator)
    assert consortium.authorize(op, scenario, Stage.APPLY)[0] == NEW
    consortium.set_roles(op, scenario, 0, sender=regulator)
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(op, scenario, Stage.APPLY)


def test_define_roles_refuses_unknown_kinds_and_stages(consortium, regulator):
    scenario = ROWLESS
    for kind in (0, max(ParticipantKind) + 1):
        with reverts("consortium: unknown participant kind", InvalidInput):
            consortium.define_roles(scenario, kind, Stage.APPLY, sender=regulator)
    with reverts("consortium: unknown stage", InvalidInput):
        consortium.define_roles(scenario, ParticipantKind.BANK, max(Stage) << 1, sender=regulator)
    consortium.define_roles(scenario, ParticipantKind.BANK, ALL_STAGES, sender=regulator)
    assert consortium.stages_allowed(scenario, ParticipantKind.BANK) == ALL_STAGES


def test_a_stage_in_another_scenario_does_not_count(consortium, regulator, op, bank_a):
    consortium.define_roles(Scenario.POLICY, ParticipantKind.BANK, ALL_STAGES, sender=regulator)
    consortium.add_operator(op, bank_a.id, sender=regulator)
    consortium.set_roles(op, Scenario.POLICY, FINANCING_STAGES, sender=regulator)
    for stage in FINANCING_STAGES:
        assert consortium.authorize(op, Scenario.POLICY, stage)[0] == bank_a.id
        with reverts("consortium: account lacks the role", MissingRole):
            consortium.authorize(op, RCV, stage)


def test_set_roles_replaces_the_stages(consortium, regulator, bank_a):
    account = bank_a.applicant
    tx = consortium.set_roles(account, RCV, Stage.ACCEPT, sender=regulator)

    assert only_event(tx, consortium.RolesUpdated) == {
        "account": account.address,
        "participant": bank_a.id,
        "scenario": RCV,
        "stages": Stage.ACCEPT,
        "by": regulator.address,
    }
    assert consortium.authorize(account, RCV, Stage.ACCEPT) == (bank_a.id, ParticipantKind.BANK)
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, RCV, Stage.APPLY)


def test_revoke_all_stages_keeps_the_binding(consortium, regulator, bank_a):
    account = bank_a.applicant
    assert consortium.authorize(account, RCV, Stage.APPLY)[0] == bank_a.id

    consortium.set_roles(account, RCV, 0, sender=regulator)

    assert consortium.roles_of(account, RCV) == 0
    assert consortium.participant_of(account) == bank_a.id
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, RCV, Stage.APPLY)
    with reverts("consortium: account is already an operator", Conflict):
        consortium.add_operator(account, bank_a.id, sender=regulator)


def test_set_roles_of_a_non_operator_reverts(consortium, regulator, outsider):
    with reverts("consortium: account is not an operator", NotAnOperator):
        consortium.set_roles(outsider, RCV, 0, sender=regulator)


def test_authorize_needs_every_bit_and_a_nonzero_stage(consortium, regulator, bank_a):
    account = bank_a.applicant
    both = Stage.APPLY | Stage.ACCEPT
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, RCV, both)
    with reverts("consortium: account lacks the role", MissingRole):
        consortium.authorize(account, RCV, 0)
    consortium.set_roles(account, RCV, both, sender=regulator)
    assert consortium.authorize(account, RCV, both) == (bank_a.id, ParticipantKind.BANK)


def test_authorize_a_non_operator_reverts(consortium, outsider):
    with reverts("consortium: account is not an operator", NotAnOperator):
        consortium.authorize(outsider, RCV, Stage.APPLY)


################################################################
#                         DEACTIVATION                         #
################################################################


def test_deactivation_stops_every_account_and_reactivation_restores(
    consortium, regulator, bank_a, bank_b
):
    operators = [(getattr(bank_a, name), stage) for name, stage in BANK_STAGES]
    tx = consortium.set_active(bank_a.id, False, sender=regulator)

    assert only_event(tx, consortium.ParticipantStatusUpdated) == {
        "participant": bank_a.id,
        "active": False,
        "by": regulator.address,
    }
    assert consortium.participant(bank_a.id) == (ParticipantKind.BANK, False, ZERO)
    for account, stage in operators:
        with reverts("consortium: participant is deactivated", ParticipantDeactivated):
            consortium.authorize(account, RCV, stage)
    assert consortium.authorize(bank_b.applicant, RCV, Stage.APPLY)[0] == bank_b.id

    tx = consortium.set_active(bank_a.id, True, sender=regulator)

    assert only_event(tx, consortium.ParticipantStatusUpdated)["active"] is True
    assert consortium.participant(bank_a.id) == (ParticipantKind.BANK, True, ZERO)
    for account, stage in operators:
        assert consortium.authorize(account, RCV, stage) == (bank_a.id, ParticipantKind.BANK)


def test_set_active_of_unknown_participant_reverts(consortium, regulator):
    with reverts("consortium: unknown participant", UnknownEntity):
        consortium.set_active(NEW, True, sender=regulator)


################################################################
#               SERVICE OPENING: THE SIGNED CONSENT            #
################################################################


@pytest.fixture
def firm(consortium, regulator):
    """An enterprise with no service opened anywhere."""
    _onboard(consortium, regulator, NEW, ParticipantKind.ENTERPRISE)
    return NEW


@pytest.fixture
def signer(consortium, regulator, accounts, firm):
    """The firm's bound account: it signs the firm's consents."""
    account = accounts[23]
    consortium.add_operator(account, firm, sender=regulator)
    return account


def _submit(consortium, opener, terms, signature):
    return consortium.open_service(terms.as_tuple(), signature, sender=opener)


def test_consent_digest_is_the_eip712_digest(consortium, bank_a, firm, signer, chain):
    terms = consent(firm, bank_a.id, valid_until=1_900_000_000, scope=CreditScope.TRADE)
    message = terms.typed_data(chain.chain_id, consortium.address)
    signed = Account.sign_typed_data(signer.private_key, full_message=message)
    assert bytes(consortium.consent_digest(terms.as_tuple())) == bytes(signed.message_hash)
    # Any field changes the digest.
    other = consent(firm, bank_a.id, valid_until=1_900_000_000, scope=CreditScope.TRADE)
    assert consortium.consent_digest(other.as_tuple()) != consortium.consent_digest(
        terms.as_tuple()
    )


def test_open_service_with_the_firms_signed_consent(consortium, bank_a, bank_b, firm, signer):
    terms = consent(firm, bank_b.id, valid_until=FAR, scope=CreditScope.BASIC)

    tx = _submit(consortium, bank_b.opener, terms, sign(terms, signer, consortium))

    assert only_event(tx, consortium.ServiceUpdated) == {
        "firm": firm,
        "bank": bank_b.id,
        "scenario": RCV,
        "opened": True,
        "scope": CreditScope.BASIC,
        "valid_until": FAR,
        "by": bank_b.opener.address,
    }
    assert consortium.is_service_opened(firm, bank_b.id, RCV)
    assert consortium.service(firm, bank_b.id, RCV) == (FAR, CreditScope.BASIC)
    assert consortium.consent_nonce_used(firm, terms.nonce)
    # Per bank and per scenario.
    assert not consortium.is_service_opened(firm, bank_a.id, RCV)
    assert not consortium.is_service_opened(firm, bank_b.id, Scenario.POLICY)
    assert consortium.service(firm, bank_a.id, RCV) == (0, 0)


def test_service_is_opened_per_scenario(consortium, regulator, bank_a, firm, signer):
    consortium.define_roles(
        Scenario.CREDIT_MATCH, ParticipantKind.BANK, Stage.SERVICE, sender=regulator
    )
    consortium.set_roles(bank_a.opener, Scenario.CREDIT_MATCH, Stage.SERVICE, sender=regulator)
    open_service(consortium, bank_a.opener, signer, firm, bank_a.id, Scenario.CREDIT_MATCH)
    assert consortium.is_service_opened(firm, bank_a.id, Scenario.CREDIT_MATCH)
    assert not consortium.is_service_opened(firm, bank_a.id, RCV)
    open_service(consortium, bank_a.opener, signer, firm, bank_a.id, RCV)
    assert consortium.is_service_opened(firm, bank_a.id, RCV)


def test_replayed_consent_is_refused(consortium, bank_a, firm, signer):
    terms = consent(firm, bank_a.id)
    signature = sign(terms, signer, consortium)
    _submit(consortium, bank_a.opener, terms, signature)
    with reverts("consortium: consent already used or revoked", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, signature)
    # Not even after the firm closed the service: a closed service needs a new consent.
    consortium.close_service(firm, bank_a.id, RCV, sender=signer)
    with reverts("consortium: consent already used or revoked", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, signature)
    assert not consortium.is_service_opened(firm, bank_a.id, RCV)
    open_service(consortium, bank_a.opener, signer, firm, bank_a.id)  # a fresh nonce
    assert consortium.is_service_opened(firm, bank_a.id, RCV)


def test_expired_consent_is_refused(consortium, bank_a, firm, signer, chain):
    now = chain.pending_timestamp
    late = consent(firm, bank_a.id, valid_until=now - 1)
    with reverts("consortium: consent expired", ConsentInvalid):
        _submit(consortium, bank_a.opener, late, sign(late, signer, consortium))
    in_time = consent(firm, bank_a.id, valid_until=now + 60)
    _submit(consortium, bank_a.opener, in_time, sign(in_time, signer, consortium))
    assert consortium.service(firm, bank_a.id, RCV)[0] == now + 60


@pytest.mark.parametrize("domain", ["chain id", "verifying contract"])
def test_consent_signed_for_another_domain_is_refused(
    consortium, ledger, bank_a, firm, signer, chain, domain
):
    terms = consent(firm, bank_a.id)
    if domain == "chain id":
        signature = sign(terms, signer, consortium, chain_id=chain.chain_id + 1)
    else:
        signature = sign(terms, signer, consortium, verifying_contract=ledger.address)
    with reverts("consortium: consent not signed by the firm", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, signature)
    assert not consortium.is_service_opened(firm, bank_a.id, RCV)
    assert not consortium.consent_nonce_used(firm, terms.nonce)
    _submit(consortium, bank_a.opener, terms, sign(terms, signer, consortium))
    assert consortium.is_service_opened(firm, bank_a.id, RCV)


def test_high_s_signature_is_refused(consortium, bank_a, firm, signer):
    """The malleated twin (s' = n - s, v flipped) recovers the same signer, yet is refused."""
    terms = consent(firm, bank_a.id)
    signature = sign(terms, signer, consortium)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    assert s <= SECP256K1_N // 2
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28

    with reverts("ecdsa: invalid signature `s` value", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, twin)

    assert not consortium.is_service_opened(firm, bank_a.id, RCV)
    _submit(consortium, bank_a.opener, terms, signature)
    assert consortium.is_service_opened(firm, bank_a.id, RCV)


@pytest.mark.parametrize("who", ["bank's own account", "another firm's account", "outsider"])
def test_consent_signed_by_an_account_not_bound_to_the_firm_is_refused(
    consortium, bank_a, firm, signer, firm_accounts, outsider, who
):
    by = {
        "bank's own account": bank_a.opener,
        "another firm's account": firm_accounts[FIRM_B],
        "outsider": outsider,
    }[who]
    terms = consent(firm, bank_a.id)
    with reverts("consortium: consent not signed by the firm", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, sign(terms, by, consortium))
    _submit(consortium, bank_a.opener, terms, sign(terms, signer, consortium))
    assert consortium.is_service_opened(firm, bank_a.id, RCV)


def test_signature_must_be_65_bytes(consortium, bank_a, firm, signer):
    terms = consent(firm, bank_a.id)
    with reverts("consortium: signature must be 65 bytes", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, sign(terms, signer, consortium)[:64])


def test_revoked_consent_is_refused(consortium, bank_a, firm, signer):
    terms = consent(firm, bank_a.id)

    tx = consortium.revoke_consent(terms.nonce, sender=signer)

    assert only_event(tx, consortium.ConsentRevoked) == {
        "firm": firm,
        "nonce": terms.nonce,
        "by": signer.address,
    }
    assert consortium.consent_nonce_used(firm, terms.nonce)
    with reverts("consortium: consent already used or revoked", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, sign(terms, signer, consortium))
    with reverts("consortium: consent already used or revoked", ConsentInvalid):
        consortium.revoke_consent(terms.nonce, sender=signer)
    assert not consortium.is_service_opened(firm, bank_a.id, RCV)


@pytest.mark.parametrize("who", ["bank operator", "outsider"])
def test_only_a_firm_account_revokes_consents(consortium, bank_a, outsider, firm, who):
    by = bank_a.opener if who == "bank operator" else outsider
    with reverts("consortium: caller is not an account of an active firm", AccessDenied):
        consortium.revoke_consent(7, sender=by)


def test_consent_naming_another_bank_is_refused(consortium, bank_a, bank_b, firm, signer):
    terms = consent(firm, bank_b.id)
    signature = sign(terms, signer, consortium)
    with reverts("consortium: the consent names another bank", ConsentInvalid):
        _submit(consortium, bank_a.opener, terms, signature)
    assert not consortium.is_service_opened(firm, bank_a.id, RCV)
    _submit(consortium, bank_b.opener, terms, signature)  # the bank it names may submit it
    assert consortium.is_service_opened(firm, bank_b.id, RCV)


def test_only_an_operator_with_the_service_stage_submits(
    consortium, regulator, bank_a, outsider, firm, signer
):
    terms = consent(firm, bank_a.id)
    signature = sign(terms, signer, consortium)
    for operator in (bank_a.applicant, bank_a.reviewer):  # other stages of the same bank
        with reverts("consortium: account lacks the role", MissingRole):
            _submit(consortium, operator, terms, signature)
    # The service stage of another scenario does not count.
    consortium.define_roles(Scenario.POLICY, ParticipantKind.BANK, Stage.SERVICE, sender=regulator)
    consortium.set_roles(bank_a.applicant, Scenario.POLICY, Stage.SERVICE, sender=regulator)
    with reverts("consortium: account lacks the role", MissingRole):
        _submit(consortium, bank_a.applicant, terms, signature)
    with reverts("consortium: account is not an operator", NotAnOperator):
        _submit(consortium, outsider, terms, signature)
    consortium.set_active(bank_a.id, False, sender=regulator)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        _submit(consortium, bank_a.opener, terms, signature)
    consortium.set_active(bank_a.id, True, sender=regulator)
    _submit(consortium, bank_a.opener, terms, signature)
    assert consortium.is_service_opened(firm, bank_a.id, RCV)


@pytest.mark.parametrize("target", ["bank", "unknown", "deactivated"])
def test_service_only_for_an_active_enterprise(
    consortium, regulator, bank_a, firm_accounts, target
):
    firm = {"bank": bank_a.id, "unknown": NEW, "deactivated": FIRM_A}[target]
    if target == "deactivated":
        consortium.set_active(FIRM_A, False, sender=regulator)
    terms = consent(firm, bank_a.id)
    signature = sign(terms, firm_accounts[FIRM_A], consortium)
    with reverts("consortium: firm is not an active enterprise", InvalidInput):
        _submit(consortium, bank_a.opener, terms, signature)


def test_deactivated_firm_loses_its_services_until_reactivated(consortium, regulator, bank_a):
    consortium.set_active(FIRM_A, False, sender=regulator)
    assert not consortium.is_service_opened(FIRM_A, bank_a.id, RCV)
    consortium.set_active(FIRM_A, True, sender=regulator)
    assert consortium.is_service_opened(FIRM_A, bank_a.id, RCV)


def test_service_lapses_after_valid_until(consortium, bank_a, firm, signer, chain):
    until = chain.pending_timestamp + 1_000
    open_service(consortium, bank_a.opener, signer, firm, bank_a.id, valid_until=until)
    chain.mine(timestamp=until)
    assert consortium.is_service_opened(firm, bank_a.id, RCV)  # through valid_until itself
    chain.mine(timestamp=until + 1)
    assert not consortium.is_service_opened(firm, bank_a.id, RCV)
    assert consortium.service(firm, bank_a.id, RCV)[0] == until  # lapsed, not closed
    # A consent that has lapsed cannot be submitted either; a new one reopens the service.
    open_service(consortium, bank_a.opener, signer, firm, bank_a.id)
    assert consortium.is_service_opened(firm, bank_a.id, RCV)


################################################################
#                       CLOSING A SERVICE                      #
################################################################


@pytest.mark.parametrize("closer", ["firm", "regulator"])
def test_the_firm_or_the_regulator_closes_a_service(
    consortium, regulator, bank_a, bank_b, firm_accounts, closer
):
    by = firm_accounts[FIRM_A] if closer == "firm" else regulator

    tx = consortium.close_service(FIRM_A, bank_a.id, RCV, sender=by)

    assert only_event(tx, consortium.ServiceUpdated) == {
        "firm": FIRM_A,
        "bank": bank_a.id,
        "scenario": RCV,
        "opened": False,
        "scope": 0,
        "valid_until": 0,
        "by": by.address,
    }
    assert not consortium.is_service_opened(FIRM_A, bank_a.id, RCV)
    assert consortium.service(FIRM_A, bank_a.id, RCV) == (0, 0)
    assert consortium.is_service_opened(FIRM_A, bank_b.id, RCV)  # per bank
    assert consortium.is_service_opened(FIRM_B, bank_a.id, RCV)  # per firm
    with reverts("consortium: service is not open", WrongState):
        consortium.close_service(FIRM_A, bank_a.id, RCV, sender=by)


@pytest.mark.parametrize(
    "who", ["the bank's opener", "another bank's operator", "another firm", "outsider"]
)
def test_nobody_else_closes_a_service(consortium, bank_a, bank_b, firm_accounts, outsider, who):
    by = {
        "the bank's opener": bank_a.opener,
        "another bank's operator": bank_b.opener,
        "another firm": firm_accounts[FIRM_B],
        "outsider": outsider,
    }[who]
    with reverts("consortium: only the firm or the regulator may close a service", AccessDenied):
        consortium.close_service(FIRM_A, bank_a.id, RCV, sender=by)
    assert consortium.is_service_opened(FIRM_A, bank_a.id, RCV)


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
    "add_operator": lambda c, a, s: c.add_operator(a, FIRM_A, sender=s),
    "set_roles": lambda c, a, s: c.set_roles(a, RCV, 0, sender=s),
    "define_roles": lambda c, a, s: c.define_roles(
        ROWLESS, int(ParticipantKind.BANK), int(Stage.APPLY), sender=s
    ),
    "transfer_ownership": lambda c, a, s: c.transfer_ownership(s, sender=s),
}


@pytest.mark.parametrize("caller", ["outsider", "bank operator", "firm", "pending owner"])
@pytest.mark.parametrize("function", list(_ADMIN_CALLS))
def test_admin_functions_refused_for_non_owner(
    consortium, regulator, outsider, bank_a, firm_accounts, op, caller, function
):
    if caller == "pending owner":
        consortium.transfer_ownership(op, sender=regulator)
    sender = {
        "outsider": outsider,
        "bank operator": bank_a.applicant,
        "firm": firm_accounts[FIRM_A],
        "pending owner": op,
    }[caller]
    with reverts("ownable: caller is not the owner", NotRegulator):
        _ADMIN_CALLS[function](consortium, op, sender)
    assert consortium.participant(NEW) == (0, False, ZERO)
    assert consortium.participant(FIRM_A)[1] is True
    assert consortium.stages_allowed(ROWLESS, ParticipantKind.BANK) == 0
    assert consortium.owner() == regulator.address


def test_admin_functions_work_for_the_owner(consortium, regulator, op, platform):
    """The passing side of the check above: the same calls go through for the owner."""
    txs = [call(consortium, op, regulator) for call in _ADMIN_CALLS.values()]
    assert len(events(txs[0], consortium.ParticipantOnboarded)) == 1
    assert consortium.participant(FIRM_A)[1] is False
    assert consortium.participant_of(op) == FIRM_A
    assert consortium.stages_allowed(ROWLESS, ParticipantKind.BANK) == Stage.APPLY
    assert consortium.pending_owner() == regulator.address
