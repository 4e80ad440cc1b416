"""Documents: registration by data providers, the inter-bank status of one, bulk screening."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ...chain.codec import encode_document_row, encode_static_array_call
from ...chain.sender import TxRequest
from ...chain.signers import Signer
from ...domain.codes import DocumentType, Scenario, Stage
from ...domain.documents import document_fingerprint, document_kind
from ...domain.identifiers import validate_uscc
from ...domain.models import MAX_MINOR_UNITS, DocumentInfo, to_day
from ...domain.money import Money
from ...errors import CrossborderError, InvalidInput, UnknownEntity
from ...services.documents import LEDGER, DocumentRegistry, Screening
from ..deps import GatewayDep, IdempotencyKey, PrincipalDep
from ..gateway import Gateway
from ..idempotency import Attempt, request_hash, run_once
from ..problems import problem_of, problem_responses
from ..schemas import (
    KINDS,
    DocumentIn,
    DocumentStatusOut,
    RegistrationIn,
    RegistrationOut,
    ScreeningIn,
    Skipped,
    one_of,
    units,
)

router = APIRouter(prefix="/v1", tags=["documents"])
NDJSON = "application/x-ndjson"
# Documents screened per ledger round trip (one JSON-RPC batch of 2,000-document views).
SCREEN_CHUNK = 10_000

Kind = Annotated[
    str,
    Path(description="the kind of document", json_schema_extra=one_of(sorted(KINDS))),
]


def kind_of(slug: str) -> DocumentType:
    found = KINDS.get(slug)
    if found is None:
        raise UnknownEntity(f"no document kind {slug!r} (known: {', '.join(sorted(KINDS))})")
    return found


@dataclass(frozen=True)
class _Document:
    """A source document as the ledger registers it (``SourceDocument``)."""

    number: str
    owner: str
    issued: dt.date
    amount: Money


def _document(doc_type: DocumentType, index: int, d: DocumentIn) -> _Document:
    try:
        amount = d.amount.money()
        if amount.amount <= 0 or amount.to_minor() >= MAX_MINOR_UNITS:
            raise InvalidInput("the amount must be positive and below 2**63 minor units")
        to_day(d.issued)
        number = document_kind(doc_type).validate(d.number)
        return _Document(number, validate_uscc(d.owner), d.issued, amount)
    except InvalidInput as error:
        raise InvalidInput(f"documents[{index}]: {error}") from None


@router.post(
    "/documents/{kind}",
    response_model=RegistrationOut,
    responses=problem_responses(401, 403, 404, 409, 422, 500, 502, 503),
    summary="单证登记: register documents (customs, logistics, insurer, tax)",
)
def register(
    kind: Kind,
    body: RegistrationIn,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    """Registers what is new; what is already on the ledger is skipped, with its reason. Only
    fingerprints, amounts and dates go on chain. A document of the goods (waybill, bill of
    lading) may name its export declaration: it is linked to it once registered."""
    doc_type = kind_of(kind)
    path = request.url.path

    def act(attempt: Attempt) -> tuple[int, BaseModel]:
        documents = [_document(doc_type, i, d) for i, d in enumerate(body.documents)]
        links = [
            (doc.number, d.linked_declaration)
            for doc, d in zip(documents, body.documents, strict=True)
            if d.linked_declaration is not None
        ]
        signer = gateway.signer_for(principal, Scenario.PLATFORM, Stage.REGISTER)
        _may_register(gateway, signer, doc_type, documents[0])
        attempt.start()
        registry = DocumentRegistry(gateway.platform, signer)
        result = registry.register(doc_type, documents)
        skipped = {number for number, _ in result.skipped}
        fresh = [(n, d) for n, d in links if n not in skipped]
        if fresh:
            registry.link(doc_type, fresh)
        return 200, RegistrationOut(
            registered=result.documents,
            transactions=result.transactions,
            linked=len(fresh),
            skipped=[Skipped(number=n, reason=r.name.lower()) for n, r in result.skipped],
        )

    return run_once(gateway, principal, key, request_hash("POST", path, body), path, act)


def _may_register(
    gateway: Gateway, signer: Signer, doc_type: DocumentType, first: _Document
) -> None:
    """Estimates registering the first document: whether this kind of institution may register
    this kind of document is the ledger's rule, refused here before anything is signed."""
    platform = gateway.platform
    row = encode_document_row(
        document_fingerprint(platform.fingerprints, doc_type, first.number),
        platform.ids.participant(first.owner),
        first.amount.to_minor(),
        first.amount.currency.numeric,
        to_day(first.issued),
    )
    data = encode_static_array_call(
        platform.abis[LEDGER].selector("register"), [int(doc_type)], [row]
    )
    platform.sender.estimate(TxRequest(signer=signer, to=platform.address(LEDGER), data=data))


@router.get(
    "/documents/{kind}/{number}",
    response_model=DocumentStatusOut,
    responses=problem_responses(401, 403, 404, 422, 500, 503),
    summary="银行间融资信息互动: is the document used, how much is left, since when",
)
def status(
    kind: Kind,
    number: Annotated[str, Path(min_length=1, max_length=64)],
    principal: PrincipalDep,
    gateway: GatewayDep,
) -> Response:
    """Any participant may ask; the answer never says who financed it. An unregistered
    document is ``unknown``."""
    doc_type = kind_of(kind)
    fingerprint = document_fingerprint(gateway.platform.fingerprints, doc_type, number)
    (info,) = Screening(gateway.platform).documents(doc_type, [fingerprint])
    out = DocumentStatusOut.of(kind, document_kind(doc_type).validate(number), info)
    return Response(out.model_dump_json(), media_type="application/json")


@router.post(
    "/screening",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "one JSON object a line, in the order of the numbers asked",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 422, 500, 503),
    },
    summary="bulk screening of up to 100,000 documents, streamed as NDJSON",
)
def screening(body: ScreeningIn, principal: PrincipalDep, gateway: GatewayDep) -> StreamingResponse:
    """Every number is checked and fingerprinted first (a bad one is a 422 naming its
    position); then the ledger is read in chunks and each chunk's lines are sent as soon as it
    is read. A failure midway ends the stream with one line ``{"error": problem}``."""
    doc_type = kind_of(body.kind)
    validate = document_kind(doc_type).validate
    fingerprints = gateway.platform.fingerprints
    numbers: list[str] = []
    prints: list[bytes] = []
    for index, raw in enumerate(body.numbers):
        try:
            number = validate(raw)
        except InvalidInput as error:
            raise InvalidInput(f"numbers[{index}]: {error}") from None
        numbers.append(number)
        prints.append(document_fingerprint(fingerprints, doc_type, number))
    screen = Screening(gateway.platform)

    def lines() -> Iterator[bytes]:
        for start in range(0, len(prints), SCREEN_CHUNK):
            try:
                infos = screen.documents(doc_type, prints[start : start + SCREEN_CHUNK])
            except CrossborderError as error:
                problem = problem_of(error, "/v1/screening").model_dump(exclude_none=True)
                yield (json.dumps({"error": problem}) + "\n").encode()
                return
            chunk = numbers[start : start + SCREEN_CHUNK]
            yield "".join(_line(n, i) for n, i in zip(chunk, infos, strict=True)).encode()

    return StreamingResponse(lines(), media_type=NDJSON)


def _line(number: str, info: DocumentInfo) -> str:
    currency = info.currency
    row: dict[str, object] = {"number": number, "status": info.status.name.lower()}
    if currency is not None:
        row["currency"] = currency.code
        row["face"] = units(info.face_units, currency)
        row["held"] = units(info.held_units, currency)
        row["remaining"] = units(info.face_units - info.held_units, currency)
        issued = info.issued
        row["issued"] = issued.isoformat() if issued is not None else None
        used = info.used_since
        row["used_since"] = used.isoformat() if used is not None else None
    return json.dumps(row, separators=(",", ":")) + "\n"
