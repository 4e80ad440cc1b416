"""Server-sent events: a bank's financings and the documents they cite, resumable by cursor."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...errors import CrossborderError
from ..deps import GatewayDep, PrincipalDep
from ..feed import CURSOR_PATTERN, Cursor, EventFeed, Notification
from ..problems import problem_of, problem_responses

router = APIRouter(prefix="/v1", tags=["events"])
EVENT_STREAM = "text/event-stream"
HEARTBEAT = 10.0  # seconds: an idle stream says it is alive, and finds a gone client


def _message(event: str, data: object, cursor: str | None = None) -> bytes:
    head = f"id: {cursor}\n" if cursor is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _notification(n: Notification) -> bytes:
    return _message(n.event, n.data, str(n.cursor))


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "a server-sent event stream: first `ready` (its id is the start"
            " cursor), then one event per notification, its id the cursor to resume after",
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 422, 500, 503),
    },
    summary="notifications of the bank's financings and cited documents (SSE)",
)
async def events(
    principal: PrincipalDep,
    gateway: GatewayDep,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="resume after BLOCK:LOG_INDEX (or BLOCK)"),
    ] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", pattern=CURSOR_PATTERN)
    ] = None,
) -> StreamingResponse:
    """Confirmed events only (``CROSSBORDER_CONFIRMATIONS`` behind the head), each delivered
    at least once: resume with the last id received (``cursor`` or ``Last-Event-ID``). Without
    one, the stream starts at the confirmed head. A node outage is said as an ``error`` event;
    the stream goes on when the node is back."""
    gateway.require_bank(principal)
    start = cursor or last_event_id
    after = Cursor.parse(start) if start is not None else None
    feed = await run_in_threadpool(EventFeed, gateway, principal, after)

    async def stream() -> AsyncIterator[bytes]:
        yield _message("ready", {"cursor": str(feed.cursor)}, str(feed.cursor))
        quiet_since = time.monotonic()
        while True:
            try:
                notifications = await run_in_threadpool(feed.poll)
            except CrossborderError as error:
                problem = problem_of(error, "/v1/events").model_dump(exclude_none=True)
                yield _message("error", problem)
                notifications = []
            for notification in notifications:
                yield _notification(notification)
            if notifications or not feed.caught_up:
                quiet_since = time.monotonic()
                continue
            if time.monotonic() - quiet_since >= HEARTBEAT:
                yield b": alive\n\n"
                quiet_since = time.monotonic()
            await anyio.sleep(gateway.poll)

    return StreamingResponse(
        stream(),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
