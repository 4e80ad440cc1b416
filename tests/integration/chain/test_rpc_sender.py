"""The chain access layer against a real Anvil: raw JSON-RPC, ABI coding, signers and the sender."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from crossborder.chain.abi import ContractAbi, contract_abi, load_manifest
from crossborder.chain.devnet import Devnet, DevnetError, free_port
from crossborder.chain.idempotency import IdempotencyKey, Record
from crossborder.chain.rpc import RpcClient, RpcError, revert_reason
from crossborder.chain.sender import IdempotencyStore, TransactionSender, TxRequest
from crossborder.chain.signers import (
    PASSPHRASE_ENV,
    LocalSigner,
    dev_signers,
    ecc_backend_name,
    write_keystore,
)
from crossborder.errors import ChainUnavailable, InvalidInput, NotRegulator, TransactionFailed

CHAIN_ID = 31337
OWNER_REVERT = "ownable: caller is not the owner"
KIND_BANK = 2


def start_devnet(directory: Path, block_time: float | None) -> Devnet:
    devnet = Devnet(directory, port=free_port(), block_time=block_time)
    devnet.start()
    return devnet


class CountingRpc(RpcClient):
    """Counts HTTP round trips, to prove what is batched."""

    posts = 0

    def _post(self, body: bytes) -> Any:
        self.posts += 1
        return super()._post(body)


class LosesAnswers(ThreadingHTTPServer):
    """A proxy to the node that loses its answers to the first transaction broadcasts.

    The broadcasts reach the node: only the answers are lost, as when a connection drops.
    """

    def __init__(self, upstream: str, lose: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.lose = lose
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: LosesAnswers

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = requests.post(
            self.server.upstream, data=body, headers={"Content-Type": "application/json"}
        ).content
        if b"eth_sendRawTransaction" in body and self.server.lose > 0:
            self.server.lose -= 1
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def automine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = start_devnet(tmp_path_factory.mktemp("anvil-automine"), block_time=None)
    yield devnet
    devnet.stop()


@pytest.fixture(scope="module")
def interval(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = start_devnet(tmp_path_factory.mktemp("anvil-interval"), block_time=0.2)
    yield devnet
    devnet.stop()


@pytest.fixture(scope="module")
def rpc(automine: Devnet) -> Iterator[RpcClient]:
    client = RpcClient(automine.url)
    yield client
    client.close()


@pytest.fixture
def sender(rpc: RpcClient) -> TransactionSender:
    return TransactionSender(rpc, CHAIN_ID)


@pytest.fixture(scope="module")
def signers(automine: Devnet) -> list[LocalSigner]:
    return automine.signers()


@pytest.fixture(scope="module")
def consortium_abi() -> ContractAbi:
    return contract_abi("Consortium")


@pytest.fixture(scope="module")
def consortium(rpc: RpcClient, signers: list[LocalSigner], consortium_abi: ContractAbi) -> str:
    deployer = TransactionSender(rpc, CHAIN_ID)
    receipt = deployer.transact(TxRequest(signers[0], None, consortium_abi.encode_constructor()))
    assert receipt.status == 1 and receipt.contract_address is not None
    return receipt.contract_address


def pending_nonce(rpc: RpcClient, signer: LocalSigner) -> int:
    return int(rpc.request("eth_getTransactionCount", [signer.address, "pending"]), 16)


def transfer(
    signer: LocalSigner, to: LocalSigner, gas: int | None = 21_000, **kw: Any
) -> TxRequest:
    return TxRequest(signer, to.address, value=1, gas=gas, **kw)


def onboard_call(abi: ContractAbi, participant: bytes) -> bytes:
    return abi.encode_call("onboard", participant, KIND_BANK, bytes(32))


# -- raw JSON-RPC --------------------------------------------------------------------------------


@pytest.mark.integration
def test_batch_keeps_order_across_chunks(rpc: RpcClient) -> None:
    words = [i.to_bytes(4, "big") for i in range(1200)]  # three batches of at most 500
    answers = rpc.batch([("web3_sha3", ["0x" + w.hex()]) for w in words])
    assert answers == ["0x" + keccak(w).hex() for w in words]
    at_once = rpc.batch([("web3_sha3", ["0x" + w.hex()]) for w in words], ahead=1000)
    assert at_once == answers


@pytest.mark.parametrize(("ahead", "lanes"), [(0, 1), (9, 1), (10, 2), (25, 3), (1000, 8)])
def test_batch_chunks_in_flight_stay_within_ahead(
    monkeypatch: pytest.MonkeyPatch, ahead: int, lanes: int
) -> None:
    """Chunks sent at once never run more than ``ahead`` calls past the oldest unanswered
    chunk, and never more than BATCH_CONNECTIONS at a time; answers keep their order."""
    import crossborder.chain.rpc as rpc_module

    monkeypatch.setattr(rpc_module, "MAX_BATCH_CALLS", 10)
    lock = threading.Lock()
    in_flight: set[int] = set()
    seen: list[tuple[int, ...]] = []

    class Slow(RpcClient):
        def _send_chunk(self, first: int, chunk: list[str], return_errors: bool) -> list[object]:
            with lock:
                in_flight.add(first)
                seen.append(tuple(sorted(in_flight)))
            time.sleep(0.02 if first % 30 else 0.08)  # every third chunk is slow
            with lock:
                in_flight.discard(first)
            return list(range(first, first + len(chunk)))

    answers = Slow("http://127.0.0.1:1").batch([("eth_chainId", [])] * 100, ahead=ahead)
    assert answers == list(range(100))
    assert max(len(s) for s in seen) == lanes
    assert all(s[-1] - s[0] <= max(ahead, 0) for s in seen if len(s) > 1)


def test_calls_refused_for_a_too_large_batch_answer_are_asked_again_in_halves() -> None:
    """geth stops answering a batch once its answer passes 25 MB ("response too large" for
    every call after): those calls are asked again in smaller batches, answers in order."""
    posts: list[int] = []

    class Geth(RpcClient):
        def _post(self, body: bytes) -> object:
            calls = json.loads(body)
            posts.append(len(calls))
            answers, size = [], 0
            for call in calls:
                size += 10
                if size > 35:  # room for three answers a batch
                    error = {"code": -32003, "message": "response too large"}
                    answers.append({"jsonrpc": "2.0", "id": call["id"], "error": error})
                else:
                    answers.append(
                        {"jsonrpc": "2.0", "id": call["id"], "result": call["params"][0]}
                    )
            return answers

    answers = Geth("http://127.0.0.1:1").batch([("echo", [i]) for i in range(10)])
    assert answers == list(range(10))
    assert posts[0] == 10 and len(posts) > 2 and max(posts[1:]) <= 4


@pytest.mark.integration
def test_batch_splits_bodies_anvil_would_refuse(rpc: RpcClient, consortium: str) -> None:
    # 500 calls of 3 kB are over Anvil's 2 MB request limit: they go out in two bodies.
    calls = [("eth_call", [{"to": consortium, "data": "0x" + "00" * 3000}, "latest"])] * 500
    answers = rpc.batch(calls, return_errors=True)
    assert len(answers) == 500
    assert all(isinstance(a, RpcError) and a.reverted for a in answers)


@pytest.mark.integration
def test_batch_returns_or_raises_errors(rpc: RpcClient) -> None:
    answers = rpc.batch([("eth_chainId", []), ("no_such_method", [])], return_errors=True)
    assert answers[0] == "0x7a69"
    assert isinstance(answers[1], RpcError) and answers[1].code == -32601
    with pytest.raises(RpcError, match="-32601"):
        rpc.batch([("no_such_method", [])])


def test_unreachable_node_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnavailable, match=url):
        RpcClient(url, retries=1, backoff=0.01).chain_id()


@pytest.mark.parametrize(
    "error",
    [
        # Anvil and Geth: ABI-encoded Error(string) in error.data.
        {"code": 3, "message": "execution reverted: x", "data": "0x" + "REVERT"},
        # Ganache 7: the same data inside an object.
        {"code": -32000, "message": "VM Exception", "data": {"message": "m", "data": "0xREVERT"}},
        # Older Ganache: per transaction hash.
        {"code": -32000, "message": "VM Exception", "data": {"0xab": {"return": "0xREVERT"}}},
        # Message only.
        {"code": -32000, "message": f"execution reverted: {OWNER_REVERT}"},
        {
            "code": -32000,
            "message": f"VM Exception while processing transaction: revert {OWNER_REVERT}",
        },
    ],
)
def test_revert_reason_from_every_node_layout(error: dict[str, Any]) -> None:
    data = (bytes.fromhex("08c379a0") + encode(["string"], [OWNER_REVERT])).hex()
    laid_out = eval_layout(error, data)
    assert revert_reason(RpcError.from_object(laid_out)) == OWNER_REVERT


def eval_layout(value: Any, data: str) -> Any:
    if isinstance(value, dict):
        return {k: eval_layout(v, data) for k, v in value.items()}
    return value.replace("REVERT", data) if isinstance(value, str) else value


def test_revert_without_reason() -> None:
    error = RpcError.from_object({"code": 3, "message": "execution reverted", "data": "0x"})
    assert error.reverted and revert_reason(error) is None


# -- ABI ------------------------------------------------------------------------------------------


def test_manifest_has_the_compiled_contracts() -> None:
    manifest = load_manifest()
    assert {"Consortium", "DocumentLedger"} <= set(manifest)
    assert manifest["Consortium"].bytecode


def test_struct_arguments_as_tuples_or_dicts() -> None:
    ledger = contract_abi("DocumentLedger")
    doc = {
        "fingerprint": b"\x01" * 32,
        "owner": b"\x02" * 32,
        "face": 5,
        "currency": 156,
        "issued": 1,
    }
    as_dict = ledger.encode_call("register", 1, [doc])
    assert as_dict == ledger.encode_call("register", 1, [tuple(doc.values())])
    types = ["uint8", "(bytes32,bytes32,uint64,uint16,uint16)[]"]
    assert as_dict[4:] == encode(types, [1, [tuple(doc.values())]])
    with pytest.raises(InvalidInput, match="register"):
        ledger.encode_call("register", 1, [dict(doc, face=-1)])


def test_decode_log_reads_topics_and_data(consortium_abi: ContractAbi) -> None:
    by = "0x" + "ab" * 20
    topics = [
        consortium_abi.event_topic("ParticipantOnboarded"),
        b"\x01" * 32,
        b"\x02" * 32,
        bytes(12) + bytes.fromhex(by[2:]),
    ]
    event = consortium_abi.decode_log(topics, encode(["uint8"], [KIND_BANK]))
    assert event is not None and event.name == "ParticipantOnboarded"
    assert event.args == {"participant": b"\x01" * 32, "kind": 2, "parent": b"\x02" * 32, "by": by}
    assert consortium_abi.decode_log(topics[:3], b"") is None  # same topic, other indexing
    assert consortium_abi.decode_log([b"\x00" * 32], b"") is None


def test_decode_log_with_hashed_topics_and_dynamic_data() -> None:
    pair = [{"name": "kind", "type": "uint8"}, {"name": "who", "type": "address"}]
    inputs = [
        {"name": "amount", "type": "int16", "indexed": True},
        {"name": "label", "type": "string", "indexed": True},
        {"name": "note", "type": "string", "indexed": False},
        {"name": "pairs", "type": "tuple[]", "indexed": False, "components": pair},
    ]
    abi = ContractAbi("Example", [{"type": "event", "name": "Noted", "inputs": inputs}])
    label_hash = keccak(b"label")
    topics = [abi.event_topic("Noted"), encode(["int16"], [-5]), label_hash]
    pairs = [(1, "0x" + "cd" * 20)]
    data = encode(["string", "(uint8,address)[]"], ["hello", pairs])
    event = abi.decode_log(topics, data)
    assert event is not None
    assert event.args == {"amount": -5, "label": label_hash, "note": "hello", "pairs": tuple(pairs)}
    assert abi.decode_log(topics, data[:40]) is None


@pytest.mark.integration
def test_call_output_and_receipt_events_round_trip(
    rpc: RpcClient,
    sender: TransactionSender,
    signers: list[LocalSigner],
    consortium: str,
    consortium_abi: ContractAbi,
) -> None:
    participant = os.urandom(32)
    request = TxRequest(signers[0], consortium, onboard_call(consortium_abi, participant))
    receipt = sender.transact(request)
    (event,) = consortium_abi.decode_logs(receipt.logs, address_filter=consortium.upper())
    assert event.name == "ParticipantOnboarded"
    assert event.args["participant"] == participant
    assert event.args["by"] == signers[0].address.lower()
    assert event.log is receipt.logs[0]
    output = sender.call(consortium, consortium_abi.encode_call("participant", participant))
    assert consortium_abi.decode_output("participant", output) == (KIND_BANK, True, bytes(32))
    assert consortium_abi.decode_logs(receipt.logs, address_filter="0x" + "00" * 20) == []
    topic = consortium_abi.event_topic("ParticipantOnboarded")
    found = rpc.get_logs(consortium, [topic, participant], from_block=receipt.block_number)
    assert found == receipt.logs


# -- signers --------------------------------------------------------------------------------------


def test_dev_signers_only_on_the_devnet() -> None:
    with pytest.raises(InvalidInput, match="only for the local devnet"):
        dev_signers(1, devnet=False)
    with pytest.raises(InvalidInput, match="only for the local devnet"):
        dev_signers(31337, devnet=False)
    signer = dev_signers(1337, 2, devnet=True)[0]
    assert signer.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_signing_uses_coincurve() -> None:
    assert ecc_backend_name() == "CoinCurveECCBackend"


def test_keystore_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signer = dev_signers(CHAIN_ID, 4, devnet=True)[3]
    path = write_keystore(signer, tmp_path / "key.json", "s3cret", kdf="pbkdf2", iterations=2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LocalSigner.from_keystore(path, "s3cret").address == signer.address
    monkeypatch.setenv(PASSPHRASE_ENV, "s3cret")
    assert LocalSigner.from_keystore(path).address == signer.address
    assert "key" not in repr(LocalSigner.from_keystore(path)).lower()
    with pytest.raises(InvalidInput, match="wrong passphrase"):
        LocalSigner.from_keystore(path, "wrong")
    with pytest.raises(InvalidInput, match="not overwriting"):
        write_keystore(signer, path, "other")


def test_a_keystore_iv_with_a_leading_zero_byte_keeps_its_16_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """eth-keyfile drops an IV's leading zero byte (one keystore in 256), which geth refuses
    with a panic at start; the keystore written keeps all 16 bytes and still opens."""
    import eth_keyfile.keyfile

    def random_bytes(n: int) -> bytes:
        return b"\x00" + b"\x5a" * (n - 1)

    monkeypatch.setattr(eth_keyfile.keyfile.Random, "get_random_bytes", random_bytes)
    signer = dev_signers(CHAIN_ID, 4, devnet=True)[3]
    path = write_keystore(signer, tmp_path / "key.json", "s3cret", kdf="pbkdf2", iterations=2)
    iv = json.loads(path.read_text())["crypto"]["cipherparams"]["iv"]
    assert iv == "00" + "5a" * 15
    assert LocalSigner.from_keystore(path, "s3cret").address == signer.address


# -- sender ---------------------------------------------------------------------------------------


@pytest.mark.integration
def test_concurrent_sends_use_distinct_nonces(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner]
) -> None:
    start = pending_nonce(rpc, signers[1])
    hashes: list[str] = []
    lock = threading.Lock()

    def send_25(gas: int | None) -> None:
        for _ in range(25):
            tx_hash = sender.send(transfer(signers[1], signers[9], gas=gas))
            with lock:
                hashes.append(tx_hash)

    threads = [threading.Thread(target=send_25, args=(gas,)) for gas in (21_000, None) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    receipts = sender.wait(hashes)
    assert all(r.status == 1 for r in receipts)
    sent = rpc.batch([("eth_getTransactionByHash", [h]) for h in hashes])
    assert sorted(int(tx["nonce"], 16) for tx in sent) == list(range(start, start + 100))


@pytest.mark.integration
def test_send_many_pipelines_in_batches(interval: Devnet, signers: list[LocalSigner]) -> None:
    rpc = CountingRpc(interval.url)
    sender = TransactionSender(rpc, CHAIN_ID)
    requests = [transfer(signers[2], signers[8], gas=None) for _ in range(200)]
    hashes = sender.send_many(requests)
    # Estimates, the pending nonce, the base fee and the sends: one round trip each.
    assert rpc.posts == 4
    receipts = sender.wait(hashes)
    assert [r.tx_hash for r in receipts] == hashes
    assert all(r.status == 1 for r in receipts)
    assert len({r.block_number for r in receipts}) <= 5
    rpc.close()


@pytest.mark.integration
def test_same_key_sends_once(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner]
) -> None:
    start = pending_nonce(rpc, signers[4])
    request = transfer(signers[4], signers[8], idempotency_key="invoice-1")
    first = sender.send(request)
    assert sender.send(request) == first
    assert sender.send_many([request, request]) == [first, first]
    sender.wait([first])
    assert pending_nonce(rpc, signers[4]) == start + 1


@pytest.mark.integration
def test_sqlite_store_spans_senders(
    rpc: RpcClient, signers: list[LocalSigner], tmp_path: Path
) -> None:
    path = tmp_path / "sent.sqlite"
    start = pending_nonce(rpc, signers[5])
    request = transfer(signers[5], signers[8], idempotency_key="invoice-2")
    first = TransactionSender(rpc, CHAIN_ID, store=IdempotencyStore(path)).send(request)
    again = TransactionSender(rpc, CHAIN_ID, store=IdempotencyStore(path)).send(request)
    assert again == first
    assert pending_nonce(rpc, signers[5]) == start + 1


@pytest.mark.integration
@pytest.mark.parametrize("crash", ["before-broadcast", "after-broadcast"])
def test_a_retry_after_a_crash_sends_the_recorded_bytes(
    rpc: RpcClient, signers: list[LocalSigner], tmp_path: Path, crash: str
) -> None:
    # The key was recorded with its signed bytes, then the process died before marking it sent.
    store = IdempotencyStore(tmp_path / "sent.sqlite")
    signer = signers[6]
    start = pending_nonce(rpc, signer)
    gas_price = int(rpc.request("eth_gasPrice"), 16) * 2
    tx = {"nonce": start, "gasPrice": gas_price, "gas": 21_000, "to": signers[8].address}
    raw = signer.sign(tx | {"value": 1, "data": b"", "chainId": CHAIN_ID})
    tx_hash = "0x" + keccak(raw).hex()
    request = transfer(signer, signers[8], idempotency_key="invoice-3")
    key = IdempotencyKey(CHAIN_ID, signer.address.lower(), "invoice-3")
    store.put([Record(key, request.digest(), tx_hash, raw)])
    rpc.request("evm_setAutomine", [False])  # keep it pending: the node answers "already known"
    try:
        if crash == "after-broadcast":
            rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        sender = TransactionSender(rpc, CHAIN_ID, store=IdempotencyStore(tmp_path / "sent.sqlite"))
        assert sender.send(request) == tx_hash
    finally:
        rpc.request("evm_setAutomine", [True])
    rpc.request("evm_mine")
    assert sender.wait([tx_hash])[0].status == 1
    assert pending_nonce(rpc, signer) == start + 1


@pytest.mark.integration
def test_revert_at_estimation_sends_nothing(
    rpc: RpcClient,
    sender: TransactionSender,
    signers: list[LocalSigner],
    consortium: str,
    consortium_abi: ContractAbi,
) -> None:
    outsider = signers[7]
    start = pending_nonce(rpc, outsider)
    data = onboard_call(consortium_abi, os.urandom(32))
    with pytest.raises(NotRegulator):
        sender.send(TxRequest(outsider, consortium, data))
    with pytest.raises(NotRegulator):
        sender.send_many([transfer(outsider, signers[8]), TxRequest(outsider, consortium, data)])
    with pytest.raises(NotRegulator):
        sender.call(consortium, data, sender=outsider.address)
    assert pending_nonce(rpc, outsider) == start


@pytest.mark.integration
def test_mined_revert_raises_the_typed_error(
    rpc: RpcClient,
    sender: TransactionSender,
    signers: list[LocalSigner],
    consortium: str,
    consortium_abi: ContractAbi,
) -> None:
    outsider = signers[7]
    start = pending_nonce(rpc, outsider)
    data = onboard_call(consortium_abi, os.urandom(32))
    with pytest.raises(NotRegulator):
        sender.transact(TxRequest(outsider, consortium, data, gas=200_000))
    assert pending_nonce(rpc, outsider) == start + 1  # mined, and reverted
    (receipt,) = sender.wait([sender.send(TxRequest(outsider, consortium, data, gas=200_000))])
    assert receipt.status == 0
    assert sender.revert_reason_of(receipt) == OWNER_REVERT
    owner_data = onboard_call(consortium_abi, os.urandom(32))
    with pytest.raises(TransactionFailed, match="ran out of gas"):
        sender.transact(TxRequest(signers[0], consortium, owner_data, gas=30_000))


@pytest.mark.integration
@pytest.mark.parametrize("many", [False, True], ids=["send", "send_many"])
def test_lost_answers_rebroadcast_the_same_bytes(
    automine: Devnet, rpc: RpcClient, signers: list[LocalSigner], many: bool
) -> None:
    signer = signers[6]
    start = pending_nonce(rpc, signer)
    proxy = LosesAnswers(automine.url, lose=2)
    # No retries in the client: the sender itself re-broadcasts, twice.
    sender = TransactionSender(RpcClient(proxy.url, retries=0), CHAIN_ID)
    try:
        if many:
            hashes = sender.send_many([transfer(signer, signers[8])] * 3)
        else:
            hashes = [sender.send(transfer(signer, signers[8]))]
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert [r.status for r in TransactionSender(rpc, CHAIN_ID).wait(hashes)] == [1] * len(hashes)
    assert pending_nonce(rpc, signer) == start + len(hashes)


@pytest.mark.integration
def test_nonce_taken_by_another_client_is_resynced(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner]
) -> None:
    signer = signers[3]
    sender.wait([sender.send(transfer(signer, signers[8]))])  # the sender now caches the nonce
    other = TransactionSender(rpc, CHAIN_ID)
    sender.wait([other.send(transfer(signer, signers[8]))])
    receipts = sender.wait(sender.send_many([transfer(signer, signers[8])] * 3))
    assert all(r.status == 1 for r in receipts)
    assert sender.transact(transfer(signer, signers[8])).status == 1


@pytest.mark.integration
def test_many_nonces_taken_by_another_client_are_resynced_as_one_batch(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner]
) -> None:
    signer = signers[4]
    sender.wait([sender.send(transfer(signer, signers[8]))])  # the sender now caches the nonce
    other = TransactionSender(rpc, CHAIN_ID)
    other.wait(other.send_many([transfer(signer, signers[8])] * 40))
    start = pending_nonce(rpc, signer)
    hashes = sender.send_many([transfer(signer, signers[8])] * 60)
    assert len(set(hashes)) == 60
    assert all(r.status == 1 for r in sender.wait(hashes))
    assert pending_nonce(rpc, signer) == start + 60


# -- devnet ---------------------------------------------------------------------------------------


@pytest.mark.integration
def test_devnet_refuses_a_taken_port(automine: Devnet, tmp_path: Path) -> None:
    with pytest.raises(DevnetError, match="already in use"):
        Devnet(tmp_path, port=automine.port).start()


@pytest.mark.integration
def test_devnet_state_survives_a_restart(tmp_path: Path, signers: list[LocalSigner]) -> None:
    port = free_port()
    detached = Devnet(tmp_path, port=port, block_time=None)
    detached.start(detach=True)
    rpc = RpcClient(detached.url)
    receipt = TransactionSender(rpc, CHAIN_ID).transact(transfer(signers[0], signers[9]))
    balance = rpc.request("eth_getBalance", [signers[9].address, "latest"])
    # Another process (here: object) finds the detached devnet by its pid file and stops it.
    elsewhere = Devnet(tmp_path, port=port, block_time=None)
    assert elsewhere.is_running()
    elsewhere.stop()
    assert not detached.is_running() and not detached.pid_file.exists()
    assert detached.state_file.exists()
    with Devnet(tmp_path, port=port, block_time=None) as devnet:
        assert devnet.pid_file.exists()
        assert rpc.block_number() >= receipt.block_number
        assert rpc.request("eth_getBalance", [signers[9].address, "latest"]) == balance
    rpc.close()
