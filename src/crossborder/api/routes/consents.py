"""业务开通: a bank submits a firm's signed consent (the file ``crossborder consent sign`` writes)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ...domain.codes import Scenario, Stage
from ...domain.consent import ServiceConsent
from ...domain.ids import IdBook
from ...errors import ConsentInvalid, InvalidInput
from ...services.consortium import SignedConsent, open_services
from ..deps import GatewayDep, IdempotencyKey, PrincipalDep
from ..idempotency import Attempt, request_hash, run_once
from ..problems import problem_responses
from ..schemas import ConsentIn, ConsentOut

router = APIRouter(prefix="/v1", tags=["consents"])


def signed_consent(body: ConsentIn, chain_id: int, consortium: str) -> SignedConsent:
    """The consent of a consent file, for this chain and consortium only.

    Raises:
        ConsentInvalid: It is for another chain or consortium.
        InvalidInput: Its scenario is unknown.
    """
    if body.chain_id != chain_id or body.consortium.lower() != consortium.lower():
        raise ConsentInvalid("the consent is for another chain or consortium")
    try:
        scenario = Scenario(body.scenario)
    except ValueError:
        raise InvalidInput(f"unknown scenario {body.scenario}") from None
    terms = ServiceConsent(
        firm=bytes.fromhex(body.firm[2:]),
        bank=bytes.fromhex(body.bank[2:]),
        scenario=scenario,
        scope=body.scope,
        valid_until=body.valid_until,
        nonce=int(body.nonce),
    )
    return SignedConsent(terms, bytes.fromhex(body.signature[2:]))


@router.post(
    "/consents",
    status_code=201,
    response_model=ConsentOut,
    responses=problem_responses(401, 403, 409, 422, 500, 502, 503),
    summary="业务开通: submit a firm's signed consent, opening its service with this bank",
)
def submit(
    body: ConsentIn,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    """The operator needs the scenario's service stage (业务开通); the chain checks the firm's
    signature, the bank it names, its expiry and that its nonce is unspent."""
    path = request.url.path
    deployment = gateway.platform.deployment

    def act(attempt: Attempt) -> tuple[int, BaseModel]:
        signed = signed_consent(body, deployment.chain_id, deployment.consortium)
        signer = gateway.signer_for(principal, signed.consent.scenario, Stage.SERVICE)
        attempt.start()
        (receipt,) = open_services(gateway.platform, signer, [signed])
        if body.firm_uscc is not None and isinstance(gateway.platform.ids, IdBook):
            gateway.platform.ids.learn(body.firm_uscc, signed.consent.firm)
        return 201, ConsentOut(
            firm=body.firm.lower(),
            bank=body.bank.lower(),
            scenario=signed.consent.scenario.name.lower(),
            valid_until=dt.datetime.fromtimestamp(signed.consent.valid_until, dt.UTC),
            transaction=receipt.tx_hash,
        )

    return run_once(gateway, principal, key, request_hash("POST", path, body), path, act)
