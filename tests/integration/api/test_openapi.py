"""The served OpenAPI document is the checked-in one, and the live gateway keeps to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import crossborder.api
from crossborder.api.app import openapi_text
from crossborder.cli.main import cli
from crossborder.domain.codes import Stage

from .conftest import FIRM_1, World, keyed

pytestmark = pytest.mark.integration
CHECKED_IN = Path(crossborder.api.__file__).parent / "openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# A handful of operations, reads and writes, each with a few generated requests: bounded.
OPERATIONS = [
    ("GET", "/v1/documents/{kind}/{number}"),
    ("POST", "/v1/screening"),
    ("GET", "/v1/scenarios/{scenario}/financings/{financing_id}"),
    ("POST", "/v1/scenarios/{scenario}/financings"),
    ("POST", "/v1/scenarios/{scenario}/financings/{financing_id}/review"),
    ("POST", "/v1/documents/{kind}"),
    ("POST", "/v1/consents"),
    ("GET", "/v1/reports/{name}"),
]
EXAMPLES = 12


def test_the_served_document_is_the_checked_in_one(world: World) -> None:
    with world.client() as api:
        served = api.get("/openapi.json").json()
    assert served == json.loads(CHECKED_IN.read_text(encoding="utf-8")), (
        "regenerate it: crossborder serve --write-openapi src/crossborder/api/openapi.json"
    )
    assert openapi_text() == CHECKED_IN.read_text(encoding="utf-8")


def test_serve_writes_the_document(tmp_path: Path) -> None:
    written = tmp_path / "openapi.json"
    done = CliRunner().invoke(cli, ["serve", "--write-openapi", str(written)])
    assert done.exit_code == 0, done.output
    assert written.read_text(encoding="utf-8") == CHECKED_IN.read_text(encoding="utf-8")


def _anchors(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    """Real documents and financings for generated requests to start from."""
    numbers = world.register(3)
    application = {
        "firm": FIRM_1,
        "citations": [{"document": numbers[0], "amount": {"amount": "1.00", "currency": "USD"}}],
    }
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        applied = api.post(
            "/v1/scenarios/receivables/financings", json=application, headers=keyed()
        )
    fid = applied.json()["id"]
    financing = {"scenario": "receivables", "financing_id": fid}
    return {
        ("GET", "/v1/documents/{kind}/{number}"): {
            "path_parameters": {"kind": "export-declaration", "number": numbers[1]}
        },
        ("POST", "/v1/screening"): {"body": {"numbers": numbers}},
        ("GET", "/v1/scenarios/{scenario}/financings/{financing_id}"): {
            "path_parameters": financing
        },
        ("POST", "/v1/scenarios/{scenario}/financings/{financing_id}/review"): {
            "path_parameters": financing
        },
        ("POST", "/v1/scenarios/{scenario}/financings"): {
            "path_parameters": {"scenario": "receivables"},
            "body": application
            | {"citations": [{**application["citations"][0], "document": numbers[2]}]},
        },
    }


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_schemathesis_finds_no_server_error_nor_schema_violation(
    world: World, method: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = schemathesis.openapi.from_dict(json.loads(CHECKED_IN.read_text(encoding="utf-8")))
    operation = schema[path][method]
    bank = world.demo.banks["Bank A"]
    if path.startswith("/v1/reports"):
        monkeypatch.setattr(world.gateway, "reports_url", world.index())
        account = bank.statistician
    else:
        account = bank.signers[Stage.APPLY]
    headers = {"Authorization": f"Bearer {world.token(account)}"}
    strategy = operation.as_strategy(GenerationMode.POSITIVE)
    anchor = _anchors(world).get((method, path))
    if anchor is not None:  # half the examples around real data: successes are checked too
        strategy = strategy | operation.as_strategy(GenerationMode.POSITIVE, **anchor)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=world.url, headers=headers, checks=CHECKS, timeout=30)

    run()
