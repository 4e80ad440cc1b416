"""One institution's geth node: its command line, its process, its health.

A node runs detached (its own session), so that it outlives the command that started it; its
pid file says it should be running. ``stop`` ends it and removes the pid file; ``kill`` ends it
with SIGKILL as a crash would, and leaves the pid file, so that ``status`` reports it dead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..chain.devnet import _alive, _terminate, port_taken
from ..chain.rpc import RpcClient
from ..errors import ChainUnavailable, NetworkError, RpcError
from .layout import LOOPBACK, Layout, NetworkSpec, NodeSpec

START_TIMEOUT = 60.0  # seconds: unlocking a scrypt keystore takes geth a second or two
# Room for many pending transactions per account (geth keeps 16 executable ones by default).
TXPOOL = (
    *("--txpool.globalslots", "50000", "--txpool.accountslots", "20000"),
    *("--txpool.globalqueue", "20000", "--txpool.accountqueue", "20000"),
)


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What ``crossborder network status`` shows of one node.

    Attributes:
        running: Its process is alive.
        expected: Its pid file says it should be (started and not stopped).
        head: Its latest block number and hash, None when it does not answer.
        rss: Its resident memory in bytes (from /proc), None when unknown.
    """

    name: str
    signer: str
    url: str
    pid: int | None
    running: bool
    expected: bool
    head: int | None = None
    head_hash: str | None = None
    peers: int | None = None
    rss: int | None = None

    @property
    def dead(self) -> bool:
        """Started, never stopped, and gone: a crash to report loudly."""
        return self.expected and not self.running


class GethNode:
    """One node of the network.

    Args:
        layout: The network's files.
        spec: The network.
        node: This node.
        geth: The geth binary.
    """

    def __init__(self, layout: Layout, spec: NetworkSpec, node: NodeSpec, geth: Path) -> None:
        self.layout = layout
        self.spec = spec
        self.node = node
        self.geth = Path(geth)
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"GethNode({self.node.name}, {self.node.url})"

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def url(self) -> str:
        return self.node.url

    def command(self) -> list[str]:
        """geth's command line: sealing, RPC on loopback only, peers on loopback only."""
        node, layout = self.node, self.layout
        return [
            str(self.geth),
            "--config",
            str(layout.config_file(node.name)),
            "--datadir",
            str(layout.datadir(node.name)),
            "--networkid",
            str(self.spec.chain_id),
            "--syncmode",
            "full",
            "--port",
            str(node.p2p_port),
            "--nat",
            "none",
            "--netrestrict",
            "127.0.0.0/8",
            "--nodiscover",  # the peers are static (geth.toml)
            "--ipcdisable",
            "--http",
            "--http.addr",
            LOOPBACK,
            "--http.port",
            str(node.http_port),
            "--http.api",
            "eth,net,web3,txpool,miner",
            "--authrpc.addr",
            LOOPBACK,
            "--authrpc.port",
            str(node.auth_port),
            # No --mine: sealing starts with `seal()` once the node is peered and caught up
            # (sealers that seal block 1 before seeing each other can stall Clique for good).
            "--miner.etherbase",
            node.signer,
            "--miner.gaslimit",
            str(self.spec.gas_limit),
            "--unlock",
            node.signer,
            "--password",
            str(layout.password_file(node.name)),
            # geth refuses an unlocked account beside HTTP without it; HTTP is loopback-only.
            "--allow-insecure-unlock",
            "--rpc.txfeecap",
            "0",
            "--cache",
            "256",
            *TXPOOL,
        ]

    def init_chain(self) -> None:
        """Writes the genesis block into the data directory (once, at ``network init``).

        Raises:
            NetworkError: geth refused the genesis.
        """
        datadir = str(self.layout.datadir(self.name))
        run = subprocess.run(
            [str(self.geth), "--datadir", datadir, "init", str(self.layout.genesis_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            last = (run.stderr or run.stdout).strip().splitlines()[-1:]
            raise NetworkError(f"geth init failed for {self.name}: {' '.join(last)}")

    @property
    def pid(self) -> int | None:
        """The pid of this node's running geth (started here or by another process)."""
        if self._process is not None:
            return self._process.pid if self._process.poll() is None else None
        pid = self._recorded_pid()
        return pid if pid is not None and _alive(pid) and self._is_ours(pid) else None

    def is_running(self) -> bool:
        return self.pid is not None

    def start(self) -> None:
        """Starts geth detached and waits until it answers (a no-op if it runs).

        Raises:
            NetworkError: A port is taken, or geth exited or stayed silent.
        """
        if self.is_running():
            return
        if taken := self.taken_ports():
            raise NetworkError(f"{self.name}'s port {taken[0]} is already in use")
        log_file = self.layout.log_file(self.name)
        since = log_file.stat().st_size if log_file.exists() else 0
        with log_file.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.layout.pid_file(self.name).write_text(f"{self._process.pid}\n")
        self._wait_until_ready(since)

    def taken_ports(self) -> list[int]:
        """This node's ports that something already listens on."""
        ports = (self.node.http_port, self.node.p2p_port, self.node.auth_port)
        return [port for port in ports if port_taken(port)]

    def seal(self) -> None:
        """Starts sealing (``miner_start``): the node also accepts its peers' new blocks now.

        Raises:
            NetworkError: The node does not answer.
        """
        rpc = RpcClient(self.url, timeout=10, retries=2)
        try:
            rpc.request("miner_start")
        except (ChainUnavailable, RpcError) as error:
            raise NetworkError(f"{self.name} did not start sealing: {error}") from None
        finally:
            rpc.close()

    def stop(self) -> None:
        """Stops geth with SIGTERM (it flushes its state) and forgets it should run."""
        pid = self.pid
        if self._process is not None and pid is not None:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        elif pid is not None:
            _terminate(pid)
        self._process = None
        self.layout.pid_file(self.name).unlink(missing_ok=True)

    def kill(self) -> None:
        """Ends geth with SIGKILL, as a crash would; the pid file stays, so status reports it."""
        pid = self.pid
        if pid is None:
            raise NetworkError(f"{self.name} is not running")
        os.kill(pid, signal.SIGKILL)
        if self._process is not None:
            self._process.wait()
        else:
            while _alive(pid):
                time.sleep(0.05)

    def status(self) -> NodeStatus:
        """Its process, head block, peers and memory; never raises for a silent node."""
        pid = self.pid
        status = NodeStatus(
            name=self.name,
            signer=self.node.signer,
            url=self.url,
            pid=pid if pid is not None else self._recorded_pid(),
            running=pid is not None,
            expected=self.layout.pid_file(self.name).exists(),
        )
        if pid is None:
            return status
        rpc = RpcClient(self.url, timeout=3, retries=0)
        try:
            head = rpc.request("eth_getBlockByNumber", ["latest", False])
            peers = int(rpc.request("net_peerCount"), 16)
        except (ChainUnavailable, RpcError):
            return replace(status, rss=resident_memory(pid))
        finally:
            rpc.close()
        return replace(
            status,
            head=int(head["number"], 16),
            head_hash=str(head["hash"]),
            peers=peers,
            rss=resident_memory(pid),
        )

    def log_tail(self, lines: int = 3) -> str:
        """The log's last lines, or geth's own reason when it died of one (a panic's or a fatal
        error's first line: the tail of a panic is a stack trace)."""
        try:
            text = self.layout.log_file(self.name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        logged = text.strip().splitlines()
        for line in logged:
            if line.startswith(("panic:", "Fatal:", "fatal error:")):
                return line
        return " | ".join(logged[-lines:])

    def _recorded_pid(self) -> int | None:
        try:
            return int(self.layout.pid_file(self.name).read_text())
        except (OSError, ValueError):
            return None

    def _is_ours(self, pid: int) -> bool:
        """A stale pid file's pid may belong to another program now."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return not Path("/proc/self").exists()
        except OSError:
            return True
        return str(self.layout.datadir(self.name)).encode() in cmdline

    def _wait_until_ready(self, since: int) -> None:
        """Until geth answers with our chain id and has unlocked the sealer (it serves RPC
        before it has decrypted the keystore; sealing started earlier fails for good)."""
        rpc = RpcClient(self.url, timeout=1.0, retries=0)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if not self.is_running():
                    raise NetworkError(f"{self.name}'s geth exited at start: {self.log_tail()}")
                with contextlib.suppress(ChainUnavailable, RpcError):
                    if int(rpc.request("eth_chainId"), 16) == self.spec.chain_id and (
                        self._unlocked(since)
                    ):
                        return
                time.sleep(0.1)
        finally:
            rpc.close()
        raise NetworkError(f"{self.name} did not answer at {self.url} within {START_TIMEOUT:.0f} s")

    def _unlocked(self, since: int) -> bool:
        """Whether geth has logged the sealer's unlocking since offset ``since`` of its log."""
        with self.layout.log_file(self.name).open("rb") as log:
            log.seek(since)
            return b"Unlocked account" in log.read()


def resident_memory(pid: int) -> int | None:
    """A process's resident memory in bytes (``VmRSS`` of /proc), None when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
