# pragma version ~=0.4.3
"""
@title Freight FX payment facilitation (海运费 / 境内运费外汇支付便利化)
@custom:contract-name FreightPayment
@license Apache-2.0
@notice Tax or the carrier registers freight invoices on the shared ledger
        (invoice code and number fingerprinted; payer; amount; currency). A
        bank operator holding the freight payment verification stage
        (运费付汇业务核验, `STAGE_VERIFY`) pays against a batch of up to
        1,000 invoices in one registration: the ledger verifies each one
        (registered, the payer's, the currency's, never used) and tags all
        of them fully used, or none. A tagged invoice cannot be paid again
        at any bank; nothing releases it. A failed verification is counted
        per bank and reason and logged, not reverted.
"""

from .interfaces import IConsortium
from .interfaces import IDocumentLedger
from .modules import codes
from .modules import payment_desk as desk

initializes: desk

exports: (
    desk.payment,
    desk.payment_count,
    desk.verification.verification_failures,
    desk.verification.failures_by_reason,
    desk.CONSORTIUM,
    desk.LEDGER,
    desk.SCENARIO,
)


@deploy
def __init__(consortium: IConsortium, ledger: IDocumentLedger):
    desk.__init__(consortium, ledger, codes.SCENARIO_FREIGHT_PAYMENT)


@external
def pay(payer: bytes32, currency: uint16, invoices: DynArray[bytes32, codes.MAX_TAGGED], value_date: uint32) -> uint256:
    """
    @notice 运费付汇: pay against a batch of freight invoices, each tagged used.
    @param payer The paying firm's id; each invoice's payer must be this firm.
    @param currency ISO 4217 numeric code of the payment, equal to each invoice's.
    @param invoices Fingerprints of the freight invoices, at most `codes.MAX_TAGGED`.
    @param value_date The payment's value day (days since 1970-01-01).
    @return The payment id (its amount is the invoices' total), or 0 when
            verification failed (then the attempt is recorded with its reason code).
    """
    return desk._pay_invoices(payer, currency, codes.DOC_FREIGHT_INVOICE, invoices, value_date)
