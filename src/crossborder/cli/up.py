"""``crossborder up`` keeps its parts alive, or says loudly that it cannot.

The node and the indexer thread are checked every few seconds. An indexer that dies is said
(with why) and restarted, a few times within a window; beyond that, or when the node is gone,
``up`` raises ``PlatformDown`` and exits non-zero. It never sits there as if the platform were
up while a part of it is dead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
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


class Supervisor:
    """Runs the indexer job on a thread, restarts it when it dies, and watches the node.

    Args:
        node: The node the platform runs on.
        indexer: The indexer job: follows the chain until its event is set.
        say: Prints a loud line for the operator.
        every: Seconds between checks.
        restarts: How many restarts of the indexer ``window`` seconds may see before ``up``
            gives up on it.
        window: See ``restarts``.
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
    ) -> None:
        self.node = node
        self.indexer = indexer
        self.say = say
        self.every = every
        self.restarts = restarts
        self.window = window
        self.worker: Worker | None = None
        self._restarted: deque[float] = deque()

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
        worker = self.worker
        if worker is None or worker.alive() or stop.is_set():
            return
        now = time.monotonic()
        while self._restarted and now - self._restarted[0] > self.window:
            self._restarted.popleft()
        why = _why(worker.error)
        if len(self._restarted) >= self.restarts:
            raise PlatformDown(
                f"the indexer stopped {len(self._restarted) + 1} times in "
                f"{self.window / 60:.0f} min, last: {why}; stopping the platform"
            )
        self._restarted.append(now)
        self.say(
            f"the indexer stopped ({why}): restarting it"
            f" ({len(self._restarted)} of {self.restarts} restarts"
            f" in {self.window / 60:.0f} min)"
        )
        self.start(stop)

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
