"""Payment facilitation: gas of a tax payment and of invoice batches up to 1,000 invoices tagged
in one registration (per invoice, against a per-document hold in the same run, and whether the
batch fits a 30M-gas block), and the time to re-derive a post-review sample over 100,000
payments.

python benchmarks/payments.py
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from common import Timer, bench_chain, row

from crossborder.chain.abi import load_manifest
from crossborder.demo import FIRMS
from crossborder.domain.codes import MAX_TAGGED, DocumentType, Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money, currency
from crossborder.domain.payments import CAPITAL, FREIGHT, TAX, PaymentDocument
from crossborder.domain.sample import derive_sample
from crossborder.services.documents import DocumentRegistry
from crossborder.services.payments import PaymentDesk, PostReview, check_periods

BLOCK_GAS = 30_000_000  # a mainnet-sized block; the devnet's own limit is far higher
DAY = dt.date(2026, 11, 20)
USD = currency("USD")
ON_CHAIN_PAYMENTS = 300
SAMPLE = 200


def _invoices(kind: DocumentType, firm: str, start: int, n: int) -> list[PaymentDocument]:
    return [
        PaymentDocument(
            kind=kind,
            number=f"{4403190000 + start + i:010d}/{start + i:08d}",
            payer=firm,
            amount=Money("12.50", "USD"),
            issued=DAY,
        )
        for i in range(n)
    ]


def main() -> None:
    firm = next(iter(FIRMS.values()))
    with bench_chain(block_time=None) as bench:
        platform, bank = bench.platform, bench.banks["Bank A"]
        tax_bureau = bench.signers[21]  # the demo's tax bureau (after every other signer)
        registry = DocumentRegistry(platform, tax_bureau)
        freight = _invoices(DocumentType.FREIGHT_INVOICE, firm, 0, 1 + 10 + MAX_TAGGED)
        registry.register(DocumentType.FREIGHT_INVOICE, freight, batch_size=500)
        filing = PaymentDocument(
            kind=DocumentType.TAX_FILING,
            number="TF2026000001/CHK1",
            payer=firm,
            amount=Money("100000.00", "USD"),
            issued=DAY,
        )
        registry.register(DocumentType.TAX_FILING, [filing])

        teller = bank.teller
        assert teller is not None
        tax = PaymentDesk(platform, teller, TAX)
        tax_gas = [
            _gas(platform, tax.filing_request(filing.number, firm, Money("10.00", "USD"), DAY))
            for _ in range(3)
        ]
        desk = PaymentDesk(platform, teller, FREIGHT)
        numbers = [d.number for d in freight]
        one = _gas(platform, desk.invoices_request(firm, USD, numbers[:1], DAY))
        ten = _gas(platform, desk.invoices_request(firm, USD, numbers[1:11], DAY))
        with Timer() as batch_time:
            thousand = _gas(platform, desk.invoices_request(firm, USD, numbers[11:], DAY))
        per_invoice = (thousand - one) / (MAX_TAGGED - 1)
        hold_per_document = _hold_per_document(bench, firm)

        print("Gas (Anvil 1.7.1, contracts compiled for paris)")
        row("tax payment: filing held and consumed, steady state", f"{tax_gas[-1]:,}")
        row("freight payment: 1 invoice", f"{one:,}")
        row("freight payment: 10 invoices", f"{ten:,}")
        row(f"freight payment: {MAX_TAGGED:,} invoices in one registration", f"{thousand:,}")
        row("  per invoice (marginal, 1 -> 1,000)", f"{per_invoice:,.0f}")
        row(
            "  baseline: per document held by a financing (1 -> 20)",
            f"{hold_per_document:,.0f}",
            f"tagging costs {per_invoice / hold_per_document:.2f}x a hold",
        )
        fits = "yes" if thousand <= BLOCK_GAS else "NO"
        row(
            f"  fits a {BLOCK_GAS:,}-gas block",
            fits,
            f"{thousand / BLOCK_GAS:.0%} of it; mined in {batch_time.seconds:.2f} s",
        )
        _sample(bench, firm, teller)


def _gas(platform, request) -> int:  # type: ignore[no-untyped-def]
    gas = platform.sender.estimate(request)
    receipt = platform.sender.transact(replace(request, gas=gas))
    assert receipt.status == 1 and platform.decode(receipt.logs, "PaymentRegistered")
    return int(receipt.gas_used)


def _hold_per_document(bench, firm: str) -> float:  # type: ignore[no-untyped-def]
    """Marginal gas of one more declaration held by a receivables application (1 vs 20)."""
    declarations = [
        Declaration(
            number=f"{510_120_260_000_000_000 + i}",
            export_date=DAY,
            exporter=firm,
            amount=Money("1000.00", "USD"),
        )
        for i in range(22)
    ]
    DocumentRegistry(bench.platform, bench.customs).register_declarations(declarations)
    desk = bench.banks["Bank A"].desk(bench.platform, Stage.APPLY)
    used = []
    for chunk in (declarations[:1], declarations[1:2], declarations[2:22]):
        citations = tuple(Citation(document=d.number, amount=Money("1.00", "USD")) for d in chunk)
        request = desk.apply_request(FinancingApplication(firm=firm, citations=citations))
        used.append(bench.platform.sender.transact(request).gas_used)
    return (used[2] - used[1]) / 19


def _sample(bench, firm: str, teller) -> None:  # type: ignore[no-untyped-def]
    """A real period on chain re-derived from its events, then the draw alone over 100,000."""
    platform = bench.platform
    invoices = _invoices(DocumentType.INVOICE, firm, 100_000, ON_CHAIN_PAYMENTS)
    DocumentRegistry(platform, bench.signers[21]).register(
        DocumentType.INVOICE, invoices, batch_size=500
    )
    regulator = PostReview(platform, bench.signers[0])
    regulator.qualify(firm)
    desk = PaymentDesk(platform, teller, CAPITAL)
    requests = [desk.invoices_request(firm, USD, [d.number], DAY) for d in invoices]
    gas = platform.sender.estimate(requests[0])
    platform.transact_many([replace(r, gas=gas) for r in requests])
    period = regulator.close_period(SAMPLE)
    for _ in range(4):
        platform.rpc.request("evm_mine")
    regulator.draw(period)
    regulator.record_sample(period)
    abi = load_manifest()[CAPITAL.contract]
    with Timer() as chain_time:
        (check,) = check_periods(platform.rpc, platform.deployment, abi)
    assert check.ok
    seed = regulator.period(period).seed
    assert seed is not None
    with Timer() as small:
        derive_sample(seed, 1, 1_000, SAMPLE)
    with Timer() as large:
        derive_sample(seed, 1, 100_000, SAMPLE)
    print("Post-review sample (事后抽查)")
    row(
        f"re-derive from the chain: period of {ON_CHAIN_PAYMENTS} payments",
        f"{chain_time.seconds:.3f} s",
        "events, keccak order, compare",
    )
    row(f"re-derive the first {SAMPLE} of 1,000 payments", f"{small.seconds:.3f} s")
    row(
        f"re-derive the first {SAMPLE} of 100,000 payments",
        f"{large.seconds:.3f} s",
        f"{large.seconds / small.seconds:.0f}x the 1,000 case",
    )


if __name__ == "__main__":
    main()
