"""Raw JSON-RPC 2.0 over HTTP: the one way this package talks to a node.

web3.py's middleware and formatters cost more than the node itself on the hot paths (batched
sends, receipt polling, log scans), so requests are plain JSON and results are decoded by the
caller with ``eth_abi``.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from ..errors import ChainUnavailable, InvalidInput
from ..errors import RpcError as RpcError  # raised by this client; defined with every SDK error

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
MAX_BATCH_CALLS = 500
# Anvil rejects request bodies over 2 MB with a bare "Invalid request".
MAX_BATCH_BYTES = 1_000_000
BATCH_CONNECTIONS = 8  # chunks of one batch in flight at once, at most (``batch(ahead=…)``)
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_REASON_PATTERNS = (
    re.compile(r"reverted with reason string '(.*)'$", re.S),
    re.compile(r"execution reverted: (.+)$", re.S),
    re.compile(r"VM Exception while processing transaction: revert (.+)$", re.S),
)

Call = tuple[str, Sequence[Any]]

log = logging.getLogger(__name__)

# Calls that change a node's own state (or let the node sign): never repeated on another
# endpoint after a lost answer, since the first may have taken effect. Everything else is a read,
# or ``eth_sendRawTransaction``, idempotent by transaction hash.
_UNSAFE_METHODS = tuple(
    f'"method":"{prefix}'.encode()
    for prefix in (
        "eth_sendTransaction",
        "eth_signTransaction",
        "anvil_",
        "evm_",
        "hardhat_",
        "miner_",
        "admin_",
        "personal_",
        "debug_",
    )
)
MAX_HEAD_LAG = 5  # blocks an endpoint may be behind the best one and still be healthy
RETRY_DEAD_AFTER = 5.0  # seconds before an unreachable endpoint is probed again
HEALTH_INTERVAL = 5.0  # seconds between health checks of all endpoints
PROBE_TIMEOUT = 2.0  # seconds a health probe waits for an endpoint


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

    def batch(
        self, calls: Sequence[Call], *, return_errors: bool = False, ahead: int = 0
    ) -> list[Any]:
        """Call many methods in JSON-RPC batches (one HTTP request per chunk).

        Args:
            calls: ``(method, params)`` pairs.
            return_errors: Put an ``RpcError`` in the result list for each failed call instead of
                raising the first one.
            ahead: How many calls may reach the node before earlier ones of the list: chunks
                go out over up to ``BATCH_CONNECTIONS`` (8) connections at once while no chunk
                sent is more than ``ahead`` calls past the oldest one unanswered (0: one chunk
                after the other). A node that holds a lock while it seals a block answers one
                chunk per block; several at once get through together.

        Returns:
            The results in the order of ``calls``.
        """
        chunks = list(_chunks([_call_json(i, m, p) for i, (m, p) in enumerate(calls)]))
        lanes = min(BATCH_CONNECTIONS, 1 + ahead // max((len(c) for _, c in chunks), default=1))
        if lanes <= 1 or len(chunks) == 1:
            results: list[Any] = []
            for first, chunk in chunks:
                results.extend(self._send_chunk(first, chunk, return_errors))
            return results
        pool = _batch_pool()
        futures: list[Future[list[Any]]] = []
        try:
            for index, (first, chunk) in enumerate(chunks):
                if index >= lanes:
                    futures[index - lanes].result()  # the window slides on the oldest chunk
                futures.append(pool.submit(self._send_chunk, first, chunk, return_errors))
            return [result for future in futures for result in future.result()]
        finally:
            for future in futures:
                future.cancel()

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
        items = self._answers(list(range(first, first + len(chunk))), chunk)
        results = []
        for item in items:
            if "error" not in item:
                results.append(item.get("result"))
            elif return_errors:
                results.append(RpcError.from_object(item["error"]))
            else:
                raise RpcError.from_object(item["error"])
        return results

    def _answers(self, ids: list[int], bodies: list[str]) -> list[Mapping[str, Any]]:
        """The answer object of each call, in order. Calls a node refused because the batch's
        answer grew too large (geth: 25 MB a batch, and a registration transaction looked up
        is 160 kB of hex) are asked again in two halves."""
        answer = self._post(("[" + ",".join(bodies) + "]").encode())
        if isinstance(answer, Mapping) and "error" in answer:
            raise RpcError.from_object(answer["error"])
        if not isinstance(answer, list):
            raise ChainUnavailable(f"the node at {self.url} sent a malformed batch answer")
        by_id = {item.get("id"): item for item in answer if isinstance(item, Mapping)}
        items: list[Mapping[str, Any]] = []
        for call_id in ids:
            item = by_id.get(call_id)
            if item is None:
                raise ChainUnavailable(f"the node at {self.url} left call {call_id} unanswered")
            items.append(item)
        again = [i for i, item in enumerate(items) if _too_large(item)]
        if again and len(ids) > 1:
            half = max(1, len(again) // 2)
            for part in (again[:half], again[half:]):
                if part:
                    redone = self._answers([ids[i] for i in part], [bodies[i] for i in part])
                    for i, item in zip(part, redone, strict=True):
                        items[i] = item
        return items

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


@functools.cache
def _batch_pool() -> ThreadPoolExecutor:
    """The threads that send the chunks of a batch at once (a keep-alive session each)."""
    return ThreadPoolExecutor(BATCH_CONNECTIONS, thread_name_prefix="crossborder-rpc")


def _too_large(item: Mapping[str, Any]) -> bool:
    """Whether a batch answer item is a node's refusal to answer more in this batch."""
    error = item.get("error")
    return isinstance(error, Mapping) and "response too large" in str(error.get("message", ""))


def repeatable(body: bytes) -> bool:
    """Whether a JSON-RPC request (or batch) may be repeated on another endpoint of the chain."""
    return not any(marker in body for marker in _UNSAFE_METHODS)


def rpc_urls(urls: str | Sequence[str]) -> list[str]:
    """A list of endpoint URLs from a list or a comma-separated string (blanks dropped)."""
    parts = urls.split(",") if isinstance(urls, str) else list(urls)
    found = [url.strip() for url in parts if url.strip()]
    if not found:
        raise InvalidInput(
            "no node URL given (CROSSBORDER_RPC_URL holds one or more, comma-separated)"
        )
    return found


def connect_rpc(
    urls: str | Sequence[str],
    *,
    max_lag: int = MAX_HEAD_LAG,
    min_peers: int = 0,
    timeout: float = 30,
    retries: int | None = None,
) -> RpcClient:
    """A client of one endpoint, or a failing-over client of several (same chain).

    Args:
        timeout: Seconds per request.
        retries: Retries of a failed request on one endpoint (the client's default if None).
    """
    found = rpc_urls(urls)
    if len(found) == 1:
        if retries is None:
            return RpcClient(found[0], timeout)
        return RpcClient(found[0], timeout, retries=retries)
    if retries is None:
        return FailoverRpcClient(found, timeout, max_lag=max_lag, min_peers=min_peers)
    return FailoverRpcClient(found, timeout, retries=retries, max_lag=max_lag, min_peers=min_peers)


@dataclass(slots=True)
class Endpoint:
    """One node endpoint of a ``FailoverRpcClient`` and what its last probe found."""

    client: RpcClient
    probe: RpcClient
    chain_id: int | None = None
    genesis: str | None = None
    head: int | None = None
    peers: int | None = None  # None: the node does not answer net_peerCount
    dead_until: float = 0.0
    problem: str = field(default="not probed yet")

    @property
    def url(self) -> str:
        return self.client.url


class FailoverRpcClient(RpcClient):
    """Several endpoints of one chain: each call goes to a healthy one, failing over to the next.

    Healthy: reachable, the same chain id and genesis block hash as the chain first found (the
    endpoints are tried in the order given), a head at most ``max_lag`` blocks behind the best
    endpoint's, and not isolated: at least ``min_peers`` peers, and not 0 while another endpoint
    has some (nodes that do not answer ``net_peerCount``, such as Anvil, are not judged on it).
    An unreachable endpoint is probed again after ``retry_dead_after`` seconds; every endpoint
    every ``health_interval`` seconds. The client stays on its endpoint while it is healthy; a
    switch is logged as a warning naming both endpoints.

    A call whose node stops answering is repeated on the next endpoint only when that is safe:
    reads, and ``eth_sendRawTransaction`` (the same signed bytes have one hash: a node that
    already has them says so). Calls that change a node's own state (``anvil_*``, ``evm_*``,
    ``eth_sendTransaction``, …) raise ``ChainUnavailable`` instead.

    Attributes:
        switches: How many times the client changed endpoint (a confirmation loop re-checks
            its pending transactions on the new node when this moves).
    """

    def __init__(
        self,
        urls: Sequence[str],
        timeout: float = 30,
        *,
        retries: int = 1,
        backoff: float = 0.1,
        max_lag: int = MAX_HEAD_LAG,
        min_peers: int = 0,
        retry_dead_after: float = RETRY_DEAD_AFTER,
        health_interval: float = HEALTH_INTERVAL,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        found = rpc_urls(urls)
        super().__init__(found[0], timeout, retries=retries, backoff=backoff)
        self.endpoints = [
            Endpoint(
                RpcClient(url, timeout, retries=retries, backoff=backoff),
                RpcClient(url, probe_timeout, retries=0),
            )
            for url in found
        ]
        self.max_lag = max_lag
        self.min_peers = min_peers
        self.retry_dead_after = retry_dead_after
        self.health_interval = health_interval
        self.switches = 0
        self.identity: tuple[int, str] | None = None  # (chain id, genesis hash)
        self._current: Endpoint | None = None
        self._checked_at = -math.inf
        self._select_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FailoverRpcClient({[e.url for e in self.endpoints]!r})"

    def close(self) -> None:
        """Close every endpoint's HTTP sessions."""
        for endpoint in self.endpoints:
            endpoint.client.close()
            endpoint.probe.close()
        super().close()

    def check(self) -> Endpoint:
        """Probe every endpoint now and return the one calls go to.

        Raises:
            ChainUnavailable: No endpoint is healthy (each one's problem is named).
        """
        with self._select_lock:
            return self._select(force=True)

    def _post(self, body: bytes) -> Any:
        safe = repeatable(body)
        failed: list[str] = []
        while True:
            with self._select_lock:
                endpoint = self._select(force=False)
            try:
                return endpoint.client._post(body)
            except ChainUnavailable as exc:
                with self._select_lock:
                    self._mark_dead(endpoint, str(exc))
                if not safe:
                    raise ChainUnavailable(
                        f"{exc}; not repeated on another endpoint (the call may have taken effect)"
                    ) from exc
                failed.append(endpoint.url)
                if len(failed) >= len(self.endpoints):
                    raise ChainUnavailable(
                        f"no endpoint answered ({', '.join(failed)}): {exc}"
                    ) from exc

    def _select(self, *, force: bool) -> Endpoint:
        """The endpoint for the next call (under the selection lock), probing when due."""
        now = time.monotonic()
        current = self._current
        due = force or now - self._checked_at >= self.health_interval
        if current is not None and current.dead_until <= now and not due:
            return current
        self._probe_all(now)
        healthy = self._healthy()
        if not healthy:
            self._current = None
            problems = "; ".join(f"{e.url}: {e.problem}" for e in self.endpoints)
            raise ChainUnavailable(f"no healthy node endpoint ({problems})")
        chosen = current if current in healthy else healthy[0]
        if chosen is not current:
            if current is not None:
                self.switches += 1
                log.warning(
                    "RPC failover: %s -> %s (%s was %s)",
                    current.url,
                    chosen.url,
                    current.url,
                    current.problem,
                )
            self._current = chosen
            self.url = chosen.url
        return chosen

    def _mark_dead(self, endpoint: Endpoint, problem: str) -> None:
        endpoint.dead_until = time.monotonic() + self.retry_dead_after
        endpoint.problem = f"unreachable ({problem})"
        if endpoint is self._current:
            self._checked_at = -math.inf  # pick another one at the next call

    def _probe_all(self, now: float) -> None:
        self._checked_at = now
        for endpoint in self.endpoints:
            if endpoint.dead_until > now and endpoint is not self._current:
                continue
            self._probe(endpoint)

    def _probe(self, endpoint: Endpoint) -> None:
        calls: list[Call] = [("eth_chainId", []), ("eth_blockNumber", []), ("net_peerCount", [])]
        if endpoint.genesis is None:
            calls.append(("eth_getBlockByNumber", ["0x0", False]))
        try:
            answers = endpoint.probe.batch(calls, return_errors=True)
        except (ChainUnavailable, RpcError) as exc:
            self._mark_dead(endpoint, str(exc))
            return
        try:
            if isinstance(answers[0], RpcError) or isinstance(answers[1], RpcError):
                raise ValueError(f"eth_chainId/eth_blockNumber failed: {answers[0]}")
            endpoint.chain_id = int(answers[0], 16)
            endpoint.head = int(answers[1], 16)
            peers = answers[2]
            endpoint.peers = (
                None if isinstance(peers, RpcError) or peers is None else int(peers, 16)
            )
            if endpoint.genesis is None:
                genesis = answers[3]
                if isinstance(genesis, RpcError) or not isinstance(genesis, Mapping):
                    raise ValueError("no genesis block")
                endpoint.genesis = str(genesis["hash"])
        except (ValueError, TypeError, KeyError) as exc:
            self._mark_dead(endpoint, f"malformed health answer: {exc}")
            return
        endpoint.dead_until = 0.0
        endpoint.problem = "healthy"

    def _healthy(self) -> list[Endpoint]:
        now = time.monotonic()
        alive = [e for e in self.endpoints if e.dead_until <= now and e.head is not None]
        if self.identity is None and alive:
            first = alive[0]
            assert first.chain_id is not None and first.genesis is not None
            self.identity = (first.chain_id, first.genesis)
        same = []
        for endpoint in alive:
            if (endpoint.chain_id, endpoint.genesis) != self.identity:
                problem = (
                    f"another chain (chain id {endpoint.chain_id}, genesis {endpoint.genesis};"
                    f" expected {self.identity})"
                )
                if endpoint.problem != problem:
                    log.warning("RPC endpoint %s refused: %s", endpoint.url, problem)
                endpoint.problem = problem
            else:
                same.append(endpoint)
        if not same:
            return []
        best = max(e.head or 0 for e in same)
        connected = any(e.peers for e in same)
        healthy = []
        for endpoint in same:
            head, peers = endpoint.head or 0, endpoint.peers
            if head < best - self.max_lag:
                endpoint.problem = f"stale (head {head}, best {best}, max lag {self.max_lag})"
            elif peers is not None and (peers < self.min_peers or (connected and peers == 0)):
                endpoint.problem = f"isolated ({peers} peers)"
            else:
                healthy.append(endpoint)
        return healthy


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
