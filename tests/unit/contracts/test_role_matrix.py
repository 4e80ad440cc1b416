"""Stage x function matrix, generated: for every scenario contract and every one of its stage
functions, only an account holding that function's stage *in that contract's scenario* (and of
the kind of participant whose row holds the stage) may call it.

The cases come from
- the scenario contracts in `contracts/`: every contract that initialises `financing_lifecycle`
  with a `codes.SCENARIO_*` id (its scenario), with its `ScenarioSpec` (`SCENARIO_SPECS`: the
  documents it cites);
- the sources, read as a small table: which `codes.STAGE_*` each external function needs, found
  by following its calls (`self._x(`, `lifecycle._x(`) to the lifecycle's `_load(id, STAGE,
  STATE)` (a stage on a financing in a state) or to a consortium `authorize(msg.sender, …,
  STAGE)` (a stage on nothing of a bank's own, with the `codes.KIND_*` the source checks);
  a function that checks the consortium `owner()` is the regulator's;
- `SCENARIO_TABLE`: the stages each kind may hold in that scenario (each one is tried on each
  function of that kind), which also names the kind when the source does not.
Lifecycle stage functions (exported or wrapped) and applications are called generically. What is
scenario-specific is listed in one place below (`SETUP`, `SPECIFIC`, `OUTSIDER_MEETS_FIRST`); a
new scenario whose functions are all lifecycle ones is covered without editing this file, and a
new function the matrix cannot call fails `test_every_function_has_a_recipe` by name.

One module-scoped fixture deploys each scenario contract and puts one financing in the state each
stage function needs; each test then grants one stage set (one transaction) and makes one call,
and ape reverts the test's changes afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from crossborder.domain.codes import (
    SCENARIO_TABLE,
    DocumentType,
    FinancingState,
    ParticipantKind,
    Scenario,
    Stage,
    allowed_stages,
)
from crossborder.domain.scenarios import SCENARIO_SPECS, ScenarioSpec
from crossborder.errors import MissingRole, NotAnOperator, OtherBank

from .conftest import (
    FAR,
    FIRM_A,
    ISSUED,
    MAY_REGISTER,
    USD,
    ZERO,
    advance,
    bind,
    events,
    fp,
    open_service,
    register,
    reverts,
    sign_assignment,
)

CONTRACTS = Path(__file__).parents[3] / "contracts"
LIFECYCLE = CONTRACTS / "modules" / "financing_lifecycle.vy"
LACKS = "consortium: account lacks the role"
NOT_OPERATOR = "consortium: account is not an operator"
OTHER_BANK = "financing: operator belongs to another bank"
BANK = ParticipantKind.BANK

################################################################
#              THE MATRIX, READ FROM THE SOURCES               #
################################################################

_FUNCTION = re.compile(r"^((?:@\w+\n)*)def (\w+)\((.*?)(?=^@|^def |\Z)", re.M | re.S)
_LOAD = re.compile(r"_load\(\s*financing_id,\s*codes\.STAGE_(\w+),\s*([^)]+)\)")
_AUTHORIZE = re.compile(
    r"authorize\(\s*msg\.sender,\s*(?:codes\.SCENARIO_(\w+)|SCENARIO),\s*codes\.STAGE_(\w+)\)"
)
_KIND = re.compile(r"==\s*codes\.KIND_(\w+)")
_OWNER = re.compile(r"msg\.sender == staticcall [\w.]*\bCONSORTIUM\.owner\(\),\s*\"([^\"]+)\"")
_CALL = re.compile(r"\b(self|lifecycle)\.(_\w+)\(")


def _functions(source: str) -> dict[str, tuple[str, str]]:
    """Each top-level function of a Vyper source: name -> (decorators, signature and body)."""
    return {m.group(2): (m.group(1), m.group(3)) for m in _FUNCTION.finditer(source)}


def _constant(body: str, prefix: str) -> str | None:
    found = re.search(rf"codes\.{prefix}_(\w+)", body)
    return found.group(1) if found else None


@dataclass(frozen=True)
class Need:
    """What a function asks of its caller, as read from the source."""

    stage: Stage | None  # None: the regulator's function
    state: FinancingState | None = None  # the state it loads a financing in; None: no financing
    kind: ParticipantKind | None = None  # the kind the source checks the caller is, if any
    scenario: str | None = None  # the `codes.SCENARIO_*` it authorises in, if named
    application: bool = False  # it takes holds (the lifecycle's `_apply`)
    regulator: str | None = None  # the regulator's function: the revert message for others


class Source:
    """One Vyper source's functions; `need` follows calls into this source and the lifecycle."""

    def __init__(self, path: Path, lifecycle: Source | None = None):
        self.path = path
        self.functions = _functions(path.read_text())
        self.lifecycle = lifecycle or self

    def mutable(self, name: str) -> bool:
        decorators = self.functions[name][0]
        return "@external" in decorators and not ({"@view", "@pure"} & set(decorators.split()))

    def need(self, name: str, seen: frozenset[tuple[Path, str]] = frozenset()) -> Need | None:
        body = self.functions[name][1]
        owner = _OWNER.search(body)
        if owner:
            return Need(None, regulator=owner.group(1))
        load = _LOAD.search(body)
        if load:
            # State 0: several states allowed (a withdrawal); the application's first is one.
            state_name = _constant(load.group(2), "STATE")
            state = FinancingState[state_name] if state_name else FinancingState.APPLIED
            return Need(Stage[load.group(1)], state)
        authorize = _AUTHORIZE.search(body)
        if authorize:
            kind = _KIND.search(body)
            return Need(
                Stage[authorize.group(2)],
                kind=ParticipantKind[kind.group(1)] if kind else None,
                scenario=authorize.group(1),
                application="LEDGER.hold(" in body,
            )
        for prefix, callee in _CALL.findall(body):
            source = self if prefix == "self" else self.lifecycle
            if callee in source.functions and (source.path, callee) not in seen:
                found = source.need(callee, seen | {(source.path, callee)})
                if found is not None:
                    return found
        return None


@dataclass(frozen=True)
class StageFunction:
    name: str
    need: Need
    kind: ParticipantKind | None  # whose operators call it (None: the regulator)

    @property
    def stage(self) -> Stage | None:
        return self.need.stage

    @property
    def state(self) -> FinancingState | None:
        return self.need.state


@cache
def lifecycle_source() -> Source:
    return Source(LIFECYCLE)


def _lifecycle_stages() -> dict[str, Need]:
    """The lifecycle's functions that need a stage (external and internal), read from its source."""
    source = lifecycle_source()
    found = {name: source.need(name) for name in source.functions}
    return {name: need for name, need in found.items() if need is not None}


@dataclass(frozen=True)
class ScenarioContract:
    name: str
    scenario: Scenario
    spec: ScenarioSpec
    functions: dict[str, StageFunction] = field(hash=False)

    @property
    def doc_type(self) -> DocumentType:
        return self.spec.doc_type


def _kind_of(scenario: Scenario, need: Need, where: str) -> ParticipantKind | None:
    """The kind whose row in `scenario` holds the stage; the source's own check must agree."""
    if need.stage is None:
        return None
    rows = [
        k for (s, k), stages in SCENARIO_TABLE.items() if s == scenario and need.stage in stages
    ]
    if need.kind is not None:
        assert need.kind in rows, f"{where}: {need.kind.name} has no row holding {need.stage.name}"
        return need.kind
    assert len(rows) == 1, f"{where}: {need.stage.name} is in the rows of {rows}; teach the matrix"
    return rows[0]


def _scenario_contracts() -> list[ScenarioContract]:
    lifecycle = lifecycle_source()
    specs = {spec.contract: spec for spec in SCENARIO_SPECS}
    found = []
    for path in sorted(CONTRACTS.glob("*.vy")):
        text = path.read_text()
        init = re.search(r"lifecycle\.__init__\([^)]*codes\.SCENARIO_(\w+)\)", text)
        if init is None:
            continue
        scenario = Scenario[init.group(1)]
        assert path.stem in specs, f"{path.name}: no ScenarioSpec in SCENARIO_SPECS"
        source = Source(path, lifecycle)
        exports = re.search(r"^exports: \((.*?)^\)", text, re.M | re.S)
        exported = re.findall(r"\blifecycle\.(\w+)", exports.group(1) if exports else "")
        named = [(lifecycle, n) for n in exported if n in lifecycle.functions]
        named += [(source, n) for n in source.functions]
        functions = {}
        for origin, name in named:
            if not origin.mutable(name):
                continue
            need = origin.need(name)
            assert need is not None, f"{path.name}: {name} checks no stage; teach the matrix"
            kind = _kind_of(scenario, need, f"{path.name}: {name}")
            functions[name] = StageFunction(name, need, kind)
        found.append(ScenarioContract(path.stem, scenario, specs[path.stem], functions))
    return found


SCENARIO_CONTRACTS = _scenario_contracts()


def _stage_functions(contract: ScenarioContract) -> list[StageFunction]:
    return [f for _, f in sorted(contract.functions.items()) if f.stage is not None]


def _cases(each_stage: bool) -> list[Any]:
    cases = []
    for contract in SCENARIO_CONTRACTS:
        for function in _stage_functions(contract):
            row = allowed_stages(contract.scenario, function.kind)
            stages = list(row) if each_stage else [None]
            for stage in stages:
                suffix = f"-{stage.name}" if stage is not None else ""
                cases.append(
                    pytest.param(
                        contract.name,
                        function.name,
                        stage,
                        id=f"{contract.name}-{function.name}{suffix}",
                    )
                )
    return cases


def _regulator_cases() -> list[Any]:
    return [
        pytest.param(c.name, f.name, id=f"{c.name}-{f.name}")
        for c in SCENARIO_CONTRACTS
        for f in c.functions.values()
        if f.stage is None
    ]


################################################################
#                           FIXTURE                            #
################################################################


@dataclass
class Deployed:
    spec: ScenarioContract
    contract: Any
    ids: dict[FinancingState, int]
    doc: bytes  # a free document the contract may cite, FIRM_A's, for `apply`
    ctx: dict[str, Any]  # what the scenario's own functions act on (`SETUP`)


@dataclass
class Matrix:
    # Per kind: an operator of the institution the fixture's records belong to, and one of
    # another institution of the same kind; no stages until a test grants them.
    ops: dict[ParticipantKind, tuple[Any, Any]]
    deployed: dict[str, Deployed]


@dataclass
class Env:
    """What a scenario's setup may use."""

    consortium: Any
    ledger: Any
    regulator: Any
    customs_op: Any
    accounts: Any
    bank_a: Any
    firm_accounts: dict[bytes, Any]
    # Per kind other than banks: an operator holding the kind's rows (the fixture's own
    # institution, the same one as `Matrix.ops[kind][0]`).
    clerks: dict[ParticipantKind, Any]


def _provider(env: Env, doc_type: DocumentType):
    """An operator allowed to register `doc_type`: customs' own, or a new provider's."""
    if doc_type in MAY_REGISTER[ParticipantKind.CUSTOMS]:
        return env.customs_op
    kind = next(k for k, types in MAY_REGISTER.items() if doc_type in types)
    participant = fp(f"matrix-provider-{kind.name}")
    if env.consortium.participant(participant)[0] == 0:
        env.consortium.onboard(participant, int(kind), ZERO, sender=env.regulator)
        roles = {Scenario.PLATFORM: Stage.REGISTER}
        bind(env.consortium, env.regulator, env.accounts[4], participant, roles)
    return env.accounts[4]


def _documents(env: Env, spec: ScenarioContract, labels: list[str]) -> list[bytes]:
    """Registers one document of the contract's type per label, FIRM_A's, 10,000 USD."""
    docs = [fp(f"matrix-{spec.name}-{label}") for label in labels]
    register(
        env.ledger,
        _provider(env, spec.doc_type),
        [(d, FIRM_A, 10_000, USD) for d in docs],
        spec.doc_type,
    )
    return docs


def _plain_setup(env: Env, spec: ScenarioContract, contract, labels: list[str]):
    """Any scenario citing registered documents: the documents, nothing else."""
    return _documents(env, spec, labels), {}


def _policy_setup(env: Env, spec: ScenarioContract, contract, labels: list[str]):
    """Policy financing: every document cited is an insured shipment with cover confirmed under
    a policy of the fixture's insurer, assigned to bank A (advance ratio 100 %); plus a policy
    awaiting the insurer's confirmation, a declared shipment without cover, an undeclared
    declaration, a filed claim, a paid claim and a fresh signed assignment for bank A."""
    insurer, bank = env.clerks[ParticipantKind.INSURER], env.bank_a
    signer = env.firm_accounts[FIRM_A]
    docs = _documents(env, spec, [*labels, "uncovered", "undeclared"])
    *cited, uncovered, undeclared = docs
    policy, pending = fp("matrix-policy"), fp("matrix-policy-pending")
    for p in (policy, pending):
        contract.register_policy(p, FIRM_A, fp("matrix-buyer"), 10**9, USD, FAR, sender=insurer)
    for d in [*cited, uncovered]:
        contract.declare_shipment(d, policy, 10_000, sender=insurer)
    for d in cited:
        contract.confirm_cover(d, sender=insurer)
    for p in (policy, pending):
        contract.request_assignment(
            p, *sign_assignment(contract, signer, p, FIRM_A, bank.id), sender=bank.opener
        )
    contract.confirm_assignment(policy, bank.id, sender=insurer)
    contract.set_advance_ratio(bank.id, 10_000, sender=env.regulator)
    claims = []
    for _ in range(2):
        tx = contract.file_claim(cited[0], 100, sender=insurer)
        claims.append(events(tx, contract.ClaimUpdated)[0]["claim_id"])
    contract.settle_claim(claims[1], 100, sender=insurer)
    ctx = {
        "bank": bank.id,
        "policy": policy,
        "pending_policy": pending,
        "shipment": cited[0],
        "uncovered": uncovered,
        "undeclared": undeclared,
        "filed_claim": claims[0],
        "claim_id": claims[1],  # paid: `register_claim_repayment`'s argument
        "assignment": (policy, *sign_assignment(contract, signer, policy, FIRM_A, bank.id)),
    }
    return cited, ctx


################################################################
#        WHAT IS SCENARIO-SPECIFIC: LISTED IN ONE PLACE        #
################################################################

# How each scenario's documents come to be citable (default: registered, `_plain_setup`).
SETUP: dict[str, Callable[..., tuple[list[bytes], dict[str, Any]]]] = {
    "PolicyFinancing": _policy_setup,
}

OTHER_INSURER = "policy: the policy belongs to another insurer"


@dataclass(frozen=True)
class Recipe:
    call: Callable[[Deployed, Any], Any]
    # The revert when an operator of another institution of the same kind, holding the stage,
    # calls it; None when the function acts on nothing of an institution's own.
    other: str | None


# The scenario's own functions (neither lifecycle stages nor applications): how to call each.
SPECIFIC: dict[str, Recipe] = {
    "register_policy": Recipe(
        lambda d, s: d.contract.register_policy(
            fp("matrix-new-policy"), FIRM_A, fp("matrix-buyer"), 1_000, USD, FAR, sender=s
        ),
        None,
    ),
    "declare_shipment": Recipe(
        lambda d, s: d.contract.declare_shipment(
            d.ctx["undeclared"], d.ctx["policy"], 100, sender=s
        ),
        OTHER_INSURER,
    ),
    "confirm_cover": Recipe(
        lambda d, s: d.contract.confirm_cover(d.ctx["uncovered"], sender=s), OTHER_INSURER
    ),
    "confirm_assignment": Recipe(
        lambda d, s: d.contract.confirm_assignment(
            d.ctx["pending_policy"], d.ctx["bank"], sender=s
        ),
        OTHER_INSURER,
    ),
    "notify_loss": Recipe(
        lambda d, s: d.contract.notify_loss(d.ctx["shipment"], 100, sender=s), OTHER_INSURER
    ),
    "file_claim": Recipe(
        lambda d, s: d.contract.file_claim(d.ctx["shipment"], 100, sender=s), OTHER_INSURER
    ),
    "settle_claim": Recipe(
        lambda d, s: d.contract.settle_claim(d.ctx["filed_claim"], 50, sender=s), OTHER_INSURER
    ),
    # Another bank submitting the firm's signature for bank A: the digest names the submitter's
    # bank, so the signer recovered is nobody's.
    "request_assignment": Recipe(
        lambda d, s: d.contract.request_assignment(*d.ctx["assignment"], sender=s),
        "policy: assignment not signed by the insured firm",
    ),
    "set_advance_ratio": Recipe(
        lambda d, s: d.contract.set_advance_ratio(d.ctx["bank"], 5_000, sender=s), None
    ),
}

# Applications whose own checks run before the lifecycle's role check: what an account bound to
# no participant meets first. PolicyFinancing reads the caller's bank (none: no advance ratio).
OUTSIDER_MEETS_FIRST = {
    ("PolicyFinancing", "apply"): (
        "policy: the amount exceeds the insured amount times the bank's advance ratio"
    ),
}


@pytest.fixture(scope="module")
def matrix(
    project,
    consortium,
    ledger,
    regulator,
    customs_op,
    accounts,
    bank_a,
    bank_b,
    firm_accounts,
    outsider,
    chain,
):
    kinds = {f.kind for c in SCENARIO_CONTRACTS for f in c.functions.values()} - {None, BANK}
    ops = {BANK: (accounts[2], accounts[3])}
    consortium.add_operator(accounts[2], bank_a.id, sender=regulator)
    consortium.add_operator(accounts[3], bank_b.id, sender=regulator)
    spare = iter(accounts[i] for i in (6, 7, 8, 22, 23, 24, 25, 26))
    clerks = {}
    for kind in sorted(kinds):
        own, other = fp(f"matrix-{kind.name}"), fp(f"matrix-{kind.name}-other")
        clerk, op, other_op = next(spare), next(spare), next(spare)
        for participant, accounts_ in ((own, (clerk, op)), (other, (other_op,))):
            consortium.onboard(participant, int(kind), ZERO, sender=regulator)
            for account in accounts_:
                consortium.add_operator(account, participant, sender=regulator)
        for (scenario, row_kind), stages in SCENARIO_TABLE.items():
            if row_kind == kind:
                consortium.set_roles(clerk, scenario, stages, sender=regulator)
        clerks[kind], ops[kind] = clerk, (op, other_op)
    env = Env(consortium, ledger, regulator, customs_op, accounts, bank_a, firm_accounts, clerks)

    deployed = {}
    for spec in SCENARIO_CONTRACTS:
        contract = getattr(project, spec.name).deploy(consortium, ledger, sender=regulator)
        ledger.set_scenario(contract, True, sender=regulator)
        # Bank A's operators get their one stage in this scenario too; FIRM_A opens the service.
        for name, stage in (
            ("applicant", Stage.APPLY),
            ("acceptor", Stage.ACCEPT),
            ("reviewer", Stage.REVIEW),
            ("disburser", Stage.DISBURSE),
            ("repayer", Stage.REPAY),
            ("opener", Stage.SERVICE),
        ):
            consortium.set_roles(getattr(bank_a, name), spec.scenario, stage, sender=regulator)
        if not consortium.is_service_opened(FIRM_A, bank_a.id, spec.scenario):
            open_service(
                consortium, bank_a.opener, firm_accounts[FIRM_A], FIRM_A, bank_a.id, spec.scenario
            )
        states = sorted({f.state for f in spec.functions.values() if f.state is not None})
        setup = SETUP.get(spec.name, _plain_setup)
        docs, ctx = setup(env, spec, contract, [*(s.name for s in states), "free"])
        *cited, free = docs
        ids = {}
        for state, doc in zip(states, cited, strict=True):
            tx = _apply(contract, spec, FIRM_A, doc, bank_a.applicant)
            ids[state] = events(tx, contract.FinancingApplied)[0]["financing_id"]
            advance(contract, bank_a, ids[state], state)
        deployed[spec.name] = Deployed(spec, contract, ids, free, ctx)
    # Every (scenario, kind) row on chain allows every stage, so that a test can grant a stage
    # in a scenario other than the contract's (the tests grant only the table's own stages).
    for scenario in Scenario:
        for kind in (BANK, *kinds):
            consortium.define_roles(scenario, kind, sum(Stage), sender=regulator)
    chain.mine()  # keeps ape's per-test restore cheap: the snapshot block is empty
    return Matrix(ops, deployed)


################################################################
#                      CALLS AND EFFECTS                       #
################################################################

# The application's arguments, by the ABI's input types.
_APPLY_INPUTS = {
    ("bytes32", "uint16", "bytes32[]", "uint256[]"): lambda spec, firm, doc: (
        firm,
        USD,
        [doc],
        [100],
    ),
    ("bytes32", "uint16", "uint8", "bytes32[]", "uint256[]"): lambda spec, firm, doc: (
        firm,
        USD,
        spec.doc_type,
        [doc],
        [100],
    ),
}


def _apply(contract, spec: ScenarioContract, firm: bytes, doc: bytes, sender):
    inputs = tuple(i.type for i in contract.apply.abis[0].inputs)
    assert inputs in _APPLY_INPUTS, (
        f"{contract.contract_type.name}.apply{inputs}: teach this matrix its arguments"
    )
    return contract.apply(*_APPLY_INPUTS[inputs](spec, firm, doc), sender=sender)


_ARGUMENTS = {
    "approve": True,
    "amount": 1,
    "value_date": ISSUED,
    "due_date": ISSUED + 30,
}


def _call(d: Deployed, function: str, sender):
    f = d.spec.functions[function]
    if f.need.application:
        return _apply(d.contract, d.spec, FIRM_A, d.doc, sender)
    if f.state is None:
        return SPECIFIC[function].call(d, sender)
    method = getattr(d.contract, function)
    names = [i.name for i in method.abis[0].inputs]
    arguments = {**_ARGUMENTS, **d.ctx}
    return method(d.ids[f.state], *(arguments[n] for n in names[1:]), sender=sender)


def _before(d: Deployed, function: str):
    state = d.spec.functions[function].state
    return None if state is None else d.contract.financing(d.ids[state])


def _took_effect(d: Deployed, function: str, tx, before) -> None:
    f = d.spec.functions[function]
    if f.need.application:
        assert len(events(tx, d.contract.FinancingApplied)) == 1
    elif f.state is not None:
        assert d.contract.financing(d.ids[f.state]) != before
    else:  # every state-changing function of a scenario logs what it did
        assert any(log["address"] == d.contract.address for log in tx.logs), function


################################################################
#                            TESTS                             #
################################################################


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=True))
def test_only_the_functions_stage_may_call_it(
    consortium, regulator, matrix, contract, function, stage
):
    d = matrix.deployed[contract]
    f = d.spec.functions[function]
    op = matrix.ops[f.kind][0]
    consortium.set_roles(op, d.spec.scenario, stage, sender=regulator)
    if stage == f.stage:
        before = _before(d, function)
        tx = _call(d, function, op)
        _took_effect(d, function, tx, before)
    else:
        with reverts(LACKS, MissingRole):
            _call(d, function, op)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_every_other_stage_together_is_not_enough(
    consortium, regulator, matrix, contract, function, stage
):
    """No combination of the row's other stages stands in for the function's own stage."""
    d = matrix.deployed[contract]
    f = d.spec.functions[function]
    row = allowed_stages(d.spec.scenario, f.kind)
    op = matrix.ops[f.kind][0]
    for stages in (0, row & ~f.stage):
        consortium.set_roles(op, d.spec.scenario, stages, sender=regulator)
        with reverts(LACKS, MissingRole):
            _call(d, function, op)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_the_stage_in_another_scenario_does_not_count(
    consortium, regulator, matrix, contract, function, stage
):
    """A receivables stage granted in, say, the policy scenario does not let you act in
    receivables (nor the platform's REGISTER stage an insurer in policies): each other scenario
    is tried, then the contract's own as the passing case."""
    d = matrix.deployed[contract]
    f = d.spec.functions[function]
    op = matrix.ops[f.kind][0]
    for scenario in Scenario:
        if scenario == d.spec.scenario:
            continue
        consortium.set_roles(op, scenario, f.stage, sender=regulator)
        with reverts(LACKS, MissingRole):
            _call(d, function, op)
    consortium.set_roles(op, d.spec.scenario, f.stage, sender=regulator)
    before = _before(d, function)
    _took_effect(d, function, _call(d, function, op), before)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_non_operator_is_refused(matrix, outsider, contract, function, stage):
    message = OUTSIDER_MEETS_FIRST.get((contract, function), NOT_OPERATOR)
    with reverts(message, NotAnOperator if message == NOT_OPERATOR else None):
        _call(matrix.deployed[contract], function, outsider)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_another_institutions_operator_cannot_act_on_its_records(
    consortium, regulator, matrix, contract, function, stage
):
    """An account acts only within its own institution: bank B's operator, holding the stage,
    cannot touch bank A's financing; another insurer's cannot touch the insurer's policy."""
    d = matrix.deployed[contract]
    f = d.spec.functions[function]
    if f.need.application:
        pytest.skip("an application is the applying bank's own; no other bank's financing")
    message = OTHER_BANK if f.state is not None else SPECIFIC[function].other
    if message is None:
        pytest.skip(f"{function} acts on nothing of an institution's own")
    other = matrix.ops[f.kind][1]
    consortium.set_roles(other, d.spec.scenario, f.stage, sender=regulator)
    with reverts(message, OtherBank if message == OTHER_BANK else None):
        _call(d, function, other)


@pytest.mark.parametrize(("contract", "function"), _regulator_cases())
def test_only_the_regulator(consortium, regulator, matrix, outsider, contract, function):
    """A regulator's function: refused to an operator holding every stage of every row of the
    scenario, and to an outsider; the regulator's call takes effect."""
    d = matrix.deployed[contract]
    message = d.spec.functions[function].need.regulator
    for kind, (op, _) in matrix.ops.items():
        consortium.set_roles(
            op, d.spec.scenario, allowed_stages(d.spec.scenario, kind) or 0, sender=regulator
        )
        with reverts(message):
            _call(d, function, op)
    with reverts(message):
        _call(d, function, outsider)
    _took_effect(d, function, _call(d, function, regulator), None)


@pytest.mark.parametrize("contract", [c.name for c in SCENARIO_CONTRACTS])
def test_matrix_covers_every_function_of_the_contract(project, contract):
    """Every state-changing function of each scenario contract is a stage or regulator function
    above."""
    spec = next(c for c in SCENARIO_CONTRACTS if c.name == contract)
    mutable = {abi.name for abi in getattr(project, contract).contract_type.mutable_methods}
    assert mutable == set(spec.functions)


def test_every_function_has_a_recipe(matrix):
    """Lifecycle stage functions and applications are called generically (their arguments from
    `_ARGUMENTS` or the scenario's setup); every other function has its recipe in `SPECIFIC`,
    and every recipe names a function that exists."""
    named = set()
    for d in matrix.deployed.values():
        for f in d.spec.functions.values():
            if f.need.application:
                continue
            if f.state is None:
                assert f.name in SPECIFIC, f"{d.spec.name}.{f.name}: add its recipe to SPECIFIC"
                named.add(f.name)
                continue
            inputs = [i.name for i in getattr(d.contract, f.name).abis[0].inputs]
            unknown = set(inputs[1:]) - set(_ARGUMENTS) - set(d.ctx)
            assert inputs[0] == "financing_id" and not unknown, (
                f"{d.spec.name}.{f.name}{tuple(inputs)}: teach this matrix its arguments"
            )
    assert set(SPECIFIC) == named, f"stale recipes: {set(SPECIFIC) - named}"


def test_matrix_is_generated_from_the_table():
    """Each scenario contract has its spec and its scenario's rows; each function's stage is in
    its kind's row, every row of the scenario is exercised by some function, and the matrix
    tries every stage of the row on every function of that kind."""
    assert SCENARIO_CONTRACTS, "no scenario contract found in contracts/"
    assert {c.name for c in SCENARIO_CONTRACTS} == {s.contract for s in SCENARIO_SPECS}
    for spec in SCENARIO_CONTRACTS:
        assert spec.spec.scenario == spec.scenario
        for f in _stage_functions(spec):
            assert f.stage in allowed_stages(spec.scenario, f.kind), (spec.name, f.name)
            assert f.need.scenario in (None, spec.scenario.name), (spec.name, f.name)
        kinds = {kind for (scenario, kind) in SCENARIO_TABLE if scenario == spec.scenario}
        assert kinds == {f.kind for f in _stage_functions(spec)}, f"{spec.name}: rows for {kinds}"
    tried = {(c.values[0], c.values[1], c.values[2]) for c in _cases(each_stage=True)}
    for spec in SCENARIO_CONTRACTS:
        for f in _stage_functions(spec):
            for stage in allowed_stages(spec.scenario, f.kind):
                assert (spec.name, f.name, stage) in tried


def test_lifecycle_stages_as_read():
    """The reader of the lifecycle source reads what the lifecycle says (a canary for it)."""
    read = {name: (n.stage, n.state) for name, n in _lifecycle_stages().items()}
    assert read["accept"] == (Stage.ACCEPT, FinancingState.APPLIED)
    assert read["review"] == read["_review"] == (Stage.REVIEW, FinancingState.ACCEPTED)
    assert read["withdraw"] == read["_withdraw"] == (Stage.APPLY, FinancingState.APPLIED)
    assert read["register_repayment"] == (Stage.REPAY, FinancingState.DISBURSED)
    assert read["register_disbursement"] == (Stage.DISBURSE, FinancingState.APPROVED)
    assert read["_apply"] == (Stage.APPLY, None)
    assert _lifecycle_stages()["_apply"].application


def test_scenario_functions_as_read():
    """The reader of the scenario sources (a canary): the policy scenario's wrappers, its
    insurer's functions, the bank's assignment and the regulator's advance ratio."""
    read = {
        (c.name, f.name): (f.stage, f.state, f.kind, f.need.application, f.need.regulator)
        for c in SCENARIO_CONTRACTS
        for f in c.functions.values()
    }
    insurer, bank = ParticipantKind.INSURER, BANK
    S = FinancingState
    assert read["PolicyFinancing", "apply"] == (Stage.APPLY, None, bank, True, None)
    assert read["LogisticsFinancing", "apply"] == (Stage.APPLY, None, bank, True, None)
    assert read["PolicyFinancing", "review"] == (Stage.REVIEW, S.ACCEPTED, bank, False, None)
    assert read["PolicyFinancing", "register_claim_repayment"][:3] == (
        Stage.REPAY,
        S.DISBURSED,
        bank,
    )
    assert read["PolicyFinancing", "request_assignment"][:3] == (Stage.SERVICE, None, bank)
    for name in ("register_policy", "declare_shipment", "confirm_cover", "settle_claim"):
        assert read["PolicyFinancing", name][:3] == (Stage.REGISTER, None, insurer)
    assert read["PolicyFinancing", "set_advance_ratio"] == (
        None,
        None,
        None,
        False,
        "policy: caller is not the regulator",
    )


################################################################
#                 THE PLATFORM: REGISTRATION ROWS              #
################################################################

PLATFORM_ROWS = [
    pytest.param(kind, stages, id=kind.name)
    for (scenario, kind), stages in SCENARIO_TABLE.items()
    if scenario == Scenario.PLATFORM
]


@pytest.mark.parametrize(("kind", "stages"), PLATFORM_ROWS)
def test_only_the_register_stage_registers(
    consortium, ledger, regulator, accounts, matrix, kind, stages
):
    """Every platform row of the table: its operator registers with the row's REGISTER stage in
    the platform scenario, and not without it."""
    assert Stage.REGISTER in stages
    participant = fp(f"platform-{kind.name}")
    consortium.onboard(participant, int(kind), ZERO, sender=regulator)
    clerk = accounts[5]
    bind(consortium, regulator, clerk, participant)
    doc_type = min(MAY_REGISTER[kind])
    doc = (fp(f"platform-doc-{kind.name}"), FIRM_A, 100, USD)
    with reverts(LACKS, MissingRole):
        register(ledger, clerk, [doc], doc_type)
    consortium.set_roles(clerk, Scenario.PLATFORM, stages & ~Stage.REGISTER, sender=regulator)
    with reverts(LACKS, MissingRole):
        register(ledger, clerk, [doc], doc_type)
    consortium.set_roles(clerk, Scenario.PLATFORM, Stage.REGISTER, sender=regulator)
    register(ledger, clerk, [doc], doc_type)
    assert ledger.document(doc_type, doc[0])[0] == 1
