"""Fixtures: one consortium story on Anvil, and the stores to index it into.

The PostgreSQL half runs when ``CROSSBORDER_TEST_PG_URL`` names a reachable server
(``scripts/postgres.sh`` starts one); otherwise it is skipped, said in one line at the end.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes
from crossborder.indexer import schema as s
from crossborder.indexer.store import make_engine

from .world import World, start_world, story

PG_ENV = "CROSSBORDER_TEST_PG_URL"


def _pg_problem() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return f"{PG_ENV} is unset (scripts/postgres.sh starts a server and prints its URL)"
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as error:
        return f"PostgreSQL at {PG_ENV} is unreachable: {str(error.orig).splitlines()[0]}"
    return None


PG_PROBLEM = _pg_problem()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if PG_PROBLEM is not None:
        terminalreporter.write_line(f"indexer: PostgreSQL half skipped: {PG_PROBLEM}")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = start_world(tmp_path_factory.mktemp("indexer-world"))
    story(w, random.Random(20250301), steps=260)
    yield w
    w.stop()


def fresh_store_url(kind: str, tmp_path: Path, name: str = "index") -> str:
    """An empty store of the given kind."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.sqlite')}"
    if PG_PROBLEM is not None:
        pytest.skip(f"PostgreSQL half skipped: {PG_PROBLEM}")
    url = os.environ[PG_ENV]
    store = Store(url)
    store.drop()
    store.close()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def index(world: World, url: str, **config: Any) -> Store:
    """Index the world's chain into the store at ``url`` until caught up."""
    store = Store(url, scenario_codes(world.rpc, world.deployment, world.abis))
    Indexer(world.rpc, world.deployment, world.abis, store, IndexerConfig(**config)).run()
    return store


DUMPED = (s.raw_events, s.undecoded_logs, s.anomalies, s.discovered_contracts, *s.PROJECTION_TABLES)


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the raw events and the projections, in primary-key order."""
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in DUMPED:
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    engine.dispose()
    return out
