"""The statistics (``crossborder.reports``) as JSON, CSV or XLSX, scoped by the caller's token:
a bank statistician sees its own bank and branches, the regulator sees all."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from ...domain.money import currency
from ...errors import InvalidInput, UnknownEntity
from ...reports import REPORTS, Filters
from ...reports.model import SCENARIO_CODES
from ...reports.render import to_csv, to_json, write_xlsx
from ...reports.scope import scope_of
from ..deps import GatewayDep, PrincipalDep
from ..problems import problem_responses
from ..schemas import HEX32_PATTERN, ReportOut, one_of

router = APIRouter(prefix="/v1", tags=["reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ReportName = Annotated[
    str,
    Path(
        description="firm-stats 企业融资信息统计, financing-report 企业融资情况报表,"
        " verification-failures 报关单核验失败统计, interceptions 重复/超额融资拦截",
        json_schema_extra=one_of(sorted(REPORTS)),
    ),
]


@router.get(
    "/reports/{name}",
    response_model=ReportOut,
    responses={
        200: {
            "description": "the report, as asked by format",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(401, 403, 404, 422, 500, 503),
    },
    summary="a report from the indexer's store, scoped by the token",
)
def report(
    name: ReportName,
    principal: PrincipalDep,
    gateway: GatewayDep,
    format: Literal["json", "csv", "xlsx"] = "json",
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    bank: Annotated[str | None, Query(pattern=HEX32_PATTERN, description="a bank's id")] = None,
    currency_code: Annotated[
        str | None, Query(alias="currency", pattern=r"^[A-Z]{3}$", description="ISO 4217")
    ] = None,
    scenario: Annotated[str | None, Query(json_schema_extra=one_of(sorted(SCENARIO_CODES)))] = None,
    period: Literal["day", "month"] = "month",
) -> Response:
    """Days (``from``, ``to`` and the rows' days and months) are China Standard Time days."""
    query = REPORTS.get(name)
    if query is None:
        raise UnknownEntity(f"no report {name!r} (known: {', '.join(sorted(REPORTS))})")
    if scenario is not None and scenario not in SCENARIO_CODES:
        raise InvalidInput(f"unknown scenario {scenario!r}")
    filters = Filters(
        date_from=date_from,
        date_to=date_to,
        bank=bank.lower() if bank else None,
        currency=currency(currency_code).numeric if currency_code else None,
        scenario=SCENARIO_CODES[scenario] if scenario else None,
        period=period,
    )
    with gateway.reports().connect() as conn:
        scope = scope_of(conn, principal.account, gateway.platform.deployment.regulator)
        computed = query(conn, scope, filters, lambda fingerprint: fingerprint)
    if format == "csv":
        return Response(to_csv(computed), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        with tempfile.TemporaryDirectory() as folder:
            path = FilePath(folder) / f"{name}.xlsx"
            write_xlsx(computed, path)
            content = path.read_bytes()
        disposition = f'attachment; filename="{name}.xlsx"'
        return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})
    return Response(to_json(computed), media_type="application/json")
