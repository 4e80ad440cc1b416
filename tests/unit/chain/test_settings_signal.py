"""Settings: the gas policy from the environment, and the explicit devnet signal."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from crossborder.chain.devnet import marker_path, started_devnet
from crossborder.chain.pricing import DEFAULT_TIP, GasPolicy
from crossborder.chain.signers import dev_signers
from crossborder.errors import InvalidInput
from crossborder.settings import DEVNET_CONSORTIUM_KEY, Settings, get_settings

URL = "http://127.0.0.1:8545"


@pytest.fixture
def no_signal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No CROSSBORDER_DEVNET, no consortium key, an empty devnet dir: only a chain id."""
    monkeypatch.delenv("CROSSBORDER_DEVNET", raising=False)
    monkeypatch.delenv("CROSSBORDER_CONSORTIUM_KEY", raising=False)
    monkeypatch.setenv("CROSSBORDER_DEVNET_DIR", str(tmp_path))
    monkeypatch.setenv("CROSSBORDER_RPC_URL", URL)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


# -- gas ------------------------------------------------------------------------------------------


def test_gas_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().gas_policy == GasPolicy(tip=DEFAULT_TIP)
    monkeypatch.setenv("CROSSBORDER_GAS_TIP", "2000000000")
    monkeypatch.setenv("CROSSBORDER_GAS_MAX_FEE", "90000000000")
    assert Settings().gas_policy == GasPolicy(tip=2 * 10**9, max_fee=90 * 10**9)
    monkeypatch.setenv("CROSSBORDER_GAS_PRICE_MODE", "fixed")
    monkeypatch.setenv("CROSSBORDER_GAS_PRICE", "5")
    assert Settings().gas_policy.mode == "fixed" and Settings().gas_policy.price == 5
    monkeypatch.setenv("CROSSBORDER_GAS_PRICE_MODE", "free")
    monkeypatch.delenv("CROSSBORDER_GAS_PRICE")
    assert Settings().gas_policy.mode == "free"


@pytest.mark.parametrize(
    "env",
    [
        {"CROSSBORDER_GAS_PRICE_MODE": "fixed"},  # no price
        {"CROSSBORDER_GAS_PRICE_MODE": "free", "CROSSBORDER_GAS_PRICE": "3"},
        {"CROSSBORDER_GAS_PRICE_MODE": "legacy"},
        {"CROSSBORDER_GAS_TIP": "-1"},
    ],
)
def test_inconsistent_gas_settings_fail_at_load(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


# -- the devnet signal ----------------------------------------------------------------------------


@pytest.mark.parametrize("chain_id", [31337, 1337])
def test_a_devnet_chain_id_alone_unlocks_nothing(no_signal: Path, chain_id: int) -> None:
    settings = get_settings()
    assert not settings.is_devnet(chain_id)
    with pytest.raises(InvalidInput, match="only for the local devnet"):
        dev_signers(chain_id)
    with pytest.raises(InvalidInput, match="CROSSBORDER_CONSORTIUM_KEY"):
        settings.consortium_key_for(chain_id)


def test_the_explicit_setting_unlocks_the_devnet_keys(
    no_signal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSBORDER_DEVNET", "1")
    get_settings.cache_clear()
    assert get_settings().is_devnet(4242)  # any chain id: the signal is the setting
    assert len(dev_signers(4242, 3)) == 3
    assert get_settings().consortium_key_for(4242) == DEVNET_CONSORTIUM_KEY.encode()
    # A configured consortium key always wins over the published one.
    assert Settings(consortium_key="mine").consortium_key_for(4242) == b"mine"


def test_an_explicit_argument_overrides_the_settings(no_signal: Path) -> None:
    assert len(dev_signers(31337, 2, devnet=True)) == 2
    assert get_settings().consortium_key_for(31337, devnet=True) == DEVNET_CONSORTIUM_KEY.encode()
    with pytest.raises(InvalidInput):
        Settings(devnet=True).consortium_key_for(31337, devnet=False)


def write_marker(directory: Path, pid: int, url: str = URL, chain_id: int = 31337) -> None:
    marker_path(directory).write_text(json.dumps({"url": url, "chain_id": chain_id, "pid": pid}))


def test_a_marker_counts_only_while_its_anvil_runs(no_signal: Path) -> None:
    """A stale marker (the process is gone, or the pid now belongs to another program) and a
    marker for another URL or chain are no signal. A live Anvil's marker is: see
    tests/integration/chain/test_devnet_signal.py."""
    finished = subprocess.run(["true"], check=True)
    assert finished.returncode == 0
    gone = subprocess.Popen(["true"])
    gone.wait()
    write_marker(no_signal, gone.pid)
    assert not started_devnet(no_signal, URL, 31337)
    other = subprocess.Popen(["sleep", "30"])
    try:
        write_marker(no_signal, other.pid)
        assert not started_devnet(no_signal, URL, 31337)  # alive, but not an Anvil
    finally:
        other.kill()
        other.wait()
    marker_path(no_signal).write_text("not json")
    assert not started_devnet(no_signal, URL, 31337)
    assert not get_settings().is_devnet(31337)


# -- several endpoints, confirmations, the idempotency file ----------------------------------------


def test_several_endpoints_in_one_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSBORDER_RPC_URL", f"{URL}, http://127.0.0.1:8546 ,")
    assert Settings().rpc_urls == [URL, "http://127.0.0.1:8546"]
    monkeypatch.setenv("CROSSBORDER_RPC_URL", " , ")
    with pytest.raises(InvalidInput, match="no node URL"):
        Settings().rpc_urls  # noqa: B018


@pytest.mark.parametrize("name", ["CONFIRMATIONS", "RPC_MAX_LAG", "RPC_MIN_PEERS"])
def test_counts_are_never_negative(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(f"CROSSBORDER_{name}", "2")
    assert getattr(Settings(), name.lower()) == 2
    monkeypatch.setenv(f"CROSSBORDER_{name}", "-1")
    with pytest.raises(ValidationError):
        Settings()


def test_the_idempotency_file_is_opt_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CROSSBORDER_IDEMPOTENCY_DB", raising=False)
    assert Settings().idempotency_db is None
    monkeypatch.setenv("CROSSBORDER_IDEMPOTENCY_DB", str(tmp_path / "keys.sqlite"))
    assert Settings().idempotency_db == tmp_path / "keys.sqlite"
