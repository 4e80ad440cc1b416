"""The REST gateway under load on loopback: latency of a status read and of a financing
application under 50 concurrent clients, and write throughput through the gateway as a ratio
to the SDK's in the same run.

The gateway runs as `crossborder serve --dev` in its own process, as it would in production;
the load comes from 50 client threads, each with its own httpx connection. The SDK baseline is
the same work done the same way: 50 threads, each applying one financing at a time through
``FinancingDesk.apply`` (validate, fingerprint, estimate, sign, send, wait for the block), one
bank's applicant through the gateway and the other bank's through the SDK, on the same chain.

    python benchmarks/gateway.py [--clients 50] [--applications 500] [--reads 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
from common import Bench, Timer, bench_chain, row

from crossborder.api.store import GatewayStore
from crossborder.chain.devnet import free_port
from crossborder.demo import FIRMS
from crossborder.domain.codes import Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.services.documents import DocumentRegistry

FIRM = next(iter(FIRMS.values()))
BLOCK_TIME = 1.0


def declarations(count: int) -> list[Declaration]:
    first = random.randrange(10**17, 8 * 10**17)
    return [
        Declaration(
            number=str(first + i),
            export_date=dt.date.today() - dt.timedelta(days=3),
            exporter=FIRM,
            amount=Money(amount=Decimal("10000.00"), currency="USD"),
        )
        for i in range(count)
    ]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Gateway:
    """`crossborder serve --dev` in a subprocess, with a token for each account asked."""

    def __init__(self, bench: Bench, folder: Path) -> None:
        deployment = folder / "deployment.json"
        bench.platform.deployment.save(deployment)
        self.store = GatewayStore(folder / "gateway" / "gateway.sqlite")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "CROSSBORDER_RPC_URL": bench.devnet.url,
            "CROSSBORDER_DEPLOYMENT_FILE": str(deployment),
            "CROSSBORDER_DEVNET": "1",
        }
        self.log = (folder / "gateway.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "crossborder"),
                "serve",
                "--dev",
                "--port",
                str(self.port),
                "--data",
                str(folder / "gateway"),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start: see {folder / 'gateway.log'}")
            time.sleep(0.2)

    def token(self, account: str) -> str:
        return self.store.issue(account, "benchmark")[1]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.store.close()
        self.log.close()


Job = Callable[[httpx.Client], httpx.Response]


def load(
    url: str, token: str, clients: int, jobs: list[Job], expect: int
) -> tuple[list[float], float]:
    """Runs the jobs on ``clients`` threads, each with its own keep-alive connection; each
    job's latency, and the seconds for all. (Threads, not asyncio: httpx's async pool costs
    the load generator more CPU than the gateway spends answering.)"""
    queue = list(reversed(jobs))
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}

    def worker() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=120) as api:
            while True:
                with lock:
                    if not queue or failures:
                        return
                    job = queue.pop()
                start = time.perf_counter()
                response = job(api)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != expect:
                        failures.append(f"{response.status_code}: {response.text}")

    with Timer() as timer:
        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise RuntimeError(failures[0])
    return latencies, timer.seconds


def read_job(number: str) -> Job:
    return lambda api: api.get(f"/v1/documents/export-declaration/{number}")


def apply_job(number: str) -> Job:
    body = {
        "firm": FIRM,
        "citations": [{"document": number, "amount": {"amount": "5000.00", "currency": "USD"}}],
    }
    key = f"bench-{number}"
    return lambda api: api.post(
        "/v1/scenarios/receivables/financings", json=body, headers={"Idempotency-Key": key}
    )


def sdk_applications(bench: Bench, numbers: list[str], clients: int) -> tuple[list[float], float]:
    """The same applications through the SDK: ``clients`` threads, one at a time each."""
    desk = bench.banks["Bank B"].desk(bench.platform, Stage.APPLY)
    queue = list(reversed(numbers))
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                number = queue.pop()
            application = FinancingApplication(
                firm=FIRM,
                citations=(Citation(document=number, amount=Money("5000.00", "USD")),),
            )
            start = time.perf_counter()
            desk.apply(application)
            with lock:
                latencies.append(time.perf_counter() - start)

    with Timer() as timer:
        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return latencies, timer.seconds


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--applications", type=int, default=500)
    parser.add_argument("--reads", type=int, default=5000)
    args = parser.parse_args()
    clients, n = args.clients, args.applications
    with bench_chain(block_time=BLOCK_TIME) as bench, tempfile.TemporaryDirectory() as tmp:
        docs = declarations(2 * n + 100)
        DocumentRegistry(bench.platform, bench.customs).register_declarations(docs)
        numbers = [d.number for d in docs]
        via_gateway, via_sdk, read = numbers[:n], numbers[n : 2 * n], numbers[2 * n :]
        gateway = Gateway(bench, Path(tmp))
        try:
            reader = gateway.token(bench.banks["Bank A"].signers[Stage.ACCEPT].address)
            applicant = gateway.token(bench.banks["Bank A"].signers[Stage.APPLY].address)
            reads = [read_job(read[i % len(read)]) for i in range(args.reads)]
            read_times, read_seconds = load(gateway.url, reader, clients, reads, 200)
            applies = [apply_job(number) for number in via_gateway]
            gw_times, gw_seconds = load(gateway.url, applicant, clients, applies, 201)
        finally:
            gateway.stop()
        sdk_times, sdk_seconds = sdk_applications(bench, via_sdk, clients)

    gw_rate, sdk_rate = n / gw_seconds, n / sdk_seconds
    print(
        f"Gateway on loopback ({clients} concurrent clients, Anvil block time {BLOCK_TIME:g} s,"
        " `crossborder serve --dev` in its own process)"
    )
    row(f"status read: {args.reads:,} GETs, p50", ms(statistics.median(read_times)))
    row("status read: p99", ms(percentile(read_times, 0.99)))
    row("status read: throughput", f"{args.reads / read_seconds:,.0f} req/s")
    row(f"financing application: {n:,} POSTs, p50", ms(statistics.median(gw_times)))
    row("financing application: p99", ms(percentile(gw_times, 0.99)))
    row("write throughput through the gateway", f"{gw_rate:,.1f} tx/s")
    row(
        f"write throughput through the SDK ({clients} threads, apply)",
        f"{sdk_rate:,.1f} tx/s",
        f"p50 {ms(statistics.median(sdk_times))}",
    )
    row("ratio gateway / SDK", f"{gw_rate / sdk_rate:.2f}", "goal >= 0.7")


if __name__ == "__main__":
    main()
