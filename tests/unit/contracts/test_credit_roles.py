"""Stage x function matrix of the credit contracts, generated from their sources and the scenario
table: each bank function needs the one `codes.STAGE_*` its body (or an internal function it
calls) asks the consortium for, in the contract's own scenario; every other stage of the bank's
row in that scenario, and the stage granted in another scenario, is refused. `request_credit`
is the firm's own (no stage; tested in test_credit_matching)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from crossborder.domain.codes import (
    CreditScope,
    ParticipantKind,
    Scenario,
    Stage,
    allowed_stages,
)
from crossborder.errors import MissingRole

from .conftest import FIRM_A, USD, bind, only_event, open_service, reverts
from .credit import MATCH, QRY, REGION, credit_desks

CONTRACTS = Path(__file__).parents[3] / "contracts"
FIRMS_OWN = {"request_credit"}
_FUNCTION = re.compile(r"^((?:@\w+\n)*)def (\w+)\((.*?)(?=^@|^def |\Z)", re.M | re.S)


def _read(name: str) -> tuple[Scenario, dict[str, Stage]]:
    """The contract's scenario and, per mutable external function, the stage it needs."""
    text = (CONTRACTS / f"{name}.vy").read_text()
    scenario = Scenario[
        re.search(r"SCENARIO: public\(constant\(uint8\)\) = codes\.SCENARIO_(\w+)", text).group(1)
    ]
    functions = {m.group(2): (m.group(1), m.group(3)) for m in _FUNCTION.finditer(text)}

    def stage_of(fn: str, seen: frozenset[str] = frozenset()) -> Stage | None:
        body = functions[fn][1]
        found = re.search(r"codes\.STAGE_(\w+)", body)
        if found:
            return Stage[found.group(1)]
        for callee in re.findall(r"\bself\.(_\w+)\(", body):
            if callee in functions and callee not in seen:
                stage = stage_of(callee, seen | {callee})
                if stage is not None:
                    return stage
        return None

    needs = {}
    for fn, (decorators, _) in functions.items():
        if "@external" not in decorators or {"@view", "@pure"} & set(decorators.split()):
            continue
        if fn in FIRMS_OWN:
            continue
        stage = stage_of(fn)
        assert stage is not None, f"{name}.{fn} checks no stage; teach the matrix"
        needs[fn] = stage
    return scenario, needs


CREDIT = {name: _read(name) for name in ("CreditQuery", "CreditMatching")}
CASES = [
    pytest.param(contract, fn, stage, id=f"{contract}-{fn}-{stage.name}")
    for contract, (scenario, needs) in CREDIT.items()
    for fn in sorted(needs)
    for stage in allowed_stages(scenario, ParticipantKind.BANK)
]


@pytest.fixture(scope="module")
def credit_setup(project, consortium, regulator, accounts, bank_a, bank_b, firm_accounts):
    desk_a, _ = credit_desks(consortium, regulator, accounts, bank_a, bank_b)
    signer = firm_accounts[FIRM_A]
    open_service(consortium, desk_a.opener, signer, FIRM_A, desk_a.id, MATCH)
    open_service(consortium, desk_a.opener, signer, FIRM_A, desk_a.id, QRY)
    cq = project.CreditQuery.deploy(consortium, sender=regulator)
    cm = project.CreditMatching.deploy(consortium, sender=regulator)
    outlet = only_event(cm.add_outlet("o", REGION, "c", sender=desk_a.keeper), cm.OutletUpdated)
    outlet_id = outlet["outlet_id"]
    rids = []
    for _ in range(3):
        tx = cm.request_credit(desk_a.id, 100, USD, 1, outlet_id, 0, sender=signer)
        rids.append(only_event(tx, cm.CreditRequested)["request_id"])
    cm.match_request(rids[1], outlet_id, sender=desk_a.matcher)
    cm.match_request(rids[2], outlet_id, sender=desk_a.matcher)
    cm.accept(rids[2], sender=desk_a.acceptor)
    op = accounts[29]
    bind(consortium, regulator, op, bank_a.id)
    calls = {
        "record_query": lambda s: cq.record_query(FIRM_A, int(CreditScope.ALL), sender=s),
        "add_outlet": lambda s: cm.add_outlet("n", REGION, "c", sender=s),
        "update_outlet": lambda s: cm.update_outlet(outlet_id, "n", REGION, "c", sender=s),
        "close_outlet": lambda s: cm.close_outlet(outlet_id, sender=s),
        "match_request": lambda s: cm.match_request(rids[0], outlet_id, sender=s),
        "accept": lambda s: cm.accept(rids[1], sender=s),
        "grant": lambda s: cm.grant(rids[2], 1, 1, sender=s),
        "decline": lambda s: cm.decline(rids[0], 1, sender=s),
    }
    return {"op": op, "calls": calls, "contracts": {"CreditQuery": cq, "CreditMatching": cm}}


def _call(credit_setup: dict[str, Any], fn: str, sender):
    return credit_setup["calls"][fn](sender)


@pytest.mark.parametrize(("contract", "fn", "stage"), CASES)
def test_only_the_functions_stage_may_call_it(
    consortium, regulator, credit_setup, contract, fn, stage
):
    scenario, needs = CREDIT[contract]
    consortium.set_roles(credit_setup["op"], scenario, stage, sender=regulator)
    if stage == needs[fn]:
        tx = _call(credit_setup, fn, credit_setup["op"])
        assert any(log["address"] == credit_setup["contracts"][contract].address for log in tx.logs)
    else:
        with reverts("consortium: account lacks the role", MissingRole):
            _call(credit_setup, fn, credit_setup["op"])


@pytest.mark.parametrize(
    ("contract", "fn", "stage"), [c for c in CASES if c.values[2] == Stage.SERVICE]
)
def test_the_stage_in_another_scenario_does_not_count(
    consortium, regulator, credit_setup, contract, fn, stage
):
    scenario, needs = CREDIT[contract]
    for other in Scenario:
        if other != scenario:
            consortium.set_roles(
                credit_setup["op"],
                other,
                allowed_stages(other, ParticipantKind.BANK) & needs[fn] or 0,
                sender=regulator,
            )
    with reverts("consortium: account lacks the role", MissingRole):
        _call(credit_setup, fn, credit_setup["op"])
    consortium.set_roles(credit_setup["op"], scenario, needs[fn], sender=regulator)
    _call(credit_setup, fn, credit_setup["op"])


@pytest.mark.parametrize(
    ("contract", "fn", "stage"), [c for c in CASES if c.values[2] == Stage.SERVICE]
)
def test_non_operator_and_regulator_are_refused(
    regulator, outsider, credit_setup, contract, fn, stage
):
    for account in (outsider, regulator):
        with reverts("consortium: account is not an operator"):
            _call(credit_setup, fn, account)


def test_matrix_covers_every_function(project, credit_setup):
    for contract, (_, needs) in CREDIT.items():
        mutable = {abi.name for abi in getattr(project, contract).contract_type.mutable_methods}
        assert mutable == set(needs) | (FIRMS_OWN & mutable), contract
    assert set(credit_setup["calls"]) == {fn for _, needs in CREDIT.values() for fn in needs}


def test_matrix_as_read():
    """A canary for the reader: the stages the sources ask for."""
    assert CREDIT["CreditQuery"] == (Scenario.CREDIT_QUERY, {"record_query": Stage.QUERY})
    assert CREDIT["CreditMatching"][1] == {
        "add_outlet": Stage.OUTLETS,
        "update_outlet": Stage.OUTLETS,
        "close_outlet": Stage.OUTLETS,
        "match_request": Stage.MATCH,
        "accept": Stage.ACCEPT,
        "grant": Stage.ACCEPT,
        "decline": Stage.ACCEPT,
    }
    # Every stage of the banks' rows is needed by some function, or opens the service.
    for contract, (scenario, needs) in CREDIT.items():
        assert allowed_stages(scenario, ParticipantKind.BANK) == Stage.SERVICE | Stage(
            sum(set(needs.values()))
        ), contract
