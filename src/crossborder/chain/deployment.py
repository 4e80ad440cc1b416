"""The deployment file: contract addresses and chain id, written by deploy, read by everything."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ..errors import NotDeployed


class Deployment(BaseModel):
    """Where the platform's contracts live on one chain."""

    chain_id: int
    block: int
    consortium: str
    ledger: str
    receivables: str
    regulator: str

    @property
    def contracts(self) -> dict[str, str]:
        """Contract name (as compiled) to address."""
        return {
            "Consortium": self.consortium,
            "DocumentLedger": self.ledger,
            "ReceivablesFinancing": self.receivables,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, chain_id: int | None = None) -> Deployment:
        if not path.exists():
            raise NotDeployed(f"no deployment file at {path}: run `crossborder deploy` first")
        deployment = cls.model_validate_json(path.read_text())
        if chain_id is not None and deployment.chain_id != chain_id:
            raise NotDeployed(
                f"{path} is for chain {deployment.chain_id}, but the node is chain {chain_id}"
            )
        return deployment
