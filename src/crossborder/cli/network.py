"""``crossborder network``: the consortium's geth nodes, one per institution, on loopback."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..network.layout import AUTH_PORT, DEFAULT_CHAIN_ID, DEFAULT_NODES, HTTP_PORT, P2P_PORT
from ..network.network import DEFAULT_DIR, Network
from ..network.node import NodeStatus
from .common import console, err_console, friendly

MIB = 1024 * 1024
PORT = click.IntRange(1024, 65535 - 32)


def _network(ctx: click.Context) -> Network:
    return Network(ctx.obj["dir"])


@click.group()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DIR,
    envvar="CROSSBORDER_NETWORK_DIR",
    show_default=True,
    help="the network's folder (keys, genesis, node data, logs)",
)
@click.pass_context
def network(ctx: click.Context, folder: Path) -> None:
    """The consortium network: a geth node per institution (Clique, the stand-in for Besu QBFT)."""
    ctx.obj = {"dir": folder}


@network.command("init")
@click.option("--nodes", type=click.IntRange(1, 32), default=DEFAULT_NODES, show_default=True)
@click.option("--chain-id", type=click.IntRange(1), default=DEFAULT_CHAIN_ID, show_default=True)
@click.option("--http-port", type=PORT, default=HTTP_PORT, show_default=True, help="node i: +i")
@click.option("--p2p-port", type=PORT, default=P2P_PORT, show_default=True, help="node i: +i")
@click.option("--auth-port", type=PORT, default=AUTH_PORT, show_default=True, help="node i: +i")
@click.pass_context
@friendly
def init_cmd(
    ctx: click.Context, nodes: int, chain_id: int, http_port: int, p2p_port: int, auth_port: int
) -> None:
    """Creates each institution's node key and sealer keystore, the regulator's keystores and
    the genesis (nothing is started). Every port is on 127.0.0.1."""
    ports = [(http_port + i, p2p_port + i, auth_port + i) for i in range(nodes)]
    net = Network.init(ctx.obj["dir"], nodes, chain_id=chain_id, ports=ports)
    for node in net.spec.nodes:
        console.print(f"{node.name}: sealer {node.signer}, RPC {node.url}, p2p {node.p2p_port}")
    console.print(f"regulator {net.spec.regulator} · chain {chain_id} · in {net.layout.root}")


@network.command("start")
@click.argument("nodes", nargs=-1)
@click.pass_context
@friendly
def start_cmd(ctx: click.Context, nodes: tuple[str, ...]) -> None:
    """Starts the named nodes (all when none is named), detached; they seal once peered and
    caught up."""
    net = _network(ctx)
    net.start(nodes)
    _show(net.status())


@network.command("stop")
@click.argument("nodes", nargs=-1)
@click.pass_context
@friendly
def stop_cmd(ctx: click.Context, nodes: tuple[str, ...]) -> None:
    """Stops the named nodes (all when none is named)."""
    net = _network(ctx)
    net.stop(nodes)
    console.print(f"stopped {', '.join(nodes) or 'every node'}")


@network.command("restart")
@click.argument("nodes", nargs=-1, required=True)
@click.pass_context
@friendly
def restart_cmd(ctx: click.Context, nodes: tuple[str, ...]) -> None:
    """Stops (if running) and starts the named nodes: a killed node catches up from its peers."""
    net = _network(ctx)
    net.stop(nodes)
    net.start(nodes)
    _show(net.status())


@network.command("kill")
@click.argument("node")
@click.pass_context
@friendly
def kill_cmd(ctx: click.Context, node: str) -> None:
    """Kills NODE's geth with SIGKILL, as a crash would (status reports it dead until restart)."""
    _network(ctx).node(node).kill()
    console.print(f"killed {node}")


@network.command("status")
@click.pass_context
@friendly
def status_cmd(ctx: click.Context) -> None:
    """Each node's head block, peers, sealer, pid and memory; exits 1 when a node has died."""
    statuses = _network(ctx).status()
    _show(statuses)
    dead = [s for s in statuses if s.dead]
    for status in dead:
        err_console.print(
            f"[bold red]{status.name} is DOWN:[/] its geth (pid {status.pid}) exited without"
            f" `network stop` (log: {escape(str(_network(ctx).layout.log_file(status.name)))})",
            soft_wrap=True,
        )
    if dead:
        sys.exit(1)


@network.command("deploy")
@click.option("--via", default="node1", show_default=True, help="the regulator's node")
@click.pass_context
@friendly
def deploy_cmd(ctx: click.Context, via: str) -> None:
    """The regulator deploys the platform (its admin key from its keystore) through its node."""
    net = _network(ctx)
    deployment = net.deploy(via)
    for name, address in deployment.contracts.items():
        console.print(f"{name}: {address}")
    console.print(f"deployment file: {net.layout.deployment_file}")


@network.command("env")
@click.argument("node")
@click.pass_context
@friendly
def env_cmd(ctx: click.Context, node: str) -> None:
    """Shell exports that point an institution's services and indexer at its own node:
    eval "$(crossborder network env node2)"."""
    net = _network(ctx)
    for key, value in net.env(node).items():
        click.echo(f"export {key}={shlex.quote(value)}")
    here = shlex.quote(str(net.layout.root))
    click.echo(
        f'export CROSSBORDER_CONSORTIUM_KEY="$(crossborder network --dir {here} consortium-key)"'
    )


@network.command("consortium-key")
@click.pass_context
@friendly
def consortium_key_cmd(ctx: click.Context) -> None:
    """Prints the consortium's fingerprint key, unlocked from its keystore (for `env`)."""
    click.echo(_network(ctx).layout.consortium_key().decode())


def _show(statuses: list[NodeStatus]) -> None:
    table = Table(title="consortium network")
    for column in ("node", "state", "head", "hash", "peers", "sealer", "pid", "RSS MiB", "RPC"):
        table.add_column(column)
    for s in statuses:
        state = "[bold red]DOWN[/]" if s.dead else "up" if s.running else "stopped"
        if s.running and s.head is None:
            state = "[yellow]silent[/]"
        table.add_row(
            s.name,
            state,
            "-" if s.head is None else str(s.head),
            (s.head_hash or "-")[:12],
            "-" if s.peers is None else str(s.peers),
            s.signer,
            "-" if s.pid is None else str(s.pid),
            "-" if s.rss is None else f"{s.rss / MIB:.0f}",
            s.url,
        )
    console.print(table)
