# pragma version ~=0.4.3
"""
@title Export credit-insurance policy financing (出口信保保单融资)
@custom:contract-name PolicyFinancing
@license Apache-2.0
@notice The export credit insurer registers policies (insured firm, buyer,
        per-buyer credit limit, currency, validity) and the shipments
        declared under them (投保申报), each tied to a registered export
        customs declaration with its insured amount, and confirms cover
        (承保). The firm assigns its claim rights to a bank (赔款权益转让):
        the firm signs, the bank submits, the insurer confirms; only the
        assignee bank may then finance that policy's shipments. A financing
        cites the shipments' declarations and holds on them through the one
        ledger guard, so a declaration financed as a receivable cannot be
        financed again as an insured shipment, and the other way round.
        Limits: what all live and repaid financings hold on a shipment's
        declaration <= its insured amount x the bank's advance ratio, and
        the policy's live financings <= the buyer credit limit. The insurer records loss notices
        (可能损失通知) and claims (理赔); a paid claim can be registered as
        a repayment. The rest of the lifecycle comes from
        `financing_lifecycle`.
"""

################################################################
#                           MODULES                            #
################################################################

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712
from .interfaces import IConsortium
from .interfaces import IDocumentLedger
from .modules import codes
from .modules import financing_lifecycle as lifecycle

initializes: lifecycle
initializes: eip712

exports: (
    lifecycle.accept,
    lifecycle.register_disbursement,
    lifecycle.financing,
    lifecycle.cited,
    lifecycle.financing_count,
    lifecycle.verification.verification_failures,
    lifecycle.verification.failures_by_reason,
    lifecycle.CONSORTIUM,
    lifecycle.LEDGER,
    lifecycle.SCENARIO,
    eip712.eip712Domain,
)

################################################################
#                            EVENTS                            #
################################################################

event PolicyRegistered:
    policy: indexed(bytes32)
    firm: indexed(bytes32)
    insurer: indexed(bytes32)
    buyer: bytes32
    credit_limit: uint256
    currency: uint16
    valid_until: uint64


event ShipmentDeclared:
    declaration: indexed(bytes32)
    policy: indexed(bytes32)
    insured: uint256


event CoverConfirmed:
    declaration: indexed(bytes32)
    policy: indexed(bytes32)
    by: indexed(address)


event AssignmentRequested:
    policy: indexed(bytes32)
    bank: indexed(bytes32)
    by: indexed(address)


event ClaimsAssigned:
    policy: indexed(bytes32)
    bank: indexed(bytes32)
    by: indexed(address)


event AdvanceRatioSet:
    bank: indexed(bytes32)
    ratio_bps: uint256
    by: indexed(address)


event LossNotified:
    policy: indexed(bytes32)
    bank: indexed(bytes32)
    declaration: indexed(bytes32)
    amount: uint256
    by: address


event ClaimUpdated:
    claim_id: indexed(uint256)
    policy: indexed(bytes32)
    bank: indexed(bytes32)
    declaration: bytes32
    status: uint8
    amount: uint256
    by: address


event ClaimRepayment:
    financing_id: indexed(uint256)
    claim_id: indexed(uint256)
    amount: uint256
    by: indexed(address)

################################################################
#                          CONSTANTS                           #
################################################################

ASSIGNMENT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ClaimAssignment(bytes32 policy,bytes32 firm,bytes32 bank,uint64 validUntil,uint256 nonce)"
)
EIP712_NAME: constant(String[50]) = "crossborder policy financing"
EIP712_VERSION: constant(String[20]) = "1"
RATIO_SCALE: public(constant(uint256)) = 10_000  # basis points

CLAIM_FILED: public(constant(uint8)) = 1
CLAIM_PAID: public(constant(uint8)) = 2
CLAIM_DECLINED: public(constant(uint8)) = 3

_U16: constant(uint256) = (1 << 16) - 1
_U64: constant(uint256) = (1 << 64) - 1
# A policy's terms: credit limit 0..63 | used 64..127 | currency 128..143 | valid until 144..207.
_USED_SHIFT: constant(uint256) = 64
_CURRENCY_SHIFT: constant(uint256) = 128
_VALID_SHIFT: constant(uint256) = 144
# A shipment's word: insured amount 0..63 | cover confirmed bit 64.
_COVERED: constant(uint256) = 1 << 64
# A claim's word: amount 0..63 | paid 64..127 | applied to repayments 128..191 | status 192..199.
_PAID_SHIFT: constant(uint256) = 64
_APPLIED_SHIFT: constant(uint256) = 128
_STATUS_SHIFT: constant(uint256) = 192

################################################################
#                           STORAGE                            #
################################################################

struct Policy:
    firm: bytes32
    buyer: bytes32
    insurer: bytes32
    assignee: bytes32
    pending: bytes32
    terms: uint256


struct Shipment:
    policy: bytes32
    word: uint256


struct Claim:
    policy: bytes32
    declaration: bytes32
    word: uint256


_policies: HashMap[bytes32, Policy]
# Export declaration fingerprint => the shipment insured under a policy.
_shipments: HashMap[bytes32, Shipment]
# Bank => advance ratio in basis points of the insured amount (set by the regulator).
advance_ratio_bps: public(HashMap[bytes32, uint256])
# Firm => nonce => used (claim-assignment consents).
assignment_nonce_used: public(HashMap[bytes32, HashMap[uint256, bool]])
_claims: HashMap[uint256, Claim]
claim_count: public(uint256)


@deploy
def __init__(consortium: IConsortium, ledger: IDocumentLedger):
    lifecycle.__init__(consortium, ledger, codes.SCENARIO_POLICY)
    eip712.__init__(EIP712_NAME, EIP712_VERSION)


################################################################
#                          REGULATOR                           #
################################################################


@external
def set_advance_ratio(bank: bytes32, ratio_bps: uint256):
    """
    @notice The regulator sets a bank's advance ratio: the share of an
            insured amount the bank may finance, in basis points.
    @param bank The bank's id.
    @param ratio_bps 0 to 10,000.
    """
    assert msg.sender == staticcall lifecycle.CONSORTIUM.owner(), "policy: caller is not the regulator"
    assert ratio_bps <= RATIO_SCALE, "policy: the advance ratio is at most 100 %"
    self.advance_ratio_bps[bank] = ratio_bps
    log AdvanceRatioSet(bank=bank, ratio_bps=ratio_bps, by=msg.sender)


################################################################
#                           INSURER                            #
################################################################


@external
def register_policy(policy: bytes32, firm: bytes32, buyer: bytes32, credit_limit: uint64, currency: uint16, valid_until: uint64):
    """
    @notice The insurer registers a policy (保单) for one insured firm and buyer.
    @param policy The policy number's fingerprint.
    @param firm The insured firm's id.
    @param buyer The buyer code's fingerprint.
    @param credit_limit The buyer credit limit, minor units.
    @param currency ISO 4217 numeric code of the limit and of financings under it.
    @param valid_until Unix seconds.
    """
    insurer: bytes32 = self._insurer()
    assert policy != empty(bytes32) and firm != empty(bytes32) and buyer != empty(bytes32), "policy: empty fingerprint"
    assert self._policies[policy].insurer == empty(bytes32), "policy: policy already registered"
    assert credit_limit != 0 and currency != 0 and convert(currency, uint256) < 1000, "policy: invalid limit or currency"
    self._policies[policy] = Policy(
        firm=firm,
        buyer=buyer,
        insurer=insurer,
        assignee=empty(bytes32),
        pending=empty(bytes32),
        terms=(
            convert(credit_limit, uint256)
            | (convert(currency, uint256) << _CURRENCY_SHIFT)
            | (convert(valid_until, uint256) << _VALID_SHIFT)
        ),
    )
    log PolicyRegistered(policy=policy, firm=firm, insurer=insurer, buyer=buyer, credit_limit=convert(credit_limit, uint256), currency=currency, valid_until=valid_until)


@external
def declare_shipment(declaration: bytes32, policy: bytes32, insured: uint64):
    """
    @notice 投保申报: the insurer declares a shipment under its policy,
            tied to the export customs declaration of the goods.
    @param declaration The export declaration's fingerprint.
    @param policy The policy.
    @param insured The insured amount, minor units.
    """
    self._own_policy(policy)
    assert insured != 0, "policy: invalid limit or currency"
    assert self._shipments[declaration].policy == empty(bytes32), "policy: shipment already declared"
    # The insured firm's own registered declaration (checked again, through the applicant
    # firm, when it is financed).
    assert staticcall lifecycle.LEDGER.is_owned_by(codes.DOC_EXPORT_DECLARATION, declaration, self._policies[policy].firm), "policy: the declaration is not the insured firm's registered export declaration"
    self._shipments[declaration] = Shipment(policy=policy, word=convert(insured, uint256))
    log ShipmentDeclared(declaration=declaration, policy=policy, insured=convert(insured, uint256))


@external
def confirm_cover(declaration: bytes32):
    """
    @notice 承保: the insurer confirms cover of a declared shipment.
    @param declaration The shipment's export declaration.
    """
    policy: bytes32 = self._shipments[declaration].policy
    assert policy != empty(bytes32), "policy: the declaration is not an insured shipment"
    self._own_policy(policy)
    self._shipments[declaration].word |= _COVERED
    log CoverConfirmed(declaration=declaration, policy=policy, by=msg.sender)


@external
def confirm_assignment(policy: bytes32, bank: bytes32):
    """
    @notice The insurer agrees to the firm's assignment of the policy's
            claim rights to `bank` (赔款权益转让); the bank becomes the
            policy's only financing bank.
    @param policy The policy.
    @param bank The bank the firm's signed assignment names.
    """
    self._own_policy(policy)
    assert bank != empty(bytes32) and self._policies[policy].pending == bank, "policy: no such assignment awaits the insurer"
    self._policies[policy].assignee = bank
    self._policies[policy].pending = empty(bytes32)
    log ClaimsAssigned(policy=policy, bank=bank, by=msg.sender)


@external
def notify_loss(declaration: bytes32, amount: uint256):
    """
    @notice 可能损失通知: the insurer records a possible loss on a shipment;
            the assignee bank sees it.
    @param declaration The shipment's export declaration.
    @param amount The possible loss, minor units.
    """
    policy: bytes32 = self._shipments[declaration].policy
    assert policy != empty(bytes32), "policy: the declaration is not an insured shipment"
    self._own_policy(policy)
    log LossNotified(policy=policy, bank=self._policies[policy].assignee, declaration=declaration, amount=amount, by=msg.sender)


@external
def file_claim(declaration: bytes32, amount: uint64) -> uint256:
    """
    @notice 理赔: the insurer records a claim filed on a shipment.
    @param declaration The shipment's export declaration.
    @param amount The claimed amount, minor units.
    @return The claim id.
    """
    policy: bytes32 = self._shipments[declaration].policy
    assert policy != empty(bytes32), "policy: the declaration is not an insured shipment"
    self._own_policy(policy)
    assert amount != 0, "policy: amount must be positive"
    claim_id: uint256 = self.claim_count + 1
    self.claim_count = claim_id
    self._claims[claim_id] = Claim(
        policy=policy,
        declaration=declaration,
        word=convert(amount, uint256) | (convert(CLAIM_FILED, uint256) << _STATUS_SHIFT),
    )
    log ClaimUpdated(claim_id=claim_id, policy=policy, bank=self._policies[policy].assignee, declaration=declaration, status=CLAIM_FILED, amount=convert(amount, uint256), by=msg.sender)
    return claim_id


@external
def settle_claim(claim_id: uint256, paid: uint64):
    """
    @notice The insurer pays a filed claim (any amount up to the claim), or
            declines it with zero.
    @param claim_id The claim.
    @param paid The amount paid, minor units; zero declines the claim.
    """
    claim: Claim = self._claims[claim_id]
    assert claim.policy != empty(bytes32), "policy: unknown claim"
    self._own_policy(claim.policy)
    assert convert((claim.word >> _STATUS_SHIFT) & 255, uint8) == CLAIM_FILED, "policy: the claim is already settled"
    assert convert(paid, uint256) <= claim.word & _U64, "policy: the payment exceeds the claim"
    status: uint8 = CLAIM_PAID
    if paid == 0:
        status = CLAIM_DECLINED
    self._claims[claim_id].word = (claim.word & _U64) | (convert(paid, uint256) << _PAID_SHIFT) | (convert(status, uint256) << _STATUS_SHIFT)
    log ClaimUpdated(claim_id=claim_id, policy=claim.policy, bank=self._policies[claim.policy].assignee, declaration=claim.declaration, status=status, amount=convert(paid, uint256), by=msg.sender)


################################################################
#                             BANK                             #
################################################################


@external
def request_assignment(policy: bytes32, valid_until: uint64, nonce: uint256, signature: Bytes[65]):
    """
    @notice The bank submits the firm's signed assignment of the policy's
            claim rights to the bank; the insurer then confirms it.
    @param policy The policy.
    @param valid_until Until when the firm's signature may be submitted.
    @param nonce The firm's single-use nonce.
    @param signature The EIP-712 `ClaimAssignment` signature by an account bound to the insured firm.
    """
    bank: bytes32 = (staticcall lifecycle.CONSORTIUM.authorize(msg.sender, codes.SCENARIO_POLICY, codes.STAGE_SERVICE))[0]
    firm: bytes32 = self._policies[policy].firm
    assert firm != empty(bytes32), "policy: unknown policy"
    assert block.timestamp <= convert(valid_until, uint256), "policy: the assignment consent expired"
    assert len(signature) == 65, "consortium: signature must be 65 bytes"
    digest: bytes32 = eip712._hash_typed_data_v4(keccak256(abi_encode(ASSIGNMENT_TYPEHASH, policy, firm, bank, valid_until, nonce)))
    signer: address = ecdsa._recover_sig(digest, signature)
    assert staticcall lifecycle.CONSORTIUM.participant_of(signer) == firm, "policy: assignment not signed by the insured firm"
    assert not self.assignment_nonce_used[firm][nonce], "policy: assignment consent already used"
    self.assignment_nonce_used[firm][nonce] = True
    self._policies[policy].pending = bank
    log AssignmentRequested(policy=policy, bank=bank, by=msg.sender)


@external
def apply(
    firm: bytes32,
    currency: uint16,
    declarations: DynArray[bytes32, codes.MAX_CITED],
    amounts: DynArray[uint256, codes.MAX_CITED],
) -> uint256:
    """
    @notice 代申请: apply on the firm's behalf against insured shipments of
            one policy assigned to the caller's bank.
    @param firm The insured firm's id; it must have opened the service with the caller's bank.
    @param currency ISO 4217 numeric code, the policy's and each declaration's.
    @param declarations The shipments' export declarations.
    @param amounts Minor units against each: with what is already held on
           the declaration, at most its insured amount x the advance ratio.
    @return The financing id, or 0 when the ledger's verification failed
            (then the attempt is recorded with its reason code).
    """
    assert len(declarations) == len(amounts) and len(declarations) != 0, "financing: no documents cited"
    bank: bytes32 = staticcall lifecycle.CONSORTIUM.participant_of(msg.sender)
    policy: bytes32 = self._shipments[declarations[0]].policy
    ratio: uint256 = self.advance_ratio_bps[bank]
    total: uint256 = 0
    for i: uint256 in range(len(declarations), bound=codes.MAX_CITED):
        shipment: Shipment = self._shipments[declarations[i]]
        assert shipment.policy != empty(bytes32), "policy: the declaration is not an insured shipment"
        assert shipment.policy == policy, "policy: one financing cites shipments of one policy"
        assert shipment.word & _COVERED != 0, "policy: the shipment's cover is not confirmed"
        held: uint256 = staticcall lifecycle.LEDGER.held_of(codes.DOC_EXPORT_DECLARATION, declarations[i])
        assert (held + amounts[i]) * RATIO_SCALE <= (shipment.word & _U64) * ratio, "policy: the amount exceeds the insured amount times the bank's advance ratio"
        total += amounts[i]
    assert self._policies[policy].assignee == bank, "policy: the policy's claim rights are not assigned to this bank"
    # A declaration voided and registered again may belong to another firm by now: the
    # policy's insured firm must be the applicant (the ledger then checks the declaration's).
    assert self._policies[policy].firm == firm, "policy: the firm is not the insured firm"
    terms: uint256 = self._policies[policy].terms
    assert block.timestamp <= terms >> _VALID_SHIFT, "policy: the policy has expired"
    assert convert(currency, uint256) == (terms >> _CURRENCY_SHIFT) & _U16, "policy: the currency is not the policy's"
    used: uint256 = (terms >> _USED_SHIFT) & _U64
    assert used + total <= terms & _U64, "policy: the amount exceeds the buyer credit limit left"
    financing_id: uint256 = lifecycle._apply(firm, currency, codes.DOC_EXPORT_DECLARATION, declarations, amounts)
    if financing_id != 0:
        self._policies[policy].terms = (terms & ~(_U64 << _USED_SHIFT)) | ((used + total) << _USED_SHIFT)
    return financing_id


@external
def review(financing_id: uint256, approve: bool):
    """
    @notice 审核: approve, or reject, which frees the documents and the buyer credit limit.
    @param financing_id The financing.
    @param approve True to approve.
    """
    lifecycle._review(financing_id, approve)
    if not approve:
        self._free_limit(financing_id)


@external
def withdraw(financing_id: uint256):
    """
    @notice The applying bank withdraws before disbursement; the documents
            and the buyer credit limit are freed.
    @param financing_id The financing.
    """
    lifecycle._withdraw(financing_id)
    self._free_limit(financing_id)


@external
def register_repayment(financing_id: uint256, amount: uint256):
    """
    @notice 还款登记: a partial or full repayment; the full one closes the
            financing and frees its share of the buyer credit limit (the
            documents stay used).
    @param financing_id The financing.
    @param amount Minor units, at most the outstanding amount.
    """
    if lifecycle._register_repayment(financing_id, amount):
        self._free_limit(financing_id)


@external
def register_claim_repayment(financing_id: uint256, claim_id: uint256):
    """
    @notice A paid claim on the financing's policy repays the financing,
            up to what is outstanding and what of the claim is not yet applied.
    @param financing_id The financing.
    @param claim_id A paid claim on the same policy.
    """
    claim: Claim = self._claims[claim_id]
    assert convert((claim.word >> _STATUS_SHIFT) & 255, uint8) == CLAIM_PAID, "policy: the claim is not paid"
    assert claim.policy == self._policy_of(financing_id), "policy: the claim is on another policy"
    record: lifecycle.Financing = lifecycle._financing(financing_id)
    left: uint256 = ((claim.word >> _PAID_SHIFT) & _U64) - ((claim.word >> _APPLIED_SHIFT) & _U64)
    amount: uint256 = min(left, record.disbursed - record.repaid)
    assert amount != 0, "policy: nothing of the claim is left to apply"
    self._claims[claim_id].word = claim.word + (amount << _APPLIED_SHIFT)
    if lifecycle._register_repayment(financing_id, amount):
        self._free_limit(financing_id)
    log ClaimRepayment(financing_id=financing_id, claim_id=claim_id, amount=amount, by=msg.sender)


################################################################
#                            VIEWS                             #
################################################################


@view
@external
def policy(policy: bytes32) -> (bytes32, bytes32, bytes32, bytes32, bytes32, uint256, uint256, uint16, uint64):
    """
    @param policy The policy.
    @return Insured firm, buyer, insurer, assignee bank, bank awaiting the
            insurer's confirmation, credit limit, used, currency, valid until.
    """
    p: Policy = self._policies[policy]
    return (
        p.firm,
        p.buyer,
        p.insurer,
        p.assignee,
        p.pending,
        p.terms & _U64,
        (p.terms >> _USED_SHIFT) & _U64,
        convert((p.terms >> _CURRENCY_SHIFT) & _U16, uint16),
        convert(p.terms >> _VALID_SHIFT, uint64),
    )


@view
@external
def shipment(declaration: bytes32) -> (bytes32, uint256, bool):
    """
    @param declaration An export declaration.
    @return Its policy (zero when not insured), insured amount, cover confirmed.
    """
    s: Shipment = self._shipments[declaration]
    return s.policy, s.word & _U64, s.word & _COVERED != 0


@view
@external
def claim(claim_id: uint256) -> (bytes32, bytes32, uint8, uint256, uint256, uint256):
    """
    @param claim_id The claim.
    @return Policy, declaration, status (1 filed, 2 paid, 3 declined),
            amount claimed, amount paid, amount applied to repayments.
    """
    c: Claim = self._claims[claim_id]
    return (
        c.policy,
        c.declaration,
        convert((c.word >> _STATUS_SHIFT) & 255, uint8),
        c.word & _U64,
        (c.word >> _PAID_SHIFT) & _U64,
        (c.word >> _APPLIED_SHIFT) & _U64,
    )


@view
@external
def assignment_digest(policy: bytes32, firm: bytes32, bank: bytes32, valid_until: uint64, nonce: uint256) -> bytes32:
    """
    @notice The EIP-712 digest a firm signs to assign a policy's claim rights to a bank.
    """
    return eip712._hash_typed_data_v4(keccak256(abi_encode(ASSIGNMENT_TYPEHASH, policy, firm, bank, valid_until, nonce)))


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@view
@internal
def _insurer() -> bytes32:
    insurer: bytes32 = empty(bytes32)
    kind: uint8 = 0
    insurer, kind = staticcall lifecycle.CONSORTIUM.authorize(msg.sender, codes.SCENARIO_POLICY, codes.STAGE_REGISTER)
    assert kind == codes.KIND_INSURER, "policy: caller is not an insurer"
    return insurer


@view
@internal
def _own_policy(policy: bytes32):
    insurer: bytes32 = self._insurer()
    assert self._policies[policy].insurer != empty(bytes32), "policy: unknown policy"
    assert self._policies[policy].insurer == insurer, "policy: the policy belongs to another insurer"


@view
@internal
def _policy_of(financing_id: uint256) -> bytes32:
    return self._shipments[lifecycle._cited[financing_id][0]].policy


@internal
def _free_limit(financing_id: uint256):
    """
    @dev A financing that ends (rejected, withdrawn, closed) no longer uses
         its policy's buyer credit limit.
    """
    policy: bytes32 = self._policy_of(financing_id)
    total: uint256 = lifecycle._financing(financing_id).requested
    terms: uint256 = self._policies[policy].terms
    used: uint256 = (terms >> _USED_SHIFT) & _U64
    self._policies[policy].terms = (terms & ~(_U64 << _USED_SHIFT)) | ((used - total) << _USED_SHIFT)
