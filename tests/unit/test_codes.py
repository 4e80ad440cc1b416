"""The Python code tables equal the contracts' (one source of truth, two tables, one proof).

Reason codes and MAX_CITED are read from the deployed ledger's public getters; every other table
(kinds, stages, scenarios, document types, states, reasons, force-release and skip reasons) is
read from `contracts/modules/codes.vy` itself. The consent's EIP-712 type and domain are read from
the deployed consortium.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from eth_utils import keccak

from crossborder.domain import codes, consent
from crossborder.domain.codes import (
    FINANCING_STAGES,
    MAX_CITED,
    MAX_TAGGED,
    SCENARIO_TABLE,
    STAGE_LABELS,
    CreditPurpose,
    CreditScope,
    CreditState,
    DeclineReason,
    DocumentType,
    FinancingState,
    ForceReason,
    ParticipantKind,
    QueryOutcome,
    Reason,
    ReviewOutcome,
    Scenario,
    SkipReason,
    Stage,
    allowed_stages,
)
from crossborder.domain.scenarios import POLICY, SCENARIO_SPECS
from crossborder.services import policy

CODES_VY = Path(__file__).parents[2] / "contracts" / "modules" / "codes.vy"


# Named apart from the session fixtures of tests/unit/contracts: ape's isolation tracks
# fixtures by name, and two scopes under one name break its snapshots.
@pytest.fixture(scope="module")
def deployed_consortium(project, accounts):
    return project.Consortium.deploy(sender=accounts[0])


@pytest.fixture(scope="module")
def deployed_ledger(project, accounts, deployed_consortium):
    return project.DocumentLedger.deploy(deployed_consortium, sender=accounts[0])


def _getters(contract, prefix: str) -> dict[str, int]:
    """Every public `PREFIX_*` getter of a deployed contract, called, by name without prefix."""
    names = [abi.name for abi in contract.contract_type.view_methods if abi.name.startswith(prefix)]
    return {name.removeprefix(prefix): getattr(contract, name)() for name in names}


def test_reasons_equal_the_ledger_constants(deployed_ledger):
    on_chain = _getters(deployed_ledger, "REASON_")
    # OK (0) has no getter: a passing verification is not a reason.
    assert on_chain == {r.name: int(r) for r in Reason if r != Reason.OK}
    assert Reason.OK == 0


def test_max_cited_equals_the_ledger_constant(deployed_ledger):
    assert deployed_ledger.MAX_CITED() == MAX_CITED


def test_roles_are_data_not_getters(deployed_consortium):
    """Roles are stage flags per scenario (`roles_of(account, scenario)`); the consortium has no
    role constants any more, and the scenario table starts empty until the deploy writes it."""
    assert _getters(deployed_consortium, "ROLE_") == {}
    for scenario in Scenario:
        for kind in ParticipantKind:
            assert deployed_consortium.stages_allowed(scenario, kind) == 0


def test_every_stage_has_a_label():
    assert set(STAGE_LABELS) == set(Stage)
    assert all(label.strip() for label in STAGE_LABELS.values())
    assert len(set(STAGE_LABELS.values())) == len(STAGE_LABELS)


def test_stages_are_single_distinct_bits():
    values = [int(stage) for stage in Stage]
    assert all(v and v & (v - 1) == 0 for v in values)
    assert len(set(values)) == len(values)


def test_scenario_table_rows_are_well_formed():
    for (scenario, kind), stages in SCENARIO_TABLE.items():
        assert isinstance(scenario, Scenario) and isinstance(kind, ParticipantKind)
        assert isinstance(stages, Stage) and stages != Stage(0)
        assert allowed_stages(scenario, kind) == stages
    # Document registration is the platform's; financing stages belong to banks.
    assert all(kind != ParticipantKind.BANK for (scenario, kind) in SCENARIO_TABLE if scenario == 0)
    assert allowed_stages(Scenario.RECEIVABLES, ParticipantKind.ENTERPRISE) == Stage(0)
    # In a scenario, other kinds than banks (the insurer in policies) hold no financing stage.
    for (scenario, kind), stages in SCENARIO_TABLE.items():
        if scenario != Scenario.PLATFORM and kind != ParticipantKind.BANK:
            assert not stages & FINANCING_STAGES, (scenario, kind)
    assert allowed_stages(Scenario.POLICY, ParticipantKind.INSURER) == Stage.REGISTER


@pytest.fixture(scope="module")
def deployed_scenarios(project, accounts, deployed_consortium, deployed_ledger):
    """Each `ScenarioSpec`'s contract, deployed on the module's consortium and ledger."""
    return {
        spec.name: getattr(project, spec.contract).deploy(
            deployed_consortium, deployed_ledger, sender=accounts[0]
        )
        for spec in SCENARIO_SPECS
    }


def test_scenario_specs_equal_the_contracts(deployed_scenarios):
    """Each spec names a contract of its scenario id; its `apply` takes the document type after
    the currency exactly when the spec cites more than one kind; the table has a bank row for
    its scenario with every financing stage."""
    assert len({spec.name for spec in SCENARIO_SPECS}) == len(SCENARIO_SPECS)
    assert len({spec.scenario for spec in SCENARIO_SPECS}) == len(SCENARIO_SPECS)
    for spec in SCENARIO_SPECS:
        contract = deployed_scenarios[spec.name]
        assert contract.SCENARIO() == spec.scenario, spec.name
        inputs = [i.type for i in contract.apply.abis[0].inputs]
        takes_type = inputs[:3] == ["bytes32", "uint16", "uint8"]
        assert takes_type == bool(spec.also_cites), spec.name
        assert len(set(spec.cites)) == len(spec.cites)
        assert allowed_stages(spec.scenario, ParticipantKind.BANK) == FINANCING_STAGES


def test_assignment_type_and_domain_equal_the_policy_contract(deployed_scenarios):
    """The SDK's claim-rights assignment (赔款权益转让) type and domain are the contract's."""
    contract = deployed_scenarios[POLICY.name]
    fields = ",".join(f"{f['type']} {f['name']}" for f in policy.ASSIGNMENT_FIELDS)
    assert contract.ASSIGNMENT_TYPEHASH() == keccak(text=f"ClaimAssignment({fields})")
    domain = contract.eip712Domain()
    assert (domain[1], domain[2]) == (policy.ASSIGNMENT_DOMAIN, consent.DOMAIN_VERSION)
    assert domain[4] == contract.address


def test_claim_statuses_and_ratio_scale_equal_the_policy_contract(deployed_scenarios):
    contract = deployed_scenarios[POLICY.name]
    on_chain = {
        contract.CLAIM_FILED(): "filed",
        contract.CLAIM_PAID(): "paid",
        contract.CLAIM_DECLINED(): "declined",
    }
    assert {k: v.split()[0] for k, v in policy.CLAIM_STATUS.items()} == on_chain
    assert contract.RATIO_SCALE() == 10_000  # basis points, as `set_advance_ratio` converts


def test_consent_type_and_domain_equal_the_consortium(deployed_consortium):
    fields = ",".join(f"{f['type']} {f['name']}" for f in consent.CONSENT_FIELDS)
    type_string = f"ServiceConsent({fields})"
    assert deployed_consortium.CONSENT_TYPEHASH() == keccak(text=type_string)
    domain = deployed_consortium.eip712Domain()
    assert (domain[1], domain[2]) == (consent.DOMAIN_NAME, consent.DOMAIN_VERSION)
    assert domain[4] == deployed_consortium.address


################################################################
#              TABLES THE CONTRACTS DO NOT EXPOSE              #
################################################################

_CONSTANT = re.compile(
    r"^([A-Z][A-Z0-9_]*): constant\([a-z0-9]+\) = (.+?)(?=^[A-Za-z#@]|\Z)", re.M | re.S
)


def _evaluate(node: ast.AST, known: dict[str, int]) -> int:
    """Integer literals, names defined above, `|` and `<<`: all codes.vy uses."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Name):
        return known[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.LShift):
        left, right = _evaluate(node.left, known), _evaluate(node.right, known)
        return left | right if isinstance(node.op, ast.BitOr) else left << right
    raise AssertionError(f"codes.vy uses an expression this test cannot read: {ast.dump(node)}")


def read_codes_vy(text: str) -> dict[str, int]:
    known: dict[str, int] = {}
    for name, expression in _CONSTANT.findall(text):
        expression = re.sub(r"#[^\n]*", "", expression)  # comments
        known[name] = _evaluate(ast.parse(expression.strip(), mode="eval").body, known)
    return known


def test_reader_reads_multiline_and_derived_constants():
    text = (
        "A: constant(uint8) = 1\n"
        "B: constant(uint256) = 1 << 4  # note\n"
        "\n# Group.\n"
        "C: constant(uint256) = (\n    A | B  # both\n    | 1 << 8\n)\n"
    )
    assert read_codes_vy(text) == {"A": 1, "B": 16, "C": 273}


@pytest.fixture(scope="module")
def vy() -> dict[str, int]:
    text = CODES_VY.read_text()
    table = read_codes_vy(text)
    assert len(table) == text.count(": constant(")  # nothing skipped
    return table


TABLES = [
    ("KIND_", ParticipantKind),
    ("STAGE_", Stage),
    ("SCENARIO_", Scenario),
    ("DOC_", DocumentType),
    ("STATE_", FinancingState),
    ("REASON_", Reason),
    ("FORCE_", ForceReason),
    ("SKIP_", SkipReason),
    ("REVIEW_", ReviewOutcome),
    ("SCOPE_", CreditScope),
    ("QUERY_", QueryOutcome),
    ("CREDIT_", CreditState),
    ("PURPOSE_", CreditPurpose),
    ("DECLINE_", DeclineReason),
]


@pytest.mark.parametrize(("prefix", "enum"), TABLES, ids=[t[1].__name__ for t in TABLES])
def test_enum_equals_codes_vy(vy, prefix, enum):
    table = {k.removeprefix(prefix): v for k, v in vy.items() if k.startswith(prefix)}
    table.pop("MAX", None)
    assert table == {member.name: int(member) for member in enum}
    if f"{prefix}MAX" in vy:
        assert vy[f"{prefix}MAX"] == max(int(member) for member in enum)


def test_force_and_skip_reasons_are_named_for_what_they_say(vy):
    """Spelled out once more, so that a renumbering of either table fails here by name."""
    assert (vy["FORCE_SCENARIO_STOPPED"], vy["FORCE_BANK_DEACTIVATED"]) == (
        ForceReason.SCENARIO_STOPPED,
        ForceReason.BANK_DEACTIVATED,
    )
    assert vy["SKIP_ALREADY_REGISTERED"] == SkipReason.ALREADY_REGISTERED == 1


def test_max_cited_equals_codes_vy(vy):
    assert vy["MAX_CITED"] == MAX_CITED


def test_max_tagged_equals_codes_vy_and_the_ledger(vy, deployed_ledger):
    assert vy["MAX_TAGGED"] == MAX_TAGGED == deployed_ledger.MAX_TAGGED()


def test_every_codes_vy_constant_is_checked(vy):
    """A new group of constants in codes.vy must be mirrored in Python and added to TABLES."""
    prefixes = tuple(prefix for prefix, _ in TABLES)
    assert {name for name in vy if not name.startswith(prefixes)} == {"MAX_CITED", "MAX_TAGGED"}


def test_every_python_table_is_checked():
    """A new table in crossborder.domain.codes must be added to the checks above."""
    checked = {enum for _, enum in TABLES}
    tables = {
        value
        for value in vars(codes).values()
        if isinstance(value, type) and value.__module__ == codes.__name__
    }
    unchecked = {t.__name__ for t in tables - checked}
    assert unchecked <= {"DocumentStatus"}  # ledger view only: pinned by test_document_ledger
