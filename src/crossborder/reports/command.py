"""``crossborder report NAME``: the seed statistics from the reporting store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..chain.deployment import Deployment
from ..cli.common import console, err_console, friendly
from ..domain.ids import ParticipantIds
from ..domain.money import currency
from ..errors import InvalidInput
from ..indexer.store import default_db_url, open_for_reading
from ..settings import get_settings
from .model import SCENARIO_CODES, Filters, Scope
from .names import load_names, namer
from .queries import REPORTS
from .render import FORMATS, rich_table, write, write_chart
from .scope import scope_of


def _ids(deployment: Deployment | None) -> ParticipantIds:
    """How this process names participants: the regulator's directory (its key, or the
    published devnet key on the project's own devnet), else this member's id book."""
    return get_settings().participant_ids(deployment.chain_id if deployment else 0)


def _deployment(path: Path) -> Deployment | None:
    """The deployment file, if there is one: reports read the store, not the chain, and need
    it only for the regulator's admin account and the devnet's key.

    Raises:
        NotDeployed: The file exists but is malformed or incomplete.
    """
    if not path.exists():
        return None
    return Deployment.load(path)


def _participant(value: str, ids: ParticipantIds) -> str:
    """A participant id: ``0x`` id as given, or a USCC resolved through ``ids``."""
    if value.startswith("0x") and len(value) == 66:
        return value.lower()
    return "0x" + ids.participant(value).hex()


@click.command("report")
@click.argument("name", type=click.Choice(sorted(REPORTS)))
@click.option("--db", "db_url", help="SQLAlchemy URL of the store [default: sqlite in .devnet/]")
@click.option("--as", "account", help="your operator account: a bank statistician's scope")
@click.option("--regulator", is_flag=True, help="the regulator's view of all banks")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="first day")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="last day")
@click.option("--bank", help="only this bank (USCC or 0x id), with its branches")
@click.option("--currency", "currency_code", help="only this currency (ISO 4217, e.g. USD)")
@click.option(
    "--scenario", type=click.Choice(list(SCENARIO_CODES)), help="only this financing scenario"
)
@click.option("--period", type=click.Choice(["day", "month"]), default="month", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="write to this file")
@click.option("--chart", type=click.Path(path_type=Path), help="also draw a PNG chart")
@click.option("--names", type=click.Path(path_type=Path), help="CSV of uscc,name to show names")
@click.option("--deployment", "deployment_file", type=click.Path(path_type=Path))
@friendly
def report_cmd(
    name: str,
    db_url: str | None,
    account: str | None,
    regulator: bool,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    bank: str | None,
    currency_code: str | None,
    scenario: str | None,
    period: str,
    fmt: str,
    output: Path | None,
    chart: Path | None,
    names: Path | None,
    deployment_file: Path | None,
) -> None:
    """Print a report: firm-stats (企业融资信息统计), financing-report (企业融资情况报表),
    verification-failures (报关单核验失败统计), interceptions (重复/超额融资拦截).

    Every report covers every financing scenario (receivables, policy, logistics), each row
    naming its own; --scenario keeps one. Days (--from, --to, the day and month columns) are
    China Standard Time (UTC+8) days.
    """
    settings = get_settings()
    if regulator == (account is not None):
        raise InvalidInput("say who asks: --as ACCOUNT (a bank statistician) or --regulator")
    if fmt == "table" and output is not None:
        raise InvalidInput("--output needs --format csv, xlsx or json")
    deployment = _deployment(deployment_file or settings.deployment_path)
    ids = _ids(deployment)
    filters = Filters(
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        bank=_participant(bank, ids) if bank else None,
        currency=currency(currency_code).numeric if currency_code else None,
        scenario=SCENARIO_CODES[scenario] if scenario else None,
        period="day" if period == "day" else "month",
    )
    show = namer({})
    if names is not None:
        show = namer(load_names(names, ids))
    engine = open_for_reading(db_url or settings.db_url or default_db_url(settings.devnet_dir))
    try:
        with engine.connect() as conn:
            if account is not None:
                admin = deployment.regulator if deployment is not None else None
                scope = scope_of(conn, account, admin)
            else:
                scope = Scope(bank=None)
            report = REPORTS[name](conn, scope, filters, show)
    finally:
        engine.dispose()
    if fmt == "table":
        console.print(rich_table(report))
    else:
        text = write(report, fmt, output)
        if text is not None:
            click.echo(text, nl=False)
    if chart is not None:
        write_chart(report, chart)
        err_console.print(f"chart written to {chart}", style="dim")
