"""What every ``crossborder`` command shares: the consoles and the one error renderer."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from rich.console import Console
from rich.markup import escape

from ..errors import CrossborderError, InvalidInput

if TYPE_CHECKING:
    from ..chain.rpc import RpcClient
    from ..settings import Settings

console = Console()
# Errors and logs: a report written to stdout (``--format csv > out.csv``) stays clean.
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def error_line(message: str) -> None:
    """Print one error line on stderr, never wrapped over several lines."""
    text = " ".join(message.split())
    err_console.print(f"[bold red]error:[/] {escape(text)}", soft_wrap=True)


def one_line(error: BaseException) -> str:
    """An error as the one line the operator sees, whatever library raised it."""
    import requests
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, requests.RequestException):
        # Raised before any connection: a node URL requests cannot use.
        return f"the node URL is unusable (CROSSBORDER_RPC_URL or --rpc-url): {error}"
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in error.errors()
        )
        return f"invalid settings (CROSSBORDER_* variables or .env): {problems}"
    if isinstance(error, SQLAlchemyError):
        cause = getattr(error, "orig", None) or error
        lines = str(cause).strip().splitlines()
        return f"the reporting store failed: {lines[0] if lines else type(cause).__name__}"
    return str(error)


def _foreign() -> tuple[type[BaseException], ...]:
    import requests
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    return (requests.RequestException, ValidationError, SQLAlchemyError)


def friendly(fn: F) -> F:
    """Prints a typed error as one clear line on stderr and exits non-zero, instead of a stack
    trace; so too the errors of the libraries a command's settings reach (an unusable node URL,
    an invalid setting, a database error)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CrossborderError as error:
            error_line(str(error))
            sys.exit(1)
        except _foreign() as error:
            error_line(one_line(error))
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def node_url(url: str) -> str:
    """The node's URL, checked: JSON-RPC over HTTP(S) to a host (or several, comma-separated,
    of one chain to fail over between).

    Raises:
        InvalidInput: Anything else (e.g. ``CROSSBORDER_RPC_URL=notaurl``).
    """
    from ..chain.rpc import rpc_urls

    for part in rpc_urls(url):
        parsed = urlparse(part)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidInput(
                f"the node URL {part!r} is not an http(s):// URL with a host"
                " (set CROSSBORDER_RPC_URL or --rpc-url, e.g. http://127.0.0.1:8545)"
            )
    return url


def node_rpc(
    settings: Settings, url: str | None = None, *, timeout: float = 30, retries: int | None = None
) -> RpcClient:
    """A client of the node (``url``, else the settings'), failing over between several
    comma-separated URLs of one chain by the settings' health rules."""
    from ..chain.rpc import connect_rpc

    return connect_rpc(
        node_url(url or settings.rpc_url),
        max_lag=settings.rpc_max_lag,
        min_peers=settings.rpc_min_peers,
        timeout=timeout,
        retries=retries,
    )
