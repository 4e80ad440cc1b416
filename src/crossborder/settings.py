"""Settings, from the environment (prefix ``CROSSBORDER_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]

# Well-known and public: only ever used on a local devnet (chain ids 31337 / 1337).
DEVNET_CONSORTIUM_KEY = "crossborder-devnet-consortium-key-NOT-FOR-PRODUCTION"
DEVNET_CHAIN_IDS = frozenset({31337, 1337})


class Settings(BaseSettings):
    """Where the node is, where the deployment file lives, and the consortium key."""

    model_config = SettingsConfigDict(env_prefix="CROSSBORDER_", env_file=".env", extra="ignore")

    rpc_url: str = "http://127.0.0.1:8545"
    devnet_dir: Path = REPO_ROOT / ".devnet"
    devnet_port: int = 8545
    devnet_block_time: float = Field(default=1.0, description="interval mining, in seconds")
    deployment_file: Path | None = None
    build_file: Path = REPO_ROOT / ".build" / "__local__.json"
    consortium_key: SecretStr | None = Field(
        default=None, description="keyed-fingerprint secret shared by consortium members"
    )
    confirmations: int = 0
    db_url: str | None = None

    @property
    def deployment_path(self) -> Path:
        return self.deployment_file or self.devnet_dir / "deployment.json"

    def consortium_key_for(self, chain_id: int) -> bytes:
        """The consortium key; the public devnet key only on a local devnet."""
        if self.consortium_key is not None:
            return self.consortium_key.get_secret_value().encode()
        if chain_id in DEVNET_CHAIN_IDS:
            return DEVNET_CONSORTIUM_KEY.encode()
        from .errors import InvalidInput

        raise InvalidInput("set CROSSBORDER_CONSORTIUM_KEY: it is required outside the devnet")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
