"""Every command fails the way an operator can act on: one line saying what is wrong, a
non-zero exit, no stack trace, and nothing created on the way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossborder.chain.devnet import free_port

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-c", "from crossborder.cli.main import cli; cli()"]


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def one_error(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The command failed with exactly one line of output, an error naming ``expected``."""
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    (line,) = lines
    assert line.startswith("error: "), line
    for part in expected:
        assert part in line, line
    return line


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No node, no devnet folder, no store: a narrow terminal, so that wrapping would show."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CROSSBORDER_")}
    return {
        **clean,
        "CROSSBORDER_DEVNET": "1",
        "CROSSBORDER_RPC_URL": f"http://127.0.0.1:{free_port()}",
        "CROSSBORDER_DEVNET_DIR": str(tmp_path / "devnet"),
        "COLUMNS": "60",
    }


def _deployment(path: Path, chain_id: int = 31337) -> Path:
    """A well-formed deployment file (its addresses need not hold anything)."""
    path.write_text(
        json.dumps(
            {
                "chain_id": chain_id,
                "block": 1,
                "consortium": "0x" + "11" * 20,
                "ledger": "0x" + "22" * 20,
                "regulator": "0x" + "33" * 20,
                "scenarios": {
                    "receivables": {
                        "contract": "ReceivablesFinancing",
                        "address": "0x" + "44" * 20,
                        "block": 1,
                    }
                },
            }
        )
    )
    return path


# -- the reporting store ----------------------------------------------------------------------


def test_report_and_index_with_an_unreachable_postgresql(
    env: dict[str, str], tmp_path: Path
) -> None:
    url = f"postgresql+psycopg://reporter:s3cret@127.0.0.1:{free_port()}/crossborder"
    done = run(env, "report", "firm-stats", "--regulator", "--db", url)
    line = one_error(done, "cannot open the reporting store", "127.0.0.1")
    assert "s3cret" not in line, "the password is never printed"
    deployment = str(_deployment(tmp_path / "deployment.json"))
    done = run(env, "index", "--once", "--no-progress", "--db", url, "--deployment", deployment)
    line = one_error(done, "cannot open the reporting store", "Connection refused")
    assert "s3cret" not in line


def test_report_on_a_never_indexed_store_creates_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "reports" / "nested"
    done = run(env, "report", "firm-stats", "--regulator", "--db", f"sqlite:///{folder}/i.sqlite")
    one_error(done, "never indexed", "crossborder index")
    assert not (tmp_path / "reports").exists(), "neither the file nor its folders"
    # The default store, in a devnet folder that does not exist either.
    one_error(run(env, "report", "interceptions", "--regulator"), "never indexed")
    assert not Path(env["CROSSBORDER_DEVNET_DIR"]).exists()
    # An empty SQLite file is not an indexed store either.
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    one_error(run(env, "report", "firm-stats", "--regulator", "--db", f"sqlite:///{empty}"))
    assert empty.stat().st_size == 0


def test_report_with_a_malformed_deployment_file(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "deployment.json"
    broken.write_text('{"chain_id": 31337, "block"')
    done = run(env, "report", "firm-stats", "--regulator", "--deployment", str(broken))
    one_error(done, "not a complete deployment file")


# -- the node's URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "args"),
    [
        ("notaurl", ("query", "531020260000000123")),
        ("notaurl", ("deploy",)),
        ("notaurl", ("demo",)),
        ("notaurl", ("index", "--once", "--no-progress")),
        ("notaurl", ("consent", "submit", "consent.json", "--keystore", "bank.json")),
        ("ftp://127.0.0.1:1", ("query", "531020260000000123")),
        ("http://", ("query", "531020260000000123")),
        ("http://", ("index", "--once", "--no-progress")),
        ("http://127.0.0.1:1,notaurl", ("index", "--once", "--no-progress")),
        ("http://127.0.0.1:1,notaurl", ("deploy",)),
        (" , ", ("query", "531020260000000123")),
    ],
    ids=lambda a: a if isinstance(a, str) else a[0],
)
def test_an_unusable_node_url(
    env: dict[str, str], tmp_path: Path, url: str, args: tuple[str, ...]
) -> None:
    env = {
        **env,
        "CROSSBORDER_RPC_URL": url,
        "CROSSBORDER_DEPLOYMENT_FILE": str(_deployment(tmp_path / "deployment.json")),
    }
    one_error(run(env, *args), "URL")
    assert not Path(env["CROSSBORDER_DEVNET_DIR"]).exists(), "no store, no devnet folder"


def test_an_invalid_setting(env: dict[str, str]) -> None:
    env = {**env, "CROSSBORDER_CONFIRMATIONS": "some"}
    for args in (("query", "531020260000000123"), ("index", "--once")):
        one_error(run(env, *args), "invalid settings", "confirmations")


# -- the indexer with its node down -----------------------------------------------------------


def test_index_once_gives_up_after_the_bounded_wait(env: dict[str, str], tmp_path: Path) -> None:
    deployment = _deployment(tmp_path / "deployment.json")
    started = time.monotonic()
    done = run(
        env,
        "index",
        "--once",
        "--no-progress",
        "--deployment",
        str(deployment),
        "--give-up-after",
        "2",
        timeout=60,
    )
    assert time.monotonic() - started < 40
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "gave up after" in errors[0], output
    assert "is unreachable" in errors[0]
    # The same bound from the environment, for a scheduled job.
    env = {**env, "CROSSBORDER_INDEX_GIVE_UP_AFTER": "1"}
    again = run(env, "index", "--once", "--no-progress", "--deployment", str(deployment))
    assert again.returncode == 1 and "limit 1 s" in again.stdout + again.stderr


def test_index_follow_keeps_waiting_and_says_so(env: dict[str, str], tmp_path: Path) -> None:
    deployment = _deployment(tmp_path / "deployment.json")
    process = subprocess.Popen(
        [
            *CLI,
            *("index", "--follow", "--no-progress", "--deployment", str(deployment)),
            *("--log-every", "1", "--give-up-after", "1"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(8)
        assert process.poll() is None, "following never gives up"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out + err
    assert "retrying with backoff" in err
    assert err.count("still waiting") >= 3, err
    assert "Traceback" not in out + err


# -- a malformed or incomplete deployment file, on a live node --------------------------------


@pytest.fixture(scope="module")
def node_env(anvil: object) -> Iterator[dict[str, str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CROSSBORDER_")}
    yield {**clean, "CROSSBORDER_DEVNET": "1", "CROSSBORDER_RPC_URL": anvil.url, "COLUMNS": "60"}  # type: ignore[attr-defined]


EVERY_READER = (
    ("query", "531020260000000123"),
    ("demo",),
    ("index", "--once", "--no-progress"),
    ("report", "firm-stats", "--regulator"),
    ("consent", "submit", "c.json", "--keystore", "k.json"),
    ("consent", "revoke", "c.json", "--keystore", "k.json"),
    ("consent", "sign", "--keystore", "k.json", "--firm", "x", "--bank", "y", "-o", "o.json"),
)


@pytest.mark.parametrize(
    ("content", "commands"),
    [
        ('{"chain_id": 31337, "block"', EVERY_READER),  # cut short
        ('{"chain_id": 31337, "block": 0}', EVERY_READER[:3]),  # incomplete
        ("\xff\xfe", EVERY_READER[:1]),  # not text
    ],
    ids=["truncated", "incomplete", "binary"],
)
def test_every_command_refuses_a_malformed_deployment_file(
    node_env: dict[str, str], tmp_path: Path, content: str, commands: tuple[tuple[str, ...]]
) -> None:
    broken = tmp_path / "deployment.json"
    broken.write_bytes(content.encode("latin-1"))
    env = {
        **node_env,
        "CROSSBORDER_DEPLOYMENT_FILE": str(broken),
        "CROSSBORDER_DEVNET_DIR": str(tmp_path / "devnet"),
    }
    for args in commands:
        one_error(run(env, *args), "not a complete deployment file", str(broken))
    assert not (tmp_path / "devnet").exists(), "no store was created"


def test_index_refuses_a_deployment_of_another_chain(
    node_env: dict[str, str], tmp_path: Path
) -> None:
    other = _deployment(tmp_path / "deployment.json", chain_id=1)
    env = {**node_env, "CROSSBORDER_DEVNET_DIR": str(tmp_path / "devnet")}
    done = run(env, "index", "--once", "--no-progress", "--deployment", str(other))
    one_error(done, "the deployment is for chain 1", "is chain 31337")
