"""Indexer benchmark: backfill speed against web3.py's event path, and the regulator's reports.

    python benchmarks/indexer.py [--documents 200000] [--report-events 1000000]

1. Starts Anvil (automine), deploys, and generates platform events through the SDK: customs
   registers declarations in batches of 500 (501 events a transaction) and a bank applies against
   them (AmountHeld per cited declaration plus FinancingApplied), then moves some financings on.
2. Backfills them into SQLite (and PostgreSQL when ``CROSSBORDER_TEST_PG_URL`` is set): fetch,
   decode, projections and commit, in events per second.
3. Reads the same logs with web3.py's ``contract.events.X.get_logs`` (fetch and decode only, no
   store) on the same node in the same run, and prints the ratio.
4. Synthesises a store of 1,000,000 events (generated events folded by the indexer's own
   projection code, not read from a chain: said in the output) and times each report for the
   regulator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from crossborder.chain.devnet import Devnet, free_port  # noqa: E402
from crossborder.chain.rpc import RpcClient  # noqa: E402
from crossborder.chain.signers import dev_signers  # noqa: E402
from crossborder.demo import FIRMS, onboard  # noqa: E402
from crossborder.domain.codes import Scenario, Stage  # noqa: E402
from crossborder.domain.models import Citation, Declaration, FinancingApplication  # noqa: E402
from crossborder.domain.money import Money  # noqa: E402
from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes  # noqa: E402
from crossborder.indexer.events import Event  # noqa: E402
from crossborder.indexer.store import BlockInfo  # noqa: E402
from crossborder.reports import REPORTS, Filters, Scope  # noqa: E402
from crossborder.services.documents import DocumentRegistry  # noqa: E402
from crossborder.services.platform import Platform  # noqa: E402
from crossborder.services.receivables import ReceivablesDesk  # noqa: E402

KEY = b"benchmark-consortium-key-not-for-production"
CITED = 10
ACCOUNTS = 24


def generate(platform: Platform, documents: int, applications: int) -> None:
    demo = onboard(platform, dev_signers(31337, ACCOUNTS, devnet=True))
    customs, banks = demo.customs, demo.banks
    firms = list(FIRMS.values())
    bank_ops = banks["Bank A"].signers
    rng = random.Random(1)
    declarations = [
        Declaration(
            number=str(10**17 + i),
            export_date=dt.date(2025, 1, 1),
            exporter=firms[i % len(firms)],
            amount=Money.from_minor(rng.randrange(10_000_00, 900_000_00), "USD"),
        )
        for i in range(documents)
    ]
    started = time.perf_counter()
    registry = DocumentRegistry(platform, customs)
    # Applications first, while the chain state is small: Anvil slows down per block as it grows.
    first = max(applications * CITED, 20_000)
    registry.register_declarations(declarations[:first], batch_size=500)
    desk = ReceivablesDesk(platform, bank_ops[Stage.APPLY])
    acceptor = ReceivablesDesk(platform, bank_ops[Stage.ACCEPT])
    by_firm: dict[str, list[Declaration]] = {}
    for d in declarations[:first]:
        by_firm.setdefault(d.exporter, []).append(d)
    pool = list(by_firm.items())
    apps = []
    for i in range(applications):
        firm, docs = pool[i % len(pool)]
        cited = docs[(i // len(pool)) * CITED : (i // len(pool) + 1) * CITED]
        apps.append(
            FinancingApplication(
                firm=firm,
                citations=tuple(
                    Citation(declaration=d.number, amount=Money.from_minor(100_00, "USD"))
                    for d in cited
                ),
            )
        )
    for start in range(0, len(apps), 200):
        ids = desk.apply_many(apps[start : start + 200])
        for fid in ids[:20]:
            if isinstance(fid, int):
                acceptor.accept(fid)
    print(f"  {applications:,} applications citing {CITED} declarations each", flush=True)
    for start in range(first, documents, 20_000):
        registry.register_declarations(declarations[start : start + 20_000], batch_size=500)
        print(f"  registered {min(start + 20_000, documents):,} declarations", flush=True)
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)


def backfill(rpc: RpcClient, platform: Platform, abis: dict, url: str) -> tuple[int, float]:
    store = Store(url, scenario_codes(rpc, platform.deployment, abis))
    store.drop()
    indexer = Indexer(rpc, platform.deployment, abis, store, IndexerConfig())
    started = time.perf_counter()
    indexer.run()
    elapsed = time.perf_counter() - started
    events = store.event_count()
    store.close()
    return events, elapsed


def web3_path(url: str, platform: Platform, abis: dict, first: int, last: int) -> tuple[int, float]:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 600}))
    started = time.perf_counter()
    events = 0
    for name, address in platform.deployment.contracts.items():
        contract = w3.eth.contract(address=Web3.to_checksum_address(address), abi=abis[name].abi)
        for entry in abis[name].abi:
            if entry.get("type") != "event":
                continue
            event = getattr(contract.events, entry["name"])
            step = 20_000
            for start in range(first, last + 1, step):
                events += len(
                    event.get_logs(from_block=start, to_block=min(last, start + step - 1))
                )
    return events, time.perf_counter() - started


def synthesise(url: str, target: int, firms: list[str] | None = None) -> int:
    """Fold ``target`` generated events into a fresh store through the indexer's own code.

    ``firms`` (participant ids, ``0x`` hex): the firms to finance, onboarded first; 5,000
    generated ones by default, not onboarded."""
    store = Store(url, {"0x" + "ab" * 20: int(Scenario.RECEIVABLES)})
    store.drop()
    store.create()
    rng = random.Random(2)
    ledger, scenario = "0x" + "cd" * 20, "0x" + "ab" * 20
    banks = ["0x" + f"{b:064x}" for b in range(1, 41)]
    onboarded = firms is not None
    firms = firms or ["0x" + f"{0xF0000 + f:064x}" for f in range(5000)]
    zero = "0x" + "00" * 32
    block, total, fid, doc = 1, 0, 0, 0
    t0 = 1_735_660_800  # 2025-01-01
    pending: list[Event] = []

    def emit(name: str, address: str, topic1: str | None, args: dict) -> None:
        nonlocal total
        t = t0 + block * 60
        pending.append(
            Event(
                block,
                len(pending),
                "0x" + f"{block:064x}",
                t,
                "0x" + "00" * 32,
                address,
                name,
                topic1,
                args,
            )
        )
        total += 1

    def flush() -> None:
        nonlocal pending, block
        blocks = sorted({e.block_number for e in pending})
        infos = [BlockInfo(b, "0x" + f"{b:064x}", t0 + b * 60) for b in blocks]
        store.commit_range(pending, infos, infos[-1])
        pending = []

    for participant, kind in [(b, 2) for b in banks] + [(f, 3) for f in firms if onboarded]:
        emit(
            "ParticipantOnboarded",
            scenario,
            participant,
            {"participant": participant, "kind": kind, "parent": zero, "by": "0x" + "11" * 20},
        )
    while total < target:
        block += 1
        for _ in range(8):
            doc += 1
            fp = "0x" + f"{doc:064x}"
            firm = firms[doc % len(firms)]
            face = rng.randrange(10_000_00, 900_000_00)
            currency = 840 if doc % 4 else 156
            record = face | currency << 128 | 1 << 144 | 20000 << 160
            emit(
                "DocumentRegistered",
                ledger,
                fp,
                {"fingerprint": fp, "doc_type": 1, "record": record},
            )
            bank = banks[doc % len(banks)]
            if doc % 9 == 0:
                emit(
                    "VerificationFailed",
                    scenario,
                    bank,
                    {
                        "bank": bank,
                        "firm": firm,
                        "fingerprint": fp,
                        "doc_type": 1,
                        "reason": rng.choice([1, 3, 4, 5, 6]),
                        "amount": face,
                        "currency": currency,
                        "applicant": "0x" + "22" * 20,
                    },
                )
                continue
            fid += 1
            fid_topic = "0x" + f"{fid:064x}"
            amount = face // 2
            emit(
                "AmountHeld",
                ledger,
                fp,
                {
                    "fingerprint": fp,
                    "scenario": scenario,
                    "financing_id": fid,
                    "doc_type": 1,
                    "amount": amount,
                    "held": amount,
                },
            )
            emit(
                "FinancingApplied",
                scenario,
                fid_topic,
                {
                    "financing_id": fid,
                    "bank": bank,
                    "firm": firm,
                    "applicant": "0x" + "22" * 20,
                    "currency": currency,
                    "amount": amount,
                    "documents": 1,
                },
            )
            op = {"financing_id": fid, "operator": "0x" + "33" * 20}
            if fid % 3:
                emit("FinancingAccepted", scenario, fid_topic, op)
                emit("FinancingReviewed", scenario, fid_topic, {**op, "approved": True})
                emit(
                    "DisbursementRegistered",
                    scenario,
                    fid_topic,
                    {**op, "amount": amount, "value_date": 20100, "due_date": 20190},
                )
                if fid % 2:
                    emit(
                        "RepaymentRegistered",
                        scenario,
                        fid_topic,
                        {**op, "amount": amount, "repaid": amount, "closed": True},
                    )
        if block % 40 == 0:
            block += 60 * 24  # the next blocks a day later: a year of days
            flush()
    if pending:
        flush()
    count = store.event_count()
    store.close()
    return count


def time_reports(url: str) -> None:
    store = Store(url)
    for name, report in REPORTS.items():
        best = float("inf")
        rows = 0
        for _ in range(3):
            started = time.perf_counter()
            with store.engine.connect() as conn:
                rows = len(report(conn, Scope(), Filters(period="month"), str).rows)
            best = min(best, time.perf_counter() - started)
        print(f"  {name:24s} {best:6.3f} s  ({rows:,} rows)  goal <= 2 s")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--applications", type=int, default=1_000)
    parser.add_argument("--report-events", type=int, default=1_000_000)
    args = parser.parse_args()
    pg_url = os.environ.get("CROSSBORDER_TEST_PG_URL")
    with tempfile.TemporaryDirectory(prefix="bench-indexer-") as tmp:
        directory = Path(tmp)
        devnet = Devnet(directory / "anvil", port=free_port(), block_time=None, accounts=ACCOUNTS)
        devnet.start()
        try:
            rpc = RpcClient(devnet.url, timeout=600)
            platform = Platform.deploy(
                rpc, dev_signers(31337, 1, devnet=True)[0], directory / "deploy.json", KEY
            )
            deployment, abis = platform.deployment, platform.abis
            print(f"generating events on Anvil ({devnet.url}) …", flush=True)
            generate(platform, args.documents, args.applications)
            head = rpc.block_number()

            print("\nbackfill (fetch + decode + projections + commit):")
            sqlite_url = f"sqlite:///{directory / 'bench.sqlite'}"
            events, elapsed = backfill(rpc, platform, abis, sqlite_url)
            ours = events / elapsed
            print(
                f"  SQLite      {events:,} events in {elapsed:.2f} s = {ours:,.0f} events/s"
                "  (goal >= 20,000)"
            )
            if pg_url:
                pg_events, pg_elapsed = backfill(rpc, platform, abis, pg_url)
                print(
                    f"  PostgreSQL  {pg_events:,} events in {pg_elapsed:.2f} s = "
                    f"{pg_events / pg_elapsed:,.0f} events/s"
                )
            else:
                print("  PostgreSQL  skipped: CROSSBORDER_TEST_PG_URL is unset")

            print("\nweb3.py contract.events.X.get_logs (fetch + decode only, no store):")
            w3_events, w3_elapsed = web3_path(devnet.url, platform, abis, deployment.block, head)
            theirs = w3_events / w3_elapsed
            print(
                f"  web3.py     {w3_events:,} events in {w3_elapsed:.2f} s = {theirs:,.0f} events/s"
            )
            print(f"  ratio       {ours / theirs:.1f}x  (goal >= 5x)")
            rpc.close()
        finally:
            devnet.stop()

        print(f"\nregulator reports over a SYNTHESISED store of {args.report_events:,} events")
        print("  (generated events folded by the indexer's projection code, not read from a chain)")
        report_url = f"sqlite:///{directory / 'reports.sqlite'}"
        started = time.perf_counter()
        count = synthesise(report_url, args.report_events)
        print(f"  SQLite store: {count:,} events folded in {time.perf_counter() - started:.0f} s")
        time_reports(report_url)
        if pg_url:
            started = time.perf_counter()
            count = synthesise(pg_url, args.report_events)
            print(
                f"  PostgreSQL store: {count:,} events folded in "
                f"{time.perf_counter() - started:.0f} s"
            )
            time_reports(pg_url)


if __name__ == "__main__":
    main()
