"""The deployment file: contract addresses and chain id, written by deploy, read by everything."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import NotDeployed


class ScenarioDeployment(BaseModel):
    """One scenario contract: its compiled name, address and deployment block."""

    contract: str
    address: str
    block: int


class Deployment(BaseModel):
    """Where the platform's contracts live on one chain.

    Attributes:
        scenarios: Scenario short name (``ScenarioSpec.name``) to its contract.
        payments: Payment scenario short name (``PaymentSpec.name``) to its contract.
    """

    chain_id: int
    block: int
    consortium: str
    ledger: str
    regulator: str
    scenarios: dict[str, ScenarioDeployment]
    payments: dict[str, ScenarioDeployment] = {}
    # Contracts beside the financing scenarios, by compiled name (credit query and matching).
    services: dict[str, ScenarioDeployment] = {}

    @property
    def contracts(self) -> dict[str, str]:
        """Contract name (as compiled) to address."""
        out = {"Consortium": self.consortium, "DocumentLedger": self.ledger}
        out.update({s.contract: s.address for s in self.scenarios.values()})
        out.update({s.contract: s.address for s in self.payments.values()})
        out.update({s.contract: s.address for s in self.services.values()})
        return out

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, chain_id: int | None = None) -> Deployment:
        """Reads a deployment file.

        Raises:
            NotDeployed: No file, a malformed or incomplete one, or one for another chain.
        """
        if not path.exists():
            raise NotDeployed(f"no deployment file at {path}: run `crossborder deploy` first")
        try:
            deployment = cls.model_validate_json(path.read_text())
        except (ValidationError, OSError, UnicodeDecodeError):
            raise NotDeployed(
                f"{path} is not a complete deployment file: deploy again (`crossborder deploy`)"
            ) from None
        if chain_id is not None and deployment.chain_id != chain_id:
            raise NotDeployed(
                f"{path} is for chain {deployment.chain_id}, but the node is chain {chain_id}"
            )
        return deployment
