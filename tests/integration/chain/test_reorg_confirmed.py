"""``send_confirmed`` across a reorganisation, on a real Anvil with the platform deployed: the
registration's block is replaced (``anvil_rollback`` and an empty block) right after it was seen
mined; the same signed bytes are re-sent and the documents are registered once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.demo import FIRMS, onboard
from crossborder.domain.models import Declaration
from crossborder.domain.money import Money
from crossborder.services.documents import DocumentRegistry, Screening
from crossborder.services.platform import Platform

pytestmark = pytest.mark.integration

ACCOUNTS = 40
KEY = b"reorg-test-consortium-key"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Devnet, Platform, Any]]:
    folder = tmp_path_factory.mktemp("anvil")
    devnet = Devnet(folder, port=free_port(), block_time=None, accounts=ACCOUNTS)
    devnet.start()
    signers = devnet.signers(ACCOUNTS)
    platform = Platform.deploy(RpcClient(devnet.url), signers[0], Path(folder) / "d.json", KEY)
    platform.sender.receipts.recheck = 0.3
    yield devnet, platform, onboard(platform, signers).customs
    devnet.stop()


def declarations(first: int, count: int) -> list[Declaration]:
    return [
        Declaration(
            number=f"{430_120_260_000_000_000 + first + i}",
            export_date=dt.date(2026, 6, 1),
            exporter=next(iter(FIRMS.values())),
            amount=Money(amount=Decimal("100.00"), currency="USD"),
        )
        for i in range(count)
    ]


def reorganised_after_mined(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Once, right after a wait saw the transactions mined, replace their latest block."""
    sender, rpc = platform.sender, platform.rpc
    original: Callable[..., dict[str, int]] = sender.wait_mined
    replaced: list[int] = []

    def wait_then_reorganise(*args: Any, **kwargs: Any) -> dict[str, int]:
        mined = original(*args, **kwargs)
        if not replaced:
            replaced.append(rpc.block_number())
            rpc.request("anvil_rollback", [1])  # drops the block and its transactions
            rpc.request("evm_mine")  # another block at that height, without them
        return mined

    monkeypatch.setattr(sender, "wait_mined", wait_then_reorganise)
    return replaced


def test_a_registration_dropped_by_a_reorg_is_resent_and_registered_once(
    world: tuple[Devnet, Platform, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, platform, customs = world
    docs = declarations(0, 5)
    replaced = reorganised_after_mined(platform, monkeypatch)
    result = DocumentRegistry(platform, customs).register_declarations(docs)
    assert replaced  # the reorganisation happened after the batch was seen mined
    assert platform.sender.receipts.resent >= 1
    assert not result.skipped
    infos = Screening(platform).declarations([d.number for d in docs])
    assert all(info.face is not None for info in infos)
    again = DocumentRegistry(platform, customs).register_declarations(docs)
    assert len(again.skipped) == len(docs)  # registered once: now all already there
