"""``crossborder credit`` as operators run it, against a real Anvil: the firm authorises with its
keystore, the bank submits and queries (a refusal is one line, and recorded), the regulator keeps
the regulatory table, the firm asks for credit and the bank matches, accepts and grants; the audit
and funnel reports show it all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossborder.chain.signers import dev_signers, write_keystore
from crossborder.demo import BANKS, FIRMS

from .test_cli import env, run  # noqa: F401 (the env fixture)

pytestmark = pytest.mark.integration
PASSPHRASE = "correct horse battery"
# The demo's signers: 0 regulator, 14 Bank B's opener, 16 firm 1, 22 Bank B's credit officer.
ROLES = {"regulator": 0, "opener_b": 14, "firm": 16, "officer_b": 22}


def _keystores(folder: Path) -> dict[str, str]:
    keys = dev_signers(31337, 30)
    return {
        name: str(
            write_keystore(keys[i], folder / f"{name}.json", PASSPHRASE, kdf="pbkdf2", iterations=2)
        )
        for name, i in ROLES.items()
    }


def test_credit_commands(env):  # noqa: F811
    env = {**env, "CROSSBORDER_KEYSTORE_PASSPHRASE": PASSPHRASE}
    folder = Path(env["CROSSBORDER_DEVNET_DIR"])
    firm, bank_b = next(iter(FIRMS.values())), BANKS["Bank B"]
    run(env, "devnet", "start")
    try:
        run(env, "deploy")
        run(env, "demo")
        keys = _keystores(folder)
        run(env, "index", "--once", "--no-progress")
        # Refused before any authorisation: one line, no trace; recorded on chain.
        refused = run(
            env, "credit", "query", "--keystore", keys["officer_b"], "--firm", firm, check=False
        )
        assert refused.returncode == 1 and "授权查证 refused" in refused.stderr
        assert "Traceback" not in refused.stdout + refused.stderr
        consent = folder / "credit-consent.json"
        run(
            env,
            "credit",
            "authorise",
            "--keystore",
            keys["firm"],
            "--firm",
            firm,
            "--bank",
            bank_b,
            "--scope",
            "trade,regulatory",
            "-o",
            str(consent),
        )
        run(env, "consent", "submit", str(consent), "--keystore", keys["opener_b"])
        run(
            env,
            "credit",
            "classify",
            "--keystore",
            keys["regulator"],
            "--firm",
            firm,
            "--class",
            "B",
            "--since",
            "2026-01-01",
        )
        run(
            env,
            "credit",
            "penalty",
            "--keystore",
            keys["regulator"],
            "--firm",
            firm,
            "--day",
            "2026-02-03",
            "--amount",
            "1200.50",
            "--reason",
            "late reporting",
        )
        not_regulator = run(
            env,
            "credit",
            "classify",
            "--keystore",
            keys["officer_b"],
            "--firm",
            firm,
            "--class",
            "A",
            "--since",
            "2026-01-01",
            check=False,
        )
        assert not_regulator.returncode == 1 and "regulator" in not_regulator.stderr
        run(env, "index", "--once", "--no-progress")
        shown = run(
            env,
            "credit",
            "query",
            "--keystore",
            keys["officer_b"],
            "--firm",
            firm,
            "--scope",
            "trade,regulatory",
            "--format",
            "json",
        )
        profile = json.loads(shown.stdout)
        assert profile["basic"] is None
        assert profile["regulatory"]["classification"] == "B"
        assert profile["regulatory"]["penalties"][0]["amount"] == {
            "amount": "1200.50",
            "currency": "CNY",
        }
        assert profile["trade"]["financings"], "the demo financed firm 1 at Bank A"
        out_of_scope = run(
            env,
            "credit",
            "query",
            "--keystore",
            keys["officer_b"],
            "--firm",
            firm,
            "--scope",
            "basic",
            check=False,
        )
        assert out_of_scope.returncode == 1 and "does not cover this scope" in out_of_scope.stderr

        added = run(
            env,
            "credit",
            "outlet",
            "add",
            "--keystore",
            keys["officer_b"],
            "--name",
            "青岛分行",
            "--region",
            "370200",
            "--contact",
            "0532-1",
        ).stdout
        outlet = added.split("#")[1].split()[0]
        bad = run(
            env,
            "credit",
            "outlet",
            "add",
            "--keystore",
            keys["officer_b"],
            "--name",
            "x",
            "--region",
            "37",
            "--contact",
            "y",
            check=False,
        )
        assert bad.returncode == 1 and "six-digit" in bad.stderr
        # The demo opened firm 2's credit service at Bank B (firm 1's is at Bank A only).
        no_service = run(
            env,
            "credit",
            "request",
            "--keystore",
            keys["firm"],
            "--bank",
            bank_b,
            "--amount",
            "1000",
            "--currency",
            "USD",
            "--purpose",
            "equipment",
            "--region",
            "370200",
            check=False,
        )
        assert no_service.returncode == 1 and "not opened" in no_service.stderr
        bank_a = BANKS["Bank A"]
        asked = run(
            env,
            "credit",
            "request",
            "--keystore",
            keys["firm"],
            "--bank",
            bank_a,
            "--amount",
            "1000",
            "--currency",
            "USD",
            "--purpose",
            "equipment",
            "--region",
            "350200",
        ).stdout
        rid = asked.split("#")[1].split(":")[0]
        other_bank = run(
            env, "credit", "match", "--keystore", keys["officer_b"], rid, outlet, check=False
        )
        assert other_bank.returncode == 1 and "another bank" in other_bank.stderr
        assert "requested" in run(env, "credit", "status", rid).stdout

        run(env, "index", "--once", "--no-progress")
        audit = json.loads(
            run(env, "report", "credit-queries", "--regulator", "--format", "json").stdout
        )
        outcomes = {r["outcome"] for r in audit["rows"]}
        assert any("not authorised" in o for o in outcomes) and any(
            "out of scope" in o for o in outcomes
        )
        funnel = json.loads(
            run(env, "report", "credit-funnel", "--regulator", "--format", "json").stdout
        )
        assert sum(r["requests"] for r in funnel["rows"]) == 3  # the demo's two and this one
    finally:
        run(env, "devnet", "stop")
