"""What every ``crossborder`` command shares: the console and the one error renderer."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from rich.console import Console

from ..errors import CrossborderError

console = Console()
F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Prints a typed error as one clear line and exits non-zero, instead of a stack trace."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CrossborderError as error:
            console.print(f"[bold red]error:[/] {error}")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
