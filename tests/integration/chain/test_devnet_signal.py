"""The explicit devnet signal on real nodes: a devnet the project started unlocks the public
dev keys and the published consortium key; another node with the same chain id does not."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import dev_signers
from crossborder.errors import InvalidInput
from crossborder.settings import DEVNET_CONSORTIUM_KEY, Settings, get_settings

from ..conftest import Node

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-c", "from crossborder.cli.main import cli; cli()"]


@pytest.fixture
def no_signal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No CROSSBORDER_DEVNET and no consortium key: only what the node itself says."""
    monkeypatch.delenv("CROSSBORDER_DEVNET", raising=False)
    monkeypatch.delenv("CROSSBORDER_CONSORTIUM_KEY", raising=False)
    monkeypatch.setenv("CROSSBORDER_DEVNET_DIR", str(tmp_path / "devnet"))
    get_settings.cache_clear()
    yield tmp_path / "devnet"
    get_settings.cache_clear()


def test_devnet_exposes_its_pid(tmp_path: Path) -> None:
    devnet = Devnet(tmp_path, port=free_port(), block_time=None)
    assert devnet.pid is None
    devnet.start(detach=True)
    try:
        pid = devnet.pid
        assert pid is not None and int(devnet.pid_file.read_text()) == pid
        assert b"anvil" in Path(f"/proc/{pid}/cmdline").read_bytes()
        # Another process (here: object) finds the same pid through the devnet's directory.
        assert Devnet(tmp_path, port=devnet.port).pid == pid
    finally:
        devnet.stop()
    assert devnet.pid is None and Devnet(tmp_path, port=devnet.port).pid is None


def test_a_started_devnet_is_the_signal(no_signal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    devnet = Devnet(no_signal, port=free_port(), block_time=None)
    devnet.start()
    try:
        monkeypatch.setenv("CROSSBORDER_RPC_URL", devnet.url)
        get_settings.cache_clear()
        settings = get_settings()
        assert settings.is_devnet(31337)
        assert dev_signers(31337, 2)[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        assert settings.consortium_key_for(31337) == DEVNET_CONSORTIUM_KEY.encode()
        # The marker names one node and one chain.
        assert not settings.is_devnet(1337)
        elsewhere = f"http://127.0.0.1:{free_port()}"
        assert not Settings(rpc_url=elsewhere, devnet_dir=no_signal).is_devnet(31337)
        localhost = devnet.url.replace("127.0.0.1", "localhost")
        assert Settings(rpc_url=localhost, devnet_dir=no_signal).is_devnet(31337)
        # Several endpoints: the devnet is one of them.
        listed = Settings(rpc_url=f"{elsewhere},{devnet.url}", devnet_dir=no_signal)
        assert listed.is_devnet(31337)
    finally:
        devnet.stop()
    assert not devnet.marker_file.exists()
    assert not get_settings().is_devnet(31337)
    with pytest.raises(InvalidInput, match="only for the local devnet"):
        dev_signers(31337)


def test_a_node_with_chain_id_31337_alone_unlocks_nothing(
    no_signal: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An Anvil the project did not start (as geth --dev or any private chain could be)."""
    node = Node("anvil", tmp_path)
    try:
        assert RpcClient(node.url).chain_id() == 31337
        monkeypatch.setenv("CROSSBORDER_RPC_URL", node.url)
        get_settings.cache_clear()
        assert not get_settings().is_devnet(31337)
        with pytest.raises(InvalidInput, match="only for the local devnet"):
            dev_signers(31337)
        with pytest.raises(InvalidInput, match="CROSSBORDER_CONSORTIUM_KEY"):
            get_settings().consortium_key_for(31337)
    finally:
        node.stop()


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_cli_uses_dev_keys_on_its_own_devnet_only(tmp_path: Path) -> None:
    """`crossborder devnet start` + `deploy` work without CROSSBORDER_DEVNET (the marker);
    `deploy` against an Anvil the CLI did not start refuses the dev keys."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CROSSBORDER_DEVNET", "CROSSBORDER_CONSORTIUM_KEY")
    }
    env |= {
        "CROSSBORDER_RPC_URL": f"http://127.0.0.1:{port}",
        "CROSSBORDER_DEVNET_PORT": str(port),
        "CROSSBORDER_DEVNET_DIR": str(tmp_path / "devnet"),
        "COLUMNS": "200",
    }
    assert run(env, "devnet", "start").returncode == 0
    try:
        deployed = run(env, "deploy")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert "ReceivablesFinancing" in deployed.stdout
    finally:
        assert run(env, "devnet", "stop").returncode == 0
    plain = Node("anvil", tmp_path)
    try:
        env["CROSSBORDER_RPC_URL"] = plain.url
        refused = run(env, "deploy")
        assert refused.returncode == 1
        assert "only for the local devnet" in refused.stdout + refused.stderr
        assert "Traceback" not in refused.stdout + refused.stderr
    finally:
        plain.stop()
