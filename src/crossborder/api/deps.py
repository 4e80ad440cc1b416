"""What routes depend on: the gateway, the caller (bearer token) and the Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ..errors import Unauthenticated
from .gateway import Gateway, Principal
from .schemas import IDEMPOTENCY_KEY_PATTERN

bearer = HTTPBearer(
    auto_error=False,
    description="a per-operator token from `crossborder token issue --account 0x…`",
)


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def get_principal(
    gateway: Annotated[Gateway, Depends(get_gateway)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller of the request's bearer token: the token's row is one indexed SQLite read,
    done here; who its account is, when not known from the last seconds, is asked of the
    chain in a worker thread.

    Raises:
        Unauthenticated: No bearer token, or an unknown or revoked one (401).
    """
    if credentials is None:
        raise Unauthenticated("send the header Authorization: Bearer <token>")
    found = gateway.store.account_of(credentials.credentials)
    if found is None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    known = gateway.known_principal(*found)
    if known is not None:
        return known
    return await run_in_threadpool(gateway.resolve_principal, *found)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="the client's id of this write: a retry with the same key and request gets"
        " the first response back and sends nothing; another request under it is a 422",
    ),
]
