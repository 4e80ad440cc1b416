"""Reports over a store filled by folding hand-made events (no chain): numbers, scope, filters,
names and every output format."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from crossborder.domain.fingerprint import Fingerprinter
from crossborder.domain.identifiers import make_uscc
from crossborder.errors import InvalidInput
from crossborder.indexer import Store
from crossborder.indexer.events import Event
from crossborder.indexer.store import BlockInfo
from crossborder.reports import REPORTS, Filters, Scope
from crossborder.reports.names import load_names, namer
from crossborder.reports.render import rich_table, to_csv, to_json, write, write_chart

KEY = b"unit-test-consortium-key-000000"
FP = Fingerprinter(KEY)
SCENARIO = "0x" + "ab" * 20
LEDGER = "0x" + "cd" * 20
ZERO = "0x" + "00" * 32
DAY = 86_400
T0 = 1_735_660_800  # 2025-01-01 00:00 CST is 2024-12-31 16:00 UTC; this is 08:00 CST
FIRM_USCC = make_uscc("91350200MA2Y00001")
FIRM = "0x" + FP.participant(FIRM_USCC).hex()
BANK_A, BRANCH, BANK_B = ("0x" + f"{n:064x}" for n in (0xA, 0xA1, 0xB))


EXPORT = 1


def h(n: int) -> str:
    return "0x" + f"{n:064x}"


def record(face: int, currency: int = 840, registrar: int = 1, issued: int = 20000) -> int:
    """A DocumentRegistered record (``chain.packing``'s layout; nothing held yet)."""
    return face | currency << 128 | registrar << 144 | issued << 160


class Chain:
    """Builds events block by block, as the indexer would decode them."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.block = 0
        self.time = T0

    def at(self, days: float) -> None:
        self.block += 1
        self.time = T0 + int(days * DAY)

    def emit(self, name: str, address: str, topic1: str, **args: object) -> None:
        index = sum(1 for e in self.events if e.block_number == self.block)
        self.events.append(
            Event(self.block, index, h(self.block), self.time, h(0), address, name, topic1, args)
        )

    def store(self, url: str) -> Store:
        store = Store(url, {SCENARIO: 1})
        store.create()
        blocks = sorted({(e.block_number, e.block_time) for e in self.events})
        infos = [BlockInfo(n, h(n), t) for n, t in blocks]
        store.commit_range(self.events, infos, infos[-1])
        return store


def _financing(c: Chain, fid: int, bank: str, doc: int, amount: int, currency: int = 840) -> None:
    c.emit(
        "AmountHeld",
        LEDGER,
        h(doc),
        fingerprint=h(doc),
        scenario=SCENARIO,
        financing_id=fid,
        doc_type=EXPORT,
        amount=amount,
        held=amount,
    )
    c.emit(
        "FinancingApplied",
        SCENARIO,
        h(fid),
        financing_id=fid,
        bank=bank,
        firm=FIRM,
        applicant="0x" + "11" * 20,
        currency=currency,
        amount=amount,
        documents=1,
    )


def _op(c: Chain, name: str, fid: int, **args: object) -> None:
    c.emit(name, SCENARIO, h(fid), financing_id=fid, operator="0x" + "22" * 20, **args)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    c = Chain()
    c.at(0)
    c.emit(
        "ParticipantOnboarded",
        LEDGER,
        BANK_A,
        participant=BANK_A,
        kind=2,
        parent=ZERO,
        by="0x" + "99" * 20,
    )
    c.emit(
        "ParticipantOnboarded",
        LEDGER,
        BRANCH,
        participant=BRANCH,
        kind=2,
        parent=BANK_A,
        by="0x" + "99" * 20,
    )
    c.emit(
        "ParticipantOnboarded",
        LEDGER,
        BANK_B,
        participant=BANK_B,
        kind=2,
        parent=ZERO,
        by="0x" + "99" * 20,
    )
    for doc, face in ((1, 100_000), (2, 50_000), (3, 80_000)):
        c.emit(
            "DocumentRegistered",
            LEDGER,
            h(doc),
            fingerprint=h(doc),
            doc_type=EXPORT,
            record=record(face),
        )
    c.at(1)  # 2025-01-02
    _financing(c, 1, BANK_A, 1, 100_000)
    c.at(1.5)
    _op(c, "FinancingAccepted", 1)
    _op(c, "FinancingReviewed", 1, approved=True)
    c.at(2)  # disbursed one day after applying
    _op(c, "DisbursementRegistered", 1, amount=90_000, value_date=20090, due_date=20180)
    c.at(3)
    _op(c, "RepaymentRegistered", 1, amount=40_000, repaid=40_000, closed=False)
    c.at(4)
    c.emit(
        "VerificationFailed",
        SCENARIO,
        BANK_B,
        bank=BANK_B,
        firm=FIRM,
        fingerprint=h(1),
        doc_type=EXPORT,
        reason=5,
        amount=30_000,
        currency=840,
        applicant="0x" + "33" * 20,
    )
    c.at(31)  # 2025-02-01
    _financing(c, 2, BRANCH, 2, 20_000)
    _op(c, "FinancingAccepted", 2)
    _op(c, "FinancingReviewed", 2, approved=False)
    c.emit(
        "AmountReleased",
        LEDGER,
        h(2),
        fingerprint=h(2),
        scenario=SCENARIO,
        financing_id=2,
        doc_type=EXPORT,
        amount=20_000,
        held=0,
    )
    c.at(32)
    c.emit(
        "VerificationFailed",
        SCENARIO,
        BRANCH,
        bank=BRANCH,
        firm=FIRM,
        fingerprint=h(3),
        doc_type=EXPORT,
        reason=6,
        amount=90_000,
        currency=840,
        applicant="0x" + "33" * 20,
    )
    c.emit(
        "VerificationFailed",
        SCENARIO,
        BANK_B,
        bank=BANK_B,
        firm=FIRM,
        fingerprint=h(9),
        doc_type=EXPORT,
        reason=1,
        amount=5_000,
        currency=156,
        applicant="0x" + "33" * 20,
    )
    result = c.store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    yield result
    result.close()


REGULATOR = Scope()


def _run(store: Store, name: str, scope: Scope = REGULATOR, **filters: object):  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return REPORTS[name](conn, scope, Filters(**filters), str)  # type: ignore[arg-type]


def test_firm_statistics_sum_per_bank_and_currency(store: Store) -> None:
    rows = _run(store, "firm-stats").rows
    assert rows == [
        {
            "firm": FIRM,
            "bank": BANK_A,
            "scenario": "出口应收账款融资 export receivables financing",
            "currency": "USD",
            "financings": 2,
            "requested": Decimal("1200.00"),
            "approved": Decimal("1000.00"),
            "disbursed": Decimal("900.00"),
            "repaid": Decimal("400.00"),
            "outstanding": Decimal("500.00"),
            "held": Decimal("1000.00"),  # financing 1 still holds its document; 2 released
        },
    ]


def test_financing_report_by_month_and_day(store: Store) -> None:
    by_month = _run(store, "financing-report").rows
    assert [(r["period"], r["branch"], r["financings"]) for r in by_month] == [
        ("2025-01", "", 1),
        ("2025-02", BRANCH, 1),
    ]
    january = by_month[0]
    assert (january["disbursed_n"], january["hours_to_disburse"]) == (1, Decimal("24.00"))
    assert by_month[1]["rejected"] == 1 and by_month[1]["hours_to_disburse"] is None
    by_day = _run(store, "financing-report", period="day").rows
    assert [r["period"] for r in by_day] == ["2025-01-02", "2025-02-01"]


def test_verification_failures_by_reason_bank_and_period(store: Store) -> None:
    rows = _run(store, "verification-failures").rows
    assert [
        (r["period"], r["bank"], r["code"], r["currency"], r["failures"], r["amount"]) for r in rows
    ] == [
        ("2025-01", BANK_B, 5, "USD", 1, Decimal("300.00")),
        ("2025-02", BANK_A, 6, "USD", 1, Decimal("900.00")),  # the branch counts for Bank A
        ("2025-02", BANK_B, 1, "CNY", 1, Decimal("50.00")),
    ]


def test_interceptions_list_duplicates_and_over_financing(store: Store) -> None:
    rows = _run(store, "interceptions").rows
    assert [(r["bank"], r["reason"], r["amount"], r["face"]) for r in rows] == [
        (BANK_B, "重复融资 duplicate", Decimal("300.00"), Decimal("1000.00")),
        (BANK_A, "超额融资 over-financing", Decimal("900.00"), Decimal("800.00")),
    ]


def test_scope_and_filters(store: Store) -> None:
    assert _run(store, "verification-failures", Scope(BANK_B)).rows == [
        r for r in _run(store, "verification-failures").rows if r["bank"] == BANK_B
    ]
    assert _run(store, "firm-stats", Scope(BANK_B)).rows == []
    with pytest.raises(InvalidInput):
        _run(store, "firm-stats", Scope(BANK_B), bank=BANK_A)
    import datetime as dt

    february = _run(store, "financing-report", date_from=dt.date(2025, 2, 1)).rows
    assert [r["period"] for r in february] == ["2025-02"]
    assert [r["currency"] for r in _run(store, "verification-failures", currency=156).rows] == [
        "CNY"
    ]
    assert _run(store, "firm-stats", scenario=2).rows == []
    with pytest.raises(InvalidInput):
        Filters(date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 1, 1))


def test_names_from_the_banks_own_list(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text(f"uscc,name\n{FIRM_USCC},厦门海滨贸易有限公司\n", encoding="utf-8")
    show = namer(load_names(path, FP))
    with store.engine.connect() as conn:
        rows = REPORTS["firm-stats"](conn, Scope(), Filters(), show).rows
    assert rows[0]["firm"] == f"厦门海滨贸易有限公司 ({FIRM_USCC})"
    assert rows[0]["bank"] == BANK_A  # no name known: its fingerprint
    path.write_text("not-a-uscc,x\n")
    with pytest.raises(InvalidInput):
        load_names(path, FP)


def test_every_format(store: Store, tmp_path: Path) -> None:
    report = _run(store, "firm-stats")
    document = json.loads(to_json(report))
    assert document["rows"][0]["outstanding"] == "500.00"
    assert document["columns"][0] == {"key": "firm", "zh": "企业", "en": "firm", "kind": "text"}
    table = list(csv.reader(io.StringIO(to_csv(report))))
    assert table[0][0] == "企业 / firm" and table[1][-2:] == ["500.00", "1000.00"]
    xlsx = tmp_path / "r.xlsx"
    write(report, "xlsx", xlsx)
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert sheet.cell(3, 1).value == "企业\nfirm"
    assert Decimal(str(sheet.cell(4, 10).value)) == Decimal("500.00")
    with pytest.raises(InvalidInput):
        write(report, "xlsx", None)
    assert rich_table(report).row_count == 1
    for name in ("financing-report", "verification-failures"):
        png = tmp_path / f"{name}.png"
        write_chart(_run(store, name), png)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InvalidInput):
        write_chart(_run(store, "firm-stats", scenario=2), tmp_path / "empty.png")


def test_the_report_command(store: Store, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crossborder.reports.command import report_cmd

    db = ["--db", store.url, "--deployment", str(tmp_path / "none.json")]
    runner = CliRunner()
    result = runner.invoke(report_cmd, ["firm-stats", *db, "--regulator", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"][0]["requested"] == "1200.00"
    chart = tmp_path / "failures.png"
    result = runner.invoke(
        report_cmd, ["verification-failures", *db, "--regulator", "--chart", str(chart)]
    )
    assert result.exit_code == 0, result.output
    assert "报关单核验失败统计" in result.output and chart.exists()
    result = runner.invoke(report_cmd, ["interceptions", *db])
    assert result.exit_code == 1 and "--as ACCOUNT" in result.output


def test_every_format_says_the_time_zone_of_its_days(store: Store, tmp_path: Path) -> None:
    """Report days are China Standard Time (UTC+8) days, and every format says so."""
    from rich.console import Console

    report = _run(store, "financing-report", period="day")
    console = Console(width=400, record=True)
    console.print(rich_table(report))
    shown = console.export_text()
    assert "days in China Standard Time (UTC+8)" in shown
    assert "period (UTC+8)" in shown
    document = json.loads(to_json(report))
    assert document["time_zone"] == {"name": "China Standard Time", "utc_offset": "+08:00"}
    assert document["columns"][0] == {
        "key": "period",
        "zh": "期间",
        "en": "period (UTC+8)",
        "kind": "day",
    }
    header = next(csv.reader(io.StringIO(to_csv(report))))
    assert header[0] == "期间 / period (UTC+8)"
    interceptions = next(csv.reader(io.StringIO(to_csv(_run(store, "interceptions")))))
    assert interceptions[0] == "日期 / day (UTC+8)"
    xlsx = tmp_path / "zone.xlsx"
    write(report, "xlsx", xlsx)
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert "days in China Standard Time (UTC+8)" in str(sheet.cell(2, 1).value)
    assert sheet.cell(3, 1).value == "期间\nperiod (UTC+8)"
    # T0 is midnight CST starting 2025-01-01, still 2024-12-31 16:00 in UTC: days are CST's.
    from crossborder.indexer.schema import reporting_day, reporting_time

    assert (reporting_day(T0 - 1), reporting_day(T0)) == ("2024-12-31", "2025-01-01")
    import datetime as dt

    moment = dt.datetime.fromtimestamp(T0, dt.UTC)
    assert moment.isoformat() == "2024-12-31T16:00:00+00:00"
    assert reporting_time(moment) == "2025-01-01 00:00:00 UTC+8"


def test_the_report_command_fails_in_one_line_and_creates_nothing(
    store: Store, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from crossborder.reports.command import report_cmd

    runner = CliRunner()
    none = ["--deployment", str(tmp_path / "none.json")]

    def fails(*args: str) -> str:
        result = runner.invoke(report_cmd, ["firm-stats", "--regulator", *none, *args])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        (line,) = result.output.strip().splitlines()
        assert line.startswith("error: ")
        return line

    never = tmp_path / "not" / "here" / "index.sqlite"
    assert "never indexed" in fails("--db", f"sqlite:///{never}")
    assert not (tmp_path / "not").exists()
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert "never indexed" in fails("--db", f"sqlite:///{empty}")
    from crossborder.chain.devnet import free_port

    pg = f"postgresql+psycopg://u:pw@127.0.0.1:{free_port()}/x"
    line = fails("--db", pg)
    assert "cannot open the reporting store" in line and ":pw@" not in line
    assert "not a database URL" in fails("--db", "::")
    broken = tmp_path / "deployment.json"
    broken.write_text("{")
    none = ["--deployment", str(broken)]
    assert "not a complete deployment file" in fails("--db", store.url)


# -- every financing scenario: policy and logistics financings, linked documents ---------------

POLICY_SC = "0x" + "b0" * 20
LOGISTICS_SC = "0x" + "1c" * 20
WAYBILL = 4
LABELS = {
    1: "出口应收账款融资 export receivables financing",
    2: "出口信保保单融资 export credit-insurance policy financing",
    3: "物流融资 logistics financing (西部陆海新通道 / 中欧班列)",
}


def _held(c: Chain, name: str, scenario: str, fid: int, doc_type: int, doc: int, **a: int) -> None:
    c.emit(
        name,
        LEDGER,
        h(doc),
        fingerprint=h(doc),
        scenario=scenario,
        financing_id=fid,
        doc_type=doc_type,
        **a,
    )


def _applied(c: Chain, scenario: str, fid: int, bank: str, amount: int) -> None:
    c.emit(
        "FinancingApplied",
        scenario,
        h(fid),
        financing_id=fid,
        bank=bank,
        firm=FIRM,
        applicant="0x" + "11" * 20,
        currency=840,
        amount=amount,
        documents=1,
    )


@pytest.fixture
def scenarios(tmp_path: Path) -> Store:
    """A receivable, a policy financing and a logistics financing of 600 on a waybill linked
    to a declaration of 1,000 (holding 600 on each); Bank B refused on the waybill, then a
    receivable on the declaration's rest."""
    c = Chain()
    c.at(0)
    for doc, doc_type, face in ((1, EXPORT, 100_000), (2, EXPORT, 50_000), (7, WAYBILL, 60_000)):
        c.emit(
            "DocumentRegistered",
            LEDGER,
            h(doc),
            fingerprint=h(doc),
            doc_type=doc_type,
            record=record(face),
        )
    c.emit(
        "DocumentLinked",
        LEDGER,
        h(7),
        fingerprint=h(7),
        doc_type=WAYBILL,
        declaration=h(1),
        operator="0x" + "77" * 20,
    )
    c.at(1)
    _held(c, "AmountHeld", LOGISTICS_SC, 1, WAYBILL, 7, amount=60_000, held=60_000)
    _held(c, "AmountHeld", LOGISTICS_SC, 1, EXPORT, 1, amount=60_000, held=60_000)
    _applied(c, LOGISTICS_SC, 1, BANK_A, 60_000)
    c.emit(
        "VerificationFailed",
        LOGISTICS_SC,
        BANK_B,
        bank=BANK_B,
        firm=FIRM,
        fingerprint=h(7),
        doc_type=WAYBILL,
        reason=5,
        amount=10_000,
        currency=840,
        applicant="0x" + "33" * 20,
    )
    _held(c, "AmountHeld", SCENARIO, 1, EXPORT, 1, amount=40_000, held=100_000)
    _applied(c, SCENARIO, 1, BANK_B, 40_000)
    c.at(2)
    _held(c, "AmountHeld", POLICY_SC, 1, EXPORT, 2, amount=30_000, held=30_000)
    _applied(c, POLICY_SC, 1, BANK_A, 30_000)
    store = Store(
        f"sqlite:///{tmp_path / 's.sqlite'}", {SCENARIO: 1, POLICY_SC: 2, LOGISTICS_SC: 3}
    )
    store.create()
    blocks = sorted({(e.block_number, e.block_time) for e in c.events})
    infos = [BlockInfo(n, h(n), t) for n, t in blocks]
    store.commit_range(c.events, infos, infos[-1])
    yield store
    store.close()


def test_every_scenario_is_named_and_a_linked_waybill_counts_once(scenarios: Store) -> None:
    rows = _run(scenarios, "firm-stats").rows
    held = {(r["bank"], r["scenario"]): (r["requested"], r["held"]) for r in rows}
    assert held == {
        # 600 on the waybill and 600 on its declaration: the financing holds 600.
        (BANK_A, LABELS[3]): (Decimal("600.00"), Decimal("600.00")),
        (BANK_A, LABELS[2]): (Decimal("300.00"), Decimal("300.00")),
        (BANK_B, LABELS[1]): (Decimal("400.00"), Decimal("400.00")),
    }
    report = _run(scenarios, "financing-report").rows
    assert sorted(r["scenario"] for r in report) == sorted(LABELS.values())
    for code, label in LABELS.items():
        only = _run(scenarios, "firm-stats", scenario=code).rows
        assert [r["scenario"] for r in only] == [label]
        assert [r["scenario"] for r in _run(scenarios, "financing-report", scenario=code).rows] == [
            label
        ]
    (failure,) = _run(scenarios, "verification-failures").rows
    assert (failure["bank"], failure["scenario"], failure["document_type"], failure["code"]) == (
        BANK_B,
        LABELS[3],
        "铁路运单 rail waybill",
        5,
    )
    assert _run(scenarios, "verification-failures", scenario=1).rows == []
    (refused,) = _run(scenarios, "interceptions", scenario=3).rows
    assert (refused["document"], refused["linked_declaration"], refused["face"]) == (
        h(7),
        h(1),
        Decimal("600.00"),
    )
    assert refused["scenario"] == LABELS[3]


def test_the_report_command_takes_the_scenario_names(scenarios: Store, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crossborder.reports.command import report_cmd

    db = ["--db", scenarios.url, "--deployment", str(tmp_path / "none.json"), "--regulator"]
    runner = CliRunner()
    for name, code in (("receivables", 1), ("policy", 2), ("logistics", 3)):
        result = runner.invoke(
            report_cmd, ["firm-stats", *db, "--scenario", name, "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        assert [r["scenario"] for r in json.loads(result.output)["rows"]] == [LABELS[code]]
    result = runner.invoke(report_cmd, ["firm-stats", *db, "--scenario", "platform"])
    assert result.exit_code == 2 and "receivables" in result.output
