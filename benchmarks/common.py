"""Shared set-up for the benchmarks: a fresh Anvil, the contracts, the demo consortium."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import LocalSigner
from crossborder.demo import BankDesks, onboard
from crossborder.services.platform import Platform
from crossborder.settings import get_settings

ACCOUNTS = 40


@dataclass
class Bench:
    devnet: Devnet
    platform: Platform
    signers: list[LocalSigner]
    customs: LocalSigner
    banks: dict[str, BankDesks]
    firms: dict[str, LocalSigner]
    insurer: LocalSigner
    logistics: LocalSigner
    credit: dict[str, LocalSigner] = field(default_factory=dict)  # each bank's credit officer


@contextmanager
def bench_chain(block_time: float | None, anvil_args: Sequence[str] = ()) -> Iterator[Bench]:
    """A fresh devnet (interval-mined unless ``block_time`` is None), deployed and onboarded;
    ``anvil_args`` are more Anvil options."""
    with tempfile.TemporaryDirectory(prefix="crossborder-bench-") as tmp:
        devnet = Devnet(
            Path(tmp),
            port=free_port(),
            block_time=block_time,
            accounts=ACCOUNTS,
            extra_args=anvil_args,
        )
        devnet.start()
        try:
            rpc = RpcClient(devnet.url, timeout=120)
            signers = devnet.signers(ACCOUNTS)  # the benchmark's own devnet: dev keys allowed
            key = get_settings().consortium_key_for(devnet.chain_id, devnet=True)
            platform = Platform.deploy(rpc, signers[0], Path(tmp) / "deployment.json", key)
            demo = onboard(platform, signers)
            customs, banks, firms = demo.customs, demo.banks, demo.firms
            insurer, logistics = demo.insurer, demo.logistics
            yield Bench(
                devnet, platform, signers, customs, banks, firms, insurer, logistics, demo.credit
            )  # type: ignore[arg-type]
        finally:
            devnet.stop()


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<58} {value:>16}  {note}")
