# pragma version ~=0.4.3
"""
@title Consortium registry
@custom:contract-name Consortium
@license Apache-2.0
@notice Who is on the ledger and what each account may do. The regulator
        (the owner, transferred in two steps) onboards participants, binds
        operator accounts to them, defines per scenario which stages a kind
        of participant may hold (a row of data per scenario and kind), and
        grants each account its stages per scenario. Deactivating a
        participant stops its accounts and its branches' accounts at once.
        A firm opens a service with a bank by its own signed consent
        (EIP-712); the firm or the regulator closes it.
        Participant ids are keyed fingerprints: no name or USCC is stored.
"""

################################################################
#                           MODULES                            #
################################################################

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712
from .modules import codes

initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: eip712

# No `renounce_ownership`: the consortium must never be left without a regulator.
# `transfer_ownership` is this contract's own: the new admin may not be an operator.
exports: (
    ownable.owner,
    ownable_2step.pending_owner,
    ownable_2step.accept_ownership,
    eip712.eip712Domain,
)

################################################################
#                            EVENTS                            #
################################################################

event ParticipantOnboarded:
    participant: indexed(bytes32)
    kind: uint8
    parent: indexed(bytes32)
    by: indexed(address)


event ParticipantStatusUpdated:
    participant: indexed(bytes32)
    active: bool
    by: indexed(address)


event OperatorAdded:
    account: indexed(address)
    participant: indexed(bytes32)
    by: indexed(address)


event RolesUpdated:
    account: indexed(address)
    participant: indexed(bytes32)
    scenario: uint8
    stages: uint256
    by: indexed(address)


event RolesDefined:
    scenario: indexed(uint8)
    kind: indexed(uint8)
    stages: uint256
    by: indexed(address)


event ServiceUpdated:
    firm: indexed(bytes32)
    bank: indexed(bytes32)
    scenario: uint8
    opened: bool
    scope: uint32
    valid_until: uint64
    by: indexed(address)


event ConsentRevoked:
    firm: indexed(bytes32)
    nonce: indexed(uint256)
    by: indexed(address)

################################################################
#                          CONSTANTS                           #
################################################################

# EIP-712 type of the firm's consent to open a service with a bank (业务开通 /
# 信用信息授权): `scope` is the credit-information scope (bit flags), the
# service lapses after `validUntil` (unix seconds), `nonce` is single-use.
CONSENT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ServiceConsent(bytes32 firm,bytes32 bank,uint8 scenario,uint32 scope,uint64 validUntil,uint256 nonce)"
)
EIP712_NAME: constant(String[50]) = "crossborder consortium"
EIP712_VERSION: constant(String[20]) = "1"

_ACTIVE: constant(uint256) = 1 << 8
_KIND_MASK: constant(uint256) = 255
_U64: constant(uint256) = (1 << 64) - 1
_SCOPE_SHIFT: constant(uint256) = 64

################################################################
#                           STORAGE                            #
################################################################

# participant id => kind (bits 0-7) | active (bit 8); one slot per participant.
_participants: HashMap[bytes32, uint256]
# A branch (网点) points to its legal-person institution; zero for a head office.
# Branches are one level deep, so deactivating a head office stops every branch.
parent_of: public(HashMap[bytes32, bytes32])
# An operator account is bound to one participant for good.
participant_of: public(HashMap[address, bytes32])
# account => scenario => stage flags (codes.STAGE_*).
roles_of: public(HashMap[address, HashMap[uint8, uint256]])
# scenario => participant kind => the stages that kind may hold (the scenario table).
stages_allowed: public(HashMap[uint8, HashMap[uint8, uint256]])
# firm => bank => scenario => valid_until (bits 0-63) | scope (bits 64-95); zero when closed.
_services: HashMap[bytes32, HashMap[bytes32, HashMap[uint8, uint256]]]
# firm => nonce => used or revoked.
consent_nonce_used: public(HashMap[bytes32, HashMap[uint256, bool]])


struct Consent:
    firm: bytes32
    bank: bytes32
    scenario: uint8
    scope: uint32
    valid_until: uint64
    nonce: uint256


@deploy
@payable
def __init__():
    """
    @dev The deployer becomes the regulator's admin account (the owner).
    """
    ownable.__init__()
    ownable_2step.__init__()
    eip712.__init__(EIP712_NAME, EIP712_VERSION)


################################################################
#                   REGULATOR ADMINISTRATION                   #
################################################################


@external
def transfer_ownership(new_owner: address):
    """
    @notice Starts the two-step transfer of the regulator's admin role.
    @dev The admin may not also be an operator of any participant.
    @param new_owner The account that must then call `accept_ownership`.
    """
    ownable._check_owner()
    assert self.participant_of[new_owner] == empty(bytes32), "consortium: the regulator's admin may not be an operator"
    ownable_2step.pending_owner = new_owner
    log ownable_2step.OwnershipTransferStarted(previous_owner=ownable.owner, new_owner=new_owner)


@external
def onboard(participant: bytes32, kind: uint8, parent: bytes32):
    """
    @notice Onboards a participant (active from the start).
    @param participant The participant's keyed fingerprint.
    @param kind One of the `codes.KIND_*` values.
    @param parent The legal-person participant of a branch, or zero. A
           branch's parent must be a head office of the same kind.
    """
    ownable._check_owner()
    assert participant != empty(bytes32), "consortium: empty participant id"
    assert kind >= codes.KIND_REGULATOR and kind <= codes.KIND_MAX, "consortium: unknown participant kind"
    assert self._participants[participant] == 0, "consortium: participant already onboarded"
    if parent != empty(bytes32):
        assert self._participants[parent] & _KIND_MASK == convert(kind, uint256), "consortium: parent must be onboarded with the same kind"
        assert self.parent_of[parent] == empty(bytes32), "consortium: a branch may not have branches"
        self.parent_of[participant] = parent
    self._participants[participant] = convert(kind, uint256) | _ACTIVE
    log ParticipantOnboarded(participant=participant, kind=kind, parent=parent, by=msg.sender)


@external
def set_active(participant: bytes32, active: bool):
    """
    @notice Activates or deactivates a participant; a deactivated
            participant's accounts, and its branches' accounts, can do nothing.
    @param participant The participant's id.
    @param active The new status.
    """
    ownable._check_owner()
    word: uint256 = self._participants[participant]
    assert word != 0, "consortium: unknown participant"
    if active:
        word = word | _ACTIVE
    else:
        word = word & ~_ACTIVE
    self._participants[participant] = word
    log ParticipantStatusUpdated(participant=participant, active=active, by=msg.sender)


@external
def define_roles(scenario: uint8, kind: uint8, stages: uint256):
    """
    @notice One row of the scenario table: the stages a kind of
            participant may hold in a scenario. A new scenario is new rows.
    @dev Narrowing a row does not revoke stages already granted; the
         regulator revokes those with `set_roles`.
    @param scenario The scenario id (`codes.SCENARIO_*`, 0 for the platform).
    @param kind The participant kind.
    @param stages The allowed stage flags (`codes.STAGE_*`).
    """
    ownable._check_owner()
    assert kind >= codes.KIND_REGULATOR and kind <= codes.KIND_MAX, "consortium: unknown participant kind"
    assert stages < (codes.STAGE_MAX << 1), "consortium: unknown stage"
    self.stages_allowed[scenario][kind] = stages
    log RolesDefined(scenario=scenario, kind=kind, stages=stages, by=msg.sender)


@external
def add_operator(account: address, participant: bytes32):
    """
    @notice Binds an operator account to a participant (without stages;
            `set_roles` grants them per scenario). A firm's bound account
            signs its consents.
    @param account The operator's account.
    @param participant The participant's id.
    """
    ownable._check_owner()
    assert account != empty(address), "consortium: empty account"
    assert account != ownable.owner and account != ownable_2step.pending_owner, "consortium: the regulator's admin may not be an operator"
    assert self.participant_of[account] == empty(bytes32), "consortium: account is already an operator"
    assert self._participants[participant] != 0, "consortium: unknown participant"
    self.participant_of[account] = participant
    log OperatorAdded(account=account, participant=participant, by=msg.sender)


@external
def set_roles(account: address, scenario: uint8, stages: uint256):
    """
    @notice Replaces an operator's stages in one scenario; zero revokes them.
    @param account The operator's account.
    @param scenario The scenario id.
    @param stages Stage flags, each allowed for the participant's kind in the scenario table.
    """
    ownable._check_owner()
    participant: bytes32 = self.participant_of[account]
    assert participant != empty(bytes32), "consortium: account is not an operator"
    kind: uint8 = convert(self._participants[participant] & _KIND_MASK, uint8)
    assert stages & ~self.stages_allowed[scenario][kind] == 0, "consortium: role not allowed for this kind of participant"
    self.roles_of[account][scenario] = stages
    log RolesUpdated(account=account, participant=participant, scenario=scenario, stages=stages, by=msg.sender)


################################################################
#                      SERVICE OPENING                         #
################################################################


@external
def open_service(consent: Consent, signature: Bytes[65]):
    """
    @notice 业务开通 / 信用信息授权: a bank operator with the scenario's
            service stage submits the firm's signed consent, and the
            service opens for the consent's bank, scenario and scope until
            `valid_until`.
    @param consent What the firm agreed to.
    @param signature The EIP-712 signature (65 bytes, low s) by an account
           bound to the firm.
    """
    bank: bytes32 = self._authorize(msg.sender, consent.scenario, codes.STAGE_SERVICE)[0]
    assert bank == consent.bank, "consortium: the consent names another bank"
    assert block.timestamp <= convert(consent.valid_until, uint256), "consortium: consent expired"
    assert self._is_kind_active(consent.firm, codes.KIND_ENTERPRISE), "consortium: firm is not an active enterprise"
    assert len(signature) == 65, "consortium: signature must be 65 bytes"
    signer: address = ecdsa._recover_sig(self._consent_digest(consent), signature)
    assert self.participant_of[signer] == consent.firm, "consortium: consent not signed by the firm"
    assert not self.consent_nonce_used[consent.firm][consent.nonce], "consortium: consent already used or revoked"
    self.consent_nonce_used[consent.firm][consent.nonce] = True
    self._services[consent.firm][bank][consent.scenario] = (
        convert(consent.valid_until, uint256) | (convert(consent.scope, uint256) << _SCOPE_SHIFT)
    )
    log ServiceUpdated(firm=consent.firm, bank=bank, scenario=consent.scenario, opened=True, scope=consent.scope, valid_until=consent.valid_until, by=msg.sender)


@external
def close_service(firm: bytes32, bank: bytes32, scenario: uint8):
    """
    @notice The firm (any account bound to it) or the regulator closes a
            service: no new applications; live financings wind down.
    @param firm The firm's id.
    @param bank The bank's id.
    @param scenario The scenario id.
    """
    assert msg.sender == ownable.owner or self._is_firm_account(msg.sender, firm), "consortium: only the firm or the regulator may close a service"
    assert self._services[firm][bank][scenario] != 0, "consortium: service is not open"
    self._services[firm][bank][scenario] = 0
    log ServiceUpdated(firm=firm, bank=bank, scenario=scenario, opened=False, scope=0, valid_until=0, by=msg.sender)


@external
def revoke_consent(nonce: uint256):
    """
    @notice The firm revokes a consent it signed but no bank has submitted yet.
    @param nonce The consent's nonce.
    """
    firm: bytes32 = self.participant_of[msg.sender]
    assert self._is_kind_active(firm, codes.KIND_ENTERPRISE), "consortium: caller is not an account of an active firm"
    assert not self.consent_nonce_used[firm][nonce], "consortium: consent already used or revoked"
    self.consent_nonce_used[firm][nonce] = True
    log ConsentRevoked(firm=firm, nonce=nonce, by=msg.sender)


################################################################
#                            VIEWS                             #
################################################################


@view
@external
def authorize(account: address, scenario: uint8, stages: uint256) -> (bytes32, uint8):
    """
    @notice Reverts unless `account` is an operator of an active
            participant (and an active head office) and holds every flag of
            `stages` in `scenario`.
    @param account The acting account.
    @param scenario The scenario id.
    @param stages The stage flags required.
    @return The participant id and its kind.
    """
    return self._authorize(account, scenario, stages)


@view
@external
def participant(participant: bytes32) -> (uint8, bool, bytes32):
    """
    @param participant The participant's id.
    @return The kind (0 when unknown), whether it is active, and its parent.
    """
    word: uint256 = self._participants[participant]
    return convert(word & _KIND_MASK, uint8), word & _ACTIVE != 0, self.parent_of[participant]


@view
@external
def is_active(participant: bytes32) -> bool:
    """
    @notice True when the participant and its head office (for a branch) are active.
    @param participant The participant's id.
    """
    return self._is_active(participant)


@view
@external
def is_service_opened(firm: bytes32, bank: bytes32, scenario: uint8) -> bool:
    """
    @notice True while the firm is an active enterprise and has the
            scenario's service opened with `bank`, not yet lapsed.
    @param firm The firm's id.
    @param bank The bank's id.
    @param scenario The scenario id.
    """
    if not self._is_kind_active(firm, codes.KIND_ENTERPRISE):
        return False
    return block.timestamp <= self._services[firm][bank][scenario] & _U64


@view
@external
def service(firm: bytes32, bank: bytes32, scenario: uint8) -> (uint64, uint32):
    """
    @param firm The firm's id.
    @param bank The bank's id.
    @param scenario The scenario id.
    @return Until when the service is valid (0 when closed) and its scope.
    """
    word: uint256 = self._services[firm][bank][scenario]
    return convert(word & _U64, uint64), convert(word >> _SCOPE_SHIFT, uint32)


@view
@external
def consent_digest(consent: Consent) -> bytes32:
    """
    @notice The EIP-712 digest a firm signs for `consent`.
    @param consent The consent.
    """
    return self._consent_digest(consent)


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@view
@internal
def _authorize(account: address, scenario: uint8, stages: uint256) -> (bytes32, uint8):
    participant: bytes32 = self.participant_of[account]
    assert participant != empty(bytes32), "consortium: account is not an operator"
    assert self._is_active(participant), "consortium: participant is deactivated"
    assert stages != 0 and self.roles_of[account][scenario] & stages == stages, "consortium: account lacks the role"
    return participant, convert(self._participants[participant] & _KIND_MASK, uint8)


@view
@internal
def _is_active(participant: bytes32) -> bool:
    if self._participants[participant] & _ACTIVE == 0:
        return False
    # Branches are one level deep (`onboard` refuses deeper nesting).
    parent: bytes32 = self.parent_of[participant]
    return parent == empty(bytes32) or self._participants[parent] & _ACTIVE != 0


@view
@internal
def _is_kind_active(participant: bytes32, kind: uint8) -> bool:
    return self._participants[participant] == convert(kind, uint256) | _ACTIVE


@view
@internal
def _is_firm_account(account: address, firm: bytes32) -> bool:
    return firm != empty(bytes32) and self.participant_of[account] == firm


@view
@internal
def _consent_digest(consent: Consent) -> bytes32:
    return eip712._hash_typed_data_v4(
        keccak256(
            abi_encode(
                CONSENT_TYPEHASH,
                consent.firm,
                consent.bank,
                consent.scenario,
                consent.scope,
                consent.valid_until,
                consent.nonce,
            )
        )
    )
