"""RFC 9457 problem details: every error the gateway answers, and the one catch-all.

A problem's ``code`` is the exception class in snake case (``missing_role``), stable for clients
to branch on; ``title`` says it in English and ``title_zh`` gives the Chinese term where
``errors.py`` has one (in the class's docstring, or the one term all of its messages share).
Nothing else of an exception leaves the server: an unexpected one is logged here and answered
with a generic 500 problem.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import (
    REVERTS,
    VERIFICATION_ERRORS,
    AccessDenied,
    ChainUnavailable,
    Conflict,
    CrossborderError,
    GasPriceUnavailable,
    IdempotencyConflict,
    InvalidInput,
    LimitExceeded,
    NotDeployed,
    PlatformDown,
    TransactionFailed,
    Unauthenticated,
    UnknownEntity,
    VerificationFailed,
    WrongState,
)
from ..indexer.store import StoreError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("crossborder.api")

# The first match wins: subclasses before their bases.
STATUSES: tuple[tuple[type[CrossborderError], int], ...] = (
    (Unauthenticated, 401),
    (IdempotencyConflict, 422),
    (InvalidInput, 422),
    (AccessDenied, 403),
    (UnknownEntity, 404),
    (VerificationFailed, 409),
    (LimitExceeded, 409),
    (WrongState, 409),
    (Conflict, 409),
    (GasPriceUnavailable, 503),
    (ChainUnavailable, 503),
    (NotDeployed, 503),
    (StoreError, 503),
    (PlatformDown, 503),
    (TransactionFailed, 502),
)
_CJK = re.compile(r"[\u3400-\u9fff]+")


class FieldProblem(BaseModel):
    """One invalid field of a request."""

    location: str = Field(description="where: body.citations.0.amount, query.format, …")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem detail (``application/problem+json``)."""

    type: str = Field(description="urn:crossborder:problem:<code>")
    code: str = Field(description="stable: the error class in snake case, e.g. missing_role")
    title: str = Field(description="the kind of problem, in English")
    title_zh: str | None = Field(default=None, description="its Chinese term, where there is one")
    status: int
    detail: str = Field(description="this occurrence, in English (with Chinese terms)")
    instance: str | None = Field(default=None, description="the request path")
    reason: int | None = Field(default=None, description="核验 reason code of verification_failed")
    reason_name: str | None = None
    fingerprint: str | None = Field(default=None, description="the document that failed")
    errors: list[FieldProblem] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problems a route may answer, for its OpenAPI document."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def chinese_term(cls: type[BaseException]) -> str | None:
    """The Chinese term ``errors.py`` gives a class: in its own docstring, else the one term
    that every message mapped to it starts with (``None`` when they differ or have none)."""
    doc = cls.__dict__.get("__doc__") or ""
    if (found := _CJK.search(doc)) is not None:
        return found.group()
    messages = [m for c, m in REVERTS.values() if c is cls]
    messages += [m for c, m in VERIFICATION_ERRORS.values() if c is cls]
    terms = {(m.group() if (m := _CJK.search(message)) else None) for message in messages}
    return terms.pop() if len(terms) == 1 else None


def status_of(error: CrossborderError) -> int:
    for cls, status in STATUSES:
        if isinstance(error, cls):
            return status
    return 500


def problem_of(error: CrossborderError, instance: str | None = None) -> Problem:
    """The problem detail of a typed error."""
    cls = type(error)
    code = snake(cls.__name__)
    problem = Problem(
        type=f"urn:crossborder:problem:{code}",
        code=code,
        title=code.replace("_", " ").capitalize(),
        title_zh=chinese_term(cls),
        status=status_of(error),
        detail=" ".join(str(error).split()) or code.replace("_", " "),
        instance=instance,
    )
    if isinstance(error, VerificationFailed):
        problem.reason = int(error.reason)
        problem.reason_name = error.reason.name.lower()
        if error.fingerprint is not None:
            problem.fingerprint = "0x" + bytes(error.fingerprint).hex()
    return problem


def render(problem: Problem) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _http_problem(
    status: int, detail: str, instance: str | None, code: str | None = None
) -> Problem:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = code or snake(phrase.replace(" ", "").replace("-", ""))
    return Problem(
        type=f"urn:crossborder:problem:{code}",
        code=code,
        title=phrase,
        status=status,
        detail=detail,
        instance=instance,
    )


def internal_problem(instance: str | None = None) -> Problem:
    return _http_problem(
        500,
        "the gateway failed unexpectedly; the error is logged on the server",
        instance,
        "internal_error",
    )


def _where(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def validation_problem(error: RequestValidationError, instance: str) -> Problem:
    fields = [
        FieldProblem(
            location=_where(tuple(e.get("loc", ()))),
            message=str(e.get("msg", "invalid value")).removeprefix("Value error, "),
        )
        for e in error.errors()
    ]
    first = fields[0] if fields else FieldProblem(location="request", message="invalid")
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    problem = problem_of(InvalidInput(f"{first.location}: {first.message}{more}"), instance)
    problem.errors = fields
    return problem


def install(app: FastAPI) -> None:
    """Answers every error as a problem: typed errors, invalid requests, unknown routes, and
    (through ``ProblemGuard``) anything unexpected."""

    async def typed(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, CrossborderError)
        problem = problem_of(error, request.url.path)
        if problem.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, problem.detail)
        return render(problem)

    async def store(request: Request, error: Exception) -> JSONResponse:
        cause = getattr(error, "orig", None) or error
        lines = str(cause).strip().splitlines()
        failed = StoreError(f"the reporting store failed: {lines[0] if lines else 'no answer'}")
        return await typed(request, failed)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return render(validation_problem(error, request.url.path))

    async def http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        response = render(_http_problem(error.status_code, str(error.detail), request.url.path))
        if error.headers:
            response.headers.update(error.headers)
        return response

    app.add_exception_handler(CrossborderError, typed)
    app.add_exception_handler(SQLAlchemyError, store)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
    app.add_middleware(ProblemGuard)


class ProblemGuard:
    """The catch-all: an unexpected exception is logged with its traceback on the server and
    answered with a generic 500 problem; nothing of it reaches the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # a stream already under way: end it, the client sees it cut
                return
            body = json.dumps(
                internal_problem(scope.get("path")).model_dump(mode="json", exclude_none=True)
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
