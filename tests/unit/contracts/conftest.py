"""Contract fixtures on ape's embedded EVM: a deployed consortium with two banks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from crossborder.domain.codes import DocumentType, ParticipantKind, Role, Scenario

USD = 840
CNY = 156
ZERO = b"\x00" * 32


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
    applicant: object
    acceptor: object
    reviewer: object
    disburser: object
    repayer: object
    opener: object


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
    """Registers (fingerprint, owner, face, currency) tuples, issued on day 20000."""
    return ledger.register(
        doc_type, [(d[0], d[1], d[2], d[3], 20000) for d in docs], sender=sender
    )
