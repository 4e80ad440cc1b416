"""Decoding the platform's logs straight from the node's JSON, one decoder per address and topic.

The decoders are ``chain.abi``'s, the same that ``ContractAbi.decode_log`` uses, compiled for
the ``HEX_WORDS`` form: each word is sliced out of the log's hex and converted directly, without
turning the hex into bytes (an event with a dynamic argument goes through eth_abi).
``tests/integration/indexer/test_events.py`` proves they give eth_abi's values on every log of
the story. A log no decoder decodes (an event newer than the ABIs) is returned whole as
``Undecoded``, for the store to keep.

Decoded values are what the store keeps in JSON: ``0x`` lowercase hex for bytes and addresses,
int for integers, bool for bools (``abi.json_value`` of eth_abi's values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ..chain.abi import HEX_WORDS, ContractAbi, EventDecoder


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


class EventCatalog:
    """The decoders of every event of the platform's contracts, by address and topic.

    Args:
        contracts: Address to the ABI of the contract deployed there.
    """

    def __init__(self, contracts: Mapping[str, ContractAbi]) -> None:
        self._decoders: dict[str, dict[str, EventDecoder]] = {}
        for address, abi in contracts.items():
            self.add(address, abi)
        self.unknown = 0

    def add(self, address: str, abi: ContractAbi | None) -> None:
        """Read this contract's logs too; with no ABI, every log of it is kept undecoded."""
        decoders: dict[str, EventDecoder] = {}
        if abi is not None:
            for event in abi.events:
                decoders["0x" + event.topic.hex()] = event.decoder(HEX_WORDS)
        self._decoders[address.lower()] = decoders

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and address.lower() in self._decoders

    @property
    def addresses(self) -> list[str]:
        """The contract addresses, lowercase."""
        return list(self._decoders)

    def decode(self, raw: Mapping[str, Any], block_time: int) -> Event | None:
        """One ``eth_getLogs`` log object, decoded; None (and counted) if it is no known event."""
        topics: list[str] = raw["topics"]
        address = raw["address"].lower()
        decoder = self._decoders.get(address, {}).get(topics[0].lower()) if topics else None
        try:
            args = None if decoder is None else decoder.decode(topics, raw["data"])
        except (ValueError, IndexError, TypeError):  # not the shape its topic promises
            args = None
        if args is None:
            self.unknown += 1
            return None
        assert decoder is not None
        return Event(
            int(raw["blockNumber"], 16),
            int(raw["logIndex"], 16),
            raw["blockHash"].lower(),
            block_time,
            raw["transactionHash"].lower(),
            address,
            decoder.name,
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
