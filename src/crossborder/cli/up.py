"""``crossborder up`` keeps its parts alive, or says loudly that it cannot.

The node, the indexer thread and the gateway process (``crossborder serve``: the REST API and
the web console) are checked every few seconds. An indexer or a gateway that dies is said (with
why) and restarted, a few times within a window; beyond that, or when the node is gone, ``up``
raises ``PlatformDown`` and exits non-zero. It never sits there as if the platform were up while
a part of it is dead.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from ..errors import PlatformDown

Job = Callable[[threading.Event], None]


class Node(Protocol):
    """What the supervisor needs of the node (``chain.devnet.Devnet`` is one)."""

    @property
    def url(self) -> str: ...

    def is_running(self) -> bool: ...


class Worker:
    """A job on a daemon thread that keeps the exception it died of."""

    def __init__(self, name: str, job: Job, stop: threading.Event) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(job, stop), name=name, daemon=True)
        self.thread.start()

    def _run(self, job: Job, stop: threading.Event) -> None:
        try:
            job(stop)
        except BaseException as error:  # kept, said and acted on by the supervisor
            self.error = error

    def alive(self) -> bool:
        return self.thread.is_alive()


def _why(error: BaseException | None) -> str:
    if error is None:
        return "it returned while it should follow the chain"
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else '(no message)'}"


class Service(Protocol):
    """A part of the platform run as its own process (``GatewayProcess`` is one)."""

    def alive(self) -> bool: ...

    def why(self) -> str: ...

    def start(self) -> None: ...


# The gateway's own process: `crossborder serve`, run by the same Python as `up`.
SERVE = (sys.executable, "-c", "from crossborder.cli.main import cli; cli()", "serve")


class GatewayProcess:
    """``crossborder serve --dev`` (the REST gateway and its web console) as a child process,
    its output in a log file.

    Args:
        port: Its port on 127.0.0.1.
        data: The gateway's folder (tokens, idempotency keys).
        db: The indexer's store (reports, histories, queues).
        log: Where its output goes.
        extra: More ``serve`` options.
    """

    def __init__(
        self, port: int, data: Path, db: str, log: Path, extra: Sequence[str] = ()
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.command = [
            *SERVE,
            "--dev",
            "--port",
            str(port),
            "--data",
            str(data),
            "--db",
            db,
            *extra,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=os.environ.copy(),
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def why(self) -> str:
        code = self.process.poll() if self.process is not None else None
        return f"exit code {code}: {self._last_line()}"

    def _last_line(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return lines[-1] if lines else "(no output)"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until it answers ``/v1/health``.

        Raises:
            PlatformDown: It exited, or stayed silent for ``timeout`` seconds.
        """
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise PlatformDown(f"the gateway did not start ({self.why()}; log: {self.log})")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise PlatformDown(f"the gateway did not answer at {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Supervisor:
    """Runs the indexer job on a thread, restarts it (and the gateway) when it dies, and
    watches the node.

    Args:
        node: The node the platform runs on.
        indexer: The indexer job: follows the chain until its event is set.
        say: Prints a loud line for the operator.
        every: Seconds between checks.
        restarts: How many restarts of the indexer (or of the gateway) ``window`` seconds may
            see before ``up`` gives up on it.
        window: See ``restarts``.
        gateway: The gateway process, started by the caller; None when there is none.
    """

    def __init__(
        self,
        node: Node,
        indexer: Job,
        say: Callable[[str], None],
        *,
        every: float = 2.0,
        restarts: int = 3,
        window: float = 600.0,
        gateway: Service | None = None,
    ) -> None:
        self.node = node
        self.indexer = indexer
        self.say = say
        self.every = every
        self.restarts = restarts
        self.window = window
        self.gateway = gateway
        self.worker: Worker | None = None
        self._restarted: deque[float] = deque()
        self._gateway_restarted: deque[float] = deque()

    def start(self, stop: threading.Event) -> None:
        self.worker = Worker("indexer", self.indexer, stop)

    def check(self, stop: threading.Event) -> None:
        """One check of the node and the indexer.

        Raises:
            PlatformDown: The node is gone, or the indexer keeps dying.
        """
        if stop.is_set():
            return
        if not self.node.is_running():
            raise PlatformDown(
                f"the node at {self.node.url} stopped: the platform is down"
                " (`make up` starts it again from its saved state)"
            )
        gateway = self.gateway
        if gateway is not None and not gateway.alive() and not stop.is_set():
            self._restart("gateway", gateway.why(), self._gateway_restarted)
            gateway.start()
        worker = self.worker
        if worker is None or worker.alive() or stop.is_set():
            return
        self._restart("indexer", _why(worker.error), self._restarted)
        self.start(stop)

    def _restart(self, part: str, why: str, restarted: deque[float]) -> None:
        """Says that ``part`` stopped and is restarted, within the restart budget.

        Raises:
            PlatformDown: It stopped too often within the window.
        """
        now = time.monotonic()
        while restarted and now - restarted[0] > self.window:
            restarted.popleft()
        if len(restarted) >= self.restarts:
            raise PlatformDown(
                f"the {part} stopped {len(restarted) + 1} times in "
                f"{self.window / 60:.0f} min, last: {why}; stopping the platform"
            )
        restarted.append(now)
        self.say(
            f"the {part} stopped ({why}): restarting it"
            f" ({len(restarted)} of {self.restarts} restarts"
            f" in {self.window / 60:.0f} min)"
        )

    def watch(self, stop: threading.Event) -> None:
        """Check every ``every`` seconds until ``stop`` is set.

        Raises:
            PlatformDown: The node is gone, or the indexer keeps dying.
        """
        while not stop.wait(self.every):
            self.check(stop)

    def join(self, timeout: float) -> None:
        if self.worker is not None:
            self.worker.thread.join(timeout)
