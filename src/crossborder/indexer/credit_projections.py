"""Projections of the credit-information query and credit matching (issue 11).

``CreditQueries`` appends one row per recorded query (authorised or refused); ``CreditOutlets``
and ``CreditRequests`` keep one row per outlet and per request, keyed by the contract too.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..domain.codes import CreditState
from . import schema as s
from .events import Event
from .projections import EntityProjection, FactProjection, Key, ProjectionError, Row


class CreditQueries(FactProjection):
    """授权查证: each query a bank recorded, with its outcome (0 authorised, else why refused)."""

    table = s.credit_queries
    events = frozenset({"CreditQueried"})

    def rows(self, event: Event) -> Iterable[Row]:
        a = event.args
        yield {
            "block_number": event.block_number,
            "log_index": event.log_index,
            "query_id": a["query_id"],
            "bank": a["bank"],
            "firm": a["firm"],
            "scope": a["scope"],
            "outcome": a["outcome"],
            "by": a["by"],
            "tx_hash": event.tx_hash,
            "at": event.block_time,
            "day": s.reporting_day(event.block_time),
        }


class CreditOutlets(EntityProjection):
    """A bank's outlets that handle credit; a closing event keeps the last name and contact."""

    table = s.credit_outlets
    key_columns = ("contract", "outlet_id")
    events = frozenset({"OutletUpdated"})
    creators = frozenset({"OutletUpdated"})

    def key(self, event: Event) -> Key:
        return (event.address, event.args["outlet_id"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        if row is not None and row["bank"] != a["bank"]:
            raise ProjectionError(f"outlet {a['outlet_id']} changes bank")
        new = dict(row or {}) | {
            "contract": event.address,
            "outlet_id": a["outlet_id"],
            "bank": a["bank"],
            "region": a["region"],
            "open": a["open"],
            "updated_at": event.block_time,
            "updated_block": event.block_number,
        }
        if a["open"] or row is None:
            new.update(name=a["name"], contact=a["contact"])
        return new


class CreditRequests(EntityProjection):
    """融资授信: each request, its outlet, state and the time of each step."""

    table = s.credit_requests
    key_columns = ("contract", "request_id")
    events = frozenset({"CreditRequested", "CreditRequestUpdated"})
    creators = frozenset({"CreditRequested"})

    def key(self, event: Event) -> Key:
        return (event.address, event.args["request_id"])

    def apply(self, row: Row | None, event: Event) -> Row:
        a = event.args
        t = event.block_time
        if row is None:
            return {
                "contract": event.address,
                "request_id": a["request_id"],
                "firm": a["firm"],
                "bank": a["bank"],
                "amount": a["amount"],
                "currency": a["currency"],
                "purpose": a["purpose"],
                "region": a["region"],
                "outlet_id": a["outlet_id"],
                "state": int(CreditState.REQUESTED),
                "requested_at": t,
                "requested_day": s.reporting_day(t),
                "matched_at": None,
                "accepted_at": None,
                "decided_at": None,
                "granted": 0,
                "term_days": 0,
                "reason": 0,
                "updated_block": event.block_number,
            }
        state = CreditState(a["state"])
        row.update(state=int(state), outlet_id=a["outlet_id"], updated_block=event.block_number)
        if state == CreditState.MATCHED:
            row["matched_at"] = t
        elif state == CreditState.ACCEPTED:
            row["accepted_at"] = t
        else:
            row.update(decided_at=t, granted=a["amount"], term_days=a["term_days"])
            row["reason"] = a["reason"]
        return row


def credit_projections() -> list[EntityProjection | FactProjection]:
    return [CreditQueries(), CreditOutlets(), CreditRequests()]
