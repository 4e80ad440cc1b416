"""Deploys the platform's contracts from the compiled project and writes the deployment file."""

from __future__ import annotations

from pathlib import Path

from eth_utils.address import to_checksum_address

from ..domain.codes import SCENARIO_TABLE
from .abi import ContractAbi
from .deployment import Deployment
from .rpc import RpcClient
from .sender import TransactionSender, TxRequest
from .signers import Signer


def _create(sender: TransactionSender, signer: Signer, abi: ContractAbi, *args: object) -> str:
    receipt = sender.transact(TxRequest(signer=signer, to=None, data=abi.encode_constructor(*args)))
    if not receipt.contract_address:
        raise RuntimeError(f"deploying {abi.name} created no contract")
    return to_checksum_address(receipt.contract_address)


def deploy(
    rpc: RpcClient,
    abis: dict[str, ContractAbi],
    regulator: Signer,
    path: Path,
    sender: TransactionSender | None = None,
) -> Deployment:
    """Deploys the consortium, the ledger and the receivables scenario, writes the scenario
    table's rows (``SCENARIO_TABLE``) and authorises the scenario on the ledger.

    The deploying account becomes the regulator's admin (the consortium owner).
    """
    chain_id = rpc.chain_id()
    sender = sender or TransactionSender(rpc, chain_id)
    start = rpc.block_number()
    consortium = _create(sender, regulator, abis["Consortium"])
    ledger = _create(sender, regulator, abis["DocumentLedger"], consortium)
    receivables = _create(sender, regulator, abis["ReceivablesFinancing"], consortium, ledger)
    setup = [
        TxRequest(
            signer=regulator,
            to=consortium,
            data=abis["Consortium"].encode_call("define_roles", int(sc), int(kind), int(stages)),
        )
        for (sc, kind), stages in SCENARIO_TABLE.items()
    ]
    setup.append(
        TxRequest(
            signer=regulator,
            to=ledger,
            data=abis["DocumentLedger"].encode_call("set_scenario", receivables, True),
        )
    )
    for receipt in sender.wait(sender.send_many(setup)):
        if receipt.status != 1:
            raise sender.revert_error_of(receipt)
    deployment = Deployment(
        chain_id=chain_id,
        block=start,
        consortium=consortium,
        ledger=ledger,
        receivables=receivables,
        regulator=regulator.address,
    )
    deployment.save(path)
    return deployment


def is_deployed(rpc: RpcClient, deployment: Deployment) -> bool:
    """True when the deployment's contracts have code on the node (a devnet may be fresh)."""
    code = rpc.request("eth_getCode", [deployment.receivables, "latest"])
    return bool(code) and code != "0x"
