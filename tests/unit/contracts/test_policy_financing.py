"""Export credit-insurance policy financing (出口信保保单融资): the insurer's policies, shipments
and cover, the firm's signed claim-rights assignment (赔款权益转让), financing limited by the
assignee bank, the advance ratio and the buyer credit limit, the one ledger guard shared with
receivables financing, loss notices and claims (理赔), and paid claims as repayments.

Accounts: 4 the insurer's operator, 5 another insurer's, 6 a logistics operator given a policy
stage (a stage is not a kind), the rest as in conftest.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from crossborder.domain.codes import (
    DocumentStatus,
    DocumentType,
    FinancingState,
    ParticipantKind,
    Reason,
    Stage,
)
from crossborder.errors import (
    AccessDenied,
    Conflict,
    ConsentInvalid,
    InvalidInput,
    LimitExceeded,
    MakerCheckerViolation,
    MissingRole,
    NotRegulator,
    OtherBank,
    UnknownEntity,
    WrongState,
)

from .conftest import (
    CNY,
    EXPORT,
    FAR,
    FIRM_A,
    FIRM_B,
    POL,
    USD,
    ZERO,
    advance,
    apply,
    assignment_message,
    deploy_scenario,
    events,
    fp,
    grant_stages,
    held,
    onboard,
    only_event,
    open_service,
    register,
    reverts,
    sign_assignment,
)

S = FinancingState
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
INSURER, INSURER_2 = fp("insurer"), fp("insurer-2")
POLICY = fp("policy-a")  # FIRM_A's, USD, assigned to bank A
BUYER = fp("buyer-a")
LIMIT = 50_000
RATIO = 8_000  # bank A's and bank B's advance ratio: 80 %
FILED, PAID, DECLINED = 1, 2, 3
RATIO_MESSAGE = "policy: the amount exceeds the insured amount times the bank's advance ratio"
NOT_ASSIGNED = "policy: the policy's claim rights are not assigned to this bank"
NOT_SIGNED = "policy: assignment not signed by the insured firm"
NOT_THE_FIRMS = "policy: the declaration is not the insured firm's registered export declaration"


@pytest.fixture(scope="module")
def policy_financing(project, consortium, ledger, regulator, platform):
    return deploy_scenario(project, "PolicyFinancing", consortium, ledger, regulator)


@pytest.fixture(scope="module")
def insurer(consortium, regulator, accounts, platform):
    """The export credit insurer's operator: REGISTER in the policy scenario."""
    onboard(consortium, regulator, "insurer", ParticipantKind.INSURER, accounts[4])
    consortium.set_roles(accounts[4], POL, Stage.REGISTER, sender=regulator)
    return accounts[4]


@pytest.fixture(scope="module")
def insurer_2(consortium, regulator, accounts, platform):
    """Another insurer's operator, with the same stage."""
    onboard(consortium, regulator, "insurer-2", ParticipantKind.INSURER, accounts[5])
    consortium.set_roles(accounts[5], POL, Stage.REGISTER, sender=regulator)
    return accounts[5]


@pytest.fixture(scope="module", autouse=True)
def _module_state(
    policy_financing,
    insurer,
    insurer_2,
    consortium,
    regulator,
    bank_a,
    bank_b,
    firm_accounts,
    outsider,
    chain,
):
    """Both banks' operators hold their stages in the policy scenario, both firms opened the
    service with both banks, both banks' advance ratio is 80 %; POLICY (FIRM_A, USD, limit
    50,000) is assigned to bank A. The empty block keeps ape's per-test restore cheap."""
    for bank in (bank_a, bank_b):
        grant_stages(consortium, regulator, bank, POL)
        for firm, account in firm_accounts.items():
            open_service(consortium, bank.opener, account, firm, bank.id, POL)
        policy_financing.set_advance_ratio(bank.id, RATIO, sender=regulator)
    policy_financing.register_policy(POLICY, FIRM_A, BUYER, LIMIT, USD, FAR, sender=insurer)
    _assign(policy_financing, insurer, firm_accounts[FIRM_A], POLICY, FIRM_A, bank_a)
    chain.mine()


################################################################
#                           HELPERS                            #
################################################################


def _assign(contract, insurer, signer, policy, firm, bank):
    """The firm signs, the bank's opener submits, the insurer confirms."""
    signed = sign_assignment(contract, signer, policy, firm, bank.id)
    contract.request_assignment(policy, *signed, sender=bank.opener)
    return contract.confirm_assignment(policy, bank.id, sender=insurer)


def _shipment(
    contract,
    ledger,
    customs_op,
    insurer,
    label: str,
    *,
    face: int = 10_000,
    insured: int = 10_000,
    policy: bytes = POLICY,
    cover: bool = True,
    owner: bytes = FIRM_A,
    currency: int = USD,
) -> bytes:
    """Customs registers the export declaration (of `owner`, which must be the policy's insured
    firm: the insurer declares no other firm's declaration); the insurer declares the shipment
    under `policy` and (by default) confirms cover."""
    declaration = fp(label)
    register(ledger, customs_op, [(declaration, owner, face, currency)])
    contract.declare_shipment(declaration, policy, insured, sender=insurer)
    if cover:
        contract.confirm_cover(declaration, sender=insurer)
    return declaration


@pytest.fixture
def ship(policy_financing, ledger, customs_op, insurer):
    """`ship(label, **terms)`: a covered shipment under POLICY (see `_shipment`)."""

    def make(label: str, **terms) -> bytes:
        return _shipment(policy_financing, ledger, customs_op, insurer, label, **terms)

    return make


def _policy(contract, policy=POLICY) -> dict:
    names = ("firm", "buyer", "insurer", "assignee", "pending", "limit", "used", "currency")
    values = contract.policy(policy)
    return {**dict(zip(names, values[:8], strict=True)), "valid_until": values[8]}


def _failed(contract, tx) -> tuple[int, bytes, int]:
    """The one recorded verification failure of `tx`: (reason, fingerprint, amount)."""
    failed = only_event(tx, contract.VerificationFailed)
    assert events(tx, contract.FinancingApplied) == []
    return failed["reason"], failed["fingerprint"], failed["amount"]


def _claim(contract, insurer, declaration, amount, paid=None) -> int:
    """The insurer files a claim on a shipment and, if `paid` is given, settles it."""
    tx = contract.file_claim(declaration, amount, sender=insurer)
    claim_id = only_event(tx, contract.ClaimUpdated)["claim_id"]
    if paid is not None:
        contract.settle_claim(claim_id, paid, sender=insurer)
    return claim_id


################################################################
#                  THE INSURER: POLICIES, COVER                #
################################################################


def test_insurer_registers_a_policy(policy_financing, insurer):
    p = fp("policy-new")
    tx = policy_financing.register_policy(p, FIRM_B, BUYER, 70_000, CNY, FAR, sender=insurer)

    assert only_event(tx, policy_financing.PolicyRegistered) == {
        "policy": p,
        "firm": FIRM_B,
        "insurer": INSURER,
        "buyer": BUYER,
        "credit_limit": 70_000,
        "currency": CNY,
        "valid_until": FAR,
    }
    assert _policy(policy_financing, p) == {
        "firm": FIRM_B,
        "buyer": BUYER,
        "insurer": INSURER,
        "assignee": ZERO,
        "pending": ZERO,
        "limit": 70_000,
        "used": 0,
        "currency": CNY,
        "valid_until": FAR,
    }
    with reverts("policy: policy already registered", Conflict):
        policy_financing.register_policy(p, FIRM_A, BUYER, 1, USD, FAR, sender=insurer)


@pytest.mark.parametrize(
    ("field", "value", "message", "error"),
    [
        ("policy", ZERO, "policy: empty fingerprint", InvalidInput),
        ("firm", ZERO, "policy: empty fingerprint", InvalidInput),
        ("buyer", ZERO, "policy: empty fingerprint", InvalidInput),
        ("limit", 0, "policy: invalid limit or currency", InvalidInput),
        ("currency", 0, "policy: invalid limit or currency", InvalidInput),
        ("currency", 1_000, "policy: invalid limit or currency", InvalidInput),
    ],
)
def test_register_policy_refuses_malformed_terms(
    policy_financing, insurer, field, value, message, error
):
    terms = {
        "policy": fp("policy-bad"),
        "firm": FIRM_A,
        "buyer": BUYER,
        "limit": 1_000,
        "currency": USD,
        "valid_until": FAR,
    }
    terms[field] = value
    with reverts(message, error):
        policy_financing.register_policy(*terms.values(), sender=insurer)
    # The same terms, well formed, are accepted.
    policy_financing.register_policy(
        fp("policy-good"), FIRM_A, BUYER, 1_000, USD, FAR, sender=insurer
    )


def test_only_an_insurer_acts_as_the_insurer(
    policy_financing, consortium, regulator, customs_op, accounts
):
    """Customs holds REGISTER on the platform, not in policies; an insurer needs REGISTER in the
    policy scenario; and the stage granted to another kind (a row the regulator might define)
    does not make it an insurer."""
    args = (fp("policy-x"), FIRM_A, BUYER, 1_000, USD, FAR)
    with reverts("consortium: account lacks the role", MissingRole):
        policy_financing.register_policy(*args, sender=customs_op)
    clerk = accounts[6]
    onboard(consortium, regulator, "policy-logistics", ParticipantKind.LOGISTICS, clerk)
    consortium.define_roles(POL, ParticipantKind.LOGISTICS, Stage.REGISTER, sender=regulator)
    consortium.set_roles(clerk, POL, Stage.REGISTER, sender=regulator)
    with reverts("policy: caller is not an insurer", AccessDenied):
        policy_financing.register_policy(*args, sender=clerk)
    with reverts("policy: caller is not an insurer", AccessDenied):
        policy_financing.declare_shipment(fp("anything"), POLICY, 1, sender=clerk)


def test_declare_shipments_and_confirm_cover(policy_financing, ledger, customs_op, insurer):
    declaration = fp("shipment-1")
    register(ledger, customs_op, [(declaration, FIRM_A, 10_000, USD)])

    tx = policy_financing.declare_shipment(declaration, POLICY, 9_000, sender=insurer)

    assert only_event(tx, policy_financing.ShipmentDeclared) == {
        "declaration": declaration,
        "policy": POLICY,
        "insured": 9_000,
    }
    assert policy_financing.shipment(declaration) == (POLICY, 9_000, False)

    tx = policy_financing.confirm_cover(declaration, sender=insurer)

    assert only_event(tx, policy_financing.CoverConfirmed) == {
        "declaration": declaration,
        "policy": POLICY,
        "by": insurer.address,
    }
    assert policy_financing.shipment(declaration) == (POLICY, 9_000, True)
    assert policy_financing.shipment(fp("not-a-shipment")) == (ZERO, 0, False)


def test_shipment_refusals(policy_financing, insurer, ship):
    declaration = ship("shipment-twice")
    with reverts("policy: shipment already declared", Conflict):
        policy_financing.declare_shipment(declaration, POLICY, 1, sender=insurer)
    with reverts("policy: invalid limit or currency", InvalidInput):
        policy_financing.declare_shipment(fp("zero-insured"), POLICY, 0, sender=insurer)
    with reverts("policy: unknown policy", UnknownEntity):
        policy_financing.declare_shipment(fp("no-policy"), fp("unknown-policy"), 1, sender=insurer)
    with reverts("policy: the declaration is not an insured shipment", InvalidInput):
        policy_financing.confirm_cover(fp("undeclared"), sender=insurer)


def test_a_shipment_on_an_unregistered_or_another_firms_declaration_is_refused(
    policy_financing, ledger, customs_op, insurer
):
    """The insurer declares a shipment only on an export declaration customs registered for the
    policy's insured firm (POLICY is FIRM_A's): not on one not registered (yet), voided,
    registered as an import declaration, or another firm's, which is a shipment under that
    firm's policy instead."""
    declaration, theirs, voided = fp("owned"), fp("owned-by-b"), fp("owned-voided")
    with reverts(NOT_THE_FIRMS, InvalidInput):  # not registered yet
        policy_financing.declare_shipment(declaration, POLICY, 1_000, sender=insurer)
    register(
        ledger, customs_op, [(declaration, FIRM_A, 10_000, USD)], DocumentType.IMPORT_DECLARATION
    )
    register(ledger, customs_op, [(theirs, FIRM_B, 10_000, USD), (voided, FIRM_A, 10_000, USD)])
    ledger.void(EXPORT, [voided], sender=customs_op)
    for refused in (declaration, theirs, voided):  # an import declaration, FIRM_B's, voided
        with reverts(NOT_THE_FIRMS, InvalidInput):
            policy_financing.declare_shipment(refused, POLICY, 1_000, sender=insurer)
        assert policy_financing.shipment(refused) == (ZERO, 0, False)

    register(ledger, customs_op, [(declaration, FIRM_A, 10_000, USD)])  # the export declaration
    tx = policy_financing.declare_shipment(declaration, POLICY, 1_000, sender=insurer)

    assert only_event(tx, policy_financing.ShipmentDeclared)["declaration"] == declaration
    # FIRM_B's declaration is a shipment under FIRM_B's policy.
    policy_of_b = fp("policy-of-firm-b")
    policy_financing.register_policy(policy_of_b, FIRM_B, BUYER, LIMIT, USD, FAR, sender=insurer)
    policy_financing.declare_shipment(theirs, policy_of_b, 1_000, sender=insurer)
    assert policy_financing.shipment(theirs) == (policy_of_b, 1_000, False)


_INSURER_CALLS = {
    "declare_shipment": lambda c, d, x, s: c.declare_shipment(x["fresh"], POLICY, 1, sender=s),
    "confirm_cover": lambda c, d, x, s: c.confirm_cover(d, sender=s),
    "confirm_assignment": lambda c, d, x, s: c.confirm_assignment(POLICY, x["bank"], sender=s),
    "notify_loss": lambda c, d, x, s: c.notify_loss(d, 100, sender=s),
    "file_claim": lambda c, d, x, s: c.file_claim(d, 100, sender=s),
    "settle_claim": lambda c, d, x, s: c.settle_claim(x["claim"], 100, sender=s),
}


@pytest.mark.parametrize("function", list(_INSURER_CALLS))
def test_another_insurer_cannot_act_on_the_policy(
    policy_financing, ledger, customs_op, insurer, insurer_2, ship, bank_b, firm_accounts, function
):
    """Everything on a policy is its own insurer's: another insurer's operator, holding the same
    stage, is refused; the policy's insurer then does it."""
    declaration = ship("other-insurer", cover=False)
    # A claim for settle_claim, bank B's pending assignment for confirm_assignment, and the
    # insured firm's registered declaration, not yet a shipment, for declare_shipment.
    fresh = fp("other-decl")
    register(ledger, customs_op, [(fresh, FIRM_A, 10_000, USD)])
    ctx = {
        "claim": _claim(policy_financing, insurer, declaration, 500),
        "bank": bank_b.id,
        "fresh": fresh,
    }
    signed = sign_assignment(policy_financing, firm_accounts[FIRM_A], POLICY, FIRM_A, bank_b.id)
    policy_financing.request_assignment(POLICY, *signed, sender=bank_b.opener)
    call = _INSURER_CALLS[function]

    with reverts("policy: the policy belongs to another insurer", AccessDenied):
        call(policy_financing, declaration, ctx, insurer_2)

    tx = call(policy_financing, declaration, ctx, insurer)
    assert tx.logs


################################################################
#            CLAIM-RIGHTS ASSIGNMENT (赔款权益转让)             #
################################################################


@pytest.fixture
def policy_b(policy_financing, insurer):
    """A new policy of FIRM_A (USD, limit 50,000), not yet assigned to any bank."""
    p = fp("policy-unassigned")
    policy_financing.register_policy(p, FIRM_A, BUYER, LIMIT, USD, FAR, sender=insurer)
    return p


def test_claim_rights_assignment(policy_financing, insurer, policy_b, bank_b, firm_accounts):
    """The firm signs the EIP-712 `ClaimAssignment`, bank B's SERVICE operator submits it, the
    insurer confirms it: bank B becomes the policy's assignee."""
    until, nonce, signature = sign_assignment(
        policy_financing, firm_accounts[FIRM_A], policy_b, FIRM_A, bank_b.id, nonce=7
    )
    # The contract's digest is the EIP-712 digest of the typed data the firm signs.
    message = assignment_message(policy_financing, policy_b, FIRM_A, bank_b.id, until, nonce)
    digest = policy_financing.assignment_digest(policy_b, FIRM_A, bank_b.id, until, nonce)
    signable = encode_typed_data(full_message=message)
    assert Account._recover_hash(digest, signature=signature) == firm_accounts[FIRM_A].address
    assert Account.recover_message(signable, signature=signature) == firm_accounts[FIRM_A].address

    tx = policy_financing.request_assignment(
        policy_b, until, nonce, signature, sender=bank_b.opener
    )

    assert only_event(tx, policy_financing.AssignmentRequested) == {
        "policy": policy_b,
        "bank": bank_b.id,
        "by": bank_b.opener.address,
    }
    assert policy_financing.assignment_nonce_used(FIRM_A, nonce)
    assert _policy(policy_financing, policy_b)["pending"] == bank_b.id
    assert _policy(policy_financing, policy_b)["assignee"] == ZERO

    tx = policy_financing.confirm_assignment(policy_b, bank_b.id, sender=insurer)

    assert only_event(tx, policy_financing.ClaimsAssigned) == {
        "policy": policy_b,
        "bank": bank_b.id,
        "by": insurer.address,
    }
    assert (
        _policy(policy_financing, policy_b)["assignee"],
        _policy(policy_financing, policy_b)["pending"],
    ) == (bank_b.id, ZERO)
    # Nothing awaits the insurer any more.
    with reverts("policy: no such assignment awaits the insurer", WrongState):
        policy_financing.confirm_assignment(policy_b, bank_b.id, sender=insurer)


def test_confirm_only_the_assignment_that_awaits(
    policy_financing, insurer, policy_b, bank_a, bank_b, firm_accounts
):
    with reverts("policy: no such assignment awaits the insurer", WrongState):
        policy_financing.confirm_assignment(policy_b, bank_a.id, sender=insurer)
    signed = sign_assignment(policy_financing, firm_accounts[FIRM_A], policy_b, FIRM_A, bank_b.id)
    policy_financing.request_assignment(policy_b, *signed, sender=bank_b.opener)
    for bank in (bank_a.id, ZERO):  # not the bank the firm named
        with reverts("policy: no such assignment awaits the insurer", WrongState):
            policy_financing.confirm_assignment(policy_b, bank, sender=insurer)
    policy_financing.confirm_assignment(policy_b, bank_b.id, sender=insurer)


def test_assignment_replay_is_refused(policy_financing, policy_b, bank_b, firm_accounts):
    signed = sign_assignment(policy_financing, firm_accounts[FIRM_A], policy_b, FIRM_A, bank_b.id)
    policy_financing.request_assignment(policy_b, *signed, sender=bank_b.opener)
    with reverts("policy: assignment consent already used", ConsentInvalid):
        policy_financing.request_assignment(policy_b, *signed, sender=bank_b.opener)


def test_assignment_expires(policy_financing, policy_b, bank_b, firm_accounts, chain):
    until = chain.pending_timestamp + 1_000
    signer = firm_accounts[FIRM_A]
    late = sign_assignment(policy_financing, signer, policy_b, FIRM_A, bank_b.id, valid_until=until)
    chain.mine(timestamp=until + 1)
    with reverts("policy: the assignment consent expired", ConsentInvalid):
        policy_financing.request_assignment(policy_b, *late, sender=bank_b.opener)
    assert not policy_financing.assignment_nonce_used(FIRM_A, late[1])
    fresh = sign_assignment(policy_financing, signer, policy_b, FIRM_A, bank_b.id)
    policy_financing.request_assignment(policy_b, *fresh, sender=bank_b.opener)


@pytest.mark.parametrize("who", ["bank's own account", "another firm's account", "outsider"])
def test_assignment_signed_by_an_account_not_bound_to_the_firm_is_refused(
    policy_financing, policy_b, bank_b, firm_accounts, outsider, who
):
    by = {
        "bank's own account": bank_b.opener,
        "another firm's account": firm_accounts[FIRM_B],
        "outsider": outsider,
    }[who]
    signed = sign_assignment(policy_financing, by, policy_b, FIRM_A, bank_b.id)
    with reverts(NOT_SIGNED, ConsentInvalid):
        policy_financing.request_assignment(policy_b, *signed, sender=bank_b.opener)
    assert _policy(policy_financing, policy_b)["pending"] == ZERO


@pytest.mark.parametrize("what", ["another bank", "another contract", "another chain"])
def test_assignment_signed_for_something_else_is_refused(
    policy_financing, consortium, policy_b, bank_a, bank_b, firm_accounts, what
):
    """The digest binds the bank (the submitter's), this contract and this chain."""
    signer = firm_accounts[FIRM_A]
    bank, domain = bank_b.id, {}
    if what == "another bank":
        bank = bank_a.id  # signed for bank A, submitted by bank B
    elif what == "another contract":
        domain = {"verifying_contract": consortium.address}
    else:
        domain = {"chain_id": 1}
    signed = sign_assignment(policy_financing, signer, policy_b, FIRM_A, bank, **domain)
    with reverts(NOT_SIGNED, ConsentInvalid):
        policy_financing.request_assignment(policy_b, *signed, sender=bank_b.opener)


def test_assignment_high_s_signature_is_refused(policy_financing, policy_b, bank_b, firm_accounts):
    """The malleated twin (s' = n - s, v flipped) recovers the same signer, yet is refused."""
    until, nonce, signature = sign_assignment(
        policy_financing, firm_accounts[FIRM_A], policy_b, FIRM_A, bank_b.id
    )
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    assert s <= SECP256K1_N // 2
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    with reverts("ecdsa: invalid signature `s` value", ConsentInvalid):
        policy_financing.request_assignment(policy_b, until, nonce, twin, sender=bank_b.opener)
    policy_financing.request_assignment(policy_b, until, nonce, signature, sender=bank_b.opener)


def test_assignment_of_an_unknown_policy_or_without_the_stage_is_refused(
    policy_financing, policy_b, bank_b, firm_accounts
):
    signer = firm_accounts[FIRM_A]
    unknown = fp("policy-unknown")
    signed = sign_assignment(policy_financing, signer, unknown, FIRM_A, bank_b.id)
    with reverts("policy: unknown policy", UnknownEntity):
        policy_financing.request_assignment(unknown, *signed, sender=bank_b.opener)
    signed = sign_assignment(policy_financing, signer, policy_b, FIRM_A, bank_b.id)
    with reverts("consortium: account lacks the role", MissingRole):
        policy_financing.request_assignment(policy_b, *signed, sender=bank_b.applicant)


################################################################
#                          FINANCING                           #
################################################################


def test_finance_an_insured_shipment(policy_financing, ledger, bank_a, ship):
    declaration = ship("financed", face=10_000, insured=10_000)

    fid = apply(policy_financing, bank_a, FIRM_A, [declaration], [8_000])

    assert fid != 0
    f = policy_financing.financing(fid)
    assert (f.state, f.requested, f.doc_type, f.bank) == (S.APPLIED, 8_000, EXPORT, bank_a.id)
    assert held(ledger, declaration) == 8_000
    assert ledger.hold_record(policy_financing, fid, EXPORT, declaration) == (
        8_000,
        0,
        bank_a.id[:16],
    )
    assert _policy(policy_financing)["used"] == 8_000
    advance(policy_financing, bank_a, fid, S.CLOSED)
    assert _policy(policy_financing)["used"] == 0  # closed: the buyer limit is free again
    assert ledger.document(EXPORT, declaration)[:3] == (DocumentStatus.PARTLY_USED, 10_000, 8_000)


def test_only_the_assignee_bank_may_finance(
    policy_financing, insurer, bank_a, bank_b, ship, policy_b, firm_accounts
):
    declaration = ship("assignee-only")
    with reverts(NOT_ASSIGNED, AccessDenied):
        policy_financing.apply(FIRM_A, USD, [declaration], [100], sender=bank_b.applicant)
    assert apply(policy_financing, bank_a, FIRM_A, [declaration], [100]) != 0

    # A policy whose assignment awaits the insurer: no bank finances it yet.
    other = ship("pending-policy", policy=policy_b)
    signed = sign_assignment(policy_financing, firm_accounts[FIRM_A], policy_b, FIRM_A, bank_b.id)
    policy_financing.request_assignment(policy_b, *signed, sender=bank_b.opener)
    with reverts(NOT_ASSIGNED, AccessDenied):
        policy_financing.apply(FIRM_A, USD, [other], [100], sender=bank_b.applicant)
    policy_financing.confirm_assignment(policy_b, bank_b.id, sender=insurer)
    assert apply(policy_financing, bank_b, FIRM_A, [other], [100]) != 0


def test_shipment_must_be_declared_and_covered(
    policy_financing, ledger, customs_op, bank_a, ship, insurer
):
    uncovered = ship("uncovered", cover=False)
    with reverts("policy: the shipment's cover is not confirmed", WrongState):
        policy_financing.apply(FIRM_A, USD, [uncovered], [100], sender=bank_a.applicant)
    policy_financing.confirm_cover(uncovered, sender=insurer)
    assert apply(policy_financing, bank_a, FIRM_A, [uncovered], [100]) != 0

    # A registered export declaration that no insurer declared: not an insured shipment.
    plain = fp("plain-declaration")
    register(ledger, customs_op, [(plain, FIRM_A, 10_000, USD)])
    with reverts("policy: the declaration is not an insured shipment", InvalidInput):
        policy_financing.apply(FIRM_A, USD, [plain], [100], sender=bank_a.applicant)


def test_one_financing_cites_shipments_of_one_policy(
    policy_financing, insurer, bank_a, ship, policy_b, firm_accounts
):
    _assign(policy_financing, insurer, firm_accounts[FIRM_A], policy_b, FIRM_A, bank_a)
    first, second = ship("one-policy"), ship("other-policy", policy=policy_b)
    with reverts("policy: one financing cites shipments of one policy", InvalidInput):
        policy_financing.apply(FIRM_A, USD, [first, second], [100, 100], sender=bank_a.applicant)
    third = ship("same-policy")
    assert apply(policy_financing, bank_a, FIRM_A, [first, third], [100, 100]) != 0


def test_amount_at_most_insured_times_the_advance_ratio(policy_financing, bank_a, ship):
    """Insured 5,000 at 80 %: 4,000 passes, 4,001 does not (each shipment of an application)."""
    one, two = ship("ratio-1", insured=5_000), ship("ratio-2", insured=5_000)
    with reverts(RATIO_MESSAGE, LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [one, two], [4_000, 4_001], sender=bank_a.applicant)
    assert apply(policy_financing, bank_a, FIRM_A, [one, two], [4_000, 4_000]) != 0


def test_advance_ratio_caps_the_total_financed_against_a_shipment(
    policy_financing, ledger, bank_a, ship
):
    """Insured 5,000 at 80 %: 4,000 in all may be financed against the shipment, however many
    applications, though its declaration (10,000) has more left."""
    declaration = ship("ratio-total", face=10_000, insured=5_000)
    assert apply(policy_financing, bank_a, FIRM_A, [declaration], [3_000]) != 0
    with reverts(RATIO_MESSAGE, LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [declaration], [1_001], sender=bank_a.applicant)
    assert apply(policy_financing, bank_a, FIRM_A, [declaration], [1_000]) != 0
    assert ledger.held_of(EXPORT, declaration) == 4_000
    with reverts(RATIO_MESSAGE, LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [declaration], [1], sender=bank_a.applicant)
    assert _policy(policy_financing)["used"] == 4_000


@pytest.mark.parametrize("end", [S.REJECTED, S.WITHDRAWN, S.CLOSED], ids=lambda s: s.name)
def test_the_cap_counts_what_an_ended_financing_still_holds(
    policy_financing, ledger, bank_a, ship, end
):
    """Rejected or withdrawn, a financing frees its hold on the declaration and with it the
    advance-ratio cap; repaid, its hold is consumed and still counts: the cap stays spent."""
    declaration = ship(f"ratio-{end.name}", face=10_000, insured=5_000)
    fid = apply(policy_financing, bank_a, FIRM_A, [declaration], [4_000])

    advance(policy_financing, bank_a, fid, end)

    assert _policy(policy_financing)["used"] == 0  # the buyer limit is free in every case
    if end == S.CLOSED:
        assert ledger.held_of(EXPORT, declaration) == 4_000
        with reverts(RATIO_MESSAGE, LimitExceeded):
            policy_financing.apply(FIRM_A, USD, [declaration], [1], sender=bank_a.applicant)
    else:
        assert ledger.held_of(EXPORT, declaration) == 0
        assert apply(policy_financing, bank_a, FIRM_A, [declaration], [4_000]) != 0


@pytest.mark.parametrize("receivable", ["live", "repaid"])
def test_the_cap_counts_a_receivable_held_on_the_declaration(
    policy_financing, receivables, ledger, bank_a, bank_b, ship, receivable
):
    """Insured 5,000 at 80 % (4,000) on a declaration of 10,000: a receivable of 3,000 at bank B,
    live or repaid, leaves the policy financing 1,000 under the cap, though the declaration
    itself has 7,000 left; the receivable withdrawn, the 3,000 are under the cap again."""
    declaration = ship(f"receivable-then-policy-{receivable}", face=10_000, insured=5_000)
    fid = apply(receivables, bank_b, FIRM_A, [declaration], [3_000])
    if receivable == "repaid":
        advance(receivables, bank_b, fid, S.CLOSED)
    assert ledger.held_of(EXPORT, declaration) == 3_000

    with reverts(RATIO_MESSAGE, LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [declaration], [1_001], sender=bank_a.applicant)
    assert apply(policy_financing, bank_a, FIRM_A, [declaration], [1_000]) != 0

    assert ledger.held_of(EXPORT, declaration) == 4_000
    with reverts(RATIO_MESSAGE, LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [declaration], [1], sender=bank_a.applicant)
    if receivable == "live":
        advance(receivables, bank_b, fid, S.WITHDRAWN)
        assert apply(policy_financing, bank_a, FIRM_A, [declaration], [3_000]) != 0
        assert ledger.held_of(EXPORT, declaration) == 4_000


def test_advance_ratio_is_set_by_the_regulator(
    policy_financing, regulator, bank_a, bank_b, outsider, ship
):
    declaration = ship("ratio-zero")
    tx = policy_financing.set_advance_ratio(bank_a.id, 0, sender=regulator)
    assert only_event(tx, policy_financing.AdvanceRatioSet) == {
        "bank": bank_a.id,
        "ratio_bps": 0,
        "by": regulator.address,
    }
    # 0 finances nothing, not even one unit.
    with reverts(RATIO_MESSAGE, LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [declaration], [1], sender=bank_a.applicant)

    with reverts("policy: the advance ratio is at most 100 %", InvalidInput):
        policy_financing.set_advance_ratio(bank_a.id, 10_001, sender=regulator)
    for who in (bank_a.applicant, bank_a.opener, outsider):
        with reverts("policy: caller is not the regulator", NotRegulator):
            policy_financing.set_advance_ratio(bank_a.id, 10_000, sender=who)
    policy_financing.set_advance_ratio(bank_a.id, 10_000, sender=regulator)
    assert policy_financing.advance_ratio_bps(bank_a.id) == 10_000
    assert policy_financing.advance_ratio_bps(bank_b.id) == RATIO  # per bank
    assert apply(policy_financing, bank_a, FIRM_A, [declaration], [10_000]) != 0


def test_total_at_most_the_buyer_credit_limit_left(policy_financing, insurer, bank_a, ship):
    """LIMIT 50,000: 30,000 + 20,000 pass across two financings, one more unit does not."""
    docs = [ship(f"limit-{i}", face=100_000, insured=100_000) for i in range(3)]
    fid = apply(policy_financing, bank_a, FIRM_A, docs[:2], [15_000, 15_000])
    assert _policy(policy_financing)["used"] == 30_000
    with reverts("policy: the amount exceeds the buyer credit limit left", LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [docs[2]], [20_001], sender=bank_a.applicant)
    assert apply(policy_financing, bank_a, FIRM_A, [docs[2]], [20_000]) != 0
    assert _policy(policy_financing)["used"] == LIMIT
    assert fid != 0


@pytest.mark.parametrize("end", ["reject", "withdraw", "close", "partial repayment"])
def test_buyer_credit_limit_is_freed_when_the_financing_ends(
    policy_financing, ledger, bank_a, ship, end
):
    docs = [ship(f"free-limit-{end}-{i}", face=100_000, insured=100_000) for i in range(2)]
    fid = apply(policy_financing, bank_a, FIRM_A, [docs[0]], [LIMIT])
    with reverts("policy: the amount exceeds the buyer credit limit left", LimitExceeded):
        policy_financing.apply(FIRM_A, USD, [docs[1]], [1], sender=bank_a.applicant)

    if end == "reject":
        advance(policy_financing, bank_a, fid, S.REJECTED)
    elif end == "withdraw":
        advance(policy_financing, bank_a, fid, S.WITHDRAWN)
    elif end == "close":
        advance(policy_financing, bank_a, fid, S.CLOSED)
    else:
        advance(policy_financing, bank_a, fid, S.DISBURSED)
        policy_financing.register_repayment(fid, LIMIT - 1, sender=bank_a.repayer)

    if end == "partial repayment":  # still live: the limit stays used
        assert _policy(policy_financing)["used"] == LIMIT
        with reverts("policy: the amount exceeds the buyer credit limit left", LimitExceeded):
            policy_financing.apply(FIRM_A, USD, [docs[1]], [1], sender=bank_a.applicant)
        return
    assert _policy(policy_financing)["used"] == 0
    assert apply(policy_financing, bank_a, FIRM_A, [docs[1]], [LIMIT]) != 0
    # Rejection and withdrawal free the declaration too; closing keeps it used.
    assert held(ledger, docs[0]) == (LIMIT if end == "close" else 0)


def test_currency_must_be_the_policys(policy_financing, ledger, bank_a, ship):
    declaration = ship("currency")
    with reverts("policy: the currency is not the policy's", InvalidInput):
        policy_financing.apply(FIRM_A, CNY, [declaration], [100], sender=bank_a.applicant)
    # A shipment whose declaration is in another currency than the policy's: the ledger's
    # verification records the mismatch.
    in_cny = ship("declared-in-cny", currency=CNY)
    tx = policy_financing.apply(FIRM_A, USD, [in_cny], [100], sender=bank_a.applicant)
    assert _failed(policy_financing, tx) == (Reason.CURRENCY_MISMATCH, in_cny, 100)
    assert _policy(policy_financing)["used"] == 0


def test_firm_must_be_the_insured_firm(policy_financing, ledger, bank_a, ship):
    """Another firm (FIRM_B, which opened the service at bank A too) is refused against FIRM_A's
    policy, nothing held, the buyer limit untouched; the insured firm then finances it."""
    declaration = ship("insured-firm")

    with reverts("policy: the firm is not the insured firm", InvalidInput):
        policy_financing.apply(FIRM_B, USD, [declaration], [100], sender=bank_a.applicant)

    assert ledger.held_of(EXPORT, declaration) == 0
    assert _policy(policy_financing)["used"] == 0
    assert apply(policy_financing, bank_a, FIRM_A, [declaration], [100]) != 0


def test_a_shipment_whose_declaration_is_voided_is_not_found(
    policy_financing, ledger, customs_op, bank_a, ship
):
    """Customs voids a shipment's free declaration (a correction): the shipment stays declared
    but cannot be financed until the declaration is registered again (recorded, not reverted,
    and the limit stays free)."""
    declaration = ship("voided-after-declared")
    ledger.void(EXPORT, [declaration], sender=customs_op)

    tx = policy_financing.apply(FIRM_A, USD, [declaration], [100], sender=bank_a.applicant)

    assert _failed(policy_financing, tx) == (Reason.NOT_FOUND, declaration, 100)
    assert policy_financing.verification_failures(bank_a.id, Reason.NOT_FOUND) == 1
    assert _policy(policy_financing)["used"] == 0
    register(ledger, customs_op, [(declaration, FIRM_A, 10_000, USD)])
    assert apply(policy_financing, bank_a, FIRM_A, [declaration], [100]) != 0


def test_a_shipment_declaration_registered_again_for_another_firm_is_not_financed(
    policy_financing, ledger, customs_op, bank_a, ship
):
    """A shipment under FIRM_A's policy whose declaration customs voided and registered again
    as FIRM_B's: no financing of FIRM_B against FIRM_A's policy (refused or recorded)."""
    declaration = ship("registered-again-for-b")
    ledger.void(EXPORT, [declaration], sender=customs_op)
    register(ledger, customs_op, [(declaration, FIRM_B, 10_000, USD)])
    assert ledger.is_owned_by(EXPORT, declaration, FIRM_B)

    with reverts("policy: the firm is not the insured firm", InvalidInput):
        policy_financing.apply(FIRM_B, USD, [declaration], [100], sender=bank_a.applicant)

    assert _policy(policy_financing)["used"] == 0
    assert ledger.held_of(EXPORT, declaration) == 0


def test_expired_policy_is_refused(
    policy_financing, ledger, customs_op, insurer, bank_a, firm_accounts, chain
):
    until = chain.pending_timestamp + 1_000
    p = fp("policy-expiring")
    policy_financing.register_policy(p, FIRM_A, BUYER, LIMIT, USD, until, sender=insurer)
    _assign(policy_financing, insurer, firm_accounts[FIRM_A], p, FIRM_A, bank_a)
    declaration = _shipment(policy_financing, ledger, customs_op, insurer, "expiring", policy=p)
    fid = apply(policy_financing, bank_a, FIRM_A, [declaration], [100])
    assert fid != 0

    chain.mine(timestamp=until + 1)

    with reverts("policy: the policy has expired", WrongState):
        policy_financing.apply(FIRM_A, USD, [declaration], [100], sender=bank_a.applicant)
    advance(policy_financing, bank_a, fid, S.CLOSED)  # the live financing winds down


def test_maker_checker_holds_in_the_wrapped_review(
    policy_financing, consortium, regulator, bank_a, ship
):
    declaration = ship("maker-checker")
    consortium.set_roles(bank_a.applicant, POL, Stage.APPLY | Stage.REVIEW, sender=regulator)
    fid = apply(policy_financing, bank_a, FIRM_A, [declaration], [100])
    advance(policy_financing, bank_a, fid, S.ACCEPTED)
    with reverts("financing: the applicant may not review", MakerCheckerViolation):
        policy_financing.review(fid, False, sender=bank_a.applicant)
    assert _policy(policy_financing)["used"] == 100
    policy_financing.review(fid, False, sender=bank_a.reviewer)
    assert _policy(policy_financing)["used"] == 0


################################################################
#       ONE GUARD FOR RECEIVABLES AND INSURED SHIPMENTS        #
################################################################


@pytest.mark.parametrize("receivable_bank", ["bank_a", "bank_b"])
@pytest.mark.parametrize(
    ("financed", "asked", "reason"),
    [(10_000, 1, Reason.DUPLICATE), (6_000, 4_001, Reason.OVER_FINANCED)],
    ids=["duplicate", "over-financing"],
)
def test_a_receivable_cannot_be_financed_again_as_an_insured_shipment(
    policy_financing,
    receivables,
    ledger,
    bank_a,
    bank_b,
    ship,
    receivable_bank,
    financed,
    asked,
    reason,
):
    """Financed as a receivable at any bank, the declaration has only the rest left for policy
    financing: recorded as a failed verification with the ledger's reason, nothing held, the
    buyer limit untouched. The shipment is insured above the declaration's face (20,000 at 80 %:
    16,000 for 10,000), so the ledger's guard refuses what the advance-ratio cap would let pass
    (`test_the_cap_counts_a_receivable_held_on_the_declaration` has the cap refuse first)."""
    declaration = ship(f"receivable-first-{receivable_bank}-{reason.name}", insured=20_000)
    bank = {"bank_a": bank_a, "bank_b": bank_b}[receivable_bank]
    assert apply(receivables, bank, FIRM_A, [declaration], [financed]) != 0

    tx = policy_financing.apply(FIRM_A, USD, [declaration], [asked], sender=bank_a.applicant)

    assert _failed(policy_financing, tx) == (reason, declaration, asked)
    assert events(tx, ledger.AmountHeld) == []
    assert policy_financing.verification_failures(bank_a.id, reason) == 1
    assert _policy(policy_financing)["used"] == 0
    assert held(ledger, declaration) == financed
    if reason == Reason.OVER_FINANCED:  # the rest is there to finance
        assert apply(policy_financing, bank_a, FIRM_A, [declaration], [asked - 1]) != 0


@pytest.mark.parametrize("receivable_bank", ["bank_a", "bank_b"])
@pytest.mark.parametrize(
    ("financed", "asked", "reason"),
    [(10_000, 1, Reason.DUPLICATE), (6_000, 4_001, Reason.OVER_FINANCED)],
    ids=["duplicate", "over-financing"],
)
def test_an_insured_shipment_cannot_be_financed_again_as_a_receivable(
    policy_financing,
    receivables,
    ledger,
    regulator,
    bank_a,
    bank_b,
    ship,
    receivable_bank,
    financed,
    asked,
    reason,
):
    """Financed as an insured shipment at its assignee bank, the declaration has only the rest
    left for receivables financing at any bank; once the policy financing is rejected, the
    receivable may use all of it."""
    declaration = ship(f"insured-first-{receivable_bank}-{reason.name}")
    policy_financing.set_advance_ratio(bank_a.id, 10_000, sender=regulator)
    fid = apply(policy_financing, bank_a, FIRM_A, [declaration], [financed])
    assert fid != 0
    bank = {"bank_a": bank_a, "bank_b": bank_b}[receivable_bank]

    tx = receivables.apply(FIRM_A, USD, [declaration], [asked], sender=bank.applicant)

    assert _failed(receivables, tx) == (reason, declaration, asked)
    assert receivables.verification_failures(bank.id, reason) == 1
    assert held(ledger, declaration) == financed
    advance(policy_financing, bank_a, fid, S.REJECTED)
    assert apply(receivables, bank, FIRM_A, [declaration], [10_000]) != 0


################################################################
#                LOSS NOTICES AND CLAIMS (理赔)                 #
################################################################


def test_loss_notice_names_the_assignee_bank(policy_financing, insurer, bank_a, ship, policy_b):
    declaration = ship("loss")
    tx = policy_financing.notify_loss(declaration, 2_500, sender=insurer)
    assert only_event(tx, policy_financing.LossNotified) == {
        "policy": POLICY,
        "bank": bank_a.id,  # indexed: the assignee bank filters its own
        "declaration": declaration,
        "amount": 2_500,
        "by": insurer.address,
    }
    # A policy not assigned yet: no bank to name.
    unassigned = ship("loss-unassigned", policy=policy_b)
    tx = policy_financing.notify_loss(unassigned, 1, sender=insurer)
    assert only_event(tx, policy_financing.LossNotified)["bank"] == ZERO
    with reverts("policy: the declaration is not an insured shipment", InvalidInput):
        policy_financing.notify_loss(fp("no-shipment"), 1, sender=insurer)


def test_claims_are_filed_then_paid_or_declined(policy_financing, insurer, bank_a, ship):
    declaration = ship("claim")
    count = policy_financing.claim_count()

    tx = policy_financing.file_claim(declaration, 1_000, sender=insurer)

    filed = only_event(tx, policy_financing.ClaimUpdated)
    claim_id = count + 1
    assert filed == {
        "claim_id": claim_id,
        "policy": POLICY,
        "bank": bank_a.id,
        "declaration": declaration,
        "status": FILED,
        "amount": 1_000,
        "by": insurer.address,
    }
    assert policy_financing.claim_count() == claim_id
    assert policy_financing.claim(claim_id) == (POLICY, declaration, FILED, 1_000, 0, 0)

    tx = policy_financing.settle_claim(claim_id, 600, sender=insurer)

    assert only_event(tx, policy_financing.ClaimUpdated) == {
        **filed,
        "status": PAID,
        "amount": 600,
    }
    assert policy_financing.claim(claim_id) == (POLICY, declaration, PAID, 1_000, 600, 0)
    with reverts("policy: the claim is already settled", WrongState):
        policy_financing.settle_claim(claim_id, 1, sender=insurer)

    declined = _claim(policy_financing, insurer, declaration, 1_000)
    tx = policy_financing.settle_claim(declined, 0, sender=insurer)
    logged = only_event(tx, policy_financing.ClaimUpdated)
    assert (logged["status"], logged["amount"], logged["bank"]) == (DECLINED, 0, bank_a.id)
    assert policy_financing.claim(declined)[2:] == (DECLINED, 1_000, 0, 0)
    with reverts("policy: the claim is already settled", WrongState):
        policy_financing.settle_claim(declined, 1, sender=insurer)


def test_claim_refusals(policy_financing, insurer, ship):
    declaration = ship("claim-refusals")
    with reverts("policy: amount must be positive", InvalidInput):
        policy_financing.file_claim(declaration, 0, sender=insurer)
    with reverts("policy: the declaration is not an insured shipment", InvalidInput):
        policy_financing.file_claim(fp("no-shipment"), 1, sender=insurer)
    claim_id = _claim(policy_financing, insurer, declaration, 1_000)
    with reverts("policy: the payment exceeds the claim", InvalidInput):
        policy_financing.settle_claim(claim_id, 1_001, sender=insurer)
    with reverts("policy: unknown claim", UnknownEntity):
        policy_financing.settle_claim(claim_id + 1, 1, sender=insurer)
    policy_financing.settle_claim(claim_id, 1_000, sender=insurer)


@pytest.fixture
def disbursed(policy_financing, bank_a, ship):
    """A financing of 8,000 against a shipment under POLICY, disbursed in full: (id, shipment)."""
    declaration = ship("claim-repaid")
    fid = apply(policy_financing, bank_a, FIRM_A, [declaration], [8_000])
    advance(policy_financing, bank_a, fid, S.DISBURSED)
    return fid, declaration


def test_a_paid_claim_repays_up_to_the_outstanding_amount_and_closes(
    policy_financing, ledger, insurer, bank_a, ship, disbursed
):
    fid, declaration = disbursed
    first = _claim(policy_financing, insurer, declaration, 5_000, paid=5_000)

    tx = policy_financing.register_claim_repayment(fid, first, sender=bank_a.repayer)

    assert only_event(tx, policy_financing.ClaimRepayment) == {
        "financing_id": fid,
        "claim_id": first,
        "amount": 5_000,
        "by": bank_a.repayer.address,
    }
    repaid = only_event(tx, policy_financing.RepaymentRegistered)
    assert (repaid["amount"], repaid["repaid"], repaid["closed"]) == (5_000, 5_000, False)
    assert policy_financing.claim(first)[3:] == (5_000, 5_000, 5_000)  # claimed, paid, applied
    with reverts("policy: nothing of the claim is left to apply", WrongState):
        policy_financing.register_claim_repayment(fid, first, sender=bank_a.repayer)

    # A second paid claim of 5,000 repays the 3,000 outstanding and closes the financing.
    second = _claim(policy_financing, insurer, declaration, 6_000, paid=5_000)
    tx = policy_financing.register_claim_repayment(fid, second, sender=bank_a.repayer)

    assert only_event(tx, policy_financing.ClaimRepayment)["amount"] == 3_000
    assert only_event(tx, policy_financing.RepaymentRegistered)["closed"] is True
    f = policy_financing.financing(fid)
    assert (f.state, f.repaid) == (S.CLOSED, 8_000)
    assert only_event(tx, ledger.AmountConsumed)["amount"] == 8_000
    assert held(ledger, declaration) == 8_000  # repaid: the declaration stays used
    assert _policy(policy_financing)["used"] == 0
    assert policy_financing.claim(second)[3:] == (6_000, 5_000, 3_000)
    with reverts("policy: nothing of the claim is left to apply", WrongState):
        policy_financing.register_claim_repayment(fid, second, sender=bank_a.repayer)

    # What is left of it (2,000) repays another financing under the same policy.
    other = ship("claim-repaid-2")
    fid_2 = apply(policy_financing, bank_a, FIRM_A, [other], [4_000])
    advance(policy_financing, bank_a, fid_2, S.DISBURSED)
    tx = policy_financing.register_claim_repayment(fid_2, second, sender=bank_a.repayer)
    assert only_event(tx, policy_financing.ClaimRepayment)["amount"] == 2_000
    assert policy_financing.claim(second)[5] == 5_000
    assert policy_financing.financing(fid_2).state == S.DISBURSED


def test_a_claim_on_another_policy_is_refused(
    policy_financing, insurer, bank_a, ship, policy_b, firm_accounts, disbursed
):
    fid, _ = disbursed
    _assign(policy_financing, insurer, firm_accounts[FIRM_A], policy_b, FIRM_A, bank_a)
    elsewhere = ship("claim-elsewhere", policy=policy_b)
    claim_id = _claim(policy_financing, insurer, elsewhere, 1_000, paid=1_000)
    with reverts("policy: the claim is on another policy", InvalidInput):
        policy_financing.register_claim_repayment(fid, claim_id, sender=bank_a.repayer)


@pytest.mark.parametrize("status", ["filed", "declined", "unknown"])
def test_an_unpaid_claim_repays_nothing(policy_financing, insurer, bank_a, disbursed, status):
    fid, declaration = disbursed
    claim_id = _claim(policy_financing, insurer, declaration, 1_000)
    if status == "declined":
        policy_financing.settle_claim(claim_id, 0, sender=insurer)
    elif status == "unknown":
        claim_id += 1
    with reverts("policy: the claim is not paid", WrongState):
        policy_financing.register_claim_repayment(fid, claim_id, sender=bank_a.repayer)
    assert policy_financing.financing(fid).repaid == 0


def test_claim_repayment_is_the_financing_banks_repayment(
    policy_financing, insurer, bank_a, bank_b, disbursed
):
    fid, declaration = disbursed
    claim_id = _claim(policy_financing, insurer, declaration, 1_000, paid=1_000)
    with reverts("financing: operator belongs to another bank", OtherBank):
        policy_financing.register_claim_repayment(fid, claim_id, sender=bank_b.repayer)
    with reverts("consortium: account lacks the role", MissingRole):
        policy_financing.register_claim_repayment(fid, claim_id, sender=bank_a.applicant)
    assert policy_financing.claim(claim_id)[5] == 0  # nothing applied by the refused calls
    policy_financing.register_claim_repayment(fid, claim_id, sender=bank_a.repayer)
    assert policy_financing.financing(fid).repaid == 1_000
