"""The ``crossborder`` command as an operator runs it: real processes against a real Anvil."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crossborder.chain.devnet import free_port

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-c", "from crossborder.cli.main import cli; cli()"]


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"crossborder {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    port = free_port()
    return {
        **os.environ,
        "CROSSBORDER_RPC_URL": f"http://127.0.0.1:{port}",
        "CROSSBORDER_DEVNET_PORT": str(port),
        "CROSSBORDER_DEVNET_DIR": str(tmp_path / "devnet"),
        "CROSSBORDER_DEVNET_BLOCK_TIME": "0.2",
        "COLUMNS": "200",
    }


def test_devnet_deploy_demo_query_index_report(env):
    run(env, "devnet", "start")
    try:
        deployed = run(env, "deploy")
        assert "ReceivablesFinancing" in deployed.stdout
        story = run(env, "demo").stdout
        assert "重复融资" in story and "超额融资" in story and "maker-checker" in story

        unknown = run(env, "query", "531020260000000999").stdout
        assert "unknown" in unknown
        # Its times are China Standard Time, and it says so (as the reports do).
        assert "used since (UTC+8)" in unknown and "China Standard Time (UTC+8)" in unknown
        bad = run(env, "query", "12345", check=False)
        assert bad.returncode == 1
        assert "18 digits" in bad.stderr and "Traceback" not in bad.stdout + bad.stderr
        waybill = run(env, "query", "--kind", "rail-waybill", "CQ-0000000001").stdout
        assert "unknown" in waybill and "rail waybill" in waybill
        assert "保单融资代申请" in story and "物流融资代申请" in story

        # Two endpoints of the chain, the first one dead: the indexer fails over to the second.
        dead_first = f"http://127.0.0.1:{free_port()},{env['CROSSBORDER_RPC_URL']}"
        indexed = run(
            {**env, "CROSSBORDER_RPC_URL": dead_first}, "index", "--once", "--no-progress"
        )
        assert "checkpoint" in indexed.stdout + indexed.stderr
        names = str(Path(env["CROSSBORDER_DEVNET_DIR"]) / "demo-names.csv")
        report = run(
            env, "report", "interceptions", "--regulator", "--format", "json", "--names", names
        )
        document = json.loads(report.stdout)
        assert document["time_zone"] == {"name": "China Standard Time", "utc_offset": "+08:00"}
        rows = document["rows"]
        # Bank B: receivables (one duplicate, one over), the insured declaration, the linked
        # waybill and its declaration (three more over-financings); payments: beyond the tax
        # filing (exceeded) and a freight invoice already paid at Bank A (duplicate).
        assert sorted(r["reason"] for r in rows) == [
            *["超额融资 over-financing"] * 5,
            *["重复融资 duplicate"] * 2,
        ]
        assert all(r["bank"].startswith("Bank B") for r in rows)
        _consent_by_files(env)
    finally:
        run(env, "devnet", "stop")


def _consent_by_files(env: dict[str, str]) -> None:
    """The firm signs a consent file with its keystore; Bank A's operator submits it."""
    from crossborder.chain.signers import dev_signers, write_keystore
    from crossborder.demo import BANKS, FIRMS

    folder = Path(env["CROSSBORDER_DEVNET_DIR"])
    keys = dev_signers(31337, 30)
    env = {**env, "CROSSBORDER_KEYSTORE_PASSPHRASE": "correct horse battery"}
    firm_key = write_keystore(
        keys[16],
        folder / "firm.json",
        env["CROSSBORDER_KEYSTORE_PASSPHRASE"],
        kdf="pbkdf2",
        iterations=2,
    )
    bank_key = write_keystore(
        keys[7],
        folder / "bank.json",
        env["CROSSBORDER_KEYSTORE_PASSPHRASE"],
        kdf="pbkdf2",
        iterations=2,
    )
    firm, bank = next(iter(FIRMS.values())), BANKS["Bank A"]
    first, second = folder / "consent-1.json", folder / "consent-2.json"
    for path in (first, second):
        run(
            env,
            "consent",
            "sign",
            "--keystore",
            str(firm_key),
            "--firm",
            firm,
            "--bank",
            bank,
            "-o",
            str(path),
        )
    assert "signature" in json.loads(first.read_text())
    assert (
        "1 service(s) opened"
        in run(env, "consent", "submit", str(first), "--keystore", str(bank_key)).stdout
    )
    replay = run(env, "consent", "submit", str(first), "--keystore", str(bank_key), check=False)
    assert replay.returncode == 1 and "already used or revoked" in replay.stderr
    run(env, "consent", "revoke", str(second), "--keystore", str(firm_key))
    revoked = run(env, "consent", "submit", str(second), "--keystore", str(bank_key), check=False)
    assert revoked.returncode == 1 and "Traceback" not in revoked.stdout + revoked.stderr
    # The bank cannot sign for the firm: its key is not bound to the firm.
    forged = folder / "forged.json"
    run(
        env,
        "consent",
        "sign",
        "--keystore",
        str(bank_key),
        "--firm",
        firm,
        "--bank",
        bank,
        "-o",
        str(forged),
    )
    refused = run(env, "consent", "submit", str(forged), "--keystore", str(bank_key), check=False)
    assert (
        refused.returncode == 1 and "not signed by an account bound to the firm" in refused.stderr
    )


def test_up_runs_the_story_stops_on_ctrl_c_and_resumes_from_saved_state(env):
    state = Path(env["CROSSBORDER_DEVNET_DIR"]) / "anvil-state.json"
    for attempt in range(2):
        process = subprocess.Popen(
            [*CLI, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines: list[str] = []
        assert process.stdout is not None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "platform up" in line:
                break
        output = "".join(lines)
        assert "platform up" in output, output
        assert "重复融资" in output
        assert ("Deployed on chain" in output) == (attempt == 0)  # resumed: no redeploy
        # The indexer follows the chain while the platform is up: reports are current.
        rows: list[dict[str, str]] = []
        deadline = time.monotonic() + 60
        # Five financing refusals, the payment beyond the tax filing, the freight invoice twice.
        per_story = 7
        while len(rows) < per_story * (attempt + 1) and time.monotonic() < deadline:
            time.sleep(1)
            done = run(
                env, "report", "interceptions", "--regulator", "--format", "json", check=False
            )
            if done.returncode == 0:
                rows = json.loads(done.stdout)["rows"]
        assert len(rows) == per_story * (attempt + 1), "each story leaves seven interceptions"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert state.exists()


def test_keystore_new_and_unlock(env, tmp_path):
    path = tmp_path / "keys" / "bank-a-applicant.json"
    env = {**env, "CROSSBORDER_KEYSTORE_PASSPHRASE": "correct horse battery"}
    created = run(env, "keystore", "new", str(path)).stdout
    address = created.split()[0]
    assert address.startswith("0x") and path.exists()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert address[2:].lower() in path.read_text().lower()  # the address, never the key
    assert run(env, "keystore", "address", str(path)).stdout.strip() == address

    wrong = run(
        {**env, "CROSSBORDER_KEYSTORE_PASSPHRASE": "wrong"},
        "keystore",
        "address",
        str(path),
        check=False,
    )
    assert wrong.returncode == 1 and "Traceback" not in wrong.stdout + wrong.stderr
    again = run(env, "keystore", "new", str(path), check=False)
    assert again.returncode == 1 and "not overwriting" in again.stderr


def test_ids_the_directory_issues_with_an_audit_record_and_a_member_learns(env, tmp_path):
    """Outside the directory a firm's id is unknown until learned; the directory's lookup logs
    who asked and why before it shows the id."""
    firm, bank = "91350200MA2Y00001N", "91350200260130000K"
    run(env, "devnet", "start")
    try:
        audit = tmp_path / "audit.jsonl"
        issued = run(
            env,
            "ids",
            "issue",
            firm,
            "--to",
            bank,
            "--reason",
            "auth #7",
            "--audit-log",
            str(audit),
        )
        pid = issued.stdout.split()[1]
        record = json.loads(audit.read_text())
        assert record["uscc"] == firm and record["id"] == pid and record["to"] == bank

        member = {
            **env,
            "CROSSBORDER_DEVNET": "0",
            "CROSSBORDER_ID_BOOK": str(tmp_path / "book.json"),
        }
        # A member (no directory key) on another's chain: the devnet marker names another dir.
        member["CROSSBORDER_DEVNET_DIR"] = str(tmp_path / "member")
        unknown = run(member, "ids", "show", firm, check=False)
        assert unknown.returncode == 1 and "consent carries it" in unknown.stderr
        refused = run(member, "ids", "issue", firm, "--to", bank, "--reason", "x", check=False)
        assert refused.returncode == 1 and "directory" in refused.stderr
        run(member, "ids", "learn", firm, pid)
        assert pid in run(member, "ids", "show", firm).stdout
        clash = run(member, "ids", "learn", firm, "0x" + "11" * 32, check=False)
        assert clash.returncode == 1 and "another id" in clash.stderr
        assert "Traceback" not in unknown.stderr + refused.stderr + clash.stderr
    finally:
        run(env, "devnet", "stop")


@pytest.mark.parametrize("prune", [False, True])
def test_the_devnet_keeps_past_states_unless_told_to_prune_them(
    env: dict[str, str], prune: bool
) -> None:
    """CROSSBORDER_DEVNET_PRUNE_HISTORY=1 starts Anvil without a copy of the whole state per
    block (national-scale data): the latest state answers, a past block's state is refused."""
    from crossborder.chain.rpc import RpcClient, RpcError

    env = {**env, "CROSSBORDER_DEVNET_PRUNE_HISTORY": "1" if prune else "0"}
    run(env, "devnet", "start")
    try:
        rpc = RpcClient(env["CROSSBORDER_RPC_URL"])
        account = "0x" + "11" * 20
        rpc.request("anvil_setBalance", [account, hex(1234)])
        first = rpc.block_number()
        deadline = time.monotonic() + 10
        while rpc.block_number() < first + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert int(rpc.request("eth_getBalance", [account, "latest"]), 16) == 1234
        past = [account, hex(rpc.block_number() - 2)]
        if prune:
            with pytest.raises(RpcError):
                rpc.request("eth_getBalance", past)
        else:
            assert int(rpc.request("eth_getBalance", past), 16) == 1234
    finally:
        run(env, "devnet", "stop")
