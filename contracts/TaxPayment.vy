# pragma version ~=0.4.3
"""
@title Service-trade tax-filing e-verification (服务贸易税务备案电子化银行核验)
@custom:contract-name TaxPayment
@license Apache-2.0
@notice Tax registers each filing on the shared ledger (filing serial number
        and check code, fingerprinted; payer firm; contract amount;
        currency). Before an outward payment a bank operator holding the
        verification stage (付汇核验) verifies the filing and registers the
        payment: the ledger holds the amount on the filing and the payment
        consumes it at once, so that the payments under one filing, across
        all banks and over time, never exceed the filed amount. A failed
        verification is counted per bank and reason (not found, wrong payer,
        currency, exceeded) and logged, not reverted.
@dev The ledger's guard (`hold` then `consume`, one hold record per
     payment) is the one bound; this contract adds no second copy. A filing
     already paid in full reads as exceeded (`REASON_OVER_FINANCED`), as
     does an amount beyond what is left.
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
    desk.__init__(consortium, ledger, codes.SCENARIO_TAX_PAYMENT)


@external
def pay(filing: bytes32, payer: bytes32, currency: uint16, amount: uint256, value_date: uint32) -> uint256:
    """
    @notice 付汇核验: verify a tax filing and register an outward payment under it.
    @param filing The filing's fingerprint (serial number and check code).
    @param payer The paying firm's id; the filing's payer must be this firm.
    @param currency ISO 4217 numeric code of the payment, equal to the filing's.
    @param amount Minor units paid, at most what is left of the filed amount.
    @param value_date The payment's value day (days since 1970-01-01).
    @return The payment id, or 0 when verification failed (then the
            attempt is recorded with its reason code).
    """
    bank: bytes32 = desk._bank()
    payment_id: uint256 = desk.payment_count + 1
    reason: uint8 = 0
    index: uint256 = 0
    # The ledger reverts on a zero amount.
    reason, index = extcall desk.LEDGER.hold(payment_id, bank, payer, currency, codes.DOC_TAX_FILING, [filing], [amount])
    if reason != codes.REASON_OK:
        if reason == codes.REASON_DUPLICATE:
            reason = codes.REASON_OVER_FINANCED
        desk.verification._record(bank, payer, filing, codes.DOC_TAX_FILING, reason, amount, currency)
        return 0
    extcall desk.LEDGER.consume(payment_id, codes.DOC_TAX_FILING, [filing], [amount])
    return desk._record(bank, payer, currency, codes.DOC_TAX_FILING, amount, 1, value_date)
