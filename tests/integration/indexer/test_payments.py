"""Payment facilitation indexed: payments, invoices tagged in batches (the documents' held
amounts follow the batch event), qualified firms, post-review periods, samples and reviews; the
reports (utilisation per filing, tagged invoices per bank, sample coverage and outcomes) against
what the story did; a reorg through a tagging batch gives the fresh index again."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crossborder.chain.signers import dev_signers
from crossborder.domain.codes import DocumentType, Reason, Scenario
from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes
from crossborder.indexer import schema as s
from crossborder.indexer.runner import Step
from crossborder.reports import REPORTS, Filters, Scope

from .conftest import dump, fresh_store_url, index
from .world import (
    CAPITAL_PAYMENT,
    CHAIN_ID,
    FREIGHT_PAYMENT,
    TAX_PAYMENT,
    PaymentStory,
    World,
    payment_story,
    start_world,
)


@pytest.fixture(scope="module")
def paid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, PaymentStory]]:
    world = start_world(tmp_path_factory.mktemp("payments-world"))
    tax = dev_signers(CHAIN_ID, 30)[29]
    out = payment_story(world, random.Random(20261201), tax)
    yield world, out
    world.stop()


@pytest.fixture
def store(paid, store_kind: str, tmp_path: Path) -> Iterator[Store]:
    world, _ = paid
    indexed = index(world, fresh_store_url(store_kind, tmp_path))
    yield indexed
    indexed.close()


def _address(world: World, contract: str) -> str:
    return world.deployment.contracts[contract].lower()


def test_payments_and_tags_are_projected(paid, store) -> None:
    world, out = paid
    with store.engine.connect() as conn:
        payments = conn.execute(select(s.payments)).all()
        tags = conn.execute(select(s.invoice_tags)).all()
        invoices = conn.execute(
            select(s.documents).where(
                s.documents.c.doc_type.in_(
                    [int(DocumentType.FREIGHT_INVOICE), int(DocumentType.INVOICE)]
                )
            )
        ).all()
        filing = conn.execute(
            select(s.documents).where(s.documents.c.fingerprint == "0x" + out.filing.hex())
        ).one()
        attempts = conn.execute(
            select(s.verification_attempts.c.scenario_address, s.verification_attempts.c.reason)
        ).all()
    assert len(payments) == sum(out.payments.values())
    assert Counter(r.scenario_address for r in payments) == Counter(
        {_address(world, c): n for c, n in _per_contract(out).items()}
    )
    assert len(tags) == sum(out.tagged.values()) == len({(t.doc_type, t.fingerprint) for t in tags})
    # Every invoice the story registered was tagged once: held = face, with the tagging time.
    tagged = {(t.doc_type, t.fingerprint) for t in tags}
    for row in invoices:
        if (row.doc_type, row.fingerprint) in tagged:
            assert row.held == row.face and row.held_since is not None
        else:
            assert row.held == 0 and row.held_since is None
    assert (filing.face, filing.held) == (out.filed, out.filed)
    failed = Counter((a.scenario_address, a.reason) for a in attempts)
    assert failed == Counter((_address(world, c), r) for c, _, r in out.failures)
    assert {r for _, _, r in out.failures} == {
        Reason.OVER_FINANCED,
        Reason.WRONG_OWNER,
        Reason.DUPLICATE,
    }


def _per_contract(out: PaymentStory) -> Counter[str]:
    per: Counter[str] = Counter()
    for (contract, _), n in out.payments.items():
        per[contract] += n
    return per


def test_periods_samples_and_reviews_are_projected(paid, store) -> None:
    world, out = paid
    with store.engine.connect() as conn:
        periods = conn.execute(select(s.review_periods).order_by(s.review_periods.c.period)).all()
        sampled = conn.execute(
            select(s.sampled_payments).order_by(
                s.sampled_payments.c.period, s.sampled_payments.c.position
            )
        ).all()
        reviews = conn.execute(select(s.payment_reviews)).all()
        qualified = conn.execute(select(func.count()).select_from(s.qualified_firms)).scalar()
    assert [p.period for p in periods] == sorted(out.samples)
    for p in periods:
        on_chain = world.view(CAPITAL_PAYMENT, "period", p.period)[0]
        assert (p.first_payment, p.last_payment, p.sample_size, p.seed_block) == tuple(on_chain[:4])
        assert p.seed == "0x" + bytes(on_chain[4]).hex()
        assert (p.sampled, p.reviewed) == (on_chain[5], on_chain[6])
        mine = [r for r in out.reviews if r in out.samples[p.period]]
        assert p.noncompliant == sum(out.reviews[r] == 2 for r in mine)
    assert {
        period: [r.payment_id for r in sampled if r.period == period] for period in out.samples
    } == out.samples
    assert {r.payment_id: r.outcome for r in reviews} == out.reviews
    assert qualified == 1


def _reports(store: Store, scope: Scope) -> dict[str, list[dict[str, object]]]:
    names = ("filing-utilisation", "invoice-tags", "post-review")
    with store.engine.connect() as conn:
        return {n: REPORTS[n](conn, scope, Filters(), str).rows for n in names}


def test_reports_follow_the_story(paid, store) -> None:
    world, out = paid
    reports = _reports(store, Scope())
    filing = reports["filing-utilisation"]
    assert {r["bank"]: r["paid"] for r in filing} == {
        bank: Decimal(units) / 100 for bank, units in out.paid.items()
    }
    assert {(r["filed"], r["paid_all"], r["left"], r["utilisation"]) for r in filing} == {
        (Decimal(1000), Decimal(1000), Decimal(0), Decimal("100.00"))
    }
    tagged: Counter[str] = Counter()
    for row in reports["invoice-tags"]:
        tagged[str(row["bank"])] += int(row["invoices"])  # type: ignore[call-overload]
    assert tagged == Counter(out.tagged)
    review = reports["post-review"]
    assert [r["sampled"] for r in review] == [len(out.samples[p]) for p in sorted(out.samples)]
    for row in review:
        sample = out.samples[int(row["period"])]  # type: ignore[call-overload]
        done = [p for p in sample if p in out.reviews]
        assert row["reviewed"] == len(done)
        assert row["coverage"] == (Decimal(100) * len(done) / len(sample)).quantize(Decimal("0.01"))

    # A bank statistician sees its own payments only, and no post-review rows.
    head = world.banks[0].head
    mine = _reports(store, Scope(bank=head))
    assert {r["bank"] for r in mine["filing-utilisation"]} <= {head}
    assert {r["bank"] for r in mine["invoice-tags"]} <= {head}
    assert sum(int(r["invoices"]) for r in mine["invoice-tags"]) == out.tagged.get(head, 0)  # type: ignore[call-overload]
    assert mine["post-review"] == []


def test_the_post_review_report_filters_by_closing_day_and_scenario(paid, store) -> None:
    """Periods are selected by the China Standard Time day they closed on and by scenario; a
    period samples every bank's payments in every currency, so a currency or bank filter keeps
    every period (one set of filters runs every report)."""
    with store.engine.connect() as conn:
        closed = {
            int(r.period): dt.datetime.fromtimestamp(int(r.closed_at), s.REPORTING_TZ).date()
            for r in conn.execute(select(s.review_periods))
        }

        def periods(**filters: object) -> list[int]:
            rows = REPORTS["post-review"](conn, Scope(), Filters(**filters), str).rows  # type: ignore[arg-type]
            return [int(r["period"]) for r in rows]  # type: ignore[call-overload]

        assert closed and periods() == sorted(closed)
        first, last = min(closed.values()), max(closed.values())
        assert periods(date_from=first, date_to=last) == sorted(closed)
        assert periods(date_to=first - dt.timedelta(days=1)) == []
        assert periods(date_from=last + dt.timedelta(days=1)) == []
        assert periods(date_from=last) == sorted(p for p, day in closed.items() if day >= last)
        assert periods(scenario=int(Scenario.CAPITAL_PAYMENT)) == sorted(closed)
        assert periods(scenario=int(Scenario.RECEIVABLES)) == []
        assert periods(currency=840) == periods(bank="0x" + "00" * 32) == sorted(closed)


def test_a_reorg_through_a_tagging_batch_gives_the_fresh_index(paid, tmp_path: Path) -> None:
    world, out = paid
    url = f"sqlite:///{tmp_path / 'reorg.sqlite'}"
    store = Store(url, scenario_codes(world.rpc, world.deployment, world.abis))
    indexer = Indexer(world.rpc, world.deployment, world.abis, store, IndexerConfig())
    indexer.run()
    snapshot = world.rpc.request("evm_snapshot")
    tax = dev_signers(CHAIN_ID, 30)[29]
    firm = world.firms[0]
    more = _register_invoices(world, tax, firm, 4, 8)
    bank = world.banks[0]
    world.contracts.send(bank.opener, FREIGHT_PAYMENT, "pay", _bytes(firm.id), 840, more, 20_500)
    indexer.run()
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.invoice_tags)).scalar() == (
            sum(out.tagged.values()) + 8
        )
    assert world.rpc.request("evm_revert", [snapshot]) is True
    # Other blocks: the same invoices paid by another bank in two batches, and a tax failure.
    other = world.banks[-1]
    for batch in (more[:3], more[3:]):
        world.contracts.send(other.opener, FREIGHT_PAYMENT, "pay", _bytes(firm.id), 840, batch, 1)
    world.contracts.send(other.opener, TAX_PAYMENT, "pay", out.filing, _bytes(firm.id), 840, 1, 1)
    assert indexer.step() is Step.ROLLED_BACK
    indexer.run()
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    index(world, fresh).close()
    assert dump(url) == dump(fresh)
    store.close()


def _bytes(hex_id: str) -> bytes:
    return bytes.fromhex(hex_id[2:])


def _register_invoices(world: World, tax, firm, series: int, n: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    from .world import FREIGHT_INVOICE, _payment_documents

    return _payment_documents(world, tax, FREIGHT_INVOICE, series, firm, n, 900)
