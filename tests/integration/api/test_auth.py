"""Bearer tokens: one per operator account, stored hashed, revocable; 401 without a live one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from crossborder.api.store import GatewayStore, token_hash
from crossborder.cli.main import cli
from crossborder.domain.codes import Stage
from crossborder.settings import get_settings

from .conftest import World, problem

pytestmark = pytest.mark.integration
STATUS = "/v1/documents/export-declaration/531020260000000123"


def test_a_live_token_is_accepted(world: World) -> None:
    with world.client(world.bank("Bank A", Stage.APPLY)) as api:
        assert api.get(STATUS).status_code == 200


def test_no_token_is_401(world: World) -> None:
    with world.client() as api:
        refused = api.get(STATUS)
    problem(refused, 401, "unauthenticated")
    assert refused.headers["www-authenticate"] == "Bearer"


def test_a_wrong_token_is_401(world: World) -> None:
    with httpx.Client(base_url=world.url, headers={"Authorization": "Bearer cbt_nope"}) as api:
        problem(api.get(STATUS), 401, "unauthenticated")
    with httpx.Client(base_url=world.url, headers={"Authorization": "Basic abc"}) as api:
        problem(api.get(STATUS), 401, "unauthenticated")


def test_a_revoked_token_is_401_from_the_next_request_on(world: World) -> None:
    account = world.bank("Bank A", Stage.REVIEW).address
    token_id, token = world.gateway.store.issue(account, "to revoke")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=world.url, headers=headers) as api:
        assert api.get(STATUS).status_code == 200
        assert world.gateway.store.revoke(token_id) == 1
        problem(api.get(STATUS), 401, "unauthenticated")


def test_tokens_are_stored_hashed(world: World) -> None:
    account = world.bank("Bank A", Stage.REVIEW).address
    _, token = world.gateway.store.issue(account)
    raw = world.gateway.store.path.read_bytes()
    assert token.encode() not in raw
    assert world.gateway.store.account_of(token) is not None
    assert len(token_hash(token)) == 64


@pytest.fixture
def settings_for(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's settings name the test node."""
    monkeypatch.setenv("CROSSBORDER_RPC_URL", world.node.url)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_token_commands(world: World, tmp_path: Path, settings_for: None) -> None:
    account = world.bank("Bank B", Stage.ACCEPT).address
    runner = CliRunner()
    data = ["--data", str(tmp_path)]
    issued = runner.invoke(cli, ["token", "issue", "--account", account, "--dev", *data])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    store = GatewayStore(tmp_path / "gateway.sqlite")
    try:
        assert store.account_of(token) == (store.tokens()[0].id, account.lower())
        listed = runner.invoke(cli, ["token", "list", *data])
        assert account.lower() in listed.output and "live" in listed.output
        assert token not in listed.output
        revoked = runner.invoke(cli, ["token", "revoke", "--account", account, *data])
        assert revoked.exit_code == 0, revoked.output
        assert store.account_of(token) is None
        again = runner.invoke(cli, ["token", "revoke", "--account", account, *data])
        assert again.exit_code == 1
        stranger = "0x" + "12" * 20
        refused = runner.invoke(cli, ["token", "issue", "--account", stranger, "--dev", *data])
        assert refused.exit_code == 1
        assert "holds no key" in refused.output
    finally:
        store.close()


def test_the_gateway_unlocks_a_keystore_folder(tmp_path: Path) -> None:
    from eth_account import Account

    from crossborder.api.keyring import Keyring, keystore_addresses
    from crossborder.chain.signers import write_keystore
    from crossborder.errors import AccessDenied, InvalidInput

    account = Account.create()
    write_keystore(account, tmp_path / "op.json", "a passphrase", kdf="pbkdf2", iterations=2)
    assert keystore_addresses(tmp_path) == {account.address.lower()}
    keyring = Keyring.from_keystores(tmp_path, "a passphrase")
    assert keyring.signer(account.address).address == account.address
    with pytest.raises(AccessDenied):
        keyring.signer("0x" + "00" * 20)
    with pytest.raises(InvalidInput, match="wrong passphrase"):
        Keyring.from_keystores(tmp_path, "not it")
    with pytest.raises(InvalidInput, match="no keystore"):
        Keyring.from_keystores(tmp_path / "empty", "a passphrase")
