"""kill -9 during the backfill at random instants: the restarted indexer loses and duplicates
nothing, and its tables equal those of one clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from crossborder.indexer import Store

from .conftest import dump, fresh_store_url, index
from .world import World

KILLS = 4


def _command(world: World, url: str) -> list[str]:
    return [
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
        "1",
        "--max-range",
        "4",
        "--no-progress",
    ]


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[3] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _checkpoint(url: str) -> int:
    store = Store(url)
    store.create()
    checkpoint = store.checkpoint()
    store.close()
    return checkpoint.block_number if checkpoint else -1


def test_kill_9_at_random_points_then_restart(
    world: World, store_kind: str, tmp_path: Path
) -> None:
    head = world.rpc.block_number()
    url = fresh_store_url(store_kind, tmp_path, "killed")
    rng = random.Random(9)
    positions = []
    for _ in range(KILLS):
        start = _checkpoint(url)
        goal = start + rng.randint(5, 40)
        process = subprocess.Popen(
            _command(world, url), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # Aim at a random point some blocks further on, then land anywhere in the next commits.
        deadline = time.monotonic() + 60
        while process.poll() is None and _checkpoint(url) < goal and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        positions.append(_checkpoint(url))
    assert all(p < head for p in positions), f"a kill came after the backfill: {positions}"
    assert positions == sorted(positions), "a restart went backwards"

    finished = subprocess.run(_command(world, url), env=_env(), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert _checkpoint(url) == head

    reference = f"sqlite:///{tmp_path / 'clean.sqlite'}"
    index(world, reference).close()
    assert dump(url) == dump(reference)
