"""The firm's cross-border credit profile (跨境信用信息), computed from the reporting store.

Only an authorised query recorded on chain opens it: ``profile`` takes the ``QueryRecord`` the
chain returned (``CreditQueryDesk.record`` raises on a refusal) and fills only the parts of the
profile its scope covers.

- Basic data: the firm's kind, status and onboarding, and the services it has open.
- Trade credit: export volumes by month and currency (the export declarations its financings
  cite: the ledger does not publish a document's owner, so a declaration the firm never financed
  is not seen here), its financings by currency (counts, amounts, repayments, overdue) and the
  duplicate and over-financing attempts intercepted on its behalf.
- Regulatory credit: the regulator's table (FX classification, penalties).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, select

from ..domain.codes import CreditScope, DocumentType, FinancingState, QueryOutcome, Reason
from ..domain.money import Money, currency_by_numeric
from ..errors import AccessDenied, UnknownEntity
from ..indexer import schema as s
from ..indexer.projections import _chunks
from ..services.credit_query import CreditQueryDesk, QueryRecord
from .regulatory import classification_of

EPOCH = dt.date(1970, 1, 1)
EXPORT = int(DocumentType.EXPORT_DECLARATION)
LIVE = (int(FinancingState.DISBURSED),)


@dataclass(frozen=True)
class BasicData:
    active: bool
    onboarded_at: dt.datetime
    services_open: int  # (bank, scenario) pairs currently open


@dataclass(frozen=True)
class MonthlyExports:
    month: str  # YYYY-MM of the declarations' export (issue) day
    amount: Money
    declarations: int


@dataclass(frozen=True)
class FinancingRecord:
    """The firm's financings in one currency, across banks and scenarios."""

    count: int
    requested: Money
    disbursed: Money
    repaid: Money
    closed: int  # repaid in full
    overdue: int  # disbursed, not repaid, past the due day


@dataclass(frozen=True)
class TradeCredit:
    exports: list[MonthlyExports]
    financings: list[FinancingRecord]
    duplicates_intercepted: int
    over_financing_intercepted: int


@dataclass(frozen=True)
class Penalty:
    day: dt.date
    amount: Money
    reason: str


@dataclass(frozen=True)
class RegulatoryCredit:
    classification: str | None  # A, B or C; None when the regulator set none
    since: dt.date | None
    penalties: list[Penalty]


@dataclass(frozen=True)
class CreditProfile:
    """What an authorised query may read, by scope; a part outside the scope is None."""

    firm: bytes
    scope: CreditScope
    query_id: int
    basic: BasicData | None
    trade: TradeCredit | None
    regulatory: RegulatoryCredit | None


def query_profile(
    desk: CreditQueryDesk, conn: Connection, firm_uscc: str, scope: int
) -> CreditProfile:
    """Records the query on chain (raising ``QueryRefused`` when refused), then reads the profile
    the recorded query authorises."""
    return profile(conn, desk.record(firm_uscc, scope))


def profile(conn: Connection, record: QueryRecord, today: dt.date | None = None) -> CreditProfile:
    """The profile an authorised query record opens, as the store has it now.

    Raises:
        AccessDenied: The record is not an authorised one.
        UnknownEntity: The store does not know the firm (not indexed yet).
    """
    if record.outcome != QueryOutcome.AUTHORISED:
        raise AccessDenied("a refused query opens no credit profile")
    firm = "0x" + record.firm.hex()
    scope = record.scope
    today = today or dt.datetime.now(s.REPORTING_TZ).date()
    return CreditProfile(
        firm=record.firm,
        scope=scope,
        query_id=record.query_id,
        basic=basic_data(conn, firm) if CreditScope.BASIC in scope else None,
        trade=trade_credit(conn, firm, today) if CreditScope.TRADE in scope else None,
        regulatory=regulatory_credit(conn, firm) if CreditScope.REGULATORY in scope else None,
    )


def basic_data(conn: Connection, firm: str) -> BasicData:
    p, sv = s.participants, s.services
    row = conn.execute(select(p.c.active, p.c.onboarded_at).where(p.c.participant == firm)).first()
    if row is None:
        raise UnknownEntity("the store does not know this firm (is the indexer caught up?)")
    opened = conn.execute(
        select(func.count()).select_from(sv).where((sv.c.firm == firm) & sv.c.opened)
    ).scalar_one()
    return BasicData(
        active=bool(row.active),
        onboarded_at=dt.datetime.fromtimestamp(row.onboarded_at, dt.UTC),
        services_open=int(opened),
    )


def _money(units: int, numeric: int) -> Money:
    return Money.from_minor(int(units or 0), currency_by_numeric(numeric))


def export_volumes(conn: Connection, firm: str) -> list[MonthlyExports]:
    """The export declarations the firm's financings cite (or hold on through a linked waybill),
    each once, by month and currency.

    The firm's financings are read first, by their firm index, then their holds by key (contract
    and financing ids, the holds' primary key): in one join, or with a row-value IN, SQLite's
    planner walks every hold instead.
    """
    d, h, f = s.documents, s.holds, s.financings
    by_contract: dict[str, list[int]] = defaultdict(list)
    for address, financing_id in conn.execute(
        select(f.c.scenario_address, f.c.financing_id).where(f.c.firm == firm)
    ):
        by_contract[address].append(int(financing_id))
    docs: dict[str, tuple[int, int, int]] = {}
    for address, ids in by_contract.items():
        for chunk in _chunks(ids):
            held = (
                select(h.c.doc_type, d.c.fingerprint, d.c.face, d.c.currency, d.c.issued_day)
                .select_from(
                    h.join(
                        d, and_(d.c.doc_type == h.c.doc_type, d.c.fingerprint == h.c.fingerprint)
                    )
                )
                .where((h.c.scenario_address == address) & h.c.financing_id.in_(chunk))
            )
            for r in conn.execute(held):
                # Filtered here: a doc_type condition in SQL makes SQLite walk every export hold.
                if r.doc_type == EXPORT:
                    docs[r.fingerprint] = (int(r.face), int(r.currency), int(r.issued_day))
    totals: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for face, numeric, issued in docs.values():
        month = (EPOCH + dt.timedelta(days=issued)).strftime("%Y-%m")
        total = totals[(month, numeric)]
        total[0] += face
        total[1] += 1
    return [
        MonthlyExports(month, _money(units, numeric), count)
        for (month, numeric), (units, count) in sorted(totals.items())
    ]


def financing_record(conn: Connection, firm: str, today: dt.date) -> list[FinancingRecord]:
    f = s.financings
    today_days = (today - EPOCH).days
    overdue = and_(f.c.state.in_(LIVE), f.c.due_day.is_not(None), f.c.due_day < today_days)
    query = (
        select(
            f.c.currency,
            func.count(),
            func.sum(f.c.requested),
            func.sum(f.c.disbursed),
            func.sum(f.c.repaid),
            func.sum(case((f.c.state == int(FinancingState.CLOSED), 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .where(f.c.firm == firm)
        .group_by(f.c.currency)
        .order_by(f.c.currency)
    )
    return [
        FinancingRecord(
            count=int(count),
            requested=_money(requested, numeric),
            disbursed=_money(disbursed, numeric),
            repaid=_money(repaid, numeric),
            closed=int(closed or 0),
            overdue=int(late or 0),
        )
        for numeric, count, requested, disbursed, repaid, closed, late in conn.execute(query)
    ]


def trade_credit(conn: Connection, firm: str, today: dt.date) -> TradeCredit:
    v = s.verification_attempts
    counts: dict[int, int] = dict(
        conn.execute(
            select(v.c.reason, func.count())
            .where((v.c.firm == firm) & v.c.reason.in_([Reason.DUPLICATE, Reason.OVER_FINANCED]))
            .group_by(v.c.reason)
        ).all()
    )
    return TradeCredit(
        exports=export_volumes(conn, firm),
        financings=financing_record(conn, firm, today),
        duplicates_intercepted=int(counts.get(int(Reason.DUPLICATE), 0)),
        over_financing_intercepted=int(counts.get(int(Reason.OVER_FINANCED), 0)),
    )


def regulatory_credit(conn: Connection, firm: str) -> RegulatoryCredit:
    t = s.fx_penalties
    found = classification_of(conn, firm)
    penalties = [
        Penalty(dt.date.fromisoformat(r.day), _money(r.amount, r.currency), r.reason)
        for r in conn.execute(
            select(t.c.day, t.c.amount, t.c.currency, t.c.reason)
            .where(t.c.firm == firm)
            .order_by(t.c.day, t.c.penalty_id)
        )
    ]
    return RegulatoryCredit(
        classification=found[0] if found else None,
        since=dt.date.fromisoformat(found[1]) if found else None,
        penalties=penalties,
    )
