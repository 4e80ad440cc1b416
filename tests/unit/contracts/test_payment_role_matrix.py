"""Stage x function matrix for the payment scenarios, generated like `test_role_matrix.py`:

- the contracts are every one in `contracts/` that initialises `payment_desk` with a
  `codes.SCENARIO_*` id;
- each state-changing function's need is read from its source: a consortium `owner()` check is
  the regulator's; a call into the desk (`desk._bank()`, `desk._pay_invoices(`) needs the stage
  the desk's `_bank` authorises (read from `payment_desk.vy`); a function that checks nobody
  must be listed in `ANYONE` with the reason;
- `SCENARIO_TABLE` gives the stages each kind may hold in the scenario: each one is tried.

A new payment scenario whose functions are desk payments or regulator functions is covered
without editing this file, and a function the matrix cannot call fails by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from crossborder.domain.codes import (
    SCENARIO_TABLE,
    ParticipantKind,
    ReviewOutcome,
    Scenario,
    Stage,
    allowed_stages,
)
from crossborder.domain.payments import PAYMENT_SPECS
from crossborder.errors import MissingRole, NotAnOperator, NotRegulator

from .conftest import (
    FIRM_A,
    ISSUED,
    USD,
    ZERO,
    bind,
    deploy_scenario,
    events,
    fp,
    register,
    reverts,
)
from .test_role_matrix import _AUTHORIZE, _OWNER, CONTRACTS, LACKS, NOT_OPERATOR, _functions

DESK = CONTRACTS / "modules" / "payment_desk.vy"
DOC_TYPE = {spec.contract: spec.doc_type for spec in PAYMENT_SPECS}
# Functions that check no caller, and why.
ANYONE = {
    "draw": "records the hash of a block named earlier: anyone may, so the regulator cannot wait it out",
}


@dataclass(frozen=True)
class PaymentFunction:
    name: str
    stage: Stage | None  # None: the regulator's (or anyone's, see ANYONE)
    regulator: str | None  # the revert for others when the regulator's


@dataclass(frozen=True)
class PaymentContract:
    name: str
    scenario: Scenario
    functions: dict[str, PaymentFunction]


def _desk_stage() -> Stage:
    body = _functions(DESK.read_text())["_bank"][1]
    found = _AUTHORIZE.search(body)
    assert found is not None, "payment_desk._bank authorises no stage; teach the matrix"
    return Stage[found.group(2)]


def _payment_contracts() -> list[PaymentContract]:
    stage = _desk_stage()
    found = []
    for path in sorted(CONTRACTS.glob("*.vy")):
        text = path.read_text()
        init = re.search(r"desk\.__init__\([^)]*codes\.SCENARIO_(\w+)\)", text)
        if init is None:
            continue
        functions = {}
        for name, (decorators, body) in _functions(text).items():
            if "@external" not in decorators or {"@view", "@pure"} & set(decorators.split()):
                continue
            owner = _OWNER.search(body)
            if owner:
                functions[name] = PaymentFunction(name, None, owner.group(1))
            elif "desk._bank()" in body or "desk._pay_invoices(" in body:
                functions[name] = PaymentFunction(name, stage, None)
            else:
                assert name in ANYONE, f"{path.name}: {name} checks no caller; teach the matrix"
                functions[name] = PaymentFunction(name, None, None)
        found.append(PaymentContract(path.stem, Scenario[init.group(1)], functions))
    return found


PAYMENT_CONTRACTS = _payment_contracts()


def _cases(regulator: bool) -> list[Any]:
    return [
        pytest.param(c.name, f.name, id=f"{c.name}-{f.name}")
        for c in PAYMENT_CONTRACTS
        for f in c.functions.values()
        if (f.regulator is not None) == regulator and f.name not in ANYONE
    ]


################################################################
#                           FIXTURE                            #
################################################################


@dataclass
class Deployed:
    spec: PaymentContract
    contract: Any
    ctx: dict[str, Any]


@pytest.fixture(scope="module")
def matrix(project, consortium, ledger, regulator, accounts, bank_a, platform, outsider, chain):
    """Each payment contract with what its functions act on: a registered filing or invoices of
    FIRM_A (qualified), a closed period with its seed drawn and a recorded sample; one bank
    operator (accounts[2]) without stages until a test grants them."""
    tax = fp("matrix-pay-tax")
    consortium.onboard(tax, int(ParticipantKind.TAX), ZERO, sender=regulator)
    bind(consortium, regulator, accounts[4], tax, {Scenario.PLATFORM: Stage.REGISTER})
    consortium.add_operator(accounts[2], bank_a.id, sender=regulator)
    teller = accounts[5]
    bind(
        consortium,
        regulator,
        teller,
        bank_a.id,
        {s.scenario: Stage.VERIFY for s in PAYMENT_CONTRACTS},
    )
    deployed = {}
    for spec in PAYMENT_CONTRACTS:
        contract = deploy_scenario(project, spec.name, consortium, ledger, regulator)
        doc_type = DOC_TYPE[spec.name]
        docs = [fp(f"matrix-{spec.name}-{i}") for i in range(40)]
        register(ledger, accounts[4], [(d, FIRM_A, 1_000, USD) for d in docs], doc_type)
        ctx: dict[str, Any] = {"docs": iter(docs), "doc_type": doc_type}
        if "set_qualified" in spec.functions:
            contract.set_qualified(FIRM_A, True, sender=regulator)
            for _ in range(3):
                contract.pay(FIRM_A, USD, [next(ctx["docs"])], ISSUED, sender=teller)
            contract.close_period(1, sender=regulator)
            chain.mine(contract.SEED_DELAY())
            seed = events(contract.draw(1, sender=regulator), contract.SeedDrawn)[0]["seed"]
            first = min(range(1, 4), key=lambda p: contract.sample_key(seed, p))
            contract.record_sample(1, [first], sender=regulator)
            contract.pay(FIRM_A, USD, [next(ctx["docs"])], ISSUED, sender=teller)
            ctx["sampled"] = first
        deployed[spec.name] = Deployed(spec, contract, ctx)
    for scenario in Scenario:
        consortium.define_roles(scenario, ParticipantKind.BANK, sum(Stage), sender=regulator)
    chain.mine()
    return deployed


# How each function is called, by name (arguments from the fixture's context).
RECIPES = {
    "pay": lambda d, s: (
        d.contract.pay(next(d.ctx["docs"]), FIRM_A, USD, 10, ISSUED, sender=s)
        if d.spec.scenario == Scenario.TAX_PAYMENT
        else d.contract.pay(FIRM_A, USD, [next(d.ctx["docs"])], ISSUED, sender=s)
    ),
    "set_qualified": lambda d, s: d.contract.set_qualified(fp("matrix-firm"), True, sender=s),
    "close_period": lambda d, s: d.contract.close_period(1, sender=s),
    "record_review": lambda d, s: d.contract.record_review(
        d.ctx["sampled"], ReviewOutcome.COMPLIANT, sender=s
    ),
    "record_sample": lambda d, s: d.contract.record_sample(1, [d.ctx["sampled"]], sender=s),
}


def _took_effect(d: Deployed, tx) -> None:
    assert any(log["address"] == d.contract.address for log in tx.logs)


################################################################
#                            TESTS                             #
################################################################


def test_the_matrix_reads_three_payment_contracts():
    assert {c.scenario for c in PAYMENT_CONTRACTS} == {
        Scenario.TAX_PAYMENT,
        Scenario.FREIGHT_PAYMENT,
        Scenario.CAPITAL_PAYMENT,
    }
    assert all(c.functions["pay"].stage == Stage.VERIFY for c in PAYMENT_CONTRACTS)


@pytest.mark.parametrize("contract", [c.name for c in PAYMENT_CONTRACTS])
def test_matrix_covers_every_function_of_the_contract(project, contract):
    spec = next(c for c in PAYMENT_CONTRACTS if c.name == contract)
    mutable = {abi.name for abi in getattr(project, contract).contract_type.mutable_methods}
    assert mutable == set(spec.functions)
    assert set(spec.functions) - set(ANYONE) <= set(RECIPES)


@pytest.mark.parametrize(("contract", "function"), _cases(regulator=False))
def test_only_the_functions_stage_in_its_scenario_may_call_it(
    consortium, regulator, accounts, matrix, outsider, contract, function
):
    """Each stage of the bank's row alone, every other stage together, and the function's stage
    in every other scenario are refused; an outsider is refused; the stage itself passes."""
    d = matrix[contract]
    f = d.spec.functions[function]
    op = accounts[2]
    call = RECIPES[function]
    row = allowed_stages(d.spec.scenario, ParticipantKind.BANK)
    assert f.stage is not None and f.stage in row
    for stages in [*(s for s in Stage if s in row and s != f.stage), row & ~f.stage, 0]:
        consortium.set_roles(op, d.spec.scenario, int(stages), sender=regulator)
        with reverts(LACKS, MissingRole):
            call(d, op)
    consortium.set_roles(op, d.spec.scenario, 0, sender=regulator)
    for scenario in Scenario:
        if scenario != d.spec.scenario:
            consortium.set_roles(op, scenario, int(f.stage), sender=regulator)
    with reverts(LACKS, MissingRole):
        call(d, op)
    with reverts(NOT_OPERATOR, NotAnOperator):
        call(d, outsider)
    consortium.set_roles(op, d.spec.scenario, int(f.stage), sender=regulator)
    _took_effect(d, call(d, op))


@pytest.mark.parametrize(("contract", "function"), _cases(regulator=True))
def test_only_the_regulator(consortium, regulator, accounts, matrix, outsider, contract, function):
    """Refused to a bank operator holding every stage of every payment row, and to an outsider;
    the regulator's call takes effect."""
    d = matrix[contract]
    message = d.spec.functions[function].regulator
    op = accounts[2]
    for (scenario, kind), stages in SCENARIO_TABLE.items():
        if kind == ParticipantKind.BANK:
            consortium.set_roles(op, scenario, int(stages), sender=regulator)
    for caller in (op, outsider):
        with reverts(message, NotRegulator):
            RECIPES[function](d, caller)
    if function == "record_sample":
        # Period 1's sample is recorded in the fixture; the regulator's recording of a real
        # draw is tested in test_payments.py.
        with reverts("capital: the sample is already recorded"):
            RECIPES[function](d, regulator)
        return
    _took_effect(d, RECIPES[function](d, regulator))
