"""``crossborder credit`` as operators run it, against a real Anvil: the firm authorises with its
keystore, the bank submits and queries (a refusal is one line, and recorded), the regulator keeps
the regulatory table, the firm asks for credit and the bank matches, accepts and grants; the audit
and funnel reports show it all."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from crossborder.chain.signers import dev_signers, write_keystore
from crossborder.demo import BANKS, FIRMS

from .test_cli import env, run  # noqa: F401 (the env fixture)

pytestmark = pytest.mark.integration
PASSPHRASE = "correct horse battery"
# The demo's signers: 0 regulator, 14 Bank B's opener, 16 firm 1, 25 Bank B's credit officer.
ROLES = {"regulator": 0, "opener_b": 14, "firm": 16, "officer_b": 25}


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
    firm, bank_a, bank_b = next(iter(FIRMS.values())), BANKS["Bank A"], BANKS["Bank B"]

    def credit(who: str, line: str, check: bool = True):
        """`crossborder credit LINE --keystore WHO's`."""
        return run(env, "credit", *shlex.split(line), "--keystore", keys[who], check=check)

    def refused(who: str, line: str, says: str) -> None:
        done = credit(who, line, check=False)
        assert done.returncode == 1 and says in done.stderr, done.stderr
        assert "Traceback" not in done.stdout + done.stderr

    def report(name: str) -> list[dict]:
        done = run(env, "report", name, "--regulator", "--format", "json")
        return json.loads(done.stdout)["rows"]

    run(env, "devnet", "start")
    try:
        run(env, "deploy")
        run(env, "demo")
        keys = _keystores(folder)
        run(env, "index", "--once", "--no-progress")
        # Refused before any authorisation: one line, and recorded on chain.
        refused("officer_b", f"query --firm {firm}", "授权查证 refused")
        consent = folder / "credit-consent.json"
        credit(
            "firm", f"authorise --firm {firm} --bank {bank_b} --scope trade,regulatory -o {consent}"
        )
        run(env, "consent", "submit", str(consent), "--keystore", keys["opener_b"])
        credit("regulator", f"classify --firm {firm} --class B --since 2026-01-01")
        credit(
            "regulator", f"penalty --firm {firm} --day 2026-02-03 --amount 1200.50 --reason late"
        )
        refused("officer_b", f"classify --firm {firm} --class A --since 2026-01-01", "regulator")
        run(env, "index", "--once", "--no-progress")
        shown = credit("officer_b", f"query --firm {firm} --scope trade,regulatory --format json")
        profile = json.loads(shown.stdout)
        assert profile["basic"] is None
        assert profile["regulatory"]["classification"] == "B"
        assert profile["regulatory"]["penalties"][0]["amount"] == {
            "amount": "1200.50",
            "currency": "CNY",
        }
        assert profile["trade"]["financings"], "the demo financed firm 1 at Bank A"
        refused("officer_b", f"query --firm {firm} --scope basic", "does not cover this scope")

        added = credit("officer_b", "outlet add --name 青岛分行 --region 370200 --contact 0532-1")
        outlet = added.stdout.split("#")[1].split()[0]
        refused("officer_b", "outlet add --name x --region 37 --contact y", "six-digit")
        # The demo opened firm 1's credit service at Bank A only.
        ask = "request --amount 1000 --currency USD --purpose equipment --region 350200 --bank"
        refused("firm", f"{ask} {bank_b}", "not opened")
        rid = credit("firm", f"{ask} {bank_a}").stdout.split("#")[1].split(":")[0]
        refused("officer_b", f"match {rid} {outlet}", "another bank")
        assert "requested" in run(env, "credit", "status", rid).stdout

        run(env, "index", "--once", "--no-progress")
        outcomes = {r["outcome"] for r in report("credit-queries")}
        assert any("not authorised" in o for o in outcomes)
        assert any("out of scope" in o for o in outcomes)
        assert sum(r["requests"] for r in report("credit-funnel")) == 3  # the demo's two, this
    finally:
        run(env, "devnet", "stop")
