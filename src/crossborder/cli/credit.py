"""``crossborder credit``: 授权查证 (the firm authorises, the bank queries, the regulator keeps the
regulatory table) and 融资授信银企对接 (outlets, requests, match, accept, grant or decline).

The firm's authorisation is a consent file like ``crossborder consent sign`` writes (scenario
CREDIT_QUERY); the bank submits it with ``crossborder consent submit``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from ..chain.signers import LocalSigner
from ..domain.codes import CreditPurpose, CreditScope, DeclineReason
from ..domain.money import Money
from ..errors import InvalidInput
from ..settings import get_settings
from .common import console, friendly
from .consent import refuse_overwrite, write_consent

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..services.platform import Platform

SCOPES = {
    "basic": CreditScope.BASIC,
    "trade": CreditScope.TRADE,
    "regulatory": CreditScope.REGULATORY,
}
KEYSTORE = click.option("--keystore", type=click.Path(path_type=Path), required=True)
DB = click.option(
    "--db", "db_url", help="SQLAlchemy URL of the store [default: sqlite in .devnet/]"
)


def parse_scope(text: str) -> CreditScope:
    """``basic,trade,regulatory`` (or ``all``) as scope flags."""
    if text.strip().lower() == "all":
        return CreditScope.ALL
    scope = CreditScope(0)
    for part in text.lower().split(","):
        if part.strip() not in SCOPES:
            raise InvalidInput(f"scope {part.strip()!r}: basic, trade, regulatory or all")
        scope |= SCOPES[part.strip()]
    return scope


def _platform() -> Platform:
    from ..services.platform import Platform

    return Platform.connect()


def _store_url(db_url: str | None) -> str:
    from ..indexer.store import default_db_url

    settings = get_settings()
    return db_url or settings.db_url or default_db_url(settings.devnet_dir)


def _writer(db_url: str | None) -> Engine:
    from ..indexer.store import Store

    store = Store(_store_url(db_url))
    store.create()
    return store.engine


@click.group()
def credit() -> None:
    """授权查证 credit-information query and 融资授信银企对接 credit matching."""


# 授权查证 ---------------------------------------------------------------------------------------


@credit.command("authorise")
@KEYSTORE
@click.option("--firm", required=True, help="the firm's USCC")
@click.option("--bank", required=True, help="the bank it authorises")
@click.option(
    "--scope", "scope_text", default="all", show_default=True, help="basic,trade,regulatory"
)
@click.option("--days", type=click.IntRange(1, 3660), default=365, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@friendly
def authorise_cmd(
    keystore: Path, firm: str, bank: str, scope_text: str, days: int, output: Path
) -> None:
    """The firm signs an authorisation of BANK (a consent file; the bank submits it with
    `crossborder consent submit`)."""
    from ..services import credit_query

    refuse_overwrite(output)
    scope = parse_scope(scope_text)
    platform = _platform()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    signed = credit_query.authorise(
        platform, LocalSigner.from_keystore(keystore), firm, bank, until, scope
    )
    write_consent(signed, platform, output, firm)
    console.print(f"authorisation of {bank} for {scope.name} until {until:%Y-%m-%d} → {output}")


@credit.command("revoke")
@KEYSTORE
@click.option("--firm", required=True)
@click.option("--bank", required=True)
@friendly
def revoke_cmd(keystore: Path, firm: str, bank: str) -> None:
    """The firm (or the regulator) revokes its live authorisation of BANK."""
    from ..services import credit_query

    credit_query.revoke(_platform(), LocalSigner.from_keystore(keystore), firm, bank)
    console.print("authorisation revoked")


@credit.command("query")
@KEYSTORE
@click.option("--firm", required=True, help="the firm's USCC")
@click.option(
    "--scope", "scope_text", default="all", show_default=True, help="basic,trade,regulatory"
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@DB
@friendly
def query_cmd(keystore: Path, firm: str, scope_text: str, fmt: str, db_url: str | None) -> None:
    """查证: records the query on chain (refused ones too), then shows the credit profile."""
    from ..credit.profile import query_profile
    from ..indexer.store import open_for_reading
    from ..services.credit_query import CreditQueryDesk

    scope = parse_scope(scope_text)
    engine = open_for_reading(_store_url(db_url))
    try:
        desk = CreditQueryDesk(_platform(), LocalSigner.from_keystore(keystore))
        with engine.connect() as conn:
            found = query_profile(desk, conn, firm, scope)
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps(_plain(dataclasses.asdict(found)), indent=2, ensure_ascii=False))
        return
    _show_profile(found)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency.code}
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, CreditScope):
        return int(value)
    return value


def _show_profile(found: Any) -> None:
    console.print(
        f"credit profile of 0x{found.firm.hex()} (query #{found.query_id}, {found.scope.name})"
    )
    if found.basic is not None:
        b = found.basic
        console.print(
            f"基础 basic: {'active' if b.active else 'deactivated'}, onboarded "
            f"{b.onboarded_at:%Y-%m-%d}, {b.services_open} service(s) open"
        )
    if found.trade is not None:
        table = Table(title="贸易信用 trade credit: exports cited by its financings")
        for header in ("month", "declarations", "amount"):
            table.add_column(header)
        for m in found.trade.exports:
            table.add_row(m.month, str(m.declarations), str(m.amount))
        console.print(table)
        table = Table(title="融资记录 financing record")
        for header in ("financings", "requested", "disbursed", "repaid", "closed", "overdue"):
            table.add_column(header)
        for f in found.trade.financings:
            table.add_row(
                str(f.count),
                str(f.requested),
                str(f.disbursed),
                str(f.repaid),
                str(f.closed),
                str(f.overdue),
            )
        console.print(table)
        console.print(
            f"拦截 interceptions: {found.trade.duplicates_intercepted} duplicate, "
            f"{found.trade.over_financing_intercepted} over-financing"
        )
    if found.regulatory is not None:
        r = found.regulatory
        console.print(
            f"监管信用 FX classification: {r.classification or '-'} since {r.since or '-'}"
        )
        for p in r.penalties:
            console.print(f"  penalty {p.day}: {p.amount} — {p.reason}")


@credit.command("classify")
@KEYSTORE
@click.option("--firm", required=True)
@click.option("--class", "fx_class", type=click.Choice(["A", "B", "C"]), required=True)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), required=True)
@DB
@friendly
def classify_cmd(
    keystore: Path, firm: str, fx_class: str, since: dt.datetime, db_url: str | None
) -> None:
    """The regulator sets a firm's FX classification (外汇管理分类 A/B/C)."""
    from ..credit.regulatory import RegulatoryDesk

    engine = _writer(db_url)
    try:
        desk = RegulatoryDesk(_platform(), engine, LocalSigner.from_keystore(keystore))
        desk.classify(firm, fx_class, since.date())
    finally:
        engine.dispose()
    console.print(f"{firm}: class {fx_class} since {since:%Y-%m-%d}")


@credit.command("penalty")
@KEYSTORE
@click.option("--firm", required=True)
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--amount", "fine", required=True, help="e.g. 5000.00")
@click.option("--currency", "currency_code", default="CNY", show_default=True)
@click.option("--reason", required=True)
@DB
@friendly
def penalty_cmd(
    keystore: Path,
    firm: str,
    day: dt.datetime,
    fine: str,
    currency_code: str,
    reason: str,
    db_url: str | None,
) -> None:
    """The regulator records a penalty (行政处罚) on a firm."""
    from ..credit.regulatory import RegulatoryDesk

    money = Money(Decimal(_decimal(fine)), currency_code)
    engine = _writer(db_url)
    try:
        desk = RegulatoryDesk(_platform(), engine, LocalSigner.from_keystore(keystore))
        penalty_id = desk.add_penalty(firm, day.date(), money, reason)
    finally:
        engine.dispose()
    console.print(f"penalty #{penalty_id} recorded: {money}")


def _decimal(text: str) -> str:
    try:
        Decimal(text)
    except ArithmeticError:
        raise InvalidInput(f"{text!r} is not an amount") from None
    return text


# 融资授信银企对接 ------------------------------------------------------------------------------


@credit.group("outlet")
def outlet() -> None:
    """融资授信业务办理银行信息维护: a bank's outlets that handle credit."""


def _outlet(name: str, region: int, contact: str) -> Any:
    from ..services.credit_matching import Outlet

    return Outlet(name, region, contact)


def _desk(keystore: Path) -> Any:
    from ..services.credit_matching import CreditMatchingDesk

    return CreditMatchingDesk(_platform(), LocalSigner.from_keystore(keystore))


@outlet.command("add")
@KEYSTORE
@click.option("--name", required=True)
@click.option("--region", type=int, required=True, help="six-digit region code")
@click.option("--contact", required=True)
@friendly
def outlet_add(keystore: Path, name: str, region: int, contact: str) -> None:
    """Adds an outlet of the operator's bank."""
    outlet_id = _desk(keystore).add_outlet(_outlet(name, region, contact))
    console.print(f"outlet #{outlet_id} added")


@outlet.command("update")
@KEYSTORE
@click.argument("outlet_id", type=int)
@click.option("--name", required=True)
@click.option("--region", type=int, required=True)
@click.option("--contact", required=True)
@friendly
def outlet_update(keystore: Path, outlet_id: int, name: str, region: int, contact: str) -> None:
    """Updates an open outlet of the operator's bank."""
    _desk(keystore).update_outlet(outlet_id, _outlet(name, region, contact))
    console.print(f"outlet #{outlet_id} updated")


@outlet.command("close")
@KEYSTORE
@click.argument("outlet_id", type=int)
@friendly
def outlet_close(keystore: Path, outlet_id: int) -> None:
    """Closes an outlet: nothing more is matched to it."""
    _desk(keystore).close_outlet(outlet_id)
    console.print(f"outlet #{outlet_id} closed")


@credit.command("request")
@KEYSTORE
@click.option("--bank", required=True, help="the bank's USCC")
@click.option("--amount", "asked", required=True)
@click.option("--currency", "currency_code", required=True)
@click.option(
    "--purpose", type=click.Choice([p.name.lower() for p in CreditPurpose]), required=True
)
@click.option("--outlet", "outlet_id", type=int, default=0, help="a preferred outlet")
@click.option("--region", type=int, default=0, help="or a preferred six-digit region")
@friendly
def request_cmd(
    keystore: Path,
    bank: str,
    asked: str,
    currency_code: str,
    purpose: str,
    outlet_id: int,
    region: int,
) -> None:
    """企业融资授信申请: the firm's own account asks BANK for credit."""
    from ..services.credit_matching import request_credit

    money = Money(Decimal(_decimal(asked)), currency_code)
    rid = request_credit(
        _platform(),
        LocalSigner.from_keystore(keystore),
        bank,
        money,
        CreditPurpose[purpose.upper()],
        outlet_id=outlet_id,
        region=region,
    )
    console.print(f"credit request #{rid}: {money}")


@credit.command("match")
@KEYSTORE
@click.argument("request_id", type=int)
@click.argument("outlet_id", type=int)
@friendly
def match_cmd(keystore: Path, request_id: int, outlet_id: int) -> None:
    """对接: matches a request to one of the bank's outlets."""
    _desk(keystore).match(request_id, outlet_id)
    console.print(f"request #{request_id} matched to outlet #{outlet_id}")


@credit.command("accept")
@KEYSTORE
@click.argument("request_id", type=int)
@friendly
def accept_cmd(keystore: Path, request_id: int) -> None:
    """受理: accepts a matched request."""
    _desk(keystore).accept(request_id)
    console.print(f"request #{request_id} accepted")


@credit.command("grant")
@KEYSTORE
@click.argument("request_id", type=int)
@click.option("--amount", "granted", required=True)
@click.option("--currency", "currency_code", required=True)
@click.option("--term", "term_days", type=int, required=True, help="days")
@friendly
def grant_cmd(
    keystore: Path, request_id: int, granted: str, currency_code: str, term_days: int
) -> None:
    """Grants an accepted request."""
    money = Money(Decimal(_decimal(granted)), currency_code)
    _desk(keystore).grant(request_id, money, term_days)
    console.print(f"request #{request_id} granted {money} for {term_days} days")


@credit.command("decline")
@KEYSTORE
@click.argument("request_id", type=int)
@click.option("--reason", type=click.Choice([r.name.lower() for r in DeclineReason]), required=True)
@friendly
def decline_cmd(keystore: Path, request_id: int, reason: str) -> None:
    """Declines a request not yet decided."""
    _desk(keystore).decline(request_id, DeclineReason[reason.upper()])
    console.print(f"request #{request_id} declined ({reason})")


@credit.command("status")
@click.argument("request_id", type=int)
@friendly
def status_cmd(request_id: int) -> None:
    """The status of a credit request (the firm's view), overdue when unmatched too long."""
    from ..reports.credit import MATCH_DEADLINE_DAYS
    from ..services.credit_matching import request_status

    st = request_status(_platform(), request_id)
    late = dt.datetime.now(dt.UTC) - st.requested_at > dt.timedelta(days=MATCH_DEADLINE_DAYS)
    overdue = (
        " (overdue: not matched)"
        if st.matched_at is None and st.decided_at is None and late
        else ""
    )
    console.print(f"request #{request_id}: {st.state.name.lower()}{overdue}, asked {st.amount}")
    if st.granted is not None:
        console.print(f"granted {st.granted} for {st.term_days} days")
    if st.reason is not None:
        console.print(f"declined: {st.reason.name.lower()}")
