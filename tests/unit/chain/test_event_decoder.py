"""The one event-log decoder (``chain.abi``) equals eth_abi in both of its forms: bytes in and
eth_abi's values out (``ContractAbi.decode_log``), JSON-RPC hex in and the same values in JSON
form out (the indexer's ``EventCatalog``)."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode, encode
from hypothesis import given, settings
from hypothesis import strategies as st

from crossborder.chain.abi import (
    HEX_WORDS,
    RAW_WORDS,
    ContractAbi,
    canonical_type,
    json_value,
    topic_decoder,
    word_decoder,
)
from crossborder.indexer.events import EventCatalog

WORD_TYPES = (
    [f"uint{n}" for n in range(8, 257, 8)]
    + [f"int{n}" for n in range(8, 257, 8)]
    + [f"bytes{n}" for n in range(1, 33)]
    + ["address", "bool"]
)
PAIR = [{"name": "kind", "type": "uint8"}, {"name": "who", "type": "address"}]
OTHER_TYPES = ["string", "bytes", "uint256[]", "bytes32[2]", "tuple[]"]


def values_of(kind: str) -> st.SearchStrategy[Any]:
    if kind == "uint256[]":
        return st.lists(st.integers(0, 2**256 - 1), max_size=4)
    if kind == "bytes32[2]":
        return st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=2)
    if kind == "(uint8,address)[]":
        return st.lists(st.tuples(values_of("uint8"), values_of("address")), max_size=3)
    if kind.startswith("uint"):
        return st.integers(0, 2 ** int(kind[4:]) - 1)
    if kind.startswith("int"):
        bits = int(kind[3:])
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if kind.startswith("bytes") and kind[5:].isdigit():
        size = int(kind[5:])
        return st.binary(min_size=size, max_size=size)
    if kind == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if kind == "bool":
        return st.booleans()
    if kind == "string":
        return st.text(max_size=40)
    assert kind == "bytes", kind
    return st.binary(max_size=70)


typed_words = st.sampled_from(WORD_TYPES).flatmap(
    lambda kind: st.tuples(st.just(kind), values_of(kind))
)


@given(typed_words)
def test_each_word_type_decodes_as_eth_abi_in_both_forms(typed: tuple[str, Any]) -> None:
    kind, value = typed
    word = encode([kind], [value])
    (expected,) = decode([kind], word)
    raw, hex_ = word_decoder(kind, RAW_WORDS), word_decoder(kind, HEX_WORDS)
    assert raw is not None and hex_ is not None
    assert raw(word) == expected
    assert hex_(word.hex()) == hex_(word.hex().upper()) == json_value(expected)
    assert topic_decoder(kind, RAW_WORDS)(word) == expected
    assert topic_decoder(kind, HEX_WORDS)(word.hex()) == json_value(expected)


def test_only_one_word_types_have_word_decoders() -> None:
    for kind in ("string", "bytes", "uint256[]", "bytes32[2]", "(uint8,address)", "fixed128x18"):
        assert word_decoder(kind, RAW_WORDS) is None
        assert word_decoder(kind, HEX_WORDS) is None


def param(name: str, kind: str, indexed: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "type": kind, "indexed": indexed}
    if kind == "tuple[]":
        entry["components"] = PAIR
    return entry


@st.composite
def logs(draw: st.DrawFn) -> tuple[dict[str, Any], list[bytes], bytes, dict[str, Any]]:
    """An event entry, a log of it (topics, data) and the arguments eth_abi decodes from it."""
    kinds = draw(st.lists(st.sampled_from(WORD_TYPES + OTHER_TYPES), max_size=6))
    indexed = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    while sum(indexed) > 3:
        indexed[indexed.index(True)] = False
    inputs = [param(f"a{i}", k, x) for i, (k, x) in enumerate(zip(kinds, indexed, strict=True))]
    entry = {"type": "event", "name": "Logged", "inputs": inputs, "anonymous": False}
    topic = ContractAbi("Example", [entry]).event_topic("Logged")
    topics, plain_types, plain_values, expected = [topic], [], [], {}
    for p in inputs:
        kind = canonical_type(p)
        value = draw(values_of(kind))
        if not p["indexed"]:
            plain_types.append(kind)
            plain_values.append(value)
        elif kind in WORD_TYPES:
            topics.append(encode([kind], [value]))
            (expected[p["name"]],) = decode([kind], topics[-1])
        else:  # stored as its hash: any 32 bytes, kept as they are
            topics.append(draw(st.binary(min_size=32, max_size=32)))
            expected[p["name"]] = topics[-1]
    data = encode(plain_types, plain_values)
    values = iter(decode(plain_types, data))
    for p in inputs:
        if not p["indexed"]:
            expected[p["name"]] = next(values)
    return entry, topics, data, {p["name"]: expected[p["name"]] for p in inputs}


def raw_log(address: str, topics: list[bytes], data: bytes) -> dict[str, Any]:
    return {
        "address": address,
        "topics": ["0x" + t.hex() for t in topics],
        "data": "0x" + data.hex(),
        "blockNumber": "0x7",
        "logIndex": "0x0",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
    }


@settings(max_examples=300)
@given(logs())
def test_logs_decode_as_eth_abi_in_both_forms(
    case: tuple[dict[str, Any], list[bytes], bytes, dict[str, Any]],
) -> None:
    entry, topics, data, expected = case
    abi = ContractAbi("Example", [entry])
    decoded = abi.decode_log(topics, data)
    assert decoded is not None and decoded.name == "Logged"
    assert decoded.args == expected
    (event,) = abi.events
    assert event.decoder(HEX_WORDS).decode(["0x" + t.hex() for t in topics], "0x" + data.hex()) == {
        k: json_value(v) for k, v in expected.items()
    }
    address = "0x" + "12" * 20
    catalog = EventCatalog({address: abi})
    indexed = catalog.decode(raw_log(address.upper(), topics, data), 0)
    assert indexed is not None and indexed.name == "Logged"
    assert indexed.args == {k: json_value(v) for k, v in expected.items()}
    assert catalog.unknown == 0


@given(logs())
def test_logs_that_do_not_fit_the_event_decode_to_nothing(
    case: tuple[dict[str, Any], list[bytes], bytes, dict[str, Any]],
) -> None:
    entry, topics, data, _ = case
    abi = ContractAbi("Example", [entry])
    address = "0x" + "12" * 20
    catalog = EventCatalog({address: abi})
    (event,) = abi.events
    hex_decoder = event.decoder(HEX_WORDS)
    bad = [([*topics, bytes(32)], data)]  # another indexing of the same signature
    if data and all(canonical_type(p) in WORD_TYPES for p in entry["inputs"]):
        # Short data (dynamic data is eth_abi's to check: ape's plugin pads short uints).
        bad.append((topics, data[:-1]))
    for wrong_topics, wrong_data in bad:
        assert abi.decode_log(wrong_topics, wrong_data) is None
        hex_topics = ["0x" + t.hex() for t in wrong_topics]
        assert hex_decoder.decode(hex_topics, "0x" + wrong_data.hex()) is None
        assert catalog.decode(raw_log(address, wrong_topics, wrong_data), 0) is None
    assert catalog.unknown == len(bad)


def test_a_log_that_is_not_hex_is_counted_not_raised() -> None:
    entry = {
        "type": "event",
        "name": "Held",
        "inputs": [param("id", "uint256", True), param("amount", "uint256", False)],
    }
    abi = ContractAbi("Example", [entry])
    address = "0x" + "12" * 20
    catalog = EventCatalog({address: abi})
    log = raw_log(address, [abi.event_topic("Held"), bytes(32)], bytes(32))
    assert catalog.decode(log, 0) is not None
    assert catalog.decode(dict(log, data="0x" + "zz" * 32), 0) is None
    assert catalog.decode(dict(log, topics=[log["topics"][0], "0xnothex"]), 0) is None
    assert catalog.unknown == 2


def test_every_shipped_event_has_one_layout_for_both_forms() -> None:
    """Both forms are compiled from the same layout, cached per form."""
    from crossborder.chain.abi import load_manifest, shipped_build_file

    for abi in load_manifest(shipped_build_file()).values():
        for event in abi.events:
            raw, hex_ = event.decoder(RAW_WORDS), event.decoder(HEX_WORDS)
            assert raw is event.decoder(RAW_WORDS) and hex_ is event.decoder(HEX_WORDS)
            assert raw.name == hex_.name == event.name
            assert raw.topic_count == hex_.topic_count == event.topic_count
