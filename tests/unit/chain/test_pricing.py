"""Gas pricing without a node: the policy, the fee arithmetic, and that no price feeds back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes

from crossborder.chain.pricing import (
    DEFAULT_TIP,
    GWEI,
    Fees,
    GasPolicy,
    GasPricer,
    eip1559_fees,
)
from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import LocalSigner
from crossborder.errors import GasPriceUnavailable, InvalidInput


class FakeNode(RpcClient):
    """Answers the two fee questions a node can be asked; records every method called.

    Its ``eth_gasPrice`` grows ×1.25 each time it is asked, like Anvil's under a sender that
    pays its own suggestion plus a margin: a pricer that listened to it would run away.
    """

    def __init__(self, base_fees: Sequence[int | None]) -> None:
        super().__init__("http://fake.invalid")
        self.base_fees = list(base_fees)
        self.calls: list[str] = []
        self.gas_price = 4 * GWEI

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        self.calls.append(method)
        if method == "eth_gasPrice":
            self.gas_price = self.gas_price * 5 // 4
            return hex(self.gas_price)
        if method == "eth_getBlockByNumber":
            base = self.base_fees.pop(0) if len(self.base_fees) > 1 else self.base_fees[0]
            block: dict[str, str] = {"number": "0x1"}
            if base is not None:
                block["baseFeePerGas"] = hex(base)
            return block
        raise AssertionError(f"unexpected call {method}")


# -- the policy -------------------------------------------------------------------------------


def test_policy_defaults_to_eip1559_with_a_fixed_tip() -> None:
    policy = GasPolicy()
    assert (policy.mode, policy.tip, policy.price, policy.max_fee) == (
        "eip1559",
        DEFAULT_TIP,
        None,
        None,
    )
    assert GasPolicy.fixed(7) == GasPolicy(mode="fixed", price=7)
    assert GasPolicy.free().mode == "free"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "fixed"}, "needs a price"),
        ({"mode": "eip1559", "price": 5}, "only used in the fixed mode"),
        ({"mode": "free", "price": 0}, "only used in the fixed mode"),
        ({"tip": -1}, "whole number of wei"),
        ({"max_fee": 1.5}, "whole number of wei"),
        ({"mode": "auction"}, "unknown gas price mode"),
    ],
)
def test_inconsistent_policies_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        GasPolicy(**kwargs)


# -- the arithmetic ---------------------------------------------------------------------------


def test_eip1559_offer_is_twice_the_base_fee_plus_the_tip() -> None:
    fees = eip1559_fees(10 * GWEI, GWEI)
    assert fees == Fees(max_fee=21 * GWEI, tip=GWEI, base_fee=10 * GWEI)
    assert fees.fields() == {"type": 2, "maxFeePerGas": 21 * GWEI, "maxPriorityFeePerGas": GWEI}
    # Paid in a block: that block's base fee plus the tip, never more than the offer.
    assert fees.effective(10 * GWEI) == 11 * GWEI
    assert fees.effective(8 * GWEI) == 9 * GWEI
    assert fees.effective(30 * GWEI) == 21 * GWEI
    assert eip1559_fees(0, GWEI) == Fees(GWEI, GWEI, 0)


def test_a_cap_bounds_the_offer_and_refuses_a_base_fee_above_it() -> None:
    assert eip1559_fees(10 * GWEI, GWEI, cap=15 * GWEI).max_fee == 15 * GWEI
    assert eip1559_fees(10 * GWEI, GWEI, cap=100 * GWEI).max_fee == 21 * GWEI
    # A cap below the tip: the tip may not exceed the offer (nodes refuse that).
    assert eip1559_fees(0, GWEI, cap=GWEI // 2) == Fees(GWEI // 2, GWEI // 2, 0)
    with pytest.raises(GasPriceUnavailable, match="above the configured cap"):
        eip1559_fees(10 * GWEI, GWEI, cap=9 * GWEI)


def test_legacy_fees() -> None:
    fees = Fees(3 * GWEI)
    assert fees.legacy and fees.fields() == {"gasPrice": 3 * GWEI}
    assert fees.effective(10**12) == 3 * GWEI
    assert not eip1559_fees(1, 1).legacy


def test_type_2_transactions_sign_with_eth_account() -> None:
    """eth-account needs type, chainId, maxFeePerGas and maxPriorityFeePerGas; no accessList."""
    signer = LocalSigner(Account.create())
    fees = eip1559_fees(3 * GWEI, GWEI)
    tx = {"nonce": 0, "gas": 21_000, "value": 1, "data": b"", "chainId": 31337}
    raw = signer.sign(tx | {"to": bytes(20)} | fees.fields())
    assert raw[0] == 2
    decoded = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    assert (decoded["maxFeePerGas"], decoded["maxPriorityFeePerGas"]) == (7 * GWEI, GWEI)
    assert decoded["chainId"] == 31337 and decoded["accessList"] == ()
    assert Account.recover_transaction(raw) == signer.address
    legacy = signer.sign(tx | {"to": bytes(20)} | Fees(0).fields())
    assert legacy[0] >= 0xC0  # an RLP list: a legacy transaction


# -- the pricer -------------------------------------------------------------------------------


def test_the_price_follows_the_base_fee_and_never_asks_for_eth_gas_price() -> None:
    node = FakeNode([GWEI, GWEI, GWEI, 2 * GWEI, 0])
    pricer = GasPricer(node, GasPolicy(), ttl=0)
    offers = [pricer.fees() for _ in range(5)]
    assert [f.max_fee for f in offers] == [3 * GWEI, 3 * GWEI, 3 * GWEI, 5 * GWEI, GWEI]
    assert {f.tip for f in offers} == {DEFAULT_TIP}
    assert "eth_gasPrice" not in node.calls


def test_the_price_does_not_depend_on_earlier_prices() -> None:
    """Same base fee, same offer: whatever was offered (or paid) before, and however the
    node's own gas price suggestion moved meanwhile."""
    node = FakeNode([GWEI])
    pricer = GasPricer(node, GasPolicy(tip=2 * GWEI), ttl=0)
    first = pricer.fees()
    for _ in range(50):
        node.request("eth_gasPrice")  # the suggestion runs away (×1.25 each time) ...
        assert pricer.fees() == first  # ... the offer does not
    assert node.gas_price > 1000 * first.max_fee


def test_the_base_fee_is_read_once_per_ttl() -> None:
    node = FakeNode([GWEI])
    pricer = GasPricer(node, GasPolicy(), ttl=60)
    for _ in range(10):
        pricer.fees()
    assert node.calls == ["eth_getBlockByNumber"]


def test_a_fixed_price_asks_the_node_nothing() -> None:
    node = FakeNode([GWEI])
    assert GasPricer(node, GasPolicy.fixed(5 * GWEI)).fees() == Fees(5 * GWEI)
    assert node.calls == []


@pytest.mark.parametrize("base", [0, None], ids=["zero-base-fee", "no-base-fee"])
def test_free_mode_prices_zero_on_a_gas_free_chain(base: int | None) -> None:
    assert GasPricer(FakeNode([base]), GasPolicy.free()).fees() == Fees(0, None, base)


def test_free_mode_refuses_a_chain_that_charges_a_base_fee() -> None:
    with pytest.raises(GasPriceUnavailable, match="charges a base fee"):
        GasPricer(FakeNode([7]), GasPolicy.free()).fees()


def test_eip1559_mode_refuses_a_chain_without_a_base_fee() -> None:
    with pytest.raises(GasPriceUnavailable, match="no EIP-1559 base fee"):
        GasPricer(FakeNode([None]), GasPolicy()).fees()
