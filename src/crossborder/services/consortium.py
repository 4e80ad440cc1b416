"""Consortium administration (the regulator), participant look-ups and service consent.

Roles are stages per scenario (``Stage`` flags in each ``Scenario``), allowed per kind of
participant by the scenario table the deploy writes (``SCENARIO_TABLE``). A service opens only
with the firm's signed consent (``ServiceConsent``), which a bank submits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..chain.sender import Receipt, TxRequest
from ..chain.signers import Signer
from ..domain.codes import ForceReason, ParticipantKind, Scenario, Stage, allowed_stages
from ..domain.consent import CreditScope, ServiceConsent
from ..domain.identifiers import validate_uscc
from ..errors import ConsentInvalid, InvalidInput, UnknownEntity, WrongState
from .platform import Platform

CONSORTIUM = "Consortium"
LEDGER = "DocumentLedger"
ZERO = b"\x00" * 32
# Measured: ~95,000 gas for an open_service with a signed consent; with margin.
GAS_OPEN_SERVICE = 140_000


@dataclass(frozen=True)
class ParticipantInfo:
    id: bytes
    kind: ParticipantKind | None
    active: bool
    parent: bytes | None


@dataclass(frozen=True)
class Operator:
    """An operator account to bind to an institution, with its stages per scenario.

    A firm's account is bound with no stages: it signs the firm's consents.
    """

    account: str
    roles: Mapping[Scenario, Stage] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedConsent:
    """A firm's consent and its EIP-712 signature, ready for a bank to submit."""

    consent: ServiceConsent
    signature: bytes


class ConsortiumAdmin:
    """The regulator's administration: onboarding, operators, roles, deactivation."""

    def __init__(self, platform: Platform, regulator: Signer) -> None:
        self.platform = platform
        self.signer = regulator

    def participant_id(self, uscc: str) -> bytes:
        return self.platform.ids.participant(uscc)

    def onboard(
        self,
        uscc: str,
        kind: ParticipantKind,
        parent_uscc: str | None = None,
        operators: Sequence[Operator] = (),
    ) -> bytes:
        """Onboards an institution or firm (by its USCC, fingerprinted) and its operators.

        Returns:
            The participant id (its keyed fingerprint).
        """
        return self.onboard_many([(uscc, kind, parent_uscc, operators)])[0]

    def onboard_many(
        self,
        participants: Sequence[tuple[str, ParticipantKind, str | None, Sequence[Operator]]],
    ) -> list[bytes]:
        """Onboards many participants and their operators in one pipelined batch.

        Every USCC and role is validated, and the first onboarding estimated, before anything
        is signed.

        Returns:
            Each participant's id, in order.
        """
        ids: list[bytes] = []
        onboardings: list[TxRequest] = []
        bindings: list[TxRequest] = []
        for uscc, kind, parent_uscc, operators in participants:
            uscc = validate_uscc(uscc)
            kind = ParticipantKind(kind)
            pid = self.participant_id(uscc)
            parent = self.participant_id(validate_uscc(parent_uscc)) if parent_uscc else ZERO
            ids.append(pid)
            onboardings.append(
                self.platform.request(
                    self.signer,
                    CONSORTIUM,
                    "onboard",
                    pid,
                    int(kind),
                    parent,
                    gas=120_000,
                    idempotency_key=f"onboard:{pid.hex()}",
                )
            )
            for operator in operators:
                bindings += self._operator_requests(operator, pid, kind)
        if len(set(ids)) != len(ids):
            raise InvalidInput("a participant is listed twice")
        if not onboardings:
            return []
        # Access and state are checked once against today's chain before anything is signed.
        first = onboardings[0]
        onboardings[0] = replace(first, gas=self.platform.sender.estimate(first))
        self.platform.transact_many(onboardings + bindings)
        return ids

    def add_operator(
        self, account: str, uscc: str, roles: Mapping[Scenario, Stage] | None = None
    ) -> list[Receipt]:
        """Binds an account to an onboarded participant and grants its stages per scenario."""
        info = self.participant(uscc)
        if info.kind is None:
            raise InvalidInput(f"{uscc} is not onboarded")
        requests = self._operator_requests(Operator(account, roles or {}), info.id, info.kind)
        requests[0] = replace(requests[0], gas=self.platform.sender.estimate(requests[0]))
        return self.platform.transact_many(requests)

    def set_roles(self, account: str, scenario: Scenario, stages: Stage) -> Receipt:
        """Replaces an operator's stages in one scenario; ``Stage(0)`` revokes them."""
        return self.platform.transact(
            self.signer, CONSORTIUM, "set_roles", account, int(scenario), int(stages)
        )

    def define_roles(self, scenario: Scenario, kind: ParticipantKind, stages: Stage) -> Receipt:
        """Writes one row of the scenario table: the stages ``kind`` may hold in ``scenario``."""
        return self.platform.transact(
            self.signer, CONSORTIUM, "define_roles", int(scenario), int(kind), int(stages)
        )

    def set_active(self, uscc: str, active: bool) -> Receipt:
        """Deactivating a participant stops all its accounts, and its branches', at once."""
        return self.platform.transact(
            self.signer, CONSORTIUM, "set_active", self.participant_id(uscc), active
        )

    def close_service(self, firm_uscc: str, bank_uscc: str, scenario: Scenario) -> Receipt:
        """The regulator closes a firm's service with a bank (live financings wind down)."""
        return close_service(self.platform, self.signer, firm_uscc, bank_uscc, scenario)

    def participant(self, uscc: str) -> ParticipantInfo:
        return participant_info(self.platform, self.participant_id(uscc))

    # The ledger's regulator functions ---------------------------------------------------------

    def set_scenario(self, contract: str, enabled: bool) -> Receipt:
        """Authorises (or stops) a scenario contract, by compiled name or address, to take holds.

        A stopped scenario takes no new holds; its live financings wind down.
        """
        address = self.platform.deployment.contracts.get(contract, contract)
        return self.platform.transact(self.signer, LEDGER, "set_scenario", address, enabled)

    def force_release(self, contract: str, financing_id: int, reason: ForceReason) -> int:
        """Frees the live holds of one financing of a stopped scenario or a deactivated bank.

        Reads the financing's bank, document type and cited documents from its scenario
        contract, then releases every live hold on the ledger, logged with ``reason``.

        Returns:
            How many documents were freed.

        Raises:
            WrongState: The scenario is authorised (for SCENARIO_STOPPED) or the bank active
                (for BANK_DEACTIVATED), or nothing of the financing is held any more.
        """
        (record,) = self.platform.view(contract, "financing", financing_id)
        if record[2] == 0:
            raise UnknownEntity(f"no financing {financing_id} in {contract}")
        bank, doc_type = bytes(record[1]), int(record[8])
        fingerprints, amounts = self.platform.view(contract, "cited", financing_id)
        live = [bytes(f) for f, a in zip(fingerprints, amounts, strict=True) if a]
        if not live:
            raise WrongState(f"financing {financing_id} holds nothing on the ledger any more")
        self.platform.transact(
            self.signer,
            LEDGER,
            "force_release",
            self.platform.address(contract),
            financing_id,
            bank,
            doc_type,
            live,
            int(ForceReason(reason)),
        )
        return len(live)

    def _operator_requests(
        self, operator: Operator, pid: bytes, kind: ParticipantKind
    ) -> list[TxRequest]:
        for scenario, stages in operator.roles.items():
            extra = Stage(stages) & ~allowed_stages(Scenario(scenario), kind)
            if extra:
                raise InvalidInput(
                    f"stages {extra!r} cannot be granted to a {kind.name.lower()} "
                    f"in scenario {Scenario(scenario).name.lower()}"
                )
        account = operator.account
        requests = [
            self.platform.request(
                self.signer,
                CONSORTIUM,
                "add_operator",
                account,
                pid,
                gas=120_000,
                idempotency_key=f"operator:{account.lower()}",
            )
        ]
        requests += [
            self.platform.request(
                self.signer,
                CONSORTIUM,
                "set_roles",
                account,
                int(scenario),
                int(stages),
                gas=80_000,
            )
            for scenario, stages in operator.roles.items()
        ]
        return requests


def participant_info(platform: Platform, pid: bytes) -> ParticipantInfo:
    kind, active, parent = platform.view(CONSORTIUM, "participant", pid)
    return ParticipantInfo(
        id=pid,
        kind=ParticipantKind(kind) if kind else None,
        active=bool(active),
        parent=bytes(parent) if bytes(parent) != ZERO else None,
    )


def roles_of(platform: Platform, account: str, scenario: Scenario) -> Stage:
    """The stages ``account`` holds in ``scenario``."""
    return Stage(platform.view(CONSORTIUM, "roles_of", account, int(scenario))[0])


# 业务开通: the firm signs, the bank submits ------------------------------------------------------


def sign_consent(
    platform: Platform,
    firm: Signer,
    firm_uscc: str,
    bank_uscc: str,
    scenario: Scenario,
    valid_until: dt.datetime,
    scope: int = CreditScope.ALL,
) -> SignedConsent:
    """The firm's side: sign a consent to open ``scenario`` with a bank (no transaction).

    Args:
        firm: A key bound to the firm in the consortium (its keystore).
        valid_until: When the consent, and the service it opens, lapse (with a time zone).
        scope: Credit-information scope bits (``CreditScope``).
    """
    ids = platform.ids
    consent = ServiceConsent.new(
        ids.participant(firm_uscc),
        ids.participant(bank_uscc),
        scenario,
        valid_until,
        scope,
    )
    message = consent.typed_data(platform.deployment.chain_id, platform.address(CONSORTIUM))
    return SignedConsent(consent, firm.sign_typed_data(message))


def open_services(
    platform: Platform, bank_operator: Signer, consents: Sequence[SignedConsent]
) -> list[Receipt]:
    """The bank's side: submit firms' signed consents, pipelined; each opens one service.

    Expired consents are refused before anything is signed; the first is estimated against the
    chain (role, signature, nonce) before the batch is sent.

    Raises:
        ConsentInvalid: A consent is expired, replayed, revoked or not signed by its firm.
    """
    now = dt.datetime.now(dt.UTC).timestamp()
    for signed in consents:
        if signed.consent.valid_until < now:
            raise ConsentInvalid("the firm's consent has expired; nothing was sent")
    nonces = [(s.consent.firm, s.consent.nonce) for s in consents]
    if len(set(nonces)) != len(nonces):
        raise ConsentInvalid("a consent is listed twice; nothing was sent")
    requests = [
        platform.request(
            bank_operator,
            CONSORTIUM,
            "open_service",
            s.consent.as_tuple(),
            s.signature,
            gas=GAS_OPEN_SERVICE,
        )
        for s in consents
    ]
    if not requests:
        return []
    platform.sender.estimate(requests[0])
    return platform.transact_many(requests)


def close_service(
    platform: Platform, signer: Signer, firm_uscc: str, bank_uscc: str, scenario: Scenario
) -> Receipt:
    """The firm (any account bound to it) or the regulator closes a service with a bank."""
    ids = platform.ids
    return platform.transact(
        signer,
        CONSORTIUM,
        "close_service",
        ids.participant(firm_uscc),
        ids.participant(bank_uscc),
        int(scenario),
    )


def revoke_consent(platform: Platform, firm: Signer, nonce: int) -> Receipt:
    """The firm revokes a consent it signed that no bank has submitted yet."""
    return platform.transact(firm, CONSORTIUM, "revoke_consent", nonce)


def service_status(
    platform: Platform, firm_uscc: str, bank_uscc: str, scenario: Scenario
) -> tuple[dt.datetime | None, int]:
    """Until when a firm's service with a bank is valid (None when closed) and its scope."""
    ids = platform.ids
    until, scope = platform.view(
        CONSORTIUM,
        "service",
        ids.participant(firm_uscc),
        ids.participant(bank_uscc),
        int(scenario),
    )
    return (dt.datetime.fromtimestamp(until, dt.UTC) if until else None), int(scope)
