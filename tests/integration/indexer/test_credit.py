"""Credit in the index, against the chain: the demo story plus credit traffic on a real node,
indexed into SQLite and PostgreSQL; the audit report equals the CreditQueried logs, the funnel
equals sums computed from the contract's own request records, and the profile equals the firm's
financings read from the scenario contracts and the ledger."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from crossborder import errors
from crossborder.chain.abi import load_manifest
from crossborder.credit.profile import profile, query_profile
from crossborder.credit.regulatory import RegulatoryDesk
from crossborder.demo import BANKS, FIRMS, onboard, run_story
from crossborder.domain.codes import (
    CreditPurpose,
    CreditScope,
    CreditState,
    DeclineReason,
    DocumentType,
    QueryOutcome,
    Scenario,
)
from crossborder.domain.money import Money
from crossborder.domain.scenarios import SCENARIO_SPECS
from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes
from crossborder.indexer.store import make_engine
from crossborder.reports.credit import (
    MATCH_DEADLINE_DAYS,
    OUTCOME_LABELS,
    credit_funnel,
    credit_queries,
    scope_label,
)
from crossborder.reports.model import Filters, Scope, amount
from crossborder.services import credit_query
from crossborder.services.consortium import open_services, sign_consent
from crossborder.services.credit_matching import (
    CreditMatchingDesk,
    Outlet,
    request_credit,
    request_status,
)
from crossborder.services.credit_query import CreditQueryDesk

from .conftest import fresh_store_url

pytestmark = pytest.mark.integration

FIRM_1, FIRM_2, FIRM_3 = FIRMS.values()
HOUR = 3600
EXPORT = int(DocumentType.EXPORT_DECLARATION)


def _advance(platform, seconds: int) -> None:
    platform.rpc.request("evm_increaseTime", [seconds])
    platform.rpc.request("evm_mine", [])


@pytest.fixture(scope="module")
def credit_world(platform, signers):
    """The demo story, then requests at both banks in two regions and currencies, matched after
    hours, some accepted, granted or declined, one left overdue; queries of every outcome."""
    run_story(platform, signers, progress=lambda _: None)
    demo = onboard(platform, signers)
    bank_a, bank_b = demo.banks["Bank A"], demo.banks["Bank B"]
    desks = {n: CreditMatchingDesk(platform, officer) for n, officer in demo.credit.items()}
    outlets = {
        "Bank A": desks["Bank A"].add_outlet(Outlet("福州分行", 350100, "0591-1")),
        "Bank B": desks["Bank B"].add_outlet(Outlet("济南分行", 370100, "0531-1")),
    }
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    for firm in (FIRM_2, FIRM_3):
        for bank in (bank_a, bank_b):
            consent = sign_consent(
                platform, demo.firms[firm], firm, bank.uscc, Scenario.CREDIT_MATCH, until
            )
            open_services(platform, bank.opener, [consent])
    plan = [  # firm, bank, amount, region, steps
        (FIRM_2, "Bank A", Money("1000", "USD"), 350100, ["match", "accept", "grant"]),
        (FIRM_3, "Bank A", Money("2000.50", "USD"), 350100, ["match", "decline"]),
        (FIRM_2, "Bank A", Money("3000", "EUR"), 350100, ["match", "accept"]),
        (FIRM_3, "Bank B", Money("4000", "USD"), 370100, ["match", "accept", "grant"]),
        (FIRM_2, "Bank B", Money("5000", "USD"), 370100, []),  # never matched: overdue
    ]
    for firm, bank, asked, region, steps in plan:
        rid = request_credit(
            platform,
            demo.firms[firm],
            demo.banks[bank].uscc,
            asked,
            CreditPurpose.TRADE_FINANCE,
            region=region,
        )
        for i, step in enumerate(steps):
            _advance(platform, (i + 2) * HOUR)
            desk = desks[bank]
            if step == "match":
                desk.match(rid, outlets[bank])
            elif step == "accept":
                desk.accept(rid)
            elif step == "grant":
                desk.grant(rid, Money(asked.amount / 2, asked.currency), 90)
            else:
                desk.decline(rid, DeclineReason.CREDIT_RISK)
    _advance(platform, (MATCH_DEADLINE_DAYS + 1) * 86_400)
    # Queries of every outcome: authorised (the story's), refused for scope, expired, missing.
    officer_a = CreditQueryDesk(platform, demo.credit["Bank A"])
    soon = dt.datetime.fromtimestamp(_chain_time(platform) + 600, dt.UTC)
    signed = credit_query.authorise(
        platform, demo.firms[FIRM_3], FIRM_3, bank_b.uscc, soon, CreditScope.ALL
    )
    open_services(platform, bank_b.opener, [signed])
    CreditQueryDesk(platform, demo.credit["Bank B"]).record(FIRM_3, CreditScope.ALL)
    _advance(platform, 3600)
    for desk, firm, scope in (
        (CreditQueryDesk(platform, demo.credit["Bank B"]), FIRM_3, CreditScope.BASIC),
        (officer_a, FIRM_1, CreditScope.REGULATORY),
        (officer_a, FIRM_2, CreditScope.TRADE),
    ):
        with pytest.raises(errors.QueryRefused):
            desk.record(firm, scope)
    officer_a.record(FIRM_1, CreditScope.TRADE)  # the last transaction: an event
    return demo


def hours(total: int, n: int) -> Decimal | None:
    return None if not n else (Decimal(total) / n / 3600).quantize(Decimal("0.01"))


def _chain_time(platform) -> int:
    return int(platform.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


@pytest.fixture(params=["sqlite", "postgresql"])
def indexed(request, platform, credit_world, tmp_path: Path):
    url = fresh_store_url(request.param, tmp_path)
    abis = load_manifest()
    store = Store(url, scenario_codes(platform.rpc, platform.deployment, abis))
    Indexer(platform.rpc, platform.deployment, abis, store, IndexerConfig()).run()
    store.close()
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _hex(platform, uscc: str) -> str:
    return "0x" + platform.ids.participant(uscc).hex()


def test_audit_report_equals_the_chains_query_records(platform, credit_world, indexed):
    logs = platform.rpc.get_logs(address=platform.address("CreditQuery"))
    expected: Counter[tuple[str, str, int, int]] = Counter()
    for event in platform.decode(logs, "CreditQueried"):
        a = event.args
        key = ("0x" + bytes(a["bank"]).hex(), "0x" + bytes(a["firm"]).hex())
        expected[(*key, a["scope"], a["outcome"])] += 1
    assert {k[3] for k in expected} >= {0, 1, 2, 3}  # every outcome but an inactive firm
    with indexed.connect() as conn:
        report = credit_queries(conn, Scope(), Filters())
    shown = Counter(
        {(r["bank"], r["firm"], r["scope"], r["outcome"]): r["queries"] for r in report.rows}
    )
    assert shown == Counter(
        {(b, f, scope_label(s), OUTCOME_LABELS[o]): n for (b, f, s, o), n in expected.items()}
    )
    # A bank sees only its own queries.
    bank_a = _hex(platform, BANKS["Bank A"])
    with indexed.connect() as conn:
        own = credit_queries(conn, Scope(bank=bank_a), Filters())
    assert own.rows and {r["bank"] for r in own.rows} == {bank_a}
    assert sum(r["queries"] for r in own.rows) == sum(
        n for (b, *_), n in expected.items() if b == bank_a
    )


def test_funnel_equals_sums_of_the_contracts_request_records(platform, credit_world, indexed):
    count = platform.view("CreditMatching", "request_count")[0]
    statuses = [request_status(platform, i) for i in range(1, count + 1)]
    now = _chain_time(platform)
    groups: dict[tuple[str, str, str], dict[str, int]] = defaultdict(Counter)  # type: ignore[arg-type]
    for st in statuses:
        g = groups[("0x" + st.bank.hex(), str(st.region), st.amount.currency.code)]
        at = int(st.requested_at.timestamp())
        g["requests"] += 1
        g["asked"] += st.amount.to_minor()
        if st.matched_at:
            g["matched"] += 1
            g["to_match"] += int(st.matched_at.timestamp()) - at
        if st.decided_at:
            g["decided"] += 1
            g["to_decide"] += int(st.decided_at.timestamp()) - at
        g["grants"] += st.state == CreditState.GRANTED
        g["granted"] += st.granted.to_minor() if st.granted else 0
        g["declined"] += st.state == CreditState.DECLINED
        overdue = at < now - MATCH_DEADLINE_DAYS * 86_400
        g["overdue"] += st.state == CreditState.REQUESTED and overdue
    assert sum(g["overdue"] for g in groups.values()) >= 1
    with indexed.connect() as conn:
        report = credit_funnel(conn, Scope(), Filters())
    assert len(report.rows) == len(groups)
    for row in report.rows:
        g = groups[(row["bank"], row["region"], row["currency"])]
        numeric = Money("0", row["currency"]).currency.numeric

        def major(units: int, numeric: int = numeric) -> Decimal:
            return amount(units, numeric)[1]

        assert row["requests"] == g["requests"]
        assert row["asked"] == major(g["asked"])
        assert row["matched"] == g["matched"]
        assert row["match_rate"] == (Decimal(100 * g["matched"]) / g["requests"]).quantize(
            Decimal("0.1")
        )
        assert row["hours_to_match"] == hours(g["to_match"], g["matched"])
        assert row["hours_to_decision"] == hours(g["to_decide"], g["decided"])
        assert (row["grants"], row["declined"], row["overdue"]) == (
            g["grants"],
            g["declined"],
            g["overdue"],
        )
        assert row["granted"] == major(g["granted"])


def test_profile_equals_the_firms_financings_on_chain(platform, credit_world, indexed):
    demo = credit_world
    firm = platform.ids.participant(FIRM_1)
    # Independently: the firm's financings from FinancingApplied logs and each contract's view.
    by_currency: dict[int, Counter[str]] = defaultdict(Counter)
    exports: dict[bytes, tuple[int, int, int]] = {}
    for spec in SCENARIO_SPECS:
        address = platform.address(spec.contract)
        for event in platform.decode(platform.rpc.get_logs(address=address), "FinancingApplied"):
            if bytes(event.args["firm"]) != firm:
                continue
            fid = event.args["financing_id"]
            (rec,) = platform.view(spec.contract, "financing", fid)
            _, _, state, currency, requested, disbursed, repaid, *_ = rec
            c = by_currency[currency]
            c["count"] += 1
            c["requested"] += requested
            c["disbursed"] += disbursed
            c["repaid"] += repaid
            c["closed"] += state == 7
            fingerprints, _ = platform.view(spec.contract, "cited", fid)
            doc_type = int(rec[8])
            for fp in fingerprints:
                # A cited declaration, or the declaration a cited waybill is linked to.
                if doc_type != EXPORT:
                    (fp,) = platform.view("DocumentLedger", "linked_declaration", doc_type, fp)
                doc = platform.view("DocumentLedger", "document", EXPORT, fp)
                if doc[0]:
                    exports[bytes(fp)] = (doc[1], doc[3], doc[4])
    assert by_currency, "the story finances firm 1"
    with indexed.connect() as conn:
        desk = CreditQueryDesk(platform, demo.credit["Bank A"])
        seen = query_profile(desk, conn, FIRM_1, CreditScope.TRADE | CreditScope.BASIC)
        with pytest.raises(errors.ScopeNotGranted):
            query_profile(desk, conn, FIRM_1, CreditScope.REGULATORY)
    assert seen.regulatory is None and seen.basic is not None and seen.basic.active
    assert seen.trade is not None
    got = {f.requested.currency.numeric: f for f in seen.trade.financings}
    assert set(got) == set(by_currency)
    for numeric, c in by_currency.items():
        f = got[numeric]
        assert (f.count, f.closed) == (c["count"], c["closed"])
        assert f.requested.to_minor() == c["requested"]
        assert f.disbursed.to_minor() == c["disbursed"]
        assert f.repaid.to_minor() == c["repaid"]
    assert sum(m.declarations for m in seen.trade.exports) == len(exports)
    assert sum(m.amount.to_minor() for m in seen.trade.exports) == sum(
        face for face, _, _ in exports.values()
    )
    # The story's Bank B tried firm 1's financed declaration again: intercepted.
    assert seen.trade.duplicates_intercepted + seen.trade.over_financing_intercepted >= 1


def test_regulatory_credit_only_by_the_regulator_and_only_in_scope(
    platform, signers, credit_world, indexed
):
    demo = credit_world
    with pytest.raises(errors.NotRegulator):
        RegulatoryDesk(platform, indexed, demo.credit["Bank A"])
    desk = RegulatoryDesk(platform, indexed, signers[0])
    with pytest.raises(errors.InvalidInput):
        desk.classify(FIRM_3, "D", dt.date(2026, 1, 1))
    desk.classify(FIRM_3, "B", dt.date(2026, 1, 1))
    desk.classify(FIRM_3, "A", dt.date(2026, 6, 1))  # replaces the earlier one
    desk.add_penalty(FIRM_3, dt.date(2026, 3, 2), Money("5000", "CNY"), "late FX reporting")
    with pytest.raises(errors.InvalidInput):
        desk.add_penalty(FIRM_3, dt.date(2026, 3, 2), Money("0", "CNY"), "none")
    bank_b = CreditQueryDesk(platform, demo.credit["Bank B"])
    until = dt.datetime.fromtimestamp(_chain_time(platform) + 86_400, dt.UTC)
    signed = credit_query.authorise(
        platform, demo.firms[FIRM_3], FIRM_3, demo.banks["Bank B"].uscc, until, CreditScope.ALL
    )
    open_services(platform, demo.banks["Bank B"].opener, [signed])
    with indexed.connect() as conn:
        seen = query_profile(bank_b, conn, FIRM_3, CreditScope.REGULATORY)
        refused = bank_b.check(FIRM_3, demo.banks["Bank A"].uscc, CreditScope.ALL)
    assert seen.trade is None and seen.basic is None
    assert seen.regulatory is not None
    assert (seen.regulatory.classification, seen.regulatory.since) == ("A", dt.date(2026, 6, 1))
    assert [(p.day, str(p.amount), p.reason) for p in seen.regulatory.penalties] == [
        (dt.date(2026, 3, 2), "CNY 5,000.00", "late FX reporting")
    ]
    assert refused == QueryOutcome.NOT_AUTHORISED
    refused_record = credit_query.QueryRecord(
        query_id=1,
        bank=platform.ids.participant(demo.banks["Bank A"].uscc),
        firm=platform.ids.participant(FIRM_3),
        scope=CreditScope.ALL,
        outcome=QueryOutcome.EXPIRED,
        by=demo.credit["Bank A"].address,
        tx_hash="0x" + "00" * 32,
        block_number=1,
    )
    with indexed.connect() as conn, pytest.raises(errors.AccessDenied):
        profile(conn, refused_record)  # a refused record opens nothing
