"""One connection to the platform: node, deployment, compiled ABIs, keyed fingerprints, sender.

Every service takes a ``Platform`` and the signer acting through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..chain.abi import ContractAbi, DecodedEvent, load_manifest
from ..chain.deploy import deploy
from ..chain.deployment import Deployment
from ..chain.pricing import GasPolicy
from ..chain.rpc import Log, RpcClient, RpcError, connect_rpc, revert_reason
from ..chain.sender import Receipt, TransactionSender, TxRequest
from ..chain.signers import Signer
from ..domain.fingerprint import Fingerprinter
from ..domain.ids import ParticipantIds
from ..errors import InvalidInput, TransactionFailed, from_revert
from ..settings import Settings, get_settings


class Platform:
    """The platform's contracts on one chain, reached through raw JSON-RPC."""

    def __init__(
        self,
        rpc: RpcClient,
        deployment: Deployment,
        abis: dict[str, ContractAbi],
        fingerprints: Fingerprinter,
        sender: TransactionSender | None = None,
        *,
        gas: GasPolicy | None = None,
        ids: ParticipantIds | None = None,
    ) -> None:
        """``sender`` signs and sends; else one is made with the ``gas`` policy (else the
        settings' policy, ``CROSSBORDER_GAS_*``). ``ids`` names participants on chain; else the
        settings' (the directory with its key, else this member's id book)."""
        self.rpc = rpc
        self.deployment = deployment
        self.abis = abis
        self.fingerprints = fingerprints
        self.ids: ParticipantIds = (
            ids if ids is not None else get_settings().participant_ids(deployment.chain_id)
        )
        self.sender = _sender(rpc, deployment.chain_id, sender, gas)
        self._by_address = {
            address.lower(): abis[name] for name, address in deployment.contracts.items()
        }

    @classmethod
    def connect(
        cls,
        settings: Settings | None = None,
        *,
        sender: TransactionSender | None = None,
        gas: GasPolicy | None = None,
        ids: ParticipantIds | None = None,
        urls: str | Sequence[str] | None = None,
    ) -> Platform:
        """Connects to the node and the deployment named by the settings.

        Args:
            settings: Node, deployment file, key and gas policy; ``get_settings()`` when None.
            sender: Signs and sends (and names the node: its ``rpc``); else a new one.
            gas: How a new sender prices transactions; else the settings' policy.
            ids: How participants are named on chain; else the settings'.
            urls: The node's endpoints (one, several of the same chain to fail over between,
                or a comma-separated string); else the settings' ``rpc_url``.
        """
        settings = settings or get_settings()
        if sender is not None and urls is not None:
            raise InvalidInput("give a sender or node URLs, not both: the sender has its node")
        rpc = (
            sender.rpc
            if sender is not None
            else connect_rpc(
                urls if urls is not None else settings.rpc_url,
                max_lag=settings.rpc_max_lag,
                min_peers=settings.rpc_min_peers,
            )
        )
        chain_id = rpc.chain_id()
        deployment = Deployment.load(settings.deployment_path, chain_id)
        key = settings.consortium_key_for(chain_id)
        if sender is None and gas is None:
            gas = settings.gas_policy
        sender = _sender(rpc, chain_id, sender, gas)
        return cls(
            rpc,
            deployment,
            load_manifest(settings.build_file),
            Fingerprinter(key),
            sender,
            ids=ids if ids is not None else settings.participant_ids(chain_id),
        )

    @classmethod
    def deploy(
        cls,
        rpc: RpcClient,
        regulator: Signer,
        path: Path,
        key: bytes | None = None,
        *,
        gas: GasPolicy | None = None,
        sender: TransactionSender | None = None,
        ids: ParticipantIds | None = None,
    ) -> Platform:
        """Deploys the contracts (``regulator`` becomes the admin), writes the deployment file
        to ``path`` and connects to them. ``key`` defaults to the settings' consortium key;
        ``gas`` to the settings' policy; the deployment and the platform share one sender."""
        abis = dict(load_manifest())
        sender = _sender(rpc, rpc.chain_id(), sender, gas)
        deployment = deploy(rpc, abis, regulator, path, sender=sender)
        key = key or get_settings().consortium_key_for(deployment.chain_id)
        return cls(rpc, deployment, abis, Fingerprinter(key), sender, ids=ids)

    def address(self, contract: str) -> str:
        return self.deployment.contracts[contract]

    def view(self, contract: str, fn: str, *args: Any) -> tuple[Any, ...]:
        """Calls a view function; a revert raises its typed error."""
        abi = self.abis[contract]
        try:
            out = self.rpc.eth_call(self.address(contract), abi.encode_call(fn, *args))
        except RpcError as error:
            raise from_revert(revert_reason(error)) from None
        return tuple(abi.decode_output(fn, out))

    def request(
        self,
        signer: Signer,
        contract: str,
        fn: str,
        *args: Any,
        gas: int | None = None,
        idempotency_key: str | None = None,
    ) -> TxRequest:
        """A transaction request calling ``contract.fn(*args)``, not yet signed."""
        data = self.abis[contract].encode_call(fn, *args)
        return TxRequest(
            signer=signer,
            to=self.address(contract),
            data=data,
            gas=gas,
            idempotency_key=idempotency_key,
        )

    def transact(
        self,
        signer: Signer,
        contract: str,
        fn: str,
        *args: Any,
        gas: int | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """Sends one transaction and waits for it; a revert raises its typed error."""
        request = self.request(
            signer, contract, fn, *args, gas=gas, idempotency_key=idempotency_key
        )
        return self.sender.transact(request)

    def transact_many(self, requests: Sequence[TxRequest]) -> list[Receipt]:
        """Pipelines many transactions (one signing pass, one batch send) and waits for all.

        Raises:
            CrossborderError: The typed error of the first transaction that reverted.
        """
        if not requests:
            return []
        receipts = self.sender.wait(self.sender.send_many(list(requests)))
        for receipt in receipts:
            if receipt.status != 1:
                raise self.sender.revert_error_of(receipt)
        return receipts

    def send_confirmed(
        self,
        requests: Sequence[TxRequest],
        contract: str,
        events: Sequence[str],
        progress: Callable[[list[int]], None] | None = None,
    ) -> list[DecodedEvent]:
        """Pipelines many transactions and confirms each through the event it must emit.

        All are signed and sent in JSON-RPC batches; once mined, one ``eth_getLogs`` over the
        mined blocks finds each transaction's first event among ``events`` of ``contract``
        (one receipt per transaction would cost the node far more). A transaction without one
        reverted.

        Args:
            progress: Called with the positions of the requests found mined, round by round.

        Returns:
            The confirming event of each request, in order, with its log.

        Raises:
            CrossborderError: The typed error of the first request that reverted.
        """
        if not requests:
            return []
        return self.confirm_events(
            self.sender.send_many(list(requests)), contract, events, progress
        )

    def confirm_events(
        self,
        hashes: Sequence[str],
        contract: str,
        events: Sequence[str],
        progress: Callable[[list[int]], None] | None = None,
    ) -> list[DecodedEvent]:
        """Waits for transactions already sent and confirms each through the event it must emit
        (the waiting half of ``send_confirmed``, for callers that send in waves while the node
        mines the waves before).

        Args:
            hashes: The transactions, as ``send_many`` returned them.
            progress: Called with the positions of the hashes found mined, round by round.

        Returns:
            The confirming event of each transaction, in order, with its log.

        Raises:
            CrossborderError: The typed error of the first transaction that reverted.
        """
        if not hashes:
            return []
        sender = self.sender
        hashes = list(hashes)
        position = {h: i for i, h in enumerate(hashes)}
        report = None if progress is None else lambda done: progress([position[h] for h in done])
        mined = sender.wait_mined(hashes, on_mined=report)
        abi = self.abis[contract]
        logs = self.rpc.get_logs(
            address=self.address(contract),
            topics=[[abi.event_topic(name) for name in events]],
            from_block=min(mined.values()),
            to_block=max(mined.values()),
        )
        confirmed: dict[str, DecodedEvent] = {}
        for log in logs:
            if log.tx_hash in position and log.tx_hash not in confirmed:
                event = abi.decode_log(log.topics, log.data)
                if event is not None:
                    confirmed[log.tx_hash] = DecodedEvent(event.name, event.args, log)
        missing = [h for h in hashes if h not in confirmed]
        if missing:
            # Reverted, or moved to another block by a reorg after it was seen mined: the
            # receipts (from the blocks now canonical) say which.
            for receipt in sender.wait(missing):
                if receipt.status != 1:
                    raise sender.revert_error_of(receipt)
                found = self._first_event(receipt.logs, contract, events)
                if found is None:
                    raise TransactionFailed(
                        f"the transaction {receipt.tx_hash} emitted none of {', '.join(events)}"
                    )
                confirmed[receipt.tx_hash] = found
        return [confirmed[h] for h in hashes]

    def _first_event(
        self, logs: Iterable[Log], contract: str, events: Sequence[str]
    ) -> DecodedEvent | None:
        """The first of ``events`` emitted by ``contract`` among a receipt's logs."""
        address = self.address(contract).lower()
        for log in logs:
            if log.address == address:
                event = self.abis[contract].decode_log(log.topics, log.data)
                if event is not None and event.name in events:
                    return DecodedEvent(event.name, event.args, log)
        return None

    def decode(self, logs: Iterable[Log], event: str | None = None) -> list[DecodedEvent]:
        """The platform events among ``logs`` (optionally only those named ``event``)."""
        out: list[DecodedEvent] = []
        for log in logs:
            abi = self._by_address.get(log.address.lower())
            if abi is None:
                continue
            decoded = abi.decode_log(log.topics, log.data)
            if decoded is not None and (event is None or decoded.name == event):
                out.append(decoded)
        return out


def _sender(
    rpc: RpcClient, chain_id: int, sender: TransactionSender | None, gas: GasPolicy | None
) -> TransactionSender:
    """The given sender (on the same chain), or a new one pricing by ``gas``."""
    if sender is None:
        return TransactionSender(rpc, chain_id, gas=gas)
    if gas is not None and gas != sender.gas:
        raise InvalidInput("give a sender or a gas policy, not both: the sender has its own")
    if sender.chain_id != chain_id:
        raise InvalidInput(f"the sender signs for chain {sender.chain_id}, the node is {chain_id}")
    return sender
