"""``crossborder index``: fill the reporting store from the chain, then follow it."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from ..chain.abi import ContractAbi, load_manifest
from ..chain.deployment import Deployment
from ..chain.rpc import RpcClient
from ..errors import ChainUnavailable, CrossborderError
from ..settings import get_settings
from . import runner
from .runner import Indexer, IndexerConfig, scenario_codes
from .store import Store, default_db_url

console = Console(stderr=True)


class BackfillBar:
    """A rich progress bar over the blocks left to index, with events and events per second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.monotonic()

    def __call__(self, p: runner.Progress) -> None:
        if not self.enabled:
            return
        total = p.target - p.start + 1
        done = p.checkpoint - p.start + 1
        if self._progress is None:
            if total - done <= 1:
                return
            self._progress = Progress(
                TextColumn("indexing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("blocks · {task.fields[events]:,} events · {task.fields[rate]:,.0f}/s"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("backfill", total=total, events=0, rate=0.0)
        assert self._task is not None
        elapsed = max(time.monotonic() - self._started, 1e-6)
        self._progress.update(
            self._task, total=total, completed=done, events=p.events, rate=p.events / elapsed
        )
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@click.command("index")
@click.option("--db", "db_url", help="SQLAlchemy URL of the store [default: sqlite in .devnet/]")
@click.option("--follow/--once", default=True, show_default=True, help="keep following new blocks")
@click.option("--rpc-url", help="the node [default: $CROSSBORDER_RPC_URL]")
@click.option("--deployment", "deployment_file", type=click.Path(path_type=Path))
@click.option("--confirmations", type=int, help="follow to head - N [default: settings]")
@click.option("--range", "initial_range", type=int, default=100, show_default=True)
@click.option("--max-range", type=int, default=100_000, show_default=True)
@click.option("--poll", type=float, default=1.0, show_default=True, help="seconds between polls")
@click.option("--progress/--no-progress", default=None, help="[default: on a terminal]")
@click.option("-v", "--verbose", is_flag=True)
def index_cmd(
    db_url: str | None,
    follow: bool,
    rpc_url: str | None,
    deployment_file: Path | None,
    confirmations: int | None,
    initial_range: int,
    max_range: int,
    poll: float,
    progress: bool | None,
    verbose: bool,
) -> None:
    """Index the platform's events into the reporting store (SQLite or PostgreSQL)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    settings = get_settings()
    rpc = RpcClient(rpc_url or settings.rpc_url, timeout=30, retries=1)
    try:
        deployment = Deployment.load(deployment_file or settings.deployment_path)
        abis = load_manifest(settings.build_file)
        store = Store(
            db_url or settings.db_url or default_db_url(settings.devnet_dir),
            _scenario_codes(rpc, deployment, abis),
        )
        config = IndexerConfig(
            confirmations=settings.confirmations if confirmations is None else confirmations,
            initial_range=initial_range,
            max_range=max_range,
            poll_interval=poll,
        )
    except CrossborderError as error:
        console.print(f"[bold red]error:[/] {error}")
        sys.exit(1)
    bar = BackfillBar(console.is_terminal if progress is None else progress)
    indexer = Indexer(rpc, deployment, abis, store, config, progress=bar)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        indexer.run(follow=follow, stop=stop)
    except CrossborderError as error:
        console.print(f"[bold red]error:[/] {error}")
        sys.exit(1)
    finally:
        bar.close()
        store.close()
        rpc.close()
    checkpoint = store.checkpoint()
    at = checkpoint.block_number if checkpoint else "-"
    console.print(f"indexed {indexer.indexed_events:,} events; checkpoint at block {at}")
    if indexer.undecoded_logs:
        console.print(
            f"[yellow]{indexer.undecoded_logs:,} log(s) matched no known event:[/] kept in the "
            "undecoded_logs table; index again with the contracts' current ABIs"
        )


def _scenario_codes(
    rpc: RpcClient, deployment: Deployment, abis: Mapping[str, ContractAbi]
) -> dict[str, int]:
    """The scenario codes, waiting for the node if it is not up yet."""
    wait = 0.5
    warned = False
    while True:
        try:
            return scenario_codes(rpc, deployment, abis)
        except ChainUnavailable as error:
            if not warned:
                logging.getLogger("crossborder.indexer").warning("%s: waiting for the node", error)
                warned = True
            time.sleep(wait)
            wait = min(30.0, wait * 2)
