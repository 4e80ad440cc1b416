"""Every error is an RFC 9457 problem with a stable code; no stack trace leaves the server."""

from __future__ import annotations

import json
import logging

import pytest

from crossborder import errors
from crossborder.api.problems import chinese_term, problem_of, status_of
from crossborder.domain.codes import Stage

from .conftest import World, keyed, problem

pytestmark = pytest.mark.integration


def test_a_forced_500_is_a_generic_problem_logged_on_the_server(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from crossborder.api.routes import documents

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals at /srv/keys")

    monkeypatch.setattr(documents.Screening, "documents", explode)
    with (
        caplog.at_level(logging.ERROR, logger="crossborder.api"),
        world.client(world.bank("Bank A", Stage.APPLY)) as api,
    ):
        failed = api.get("/v1/documents/export-declaration/531020260000000123")
    body = problem(failed, 500, "internal_error")
    assert "secret" not in failed.text and "RuntimeError" not in failed.text
    assert body["instance"] == "/v1/documents/export-declaration/531020260000000123"
    assert "secret internals" in caplog.text  # the server keeps the whole story


def test_validation_errors_are_422_problems_naming_the_field(world: World) -> None:
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        bad = api.post(
            "/v1/scenarios/receivables/financings",
            json={"firm": "X", "citations": []},
            headers=keyed(),
        )
        body = problem(bad, 422, "invalid_input")
        assert {e["location"] for e in body["errors"]} == {"body.firm", "body.citations"}
        no_key = api.post("/v1/scenarios/receivables/financings", json={})
        assert "header.Idempotency-Key" in {
            e["location"] for e in problem(no_key, 422, "invalid_input")["errors"]
        }
        bad_check = api.post(
            "/v1/scenarios/receivables/financings",
            json={
                "firm": "91350200MA2Y00001X",
                "citations": [
                    {"document": "531020260000000123", "amount": {"amount": "1", "currency": "USD"}}
                ],
            },
            headers=keyed(),
        )
        assert "USCC" in problem(bad_check, 422, "invalid_input")["detail"]
        cents = api.post(
            "/v1/scenarios/receivables/financings",
            json={
                "firm": "91350200MA2Y00001N",
                "citations": [
                    {
                        "document": "531020260000000123",
                        "amount": {"amount": "1.005", "currency": "USD"},
                    }
                ],
            },
            headers=keyed(),
        )
        assert "rounded" in problem(cents, 422, "invalid_input")["detail"]
        problem(api.get("/v1/documents/export-declaration/12"), 422, "invalid_input")


def test_unknown_routes_and_methods_are_problems(world: World) -> None:
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        problem(api.get("/v1/nothing-here"), 404, "not_found")
        problem(api.delete("/v1/screening"), 405, "method_not_allowed")
        problem(api.get("/v1/documents/no-such-kind/1"), 404, "unknown_entity")


def test_statuses_and_chinese_titles_follow_errors_py() -> None:
    assert status_of(errors.InvalidInput("x")) == 422
    assert status_of(errors.MissingRole("x")) == 403
    assert status_of(errors.UnknownEntity("x")) == 404
    assert status_of(errors.WrongState("x")) == 409
    assert status_of(errors.Conflict("x")) == 409
    assert status_of(errors.IdempotencyConflict("x")) == 422
    assert status_of(errors.OverFinancing("x")) == 409
    assert status_of(errors.ChainUnavailable("x")) == 503
    assert status_of(errors.Unauthenticated("x")) == 401
    assert chinese_term(errors.OverFinancing) == "超额融资"
    assert chinese_term(errors.VerificationFailed) == "核验失败"
    assert chinese_term(errors.InvalidInput) is None  # its messages name many terms
    over = problem_of(errors.verification_error(6, b"\x01" * 32, 5), "/x")
    assert (over.status, over.code, over.reason, over.reason_name) == (
        409,
        "over_financing",
        6,
        "over_financed",
    )


def test_an_unreachable_node_is_503(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise errors.ChainUnavailable("the node at http://127.0.0.1:1 is unreachable")

    monkeypatch.setattr(world.platform.rpc, "batch", down)
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        problem(
            api.get("/v1/documents/export-declaration/531020260000000123"), 503, "chain_unavailable"
        )


def test_a_screening_stream_cut_by_the_node_ends_with_its_problem(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossborder.api.routes import documents

    real = documents.Screening.documents
    calls = []

    def flaky(self: object, *args: object) -> object:
        calls.append(1)
        if len(calls) > 1:
            raise errors.ChainUnavailable("the node went away")
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(documents.Screening, "documents", flaky)
    numbers = [str(900_000_000_000_000_000 + i) for i in range(documents.SCREEN_CHUNK + 5)]
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        streamed = api.post("/v1/screening", json={"numbers": numbers})
    lines = streamed.text.splitlines()
    assert len(lines) == documents.SCREEN_CHUNK + 1
    last = json.loads(lines[-1])["error"]
    assert (last["status"], last["code"]) == (503, "chain_unavailable")
