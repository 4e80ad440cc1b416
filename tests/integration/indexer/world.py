"""A consortium on a real Anvil, driven through the chain layer with random but reproducible
activity, in every financing scenario the deploy sets up.

Two banks (one with a branch, 网点), customs, the export credit insurer, a logistics operator,
four firms (each with a bound account that signs its service consents and claim-rights
assignments); declarations in USD and CNY; receivables financings through every stage, failed
verifications of every reason the ledger returns; the corrections of the hardened core: batches
that skip documents already registered, one fingerprint under two document types, voided
documents registered again, face corrections, and the regulator's force-release of a
financing's holds. The policy story: policies, shipments under them tied to declarations, cover,
the firm's signed assignment of its claim rights to a bank, advance ratios, policy financings,
loss notices, claims paid and declined, and a paid claim applied as a repayment. The logistics
story: waybills and a bill of lading, a waybill linked to the declaration of the same goods and
financed at one bank, refused at another, the declaration's rest financed as a receivable, a
linked declaration used up before its waybill, and a linked waybill financed and withdrawn,
voided (its link goes with it), registered again unlinked and linked to another declaration.
Time jumps spread the activity over weeks, so that reports have several days and months.

The world talks to the contracts through ``crossborder.chain`` only (ABIs, sender, deploy), not
through the SDK's services, so that it depends on nothing but the contracts' own interface.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from crossborder.chain.abi import ContractAbi, load_manifest
from crossborder.chain.codec import encode_document_row, encode_static_array_call
from crossborder.chain.deploy import deploy
from crossborder.chain.deployment import Deployment
from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.sender import Receipt, TransactionSender, TxRequest
from crossborder.chain.signers import Signer, dev_signers
from crossborder.domain.codes import (
    DocumentType,
    FinancingState,
    ForceReason,
    ParticipantKind,
    Reason,
    Scenario,
    Stage,
)
from crossborder.domain.consent import (
    DOMAIN_VERSION,
    EIP712_DOMAIN_FIELDS,
    CreditScope,
    ServiceConsent,
)
from crossborder.domain.documents import BUYER_KIND, POLICY_KIND, document_fingerprint
from crossborder.domain.fingerprint import Fingerprinter
from crossborder.domain.identifiers import make_uscc
from crossborder.domain.models import Declaration, to_day
from crossborder.domain.money import Money, currency
from crossborder.domain.sample import derive_sample

CHAIN_ID = 31337
KEY = b"test-consortium-key-not-for-production"
STAGES = (Stage.APPLY, Stage.ACCEPT, Stage.REVIEW, Stage.DISBURSE, Stage.REPAY)
CONSORTIUM, LEDGER, RECEIVABLES = "Consortium", "DocumentLedger", "ReceivablesFinancing"
POLICY, LOGISTICS = "PolicyFinancing", "LogisticsFinancing"
FINANCING_CONTRACTS = (RECEIVABLES, POLICY, LOGISTICS)
SCENARIO_OF = {
    RECEIVABLES: Scenario.RECEIVABLES,
    POLICY: Scenario.POLICY,
    LOGISTICS: Scenario.LOGISTICS,
}
EXPORT, IMPORT = DocumentType.EXPORT_DECLARATION, DocumentType.IMPORT_DECLARATION
WAYBILL, LADING = DocumentType.RAIL_WAYBILL, DocumentType.BILL_OF_LADING
ZERO = b"\x00" * 32
# Consents, policies and assignments stay valid for the whole story, whatever time jumps it makes.
VALID_UNTIL = int(dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp())
# The regulator's advance ratio for each bank (basis points of the insured amount), by bank name.
ADVANCE_RATIOS = {"Bank A": 8_000, "Bank A Xiamen branch": 9_000, "Bank B": 7_000}
ASSIGNMENT_FIELDS = [
    {"name": "policy", "type": "bytes32"},
    {"name": "firm", "type": "bytes32"},
    {"name": "bank", "type": "bytes32"},
    {"name": "validUntil", "type": "uint64"},
    {"name": "nonce", "type": "uint256"},
]
CLAIM_FILED, CLAIM_PAID, CLAIM_DECLINED = 1, 2, 3

DocKey = tuple[int, str]  # (document type, document number)


class Contracts:
    """The deployed contracts, reached through the chain layer: calls, views, decoded events."""

    def __init__(self, rpc: RpcClient, deployment: Deployment, abis: dict[str, ContractAbi]):
        self.rpc = rpc
        self.deployment = deployment
        self.abis = abis
        self.sender = TransactionSender(rpc, deployment.chain_id)

    def address(self, contract: str) -> str:
        return self.deployment.contracts[contract]

    def send(self, signer: Signer, contract: str, fn: str, *args: Any) -> Receipt:
        data = self.abis[contract].encode_call(fn, *args)
        return self.sender.transact(TxRequest(signer=signer, to=self.address(contract), data=data))

    def send_data(self, signer: Signer, contract: str, data: bytes) -> Receipt:
        return self.sender.transact(TxRequest(signer=signer, to=self.address(contract), data=data))

    def view(self, contract: str, fn: str, *args: Any) -> tuple[Any, ...]:
        abi = self.abis[contract]
        out = self.rpc.eth_call(self.address(contract), abi.encode_call(fn, *args))
        return tuple(abi.decode_output(fn, out))

    def events(self, receipt: Receipt, contract: str, name: str) -> list[dict[str, Any]]:
        abi, address = self.abis[contract], self.address(contract).lower()
        found = []
        for log in receipt.logs:
            if log.address.lower() != address:
                continue
            event = abi.decode_log(log.topics, log.data)
            if event is not None and event.name == name:
                found.append(event.args)
        return found


@dataclass
class Firm:
    uscc: str
    id: str
    account: Signer  # bound to the firm: signs its consents and assignments


@dataclass
class Bank:
    name: str
    uscc: str
    id: str
    head: str  # the legal-person bank's id (itself unless a branch)
    ops: dict[Stage, Signer]  # each holds its stage in every financing scenario
    opener: Signer
    statistician: Signer | None  # the statistician stage in the receivables scenario only


@dataclass
class Financing:
    id: int
    bank: Bank
    firm: str
    currency: str
    citations: list[tuple[str, int]]  # document number, minor units
    contract: str = RECEIVABLES
    doc_type: DocumentType = EXPORT  # of the cited documents
    state: FinancingState = FinancingState.APPLIED
    disbursed: int = 0
    repaid: int = 0
    forced: bool = False  # the regulator force-released its holds
    parked: bool = False  # left as it is (the random lifecycle does not move it)

    @property
    def key(self) -> tuple[str, int]:
        return (self.contract, self.id)


@dataclass
class Transport:
    """A waybill or bill of lading the logistics operator registered."""

    kind: DocumentType
    number: str
    owner: str  # the consignor's USCC
    face: int
    currency: str
    declaration: str | None = None  # the export declaration it is linked to


@dataclass
class Policy:
    number: str
    firm: str
    currency: str
    limit: int
    bank: Bank | None = None  # the assignee
    pending: Bank | None = None
    shipments: dict[str, int] = field(default_factory=dict)  # declaration -> insured units
    covered: set[str] = field(default_factory=set)


@dataclass
class Failure:
    """A failed verification: its bank's legal person, reason, units, currency and scenario."""

    bank: str
    reason: int
    units: int
    currency: str
    contract: str = RECEIVABLES
    doc_type: DocumentType = EXPORT


@dataclass
class World:
    devnet: Devnet
    rpc: RpcClient
    contracts: Contracts
    deployment: Deployment
    deployment_path: Path
    abis: dict[str, ContractAbi]
    fp: Fingerprinter
    regulator: Signer
    customs: Signer
    insurer: Signer
    logistics: Signer
    banks: list[Bank]
    firms: list[Firm]
    insurer_id: str = ""
    # Live documents on the ledger, by (type, number): what the chain holds now.
    documents: dict[DocKey, Declaration] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)  # export declaration -> units left
    transport: dict[DocKey, Transport] = field(default_factory=dict)  # live waybills, B/Ls
    transport_left: dict[DocKey, int] = field(default_factory=dict)
    financings: dict[tuple[str, int], Financing] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    policies: dict[str, Policy] = field(default_factory=dict)
    claims: dict[int, str] = field(default_factory=dict)  # claim id -> policy number
    claim_repayments: list[tuple[int, int, int]] = field(default_factory=list)  # fid, claim, units
    # The corrections the story made, for the tests to check.
    skipped: list[DocKey] = field(default_factory=list)
    two_types: list[str] = field(default_factory=list)  # numbers under both types
    registered_again: list[DocKey] = field(default_factory=list)
    voided: list[DocKey] = field(default_factory=list)  # voided and not registered again
    corrected: list[DocKey] = field(default_factory=list)
    forced: list[tuple[str, int]] = field(default_factory=list)  # (contract, financing id)
    revoked: int = 0  # consents revoked
    # The logistics story's landmarks, for the tests: (waybill, declaration, units) financed at
    # one bank and refused at another; linked declarations used up before their waybills.
    # (waybill, its declaration, units financed on the waybill, the declaration's rest)
    linked_financed: list[tuple[DocKey, str, int, int]] = field(default_factory=list)
    linked_refused: list[DocKey] = field(default_factory=list)
    # Linked, financed, voided, registered again and linked to another declaration: (waybill,
    # the declaration it was linked to first, the one it is linked to again).
    transport_again: list[tuple[DocKey, str, str]] = field(default_factory=list)

    def hex_id(self, uscc: str) -> str:
        return "0x" + self.fp.participant(uscc).hex()

    def firm(self, uscc: str) -> Firm:
        return next(f for f in self.firms if f.uscc == uscc)

    def bank(self, name: str) -> Bank:
        return next(b for b in self.banks if b.name == name)

    def view(self, contract: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self.contracts.view(contract, fn, *args)

    def admin(self, contract: str, fn: str, *args: Any) -> Receipt:
        return self.contracts.send(self.regulator, contract, fn, *args)

    def document_fp(self, doc_type: int, number: str) -> bytes:
        """The fingerprint of a document of any type the story registers."""
        if doc_type in (EXPORT, IMPORT):
            return self.fp.declaration(number)
        return document_fingerprint(self.fp, DocumentType(doc_type), number)

    def policy_fp(self, number: str) -> bytes:
        return self.fp.document(POLICY_KIND, number)

    def stop(self) -> None:
        self.rpc.close()
        self.devnet.stop()


def _id(hex_id: str) -> bytes:
    return bytes.fromhex(hex_id[2:])


def start_world(directory: Path) -> World:
    """Start Anvil (automine), deploy (with the scenario table), and onboard the consortium."""
    devnet = Devnet(directory, port=free_port(), block_time=None)
    devnet.start()
    rpc = RpcClient(devnet.url)
    signers = dev_signers(CHAIN_ID, 30)
    for signer in signers[10:]:
        rpc.request("anvil_setBalance", [signer.address, hex(10**22)])
    path = directory / "deployment.json"
    abis = dict(load_manifest())
    regulator = signers[0]
    deployment = deploy(rpc, abis, regulator, path)
    contracts = Contracts(rpc, deployment, abis)
    fp = Fingerprinter(KEY)
    world = World(
        devnet,
        rpc,
        contracts,
        deployment,
        path,
        abis,
        fp,
        regulator,
        customs=signers[1],
        insurer=signers[27],
        logistics=signers[28],
        banks=[],
        firms=[],
    )

    def onboard(uscc: str, kind: ParticipantKind, parent: str | None = None) -> str:
        pid = world.hex_id(uscc)
        world.admin(CONSORTIUM, "onboard", _id(pid), int(kind), _id(parent) if parent else ZERO)
        return pid

    def operator(account: Signer, pid: str, scenario: Scenario, stages: Stage) -> None:
        world.admin(CONSORTIUM, "add_operator", account.address, _id(pid))
        if stages:
            world.admin(CONSORTIUM, "set_roles", account.address, int(scenario), int(stages))

    def roles(account: Signer, scenario: Scenario, stages: Stage) -> None:
        world.admin(CONSORTIUM, "set_roles", account.address, int(scenario), int(stages))

    onboard(make_uscc("11100000000013127"), ParticipantKind.REGULATOR)
    customs = onboard(make_uscc("11100000000012345"), ParticipantKind.CUSTOMS)
    operator(world.customs, customs, Scenario.PLATFORM, Stage.REGISTER)
    # The export credit insurer registers policies, shipments, cover and claims in the policy
    # scenario; the logistics operator registers waybills and bills of lading on the ledger.
    world.insurer_id = onboard(make_uscc("91110000100017643"), ParticipantKind.INSURER)
    operator(world.insurer, world.insurer_id, Scenario.POLICY, Stage.REGISTER)
    carrier = onboard(make_uscc("91610000MA6TG1234"), ParticipantKind.LOGISTICS)
    operator(world.logistics, carrier, Scenario.PLATFORM, Stage.REGISTER)
    for i in range(1, 5):
        uscc = make_uscc(f"91350200MA2Y0000{i}")
        pid = onboard(uscc, ParticipantKind.ENTERPRISE)
        account = signers[22 + i]
        operator(account, pid, Scenario.PLATFORM, Stage(0))  # bound, without stages
        world.firms.append(Firm(uscc, pid, account))
    plan = [
        ("Bank A", make_uscc("91350200260130000"), None, 2, True),
        ("Bank A Xiamen branch", make_uscc("91350200260130011"), "Bank A", 9, False),
        ("Bank B", make_uscc("91110000100000001"), None, 16, True),
    ]
    for name, uscc, parent, first, statistician in plan:
        parent_bank = next((b for b in world.banks if b.name == parent), None)
        bank_id = onboard(uscc, ParticipantKind.BANK, parent_bank.id if parent_bank else None)
        ops: dict[Stage, Signer] = {stage: signers[first + i] for i, stage in enumerate(STAGES)}
        opener = signers[first + 5]
        for stage, acting in ops.items():
            operator(acting, bank_id, Scenario.RECEIVABLES, stage)
        operator(opener, bank_id, Scenario.RECEIVABLES, Stage.SERVICE)
        for scenario in (Scenario.POLICY, Scenario.LOGISTICS):
            for stage, acting in ops.items():
                roles(acting, scenario, stage)
            roles(opener, scenario, Stage.SERVICE)
        stat = signers[first + 6] if statistician else None
        if stat is not None:
            operator(stat, bank_id, Scenario.RECEIVABLES, Stage.STATISTICS)
        bank = Bank(
            name, uscc, bank_id, parent_bank.id if parent_bank else bank_id, ops, opener, stat
        )
        world.banks.append(bank)
        for scenario in SCENARIO_OF.values():
            for index, firm in enumerate(world.firms):
                open_service(world, bank, firm, nonce=first * 100 + index, scenario=scenario)
        world.admin(POLICY, "set_advance_ratio", _id(bank_id), ADVANCE_RATIOS[name])
    return world


def consent(
    world: World,
    bank: Bank,
    firm: Firm,
    nonce: int,
    scenario: Scenario = Scenario.RECEIVABLES,
) -> tuple[ServiceConsent, bytes]:
    """The firm's signed consent to open a financing scenario with the bank."""
    agreed = ServiceConsent(
        firm=_id(firm.id),
        bank=_id(bank.id),
        scenario=scenario,
        scope=CreditScope.ALL,
        valid_until=VALID_UNTIL,
        nonce=nonce + 10_000 * int(scenario),
    )
    typed = agreed.typed_data(CHAIN_ID, world.deployment.consortium)
    return agreed, firm.account.sign_typed_data(typed)


def open_service(
    world: World, bank: Bank, firm: Firm, nonce: int, scenario: Scenario = Scenario.RECEIVABLES
) -> None:
    """业务开通: the firm signs, the bank's service operator submits."""
    agreed, signature = consent(world, bank, firm, nonce, scenario)
    world.contracts.send(bank.opener, CONSORTIUM, "open_service", agreed.as_tuple(), signature)


def advance(world: World, rng: random.Random, max_hours: int = 60) -> None:
    """Let time pass on the chain (the next block's timestamp jumps)."""
    world.rpc.request("evm_increaseTime", [rng.randint(600, max_hours * 3600)])


def register_batch(
    world: World, doc_type: DocumentType, declarations: list[Declaration]
) -> dict[str, Any]:
    """One ``register(doc_type, rows)`` transaction; returns its DocumentsRegistered args."""
    rows = [
        encode_document_row(
            world.fp.declaration(d.number),
            world.fp.participant(d.exporter),
            d.amount.to_minor(),
            d.amount.currency.numeric,
            to_day(d.export_date),
        )
        for d in declarations
    ]
    selector = world.abis[LEDGER].selector("register")
    data = encode_static_array_call(selector, [int(doc_type)], rows)
    receipt = world.contracts.send_data(world.customs, LEDGER, data)
    (batch,) = world.contracts.events(receipt, LEDGER, "DocumentsRegistered")
    for d in declarations:
        key = (int(doc_type), d.number)
        if key not in world.documents:
            world.documents[key] = d
            if doc_type is EXPORT:
                world.left[d.number] = d.amount.to_minor()
    return batch


def _declaration(
    world: World,
    rng: random.Random,
    export: bool = True,
    exporter: str | None = None,
    amount: Money | None = None,
) -> Declaration:
    units = rng.randrange(1_000_00, 500_000_00)
    return Declaration(
        number=str(rng.randrange(10**17, 10**18)),
        export_date=dt.date(2025, 1, 1) - dt.timedelta(days=rng.randrange(1, 300)),
        exporter=exporter or rng.choice(world.firms).uscc,
        amount=amount or Money.from_minor(units, rng.choice(["USD", "USD", "CNY"])),
        export=export,
    )


def register(world: World, rng: random.Random, count: int) -> list[str]:
    """New declarations (a few import declarations, which cannot be financed), in batches."""
    declarations = [_declaration(world, rng, export=rng.random() > 0.08) for _ in range(count)]
    size = rng.choice([3, 7, 20])
    for doc_type in (EXPORT, IMPORT):
        of_type = [d for d in declarations if d.doc_type is doc_type]
        for start in range(0, len(of_type), size):
            batch = register_batch(world, doc_type, of_type[start : start + size])
            assert batch["skipped"] == 0
    return [d.number for d in declarations]


def _fresh_declarations(
    world: World, rng: random.Random, firm: str, code: str, faces: list[int]
) -> list[str]:
    """Customs registers new export declarations of one firm and currency, in one batch."""
    declarations = [
        _declaration(world, rng, exporter=firm, amount=Money.from_minor(units, code))
        for units in faces
    ]
    assert register_batch(world, EXPORT, declarations)["skipped"] == 0
    return [d.number for d in declarations]


def _record_failure(
    world: World, f: Financing, receipt: Receipt, contract: str
) -> dict[str, Any] | None:
    failed = world.contracts.events(receipt, contract, "VerificationFailed")
    if not failed:
        return None
    (failure,) = failed
    world.failures.append(
        Failure(
            f.bank.head,
            int(failure["reason"]),
            int(failure["amount"]),
            f.currency,
            contract,
            DocumentType(int(failure["doc_type"])),
        )
    )
    return failure


def _apply_as(world: World, f: Financing) -> int | None:
    """Sends an application (the financing without its id); returns the id, or None when the
    ledger's verification failed (then the failure is recorded)."""
    contract = f.contract
    kind = (int(f.doc_type),) if contract == LOGISTICS else ()
    receipt = world.contracts.send(
        f.bank.ops[Stage.APPLY],
        contract,
        "apply",
        world.fp.participant(f.firm),
        currency(f.currency).numeric,
        *kind,
        [world.document_fp(f.doc_type, n) for n, _ in f.citations],
        [u for _, u in f.citations],
    )
    if _record_failure(world, f, receipt, contract) is not None:
        return None
    (applied,) = world.contracts.events(receipt, contract, "FinancingApplied")
    f.id = int(applied["financing_id"])
    for number, units in f.citations:
        _take(world, f.doc_type, number, units)
    world.financings[f.key] = f
    return f.id


def _take(world: World, doc_type: int, number: str, units: int) -> None:
    """What a hold takes off a document, and off the declaration it is linked to."""
    if doc_type == EXPORT:
        world.left[number] -= units
        return
    key = (int(doc_type), number)
    world.transport_left[key] -= units
    linked = world.transport[key].declaration
    if linked is not None:
        world.left[linked] -= units


def _give_back(world: World, doc_type: int, number: str, units: int) -> None:
    if doc_type == EXPORT:
        world.left[number] += units
        return
    key = (int(doc_type), number)
    world.transport_left[key] += units
    linked = world.transport[key].declaration
    if linked is not None:
        world.left[linked] += units


def _apply(world: World, bank: Bank, firm: str, code: str, cites: list[tuple[str, int]]) -> None:
    _apply_as(world, Financing(0, bank, firm, code, cites))


def _exports(world: World) -> list[str]:
    return [n for t, n in world.documents if t == EXPORT]


def apply_random(world: World, rng: random.Random) -> None:
    """A receivables application that passes or fails verification with one of every reason."""
    bank = rng.choice(world.banks)
    numbers = _exports(world)
    kind = rng.choices(
        ["ok", "ok2", "not_found", "owner", "currency", "duplicate", "over"],
        weights=[6, 2, 1, 1, 1, 2, 2],
    )[0]
    number = rng.choice(numbers)
    d = world.documents[(EXPORT, number)]
    code = d.amount.currency.code
    left = world.left[number]
    if kind == "ok2":
        same = [
            n
            for n in numbers
            if world.documents[(EXPORT, n)].exporter == d.exporter
            and world.documents[(EXPORT, n)].amount.currency.code == code
            and world.left[n] > 0
            and n != number
        ]
        if left > 0 and same:
            other = rng.choice(same)
            cites = [(number, rng.randint(1, left)), (other, rng.randint(1, world.left[other]))]
            _apply(world, bank, d.exporter, code, cites)
            return
        kind = "ok"
    if kind == "ok" and left > 0:
        units = left if rng.random() < 0.4 else rng.randint(1, left)
        _apply(world, bank, d.exporter, code, [(number, units)])
    elif kind == "not_found":
        # A number never registered, or an import declaration: not an export one either way.
        imports = [
            n for t, n in world.documents if t == IMPORT and (EXPORT, n) not in world.documents
        ]
        missing = str(rng.randrange(10**17, 10**18))
        cited = rng.choice(imports) if imports and rng.random() < 0.5 else missing
        _apply(world, bank, d.exporter, code, [(cited, 100_00)])
    elif kind == "owner":
        other = next(f.uscc for f in world.firms if f.uscc != d.exporter)
        _apply(world, bank, other, code, [(number, 1_00)])
    elif kind == "currency":
        _apply(world, bank, d.exporter, "EUR", [(number, 1_00)])
    elif kind == "duplicate" and left == 0:
        _apply(world, bank, d.exporter, code, [(number, 1_00)])
    elif left > 0:
        _apply(world, bank, d.exporter, code, [(number, left + rng.randint(1, 10_000_00))])


def _act(world: World, f: Financing, stage: Stage, fn: str, *args: Any) -> Receipt:
    return world.contracts.send(f.bank.ops[stage], f.contract, fn, f.id, *args)


def _open(world: World) -> list[Financing]:
    return [
        f
        for f in world.financings.values()
        if f.state not in (FinancingState.REJECTED, FinancingState.WITHDRAWN, FinancingState.CLOSED)
        and not f.parked
    ]


def step_financing(world: World, rng: random.Random, f: Financing) -> None:
    """Move a financing one stage along its lifecycle (any scenario)."""
    units = sum(u for _, u in f.citations)
    if f.state is FinancingState.APPLIED:
        if rng.random() < 0.15:
            _act(world, f, Stage.APPLY, "withdraw")
            _free(world, f, FinancingState.WITHDRAWN)
        else:
            _act(world, f, Stage.ACCEPT, "accept")
            f.state = FinancingState.ACCEPTED
    elif f.state is FinancingState.ACCEPTED:
        if rng.random() < 0.2:
            _act(world, f, Stage.REVIEW, "review", False)
            _free(world, f, FinancingState.REJECTED)
        else:
            _act(world, f, Stage.REVIEW, "review", True)
            f.state = FinancingState.APPROVED
    elif f.state is FinancingState.APPROVED:
        amount = rng.randint(max(1, units // 2), units)
        day = to_day(dt.date(2025, 3, 1))
        _act(world, f, Stage.DISBURSE, "register_disbursement", amount, day, day + 90)
        f.state, f.disbursed = FinancingState.DISBURSED, amount
    else:
        outstanding = f.disbursed - f.repaid
        pay = outstanding if rng.random() < 0.5 else rng.randint(1, outstanding)
        _act(world, f, Stage.REPAY, "register_repayment", pay)
        _repaid(f, pay)


def _repaid(f: Financing, units: int) -> None:
    f.repaid += units
    if f.repaid == f.disbursed:
        f.state = FinancingState.CLOSED


def move_random(world: World, rng: random.Random) -> None:
    """Move a random open financing (of any scenario) one stage along its lifecycle."""
    open_ = _open(world)
    if open_:
        step_financing(world, rng, rng.choice(open_))


def _free(world: World, f: Financing, state: FinancingState) -> None:
    if not f.forced:  # a force-release already freed them
        for number, units in f.citations:
            _give_back(world, f.doc_type, number, units)
    f.state = state


# -- export credit-insurance policy financing --------------------------------------------------


def _reference(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randrange(10**9, 10**10)}"


def _insure(world: World, fn: str, *args: Any) -> Receipt:
    return world.contracts.send(world.insurer, POLICY, fn, *args)


def assignment(world: World, policy: Policy, bank: Bank, nonce: int) -> tuple[int, bytes]:
    """The insured firm's signed assignment of the policy's claim rights to the bank
    (EIP-712 ``ClaimAssignment``, the policy contract's domain)."""
    firm = world.firm(policy.firm)
    message = {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "ClaimAssignment": ASSIGNMENT_FIELDS},
        "primaryType": "ClaimAssignment",
        "domain": {
            "name": "crossborder policy financing",
            "version": DOMAIN_VERSION,
            "chainId": CHAIN_ID,
            "verifyingContract": world.contracts.address(POLICY),
        },
        "message": {
            "policy": world.policy_fp(policy.number),
            "firm": _id(firm.id),
            "bank": _id(bank.id),
            "validUntil": VALID_UNTIL,
            "nonce": nonce,
        },
    }
    return nonce, firm.account.sign_typed_data(message)


def new_policy(
    world: World, rng: random.Random, shipments: int, covered: int, bank: Bank | None
) -> Policy:
    """The insurer registers a policy over fresh declarations of one firm, declares a shipment
    for each and confirms cover of the first ``covered``; the firm assigns the claim rights to
    ``bank`` (the bank requests, the insurer confirms), if given."""
    firm = rng.choice(world.firms).uscc
    code = rng.choice(["USD", "CNY"])
    faces = [rng.randrange(5_000_00, 60_000_00) for _ in range(shipments)]
    numbers = _fresh_declarations(world, rng, firm, code, faces)
    insured = {
        n: face - rng.randrange(0, face // 5) for n, face in zip(numbers, faces, strict=True)
    }
    # The buyer credit limit binds: less than all insured amounts together.
    limit = sum(insured.values()) * rng.randint(60, 90) // 100
    policy = Policy(_reference(rng, "PICC"), firm, code, limit)
    _insure(
        world,
        "register_policy",
        world.policy_fp(policy.number),
        world.fp.participant(firm),
        world.fp.document(BUYER_KIND, _reference(rng, "BUYER")),
        limit,
        currency(code).numeric,
        VALID_UNTIL,
    )
    for n, units in insured.items():
        _insure(
            world,
            "declare_shipment",
            world.fp.declaration(n),
            world.policy_fp(policy.number),
            units,
        )
        policy.shipments[n] = units
    for n in numbers[:covered]:
        _insure(world, "confirm_cover", world.fp.declaration(n))
        policy.covered.add(n)
    world.policies[policy.number] = policy
    if bank is not None:
        request_assignment(world, rng, policy, bank)
        _insure(world, "confirm_assignment", world.policy_fp(policy.number), _id(bank.id))
        policy.bank, policy.pending = bank, None
    return policy


def request_assignment(world: World, rng: random.Random, policy: Policy, bank: Bank) -> None:
    nonce, signature = assignment(world, policy, bank, rng.getrandbits(128))
    world.contracts.send(
        bank.opener,
        POLICY,
        "request_assignment",
        world.policy_fp(policy.number),
        VALID_UNTIL,
        nonce,
        signature,
    )
    policy.pending = bank


def _policy_used(world: World, policy: Policy) -> int:
    return int(world.view(POLICY, "policy", world.policy_fp(policy.number))[6])


def apply_policy(
    world: World, rng: random.Random, policy: Policy, share: float
) -> Financing | None:
    """The assignee bank finances covered shipments: each at most what insured x its advance
    ratio leaves beside everything already held on the declaration (by any financing) and what
    is left of the declaration, all within the buyer credit limit left."""
    assert policy.bank is not None
    ratio = ADVANCE_RATIOS[policy.bank.name]
    room = policy.limit - _policy_used(world, policy)
    cites: list[tuple[str, int]] = []
    for n in sorted(policy.covered):
        left = world.left.get(n, 0)
        held = world.documents[(EXPORT, n)].amount.to_minor() - left if left else 0
        cap = min(policy.shipments[n] * ratio // 10_000 - held, left, room)
        units = int(cap * share)
        if units > 0:
            cites.append((n, units))
            room -= units
    if not cites:
        return None
    f = Financing(0, policy.bank, policy.firm, policy.currency, cites, contract=POLICY)
    return f if _apply_as(world, f) is not None else None


def _disburse(world: World, f: Financing, amount: int) -> None:
    _act(world, f, Stage.ACCEPT, "accept")
    _act(world, f, Stage.REVIEW, "review", True)
    day = to_day(dt.date(2025, 3, 1))
    _act(world, f, Stage.DISBURSE, "register_disbursement", amount, day, day + 90)
    f.state, f.disbursed = FinancingState.DISBURSED, amount


def file_claim(world: World, policy: Policy, declaration: str, amount: int) -> int:
    receipt = _insure(world, "file_claim", world.fp.declaration(declaration), amount)
    (event,) = world.contracts.events(receipt, POLICY, "ClaimUpdated")
    claim_id = int(event["claim_id"])
    world.claims[claim_id] = policy.number
    return claim_id


def policy_story(world: World, rng: random.Random) -> None:
    """One policy financed through to a paid claim applied as a repayment; a second financing
    left to the random lifecycle; a declined claim; a policy whose assignment awaits the
    insurer, with a loss notice nobody's bank sees yet; and a new advance ratio."""
    bank = rng.choice(world.banks)
    policy = new_policy(world, rng, shipments=3, covered=2, bank=bank)
    f = apply_policy(world, rng, policy, share=0.5)
    assert f is not None, "the policy financing passed verification"
    _disburse(world, f, sum(u for _, u in f.citations) * 9 // 10)
    declaration = f.citations[0][0]
    _insure(world, "notify_loss", world.fp.declaration(declaration), f.disbursed // 2)
    claim = file_claim(world, policy, declaration, f.disbursed // 2 + 1)
    paid = f.disbursed // 2
    _insure(world, "settle_claim", claim, paid)
    receipt = _act(world, f, Stage.REPAY, "register_claim_repayment", claim)
    (applied,) = world.contracts.events(receipt, POLICY, "ClaimRepayment")
    assert int(applied["amount"]) == paid
    world.claim_repayments.append((f.id, claim, paid))
    _repaid(f, paid)
    # A second financing on what the limit leaves, for the random lifecycle to move on, and a
    # third left approved: it uses the buyer credit limit until the end.
    apply_policy(world, rng, policy, share=0.3)
    kept = apply_policy(world, rng, policy, share=0.2)
    if kept is not None:
        kept.parked = True
        _act(world, kept, Stage.ACCEPT, "accept")
        _act(world, kept, Stage.REVIEW, "review", True)
        kept.state = FinancingState.APPROVED
    # The uncovered shipment's claim is declined.
    uncovered = next(n for n in policy.shipments if n not in policy.covered)
    declined = file_claim(world, policy, uncovered, policy.shipments[uncovered] // 3 + 1)
    _insure(world, "settle_claim", declined, 0)
    # Another policy: the bank asked for the assignment, the insurer has not confirmed it yet.
    waiting = new_policy(world, rng, shipments=1, covered=1, bank=None)
    request_assignment(world, rng, waiting, rng.choice(world.banks))
    (only,) = waiting.shipments
    _insure(world, "notify_loss", world.fp.declaration(only), waiting.shipments[only] // 4 + 1)
    file_claim(world, waiting, only, waiting.shipments[only] // 5 + 1)  # filed, not settled
    again = rng.choice(world.banks)
    world.admin(POLICY, "set_advance_ratio", _id(again.id), ADVANCE_RATIOS[again.name])


# -- logistics financing --------------------------------------------------------------------------


def register_transport(world: World, documents: list[Transport]) -> None:
    """The logistics operator registers waybills or bills of lading (one type per batch), then
    links those naming their declaration."""
    for kind in (WAYBILL, LADING):
        of_kind = [d for d in documents if d.kind is kind]
        if not of_kind:
            continue
        rows = [
            encode_document_row(
                world.document_fp(kind, d.number),
                world.fp.participant(d.owner),
                d.face,
                currency(d.currency).numeric,
                to_day(dt.date(2025, 2, 1)),
            )
            for d in of_kind
        ]
        selector = world.abis[LEDGER].selector("register")
        data = encode_static_array_call(selector, [int(kind)], rows)
        receipt = world.contracts.send_data(world.logistics, LEDGER, data)
        (batch,) = world.contracts.events(receipt, LEDGER, "DocumentsRegistered")
        assert batch["skipped"] == 0
        for d in of_kind:
            world.transport[(int(kind), d.number)] = d
            world.transport_left[(int(kind), d.number)] = d.face
        linked = [d for d in of_kind if d.declaration is not None]
        if linked:
            world.contracts.send(
                world.logistics,
                LEDGER,
                "link",
                int(kind),
                [world.document_fp(kind, d.number) for d in linked],
                [world.fp.declaration(d.declaration) for d in linked if d.declaration],
            )


def _apply_logistics(
    world: World, bank: Bank, document: Transport, units: int
) -> tuple[int | None, Financing]:
    f = Financing(
        0,
        bank,
        document.owner,
        document.currency,
        [(document.number, units)],
        contract=LOGISTICS,
        doc_type=document.kind,
    )
    return _apply_as(world, f), f


def logistics_story(world: World, rng: random.Random) -> None:
    """A waybill linked to the declaration of the same goods, financed at Bank A and refused
    at Bank B; the declaration's rest financed as a receivable (and not a unit more); a linked
    declaration used up before its waybill; an unlinked waybill and a bill of lading financed;
    a linked waybill financed and withdrawn, then voided (the ledger drops its link with it),
    registered again unlinked, linked to another declaration and financed there."""
    bank_a, bank_b = world.bank("Bank A"), world.bank("Bank B")
    firm = rng.choice(world.firms).uscc
    code = rng.choice(["USD", "CNY"])
    declared, used_up, spare, other = _fresh_declarations(
        world, rng, firm, code, [1_000_00, 500_00, 300_00, 300_00]
    )
    waybill = Transport(WAYBILL, _reference(rng, "CR"), firm, 600_00, code, declared)
    second = Transport(WAYBILL, _reference(rng, "CR"), firm, 800_00, code, used_up)
    plain = Transport(WAYBILL, _reference(rng, "CR"), firm, rng.randrange(100_00, 900_00), code)
    lading = Transport(LADING, _reference(rng, "BL"), firm, rng.randrange(100_00, 900_00), code)
    voided = Transport(WAYBILL, _reference(rng, "CR"), firm, 200_00, code, spare)
    register_transport(world, [waybill, second, plain, lading, voided])

    # Bank A finances the whole waybill: 600 on the waybill and 600 on its declaration.
    fid, _ = _apply_logistics(world, bank_a, waybill, 600_00)
    assert fid is not None
    key = (int(WAYBILL), waybill.number)
    # Bank B is refused on the same waybill: it is fully used.
    refused, _ = _apply_logistics(world, bank_b, waybill, 100_00)
    assert refused is None and world.failures[-1].reason == Reason.DUPLICATE
    # A receivables application on the linked declaration gets only the rest.
    rest = world.left[declared]
    assert rest == 400_00
    world.linked_financed.append((key, declared, 600_00, rest))
    _apply(world, bank_b, firm, code, [(declared, rest + 1)])
    assert world.failures[-1].reason == Reason.OVER_FINANCED
    _apply(world, bank_b, firm, code, [(declared, rest)])
    assert world.left[declared] == 0

    # The second waybill's declaration is financed in full first: the waybill, free itself,
    # cannot be financed beyond what its declaration has left (nothing).
    _apply(world, bank_a, firm, code, [(used_up, 500_00)])
    refused, _ = _apply_logistics(world, bank_b, second, 100_00)
    assert refused is None and world.failures[-1].reason == Reason.DUPLICATE
    world.linked_refused.append((int(WAYBILL), second.number))

    # Documents without links are financed on their own.
    _apply_logistics(world, rng.choice(world.banks), plain, plain.face // 2)
    _apply_logistics(world, rng.choice(world.banks), lading, lading.face)

    # A linked waybill is financed through its link, and the financing withdrawn; the waybill,
    # free again, is voided (a correction): its link goes with it. Registered again it is
    # unlinked; the carrier links it to the declaration of other goods, where it is financed.
    fid, withdrawn = _apply_logistics(world, bank_a, voided, 100_00)
    assert fid is not None and world.left[spare] == 200_00
    _act(world, withdrawn, Stage.APPLY, "withdraw")
    _free(world, withdrawn, FinancingState.WITHDRAWN)
    assert world.left[spare] == 300_00
    fp = world.document_fp(WAYBILL, voided.number)
    world.contracts.send(world.logistics, LEDGER, "void", int(WAYBILL), [fp])
    del world.transport[(int(WAYBILL), voided.number)]
    again = Transport(WAYBILL, voided.number, firm, 250_00, code, other)
    register_transport(world, [replace(again, declaration=None)])
    (unlinked,) = world.view(LEDGER, "linked_declaration", int(WAYBILL), fp)
    assert bytes(unlinked) == bytes(32), "registered again, the waybill is not linked"
    world.contracts.send(
        world.logistics, LEDGER, "link", int(WAYBILL), [fp], [world.fp.declaration(other)]
    )
    world.transport[(int(WAYBILL), again.number)] = again
    world.transport_again.append(((int(WAYBILL), again.number), spare, other))
    fid, kept = _apply_logistics(world, bank_a, again, 100_00)
    assert fid is not None
    assert (world.left[spare], world.left[other]) == (300_00, 200_00)
    kept.parked = True  # live to the end: its holds on the waybill and the declaration too


# -- the hardened core's corrections -------------------------------------------------------------


def skip_and_reuse(world: World, rng: random.Random) -> None:
    """A batch repeating two registered declarations (skipped, not reverted) with one new; and
    two export declarations' fingerprints registered as import declarations too."""
    numbers = _exports(world)
    if len(numbers) < 2:
        return
    repeated = rng.sample(numbers, 2)
    changed = [
        world.documents[(EXPORT, n)].model_copy(update={"amount": Money.from_minor(7_77, "USD")})
        for n in repeated
    ]
    batch = register_batch(world, EXPORT, [*changed, _declaration(world, rng)])
    assert (batch["count"], batch["skipped"]) == (1, 2)
    world.skipped += [(int(EXPORT), n) for n in repeated]
    both = [n for n in rng.sample(numbers, 2) if (IMPORT, n) not in world.documents]
    imports = [
        world.documents[(EXPORT, n)].model_copy(
            update={"export": False, "amount": Money.from_minor(rng.randrange(100, 10**6), "CNY")}
        )
        for n in both
    ]
    if imports:
        assert register_batch(world, IMPORT, imports)["skipped"] == 0
        world.two_types += both


def void_and_correct(world: World, rng: random.Random) -> None:
    """Customs voids a free declaration and registers it again with another amount, voids an
    import declaration for good, and corrects the face of a partly held one."""
    free = [
        n
        for n in _exports(world)
        if world.left[n] == world.documents[(EXPORT, n)].amount.to_minor()
    ]
    if free:
        number = rng.choice(free)
        fp = world.fp.declaration(number)
        world.contracts.send(world.customs, LEDGER, "void", int(EXPORT), [fp])
        old = world.documents.pop((EXPORT, number))
        del world.left[number]
        again = old.model_copy(
            update={"amount": Money.from_minor(old.amount.to_minor() + 12_34, old.amount.currency)}
        )
        register_batch(world, EXPORT, [again])
        world.registered_again.append((int(EXPORT), number))
    # One of the numbers under two types keeps both; voiding another leaves its export row.
    imports = [n for t, n in world.documents if t == IMPORT and n not in world.two_types[:1]]
    if imports:
        number = rng.choice(imports)
        world.contracts.send(
            world.customs, LEDGER, "void", int(IMPORT), [world.fp.declaration(number)]
        )
        del world.documents[(IMPORT, number)]
        world.voided.append((int(IMPORT), number))
        if number in world.two_types:
            world.two_types.remove(number)
    held = [
        n
        for n in _exports(world)
        if 0 < world.left[n] < world.documents[(EXPORT, n)].amount.to_minor()
    ]
    if held:
        number = rng.choice(held)
        d = world.documents[(EXPORT, number)]
        used = d.amount.to_minor() - world.left[number]
        face = used + rng.randint(0, world.left[number])  # never below what is held
        world.contracts.send(
            world.customs, LEDGER, "correct_face", int(EXPORT), world.fp.declaration(number), face
        )
        world.documents[(EXPORT, number)] = d.model_copy(
            update={"amount": Money.from_minor(face, d.amount.currency)}
        )
        world.left[number] = face - used
        world.corrected.append((int(EXPORT), number))


def force_release(world: World, rng: random.Random) -> None:
    """The regulator frees one live financing's holds (a logistics financing on a linked
    waybill when there is one: its declaration's holds go too): its bank deactivated, or its
    scenario stopped; then restores either."""
    live = [
        f
        for f in world.financings.values()
        if f.state.holds_amounts and not f.forced and f.state is not FinancingState.CLOSED
    ]
    if not live:
        return
    linked = [
        f
        for f in live
        if f.contract == LOGISTICS
        and any(world.transport[(int(f.doc_type), n)].declaration for n, _ in f.citations)
    ]
    f = rng.choice(linked or live)
    fps = [world.document_fp(f.doc_type, n) for n, _ in f.citations]
    scenario = world.deployment.contracts[f.contract]
    if rng.random() < 0.5:
        reason = ForceReason.BANK_DEACTIVATED
        world.admin(CONSORTIUM, "set_active", _id(f.bank.head), False)
    else:
        reason = ForceReason.SCENARIO_STOPPED
        world.admin(LEDGER, "set_scenario", scenario, False)
    receipt = world.admin(
        LEDGER, "force_release", scenario, f.id, _id(f.bank.id), int(f.doc_type), fps, int(reason)
    )
    assert world.contracts.events(receipt, LEDGER, "HoldsForceReleased")
    if reason is ForceReason.BANK_DEACTIVATED:
        world.admin(CONSORTIUM, "set_active", _id(f.bank.head), True)
    else:
        world.admin(LEDGER, "set_scenario", scenario, True)
    for number, units in f.citations:
        _give_back(world, f.doc_type, number, units)
    f.forced = True
    world.forced.append(f.key)


def consents(world: World, rng: random.Random) -> None:
    """A firm revokes a consent it signed; another closes its service and opens it again."""
    firm = rng.choice(world.firms)
    nonce = rng.getrandbits(128)
    world.contracts.send(firm.account, CONSORTIUM, "revoke_consent", nonce)
    world.revoked += 1
    firm, bank = rng.choice(world.firms), rng.choice(world.banks)
    world.contracts.send(firm.account, CONSORTIUM, "close_service", _id(firm.id), _id(bank.id), 1)
    open_service(world, bank, firm, nonce=rng.getrandbits(128))


def story(world: World, rng: random.Random, steps: int, declarations: int = 10) -> None:
    """Random activity: registrations, applications and lifecycle moves over weeks, the policy
    and logistics stories, with the corrections and the regulator's force-release half-way."""
    register(world, rng, declarations)
    for step in range(steps):
        if rng.random() < 0.3:
            advance(world, rng)
        if step % 40 == 39:
            register(world, rng, rng.randint(2, 6))
        if step == steps // 5:
            policy_story(world, rng)
        if step == steps // 3:
            logistics_story(world, rng)
        if step == steps // 2:
            skip_and_reuse(world, rng)
            void_and_correct(world, rng)
            force_release(world, rng)
            consents(world, rng)
            credit_story(world, rng)
        if step == 3 * steps // 4 and steps >= 100:
            policy_story(world, rng)
            logistics_story(world, rng)
        if rng.random() < 0.45:
            apply_random(world, rng)
        else:
            move_random(world, rng)
    # Consortium administration events too: a firm paused and resumed, roles changed.
    firm = world.firms[-1]
    world.admin(CONSORTIUM, "set_active", _id(firm.id), False)
    world.admin(CONSORTIUM, "set_active", _id(firm.id), True)
    bank = world.banks[0]
    assert bank.statistician is not None
    world.admin(
        CONSORTIUM,
        "set_roles",
        bank.statistician.address,
        int(Scenario.RECEIVABLES),
        int(Stage.STATISTICS | Stage.SERVICE),
    )


# -- credit-information query and credit matching (issue 11) -------------------------------------

CREDIT_QUERY, CREDIT_MATCHING = "CreditQuery", "CreditMatching"


def credit_story(world: World, rng: random.Random) -> None:
    """Firms authorise banks for random scopes and open the credit service; banks query (some
    refused: no authorisation, out of scope), keep outlets (one updated, one closed), and match,
    accept, grant or decline the firms' requests over hours."""
    heads = [b for b in world.banks if b.head == b.id]
    for bank in heads:
        for scenario in (Scenario.CREDIT_QUERY, Scenario.CREDIT_MATCH):
            world.admin(
                CONSORTIUM, "set_roles", bank.opener.address, int(scenario), int(Stage.SERVICE)
            )
        world.admin(
            CONSORTIUM,
            "set_roles",
            bank.ops[Stage.APPLY].address,
            int(Scenario.CREDIT_QUERY),
            int(Stage.QUERY),
        )
        officer = bank.ops[Stage.ACCEPT].address
        stages = Stage.OUTLETS | Stage.MATCH | Stage.ACCEPT
        world.admin(CONSORTIUM, "set_roles", officer, int(Scenario.CREDIT_MATCH), int(stages))
    for firm in world.firms:
        bank = rng.choice(heads)
        agreed = replace(
            consent(world, bank, firm, rng.getrandbits(64), Scenario.CREDIT_QUERY)[0],
            scope=rng.choice([1, 2, 3, 4, 6, 7]),
        )
        signature = firm.account.sign_typed_data(
            agreed.typed_data(CHAIN_ID, world.deployment.consortium)
        )
        world.contracts.send(bank.opener, CONSORTIUM, "open_service", agreed.as_tuple(), signature)
        for b in heads:
            open_service(world, b, firm, rng.getrandbits(64), Scenario.CREDIT_MATCH)
    for _ in range(12):
        bank, firm = rng.choice(heads), rng.choice(world.firms)
        scope = rng.choice([1, 2, 4, 7])
        world.contracts.send(
            bank.ops[Stage.APPLY], CREDIT_QUERY, "record_query", _id(firm.id), scope
        )
    outlets: dict[str, list[int]] = {}
    for bank in heads:
        keeper = bank.ops[Stage.ACCEPT]
        for region in (350200, 370200):
            receipt = world.contracts.send(
                keeper, CREDIT_MATCHING, "add_outlet", f"{bank.name} {region}", region, "400-000"
            )
            outlet_id = world.contracts.events(receipt, CREDIT_MATCHING, "OutletUpdated")[0][
                "outlet_id"
            ]
            outlets.setdefault(bank.id, []).append(outlet_id)
        first, second = outlets[bank.id]
        world.contracts.send(
            keeper, CREDIT_MATCHING, "update_outlet", first, f"{bank.name} main", 350200, "400-001"
        )
        world.contracts.send(keeper, CREDIT_MATCHING, "close_outlet", second)
    for _ in range(8):
        bank, firm = rng.choice(heads), rng.choice(world.firms)
        desk = bank.ops[Stage.ACCEPT]
        units = rng.randrange(1, 500) * 1_000_00
        receipt = world.contracts.send(
            firm.account,
            CREDIT_MATCHING,
            "request_credit",
            _id(bank.id),
            units,
            rng.choice([840, 156]),
            rng.randint(1, 4),
            0,
            rng.choice([350200, 610100]),
        )
        rid = world.contracts.events(receipt, CREDIT_MATCHING, "CreditRequested")[0]["request_id"]
        ending = rng.choice(["open", "matched", "accepted", "granted", "declined"])
        if ending == "open":
            continue
        advance(world, rng, 30)
        world.contracts.send(desk, CREDIT_MATCHING, "match_request", rid, outlets[bank.id][0])
        if ending in ("accepted", "granted"):
            advance(world, rng, 30)
            world.contracts.send(desk, CREDIT_MATCHING, "accept", rid)
        if ending == "granted":
            world.contracts.send(desk, CREDIT_MATCHING, "grant", rid, units // 2, 180)
        elif ending == "declined":
            world.contracts.send(desk, CREDIT_MATCHING, "decline", rid, rng.randint(1, 4))


def money(units: int, code: str) -> Decimal:
    return Money.from_minor(units, code).amount


def reconnect(world: World) -> None:
    """A new connection (fresh nonces), for after the chain was rewound."""
    world.contracts = Contracts(world.rpc, world.deployment, world.abis)


# The story's own bookkeeping: what ``save`` copies and ``restore`` puts back.
BOOKKEEPING = (
    "documents",
    "left",
    "transport",
    "transport_left",
    "financings",
    "failures",
    "policies",
    "claims",
    "claim_repayments",
    "skipped",
    "two_types",
    "registered_again",
    "voided",
    "corrected",
    "forced",
    "revoked",
    "linked_financed",
    "linked_refused",
    "transport_again",
)


def save(world: World) -> dict[str, Any]:
    """The story's own bookkeeping, to restore after the chain is rewound (banks and signers
    are shared, not copied)."""
    assert set(BOOKKEEPING) <= {f.name for f in fields(world)}
    memo: dict[int, Any] = {id(b): b for b in world.banks}
    return {name: copy.deepcopy(getattr(world, name), memo) for name in BOOKKEEPING}


def restore(world: World, saved: dict[str, Any]) -> None:
    memo: dict[int, Any] = {id(b): b for b in world.banks}
    for name, value in saved.items():
        setattr(world, name, copy.deepcopy(value, memo))
    reconnect(world)


# -- payment facilitation (便利化类) ------------------------------------------------------------

TAX_PAYMENT, FREIGHT_PAYMENT, CAPITAL_PAYMENT = "TaxPayment", "FreightPayment", "CapitalPayment"
TAX_FILING, FREIGHT_INVOICE, INVOICE = (
    DocumentType.TAX_FILING,
    DocumentType.FREIGHT_INVOICE,
    DocumentType.INVOICE,
)


@dataclass
class PaymentStory:
    """What the payment story did, for the tests: per bank (legal person) the payments and the
    invoices tagged; the filing's face and what was paid under it; each period's sample."""

    filing: bytes = b""
    filed: int = 0
    paid: dict[str, int] = field(default_factory=dict)  # bank head -> units paid under the filing
    payments: dict[tuple[str, str], int] = field(default_factory=dict)  # (contract, bank) -> n
    tagged: dict[str, int] = field(default_factory=dict)  # bank head -> invoices tagged
    failures: list[tuple[str, str, int]] = field(default_factory=list)  # contract, bank, reason
    samples: dict[int, list[int]] = field(default_factory=dict)  # period -> payment ids
    reviews: dict[int, int] = field(default_factory=dict)  # payment id -> outcome


def _payment_documents(
    world: World, tax: Signer, doc_type: DocumentType, series: int, firm: Firm, n: int, units: int
) -> list[bytes]:
    """Registers ``n`` documents of ``doc_type`` numbered in ``series``, ``firm``'s, ``units``."""
    if doc_type is TAX_FILING:
        numbers = [f"TF{series:08d}/C{i:04d}" for i in range(n)]
    else:
        numbers = [f"{4403190000 + series:010d}/{i:08d}" for i in range(n)]
    fps = [document_fingerprint(world.fp, doc_type, number) for number in numbers]
    rows = [
        encode_document_row(f, _id(firm.id), units, currency("USD").numeric, 20_400) for f in fps
    ]
    selector = world.abis[LEDGER].selector("register")
    world.contracts.send_data(
        tax, LEDGER, encode_static_array_call(selector, [int(doc_type)], rows)
    )
    return fps


def _pay(world: World, out: PaymentStory, bank: Bank, contract: str, *args: Any) -> int | None:
    receipt = world.contracts.send(bank.opener, contract, "pay", *args)
    paid = world.contracts.events(receipt, contract, "PaymentRegistered")
    if paid:
        key = (contract, bank.head)
        out.payments[key] = out.payments.get(key, 0) + 1
        return int(paid[0]["payment_id"])
    (failed,) = world.contracts.events(receipt, contract, "VerificationFailed")
    out.failures.append((contract, bank.head, int(failed["reason"])))
    return None


def payment_story(world: World, rng: random.Random, tax: Signer) -> PaymentStory:
    """Tax registers a filing, freight invoices and invoices; banks' openers (given 付汇核验 in
    every payment scenario) pay under the filing until it is used up, tag freight invoices in
    batches (one refused as already used), and pay a qualified firm's capital-account invoices;
    the regulator closes two periods, anyone draws, the samples are recorded and partly reviewed.
    """
    out = PaymentStory()
    bureau = world.hex_id(make_uscc("11100000000019999"))
    world.admin(CONSORTIUM, "onboard", _id(bureau), int(ParticipantKind.TAX), ZERO)
    world.admin(CONSORTIUM, "add_operator", tax.address, _id(bureau))
    world.admin(CONSORTIUM, "set_roles", tax.address, int(Scenario.PLATFORM), int(Stage.REGISTER))
    for bank in world.banks:
        for scenario in (Scenario.TAX_PAYMENT, Scenario.FREIGHT_PAYMENT, Scenario.CAPITAL_PAYMENT):
            world.admin(
                CONSORTIUM, "set_roles", bank.opener.address, int(scenario), int(Stage.VERIFY)
            )
    firm, other = world.firms[0], world.firms[1]
    usd = currency("USD").numeric

    (out.filing,) = _payment_documents(world, tax, TAX_FILING, 1, firm, 1, 100_000)
    out.filed = 100_000
    left = out.filed
    while left:
        bank = rng.choice(world.banks)
        units = min(left, rng.randint(10_000, 40_000))
        if _pay(world, out, bank, TAX_PAYMENT, out.filing, _id(firm.id), usd, units, 20_401):
            out.paid[bank.head] = out.paid.get(bank.head, 0) + units
            left -= units
        advance(world, rng)
    _pay(world, out, world.banks[0], TAX_PAYMENT, out.filing, _id(firm.id), usd, 1, 20_401)
    _pay(world, out, world.banks[1], TAX_PAYMENT, out.filing, _id(other.id), usd, 1, 20_401)

    invoices = _payment_documents(world, tax, FREIGHT_INVOICE, 2, firm, 60, 2_500)
    start = 0
    while start < len(invoices):
        bank = rng.choice(world.banks)
        batch = invoices[start : start + rng.randint(5, 25)]
        if _pay(world, out, bank, FREIGHT_PAYMENT, _id(firm.id), usd, batch, 20_402):
            out.tagged[bank.head] = out.tagged.get(bank.head, 0) + len(batch)
        start += len(batch)
        advance(world, rng)
    _pay(world, out, world.banks[-1], FREIGHT_PAYMENT, _id(firm.id), usd, invoices[:2], 20_402)

    world.admin(CAPITAL_PAYMENT, "set_qualified", _id(firm.id), True)
    capital = _payment_documents(world, tax, INVOICE, 3, firm, 18, 7_000)
    for number, (size, n) in enumerate(((4, 12), (10, 6)), start=1):
        for invoice in capital[:n]:
            bank = rng.choice(world.banks)
            if _pay(world, out, bank, CAPITAL_PAYMENT, _id(firm.id), usd, [invoice], 20_403):
                out.tagged[bank.head] = out.tagged.get(bank.head, 0) + 1
        capital = capital[n:]
        world.admin(CAPITAL_PAYMENT, "close_period", size)
        for _ in range(4):
            world.rpc.request("evm_mine")
        world.contracts.send(world.firms[2].account, CAPITAL_PAYMENT, "draw", number)
        first, last, k, _, seed, _, _ = world.view(CAPITAL_PAYMENT, "period", number)[0]
        out.samples[number] = derive_sample(bytes(seed), first, last, k)
        world.admin(CAPITAL_PAYMENT, "record_sample", number, out.samples[number])
        for payment_id in out.samples[number][: k // 2]:
            outcome = rng.choice((1, 2))
            world.admin(CAPITAL_PAYMENT, "record_review", payment_id, outcome)
            out.reviews[payment_id] = outcome
    return out
