"""A consortium network's layout on disk: who runs which node, its keys, ports and genesis.

``network.json`` (in the network's directory, ``.network/`` by default) names every node: its
institution's sealer account, its node key's enode id and its loopback ports. Beside it, per
node: the geth data directory (with the sealer's encrypted keystore in ``keystore/`` and the node
key in ``geth/nodekey``), the keystore's password file (mode 0600), ``geth.toml`` (the other
nodes as static peers), the log and the pid file. The regulator's admin account and the
consortium's fingerprint key are encrypted keystores too (``regulator/``), never plaintext.

The genesis is Clique proof of authority (the stand-in for Besu QBFT, ``docs/besu-qbft.md``):
the sealers in the extradata, one block a second, London rules from block 0 and nothing newer
(geth 1.13's Clique refuses Shanghai; the contracts are compiled for ``paris``).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from eth_account import Account
from eth_keys.main import KeyAPI
from pydantic import BaseModel, Field

from ..chain.signers import LocalSigner, write_keystore
from ..errors import InvalidInput, NetworkError

# Not a devnet id (31337, 1337): the dev keys and the published consortium key never apply.
DEFAULT_CHAIN_ID = 7368
DEFAULT_NODES = 4
BLOCK_PERIOD = 1  # seconds
GAS_LIMIT = 1_000_000_000
# What genesis gives the regulator: enough to fund every operator it onboards.
GENESIS_BALANCE = 10**27  # wei (a billion ether)
# Node i listens on base + i (the gateway, `crossborder serve`, has 8600; Anvil 8545).
HTTP_PORT, P2P_PORT, AUTH_PORT = 8641, 30401, 8741
LOOPBACK = "127.0.0.1"


class NodeSpec(BaseModel):
    """One institution's node.

    Attributes:
        name: ``node1`` … (the regulator's institution runs ``node1``).
        signer: The institution's sealer account (checksum address).
        enode_id: The node key's public key, hex (the enode URL's user part).
    """

    name: str
    signer: str
    enode_id: str
    http_port: int
    p2p_port: int
    auth_port: int

    @property
    def url(self) -> str:
        """The node's JSON-RPC endpoint, on loopback."""
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def enode(self) -> str:
        return f"enode://{self.enode_id}@{LOOPBACK}:{self.p2p_port}"


class NetworkSpec(BaseModel):
    """The whole network: chain id, block period and nodes (``network.json``)."""

    chain_id: int = Field(gt=0)
    period: int = Field(gt=0)
    gas_limit: int
    regulator: str
    nodes: list[NodeSpec]

    def node(self, name: str) -> NodeSpec:
        """A node by name (``node2``) or number (``2``).

        Raises:
            InvalidInput: No such node.
        """
        wanted = f"node{name}" if name.isdigit() else name
        for node in self.nodes:
            if node.name == wanted:
                return node
        names = ", ".join(n.name for n in self.nodes)
        raise InvalidInput(f"no node {name!r} in this network: {names}")


class Layout:
    """Where a network's files live.

    Args:
        root: The network's directory (``.network/``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._regulator: LocalSigner | None = None
        self._consortium_key: bytes | None = None
        self._directory_key: bytes | None = None

    @property
    def spec_file(self) -> Path:
        return self.root / "network.json"

    @property
    def genesis_file(self) -> Path:
        return self.root / "genesis.json"

    @property
    def deployment_file(self) -> Path:
        return self.root / "deployment.json"

    @property
    def regulator_dir(self) -> Path:
        return self.root / "regulator"

    def node_dir(self, name: str) -> Path:
        return self.root / name

    def datadir(self, name: str) -> Path:
        return self.node_dir(name) / "data"

    def password_file(self, name: str) -> Path:
        return self.node_dir(name) / "password"

    def config_file(self, name: str) -> Path:
        return self.node_dir(name) / "geth.toml"

    def log_file(self, name: str) -> Path:
        return self.node_dir(name) / "geth.log"

    def pid_file(self, name: str) -> Path:
        return self.node_dir(name) / "geth.pid"

    def load(self) -> NetworkSpec:
        """The network's spec.

        Raises:
            NetworkError: No network here (run ``crossborder network init``) or a broken file.
        """
        try:
            return NetworkSpec.model_validate_json(self.spec_file.read_text())
        except FileNotFoundError:
            raise NetworkError(
                f"no network in {self.root}: create one with `crossborder network init`"
            ) from None
        except (OSError, ValueError):
            raise NetworkError(f"{self.spec_file} is not a network file: init again") from None

    def regulator(self) -> LocalSigner:
        """The regulator's admin account (it deploys and onboards), unlocked from its keystore
        (once: scrypt takes a second)."""
        if self._regulator is None:
            folder = self.regulator_dir
            password = _read(folder / "password")
            self._regulator = LocalSigner.from_keystore(folder / "admin.json", password)
        return self._regulator

    def consortium_key(self) -> bytes:
        """The consortium's keyed-fingerprint secret, from its encrypted keystore (once)."""
        if self._consortium_key is None:
            self._consortium_key = self._secret("consortium.json")
        return self._consortium_key

    def directory_key(self) -> bytes:
        """The regulator's directory key (participant ids), from its encrypted keystore (once).
        Only the regulator holds it: members resolve ids through their id books."""
        if self._directory_key is None:
            self._directory_key = self._secret("directory.json")
        return self._directory_key

    def _secret(self, name: str) -> bytes:
        folder = self.regulator_dir
        keystore = json.loads((folder / name).read_text())
        return bytes(Account.decrypt(keystore, _read(folder / "password"))).hex().encode()


def create(
    root: Path,
    nodes: int = DEFAULT_NODES,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    period: int = BLOCK_PERIOD,
    ports: list[tuple[int, int, int]] | None = None,
) -> NetworkSpec:
    """Creates a network's keys, spec, genesis and peer lists (no geth run yet).

    Args:
        root: The new network's directory; refused when it already holds a network.
        nodes: How many institutions (sealing nodes); at least 1.
        chain_id: The chain id.
        period: Seconds between blocks.
        ports: (http, p2p, authrpc) per node; else ``HTTP_PORT``+i, ``P2P_PORT``+i, ``AUTH_PORT``+i.

    Raises:
        InvalidInput: Too few nodes, ports that do not match, or ``root`` already holds one.
    """
    layout = Layout(root)
    if nodes < 1:
        raise InvalidInput("a network needs at least one node")
    if ports is not None and len(ports) != nodes:
        raise InvalidInput(f"{len(ports)} port triples for {nodes} nodes")
    if layout.spec_file.exists():
        raise InvalidInput(f"{root} already holds a network: stop it and remove the folder first")
    layout.root.mkdir(parents=True, exist_ok=True)
    specs = []
    for i in range(nodes):
        name = f"node{i + 1}"
        http, p2p, auth = ports[i] if ports else (HTTP_PORT + i, P2P_PORT + i, AUTH_PORT + i)
        specs.append(_create_node(layout, name, http, p2p, auth))
    regulator = _create_regulator(layout)
    spec = NetworkSpec(
        chain_id=chain_id, period=period, gas_limit=GAS_LIMIT, regulator=regulator, nodes=specs
    )
    layout.genesis_file.write_text(json.dumps(genesis(spec), indent=2) + "\n")
    for node in specs:
        peers = [other.enode for other in specs if other.name != node.name]
        layout.config_file(node.name).write_text(_peer_config(peers))
    layout.spec_file.write_text(spec.model_dump_json(indent=2) + "\n")
    return spec


def genesis(spec: NetworkSpec) -> dict[str, object]:
    """The Clique genesis: sealers in the extradata, London rules from block 0, nothing newer."""
    signers = sorted((node.signer for node in spec.nodes), key=lambda a: int(a, 16))
    extradata = "0x" + "00" * 32 + "".join(a[2:].lower() for a in signers) + "00" * 65
    forks = ["homestead", "eip150", "eip155", "eip158", "byzantium", "constantinople"]
    forks += ["petersburg", "istanbul", "berlin", "london"]
    config: dict[str, object] = {"chainId": spec.chain_id}
    config.update({f"{fork}Block": 0 for fork in forks})
    config["clique"] = {"period": spec.period, "epoch": 30000}
    # Only the regulator holds ether (it funds the operators it onboards). The sealers hold
    # none: their keys are unlocked in geth, and anyone on the host could send from them.
    return {
        "config": config,
        "difficulty": "0x1",
        "gasLimit": hex(spec.gas_limit),
        "extradata": extradata,
        "alloc": {spec.regulator[2:].lower(): {"balance": hex(GENESIS_BALANCE)}},
    }


def _create_node(layout: Layout, name: str, http: int, p2p: int, auth: int) -> NodeSpec:
    datadir = layout.datadir(name)
    (datadir / "geth").mkdir(parents=True, exist_ok=True)
    (datadir / "keystore").mkdir(parents=True, exist_ok=True)
    password = _new_secret_file(layout.password_file(name))
    sealer = Account.create()
    write_keystore(sealer, datadir / "keystore" / f"{sealer.address}.json", password)
    node_key = KeyAPI.PrivateKey(secrets.token_bytes(32))
    _write_private(datadir / "geth" / "nodekey", node_key.to_hex()[2:])
    return NodeSpec(
        name=name,
        signer=sealer.address,
        enode_id=node_key.public_key.to_hex()[2:],
        http_port=http,
        p2p_port=p2p,
        auth_port=auth,
    )


def _create_regulator(layout: Layout) -> str:
    folder = layout.regulator_dir
    folder.mkdir(parents=True, exist_ok=True)
    password = _new_secret_file(folder / "password")
    admin = Account.create()
    write_keystore(admin, folder / "admin.json", password)
    # The consortium key is 32 random bytes kept as a keystore's "private key": encrypted at rest.
    write_keystore(Account.create(), folder / "consortium.json", password)
    # So is the directory key, which only the regulator's directory holds (participant ids).
    write_keystore(Account.create(), folder / "directory.json", password)
    return str(admin.address)


def _peer_config(peers: list[str]) -> str:
    """geth's TOML: every other node as a static peer (redialled whenever it comes back)."""
    listed = ", ".join(json.dumps(enode) for enode in peers)
    return f"[Node.P2P]\nStaticNodes = [{listed}]\n"


def _new_secret_file(path: Path) -> str:
    secret = secrets.token_urlsafe(24)
    _write_private(path, secret)
    return secret


def _write_private(path: Path, text: str) -> None:
    """A new file readable by its owner only (never overwriting one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        raise NetworkError(f"cannot read {path}: is this a network folder?") from None
