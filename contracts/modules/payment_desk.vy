# pragma version ~=0.4.3
"""
@title Payment desk (付汇核验)
@custom:contract-name payment_desk
@license Apache-2.0
@notice What every payment-facilitation scenario (便利化类) shares: a bank
        operator holding the scenario's verification stage (付汇核验)
        registers a payment verified against documents on the shared
        ledger; each payment is one record with its bank, payer, currency,
        amount, documents and value date. Payments are not financings: no
        lifecycle, no review; a payment is made or refused at once.
        A failed verification does not revert: the `verification` module
        counts it per bank and reason and logs it, as for financings.
@dev A scenario contract `initializes` this module with its scenario id and
     implements its own `pay`: against a tax filing (a ledger hold consumed
     at once: the filing's face bounds the payments, across all banks and
     over time) or against single-use invoices (`_pay_invoices`: the ledger
     tags a batch whole). The firm does not open a service for payments:
     the documents the data providers registered name the payer, and the
     ledger checks each one's owner tag.
     Storage per payment is three words:
         head:   operator address 0..159 | currency 160..175 | document
                 type 176..183 | value day 184..215 | documents 216..255
         payer:  the payer firm's id
         amount: minor units
"""

from ..interfaces import IConsortium
from ..interfaces import IDocumentLedger
from . import codes
from . import verification

initializes: verification

################################################################
#                            EVENTS                            #
################################################################

event PaymentRegistered:
    payment_id: indexed(uint256)
    bank: indexed(bytes32)
    payer: indexed(bytes32)
    operator: address
    doc_type: uint8
    currency: uint16
    amount: uint256
    documents: uint256
    value_date: uint32

################################################################
#                          CONSTANTS                           #
################################################################

struct Payment:
    operator: address
    bank: bytes32
    payer: bytes32
    currency: uint16
    amount: uint256
    documents: uint256
    doc_type: uint8
    value_date: uint32

_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_CURRENCY_SHIFT: constant(uint256) = 160
_DOC_TYPE_SHIFT: constant(uint256) = 176
_VALUE_SHIFT: constant(uint256) = 184
_COUNT_SHIFT: constant(uint256) = 216
_U8: constant(uint256) = 255
_U16: constant(uint256) = (1 << 16) - 1
_U32: constant(uint256) = (1 << 32) - 1

################################################################
#                           STORAGE                            #
################################################################

CONSORTIUM: public(immutable(IConsortium))
LEDGER: public(immutable(IDocumentLedger))
SCENARIO: public(immutable(uint8))

payment_count: public(uint256)

_heads: HashMap[uint256, uint256]
_payers: HashMap[uint256, bytes32]
_amounts: HashMap[uint256, uint256]


@deploy
def __init__(consortium: IConsortium, ledger: IDocumentLedger, scenario: uint8):
    """
    @param consortium The consortium registry.
    @param ledger The document ledger.
    @param scenario The scenario id (`codes.SCENARIO_*`): operators act with its stages.
    """
    verification.__init__()
    CONSORTIUM = consortium
    LEDGER = ledger
    SCENARIO = scenario


################################################################
#                            VIEWS                             #
################################################################


@view
@external
def payment(payment_id: uint256) -> Payment:
    """
    @notice One payment; `amount` is 0 for an unknown id.
    @param payment_id The payment.
    """
    head: uint256 = self._heads[payment_id]
    if head == 0:
        return empty(Payment)
    operator: address = convert(convert(head & _ADDRESS_MASK, uint160), address)
    return Payment(
        operator=operator,
        bank=staticcall CONSORTIUM.participant_of(operator),
        payer=self._payers[payment_id],
        currency=convert((head >> _CURRENCY_SHIFT) & _U16, uint16),
        amount=self._amounts[payment_id],
        documents=head >> _COUNT_SHIFT,
        doc_type=convert((head >> _DOC_TYPE_SHIFT) & _U8, uint8),
        value_date=convert((head >> _VALUE_SHIFT) & _U32, uint32),
    )


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@view
@internal
def _bank() -> bytes32:
    """
    @dev The calling operator's bank, after checking it holds the
         scenario's verification stage (付汇核验).
    """
    return (staticcall CONSORTIUM.authorize(msg.sender, SCENARIO, codes.STAGE_VERIFY))[0]


@internal
def _record(bank: bytes32, payer: bytes32, currency: uint16, doc_type: uint8, amount: uint256, documents: uint256, value_date: uint32) -> uint256:
    """
    @dev Stores and logs the next payment, verified by the caller.
    @return The new payment id.
    """
    payment_id: uint256 = self.payment_count + 1
    self.payment_count = payment_id
    self._heads[payment_id] = (
        convert(msg.sender, uint256)
        | (convert(currency, uint256) << _CURRENCY_SHIFT)
        | (convert(doc_type, uint256) << _DOC_TYPE_SHIFT)
        | (convert(value_date, uint256) << _VALUE_SHIFT)
        | (documents << _COUNT_SHIFT)
    )
    self._payers[payment_id] = payer
    self._amounts[payment_id] = amount
    log PaymentRegistered(payment_id=payment_id, bank=bank, payer=payer, operator=msg.sender, doc_type=doc_type, currency=currency, amount=amount, documents=documents, value_date=value_date)
    return payment_id


@internal
def _pay_invoices(payer: bytes32, currency: uint16, doc_type: uint8, invoices: DynArray[bytes32, codes.MAX_TAGGED], value_date: uint32) -> uint256:
    """
    @dev A payment against a batch of single-use invoices, by the calling
         operator: the ledger verifies each one and tags all of them fully
         used, or none; the payment's amount is their total face.
    @return The new payment id, or 0 when verification failed (then the
            attempt is recorded with its reason code).
    """
    bank: bytes32 = self._bank()
    payment_id: uint256 = self.payment_count + 1
    reason: uint8 = 0
    index: uint256 = 0
    total: uint256 = 0
    # The ledger refuses an empty batch or an invoice cited twice by reverting.
    reason, index, total = extcall LEDGER.tag(payment_id, bank, payer, currency, doc_type, invoices)
    if reason != codes.REASON_OK:
        verification._record(bank, payer, invoices[index], doc_type, reason, 0, currency)
        return 0
    return self._record(bank, payer, currency, doc_type, total, len(invoices), value_date)
