"""The seed statistics, computed by SQL over the indexer's projections.

Sums stay integer minor units in SQL and become exact Decimals with their currency only in the
rows; averages are a SQL sum and count divided in Python, so that SQLite and PostgreSQL give the
very same report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, false, func, literal, select
from sqlalchemy.sql import ColumnElement, Select

from ..domain.codes import DocumentType, FinancingState, Reason, Scenario
from ..errors import InvalidInput
from ..indexer import schema as s
from .model import (
    REASON_LABELS,
    Column,
    Filters,
    Report,
    Scope,
    amount,
    document_label,
    scenario_label,
)

Names = Callable[[str], str]
f = s.financings
v = s.verification_attempts
p = s.participants
d = s.documents
h = s.holds


def _head(bank_column: ColumnElement[Any], parent: ColumnElement[Any]) -> ColumnElement[Any]:
    """The legal-person bank of a participant: its parent for a branch (网点), else itself."""
    return func.coalesce(parent, bank_column)


def _restrict(
    query: Select[Any],
    *,
    head: ColumnElement[Any],
    day: ColumnElement[Any],
    currency: ColumnElement[Any],
    scenario: ColumnElement[Any],
    scope: Scope,
    filters: Filters,
) -> Select[Any]:
    if scope.bank is not None:
        if filters.bank is not None and filters.bank != scope.bank:
            raise InvalidInput("a bank statistician sees only its own bank's rows")
        query = query.where(head == scope.bank)
    if filters.bank is not None:
        query = query.where(head == filters.bank)
    if filters.date_from is not None:
        query = query.where(day >= filters.date_from.isoformat())
    if filters.date_to is not None:
        query = query.where(day <= filters.date_to.isoformat())
    if filters.currency is not None:
        query = query.where(currency == filters.currency)
    if filters.scenario is not None:
        query = query.where(scenario == filters.scenario)
    return query


def _period(day: ColumnElement[Any], filters: Filters) -> ColumnElement[Any]:
    return day if filters.period == "day" else func.substr(day, 1, 7)


def _int(value: Any) -> int:
    return int(value or 0)


def _hours(total_seconds: int, count: int) -> Decimal | None:
    if not count:
        return None
    return (Decimal(total_seconds) / Decimal(count) / Decimal(3600)).quantize(Decimal("0.01"))


def _plain(name: str) -> str:
    return name


# -- 1. 企业融资信息统计 enterprise financing statistics --------------------------------


def firm_statistics(
    conn: Connection, scope: Scope, filters: Filters, names: Names = _plain
) -> Report:
    """Per firm, bank, scenario and currency: financings, amounts applied, approved, disbursed,
    repaid, and what the financings still hold on the documents they cite (the ledger's live
    holds: zero once released, consumed or force-released by the regulator). A hold the ledger
    also took on the declaration linked to a cited waybill is the same amount: counted once."""
    head = _head(f.c.bank, p.c.parent)
    live = (
        select(
            h.c.scenario_address,
            h.c.financing_id,
            func.sum(h.c.live).label("live"),
        )
        .where(h.c.via.is_(None))
        .group_by(h.c.scenario_address, h.c.financing_id)
        .subquery("live_holds")
    )
    query = (
        select(
            f.c.firm,
            head.label("bank"),
            f.c.scenario,
            f.c.currency,
            func.count().label("financings"),
            func.sum(f.c.requested).label("requested"),
            func.sum(f.c.approved).label("approved"),
            func.sum(f.c.disbursed).label("disbursed"),
            func.sum(f.c.repaid).label("repaid"),
            func.sum(func.coalesce(live.c.live, 0)).label("held"),
        )
        .select_from(
            f.outerjoin(p, p.c.participant == f.c.bank).outerjoin(
                live,
                and_(
                    live.c.scenario_address == f.c.scenario_address,
                    live.c.financing_id == f.c.financing_id,
                ),
            )
        )
        .group_by(f.c.firm, head, f.c.scenario, f.c.currency)
        .order_by(f.c.firm, head, f.c.scenario, f.c.currency)
    )
    query = _restrict(
        query,
        head=head,
        day=f.c.applied_day,
        currency=f.c.currency,
        scenario=f.c.scenario,
        scope=scope,
        filters=filters,
    )
    rows = []
    for r in conn.execute(query):
        code, requested = amount(_int(r.requested), r.currency)
        disbursed, repaid = _int(r.disbursed), _int(r.repaid)
        rows.append(
            {
                "firm": names(r.firm),
                "bank": names(r.bank),
                "scenario": scenario_label(r.scenario),
                "currency": code,
                "financings": _int(r.financings),
                "requested": requested,
                "approved": amount(_int(r.approved), r.currency)[1],
                "disbursed": amount(disbursed, r.currency)[1],
                "repaid": amount(repaid, r.currency)[1],
                "outstanding": amount(disbursed - repaid, r.currency)[1],
                "held": amount(_int(r.held), r.currency)[1],
            }
        )
    return Report(
        name="firm-stats",
        zh="企业融资信息统计",
        en="Enterprise financing statistics",
        columns=[
            Column("firm", "企业", "firm"),
            Column("bank", "银行", "bank"),
            Column("scenario", "业务场景", "scenario"),
            Column("currency", "币种", "currency"),
            Column("financings", "融资笔数", "financings", "int"),
            Column("requested", "申请金额", "applied", "amount"),
            Column("approved", "审批金额", "approved", "amount"),
            Column("disbursed", "放款金额", "disbursed", "amount"),
            Column("repaid", "还款金额", "repaid", "amount"),
            Column("outstanding", "融资余额", "outstanding", "amount"),
            Column("held", "单证占用金额", "held on documents", "amount"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "firm", "disbursed"),
    )


# -- 2. 企业融资情况报表 enterprise financing report ------------------------------------


def _state_count(*states: FinancingState) -> ColumnElement[Any]:
    return func.sum(case((f.c.state.in_([int(x) for x in states]), 1), else_=0))


def financing_report(
    conn: Connection, scope: Scope, filters: Filters, names: Names = _plain
) -> Report:
    """Per period, bank, branch, scenario and currency: counts by state, amounts, and the
    average time from application to disbursement."""
    head = _head(f.c.bank, p.c.parent)
    branch = case((p.c.parent.is_(None), literal("")), else_=f.c.bank)
    period = _period(f.c.applied_day, filters)
    disbursed_at = f.c.disbursed_at
    query = (
        select(
            period.label("period"),
            head.label("bank"),
            branch.label("branch"),
            f.c.scenario,
            f.c.currency,
            func.count().label("financings"),
            _state_count(FinancingState.APPLIED, FinancingState.ACCEPTED).label("pending"),
            _state_count(FinancingState.APPROVED).label("approved_n"),
            _state_count(FinancingState.REJECTED).label("rejected"),
            _state_count(FinancingState.WITHDRAWN).label("withdrawn"),
            _state_count(FinancingState.DISBURSED).label("disbursed_n"),
            _state_count(FinancingState.CLOSED).label("closed"),
            func.sum(f.c.requested).label("requested"),
            func.sum(f.c.approved).label("approved"),
            func.sum(f.c.disbursed).label("disbursed"),
            func.sum(f.c.repaid).label("repaid"),
            func.sum(
                case((disbursed_at.is_not(None), disbursed_at - f.c.applied_at), else_=0)
            ).label("wait"),
            func.count(disbursed_at).label("paid_out"),
        )
        .select_from(f.outerjoin(p, p.c.participant == f.c.bank))
        .group_by(period, head, branch, f.c.scenario, f.c.currency)
        .order_by(period, head, branch, f.c.scenario, f.c.currency)
    )
    query = _restrict(
        query,
        head=head,
        day=f.c.applied_day,
        currency=f.c.currency,
        scenario=f.c.scenario,
        scope=scope,
        filters=filters,
    )
    rows = []
    for r in conn.execute(query):
        code, requested = amount(_int(r.requested), r.currency)
        rows.append(
            {
                "period": r.period,
                "bank": names(r.bank),
                "branch": names(r.branch) if r.branch else "",
                "scenario": scenario_label(r.scenario),
                "currency": code,
                "financings": _int(r.financings),
                "pending": _int(r.pending),
                "approved_n": _int(r.approved_n),
                "rejected": _int(r.rejected),
                "withdrawn": _int(r.withdrawn),
                "disbursed_n": _int(r.disbursed_n),
                "closed": _int(r.closed),
                "requested": requested,
                "approved": amount(_int(r.approved), r.currency)[1],
                "disbursed": amount(_int(r.disbursed), r.currency)[1],
                "repaid": amount(_int(r.repaid), r.currency)[1],
                "hours_to_disburse": _hours(_int(r.wait), _int(r.paid_out)),
            }
        )
    return Report(
        name="financing-report",
        zh="企业融资情况报表",
        en="Enterprise financing report",
        columns=[
            Column("period", "期间", "period", "day"),
            Column("bank", "银行", "bank"),
            Column("branch", "网点", "branch"),
            Column("scenario", "业务场景", "scenario"),
            Column("currency", "币种", "currency"),
            Column("financings", "申请笔数", "applications", "int"),
            Column("pending", "待审笔数", "pending", "int"),
            Column("approved_n", "已审批", "approved", "int"),
            Column("rejected", "已拒绝", "rejected", "int"),
            Column("withdrawn", "已撤回", "withdrawn", "int"),
            Column("disbursed_n", "已放款", "disbursed", "int"),
            Column("closed", "已结清", "closed", "int"),
            Column("requested", "申请金额", "applied amount", "amount"),
            Column("approved", "审批金额", "approved amount", "amount"),
            Column("disbursed", "放款金额", "disbursed amount", "amount"),
            Column("repaid", "还款金额", "repaid amount", "amount"),
            Column("hours_to_disburse", "平均放款时长(小时)", "avg hours to disburse", "hours"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("series", "period", "disbursed"),
    )


# -- 3. 报关单核验失败统计 declaration verification failure statistics -------------------


def _attempts(reasons: Sequence[int] | None) -> tuple[Any, Any]:
    """The legal-person bank of an attempt, and the condition on its reason."""
    head = _head(v.c.bank, p.c.parent)
    where = v.c.reason != 0 if reasons is None else v.c.reason.in_(list(reasons))
    return head, where


def verification_failures(
    conn: Connection, scope: Scope, filters: Filters, names: Names = _plain
) -> Report:
    """Failed verifications (核验失败) by period, bank, scenario, type of the failing document
    (a declaration, a waybill, …), reason and currency."""
    head, failed = _attempts(None)
    period = _period(v.c.day, filters)
    query = (
        select(
            period.label("period"),
            head.label("bank"),
            v.c.scenario,
            v.c.doc_type,
            v.c.reason,
            v.c.currency,
            func.count().label("failures"),
            func.sum(v.c.amount).label("amount"),
        )
        .select_from(v.outerjoin(p, p.c.participant == v.c.bank))
        .where(failed)
        .group_by(period, head, v.c.scenario, v.c.doc_type, v.c.reason, v.c.currency)
        .order_by(period, head, v.c.scenario, v.c.doc_type, v.c.reason, v.c.currency)
    )
    query = _restrict(
        query,
        head=head,
        day=v.c.day,
        currency=v.c.currency,
        scenario=v.c.scenario,
        scope=scope,
        filters=filters,
    )
    rows = []
    for r in conn.execute(query):
        code, total = amount(_int(r.amount), r.currency)
        rows.append(
            {
                "period": r.period,
                "bank": names(r.bank),
                "scenario": scenario_label(r.scenario),
                "document_type": document_label(r.doc_type),
                "reason": REASON_LABELS.get(r.reason, str(r.reason)),
                "code": r.reason,
                "currency": code,
                "failures": _int(r.failures),
                "amount": total,
            }
        )
    return Report(
        name="verification-failures",
        zh="报关单核验失败统计",
        en="Declaration verification failure statistics",
        columns=[
            Column("period", "期间", "period", "day"),
            Column("bank", "银行", "bank"),
            Column("scenario", "业务场景", "scenario"),
            Column("document_type", "单证类型", "document type"),
            Column("code", "原因代码", "reason code", "int"),
            Column("reason", "失败原因", "reason"),
            Column("currency", "币种", "currency"),
            Column("failures", "失败笔数", "failures", "int"),
            Column("amount", "申请金额", "amount requested", "amount"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "reason", "failures"),
    )


# -- 4. duplicate and over-financing interceptions ------------------------------


def interceptions(
    conn: Connection, scope: Scope, filters: Filters, names: Names = _plain
) -> Report:
    """重复/超额融资拦截: each refused attempt on a document already (fully) used, in any
    scenario. A waybill linked to a declaration is refused when either has too little left:
    the row names the declaration it is linked to."""
    head, refused = _attempts([Reason.DUPLICATE, Reason.OVER_FINANCED])
    query = (
        select(
            v.c.day,
            v.c.at,
            head.label("bank"),
            v.c.scenario,
            v.c.firm,
            v.c.fingerprint,
            v.c.doc_type,
            v.c.reason,
            v.c.currency,
            v.c.amount,
            d.c.face,
            d.c.currency.label("doc_currency"),
            d.c.linked_declaration,
        )
        .select_from(
            v.outerjoin(p, p.c.participant == v.c.bank).outerjoin(
                d, and_(d.c.doc_type == v.c.doc_type, d.c.fingerprint == v.c.fingerprint)
            )
        )
        .where(refused)
        .order_by(v.c.block_number, v.c.log_index)
    )
    query = _restrict(
        query,
        head=head,
        day=v.c.day,
        currency=v.c.currency,
        scenario=v.c.scenario,
        scope=scope,
        filters=filters,
    )
    rows = []
    for r in conn.execute(query):
        code, attempted = amount(_int(r.amount), r.currency)
        face = amount(_int(r.face), r.doc_currency)[1] if r.face is not None else None
        rows.append(
            {
                "day": r.day,
                "bank": names(r.bank),
                "scenario": scenario_label(r.scenario),
                "firm": names(r.firm),
                "document_type": document_label(r.doc_type),
                "document": r.fingerprint,
                "linked_declaration": r.linked_declaration or "",
                "reason": REASON_LABELS[r.reason],
                "currency": code,
                "amount": attempted,
                "face": face,
            }
        )
    return Report(
        name="interceptions",
        zh="重复融资与超额融资拦截",
        en="Duplicate and over-financing interceptions",
        columns=[
            Column("day", "日期", "day", "day"),
            Column("bank", "银行", "bank"),
            Column("scenario", "业务场景", "scenario"),
            Column("firm", "企业", "firm"),
            Column("document_type", "单证类型", "document type"),
            Column("document", "单证指纹", "document fingerprint"),
            Column("linked_declaration", "关联报关单", "linked declaration"),
            Column("reason", "拦截原因", "reason"),
            Column("currency", "币种", "currency"),
            Column("amount", "申请金额", "amount requested", "amount"),
            Column("face", "单证金额", "document amount", "amount"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "bank", "amount"),
    )


# -- 5. payment facilitation (便利化类) ---------------------------------------------------------

pay = s.payments
tags = s.invoice_tags
periods = s.review_periods
TAX_FILING = int(DocumentType.TAX_FILING)
INVOICES = [int(DocumentType.FREIGHT_INVOICE), int(DocumentType.INVOICE)]


def _restrict_payments(
    query: Select[Any], head: ColumnElement[Any], scope: Scope, filters: Filters
) -> Select[Any]:
    day, currency, scenario = pay.c.day, pay.c.currency, pay.c.scenario
    return _restrict(
        query,
        head=head,
        day=day,
        currency=currency,
        scenario=scenario,
        scope=scope,
        filters=filters,
    )


def _cst_midnight(day: dt.date, days_after: int = 0) -> int:
    """The Unix time at which a China Standard Time reporting day (plus ``days_after``) starts."""
    start = dt.datetime.combine(day + dt.timedelta(days=days_after), dt.time(), s.REPORTING_TZ)
    return int(start.timestamp())


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.01"))


def filing_utilisation(
    conn: Connection, scope: Scope, filters: Filters, names: Names = _plain
) -> Report:
    """税务备案使用情况: per tax filing and paying bank, what the bank paid under it, what all
    banks paid, and what is left of the filed amount (the ledger's guard: never below zero)."""
    head = _head(pay.c.bank, p.c.parent)
    query = (
        select(
            h.c.fingerprint,
            head.label("bank"),
            pay.c.currency,
            func.count().label("payments"),
            func.sum(pay.c.amount).label("paid"),
            d.c.face,
            d.c.held,
        )
        .select_from(
            pay.join(
                h,
                and_(
                    h.c.scenario_address == pay.c.scenario_address,
                    h.c.financing_id == pay.c.payment_id,
                    h.c.doc_type == TAX_FILING,
                ),
            )
            .outerjoin(p, p.c.participant == pay.c.bank)
            .outerjoin(d, and_(d.c.doc_type == TAX_FILING, d.c.fingerprint == h.c.fingerprint))
        )
        .where(pay.c.doc_type == TAX_FILING)
        .group_by(h.c.fingerprint, head, pay.c.currency, d.c.face, d.c.held)
        .order_by(h.c.fingerprint, head)
    )
    query = _restrict_payments(query, head, scope, filters)
    rows = []
    for r in conn.execute(query):
        face, held = _int(r.face), _int(r.held)
        code, paid = amount(_int(r.paid), r.currency)
        rows.append(
            {
                "filing": r.fingerprint,
                "bank": names(r.bank),
                "currency": code,
                "payments": _int(r.payments),
                "paid": paid,
                "paid_all": amount(held, r.currency)[1],
                "filed": amount(face, r.currency)[1],
                "left": amount(face - held, r.currency)[1],
                "utilisation": _percent(held, face),
            }
        )
    return Report(
        name="filing-utilisation",
        zh="服务贸易税务备案使用情况",
        en="Tax filing utilisation",
        columns=[
            Column("filing", "备案指纹", "filing fingerprint"),
            Column("bank", "银行", "bank"),
            Column("currency", "币种", "currency"),
            Column("payments", "付汇笔数", "payments", "int"),
            Column("paid", "本行付汇金额", "paid by the bank", "amount"),
            Column("paid_all", "累计付汇金额", "paid by all banks", "amount"),
            Column("filed", "备案金额", "filed amount", "amount"),
            Column("left", "剩余金额", "left", "amount"),
            Column("utilisation", "使用率 %", "utilisation %", "amount"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "filing", "utilisation"),
    )


def invoice_tags(conn: Connection, scope: Scope, filters: Filters, names: Names = _plain) -> Report:
    """发票核验标记: per period, bank, scenario, invoice type and currency, the payments made
    against invoices and the invoices they tagged single-use."""
    head = _head(pay.c.bank, p.c.parent)
    period = _period(pay.c.day, filters)
    query = (
        select(
            period.label("period"),
            head.label("bank"),
            pay.c.scenario,
            pay.c.doc_type,
            pay.c.currency,
            func.count().label("payments"),
            func.sum(pay.c.documents).label("invoices"),
            func.sum(pay.c.amount).label("amount"),
        )
        .select_from(pay.outerjoin(p, p.c.participant == pay.c.bank))
        .where(pay.c.doc_type.in_(INVOICES))
        .group_by(period, head, pay.c.scenario, pay.c.doc_type, pay.c.currency)
        .order_by(period, head, pay.c.scenario, pay.c.doc_type, pay.c.currency)
    )
    query = _restrict_payments(query, head, scope, filters)
    rows = []
    for r in conn.execute(query):
        code, total = amount(_int(r.amount), r.currency)
        rows.append(
            {
                "period": r.period,
                "bank": names(r.bank),
                "scenario": scenario_label(r.scenario),
                "document_type": document_label(r.doc_type),
                "currency": code,
                "payments": _int(r.payments),
                "invoices": _int(r.invoices),
                "amount": total,
            }
        )
    return Report(
        name="invoice-tags",
        zh="发票付汇核验标记统计",
        en="Invoices tagged by payments",
        columns=[
            Column("period", "期间", "period", "day"),
            Column("bank", "银行", "bank"),
            Column("scenario", "业务场景", "scenario"),
            Column("document_type", "单证类型", "document type"),
            Column("currency", "币种", "currency"),
            Column("payments", "付汇笔数", "payments", "int"),
            Column("invoices", "标记发票张数", "invoices tagged", "int"),
            Column("amount", "付汇金额", "amount paid", "amount"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "bank", "invoices"),
    )


def post_review(conn: Connection, scope: Scope, filters: Filters, names: Names = _plain) -> Report:
    """资本项目事后抽查: per closed period, its payments, the sample drawn and recorded, how
    many were reviewed (coverage) and found non-compliant. The regulator's report.

    ``--from``/``--to`` select periods by the China Standard Time day they closed on; a
    scenario other than capital payments selects none. A period samples the payments of every
    bank in every currency: a currency or bank filter does not narrow it (so that one set of
    filters runs every report), and the README says so.
    """
    query = select(periods).order_by(periods.c.scenario_address, periods.c.period)
    if filters.scenario is not None and filters.scenario != int(Scenario.CAPITAL_PAYMENT):
        query = query.where(false())
    if filters.date_from is not None:
        query = query.where(periods.c.closed_at >= _cst_midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.where(periods.c.closed_at < _cst_midnight(filters.date_to, 1))
    rows = []
    # A bank statistician sees no rows: the sample is the regulator's.
    for r in conn.execute(query) if scope.bank is None else ():
        rows.append(
            {
                "period": int(r.period),
                "payments": int(r.last_payment) - int(r.first_payment) + 1,
                "first": int(r.first_payment),
                "last": int(r.last_payment),
                "sample_size": int(r.sample_size),
                "seed": r.seed or "",
                "sampled": int(r.sampled),
                "reviewed": int(r.reviewed),
                "noncompliant": int(r.noncompliant),
                "coverage": _percent(int(r.reviewed), int(r.sampled)),
            }
        )
    return Report(
        name="post-review",
        zh="资本项目收入支付事后抽查",
        en="Capital-account payments: post-review sample",
        columns=[
            Column("period", "批次", "period", "int"),
            Column("payments", "支付笔数", "payments", "int"),
            Column("first", "起始支付", "first payment", "int"),
            Column("last", "截止支付", "last payment", "int"),
            Column("sample_size", "抽查数量", "sample size", "int"),
            Column("seed", "随机种子", "seed"),
            Column("sampled", "已抽取", "sampled", "int"),
            Column("reviewed", "已审核", "reviewed", "int"),
            Column("noncompliant", "不合规", "non-compliant", "int"),
            Column("coverage", "审核覆盖率 %", "review coverage %", "amount"),
        ],
        rows=rows,
        scope=scope.label,
        chart=("bars", "period", "reviewed"),
    )


REPORTS: dict[str, Callable[[Connection, Scope, Filters, Names], Report]] = {
    "firm-stats": firm_statistics,
    "financing-report": financing_report,
    "verification-failures": verification_failures,
    "interceptions": interceptions,
    "filing-utilisation": filing_utilisation,
    "invoice-tags": invoice_tags,
    "post-review": post_review,
}


def _credit_reports() -> None:
    """The credit reports (issue 11), in their own module that builds on this one's helpers."""
    from .credit import credit_funnel, credit_queries

    REPORTS["credit-queries"] = credit_queries
    REPORTS["credit-funnel"] = credit_funnel


_credit_reports()
