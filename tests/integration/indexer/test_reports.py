"""The seed statistics over an indexed chain, against sums from the contracts' own views, and
the same report from SQLite and from PostgreSQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from crossborder.domain.codes import FinancingState, Reason
from crossborder.domain.money import currency_by_numeric
from crossborder.errors import AccessDenied, MissingRole
from crossborder.indexer import Store
from crossborder.reports import REPORTS, Filters, Scope
from crossborder.reports.render import to_json
from crossborder.reports.scope import scope_of

from .conftest import PG_ENV, PG_PROBLEM, fresh_store_url, index
from .world import World, money

APPROVED = (FinancingState.APPROVED, FinancingState.DISBURSED, FinancingState.CLOSED)


def _chain_totals(world: World) -> dict[tuple[str, str], Counter[str]]:
    """Per legal-person bank and currency, sums over the contract's financing views."""
    heads = {b.id: b.head for b in world.banks}
    totals: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    (count,) = world.view("ReceivablesFinancing", "financing_count")
    for fid in range(1, count + 1):
        (record,) = world.view("ReceivablesFinancing", "financing", fid)
        _, bank, state, currency, requested, disbursed, repaid, *_ = record
        key = (heads["0x" + bytes(bank).hex()], currency_by_numeric(currency).code)
        t = totals[key]
        t["financings"] += 1
        t["requested"] += requested
        t["approved"] += requested if state in APPROVED else 0
        t["disbursed"] += disbursed
        t["repaid"] += repaid
        t[f"state{state}"] += 1
        # What the financing still holds on its documents, from the ledger's hold records.
        (_, live) = world.view("ReceivablesFinancing", "cited", fid)
        t["held"] += sum(live)
    return totals


def _reports(store: Store, scope: Scope, filters: Filters | None = None) -> dict[str, object]:
    with store.engine.connect() as conn:
        return {n: fn(conn, scope, filters or Filters(), str) for n, fn in REPORTS.items()}


def test_reports_match_the_chain_state(world: World, store_kind: str, tmp_path: Path) -> None:
    store = index(world, fresh_store_url(store_kind, tmp_path))
    reports = _reports(store, Scope())
    totals = _chain_totals(world)

    stats: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in reports["firm-stats"].rows:  # type: ignore[attr-defined]
        t = stats[(row["bank"], row["currency"])]
        t["financings"] += row["financings"]
        for key in ("requested", "approved", "disbursed", "repaid", "held"):
            t[key] += row[key]
        assert row["outstanding"] == row["disbursed"] - row["repaid"]
    assert set(stats) == set(totals)
    for key, t in totals.items():
        code = key[1]
        assert stats[key]["financings"] == t["financings"]
        for field in ("requested", "approved", "disbursed", "repaid", "held"):
            assert stats[key][field] == money(t[field], code), (key, field)

    states: dict[str, Counter[str]] = defaultdict(Counter)
    for row in reports["financing-report"].rows:  # type: ignore[attr-defined]
        c = states[row["bank"]]
        c["pending"] += row["pending"]
        c["rejected"] += row["rejected"]
        c["closed"] += row["closed"]
        c["disbursed"] += row["disbursed_n"]
        if row["disbursed_n"] + row["closed"]:
            assert row["hours_to_disburse"] > 0
    for bank in {k[0] for k in totals}:
        chain = Counter()
        for (b, _), t in totals.items():
            if b == bank:
                chain.update(t)
        assert states[bank]["pending"] == chain["state1"] + chain["state2"]
        assert states[bank]["rejected"] == chain["state4"]
        assert states[bank]["disbursed"] == chain["state6"]
        assert states[bank]["closed"] == chain["state7"]

    failures: Counter[tuple[str, int]] = Counter()
    for row in reports["verification-failures"].rows:  # type: ignore[attr-defined]
        failures[(row["bank"], row["code"])] += row["failures"]
    on_chain: Counter[tuple[str, int]] = Counter()
    for bank in world.banks:
        for reason in list(Reason)[1:]:
            (n,) = world.view(
                "ReceivablesFinancing",
                "verification_failures",
                bytes.fromhex(bank.id[2:]),
                int(reason),
            )
            if n:
                on_chain[(bank.head, int(reason))] += n
    assert failures == on_chain
    # Documents are keyed by (type, fingerprint): a document of the wrong type reads as not
    # found, so reason 2 (wrong type) no longer occurs.
    assert {reason for _, reason in on_chain} == {1, 3, 4, 5, 6}, "every reason occurs"

    intercepted = reports["interceptions"].rows  # type: ignore[attr-defined]
    expected = [f for f in world.failures if f[1] in (Reason.DUPLICATE, Reason.OVER_FINANCED)]
    assert len(intercepted) == len(expected)
    assert Counter(r["bank"] for r in intercepted) == Counter(f[0] for f in expected)
    assert sum(r["amount"] for r in intercepted if r["currency"] == "USD") == sum(
        (money(row_units, "USD") for row_units in _usd_units(world, expected)), Decimal(0)
    )
    store.close()


def _usd_units(world: World, failures: list[tuple[str, int, int]]) -> list[int]:
    # The world records the failing amount; the currency is the cited declaration's.
    return [units for units, code in _with_currency(world, failures) if code == "USD"]


def _with_currency(world: World, failures: list[tuple[str, int, int]]) -> list[tuple[int, str]]:
    codes = dict(zip(map(id, world.failures), world.failure_currencies, strict=True))
    return [(f[2], codes[id(f)]) for f in failures]


def test_a_bank_statistician_sees_only_its_bank(world: World, tmp_path: Path) -> None:
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
    everything = _reports(store, Scope())
    for name, report in _reports(store, scope_a).items():
        rows = report.rows  # type: ignore[attr-defined]
        assert rows and all(r["bank"] == bank_a.id for r in rows), name
        all_rows = everything[name].rows  # type: ignore[attr-defined]
        assert rows == [r for r in all_rows if r["bank"] == bank_a.id]
    branch_rows = _reports(store, scope_a)["financing-report"].rows  # type: ignore[attr-defined]
    assert any(r["branch"] == branch.id for r in branch_rows), "a branch's rows count for its bank"
    store.close()


@pytest.mark.skipif(PG_PROBLEM is not None, reason=f"PostgreSQL half skipped: {PG_PROBLEM}")
def test_sqlite_and_postgresql_give_identical_reports(world: World, tmp_path: Path) -> None:
    import os

    sqlite = index(world, f"sqlite:///{tmp_path / 'r.sqlite'}")
    postgres = index(world, fresh_store_url("postgresql", tmp_path))
    assert os.environ[PG_ENV]
    for filters in (Filters(), Filters(period="day", currency=840)):
        for scope in (Scope(), Scope(world.banks[0].id)):
            a, b = _reports(sqlite, scope, filters), _reports(postgres, scope, filters)
            for name in REPORTS:
                assert to_json(a[name]) == to_json(b[name]), name  # type: ignore[arg-type]
    sqlite.close()
    postgres.close()
