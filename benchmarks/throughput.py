"""SDK write throughput (financing applications per second, several banks) against a raw
signed-transaction send loop on the same Anvil, in the same run.

    python benchmarks/throughput.py [--applications 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import threading
import time
from decimal import Decimal

import requests
from common import ACCOUNTS, Bench, Timer, bench_chain, row

from crossborder.demo import FIRMS
from crossborder.domain.codes import Scenario, Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.errors import VerificationFailed
from crossborder.services.consortium import ConsortiumAdmin
from crossborder.services.documents import DocumentRegistry
from crossborder.services.financing import GAS_APPLY_BASE, GAS_APPLY_PER_DOCUMENT
from crossborder.services.receivables import ReceivablesDesk

FIRM = next(iter(FIRMS.values()))


def declarations(first: int, count: int) -> list[Declaration]:
    return [
        Declaration(
            number=f"{430_120_260_000_000_000 + first + i}",
            export_date=dt.date(2026, 6, 1),
            exporter=FIRM,
            amount=Money(amount=Decimal("10000.00"), currency="USD"),
        )
        for i in range(count)
    ]


def applications(docs: list[Declaration]) -> list[FinancingApplication]:
    return [
        FinancingApplication(
            firm=FIRM,
            citations=(
                Citation(
                    declaration=d.number, amount=Money(amount=Decimal("5000.00"), currency="USD")
                ),
            ),
        )
        for d in docs
    ]


def wait_mined(rpc, tx_hash: str) -> None:  # type: ignore[no-untyped-def]
    while rpc.request("eth_getTransactionReceipt", [tx_hash]) is None:
        time.sleep(0.02)


def raw_round(bench: Bench, desks: list[ReceivablesDesk], docs: list[Declaration]) -> float:
    """Pre-encoded calldata, then sign and send one by one over raw JSON-RPC; seconds.

    ``desks`` are operators of their own: a sender owns its accounts' nonces.
    """
    platform = bench.platform
    calldata = [
        desks[i % len(desks)].apply_request(a).data for i, a in enumerate(applications(docs))
    ]
    accounts = [desk.signer for desk in desks]
    nonces = {
        s.address: int(platform.rpc.request("eth_getTransactionCount", [s.address, "pending"]), 16)
        for s in accounts
    }
    gas_price = int(platform.rpc.request("eth_gasPrice"), 16) * 2
    to = platform.address("ReceivablesFinancing")
    session = requests.Session()
    last: dict[str, str] = {}
    with Timer() as raw:
        for i, data in enumerate(calldata):
            signer = accounts[i % len(accounts)]
            tx = {
                "to": to,
                "data": data,
                "gas": GAS_APPLY_BASE + GAS_APPLY_PER_DOCUMENT,
                "gasPrice": gas_price,
                "nonce": nonces[signer.address],
                "chainId": platform.deployment.chain_id,
                "value": 0,
            }
            nonces[signer.address] += 1
            body = {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_sendRawTransaction",
                "params": ["0x" + signer.sign(tx).hex()],
            }
            answer = session.post(bench.devnet.url, json=body, timeout=30).json()
            last[signer.address] = answer["result"]
        for tx_hash in last.values():
            wait_mined(platform.rpc, tx_hash)
    return raw.seconds


def sdk_round(desks: list[ReceivablesDesk], docs: list[Declaration]) -> float:
    """Validated models in, typed outcomes out, each bank on its own thread; seconds."""
    apps = applications(docs)
    outcomes: list[int | VerificationFailed] = []
    lock = threading.Lock()

    def bank_worker(b: int) -> None:
        result = desks[b].apply_many(apps[b :: len(desks)])
        with lock:
            outcomes.extend(result)

    with Timer() as sdk:
        threads = [threading.Thread(target=bank_worker, args=(b,)) for b in range(len(desks))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(outcomes) == len(docs)
    assert all(isinstance(o, int) and o > 0 for o in outcomes)
    return sdk.seconds


def baseline_desks(bench: Bench) -> list[ReceivablesDesk]:
    """The raw baseline's own applicant operators, one per bank (a sender owns its nonces)."""
    admin = ConsortiumAdmin(bench.platform, bench.signers[0])
    desks = []
    for i, bank in enumerate(bench.banks.values()):
        signer = bench.signers[ACCOUNTS - 1 - i]
        admin.add_operator(signer.address, bank.uscc, {Scenario.RECEIVABLES: Stage.APPLY})
        desks.append(ReceivablesDesk(bench.platform, signer))
    return desks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n, rounds = args.applications, args.rounds
    with bench_chain(block_time=1.0) as bench:
        docs = declarations(0, 2 * n * rounds)
        DocumentRegistry(bench.platform, bench.customs).register_declarations(docs)
        desks = [bank.desk(bench.platform, Stage.APPLY) for bank in bench.banks.values()]
        raw_desks = baseline_desks(bench)
        raw_times, sdk_times = [], []
        # Alternating rounds, so that block-boundary luck and the growing state hit both alike.
        for r in range(rounds):
            chunk = docs[2 * n * r : 2 * n * (r + 1)]
            raw_times.append(raw_round(bench, raw_desks, chunk[:n]))
            sdk_times.append(sdk_round(desks, chunk[n:]))

    raw_rate = n / statistics.median(raw_times)
    sdk_rate = n / statistics.median(sdk_times)
    print(
        f"Write throughput ({n:,} one-document applications a round, {len(desks)} banks, "
        f"block time 1 s, median of {rounds} alternating rounds)"
    )
    row("raw signed-transaction send loop (pre-encoded)", f"{raw_rate:,.0f} tx/s")
    row("SDK apply_many (validate, fingerprint, sign, send, decode)", f"{sdk_rate:,.0f} tx/s")
    row("ratio SDK / raw", f"{sdk_rate / raw_rate:.2f}", "goal >= 0.8")


if __name__ == "__main__":
    main()
