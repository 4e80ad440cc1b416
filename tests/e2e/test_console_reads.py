"""The reads the console adds to the gateway (`/v1/me`, `/v1/queue`, `/v1/financings`,
`/v1/directory`) against the e2e stack: each bank sees only its own financings, at the chain's
head; the regulator sees all and drills down to one bank."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crossborder.domain.codes import Stage
from crossborder.domain.models import Citation, FinancingApplication
from crossborder.domain.money import Money
from crossborder.services.receivables import ReceivablesDesk

from .stack import FIRM, Stack

pytestmark = pytest.mark.integration


def get(stack: Stack, who: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.token(who)}"}
    return httpx.get(f"{stack.url}{path}", headers=headers, timeout=30)


def ids(items: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(i["scenario"], i["id"]) for i in items}


def test_each_bank_sees_its_own_queue_at_the_chain_head(stack: Stack) -> None:
    # Applied through the SDK a moment ago: in the acceptor's queue before any indexing.
    fid = ReceivablesDesk(stack.platform, stack.demo.banks["Bank B"].signers[Stage.APPLY]).apply(
        FinancingApplication(
            firm=FIRM,
            citations=(Citation(document=stack.declarations[2], amount=Money("1000", "USD")),),
        )
    )
    me = get(stack, "Bank B/accept", "/v1/me").json()
    assert me["kind"] == "bank" and me["name"] == "Bank B"
    assert me["region"] == {"code": "11", "zh": "北京", "en": "Beijing"}
    assert {r["scenario"]: r["stages"] for r in me["roles"]}["receivables"] == ["accept"]

    queue = get(stack, "Bank B/accept", "/v1/queue").json()
    assert ("receivables", fid) in ids(queue["to_accept"])
    assert queue["to_review"] == [] and queue["my_applications"] == []  # not its stages
    (item,) = [i for i in queue["to_accept"] if i["id"] == fid]
    assert item["requested"] == {"amount": "1000.00", "currency": "USD"}
    assert item["firm"] is not None and item["mine"] is False

    mine = get(stack, "Bank B/apply", "/v1/queue").json()
    (own,) = [i for i in mine["my_applications"] if i["id"] == fid]
    assert own["mine"] is True and own["state"] == "applied"

    # Bank A's queue and listing never show Bank B's financing, nor may it ask for them.
    other = get(stack, "Bank A/accept", "/v1/queue").json()
    assert ("receivables", fid) not in ids(other["to_accept"])
    banks = {
        p["name"]: p["id"]
        for p in get(stack, "regulator", "/v1/directory").json()["participants"]
        if p.get("name")
    }
    listing = get(stack, "Bank A/apply", "/v1/financings").json()
    assert {f["head"] for f in listing["financings"]} == {banks["Bank A"]}
    refused = get(stack, "Bank A/apply", f"/v1/financings?bank={banks['Bank B']}")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")

    # The regulator sees every bank's, or one bank's.
    everything = get(stack, "regulator", "/v1/financings").json()
    assert ("receivables", fid) in ids(everything["financings"])
    only_b = get(stack, "regulator", f"/v1/financings?bank={banks['Bank B']}").json()
    assert {f["head"] for f in only_b["financings"]} == {banks["Bank B"]}
    assert get(stack, "regulator", "/v1/me").json()["regulator"] is True


def test_the_console_reads_need_a_token(stack: Stack) -> None:
    for path in ("/v1/me", "/v1/queue", "/v1/financings", "/v1/directory"):
        response = httpx.get(f"{stack.url}{path}", timeout=30)
        assert response.status_code == 401, path
        assert response.json()["code"] == "unauthenticated"
