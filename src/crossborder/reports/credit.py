"""Credit reports from the index: the regulator's audit of credit-information queries (授权查证
审计) and the credit-matching funnel (融资授信银企对接统计).

Rates and averages are SQL sums and counts divided in Python, so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, literal, select
from sqlalchemy.sql import ColumnElement

from ..domain.codes import CreditScope, CreditState, QueryOutcome, Scenario
from ..indexer import schema as s
from .model import Column, Filters, Report, Scope, amount
from .queries import Names, _head, _hours, _int, _plain, _restrict

q = s.credit_queries
r = s.credit_requests
p = s.participants
QUERY_LABEL = "企业跨境信用信息授权查证 credit-information query"
MATCH_LABEL = "融资授信银企对接 bank-enterprise credit matching"
# A request not matched within this many days of its submission shows as overdue.
MATCH_DEADLINE_DAYS = 5

OUTCOME_LABELS: dict[int, str] = {
    QueryOutcome.AUTHORISED: "已授权 authorised",
    QueryOutcome.NOT_AUTHORISED: "未授权或已撤销 not authorised or revoked",
    QueryOutcome.EXPIRED: "授权已过期 authorisation expired",
    QueryOutcome.OUT_OF_SCOPE: "超出授权范围 out of scope",
    QueryOutcome.FIRM_INACTIVE: "企业已停用 firm deactivated",
}
SCOPE_LABELS = {
    CreditScope.BASIC: "基础 basic",
    CreditScope.TRADE: "贸易 trade",
    CreditScope.REGULATORY: "监管 regulatory",
}


def scope_label(scope: int) -> str:
    return " + ".join(label for flag, label in SCOPE_LABELS.items() if scope & flag) or "-"


def credit_queries(
    conn: Connection, scope: Scope, filters: Filters, names: Names = _plain
) -> Report:
    """授权查证审计: per bank, firm, scope asked and outcome, the queries recorded on chain, with
    the first and last day: who looked at whom, and whether authorised."""
    head = _head(q.c.bank, p.c.parent)
    query = (
        select(
            head.label("bank"),
            q.c.firm,
            q.c.scope,
            q.c.outcome,
            func.count().label("queries"),
            func.min(q.c.day).label("first"),
            func.max(q.c.day).label("last"),
        )
        .select_from(q.outerjoin(p, p.c.participant == q.c.bank))
        .group_by(head, q.c.firm, q.c.scope, q.c.outcome)
        .order_by(head, q.c.firm, q.c.scope, q.c.outcome)
    )
    query = _restrict(
        query,
        head=head,
        day=q.c.day,
        currency=literal(0),  # queries have no currency: the filter is dropped below
        scenario=literal(int(Scenario.CREDIT_QUERY)),
        scope=scope,
        filters=Filters(filters.date_from, filters.date_to, filters.bank, None, filters.scenario),
    )
    rows = [
        {
            "scenario": QUERY_LABEL,
            "bank": names(row.bank),
            "firm": names(row.firm),
            "scope": scope_label(row.scope),
            "outcome": OUTCOME_LABELS.get(row.outcome, f"outcome {row.outcome}"),
            "authorised": "是 yes" if row.outcome == QueryOutcome.AUTHORISED else "否 no",
            "queries": _int(row.queries),
            "first": row.first,
            "last": row.last,
        }
        for row in conn.execute(query)
    ]
    return Report(
        name="credit-queries",
        zh="信用信息授权查证审计",
        en="Credit-information queries (audit)",
        columns=[
            Column("scenario", "业务场景", "scenario"),
            Column("bank", "查询银行", "bank"),
            Column("firm", "被查询企业", "firm"),
            Column("scope", "查询范围", "scope"),
            Column("outcome", "结果", "outcome"),
            Column("authorised", "是否授权", "authorised"),
            Column("queries", "查询次数", "queries", "int"),
            Column("first", "首次", "first day", "day"),
            Column("last", "末次", "last day", "day"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "bank", "queries"),
    )


def _now(conn: Connection) -> int:
    """The chain's time as indexed: the latest block with events (deterministic per store)."""
    return int(conn.execute(select(func.max(s.blocks.c.timestamp))).scalar() or 0)


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def credit_funnel(
    conn: Connection, scope: Scope, filters: Filters, names: Names = _plain
) -> Report:
    """融资授信银企对接统计: per bank, region and currency, requests, how many were matched (the
    match rate), the average hours to match and to a decision, grants (count and amount),
    declines, and requests still unmatched past the deadline (overdue)."""
    head = _head(r.c.bank, p.c.parent)
    deadline = _now(conn) - MATCH_DEADLINE_DAYS * 86_400
    decided = r.c.decided_at.is_not(None)
    granted = r.c.state == int(CreditState.GRANTED)
    query = (
        select(
            head.label("bank"),
            r.c.region,
            r.c.currency,
            func.count().label("requests"),
            func.sum(r.c.amount).label("asked"),
            _count(r.c.matched_at.is_not(None)).label("matched"),
            func.sum(func.coalesce(r.c.matched_at - r.c.requested_at, 0)).label("to_match"),
            _count(decided).label("decided"),
            func.sum(func.coalesce(r.c.decided_at - r.c.requested_at, 0)).label("to_decide"),
            _count(granted).label("grants"),
            func.sum(r.c.granted).label("granted"),
            _count(r.c.state == int(CreditState.DECLINED)).label("declined"),
            _count((r.c.state == int(CreditState.REQUESTED)) & (r.c.requested_at < deadline)).label(
                "overdue"
            ),
        )
        .select_from(r.outerjoin(p, p.c.participant == r.c.bank))
        .group_by(head, r.c.region, r.c.currency)
        .order_by(head, r.c.region, r.c.currency)
    )
    query = _restrict(
        query,
        head=head,
        day=r.c.requested_day,
        currency=r.c.currency,
        scenario=literal(int(Scenario.CREDIT_MATCH)),
        scope=scope,
        filters=filters,
    )
    rows = []
    for row in conn.execute(query):
        code, asked = amount(_int(row.asked), row.currency)
        requests, matched, decided_n = _int(row.requests), _int(row.matched), _int(row.decided)
        rows.append(
            {
                "scenario": MATCH_LABEL,
                "bank": names(row.bank),
                "region": str(row.region),
                "currency": code,
                "requests": requests,
                "asked": asked,
                "matched": matched,
                "match_rate": (Decimal(100 * matched) / requests).quantize(Decimal("0.1")),
                "hours_to_match": _hours(_int(row.to_match), matched),
                "hours_to_decision": _hours(_int(row.to_decide), decided_n),
                "grants": _int(row.grants),
                "granted": amount(_int(row.granted), row.currency)[1],
                "declined": _int(row.declined),
                "overdue": _int(row.overdue),
            }
        )
    return Report(
        name="credit-funnel",
        zh="融资授信银企对接统计",
        en="Bank-enterprise credit matching funnel",
        columns=[
            Column("scenario", "业务场景", "scenario"),
            Column("bank", "银行", "bank"),
            Column("region", "地区代码", "region"),
            Column("currency", "币种", "currency"),
            Column("requests", "申请笔数", "requests", "int"),
            Column("asked", "申请金额", "amount asked", "amount"),
            Column("matched", "对接笔数", "matched", "int"),
            Column("match_rate", "对接率 %", "match rate %", "amount"),
            Column("hours_to_match", "平均对接时长", "avg hours to match", "hours"),
            Column("hours_to_decision", "平均决策时长", "avg hours to decision", "hours"),
            Column("grants", "授信笔数", "grants", "int"),
            Column("granted", "授信金额", "amount granted", "amount"),
            Column("declined", "拒绝笔数", "declined", "int"),
            Column("overdue", f"超{MATCH_DEADLINE_DAYS}天未对接", "overdue (unmatched)", "int"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "bank", "granted"),
        notes=[f"overdue: not matched within {MATCH_DEADLINE_DAYS} days of the request"],
    )
