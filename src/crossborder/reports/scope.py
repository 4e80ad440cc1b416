"""Who is asking: a bank statistician sees its own bank's rows, the regulator sees all."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..domain.codes import ParticipantKind, Role
from ..errors import AccessDenied, MissingRole
from ..indexer import schema as s
from .model import Scope


def scope_of(conn: Connection, account: str, regulator_admin: str | None = None) -> Scope:
    """The scope of an operator account, from the indexed consortium.

    The consortium's admin account and operators of the regulator see everything; an operator
    of a bank (or of one of its branches) holding the statistician role (融资业务银行统计员) sees
    its legal-person bank's rows.

    Raises:
        AccessDenied: The account is no operator, or of a participant that gets no reports.
        MissingRole: A bank operator without the statistician role.
    """
    account = account.lower()
    if regulator_admin is not None and account == regulator_admin.lower():
        return Scope(bank=None)
    o, p = s.operators, s.participants
    row = conn.execute(
        select(o.c.participant, o.c.roles, p.c.kind, p.c.parent, p.c.active)
        .select_from(o.join(p, p.c.participant == o.c.participant))
        .where(o.c.account == account)
    ).first()
    if row is None:
        raise AccessDenied(f"{account} is not an operator of any institution on the platform")
    if not row.active:
        raise AccessDenied("the institution is deactivated: none of its accounts may act")
    if row.kind == ParticipantKind.REGULATOR:
        return Scope(bank=None)
    if row.kind != ParticipantKind.BANK:
        raise AccessDenied("only banks and the regulator see financing statistics")
    if not row.roles & Role.RCV_STATISTICS:
        raise MissingRole(
            "the operator does not hold the bank statistician role (融资业务银行统计员)"
        )
    return Scope(bank=row.parent or row.participant)
