"""Settings, from the environment (prefix ``CROSSBORDER_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .chain.pricing import DEFAULT_TIP, GasMode, GasPolicy
from .domain.ids import DirectoryIds, IdBook, ParticipantIds

REPO_ROOT = Path(__file__).resolve().parents[2]

# Well-known and public: only ever used on the project's own devnet (see Settings.is_devnet).
DEVNET_CONSORTIUM_KEY = "crossborder-devnet-consortium-key-NOT-FOR-PRODUCTION"
DEVNET_DIRECTORY_KEY = "crossborder-devnet-directory-key-NOT-FOR-PRODUCTION"
# The chain ids of Anvil and Ganache. Not a devnet signal: geth --dev and many private chains
# use them too.
DEVNET_CHAIN_IDS = frozenset({31337, 1337})


class Settings(BaseSettings):
    """Where the node is, where the deployment file lives, and the consortium key."""

    model_config = SettingsConfigDict(env_prefix="CROSSBORDER_", env_file=".env", extra="ignore")

    rpc_url: str = Field(
        default="http://127.0.0.1:8545",
        description="the node's JSON-RPC URL, or several endpoints of one chain, comma-separated"
        " (the SDK fails over between them)",
    )
    devnet_dir: Path = REPO_ROOT / ".devnet"
    devnet_port: int = 8545
    devnet_block_time: float = Field(default=1.0, description="interval mining, in seconds")
    devnet_prune_history: bool = Field(
        default=False,
        description=(
            "start the devnet's Anvil with --prune-history: no copy of the whole state per"
            " block (national-scale data; calls at past blocks are refused)"
        ),
    )
    deployment_file: Path | None = None
    build_file: Path | None = Field(
        default=None,
        description="compiled contracts; default: the ones shipped in the package",
    )
    consortium_key: SecretStr | None = Field(
        default=None, description="keyed-fingerprint secret shared by consortium members"
    )
    directory_key: SecretStr | None = Field(
        default=None,
        description="the regulator's directory key: participant ids (only the directory holds it)",
    )
    id_book: Path | None = Field(
        default=None,
        description="a member's book of the participant ids it knows (JSON); default: devnet_dir",
    )
    confirmations: int = Field(
        default=0,
        ge=0,
        description="blocks on top of a transaction's before it counts as confirmed",
    )
    rpc_max_lag: int = Field(
        default=5, ge=0, description="blocks an endpoint may trail the best one and stay healthy"
    )
    rpc_min_peers: int = Field(
        default=0, ge=0, description="peers an endpoint needs to be healthy (if it reports them)"
    )
    idempotency_db: Path | None = Field(
        default=None,
        description="SQLite file of idempotency keys and the signed bytes recorded under them,"
        " so that a restarted process never submits twice; in memory when unset",
    )
    db_url: str | None = None
    devnet: bool = Field(
        default=False,
        description="the node is this project's own throwaway devnet: allows the public dev keys"
        " and the published consortium key (a devnet started by `crossborder devnet start` or"
        " `crossborder up` is recognised without it)",
    )
    gas_price_mode: GasMode = Field(
        default="eip1559",
        description="eip1559: base fee + tip (type-2); fixed: legacy at gas_price; free: price 0",
    )
    gas_tip: int = Field(default=DEFAULT_TIP, ge=0, description="wei per gas to the producer")
    gas_price: int | None = Field(default=None, ge=0, description="legacy wei per gas (fixed)")
    gas_max_fee: int | None = Field(default=None, ge=0, description="cap on maxFeePerGas, wei")

    @model_validator(mode="after")
    def _gas_policy_fits(self) -> Settings:
        self.gas_policy  # noqa: B018 - raises InvalidInput (a ValueError) when inconsistent
        return self

    @property
    def rpc_urls(self) -> list[str]:
        """The node endpoints of ``rpc_url`` (one, or several comma-separated)."""
        from .chain.rpc import rpc_urls

        return rpc_urls(self.rpc_url)

    @property
    def gas_policy(self) -> GasPolicy:
        """How transactions are priced (``CROSSBORDER_GAS_PRICE_MODE``, ``_TIP``, ``_PRICE``,
        ``_MAX_FEE``)."""
        return GasPolicy(
            mode=self.gas_price_mode,
            tip=self.gas_tip,
            price=self.gas_price,
            max_fee=self.gas_max_fee,
        )

    def is_devnet(self, chain_id: int) -> bool:
        """Whether the node at ``rpc_url`` is this project's own devnet, explicitly.

        ``CROSSBORDER_DEVNET=1`` says so; so does the marker a ``Devnet`` writes in
        ``devnet_dir`` while its Anvil runs at ``rpc_url`` with this chain id. Never the chain
        id alone: geth --dev, Ganache and many private chains use 1337 or 31337.
        """
        if self.devnet:
            return True
        from .chain.devnet import started_devnet

        return any(started_devnet(self.devnet_dir, url, chain_id) for url in self.rpc_urls)

    @property
    def deployment_path(self) -> Path:
        return self.deployment_file or self.devnet_dir / "deployment.json"

    def consortium_key_for(self, chain_id: int, *, devnet: bool | None = None) -> bytes:
        """The consortium key; the published devnet key only on the project's own devnet.

        Args:
            chain_id: The chain the key is for.
            devnet: Whether that chain is the project's devnet; None asks ``is_devnet``.
        """
        if self.consortium_key is not None:
            return self.consortium_key.get_secret_value().encode()
        if self.is_devnet(chain_id) if devnet is None else devnet:
            return DEVNET_CONSORTIUM_KEY.encode()
        from .errors import InvalidInput

        raise InvalidInput(
            "set CROSSBORDER_CONSORTIUM_KEY: it is required outside the project's own devnet"
            " (CROSSBORDER_DEVNET=1 declares a throwaway devnet)"
        )

    def directory_key_for(self, chain_id: int, *, devnet: bool | None = None) -> bytes | None:
        """The regulator's directory key; the published devnet one only on the project's own
        devnet; None for a member, which resolves ids through its id book."""
        if self.directory_key is not None:
            return self.directory_key.get_secret_value().encode()
        if self.is_devnet(chain_id) if devnet is None else devnet:
            return DEVNET_DIRECTORY_KEY.encode()
        return None

    def participant_ids(self, chain_id: int) -> ParticipantIds:
        """How this process names participants: the directory when it holds the directory key
        (the regulator, or anyone on the devnet), else the member's id book."""
        key = self.directory_key_for(chain_id)
        if key is not None:
            return DirectoryIds(key)
        return IdBook(self.id_book or self.devnet_dir / "ids.json")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
