"""Real nodes for the integration suite: Anvil (and Ganache), started here and stopped after."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossborder.chain.devnet import free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import DEV_MNEMONIC, LocalSigner, dev_signers
from crossborder.services.platform import Platform

# The nodes of these tests are throwaway devnets started here: the explicit signal that lets
# the public dev keys be used (a chain id of 31337 or 1337 alone does not).
os.environ.setdefault("CROSSBORDER_DEVNET", "1")

REPO = Path(__file__).resolve().parents[2]
ANVIL = REPO / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
GANACHE = REPO / "node_modules/.bin/ganache"
MNEMONIC = DEV_MNEMONIC
ACCOUNTS = 30


class Node:
    """A node process on loopback; ``kind`` is "anvil" or "ganache"."""

    def __init__(self, kind: str, tmp: Path, block_time: float | None = None) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{kind}-{self.port}.log"
        if kind == "anvil":
            args = [str(shutil.which("anvil") or ANVIL), "--port", str(self.port)]
            args += ["--accounts", str(ACCOUNTS), "--gas-limit", "1000000000", "--silent"]
            if block_time is not None:
                args += ["--block-time", str(block_time)]
        else:
            args = [str(GANACHE), "--server.port", str(self.port), "--chain.chainId", "1337"]
            args += ["--wallet.mnemonic", MNEMONIC, "--wallet.totalAccounts", str(ACCOUNTS)]
            args += ["--miner.blockGasLimit", "1000000000", "--chain.hardfork", "shanghai"]
            args += ["--logging.quiet", "--chain.vmErrorsOnRPCResponse", "true"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        self.rpc = RpcClient(self.url, retries=0)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log.read_text()[-2000:]}")
            try:
                self.rpc.chain_id()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not answer within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def deployed_platform(node: Node, tmp: Path) -> Platform:
    rpc = RpcClient(node.url)
    regulator = dev_signers(rpc.chain_id(), 1)[0]
    return Platform.deploy(rpc, regulator, tmp / f"deployment-{node.port}.json")


NODES = ["anvil"] + (["ganache"] if os.environ.get("CROSSBORDER_SKIP_GANACHE") != "1" else [])


@pytest.fixture(scope="module", params=NODES)
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    started = Node(request.param, tmp_path_factory.mktemp(request.param))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """Anvil alone, with interval mining as on the consortium chain."""
    started = Node("anvil", tmp_path_factory.mktemp("anvil"), block_time=0.5)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def platform(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Platform:
    return deployed_platform(node, tmp_path_factory.mktemp("deploy"))


@pytest.fixture(scope="module")
def signers(platform: Platform) -> list[LocalSigner]:
    return dev_signers(platform.deployment.chain_id, ACCOUNTS)
