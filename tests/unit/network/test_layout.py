"""The network's layout without running geth: keys, genesis, peers, status of a crashed node."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from crossborder.cli.main import cli
from crossborder.errors import InvalidInput, NetworkError
from crossborder.network.layout import GENESIS_BALANCE, Layout, create, genesis
from crossborder.network.network import Network, find_geth
from crossborder.network.node import GethNode

PORTS = [(18600 + i, 38400 + i, 18700 + i) for i in range(4)]


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    root = tmp_path_factory.mktemp("layout") / "net"
    create(root, 4, ports=PORTS)
    return Layout(root)


def test_each_institution_has_its_own_encrypted_sealer_key_and_node_key(layout: Layout) -> None:
    spec = layout.load()
    assert len({n.signer for n in spec.nodes}) == 4
    assert len({n.enode_id for n in spec.nodes}) == 4
    for node in spec.nodes:
        password = layout.password_file(node.name)
        nodekey = layout.datadir(node.name) / "geth" / "nodekey"
        for secret in (password, nodekey):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        (keystore,) = (layout.datadir(node.name) / "keystore").iterdir()
        decrypted = Account.decrypt(json.loads(keystore.read_text()), password.read_text())
        assert Account.from_key(decrypted).address == node.signer
        # The wrong password does not open it.
        with pytest.raises(ValueError):
            Account.decrypt(json.loads(keystore.read_text()), "not-the-password")


def test_regulator_and_consortium_keys_come_from_keystores(layout: Layout) -> None:
    assert layout.regulator().address == layout.load().regulator
    key = layout.consortium_key()
    assert len(bytes.fromhex(key.decode())) == 32
    assert key.decode() not in (layout.regulator_dir / "consortium.json").read_text()


def test_genesis_is_clique_with_the_sealers_london_and_nothing_newer(layout: Layout) -> None:
    spec = layout.load()
    block = genesis(spec)
    config = block["config"]
    assert isinstance(config, dict)
    assert config["chainId"] == 7368 and config["londonBlock"] == 0
    assert config["clique"] == {"period": 1, "epoch": 30000}
    assert not any("shanghai" in k.lower() or "cancun" in k.lower() for k in config)
    extra = bytes.fromhex(str(block["extradata"])[2:])
    assert extra[:32] == bytes(32) and extra[-65:] == bytes(65)
    sealers = [extra[32 + 20 * i : 52 + 20 * i] for i in range((len(extra) - 97) // 20)]
    assert sealers == sorted(sealers)
    assert {"0x" + s.hex() for s in sealers} == {n.signer.lower() for n in spec.nodes}
    # Only the regulator is funded: the sealers' keys are unlocked in geth and hold nothing.
    assert block["alloc"] == {spec.regulator[2:].lower(): {"balance": hex(GENESIS_BALANCE)}}
    assert json.loads(layout.genesis_file.read_text()) == block


def test_every_node_peers_with_every_other_on_loopback(layout: Layout) -> None:
    spec = layout.load()
    for node in spec.nodes:
        config = layout.config_file(node.name).read_text()
        others = [n for n in spec.nodes if n.name != node.name]
        assert all(o.enode in config for o in others)
        assert node.enode not in config
        assert all("@127.0.0.1:" in o.enode for o in others)


def test_geth_listens_on_loopback_only(layout: Layout) -> None:
    spec = layout.load()
    command = GethNode(layout, spec, spec.nodes[0], Path("/bin/false")).command()
    assert command[command.index("--http.addr") + 1] == "127.0.0.1"
    assert command[command.index("--authrpc.addr") + 1] == "127.0.0.1"
    assert command[command.index("--netrestrict") + 1] == "127.0.0.0/8"
    assert "--allow-insecure-unlock" in command and "--ws" not in command
    assert "personal" not in command[command.index("--http.api") + 1]


def test_create_refuses_an_existing_network_and_bad_sizes(layout: Layout, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="already holds a network"):
        create(layout.root, 4, ports=PORTS)
    with pytest.raises(InvalidInput, match="at least one node"):
        create(tmp_path / "empty", 0)
    with pytest.raises(InvalidInput, match="port triples"):
        create(tmp_path / "mismatch", 2, ports=PORTS)
    with pytest.raises(NetworkError, match="no network"):
        Layout(tmp_path / "nothing").load()


def test_status_says_loudly_that_a_node_died(layout: Layout, tmp_path: Path) -> None:
    """A node whose geth exited without `network stop` (its pid file stays) is DOWN: status
    exits 1 and names it; a node never started is merely stopped."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    layout.pid_file("node2").write_text(f"{gone.pid}\n")
    try:
        result = CliRunner().invoke(cli, ["network", "--dir", str(layout.root), "status"])
    finally:
        layout.pid_file("node2").unlink()
    assert result.exit_code == 1
    assert "node2 is DOWN" in result.output
    assert "node1 is DOWN" not in result.output
    quiet = CliRunner().invoke(cli, ["network", "--dir", str(layout.root), "status"])
    assert quiet.exit_code == 0 and "DOWN" not in quiet.output


def test_cli_errors_are_one_line(layout: Layout, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["network", "--dir", str(tmp_path / "none"), "status"])
    assert missing.exit_code == 1 and "crossborder network init" in missing.output
    assert "Traceback" not in missing.output
    unknown = runner.invoke(cli, ["network", "--dir", str(layout.root), "kill", "9"])
    assert unknown.exit_code == 1 and "no node '9'" in unknown.output
    stopped = runner.invoke(cli, ["network", "--dir", str(layout.root), "kill", "node1"])
    assert stopped.exit_code == 1 and "node1 is not running" in stopped.output


def test_a_named_geth_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSBORDER_GETH", str(tmp_path / "no-geth"))
    with pytest.raises(NetworkError, match="not an executable file"):
        find_geth()
    monkeypatch.setenv("CROSSBORDER_GETH", sys.executable)
    assert find_geth() == Path(sys.executable)


def test_a_taken_port_starts_nothing(layout: Layout) -> None:
    """Refused before any geth starts: never half a network."""
    taken = layout.load().node("node3").p2p_port
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", taken))
        listener.listen()
        net = Network(layout.root, geth=Path("/bin/false"))
        with pytest.raises(NetworkError, match=f"node3: \\[{taken}\\].*nothing started"):
            net.start()
    assert not any(s.running or s.expected for s in net.status())


def test_a_node_that_died_says_why_in_one_line(layout: Layout) -> None:
    """A geth panic ends in a stack trace: the reason shown is the panic's own line."""
    spec = layout.load()
    node = GethNode(layout, spec, spec.nodes[0], Path("/bin/false"))
    log = layout.log_file(node.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("INFO starting\nINFO more\nINFO last\n")
    assert node.log_tail() == "INFO starting | INFO more | INFO last"
    log.write_text("INFO starting\npanic: bad IV length\n\ngoroutine 1 [running]:\n\tmain.go:1\n")
    assert node.log_tail() == "panic: bad IV length"
