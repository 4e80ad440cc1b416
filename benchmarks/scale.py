"""National scale on one node: how registration, screening, an application and the index grow
from 100,000 to 1,000,000 documents on one Anvil mining interval blocks (1 s, as the devnet
does, unless --block-time says otherwise).

    python benchmarks/scale.py [--sizes 100000,500000,1000000] [--batch 500] [--block-time 1]
        [--db URL]

Customs registers declarations through the SDK up to each size in turn (one chain, growing);
at each size a bank screens every document registered so far, applies for one, a fresh indexer
catches up from the deployment block, and the node's memory is read from /proc. Goals: register
1,000,000 in <= 60 s, screen all 1,000,000 in <= 3 s, the node's resident memory <= 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import Bench, Timer, bench_chain, row
from rich.progress import Progress
from sqlalchemy import text

from crossborder.demo import FIRMS
from crossborder.domain.codes import Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.errors import ChainUnavailable
from crossborder.indexer import Indexer, Store, scenario_codes
from crossborder.services.documents import MAX_REGISTER, DocumentRegistry, Screening

GOAL_REGISTER_S = 60.0  # for 1,000,000 documents
GOAL_SCREEN_S = 3.0  # all 1,000,000
GOAL_RSS_BYTES = 2 * 1024**3
GOAL_SIZE = 1_000_000
APPLICATIONS = 5  # one at a time at each size: median latency
FIRST_NUMBER = 440_120_260_000_000_000
# Documents per registration call: the SDK sends them in waves while the node mines, and
# confirms them all at the end (the models are built outside the timing, a chunk at a time).
CHUNK = 200_000


@dataclass
class Figures:
    """What was measured at one size."""

    size: int
    register_s: float  # cumulative, from the empty ledger
    segment_docs_per_s: float
    transactions: int
    screen_numbers_s: float
    screen_fingerprints_s: float
    apply_gas: int
    apply_latency_s: float
    index_s: float
    index_events: int
    store_bytes: int
    rss_bytes: int
    hwm_bytes: int  # the node's peak since the previous size: the largest of the three below
    peak_register: int  # the node's peak resident memory while registering up to this size
    peak_screen: int  # ... while screening all and applying
    peak_index: int  # ... while serving a fresh indexer's catch-up
    blocks: int


def declarations(first: int, count: int) -> list[Declaration]:
    firms = list(FIRMS.values())
    rng = random.Random(first)
    return [
        Declaration(
            number=f"{FIRST_NUMBER + i}",
            export_date=dt.date(2026, 1, 1) + dt.timedelta(days=i % 300),
            exporter=firms[i % len(firms)],
            amount=Money.from_minor(rng.randrange(10_000, 5_000_000) * 100, "USD"),
        )
        for i in range(first, first + count)
    ]


def reset_peak(pid: int) -> None:
    """Start the process's VmHWM afresh (Linux: 5 to clear_refs), to measure one phase's peak."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def memory(pid: int) -> tuple[int, int]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024  # kB
    return fields["VmRSS"], fields["VmHWM"]


def register(
    bench: Bench, first: int, count: int, progress: Progress, batch: int
) -> tuple[float, int, int]:
    """Registers ``count`` declarations from ``first``, ``CHUNK`` per SDK call (each call sends
    in waves and waits for its transactions); models are built outside the timing.

    Returns:
        Seconds, transactions, and documents registered (fewer than ``count`` when the node
        stalled: a chunk not mined within the SDK's wait).
    """
    registry = DocumentRegistry(bench.platform, bench.customs)
    task = progress.add_task(f"register {first:,} → {first + count:,}", total=count)
    seconds, transactions, registered = 0.0, 0, 0
    for start in range(first, first + count, CHUNK):
        docs = declarations(start, min(CHUNK, first + count - start))
        with Timer() as timer:
            try:
                result = registry.register_declarations(
                    docs, batch_size=batch, progress=lambda n: progress.advance(task, n)
                )
            except ChainUnavailable as error:
                progress.console.print(f"registration stalled after {start:,}: {error}")
                break
        assert result.documents == len(docs) and not result.skipped, result.skipped[:3]
        seconds, transactions = seconds + timer.seconds, transactions + result.transactions
        registered += len(docs)
    return seconds, transactions, registered


def screen(bench: Bench, size: int) -> tuple[float, float]:
    """Seconds to screen all ``size`` documents by number and by fingerprint."""
    screening = Screening(bench.platform)
    numbers = [f"{FIRST_NUMBER + i}" for i in range(size)]
    with Timer() as by_number:
        infos = screening.declarations(numbers)
    assert all(info.face is not None for info in infos)
    fingerprints = [info.fingerprint for info in infos]
    with Timer() as by_fingerprint:
        used = screening.used(fingerprints)
    assert len(used) == sum(info.used for info in infos)
    return by_number.seconds, by_fingerprint.seconds


def apply_one(bench: Bench, size: int) -> tuple[int, float]:
    """Median gas and latency (estimate, sign, send, mined) of one-document applications."""
    desk = bench.banks["Bank A"].desk(bench.platform, Stage.APPLY)
    gases, latencies = [], []
    for k in range(APPLICATIONS):
        (doc,) = declarations(size - 1 - k, 1)
        application = FinancingApplication(
            firm=doc.exporter,
            citations=(Citation(declaration=doc.number, amount=Money.from_minor(1_000_00, "USD")),),
        )
        with Timer() as latency:
            request = desk.apply_request(application)
            bench.platform.sender.estimate(request)
            receipt = bench.platform.sender.transact(request)
            desk.outcome(receipt)
        gases.append(receipt.gas_used)
        latencies.append(latency.seconds)
    return int(statistics.median(gases)), statistics.median(latencies)


def index(bench: Bench, url: str, progress: Progress) -> tuple[float, int, int]:
    """A fresh indexer catches up from the deployment block: seconds, events, store bytes."""
    platform = bench.platform
    store = Store(url, scenario_codes(platform.rpc, platform.deployment, platform.abis))
    store.drop()
    task = progress.add_task("index from the deployment block", total=None)
    indexer = Indexer(
        platform.rpc,
        platform.deployment,
        platform.abis,
        store,
        progress=lambda p: progress.update(
            task, completed=p.checkpoint - p.start, total=max(1, p.target - p.start)
        ),
    )
    with Timer() as timer:
        indexer.run()
    indexer.close()
    events = store.event_count()
    size = store_bytes(store)
    store.close()
    return timer.seconds, events, size


def store_bytes(store: Store) -> int:
    engine = store.engine
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def measure(
    bench: Bench,
    url: str,
    progress: Progress,
    pid: int,
    size: int,
    elapsed: float,
    segment: float,
    transactions: int,
    peak_register: int,
) -> Figures:
    """Everything but registration, at ``size`` documents."""
    reset_peak(pid)
    numbers_s, fingerprints_s = screen(bench, size)
    try:
        gas, latency = apply_one(bench, size)
    except ChainUnavailable as error:  # the node stalled: say so, measure the rest
        progress.console.print(f"application at {size:,} not mined: {error}")
        gas, latency = 0, float("inf")
    peak_screen = memory(pid)[1]
    reset_peak(pid)
    index_s, events, store_size = index(bench, url, progress)
    rss, peak_index = memory(pid)
    hwm = max(peak_register, peak_screen, peak_index)
    figures = Figures(
        size,
        elapsed,
        segment,
        transactions,
        numbers_s,
        fingerprints_s,
        gas,
        latency,
        index_s,
        events,
        store_size,
        rss,
        hwm,
        peak_register,
        peak_screen,
        peak_index,
        bench.platform.rpc.block_number(),
    )
    progress.console.print(
        f"{size:,}: registered in {elapsed:.1f} s, screened in {numbers_s:.2f} s, "
        f"indexed in {index_s:.1f} s, node {gib(rss)}"
    )
    return figures


def mark(ok: bool) -> str:
    return "pass" if ok else "MISS"


def gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GB"


def report(
    figures: list[Figures], loads: tuple[str, str], stalled: bool, block_time: float
) -> None:
    print(
        f"\nNational scale on one Anvil (1.7.1, --block-time {block_time:g}, gas limit 1e9);"
        f" load {loads[0]}"
    )
    for f in figures:
        print(f"\n{f.size:,} documents ({f.blocks:,} blocks)")
        row(
            "register from empty (cumulative, SDK)",
            f"{f.register_s:.1f} s",
            f"{f.size / f.register_s:,.0f} docs/s overall; last step {f.segment_docs_per_s:,.0f}"
            f" docs/s; {f.transactions:,} tx",
        )
        row("screen all by number: Screening.declarations", f"{f.screen_numbers_s:.2f} s")
        row("screen all by fingerprint: Screening.used", f"{f.screen_fingerprints_s:.2f} s")
        row("one application: gas", f"{f.apply_gas:,}")
        row("one application: latency (median of 5)", f"{f.apply_latency_s:.2f} s")
        row(
            "index: fresh catch-up from the deployment block",
            f"{f.index_s:.1f} s",
            f"{f.index_events:,} events, {f.index_events / f.index_s:,.0f} events/s",
        )
        row("index: store size", f"{f.store_bytes / 1024**2:,.0f} MB")
        row("node memory: VmRSS at the end", gib(f.rss_bytes))
        row(
            "node memory: peak registering / screening / indexing",
            f"{gib(f.peak_register)} / {gib(f.peak_screen)} / {gib(f.peak_index)}",
        )
    last, first = figures[-1], figures[0]
    print(f"\ngoals (at {last.size:,} documents)")
    at_goal = last.size >= GOAL_SIZE
    scale = GOAL_SIZE / last.size
    note = "" if at_goal else f" (extrapolated x{scale:.1f} from {last.size:,})"
    if stalled:
        note = f" (the node stalled at {last.size:,}: linear extrapolation, a floor)"
    register_s, screen_s = last.register_s * scale, last.screen_numbers_s * scale
    row(
        "register 1,000,000" + note,
        f"{register_s:.1f} s",
        f"goal <= {GOAL_REGISTER_S:.0f} s  {mark(register_s <= GOAL_REGISTER_S)}",
    )
    row(
        "screen all 1,000,000 by number" + note,
        f"{screen_s:.2f} s",
        f"goal <= {GOAL_SCREEN_S:.0f} s  {mark(screen_s <= GOAL_SCREEN_S)}",
    )
    row(
        "node resident memory, peak",
        gib(last.hwm_bytes),
        f"goal <= {gib(GOAL_RSS_BYTES)}  {mark(last.hwm_bytes <= GOAL_RSS_BYTES)}",
    )
    if last is first:
        return
    grow = last.size / first.size
    print(f"\nper-document cost at {last.size:,} / at {first.size:,} (1.00 = linear growth)")
    ratios = [
        (
            "registration (s per document, last step / first)",
            1 / max(last.segment_docs_per_s, 1e-9),
            1 / max(first.segment_docs_per_s, 1e-9),
            1.0,
        ),
        ("screening by number", last.screen_numbers_s, first.screen_numbers_s, grow),
        ("screening by fingerprint", last.screen_fingerprints_s, first.screen_fingerprints_s, grow),
        ("index catch-up", last.index_s, first.index_s, grow),
        ("index store size", last.store_bytes, first.store_bytes, grow),
        ("node memory (VmRSS)", last.rss_bytes, first.rss_bytes, grow),
        ("one application: gas (per application)", last.apply_gas, first.apply_gas, 1.0),
        ("one application: latency", last.apply_latency_s, first.apply_latency_s, 1.0),
    ]
    for label, big, small, per in ratios:
        if not label or not small:
            continue
        row(label, f"{big / small / per:.2f}x")
    print(f"\nload average (1, 5, 15 min): start {loads[0]}, end {loads[1]}; 2 cores, shared")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="100000,500000,1000000",
        help="comma-separated document counts, ascending (default: %(default)s)",
    )
    parser.add_argument(
        "--anvil-args",
        default="--prune-history",
        help="more Anvil options, space-separated (default: %(default)s; '' for the devnet's own)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=MAX_REGISTER,
        help="documents per registration transaction (default: %(default)s)",
    )
    parser.add_argument(
        "--block-time",
        type=float,
        default=1.0,
        help="seconds between blocks (default: %(default)s, the devnet's)",
    )
    parser.add_argument("--db", help="the index store's URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    if sizes != sorted(set(sizes)) or sizes[0] <= APPLICATIONS:
        parser.error("--sizes must be ascending and distinct, each above 5")
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    figures: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="crossborder-scale-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'index.sqlite'}"
        with (
            bench_chain(block_time=args.block_time, anvil_args=args.anvil_args.split()) as bench,
            Progress() as progress,
        ):
            pid = bench.devnet.pid
            assert pid is not None
            done, elapsed, transactions = 0, 0.0, 0
            for size in sizes:
                reset_peak(pid)
                seconds, tx, registered = register(bench, done, size - done, progress, args.batch)
                peak_register = memory(pid)[1]
                segment = registered / seconds if seconds else 0.0
                done, elapsed, transactions = (
                    done + registered,
                    elapsed + seconds,
                    transactions + tx,
                )
                figures.append(
                    measure(
                        bench,
                        url,
                        progress,
                        pid,
                        done,
                        elapsed,
                        segment,
                        transactions,
                        peak_register,
                    )
                )
                if done < size:
                    break
    end_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report(
        figures,
        (start_load, end_load),
        stalled=figures[-1].size < sizes[-1],
        block_time=args.block_time,
    )


if __name__ == "__main__":
    main()
