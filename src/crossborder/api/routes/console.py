"""The web console (``/console/``) and the reads it needs beyond the gateway's own.

The console is static files shipped in the package (``crossborder/api/console``: HTML, CSS and
one vanilla-JS app, no build step, nothing from a CDN) that call the gateway's API with the
operator's bearer token. It adds four reads:

* ``GET /v1/me``: who the token is, and its stages (所属角色) per scenario;
* ``GET /v1/queue``: a bank operator's work by role (受理, 审核, 放款登记, 还款登记, its own
  applications), across scenarios;
* ``GET /v1/financings``: the financings the caller may see, the regulator's drill-down to a bank;
* ``GET /v1/directory``: participants' names and regions (from the gateway's names file).

They are left out of the checked-in OpenAPI document for now (``IN_SCHEMA``): the console is
their only client.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...errors import UnknownEntity
from ..deps import GatewayDep, PrincipalDep
from ..gateway import Gateway
from ..problems import problem_responses
from ..schemas import HEX32_PATTERN
from ..worklist import Directory, DirectoryOut, Listing, MeOut, QueueOut, financings, me, queue

IN_SCHEMA = False
CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
# Everything from the gateway itself; no inline script; the token never leaves in a Referer.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none';"
        " frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
READ_PROBLEMS = problem_responses(401, 403, 422, 500, 503)

router = APIRouter(tags=["console"], include_in_schema=IN_SCHEMA)


_DIRECTORIES: weakref.WeakKeyDictionary[Gateway, Directory] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _directory(gateway: Gateway) -> Directory:
    """The gateway's directory cache, made on first use."""
    with _LOCK:
        return _DIRECTORIES.setdefault(gateway, Directory())


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console", response_class=RedirectResponse)
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.api_route("/console/{path:path}", methods=["GET", "HEAD"])
def console_file(path: str, request: Request) -> Response:
    """A file of the console; the app itself at ``/console/``."""
    relative = path or "index.html"
    target = (CONSOLE_DIR / relative).resolve()
    media = MEDIA_TYPES.get(target.suffix)
    if not target.is_relative_to(CONSOLE_DIR) or media is None or not target.is_file():
        raise UnknownEntity(f"no console file {relative!r}")
    return FileResponse(target, media_type=media, headers=HEADERS)


@router.get("/v1/me", response_model=MeOut, responses=READ_PROBLEMS, summary="who the token is")
def who(principal: PrincipalDep, gateway: GatewayDep) -> MeOut:
    """The token's operator account, its institution (and legal-person bank) and the stages it
    holds in each financing scenario."""
    return me(gateway, principal, _directory(gateway).get(gateway))


@router.get(
    "/v1/queue",
    response_model=QueueOut,
    responses=READ_PROBLEMS,
    summary="a bank operator's work queue, by role, across scenarios",
)
def work(principal: PrincipalDep, gateway: GatewayDep) -> QueueOut:
    """Applications to accept (受理), to review (审核; the caller's own are marked: maker-checker),
    to disburse (放款登记), repayments due (还款登记, by due date) and the caller's own
    applications, each per the stages the caller holds in the financing's scenario; as they
    stand at the chain's head."""
    return queue(gateway, principal)


@router.get(
    "/v1/financings",
    response_model=Listing,
    responses=READ_PROBLEMS,
    summary="the financings the caller may see, newest first",
)
def listing(
    principal: PrincipalDep,
    gateway: GatewayDep,
    bank: Annotated[
        str | None, Query(pattern=HEX32_PATTERN, description="a legal-person bank's id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> Listing:
    """A bank sees its own (and its branches'); the regulator sees all, or one bank's."""
    return financings(gateway, principal, head=bank.lower() if bank else None, limit=limit)


@router.get(
    "/v1/directory",
    response_model=DirectoryOut,
    responses=READ_PROBLEMS,
    summary="participants' names and regions, for labels",
)
async def directory(principal: PrincipalDep, gateway: GatewayDep) -> DirectoryOut:
    """Names from the gateway's names file (``$CROSSBORDER_GATEWAY_NAMES``, else the demo's
    ``demo-names.csv`` in the devnet folder), regions from each USCC's division code, kinds
    from the chain and the indexer's store; for banks and the regulator."""
    gateway.require_bank(principal)
    return await run_in_threadpool(_directory(gateway).get, gateway)
