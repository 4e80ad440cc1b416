"""``crossborder payment``: payment facilitation (便利化类) at the bank and the regulator.

A bank's payment verification operator (付汇核验) pays under a tax filing or against a batch of
invoices; the regulator qualifies firms for capital-account facilitation, closes periods and
records the post-review sample (事后抽查) and its outcomes; anyone draws a period's seed and
re-checks every sample from the chain alone.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from ..chain.signers import LocalSigner, Signer, dev_signers
from ..domain.codes import ReviewOutcome
from ..domain.money import Money, currency
from ..domain.payments import PAYMENT_SPECS, TAX
from ..errors import InvalidInput
from .common import console, friendly

if TYPE_CHECKING:
    from ..services.platform import Platform

SPECS = {spec.name: spec for spec in PAYMENT_SPECS}
OUTCOMES = {"compliant": ReviewOutcome.COMPLIANT, "noncompliant": ReviewOutcome.NONCOMPLIANT}

keystore_option = click.option(
    "--keystore", type=click.Path(path_type=Path, exists=True), help="the acting account's key"
)
dev_option = click.option(
    "--dev-account",
    type=click.IntRange(0, 29),
    help="a devnet account instead of a keystore (the demo: 0 regulator, 22/23 banks' tellers)",
)


def _signer(platform: Platform, keystore: Path | None, dev_account: int | None) -> Signer:
    if (keystore is None) == (dev_account is None):
        raise InvalidInput("give the acting account: --keystore PATH or --dev-account N")
    if keystore is not None:
        return LocalSigner.from_keystore(keystore)
    assert dev_account is not None
    return dev_signers(platform.deployment.chain_id, dev_account + 1)[dev_account]


def _platform() -> Platform:
    from ..services.platform import Platform

    return Platform.connect()


@click.group()
def payment() -> None:
    """便利化类: tax-filing e-verification, freight invoices, capital-account payments."""


@payment.command("pay")
@click.argument("scenario", type=click.Choice(sorted(SPECS)))
@click.option("--payer", required=True, help="the paying firm's USCC")
@click.option("--currency", "code", default="USD", show_default=True)
@click.option("--value-date", type=click.DateTime(["%Y-%m-%d"]), help="default: today")
@click.option("--filing", help="tax: the filing's SERIAL/CHECK")
@click.option("--amount", help="tax: the amount paid, in major units (e.g. 1250.00)")
@click.option("--invoice", "invoices", multiple=True, help="freight, capital: CODE/NUMBER")
@click.option(
    "--invoices-file",
    type=click.Path(path_type=Path, exists=True),
    help="freight, capital: one invoice a line",
)
@keystore_option
@dev_option
@friendly
def pay_cmd(
    scenario: str,
    payer: str,
    code: str,
    value_date: dt.datetime | None,
    filing: str | None,
    amount: str | None,
    invoices: tuple[str, ...],
    invoices_file: Path | None,
    keystore: Path | None,
    dev_account: int | None,
) -> None:
    """付汇核验: verify and register one payment (a refusal is recorded on chain and said)."""
    from ..services.payments import PaymentDesk

    spec = SPECS[scenario]
    day = value_date.date() if value_date else dt.date.today()
    money_currency = currency(code)
    platform = _platform()
    desk = PaymentDesk(platform, _signer(platform, keystore, dev_account), spec)
    if spec == TAX:
        if filing is None or amount is None or invoices or invoices_file:
            raise InvalidInput("a tax payment takes --filing and --amount, no invoices")
        try:
            paid = Money(Decimal(amount), money_currency)
        except InvalidOperation:
            raise InvalidInput(f"amount {amount!r} is not a number") from None
        payment_id = desk.pay_filing(filing, payer, paid, day)
    else:
        numbers = list(invoices)
        if invoices_file is not None:
            numbers += [n.strip() for n in invoices_file.read_text().splitlines() if n.strip()]
        if filing is not None or amount is not None:
            raise InvalidInput(f"a {spec.name} payment takes invoices, not a filing or an amount")
        payment_id = desk.pay_invoices(payer, money_currency, numbers, day)
    record = desk.payment(payment_id)
    console.print(
        f"{spec.label}: payment #{payment_id} registered, {record.amount} "
        f"against {record.documents} document(s)"
    )


@payment.command("qualify")
@click.argument("firm")
@click.option("--revoke", is_flag=True, help="withdraw the qualification")
@keystore_option
@dev_option
@friendly
def qualify_cmd(firm: str, revoke: bool, keystore: Path | None, dev_account: int | None) -> None:
    """The regulator marks a firm qualified for capital-account payment facilitation."""
    from ..services.payments import PostReview

    platform = _platform()
    PostReview(platform, _signer(platform, keystore, dev_account)).qualify(firm, not revoke)
    console.print(f"{firm}: {'not ' if revoke else ''}qualified")


@payment.command("close-period")
@click.option("--sample-size", type=click.IntRange(1, 500), required=True)
@keystore_option
@dev_option
@friendly
def close_cmd(sample_size: int, keystore: Path | None, dev_account: int | None) -> None:
    """The regulator closes the capital-account payments since the last period."""
    from ..services.payments import PostReview

    platform = _platform()
    review = PostReview(platform, _signer(platform, keystore, dev_account))
    number = review.close_period(sample_size)
    period = review.period(number)
    console.print(
        f"period {number}: payments {period.first}..{period.last}; its seed is the hash of "
        f"block {period.seed_block} (draw once it is mined)"
    )


@payment.command("draw")
@click.argument("period", type=click.IntRange(1))
@keystore_option
@dev_option
@friendly
def draw_cmd(period: int, keystore: Path | None, dev_account: int | None) -> None:
    """Anyone records a closed period's seed (the named block's hash)."""
    from ..services.payments import PostReview

    platform = _platform()
    seed = PostReview(platform, _signer(platform, keystore, dev_account)).draw(period)
    if seed is None:
        console.print(f"period {period}: the seed block left the EVM's window; a new one is named")
    else:
        console.print(f"period {period}: seed 0x{seed.hex()}")


@payment.command("record-sample")
@click.argument("period", type=click.IntRange(1))
@keystore_option
@dev_option
@friendly
def sample_cmd(period: int, keystore: Path | None, dev_account: int | None) -> None:
    """The regulator records the period's sample, derived from its seed."""
    from ..services.payments import PostReview

    platform = _platform()
    sample = PostReview(platform, _signer(platform, keystore, dev_account)).record_sample(period)
    console.print(f"period {period}: sample recorded: payments {', '.join(map(str, sample))}")


@payment.command("review")
@click.argument("payment_id", type=click.IntRange(1))
@click.option("--outcome", type=click.Choice(sorted(OUTCOMES)), required=True)
@keystore_option
@dev_option
@friendly
def review_cmd(
    payment_id: int, outcome: str, keystore: Path | None, dev_account: int | None
) -> None:
    """The regulator records a sampled payment's post-review outcome."""
    from ..services.payments import PostReview

    platform = _platform()
    PostReview(platform, _signer(platform, keystore, dev_account)).record_review(
        payment_id, OUTCOMES[outcome]
    )
    console.print(f"payment {payment_id}: {outcome}")


@payment.command("check")
@friendly
def check_cmd() -> None:
    """Re-derives every recorded sample from the chain alone; exits 1 if one is not the draw's."""
    from ..domain.payments import CAPITAL
    from ..services.payments import check_periods

    platform = _platform()
    checks = check_periods(platform.rpc, platform.deployment, platform.abis[CAPITAL.contract])
    table = Table(title="事后抽查 post-review samples, re-derived from the chain")
    for column in ("period", "sample of the draw", "recorded", "verdict"):
        table.add_column(column)
    for check in checks:
        verdict = "not recorded yet" if not check.recorded else "ok" if check.ok else "WRONG"
        table.add_row(
            str(check.period),
            " ".join(map(str, check.expected)),
            " ".join(map(str, check.recorded)),
            verdict,
            style="red" if verdict == "WRONG" else None,
        )
    console.print(table)
    if not all(check.ok for check in checks):
        sys.exit(1)
