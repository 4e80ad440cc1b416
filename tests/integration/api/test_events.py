"""Server-sent events: a bank's financings and the documents they cite, resumable by cursor."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from crossborder.domain.codes import Stage

from .conftest import FIRM_1, World, citation, keyed, problem

pytestmark = pytest.mark.integration
RCV = "/v1/scenarios/receivables/financings"


@dataclass
class Event:
    id: str | None
    event: str
    data: dict[str, Any]


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def next(self) -> Event:
        fields: dict[str, str] = {}
        for line in self.lines:
            if line == "":
                if "event" in fields:
                    return Event(fields.get("id"), fields["event"], json.loads(fields["data"]))
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise AssertionError("the stream ended")

    def until(self, done: Callable[[list[Event]], bool], limit: int = 200) -> list[Event]:
        seen: list[Event] = []
        while not done(seen):
            assert len(seen) < limit, seen
            seen.append(self.next())
        return seen


@contextmanager
def events(world: World, account: Any, **kwargs: Any) -> Iterator[Stream]:
    with world.client(account) as api, api.stream("GET", "/v1/events", **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


def _of(fid: int, name: str) -> Callable[[list[Event]], bool]:
    return lambda seen: any(
        e.event == name and e.data["args"].get("financing_id") == fid for e in seen
    )


def _apply(world: World, bank: str, number: str, amount: str) -> int:
    with world.client(world.bank(bank, Stage.APPLY)) as api:
        applied = api.post(
            RCV, json={"firm": FIRM_1, "citations": [citation(number, amount)]}, headers=keyed()
        )
    assert applied.status_code == 201, applied.text
    return int(applied.json()["id"])


def test_a_bank_is_notified_of_its_financing_and_resumes_from_a_cursor(world: World) -> None:
    (number,) = world.register(1)
    accepter = world.bank("Bank A", Stage.ACCEPT)
    with events(world, accepter) as stream, events(world, world.bank("Bank B", Stage.APPLY)) as b:
        ready = stream.next()
        assert ready.event == "ready" and ready.id == ready.data["cursor"]
        assert b.next().event == "ready"
        fid = _apply(world, "Bank A", number, "30000.00")
        with world.client(accepter) as api:
            assert api.post(f"{RCV}/{fid}/accept", headers=keyed()).status_code == 200
        seen = stream.until(_of(fid, "FinancingAccepted"))
        names = [e.event for e in seen]
        assert names.index("FinancingApplied") < names.index("FinancingAccepted")
        applied = next(e for e in seen if e.event == "FinancingApplied")
        assert applied.data["scenario"] == "receivables"
        assert (
            applied.id
            == applied.data["cursor"]
            == (f"{applied.data['block']}:{applied.data['log_index']}")
        )
        # Bank B sees its own new financing, and nothing of Bank A's before it.
        (other,) = world.register(1)
        fid_b = _apply(world, "Bank B", other, "1000.00")
        seen_b = b.until(_of(fid_b, "FinancingApplied"))
        assert all(e.data["args"].get("financing_id") in (None, fid_b) for e in seen_b), seen_b
        assert not any(e.data["args"].get("financing_id") == fid for e in seen_b)
    after = seen[[e.id for e in seen].index(applied.id) + 1 :]
    with events(world, accepter, params={"cursor": applied.id}) as resumed:
        assert resumed.next().data["cursor"] == applied.id
        again = resumed.until(lambda got: len(got) == len(after))
    assert [(e.id, e.event) for e in again] == [(e.id, e.event) for e in after]
    with events(world, accepter, headers={"Last-Event-ID": applied.id}) as resumed:
        resumed.next()
        assert resumed.next().id == after[0].id


def test_a_bank_is_notified_when_another_bank_holds_a_document_it_cites(world: World) -> None:
    (number,) = world.register(1)
    with events(world, world.bank("Bank A", Stage.ACCEPT)) as stream:
        stream.next()
        fid = _apply(world, "Bank A", number, "30000.00")
        stream.until(_of(fid, "FinancingApplied"))
        fid_b = _apply(world, "Bank B", number, "20000.00")
        seen = stream.until(
            lambda got: any(
                e.event == "AmountHeld" and e.data["args"]["held"] == 5000000 for e in got
            )
        )
    held = next(e for e in seen if e.event == "AmountHeld")
    assert set(held.data["args"]) == {"fingerprint", "doc_type", "held"}  # not whose hold
    assert held.data["transaction"] is None
    assert not any(e.data["args"].get("financing_id") == fid_b for e in seen)


def test_the_regulator_sees_every_bank(world: World) -> None:
    (number,) = world.register(1)
    with events(world, world.signers[0]) as stream:
        stream.next()
        fid_a = _apply(world, "Bank A", number, "10.00")
        fid_b = _apply(world, "Bank B", number, "10.00")
        stream.until(
            lambda got: _of(fid_a, "FinancingApplied")(got) and _of(fid_b, "FinancingApplied")(got)
        )


def test_events_are_for_banks_and_the_regulator(world: World) -> None:
    with world.client(world.demo.customs) as api:
        problem(api.get("/v1/events"), 403, "access_denied")
    with world.client(world.bank("Bank A", Stage.ACCEPT)) as api:
        problem(api.get("/v1/events", params={"cursor": "x:1"}), 422, "invalid_input")
