"""``crossborder up`` never claims the platform is up while a part of it is dead: an indexer
that dies is said and restarted (within limits), a node that goes ends ``up`` non-zero."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from crossborder.chain.devnet import free_port
from crossborder.cli.up import Supervisor
from crossborder.errors import PlatformDown

CLI = [sys.executable, "-c", "from crossborder.cli.main import cli; cli()"]


class FakeNode:
    url = "http://127.0.0.1:1"

    def __init__(self) -> None:
        self.running = True

    def is_running(self) -> bool:
        return self.running


class Jobs:
    """An indexer job that dies (with an error) the first ``deaths`` times it runs."""

    def __init__(self, deaths: int) -> None:
        self.deaths = deaths
        self.started = 0

    def __call__(self, stop: threading.Event) -> None:
        self.started += 1
        if self.started <= self.deaths:
            raise RuntimeError(f"UNIQUE constraint failed: blocks.number (run {self.started})")
        stop.wait()


def _settle(supervisor: Supervisor) -> None:
    worker = supervisor.worker
    assert worker is not None
    worker.thread.join(0.5)


def test_an_indexer_that_dies_is_said_and_restarted() -> None:
    said: list[str] = []
    jobs = Jobs(deaths=2)
    supervisor = Supervisor(FakeNode(), jobs, said.append, restarts=3, window=60)
    stop = threading.Event()
    supervisor.start(stop)
    for _ in range(4):
        _settle(supervisor)
        supervisor.check(stop)
    assert jobs.started == 3
    assert len(said) == 2 and all("the indexer stopped" in line for line in said)
    assert "UNIQUE constraint failed" in said[0] and "restarting it" in said[0]
    worker = supervisor.worker
    assert worker is not None and worker.alive()
    stop.set()
    supervisor.join(5)


def test_an_indexer_that_keeps_dying_ends_up_non_zero() -> None:
    said: list[str] = []
    supervisor = Supervisor(FakeNode(), Jobs(deaths=100), said.append, restarts=2, window=60)
    stop = threading.Event()
    supervisor.start(stop)
    with pytest.raises(PlatformDown, match="the indexer stopped 3 times"):
        for _ in range(5):
            _settle(supervisor)
            supervisor.check(stop)
    assert len(said) == 2


def test_a_node_that_goes_ends_up_non_zero() -> None:
    node = FakeNode()
    supervisor = Supervisor(node, Jobs(deaths=0), lambda _: None, every=0.05)
    stop = threading.Event()
    supervisor.start(stop)
    node.running = False
    with pytest.raises(PlatformDown, match=r"the node at http://127\.0\.0\.1:1 stopped"):
        supervisor.watch(stop)
    stop.set()
    supervisor.join(5)


@pytest.mark.integration
def test_up_says_so_and_exits_non_zero_when_its_node_dies(tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "devnet"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CROSSBORDER_")},
        "CROSSBORDER_RPC_URL": f"http://127.0.0.1:{port}",
        "CROSSBORDER_DEVNET_PORT": str(port),
        "CROSSBORDER_DEVNET_DIR": str(folder),
        "CROSSBORDER_DEVNET_BLOCK_TIME": "0.2",
        "COLUMNS": "200",
    }
    process = subprocess.Popen(
        [*CLI, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "platform up" in line:
                break
        assert "platform up" in "".join(lines), "".join(lines)
        anvil = int((folder / "anvil.pid").read_text())
        os.kill(anvil, signal.SIGKILL)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert process.returncode == 1, output
    assert "the node at" in rest and "stopped: the platform is down" in rest, rest
    assert "platform up" not in rest
    assert "Traceback" not in output
