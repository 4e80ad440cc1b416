"""One exception hierarchy, and the one table that maps every contract revert to it.

Bank operators see these messages: each says what went wrong in plain English, with the Chinese
term they know where there is one. ``tests/unit/test_errors.py`` proves every revert string in
``contracts/`` has an entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .domain.codes import QueryOutcome, Reason


class CrossborderError(Exception):
    """Base of every error the SDK raises on purpose.

    Its text is one line an operator reads (the CLI prints only that); the context that helps
    whoever investigates rides along as attributes.

    Attributes:
        revert: The contract's revert string, when the chain refused.
        tx_hash: The transaction that reverted, when one was sent.
        contract: The address of the contract that refused.
        value: The offending value, when one input is to blame.
    """

    def __init__(
        self,
        message: str = "",
        *,
        revert: str | None = None,
        tx_hash: str | None = None,
        contract: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.revert = revert
        self.tx_hash = tx_hash
        self.contract = contract
        self.value = value

    @property
    def context(self) -> dict[str, object]:
        """The context that is set, by name (for logs and API problem details)."""
        fields = {
            "revert": self.revert,
            "tx_hash": self.tx_hash,
            "contract": self.contract,
            "value": self.value,
        }
        return {name: value for name, value in fields.items() if value is not None}


class RpcError(CrossborderError):
    """The node answered with a JSON-RPC error object.

    Attributes:
        code: The JSON-RPC error code (3 is Geth's and Anvil's code for a revert).
        message: The node's message.
        data: Hex error data (``0x…``, the revert data for a revert), wherever the node put it.
        raw: The error object exactly as received.
    """

    def __init__(self, code: int, message: str, data: str | None = None, raw: Any = None):
        super().__init__(f"JSON-RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.raw = raw

    @classmethod
    def from_object(cls, error: Mapping[str, Any]) -> RpcError:
        """Build from a JSON-RPC ``error`` member, finding the revert data in any node's layout."""
        code = error.get("code", 0)
        return cls(
            code=code if isinstance(code, int) else 0,
            message=str(error.get("message", "")),
            data=_find_hex(error.get("data")),
            raw=error,
        )

    @property
    def reverted(self) -> bool:
        """Whether the error reports an EVM revert (as opposed to a rejected request)."""
        return self.code == 3 or "revert" in self.message.lower()


def _find_hex(data: Any, depth: int = 0) -> str | None:
    """The hex revert data in ``error.data``: a string, or nested in Ganache's objects."""
    if isinstance(data, str):
        return data if data.startswith("0x") else None
    if not isinstance(data, Mapping) or depth > 2:
        return None
    # Ganache 7: {"message", "data"}; older Ganache: {"<tx hash>": {"return": "0x…"}, …}.
    for key in ("data", "return", "result"):
        if (found := _find_hex(data.get(key), depth + 1)) is not None:
            return found
    for value in data.values():
        if isinstance(value, Mapping) and (found := _find_hex(value, depth + 1)) is not None:
            return found
    return None


class DevnetError(CrossborderError):
    """The devnet could not be started."""


class InvalidInput(CrossborderError, ValueError):
    """Input rejected before anything was signed (or by the contract's own checks)."""


class ChainUnavailable(CrossborderError):
    """The node could not be reached or did not answer in time."""


class TransactionFailed(CrossborderError):
    """A transaction reverted for a reason this table does not know."""


class NotDeployed(CrossborderError):
    """No deployment file, or it names another chain."""


class AccessDenied(CrossborderError):
    """The account may not do this."""


class NotRegulator(AccessDenied):
    """Only the regulator's admin account may do this (onboarding, roles, scenarios, force-release)."""


class NotAnOperator(AccessDenied):
    """The account is not bound to any institution on the platform."""


class MissingRole(AccessDenied):
    """The operator does not hold the stage (所属角色) this function needs in this scenario."""


class ParticipantDeactivated(AccessDenied):
    """The institution (or its head office) is deactivated: none of its accounts may act."""


class OtherBank(AccessDenied):
    """The financing belongs to another bank."""


class MakerCheckerViolation(AccessDenied):
    """Maker-checker: the operator who applied may not review the same financing."""


class ServiceNotOpened(AccessDenied):
    """The firm has not opened (or has closed) this scenario's service with this bank (业务开通)."""


class ScenarioNotAuthorised(AccessDenied):
    """The scenario contract is not (or no longer) authorised by the regulator to take holds."""


class ConsentInvalid(AccessDenied):
    """The firm's signed consent (业务开通授权) is expired, replayed, revoked or not the firm's."""


class NotDocumentRegistrar(AccessDenied):
    """Only the provider that registered a document may void or correct it."""


class Conflict(CrossborderError):
    """The thing already exists."""


class UnknownEntity(CrossborderError):
    """The thing does not exist."""


class UnknownParticipantId(UnknownEntity):
    """No on-chain id is known here for this participant: ids are not derivable from a USCC; the
    firm's signed consent carries its id, or the regulator's directory issues it on a lookup."""


class WrongState(CrossborderError):
    """The financing is not in a state that allows this action."""


class FirmNotQualified(AccessDenied):
    """The firm is not marked qualified for capital-account payment facilitation (资本项目收入
    支付便利化): its bank must ask for proof before each payment instead."""


class SampleRejected(CrossborderError):
    """The post-review sample (事后抽查) is not the draw's: wrong size, a payment outside the
    period, or not in the order of keccak256(seed, payment id)."""


class VerificationFailed(CrossborderError):
    """核验失败: a cited document failed verification; the attempt is recorded on chain."""

    reason: Reason = Reason.OK

    def __init__(
        self,
        message: str,
        fingerprint: bytes | None = None,
        amount: int | None = None,
        **context: object,
    ) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.fingerprint = fingerprint
        self.amount = amount


class DocumentNotFound(VerificationFailed):
    """核验失败: the cited document is not registered on the ledger under that type."""

    reason = Reason.NOT_FOUND


class WrongDocumentType(VerificationFailed):
    """核验失败: reserved (documents are keyed by type, so a wrong type reads as not found)."""

    reason = Reason.WRONG_TYPE


class WrongExporter(VerificationFailed):
    """核验失败: the document's owner (exporter, consignor) is not the applicant firm."""

    reason = Reason.WRONG_OWNER


class CurrencyMismatch(VerificationFailed):
    """核验失败: the financing's currency differs from the document's."""

    reason = Reason.CURRENCY_MISMATCH


class DuplicateFinancing(VerificationFailed):
    """重复融资: the document is already fully used by other financings, at any bank."""

    reason = Reason.DUPLICATE


class LimitExceeded(CrossborderError):
    """A scenario's own limit refuses the amount before the ledger is asked (a policy's buyer
    credit limit, the insured amount times the bank's advance ratio); nothing is recorded."""


class OverFinancing(VerificationFailed):
    """超额融资: the amount requested exceeds what is left on the document."""

    reason = Reason.OVER_FINANCED


VERIFICATION_ERRORS: dict[Reason, tuple[type[VerificationFailed], str]] = {
    Reason.NOT_FOUND: (DocumentNotFound, "核验失败: the document is not registered on the ledger"),
    Reason.WRONG_TYPE: (
        WrongDocumentType,
        "核验失败: the document is not of the type this financing needs (e.g. not an export declaration)",
    ),
    Reason.WRONG_OWNER: (
        WrongExporter,
        "核验失败: the document's exporter is not the applicant firm",
    ),
    Reason.CURRENCY_MISMATCH: (
        CurrencyMismatch,
        "核验失败: the financing currency differs from the document's currency",
    ),
    Reason.DUPLICATE: (
        DuplicateFinancing,
        "重复融资 duplicate financing: the document is already fully used by other financings",
    ),
    Reason.OVER_FINANCED: (
        OverFinancing,
        "超额融资 over-financing: the amount requested exceeds what is left on the document",
    ),
}


def verification_error(
    reason: int, fingerprint: bytes | None = None, amount: int | None = None
) -> VerificationFailed:
    """The typed error for a verification reason code recorded on chain."""
    cls, message = VERIFICATION_ERRORS[Reason(reason)]
    return cls(message, fingerprint=fingerprint, amount=amount)


# Credit-information query (授权查证, issue 11) ----------------------------------------------------


class QueryRefused(AccessDenied):
    """授权查证: the query was refused (and recorded on chain as refused, with its reason)."""

    outcome: QueryOutcome = QueryOutcome.NOT_AUTHORISED


class AuthorisationMissing(QueryRefused):
    """No live authorisation of this bank by the firm: never granted, or revoked."""

    outcome = QueryOutcome.NOT_AUTHORISED


class AuthorisationExpired(QueryRefused):
    """The firm's authorisation of this bank has expired."""

    outcome = QueryOutcome.EXPIRED


class ScopeNotGranted(QueryRefused):
    """The query asks for credit information the firm's authorisation does not cover."""

    outcome = QueryOutcome.OUT_OF_SCOPE


class FirmInactive(QueryRefused):
    """The firm is deactivated: its authorisations do not count."""

    outcome = QueryOutcome.FIRM_INACTIVE


QUERY_REFUSALS: dict[QueryOutcome, tuple[type[QueryRefused], str]] = {
    QueryOutcome.NOT_AUTHORISED: (
        AuthorisationMissing,
        "授权查证 refused: the firm has not authorised this bank (or has revoked it)",
    ),
    QueryOutcome.EXPIRED: (
        AuthorisationExpired,
        "授权查证 refused: the firm's authorisation of this bank has expired",
    ),
    QueryOutcome.OUT_OF_SCOPE: (
        ScopeNotGranted,
        "授权查证 refused: the firm's authorisation does not cover this scope",
    ),
    QueryOutcome.FIRM_INACTIVE: (
        FirmInactive,
        "授权查证 refused: the firm is deactivated on the platform",
    ),
}


def query_refusal(outcome: int, **context: object) -> QueryRefused:
    """The typed error for a refused query's outcome code recorded on chain."""
    cls, message = QUERY_REFUSALS[QueryOutcome(outcome)]
    return cls(message, **context)  # type: ignore[arg-type]


# Every revert string of contracts/, with the exception and the operator's message.
REVERTS: dict[str, tuple[type[CrossborderError], str]] = {
    "ownable: caller is not the owner": (
        NotRegulator,
        "only the regulator's admin account may do this",
    ),
    "ownable_2step: caller is not the new owner": (
        NotRegulator,
        "only the nominated new regulator admin may accept the transfer",
    ),
    "consortium: empty participant id": (InvalidInput, "the participant id is empty"),
    "consortium: unknown participant kind": (InvalidInput, "unknown kind of participant"),
    "consortium: participant already onboarded": (Conflict, "the participant is already onboarded"),
    "consortium: parent must be onboarded with the same kind": (
        InvalidInput,
        "a branch (网点) must belong to an onboarded institution of the same kind",
    ),
    "consortium: unknown participant": (UnknownEntity, "the participant is not onboarded"),
    "consortium: empty account": (InvalidInput, "the operator account is empty"),
    "consortium: account is already an operator": (
        Conflict,
        "the account is already bound to an institution",
    ),
    "consortium: account is not an operator": (
        NotAnOperator,
        "the account is not an operator of any institution on the platform",
    ),
    "consortium: participant is deactivated": (
        ParticipantDeactivated,
        "the institution is deactivated: none of its accounts may act",
    ),
    "consortium: account lacks the role": (
        MissingRole,
        "the operator does not hold the role (所属角色) for this function",
    ),
    "consortium: role not allowed for this kind of participant": (
        InvalidInput,
        "this role cannot be granted to this kind of institution",
    ),
    "consortium: firm is not an active enterprise": (
        InvalidInput,
        "the firm is not an active enterprise on the platform",
    ),
    "ledger: caller is not the regulator": (
        NotRegulator,
        "only the regulator may authorise scenarios",
    ),
    "ledger: this participant may not register this document type": (
        AccessDenied,
        "this institution may not register documents of this type",
    ),
    "ledger: empty batch": (InvalidInput, "a registration batch needs at least one document"),
    "ledger: face amount must be positive": (InvalidInput, "a document's amount must be positive"),
    "ledger: invalid currency code": (InvalidInput, "invalid ISO 4217 currency code"),
    "ledger: empty fingerprint": (InvalidInput, "a document or owner fingerprint is empty"),
    "ledger: caller is not an authorised scenario": (
        ScenarioNotAuthorised,
        "the scenario contract is not authorised by the regulator",
    ),
    "ledger: fingerprints and amounts differ in length": (
        InvalidInput,
        "each cited document needs exactly one amount",
    ),
    "ledger: no such live hold of this scenario and financing": (
        WrongState,
        "only the scenario and financing that hold a document may release or consume it, and at most what they hold",
    ),
    "consortium: a branch may not have branches": (
        InvalidInput,
        "a branch (网点) must belong to a head office, not to another branch",
    ),
    "consortium: caller is not an account of an active firm": (
        AccessDenied,
        "only an account of an active firm may revoke its consents",
    ),
    "consortium: consent already used or revoked": (
        ConsentInvalid,
        "the firm's consent was already used or revoked (its nonce is spent)",
    ),
    "consortium: consent expired": (ConsentInvalid, "the firm's consent has expired"),
    "consortium: consent not signed by the firm": (
        ConsentInvalid,
        "the consent is not signed by an account bound to the firm (or signs other terms)",
    ),
    "consortium: only the firm or the regulator may close a service": (
        AccessDenied,
        "only the firm or the regulator may close a service (业务关闭)",
    ),
    "consortium: service is not open": (WrongState, "the service is not open"),
    "consortium: signature must be 65 bytes": (
        ConsentInvalid,
        "the consent signature must be 65 bytes (r, s, v)",
    ),
    "consortium: the consent names another bank": (
        ConsentInvalid,
        "the firm's consent names another bank",
    ),
    "consortium: the regulator's admin may not be an operator": (
        InvalidInput,
        "the regulator's admin account may not also be an institution's operator",
    ),
    "consortium: unknown stage": (InvalidInput, "unknown stage (role) flag"),
    "ecdsa: invalid signature `s` value": (
        ConsentInvalid,
        "the consent signature is malleable (high s) and refused",
    ),
    "ecdsa: invalid signature": (ConsentInvalid, "the consent signature is invalid"),
    "financing: invalid currency or document type": (
        InvalidInput,
        "invalid currency code or document type",
    ),
    "ledger: document registered by another provider": (
        NotDocumentRegistrar,
        "only the provider that registered the document may void or correct it",
    ),
    "ledger: face below the held amount": (
        InvalidInput,
        "the corrected face amount is below what financings already hold on the document",
    ),
    "ledger: no documents": (InvalidInput, "name at least one document"),
    "ledger: not a scenario contract wired to this ledger and consortium": (
        InvalidInput,
        "the address is not a scenario contract wired to this ledger and consortium",
    ),
    "ledger: the bank is active": (
        WrongState,
        "the bank is active: its holds are released only by its own financings",
    ),
    "ledger: the document is held": (
        WrongState,
        "the document is held by a financing and cannot be voided",
    ),
    "ledger: the hold belongs to another bank": (
        InvalidInput,
        "the hold belongs to another bank",
    ),
    "ledger: the scenario is not stopped": (
        WrongState,
        "the scenario is authorised: stop it before force-releasing its holds",
    ),
    "ledger: too many registrars": (InvalidInput, "too many registering providers (65,535)"),
    "ledger: unknown document": (UnknownEntity, "the document is not registered under this type"),
    "ledger: unknown force-release reason": (InvalidInput, "unknown force-release reason code"),
    "financing: this scenario finances waybills and bills of lading": (
        InvalidInput,
        "logistics financing cites rail waybills (铁路运单) or bills of lading (提单)",
    ),
    "ledger: a declaration is not linked to a declaration": (
        InvalidInput,
        "only documents of the goods (waybills, bills of lading) are linked to a declaration",
    ),
    "ledger: the document is already linked": (Conflict, "the document is already linked"),
    "ledger: the linked declaration has another owner or currency": (
        InvalidInput,
        "the declaration belongs to another firm or is in another currency than the document",
    ),
    "policy: amount must be positive": (InvalidInput, "the amount must be positive"),
    "policy: assignment consent already used": (
        ConsentInvalid,
        "the firm's assignment consent was already used (its nonce is spent)",
    ),
    "policy: assignment not signed by the insured firm": (
        ConsentInvalid,
        "the claim-rights assignment (赔款权益转让) is not signed by the insured firm",
    ),
    "policy: caller is not an insurer": (
        AccessDenied,
        "only the export credit insurer may do this",
    ),
    "policy: caller is not the regulator": (
        NotRegulator,
        "only the regulator sets banks' advance ratios",
    ),
    "policy: empty fingerprint": (InvalidInput, "a policy, firm or buyer fingerprint is empty"),
    "policy: invalid limit or currency": (
        InvalidInput,
        "the credit limit or insured amount must be positive, in a valid currency",
    ),
    "policy: no such assignment awaits the insurer": (
        WrongState,
        "no claim-rights assignment to this bank awaits the insurer's confirmation",
    ),
    "policy: nothing of the claim is left to apply": (
        WrongState,
        "nothing of the paid claim is left to apply, or nothing is outstanding",
    ),
    "policy: one financing cites shipments of one policy": (
        InvalidInput,
        "one policy financing cites shipments of one policy",
    ),
    "policy: policy already registered": (Conflict, "the policy is already registered"),
    "policy: shipment already declared": (
        Conflict,
        "the shipment (投保申报) of this declaration is already declared",
    ),
    "policy: the advance ratio is at most 100 %": (
        InvalidInput,
        "the advance ratio is at most 100 %",
    ),
    "policy: the amount exceeds the buyer credit limit left": (
        LimitExceeded,
        "超额融资 over-financing: the amount exceeds the buyer credit limit (买方限额) left",
    ),
    "policy: the amount exceeds the insured amount times the bank's advance ratio": (
        LimitExceeded,
        "超额融资 over-financing: the amount exceeds the insured amount times the bank's advance ratio",
    ),
    "policy: the assignment consent expired": (
        ConsentInvalid,
        "the firm's claim-rights assignment consent has expired",
    ),
    "policy: the claim is already settled": (WrongState, "the claim is already settled"),
    "policy: the claim is not paid": (WrongState, "the claim is not paid"),
    "policy: the claim is on another policy": (
        InvalidInput,
        "the claim is on another policy than the financing's",
    ),
    "policy: the currency is not the policy's": (
        InvalidInput,
        "the financing currency is not the policy's",
    ),
    "policy: the declaration is not an insured shipment": (
        InvalidInput,
        "the declaration is not a shipment declared under a policy (投保申报)",
    ),
    "policy: the firm is not the insured firm": (
        InvalidInput,
        "the firm is not the policy's insured firm",
    ),
    "policy: the declaration is not the insured firm's registered export declaration": (
        InvalidInput,
        "the shipment's declaration must be the insured firm's registered export declaration",
    ),
    "policy: the payment exceeds the claim": (InvalidInput, "the payment exceeds the claim"),
    "policy: the policy belongs to another insurer": (
        AccessDenied,
        "the policy belongs to another insurer",
    ),
    "policy: the policy has expired": (WrongState, "the policy has expired"),
    "policy: the policy's claim rights are not assigned to this bank": (
        AccessDenied,
        "the policy's claim rights (赔款权益) are not assigned to this bank",
    ),
    "policy: the shipment's cover is not confirmed": (
        WrongState,
        "the insurer has not confirmed cover (承保) of the shipment",
    ),
    "policy: unknown claim": (UnknownEntity, "no such claim"),
    "policy: unknown policy": (UnknownEntity, "no such policy"),
    "financing: unknown financing": (UnknownEntity, "no such financing"),
    "financing: wrong state for this action": (
        WrongState,
        "the financing's state does not allow this action",
    ),
    "financing: operator belongs to another bank": (
        OtherBank,
        "the financing belongs to another bank",
    ),
    "financing: the applicant may not review": (
        MakerCheckerViolation,
        "maker-checker: the operator who applied may not review (审核) the same financing",
    ),
    "financing: total amount too large": (
        InvalidInput,
        "the total amount of one financing must stay below 2**64 minor units",
    ),
    "financing: no documents cited": (InvalidInput, "cite at least one document"),
    "ledger: document cited twice": (InvalidInput, "a document is cited twice"),
    "ledger: amount must be positive": (InvalidInput, "each cited amount must be positive"),
    "financing: amount must be positive": (InvalidInput, "amounts must be positive"),
    "financing: disbursement exceeds the approved amount": (
        InvalidInput,
        "the disbursement exceeds the approved amount",
    ),
    "financing: repayment exceeds the outstanding amount": (
        InvalidInput,
        "the repayment exceeds the outstanding amount",
    ),
    "financing: due date before value date": (
        InvalidInput,
        "the due date is before the value date",
    ),
    "financing: firm has not opened the service with this bank": (
        ServiceNotOpened,
        "the firm has not opened this financing service (业务开通) with this bank",
    ),
    # Payment facilitation (便利化类).
    "ledger: a tagged invoice cannot change": (
        WrongState,
        "the invoice is already tagged used by a payment and cannot change",
    ),
    "ledger: invoices are tagged, not held": (
        InvalidInput,
        "invoices are single-use: a payment tags them, a financing cannot cite them",
    ),
    "ledger: only invoices are tagged": (
        InvalidInput,
        "only freight invoices and invoices are tagged by payments",
    ),
    "capital: caller is not the regulator": (
        NotRegulator,
        "only the regulator's admin account may qualify firms or draw and review samples",
    ),
    "capital: empty firm id": (InvalidInput, "the firm id is empty"),
    "capital: the firm is not qualified": (
        FirmNotQualified,
        "the firm is not qualified for capital-account payment facilitation",
    ),
    "capital: sample size out of range": (
        InvalidInput,
        "the sample size must be between 1 and 500",
    ),
    "capital: no payments since the last period": (
        WrongState,
        "no capital-account payments were registered since the last period closed",
    ),
    "capital: unknown period": (UnknownEntity, "no such closed period"),
    "capital: the seed is already drawn": (Conflict, "the period's seed is already drawn"),
    "capital: the seed block is not mined yet": (
        WrongState,
        "the seed block is not mined yet: draw again a few blocks later",
    ),
    "capital: the seed is not drawn yet": (
        WrongState,
        "the period's seed is not drawn yet: call draw first",
    ),
    "capital: the sample is already recorded": (
        Conflict,
        "the period's sample is already recorded",
    ),
    "capital: wrong sample size": (
        SampleRejected,
        "the sample must have the period's sample size (or every payment of a smaller period)",
    ),
    "capital: payment not in the period": (
        SampleRejected,
        "a sampled payment is not in the period",
    ),
    "capital: sample not in seed order": (
        SampleRejected,
        "the sample is not in the order of keccak256(seed, payment id)",
    ),
    "capital: payment not in a recorded sample": (
        WrongState,
        "the payment is not in a recorded post-review sample",
    ),
    "capital: unknown review outcome": (InvalidInput, "the review outcome is unknown"),
    "capital: payment already reviewed": (Conflict, "the payment is already reviewed"),
    # Credit-information query and credit matching (issue 11).
    "credit query: unknown scope": (
        InvalidInput,
        "the scope names basic, trade and/or regulatory credit (bits 1, 2, 4), at least one",
    ),
    "credit matching: outlet name and contact are required": (
        InvalidInput,
        "an outlet needs a name and a contact",
    ),
    "credit matching: region must be a six-digit code": (
        InvalidInput,
        "the region is a six-digit administrative division code (行政区划代码)",
    ),
    "credit matching: name an outlet or a six-digit region code": (
        InvalidInput,
        "name a preferred outlet or a six-digit region code",
    ),
    "credit matching: unknown outlet": (UnknownEntity, "no such outlet"),
    "credit matching: outlet belongs to another bank": (
        OtherBank,
        "the outlet belongs to another bank",
    ),
    "credit matching: outlet is closed": (WrongState, "the outlet is closed"),
    "credit matching: caller's firm has not opened the credit service with this bank": (
        ServiceNotOpened,
        "the firm has not opened the credit-application service (企业融资授信申请业务开通) with this bank",
    ),
    "credit matching: amount must be positive": (InvalidInput, "the amount must be positive"),
    "credit matching: invalid currency": (InvalidInput, "invalid ISO 4217 currency code"),
    "credit matching: unknown purpose": (InvalidInput, "unknown credit purpose code"),
    "credit matching: unknown request": (UnknownEntity, "no such credit request"),
    "credit matching: request belongs to another bank": (
        OtherBank,
        "the credit request was made to another bank",
    ),
    "credit matching: request not in the required state": (
        WrongState,
        "the credit request is not in a state that allows this step",
    ),
    "credit matching: grant must be positive and at most the amount asked": (
        InvalidInput,
        "the granted amount must be positive and at most the amount asked",
    ),
    "credit matching: term must be positive": (InvalidInput, "the term must be at least a day"),
    "credit matching: unknown decline reason": (InvalidInput, "unknown decline reason code"),
}


def from_revert(
    reason: str | None, *, tx_hash: str | None = None, contract: str | None = None
) -> CrossborderError:
    """The typed error for a revert string (``TransactionFailed`` for an unknown one), with the
    revert text, the transaction and the contract as its context."""
    if reason is not None and reason in REVERTS:
        cls, message = REVERTS[reason]
        return cls(message, revert=reason, tx_hash=tx_hash, contract=contract)
    return TransactionFailed(
        f"the transaction reverted: {reason or 'no reason given'}",
        revert=reason,
        tx_hash=tx_hash,
        contract=contract,
    )


class IdempotencyConflict(Conflict):
    """An idempotency key already used, by the same signer on the same chain, for another request.

    The key was recorded with a different recipient, calldata or value: nothing is sent, and
    the earlier transaction's hash is not returned as if it answered this request.
    """


class GasPriceUnavailable(TransactionFailed):
    """No gas price fits the configured policy on this chain; nothing was signed.

    The chain has no EIP-1559 base fee (use the fixed or free mode), charges a base fee in the
    gas-free mode, or its base fee is above the configured cap.
    """


class PlatformDown(CrossborderError):
    """A part of the running platform (``crossborder up``'s node or its indexer) stopped and
    could not be kept running: the command says which, and exits non-zero."""


class Unauthenticated(CrossborderError):
    """The request to the gateway carries no bearer token, or one that is unknown or revoked
    (``crossborder token issue`` issues one per operator account)."""


# -- issue 12: the consortium network of geth nodes ---------------------------------------------


class NetworkError(CrossborderError):
    """The consortium network (``crossborder network``) could not be created, started or read:
    no network in the folder, no geth binary, a node that exited or stayed silent."""
