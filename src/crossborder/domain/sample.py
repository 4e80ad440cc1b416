"""The capital-account post-review sample (事后抽查), re-derived from the chain's record alone.

The sample of a period is the first ``k`` payments of the period (ids ``first..last``) ordered
by ``keccak256(seed ‖ payment id)``, both as 32-byte big-endian words; the seed is the hash of
the block the contract named when the period closed (``CapitalPayment.draw``). Anyone holding
the ``PeriodClosed``, ``SeedDrawn`` and ``SampleRecorded`` events can recompute it.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from eth_hash.auto import keccak


def sample_key(seed: bytes, payment_id: int) -> bytes:
    """``keccak256(seed ‖ payment id)``, as ``CapitalPayment.sample_key`` computes it."""
    return keccak(seed + payment_id.to_bytes(32, "big"))


def derive_sample(seed: bytes, first: int, last: int, size: int) -> list[int]:
    """The first ``size`` payment ids of ``first..last`` by ``sample_key``, in that order."""
    if len(seed) != 32:
        raise ValueError("the seed is a 32-byte block hash")
    return [
        pid
        for _, pid in heapq.nsmallest(
            size, ((sample_key(seed, pid), pid) for pid in range(first, last + 1))
        )
    ]


@dataclass(frozen=True)
class SampleCheck:
    """The outcome of re-deriving one period's sample.

    Attributes:
        period: The period.
        expected: The sample the draw gives.
        recorded: The sample recorded on chain (empty when none is recorded yet).
    """

    period: int
    expected: tuple[int, ...]
    recorded: tuple[int, ...]

    @property
    def ok(self) -> bool:
        """True when the recorded sample is the draw's (a period without one is not wrong)."""
        return not self.recorded or self.recorded == self.expected

    @property
    def missing(self) -> tuple[int, ...]:
        """Payments the draw samples that the record leaves out."""
        return tuple(p for p in self.expected if p not in set(self.recorded))

    @property
    def extra(self) -> tuple[int, ...]:
        """Payments the record samples that the draw does not."""
        return tuple(p for p in self.recorded if p not in set(self.expected))


def check_sample(
    period: int, seed: bytes, first: int, last: int, size: int, recorded: Sequence[int]
) -> SampleCheck:
    """Re-derives a period's sample and compares it with the one recorded on chain."""
    expected = derive_sample(seed, first, last, size)
    return SampleCheck(period, tuple(expected), tuple(recorded))
