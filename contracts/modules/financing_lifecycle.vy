# pragma version ~=0.4.3
"""
@title Financing lifecycle
@custom:contract-name financing_lifecycle
@license Apache-2.0
@notice The one financing state machine every financing scenario composes:
        apply (代申请) -> accept (受理) -> review (审核: approve or reject)
        -> disbursement registration (放款登记) -> repayment registration
        (还款登记, partial or full) -> closed; withdrawal before disbursement.
        Holds on the document ledger are taken at application, released on
        rejection or withdrawal, and consumed (not freed) at closing.
        Maker-checker: the applying account may not review.
        A failed verification (核验) does not revert: the `verification`
        module counts it per bank and reason and logs it.
@dev A scenario contract `initializes` this module (which initializes
     `verification`, its failure counters) with its scenario id, exports the stage functions, and implements its own
     `apply` that calls `_apply` with the document type and any
     scenario-specific cap. An operator acts in a stage when it holds that
     stage's flag in this scenario (`codes.STAGE_*`).
     The ledger is the one place that knows hold amounts: the lifecycle
     keeps which documents a financing cites, and reads what it holds on
     each from the ledger when it releases or consumes them.
     Storage per financing is two packed words (low bits first), so that
     an application writes three fresh slots at most for one document:
         head:    applicant address 0..159 | state 160..167 | currency
                  168..177 | document type 178..183 | cited documents
                  184..191 | requested 192..255
         payment: disbursed 0..63 | repaid 64..127 | value day 128..159
                  | due day 160..191   (written from disbursement on)
     plus the cited fingerprints.
     Amounts are minor units below 2**64, the ledger's bound on a face.
"""

from ..interfaces import IConsortium
from ..interfaces import IDocumentLedger
from . import codes
from . import verification

initializes: verification

################################################################
#                            EVENTS                            #
################################################################

event FinancingApplied:
    financing_id: indexed(uint256)
    bank: indexed(bytes32)
    firm: indexed(bytes32)
    applicant: address
    currency: uint16
    amount: uint256
    documents: uint256


event FinancingAccepted:
    financing_id: indexed(uint256)
    operator: indexed(address)


event FinancingReviewed:
    financing_id: indexed(uint256)
    operator: indexed(address)
    approved: bool


event FinancingWithdrawn:
    financing_id: indexed(uint256)
    operator: indexed(address)


event DisbursementRegistered:
    financing_id: indexed(uint256)
    operator: indexed(address)
    amount: uint256
    value_date: uint32
    due_date: uint32


event RepaymentRegistered:
    financing_id: indexed(uint256)
    operator: indexed(address)
    amount: uint256
    repaid: uint256
    closed: bool

################################################################
#                          CONSTANTS                           #
################################################################

struct Financing:
    applicant: address
    bank: bytes32
    state: uint8
    currency: uint16
    requested: uint256
    disbursed: uint256
    repaid: uint256
    documents: uint256
    doc_type: uint8
    value_date: uint32
    due_date: uint32

_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_STATE_SHIFT: constant(uint256) = 160
_CURRENCY_SHIFT: constant(uint256) = 168
_CURRENCY_MASK: constant(uint256) = 1023
_DOC_TYPE_SHIFT: constant(uint256) = 178
_DOC_TYPE_MASK: constant(uint256) = 63
_COUNT_SHIFT: constant(uint256) = 184
_REQUESTED_SHIFT: constant(uint256) = 192
_STATE_MASK: constant(uint256) = 255 << _STATE_SHIFT
_U64: constant(uint256) = (1 << 64) - 1
_REPAID_SHIFT: constant(uint256) = 64
_VALUE_SHIFT: constant(uint256) = 128
_DUE_SHIFT: constant(uint256) = 160

################################################################
#                           STORAGE                            #
################################################################

CONSORTIUM: public(immutable(IConsortium))
LEDGER: public(immutable(IDocumentLedger))
SCENARIO: public(immutable(uint8))

financing_count: public(uint256)

_heads: HashMap[uint256, uint256]
_payments: HashMap[uint256, uint256]
_cited: HashMap[uint256, HashMap[uint256, bytes32]]


@deploy
def __init__(consortium: IConsortium, ledger: IDocumentLedger, scenario: uint8):
    """
    @param consortium The consortium registry.
    @param ledger The document ledger.
    @param scenario The scenario id (`codes.SCENARIO_*`): the firm must
           have opened its service, and operators act with its stages.
    """
    verification.__init__()
    CONSORTIUM = consortium
    LEDGER = ledger
    SCENARIO = scenario


################################################################
#                       STAGE FUNCTIONS                        #
################################################################


@external
def accept(financing_id: uint256):
    """
    @notice 受理: the bank accepts the application for review.
    """
    head: uint256 = self._load(financing_id, codes.STAGE_ACCEPT, codes.STATE_APPLIED)
    self._heads[financing_id] = self._with_state(head, codes.STATE_ACCEPTED)
    log FinancingAccepted(financing_id=financing_id, operator=msg.sender)


@external
def review(financing_id: uint256, approve: bool):
    """
    @notice 审核: approve, or reject and free the documents. The account
            that applied may not review (maker-checker).
    @param financing_id The financing.
    @param approve True to approve, false to reject.
    """
    self._review(financing_id, approve)


@external
def withdraw(financing_id: uint256):
    """
    @notice The applying bank withdraws the application before
            disbursement; the documents are freed.
    @param financing_id The financing.
    """
    self._withdraw(financing_id)


@external
def register_repayment(financing_id: uint256, amount: uint256):
    """
    @notice 还款登记: a partial or full repayment. The full repayment
            closes the financing; its documents stay used.
    @param financing_id The financing.
    @param amount Minor units, at most the outstanding amount.
    """
    self._register_repayment(financing_id, amount)


@internal
def _review(financing_id: uint256, approve: bool):
    """
    @dev 审核, for scenarios that wrap it (a rejection frees the documents).
    """
    head: uint256 = self._load(financing_id, codes.STAGE_REVIEW, codes.STATE_ACCEPTED)
    assert msg.sender != self._applicant(head), "financing: the applicant may not review"
    if approve:
        self._heads[financing_id] = self._with_state(head, codes.STATE_APPROVED)
    else:
        self._heads[financing_id] = self._with_state(head, codes.STATE_REJECTED)
        self._release(financing_id, head)
    log FinancingReviewed(financing_id=financing_id, operator=msg.sender, approved=approve)


@internal
def _withdraw(financing_id: uint256):
    """
    @dev Withdrawal, for scenarios that wrap it (the documents are freed).
    """
    head: uint256 = self._load(financing_id, codes.STAGE_APPLY, 0)
    state: uint8 = self._state(head)
    assert state == codes.STATE_APPLIED or state == codes.STATE_ACCEPTED or state == codes.STATE_APPROVED, "financing: wrong state for this action"
    self._heads[financing_id] = self._with_state(head, codes.STATE_WITHDRAWN)
    self._release(financing_id, head)
    log FinancingWithdrawn(financing_id=financing_id, operator=msg.sender)


@external
def register_disbursement(financing_id: uint256, amount: uint256, value_date: uint32, due_date: uint32):
    """
    @notice 放款登记: the approved financing was paid out.
    @param amount Minor units, at most the approved (requested) amount.
    @param value_date Days since 1970-01-01.
    @param due_date Days since 1970-01-01, not before `value_date`.
    """
    head: uint256 = self._load(financing_id, codes.STAGE_DISBURSE, codes.STATE_APPROVED)
    assert amount != 0, "financing: amount must be positive"
    assert amount <= head >> _REQUESTED_SHIFT, "financing: disbursement exceeds the approved amount"
    assert due_date >= value_date, "financing: due date before value date"
    self._heads[financing_id] = self._with_state(head, codes.STATE_DISBURSED)
    self._payments[financing_id] = (
        amount
        | (convert(value_date, uint256) << _VALUE_SHIFT)
        | (convert(due_date, uint256) << _DUE_SHIFT)
    )
    log DisbursementRegistered(financing_id=financing_id, operator=msg.sender, amount=amount, value_date=value_date, due_date=due_date)


@internal
def _register_repayment(financing_id: uint256, amount: uint256) -> bool:
    """
    @dev 还款登记, for scenarios that wrap it.
    @return True when this repayment closed the financing.
    """
    head: uint256 = self._load(financing_id, codes.STAGE_REPAY, codes.STATE_DISBURSED)
    word: uint256 = self._payments[financing_id]
    disbursed: uint256 = word & _U64
    repaid: uint256 = (word >> _REPAID_SHIFT) & _U64
    assert amount != 0, "financing: amount must be positive"
    assert amount <= disbursed - repaid, "financing: repayment exceeds the outstanding amount"
    repaid += amount
    self._payments[financing_id] = (word & ~(_U64 << _REPAID_SHIFT)) | (repaid << _REPAID_SHIFT)
    closed: bool = repaid == disbursed
    if closed:
        self._heads[financing_id] = self._with_state(head, codes.STATE_CLOSED)
        fingerprints: DynArray[bytes32, codes.MAX_CITED] = []
        amounts: DynArray[uint256, codes.MAX_CITED] = []
        fingerprints, amounts = self._live_holds(financing_id, head)
        if len(fingerprints) != 0:
            extcall LEDGER.consume(financing_id, self._doc_type(head), fingerprints, amounts)
    log RepaymentRegistered(financing_id=financing_id, operator=msg.sender, amount=amount, repaid=repaid, closed=closed)
    return closed


################################################################
#                            VIEWS                             #
################################################################


@view
@external
def financing(financing_id: uint256) -> Financing:
    """
    @notice One financing; `state` is 0 for an unknown id.
    @param financing_id The financing.
    """
    return self._financing(financing_id)


@view
@internal
def _financing(financing_id: uint256) -> Financing:
    head: uint256 = self._heads[financing_id]
    if head == 0:
        return empty(Financing)
    word: uint256 = self._payments[financing_id]
    applicant: address = self._applicant(head)
    return Financing(
        applicant=applicant,
        bank=staticcall CONSORTIUM.participant_of(applicant),
        state=self._state(head),
        currency=convert((head >> _CURRENCY_SHIFT) & _CURRENCY_MASK, uint16),
        requested=head >> _REQUESTED_SHIFT,
        disbursed=word & _U64,
        repaid=(word >> _REPAID_SHIFT) & _U64,
        documents=(head >> _COUNT_SHIFT) & 255,
        doc_type=self._doc_type(head),
        value_date=convert((word >> _VALUE_SHIFT) & 4294967295, uint32),
        due_date=convert((word >> _DUE_SHIFT) & 4294967295, uint32),
    )


@view
@external
def cited(financing_id: uint256) -> (DynArray[bytes32, codes.MAX_CITED], DynArray[uint256, codes.MAX_CITED]):
    """
    @notice The documents a financing cites and the live amount the
            ledger holds on each for it (zero once released or consumed).
    """
    head: uint256 = self._heads[financing_id]
    fingerprints: DynArray[bytes32, codes.MAX_CITED] = self._cited_documents(financing_id, head)
    return fingerprints, staticcall LEDGER.holds(self, financing_id, self._doc_type(head), fingerprints)


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@internal
def _apply(
    firm: bytes32,
    currency: uint16,
    doc_type: uint8,
    fingerprints: DynArray[bytes32, codes.MAX_CITED],
    amounts: DynArray[uint256, codes.MAX_CITED],
) -> uint256:
    """
    @dev 代申请 by the calling operator on the firm's behalf. Verifies and
         holds every cited document on the ledger; a failed verification
         is recorded and returns 0 instead of reverting.
    @return The new financing id, or 0 when verification failed.
    """
    bank: bytes32 = (staticcall CONSORTIUM.authorize(msg.sender, SCENARIO, codes.STAGE_APPLY))[0]
    assert staticcall CONSORTIUM.is_service_opened(firm, bank, SCENARIO), "financing: firm has not opened the service with this bank"
    count: uint256 = len(fingerprints)
    assert count != 0, "financing: no documents cited"
    financing_id: uint256 = self.financing_count + 1
    reason: uint8 = 0
    index: uint256 = 0
    # The ledger refuses malformed citations (lengths, zero amounts, a document
    # cited twice) by reverting, and returns a failed verification.
    reason, index = extcall LEDGER.hold(financing_id, bank, firm, currency, doc_type, fingerprints, amounts)
    if reason != codes.REASON_OK:
        verification._record(bank, firm, fingerprints[index], doc_type, reason, amounts[index], currency)
        return 0

    # Held amounts fit a document's face, below 2**64, so twenty of them cannot overflow.
    total: uint256 = 0
    for amount: uint256 in amounts:
        total = unsafe_add(total, amount)
    assert total <= _U64, "financing: total amount too large"
    assert convert(currency, uint256) <= _CURRENCY_MASK and convert(doc_type, uint256) <= _DOC_TYPE_MASK, "financing: invalid currency or document type"

    self.financing_count = financing_id
    self._heads[financing_id] = (
        convert(msg.sender, uint256)
        | (convert(codes.STATE_APPLIED, uint256) << _STATE_SHIFT)
        | (convert(currency, uint256) << _CURRENCY_SHIFT)
        | (convert(doc_type, uint256) << _DOC_TYPE_SHIFT)
        | (count << _COUNT_SHIFT)
        | (total << _REQUESTED_SHIFT)
    )
    for i: uint256 in range(count, bound=codes.MAX_CITED):
        self._cited[financing_id][i] = fingerprints[i]
    log FinancingApplied(financing_id=financing_id, bank=bank, firm=firm, applicant=msg.sender, currency=currency, amount=total, documents=count)
    return financing_id


@view
@internal
def _load(financing_id: uint256, role: uint256, state: uint8) -> uint256:
    """
    @dev The financing's head, after checking that the caller holds `role`
         in the applicant's bank and, unless `state` is 0, that the
         financing is in `state`.
    """
    head: uint256 = self._heads[financing_id]
    assert head != 0, "financing: unknown financing"
    bank: bytes32 = (staticcall CONSORTIUM.authorize(msg.sender, SCENARIO, role))[0]
    assert staticcall CONSORTIUM.participant_of(self._applicant(head)) == bank, "financing: operator belongs to another bank"
    assert state == 0 or self._state(head) == state, "financing: wrong state for this action"
    return head


@view
@internal
def _cited_documents(financing_id: uint256, head: uint256) -> DynArray[bytes32, codes.MAX_CITED]:
    fingerprints: DynArray[bytes32, codes.MAX_CITED] = []
    for i: uint256 in range((head >> _COUNT_SHIFT) & 255, bound=codes.MAX_CITED):
        fingerprints.append(self._cited[financing_id][i])
    return fingerprints


@view
@internal
def _live_holds(financing_id: uint256, head: uint256) -> (DynArray[bytes32, codes.MAX_CITED], DynArray[uint256, codes.MAX_CITED]):
    """
    @dev The cited documents this financing still holds on the ledger, and
         how much: the regulator may have force-released some.
    """
    cited: DynArray[bytes32, codes.MAX_CITED] = self._cited_documents(financing_id, head)
    held: DynArray[uint256, codes.MAX_CITED] = staticcall LEDGER.holds(self, financing_id, self._doc_type(head), cited)
    fingerprints: DynArray[bytes32, codes.MAX_CITED] = []
    amounts: DynArray[uint256, codes.MAX_CITED] = []
    for i: uint256 in range(len(cited), bound=codes.MAX_CITED):
        if held[i] != 0:
            fingerprints.append(cited[i])
            amounts.append(held[i])
    return fingerprints, amounts


@internal
def _release(financing_id: uint256, head: uint256):
    fingerprints: DynArray[bytes32, codes.MAX_CITED] = []
    amounts: DynArray[uint256, codes.MAX_CITED] = []
    fingerprints, amounts = self._live_holds(financing_id, head)
    if len(fingerprints) != 0:
        extcall LEDGER.release(financing_id, self._doc_type(head), fingerprints, amounts)


@pure
@internal
def _doc_type(head: uint256) -> uint8:
    return convert((head >> _DOC_TYPE_SHIFT) & _DOC_TYPE_MASK, uint8)


@pure
@internal
def _applicant(head: uint256) -> address:
    return convert(convert(head & _ADDRESS_MASK, uint160), address)


@pure
@internal
def _state(head: uint256) -> uint8:
    return convert((head >> _STATE_SHIFT) & 255, uint8)


@pure
@internal
def _with_state(head: uint256, state: uint8) -> uint256:
    return (head & ~_STATE_MASK) | (convert(state, uint256) << _STATE_SHIFT)
