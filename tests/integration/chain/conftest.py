"""A real Anvil mining each transaction as it arrives, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = Devnet(tmp_path_factory.mktemp("anvil"), port=free_port(), block_time=None)
    devnet.start()
    yield devnet
    devnet.stop()


@pytest.fixture
def rpc(node: Devnet) -> Iterator[RpcClient]:
    client = RpcClient(node.url)
    yield client
    client.close()
