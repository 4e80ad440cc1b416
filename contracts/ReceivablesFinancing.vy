# pragma version ~=0.4.3
"""
@title Export receivables financing (出口应收账款融资)
@custom:contract-name ReceivablesFinancing
@license Apache-2.0
@notice A bank operator applies on a firm's behalf (代申请), citing one or
        more export customs declarations (报关单) with an amount each; the
        shared ledger verifies (核验) each one: it exists, it is an export
        declaration, its exporter is the firm, its currency matches, and
        the amount fits in what is left. The rest of the lifecycle comes
        from `financing_lifecycle`.
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
    lifecycle.__init__(consortium, ledger, codes.SCENARIO_RECEIVABLES)


@external
def apply(
    firm: bytes32,
    currency: uint16,
    declarations: DynArray[bytes32, codes.MAX_CITED],
    amounts: DynArray[uint256, codes.MAX_CITED],
) -> uint256:
    """
    @notice 代申请: apply on the firm's behalf against export declarations.
    @param firm The firm's fingerprint; it must have opened the service with the caller's bank.
    @param currency ISO 4217 numeric code of the financing, equal to each declaration's.
    @param declarations Fingerprints of the cited export declarations.
    @param amounts Minor units requested against each declaration.
    @return The financing id, or 0 when verification failed (then the
            attempt is recorded with its reason code).
    """
    return lifecycle._apply(firm, currency, codes.DOC_EXPORT_DECLARATION, declarations, amounts)
