"""``crossborder serve`` (the REST gateway) and ``crossborder token`` (its API tokens)."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from rich.markup import escape

from ..errors import InvalidInput
from ..settings import Settings, get_settings
from .common import console, err_console, friendly, node_rpc

DEFAULT_PORT = 8600


def _data_dir(settings: Settings, data: Path | None) -> Path:
    return data if data is not None else settings.devnet_dir / "gateway"


def _reports_url(settings: Settings, db: str | None) -> str | None:
    """The indexer's store: ``--db``, else ``CROSSBORDER_DB_URL``, else the devnet's own store
    when it exists (``make up`` indexes into it)."""
    from ..indexer.store import default_db_url

    if db or settings.db_url:
        return db or settings.db_url
    devnet_store = settings.devnet_dir / "index.sqlite"
    return default_db_url(settings.devnet_dir) if devnet_store.is_file() else None


def _keyring_source(keystores: Path | None, dev: bool) -> None:
    if (keystores is None) == (not dev):
        raise InvalidInput("say whose keys the gateway holds: --keystores DIR, or --dev")


data_option = click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CROSSBORDER_GATEWAY_DIR",
    help="the gateway's folder (tokens, idempotency keys) [default: .devnet/gateway]",
)
keystores_option = click.option(
    "--keystores",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CROSSBORDER_GATEWAY_KEYSTORES",
    help="folder of the institution's operator keystores (passphrase:"
    " $CROSSBORDER_KEYSTORE_PASSPHRASE)",
)
dev_option = click.option(
    "--dev", is_flag=True, help="hold the devnet's public dev keys instead (devnet only)"
)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@keystores_option
@dev_option
@data_option
@click.option(
    "--db", help="the indexer's store (reports, histories) [default: $CROSSBORDER_DB_URL]"
)
@click.option(
    "--poll",
    type=click.FloatRange(0.05, 60),
    default=0.5,
    show_default=True,
    help="seconds between event polls of a caught-up stream",
)
@click.option(
    "--write-openapi",
    type=click.Path(path_type=Path, dir_okay=False),
    help="write the OpenAPI document to this file and exit",
)
@friendly
def serve(
    host: str,
    port: int,
    keystores: Path | None,
    dev: bool,
    data: Path | None,
    db: str | None,
    poll: float,
    write_openapi: Path | None,
) -> None:
    """Runs the REST gateway of one institution (FastAPI on uvicorn).

    It signs with the institution's operator keys; API clients authenticate with the bearer
    tokens of `crossborder token issue`. Node, deployment and consortium key come from the
    settings (CROSSBORDER_RPC_URL, …), confirmations from CROSSBORDER_CONFIRMATIONS.
    """
    from ..api.app import create_app
    from ..api.app import write_openapi as write_document

    if write_openapi is not None:
        write_document(write_openapi)
        console.print(f"OpenAPI document written to {escape(str(write_openapi))}")
        return
    import uvicorn

    from ..api.gateway import Gateway
    from ..api.keyring import Keyring
    from ..api.store import GatewayStore
    from ..chain.idempotency import IdempotencyStore
    from ..chain.sender import TransactionSender
    from ..services.platform import Platform

    _keyring_source(keystores, dev)
    settings = get_settings()
    folder = _data_dir(settings, data)
    folder.mkdir(parents=True, exist_ok=True)
    rpc = node_rpc(settings)  # one endpoint, or several of the chain to fail over between
    chain_id = rpc.chain_id()
    keyring = Keyring.dev(chain_id) if keystores is None else Keyring.from_keystores(keystores)
    sender = TransactionSender(
        rpc, chain_id, store=IdempotencyStore(folder / "sender.sqlite"), gas=settings.gas_policy
    )
    sender.recover()  # what a killed gateway signed and recorded but maybe never sent
    reports_url = _reports_url(settings, db)
    gateway = Gateway(
        Platform.connect(settings, sender=sender),
        keyring,
        GatewayStore(folder / "gateway.sqlite"),
        reports_url=reports_url,
        confirmations=settings.confirmations,
        poll=poll,
    )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    console.print(
        f"gateway for {len(keyring)} operator account(s) on chain {chain_id} at"
        f" http://{host}:{port} (reports: {'store' if reports_url else 'none, --db to add'})"
    )
    try:
        uvicorn.run(
            create_app(gateway),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=5,  # event streams never end by themselves
        )
    finally:
        gateway.close()


@click.group("token")
def token() -> None:
    """The gateway's API tokens: one per operator account, stored hashed."""


@token.command("issue")
@click.option("--account", required=True, help="the operator account the token acts as")
@click.option("--label", default="", help="a note shown by `token list`")
@keystores_option
@dev_option
@data_option
@friendly
def token_issue(
    account: str, label: str, keystores: Path | None, dev: bool, data: Path | None
) -> None:
    """Issues a token for an operator account whose key the gateway holds; prints it once."""
    from ..api.keyring import keystore_addresses
    from ..api.store import GatewayStore

    _keyring_source(keystores, dev)
    settings = get_settings()
    if keystores is not None:
        accounts = keystore_addresses(keystores)
    else:
        from ..chain.signers import dev_signers

        chain_id = node_rpc(settings).chain_id()
        accounts = {s.address.lower() for s in dev_signers(chain_id, 30)}
    if account.lower() not in accounts:
        raise InvalidInput(f"the gateway holds no key for {account}: no token issued")
    store = GatewayStore(_data_dir(settings, data) / "gateway.sqlite")
    try:
        token_id, secret = store.issue(account, label)
    finally:
        store.close()
    err_console.print(f"token {token_id} for {account} (shown once: keep it secret)")
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id", required=False)
@click.option("--account", help="revoke every token of this account")
@data_option
@friendly
def token_revoke(token_id: str | None, account: str | None, data: Path | None) -> None:
    """Revokes the token TOKEN_ID (see `token list`), or every token of --account."""
    from ..api.store import GatewayStore

    store = GatewayStore(_data_dir(get_settings(), data) / "gateway.sqlite")
    try:
        count = store.revoke(token_id, account)
    finally:
        store.close()
    if count == 0:
        raise InvalidInput("no live token matches: nothing revoked")
    console.print(f"{count} token(s) revoked")


@token.command("list")
@data_option
@friendly
def token_list(data: Path | None) -> None:
    """Lists the tokens (never the tokens themselves): id, account, label, status."""
    import datetime as dt

    from ..api.store import GatewayStore

    store = GatewayStore(_data_dir(get_settings(), data) / "gateway.sqlite")
    try:
        tokens = store.tokens()
    finally:
        store.close()
    click.echo(f"{'id':12}  {'account':42}  {'status':7}  {'issued (UTC)':16}  label")
    for t in tokens:
        issued = dt.datetime.fromtimestamp(t.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
        status = "revoked" if t.revoked_at else "live"
        click.echo(f"{t.id:12}  {t.account:42}  {status:7}  {issued:16}  {t.label}")
