"""The web console end to end: headless Chromium against a real devnet, the demo consortium,
the indexer following the chain and a `crossborder serve` process.

Bank A's applicant applies (代申请), the acceptor accepts (受理), the applicant is refused the
review (审核: maker-checker), another operator approves; Bank B is refused the same declaration
(重复融资) and sees it fully used; the regulator's charts change, drill down to Bank A and its
financing, and speak English on request.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from .stack import FIRM, Stack

pytestmark = pytest.mark.integration
TIMEOUT = 20_000  # ms: a write waits for its block, the statistics for the indexer


@dataclass
class Console:
    """One operator's browser tab on the console."""

    page: Page
    stack: Stack
    errors: list[str]

    def sign_in(self, who: str) -> Console:
        page = self.page
        page.goto(f"{self.stack.url}/console/")
        page.fill("#token", self.stack.token(who))
        page.click("#sign-in")
        expect(page.locator("#who [data-account]")).to_have_attribute(
            "data-account", self.stack.account(who).lower(), timeout=TIMEOUT
        )
        return self

    def tab(self, name: str) -> None:
        self.page.click(f"#tabs [data-tab={name}]")

    def notice(self, code: str) -> str:
        box = self.page.locator("#notice")
        expect(box).to_have_attribute("data-code", code, timeout=TIMEOUT)
        return box.inner_text()

    def row(self, section: str, financing: str) -> Locator:
        return self.page.locator(f'[data-section={section}] tr[data-financing="{financing}"]')


@pytest.fixture
def open_console(browser: Browser, stack: Stack) -> Iterator[Callable[[str], Console]]:
    contexts: list[BrowserContext] = []
    consoles: list[Console] = []

    def open_one(who: str) -> Console:
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        console = Console(page, stack, errors)
        consoles.append(console)
        return console.sign_in(who)

    yield open_one
    for context in contexts:
        context.close()
    # A refused action answers 4xx, which Chromium logs as a failed resource: not a script error.
    script_errors = [e for c in consoles for e in c.errors if "Failed to load resource" not in e]
    assert not script_errors, script_errors


def chart_total(page: Page, chart: str, series: str | None = None) -> float:
    svg = page.locator(f'svg[data-chart="{chart}"]')
    if series is None:
        return float(svg.get_attribute("data-total") or 0)
    group = svg.locator(f'g[data-series="{series}"]')
    return float(group.get_attribute("data-sum") or 0) if group.count() else 0.0


def wait_for(condition: Callable[[], bool], refresh: Callable[[], None], what: str) -> None:
    """Until ``condition`` holds, refreshing now and then (the store lags the chain)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        refresh()
        time.sleep(0.5)


def test_bank_operators_work_their_queue_and_the_regulator_sees_it(
    stack: Stack, open_console: Callable[[str], Console]
) -> None:
    declaration = stack.declarations[1]

    # The regulator's charts before: Bank A's first financing, no interception yet.
    regulator = open_console("regulator")
    reg = regulator.page
    expect(reg.locator("h1")).to_have_text("监管统计")
    expect(reg.locator('svg[data-chart="financing-series"]')).to_be_visible()
    applied_before = chart_total(reg, "financing-series")
    duplicates_before = chart_total(reg, "interceptions", "duplicate")
    assert applied_before >= 40000  # Bank A's first financing

    # 代申请: Bank A's applicant applies against the declaration in full.
    applicant = open_console("Bank A/apply")
    page = applicant.page
    expect(page.locator("#who")).to_contain_text("代申请")
    applicant.tab("apply")
    page.fill("input[name=firm]", FIRM)
    page.fill("input[name=document-0]", declaration)
    page.fill("input[name=amount-0]", "100000.00")
    page.click("#apply-submit")
    text = applicant.notice("done_apply")
    found = re.search(r"#(\d+)", text)
    assert found and "USD 100,000.00" in text, text
    financing = f"receivables/{found.group(1)}"

    # 受理: the acceptor finds it in its queue and accepts it.
    acceptor = open_console("Bank A/accept")
    row = acceptor.row("to_accept", financing)
    expect(row).to_contain_text("Xiamen Seaside Trading Co.")
    row.locator("[data-action=accept]").click()
    assert "已受理" in acceptor.notice("done_accept")
    expect(acceptor.row("to_accept", financing)).to_have_count(0)

    # 审核 by the applicant: refused (maker-checker), with its Chinese term.
    applicant.tab("queue")
    row = applicant.row("to_review", financing)
    expect(row.locator("[data-mine]")).to_have_text("本人申请")
    row.locator("[data-action=approve]").click()
    refusal = applicant.notice("maker_checker_violation")
    assert "审核" in refusal and "审贷分离" in refusal, refusal
    expect(applicant.row("to_review", financing)).to_have_attribute("data-state", "accepted")

    # 审核 by another operator: approved.
    reviewer = open_console("Bank A/review")
    reviewer.row("to_review", financing).locator("[data-action=approve]").click()
    assert "已批准" in reviewer.notice("done_approve")
    applicant.page.click("#refresh")
    expect(applicant.row("my_applications", financing)).to_have_attribute("data-state", "approved")

    # Bank B: the same declaration is refused as a duplicate (重复融资) …
    other = open_console("Bank B/apply")
    other.tab("apply")
    other.page.fill("input[name=firm]", FIRM)
    other.page.fill("input[name=document-0]", declaration)
    other.page.fill("input[name=amount-0]", "50000")
    other.page.click("#apply-submit")
    duplicate = other.notice("duplicate_financing")
    assert "重复融资" in duplicate and "[5: 重复融资]" in duplicate, duplicate
    # … and the inter-bank lookup says it is fully used, never by whom.
    other.tab("lookup")
    other.page.fill("#lookup-form input[name=number]", declaration)
    other.page.click("#lookup-submit")
    document = other.page.locator("#document")
    expect(document).to_have_attribute("data-status", "fully_used")
    expect(document.locator("[data-field=remaining]")).to_have_text("USD 0.00")
    expect(document).not_to_contain_text("Bank A")

    # The regulator's charts change: the application, and a duplicate interception at Bank B.
    wait_for(
        lambda: (
            chart_total(reg, "financing-series") == applied_before + 100000
            and chart_total(reg, "interceptions", "duplicate") == duplicates_before + 1
        ),
        lambda: reg.click("#refresh"),
        "the regulator's charts show the application and the interception",
    )
    bank_b = next(p["id"] for p in stack_directory(reg) if p.get("name") == "Bank B")
    expect(reg.locator(f'tr[data-bank="{bank_b}"] [data-field=duplicates]')).to_have_text("1")
    expect(reg.locator('svg[data-chart="interceptions"] [data-legend=duplicate]')).to_contain_text(
        "重复融资"
    )
    expect(
        reg.locator('svg[data-chart="interceptions"] [data-legend="over-financing"]')
    ).to_contain_text("超额融资")

    # Drill down: Bank A, then the financing and its history.
    bank_a = next(p["id"] for p in stack_directory(reg) if p.get("name") == "Bank A")
    reg.click(f'tr[data-bank="{bank_a}"]')
    expect(reg.locator("#drill h2")).to_contain_text("Bank A")
    reg.click(f'#bank-financings tr[data-financing="{financing}"]')
    drawer = reg.locator("#drawer")
    expect(drawer.locator("li[data-action=approved]")).to_be_visible()
    expect(drawer.locator("li[data-action=accepted]")).to_be_visible()
    expect(drawer).to_contain_text("已批准")

    # English on request, charts included; Chinese again.
    reg.click("#lang-en")
    expect(reg.locator("#drawer")).to_contain_text("approved")
    reg.click("#drawer-close")
    reg.click("#drill-up")
    expect(reg.locator("h1")).to_have_text("Supervisory statistics")
    legend = reg.locator('svg[data-chart="interceptions"] [data-legend=duplicate]')
    expect(legend).to_have_text("Duplicate")
    expect(reg.locator("#chart-series")).to_contain_text("Period (UTC+8)")
    reg.click("#lang-zh")
    expect(legend).to_have_text("重复融资")


def stack_directory(page: Page) -> list[dict[str, str]]:
    """The directory as the page's own token reads it."""
    result: list[dict[str, str]] = page.evaluate(
        """async () => {
            const token = sessionStorage.getItem("crossborder.console.token");
            const r = await fetch("/v1/directory", {headers: {Authorization: `Bearer ${token}`}});
            return (await r.json()).participants;
        }"""
    )
    return result


def test_the_console_is_served_by_the_gateway_alone(browser: Browser, stack: Stack) -> None:
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        response = page.goto(f"{stack.url}/")  # the root leads to the console
        assert response is not None and response.url == f"{stack.url}/console/"
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        expect(page.locator("#sign-in")).to_have_text("登录")
        page.fill("#token", "cbt_not-a-token")
        page.click("#sign-in")
        expect(page.locator("#notice")).to_have_attribute("data-code", "unauthenticated")
    finally:
        context.close()
    foreign = [url for url in requested if not url.startswith(stack.url)]
    assert not foreign, foreign
    assert any(url.endswith("/console/app.js") for url in requested)
