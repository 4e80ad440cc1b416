"""The local devnet: one Anvil process whose chain state persists in a directory.

Anvil loads ``anvil-state.json`` at start and writes it back when stopped with SIGTERM, so a
devnet stopped with ``stop()`` resumes with the same contracts and balances. The pid file lets
another process (``crossborder devnet stop``) find and stop a detached devnet.

While it runs, the devnet also writes a marker (``devnet.json``: its URL, chain id and pid). The
marker is the explicit signal that the node at that URL is this project's own throwaway chain,
on which the public dev keys and the published consortium key may be used
(``Settings.is_devnet``); a chain id of 31337 or 1337 alone never is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from ..errors import ChainUnavailable
from ..errors import DevnetError as DevnetError  # raised by Devnet; defined with every SDK error
from .rpc import RpcClient
from .signers import DEV_MNEMONIC, LocalSigner, dev_signers

START_TIMEOUT = 30.0  # seconds; loading a large state file takes a while
STOP_TIMEOUT = 30.0  # seconds; dumping the state on exit too


def free_port() -> int:
    """A TCP port on loopback that the OS says is free now (for test and benchmark nodes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Devnet:
    """A local Anvil node.

    Args:
        state_dir: Where the state file, log and pid file live.
        port: The HTTP port, on 127.0.0.1.
        block_time: Seconds between blocks (interval mining, as on the consortium chain), or
            None to mine each transaction as it arrives.
        gas_limit: The block gas limit.
        chain_id: The chain id.
        accounts: How many dev accounts (of ``signers.DEV_MNEMONIC``) to fund.
        base_fee: The base fee of the first block (Anvil's default when None); 0 makes a
            gas-free chain, as permissioned networks run (``CROSSBORDER_GAS_PRICE_MODE=free``).
        extra_args: More Anvil options (e.g. ``("--hardfork", "berlin")``).
    """

    def __init__(
        self,
        state_dir: Path,
        port: int = 8545,
        block_time: float | None = 1.0,
        gas_limit: int = 1_000_000_000,
        chain_id: int = 31337,
        accounts: int = 10,
        base_fee: int | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.state_dir = Path(state_dir)
        self.base_fee = base_fee
        self.extra_args = tuple(extra_args)
        self.port = port
        self.block_time = block_time
        self.gas_limit = gas_limit
        self.chain_id = chain_id
        self.accounts = accounts
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"Devnet({self.url}, running={self.is_running()})"

    def __enter__(self) -> Devnet:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The node's HTTP endpoint."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self) -> Path:
        """The chain state Anvil loads at start and dumps at exit."""
        return self.state_dir / "anvil-state.json"

    @property
    def log_file(self) -> Path:
        """Anvil's output."""
        return self.state_dir / "anvil.log"

    @property
    def pid_file(self) -> Path:
        """The running Anvil's process id."""
        return self.state_dir / "anvil.pid"

    @property
    def marker_file(self) -> Path:
        """The explicit devnet signal: URL, chain id and pid of the running Anvil."""
        return marker_path(self.state_dir)

    @property
    def pid(self) -> int | None:
        """The process id of this devnet's running Anvil (started here or by another process),
        None when it is not running."""
        if self._process is not None:
            return self._process.pid if self._process.poll() is None else None
        return self._recorded_pid()

    def signers(self, count: int | None = None) -> list[LocalSigner]:
        """The funded dev accounts of this devnet (``accounts`` of them unless ``count``)."""
        return dev_signers(self.chain_id, self.accounts if count is None else count, devnet=True)

    def command(self) -> list[str]:
        """The Anvil command line."""
        command = [
            find_anvil(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--gas-limit",
            str(self.gas_limit),
            "--state",
            str(self.state_file),
            "--mnemonic",
            DEV_MNEMONIC,
            "--accounts",
            str(self.accounts),
        ]
        if self.block_time is not None:
            command += ["--block-time", str(self.block_time)]
        if self.base_fee is not None:
            command += ["--base-fee", str(self.base_fee)]
        return command + list(self.extra_args)

    def is_running(self) -> bool:
        """Whether this devnet's Anvil is alive (started here, or by another process)."""
        if self._process is not None:
            return self._process.poll() is None
        return self._recorded_pid() is not None

    def start(self, detach: bool = False) -> None:
        """Start Anvil and wait until it answers (a no-op if already running).

        Args:
            detach: Run Anvil in its own session, so that it outlives this process and the
                terminal's Ctrl-C; stop it later with ``stop()`` from any process.

        Raises:
            DevnetError: No Anvil binary, the port is taken, or Anvil exited or stayed silent
                during start-up.
        """
        if self.is_running():
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_if_port_taken()
        command = self.command()
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        self.pid_file.write_text(f"{self._process.pid}\n")
        try:
            self._wait_until_ready()
        except DevnetError:
            self.stop()
            raise
        marker = {"url": self.url, "chain_id": self.chain_id, "pid": self._process.pid}
        self.marker_file.write_text(json.dumps(marker) + "\n")

    def stop(self) -> None:
        """Stop Anvil with SIGTERM (so that it writes its state) and wait for it to exit."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        elif (pid := self._recorded_pid()) is not None:
            _terminate(pid)
        self.marker_file.unlink(missing_ok=True)
        self.pid_file.unlink(missing_ok=True)

    def _recorded_pid(self) -> int | None:
        """The pid of the pid file, if that process is alive and is an Anvil."""
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) and _is_anvil(pid) else None

    def _refuse_if_port_taken(self) -> None:
        """Otherwise the start-up check could mistake another node for this one."""
        if port_taken(self.port):
            raise DevnetError(f"port {self.port} is already in use")

    def _wait_until_ready(self) -> None:
        rpc = RpcClient(self.url, timeout=1.0, retries=0)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if not self.is_running():
                    raise DevnetError(f"anvil exited during start-up: {self._log_tail()}")
                try:
                    if rpc.chain_id() == self.chain_id:
                        return
                except ChainUnavailable:
                    pass
                time.sleep(0.05)
        finally:
            rpc.close()
        raise DevnetError(f"anvil did not answer at {self.url} within {START_TIMEOUT} s")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def port_taken(port: int) -> bool:
    """Whether something already listens on ``port`` of 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def marker_path(state_dir: Path) -> Path:
    """Where a devnet in ``state_dir`` writes its marker."""
    return Path(state_dir) / "devnet.json"


def started_devnet(state_dir: Path, url: str, chain_id: int) -> bool:
    """Whether a devnet this project started in ``state_dir`` is running at ``url`` with
    ``chain_id``: its marker says so and its Anvil process is alive."""
    try:
        marker = json.loads(marker_path(state_dir).read_text())
        pid, marked_url, marked_chain = int(marker["pid"]), str(marker["url"]), marker["chain_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (
        marked_chain == chain_id
        and _same_endpoint(marked_url, url)
        and _alive(pid)
        and _is_anvil(pid)
    )


def _same_endpoint(a: str, b: str) -> bool:
    def normal(url: str) -> str:
        return url.strip().rstrip("/").lower().replace("://localhost:", "://127.0.0.1:")

    return normal(a) == normal(b)


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, exited (and now reaped)
    except ChildProcessError:
        pass  # not our child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_anvil(pid: int) -> bool:
    """Guards against a stale pid file whose pid now belongs to another program."""
    try:
        return b"anvil" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (macOS): trust the pid file
    except OSError:
        return True


def _terminate(pid: int) -> None:
    """SIGTERM a devnet started by another process, then wait for it to write its state."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)


def find_anvil() -> str:
    """The path of the Anvil binary on PATH.

    Raises:
        DevnetError: None found, or only npm's script wrapper, which would not pass SIGTERM on.
    """
    path = shutil.which("anvil")
    if path is None:
        raise DevnetError(
            "no `anvil` on PATH: run `make deps` and put "
            "node_modules/@foundry-rs/anvil-<platform>/bin on PATH (see the Makefile)"
        )
    with open(path, "rb") as binary:
        if binary.read(2) == b"#!":
            raise DevnetError(
                f"{path} is a script wrapper, not the Anvil binary: put "
                "node_modules/@foundry-rs/anvil-<platform>/bin before node_modules/.bin on PATH"
            )
    return path
