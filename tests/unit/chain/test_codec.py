"""The hand-rolled hot-path encoders equal eth_abi, and the packed word matches the contract."""

from __future__ import annotations

import os

from eth_abi.abi import decode, encode
from hypothesis import given
from hypothesis import strategies as st

from crossborder.chain.codec import (
    decode_uint256_array,
    encode_document_row,
    encode_static_array_call,
)
from crossborder.chain.packing import unpack, unpack_hold
from crossborder.domain.codes import DocumentStatus

SELECTOR = bytes.fromhex("12345678")
b32 = st.binary(min_size=32, max_size=32)
row = st.tuples(
    b32,
    b32,
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**16 - 1),
)


@given(st.integers(0, 255), st.lists(row, max_size=20))
def test_register_call_equals_eth_abi(doc_type, rows):
    ours = encode_static_array_call(SELECTOR, [doc_type], [encode_document_row(*r) for r in rows])
    theirs = SELECTOR + encode(
        ["uint8", "(bytes32,bytes32,uint64,uint16,uint16)[]"], [doc_type, rows]
    )
    assert ours == theirs


@given(st.lists(b32, max_size=50))
def test_query_call_equals_eth_abi(fingerprints):
    ours = encode_static_array_call(SELECTOR, [], fingerprints)
    assert ours == SELECTOR + encode(["bytes32[]"], [fingerprints])


@given(st.lists(st.integers(0, 2**256 - 1), max_size=50))
def test_uint_array_decoding_equals_eth_abi(values):
    data = encode(["uint256[]"], [values])
    assert decode_uint256_array(data) == list(decode(["uint256[]"], data)[0])


def test_truncated_return_data_is_refused():
    data = encode(["uint256[]"], [[1, 2, 3]])
    try:
        decode_uint256_array(data[:-32])
    except ValueError:
        return
    raise AssertionError("a truncated array must not decode")


def test_unpack_reads_the_contract_layout():
    word = (
        1_000
        | (400 << 64)
        | (840 << 128)
        | (3 << 144)
        | (20_000 << 160)
        | (1_700_000_000 << 176)
        | (int.from_bytes(os.urandom(6), "big") << 208)
    )
    doc = unpack(word)
    assert (doc.face, doc.held, doc.currency, doc.registrar) == (1_000, 400, 840, 3)
    assert (doc.issued_day, doc.since) == (20_000, 1_700_000_000)
    assert doc.status is DocumentStatus.PARTLY_USED
    assert unpack(0).status is DocumentStatus.UNKNOWN
    hold = unpack_hold(7 | (5 << 64) | (0xAB << 248))
    assert (hold.live, hold.consumed, hold.bank_tag[0]) == (7, 5, 0xAB)
    assert unpack(word & ~(((1 << 64) - 1) << 64)).status is DocumentStatus.FREE
    assert (
        unpack((word & ~(((1 << 64) - 1) << 64)) | (1_000 << 64)).status
        is DocumentStatus.FULLY_USED
    )
