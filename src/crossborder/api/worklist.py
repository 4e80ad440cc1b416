"""What the web console reads: a bank's financings across scenarios (its work queue by role),
and the directory of participants (names, kinds, regions) for its labels and drill-downs.

Financings are listed from the indexer's store (indexed by bank) and brought up to the chain's
head with one JSON-RPC batch: the live ones (applied, accepted, approved, disbursed) are read
again from the scenario contracts' ``financing`` view, and those newer than the store knows
(``financing_count``) are read there too, their firm from their ``FinancingApplied`` log. A
gateway without a store reads the newest financings from the chain alone. So an action taken a
moment ago shows in the queue at once, whatever the indexer's lag.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..chain.rpc import call_object
from ..domain.codes import FinancingState, ParticipantKind, Stage
from ..domain.documents import DOCUMENT_KINDS
from ..domain.identifiers import validate_uscc
from ..domain.models import from_day
from ..domain.money import Currency, Money, currency_by_numeric
from ..domain.scenarios import SCENARIO_SPECS, ScenarioSpec
from ..errors import InvalidInput
from ..indexer import schema as s
from ..indexer.schema import REPORTING_TZ
from ..indexer.store import StoreError
from ..services.consortium import participant_info, roles_of
from ..settings import get_settings
from .gateway import Gateway, Principal
from .schemas import KINDS, MoneyOut, kind_slug

# Financings read from the chain per request, at most: the newest beyond the store, per scenario,
# and the live ones of the store brought up to date.
CHAIN_WINDOW = 500
LIVE_WINDOW = 2000
MY_APPLICATIONS = 50  # the caller's newest applications, whatever their state
LIVE = frozenset(
    {
        FinancingState.APPLIED,
        FinancingState.ACCEPTED,
        FinancingState.APPROVED,
        FinancingState.DISBURSED,
    }
)
# The names file of the directory: ``uscc,name`` rows, as ``crossborder demo`` writes them.
NAMES_ENV = "CROSSBORDER_GATEWAY_NAMES"
DIRECTORY_TTL = 30.0

# Provinces by the first two digits of the administrative division code (行政区划码) that a USCC
# carries in its 3rd to 8th characters: a participant's region.
PROVINCES: dict[str, tuple[str, str]] = {
    "10": ("全国", "national"),
    "11": ("北京", "Beijing"),
    "12": ("天津", "Tianjin"),
    "13": ("河北", "Hebei"),
    "14": ("山西", "Shanxi"),
    "15": ("内蒙古", "Inner Mongolia"),
    "21": ("辽宁", "Liaoning"),
    "22": ("吉林", "Jilin"),
    "23": ("黑龙江", "Heilongjiang"),
    "31": ("上海", "Shanghai"),
    "32": ("江苏", "Jiangsu"),
    "33": ("浙江", "Zhejiang"),
    "34": ("安徽", "Anhui"),
    "35": ("福建", "Fujian"),
    "36": ("江西", "Jiangxi"),
    "37": ("山东", "Shandong"),
    "41": ("河南", "Henan"),
    "42": ("湖北", "Hubei"),
    "43": ("湖南", "Hunan"),
    "44": ("广东", "Guangdong"),
    "45": ("广西", "Guangxi"),
    "46": ("海南", "Hainan"),
    "50": ("重庆", "Chongqing"),
    "51": ("四川", "Sichuan"),
    "52": ("贵州", "Guizhou"),
    "53": ("云南", "Yunnan"),
    "54": ("西藏", "Tibet"),
    "61": ("陕西", "Shaanxi"),
    "62": ("甘肃", "Gansu"),
    "63": ("青海", "Qinghai"),
    "64": ("宁夏", "Ningxia"),
    "65": ("新疆", "Xinjiang"),
    "71": ("台湾", "Taiwan"),
    "81": ("香港", "Hong Kong"),
    "82": ("澳门", "Macao"),
}
UNKNOWN_REGION = ("", "未知地区", "unknown region")


def today_cst() -> dt.date:
    """Today in the platform's reporting zone (China Standard Time): when a repayment is due."""
    return dt.datetime.now(REPORTING_TZ).date()


def split_label(label: str) -> tuple[str, str]:
    """A bilingual label ``"中文 English"`` as its Chinese and its English part."""
    zh, _, en = label.partition(" ")
    return zh, en or zh


# -- financings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One financing as the console lists it (amounts in minor units)."""

    spec: ScenarioSpec
    id: int
    bank: str
    head: str
    firm: str | None
    applicant: str
    state: FinancingState
    currency: Currency
    requested: int
    disbursed: int
    repaid: int
    documents: int
    applied_at: int | None
    value_day: int | None
    due_day: int | None


class FinancingItem(BaseModel):
    """A financing in a list: its state now, who applied and what is due."""

    scenario: str
    id: int
    state: str
    bank: str = Field(description="the applying institution (a branch or its head office)")
    head: str = Field(description="its legal-person bank")
    firm: str | None = Field(description="the firm's participant id; None until indexed")
    applicant: str
    mine: bool = Field(description="the caller applied for it (maker-checker: may not review)")
    requested: MoneyOut
    disbursed: MoneyOut
    repaid: MoneyOut
    outstanding: MoneyOut
    documents: int
    applied_at: dt.datetime | None = None
    value_date: dt.date | None = None
    due_date: dt.date | None = None
    overdue: bool = False

    @classmethod
    def of(cls, row: Row, caller: str) -> FinancingItem:
        def money(units: int) -> MoneyOut:
            return MoneyOut.of(Money.from_minor(units, row.currency))

        due = from_day(row.due_day) if row.due_day and row.disbursed else None
        return cls(
            scenario=row.spec.name,
            id=row.id,
            state=row.state.name.lower(),
            bank=row.bank,
            head=row.head,
            firm=row.firm,
            applicant=row.applicant,
            mine=row.applicant == caller,
            requested=money(row.requested),
            disbursed=money(row.disbursed),
            repaid=money(row.repaid),
            outstanding=money(row.disbursed - row.repaid),
            documents=row.documents,
            applied_at=(
                dt.datetime.fromtimestamp(row.applied_at, dt.UTC) if row.applied_at else None
            ),
            value_date=from_day(row.value_day) if row.value_day and row.disbursed else None,
            due_date=due,
            overdue=(
                row.state is FinancingState.DISBURSED and due is not None and due < today_cst()
            ),
        )


class Listing(BaseModel):
    """Financings, newest first, as of a block of the chain."""

    block: int
    source: str = Field(description="indexer+chain: the store brought up to the head; chain")
    financings: list[FinancingItem]


class ScenarioRoles(BaseModel):
    scenario: str
    stages: list[str] = Field(description="stage names (apply, accept, review, …)")


class QueueOut(BaseModel):
    """A bank operator's work, by the stages it holds in each financing's scenario."""

    block: int
    source: str
    roles: list[ScenarioRoles]
    to_accept: list[FinancingItem] = Field(description="受理: applied")
    to_review: list[FinancingItem] = Field(description="审核: accepted (mine: not mine to review)")
    to_disburse: list[FinancingItem] = Field(description="放款登记: approved")
    repayments_due: list[FinancingItem] = Field(description="还款登记: disbursed, by due date")
    my_applications: list[FinancingItem] = Field(description="代申请: what the caller applied for")


def _hex(value: bytes | str) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value.lower()


def _specs_by_address(gateway: Gateway) -> dict[str, ScenarioSpec]:
    contracts = gateway.platform.deployment.contracts
    return {contracts[spec.contract].lower(): spec for spec in SCENARIO_SPECS}


def _store_rows(
    gateway: Gateway, head: str | None, limit: int, live: bool, applicant: str | None
) -> tuple[list[Row], dict[str, int], int] | None:
    """The store's newest financings (of one legal-person bank, or all; only live ones, or only
    one applicant's, when asked), the highest id it holds per scenario contract, and its
    checkpoint block; None when the gateway has no store, or it cannot be read yet (never
    indexed): the chain alone answers then."""
    if gateway.reports_url is None:
        return None
    f, p = s.financings, s.participants
    specs = _specs_by_address(gateway)
    head_of = func.coalesce(p.c.parent, f.c.bank)
    query = (
        select(f, head_of.label("head"))
        .select_from(f.outerjoin(p, p.c.participant == f.c.bank))
        .order_by(f.c.applied_at.desc(), f.c.financing_id.desc())
        .limit(limit)
    )
    if head is not None:
        query = query.where(head_of == head)
    if live:
        query = query.where(f.c.state.in_([int(state) for state in LIVE]))
    if applicant is not None:
        query = query.where(f.c.applicant == applicant)
    try:
        with gateway.reports().connect() as conn:
            found = conn.execute(query).all()
            highest = {
                address.lower(): int(top)
                for address, top in conn.execute(
                    select(f.c.scenario_address, func.max(f.c.financing_id)).group_by(
                        f.c.scenario_address
                    )
                )
            }
            checkpoint = conn.execute(select(s.checkpoint.c.block_number)).scalar()
    except (StoreError, SQLAlchemyError):
        return None
    rows = []
    for r in found:
        spec = specs.get(r.scenario_address.lower())
        if spec is None:
            continue
        rows.append(
            Row(
                spec=spec,
                id=int(r.financing_id),
                bank=r.bank,
                head=r.head,
                firm=r.firm,
                applicant=r.applicant.lower(),
                state=FinancingState(r.state),
                currency=currency_by_numeric(r.currency),
                requested=int(r.requested),
                disbursed=int(r.disbursed),
                repaid=int(r.repaid),
                documents=int(r.documents),
                applied_at=int(r.applied_at),
                value_day=r.value_day,
                due_day=r.due_day,
            )
        )
    return rows, highest, int(checkpoint or 0)


def _read_many(gateway: Gateway, wanted: Sequence[tuple[ScenarioSpec, int]]) -> list[Any]:
    """The ``financing`` view of many financings, in one JSON-RPC batch."""
    platform = gateway.platform
    calls = []
    for spec, fid in wanted:
        data = platform.abis[spec.contract].encode_call("financing", fid)
        calls.append(("eth_call", [call_object(platform.address(spec.contract), data), "latest"]))
    answers = platform.rpc.batch(calls) if calls else []
    records = []
    for (spec, _), answer in zip(wanted, answers, strict=True):
        (record,) = platform.abis[spec.contract].decode_output(
            "financing", bytes.fromhex(str(answer)[2:])
        )
        records.append(record)
    return records


def _firms(gateway: Gateway, spec: ScenarioSpec, ids: Iterable[int], since: int) -> dict[int, str]:
    """The firm of each financing, from its ``FinancingApplied`` log (mined after ``since``)."""
    platform = gateway.platform
    abi = platform.abis[spec.contract]
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    logs = platform.rpc.get_logs(
        address=platform.address(spec.contract),
        topics=[abi.event_topic("FinancingApplied"), [i.to_bytes(32, "big") for i in wanted]],
        from_block=max(since, platform.deployment.scenarios[spec.name].block),
        to_block="latest",
    )
    firms: dict[int, str] = {}
    for log in logs:
        event = abi.decode_log(log.topics, log.data)
        if event is not None:
            firms[int(event.args["financing_id"])] = _hex(event.args["firm"])
    return firms


def financings(
    gateway: Gateway,
    principal: Principal,
    *,
    head: str | None = None,
    limit: int = 200,
    live: bool = False,
    applicant: str | None = None,
) -> Listing:
    """The financings the caller may see (of ``head`` alone, when given; only the live ones,
    or one applicant's, when asked), newest first, as they stand at the chain's head.

    Raises:
        AccessDenied: The caller is neither a bank nor the regulator.
        InvalidInput: A bank asks for another bank's financings.
    """
    gateway.require_bank(principal)
    if not principal.regulator:
        own = _hex(principal.head or b"")
        if head is not None and head != own:
            raise InvalidInput("a bank sees only its own financings")
        head = own
    platform = gateway.platform
    block = platform.rpc.block_number()
    stored = _store_rows(gateway, head, LIVE_WINDOW if live else limit, live, applicant)
    rows, highest, checkpoint = stored if stored is not None else ([], {}, 0)
    source = "indexer+chain" if stored is not None else "chain"
    contracts = platform.deployment.contracts
    counts = {
        spec.name: int(platform.view(spec.contract, "financing_count")[0])
        for spec in SCENARIO_SPECS
    }
    fresh: list[tuple[ScenarioSpec, int]] = []
    for spec in SCENARIO_SPECS:
        known = highest.get(contracts[spec.contract].lower(), 0)
        first = max(known + 1, counts[spec.name] - CHAIN_WINDOW + 1, 1)
        fresh += [(spec, fid) for fid in range(first, counts[spec.name] + 1)]
    current = [r for r in rows if r.state in LIVE]
    records = _read_many(gateway, [(r.spec, r.id) for r in current] + fresh)
    updated: dict[tuple[str, int], Row] = {}
    for row, record in zip(current, records[: len(current)], strict=True):
        updated[(row.spec.name, row.id)] = _with_record(row, record)
    rows = [updated.get((r.spec.name, r.id), r) for r in rows]
    new_rows = []
    for (spec, fid), record in zip(fresh, records[len(current) :], strict=True):
        if int(record[2]) == 0:
            continue
        if live and FinancingState(int(record[2])) not in LIVE:
            continue
        if applicant is not None and str(record[0]).lower() != applicant:
            continue
        bank = _hex(bytes(record[1]))
        row_head = _hex(gateway.head_of(bytes(record[1])))
        if head is not None and row_head != head:
            continue
        new_rows.append(
            _with_record(
                Row(
                    spec=spec,
                    id=fid,
                    bank=bank,
                    head=row_head,
                    firm=None,
                    applicant="",
                    state=FinancingState.APPLIED,
                    currency=currency_by_numeric(int(record[3])),
                    requested=0,
                    disbursed=0,
                    repaid=0,
                    documents=0,
                    applied_at=None,
                    value_day=None,
                    due_day=None,
                ),
                record,
            )
        )
    for spec in SCENARIO_SPECS:
        ids = [r.id for r in new_rows if r.spec is spec]
        if ids:
            firms = _firms(gateway, spec, ids, checkpoint)
            new_rows = [replace(r, firm=firms.get(r.id)) if r.spec is spec else r for r in new_rows]
    everything = sorted(new_rows + rows, key=lambda r: (r.applied_at or 2**62, r.id), reverse=True)[
        :limit
    ]
    caller = principal.account.lower()
    return Listing(
        block=block,
        source=source,
        financings=[FinancingItem.of(r, caller) for r in everything],
    )


def _with_record(row: Row, record: Sequence[Any]) -> Row:
    applicant, _bank, state, currency, requested, disbursed, repaid, docs, _, value, due = record
    return replace(
        row,
        applicant=str(applicant).lower(),
        state=FinancingState(int(state)),
        currency=currency_by_numeric(int(currency)),
        requested=int(requested),
        disbursed=int(disbursed),
        repaid=int(repaid),
        documents=int(docs),
        value_day=int(value) or None,
        due_day=int(due) or None,
    )


def stage_names(stages: Stage) -> list[str]:
    return [stage.name.lower() for stage in Stage if stage & stages and stage.name]


def roles(gateway: Gateway, principal: Principal) -> dict[str, Stage]:
    """The stages the caller holds in each financing scenario (none for the regulator)."""
    if principal.institution is None:
        return {spec.name: Stage(0) for spec in SCENARIO_SPECS}
    return {
        spec.name: roles_of(gateway.platform, principal.account, spec.scenario)
        for spec in SCENARIO_SPECS
    }


def queue(gateway: Gateway, principal: Principal) -> QueueOut:
    """The caller's work by the stages it holds, in each financing's own scenario."""
    held = roles(gateway, principal)
    listing = financings(gateway, principal, limit=LIVE_WINDOW, live=True)
    caller = principal.account.lower()
    own = financings(gateway, principal, limit=MY_APPLICATIONS, applicant=caller)

    def holds(item: FinancingItem, stage: Stage) -> bool:
        return bool(held[item.scenario] & stage)

    # Oldest first: what has waited longest (chain-only rows, not yet timed, last).
    items = sorted(
        listing.financings,
        key=lambda i: (i.applied_at is None, i.applied_at.timestamp() if i.applied_at else 0, i.id),
    )
    state = FinancingState
    due = sorted(
        (i for i in items if i.state == "disbursed" and holds(i, Stage.REPAY)),
        key=lambda i: (i.due_date or dt.date.max, i.id),
    )
    return QueueOut(
        block=listing.block,
        source=listing.source,
        roles=[ScenarioRoles(scenario=name, stages=stage_names(st)) for name, st in held.items()],
        to_accept=[
            i for i in items if i.state == state.APPLIED.name.lower() and holds(i, Stage.ACCEPT)
        ],
        to_review=[
            i for i in items if i.state == state.ACCEPTED.name.lower() and holds(i, Stage.REVIEW)
        ],
        to_disburse=[
            i for i in items if i.state == state.APPROVED.name.lower() and holds(i, Stage.DISBURSE)
        ],
        repayments_due=due,
        my_applications=[i for i in own.financings if holds(i, Stage.APPLY)],
    )


# -- who is who ------------------------------------------------------------------------------------


class Region(BaseModel):
    code: str = Field(description="the province's two digits of the USCC's division code")
    zh: str
    en: str


class Participant(BaseModel):
    id: str
    kind: str | None
    name: str | None = None
    uscc: str | None = None
    parent: str | None = None
    region: Region


class ScenarioName(BaseModel):
    name: str
    code: int
    zh: str
    en: str
    cites: list[str] = Field(description="the kinds of document its applications may cite")


class KindName(BaseModel):
    kind: str
    zh: str
    en: str


class DirectoryOut(BaseModel):
    """Participants by id, with the names and regions the gateway's names file gives them;
    the scenarios and the kinds of document, named in Chinese and English."""

    participants: list[Participant]
    scenarios: list[ScenarioName]
    kinds: list[KindName]


class MeOut(BaseModel):
    """Who the token is: its operator account, institution and roles."""

    account: str
    institution: str | None
    head: str | None
    kind: str | None
    regulator: bool
    name: str | None = None
    region: Region | None = None
    roles: list[ScenarioRoles]


def region_of(uscc: str | None) -> Region:
    """The province of a USCC's administrative division code (characters 3 and 4)."""
    if uscc is None or len(uscc) != 18:
        code, zh, en = UNKNOWN_REGION
        return Region(code=code, zh=zh, en=en)
    code = uscc[2:4]
    zh, en = PROVINCES.get(code, UNKNOWN_REGION[1:])
    return Region(code=code, zh=zh, en=en)


def names_file() -> Path | None:
    """The names file: ``$CROSSBORDER_GATEWAY_NAMES``, else the demo's in the devnet folder."""
    named = os.environ.get(NAMES_ENV)
    if named:
        return Path(named)
    demo = get_settings().devnet_dir / "demo-names.csv"
    return demo if demo.is_file() else None


def read_names(path: Path) -> list[tuple[str, str]]:
    """``(uscc, name)`` rows of a ``uscc,name`` CSV; a row without a valid USCC is skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError:
        return []
    rows = []
    for row in csv.reader(text.splitlines()):
        if len(row) < 2 or row[0].strip().lower() == "uscc":
            continue
        try:
            rows.append((validate_uscc(row[0].strip()), row[1].strip()))
        except InvalidInput:
            continue
    return rows


class Directory:
    """Who is who, per gateway, recomputed every ``DIRECTORY_TTL`` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[float, DirectoryOut] | None = None

    def get(self, gateway: Gateway) -> DirectoryOut:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < DIRECTORY_TTL:
                return self._cached[1]
        found = self._compute(gateway)
        with self._lock:
            self._cached = (time.monotonic(), found)
        return found

    def _compute(self, gateway: Gateway) -> DirectoryOut:
        platform = gateway.platform
        people: dict[str, Participant] = {}
        path = names_file()
        for uscc, name in read_names(path) if path is not None else []:
            pid = platform.ids.participant(uscc)
            info = participant_info(platform, pid)
            people[_hex(pid)] = Participant(
                id=_hex(pid),
                kind=_kind(info.kind),
                name=name,
                uscc=uscc,
                parent=_hex(info.parent) if info.parent else None,
                region=region_of(uscc),
            )
        if gateway.reports_url is not None:
            p = s.participants
            try:
                with gateway.reports().connect() as conn:
                    for r in conn.execute(select(p.c.participant, p.c.kind, p.c.parent)):
                        if r.participant not in people:
                            people[r.participant] = Participant(
                                id=r.participant,
                                kind=_kind(ParticipantKind(r.kind)),
                                parent=r.parent,
                                region=region_of(None),
                            )
            except (StoreError, SQLAlchemyError):
                pass
        scenarios = []
        for spec in SCENARIO_SPECS:
            zh, en = split_label(spec.label)
            cites = [kind_slug(t) for t in spec.cites]
            scenarios.append(
                ScenarioName(name=spec.name, code=int(spec.scenario), zh=zh, en=en, cites=cites)
            )
        kinds = [
            KindName(kind=slug, zh=zh, en=en)
            for slug, t in sorted(KINDS.items(), key=lambda item: int(item[1]))
            for zh, en in [split_label(DOCUMENT_KINDS[t].label)]
        ]
        return DirectoryOut(participants=list(people.values()), scenarios=scenarios, kinds=kinds)


def _kind(kind: ParticipantKind | None) -> str | None:
    return kind.name.lower() if kind is not None else None


def me(gateway: Gateway, principal: Principal, directory: DirectoryOut) -> MeOut:
    held = roles(gateway, principal)
    known = {p.id: p for p in directory.participants}
    own = known.get(_hex(principal.institution)) if principal.institution else None
    head = known.get(_hex(principal.head)) if principal.head else None
    named = own if own is not None and own.name else head
    return MeOut(
        account=principal.account,
        institution=_hex(principal.institution) if principal.institution else None,
        head=_hex(principal.head) if principal.head else None,
        kind=_kind(principal.kind),
        regulator=principal.regulator,
        name=named.name if named is not None else None,
        region=named.region if named is not None else None,
        roles=[ScenarioRoles(scenario=name, stages=stage_names(st)) for name, st in held.items()],
    )
