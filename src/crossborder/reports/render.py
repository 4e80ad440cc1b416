"""Rendering a report: a terminal table, CSV, XLSX, JSON, and a PNG chart."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.table import Table

from ..errors import InvalidInput
from ..indexer.schema import REPORTING_TZ, REPORTING_TZ_NAME
from .model import Column, Report

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


def write_chart(report: Report, path: Path) -> None:
    """Draw the report's chart (time series or breakdown) into a PNG.

    A time series sums the value per period and currency; a breakdown sums it per label.

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
    from matplotlib.ticker import MaxNLocator

    kind, x_key, y_key = report.chart
    columns = {c.key: c for c in report.columns}
    # English labels: the default fonts have no CJK glyphs.
    y_label = columns[y_key].en
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
        axes.set_xlabel(columns[x_key].english)
        axes.legend()
        axes.tick_params(axis="x", rotation=45)
    else:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in report.rows:
            label = str(row[x_key])
            if "currency" in row and columns[y_key].kind == "amount":
                label = f"{label} ({row['currency']})"
            totals[label] += Decimal(row[y_key] or 0)
        labels = sorted(totals, key=lambda k: totals[k])
        axes.barh([_short(k) for k in labels], [float(totals[k]) for k in labels])
        axes.set_xlabel(y_label)
        if columns[y_key].kind != "amount":  # counts: no fractional ticks
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(report.en)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _short(label: str) -> str:
    # Fingerprints are long; CJK glyphs may be missing from the default font, English is not.
    if label.startswith("0x") and len(label) > 14:
        return label[:10] + "…"
    ascii_part = "".join(ch for ch in label if ord(ch) < 128).strip()
    return ascii_part or label
