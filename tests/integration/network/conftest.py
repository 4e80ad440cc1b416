"""A real four-institution network: geth v1.13.15 (built by scripts/geth.sh), Clique, loopback."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crossborder.chain.devnet import free_port
from crossborder.chain.rpc import RpcClient
from crossborder.network import Network

REPO = Path(__file__).resolve().parents[3]
NODES = 4


def built_geth() -> Path:
    """scripts/geth.sh builds (or finds) the pinned geth and prints its folder last."""
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "geth.sh")], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        pytest.fail(f"scripts/geth.sh failed: {run.stderr.strip()[-2000:]}")
    return Path(run.stdout.strip().splitlines()[-1]) / "geth"


def free_ports(count: int) -> list[tuple[int, int, int]]:
    ports: set[int] = set()
    while len(ports) < 3 * count:
        ports.add(free_port())
    flat = sorted(ports)
    return [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]


@pytest.fixture(scope="package")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """Four sealing nodes, started and peered; the platform deployed by the regulator."""
    root = tmp_path_factory.mktemp("network") / "net"
    net = Network.init(root, NODES, ports=free_ports(NODES), geth=built_geth())
    try:
        net.start()
        net.deploy()
        yield net
    finally:
        net.stop()


def head(url: str) -> int:
    rpc = RpcClient(url, timeout=3, retries=0)
    try:
        return rpc.block_number()
    finally:
        rpc.close()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Polls ``check`` until it is true; returns the seconds it took."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.2)
    return time.monotonic() - start
