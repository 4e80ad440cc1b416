"""Hand-rolled ABI encoding for the hot paths: bulk registration and bulk screening.

eth_abi is exact but spends microseconds per value; these calls move hundreds of thousands of
static words, whose ABI layout is fixed. ``tests/unit/chain/test_codec.py`` proves each function
equals eth_abi's encoding and decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

_WORD = 32


def _u(value: int) -> bytes:
    return value.to_bytes(_WORD, "big")


def encode_static_array_call(selector: bytes, head: Sequence[int], rows: Sequence[bytes]) -> bytes:
    """``f(uintN..., T[])`` where each row of ``T`` is already its static ABI encoding.

    Args:
        selector: The 4-byte function selector.
        head: The static integer arguments before the array.
        rows: Each element of the dynamic array, encoded (a multiple of 32 bytes each).
    """
    offset = _WORD * (len(head) + 1)
    parts = [selector, *(_u(v) for v in head), _u(offset), _u(len(rows)), *rows]
    return b"".join(parts)


def encode_document_row(
    fingerprint: bytes, owner: bytes, face: int, currency: int, issued: int
) -> bytes:
    """One ``DocumentInput`` struct (bytes32, bytes32, uint64, uint16, uint16)."""
    return fingerprint + owner + _u(face) + _u(currency) + _u(issued)


def decode_uint256_array(data: bytes) -> list[int]:
    """The return data of a function returning one ``uint256[]``."""
    length = int.from_bytes(data[_WORD : 2 * _WORD], "big")
    start = 2 * _WORD
    end = start + length * _WORD
    if len(data) < end:
        raise ValueError("return data shorter than its array length")
    return [int.from_bytes(data[i : i + _WORD], "big") for i in range(start, end, _WORD)]
