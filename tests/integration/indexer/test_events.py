"""The one event decoder (``chain.abi``) against eth_abi on every log of the story, in both of
its forms (the indexer's hex and the SDK's bytes), and what becomes of events the indexer cannot
project: nothing the chain said is silently lost."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_abi.abi import decode
from sqlalchemy import select

from crossborder.chain.abi import ContractAbi, canonical_type, json_value
from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes
from crossborder.indexer import schema as s
from crossborder.indexer.events import EventCatalog
from crossborder.indexer.projections import RAW_ONLY, all_projections, projected_events

from .conftest import dump, index
from .world import World


def _logs(world: World) -> list[dict[str, Any]]:
    addresses = list(world.deployment.contracts.values())
    logs: list[dict[str, Any]] = world.rpc.request(
        "eth_getLogs", [{"fromBlock": hex(world.deployment.block), "address": addresses}]
    )
    return logs


def _eth_abi(entry: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """What eth_abi decodes from a log."""
    inputs = entry["inputs"]
    plain = [p for p in inputs if not p.get("indexed")]
    values = iter(decode([canonical_type(p) for p in plain], bytes.fromhex(raw["data"][2:])))
    topics = iter(raw["topics"][1:])
    args = {}
    for p in inputs:
        if p.get("indexed"):
            (args[p["name"]],) = decode([canonical_type(p)], bytes.fromhex(next(topics)[2:]))
        else:
            args[p["name"]] = next(values)
    return args


def test_every_log_decodes_as_eth_abi_decodes_it(world: World) -> None:
    """The indexer's catalog (hex words, JSON values) and ``ContractAbi.decode_log`` (bytes,
    eth_abi's values), both the one decoder of ``chain.abi``, give eth_abi's values."""
    contracts = {address: world.abis[name] for name, address in world.deployment.contracts.items()}
    catalog = EventCatalog(contracts)
    by_address = {address.lower(): abi for address, abi in contracts.items()}
    by_topic = {
        (address.lower(), "0x" + abi.event_topic(e["name"]).hex()): e
        for address, abi in contracts.items()
        for e in abi.abi
        if e.get("type") == "event"
    }
    seen: Counter[str] = Counter()
    for raw in _logs(world):
        event = catalog.decode(raw, 0)
        assert event is not None, raw
        entry = by_topic[(raw["address"].lower(), raw["topics"][0])]
        expected = _eth_abi(entry, raw)
        assert event.args == {k: json_value(v) for k, v in expected.items()}, event.name
        topics = [bytes.fromhex(t[2:]) for t in raw["topics"]]
        abi = by_address[raw["address"].lower()]
        decoded = abi.decode_log(topics, bytes.fromhex(raw["data"][2:]))
        assert decoded is not None and decoded.name == event.name
        assert decoded.args == expected, event.name
        seen[event.name] += 1
    assert catalog.unknown == 0
    for name in (
        "RolesUpdated",
        "RolesDefined",
        "ServiceUpdated",
        "ConsentRevoked",
        "DocumentRegistered",
        "DocumentsRegistered",
        "DocumentSkipped",
        "DocumentVoided",
        "FaceCorrected",
        "AmountHeld",
        "AmountReleased",
        "AmountConsumed",
        "HoldsForceReleased",
        "VerificationFailed",
        "DocumentLinked",
        "PolicyRegistered",
        "ShipmentDeclared",
        "CoverConfirmed",
        "AssignmentRequested",
        "ClaimsAssigned",
        "AdvanceRatioSet",
        "LossNotified",
        "ClaimUpdated",
        "ClaimRepayment",
    ):
        assert seen[name], f"the story emits {name}"


def test_every_event_is_projected_or_kept_raw_on_purpose(world: World) -> None:
    """A contract event that no projection folds must be listed as raw-only: a new event is
    never dropped from the reports unnoticed."""
    names = {
        e["name"]
        for name in world.deployment.contracts
        for e in world.abis[name].abi
        if e.get("type") == "event"
    }
    projected = projected_events(all_projections({}))
    assert names - projected - RAW_ONLY == set()
    assert not RAW_ONLY & projected
    assert names >= RAW_ONLY, "RAW_ONLY names an event no contract has"


def _without(abi: ContractAbi, events: set[str]) -> ContractAbi:
    return ContractAbi(
        abi.name,
        [e for e in abi.abi if not (e.get("type") == "event" and e["name"] in events)],
        abi.bytecode,
    )


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_logs_of_unknown_events_are_kept_whole(world: World, tmp_path: Path) -> None:
    """An indexer given older ABIs (without two events) keeps those logs in undecoded_logs and
    says so; the rest of its store is what the full ABIs give, less those events."""
    missing = {"ConsentRevoked", "HoldsForceReleased"}
    abis = {name: _without(abi, missing) for name, abi in world.abis.items()}
    url = f"sqlite:///{tmp_path / 'old-abis.sqlite'}"
    store = Store(url, scenario_codes(world.rpc, world.deployment, world.abis))
    indexer = Indexer(world.rpc, world.deployment, abis, store, IndexerConfig())
    collect = Collect()
    logger = logging.getLogger("crossborder.indexer")
    logger.addHandler(collect)
    try:
        indexer.run()
    finally:
        logger.removeHandler(collect)
    on_chain = [
        raw
        for raw in _logs(world)
        if raw["topics"][0]
        in {
            "0x" + world.abis[name].event_topic(event).hex()
            for name in ("Consortium", "DocumentLedger")
            for event in missing
            if event in {e.get("name") for e in world.abis[name].abi}
        }
    ]
    assert on_chain, "the story emits the events the old ABIs lack"
    with store.engine.connect() as conn:
        kept = conn.execute(select(s.undecoded_logs)).all()
    assert indexer.undecoded_logs == store.undecoded_count() == len(on_chain)
    assert sorted((r.block_number, r.log_index) for r in kept) == sorted(
        (int(r["blockNumber"], 16), int(r["logIndex"], 16)) for r in on_chain
    )
    for row, raw in zip(
        sorted(kept, key=lambda r: (r.block_number, r.log_index)),
        sorted(on_chain, key=lambda r: (int(r["blockNumber"], 16), int(r["logIndex"], 16))),
        strict=True,
    ):
        assert row.topics.split() == [t.lower() for t in raw["topics"]]
        assert row.data == raw["data"].lower()
    assert any("match no known event" in m for m in collect.messages), collect.messages
    store.close()

    full = f"sqlite:///{tmp_path / 'full.sqlite'}"
    index(world, full).close()
    old, new = dump(url), dump(full)
    assert old["undecoded_logs"] and not new["undecoded_logs"]
    assert len(old["raw_events"]) + len(old["undecoded_logs"]) == len(new["raw_events"])
    assert old["documents"] == new["documents"] and old["holds"] == new["holds"]
    assert not old["force_releases"] and new["force_releases"]
