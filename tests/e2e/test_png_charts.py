"""The PNG charts of `crossborder report --chart` in Chinese: Noto Sans CJK (Debian's
fonts-noto-cjk, installed by scripts/chromium.sh with the browser), labels in Chinese and
English, the financing report's amount axis naming its currency; without the font, English
labels and one warning line."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from crossborder.reports import render
from crossborder.reports.model import Column, Report

from .conftest import require_system_package


def financing_report(currencies: tuple[str, ...] = ("USD",)) -> Report:
    rows = [
        {"period": day, "currency": c, "disbursed": Decimal(amount)}
        for c in currencies
        for day, amount in (("2026-11-01", "120000.00"), ("2026-11-02", "80000.50"))
    ]
    return Report(
        name="financing-report",
        zh="企业融资情况报表",
        en="Enterprise financing report",
        columns=[
            Column("period", "期间", "period", "day"),
            Column("currency", "币种", "currency"),
            Column("disbursed", "放款金额", "disbursed amount", "amount"),
        ],
        rows=rows,
        scope="regulator: all banks",
        chart=("series", "period", "disbursed"),
    )


def failures_report() -> Report:
    return Report(
        name="verification-failures",
        zh="报关单核验失败统计",
        en="Declaration verification failure statistics",
        columns=[
            Column("reason", "失败原因", "reason"),
            Column("failures", "失败笔数", "failures", "int"),
        ],
        rows=[
            {"reason": "重复融资 duplicate", "failures": 3},
            {"reason": "超额融资 over-financing", "failures": 2},
        ],
        scope="regulator: all banks",
        chart=("bars", "reason", "failures"),
    )


def texts(figure: Figure) -> list[str]:
    (axes,) = figure.axes
    labels = [axes.get_title(), axes.get_xlabel(), axes.get_ylabel()]
    return labels + [t.get_text() for t in axes.get_yticklabels()]


def test_png_charts_draw_chinese_labels_in_noto_sans_cjk(tmp_path: Path) -> None:
    require_system_package("fonts-noto-cjk", render.cjk_font() is not None)
    family = render.cjk_font()
    assert family is not None and family.startswith("Noto Sans CJK")
    figure = render.chart_figure(financing_report())
    try:
        title, x_label, y_label, *_ = texts(figure)
        assert title == "企业融资情况报表 Enterprise financing report"
        assert y_label == "放款金额 disbursed amount (USD)"  # the amount axis names its unit
        assert x_label == "期间 period (UTC+8)"
        (axes,) = figure.axes
        assert axes.title.get_fontfamily()[0] == family
    finally:
        plt.close(figure)
    figure = render.chart_figure(failures_report())
    try:
        _, x_label, _, *ticks = texts(figure)
        assert x_label == "失败笔数 failures"
        assert "重复融资 duplicate" in ticks and "超额融资 over-financing" in ticks
    finally:
        plt.close(figure)
    with _no_missing_glyphs():
        render.write_chart(financing_report(("USD", "EUR")), tmp_path / "financing.png")
    assert (tmp_path / "financing.png").read_bytes()[:4] == b"\x89PNG"


@contextmanager
def _no_missing_glyphs() -> Iterator[None]:
    """Fails when matplotlib says a glyph is missing from the fonts it drew with."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:3]


def test_several_currencies_say_each_line_is_in_its_own(tmp_path: Path) -> None:
    require_system_package("fonts-noto-cjk", render.cjk_font() is not None)
    figure = render.chart_figure(financing_report(("USD", "EUR")))
    try:
        assert (
            texts(figure)[2]
            == "放款金额 disbursed amount (EUR, USD: 各币种原币 each in its currency)"
        )
    finally:
        plt.close(figure)


def test_without_the_font_the_labels_are_english_and_one_line_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(render, "cjk_font", lambda: None)
    with caplog.at_level(logging.WARNING, logger="crossborder.reports"):
        figure = render.chart_figure(failures_report())
    try:
        title, x_label, _, *ticks = texts(figure)
        assert title == "Declaration verification failure statistics"
        assert x_label == "failures"
        assert set(ticks) == {"over-financing", "duplicate"}
    finally:
        plt.close(figure)
    (warning,) = [r for r in caplog.records if r.name == "crossborder.reports"]
    assert "\n" not in warning.getMessage() and "fonts-noto-cjk" in warning.getMessage()
