"""A financing's history: from the indexer's store when the gateway has one, else the chain.

Both give the same steps (``tests/integration/api`` compares them): the indexer's
``financing_states`` rows, or the scenario contract's lifecycle logs of the financing, read
with one ``eth_getLogs`` and their blocks' times in one batch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import select

from ..domain.codes import FinancingState
from ..domain.money import Currency, Money
from ..domain.scenarios import ScenarioSpec
from ..indexer import schema as s
from .gateway import Gateway
from .schemas import MoneyOut, Step

LIFECYCLE_EVENTS = (
    "FinancingApplied",
    "FinancingAccepted",
    "FinancingReviewed",
    "FinancingWithdrawn",
    "DisbursementRegistered",
    "RepaymentRegistered",
)


def step_of(name: str, args: dict[str, Any]) -> tuple[str, FinancingState, int]:
    """A lifecycle event's action, the financing's state after it and its amount, named as
    the indexer's ``financing_states`` names them."""
    if name == "FinancingApplied":
        return "applied", FinancingState.APPLIED, int(args["amount"])
    if name == "FinancingAccepted":
        return "accepted", FinancingState.ACCEPTED, 0
    if name == "FinancingReviewed":
        if args["approved"]:
            return "approved", FinancingState.APPROVED, 0
        return "rejected", FinancingState.REJECTED, 0
    if name == "FinancingWithdrawn":
        return "withdrawn", FinancingState.WITHDRAWN, 0
    if name == "DisbursementRegistered":
        return "disbursed", FinancingState.DISBURSED, int(args["amount"])
    closed = bool(args["closed"])
    return (
        "repaid",
        FinancingState.CLOSED if closed else FinancingState.DISBURSED,
        int(args["amount"]),
    )


def _money(units: int, currency: Currency) -> MoneyOut | None:
    return MoneyOut.of(Money.from_minor(units, currency)) if units else None


def history(
    gateway: Gateway, spec: ScenarioSpec, financing_id: int, currency: Currency
) -> tuple[list[Step], Literal["indexer", "chain"]]:
    """The financing's steps in chain order, and where they were read ("indexer" or "chain")."""
    if gateway.reports_url is not None:
        return _from_store(gateway, spec, financing_id, currency), "indexer"
    return _from_chain(gateway, spec, financing_id, currency), "chain"


def _from_store(
    gateway: Gateway, spec: ScenarioSpec, financing_id: int, currency: Currency
) -> list[Step]:
    t = s.financing_states
    address = gateway.platform.address(spec.contract).lower()
    query = (
        select(t)
        .where(t.c.scenario_address == address, t.c.financing_id == financing_id)
        .order_by(t.c.block_number, t.c.log_index)
    )
    with gateway.reports().connect() as conn:
        rows = conn.execute(query).all()
    return [
        Step(
            action=r.action,
            state=FinancingState(r.state).name.lower(),
            operator=r.operator,
            amount=_money(int(r.amount), currency),
            at=dt.datetime.fromtimestamp(r.at, dt.UTC),
            block=r.block_number,
            log_index=r.log_index,
        )
        for r in rows
    ]


def _from_chain(
    gateway: Gateway, spec: ScenarioSpec, financing_id: int, currency: Currency
) -> list[Step]:
    platform = gateway.platform
    abi = platform.abis[spec.contract]
    logs = platform.rpc.get_logs(
        address=platform.address(spec.contract),
        topics=[
            [abi.event_topic(name) for name in LIFECYCLE_EVENTS],
            financing_id.to_bytes(32, "big"),
        ],
        from_block=platform.deployment.scenarios[spec.name].block,
        to_block="latest",
    )
    blocks = sorted({log.block_number for log in logs})
    answers = platform.rpc.batch([("eth_getBlockByNumber", [hex(b), False]) for b in blocks])
    times = {b: int(a["timestamp"], 16) for b, a in zip(blocks, answers, strict=True)}
    steps = []
    for log in sorted(logs, key=lambda log: (log.block_number, log.log_index)):
        event = abi.decode_log(log.topics, log.data)
        if event is None:
            continue
        action, state, amount = step_of(event.name, event.args)
        operator = event.args["applicant" if event.name == "FinancingApplied" else "operator"]
        steps.append(
            Step(
                action=action,
                state=state.name.lower(),
                operator=str(operator).lower(),
                amount=_money(amount, currency),
                at=dt.datetime.fromtimestamp(times[log.block_number], dt.UTC),
                block=log.block_number,
                log_index=log.log_index,
            )
        )
    return steps
