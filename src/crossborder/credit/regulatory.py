"""Regulatory credit (FX classification A/B/C, penalties): a table the regulator maintains in the
reporting store, off chain. Only the regulator's admin account (the consortium's owner, read from
the chain) may write it; no event makes it, so re-indexing keeps it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal

from sqlalchemy import Connection, Engine, delete, insert, select

from ..chain.signers import Signer
from ..domain.money import Money
from ..errors import InvalidInput, NotRegulator
from ..indexer import schema as s
from ..services.platform import Platform

FxClass = Literal["A", "B", "C"]
FX_CLASSES: tuple[FxClass, ...] = ("A", "B", "C")
REASON_CHARS = 200


def _hex(firm: bytes) -> str:
    if len(firm) != 32:
        raise InvalidInput("a firm is its 32-byte participant id")
    return "0x" + firm.hex()


class RegulatoryDesk:
    """The regulator's desk over the regulatory-credit table.

    Args:
        platform: The chain, to check the signer is the consortium's owner (the regulator).
        engine: The reporting store.
        regulator: The regulator's admin account.

    Raises:
        NotRegulator: The signer is not the consortium's owner.
    """

    def __init__(self, platform: Platform, engine: Engine, regulator: Signer) -> None:
        (owner,) = platform.view("Consortium", "owner")
        if str(owner).lower() != regulator.address.lower():
            raise NotRegulator("only the regulator's admin account maintains regulatory credit")
        self.platform = platform
        self.engine = engine
        self.by = regulator.address.lower()

    def classify(self, firm_uscc: str, classification: str, since: dt.date) -> None:
        """Sets a firm's FX classification (外汇管理分类: A, B or C) from ``since``."""
        if classification not in FX_CLASSES:
            raise InvalidInput(f"FX classification {classification!r}: A, B or C")
        firm = _hex(self.platform.ids.participant(firm_uscc))
        row = {
            "firm": firm,
            "classification": classification,
            "since_day": since.isoformat(),
            "updated_by": self.by,
            "updated_at": int(time.time()),
        }
        t = s.fx_classifications
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.firm == firm))
            conn.execute(insert(t).values(row))

    def add_penalty(self, firm_uscc: str, day: dt.date, fine: Money, reason: str) -> int:
        """Records a penalty (行政处罚) on a firm; returns its id."""
        reason = reason.strip()
        if not reason or len(reason) > REASON_CHARS:
            raise InvalidInput(f"the penalty's reason is 1 to {REASON_CHARS} characters")
        if fine.amount <= 0:
            raise InvalidInput("the fine must be positive")
        row = {
            "firm": _hex(self.platform.ids.participant(firm_uscc)),
            "day": day.isoformat(),
            "amount": fine.to_minor(),
            "currency": fine.currency.numeric,
            "reason": reason,
            "recorded_by": self.by,
            "recorded_at": int(time.time()),
        }
        with self.engine.begin() as conn:
            t = s.fx_penalties
            return int(conn.execute(insert(t).values(row).returning(t.c.penalty_id)).scalar_one())


def classification_of(conn: Connection, firm: str) -> tuple[str, str] | None:
    """A firm's (classification, since day), or None when the regulator set none."""
    t = s.fx_classifications
    found = conn.execute(select(t.c.classification, t.c.since_day).where(t.c.firm == firm)).first()
    return None if found is None else (found.classification, found.since_day)
