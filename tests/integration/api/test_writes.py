"""Writes through the gateway: every stage, idempotency, role refusal before signing."""

from __future__ import annotations

import datetime as dt

import pytest

from crossborder.domain.codes import Stage

from .conftest import FIRM_1, World, citation, keyed, problem

pytestmark = pytest.mark.integration
RCV = "/v1/scenarios/receivables/financings"


def test_every_stage_of_a_financing(world: World) -> None:
    (number,) = world.register(1)
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        applied = api.post(
            RCV,
            json={"firm": FIRM_1, "citations": [citation(number, "60000.00")]},
            headers=keyed(),
        )
    assert applied.status_code == 201, applied.text
    financing = applied.json()
    fid = financing["id"]
    assert financing["state"] == "applied"
    assert financing["requested"] == {"amount": "60000.00", "currency": "USD"}
    today = dt.date.today()
    steps = [
        (Stage.ACCEPT, "accept", None, "accepted"),
        (Stage.REVIEW, "review", {"approve": True}, "approved"),
        (
            Stage.DISBURSE,
            "disbursement",
            {
                "amount": {"amount": "60000.00", "currency": "USD"},
                "value_date": today.isoformat(),
                "due_date": (today + dt.timedelta(days=90)).isoformat(),
            },
            "disbursed",
        ),
        (Stage.REPAY, "repayment", {"amount": {"amount": "60000.00", "currency": "USD"}}, "closed"),
    ]
    for stage, action, body, state in steps:
        with world.client(world.bank("Bank A", stage)) as api:
            done = api.post(f"{RCV}/{fid}/{action}", json=body, headers=keyed())
        assert done.status_code == 200, done.text
        assert done.json()["state"] == state
        assert done.json()["transaction"].startswith("0x")
    with world.client(world.bank("Bank A", Stage.ACCEPT)) as api:
        read = api.get(f"{RCV}/{fid}").json()
    assert read["state"] == "closed"
    assert read["history_source"] == "chain"
    assert [s["action"] for s in read["history"]] == [
        "applied",
        "accepted",
        "approved",
        "disbursed",
        "repaid",
    ]
    assert read["history"][0]["operator"] == world.bank("Bank A", Stage.APPLY).address.lower()


def _apply(world: World, number: str, amount: str, key: str, stage: Stage = Stage.APPLY):
    with world.client(world.bank("Bank A", stage)) as api:
        return api.post(
            RCV,
            json={"firm": FIRM_1, "citations": [citation(number, amount)]},
            headers=keyed(key),
        )


def _count(world: World) -> int:
    return int(world.platform.view("ReceivablesFinancing", "financing_count")[0])


def test_an_operator_without_the_role_is_refused_before_anything_is_signed(world: World) -> None:
    (number,) = world.register(1)
    accepter = world.bank("Bank A", Stage.ACCEPT)
    before, count = world.nonce(accepter), _count(world)
    body = problem(_apply(world, number, "1000.00", "no-role", Stage.ACCEPT), 403, "missing_role")
    assert body["title_zh"] == "所属角色"
    assert world.nonce(accepter) == before
    assert _count(world) == count
    # Refused before acting: not kept, so the key stays free for a request that may act.
    assert world.gateway.store.response(accepter.address, "no-role") is None


def test_the_role_check_passes_for_the_operator_holding_it(world: World) -> None:
    (number,) = world.register(1)
    applicant = world.bank("Bank A", Stage.APPLY)
    before = world.nonce(applicant)
    assert _apply(world, number, "1000.00", "has-role").status_code == 201
    assert world.nonce(applicant) == before + 1


def test_a_retry_returns_the_first_result_and_sends_no_second_transaction(world: World) -> None:
    (number,) = world.register(1)
    applicant = world.bank("Bank A", Stage.APPLY)
    before, count = world.nonce(applicant), _count(world)
    first = _apply(world, number, "5000.00", "retry-me")
    again = _apply(world, number, "5000.00", "retry-me")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert world.nonce(applicant) == before + 1
    assert _count(world) == count + 1


def test_the_same_key_for_another_request_is_refused(world: World) -> None:
    (number,) = world.register(1)
    applicant = world.bank("Bank A", Stage.APPLY)
    assert _apply(world, number, "5000.00", "one-key").status_code == 201
    before = world.nonce(applicant)
    problem(_apply(world, number, "5001.00", "one-key"), 422, "idempotency_conflict")
    assert world.nonce(applicant) == before


def test_keys_are_scoped_by_account(world: World) -> None:
    """Bank B's operator may use a key Bank A's already used: another request altogether."""
    (number,) = world.register(1)
    assert _apply(world, number, "5000.00", "shared-key").status_code == 201
    with world.client(world.bank("Bank B", Stage.ACCEPT)) as api:
        other = api.post(f"{RCV}/1/accept", headers=keyed("shared-key"))
    assert other.status_code != 422


def test_a_duplicate_financing_is_a_409_with_its_reason_kept_for_retries(world: World) -> None:
    (number,) = world.register(1)
    assert _apply(world, number, "100000.00", "full").status_code == 201
    applicant = world.bank("Bank A", Stage.APPLY)
    before = world.nonce(applicant)
    refused = problem(_apply(world, number, "10.00", "dup"), 409, "duplicate_financing")
    assert refused["reason"] == 5 and refused["reason_name"] == "duplicate"
    assert refused["title_zh"] == "重复融资"
    assert refused["fingerprint"].startswith("0x")
    assert world.nonce(applicant) == before + 1  # the attempt is recorded on chain
    again = _apply(world, number, "10.00", "dup")
    assert again.json() == refused
    assert world.nonce(applicant) == before + 1


def test_another_banks_financing_cannot_be_acted_on(world: World) -> None:
    (number,) = world.register(1)
    fid = _apply(world, number, "100.00", "mine").json()["id"]
    accepter_b = world.bank("Bank B", Stage.ACCEPT)
    before = world.nonce(accepter_b)
    with world.client(accepter_b) as api:
        problem(api.post(f"{RCV}/{fid}/accept", headers=keyed()), 404, "unknown_entity")
    assert world.nonce(accepter_b) == before


def test_maker_checker_the_applicant_may_not_review(world: World) -> None:
    (number,) = world.register(1)
    fid = _apply(world, number, "100.00", "maker").json()["id"]
    with world.client(world.bank("Bank A", Stage.ACCEPT)) as api:
        assert api.post(f"{RCV}/{fid}/accept", headers=keyed()).status_code == 200
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        refused = api.post(f"{RCV}/{fid}/review", json={"approve": True}, headers=keyed())
    problem(refused, 403, "maker_checker_violation")


def test_withdrawal_frees_the_documents(world: World) -> None:
    (number,) = world.register(1)
    fid = _apply(world, number, "100000.00", "to-withdraw").json()["id"]
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        done = api.post(f"{RCV}/{fid}/withdraw", headers=keyed())
        assert done.json()["state"] == "withdrawn"
        status = api.get(f"/v1/documents/export-declaration/{number}").json()
    assert status["status"] == "free"


def test_every_scenario_is_served(world: World) -> None:
    """The routes come from the scenario table: an unknown scenario is a 404."""
    from crossborder.domain.scenarios import SCENARIO_SPECS

    with world.client(world.bank("Bank A", Stage.ACCEPT)) as api:
        for spec in SCENARIO_SPECS:
            missing = api.get(f"/v1/scenarios/{spec.name}/financings/999999")
            problem(missing, 404, "unknown_entity")
        problem(api.get("/v1/scenarios/nope/financings/1"), 404, "unknown_entity")


def test_customs_registers_documents_and_a_bank_may_not(world: World) -> None:
    today = dt.date.today().isoformat()
    numbers = [str(531_020_260_000_000_000 + i) for i in range(3)]
    body = {
        "documents": [
            {
                "number": n,
                "owner": FIRM_1,
                "issued": today,
                "amount": {"amount": "1000.00", "currency": "USD"},
            }
            for n in numbers
        ]
    }
    with world.client(world.demo.customs) as api:
        done = api.post("/v1/documents/export-declaration", json=body, headers=keyed())
        assert done.status_code == 200, done.text
        assert done.json()["registered"] == 3
        again = api.post("/v1/documents/export-declaration", json=body, headers=keyed())
        assert again.json()["registered"] == 0
        assert {s["reason"] for s in again.json()["skipped"]} == {"already_registered"}
        status = api.get(f"/v1/documents/export-declaration/{numbers[0]}").json()
        assert status["status"] == "free"
        assert status["face"] == {"amount": "1000.00", "currency": "USD"}
    applicant = world.bank("Bank A", Stage.APPLY)
    before = world.nonce(applicant)
    with world.client(applicant) as api:
        problem(
            api.post("/v1/documents/export-declaration", json=body, headers=keyed()),
            403,
            "missing_role",
        )
    assert world.nonce(applicant) == before
    # The logistics operator holds the role, but may not register customs declarations.
    logistics = world.demo.logistics
    before = world.nonce(logistics)
    with world.client(logistics) as api:
        refused = api.post("/v1/documents/export-declaration", json=body, headers=keyed())
    problem(refused, 403, "access_denied")
    assert world.nonce(logistics) == before


def test_a_bank_submits_a_firms_signed_consent(world: World) -> None:
    from crossborder.domain.codes import Scenario
    from crossborder.services.consortium import sign_consent

    platform = world.platform
    bank = world.demo.banks["Bank B"]
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    signed = sign_consent(
        platform, world.demo.firms[FIRM_1], FIRM_1, bank.uscc, Scenario.RECEIVABLES, until
    )
    document = {
        "chain_id": platform.deployment.chain_id,
        "consortium": platform.deployment.consortium,
        "firm": "0x" + signed.consent.firm.hex(),
        "bank": "0x" + signed.consent.bank.hex(),
        "scenario": int(signed.consent.scenario),
        "scope": signed.consent.scope,
        "valid_until": signed.consent.valid_until,
        "nonce": str(signed.consent.nonce),
        "signature": "0x" + signed.signature.hex(),
    }
    with world.client(bank.signers[Stage.APPLY]) as api:
        problem(api.post("/v1/consents", json=document, headers=keyed()), 403, "missing_role")
    with world.client(bank.opener) as api:
        opened = api.post("/v1/consents", json=document, headers=keyed("consent-1"))
        assert opened.status_code == 201, opened.text
        assert opened.json()["scenario"] == "receivables"
        assert api.post("/v1/consents", json=document, headers=keyed("consent-1")).content == (
            opened.content
        )
        replayed = api.post("/v1/consents", json=document, headers=keyed("consent-2"))
        assert problem(replayed, 403, "consent_invalid")["title_zh"] == "业务开通授权"
        other_chain = {**document, "chain_id": 1}
        problem(api.post("/v1/consents", json=other_chain, headers=keyed()), 403, "consent_invalid")
