"""Two indexers on one store at once (``make up`` follows while a scheduled ``crossborder index
--once`` runs): neither fails, and the store ends with exactly the rows one indexer writes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from crossborder.chain.rpc import RpcClient
from crossborder.indexer import Indexer, IndexerConfig, Store

from .conftest import dump, fresh_store_url, index
from .world import World

RACERS = 3


def _race(world: World, url: str) -> list[BaseException]:
    """Indexers on their own connections, all started at once, with ranges small enough that
    they keep committing over each other."""
    errors: list[BaseException] = []
    gate = threading.Barrier(RACERS)

    def racer(n: int) -> None:
        rpc = RpcClient(world.devnet.url)
        store = Store(url)
        indexer = Indexer(
            rpc,
            world.deployment,
            world.abis,
            store,
            IndexerConfig(initial_range=1 + n, max_range=3 + 2 * n, max_backoff=0.2),
        )
        try:
            gate.wait()
            indexer.run()
        except BaseException as error:
            errors.append(error)
        finally:
            indexer.close()
            store.close()
            rpc.close()

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    return errors


def test_indexers_racing_on_one_store_write_what_one_writes(
    world: World, store_kind: str, tmp_path: Path
) -> None:
    url = fresh_store_url(store_kind, tmp_path, "raced")
    errors = _race(world, url)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    reference = f"sqlite:///{tmp_path / 'single.sqlite'}"
    index(world, reference).close()
    raced, single = dump(url), dump(reference)
    assert raced == single
    assert raced["raw_events"], "the race indexed the story"
    store = Store(url)
    checkpoint = store.checkpoint()
    store.close()
    assert checkpoint is not None and checkpoint.block_number == world.rpc.block_number()


def test_index_once_beside_a_running_indexer(world: World, store_kind: str, tmp_path: Path) -> None:
    """The command line as it raced the follower of ``make up``: both processes succeed."""
    url = fresh_store_url(store_kind, tmp_path, "processes")
    src = str(Path(__file__).resolve().parents[3] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [
        sys.executable,
        "-m",
        "crossborder.indexer",
        "--db",
        url,
        "--once",
        "--rpc-url",
        world.devnet.url,
        "--deployment",
        str(world.deployment_path),
        "--range",
        "2",
        "--max-range",
        "6",
        "--no-progress",
    ]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in out + err
    reference = f"sqlite:///{tmp_path / 'single.sqlite'}"
    index(world, reference).close()
    assert dump(url) == dump(reference)
