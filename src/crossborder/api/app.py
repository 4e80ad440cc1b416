"""The FastAPI application of one gateway, and its OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from .. import __version__
from .deps import GatewayDep
from .gateway import Gateway
from .problems import PROBLEM_MEDIA_TYPE, install, problem_responses
from .routes import consents, console, documents, events, financings, reports

TITLE = "crossborder gateway"
DESCRIPTION = """\
The REST gateway of one institution on the cross-border finance platform (跨境金融服务平台).

It signs with the institution's operator keys: each API token acts as one operator account,
whose roles (所属角色) the chain checks before anything is signed. Reads and reports are scoped
to the token's institution (the regulator's see all). Writes take an `Idempotency-Key`. Every
error is an RFC 9457 `application/problem+json` with a stable `code`.
"""
# Worker threads for the blocking routes: a write waits for its block, so many wait at once.
THREADS = 128


class Health(BaseModel):
    status: str
    chain_id: int
    block: int


def create_app(gateway: Gateway | None = None) -> FastAPI:
    """The gateway's application; without a gateway, only for its OpenAPI document."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        yield

    app = FastAPI(title=TITLE, version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.gateway = gateway
    install(app)
    for module in (financings, documents, consents, reports, events, console):
        app.include_router(module.router)

    @app.get(
        "/v1/health",
        response_model=Health,
        responses=problem_responses(500, 503),
        tags=["gateway"],
        summary="alive?",
    )
    def health(gateway: GatewayDep) -> Health:
        """Unauthenticated: the chain this gateway serves, and its latest block."""
        platform = gateway.platform
        return Health(
            status="ok", chain_id=platform.deployment.chain_id, block=platform.rpc.block_number()
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problems_as_problem_json(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _problems_as_problem_json(document: dict[str, Any]) -> dict[str, Any]:
    """Error responses are ``application/problem+json`` (FastAPI says application/json)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    response["content"] = {PROBLEM_MEDIA_TYPE: content["application/json"]}
    return document


def openapi_text(app: FastAPI | None = None) -> str:
    """The OpenAPI document as checked in (``src/crossborder/api/openapi.json``)."""
    document = (app or create_app()).openapi()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_openapi(path: Path) -> None:
    path.write_text(openapi_text(), encoding="utf-8")
