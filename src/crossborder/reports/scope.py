"""Who is asking: a bank statistician sees its own bank's rows, the regulator sees all."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..domain.codes import ParticipantKind, Stage
from ..errors import AccessDenied, MissingRole
from ..indexer import schema as s
from .model import Scope


def scope_of(conn: Connection, account: str, regulator_admin: str | None = None) -> Scope:
    """The scope of an operator account, from the indexed consortium.

    The consortium's admin account and operators of the regulator see everything; an operator
    of a bank (or of one of its branches) holding the statistician stage (融资业务银行统计员,
    ``Stage.STATISTICS``) in any scenario sees its legal-person bank's rows, of every scenario
    (receivables, policy, logistics) and of its branches.

    Raises:
        AccessDenied: The account is no operator, of a participant that gets no reports, or of
            a deactivated one (or a branch of a deactivated bank).
        MissingRole: A bank operator without the statistician stage in any scenario.
    """
    account = account.lower()
    if regulator_admin is not None and account == regulator_admin.lower():
        return Scope(bank=None)
    o, p = s.operators, s.participants
    row = conn.execute(
        select(o.c.participant, p.c.kind, p.c.parent, p.c.active)
        .select_from(o.join(p, p.c.participant == o.c.participant))
        .where(o.c.account == account)
    ).first()
    if row is None:
        raise AccessDenied(f"{account} is not an operator of any institution on the platform")
    head_active = True
    if row.parent is not None:
        head_active = bool(
            conn.execute(select(p.c.active).where(p.c.participant == row.parent)).scalar()
        )
    if not (row.active and head_active):
        raise AccessDenied("the institution is deactivated: none of its accounts may act")
    if row.kind == ParticipantKind.REGULATOR:
        return Scope(bank=None)
    if row.kind != ParticipantKind.BANK:
        raise AccessDenied("only banks and the regulator see financing statistics")
    r = s.operator_roles
    stages = conn.execute(select(r.c.stages).where(r.c.account == account)).scalars()
    if not any(int(flags) & Stage.STATISTICS for flags in stages):
        raise MissingRole(
            "the operator does not hold the bank statistician stage (融资业务银行统计员) "
            "in any scenario"
        )
    return Scope(bank=row.parent or row.participant)
