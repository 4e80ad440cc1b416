"""After the demo, no plaintext declaration, policy or waybill number, buyer code or USCC appears in
any calldata or log."""

from __future__ import annotations

import pytest

from crossborder.chain.sender import TxRequest
from crossborder.demo import (
    BANKS,
    CUSTOMS_USCC,
    FIRMS,
    INSURER_USCC,
    LOGISTICS_USCC,
    REGULATOR_USCC,
    TAX_USCC,
)

from .conftest import DemoChain

pytestmark = pytest.mark.integration


def encodings(identifier: str) -> list[bytes]:
    """How a careless client might put an identifier on chain."""
    forms = [
        identifier.encode(),
        identifier.encode("utf-16-be"),
        identifier.encode().hex().encode(),
    ]
    if identifier.isdigit():
        forms.append(int(identifier).to_bytes(32, "big"))
        forms.append(int(identifier).to_bytes(8, "big"))
    return forms


def plaintext_found(rpc, identifiers: list[str]) -> list[str]:
    """Identifiers found in any transaction's calldata or any log of the chain."""
    blobs: list[bytes] = []
    for number in range(rpc.block_number() + 1):
        block = rpc.request("eth_getBlockByNumber", [hex(number), True])
        blobs += [bytes.fromhex(tx["input"][2:]) for tx in block["transactions"]]
    blobs += [b"".join(log.topics) + log.data for log in rpc.get_logs(from_block=0)]
    haystack = b"\n".join(blobs)
    return [i for i in identifiers if any(form in haystack for form in encodings(i))]


def test_demo_leaves_no_plaintext_identifier_on_chain(demo_chain: DemoChain) -> None:
    platform, story, signers = demo_chain.platform, demo_chain.story, demo_chain.signers
    identifiers = [
        REGULATOR_USCC,
        CUSTOMS_USCC,
        INSURER_USCC,
        LOGISTICS_USCC,
        TAX_USCC,
        *BANKS.values(),
        *FIRMS.values(),
        *story.declarations,
        *story.references,
    ]
    # Policy, buyer and waybill numbers; the tax filing, 3 freight invoices and 6 invoices.
    assert len(story.declarations) >= 4 and len(story.references) == 3 + 1 + 3 + 6
    assert plaintext_found(platform.rpc, identifiers) == []

    # The scan does find a plaintext identifier when one is there (a plain transfer carrying
    # it: nothing the linkage attack on this chain reads).
    leak = story.declarations[0]
    platform.sender.transact(
        TxRequest(signer=signers[29], to=signers[28].address, data=leak.encode(), gas=100_000)
    )
    assert plaintext_found(platform.rpc, identifiers) == [leak]
