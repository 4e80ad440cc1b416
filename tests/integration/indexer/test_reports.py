"""The seed statistics over an indexed chain, in every financing scenario, against sums from
the contracts' own views, with and without ``--scenario``; a bank statistician's scope; and the
same report from SQLite and from PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crossborder.domain.codes import FinancingState, Reason
from crossborder.domain.money import currency_by_numeric
from crossborder.domain.scenarios import SCENARIO_SPECS, ScenarioSpec
from crossborder.errors import AccessDenied, MissingRole
from crossborder.indexer import Store
from crossborder.indexer import schema as s
from crossborder.reports import REPORTS, Filters, Report, Scope
from crossborder.reports.command import report_cmd
from crossborder.reports.render import to_json
from crossborder.reports.scope import scope_of

from .conftest import PG_ENV, PG_PROBLEM, fresh_store_url, index
from .world import FINANCING_CONTRACTS, LOGISTICS, World, money

APPROVED = (FinancingState.APPROVED, FinancingState.DISBURSED, FinancingState.CLOSED)
SPEC_OF = {spec.contract: spec for spec in SCENARIO_SPECS}
PAYMENT_REPORTS = ("filing-utilisation", "invoice-tags", "post-review")
Totals = dict[tuple[str, str, str], Counter[str]]


def _chain_totals(world: World, contracts: tuple[str, ...] = FINANCING_CONTRACTS) -> Totals:
    """Per legal-person bank, scenario label and currency: sums over the contracts' financing
    views, and what each financing's cited documents still hold (its ``cited`` view, which
    knows nothing of the declarations a cited waybill's link also holds)."""
    heads = {b.id: b.head for b in world.banks}
    totals: Totals = defaultdict(Counter)
    for contract in contracts:
        label = SPEC_OF[contract].label
        (count,) = world.view(contract, "financing_count")
        for fid in range(1, count + 1):
            (record,) = world.view(contract, "financing", fid)
            _, bank, state, currency, requested, disbursed, repaid, *_ = record
            key = (heads["0x" + bytes(bank).hex()], label, currency_by_numeric(currency).code)
            t = totals[key]
            t["financings"] += 1
            t["requested"] += requested
            t["approved"] += requested if state in APPROVED else 0
            t["disbursed"] += disbursed
            t["repaid"] += repaid
            t[f"state{state}"] += 1
            (_, live) = world.view(contract, "cited", fid)
            t["held"] += sum(live)
    return totals


def _reports(store: Store, scope: Scope, filters: Filters | None = None) -> dict[str, Report]:
    with store.engine.connect() as conn:
        return {n: fn(conn, scope, filters or Filters(), str) for n, fn in REPORTS.items()}


def _firm_stats(report: Report) -> Totals:
    stats: Totals = defaultdict(Counter)
    for row in report.rows:
        t = stats[(row["bank"], row["scenario"], row["currency"])]
        t["financings"] += row["financings"]
        for key in ("requested", "approved", "disbursed", "repaid", "held"):
            t[key] += row[key]
        assert row["outstanding"] == row["disbursed"] - row["repaid"]
    return stats


def _check_firm_stats(report: Report, totals: Totals) -> None:
    stats = _firm_stats(report)
    assert set(stats) == {k for k, t in totals.items() if t["financings"]}
    for key, t in totals.items():
        code = key[2]
        assert stats[key]["financings"] == t["financings"], key
        for field in ("requested", "approved", "disbursed", "repaid", "held"):
            assert stats[key][field] == money(t[field], code), (key, field)


def _check_financing_report(report: Report, totals: Totals) -> None:
    states: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in report.rows:
        c = states[(row["bank"], row["scenario"])]
        c["financings"] += row["financings"]
        c["pending"] += row["pending"]
        c["approved"] += row["approved_n"]
        c["rejected"] += row["rejected"]
        c["withdrawn"] += row["withdrawn"]
        c["closed"] += row["closed"]
        c["disbursed"] += row["disbursed_n"]
        if row["disbursed_n"] + row["closed"]:
            # The policy story disburses within seconds: 0.00 hours.
            assert row["hours_to_disburse"] is not None and row["hours_to_disburse"] >= 0
    chain: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for (bank, label, _), t in totals.items():
        chain[(bank, label)].update(t)
    assert set(states) == set(chain)
    for key, c in chain.items():
        assert states[key]["financings"] == c["financings"]
        assert states[key]["pending"] == c["state1"] + c["state2"]
        assert states[key]["approved"] == c["state3"]
        assert states[key]["rejected"] == c["state4"]
        assert states[key]["withdrawn"] == c["state5"]
        assert states[key]["disbursed"] == c["state6"]
        assert states[key]["closed"] == c["state7"]


def _chain_failures(world: World, contracts: tuple[str, ...]) -> Counter[tuple[str, str, int]]:
    on_chain: Counter[tuple[str, str, int]] = Counter()
    for contract in contracts:
        for bank in world.banks:
            for reason in list(Reason)[1:]:
                (n,) = world.view(
                    contract, "verification_failures", bytes.fromhex(bank.id[2:]), int(reason)
                )
                if n:
                    on_chain[(bank.head, SPEC_OF[contract].label, int(reason))] += n
    return on_chain


def _check_failures(report: Report, world: World, contracts: tuple[str, ...]) -> None:
    failures: Counter[tuple[str, str, int]] = Counter()
    for row in report.rows:
        failures[(row["bank"], row["scenario"], row["code"])] += row["failures"]
    assert failures == _chain_failures(world, contracts)


def _check_interceptions(report: Report, world: World, contracts: tuple[str, ...]) -> None:
    expected = [
        f
        for f in world.failures
        if f.reason in (Reason.DUPLICATE, Reason.OVER_FINANCED) and f.contract in contracts
    ]
    rows = report.rows
    assert len(rows) == len(expected)
    assert Counter((r["bank"], r["scenario"]) for r in rows) == Counter(
        (f.bank, SPEC_OF[f.contract].label) for f in expected
    )
    for code in ("USD", "CNY"):
        assert sum((r["amount"] for r in rows if r["currency"] == code), Decimal(0)) == sum(
            (money(f.units, code) for f in expected if f.currency == code), Decimal(0)
        )


def test_reports_match_the_chain_state(world: World, store_kind: str, tmp_path: Path) -> None:
    store = index(world, fresh_store_url(store_kind, tmp_path))
    reports = _reports(store, Scope())
    totals = _chain_totals(world)
    assert {label for _, label, _ in totals} == {spec.label for spec in SCENARIO_SPECS}
    _check_firm_stats(reports["firm-stats"], totals)
    _check_financing_report(reports["financing-report"], totals)
    _check_failures(reports["verification-failures"], world, FINANCING_CONTRACTS)
    on_chain = _chain_failures(world, FINANCING_CONTRACTS)
    # Documents are keyed by (type, fingerprint): a document of the wrong type reads as not
    # found, so reason 2 (wrong type) no longer occurs.
    assert {reason for *_, reason in on_chain} == {1, 3, 4, 5, 6}, "every reason occurs"
    _check_interceptions(reports["interceptions"], world, FINANCING_CONTRACTS)
    kinds = {(r["scenario"], r["document_type"]) for r in reports["interceptions"].rows}
    assert (SPEC_OF[LOGISTICS].label, "铁路运单 rail waybill") in kinds
    store.close()


@pytest.mark.parametrize("spec", SCENARIO_SPECS, ids=lambda spec: spec.name)
def test_each_scenario_filter_matches_its_contract(
    world: World, spec: ScenarioSpec, tmp_path: Path
) -> None:
    """``--scenario NAME``: every report keeps that scenario's rows, whose numbers are that
    contract's own."""
    store = index(world, f"sqlite:///{tmp_path / 'scenario.sqlite'}")
    filters = Filters(scenario=int(spec.scenario))
    reports = _reports(store, Scope(), filters)
    only = (spec.contract,)
    totals = _chain_totals(world, only)
    for name, report in reports.items():
        assert {r["scenario"] for r in report.rows} <= {spec.label}, name
    assert reports["firm-stats"].rows and reports["financing-report"].rows
    _check_firm_stats(reports["firm-stats"], totals)
    _check_financing_report(reports["financing-report"], totals)
    _check_failures(reports["verification-failures"], world, only)
    _check_interceptions(reports["interceptions"], world, only)
    # The command takes the scenario's name and gives the same rows.
    result = CliRunner().invoke(
        report_cmd,
        [
            "firm-stats",
            "--db",
            store.url,
            "--regulator",
            "--scenario",
            spec.name,
            "--format",
            "json",
            "--deployment",
            str(tmp_path / "none.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)["rows"]
    assert [r["scenario"] for r in shown] == [r["scenario"] for r in reports["firm-stats"].rows]
    assert [Decimal(r["requested"]) for r in shown] == [
        r["requested"] for r in reports["firm-stats"].rows
    ]
    store.close()


def test_a_linked_waybill_counts_its_financing_once(world: World, tmp_path: Path) -> None:
    """A logistics financing on a linked waybill holds its amount on the waybill and on the
    declaration: firm-stats counts it once (the ledger's holds would count it twice)."""
    store = index(world, f"sqlite:///{tmp_path / 'once.sqlite'}")
    logistics = world.deployment.contracts[LOGISTICS].lower()
    with store.engine.connect() as conn:
        holds = [dict(r._mapping) for r in conn.execute(s.holds.select())]
    mine = [h for h in holds if h["scenario_address"] == logistics]
    through_links = sum(h["live"] for h in mine if h["via"])
    assert through_links > 0, "a live logistics financing holds through a link"
    filters = Filters(scenario=int(SPEC_OF[LOGISTICS].scenario))
    rows = _reports(store, Scope(), filters)["firm-stats"].rows
    held = sum(money(h["live"], _code(world, h)) for h in mine if not h["via"])
    assert held > 0
    assert sum(r["held"] for r in rows) == held
    assert sum(r["held"] for r in rows) < held + sum(
        money(h["live"], _code(world, h)) for h in mine if h["via"]
    )
    store.close()


def _code(world: World, hold: dict[str, Any]) -> str:
    return next(
        f.currency
        for f in world.financings.values()
        if f.contract == LOGISTICS and f.id == hold["financing_id"]
    )


def test_a_bank_statistician_sees_only_its_bank(world: World, tmp_path: Path) -> None:
    """The statistician holds the stage in the receivables scenario only, and sees its bank's
    financings of every scenario (and its branch's)."""
    store = index(world, f"sqlite:///{tmp_path / 'scope.sqlite'}")
    bank_a, branch, bank_b = world.banks
    with store.engine.connect() as conn:
        assert bank_a.statistician is not None and bank_b.statistician is not None
        scope_a = scope_of(conn, bank_a.statistician.address)
        scope_b = scope_of(conn, bank_b.statistician.address)
        assert scope_a == Scope(bank_a.id) and scope_b == Scope(bank_b.id)
        assert scope_of(conn, world.deployment.regulator, world.deployment.regulator) == Scope()
        with pytest.raises(MissingRole):
            scope_of(conn, branch.opener.address)
        with pytest.raises(AccessDenied):
            scope_of(conn, "0x" + "12" * 20)
        with pytest.raises(AccessDenied):
            scope_of(conn, world.insurer.address)  # an insurer gets no financing statistics
    everything = _reports(store, Scope())
    for name, report in _reports(store, scope_a).items():
        if name in PAYMENT_REPORTS:
            continue  # this world makes no payments: test_payments.py scopes those reports
        rows = report.rows
        assert rows and all(r["bank"] == bank_a.id for r in rows), name
        assert rows == [r for r in everything[name].rows if r["bank"] == bank_a.id]
    mine = _reports(store, scope_a)
    branch_rows = mine["financing-report"].rows
    assert any(r["branch"] == branch.id for r in branch_rows), "a branch's rows count for its bank"
    totals = {k: t for k, t in _chain_totals(world).items() if k[0] == bank_a.id}
    assert {label for _, label, _ in totals} >= {
        SPEC_OF[c].label for c in FINANCING_CONTRACTS if c != "PolicyFinancing"
    }
    _check_firm_stats(mine["firm-stats"], totals)
    store.close()


@pytest.mark.skipif(PG_PROBLEM is not None, reason=f"PostgreSQL half skipped: {PG_PROBLEM}")
def test_sqlite_and_postgresql_give_identical_reports(world: World, tmp_path: Path) -> None:
    import os

    sqlite = index(world, f"sqlite:///{tmp_path / 'r.sqlite'}")
    postgres = index(world, fresh_store_url("postgresql", tmp_path))
    assert os.environ[PG_ENV]
    for filters in (
        Filters(),
        Filters(period="day", currency=840),
        Filters(scenario=int(SPEC_OF[LOGISTICS].scenario)),
    ):
        for scope in (Scope(), Scope(world.banks[0].id)):
            a, b = _reports(sqlite, scope, filters), _reports(postgres, scope, filters)
            for name in REPORTS:
                assert to_json(a[name]) == to_json(b[name]), name
    sqlite.close()
    postgres.close()
