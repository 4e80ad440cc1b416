"""Consortium administration (the regulator) and participant look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..chain.sender import Receipt
from ..chain.signers import Signer
from ..domain.codes import BANK_ROLES, DATA_PROVIDER_ROLES, ParticipantKind, Role, Scenario
from ..domain.identifiers import validate_uscc
from ..errors import InvalidInput
from .platform import Platform

CONSORTIUM = "Consortium"
ZERO = b"\x00" * 32


@dataclass(frozen=True)
class ParticipantInfo:
    id: bytes
    kind: ParticipantKind | None
    active: bool
    parent: bytes | None


@dataclass(frozen=True)
class Operator:
    """An operator account to bind to an institution, with its roles."""

    account: str
    roles: Role


def allowed_roles(kind: ParticipantKind) -> Role:
    if kind is ParticipantKind.BANK:
        return BANK_ROLES
    if kind in (
        ParticipantKind.CUSTOMS,
        ParticipantKind.TAX,
        ParticipantKind.LOGISTICS,
        ParticipantKind.INSURER,
    ):
        return DATA_PROVIDER_ROLES
    return Role(0)


class ConsortiumAdmin:
    """The regulator's administration: onboarding, operators, roles, deactivation."""

    def __init__(self, platform: Platform, regulator: Signer) -> None:
        self.platform = platform
        self.signer = regulator

    def participant_id(self, uscc: str) -> bytes:
        return self.platform.fingerprints.participant(uscc)

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
        uscc = validate_uscc(uscc)
        kind = ParticipantKind(kind)
        for operator in operators:
            self._check_roles(kind, operator.roles)
        pid = self.participant_id(uscc)
        parent = self.participant_id(parent_uscc) if parent_uscc else ZERO
        requests = [
            self.platform.request(
                self.signer,
                CONSORTIUM,
                "onboard",
                pid,
                int(kind),
                parent,
                idempotency_key=f"onboard:{pid.hex()}",
            )
        ]
        # Validated before signing: estimation runs against today's state, and its result is
        # the gas, so that the batch does not estimate it again.
        requests[0] = replace(requests[0], gas=self.platform.sender.estimate(requests[0]))
        requests += [
            self.platform.request(
                self.signer,
                CONSORTIUM,
                "add_operator",
                op.account,
                pid,
                int(op.roles),
                gas=150_000,
                idempotency_key=f"operator:{op.account.lower()}",
            )
            for op in operators
        ]
        self.platform.transact_many(requests)
        return pid

    def add_operator(self, account: str, uscc: str, roles: Role) -> Receipt:
        info = self.participant(uscc)
        if info.kind is None:
            raise InvalidInput(f"{uscc} is not onboarded")
        self._check_roles(info.kind, roles)
        return self.platform.transact(
            self.signer, CONSORTIUM, "add_operator", account, info.id, int(roles)
        )

    def set_roles(self, account: str, roles: Role) -> Receipt:
        """Replaces an operator's roles; ``Role(0)`` revokes them all."""
        return self.platform.transact(self.signer, CONSORTIUM, "set_roles", account, int(roles))

    def set_active(self, uscc: str, active: bool) -> Receipt:
        """Deactivating a participant stops all its accounts at once."""
        return self.platform.transact(
            self.signer, CONSORTIUM, "set_active", self.participant_id(uscc), active
        )

    def participant(self, uscc: str) -> ParticipantInfo:
        return participant_info(self.platform, self.participant_id(uscc))

    @staticmethod
    def _check_roles(kind: ParticipantKind, roles: Role) -> None:
        extra = Role(roles) & ~allowed_roles(kind)
        if extra:
            raise InvalidInput(f"roles {extra!r} cannot be granted to a {kind.name.lower()}")


def participant_info(platform: Platform, pid: bytes) -> ParticipantInfo:
    kind, active, parent = platform.view(CONSORTIUM, "participant", pid)
    return ParticipantInfo(
        id=pid,
        kind=ParticipantKind(kind) if kind else None,
        active=bool(active),
        parent=bytes(parent) if bytes(parent) != ZERO else None,
    )


def open_service(
    platform: Platform, bank_operator: Signer, firm_uscc: str, scenario: Scenario, opened: bool
) -> Receipt:
    """业务开通: a bank operator records that a firm opened (or closed) a service with the bank."""
    firm = platform.fingerprints.participant(firm_uscc)
    return platform.transact(bank_operator, CONSORTIUM, "set_service", firm, int(scenario), opened)
