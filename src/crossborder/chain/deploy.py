"""Deploys the platform's contracts from the compiled project and writes the deployment file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eth_utils.address import to_checksum_address

from ..domain.codes import SCENARIO_TABLE
from ..domain.payments import PAYMENT_SPECS, PaymentSpec
from ..domain.scenarios import SCENARIO_SPECS, ScenarioSpec
from .abi import ContractAbi
from .deployment import Deployment, ScenarioDeployment
from .rpc import RpcClient
from .sender import TransactionSender, TxRequest
from .signers import Signer

# Contracts that take only the consortium (no ledger, no holds): the credit-information query
# and credit matching.
SERVICE_CONTRACTS = ("CreditQuery", "CreditMatching")


def _create(sender: TransactionSender, signer: Signer, abi: ContractAbi, *args: object) -> str:
    receipt = sender.transact(TxRequest(signer=signer, to=None, data=abi.encode_constructor(*args)))
    if not receipt.contract_address:
        raise RuntimeError(f"deploying {abi.name} created no contract")
    return to_checksum_address(receipt.contract_address)


def _create_each(
    rpc: RpcClient,
    sender: TransactionSender,
    signer: Signer,
    abis: dict[str, ContractAbi],
    specs: Sequence[ScenarioSpec | PaymentSpec],
    consortium: str,
    ledger: str,
) -> dict[str, ScenarioDeployment]:
    """Deploys one contract per spec on the consortium and ledger, by short name."""
    out = {}
    for spec in specs:
        block = rpc.block_number()
        address = _create(sender, signer, abis[spec.contract], consortium, ledger)
        out[spec.name] = ScenarioDeployment(contract=spec.contract, address=address, block=block)
    return out


def deploy(
    rpc: RpcClient,
    abis: dict[str, ContractAbi],
    regulator: Signer,
    path: Path,
    sender: TransactionSender | None = None,
) -> Deployment:
    """Deploys the consortium, the ledger, every scenario of ``SCENARIO_SPECS``, every payment
    scenario of ``PAYMENT_SPECS`` and the credit contracts (``SERVICE_CONTRACTS``), writes the
    scenario table's rows (``SCENARIO_TABLE``) and authorises each scenario on the ledger.

    The deploying account becomes the regulator's admin (the consortium owner).
    """
    chain_id = rpc.chain_id()
    sender = sender or TransactionSender(rpc, chain_id)
    start = rpc.block_number()
    consortium = _create(sender, regulator, abis["Consortium"])
    ledger = _create(sender, regulator, abis["DocumentLedger"], consortium)
    scenarios = _create_each(rpc, sender, regulator, abis, SCENARIO_SPECS, consortium, ledger)
    payments = _create_each(rpc, sender, regulator, abis, PAYMENT_SPECS, consortium, ledger)
    services = {}
    for name in SERVICE_CONTRACTS:
        block = rpc.block_number()
        address = _create(sender, regulator, abis[name], consortium)
        services[name] = ScenarioDeployment(contract=name, address=address, block=block)
    setup = [
        TxRequest(
            signer=regulator,
            to=consortium,
            data=abis["Consortium"].encode_call("define_roles", int(sc), int(kind), int(stages)),
        )
        for (sc, kind), stages in SCENARIO_TABLE.items()
    ]
    setup += [
        TxRequest(
            signer=regulator,
            to=ledger,
            data=abis["DocumentLedger"].encode_call("set_scenario", s.address, True),
        )
        for s in [*scenarios.values(), *payments.values()]
    ]
    for receipt in sender.wait(sender.send_many(setup)):
        if receipt.status != 1:
            raise sender.revert_error_of(receipt)
    deployment = Deployment(
        chain_id=chain_id,
        block=start,
        consortium=consortium,
        ledger=ledger,
        scenarios=scenarios,
        payments=payments,
        services=services,
        regulator=regulator.address,
    )
    deployment.save(path)
    return deployment


def is_deployed(rpc: RpcClient, deployment: Deployment) -> bool:
    """True when the deployment's contracts have code on the node (a devnet may be fresh)."""
    for address in deployment.contracts.values():
        code = rpc.request("eth_getCode", [address, "latest"])
        if not code or code == "0x":
            return False
    return True
