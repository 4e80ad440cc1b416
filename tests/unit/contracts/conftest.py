"""Contract fixtures on ape's embedded EVM: a deployed consortium with two banks.

Accounts: 0 regulator, 1 customs operator, 9 outsider (never bound), 10-15 bank A's operators,
16-21 bank B's; 2-8 and 22-29 are free for a module's own operators (ape reverts each test's and
each module's changes, so modules may reuse them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ape
import pytest

from crossborder.domain.codes import DocumentType, FinancingState, ParticipantKind, Role, Scenario
from crossborder.errors import CrossborderError, from_revert

USD = 840
CNY = 156
EUR = 978
ZERO = b"\x00" * 32
ISSUED = 20000  # days since 1970-01-01 (2024-10-04)


def fp(label: str) -> bytes:
    """A stand-in fingerprint for contract tests (the SDK's keyed fingerprints are tested apart)."""
    return hashlib.sha256(label.encode()).digest()


ALL_RCV = (
    Role.RCV_APPLY
    | Role.RCV_ACCEPT
    | Role.RCV_REVIEW
    | Role.RCV_DISBURSE
    | Role.RCV_REPAY
    | Role.RCV_SERVICE
)


@dataclass
class Bank:
    id: bytes
    applicant: Any
    acceptor: Any
    reviewer: Any
    disburser: Any
    repayer: Any
    opener: Any


@pytest.fixture(scope="session")
def regulator(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def customs_op(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def outsider(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def consortium(project, regulator):
    return project.Consortium.deploy(sender=regulator)


@pytest.fixture(scope="session")
def ledger(project, regulator, consortium):
    return project.DocumentLedger.deploy(consortium, sender=regulator)


@pytest.fixture(scope="session")
def receivables(project, regulator, consortium, ledger):
    contract = project.ReceivablesFinancing.deploy(consortium, ledger, sender=regulator)
    ledger.set_scenario(contract, True, sender=regulator)
    return contract


CUSTOMS = fp("customs")
FIRM_A = fp("firm-a")
FIRM_B = fp("firm-b")


def _bank(consortium, regulator, accounts, name: str, first: int) -> Bank:
    bank_id = fp(name)
    consortium.onboard(bank_id, ParticipantKind.BANK, ZERO, sender=regulator)
    roles = [Role.RCV_APPLY, Role.RCV_ACCEPT, Role.RCV_REVIEW, Role.RCV_DISBURSE, Role.RCV_REPAY]
    ops = [accounts[first + i] for i in range(5)]
    for op, role in zip(ops, roles, strict=True):
        consortium.add_operator(op, bank_id, int(role), sender=regulator)
    opener = accounts[first + 5]
    consortium.add_operator(opener, bank_id, int(Role.RCV_SERVICE), sender=regulator)
    for firm in (FIRM_A, FIRM_B):
        consortium.set_service(firm, Scenario.RECEIVABLES, True, sender=opener)
    return Bank(bank_id, *ops, opener)


@pytest.fixture(scope="session")
def platform(consortium, ledger, receivables, regulator, customs_op, accounts):
    """Regulator, customs with one operator, two firms, two banks with one operator per role."""
    consortium.onboard(CUSTOMS, ParticipantKind.CUSTOMS, ZERO, sender=regulator)
    consortium.add_operator(customs_op, CUSTOMS, int(Role.DOC_REGISTER), sender=regulator)
    for firm in (FIRM_A, FIRM_B):
        consortium.onboard(firm, ParticipantKind.ENTERPRISE, ZERO, sender=regulator)
    bank_a = _bank(consortium, regulator, accounts, "bank-a", 10)
    bank_b = _bank(consortium, regulator, accounts, "bank-b", 16)
    return bank_a, bank_b


@pytest.fixture(scope="session")
def bank_a(platform):
    return platform[0]


@pytest.fixture(scope="session")
def bank_b(platform):
    return platform[1]


def register(ledger, sender, docs, doc_type=DocumentType.EXPORT_DECLARATION):
    """Registers (fingerprint, owner, face, currency) tuples, issued on day `ISSUED`."""
    return ledger.register(
        doc_type, [(d[0], d[1], d[2], d[3], ISSUED) for d in docs], sender=sender
    )


################################################################
#                      ASSERTION HELPERS                       #
################################################################


def _plain(value: Any, abi_type: str) -> Any:
    if abi_type == "bool":
        return bool(value)
    if isinstance(value, bytes):  # HexBytes included
        return bytes(value)
    if isinstance(value, int):
        return int(value)
    return value


def events(tx, event) -> list[dict[str, Any]]:
    """The decoded logs of one event type in `tx`, as plain dicts (bytes, int, bool, address)."""
    types = {i.name: i.type for i in event.abi.inputs}
    return [
        {k: _plain(v, types[k]) for k, v in log.event_arguments.items()}
        for log in tx.decode_logs(event)
    ]


def only_event(tx, event) -> dict[str, Any]:
    """The single log of `event` in `tx`; fails if there is none or more than one."""
    found = events(tx, event)
    assert len(found) == 1, f"expected one {event.name}, got {found}"
    return found[0]


@contextmanager
def reverts(message: str, error: type[CrossborderError] | None = None) -> Iterator[Any]:
    """`ape.reverts(message)` that also checks the typed error `crossborder.errors` maps it to."""
    with ape.reverts(message) as info:
        yield info
    if error is not None:
        mapped = from_revert(info.value.revert_message)
        assert type(mapped) is error, f"{message!r} maps to {type(mapped).__name__}"


################################################################
#                     FINANCING HELPERS                        #
################################################################


def apply(receivables, bank: Bank, firm: bytes, docs, amounts, currency: int = USD) -> int:
    """Applies through `bank`'s applicant; returns the new id, or 0 when verification failed."""
    tx = receivables.apply(firm, currency, list(docs), list(amounts), sender=bank.applicant)
    applied = events(tx, receivables.FinancingApplied)
    return applied[0]["financing_id"] if applied else 0


# The path from APPLIED to each state, as (stage, argument) steps.
_PATHS = {
    FinancingState.APPLIED: [],
    FinancingState.ACCEPTED: ["accept"],
    FinancingState.APPROVED: ["accept", "approve"],
    FinancingState.REJECTED: ["accept", "reject"],
    FinancingState.WITHDRAWN: ["withdraw"],
    FinancingState.DISBURSED: ["accept", "approve", "disburse"],
    FinancingState.CLOSED: ["accept", "approve", "disburse", "repay"],
}


def advance(receivables, bank: Bank, financing_id: int, state: FinancingState) -> None:
    """Drives an APPLIED financing to `state` with `bank`'s operators (full disbursement)."""
    for step in _PATHS[state]:
        if step == "accept":
            receivables.accept(financing_id, sender=bank.acceptor)
        elif step in ("approve", "reject"):
            receivables.review(financing_id, step == "approve", sender=bank.reviewer)
        elif step == "withdraw":
            receivables.withdraw(financing_id, sender=bank.applicant)
        elif step == "disburse":
            requested = receivables.financing(financing_id).requested
            receivables.register_disbursement(
                financing_id, requested, ISSUED, ISSUED + 90, sender=bank.disburser
            )
        else:
            disbursed = receivables.financing(financing_id).disbursed
            receivables.register_repayment(financing_id, disbursed, sender=bank.repayer)
    assert receivables.financing(financing_id).state == state
