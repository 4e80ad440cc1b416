# pragma version ~=0.4.3
"""
@title Consortium registry
@custom:contract-name Consortium
@license Apache-2.0
@notice Who is on the ledger. The regulator (the owner, transferred in two
        steps) onboards participants and binds operator accounts to them,
        grants each account its roles (bit flags, one per resource of the
        function list), and can deactivate a participant, which stops all
        its accounts at once. Banks record a firm's service opening
        (业务开通) per scenario. Participant ids are keyed fingerprints:
        no name or USCC is stored.
"""

################################################################
#                           MODULES                            #
################################################################

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from .modules import codes

initializes: ownable
initializes: ownable_2step[ownable := ownable]

# No `renounce_ownership`: the consortium must never be left without a regulator.
exports: (
    ownable.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
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
    roles: uint256
    by: indexed(address)


event ServiceUpdated:
    firm: indexed(bytes32)
    bank: indexed(bytes32)
    scenario: uint8
    opened: bool
    by: indexed(address)

################################################################
#                          CONSTANTS                           #
################################################################

# Re-exported so that clients and tests read the table from the chain.
ROLE_RCV_APPLY: public(constant(uint256)) = codes.ROLE_RCV_APPLY
ROLE_RCV_ACCEPT: public(constant(uint256)) = codes.ROLE_RCV_ACCEPT
ROLE_RCV_REVIEW: public(constant(uint256)) = codes.ROLE_RCV_REVIEW
ROLE_RCV_DISBURSE: public(constant(uint256)) = codes.ROLE_RCV_DISBURSE
ROLE_RCV_REPAY: public(constant(uint256)) = codes.ROLE_RCV_REPAY
ROLE_RCV_STATISTICS: public(constant(uint256)) = codes.ROLE_RCV_STATISTICS
ROLE_RCV_SERVICE: public(constant(uint256)) = codes.ROLE_RCV_SERVICE
ROLE_POL_APPLY: public(constant(uint256)) = codes.ROLE_POL_APPLY
ROLE_POL_ACCEPT: public(constant(uint256)) = codes.ROLE_POL_ACCEPT
ROLE_POL_REVIEW: public(constant(uint256)) = codes.ROLE_POL_REVIEW
ROLE_POL_DISBURSE: public(constant(uint256)) = codes.ROLE_POL_DISBURSE
ROLE_POL_REPAY: public(constant(uint256)) = codes.ROLE_POL_REPAY
ROLE_FREIGHT_VERIFY: public(constant(uint256)) = codes.ROLE_FREIGHT_VERIFY
ROLE_CM_OUTLETS: public(constant(uint256)) = codes.ROLE_CM_OUTLETS
ROLE_CM_MATCH: public(constant(uint256)) = codes.ROLE_CM_MATCH
ROLE_CM_ACCEPT: public(constant(uint256)) = codes.ROLE_CM_ACCEPT
ROLE_CM_SERVICE: public(constant(uint256)) = codes.ROLE_CM_SERVICE
ROLE_DOC_REGISTER: public(constant(uint256)) = codes.ROLE_DOC_REGISTER

_ACTIVE: constant(uint256) = 1 << 8

################################################################
#                           STORAGE                            #
################################################################

# participant id => kind (bits 0-7) | active (bit 8); one slot per participant.
_participants: HashMap[bytes32, uint256]
# A branch (网点) points to its legal-person institution; zero for a head office.
parent_of: public(HashMap[bytes32, bytes32])
# An operator account is bound to one participant for good.
participant_of: public(HashMap[address, bytes32])
roles_of: public(HashMap[address, uint256])
# firm => bank => bit mask of (1 << scenario).
_services: HashMap[bytes32, HashMap[bytes32, uint256]]


@deploy
@payable
def __init__():
    """
    @dev The deployer becomes the regulator's admin account (the owner).
    """
    ownable.__init__()
    ownable_2step.__init__()


################################################################
#                   REGULATOR ADMINISTRATION                   #
################################################################


@external
def onboard(participant: bytes32, kind: uint8, parent: bytes32):
    """
    @notice Onboards a participant (active from the start).
    @param participant The participant's keyed fingerprint.
    @param kind One of the `codes.KIND_*` values.
    @param parent The legal-person participant of a branch, or zero.
    """
    ownable._check_owner()
    assert participant != empty(bytes32), "consortium: empty participant id"
    assert kind >= codes.KIND_REGULATOR and kind <= codes.KIND_MAX, "consortium: unknown participant kind"
    assert self._participants[participant] == 0, "consortium: participant already onboarded"
    if parent != empty(bytes32):
        assert self._participants[parent] & 255 == convert(kind, uint256), "consortium: parent must be onboarded with the same kind"
        self.parent_of[participant] = parent
    self._participants[participant] = convert(kind, uint256) | _ACTIVE
    log ParticipantOnboarded(participant=participant, kind=kind, parent=parent, by=msg.sender)


@external
def set_active(participant: bytes32, active: bool):
    """
    @notice Activates or deactivates a participant; a deactivated
            participant's accounts, and its branches' accounts, can do nothing.
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
def add_operator(account: address, participant: bytes32, roles: uint256):
    """
    @notice Binds an operator account to a participant, with its roles.
    """
    ownable._check_owner()
    assert account != empty(address), "consortium: empty account"
    assert self.participant_of[account] == empty(bytes32), "consortium: account is already an operator"
    assert self._participants[participant] != 0, "consortium: unknown participant"
    self.participant_of[account] = participant
    log OperatorAdded(account=account, participant=participant, by=msg.sender)
    self._set_roles(account, participant, roles)


@external
def set_roles(account: address, roles: uint256):
    """
    @notice Replaces an operator's roles; zero revokes them all.
    """
    ownable._check_owner()
    participant: bytes32 = self.participant_of[account]
    assert participant != empty(bytes32), "consortium: account is not an operator"
    self._set_roles(account, participant, roles)


################################################################
#                      SERVICE OPENING                         #
################################################################


@external
def set_service(firm: bytes32, scenario: uint8, opened: bool):
    """
    @notice A bank operator records that `firm` opened (or closed) the
            service of `scenario` with the operator's bank (业务开通).
    """
    assert scenario >= codes.SCENARIO_RECEIVABLES and scenario <= codes.SCENARIO_MAX, "consortium: unknown scenario"
    role: uint256 = codes.ROLE_RCV_SERVICE
    if scenario == codes.SCENARIO_CREDIT_MATCH:
        role = codes.ROLE_CM_SERVICE
    bank: bytes32 = self._authorize(msg.sender, role)[0]
    assert self._participants[firm] == convert(codes.KIND_ENTERPRISE, uint256) | _ACTIVE, "consortium: firm is not an active enterprise"
    bit: uint256 = 1 << convert(scenario, uint256)
    if opened:
        self._services[firm][bank] |= bit
    else:
        self._services[firm][bank] &= ~bit
    log ServiceUpdated(firm=firm, bank=bank, scenario=scenario, opened=opened, by=msg.sender)


################################################################
#                            VIEWS                             #
################################################################


@view
@external
def authorize(account: address, role: uint256) -> (bytes32, uint8):
    """
    @notice Reverts unless `account` is an operator of an active
            participant and holds every bit of `role`.
    @return The participant id and its kind.
    """
    return self._authorize(account, role)


@view
@external
def participant(participant: bytes32) -> (uint8, bool, bytes32):
    """
    @return The kind (0 when unknown), whether it is active, and its parent.
    """
    word: uint256 = self._participants[participant]
    return convert(word & 255, uint8), word & _ACTIVE != 0, self.parent_of[participant]


@view
@external
def is_service_opened(firm: bytes32, bank: bytes32, scenario: uint8) -> bool:
    """
    @notice True while the firm is an active enterprise and has the
            scenario's service opened with `bank`.
    """
    if self._participants[firm] != convert(codes.KIND_ENTERPRISE, uint256) | _ACTIVE:
        return False
    return self._services[firm][bank] & (1 << convert(scenario, uint256)) != 0


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@view
@internal
def _authorize(account: address, role: uint256) -> (bytes32, uint8):
    participant: bytes32 = self.participant_of[account]
    assert participant != empty(bytes32), "consortium: account is not an operator"
    word: uint256 = self._participants[participant]
    assert word & _ACTIVE != 0, "consortium: participant is deactivated"
    # Deactivating a legal-person institution stops its branches (网点) too.
    parent: bytes32 = self.parent_of[participant]
    if parent != empty(bytes32):
        assert self._participants[parent] & _ACTIVE != 0, "consortium: participant is deactivated"
    assert role != 0 and self.roles_of[account] & role == role, "consortium: account lacks the role"
    return participant, convert(word & 255, uint8)


@internal
def _set_roles(account: address, participant: bytes32, roles: uint256):
    kind: uint256 = self._participants[participant] & 255
    allowed: uint256 = 0
    if kind == convert(codes.KIND_BANK, uint256):
        allowed = codes.BANK_ROLES
    elif kind >= convert(codes.KIND_INSURER, uint256):
        allowed = codes.DATA_PROVIDER_ROLES
    assert roles & ~allowed == 0, "consortium: role not allowed for this kind of participant"
    self.roles_of[account] = roles
    log RolesUpdated(account=account, participant=participant, roles=roles, by=msg.sender)
