"""The ``crossborder`` command line: devnet, deploy, demo, up, query."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from ..chain.abi import load_manifest
from ..chain.deploy import deploy, is_deployed
from ..chain.deployment import Deployment
from ..chain.devnet import Devnet
from ..chain.rpc import RpcClient
from ..chain.signers import LocalSigner, Signer, dev_signers
from ..domain.codes import DocumentType
from ..domain.documents import DOCUMENT_KINDS, document_fingerprint
from ..errors import InvalidInput, NotDeployed
from ..settings import Settings, get_settings
from .common import console, friendly, node_rpc
from .credit import credit
from .serve import DEFAULT_PORT

if TYPE_CHECKING:
    from ..services.platform import Platform


def _devnet(settings: Settings) -> Devnet:
    return Devnet(
        settings.devnet_dir,
        port=settings.devnet_port,
        block_time=settings.devnet_block_time,
        accounts=30,
        extra_args=("--prune-history",) if settings.devnet_prune_history else (),
    )


def _regulator(settings: Settings, rpc: RpcClient, keystore: Path | None) -> Signer:
    if keystore is not None:
        return LocalSigner.from_keystore(keystore)
    return dev_signers(rpc.chain_id(), 1)[0]


@click.group()
@click.version_option(package_name="crossborder")
def cli() -> None:
    """Cross-border finance blockchain service platform."""


@cli.group()
def devnet() -> None:
    """The local permissioned devnet (Anvil, interval blocks, persisted state)."""


@devnet.command("start")
@friendly
def devnet_start() -> None:
    """Starts Anvil in the background with state persisted under .devnet/."""
    net = _devnet(get_settings())
    if net.is_running():
        console.print(f"devnet already running at {net.url}")
        return
    net.start(detach=True)
    console.print(f"devnet running at {net.url} (state in {net.state_dir})")


@devnet.command("stop")
@friendly
def devnet_stop() -> None:
    """Stops Anvil; it writes its state first."""
    _devnet(get_settings()).stop()
    console.print("devnet stopped")


@cli.group()
def keystore() -> None:
    """Operator keys as encrypted keystore files (eth-account); never plaintext."""


@keystore.command("new")
@click.argument("path", type=click.Path(path_type=Path))
@friendly
def keystore_new(path: Path) -> None:
    """Creates a new key in an encrypted keystore at PATH and prints its address.

    The passphrase comes from CROSSBORDER_KEYSTORE_PASSPHRASE, else a prompt (asked twice).
    """
    import os

    from eth_account import Account

    from ..chain.signers import write_keystore

    passphrase = os.environ.get("CROSSBORDER_KEYSTORE_PASSPHRASE") or click.prompt(
        "passphrase", hide_input=True, confirmation_prompt=True
    )
    if len(passphrase) < 8:
        raise InvalidInput("the passphrase must have at least 8 characters")
    path.parent.mkdir(parents=True, exist_ok=True)
    account = Account.create()
    write_keystore(account, path, passphrase)
    console.print(f"{account.address} → {path}")


@keystore.command("address")
@click.argument("path", type=click.Path(path_type=Path))
@friendly
def keystore_address(path: Path) -> None:
    """Unlocks the keystore at PATH and prints its address (checks the passphrase)."""
    console.print(LocalSigner.from_keystore(path).address)


@cli.command("deploy")
@click.option("--keystore", type=click.Path(path_type=Path), help="regulator admin keystore")
@friendly
def deploy_cmd(keystore: Path | None) -> None:
    """Deploys the contracts; the deploying account becomes the regulator's admin."""
    settings = get_settings()
    rpc = node_rpc(settings)
    _deploy(settings, rpc, _regulator(settings, rpc, keystore))


def _deploy(settings: Settings, rpc: RpcClient, regulator: Signer) -> None:
    """Deploys, writes the deployment file and shows where everything went."""
    path = settings.deployment_path
    deployment = deploy(rpc, dict(load_manifest(settings.build_file)), regulator, path)
    table = Table(title=f"Deployed on chain {deployment.chain_id} → {path}")
    table.add_column("contract")
    table.add_column("address")
    for name, address in deployment.contracts.items():
        table.add_row(name, address)
    console.print(table)


def _ensure_deployed(settings: Settings) -> None:
    rpc = node_rpc(settings)
    try:
        deployment = Deployment.load(settings.deployment_path, rpc.chain_id())
        if is_deployed(rpc, deployment):
            return
        console.print(
            f"[yellow]{escape(str(settings.deployment_path))} names no contracts on this node:[/]"
            " deploying"
        )
    except NotDeployed as why:
        if settings.deployment_path.exists():
            console.print(f"[yellow]{escape(str(why))}:[/] deploying")
    _deploy(settings, rpc, dev_signers(rpc.chain_id(), 1)[0])


@cli.command("demo")
@friendly
def demo_cmd() -> None:
    """Onboards the demo consortium and runs the receivables story (devnet only)."""
    _run_demo(get_settings())


def _run_demo(settings: Settings) -> Platform:
    from ..demo import run_story, write_names
    from ..services.platform import Platform

    platform = Platform.connect(settings)
    signers = dev_signers(platform.deployment.chain_id, 30)
    with console.status("running the receivables story …") as status:
        story = run_story(platform, signers, progress=lambda msg: status.update(msg))
    table = Table(title="跨境金融服务平台 demo story: receivables, policy and logistics financing")
    table.add_column("who")
    table.add_column("did")
    table.add_column("outcome")
    for who, did, outcome in story.lines:
        style = "red" if outcome.startswith("refused") else None
        table.add_row(who, did, outcome, style=style)
    console.print(table)
    names = write_names(settings.devnet_dir / "demo-names.csv")
    console.print(
        f"statistics: [bold]crossborder report firm-stats --regulator --names {names}[/]"
        " (under `make up` the indexer follows the chain; else run `crossborder index` first)"
    )
    return platform


GATEWAY_PORT = DEFAULT_PORT  # `crossborder serve`'s
UP_TOKEN_LABEL = "crossborder up: "


@cli.command("up")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=GATEWAY_PORT,
    show_default=True,
    envvar="CROSSBORDER_GATEWAY_PORT",
    help="the gateway and web console's port on 127.0.0.1 (another free one when taken)",
)
@friendly
def up_cmd(port: int) -> None:
    """Starts the devnet, deploys, runs the demo, follows it with the indexer and serves the
    gateway with its web console (with a token per demo operator) until Ctrl-C.

    The node, the indexer and the gateway are watched: an indexer or gateway that dies is said
    and restarted; if the node goes, or a part keeps dying, it says so and exits non-zero.
    """
    from .up import GatewayProcess, Supervisor

    settings = get_settings()
    net = _devnet(settings)
    started = False
    if not net.is_running():
        net.start(detach=False)
        started = True
    stop = threading.Event()
    supervisor: Supervisor | None = None
    gateway: GatewayProcess | None = None
    try:
        _ensure_deployed(settings)
        platform = _run_demo(settings)
        data = _gateway_dir(settings)
        gateway = GatewayProcess(
            _free(port), data, _store_url(settings), data / "serve.log", extra=("--poll", "0.5")
        )
        supervisor = Supervisor(net, _indexer_job(settings), _shout, gateway=gateway)
        supervisor.start(stop)
        console.print(f"indexer following into {_store_url(settings)}")
        gateway.start()
        gateway.wait_ready()
        _show_console(gateway.url, _demo_tokens(platform, data), data / "demo-tokens.txt")
        console.print(f"[green]platform up[/] at {net.url} — Ctrl-C to stop")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        supervisor.watch(stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if gateway is not None:
            gateway.stop()
        if supervisor is not None:
            supervisor.join(timeout=30)
        if started:
            running = net.is_running()
            net.stop()
            if running:
                console.print("devnet stopped (state saved)")


def _gateway_dir(settings: Settings) -> Path:
    """The gateway's folder, as `crossborder serve` and `crossborder token` find it."""
    import os

    named = os.environ.get("CROSSBORDER_GATEWAY_DIR")
    return Path(named) if named else settings.devnet_dir / "gateway"


def _free(port: int) -> int:
    """``port``, or a free one when it is taken (said)."""
    import socket

    from ..chain.devnet import free_port

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            return port
    other = free_port()
    console.print(f"[yellow]port {port} is taken:[/] the gateway listens on {other} instead")
    return other


def _demo_tokens(platform: Platform, data: Path) -> list[tuple[str, str, str]]:
    """A fresh gateway token for each demo operator the console serves (the regulator's admin,
    each bank's operators): (who, role, token). The tokens of the last `up` are revoked; they
    are also written, readable by the owner only, to ``data/demo-tokens.txt``."""
    import os

    from ..api.store import GatewayStore
    from ..demo import onboard
    from ..domain.codes import STAGE_LABELS, Stage

    signers = dev_signers(platform.deployment.chain_id, 30)
    demo = onboard(platform, signers)  # onboarded already: who is who, nothing sent
    operators: list[tuple[str, str, Signer]] = [
        ("外汇局 Regulator", "监管统计 statistics, drill-down", signers[0])
    ]
    for name, bank in demo.banks.items():
        for stage, signer in bank.signers.items():
            role = STAGE_LABELS[stage]
            if stage is Stage.APPLY:  # the senior operator also reviews others' applications
                role = "代申请, 审核 apply on behalf, review"
            operators.append((name, role, signer))
        operators.append((name, STAGE_LABELS[Stage.STATISTICS], bank.statistician))
    store = GatewayStore(data / "gateway.sqlite")
    try:
        for old in store.tokens():
            if old.label.startswith(UP_TOKEN_LABEL) and old.revoked_at is None:
                store.revoke(old.id)
        tokens = [
            (who, role, store.issue(signer.address, f"{UP_TOKEN_LABEL}{who} {role}")[1])
            for who, role, signer in operators
        ]
    finally:
        store.close()
    listing = data / "demo-tokens.txt"
    with os.fdopen(
        os.open(listing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8"
    ) as out:
        out.write("".join(f"{w}\t{r}\t{t}\n" for w, r, t in tokens))
    os.chmod(listing, 0o600)  # a file left by an older version keeps its mode otherwise
    return tokens


def _show_console(url: str, tokens: list[tuple[str, str, str]], listing: Path) -> None:
    table = Table(title=f"web console 控制台: {url}/console/ — sign in with a token (登录令牌)")
    table.add_column("who")
    table.add_column("role 角色")
    table.add_column("token", no_wrap=True, overflow="ignore")
    for who, role, secret in tokens:
        table.add_row(who, role, secret)
    console.print(table)
    console.print(
        f"gateway (REST API) at {url}/v1 · web console at [bold]{url}/console/[/]"
        f" · tokens also in {escape(str(listing))}"
    )


def _shout(message: str) -> None:
    from .common import err_console

    err_console.print(f"[bold red]{escape(message)}[/]", soft_wrap=True)


def _store_url(settings: Settings) -> str:
    from ..indexer.store import default_db_url

    return settings.db_url or default_db_url(settings.devnet_dir)


def _indexer_job(settings: Settings) -> Callable[[threading.Event], None]:
    """The indexer, following the devnet into the default store (so reports are current), as
    a job the supervisor can start again."""
    from ..indexer import Indexer, IndexerConfig, Store

    def follow(stop: threading.Event) -> None:
        rpc = node_rpc(settings)
        store = Store(_store_url(settings))
        indexer: Indexer | None = None
        try:
            deployment = Deployment.load(settings.deployment_path, rpc.chain_id())
            abis = load_manifest(settings.build_file)
            config = IndexerConfig(confirmations=settings.confirmations)
            indexer = Indexer(rpc, deployment, abis, store, config)
            indexer.run(follow=True, stop=stop)
        finally:
            if indexer is not None:
                indexer.close()
            store.close()
            rpc.close()

    return follow


KINDS = {
    kind.fingerprint_kind + ("-import" if t is DocumentType.IMPORT_DECLARATION else ""): t
    for t, kind in DOCUMENT_KINDS.items()
}


@cli.command("query")
@click.argument("numbers", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(sorted(KINDS)),
    default="customs-declaration",
    show_default=True,
    help="the documents' kind",
)
@friendly
def query_cmd(numbers: tuple[str, ...], kind: str) -> None:
    """银行间融资信息互动: is each document used, how much is left, since when."""
    from ..indexer.schema import REPORTING_TZ_LABEL, REPORTING_TZ_OFFSET, reporting_time
    from ..services.documents import Screening
    from ..services.platform import Platform

    platform = Platform.connect()
    doc_type = KINDS[kind]
    fingerprints = [document_fingerprint(platform.fingerprints, doc_type, n) for n in numbers]
    infos = Screening(platform).documents(doc_type, fingerprints)
    table = Table(
        title=f"inter-bank financing information — {DOCUMENT_KINDS[doc_type].label}",
        caption=f"times in {REPORTING_TZ_LABEL}",
    )
    for column in ("document", "status", "face", "left", f"used since ({REPORTING_TZ_OFFSET})"):
        table.add_column(column)
    for number, info in zip(numbers, infos, strict=True):
        table.add_row(
            number,
            info.status.name.lower(),
            str(info.face or "-"),
            str(info.remaining or "-"),
            reporting_time(info.used_since) if info.used_since else "-",
        )
    console.print(table)


# -- the reporting store: indexer and reports ------------------------------------------------------

from ..indexer.command import index_cmd  # noqa: E402
from ..reports.command import report_cmd  # noqa: E402
from .consent import consent  # noqa: E402
from .ids import ids  # noqa: E402
from .payment import payment  # noqa: E402
from .serve import serve, token  # noqa: E402

cli.add_command(index_cmd)
cli.add_command(report_cmd)
cli.add_command(consent)
cli.add_command(ids)
cli.add_command(payment)
cli.add_command(serve)
cli.add_command(token)
cli.add_command(credit)


# -- the consortium network (a geth node per institution) ------------------------------------------

from .network import network  # noqa: E402

cli.add_command(network)
