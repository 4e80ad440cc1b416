"""Rendering a report: a terminal table, CSV, XLSX, JSON, and a PNG chart."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import defaultdict
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ..errors import InvalidInput
from ..indexer.schema import REPORTING_TZ, REPORTING_TZ_NAME
from .model import Column, Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("table", "csv", "xlsx", "json")


def _text(column: Column, value: Any) -> str:
    if value is None:
        return "-"
    if column.kind == "amount":
        return f"{value:,}"
    if column.kind == "int":
        return f"{value:,}"
    return str(value)


def rich_table(report: Report) -> Table:
    """The report as a rich table with bilingual headers (中文 above English); its title says
    whose rows it shows and the time zone of its days."""
    table = Table(
        title=f"{report.title}\n[dim]{report.scope} · {report.zone_note}[/]", show_lines=False
    )
    for column in report.columns:
        table.add_column(
            f"{column.zh}\n{column.english}",
            justify="right" if column.numeric else "left",
            overflow="fold",
        )
    for row in report.rows:
        table.add_row(*(_text(c, row.get(c.key)) for c in report.columns))
    return table


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_json(report: Report) -> str:
    """JSON with amounts as exact decimal strings, and the time zone of its days."""
    offset = REPORTING_TZ.utcoffset(None)
    hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
    document = {
        "report": report.name,
        "title": {"zh": report.zh, "en": report.en},
        "scope": report.scope,
        "time_zone": {"name": REPORTING_TZ_NAME, "utc_offset": f"{hours:+03d}:{minutes:02d}"},
        "columns": [
            {"key": c.key, "zh": c.zh, "en": c.english, "kind": c.kind} for c in report.columns
        ],
        "rows": [
            {c.key: _json_value(row.get(c.key)) for c in report.columns} for row in report.rows
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def to_csv(report: Report) -> str:
    """CSV with ``中文 / English`` headers (a day or month column names its time zone); amounts
    exact, without thousands separators."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in report.columns])
    for row in report.rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in report.columns])
    return out.getvalue()


def write_xlsx(report: Report, path: Path) -> None:
    """An Excel workbook with one sheet; amounts are written as exact decimal numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = report.name[:31]
    sheet.append([report.title])
    sheet.append([f"{report.scope} · {report.zone_note}"])
    sheet.append([f"{c.zh}\n{c.english}" for c in report.columns])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for row in report.rows:
        sheet.append([row.get(c.key) for c in report.columns])
    for index, column in enumerate(report.columns, start=1):
        if column.kind == "amount":
            for (cell,) in sheet.iter_rows(min_row=4, min_col=index, max_col=index):
                cell.number_format = "#,##0.00"
    book.save(path)


def write(report: Report, fmt: str, path: Path | None) -> str | None:
    """Render in ``fmt``; returns the text for stdout when no path is given.

    Raises:
        InvalidInput: An unknown format, or XLSX without a file to write.
    """
    if fmt == "json":
        text = to_json(report)
    elif fmt == "csv":
        text = to_csv(report)
    elif fmt == "xlsx":
        if path is None:
            raise InvalidInput("--format xlsx needs --output FILE.xlsx")
        write_xlsx(report, path)
        return None
    else:
        raise InvalidInput(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if path is None:
        return text
    path.write_text(text, encoding="utf-8")
    return None


# Debian's fonts-noto-cjk: the family the PNG charts draw Chinese labels with.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP")
log = logging.getLogger("crossborder.reports")


@cache
def cjk_font() -> str | None:
    """The Noto Sans CJK family matplotlib can draw Chinese with, or None when it is missing.

    Fonts installed after matplotlib built its font cache are not in it: the system's Noto CJK
    files are then added to the font manager here, once.
    """
    from matplotlib import font_manager

    def found() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        for family in CJK_FAMILIES:
            if family in names:
                return family
        return next((n for n in sorted(names) if n.startswith("Noto Sans CJK")), None)

    family = found()
    if family is None:
        for path in font_manager.findSystemFonts():
            if "notosanscjk" in Path(path).name.lower().replace("-", ""):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        family = found()
    return family


def _unit(report: Report, value_key: str, currencies: set[str], chinese: bool) -> str:
    """What a value axis counts: the currency of amounts (or that each is in its own)."""
    column = next(c for c in report.columns if c.key == value_key)
    if column.kind != "amount":
        return ""
    if len(currencies) == 1:
        return f" ({next(iter(currencies))})"
    each = "各币种原币 each in its currency" if chinese else "each in its currency"
    return f" ({', '.join(sorted(currencies))}: {each})"


def chart_figure(report: Report) -> Figure:
    """The report's chart (time series or breakdown) as a matplotlib figure; the caller closes
    it (``plt.close``).

    A time series sums the value per period and currency; a breakdown sums it per label. Labels
    are Chinese and English in Noto Sans CJK (Debian's fonts-noto-cjk); without that font, in
    English only, said in one warning line. A value axis names its unit (the currency).

    Raises:
        InvalidInput: The report has no chart or no rows.
    """
    if report.chart is None:
        raise InvalidInput(f"the {report.name} report has no chart")
    if not report.rows:
        raise InvalidInput("nothing to chart: the report has no rows")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    family = cjk_font()
    chinese = family is not None
    if not chinese:
        log.warning(
            "no CJK font (Noto Sans CJK, Debian's fonts-noto-cjk) found: chart labels in English"
        )

    def label(column: Column) -> str:
        return f"{column.zh} {column.english}" if chinese else column.english

    kind, x_key, y_key = report.chart
    columns = {c.key: c for c in report.columns}
    currencies = {str(row["currency"]) for row in report.rows if row.get("currency")}
    y_label = label(columns[y_key]) + _unit(report, y_key, currencies, chinese)
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    with plt.rc_context({"font.family": fonts}):
        figure, axes = plt.subplots(figsize=(10, 5.5))
        if kind == "series":
            series: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
            for row in report.rows:
                series[row.get("currency", "")][row[x_key]] += row[y_key] or 0
            periods = sorted({p for values in series.values() for p in values})
            for currency, values in sorted(series.items()):
                axes.plot(
                    periods, [float(values.get(p, 0)) for p in periods], marker="o", label=currency
                )
            axes.set_xlabel(label(columns[x_key]))
            axes.set_ylabel(y_label)
            if columns[y_key].kind == "amount":
                axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            axes.legend(title="币种 currency" if chinese else "currency")
            axes.tick_params(axis="x", rotation=45)
        else:
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for row in report.rows:
                text = str(row[x_key])
                if "currency" in row and columns[y_key].kind == "amount":
                    text = f"{text} ({row['currency']})"
                totals[text] += Decimal(row[y_key] or 0)
            labels = sorted(totals, key=lambda k: totals[k])
            axes.barh([_short(k, chinese) for k in labels], [float(totals[k]) for k in labels])
            axes.set_xlabel(y_label)
            axes.set_ylabel(label(columns[x_key]))
            if columns[y_key].kind == "amount":
                axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            else:  # counts: no fractional ticks
                axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(f"{report.zh} {report.en}" if chinese else report.en)
        figure.tight_layout()
    return figure


def write_chart(report: Report, path: Path) -> None:
    """Draw the report's chart (``chart_figure``) into a PNG.

    Raises:
        InvalidInput: The report has no chart or no rows.
    """
    import matplotlib.pyplot as plt

    figure = chart_figure(report)
    try:
        figure.savefig(path, dpi=120)
    finally:
        plt.close(figure)


def _short(label: str, chinese: bool = False) -> str:
    # Fingerprints are long; without a CJK font, only a label's English part can be drawn.
    if label.startswith("0x") and len(label) > 14:
        return label[:10] + "…"
    if chinese:
        return label
    ascii_part = "".join(ch for ch in label if ord(ch) < 128).strip()
    return ascii_part or label
