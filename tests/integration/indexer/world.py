"""A consortium on a real Anvil, driven through the SDK with random but reproducible activity.

Two banks (one with a branch, 网点), customs, four firms; declarations in USD and CNY; financings
through every stage, and failed verifications of every reason. Time jumps spread the activity
over weeks, so that reports have several days and months.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from crossborder.chain.abi import ContractAbi
from crossborder.chain.deployment import Deployment
from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import Signer, dev_signers
from crossborder.domain.codes import FinancingState, ParticipantKind, Role
from crossborder.domain.fingerprint import Fingerprinter
from crossborder.domain.identifiers import make_uscc
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.errors import VerificationFailed
from crossborder.services.consortium import ConsortiumAdmin, Operator
from crossborder.services.documents import DocumentRegistry
from crossborder.services.platform import Platform
from crossborder.services.receivables import ReceivablesDesk

CHAIN_ID = 31337
KEY = b"test-consortium-key-not-for-production"
STAGES = (Role.RCV_APPLY, Role.RCV_ACCEPT, Role.RCV_REVIEW, Role.RCV_DISBURSE, Role.RCV_REPAY)


@dataclass
class Bank:
    name: str
    uscc: str
    id: str
    head: str  # the legal-person bank's id (itself unless a branch)
    desks: dict[Role, ReceivablesDesk]
    opener: Signer
    statistician: Signer | None


@dataclass
class Financing:
    id: int
    bank: Bank
    firm: str
    currency: str
    citations: list[tuple[str, int]]  # declaration number, minor units
    state: FinancingState = FinancingState.APPLIED
    disbursed: int = 0
    repaid: int = 0


@dataclass
class World:
    devnet: Devnet
    rpc: RpcClient
    platform: Platform
    deployment: Deployment
    deployment_path: Path
    abis: dict[str, ContractAbi]
    banks: list[Bank]
    firms: list[str]
    declarations: dict[str, Declaration] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)  # declaration -> minor units left
    financings: dict[int, Financing] = field(default_factory=dict)
    failures: list[tuple[str, int, int]] = field(default_factory=list)  # bank head, reason, units
    failure_currencies: list[str] = field(default_factory=list)

    @property
    def fp(self) -> Fingerprinter:
        return self.platform.fingerprints

    def hex_id(self, uscc: str) -> str:
        return "0x" + self.fp.participant(uscc).hex()

    def stop(self) -> None:
        self.rpc.close()
        self.devnet.stop()


def start_world(directory: Path) -> World:
    """Start Anvil (automine), deploy, and onboard the consortium."""
    devnet = Devnet(directory, port=free_port(), block_time=None)
    devnet.start()
    rpc = RpcClient(devnet.url)
    signers = dev_signers(CHAIN_ID, 30)
    for signer in signers[10:]:
        rpc.request("anvil_setBalance", [signer.address, hex(10**22)])
    path = directory / "deployment.json"
    platform = Platform.deploy(rpc, signers[0], path, KEY)
    deployment, abis = platform.deployment, platform.abis
    admin = ConsortiumAdmin(platform, signers[0])
    admin.onboard(make_uscc("11100000000013127"), ParticipantKind.REGULATOR)
    admin.onboard(
        make_uscc("11100000000012345"),
        ParticipantKind.CUSTOMS,
        operators=[Operator(signers[1].address, Role.DOC_REGISTER)],
    )
    firms = [make_uscc(f"91350200MA2Y0000{i}") for i in range(1, 5)]
    for firm in firms:
        admin.onboard(firm, ParticipantKind.ENTERPRISE)
    world = World(devnet, rpc, platform, deployment, path, abis, [], firms)
    plan = [
        ("Bank A", make_uscc("91350200260130000"), None, 2, True),
        ("Bank A Xiamen branch", make_uscc("91350200260130011"), "Bank A", 9, False),
        ("Bank B", make_uscc("91110000100000001"), None, 16, True),
    ]
    for name, uscc, parent, first, statistician in plan:
        ops = {role: signers[first + i] for i, role in enumerate(STAGES)}
        opener = signers[first + 5]
        operators = [Operator(s.address, r) for r, s in ops.items()]
        operators.append(Operator(opener.address, Role.RCV_SERVICE))
        stat = signers[first + 6] if statistician else None
        if stat is not None:
            operators.append(Operator(stat.address, Role.RCV_STATISTICS))
        parent_bank = next((b for b in world.banks if b.name == parent), None)
        admin.onboard(
            uscc,
            ParticipantKind.BANK,
            parent_uscc=parent_bank.uscc if parent_bank else None,
            operators=operators,
        )
        bank_id = world.hex_id(uscc)
        desks = {role: ReceivablesDesk(platform, s) for role, s in ops.items()}
        bank = Bank(
            name, uscc, bank_id, parent_bank.id if parent_bank else bank_id, desks, opener, stat
        )
        world.banks.append(bank)
        for firm in firms:
            ReceivablesDesk(platform, opener).open_service(firm)
    world.customs = signers[1]  # type: ignore[attr-defined]
    world.admin = admin  # type: ignore[attr-defined]
    return world


def advance(world: World, rng: random.Random, max_hours: int = 60) -> None:
    """Let time pass on the chain (the next block's timestamp jumps)."""
    world.rpc.request("evm_increaseTime", [rng.randint(600, max_hours * 3600)])


def register(world: World, rng: random.Random, count: int) -> list[str]:
    today = dt.date(2025, 1, 1)
    declarations = []
    for _ in range(count):
        number = str(rng.randrange(10**17, 10**18))
        currency = rng.choice(["USD", "USD", "CNY"])
        units = rng.randrange(1_000_00, 500_000_00)
        declarations.append(
            Declaration(
                number=number,
                export_date=today - dt.timedelta(days=rng.randrange(1, 300)),
                exporter=rng.choice(world.firms),
                amount=Money.from_minor(units, currency),
                export=rng.random() > 0.08,  # a few import declarations: wrong type to finance
            )
        )
    DocumentRegistry(world.platform, world.customs).register_declarations(  # type: ignore[attr-defined]
        declarations, batch_size=rng.choice([3, 7, 20])
    )
    for d in declarations:
        world.declarations[d.number] = d
        world.left[d.number] = d.amount.to_minor()
    return [d.number for d in declarations]


def _apply(
    world: World, bank: Bank, firm: str, currency: str, cites: list[tuple[str, int]]
) -> None:
    application = FinancingApplication(
        firm=firm,
        citations=tuple(
            Citation(declaration=n, amount=Money.from_minor(u, currency)) for n, u in cites
        ),
    )
    try:
        fid = bank.desks[Role.RCV_APPLY].apply(application)
    except VerificationFailed as failure:
        world.failures.append((bank.head, int(failure.reason), int(failure.amount or 0)))
        world.failure_currencies.append(currency)
        return
    for number, units in cites:
        world.left[number] -= units
    world.financings[fid] = Financing(fid, bank, firm, currency, cites)


def apply_random(world: World, rng: random.Random) -> None:
    """An application that passes or fails verification with one of every reason."""
    bank = rng.choice(world.banks)
    numbers = list(world.declarations)
    kind = rng.choices(
        ["ok", "ok2", "not_found", "owner", "currency", "duplicate", "over"],
        weights=[6, 2, 1, 1, 1, 2, 2],
    )[0]
    number = rng.choice(numbers)
    d = world.declarations[number]
    code = d.amount.currency.code
    left = world.left[number]
    if kind == "ok2":
        same = [
            n
            for n in numbers
            if world.declarations[n].exporter == d.exporter
            and world.declarations[n].amount.currency.code == code
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
        _apply(world, bank, d.exporter, code, [(str(rng.randrange(10**17, 10**18)), 100_00)])
    elif kind == "owner":
        other = next(f for f in world.firms if f != d.exporter)
        _apply(world, bank, other, code, [(number, 1_00)])
    elif kind == "currency":
        _apply(world, bank, d.exporter, "EUR", [(number, 1_00)])
    elif kind == "duplicate" and left == 0:
        _apply(world, bank, d.exporter, code, [(number, 1_00)])
    elif left > 0:
        _apply(world, bank, d.exporter, code, [(number, left + rng.randint(1, 10_000_00))])


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
    desks = f.bank.desks
    units = sum(u for _, u in f.citations)
    if f.state is FinancingState.APPLIED:
        if rng.random() < 0.15:
            desks[Role.RCV_APPLY].withdraw(f.id)
            _free(world, f, FinancingState.WITHDRAWN)
        else:
            desks[Role.RCV_ACCEPT].accept(f.id)
            f.state = FinancingState.ACCEPTED
    elif f.state is FinancingState.ACCEPTED:
        if rng.random() < 0.2:
            desks[Role.RCV_REVIEW].review(f.id, False)
            _free(world, f, FinancingState.REJECTED)
        else:
            desks[Role.RCV_REVIEW].review(f.id, True)
            f.state = FinancingState.APPROVED
    elif f.state is FinancingState.APPROVED:
        amount = rng.randint(max(1, units // 2), units)
        day = dt.date(2025, 3, 1)
        desks[Role.RCV_DISBURSE].register_disbursement(
            f.id, Money.from_minor(amount, f.currency), day, day + dt.timedelta(days=90)
        )
        f.state, f.disbursed = FinancingState.DISBURSED, amount
    else:
        outstanding = f.disbursed - f.repaid
        pay = outstanding if rng.random() < 0.5 else rng.randint(1, outstanding)
        desks[Role.RCV_REPAY].register_repayment(f.id, Money.from_minor(pay, f.currency))
        f.repaid += pay
        if f.repaid == f.disbursed:
            f.state = FinancingState.CLOSED


def _free(world: World, f: Financing, state: FinancingState) -> None:
    for number, units in f.citations:
        world.left[number] += units
    f.state = state


def story(world: World, rng: random.Random, steps: int, declarations: int = 10) -> None:
    """Random activity: registrations, applications and lifecycle moves, over weeks."""
    register(world, rng, declarations)
    for step in range(steps):
        if rng.random() < 0.3:
            advance(world, rng)
        if step % 40 == 39:
            register(world, rng, rng.randint(2, 6))
        if rng.random() < 0.45:
            apply_random(world, rng)
        else:
            move_random(world, rng)
    # Consortium administration events too: a firm paused and resumed, roles changed.
    admin: ConsortiumAdmin = world.admin  # type: ignore[attr-defined]
    admin.set_active(world.firms[-1], False)
    admin.set_active(world.firms[-1], True)
    bank = world.banks[0]
    assert bank.statistician is not None
    admin.set_roles(bank.statistician.address, Role.RCV_STATISTICS | Role.RCV_SERVICE)


def money(units: int, code: str) -> Decimal:
    return Money.from_minor(units, code).amount


def reconnect(world: World) -> None:
    """A new platform connection (fresh nonces), for after the chain was rewound."""
    platform = Platform(world.rpc, world.deployment, world.abis, Fingerprinter(KEY))
    world.platform = platform
    for bank in world.banks:
        bank.desks = {role: ReceivablesDesk(platform, d.signer) for role, d in bank.desks.items()}
    world.admin = ConsortiumAdmin(platform, world.admin.signer)  # type: ignore[attr-defined]


def save(world: World) -> tuple[object, ...]:
    """The story's own bookkeeping, to restore after the chain is rewound."""
    return (
        dict(world.declarations),
        dict(world.left),
        {k: replace(f, citations=list(f.citations)) for k, f in world.financings.items()},
        list(world.failures),
        list(world.failure_currencies),
    )


def restore(world: World, saved: tuple[object, ...]) -> None:
    declarations, left, financings, failures, currencies = saved
    world.declarations = dict(declarations)  # type: ignore[call-overload]
    world.left = dict(left)  # type: ignore[call-overload]
    world.financings = dict(financings)  # type: ignore[call-overload]
    world.failures = list(failures)  # type: ignore[call-overload]
    world.failure_currencies = list(currencies)  # type: ignore[call-overload]
    reconnect(world)
