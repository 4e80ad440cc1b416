"""Stage x function matrix, generated: for every scenario contract and every one of its stage
functions, only an account holding that function's stage *in that contract's scenario* may call it.

Nothing here names a scenario or a stage by hand. The cases come from
- the scenario contracts in `contracts/`: every contract that initialises `financing_lifecycle`
  with a `codes.SCENARIO_*` id (its scenario) and exports the lifecycle's stage functions;
- the lifecycle's source: which `codes.STAGE_*` each stage function checks, and in which
  `codes.STATE_*` it expects the financing;
- `SCENARIO_TABLE`: the stages a bank may hold in that scenario (each one is tried on each
  function).
A new scenario (a new row in the table and a thin contract) is covered without editing this file.

One module-scoped fixture deploys each scenario contract and puts one financing in the state each
stage function needs; each test then grants one stage set (one transaction) and makes one call,
and ape reverts the test's changes afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
from crossborder.errors import MissingRole, NotAnOperator, OtherBank

from .conftest import (
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
)

CONTRACTS = Path(__file__).parents[3] / "contracts"
LIFECYCLE = CONTRACTS / "modules" / "financing_lifecycle.vy"
LACKS = "consortium: account lacks the role"

################################################################
#              THE MATRIX, READ FROM THE SOURCES               #
################################################################

_FUNCTION = re.compile(r"^((?:@\w+\n)*)def (\w+)\((.*?)(?=^@|^def |\Z)", re.M | re.S)


def _functions(source: str) -> dict[str, tuple[str, str]]:
    """Each top-level function of a Vyper source: name -> (decorators, signature and body)."""
    return {m.group(2): (m.group(1), m.group(3)) for m in _FUNCTION.finditer(source)}


def _constant(body: str, prefix: str) -> str | None:
    found = re.search(rf"codes\.{prefix}_(\w+)", body)
    return found.group(1) if found else None


@dataclass(frozen=True)
class StageFunction:
    name: str
    stage: Stage
    state: FinancingState | None  # the state the financing must be in; None for `apply`


def _lifecycle_stages() -> dict[str, StageFunction]:
    """The lifecycle's external stage functions and internal `_apply`-like helpers, each with
    the stage it authorises and the state it loads the financing in (`_load(id, STAGE, STATE)`)."""
    out = {}
    for name, (decorators, body) in _functions(LIFECYCLE.read_text()).items():
        stage = _constant(body, "STAGE")
        if stage is None or "@view" in decorators or "@pure" in decorators:
            continue
        load = re.search(r"_load\(\s*financing_id,\s*codes\.STAGE_\w+,\s*([^)]+)\)", body)
        state = None
        if load:
            state_name = _constant(load.group(1), "STATE")
            # State 0: several states allowed (a withdrawal); the application's first is one.
            state = FinancingState[state_name] if state_name else FinancingState.APPLIED
        out[name] = StageFunction(name, Stage[stage], state)
    return out


@dataclass(frozen=True)
class ScenarioContract:
    name: str
    scenario: Scenario
    doc_type: DocumentType
    functions: dict[str, StageFunction] = field(hash=False)


def _scenario_contracts() -> list[ScenarioContract]:
    lifecycle = _lifecycle_stages()
    found = []
    for path in sorted(CONTRACTS.glob("*.vy")):
        source = path.read_text()
        init = re.search(r"lifecycle\.__init__\([^)]*codes\.SCENARIO_(\w+)\)", source)
        if init is None:
            continue
        exports = re.search(r"^exports: \((.*?)^\)", source, re.M | re.S)
        exported = set(re.findall(r"lifecycle\.(\w+)", exports.group(1) if exports else ""))
        functions = {n: lifecycle[n] for n in exported if n in lifecycle}
        doc_type = None
        for name, (decorators, body) in _functions(source).items():
            calls = re.search(r"lifecycle\.(_\w+)\(([^)]*)\)", body)
            if "@external" in decorators and calls and calls.group(1) in lifecycle:
                functions[name] = StageFunction(name, lifecycle[calls.group(1)].stage, None)
                doc_type = DocumentType[_constant(calls.group(2), "DOC")]
        assert doc_type is not None, f"{path.name}: no application function found"
        found.append(ScenarioContract(path.stem, Scenario[init.group(1)], doc_type, functions))
    return found


SCENARIO_CONTRACTS = _scenario_contracts()


def _cases(each_stage: bool) -> list[Any]:
    cases = []
    for contract in SCENARIO_CONTRACTS:
        row = allowed_stages(contract.scenario, ParticipantKind.BANK)
        for function in sorted(contract.functions):
            stages = list(row) if each_stage else [None]
            for stage in stages:
                suffix = f"-{stage.name}" if stage is not None else ""
                cases.append(
                    pytest.param(
                        contract.name, function, stage, id=f"{contract.name}-{function}{suffix}"
                    )
                )
    return cases


################################################################
#                           FIXTURE                            #
################################################################


@dataclass
class Deployed:
    spec: ScenarioContract
    contract: Any
    ids: dict[FinancingState, int]
    doc: bytes  # a free document of the contract's type, FIRM_A's, for `apply`


@dataclass
class Matrix:
    bank_op: Any  # bound to bank A, no stages until a test grants them
    other_bank_op: Any  # bound to bank B, no stages until a test grants them
    deployed: dict[str, Deployed]


def _provider(consortium, regulator, customs_op, accounts, doc_type: DocumentType):
    """An operator allowed to register `doc_type`: customs' own, or a new provider's."""
    if doc_type in MAY_REGISTER[ParticipantKind.CUSTOMS]:
        return customs_op
    kind = next(k for k, types in MAY_REGISTER.items() if doc_type in types)
    participant = fp(f"matrix-provider-{kind.name}")
    consortium.onboard(participant, int(kind), ZERO, sender=regulator)
    bind(consortium, regulator, accounts[4], participant, {Scenario.PLATFORM: Stage.REGISTER})
    return accounts[4]


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
        provider = _provider(consortium, regulator, customs_op, accounts, spec.doc_type)
        docs = [fp(f"matrix-{spec.name}-{s.name}") for s in states]
        free = fp(f"matrix-{spec.name}-free")
        register(ledger, provider, [(d, FIRM_A, 10_000, USD) for d in [*docs, free]], spec.doc_type)
        ids = {}
        for state, doc in zip(states, docs, strict=True):
            tx = _apply(contract, FIRM_A, doc, bank_a.applicant)
            ids[state] = events(tx, contract.FinancingApplied)[0]["financing_id"]
            advance(contract, bank_a, ids[state], state)
        deployed[spec.name] = Deployed(spec, contract, ids, free)
    bank_op, other_bank_op = accounts[2], accounts[3]
    consortium.add_operator(bank_op, bank_a.id, sender=regulator)
    consortium.add_operator(other_bank_op, bank_b.id, sender=regulator)
    # Every scenario gets a bank row allowing every stage, so that a test can grant a stage in
    # a scenario other than the contract's.
    for scenario in Scenario:
        if not allowed_stages(scenario, ParticipantKind.BANK):
            consortium.define_roles(scenario, ParticipantKind.BANK, sum(Stage), sender=regulator)
    chain.mine()  # keeps ape's per-test restore cheap: the snapshot block is empty
    return Matrix(bank_op, other_bank_op, deployed)


################################################################
#                      CALLS AND EFFECTS                       #
################################################################


def _apply(contract, firm: bytes, doc: bytes, sender):
    inputs = [i.type for i in contract.apply.abis[0].inputs]
    assert inputs == ["bytes32", "uint16", "bytes32[]", "uint256[]"], (
        f"{contract.contract_type.name}.apply{tuple(inputs)}: teach this matrix its arguments"
    )
    return contract.apply(firm, USD, [doc], [100], sender=sender)


_ARGUMENTS = {
    "approve": True,
    "amount": 1,
    "value_date": ISSUED,
    "due_date": ISSUED + 30,
}


def _call(d: Deployed, function: str, sender):
    if function in d.spec.functions and d.spec.functions[function].state is None:
        return _apply(d.contract, FIRM_A, d.doc, sender)
    fid = d.ids[d.spec.functions[function].state]
    method = getattr(d.contract, function)
    names = [i.name for i in method.abis[0].inputs]
    assert names[0] == "financing_id" and set(names[1:]) <= set(_ARGUMENTS), (
        f"{function}{tuple(names)}: teach this matrix its arguments"
    )
    return method(fid, *(_ARGUMENTS[n] for n in names[1:]), sender=sender)


def _took_effect(d: Deployed, function: str, tx, before) -> None:
    if d.spec.functions[function].state is None:
        assert len(events(tx, d.contract.FinancingApplied)) == 1
    else:
        fid = d.ids[d.spec.functions[function].state]
        assert d.contract.financing(fid) != before


def _before(d: Deployed, function: str):
    state = d.spec.functions[function].state
    return None if state is None else d.contract.financing(d.ids[state])


################################################################
#                            TESTS                             #
################################################################


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=True))
def test_only_the_functions_stage_may_call_it(
    consortium, regulator, matrix, contract, function, stage
):
    d = matrix.deployed[contract]
    consortium.set_roles(matrix.bank_op, d.spec.scenario, stage, sender=regulator)
    if stage == d.spec.functions[function].stage:
        before = _before(d, function)
        tx = _call(d, function, matrix.bank_op)
        _took_effect(d, function, tx, before)
    else:
        with reverts(LACKS, MissingRole):
            _call(d, function, matrix.bank_op)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_every_other_stage_together_is_not_enough(
    consortium, regulator, matrix, contract, function, stage
):
    """No combination of the row's other stages stands in for the function's own stage."""
    d = matrix.deployed[contract]
    needed = d.spec.functions[function].stage
    row = allowed_stages(d.spec.scenario, ParticipantKind.BANK)
    for stages in (0, row & ~needed):
        consortium.set_roles(matrix.bank_op, d.spec.scenario, stages, sender=regulator)
        with reverts(LACKS, MissingRole):
            _call(d, function, matrix.bank_op)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_the_stage_in_another_scenario_does_not_count(
    consortium, regulator, matrix, contract, function, stage
):
    """A receivables stage granted in, say, the policy scenario does not let you act in
    receivables: each other scenario is tried, then the contract's own as the passing case."""
    d = matrix.deployed[contract]
    needed = d.spec.functions[function].stage
    for scenario in Scenario:
        if scenario == d.spec.scenario:
            continue
        consortium.set_roles(matrix.bank_op, scenario, needed, sender=regulator)
        with reverts(LACKS, MissingRole):
            _call(d, function, matrix.bank_op)
    consortium.set_roles(matrix.bank_op, d.spec.scenario, needed, sender=regulator)
    before = _before(d, function)
    _took_effect(d, function, _call(d, function, matrix.bank_op), before)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_non_operator_is_refused(matrix, outsider, contract, function, stage):
    with reverts("consortium: account is not an operator", NotAnOperator):
        _call(matrix.deployed[contract], function, outsider)


@pytest.mark.parametrize(("contract", "function", "stage"), _cases(each_stage=False))
def test_other_banks_operator_cannot_act_on_the_financing(
    consortium, regulator, matrix, contract, function, stage
):
    """An account acts only within its own institution: bank B's operator, holding the stage,
    cannot touch bank A's financing."""
    d = matrix.deployed[contract]
    if d.spec.functions[function].state is None:
        pytest.skip("an application is the applying bank's own; no other bank's financing")
    consortium.set_roles(
        matrix.other_bank_op, d.spec.scenario, d.spec.functions[function].stage, sender=regulator
    )
    with reverts("financing: operator belongs to another bank", OtherBank):
        _call(d, function, matrix.other_bank_op)


@pytest.mark.parametrize("contract", [c.name for c in SCENARIO_CONTRACTS])
def test_matrix_covers_every_function_of_the_contract(project, contract):
    """Every state-changing function of each scenario contract is a stage function above."""
    spec = next(c for c in SCENARIO_CONTRACTS if c.name == contract)
    mutable = {abi.name for abi in getattr(project, contract).contract_type.mutable_methods}
    assert mutable == set(spec.functions)


def test_matrix_is_generated_from_the_table():
    """Each scenario contract's scenario has a bank row, and the matrix tries every stage of
    every such row; a row for another kind in such a scenario needs its own recipe here."""
    assert SCENARIO_CONTRACTS, "no scenario contract found in contracts/"
    for spec in SCENARIO_CONTRACTS:
        row = allowed_stages(spec.scenario, ParticipantKind.BANK)
        assert {f.stage for f in spec.functions.values()} <= set(row)
        kinds = {kind for (scenario, kind) in SCENARIO_TABLE if scenario == spec.scenario}
        assert kinds == {ParticipantKind.BANK}, f"{spec.name}: rows for {kinds}"
    tried = {(c.values[0], c.values[1], c.values[2]) for c in _cases(each_stage=True)}
    for spec in SCENARIO_CONTRACTS:
        for function in spec.functions:
            for stage in allowed_stages(spec.scenario, ParticipantKind.BANK):
                assert (spec.name, function, stage) in tried


def test_lifecycle_stages_as_read():
    """The reader of the lifecycle source reads what the lifecycle says (a canary for it)."""
    read = {name: (f.stage, f.state) for name, f in _lifecycle_stages().items()}
    assert read["accept"] == (Stage.ACCEPT, FinancingState.APPLIED)
    assert read["review"] == (Stage.REVIEW, FinancingState.ACCEPTED)
    assert read["register_repayment"] == (Stage.REPAY, FinancingState.DISBURSED)
    assert read["_apply"][0] == Stage.APPLY


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
