"""The Python code tables equal the contracts' (one source of truth, two tables, one proof).

Roles, reason codes and MAX_CITED are read from the deployed contracts' public getters; the
tables the contracts do not expose (kinds, scenarios, document types, states, the role groups)
are read from `contracts/modules/codes.vy` itself.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from crossborder.domain import codes
from crossborder.domain.codes import (
    BANK_ROLES,
    DATA_PROVIDER_ROLES,
    MAX_CITED,
    ROLE_LABELS,
    DocumentType,
    FinancingState,
    ParticipantKind,
    Reason,
    Role,
    Scenario,
)

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


def test_roles_equal_the_consortium_constants(deployed_consortium):
    on_chain = _getters(deployed_consortium, "ROLE_")
    assert on_chain == {role.name: int(role) for role in Role}


def test_reasons_equal_the_ledger_constants(deployed_ledger):
    on_chain = _getters(deployed_ledger, "REASON_")
    # OK (0) has no getter: a passing verification is not a reason.
    assert on_chain == {r.name: int(r) for r in Reason if r != Reason.OK}
    assert Reason.OK == 0


def test_max_cited_equals_the_ledger_constant(deployed_ledger):
    assert deployed_ledger.MAX_CITED() == MAX_CITED


def test_every_role_has_a_label():
    assert set(ROLE_LABELS) == set(Role)
    assert all(label.strip() for label in ROLE_LABELS.values())
    assert len(set(ROLE_LABELS.values())) == len(ROLE_LABELS)


def test_roles_are_single_distinct_bits():
    values = [int(role) for role in Role]
    assert all(v and v & (v - 1) == 0 for v in values)
    assert len(set(values)) == len(values)


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


@pytest.mark.parametrize(
    ("prefix", "enum"),
    [
        ("KIND_", ParticipantKind),
        ("ROLE_", Role),
        ("SCENARIO_", Scenario),
        ("DOC_", DocumentType),
        ("STATE_", FinancingState),
        ("REASON_", Reason),
    ],
)
def test_enum_equals_codes_vy(vy, prefix, enum):
    table = {k.removeprefix(prefix): v for k, v in vy.items() if k.startswith(prefix)}
    table.pop("MAX", None)
    assert table == {member.name: int(member) for member in enum}
    if f"{prefix}MAX" in vy:
        assert vy[f"{prefix}MAX"] == max(enum)


def test_role_groups_and_max_cited_equal_codes_vy(vy):
    assert vy["BANK_ROLES"] == BANK_ROLES
    assert vy["DATA_PROVIDER_ROLES"] == DATA_PROVIDER_ROLES
    assert vy["MAX_CITED"] == MAX_CITED


def test_every_python_table_is_checked():
    """A new table in crossborder.domain.codes must be added to the checks above."""
    checked = {ParticipantKind, Role, Scenario, DocumentType, FinancingState, Reason}
    tables = {
        value
        for value in vars(codes).values()
        if isinstance(value, type) and value.__module__ == codes.__name__
    }
    unchecked = {t.__name__ for t in tables - checked}
    assert unchecked <= {"DocumentStatus"}  # ledger view only: pinned by test_document_ledger
