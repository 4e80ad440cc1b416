"""``crossborder index``: fill the reporting store from the chain, then follow it."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from types import FrameType

import click
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from ..chain.abi import load_manifest
from ..chain.deployment import Deployment
from ..cli.common import err_console as console
from ..cli.common import friendly, node_rpc, node_url
from ..settings import get_settings
from . import runner
from .runner import Indexer, IndexerConfig
from .store import Store, default_db_url


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
@click.option("--range", "initial_range", type=int, default=1, show_default=True)
@click.option("--max-range", type=int, default=100_000, show_default=True)
@click.option("--poll", type=float, default=1.0, show_default=True, help="seconds between polls")
@click.option(
    "--give-up-after",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    envvar="CROSSBORDER_INDEX_GIVE_UP_AFTER",
    help="with --once: seconds to wait for an unreachable node or store before failing"
    " ($CROSSBORDER_INDEX_GIVE_UP_AFTER); --follow waits for ever",
)
@click.option(
    "--log-every",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="while the node or store is unreachable, say so every this many seconds",
)
@click.option("--progress/--no-progress", default=None, help="[default: on a terminal]")
@click.option("-v", "--verbose", is_flag=True)
@friendly
def index_cmd(
    db_url: str | None,
    follow: bool,
    rpc_url: str | None,
    deployment_file: Path | None,
    confirmations: int | None,
    initial_range: int,
    max_range: int,
    poll: float,
    give_up_after: float,
    log_every: float,
    progress: bool | None,
    verbose: bool,
) -> None:
    """Index the platform's events into the reporting store (SQLite or PostgreSQL).

    With --once it stops when caught up, or fails after --give-up-after seconds without the
    node or the store; with --follow it keeps following, and keeps waiting for them.
    """
    # On a terminal, rich's log; in a scheduled job's log file, one plain line per message.
    handler: logging.Handler = RichHandler(console=console, show_path=False)
    if not console.is_terminal:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[handler],
    )
    settings = get_settings()
    url = node_url(rpc_url or settings.rpc_url)
    deployment = Deployment.load(deployment_file or settings.deployment_path)
    abis = load_manifest(settings.build_file)
    config = IndexerConfig(
        confirmations=settings.confirmations if confirmations is None else confirmations,
        initial_range=initial_range,
        max_range=max_range,
        poll_interval=poll,
        give_up_after=None if follow else give_up_after,
        log_every=log_every,
    )
    # A node that accepts but never answers must not outlast the bound either.
    timeout = 30.0 if follow else max(1.0, min(30.0, give_up_after / 2))
    rpc = node_rpc(settings, url, timeout=timeout, retries=1)
    store = Store(db_url or settings.db_url or default_db_url(settings.devnet_dir))
    bar = BackfillBar(console.is_terminal if progress is None else progress)
    indexer = Indexer(rpc, deployment, abis, store, config, progress=bar)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        indexer.run(follow=follow, stop=stop)
    finally:
        bar.close()
        indexer.close()
        rpc.close()
    try:
        checkpoint = store.checkpoint()
    finally:
        store.close()
    at = checkpoint.block_number if checkpoint else "-"
    console.print(f"indexed {indexer.indexed_events:,} events; checkpoint at block {at}")
    for found in indexer.discovered:
        console.print(
            f"followed a scenario contract authorised after the deployment: {found.address} "
            f"({found.contract or 'no compiled contract matches it'}) from block "
            f"{found.block_number}"
        )
    if indexer.undecoded_logs:
        console.print(
            f"[yellow]{indexer.undecoded_logs:,} log(s) matched no known event:[/] kept in the "
            "undecoded_logs table; index again with the contracts' current ABIs"
        )
    if indexer.anomalies:
        console.print(
            f"[yellow]{indexer.anomalies:,} event(s) could not be projected:[/] kept in "
            "raw_events and listed in the anomalies table; the reports leave them out"
        )
