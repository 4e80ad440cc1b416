"""One live gateway for the API tests: real Anvil, the demo consortium, uvicorn on loopback.

The gateway holds the devnet's dev keys (``crossborder serve --dev``); each test names the
operator it acts as, and gets a client with that operator's token.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from crossborder.api import Gateway, create_app
from crossborder.api.keyring import Keyring
from crossborder.api.store import GatewayStore
from crossborder.chain.devnet import free_port
from crossborder.chain.idempotency import IdempotencyStore
from crossborder.chain.rpc import RpcClient
from crossborder.chain.sender import TransactionSender
from crossborder.chain.signers import Signer, dev_signers
from crossborder.demo import FIRMS, DemoConsortium, onboard
from crossborder.domain.codes import Stage
from crossborder.domain.models import Declaration
from crossborder.domain.money import Money
from crossborder.indexer import Indexer, IndexerConfig, Store, scenario_codes
from crossborder.services.documents import DocumentRegistry
from crossborder.services.platform import Platform

from ..conftest import ACCOUNTS, Node

FIRM_1, FIRM_2, FIRM_3 = FIRMS.values()
_numbers = itertools.count(random.Random().randrange(10**17, 9 * 10**17, 10**6))


def new_number() -> str:
    return str(next(_numbers))


class LiveServer:
    """uvicorn serving an app on a loopback port, in a thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class World:
    node: Node
    platform: Platform
    gateway: Gateway
    server: LiveServer
    demo: DemoConsortium
    signers: list[Signer]
    store_url: str

    @property
    def url(self) -> str:
        return self.server.url

    def bank(self, name: str, stage: Stage) -> Signer:
        return self.demo.banks[name].signers[stage]

    def token(self, account: Signer | str) -> str:
        address = account if isinstance(account, str) else account.address
        return self.gateway.store.issue(address, "test")[1]

    def client(self, account: Signer | str | None = None) -> httpx.Client:
        headers = {} if account is None else {"Authorization": f"Bearer {self.token(account)}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def nonce(self, account: Signer) -> int:
        return int(
            self.node.rpc.request("eth_getTransactionCount", [account.address, "latest"]), 16
        )

    def index(self) -> str:
        """The chain indexed (catching up) into the world's store, as `crossborder index` does."""
        platform = self.platform
        store = Store(
            self.store_url, scenario_codes(platform.rpc, platform.deployment, platform.abis)
        )
        try:
            Indexer(platform.rpc, platform.deployment, platform.abis, store, IndexerConfig()).run()
        finally:
            store.close()
        return self.store_url

    def register(self, count: int, firm: str = FIRM_1, amount: str = "100000.00") -> list[str]:
        """Declarations registered through the SDK by customs, for tests to cite."""
        today = dt.date.today()
        declarations = [
            Declaration(
                number=new_number(),
                export_date=today - dt.timedelta(days=5),
                exporter=firm,
                amount=Money(amount, "USD"),
            )
            for _ in range(count)
        ]
        DocumentRegistry(self.platform, self.demo.customs).register_declarations(declarations)
        return [d.number for d in declarations]


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("gateway")
    node = Node("anvil", tmp)
    rpc = RpcClient(node.url)
    chain_id = rpc.chain_id()
    signers: list[Signer] = list(dev_signers(chain_id, ACCOUNTS))
    sender = TransactionSender(rpc, chain_id, store=IdempotencyStore(tmp / "sender.sqlite"))
    platform = Platform.deploy(rpc, signers[0], tmp / "deployment.json", sender=sender)
    demo = onboard(platform, signers)
    gateway = Gateway(
        platform,
        Keyring.dev(chain_id),
        GatewayStore(tmp / "gateway.sqlite"),
        confirmations=0,
        poll=0.1,
    )
    server = LiveServer(create_app(gateway))
    store_url = f"sqlite:///{tmp / 'index.sqlite'}"
    world = World(node, platform, gateway, server, demo, signers, store_url)
    try:
        yield world
    finally:
        server.stop()
        gateway.close()
        node.stop()


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response's problem detail, checked for the RFC 9457 shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"urn:crossborder:problem:{code}"
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def citation(number: str, amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"document": number, "amount": {"amount": amount, "currency": currency}}


def keyed(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or f"test-{random.getrandbits(64):016x}"}
