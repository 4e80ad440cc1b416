"""A consortium on a real Anvil, driven through the chain layer with random but reproducible
activity.

Two banks (one with a branch, 网点), customs, four firms (each with a bound account that signs
its service consents); declarations in USD and CNY; financings through every stage, failed
verifications of every reason the ledger returns; the corrections of the hardened core: batches
that skip documents already registered, one fingerprint under two document types, voided
documents registered again, face corrections, and the regulator's force-release of a
financing's holds. Time jumps spread the activity over weeks, so that reports have several days
and months.

The world talks to the contracts through ``crossborder.chain`` only (ABIs, sender, deploy), not
through the SDK's services, so that it depends on nothing but the contracts' own interface.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
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
    Scenario,
    Stage,
)
from crossborder.domain.consent import CreditScope, ServiceConsent
from crossborder.domain.fingerprint import Fingerprinter
from crossborder.domain.identifiers import make_uscc
from crossborder.domain.models import Declaration, to_day
from crossborder.domain.money import Money, currency

CHAIN_ID = 31337
KEY = b"test-consortium-key-not-for-production"
STAGES = (Stage.APPLY, Stage.ACCEPT, Stage.REVIEW, Stage.DISBURSE, Stage.REPAY)
CONSORTIUM, LEDGER, RECEIVABLES = "Consortium", "DocumentLedger", "ReceivablesFinancing"
EXPORT, IMPORT = DocumentType.EXPORT_DECLARATION, DocumentType.IMPORT_DECLARATION
ZERO = b"\x00" * 32
# Consents stay valid for the whole story, whatever time jumps it makes.
VALID_UNTIL = int(dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp())

DocKey = tuple[int, str]  # (document type, declaration number)


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
    account: Signer  # bound to the firm: signs its consents


@dataclass
class Bank:
    name: str
    uscc: str
    id: str
    head: str  # the legal-person bank's id (itself unless a branch)
    ops: dict[Stage, Signer]
    opener: Signer
    statistician: Signer | None


@dataclass
class Financing:
    id: int
    bank: Bank
    firm: str
    currency: str
    citations: list[tuple[str, int]]  # export declaration number, minor units
    state: FinancingState = FinancingState.APPLIED
    disbursed: int = 0
    repaid: int = 0
    forced: bool = False  # the regulator force-released its holds


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
    banks: list[Bank]
    firms: list[Firm]
    # Live documents on the ledger, by (type, number): what the chain holds now.
    documents: dict[DocKey, Declaration] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)  # export declaration -> units left
    financings: dict[int, Financing] = field(default_factory=dict)
    failures: list[tuple[str, int, int]] = field(default_factory=list)  # bank head, reason, units
    failure_currencies: list[str] = field(default_factory=list)
    # The corrections the story made, for the tests to check.
    skipped: list[DocKey] = field(default_factory=list)
    two_types: list[str] = field(default_factory=list)  # numbers under both types
    registered_again: list[DocKey] = field(default_factory=list)
    voided: list[DocKey] = field(default_factory=list)  # voided and not registered again
    corrected: list[DocKey] = field(default_factory=list)
    forced: list[int] = field(default_factory=list)
    revoked: int = 0  # consents revoked

    def hex_id(self, uscc: str) -> str:
        return "0x" + self.fp.participant(uscc).hex()

    def firm(self, uscc: str) -> Firm:
        return next(f for f in self.firms if f.uscc == uscc)

    def view(self, contract: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self.contracts.view(contract, fn, *args)

    def admin(self, contract: str, fn: str, *args: Any) -> Receipt:
        return self.contracts.send(self.regulator, contract, fn, *args)

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
    world = World(devnet, rpc, contracts, deployment, path, abis, fp, regulator, signers[1], [], [])

    def onboard(uscc: str, kind: ParticipantKind, parent: str | None = None) -> str:
        pid = world.hex_id(uscc)
        world.admin(CONSORTIUM, "onboard", _id(pid), int(kind), _id(parent) if parent else ZERO)
        return pid

    def operator(account: Signer, pid: str, scenario: Scenario, stages: Stage) -> None:
        world.admin(CONSORTIUM, "add_operator", account.address, _id(pid))
        if stages:
            world.admin(CONSORTIUM, "set_roles", account.address, int(scenario), int(stages))

    onboard(make_uscc("11100000000013127"), ParticipantKind.REGULATOR)
    customs = onboard(make_uscc("11100000000012345"), ParticipantKind.CUSTOMS)
    operator(world.customs, customs, Scenario.PLATFORM, Stage.REGISTER)
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
        for stage, acting in ops.items():
            operator(acting, bank_id, Scenario.RECEIVABLES, stage)
        opener = signers[first + 5]
        operator(opener, bank_id, Scenario.RECEIVABLES, Stage.SERVICE)
        stat = signers[first + 6] if statistician else None
        if stat is not None:
            operator(stat, bank_id, Scenario.RECEIVABLES, Stage.STATISTICS)
        bank = Bank(
            name, uscc, bank_id, parent_bank.id if parent_bank else bank_id, ops, opener, stat
        )
        world.banks.append(bank)
        for index, firm in enumerate(world.firms):
            open_service(world, bank, firm, nonce=first * 100 + index)
    return world


def consent(world: World, bank: Bank, firm: Firm, nonce: int) -> tuple[ServiceConsent, bytes]:
    """The firm's signed consent to open receivables financing with the bank."""
    agreed = ServiceConsent(
        firm=_id(firm.id),
        bank=_id(bank.id),
        scenario=Scenario.RECEIVABLES,
        scope=CreditScope.ALL,
        valid_until=VALID_UNTIL,
        nonce=nonce,
    )
    typed = agreed.typed_data(CHAIN_ID, world.deployment.consortium)
    return agreed, firm.account.sign_typed_data(typed)


def open_service(world: World, bank: Bank, firm: Firm, nonce: int) -> None:
    """业务开通: the firm signs, the bank's service operator submits."""
    agreed, signature = consent(world, bank, firm, nonce)
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


def _declaration(world: World, rng: random.Random, export: bool = True) -> Declaration:
    units = rng.randrange(1_000_00, 500_000_00)
    return Declaration(
        number=str(rng.randrange(10**17, 10**18)),
        export_date=dt.date(2025, 1, 1) - dt.timedelta(days=rng.randrange(1, 300)),
        exporter=rng.choice(world.firms).uscc,
        amount=Money.from_minor(units, rng.choice(["USD", "USD", "CNY"])),
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


def _apply(world: World, bank: Bank, firm: str, code: str, cites: list[tuple[str, int]]) -> None:
    receipt = world.contracts.send(
        bank.ops[Stage.APPLY],
        RECEIVABLES,
        "apply",
        world.fp.participant(firm),
        currency(code).numeric,
        [world.fp.declaration(n) for n, _ in cites],
        [u for _, u in cites],
    )
    failed = world.contracts.events(receipt, RECEIVABLES, "VerificationFailed")
    if failed:
        (failure,) = failed
        world.failures.append((bank.head, int(failure["reason"]), int(failure["amount"])))
        world.failure_currencies.append(code)
        return
    (applied,) = world.contracts.events(receipt, RECEIVABLES, "FinancingApplied")
    fid = int(applied["financing_id"])
    for number, units in cites:
        world.left[number] -= units
    world.financings[fid] = Financing(fid, bank, firm, code, cites)


def _exports(world: World) -> list[str]:
    return [n for t, n in world.documents if t == EXPORT]


def apply_random(world: World, rng: random.Random) -> None:
    """An application that passes or fails verification with one of every reason."""
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


def _act(world: World, f: Financing, stage: Stage, fn: str, *args: Any) -> None:
    world.contracts.send(f.bank.ops[stage], RECEIVABLES, fn, f.id, *args)


def move_random(world: World, rng: random.Random) -> None:
    """Move a random open financing one stage along its lifecycle."""
    open_ = [
        f
        for f in world.financings.values()
        if f.state not in (FinancingState.REJECTED, FinancingState.WITHDRAWN, FinancingState.CLOSED)
    ]
    if not open_:
        return
    f = rng.choice(open_)
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
        f.repaid += pay
        if f.repaid == f.disbursed:
            f.state = FinancingState.CLOSED


def _free(world: World, f: Financing, state: FinancingState) -> None:
    if not f.forced:  # a force-release already freed them
        for number, units in f.citations:
            world.left[number] += units
    f.state = state


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
    """The regulator frees one live financing's holds: its bank deactivated, or the scenario
    stopped; then restores either."""
    live = [
        f
        for f in world.financings.values()
        if f.state.holds_amounts and not f.forced and f.state is not FinancingState.CLOSED
    ]
    if not live:
        return
    f = rng.choice(live)
    fps = [world.fp.declaration(n) for n, _ in f.citations]
    receivables = world.deployment.contracts[RECEIVABLES]
    if rng.random() < 0.5:
        reason = ForceReason.BANK_DEACTIVATED
        world.admin(CONSORTIUM, "set_active", _id(f.bank.head), False)
    else:
        reason = ForceReason.SCENARIO_STOPPED
        world.admin(LEDGER, "set_scenario", receivables, False)
    receipt = world.admin(
        LEDGER, "force_release", receivables, f.id, _id(f.bank.id), int(EXPORT), fps, int(reason)
    )
    assert world.contracts.events(receipt, LEDGER, "HoldsForceReleased")
    if reason is ForceReason.BANK_DEACTIVATED:
        world.admin(CONSORTIUM, "set_active", _id(f.bank.head), True)
    else:
        world.admin(LEDGER, "set_scenario", receivables, True)
    for number, units in f.citations:
        world.left[number] += units
    f.forced = True
    world.forced.append(f.id)


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
    """Random activity: registrations, applications and lifecycle moves over weeks, with the
    corrections and the regulator's force-release half-way."""
    register(world, rng, declarations)
    for step in range(steps):
        if rng.random() < 0.3:
            advance(world, rng)
        if step % 40 == 39:
            register(world, rng, rng.randint(2, 6))
        if step == steps // 2:
            skip_and_reuse(world, rng)
            void_and_correct(world, rng)
            force_release(world, rng)
            consents(world, rng)
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


def money(units: int, code: str) -> Decimal:
    return Money.from_minor(units, code).amount


def reconnect(world: World) -> None:
    """A new connection (fresh nonces), for after the chain was rewound."""
    world.contracts = Contracts(world.rpc, world.deployment, world.abis)


def save(world: World) -> tuple[object, ...]:
    """The story's own bookkeeping, to restore after the chain is rewound."""
    return (
        dict(world.documents),
        dict(world.left),
        {k: replace(f, citations=list(f.citations)) for k, f in world.financings.items()},
        list(world.failures),
        list(world.failure_currencies),
        (
            list(world.skipped),
            list(world.two_types),
            list(world.registered_again),
            list(world.voided),
            list(world.corrected),
            list(world.forced),
            world.revoked,
        ),
    )


def restore(world: World, saved: tuple[object, ...]) -> None:
    documents, left, financings, failures, currencies, corrections = saved
    world.documents = dict(documents)  # type: ignore[call-overload]
    world.left = dict(left)  # type: ignore[call-overload]
    world.financings = dict(financings)  # type: ignore[call-overload]
    world.failures = list(failures)  # type: ignore[call-overload]
    world.failure_currencies = list(currencies)  # type: ignore[call-overload]
    lists: Any = corrections
    skipped, two_types, again, voided, corrected, forced, revoked = lists
    world.skipped, world.two_types = list(skipped), list(two_types)
    world.registered_again, world.voided = list(again), list(voided)
    world.corrected, world.forced, world.revoked = list(corrected), list(forced), int(revoked)
    reconnect(world)
