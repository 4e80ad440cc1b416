"""Real reorgs on Anvil: blocks with platform events replaced by others; after catching up,
every projection equals a fresh index of the new chain."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes
from crossborder.indexer import schema as s
from crossborder.indexer.runner import Step

from .conftest import dump, fresh_store_url, index
from .world import World, restore, save, start_world, story


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = start_world(tmp_path_factory.mktemp("indexer-reorg"))
    story(w, random.Random(7), steps=60)
    yield w
    w.stop()


def _indexer(world: World, store: Store, **config: int) -> Indexer:
    return Indexer(world.rpc, world.deployment, world.abis, store, IndexerConfig(**config))


def _fresh(world: World, tmp_path: Path, name: str) -> dict[str, list[tuple[object, ...]]]:
    url = f"sqlite:///{tmp_path / (name + '.sqlite')}"
    index(world, url).close()
    return dump(url)


def test_snapshot_revert_replaces_blocks_with_other_events(
    chain: World, store_kind: str, tmp_path: Path
) -> None:
    url = fresh_store_url(store_kind, tmp_path)
    store = Store(url, scenario_codes(chain.rpc, chain.deployment, chain.abis))
    indexer = _indexer(chain, store, initial_range=16)
    indexer.run()
    before = store.event_count()

    snapshot = chain.rpc.request("evm_snapshot")
    saved = save(chain)
    story(chain, random.Random(store_kind + "a"), steps=30, declarations=3)
    indexer.run()
    orphaned = dump(url)["raw_events"]
    assert store.event_count() > before

    assert chain.rpc.request("evm_revert", [snapshot]) is True
    restore(chain, saved)
    story(chain, random.Random(store_kind + "b"), steps=45, declarations=4)
    assert indexer.step() is Step.ROLLED_BACK
    indexer.run()

    assert dump(url) == _fresh(chain, tmp_path, "fresh")
    hashes_now = {r[2] for r in dump(url)["raw_events"]}
    assert {r[2] for r in orphaned} - hashes_now, "the reorg replaced blocks with events"
    store.close()


def test_anvil_reorg_drops_blocks_with_events(
    chain: World, store_kind: str, tmp_path: Path
) -> None:
    url = fresh_store_url(store_kind, tmp_path)
    store = Store(url, scenario_codes(chain.rpc, chain.deployment, chain.abis))
    indexer = _indexer(chain, store)
    snapshot = chain.rpc.request("evm_snapshot")
    saved = save(chain)
    story(chain, random.Random(store_kind + "c"), steps=20, declarations=3)
    indexer.run()
    head = chain.rpc.block_number()
    with store.engine.connect() as conn:
        last_events = conn.execute(
            s.raw_events.select().where(s.raw_events.c.block_number > head - 8)
        ).all()
    assert last_events, "the blocks to reorg hold platform events"

    assert chain.rpc.request("anvil_reorg", [8, []]) is None
    assert chain.rpc.block_number() == head
    indexer.run()
    fresh = _fresh(chain, tmp_path, "fresh")
    assert dump(url) == fresh
    assert not [r for r in fresh["raw_events"] if r[0] > head - 8]
    store.close()
    # The chain now differs from the story's bookkeeping: rewind both for the next test.
    assert chain.rpc.request("evm_revert", [snapshot]) is True
    restore(chain, saved)


def test_confirmations_hold_back_the_last_blocks(chain: World, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.sqlite'}")
    _indexer(chain, store, confirmations=3).run()
    checkpoint = store.checkpoint()
    assert checkpoint is not None
    assert checkpoint.block_number == chain.rpc.block_number() - 3
    store.close()
