"""Bulk registration and screening at the scale of one bank's real screening run.

Registers 110,000 customs declarations through the SDK, finances 1,600 of them at other banks
(some attempts beyond what is left, which the guard refuses), then one bank screens all 110,000.
Baselines in the same run: raw JSON-RPC + manual decoding (the floor) and web3.py contract calls.

    python benchmarks/screening.py [--documents 110000] [--financed 1600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random

from common import Timer, bench_chain, row
from rich.progress import Progress
from web3 import HTTPProvider, Web3

from crossborder.chain.codec import decode_uint256_array, encode_static_array_call
from crossborder.chain.packing import held
from crossborder.demo import FIRMS
from crossborder.domain.codes import DocumentType, Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.errors import VerificationFailed
from crossborder.services.documents import DocumentRegistry, Screening

EXPORT = DocumentType.EXPORT_DECLARATION


def declarations(count: int) -> list[Declaration]:
    firms = list(FIRMS.values())
    rng = random.Random(11)
    return [
        Declaration(
            number=f"{420_120_260_000_000_000 + i}",
            export_date=dt.date(2026, 1, 1) + dt.timedelta(days=i % 300),
            exporter=firms[i % len(firms)],
            amount=Money.from_minor(rng.randrange(10_000, 5_000_000) * 100, "USD"),
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=110_000)
    parser.add_argument("--financed", type=int, default=1_600)
    args = parser.parse_args()
    with Timer() as build:
        docs = declarations(args.documents)
    with bench_chain(block_time=1.0) as bench:
        platform = bench.platform
        registry = DocumentRegistry(platform, bench.customs)
        with Progress() as progress, Timer() as register:
            task = progress.add_task("registering declarations", total=len(docs))
            result = registry.register_declarations(
                docs, progress=lambda n: progress.advance(task, n)
            )

        rng = random.Random(5)
        chosen = rng.sample(range(len(docs)), args.financed)
        banks = list(bench.banks.values())
        plans: dict[int, list[FinancingApplication]] = {0: [], 1: []}
        for k, index in enumerate(chosen):
            d = docs[index]
            # One in eight asks for 10 % more than the declaration: refused as over-financing,
            # then financed within its amount.
            units = d.amount.to_minor() // 2
            for amount in ([d.amount.to_minor() * 11 // 10] if k % 8 == 0 else []) + [units]:
                plans[k % 2].append(
                    FinancingApplication(
                        firm=d.exporter,
                        citations=(
                            Citation(declaration=d.number, amount=Money.from_minor(amount, "USD")),
                        ),
                    )
                )
        refused = 0
        with Timer() as finance:
            for b, bank in enumerate(banks):
                outcomes = bank.desk(platform, Stage.APPLY).apply_many(plans[b])
                refused += sum(isinstance(o, VerificationFailed) for o in outcomes)

        screening = Screening(platform)
        numbers = [d.number for d in docs]
        with Timer() as natural:
            infos = screening.declarations(numbers)
        fully = sum(info.fully_used for info in infos)
        partly = sum(info.used and not info.fully_used for info in infos)
        fingerprints = [platform.fingerprints.declaration(n) for n in numbers]
        with Timer() as screen:
            hits = screening.used(fingerprints)
        expected = sorted(chosen)
        assert hits == expected, f"screening found {len(hits)} hits, expected {len(expected)}"
        assert [i for i, info in enumerate(infos) if info.used] == expected

        # Floor: raw JSON-RPC, one call at a time, manual decoding.
        ledger = platform.address("DocumentLedger")
        selector = platform.abis["DocumentLedger"].selector("documents")
        with Timer() as raw:
            raw_hits = 0
            for start in range(0, len(fingerprints), 2000):
                chunk = fingerprints[start : start + 2000]
                data = encode_static_array_call(selector, [int(EXPORT)], chunk)
                out = platform.rpc.eth_call(ledger, data)
                raw_hits += sum(1 for w in decode_uint256_array(out) if held(w))
        assert raw_hits == len(expected)

        # web3.py's contract-call path on a sample, extrapolated.
        sample = fingerprints[:10_000]
        w3 = Web3(HTTPProvider(bench.devnet.url))
        contract = w3.eth.contract(address=ledger, abi=platform.abis["DocumentLedger"].abi)
        with Timer() as web3_time:
            for start in range(0, len(sample), 2000):
                contract.functions.documents(int(EXPORT), sample[start : start + 2000]).call()
        web3_seconds = web3_time.seconds * len(fingerprints) / len(sample)

    n = len(docs)
    print(f"Screening benchmark ({n:,} declarations, Anvil 1.7.1, --block-time 1)")
    row("build declaration models (pydantic validation)", f"{build.seconds:.2f} s")
    row(
        "register through the SDK (validate, pre-check, sign, send)",
        f"{register.seconds:.2f} s",
        f"goal <= 10 s; {n / register.seconds:,.0f} docs/s, {result.transactions} tx",
    )
    row(
        f"finance {args.financed:,} at two banks (+{refused} refused attempts)",
        f"{finance.seconds:.2f} s",
    )
    row(
        "screen all by number: Screening.declarations",
        f"{natural.seconds:.3f} s",
        f"goal <= 1 s; {fully:,} fully, {partly:,} partly used",
    )
    row("screen all by fingerprint: Screening.used", f"{screen.seconds:.3f} s", "goal <= 1 s")
    row("  raw JSON-RPC, sequential calls (floor)", f"{raw.seconds:.3f} s")
    row(
        "  web3.py contract calls (10,000 sampled, extrapolated)",
        f"{web3_seconds:.3f} s",
        f"SDK is {web3_seconds / screen.seconds:.1f}x faster",
    )
    row("hits", f"{len(hits):,}", f"expected exactly {len(expected):,}: equal")


if __name__ == "__main__":
    main()
