# pragma version ~=0.4.3
"""
@title Logistics financing (西部陆海新通道 / 中欧班列长安号 / 齐鲁号)
@custom:contract-name LogisticsFinancing
@license Apache-2.0
@notice A bank operator applies on a firm's behalf (代申请) against rail
        waybills or bills of lading the logistics operators registered, an
        amount each. The shared ledger verifies each: it exists under that
        type, its consignor is the firm, its currency matches and the amount
        fits in what is left of the goods' value; a waybill linked to the
        export declaration of the same goods holds on both, so that the two
        are never financed together beyond the goods' value, at any bank, in
        any scenario. The rest of the lifecycle comes from
        `financing_lifecycle`.
"""

from .interfaces import IConsortium
from .interfaces import IDocumentLedger
from .modules import codes
from .modules import financing_lifecycle as lifecycle

initializes: lifecycle

exports: (
    lifecycle.accept,
    lifecycle.review,
    lifecycle.withdraw,
    lifecycle.register_disbursement,
    lifecycle.register_repayment,
    lifecycle.financing,
    lifecycle.cited,
    lifecycle.financing_count,
    lifecycle.verification.verification_failures,
    lifecycle.verification.failures_by_reason,
    lifecycle.CONSORTIUM,
    lifecycle.LEDGER,
    lifecycle.SCENARIO,
)


@deploy
def __init__(consortium: IConsortium, ledger: IDocumentLedger):
    lifecycle.__init__(consortium, ledger, codes.SCENARIO_LOGISTICS)


@external
def apply(
    firm: bytes32,
    currency: uint16,
    doc_type: uint8,
    documents: DynArray[bytes32, codes.MAX_CITED],
    amounts: DynArray[uint256, codes.MAX_CITED],
) -> uint256:
    """
    @notice 代申请: apply on the firm's behalf against waybills or bills of lading.
    @param firm The consignor firm's id; it must have opened the service with the caller's bank.
    @param currency ISO 4217 numeric code of the financing, equal to each document's.
    @param doc_type `codes.DOC_RAIL_WAYBILL` or `codes.DOC_BILL_OF_LADING`.
    @param documents Fingerprints of the cited documents.
    @param amounts Minor units requested against each.
    @return The financing id, or 0 when verification failed (then the
            attempt is recorded with its reason code).
    """
    assert doc_type == codes.DOC_RAIL_WAYBILL or doc_type == codes.DOC_BILL_OF_LADING, "financing: this scenario finances waybills and bills of lading"
    return lifecycle._apply(firm, currency, doc_type, documents, amounts)
