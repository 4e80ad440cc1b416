"""One institution's gateway: its platform connection, keys, tokens and who each caller is.

A caller is the operator account its bearer token was issued for. Its institution is read from
the Consortium (``participant_of``, ``participant``): a bank's operator (or a branch's) acts and
reads within its legal-person bank; the regulator's admin account and the regulator's operators
see everything. Roles are checked on chain (``Consortium.authorize``) before anything is signed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from ..chain.signers import Signer
from ..domain.codes import ParticipantKind, Scenario, Stage
from ..errors import (
    AccessDenied,
    NotAnOperator,
    ParticipantDeactivated,
    UnknownEntity,
)
from ..indexer.store import StoreError, open_for_reading
from ..services.consortium import CONSORTIUM, ZERO, participant_info
from ..services.platform import Platform
from .keyring import Keyring
from .store import GatewayStore

# How long who-is-who answers are reused: a deactivation holds within this many seconds.
INSTITUTION_TTL = 5.0


@dataclass(frozen=True)
class Principal:
    """Who calls: the operator account of a live token, and its institution.

    Attributes:
        institution: The participant the account is bound to (None for the regulator's admin).
        head: Its legal-person institution (a branch's head office, else itself).
        regulator: Sees every institution's financings, events and statistics.
    """

    account: str
    token_id: str
    institution: bytes | None
    head: bytes | None
    kind: ParticipantKind | None
    regulator: bool

    def sees(self, head: bytes) -> bool:
        """Whether the caller may see what belongs to the legal-person institution ``head``."""
        return self.regulator or head == self.head


class Gateway:
    """What every request of one gateway shares (thread-safe).

    Args:
        platform: The connected platform (one sender: it keeps each account's nonces).
        keyring: The institution's operator keys.
        store: Tokens and idempotent responses.
        reports_url: The indexer's store (SQLAlchemy URL) for reports and histories; None
            reads histories from the chain's logs and answers reports with 503.
        confirmations: Events are notified this many blocks behind the head.
        poll: Seconds between event polls once a stream has caught up.
    """

    def __init__(
        self,
        platform: Platform,
        keyring: Keyring,
        store: GatewayStore,
        *,
        reports_url: str | None = None,
        confirmations: int = 0,
        poll: float = 0.5,
    ) -> None:
        self.platform = platform
        self.keyring = keyring
        self.store = store
        self.reports_url = reports_url
        self.confirmations = confirmations
        self.poll = poll
        self._engine: Engine | None = None
        self._engine_url: str | None = None
        self._lock = threading.Lock()
        self._principals: dict[tuple[str, str], tuple[float, Principal]] = {}
        self._heads: dict[bytes, bytes] = {}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self.store.close()

    # -- the reporting store ---------------------------------------------------------------------

    def reports(self) -> Engine:
        """The indexer's store, opened read-only on first use.

        Raises:
            StoreError: None is configured, or it was never indexed.
        """
        if self.reports_url is None:
            raise StoreError(
                "this gateway has no reporting store: start it with --db (the indexer's store)"
            )
        with self._lock:
            if self._engine is None or self._engine_url != self.reports_url:
                if self._engine is not None:
                    self._engine.dispose()
                self._engine = open_for_reading(self.reports_url)
                self._engine_url = self.reports_url
            return self._engine

    # -- who calls -------------------------------------------------------------------------------

    def known_principal(self, token_id: str, account: str) -> Principal | None:
        """The caller of a live token as resolved within the last ``INSTITUTION_TTL`` s."""
        hit = self._principals.get((token_id, account))
        if hit is not None and time.monotonic() - hit[0] < INSTITUTION_TTL:
            return hit[1]
        return None

    def resolve_principal(self, token_id: str, account: str) -> Principal:
        """The caller of a live token, asked of the chain (blocking).

        Raises:
            AccessDenied: The account is no operator, or its institution is deactivated.
        """
        principal = self._resolve(account, token_id)
        self._principals[(token_id, account)] = (time.monotonic(), principal)
        return principal

    def _resolve(self, account: str, token_id: str) -> Principal:
        if account == self.platform.deployment.regulator.lower():
            return Principal(account, token_id, None, None, ParticipantKind.REGULATOR, True)
        pid = bytes(self.platform.view(CONSORTIUM, "participant_of", account)[0])
        if pid == ZERO:
            raise NotAnOperator(f"{account} is not an operator of any institution on the platform")
        info = participant_info(self.platform, pid)
        head = info.parent or pid
        active = info.active and (
            info.parent is None or participant_info(self.platform, info.parent).active
        )
        if not active:
            raise ParticipantDeactivated(
                "the institution is deactivated: none of its accounts may act"
            )
        regulator = info.kind is ParticipantKind.REGULATOR
        return Principal(account, token_id, pid, head, info.kind, regulator)

    def head_of(self, participant: bytes) -> bytes:
        """The legal-person institution of a participant (a branch's parent never changes)."""
        head = self._heads.get(participant)
        if head is None:
            head = participant_info(self.platform, participant).parent or participant
            self._heads[participant] = head
        return head

    def require_bank(self, principal: Principal) -> None:
        """Financings, their events and their statistics are the banks' and the regulator's.

        Raises:
            AccessDenied: The caller is neither.
        """
        if not (principal.regulator or principal.kind is ParticipantKind.BANK):
            raise AccessDenied("only banks and the regulator see financings")

    def require_visible(self, principal: Principal, bank: bytes, what: str) -> None:
        """Another institution's financing is answered as if it did not exist.

        Raises:
            UnknownEntity: ``bank``'s head office is not the caller's.
        """
        if not principal.sees(self.head_of(bank)):
            raise UnknownEntity(f"no {what}")

    def signer_for(self, principal: Principal, scenario: Scenario, stage: Stage) -> Signer:
        """The caller's signer, once the chain says it holds ``stage`` in ``scenario``: checked
        before anything is signed, so a refusal costs no nonce.

        Raises:
            MissingRole: 所属角色: the operator lacks the stage.
            ParticipantDeactivated, NotAnOperator: The account may not act at all.
            AccessDenied: This gateway holds no key for the account.
        """
        signer = self.keyring.signer(principal.account)
        self.platform.view(CONSORTIUM, "authorize", principal.account, int(scenario), int(stage))
        return signer
