"""A stand-in for one node endpoint: an HTTP proxy in front of a real Anvil that can go away.

Two proxies in front of one Anvil are two endpoints of the same chain (what a consortium's
nodes are to the SDK); stopping a proxy is a node going away. It can also report a peer count
(Anvil does not answer ``net_peerCount``) and lose its answer to a transaction broadcast.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class NodeProxy(ThreadingHTTPServer):
    """Forwards JSON-RPC to ``upstream``; ``peers`` answers ``net_peerCount`` when not None.

    Attributes:
        die_on_send: Forward the next ``eth_sendRawTransaction``, then stop without answering
            (the node took the transaction and went away).
        hold_sends: Neither forward nor answer ``eth_sendRawTransaction`` until stopped (the
            sender hangs between recording its signed bytes and the node having them).
        methods: Every method the proxy forwarded, in order.
    """

    daemon_threads = True

    def __init__(self, upstream: str, port: int = 0, peers: int | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.upstream = upstream
        self.peers = peers
        self.die_on_send = False
        self.hold_sends = False
        self.released = threading.Event()
        self.methods: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop answering and free the port."""
        self.released.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: NodeProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        calls = json.loads(body)
        batch = calls if isinstance(calls, list) else [calls]
        self.server.methods.extend(call["method"] for call in batch)
        if self.server.hold_sends and b"eth_sendRawTransaction" in body:
            self.server.released.wait()
            self.close_connection = True
            return
        answer = requests.post(
            self.server.upstream, data=body, headers={"Content-Type": "application/json"}
        ).json()
        if self.server.die_on_send and b"eth_sendRawTransaction" in body:
            self.server.die_on_send = False
            self.close_connection = True
            threading.Thread(target=self.server.stop, daemon=True).start()
            return
        if self.server.peers is not None:
            answer = _with_peers(batch, answer, self.server.peers)
        out = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _with_peers(batch: list[dict[str, Any]], answer: Any, peers: int) -> Any:
    ids = {call["id"] for call in batch if call["method"] == "net_peerCount"}
    items = answer if isinstance(answer, list) else [answer]
    for item in items:
        if item.get("id") in ids:
            item.pop("error", None)
            item["result"] = hex(peers)
    return answer
