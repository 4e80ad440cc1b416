"""The node unreachable: the indexer waits and retries (saying so, and again periodically),
then catches up; without ``follow`` it gives up after a bounded wait."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from crossborder.chain.rpc import RpcClient
from crossborder.errors import ChainUnavailable
from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes

from .conftest import dump, index
from .world import World, free_port


class Proxy:
    """A TCP relay to the node: the node as the indexer sees it, until it is started."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._server: socket.socket | None = None

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_waits_for_an_unreachable_node_then_catches_up(world: World, tmp_path: Path) -> None:
    node = urlparse(world.devnet.url)
    proxy = Proxy(free_port(), (node.hostname or "127.0.0.1", node.port or 8545))
    rpc = RpcClient(f"http://127.0.0.1:{proxy.port}", timeout=5, retries=0)
    url = f"sqlite:///{tmp_path / 'outage.sqlite'}"
    store = Store(url, scenario_codes(world.rpc, world.deployment, world.abis))
    indexer = Indexer(rpc, world.deployment, world.abis, store, IndexerConfig(max_backoff=0.2))
    done = threading.Event()
    logger = logging.getLogger("crossborder.indexer")
    collect = Collect()
    logger.addHandler(collect)
    try:
        worker = threading.Thread(target=lambda: (indexer.run(), done.set()), daemon=True)
        worker.start()
        time.sleep(1.5)
        assert not done.is_set() and store.checkpoint() is None
        proxy.start()
        worker.join(60)
    finally:
        logger.removeHandler(collect)
        proxy.stop()
    rpc.close()
    assert done.is_set()
    warnings = collect.messages
    assert sum("retrying" in m for m in warnings) == 1, warnings
    assert any("reachable again" in m for m in warnings)
    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    index(world, reference).close()
    assert dump(url) == dump(reference)
    store.close()


def _down_indexer(world: World, tmp_path: Path, **config: float) -> tuple[Indexer, Store]:
    """An indexer whose node never answers (nothing listens on its port)."""
    rpc = RpcClient(f"http://127.0.0.1:{free_port()}", timeout=1, retries=0)
    store = Store(f"sqlite:///{tmp_path / 'down.sqlite'}")
    return Indexer(rpc, world.deployment, world.abis, store, IndexerConfig(**config)), store


def test_once_gives_up_after_the_bounded_wait(world: World, tmp_path: Path) -> None:
    indexer, store = _down_indexer(world, tmp_path, max_backoff=0.2, give_up_after=1.5)
    started = time.monotonic()
    with pytest.raises(ChainUnavailable, match=r"gave up after \d+ s \(limit 1.5 s\)"):
        indexer.run(follow=False)
    assert 1.5 <= time.monotonic() - started < 10
    assert store.checkpoint() is None
    store.close()


def test_follow_keeps_waiting_and_says_so_periodically(world: World, tmp_path: Path) -> None:
    indexer, store = _down_indexer(
        world, tmp_path, max_backoff=0.2, give_up_after=0.5, log_every=0.5
    )
    stop = threading.Event()
    failed: list[BaseException] = []

    def follow() -> None:
        try:
            indexer.run(follow=True, stop=stop)
        except BaseException as error:
            failed.append(error)

    logger = logging.getLogger("crossborder.indexer")
    collect = Collect()
    logger.addHandler(collect)
    try:
        worker = threading.Thread(target=follow, daemon=True)
        worker.start()
        time.sleep(3)
        assert worker.is_alive() and not failed, "following never gives up"
        stop.set()
        worker.join(10)
    finally:
        logger.removeHandler(collect)
    assert not worker.is_alive()
    assert sum("retrying" in m for m in collect.messages) == 1, collect.messages
    assert sum("still waiting" in m for m in collect.messages) >= 3, collect.messages
    store.close()
