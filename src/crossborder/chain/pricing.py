"""Gas pricing: what each transaction offers per unit of gas.

The price comes from the chain's base fee plus a fixed tip (EIP-1559), from a configured legacy
price, or is zero on a gas-free network: never from ``eth_gasPrice`` and never from what the SDK
paid before. Anvil answers ``eth_gasPrice`` with the base fee plus the smallest tip of the last
block, so a sender pricing at ``eth_gasPrice`` plus a margin raises its own next price with every
refresh (×1.25 per refresh: 3.7 gwei to 3,690 gwei in two minutes of steady traffic, then
"insufficient funds"). The base fee depends only on how full the blocks are, not on tips.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from ..errors import GasPriceUnavailable, InvalidInput
from .rpc import RpcClient

GasMode = Literal["eip1559", "fixed", "free"]
GAS_MODES: tuple[str, ...] = get_args(GasMode)

GWEI = 10**9
DEFAULT_TIP = 1 * GWEI  # Anvil's and Geth's suggested priority fee
# maxFeePerGas = BASE_FEE_MULTIPLIER × base fee + tip: room for six full blocks in a row
# (+12.5 % each) before a signed transaction would be priced out.
BASE_FEE_MULTIPLIER = 2
BASE_FEE_TTL = 1.0  # seconds a base fee reading is reused


@dataclass(frozen=True, slots=True)
class GasPolicy:
    """How transactions are priced.

    Attributes:
        mode: ``"eip1559"``: type-2 transactions, ``maxFeePerGas = 2 × base fee + tip`` and
            ``maxPriorityFeePerGas = tip``, so each pays the base fee of its block plus the tip;
            ``"fixed"``: legacy transactions at ``price``; ``"free"``: legacy transactions at a
            gas price of 0, for permissioned networks without gas fees (refused, before
            signing, on a chain that charges a base fee).
        tip: Wei per gas offered to the block producer (``eip1559``).
        price: Wei per gas of a legacy transaction (``fixed``; required there).
        max_fee: An upper bound on ``maxFeePerGas`` (``eip1559``); a base fee above it refuses
            to price (``GasPriceUnavailable``) rather than pay it.
    """

    mode: GasMode = "eip1559"
    tip: int = DEFAULT_TIP
    price: int | None = None
    max_fee: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in GAS_MODES:
            raise InvalidInput(f"unknown gas price mode {self.mode!r}: one of {GAS_MODES}")
        for name in ("tip", "price", "max_fee"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInput(f"the gas {name} must be a whole number of wei, not {value!r}")
        if self.mode == "fixed" and self.price is None:
            raise InvalidInput("the fixed gas price mode needs a price (CROSSBORDER_GAS_PRICE)")
        if self.mode != "fixed" and self.price is not None:
            raise InvalidInput(f"a gas price is only used in the fixed mode, not {self.mode!r}")

    @classmethod
    def fixed(cls, price: int) -> GasPolicy:
        """Legacy transactions at one configured price (wei per gas)."""
        return cls(mode="fixed", price=price)

    @classmethod
    def free(cls) -> GasPolicy:
        """Legacy transactions at a gas price of 0 (gas-free permissioned networks)."""
        return cls(mode="free")


@dataclass(frozen=True, slots=True)
class Fees:
    """What one transaction offers per unit of gas.

    Attributes:
        max_fee: ``maxFeePerGas`` of a type-2 transaction, or the ``gasPrice`` of a legacy one.
        tip: ``maxPriorityFeePerGas``; None for a legacy transaction.
        base_fee: The base fee the offer was computed from, if any.
        block: The number of the block that base fee was read from: a transaction priced by
            it is mined in a later block (where a wait starts reading). Not part of the offer.
    """

    max_fee: int
    tip: int | None = None
    base_fee: int | None = None
    block: int | None = field(default=None, compare=False)

    @property
    def legacy(self) -> bool:
        """Whether this is a legacy (type-0) price."""
        return self.tip is None

    def fields(self) -> dict[str, Any]:
        """The fee fields of an eth-account transaction dict."""
        if self.tip is None:
            return {"gasPrice": self.max_fee}
        return {"type": 2, "maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.tip}

    def effective(self, base_fee: int) -> int:
        """The price per gas paid in a block of ``base_fee``."""
        if self.tip is None:
            return self.max_fee
        return min(self.max_fee, base_fee + self.tip)


class GasPricer:
    """Prices transactions under a ``GasPolicy``, safe to share between threads.

    Only the base fee is read from the node (``eth_getBlockByNumber``, reused for
    ``BASE_FEE_TTL`` seconds); a price never depends on an earlier price.

    Args:
        rpc: The node.
        policy: How to price.
        ttl: Seconds a base fee reading is reused.
    """

    def __init__(self, rpc: RpcClient, policy: GasPolicy, ttl: float = BASE_FEE_TTL) -> None:
        self.rpc = rpc
        self.policy = policy
        self.ttl = ttl
        self._lock = threading.Lock()
        self._reading: tuple[float, int | None, int | None] | None = None

    def fees(self) -> Fees:
        """The fees of the next transactions.

        Raises:
            GasPriceUnavailable: The policy does not fit the chain (nothing should be signed).
            ChainUnavailable: The node could not be reached.
        """
        policy = self.policy
        if policy.mode == "fixed":
            assert policy.price is not None  # checked by GasPolicy
            return Fees(policy.price)
        base, block = self._read()
        if policy.mode == "free":
            if base:
                raise GasPriceUnavailable(
                    f"the chain charges a base fee of {base} wei per gas: the gas-free mode only "
                    "works on a gas-free network (set CROSSBORDER_GAS_PRICE_MODE=eip1559)"
                )
            return Fees(0, base_fee=base, block=block)
        if base is None:
            raise GasPriceUnavailable(
                "the chain has no EIP-1559 base fee (no baseFeePerGas in its blocks): set "
                "CROSSBORDER_GAS_PRICE_MODE=fixed with CROSSBORDER_GAS_PRICE, or =free on a "
                "gas-free network"
            )
        return replace(eip1559_fees(base, policy.tip, policy.max_fee), block=block)

    def base_fee(self) -> int | None:
        """The base fee of the latest block (None on a chain without one), briefly cached."""
        return self._read()[0]

    def _read(self) -> tuple[int | None, int | None]:
        """The latest block's base fee and number, briefly cached."""
        with self._lock:
            now = time.monotonic()
            if self._reading is None or now - self._reading[0] > self.ttl:
                block = self.rpc.request("eth_getBlockByNumber", ["latest", False])
                raw = block.get("baseFeePerGas") if block else None
                number = int(block["number"], 16) if block else None
                self._reading = (now, None if raw is None else int(raw, 16), number)
            return self._reading[1], self._reading[2]


def eip1559_fees(base_fee: int, tip: int, cap: int | None = None) -> Fees:
    """``maxFeePerGas = 2 × base fee + tip`` (at most ``cap``), ``maxPriorityFeePerGas = tip``.

    Raises:
        GasPriceUnavailable: The base fee is above ``cap``.
    """
    max_fee = BASE_FEE_MULTIPLIER * base_fee + tip
    if cap is not None:
        if base_fee > cap:
            raise GasPriceUnavailable(
                f"the base fee ({base_fee} wei per gas) is above the configured cap "
                f"CROSSBORDER_GAS_MAX_FEE ({cap} wei): not sending"
            )
        max_fee = min(max_fee, cap)
    return Fees(max_fee, min(tip, max_fee), base_fee)
