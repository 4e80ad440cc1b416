"""A real stack for the console's end-to-end tests: a devnet (Anvil), the deployed contracts,
the demo consortium onboarded, customs' declarations, the indexer following the chain
(`crossborder index --follow`) and the gateway (`crossborder serve --dev`), each in its own
process as an operator runs them.

``python -m tests.e2e.stack`` starts one and prints its console URL and tokens (Ctrl-C stops).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from crossborder.api.store import GatewayStore
from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import Signer
from crossborder.demo import FIRMS, DemoConsortium, onboard, write_names
from crossborder.domain.codes import Stage
from crossborder.domain.models import Citation, Declaration, FinancingApplication
from crossborder.domain.money import Money
from crossborder.services.documents import DocumentRegistry
from crossborder.services.platform import Platform
from crossborder.services.receivables import ReceivablesDesk

CLI = str(Path(sys.executable).parent / "crossborder")
ACCOUNTS = 30
FIRM = next(iter(FIRMS.values()))


@dataclass
class Stack:
    """Everything one test module's browser talks to, and the tokens of the demo's operators."""

    folder: Path
    devnet: Devnet
    platform: Platform
    demo: DemoConsortium
    signers: list[Signer]
    url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    declarations: list[str] = field(default_factory=list)

    def token(self, who: str) -> str:
        """The token of a demo operator: ``regulator``, ``Bank A/apply``, ``Bank B/review``, …"""
        if who not in self.tokens:
            account = self.account(who)
            store = GatewayStore(self.folder / "gateway" / "gateway.sqlite")
            try:
                self.tokens[who] = store.issue(account, f"e2e {who}")[1]
            finally:
                store.close()
        return self.tokens[who]

    def account(self, who: str) -> str:
        if who == "regulator":
            return self.signers[0].address
        bank, _, role = who.partition("/")
        desks = self.demo.banks[bank]
        if role == "statistics":
            return desks.statistician.address
        return desks.signers[Stage[role.upper()]].address

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.devnet.stop()

    def logs(self) -> str:
        """The gateway's and the indexer's output so far (for a failing test's message)."""
        texts = []
        for name in ("serve.log", "index.log"):
            path = self.folder / name
            if path.exists():
                texts.append(f"--- {name}\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(texts)


def new_number() -> str:
    return str(random.SystemRandom().randrange(10**17, 10**18))


def start(folder: Path) -> Stack:
    """Starts the whole stack in ``folder``; the caller stops it (``Stack.stop``)."""
    folder.mkdir(parents=True, exist_ok=True)
    devnet = Devnet(folder / "devnet", port=free_port(), block_time=None, accounts=ACCOUNTS)
    devnet.start()
    try:
        return _build(folder, devnet)
    except BaseException:
        devnet.stop()
        raise


def _build(folder: Path, devnet: Devnet) -> Stack:
    rpc = RpcClient(devnet.url)
    signers: list[Signer] = list(devnet.signers(ACCOUNTS))
    deployment = folder / "deployment.json"
    platform = Platform.deploy(rpc, signers[0], deployment)
    demo = onboard(platform, signers)
    names = write_names(folder / "names.csv")
    # Customs registers the firm's declarations; Bank A has financed one before the test starts
    # (so that the regulator's charts have a first point).
    today = dt.date.today()
    declarations = [
        Declaration(
            number=new_number(),
            export_date=today - dt.timedelta(days=3),
            exporter=FIRM,
            amount=Money("100000.00", "USD"),
        )
        for _ in range(4)
    ]
    DocumentRegistry(platform, demo.customs).register_declarations(declarations)
    ReceivablesDesk(platform, demo.banks["Bank A"].signers[Stage.APPLY]).apply(
        FinancingApplication(
            firm=FIRM,
            citations=(Citation(document=declarations[0].number, amount=Money("40000", "USD")),),
        )
    )
    db = f"sqlite:///{folder / 'index.sqlite'}"
    port = free_port()
    env = {
        **os.environ,
        "CROSSBORDER_RPC_URL": devnet.url,
        "CROSSBORDER_DEPLOYMENT_FILE": str(deployment),
        "CROSSBORDER_DEVNET": "1",
        "CROSSBORDER_DEVNET_DIR": str(folder / "devnet"),
        "CROSSBORDER_GATEWAY_DIR": str(folder / "gateway"),
        "CROSSBORDER_GATEWAY_NAMES": str(names),
        "COLUMNS": "200",
    }
    stack = Stack(folder, devnet, platform, demo, signers, f"http://127.0.0.1:{port}", env)
    stack.declarations = [d.number for d in declarations]
    try:
        stack.processes.append(
            _spawn(
                [CLI, "index", "--follow", "--db", db, "--poll", "0.2", "--no-progress"],
                env,
                folder / "index.log",
            )
        )
        stack.processes.append(
            _spawn(
                [CLI, "serve", "--dev", "--port", str(port), "--db", db, "--poll", "0.2"],
                env,
                folder / "serve.log",
            )
        )
        _wait_healthy(stack)
        _wait_indexed(stack, db)
    except BaseException:
        stack.stop()
        raise
    return stack


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_healthy(stack: Stack) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for process in stack.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited early:\n{stack.logs()}")
        try:
            if httpx.get(f"{stack.url}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the gateway did not answer within 60 s:\n{stack.logs()}")


def _wait_indexed(stack: Stack, db: str) -> None:
    """Until the indexer has caught up with the chain's head."""
    from sqlalchemy import create_engine, text

    head = stack.platform.rpc.block_number()
    engine = create_engine(db)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    done = conn.execute(text("SELECT block_number FROM checkpoint")).scalar()
                if done is not None and done >= head:
                    return
            except Exception:  # the store is being created
                pass
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise RuntimeError(f"the indexer did not catch up within 60 s:\n{stack.logs()}")


if __name__ == "__main__":
    import tempfile

    os.environ.setdefault("CROSSBORDER_CONSORTIUM_KEY", "test-consortium-key-not-for-production")
    stack = start(Path(tempfile.mkdtemp(prefix="crossborder-e2e-")))
    print(f"console: {stack.url}/console/  (folder {stack.folder})")
    for who in ("regulator", "Bank A/apply", "Bank A/accept", "Bank A/review", "Bank B/apply"):
        print(f"{who:14} {stack.token(who)}")
    print("declarations:", *stack.declarations)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
