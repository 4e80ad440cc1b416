"""Gas per registered document (batch of 100) and per one-document application.

python benchmarks/gas.py
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from common import bench_chain, row

from crossborder.demo import FIRMS
from crossborder.domain.codes import Scenario, Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.services.consortium import ConsortiumAdmin, sign_consent
from crossborder.services.documents import DocumentRegistry
from crossborder.services.receivables import ReceivablesDesk

STORAGE_FLOOR = 22_100  # one fresh storage slot (cold SSTORE 0 -> non-zero)


def main() -> None:
    firm = next(iter(FIRMS.values()))
    with bench_chain(block_time=None) as bench:
        registry = DocumentRegistry(bench.platform, bench.customs)
        declarations = [
            Declaration(
                number=f"{410_120_260_000_000_000 + i}",
                export_date=dt.date(2026, 11, 1),
                exporter=firm,
                amount=Money(amount=Decimal("1000.00"), currency="USD"),
            )
            for i in range(300)
        ]
        gas = []
        for k in range(0, 300, 100):
            registry.register_declarations(declarations[k : k + 100])
            block = bench.platform.rpc.request("eth_getBlockByNumber", ["latest", False])
            (tx_hash,) = block["transactions"]
            gas.append(bench.platform.sender.wait([tx_hash])[0].gas_used)
        desk = bench.banks["Bank A"].desk(bench.platform, Stage.APPLY)
        applied = []
        for i in range(3):
            application = FinancingApplication(
                firm=firm,
                citations=(
                    Citation(
                        declaration=declarations[i].number,
                        amount=Money(amount=Decimal("500.00"), currency="USD"),
                    ),
                ),
            )
            receipt = bench.platform.sender.transact(desk.apply_request(application))
            applied.append(receipt.gas_used)
        bank = bench.banks["Bank A"]
        admin = ConsortiumAdmin(bench.platform, bench.signers[0])
        admin.close_service(firm, bank.uscc, Scenario.RECEIVABLES)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
        consent = sign_consent(
            bench.platform, bench.firms[firm], firm, bank.uscc, Scenario.RECEIVABLES, until
        )
        (opened,) = ReceivablesDesk(bench.platform, bank.opener).open_services([consent])
        print("Gas (Anvil 1.7.1, contracts compiled for shanghai)")
        row("register: per document, batch of 100", f"{gas[-1] / 100:,.0f}", "goal <= 27,500")
        row("  storage floor: one fresh slot", f"{STORAGE_FLOOR:,}")
        row("apply: one document, first financing ever", f"{applied[0]:,}")
        row("apply: one document, steady state", f"{applied[-1]:,}", "goal <= 140,000")
        row("service opening with the firm's signed consent (EIP-712)", f"{opened.gas_used:,}")


if __name__ == "__main__":
    main()
