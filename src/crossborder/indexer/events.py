"""Decoding the platform's logs straight from the node's JSON, one precomputed plan per topic.

Every platform event has only static arguments (bytes32, address, uintN, bool), whose ABI
encoding is one 32-byte word each: a plan per topic slices the hex words out of the JSON and
converts them, about ten times faster than turning the hex into bytes and running eth_abi's
decoders. An event with a dynamic argument falls back to eth_abi (``ContractAbi.decode_log``).
``tests/integration/indexer/test_events.py`` proves the plans give eth_abi's values. A log no
plan decodes (an event newer than the ABIs) is returned whole as ``Undecoded``, for the store to
keep.

Decoded values are what the store keeps in JSON: ``0x`` lowercase hex for bytes and addresses,
int for integers, bool for bools.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from eth_utils.crypto import keccak

from ..chain.abi import ContractAbi, canonical_type

Value = int | str | bool
Convert = Callable[[str], Value]


class Event(NamedTuple):
    """One decoded platform event, as the indexer stores and folds it."""

    block_number: int
    log_index: int
    block_hash: str
    block_time: int
    tx_hash: str
    address: str
    name: str
    topic1: str | None
    args: dict[str, Any]


class Undecoded(NamedTuple):
    """A log of a platform contract that no known event decodes: kept whole, never dropped."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    address: str
    topics: tuple[str, ...]
    data: str


def _uint(word: str) -> int:
    return int(word, 16)


def _int(word: str) -> int:
    # intN words are sign-extended to 256 bits.
    value = int(word, 16)
    return value - (1 << 256) if value >> 255 else value


def _address(word: str) -> str:
    return "0x" + word[24:].lower()


def _bool(word: str) -> bool:
    return int(word, 16) != 0


def _bytes32(word: str) -> str:
    return "0x" + word.lower()


def _bytes_n(size: int) -> Convert:
    return lambda word: "0x" + word[: 2 * size].lower()


def _converter(kind: str) -> Convert | None:
    """The word converter of a static ABI type, or None when the type is not one word."""
    if kind.startswith("uint"):
        return _uint
    if kind.startswith("int"):
        return _int
    if kind == "address":
        return _address
    if kind == "bool":
        return _bool
    if kind == "bytes32":
        return _bytes32
    if kind.startswith("bytes") and kind[5:].isdigit():
        return _bytes_n(int(kind[5:]))
    return None


def normalise(value: Any) -> Any:
    """An eth_abi value in the store's JSON form."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class EventPlan:
    """How to decode one event: each argument's name, where its word is, and its converter.

    Attributes:
        name: The event's name.
        topic_count: Topics its logs carry (the signature's and one per indexed argument).
        fields: ``(argument, in_topics, word index, converter)`` in declaration order.
        abi: The contract's ABI, for the eth_abi fallback when ``fields`` is empty.
    """

    name: str
    topic_count: int
    fields: tuple[tuple[str, bool, int, Convert], ...]
    abi: ContractAbi | None

    def decode(self, topics: Sequence[str], data: str) -> dict[str, Any]:
        if self.abi is not None:
            decoded = self.abi.decode_log(
                [bytes.fromhex(t[2:]) for t in topics], bytes.fromhex(data[2:])
            )
            if decoded is None:
                raise ValueError(f"log does not decode as {self.name}")
            return {k: normalise(v) for k, v in decoded.args.items()}
        args: dict[str, Any] = {}
        for name, in_topics, index, convert in self.fields:
            if in_topics:
                args[name] = convert(topics[index][2:])
            else:
                start = 2 + 64 * index
                args[name] = convert(data[start : start + 64])
        return args


def plan_event(entry: Mapping[str, Any], abi: ContractAbi) -> tuple[bytes, EventPlan]:
    """The topic and the decoding plan of one ABI event entry."""
    inputs = entry["inputs"]
    types = [canonical_type(p) for p in inputs]
    topic = keccak(text=f"{entry['name']}({','.join(types)})")
    converters = [_converter(t) for t in types]
    indexed = [bool(p.get("indexed")) for p in inputs]
    topic_count = 1 + sum(indexed)
    if any(c is None for c in converters):
        return topic, EventPlan(entry["name"], topic_count, (), abi)
    fields = []
    topic_at, word_at = 1, 0
    for p, is_indexed, convert in zip(inputs, indexed, converters, strict=True):
        assert convert is not None
        if is_indexed:
            fields.append((p["name"], True, topic_at, convert))
            topic_at += 1
        else:
            fields.append((p["name"], False, word_at, convert))
            word_at += 1
    return topic, EventPlan(entry["name"], topic_count, tuple(fields), None)


class EventCatalog:
    """The decoding plans of every event of the platform's contracts, by address and topic.

    Args:
        contracts: Address to the ABI of the contract deployed there.
    """

    def __init__(self, contracts: Mapping[str, ContractAbi]) -> None:
        self._plans: dict[str, dict[str, EventPlan]] = {}
        for address, abi in contracts.items():
            self.add(address, abi)
        self.unknown = 0

    def add(self, address: str, abi: ContractAbi | None) -> None:
        """Read this contract's logs too; with no ABI, every log of it is kept undecoded."""
        plans: dict[str, EventPlan] = {}
        if abi is not None:
            for entry in abi.abi:
                if entry.get("type") == "event" and not entry.get("anonymous"):
                    topic, plan = plan_event(entry, abi)
                    plans["0x" + topic.hex()] = plan
        self._plans[address.lower()] = plans

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and address.lower() in self._plans

    @property
    def addresses(self) -> list[str]:
        """The contract addresses, lowercase."""
        return list(self._plans)

    def decode(self, raw: Mapping[str, Any], block_time: int) -> Event | None:
        """One ``eth_getLogs`` log object, decoded; None (and counted) if it is no known event."""
        topics: list[str] = raw["topics"]
        address = raw["address"].lower()
        plan = self._plans.get(address, {}).get(topics[0].lower()) if topics else None
        if plan is None or len(topics) != plan.topic_count:
            self.unknown += 1
            return None
        try:
            args = plan.decode(topics, raw["data"])
        except (ValueError, IndexError, TypeError):  # not the shape its topic promises
            self.unknown += 1
            return None
        return Event(
            int(raw["blockNumber"], 16),
            int(raw["logIndex"], 16),
            raw["blockHash"].lower(),
            block_time,
            raw["transactionHash"].lower(),
            address,
            plan.name,
            topics[1].lower() if len(topics) > 1 else None,
            args,
        )

    def decode_range(
        self, logs: Iterable[Mapping[str, Any]], times: Mapping[int, int]
    ) -> tuple[list[Event], list[Undecoded]]:
        """Decode logs in order, with each block's time; the logs no known event decodes are
        returned apart, whole."""
        events: list[Event] = []
        undecoded: list[Undecoded] = []
        for raw in logs:
            event = self.decode(raw, times[int(raw["blockNumber"], 16)])
            if event is not None:
                events.append(event)
            else:
                undecoded.append(
                    Undecoded(
                        int(raw["blockNumber"], 16),
                        int(raw["logIndex"], 16),
                        raw["blockHash"].lower(),
                        raw["transactionHash"].lower(),
                        raw["address"].lower(),
                        tuple(t.lower() for t in raw["topics"]),
                        raw["data"].lower(),
                    )
                )
        return events, undecoded

    def decode_all(
        self, logs: Iterable[Mapping[str, Any]], times: Mapping[int, int]
    ) -> list[Event]:
        """Decode logs in order, with each block's time; unknown logs are counted, not returned
        (``decode_range`` returns them)."""
        return self.decode_range(logs, times)[0]
