"""SDK write throughput (financing applications per second, several banks) against a raw
signed-transaction send loop on the same Anvil, in the same run.

    python benchmarks/throughput.py [--applications 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import threading
import time
from decimal import Decimal

import requests
from common import Timer, bench_chain, row

from crossborder.demo import FIRMS
from crossborder.domain.codes import Role
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.errors import VerificationFailed
from crossborder.services.documents import DocumentRegistry
from crossborder.services.receivables import GAS_APPLY_BASE, GAS_APPLY_PER_DOCUMENT

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=2000)
    args = parser.parse_args()
    n = args.applications
    with bench_chain(block_time=1.0) as bench:
        platform = bench.platform
        docs = declarations(0, 2 * n)
        DocumentRegistry(platform, bench.customs).register_declarations(docs)
        desks = [bank.desk(platform, Role.RCV_APPLY) for bank in bench.banks.values()]

        # Baseline: pre-encoded calldata, then sign and send one by one over raw JSON-RPC.
        raw_apps = applications(docs[:n])
        calldata = [desks[i % len(desks)].apply_request(a).data for i, a in enumerate(raw_apps)]
        accounts = [desk.signer for desk in desks]
        nonces = {
            s.address: int(
                platform.rpc.request("eth_getTransactionCount", [s.address, "pending"]), 16
            )
            for s in accounts
        }
        gas_price = int(platform.rpc.request("eth_gasPrice"), 16) * 2
        ledger_to = platform.address("ReceivablesFinancing")
        session = requests.Session()
        last = ""
        with Timer() as raw:
            for i, data in enumerate(calldata):
                signer = accounts[i % len(accounts)]
                tx = {
                    "to": ledger_to,
                    "data": data,
                    "gas": GAS_APPLY_BASE + GAS_APPLY_PER_DOCUMENT,
                    "gasPrice": gas_price,
                    "nonce": nonces[signer.address],
                    "chainId": platform.deployment.chain_id,
                    "value": 0,
                }
                nonces[signer.address] += 1
                raw_tx = signer.sign(tx)
                body = {
                    "jsonrpc": "2.0",
                    "id": i,
                    "method": "eth_sendRawTransaction",
                    "params": ["0x" + raw_tx.hex()],
                }
                last = session.post(bench.devnet.url, json=body, timeout=30).json()["result"]
            wait_mined(platform.rpc, last)

        # The SDK: validated models in, typed outcomes out, each bank on its own thread.
        sdk_apps = applications(docs[n:])
        outcomes: list[int | VerificationFailed] = []
        lock = threading.Lock()

        def bank_worker(b: int) -> None:
            mine = sdk_apps[b :: len(desks)]
            result = desks[b].apply_many(mine)
            with lock:
                outcomes.extend(result)

        with Timer() as sdk:
            threads = [threading.Thread(target=bank_worker, args=(b,)) for b in range(len(desks))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert len(outcomes) == n
        assert all(isinstance(o, int) and o > 0 for o in outcomes)

    raw_rate, sdk_rate = n / raw.seconds, n / sdk.seconds
    print(f"Write throughput ({n:,} one-document applications, {len(desks)} banks, block time 1 s)")
    row("raw signed-transaction send loop (pre-encoded)", f"{raw_rate:,.0f} tx/s")
    row("SDK apply_many (validate, fingerprint, sign, send, decode)", f"{sdk_rate:,.0f} tx/s")
    row("ratio SDK / raw", f"{sdk_rate / raw_rate:.2f}", "goal >= 0.8")


if __name__ == "__main__":
    main()
