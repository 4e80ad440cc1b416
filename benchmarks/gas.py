"""Gas per registered document (batch of 100) and per one-document application.

python benchmarks/gas.py
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from common import bench_chain, row

from crossborder.demo import FIRMS
from crossborder.domain.codes import DocumentType, Scenario, Stage
from crossborder.domain.models import (
    Citation,
    Declaration,
    FinancingApplication,
    TransportDocument,
)
from crossborder.domain.money import Money
from crossborder.services.consortium import ConsortiumAdmin, sign_consent
from crossborder.services.documents import DocumentRegistry
from crossborder.services.logistics import LogisticsDesk
from crossborder.services.policy import InsurerDesk, PolicyDesk, sign_assignment
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
        policy_gas = _policy_applications(bench, firm, declarations[100:103])
        logistics_gas = _logistics_applications(bench, firm, declarations[103:106])
        bank = bench.banks["Bank A"]
        admin = ConsortiumAdmin(bench.platform, bench.signers[0])
        admin.close_service(firm, bank.uscc, Scenario.RECEIVABLES)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
        consent = sign_consent(
            bench.platform, bench.firms[firm], firm, bank.uscc, Scenario.RECEIVABLES, until
        )
        (opened,) = ReceivablesDesk(bench.platform, bank.opener).open_services([consent])
        print("Gas (Anvil 1.7.1, contracts compiled for paris)")
        row("register: per document, batch of 100", f"{gas[-1] / 100:,.0f}", "goal <= 27,500")
        row("  storage floor: one fresh slot", f"{STORAGE_FLOOR:,}")
        row("apply: one document, first financing ever", f"{applied[0]:,}")
        row("apply: one document, steady state", f"{applied[-1]:,}", "goal <= 140,000")
        steady = applied[-1]
        for label, used in (
            ("policy financing: one insured shipment, steady state", policy_gas),
            ("logistics financing: one rail waybill, steady state", logistics_gas[0]),
            ("  the same waybill linked to its declaration (holds both)", logistics_gas[1]),
        ):
            row(label, f"{used:,}", f"{used / steady:.2f}x receivables; goal <= 1.10x")
        row("service opening with the firm's signed consent (EIP-712)", f"{opened.gas_used:,}")


def _policy_applications(bench, firm, declarations) -> int:
    """Gas of the last of three one-shipment policy applications (policy, cover, assignment set up)."""
    platform, bank = bench.platform, bench.banks["Bank A"]
    insurer = InsurerDesk(platform, bench.insurer)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    insurer.register_policy(
        "GAS-POLICY-1", firm, "BUYER-1", Money("1000000", "USD"), dt.date(2027, 12, 31)
    )
    for d in declarations:
        insurer.declare_shipment(d.number, "GAS-POLICY-1", d.amount)
        insurer.confirm_cover(d.number)
    signed = sign_assignment(platform, bench.firms[firm], "GAS-POLICY-1", firm, bank.uscc, until)
    PolicyDesk(platform, bank.opener).request_assignment(signed)
    insurer.confirm_assignment("GAS-POLICY-1", bank.uscc)
    desk = PolicyDesk(platform, bank.signers[Stage.APPLY])
    used = 0
    for d in declarations:
        application = FinancingApplication(
            firm=firm, citations=(Citation(document=d.number, amount=Money("500.00", "USD")),)
        )
        used = platform.sender.transact(desk.apply_request(application)).gas_used
    return used


def _logistics_applications(bench, firm, declarations) -> tuple[int, int]:
    """Gas of a one-waybill application (steady state), unlinked and linked to a declaration."""
    platform = bench.platform
    waybills = [
        TransportDocument(
            kind=DocumentType.RAIL_WAYBILL,
            number=f"GAS-WB-{i}",
            consignor=firm,
            goods_value=Money("1000.00", "USD"),
            issued=dt.date(2026, 11, 1),
            declaration=declarations[i].number if i == 2 else None,
        )
        for i in range(3)
    ]
    DocumentRegistry(platform, bench.logistics).register_transport(waybills)
    desk = LogisticsDesk(platform, bench.banks["Bank A"].signers[Stage.APPLY])
    used = []
    for w in waybills:
        application = FinancingApplication(
            firm=firm,
            citations=(Citation(document=w.number, kind=w.kind, amount=Money("500.00", "USD")),),
        )
        used.append(platform.sender.transact(desk.apply_request(application)).gas_used)
    return used[1], used[2]


if __name__ == "__main__":
    main()
