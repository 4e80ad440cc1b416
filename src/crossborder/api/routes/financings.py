"""Every financing stage of every scenario (``SCENARIO_SPECS``): a scenario that lands later is
served without new gateway code.

Each write checks the operator's stage on chain, then estimates (access and state refusals
surface there), and only then signs: a refused request costs no nonce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from ...chain.sender import Receipt
from ...chain.signers import Signer
from ...domain.codes import Stage
from ...domain.models import Financing
from ...domain.scenarios import SCENARIO_SPECS, ScenarioSpec
from ...errors import UnknownEntity
from ...services.financing import FinancingDesk, read_financing
from ...services.platform import Platform
from ..deps import GatewayDep, IdempotencyKey, PrincipalDep
from ..gateway import Gateway, Principal
from ..history import history
from ..idempotency import Attempt, request_hash, run_once
from ..problems import problem_responses
from ..schemas import (
    MAX_ID,
    ApplicationIn,
    DisbursementIn,
    FinancingOut,
    RepaymentIn,
    ReviewIn,
    one_of,
)

router = APIRouter(prefix="/v1/scenarios", tags=["financings"])

ScenarioName = Annotated[
    str,
    Path(
        description="the financing scenario (出口应收账款融资 receivables, 保单融资 policy, …)",
        json_schema_extra=one_of(spec.name for spec in SCENARIO_SPECS),
    ),
]
FinancingId = Annotated[int, Path(ge=1, le=MAX_ID)]
WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 422, 500, 502, 503)


class KeyedDesk(FinancingDesk):
    """The generic desk, its stage transactions carrying the write's idempotency key."""

    def __init__(self, platform: Platform, operator: Signer, spec: ScenarioSpec, key: str) -> None:
        super().__init__(platform, operator, spec)
        self.key = key

    def _act(self, fn: str, *args: object) -> Receipt:
        request = self.platform.request(
            self.signer, self.contract, fn, *args, idempotency_key=self.key
        )
        return self.platform.sender.transact(request)


def spec_of(name: str) -> ScenarioSpec:
    for spec in SCENARIO_SPECS:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in SCENARIO_SPECS)
    raise UnknownEntity(f"no scenario {name!r} (known: {known})")


def visible_financing(
    gateway: Gateway, principal: Principal, spec: ScenarioSpec, financing_id: int
) -> Financing:
    """The financing, if the caller's institution may see it (else, as if none existed).

    Raises:
        UnknownEntity: No such financing, or another bank's.
    """
    gateway.require_bank(principal)
    financing = read_financing(gateway.platform, spec.contract, financing_id)
    gateway.require_visible(principal, financing.bank, f"financing {financing_id}")
    return financing


@router.post(
    "/{scenario}/financings",
    status_code=201,
    response_model=FinancingOut,
    responses=WRITE_PROBLEMS,
    summary="代申请: apply on the firm's behalf",
)
def apply(
    scenario: ScenarioName,
    body: ApplicationIn,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    """Verifies and holds the cited documents. A failed verification (核验失败: duplicate,
    over-financing, …) is recorded on chain and answered 409 with its reason code."""
    spec = spec_of(scenario)
    path = request.url.path

    def act(attempt: Attempt) -> tuple[int, BaseModel]:
        application = body.application(spec.doc_type)
        signer = gateway.signer_for(principal, spec.scenario, Stage.APPLY)
        desk = KeyedDesk(gateway.platform, signer, spec, attempt.sender_key)
        tx = desk.apply_request(application, attempt.sender_key)
        gateway.platform.sender.estimate(tx)
        attempt.start()
        receipt = gateway.platform.sender.transact(tx)
        out = FinancingOut.of(spec.name, desk.financing(desk.outcome(receipt)))
        out.transaction = receipt.tx_hash
        return 201, out

    return run_once(gateway, principal, key, request_hash("POST", path, body), path, act)


def _stage(
    gateway: Gateway,
    principal: Principal,
    request: Request,
    key: str,
    body: BaseModel | None,
    spec: ScenarioSpec,
    financing_id: int,
    stage: Stage,
    act: Callable[[KeyedDesk], Receipt],
) -> Response:
    """One stage of a financing: scope, role, then the transaction (keyed)."""
    path = request.url.path

    def run(attempt: Attempt) -> tuple[int, BaseModel]:
        visible_financing(gateway, principal, spec, financing_id)
        signer = gateway.signer_for(principal, spec.scenario, stage)
        desk = KeyedDesk(gateway.platform, signer, spec, attempt.sender_key)
        attempt.start()
        receipt = act(desk)
        out = FinancingOut.of(spec.name, desk.financing(financing_id))
        out.transaction = receipt.tx_hash
        return 200, out

    return run_once(gateway, principal, key, request_hash("POST", path, body), path, run)


@router.post(
    "/{scenario}/financings/{financing_id}/accept",
    response_model=FinancingOut,
    responses=WRITE_PROBLEMS,
    summary="受理: accept the application",
)
def accept(
    scenario: ScenarioName,
    financing_id: FinancingId,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    spec = spec_of(scenario)
    return _stage(
        gateway,
        principal,
        request,
        key,
        None,
        spec,
        financing_id,
        Stage.ACCEPT,
        lambda desk: desk.accept(financing_id),
    )


@router.post(
    "/{scenario}/financings/{financing_id}/review",
    response_model=FinancingOut,
    responses=WRITE_PROBLEMS,
    summary="审核: approve or reject (maker-checker: not by the applicant)",
)
def review(
    scenario: ScenarioName,
    financing_id: FinancingId,
    body: ReviewIn,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    spec = spec_of(scenario)
    return _stage(
        gateway,
        principal,
        request,
        key,
        body,
        spec,
        financing_id,
        Stage.REVIEW,
        lambda desk: desk.review(financing_id, body.approve),
    )


@router.post(
    "/{scenario}/financings/{financing_id}/withdraw",
    response_model=FinancingOut,
    responses=WRITE_PROBLEMS,
    summary="withdraw before disbursement (frees the documents)",
)
def withdraw(
    scenario: ScenarioName,
    financing_id: FinancingId,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    spec = spec_of(scenario)
    return _stage(
        gateway,
        principal,
        request,
        key,
        None,
        spec,
        financing_id,
        Stage.APPLY,
        lambda desk: desk.withdraw(financing_id),
    )


@router.post(
    "/{scenario}/financings/{financing_id}/disbursement",
    response_model=FinancingOut,
    responses=WRITE_PROBLEMS,
    summary="放款登记: register the disbursement",
)
def disbursement(
    scenario: ScenarioName,
    financing_id: FinancingId,
    body: DisbursementIn,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    spec = spec_of(scenario)
    return _stage(
        gateway,
        principal,
        request,
        key,
        body,
        spec,
        financing_id,
        Stage.DISBURSE,
        lambda desk: desk.register_disbursement(
            financing_id, body.amount.money(), body.value_date, body.due_date
        ),
    )


@router.post(
    "/{scenario}/financings/{financing_id}/repayment",
    response_model=FinancingOut,
    responses=WRITE_PROBLEMS,
    summary="还款登记: register a (partial or full) repayment",
)
def repayment(
    scenario: ScenarioName,
    financing_id: FinancingId,
    body: RepaymentIn,
    key: IdempotencyKey,
    principal: PrincipalDep,
    gateway: GatewayDep,
    request: Request,
) -> Response:
    spec = spec_of(scenario)
    return _stage(
        gateway,
        principal,
        request,
        key,
        body,
        spec,
        financing_id,
        Stage.REPAY,
        lambda desk: desk.register_repayment(financing_id, body.amount.money()),
    )


@router.get(
    "/{scenario}/financings/{financing_id}",
    response_model=FinancingOut,
    responses=problem_responses(401, 403, 404, 422, 500, 503),
    summary="a financing: its state on chain and its history",
)
def financing(
    scenario: ScenarioName,
    financing_id: FinancingId,
    principal: PrincipalDep,
    gateway: GatewayDep,
) -> FinancingOut:
    """The state from the scenario contract's view; the history from the indexer's store when
    the gateway has one (``history_source``), else from the chain's logs. A bank sees its own
    financings only; another's is answered 404."""
    spec = spec_of(scenario)
    found = visible_financing(gateway, principal, spec, financing_id)
    out = FinancingOut.of(spec.name, found)
    steps, source = history(gateway, spec, financing_id, found.requested.currency)
    out.history, out.history_source = steps, source
    return out
