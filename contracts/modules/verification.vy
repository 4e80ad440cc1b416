# pragma version ~=0.4.3
"""
@title Verification failures (核验失败)
@custom:contract-name verification
@license Apache-2.0
@notice Every scenario that verifies documents against the ledger (financing
        or payment) composes this module: a failed verification is not a
        revert but a counted, logged attempt, per bank and reason, so that
        the regulator's statistics see each one.
"""

################################################################
#                            EVENTS                            #
################################################################

event VerificationFailed:
    bank: indexed(bytes32)
    firm: indexed(bytes32)
    fingerprint: indexed(bytes32)
    doc_type: uint8
    reason: uint8
    amount: uint256
    currency: uint16
    applicant: address

################################################################
#                           STORAGE                            #
################################################################

# bank => reason => failed verifications.
verification_failures: public(HashMap[bytes32, HashMap[uint8, uint256]])
failures_by_reason: public(HashMap[uint8, uint256])


@deploy
def __init__():
    pass


@internal
def _record(bank: bytes32, firm: bytes32, fingerprint: bytes32, doc_type: uint8, reason: uint8, amount: uint256, currency: uint16):
    """
    @dev Counts and logs one failed verification by the calling operator.
    @param bank The operator's bank.
    @param firm The firm applied for.
    @param fingerprint The first document that failed.
    @param doc_type Its type.
    @param reason The `codes.REASON_*` code.
    @param amount The amount requested against it.
    @param currency The ISO 4217 numeric code of the request.
    """
    self.verification_failures[bank][reason] += 1
    self.failures_by_reason[reason] += 1
    log VerificationFailed(bank=bank, firm=firm, fingerprint=fingerprint, doc_type=doc_type, reason=reason, amount=amount, currency=currency, applicant=msg.sender)
