"""Contract fixtures on ape's embedded EVM: a deployed consortium with two banks and two firms.

The consortium is deployed as `crossborder.chain.deploy` deploys it: every row of the scenario
table (`SCENARIO_TABLE`) written with `define_roles`, the receivables scenario authorised on the
ledger. Each firm has opened the receivables service with each bank by its signed consent.

Accounts: 0 regulator, 1 customs operator, 9 outsider (never bound), 10-15 bank A's operators,
16-21 bank B's, 27 firm A's account (signs its consents), 28 firm B's; 2-8, 22-26 and 29 are
free for a module's own operators (ape reverts each test's and each module's changes, so
modules may reuse them).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ape
import pytest
import vyper
from ape.contracts import ContractContainer
from eth_account import Account
from ethpm_types import ContractType
from vyper.compiler.settings import Settings

from crossborder.domain.codes import (
    SCENARIO_TABLE,
    DocumentType,
    FinancingState,
    ParticipantKind,
    Scenario,
    Stage,
)
from crossborder.domain.consent import EIP712_DOMAIN_FIELDS, CreditScope, ServiceConsent
from crossborder.errors import CrossborderError, from_revert

USD = 840
CNY = 156
EUR = 978
ZERO = b"\x00" * 32
ISSUED = 20000  # days since 1970-01-01 (2024-10-04)
FAR = 2**40  # unix seconds: consents that outlive any clock a test sets (2**32 + ... included)
RCV = Scenario.RECEIVABLES
POL = Scenario.POLICY
LOG = Scenario.LOGISTICS
EXPORT = DocumentType.EXPORT_DECLARATION
WAYBILL = DocumentType.RAIL_WAYBILL
LADING = DocumentType.BILL_OF_LADING
# A scenario the table has no row for yet: a new scenario's stand-in in tests of `define_roles`.
ROWLESS = next(s for s in range(256) if all(row[0] != s for row in SCENARIO_TABLE))


# Which document types each kind of data provider may register (`DocumentLedger._may_register`).
MAY_REGISTER = {
    ParticipantKind.CUSTOMS: {DocumentType.EXPORT_DECLARATION, DocumentType.IMPORT_DECLARATION},
    ParticipantKind.INSURER: {DocumentType.INSURED_SHIPMENT},
    ParticipantKind.LOGISTICS: {
        DocumentType.RAIL_WAYBILL,
        DocumentType.BILL_OF_LADING,
        DocumentType.FREIGHT_INVOICE,
    },
    ParticipantKind.TAX: {
        DocumentType.TAX_FILING,
        DocumentType.FREIGHT_INVOICE,
        DocumentType.INVOICE,
    },
}


def fp(label: str) -> bytes:
    """A stand-in fingerprint for contract tests (the SDK's keyed fingerprints are tested apart)."""
    return hashlib.sha256(label.encode()).digest()


@dataclass
class Bank:
    id: bytes
    applicant: Any
    acceptor: Any
    reviewer: Any
    disburser: Any
    repayer: Any
    opener: Any


# Each bank operator's one stage in the receivables scenario, in `Bank` field order.
BANK_STAGES = (
    ("applicant", Stage.APPLY),
    ("acceptor", Stage.ACCEPT),
    ("reviewer", Stage.REVIEW),
    ("disburser", Stage.DISBURSE),
    ("repayer", Stage.REPAY),
    ("opener", Stage.SERVICE),
)


################################################################
#                 OPERATORS, ROLES AND CONSENTS                #
################################################################


def bind(consortium, regulator, account, participant: bytes, roles=None) -> None:
    """Binds `account` to `participant` and grants it stages per scenario (`{scenario: stages}`)."""
    consortium.add_operator(account, participant, sender=regulator)
    for scenario, stages in (roles or {}).items():
        consortium.set_roles(account, int(scenario), int(stages), sender=regulator)


def consent(
    firm: bytes,
    bank: bytes,
    scenario: int = RCV,
    *,
    valid_until: int = FAR,
    nonce: int | None = None,
    scope: int = CreditScope.ALL,
) -> ServiceConsent:
    """A firm's consent to open `scenario` with `bank` (a fresh random nonce by default)."""
    return ServiceConsent(
        firm=firm,
        bank=bank,
        scenario=Scenario(scenario),
        scope=scope,
        valid_until=valid_until,
        nonce=secrets.randbits(256) if nonce is None else nonce,
    )


def sign(
    terms: ServiceConsent,
    signer,
    consortium,
    *,
    chain_id: int | None = None,
    verifying_contract: str | None = None,
) -> bytes:
    """The EIP-712 signature of `terms` by a test account (domain: this chain and consortium)."""
    message = terms.typed_data(
        ape.chain.chain_id if chain_id is None else chain_id,
        verifying_contract or consortium.address,
    )
    return bytes(Account.sign_typed_data(signer.private_key, full_message=message).signature)


def open_service(
    consortium,
    opener,
    signer,
    firm: bytes,
    bank: bytes,
    scenario: int = RCV,
    **terms: Any,
):
    """The bank's `opener` submits the firm's consent, signed by the firm's account `signer`."""
    signed = consent(firm, bank, scenario, **terms)
    return consortium.open_service(
        signed.as_tuple(), sign(signed, signer, consortium), sender=opener
    )


# The firm's signed assignment of a policy's claim rights to a bank (赔款权益转让), spelled out
# here apart from the SDK's copy: the contract, the SDK and this file must agree.
ASSIGNMENT_TYPE = (
    "ClaimAssignment(bytes32 policy,bytes32 firm,bytes32 bank,uint64 validUntil,uint256 nonce)"
)
ASSIGNMENT_DOMAIN = ("crossborder policy financing", "1")


def assignment_message(
    policy_contract,
    policy: bytes,
    firm: bytes,
    bank: bytes,
    valid_until: int,
    nonce: int,
    *,
    chain_id: int | None = None,
    verifying_contract: str | None = None,
) -> dict[str, Any]:
    """The EIP-712 typed data of a claim-rights assignment (domain: this chain and contract)."""
    name, version = ASSIGNMENT_DOMAIN
    fields = ASSIGNMENT_TYPE.partition("(")[2].rstrip(")").split(",")
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_FIELDS,
            "ClaimAssignment": [
                {"type": t, "name": n} for t, n in (field.split(" ") for field in fields)
            ],
        },
        "primaryType": "ClaimAssignment",
        "domain": {
            "name": name,
            "version": version,
            "chainId": ape.chain.chain_id if chain_id is None else chain_id,
            "verifyingContract": verifying_contract or policy_contract.address,
        },
        "message": {
            "policy": policy,
            "firm": firm,
            "bank": bank,
            "validUntil": valid_until,
            "nonce": nonce,
        },
    }


def sign_assignment(
    policy_contract,
    signer,
    policy: bytes,
    firm: bytes,
    bank: bytes,
    *,
    valid_until: int = FAR,
    nonce: int | None = None,
    **domain: Any,
) -> tuple[int, int, bytes]:
    """`(valid_until, nonce, signature)`: `signer` signs the assignment of `policy` (of `firm`)
    to `bank`; a fresh random nonce by default. The arguments of `request_assignment`."""
    nonce = secrets.randbits(256) if nonce is None else nonce
    message = assignment_message(policy_contract, policy, firm, bank, valid_until, nonce, **domain)
    signed = Account.sign_typed_data(signer.private_key, full_message=message)
    return valid_until, nonce, bytes(signed.signature)


################################################################
#                           FIXTURES                           #
################################################################


@pytest.fixture(scope="session")
def regulator(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def customs_op(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def outsider(accounts):
    return accounts[9]


def write_scenario_table(consortium, regulator) -> None:
    """Every row of `SCENARIO_TABLE`, as the deploy writes them."""
    for (scenario, kind), stages in SCENARIO_TABLE.items():
        consortium.define_roles(int(scenario), int(kind), int(stages), sender=regulator)


@pytest.fixture(scope="session")
def consortium(project, regulator):
    contract = project.Consortium.deploy(sender=regulator)
    write_scenario_table(contract, regulator)
    return contract


@pytest.fixture(scope="session")
def ledger(project, regulator, consortium):
    return project.DocumentLedger.deploy(consortium, sender=regulator)


@pytest.fixture(scope="session")
def receivables(project, regulator, consortium, ledger):
    contract = project.ReceivablesFinancing.deploy(consortium, ledger, sender=regulator)
    ledger.set_scenario(contract, True, sender=regulator)
    return contract


_PROBE = Path(__file__).with_name("ProbeScenario.vy")


@pytest.fixture(scope="session")
def probe_container() -> ContractContainer:
    """`ProbeScenario.vy` (tests only): a scenario contract that forwards any hold, release or
    consume to the ledger. Deploy it with `(consortium, ledger)`."""
    out = vyper.compile_code(
        _PROBE.read_text(),
        contract_path=str(_PROBE),
        output_formats=["abi", "bytecode", "bytecode_runtime"],
        settings=Settings(evm_version="paris"),
    )
    contract_type = ContractType.model_validate(
        {
            "contractName": "ProbeScenario",
            "abi": out["abi"],
            "deploymentBytecode": {"bytecode": out["bytecode"]},
            "runtimeBytecode": {"bytecode": out["bytecode_runtime"]},
        }
    )
    return ContractContainer(contract_type)


CUSTOMS = fp("customs")
FIRM_A = fp("firm-a")
FIRM_B = fp("firm-b")


def grant_stages(consortium, regulator, bank: Bank, scenario: int) -> None:
    """`bank`'s operators get their one stage (`BANK_STAGES`) in `scenario` too."""
    for name, stage in BANK_STAGES:
        consortium.set_roles(getattr(bank, name), int(scenario), int(stage), sender=regulator)


def onboard(consortium, regulator, label: str, kind: ParticipantKind, *operators, roles=None):
    """Onboards participant `fp(label)` of `kind` and binds `operators` to it with `roles`."""
    participant = fp(label)
    consortium.onboard(participant, int(kind), ZERO, sender=regulator)
    for account in operators:
        bind(consortium, regulator, account, participant, roles)
    return participant


def deploy_scenario(project, name: str, consortium, ledger, regulator):
    """Deploys scenario contract `name` on the consortium and ledger and authorises it."""
    contract = getattr(project, name).deploy(consortium, ledger, sender=regulator)
    ledger.set_scenario(contract, True, sender=regulator)
    return contract


def make_bank(consortium, regulator, accounts, name: str, first: int, parent: bytes = ZERO) -> Bank:
    """Onboards a bank with six operators `accounts[first:first + 6]`, one receivables stage each."""
    bank_id = fp(name)
    consortium.onboard(bank_id, ParticipantKind.BANK, parent, sender=regulator)
    ops = []
    for i, (_, stage) in enumerate(BANK_STAGES):
        bind(consortium, regulator, accounts[first + i], bank_id, {RCV: stage})
        ops.append(accounts[first + i])
    return Bank(bank_id, *ops)


@pytest.fixture(scope="session")
def firm_accounts(accounts) -> dict[bytes, Any]:
    """Each firm's bound account: it signs the firm's consents and may close its services."""
    return {FIRM_A: accounts[27], FIRM_B: accounts[28]}


@pytest.fixture(scope="session")
def platform(consortium, ledger, receivables, regulator, customs_op, accounts, firm_accounts):
    """Regulator, customs with one operator, two firms with one account each, two banks with one
    operator per stage; each firm has opened the receivables service with each bank."""
    consortium.onboard(CUSTOMS, ParticipantKind.CUSTOMS, ZERO, sender=regulator)
    bind(consortium, regulator, customs_op, CUSTOMS, {Scenario.PLATFORM: Stage.REGISTER})
    for firm, account in firm_accounts.items():
        consortium.onboard(firm, ParticipantKind.ENTERPRISE, ZERO, sender=regulator)
        bind(consortium, regulator, account, firm)
    bank_a = make_bank(consortium, regulator, accounts, "bank-a", 10)
    bank_b = make_bank(consortium, regulator, accounts, "bank-b", 16)
    for bank in (bank_a, bank_b):
        for firm, account in firm_accounts.items():
            open_service(consortium, bank.opener, account, firm, bank.id)
    return bank_a, bank_b


@pytest.fixture(scope="session")
def bank_a(platform):
    return platform[0]


@pytest.fixture(scope="session")
def bank_b(platform):
    return platform[1]


def register(ledger, sender, docs, doc_type=EXPORT):
    """Registers (fingerprint, owner, face, currency) tuples, issued on day `ISSUED`."""
    return ledger.register(
        doc_type, [(d[0], d[1], d[2], d[3], ISSUED) for d in docs], sender=sender
    )


def held(ledger, doc: bytes, doc_type=EXPORT) -> int:
    """The amount the ledger holds on a document (live and consumed holds)."""
    return ledger.document(doc_type, doc)[2]


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


################################################################
#       CREDIT QUERY AND CREDIT MATCHING (issue 11)            #
################################################################


@pytest.fixture(scope="module")
def desks(consortium, regulator, accounts, bank_a, bank_b):
    from .credit import credit_desks  # credit.py imports this module's helpers

    return credit_desks(consortium, regulator, accounts, bank_a, bank_b)


@pytest.fixture(scope="module")
def desk_a(desks):
    return desks[0]


@pytest.fixture(scope="module")
def desk_b(desks):
    return desks[1]
