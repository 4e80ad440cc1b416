"""The platform on four institutions' geth nodes (Clique, 1 s blocks) against one Anvil, in the
same run: registration documents/s, financing applications tx/s (SDK and a raw send loop), the
SDK / raw ratio on four nodes, a killed node's catch-up time and each node's resident memory;
then the national-scale figures of ``scale.py`` at ``--scale`` documents (registration, screening
all of them, one application, a fresh index, memory) on both, with their ratios.

All four nodes re-execute every block on this machine's cores: the four-node figures are a
floor for four institutions on four machines.

    python benchmarks/network.py [--documents 20000] [--applications 400] [--rounds 3]
        [--scale 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import scale
from common import ACCOUNTS, Bench, Timer, bench_chain, row
from rich.progress import Progress
from throughput import applications as applications_for
from throughput import baseline_desks, declarations, raw_round, sdk_round

from crossborder.chain.devnet import free_port
from crossborder.demo import onboard
from crossborder.domain.codes import Stage
from crossborder.network import Network, find_geth, resident_memory
from crossborder.services.documents import MAX_REGISTER, DocumentRegistry

MIB = 1024 * 1024
NODES = 4


@contextmanager
def bench_network() -> Iterator[tuple[Network, Bench]]:
    """Four fresh sealing nodes, the platform deployed by the regulator and the demo consortium
    onboarded (its operators funded by the regulator), all through node1."""
    with tempfile.TemporaryDirectory(prefix="crossborder-network-") as tmp:
        ports = sorted({free_port() for _ in range(6 * NODES)})[: 3 * NODES]
        triples = [(ports[i], ports[i + 1], ports[i + 2]) for i in range(0, 3 * NODES, 3)]
        net = Network.init(Path(tmp) / "net", NODES, ports=triples, geth=find_geth())
        try:
            net.start()
            net.deploy()
            platform = net.platform("node1")
            signers = [net.layout.regulator(), *net.funded_accounts(ACCOUNTS - 1)]
            demo = onboard(platform, signers)
            # Bench names its node `devnet`: here node1, which has the `url` the raw loop posts to.
            yield (
                net,
                Bench(
                    net.node("node1"),  # type: ignore[arg-type]
                    platform,
                    signers,  # type: ignore[arg-type]
                    demo.customs,  # type: ignore[arg-type]
                    demo.banks,
                    demo.firms,  # type: ignore[arg-type]
                    demo.insurer,  # type: ignore[arg-type]
                    demo.logistics,  # type: ignore[arg-type]
                ),
            )
        finally:
            net.stop()


def registration_rate(bench: Bench, first: int, count: int) -> float:
    """Documents per second registered through the SDK (500 a transaction)."""
    docs = declarations(first, count)
    with Timer() as timer:
        result = DocumentRegistry(bench.platform, bench.customs).register_declarations(docs)
    assert result.documents == count
    return count / timer.seconds


def application_rates(bench: Bench, first: int, n: int, rounds: int) -> tuple[float, float]:
    """(raw, SDK) applications per second: the median of alternating rounds of ``n`` each."""
    docs = declarations(first, 2 * n * rounds)
    DocumentRegistry(bench.platform, bench.customs).register_declarations(docs)
    desks = [bank.desk(bench.platform, Stage.APPLY) for bank in bench.banks.values()]
    raw_desks = baseline_desks(bench)
    raw_times, sdk_times = [], []
    for r in range(rounds):
        chunk = docs[2 * n * r : 2 * n * (r + 1)]
        raw_times.append(raw_round(bench, raw_desks, chunk[:n]))
        sdk_times.append(sdk_round(desks, chunk[n:]))
    return n / statistics.median(raw_times), n / statistics.median(sdk_times)


def catch_up(net: Network, bench: Bench, first: int, count: int) -> tuple[int, float]:
    """node4 is killed, misses ``count`` registrations, and is started again: (blocks it was
    behind, seconds until it had caught up and sealed again)."""
    killed_at = net.node("node4").status().head or 0
    net.node("node4").kill()
    DocumentRegistry(bench.platform, bench.customs).register_declarations(
        declarations(first, count), batch_size=50
    )
    time.sleep(3)
    behind = (net.node("node1").status().head or 0) - killed_at
    with Timer() as timer:
        net.start(["node4"])
    return behind, timer.seconds


def failover(net: Network, bench: Bench, first: int) -> float:
    """Seconds from node2's death to Bank A's next application confirmed through node3 (its SDK
    knows both; the first call finds node2 gone and switches)."""
    bank = next(iter(bench.banks.values()))
    platform = net.platform("node2", fallback=["node3"])
    docs = declarations(first, 1)
    DocumentRegistry(platform, bench.customs).register_declarations(docs)
    application = applications_for(docs)[0]
    net.node("node2").kill()
    try:
        with Timer() as timer:
            bank.desk(platform, Stage.APPLY).apply(application)
    finally:
        net.start(["node2"])
    return timer.seconds


def scale_figures(bench: Bench, size: int, rss: Callable[[], int]) -> dict[str, float]:
    """``scale.py``'s figures at ``size`` documents on ``bench``'s chain (``rss``: the node
    memory, in bytes; the largest node's on the network)."""
    with Progress(transient=True) as progress, tempfile.TemporaryDirectory() as tmp:
        seconds, _, registered = scale.register(bench, 0, size, progress, MAX_REGISTER)
        if registered < size:
            raise SystemExit(f"registration stalled at {registered:,} of {size:,} documents")
        by_number, by_fingerprint = scale.screen(bench, size)
        gas, latency = scale.apply_one(bench, size)
        index_s, events, _ = scale.index(bench, f"sqlite:///{Path(tmp) / 'index.sqlite'}", progress)
    return {
        "register": seconds,
        "number": by_number,
        "fingerprint": by_fingerprint,
        "gas": gas,
        "latency": latency,
        "index": index_s,
        "events": events,
        "rss": rss(),
    }


def scale_report(size: int, anvil: dict[str, float], net: dict[str, float]) -> None:
    print(f"\nAt {size:,} documents (scale.py's steps): one Anvil / four nodes / ratio")
    rows = [
        ("register from empty (SDK, 500 a transaction)", "register", "{:.1f} s"),
        ("screen all by number: Screening.declarations", "number", "{:.2f} s"),
        ("screen all by fingerprint: Screening.used", "fingerprint", "{:.2f} s"),
        ("one application: gas", "gas", "{:,.0f}"),
        ("one application: latency (median of 5)", "latency", "{:.2f} s"),
        ("index: fresh catch-up from the deployment block", "index", "{:.1f} s"),
        ("node resident memory (largest node)", "rss", "{:,.0f} B"),
    ]
    for label, key, fmt in rows:
        a, n = anvil[key], net[key]
        if key == "rss":
            a, n, fmt = a / MIB, n / MIB, "{:,.0f} MiB"
        ratio = f"{n / a:.2f}x" if a else "-"
        row(label, f"{fmt.format(a)} / {fmt.format(n)}", ratio)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--applications", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--scale", type=int, default=100_000, help="documents for the scale figures (0: none)"
    )
    args = parser.parse_args()
    docs, n, rounds = args.documents, args.applications, args.rounds
    apps_first = 10 * docs

    with bench_chain(block_time=1.0) as anvil:
        anvil_registration = registration_rate(anvil, 0, docs)
        anvil_raw, anvil_sdk = application_rates(anvil, apps_first, n, rounds)
        anvil_rss = resident_memory(anvil.devnet.pid or 0)
    if args.scale:  # Anvil without history, as scale.py runs it
        with bench_chain(block_time=1.0, anvil_args=["--prune-history"]) as anvil:
            anvil_scale = scale_figures(
                anvil, args.scale, lambda: resident_memory(anvil.devnet.pid or 0) or 0
            )

    with bench_network() as (net, bench):
        net_registration = registration_rate(bench, 0, docs)
        net_raw, net_sdk = application_rates(bench, apps_first, n, rounds)
        behind, catch_up_seconds = catch_up(net, bench, 20 * docs, 2_000)
        failover_seconds = failover(net, bench, 30 * docs)
        memory = [(s.name, s.rss) for s in net.status()]
    if args.scale:
        with bench_network() as (net, bench):
            net_scale = scale_figures(
                bench, args.scale, lambda: max(s.rss or 0 for s in net.status())
            )

    print(
        f"Four institutions' geth nodes (Clique, 1 s blocks, one machine) vs one Anvil"
        f" (1 s blocks): {docs:,} documents, {n:,} one-document applications a round,"
        f" median of {rounds} alternating rounds"
    )
    row("registration, one Anvil", f"{anvil_registration:,.0f} docs/s")
    row("registration, four nodes", f"{net_registration:,.0f} docs/s")
    row("ratio four nodes / Anvil (registration)", f"{net_registration / anvil_registration:.2f}")
    row("applications through the SDK, one Anvil", f"{anvil_sdk:,.0f} tx/s")
    row("applications, raw send loop, one Anvil", f"{anvil_raw:,.0f} tx/s")
    row("applications through the SDK, four nodes", f"{net_sdk:,.0f} tx/s")
    row("applications, raw send loop, four nodes", f"{net_raw:,.0f} tx/s")
    row("ratio SDK / raw on four nodes", f"{net_sdk / net_raw:.2f}", "goal >= 0.8")
    row(f"catch-up of a killed node ({behind} blocks)", f"{catch_up_seconds:.1f} s")
    row("SDK failover: node dies, next application confirmed", f"{failover_seconds:.1f} s")
    for name, rss in memory:
        row(f"resident memory, {name}", "-" if rss is None else f"{rss / MIB:,.0f} MiB")
    row("resident memory, Anvil", "-" if anvil_rss is None else f"{anvil_rss / MIB:,.0f} MiB")
    if args.scale:
        scale_report(args.scale, anvil_scale, net_scale)


if __name__ == "__main__":
    main()
