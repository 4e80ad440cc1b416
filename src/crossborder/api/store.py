"""The gateway's own SQLite file: API tokens (hashed) and the responses of idempotent writes.

A token is shown once, when issued; the file keeps only its SHA-256, the operator account it
acts for, and when it was revoked. A write's ``Idempotency-Key`` is kept per account with the
hash of the request it was first used for and the response it got, so that a retry is answered
with that response and never sends a second transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput

TOKEN_PREFIX = "cbt_"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tokens ("
    " id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, account TEXT NOT NULL,"
    " label TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)",
    "CREATE INDEX IF NOT EXISTS ix_tokens_account ON tokens (account)",
    "CREATE TABLE IF NOT EXISTS responses ("
    " account TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL,"
    " status INTEGER NOT NULL, media_type TEXT NOT NULL, body BLOB NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY (account, key))",
)


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``token list`` shows it: never the token itself."""

    id: str
    account: str
    label: str
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True)
class StoredResponse:
    """The first response to an idempotent write, replayed to its retries."""

    request: str
    status: int
    media_type: str
    body: bytes


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class GatewayStore:
    """Tokens and idempotent responses in one SQLite file (WAL: the CLI issues and revokes
    tokens while the gateway serves, and a revocation holds from the next request on).

    Args:
        path: The SQLite file; its folder is created.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        db = self._db
        with db:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                db.execute(statement)

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection: readers never wait for a writer (WAL), writers queue."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()

    # -- tokens ----------------------------------------------------------------------------------

    def issue(self, account: str, label: str = "") -> tuple[str, str]:
        """A new token for an operator account.

        Returns:
            The token's id (for ``list`` and ``revoke``) and the token, shown only now.
        """
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_hash(token)
        token_id = digest[:12]
        with self._db as db:
            db.execute(
                "INSERT INTO tokens (id, hash, account, label, created_at) VALUES (?, ?, ?, ?, ?)",
                (token_id, digest, account.lower(), label, int(time.time())),
            )
        return token_id, token

    def revoke(self, token_id: str | None = None, account: str | None = None) -> int:
        """Revokes one token by id, or every token of an account; returns how many.

        Raises:
            InvalidInput: Neither or both are named.
        """
        if (token_id is None) == (account is None):
            raise InvalidInput("name a token id or an account, not both")
        column, value = ("id", token_id) if token_id is not None else ("account", account)
        with self._db as db:
            cursor = db.execute(
                f"UPDATE tokens SET revoked_at = ? WHERE {column} = ? AND revoked_at IS NULL",
                (int(time.time()), str(value).lower()),
            )
        return cursor.rowcount

    def tokens(self) -> list[TokenInfo]:
        rows = self._db.execute(
            "SELECT id, account, label, created_at, revoked_at FROM tokens ORDER BY created_at, id"
        ).fetchall()
        return [TokenInfo(*row) for row in rows]

    def account_of(self, token: str) -> tuple[str, str] | None:
        """The (token id, account) of a live token; None for an unknown or revoked one."""
        row = self._db.execute(
            "SELECT id, account FROM tokens WHERE hash = ? AND revoked_at IS NULL",
            (token_hash(token),),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    # -- idempotent responses --------------------------------------------------------------------

    def response(self, account: str, key: str) -> StoredResponse | None:
        row = self._db.execute(
            "SELECT request, status, media_type, body FROM responses WHERE account = ? AND key = ?",
            (account.lower(), key),
        ).fetchone()
        return None if row is None else StoredResponse(row[0], row[1], row[2], bytes(row[3]))

    def remember(self, account: str, key: str, response: StoredResponse) -> None:
        with self._db as db:
            db.execute(
                "INSERT INTO responses (account, key, request, status, media_type, body,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    account.lower(),
                    key,
                    response.request,
                    response.status,
                    response.media_type,
                    response.body,
                    int(time.time()),
                ),
            )
