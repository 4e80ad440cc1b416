"""Reads scoped by the token's institution: financings, documents, bulk screening, reports."""

from __future__ import annotations

import json

import pytest

from crossborder.domain.codes import Stage

from .conftest import FIRM_1, World, citation, keyed, problem

pytestmark = pytest.mark.integration
RCV = "/v1/scenarios/receivables/financings"


@pytest.fixture(scope="module")
def financed(world: World) -> dict[str, int]:
    """One financing at each bank, one document each."""
    ids = {}
    for bank in ("Bank A", "Bank B"):
        (number,) = world.register(1)
        with world.client(world.bank(bank, Stage.APPLY)) as api:
            applied = api.post(
                RCV,
                json={"firm": FIRM_1, "citations": [citation(number, "70000.00")]},
                headers=keyed(),
            )
        assert applied.status_code == 201, applied.text
        ids[bank] = applied.json()["id"]
    return ids


def test_a_bank_reads_its_own_financing_and_not_anothers(world: World, financed) -> None:
    with world.client(world.bank("Bank B", Stage.ACCEPT)) as api:
        assert api.get(f"{RCV}/{financed['Bank B']}").status_code == 200
        problem(api.get(f"{RCV}/{financed['Bank A']}"), 404, "unknown_entity")
    with world.client(world.bank("Bank A", Stage.ACCEPT)) as api:
        assert api.get(f"{RCV}/{financed['Bank A']}").json()["id"] == financed["Bank A"]
        problem(api.get(f"{RCV}/{financed['Bank B']}"), 404, "unknown_entity")


def test_the_regulator_reads_every_banks_financing(world: World, financed) -> None:
    with world.client(world.signers[0]) as api:
        for fid in financed.values():
            assert api.get(f"{RCV}/{fid}").status_code == 200


def test_a_data_provider_reads_no_financing(world: World, financed) -> None:
    with world.client(world.demo.customs) as api:
        problem(api.get(f"{RCV}/{financed['Bank A']}"), 403, "access_denied")


def test_a_documents_inter_bank_status(world: World) -> None:
    (number,) = world.register(1)
    with world.client(world.bank("Bank B", Stage.ACCEPT)) as api:
        free = api.get(f"/v1/documents/export-declaration/{number}").json()
        assert free["status"] == "free" and free["used_since"] is None
        unknown = api.get("/v1/documents/export-declaration/999999999999999999").json()
        assert unknown["status"] == "unknown" and unknown["face"] is None
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        api.post(
            RCV, json={"firm": FIRM_1, "citations": [citation(number, "40000.00")]}, headers=keyed()
        )
    with world.client(world.bank("Bank B", Stage.ACCEPT)) as api:
        used = api.get(f"/v1/documents/export-declaration/{number}").json()
    assert used["status"] == "partly_used"
    assert used["remaining"] == {"amount": "60000.00", "currency": "USD"}
    assert used["used_since"] is not None
    assert "bank" not in json.dumps(used)


def test_bulk_screening_streams_5000_documents(world: World) -> None:
    registered = world.register(4000)
    (financed,) = world.register(1)
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        api.post(
            RCV,
            json={"firm": FIRM_1, "citations": [citation(financed, "100000.00")]},
            headers=keyed(),
        )
    unknown = [str(900_000_000_000_000_000 + i) for i in range(999)]
    numbers = [*registered[:2000], financed, *unknown, *registered[2000:]]
    with (
        world.client(world.bank("Bank B", Stage.ACCEPT)) as api,
        api.stream("POST", "/v1/screening", json={"numbers": numbers}) as streamed,
    ):
        assert streamed.status_code == 200
        assert streamed.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in streamed.iter_lines() if line]
    assert len(lines) == 5000
    assert [line["number"] for line in lines] == numbers
    statuses = [line["status"] for line in lines]
    assert statuses.count("fully_used") == 1 and lines[2000]["status"] == "fully_used"
    assert statuses.count("unknown") == 999
    assert statuses.count("free") == 4000
    assert lines[0]["remaining"] == "100000.00"


def test_screening_refuses_a_malformed_number_before_streaming(world: World) -> None:
    with world.client(world.bank("Bank B", Stage.ACCEPT)) as api:
        bad = api.post("/v1/screening", json={"numbers": ["531020260000000123", "12"]})
    assert "numbers[1]" in problem(bad, 422, "invalid_input")["detail"]


@pytest.fixture
def indexed(world: World, financed) -> str:
    return world.index()


@pytest.fixture
def with_store(world: World, indexed, monkeypatch):
    monkeypatch.setattr(world.gateway, "reports_url", indexed)
    return indexed


def test_history_from_the_indexer_equals_history_from_the_chain(
    world: World, financed, indexed, monkeypatch
) -> None:
    path = f"{RCV}/{financed['Bank A']}"
    with world.client(world.bank("Bank A", Stage.ACCEPT)) as api:
        chain = api.get(path).json()
        monkeypatch.setattr(world.gateway, "reports_url", indexed)
        store = api.get(path).json()
    assert (chain["history_source"], store["history_source"]) == ("chain", "indexer")
    assert store["history"] == chain["history"]
    assert [s["action"] for s in chain["history"]] == ["applied"]


def _report(world: World, account, name: str = "firm-stats", **params):
    with world.client(account) as api:
        return api.get(f"/v1/reports/{name}", params=params)


def test_reports_are_scoped_by_the_token(world: World, with_store) -> None:
    banks = {
        name: "0x" + world.platform.ids.participant(b.uscc).hex()
        for name, b in world.demo.banks.items()
    }
    seen = {}
    for name, bank in world.demo.banks.items():
        report = _report(world, bank.statistician)
        assert report.status_code == 200, report.text
        seen[name] = {row["bank"] for row in report.json()["rows"]}
        assert seen[name] == {banks[name]}
    regulator = _report(world, world.signers[0]).json()
    assert {row["bank"] for row in regulator["rows"]} == set(banks.values())
    assert regulator["scope"] == "regulator: all banks"
    other = _report(world, world.demo.banks["Bank A"].statistician, bank=banks["Bank B"])
    problem(other, 422, "invalid_input")


def test_reports_need_the_statistician_stage(world: World, with_store) -> None:
    problem(_report(world, world.bank("Bank A", Stage.APPLY)), 403, "missing_role")
    problem(_report(world, world.demo.customs), 403, "access_denied")


def test_reports_as_csv_and_xlsx(world: World, with_store) -> None:
    statistician = world.demo.banks["Bank A"].statistician
    csv = _report(world, statistician, "financing-report", format="csv", period="day")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("期间 / period (UTC+8)")
    xlsx = _report(world, statistician, "verification-failures", format="xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert xlsx.content[:2] == b"PK"


def test_reports_without_a_store_are_503(world: World) -> None:
    problem(_report(world, world.signers[0]), 503, "store_error")
