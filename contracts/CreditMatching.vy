# pragma version ~=0.4.3
"""
@title Bank-enterprise credit matching (融资授信银企对接)
@custom:contract-name CreditMatching
@license Apache-2.0
@notice Banks maintain the outlets (网点) that handle credit: name, region
        code and contact, which are the bank's public data (no customer's).
        A firm that has opened the credit service with a bank
        (`Consortium.open_service` in `SCENARIO_CREDIT_MATCH`, by its signed
        consent) submits a credit request from its own bound account: amount
        and currency, purpose code, a preferred outlet or a region. The bank
        matches it to one of its open outlets (对接), accepts it (受理), and
        grants (amount, term) or declines it with a reason code. No firm
        identifier is stored in clear: the firm is its keyed fingerprint.
        Overdue requests are seen off chain from the event timestamps.
"""

################################################################
#                          INTERFACES                          #
################################################################

from .interfaces import IConsortium
from .modules import codes

################################################################
#                            EVENTS                            #
################################################################

event OutletUpdated:
    outlet_id: indexed(uint256)
    bank: indexed(bytes32)
    name: String[64]
    region: uint32
    contact: String[64]
    open: bool
    by: indexed(address)


event CreditRequested:
    request_id: indexed(uint256)
    firm: indexed(bytes32)
    bank: indexed(bytes32)
    amount: uint256
    currency: uint16
    purpose: uint8
    outlet_id: uint256
    region: uint32
    by: address


event CreditRequestUpdated:
    request_id: indexed(uint256)
    bank: indexed(bytes32)
    outlet_id: indexed(uint256)
    state: uint8
    amount: uint256
    term_days: uint16
    reason: uint8
    by: address

################################################################
#                          CONSTANTS                           #
################################################################

SCENARIO: public(constant(uint8)) = codes.SCENARIO_CREDIT_MATCH
CONSORTIUM: public(immutable(IConsortium))
# Region codes are six-digit administrative division codes (行政区划代码).
_REGION_MIN: constant(uint32) = 100000
_REGION_MAX: constant(uint32) = 999999

################################################################
#                           STORAGE                            #
################################################################

struct Outlet:
    bank: bytes32
    region: uint32
    open: bool


struct CreditRequest:
    firm: bytes32
    bank: bytes32
    amount: uint256
    currency: uint16
    purpose: uint8
    region: uint32
    outlet_id: uint256
    state: uint8
    requested_at: uint64
    matched_at: uint64
    decided_at: uint64
    granted: uint256
    term_days: uint16
    reason: uint8


outlets: public(HashMap[uint256, Outlet])
outlet_count: public(uint256)
requests: public(HashMap[uint256, CreditRequest])
request_count: public(uint256)


@deploy
def __init__(consortium: IConsortium):
    """
    @param consortium The consortium registry.
    """
    CONSORTIUM = consortium


################################################################
#                      OUTLET MAINTENANCE                      #
################################################################


@external
def add_outlet(name: String[64], region: uint32, contact: String[64]) -> uint256:
    """
    @notice 融资授信业务办理银行信息维护: an operator with the OUTLETS stage
            adds one of its bank's outlets that handle credit.
    @param name The outlet's name (public bank data).
    @param region Its six-digit region code.
    @param contact Its public contact (telephone or desk).
    @return The outlet id.
    """
    bank: bytes32 = (staticcall CONSORTIUM.authorize(msg.sender, codes.SCENARIO_CREDIT_MATCH, codes.STAGE_OUTLETS))[0]
    self._check_outlet(name, region, contact)
    # Outlet ids start at 1; 2**256 outlets cannot happen.
    outlet_id: uint256 = self.outlet_count + 1
    self.outlet_count = outlet_id
    self.outlets[outlet_id] = Outlet(bank=bank, region=region, open=True)
    log OutletUpdated(outlet_id=outlet_id, bank=bank, name=name, region=region, contact=contact, open=True, by=msg.sender)
    return outlet_id


@external
def update_outlet(outlet_id: uint256, name: String[64], region: uint32, contact: String[64]):
    """
    @notice Updates an open outlet of the caller's bank.
    @param outlet_id The outlet.
    @param name Its new name.
    @param region Its new region code.
    @param contact Its new contact.
    """
    bank: bytes32 = self._own_outlet(outlet_id)
    self._check_outlet(name, region, contact)
    self.outlets[outlet_id].region = region
    log OutletUpdated(outlet_id=outlet_id, bank=bank, name=name, region=region, contact=contact, open=True, by=msg.sender)


@external
def close_outlet(outlet_id: uint256):
    """
    @notice Closes an open outlet of the caller's bank: nothing more is matched to it.
    @param outlet_id The outlet.
    """
    bank: bytes32 = self._own_outlet(outlet_id)
    self.outlets[outlet_id].open = False
    log OutletUpdated(outlet_id=outlet_id, bank=bank, name="", region=self.outlets[outlet_id].region, contact="", open=False, by=msg.sender)


################################################################
#                      THE FIRM'S REQUEST                      #
################################################################


@external
def request_credit(bank: bytes32, amount: uint256, currency: uint16, purpose: uint8, outlet_id: uint256, region: uint32) -> uint256:
    """
    @notice 融资授信申请: the firm's own account asks `bank` for credit.
    @param bank The bank the firm opened the credit service with.
    @param amount Minor units asked for.
    @param currency ISO 4217 numeric code.
    @param purpose A `codes.PURPOSE_*` code.
    @param outlet_id A preferred open outlet of `bank`, or 0.
    @param region A preferred six-digit region code, or 0 (one of the two is needed).
    @return The request id.
    """
    firm: bytes32 = staticcall CONSORTIUM.participant_of(msg.sender)
    assert firm != empty(bytes32) and staticcall CONSORTIUM.is_service_opened(firm, bank, codes.SCENARIO_CREDIT_MATCH), "credit matching: caller's firm has not opened the credit service with this bank"
    assert amount > 0, "credit matching: amount must be positive"
    assert currency > 0 and currency < 1000, "credit matching: invalid currency"
    assert purpose >= codes.PURPOSE_WORKING_CAPITAL and purpose <= codes.PURPOSE_MAX, "credit matching: unknown purpose"
    where: uint32 = region
    if outlet_id != 0:
        self._open_outlet_of(outlet_id, bank)
        where = self.outlets[outlet_id].region
    else:
        assert region >= _REGION_MIN and region <= _REGION_MAX, "credit matching: name an outlet or a six-digit region code"
    # Request ids start at 1; 2**256 requests cannot happen.
    request_id: uint256 = self.request_count + 1
    self.request_count = request_id
    self.requests[request_id] = CreditRequest(
        firm=firm,
        bank=bank,
        amount=amount,
        currency=currency,
        purpose=purpose,
        region=where,
        outlet_id=outlet_id,
        state=codes.CREDIT_REQUESTED,
        requested_at=convert(block.timestamp, uint64),
        matched_at=0,
        decided_at=0,
        granted=0,
        term_days=0,
        reason=0,
    )
    log CreditRequested(request_id=request_id, firm=firm, bank=bank, amount=amount, currency=currency, purpose=purpose, outlet_id=outlet_id, region=where, by=msg.sender)
    return request_id


################################################################
#                      THE BANK'S STAGES                       #
################################################################


@external
def match_request(request_id: uint256, outlet_id: uint256):
    """
    @notice 融资授信对接: an operator with the MATCH stage matches a request
            to one of its bank's open outlets.
    @param request_id The request.
    @param outlet_id The outlet that will handle it.
    """
    bank: bytes32 = self._load(request_id, codes.STAGE_MATCH, codes.CREDIT_REQUESTED)
    self._open_outlet_of(outlet_id, bank)
    self.requests[request_id].outlet_id = outlet_id
    self.requests[request_id].matched_at = convert(block.timestamp, uint64)
    self._update(request_id, codes.CREDIT_MATCHED, 0, 0, 0)


@external
def accept(request_id: uint256):
    """
    @notice 融资授信受理: an operator with the ACCEPT stage accepts a matched request.
    @param request_id The request.
    """
    self._load(request_id, codes.STAGE_ACCEPT, codes.CREDIT_MATCHED)
    self._update(request_id, codes.CREDIT_ACCEPTED, 0, 0, 0)


@external
def grant(request_id: uint256, amount: uint256, term_days: uint16):
    """
    @notice The accepting desk (ACCEPT stage) grants an accepted request.
    @param request_id The request.
    @param amount Minor units granted, in the request's currency, at most what was asked.
    @param term_days The credit's term in days.
    """
    self._load(request_id, codes.STAGE_ACCEPT, codes.CREDIT_ACCEPTED)
    assert amount > 0 and amount <= self.requests[request_id].amount, "credit matching: grant must be positive and at most the amount asked"
    assert term_days > 0, "credit matching: term must be positive"
    self._decide(request_id, codes.CREDIT_GRANTED, amount, term_days, 0)


@external
def decline(request_id: uint256, reason: uint8):
    """
    @notice The accepting desk (ACCEPT stage) declines a request not yet
            decided, with a reason code.
    @param request_id The request.
    @param reason A `codes.DECLINE_*` code.
    """
    self._load(request_id, codes.STAGE_ACCEPT, 0)
    assert reason >= codes.DECLINE_CREDIT_RISK and reason <= codes.DECLINE_MAX, "credit matching: unknown decline reason"
    self._decide(request_id, codes.CREDIT_DECLINED, 0, 0, reason)


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@internal
def _load(request_id: uint256, stage: uint256, state: uint8) -> bytes32:
    """
    @dev The caller's bank, after checking its stage, that the request is
         its bank's and is in `state` (0: any state not yet decided).
    """
    bank: bytes32 = (staticcall CONSORTIUM.authorize(msg.sender, codes.SCENARIO_CREDIT_MATCH, stage))[0]
    current: uint8 = self.requests[request_id].state
    assert current != 0, "credit matching: unknown request"
    assert self.requests[request_id].bank == bank, "credit matching: request belongs to another bank"
    if state == 0:
        assert current < codes.CREDIT_GRANTED, "credit matching: request not in the required state"
    else:
        assert current == state, "credit matching: request not in the required state"
    return bank


@internal
def _decide(request_id: uint256, state: uint8, amount: uint256, term_days: uint16, reason: uint8):
    self.requests[request_id].granted = amount
    self.requests[request_id].term_days = term_days
    self.requests[request_id].reason = reason
    self.requests[request_id].decided_at = convert(block.timestamp, uint64)
    self._update(request_id, state, amount, term_days, reason)


@internal
def _update(request_id: uint256, state: uint8, amount: uint256, term_days: uint16, reason: uint8):
    self.requests[request_id].state = state
    request: CreditRequest = self.requests[request_id]
    log CreditRequestUpdated(request_id=request_id, bank=request.bank, outlet_id=request.outlet_id, state=state, amount=amount, term_days=term_days, reason=reason, by=msg.sender)


@internal
def _own_outlet(outlet_id: uint256) -> bytes32:
    bank: bytes32 = (staticcall CONSORTIUM.authorize(msg.sender, codes.SCENARIO_CREDIT_MATCH, codes.STAGE_OUTLETS))[0]
    self._open_outlet_of(outlet_id, bank)
    return bank


@view
@internal
def _open_outlet_of(outlet_id: uint256, bank: bytes32):
    outlet: Outlet = self.outlets[outlet_id]
    assert outlet.bank != empty(bytes32), "credit matching: unknown outlet"
    assert outlet.bank == bank, "credit matching: outlet belongs to another bank"
    assert outlet.open, "credit matching: outlet is closed"


@pure
@internal
def _check_outlet(name: String[64], region: uint32, contact: String[64]):
    assert len(name) > 0 and len(contact) > 0, "credit matching: outlet name and contact are required"
    assert region >= _REGION_MIN and region <= _REGION_MAX, "credit matching: region must be a six-digit code"
