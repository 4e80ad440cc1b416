"""Scenario contracts the regulator authorises after the deployment: the indexer follows them
without anyone editing the deployment file, one it cannot identify is kept (undecoded) and
said, and nothing it meets stops it."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vyper
from eth_utils.address import to_checksum_address
from sqlalchemy import select
from vyper.compiler.settings import Settings

from crossborder.chain.abi import ContractAbi
from crossborder.chain.deployment import ScenarioDeployment
from crossborder.chain.sender import TxRequest
from crossborder.domain.codes import Scenario, Stage
from crossborder.domain.money import currency
from crossborder.indexer import Indexer, IndexerConfig, Store
from crossborder.indexer import schema as s
from crossborder.indexer.store import Discovered

from .conftest import dump, fresh_store_url
from .world import EXPORT, LEDGER, RECEIVABLES, World, start_world, story

# A contract the ledger accepts as a scenario (wired to it and its consortium), compiled here
# and so unknown to the indexer's ABIs: its own event cannot be decoded.
PING = """# pragma version ~=0.4.3
LEDGER: public(immutable(address))
CONSORTIUM: public(immutable(address))

event Ping:
    n: indexed(uint256)

@deploy
def __init__(consortium: address, ledger: address):
    CONSORTIUM = consortium
    LEDGER = ledger

@external
def ping(n: uint256):
    log Ping(n=n)
"""


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Later:
    """What the regulator authorised after the deployment, and what was done with it."""

    def __init__(self) -> None:
        self.second = ""  # a second ReceivablesFinancing
        self.ping = ""
        self.blocks: dict[str, int] = {}
        self.applied = 0
        self.failed = 0
        self.pings = 0
        self.before = 0  # the last block before any of it


def _create(world: World, data: bytes) -> str:
    receipt = world.contracts.sender.transact(TxRequest(signer=world.regulator, to=None, data=data))
    assert receipt.contract_address
    return to_checksum_address(receipt.contract_address)


def _send(world: World, signer: Any, to: str, data: bytes) -> Any:
    receipt = world.contracts.sender.transact(TxRequest(signer=signer, to=to, data=data))
    assert receipt.status == 1
    return receipt


def _authorise(world: World, address: str) -> int:
    receipt = world.admin(LEDGER, "set_scenario", address, True)
    return int(receipt.block_number)


def _later(world: World) -> Later:
    later = Later()
    later.before = world.rpc.block_number()
    abi = world.abis[RECEIVABLES]
    consortium, ledger = world.deployment.consortium, world.deployment.ledger
    later.second = _create(world, abi.encode_constructor(consortium, ledger))
    later.blocks[later.second.lower()] = _authorise(world, later.second)
    # Banks apply through the second contract: one passes, one fails verification.
    bank = world.banks[0]
    free = [(n, u) for n, u in world.left.items() if u > 10]
    number, left = free[0]
    d = world.documents[(int(EXPORT), number)]
    for units in (left // 2, left * 10):
        data = abi.encode_call(
            "apply",
            world.fp.participant(d.exporter),
            currency(d.amount.currency.code).numeric,
            [world.fp.declaration(number)],
            [units],
        )
        _send(world, bank.ops[Stage.APPLY], later.second, data)
    later.applied, later.failed = 1, 1
    world.left[number] -= left // 2

    out = vyper.compile_code(
        PING, output_formats=["abi", "bytecode"], settings=Settings(evm_version="paris")
    )
    ping = ContractAbi("Ping", out["abi"], bytes.fromhex(out["bytecode"][2:]))
    later.ping = _create(world, ping.encode_constructor(consortium, ledger))
    _send(world, world.regulator, later.ping, ping.encode_call("ping", 1))  # before: not read
    later.blocks[later.ping.lower()] = _authorise(world, later.ping)
    for value in (2, 3):
        _send(world, world.regulator, later.ping, ping.encode_call("ping", value))
    later.pings = 2
    return later


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Later, Path]]:
    """A short story, indexed half-way into a store, then the later scenario contracts."""
    w = start_world(tmp_path_factory.mktemp("indexer-scenarios"))
    try:
        story(w, random.Random(11), steps=40)
        half = tmp_path_factory.mktemp("half") / "half.sqlite"
        _run(w, f"sqlite:///{half}")
        later = _later(w)
        story(w, random.Random(12), steps=15, declarations=2)
        yield w, later, half
    finally:
        w.stop()


def _run(world: World, url: str, **config: Any) -> tuple[Indexer, list[str]]:
    store = Store(url)  # no scenario codes given: the indexer reads them
    indexer = Indexer(world.rpc, world.deployment, world.abis, store, IndexerConfig(**config))
    collect = Collect()
    logger = logging.getLogger("crossborder.indexer")
    logger.addHandler(collect)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        indexer.run()
    finally:
        logger.setLevel(previous)
        logger.removeHandler(collect)
        indexer.close()
        store.close()
    return indexer, collect.messages


def _rows(url: str, table: Any) -> list[dict[str, Any]]:
    store = Store(url)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table))]
    store.close()
    return rows


def test_a_scenario_authorised_later_is_indexed_without_editing_anything(
    chain: tuple[World, Later, Path], store_kind: str, tmp_path: Path
) -> None:
    world, later, _ = chain
    assert later.second.lower() not in {a.lower() for a in world.deployment.contracts.values()}
    url = fresh_store_url(store_kind, tmp_path)
    indexer, messages = _run(world, url, initial_range=3, max_range=8)
    second = later.second.lower()

    financings = [r for r in _rows(url, s.financings) if r["scenario_address"] == second]
    assert len(financings) == later.applied
    assert financings[0]["scenario"] == int(Scenario.RECEIVABLES)
    holds = [r for r in _rows(url, s.holds) if r["scenario_address"] == second]
    assert holds and all(h["live"] > 0 for h in holds)
    failures = [
        r
        for r in _rows(url, s.verification_attempts)
        if r["scenario_address"] == second and r["reason"]
    ]
    assert len(failures) == later.failed
    # The ledger's own view of the new scenario's hold agrees.
    (fid,) = [f["financing_id"] for f in financings]
    (hold,) = holds
    live, _consumed, _tag = world.view(
        LEDGER,
        "hold_record",
        later.second,
        fid,
        hold["doc_type"],
        bytes.fromhex(hold["fingerprint"][2:]),
    )
    assert hold["live"] == live

    found = {d.address: d for d in indexer.discovered}
    assert found[second] == Discovered(
        second, RECEIVABLES, int(Scenario.RECEIVABLES), later.blocks[second]
    )
    assert any("authorised scenario contract" in m and second in m for m in messages), messages
    assert not _rows(url, s.anomalies)


def test_an_unidentified_scenario_is_followed_kept_raw_and_said(
    chain: tuple[World, Later, Path], tmp_path: Path
) -> None:
    world, later, _ = chain
    url = f"sqlite:///{tmp_path / 'ping.sqlite'}"
    indexer, messages = _run(world, url)
    ping = later.ping.lower()
    assert {d.address: d.contract for d in indexer.discovered}[ping] is None
    kept = [r for r in _rows(url, s.undecoded_logs) if r["address"] == ping]
    # Its logs from the authorising block on; the ping before it is not platform business.
    assert len(kept) == later.pings == indexer.undecoded_logs
    assert all(r["block_number"] >= later.blocks[ping] for r in kept)
    assert any("no compiled contract matches" in m and ping in m for m in messages), messages
    store = Store(url)
    checkpoint = store.checkpoint()
    store.close()
    assert checkpoint is not None and checkpoint.block_number == world.rpc.block_number()


def test_any_range_split_and_a_restart_give_the_same_rows(
    chain: tuple[World, Later, Path], tmp_path: Path
) -> None:
    """Found in one big range, in tiny ones, or after a restart from a store indexed before the
    authorisation (the half-way store): the same rows, and the restart remembers them."""
    world, later, half = chain
    big = f"sqlite:///{tmp_path / 'big.sqlite'}"
    _run(world, big, initial_range=100_000)
    tiny = f"sqlite:///{tmp_path / 'tiny.sqlite'}"
    _run(world, tiny, initial_range=1, max_range=2)
    resumed = f"sqlite:///{half}"
    assert not _rows(resumed, s.discovered_contracts), "indexed before the authorisations"
    _run(world, resumed, initial_range=2, max_range=4)
    assert dump(big) == dump(tiny) == dump(resumed)
    assert {r["address"] for r in _rows(big, s.discovered_contracts)} == {
        later.second.lower(),
        later.ping.lower(),
    }
    # A restart on a caught-up store reads the found contracts from it, not from the chain.
    indexer, _ = _run(world, resumed)
    assert indexer.discovered == [] and indexer.indexed_events == 0


def test_two_scenarios_of_one_contract_in_the_deployment_file(
    chain: tuple[World, Later, Path], tmp_path: Path
) -> None:
    """A deployment whose scenarios map names the same compiled contract twice: both are read
    from the start (``Deployment.contracts``, keyed by contract name, would keep one)."""
    world, later, _ = chain
    second = later.second.lower()
    scenarios = dict(world.deployment.scenarios)
    scenarios["receivables-2"] = ScenarioDeployment(
        contract=RECEIVABLES, address=later.second, block=later.before
    )
    deployment = world.deployment.model_copy(update={"scenarios": scenarios})
    assert len(deployment.contracts) < (
        len(scenarios) + len(deployment.payments) + len(deployment.services) + 2
    )
    url = f"sqlite:///{tmp_path / 'two.sqlite'}"
    store = Store(url)
    indexer = Indexer(world.rpc, deployment, world.abis, store, IndexerConfig())
    try:
        indexer.run()
    finally:
        indexer.close()
        store.close()
    assert [d.address for d in indexer.discovered] == [later.ping.lower()]
    financings = [r for r in _rows(url, s.financings) if r["scenario_address"] == second]
    assert len(financings) == later.applied
    assert financings[0]["scenario"] == int(Scenario.RECEIVABLES)


def test_a_reorg_that_drops_the_authorisation_forgets_the_contract(
    chain: tuple[World, Later, Path], tmp_path: Path
) -> None:
    world, later, _ = chain
    url = f"sqlite:///{tmp_path / 'reorg.sqlite'}"
    _run(world, url)
    head = world.rpc.block_number()
    depth = head - later.before  # back to before the second contract was deployed
    # The module's last test: the chain is not restored after.
    assert world.rpc.request("anvil_reorg", [depth, []]) is None
    _run(world, url)
    assert not _rows(url, s.discovered_contracts)
    assert not [
        r for r in _rows(url, s.financings) if r["scenario_address"] == later.second.lower()
    ]
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    _run(world, fresh)
    assert dump(url) == dump(fresh)
