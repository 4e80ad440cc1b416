"""Raw JSON-RPC 2.0 over HTTP: the one way this package talks to a node.

web3.py's middleware and formatters cost more than the node itself on the hot paths (batched
sends, receipt polling, log scans), so requests are plain JSON and results are decoded by the
caller with ``eth_abi``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from ..errors import ChainUnavailable
from ..errors import RpcError as RpcError  # raised by this client; defined with every SDK error

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
MAX_BATCH_CALLS = 500
# Anvil rejects request bodies over 2 MB with a bare "Invalid request".
MAX_BATCH_BYTES = 1_000_000
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_REASON_PATTERNS = (
    re.compile(r"reverted with reason string '(.*)'$", re.S),
    re.compile(r"execution reverted: (.+)$", re.S),
    re.compile(r"VM Exception while processing transaction: revert (.+)$", re.S),
)

Call = tuple[str, Sequence[Any]]


def decode_error_data(data: bytes) -> str | None:
    """The string of ``Error(string)`` revert data, or None for any other data."""
    if data[:4] != ERROR_SELECTOR:
        return None
    try:
        (reason,) = abi_decode(["string"], data[4:])
    except (DecodingError, UnicodeDecodeError):
        return None
    return str(reason)


def revert_reason(error: RpcError) -> str | None:
    """The revert string of a failed call or estimate, from its data or else its message.

    Anvil puts ABI-encoded ``Error(string)`` data in ``error.data``; Ganache 7 puts it there as
    hex or inside an object; some nodes give only a message such as
    ``"execution reverted: ownable: caller is not the owner"``.
    """
    if error.data is not None and len(error.data) > 2:
        try:
            reason = decode_error_data(bytes.fromhex(error.data[2:]))
        except ValueError:
            reason = None
        if reason is not None:
            return reason
    for pattern in _REASON_PATTERNS:
        if (match := pattern.search(error.message)) is not None:
            return match.group(1).strip()
    return None


@dataclass(frozen=True, slots=True)
class Log:
    """One event log, as in a receipt or an ``eth_getLogs`` answer (address in lowercase hex)."""

    address: str
    topics: list[bytes]
    data: bytes
    log_index: int
    block_number: int
    tx_hash: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Log:
        """Parse a log object of the JSON-RPC API."""
        return cls(
            address=raw["address"].lower(),
            topics=[bytes.fromhex(topic[2:]) for topic in raw["topics"]],
            data=bytes.fromhex(raw["data"][2:]),
            log_index=int(raw["logIndex"], 16),
            block_number=int(raw["blockNumber"], 16),
            tx_hash=raw["transactionHash"],
        )


def block_param(block: int | str) -> str:
    """A block number or tag as the JSON-RPC API wants it."""
    return hex(block) if isinstance(block, int) else block


class RpcClient:
    """A JSON-RPC 2.0 client over HTTP, safe to share between threads.

    Each thread gets its own keep-alive ``requests.Session``. Connection failures, timeouts and
    gateway errors are retried with exponential backoff, then raise ``ChainUnavailable``.

    Args:
        url: The node's HTTP endpoint.
        timeout: Seconds to wait for each HTTP answer.
        retries: How many times to retry a failed transport before giving up.
        backoff: Seconds before the first retry; doubled for each further one.
    """

    def __init__(
        self, url: str, timeout: float = 30, *, retries: int = 3, backoff: float = 0.1
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"RpcClient({self.url!r})"

    def close(self) -> None:
        """Close the HTTP sessions of every thread."""
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Call one method and return its result.

        Raises:
            RpcError: The node answered with an error object.
            ChainUnavailable: The node could not be reached.
        """
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)},
            separators=(",", ":"),
        )
        answer = self._post(body.encode())
        if not isinstance(answer, Mapping):
            raise ChainUnavailable(f"the node at {self.url} sent a malformed answer to {method}")
        if "error" in answer:
            raise RpcError.from_object(answer["error"])
        return answer.get("result")

    def batch(self, calls: Sequence[Call], *, return_errors: bool = False) -> list[Any]:
        """Call many methods in JSON-RPC batches (one HTTP request per chunk).

        Args:
            calls: ``(method, params)`` pairs.
            return_errors: Put an ``RpcError`` in the result list for each failed call instead of
                raising the first one.

        Returns:
            The results in the order of ``calls``.
        """
        results: list[Any] = []
        for first, chunk in _chunks([_call_json(i, m, p) for i, (m, p) in enumerate(calls)]):
            results.extend(self._send_chunk(first, chunk, return_errors))
        return results

    def eth_call(
        self,
        to: str,
        data: bytes,
        block: int | str = "latest",
        *,
        sender: str | None = None,
        gas: int | None = None,
        value: int = 0,
    ) -> bytes:
        """Run a call without a transaction and return its output bytes."""
        params = [call_object(to, data, sender, gas, value), block_param(block)]
        return bytes.fromhex(self.request("eth_call", params)[2:])

    def chain_id(self) -> int:
        """The node's chain id."""
        return int(self.request("eth_chainId"), 16)

    def block_number(self) -> int:
        """The number of the node's latest block."""
        return int(self.request("eth_blockNumber"), 16)

    def get_logs(
        self,
        address: str | Sequence[str] | None = None,
        topics: Sequence[bytes | Sequence[bytes] | None] | None = None,
        from_block: int | str = 0,
        to_block: int | str = "latest",
    ) -> list[Log]:
        """The logs matching an ``eth_getLogs`` filter, parsed."""
        query: dict[str, Any] = {
            "fromBlock": block_param(from_block),
            "toBlock": block_param(to_block),
        }
        if address is not None:
            query["address"] = address
        if topics is not None:
            query["topics"] = [_topic_filter(t) for t in topics]
        return [Log.from_json(raw) for raw in self.request("eth_getLogs", [query])]

    def _send_chunk(self, first: int, chunk: list[str], return_errors: bool) -> list[Any]:
        answer = self._post(("[" + ",".join(chunk) + "]").encode())
        if isinstance(answer, Mapping) and "error" in answer:
            raise RpcError.from_object(answer["error"])
        if not isinstance(answer, list):
            raise ChainUnavailable(f"the node at {self.url} sent a malformed batch answer")
        by_id = {item.get("id"): item for item in answer if isinstance(item, Mapping)}
        results = []
        for call_id in range(first, first + len(chunk)):
            item = by_id.get(call_id)
            if item is None:
                raise ChainUnavailable(f"the node at {self.url} left call {call_id} unanswered")
            if "error" not in item:
                results.append(item.get("result"))
            elif return_errors:
                results.append(RpcError.from_object(item["error"]))
            else:
                raise RpcError.from_object(item["error"])
        return results

    def _post(self, body: bytes) -> Any:
        failure = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._session().post(
                    self.url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = type(exc).__name__
                continue
            if response.status_code in _RETRY_STATUS:
                failure = f"HTTP {response.status_code}"
                continue
            try:
                return json.loads(response.content)
            except ValueError:
                raise ChainUnavailable(
                    f"the node at {self.url} answered HTTP {response.status_code} without JSON"
                ) from None
        raise ChainUnavailable(
            f"the node at {self.url} is unreachable after {self.retries + 1} attempts ({failure})"
        )

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session


def call_object(
    to: str | None, data: bytes, sender: str | None = None, gas: int | None = None, value: int = 0
) -> dict[str, str]:
    """The transaction object of ``eth_call`` and ``eth_estimateGas``."""
    obj = {"data": "0x" + data.hex()}
    if to is not None:
        obj["to"] = to
    if sender is not None:
        obj["from"] = sender
    if gas is not None:
        obj["gas"] = hex(gas)
    if value:
        obj["value"] = hex(value)
    return obj


def _call_json(call_id: int, method: str, params: Sequence[Any]) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "id": call_id, "method": method, "params": list(params)},
        separators=(",", ":"),
    )


def _chunks(calls: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Split serialised calls into batches under both the call and the byte limits.

    Yields:
        The index (and JSON-RPC id) of each batch's first call, and the batch.
    """
    first, size = 0, 0
    for index, call in enumerate(calls):
        count = index - first
        if count and (count == MAX_BATCH_CALLS or size + len(call) > MAX_BATCH_BYTES):
            yield first, calls[first:index]
            first, size = index, 0
        size += len(call) + 1
    if first < len(calls):
        yield first, calls[first:]


def _topic_filter(topic: bytes | Sequence[bytes] | None) -> str | list[str] | None:
    if topic is None:
        return None
    if isinstance(topic, bytes):
        return "0x" + topic.hex()
    return ["0x" + t.hex() for t in topic]
