"""``crossborder payment`` as an operator runs it, on a real Anvil after the demo: a freight
batch paid once across banks, a tax payment refused before signing, and a capital-account
period sampled, recorded, reviewed and re-checked from the chain."""

from __future__ import annotations

import time

import pytest

from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import dev_signers
from crossborder.demo import FIRMS
from crossborder.domain.codes import DocumentType
from crossborder.domain.money import Money
from crossborder.domain.payments import PaymentDocument
from crossborder.services.documents import DocumentRegistry
from crossborder.services.platform import Platform
from crossborder.settings import Settings

from .test_cli import env, run  # noqa: F401  (the fixture and the runner)

pytestmark = pytest.mark.integration

TELLER_A, TELLER_B, REGULATOR, TAX_BUREAU = "22", "23", "0", 21
FIRM_1, _FIRM_2, FIRM_3 = FIRMS.values()


def _register(
    environment: dict[str, str], kind: DocumentType, numbers: list[str], payer: str
) -> None:
    """The demo's tax bureau registers documents through the SDK."""
    settings = Settings(
        rpc_url=environment["CROSSBORDER_RPC_URL"],
        devnet_dir=environment["CROSSBORDER_DEVNET_DIR"],
    )
    platform = Platform.connect(settings)
    bureau = dev_signers(platform.deployment.chain_id, 30, devnet=True)[TAX_BUREAU]
    docs = [
        PaymentDocument(
            kind=kind, number=n, payer=payer, amount=Money("100", "USD"), issued="2026-11-20"
        )
        for n in numbers
    ]
    DocumentRegistry(platform, bureau).register(kind, docs)


def test_payment_commands(env):  # noqa: F811
    run(env, "devnet", "start")
    try:
        run(env, "deploy")
        run(env, "demo")
        freight = [f"5500190000/{i:08d}" for i in range(1, 4)]
        _register(env, DocumentType.FREIGHT_INVOICE, freight, FIRM_1)
        args = ["payment", "pay", "freight", "--payer", FIRM_1]
        paid = run(
            env, *args, "--invoice", freight[0], "--invoice", freight[1], "--dev-account", TELLER_A
        )
        assert "payment #" in paid.stdout and "USD 200.00" in paid.stdout
        again = run(env, *args, "--invoice", freight[1], "--dev-account", TELLER_B, check=False)
        assert again.returncode == 1 and "already used" in again.stderr
        assert "Traceback" not in again.stdout + again.stderr
        bad = run(
            env,
            "payment",
            "pay",
            "tax",
            "--payer",
            FIRM_1,
            "--filing",
            "nope",
            "--amount",
            "1",
            "--dev-account",
            TELLER_A,
            check=False,
        )
        assert bad.returncode == 1 and "SERIAL/CHECK" in bad.stderr
        nobody = run(env, *args, "--invoice", freight[2], check=False)
        assert nobody.returncode == 1 and "--keystore PATH or --dev-account N" in nobody.stderr

        invoices = [f"5600190000/{i:08d}" for i in range(1, 5)]
        _register(env, DocumentType.INVOICE, invoices, FIRM_3)
        capital = ["payment", "pay", "capital", "--payer", FIRM_3, "--dev-account", TELLER_A]
        for number in invoices:
            run(env, *capital, "--invoice", number)
        closed = run(
            env, "payment", "close-period", "--sample-size", "2", "--dev-account", REGULATOR
        )
        assert "period 2" in closed.stdout  # the demo closed period 1
        rpc = RpcClient(env["CROSSBORDER_RPC_URL"])
        target = rpc.block_number() + 5
        while rpc.block_number() < target:  # 0.2 s blocks
            time.sleep(0.2)
        assert "seed 0x" in run(env, "payment", "draw", "2", "--dev-account", TELLER_B).stdout
        sample = run(env, "payment", "record-sample", "2", "--dev-account", REGULATOR).stdout
        first = sample.split("payments ")[1].split(",")[0].strip()
        run(
            env, "payment", "review", first, "--outcome", "noncompliant", "--dev-account", REGULATOR
        )
        checked = run(env, "payment", "check")
        assert checked.stdout.count("ok") >= 2 and "WRONG" not in checked.stdout
    finally:
        run(env, "devnet", "stop")
