"""`crossborder up` (what `make up` runs) also serves the gateway and its web console, prints
their URL with a token per demo operator, and keeps the gateway alive: a gateway that dies is
said and restarted. The regulator signs in with a printed token and sees the demo's charts."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from crossborder.chain.devnet import free_port
from crossborder.cli.up import Supervisor
from crossborder.errors import PlatformDown

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-c", "from crossborder.cli.main import cli; cli()"]


class Lines:
    """A process's output, read on a thread (so that reading never blocks the test)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert time.monotonic() < deadline, f"no {needle!r} in:\n{self.text}"
            time.sleep(0.2)
        return self.text


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux's /proc)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_up_serves_the_console_with_the_demo_tokens_and_restarts_a_dead_gateway(
    browser: Browser, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CROSSBORDER_")},
        "CROSSBORDER_RPC_URL": f"http://127.0.0.1:{port}",
        "CROSSBORDER_DEVNET_PORT": str(port),
        "CROSSBORDER_DEVNET_DIR": str(tmp_path / "devnet"),
        "CROSSBORDER_DEVNET_BLOCK_TIME": "0.2",
        "CROSSBORDER_GATEWAY_PORT": str(free_port()),
        "COLUMNS": "200",
    }
    process = subprocess.Popen(
        [*CLI, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = Lines(process)
    try:
        text = output.wait_for("platform up", timeout=240)
        found = re.search(r"web console at (http://127\.0\.0\.1:\d+)/console/", text)
        assert found, text
        url = found.group(1)
        regulator = re.search(r"Regulator .*?(cbt_[A-Za-z0-9_-]+)", text)
        assert regulator, text
        listing = tmp_path / "devnet" / "gateway" / "demo-tokens.txt"
        assert regulator.group(1) in listing.read_text(encoding="utf-8")
        assert oct(listing.stat().st_mode & 0o777) == "0o600"
        for role in ("代申请, 审核", "受理 accept", "放款登记", "融资业务银行统计员"):
            assert role in text, f"{role} not in:\n{text}"

        # The regulator signs in with the printed token: the demo's five interceptions.
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(f"{url}/console/")
            page.fill("#token", regulator.group(1))
            page.click("#sign-in")
            expect(page.locator("h1")).to_have_text("监管统计", timeout=20_000)
            chart = page.locator('svg[data-chart="interceptions"]')
            deadline = time.monotonic() + 60
            while float(chart.get_attribute("data-total") or 0) < 5:
                assert time.monotonic() < deadline, "the demo's interceptions never showed"
                page.click("#refresh")
                time.sleep(1)
        finally:
            context.close()

        # A gateway that dies is said and restarted.
        (gateway,) = [
            pid
            for pid in children(process.pid)
            if b"\0serve\0" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        os.kill(gateway, signal.SIGKILL)
        output.wait_for("the gateway stopped", timeout=30)
        assert "restarting it" in output.text
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway did not come back"
            time.sleep(0.3)

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, output.text
    finally:
        stop(process)
    assert "Traceback" not in output.text


def stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, so that `up` stops its node and gateway; else kill them all."""
    if process.poll() is not None:
        return
    kids = children(process.pid)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        for pid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()


class FakeNode:
    url = "http://127.0.0.1:1"

    def is_running(self) -> bool:
        return True


class FakeGateway:
    """A gateway process that is dead until started again."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0

    def alive(self) -> bool:
        return self.running

    def why(self) -> str:
        return "exit code -9: killed"

    def start(self) -> None:
        self.starts += 1
        self.running = True


def test_a_gateway_that_keeps_dying_ends_up_non_zero() -> None:
    said: list[str] = []
    gateway = FakeGateway()
    supervisor = Supervisor(
        FakeNode(), lambda stop: stop.wait(), said.append, restarts=2, window=60, gateway=gateway
    )
    stop = threading.Event()
    supervisor.start(stop)
    try:
        for _ in range(2):
            supervisor.check(stop)
            assert gateway.running
            gateway.running = False  # dies again
        with pytest.raises(PlatformDown, match="the gateway stopped 3 times"):
            supervisor.check(stop)
    finally:
        stop.set()
        supervisor.join(5)
    assert gateway.starts == 2
    assert said == [
        "the gateway stopped (exit code -9: killed): restarting it (1 of 2 restarts in 1 min)",
        "the gateway stopped (exit code -9: killed): restarting it (2 of 2 restarts in 1 min)",
    ]
