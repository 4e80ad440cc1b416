"""The consortium network: every institution's node, started, stopped and watched together."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eth_account import Account

from ..chain.abi import load_manifest
from ..chain.deployment import Deployment
from ..chain.pricing import GasPolicy
from ..chain.rpc import RpcClient, connect_rpc
from ..chain.sender import TxRequest
from ..chain.signers import LocalSigner
from ..domain.fingerprint import Fingerprinter
from ..domain.ids import DirectoryIds, ParticipantIds
from ..errors import NetworkError
from ..services.platform import Platform
from ..settings import REPO_ROOT
from .layout import DEFAULT_CHAIN_ID, DEFAULT_NODES, Layout, NetworkSpec, create
from .node import GethNode, NodeStatus

GETH_VERSION = "1.13.15"  # scripts/geth.sh builds it
GETH_ENV = "CROSSBORDER_GETH"
DEFAULT_DIR = REPO_ROOT / ".network"
PEER_TIMEOUT = 60.0  # seconds for every node to see every other
# Seconds for a started node to sync (geth syncs every 10 s with fewer than five peers).
CATCH_UP_TIMEOUT = 120.0
OPERATOR_FUNDS = 10**21  # wei: a thousand ether, for years of gas at the chain's prices


def find_geth() -> Path:
    """The geth binary: ``$CROSSBORDER_GETH``, else the one ``scripts/geth.sh`` built, else PATH.

    Raises:
        NetworkError: None found.
    """
    named = os.environ.get(GETH_ENV)
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            raise NetworkError(f"{GETH_ENV}={named} is not an executable file")
        return Path(named)
    built = REPO_ROOT / ".cache" / f"geth-v{GETH_VERSION}" / "bin" / "geth"
    for candidate in (str(built), shutil.which("geth")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise NetworkError(
        f"no geth binary: build geth {GETH_VERSION} with `bash scripts/geth.sh`"
        f" (or name one in {GETH_ENV})"
    )


class Network:
    """The nodes of one network folder.

    Args:
        root: The network's folder (``.network/``, or ``$CROSSBORDER_NETWORK_DIR``).
        geth: The geth binary; ``find_geth()`` when None.
    """

    def __init__(self, root: Path = DEFAULT_DIR, geth: Path | None = None) -> None:
        self.layout = Layout(root)
        self.spec: NetworkSpec = self.layout.load()
        self._geth = geth
        self._nodes: dict[str, GethNode] = {}

    @classmethod
    def init(
        cls,
        root: Path = DEFAULT_DIR,
        nodes: int = DEFAULT_NODES,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        period: int = 1,
        ports: list[tuple[int, int, int]] | None = None,
        geth: Path | None = None,
    ) -> Network:
        """Creates the keys, genesis and data directories of a new network (nothing started).

        Raises:
            InvalidInput: ``root`` already holds a network, or the arguments do not fit.
            NetworkError: No geth, or geth refused the genesis.
        """
        geth = geth or find_geth()
        create(root, nodes, chain_id=chain_id, period=period, ports=ports)
        network = cls(root, geth)
        with ThreadPoolExecutor(len(network.nodes)) as pool:
            list(pool.map(GethNode.init_chain, network.nodes))
        return network

    @property
    def geth(self) -> Path:
        if self._geth is None:
            self._geth = find_geth()
        return self._geth

    @property
    def nodes(self) -> list[GethNode]:
        return [self.node(spec.name) for spec in self.spec.nodes]

    def node(self, name: str) -> GethNode:
        """A node by name (``node2``) or number (``2``).

        Raises:
            InvalidInput: No such node.
        """
        spec = self.spec.node(name)
        if spec.name not in self._nodes:
            self._nodes[spec.name] = GethNode(self.layout, self.spec, spec, self.geth)
        return self._nodes[spec.name]

    def start(self, names: Sequence[str] = (), timeout: float = CATCH_UP_TIMEOUT) -> None:
        """Starts the named nodes (all when none are named), then lets them seal.

        Each node's geth starts without sealing; once every running node sees every other and
        the started nodes have caught up with the best head among the others, the started
        nodes start sealing together. (Clique sealers that each seal their own block 1 before
        they accept each other's blocks can stall for good: each has signed recently on its
        own branch.)

        Raises:
            NetworkError: A node did not start, find its peers or catch up within ``timeout``.
        """
        started = [node for node in self._chosen(names) if not node.is_running()]
        taken = [f"{node.name}: {node.taken_ports()}" for node in started if node.taken_ports()]
        if taken:  # refused before any starts: never half a network
            raise NetworkError(f"ports already in use ({'; '.join(taken)}): nothing started")
        with ThreadPoolExecutor(max(1, len(started))) as pool:  # each unlocks a scrypt keystore
            list(pool.map(GethNode.start, started))
        self.wait_peers(timeout)
        others = [s.head or 0 for s in self.status() if s.running and s.name not in _names(started)]
        target = max(others, default=0)
        deadline = time.monotonic() + timeout
        for node in started:
            _wait_head(node, target, deadline, f"did not catch up to block {target}")
        with ThreadPoolExecutor(max(1, len(started))) as pool:
            list(pool.map(GethNode.seal, started))
        running = [node for node in self.nodes if node.is_running()]
        if len(running) >= self.quorum:
            # The chain moves on: a block sealed since (geth answers receipt look-ups on a
            # chain still at its genesis with "transaction indexing is in progress").
            for node in started:
                _wait_head(node, target + 1, deadline, f"saw no new block after block {target}")

    @property
    def quorum(self) -> int:
        """How many sealers Clique needs to go on: each seals at most once in any
        ``len(nodes) // 2 + 1`` consecutive blocks."""
        return len(self.spec.nodes) // 2 + 1

    def stop(self, names: Sequence[str] = ()) -> None:
        """Stops the named nodes (all when none are named)."""
        for node in self._chosen(names):
            node.stop()

    def status(self) -> list[NodeStatus]:
        return [node.status() for node in self.nodes]

    def wait_peers(self, timeout: float = PEER_TIMEOUT) -> None:
        """Until every running node is connected to every other running node.

        Raises:
            NetworkError: Not within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            statuses = [s for s in self.status() if s.running]
            lonely = [s.name for s in statuses if s.peers is None or s.peers < len(statuses) - 1]
            if not lonely:
                return
            if time.monotonic() > deadline:
                raise NetworkError(f"{', '.join(lonely)} did not find their peers in {timeout} s")
            time.sleep(0.2)

    def deploy(self, via: str = "node1") -> Deployment:
        """The regulator deploys the platform through its own node (``node1``) and writes the
        deployment file every institution's services read."""
        platform = Platform.deploy(
            RpcClient(self.node(via).url),
            self.layout.regulator(),
            self.layout.deployment_file,
            self.layout.consortium_key(),
            gas=GasPolicy(),
            ids=self.directory(),
        )
        return platform.deployment

    def directory(self) -> DirectoryIds:
        """The regulator's directory of participant ids."""
        return DirectoryIds(self.layout.directory_key())

    def platform(
        self, name: str, ids: ParticipantIds | None = None, fallback: Sequence[str] = ()
    ) -> Platform:
        """An institution's connection to the platform, through its own node.

        ``fallback``: other nodes the SDK fails over to when its own goes away. ``ids``: how it
        names participants; by default the regulator's directory, for this harness acts for
        every institution (tests, benchmarks). An institution's own services (``env``) resolve
        ids through their id book.

        Raises:
            NotDeployed: The platform is not deployed yet (``crossborder network deploy``).
        """
        urls = [self.node(n).url for n in (name, *fallback)]
        rpc = connect_rpc(urls) if fallback else RpcClient(urls[0])
        deployment = Deployment.load(self.layout.deployment_file, self.spec.chain_id)
        fingerprints = Fingerprinter(self.layout.consortium_key())
        return Platform(
            rpc,
            deployment,
            load_manifest(),
            fingerprints,
            gas=GasPolicy(),
            ids=ids if ids is not None else self.directory(),
        )

    def funded_accounts(self, count: int, wei: int = OPERATOR_FUNDS) -> list[LocalSigner]:
        """New accounts (keys in memory only) that the regulator funds through ``node1``: the
        operators of a demo, test or benchmark consortium on this network."""
        regulator = self.layout.regulator()
        accounts = [LocalSigner(Account.create()) for _ in range(count)]
        funding = [TxRequest(regulator, a.address, value=wei, gas=21_000) for a in accounts]
        self.platform("node1").transact_many(funding)
        return accounts

    def env(self, name: str) -> dict[str, str]:
        """The settings an institution's services and indexer use to work through its node."""
        node = self.node(name)
        return {
            "CROSSBORDER_RPC_URL": node.url,
            "CROSSBORDER_DEPLOYMENT_FILE": str(self.layout.deployment_file),
            "CROSSBORDER_DB_URL": f"sqlite:///{self.layout.node_dir(node.name)}/index.sqlite",
            "CROSSBORDER_DEVNET_DIR": str(self.layout.node_dir(node.name)),
            "CROSSBORDER_GAS_PRICE_MODE": "eip1559",
            # Clique reorganises 1-2 blocks now and then: the indexer waits them out.
            "CROSSBORDER_CONFIRMATIONS": "3",
            # The participant ids this institution knows (its customers' from their consents).
            "CROSSBORDER_ID_BOOK": str(self.layout.node_dir(node.name) / "ids.json"),
        }

    def _chosen(self, names: Sequence[str]) -> list[GethNode]:
        return [self.node(name) for name in names] if names else self.nodes


def _names(nodes: Sequence[GethNode]) -> set[str]:
    return {node.name for node in nodes}


def _wait_head(node: GethNode, block: int, deadline: float, failure: str) -> None:
    """Until ``node``'s head reaches ``block``.

    Raises:
        NetworkError: ``deadline`` (monotonic) passed first; the message is ``failure``.
    """
    while (node.status().head or 0) < block:
        if time.monotonic() > deadline:
            raise NetworkError(f"{node.name} {failure}")
        time.sleep(0.2)
