"""The base of every value that crosses the SDK's boundary.

A pydantic model raises ``ValidationError`` on bad input; callers of the SDK catch
``errors.InvalidInput`` (also a ``ValueError``) for every bad input, so a boundary model turns
the first validation error into one ``InvalidInput`` whose one-line message names the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import InvalidInput


def one_line(error: ValidationError) -> str:
    """The first validation error as one line an operator reads: field, then what is wrong."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    shown = f"{error.title}: " + (f"{where}: {message}" if where else message)
    more = error.error_count() - 1
    return shown + (f" (and {more} more)" if more else "")


class BoundaryModel(BaseModel):
    """A pydantic model whose bad input raises ``InvalidInput``, never ``ValidationError``."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise InvalidInput(one_line(error)) from None
