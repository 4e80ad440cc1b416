"""Credit-information query benchmark: authorised queries per second through the SDK.

    python benchmarks/credit.py [--events 1000000] [--queries 300]

1. Starts Anvil (automine), deploys, onboards the demo consortium; firm 1 authorises Bank A's
   credit officer for every scope (its signed consent, submitted by Bank A's opener).
2. Fills a reporting store with ``--events`` events: GENERATED events (financings, holds,
   verification failures of 5,000 firms, the demo's three among them) folded by the indexer's
   own projection code, not read from a chain (indexing a million real events takes hours on
   this machine's Anvil); said in the output. The regulator classifies firm 1 and records
   penalties in the store's regulatory table.
3. Times ``query_profile`` (the on-chain check and audit record, one transaction, then the typed
   profile from the index) ``--queries`` times, in SQLite and PostgreSQL (when
   ``CROSSBORDER_TEST_PG_URL`` is set); and, in the same run, each half alone as the baseline:
   the audited record only (chain) and the profile only (store).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import bench_chain, row  # noqa: E402
from indexer import synthesise  # noqa: E402

from crossborder.credit.profile import profile, query_profile  # noqa: E402
from crossborder.credit.regulatory import RegulatoryDesk  # noqa: E402
from crossborder.demo import FIRMS  # noqa: E402
from crossborder.domain.codes import CreditScope  # noqa: E402
from crossborder.domain.money import Money  # noqa: E402
from crossborder.indexer.store import make_engine  # noqa: E402
from crossborder.services import credit_query  # noqa: E402
from crossborder.services.consortium import open_services  # noqa: E402
from crossborder.services.credit_query import CreditQueryDesk  # noqa: E402

FIRM = next(iter(FIRMS.values()))


def per_second(label: str, count: int, seconds: float, note: str = "") -> float:
    rate = count / seconds
    row(label, f"{rate:,.1f} /s", f"({count} in {seconds:.2f} s) {note}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    urls = []
    pg_url = os.environ.get("CROSSBORDER_TEST_PG_URL")
    with tempfile.TemporaryDirectory(prefix="bench-credit-") as tmp, bench_chain(None) as bench:
        platform = bench.platform
        bank_a = bench.banks["Bank A"]
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
        signed = credit_query.authorise(
            platform, bench.firms[FIRM], FIRM, bank_a.uscc, until, CreditScope.ALL
        )
        open_services(platform, bank_a.opener, [signed])
        desk = CreditQueryDesk(platform, bench.credit["Bank A"])
        demo_firms = ["0x" + platform.ids.participant(uscc).hex() for uscc in FIRMS.values()]
        generated = ["0x" + f"{0xF0000 + f:064x}" for f in range(5000 - len(demo_firms))]
        firms = generated[:1] + demo_firms + generated[1:]  # firm 1 gets the first document
        urls.append(("SQLite", f"sqlite:///{Path(tmp) / 'credit.sqlite'}"))
        if pg_url:
            urls.append(("PostgreSQL", pg_url))
        print(f"authorised credit queries over a SYNTHESISED store of {args.events:,} events")
        print("  (generated events folded by the indexer's projection code, not read from a chain)")
        for name, url in urls:
            started = time.perf_counter()
            count = synthesise(url, args.events, firms)
            print(f"\n{name}: {count:,} events folded in {time.perf_counter() - started:.0f} s")
            engine = make_engine(url)
            regulator = RegulatoryDesk(platform, engine, bench.signers[0])
            regulator.classify(FIRM, "B", dt.date(2026, 1, 1))
            for day in (3, 17):
                regulator.add_penalty(FIRM, dt.date(2026, 2, day), Money("800", "CNY"), "late")
            with engine.connect() as conn:
                seen = query_profile(desk, conn, FIRM, CreditScope.ALL)  # warm up, and show
                assert seen.trade is not None and seen.trade.financings
                financed = sum(f.count for f in seen.trade.financings)
                print(
                    f"  firm 1's profile: {financed} financings, {len(seen.trade.exports)} months"
                )
                started = time.perf_counter()
                for _ in range(args.queries):
                    query_profile(desk, conn, FIRM, CreditScope.ALL)
                full = per_second(
                    "check + audit record + profile (SDK)",
                    args.queries,
                    time.perf_counter() - started,
                )
                started = time.perf_counter()
                records = [desk.record(FIRM, CreditScope.ALL) for _ in range(args.queries)]
                chain = per_second(
                    "baseline: check + audit record only (chain)",
                    args.queries,
                    time.perf_counter() - started,
                )
                started = time.perf_counter()
                for record in records:
                    profile(conn, record)
                store = per_second(
                    "baseline: profile from the index only (store)",
                    args.queries,
                    time.perf_counter() - started,
                )
            row("ratio full / chain-only", f"{full / chain:.2f}x")
            row("ratio full / store-only", f"{full / store:.3f}x")
            engine.dispose()


if __name__ == "__main__":
    main()
