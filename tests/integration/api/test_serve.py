"""`crossborder serve` as an operator runs it: its own process, settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from crossborder.chain.devnet import free_port
from crossborder.domain.codes import Stage

from .conftest import World

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).parent / "crossborder")


def test_serve_and_token_issue_from_the_command_line(world: World, tmp_path: Path) -> None:
    deployment = tmp_path / "deployment.json"
    world.platform.deployment.save(deployment)
    env = {
        **os.environ,
        "CROSSBORDER_RPC_URL": world.node.url,
        "CROSSBORDER_DEPLOYMENT_FILE": str(deployment),
        "CROSSBORDER_DEVNET": "1",
        "CROSSBORDER_GATEWAY_DIR": str(tmp_path / "gateway"),
    }
    account = world.bank("Bank A", Stage.ACCEPT).address
    issued = subprocess.run(
        [CLI, "token", "issue", "--account", account, "--dev"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = issued.stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        status = httpx.get(
            f"{url}/v1/documents/export-declaration/531020260000000123", headers=headers
        )
        assert status.status_code == 200, status.text
        assert status.json()["status"] in ("unknown", "free")
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_serve_says_whose_keys_it_holds(world: World) -> None:
    done = subprocess.run([CLI, "serve"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: say whose keys the gateway holds: --keystores DIR, or --dev"
    ]
