"""The demo consortium and its receivables story, as ``make up`` runs it on the devnet."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .chain.signers import Signer
from .domain.codes import ParticipantKind, Scenario, Stage
from .domain.identifiers import make_uscc
from .domain.models import Citation, Declaration, FinancingApplication
from .domain.money import Money
from .errors import CrossborderError
from .services.consortium import (
    ConsortiumAdmin,
    Operator,
    participant_info,
    service_status,
    sign_consent,
)
from .services.documents import DocumentRegistry, Screening
from .services.platform import Platform
from .services.receivables import ReceivablesDesk

BANK_STAGES = (Stage.APPLY, Stage.ACCEPT, Stage.REVIEW, Stage.DISBURSE, Stage.REPAY)
RCV = Scenario.RECEIVABLES
# Firms sign their consents for a year.
CONSENT_VALIDITY = dt.timedelta(days=365)


# Stand-in codes (made-up bodies with valid check characters), never real institutions.
REGULATOR_USCC = make_uscc("11100000000013127")  # 国家外汇管理局
CUSTOMS_USCC = make_uscc("11100000000012345")  # 海关总署
BANKS = {
    "Bank A": make_uscc("91350200260130000"),
    "Bank B": make_uscc("91110000100000001"),
}
FIRMS = {
    "Xiamen Seaside Trading Co.": make_uscc("91350200MA2Y00001"),
    "Chongqing Rail Export Ltd.": make_uscc("91500000MA5U00002"),
    "Qingdao Harbour Foods Co.": make_uscc("91370200MA3C00003"),
}


@dataclass
class BankDesks:
    name: str
    uscc: str
    signers: dict[Stage, Signer]
    opener: Signer
    statistician: Signer

    def desk(self, platform: Platform, role: Stage) -> ReceivablesDesk:
        return ReceivablesDesk(platform, self.signers[role])


@dataclass
class Story:
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    declarations: list[str] = field(default_factory=list)

    def say(self, actor: str, action: str, outcome: str) -> None:
        self.lines.append((actor, action, outcome))


def onboard(
    platform: Platform, signers: Sequence[Signer]
) -> tuple[Signer, dict[str, BankDesks], dict[str, Signer]]:
    """Onboards the demo consortium (idempotent: participants already there are kept).

    Each firm gets a bound account that signs its consents; each bank submits them.
    """
    regulator, customs = signers[0], signers[1]
    admin = ConsortiumAdmin(platform, regulator)
    banks: dict[str, BankDesks] = {}
    next_signer = 2
    customs_ops = [Operator(customs.address, {Scenario.PLATFORM: Stage.REGISTER})]
    plan: list[tuple[str, ParticipantKind, str | None, list[Operator]]] = [
        (REGULATOR_USCC, ParticipantKind.REGULATOR, None, []),
        (CUSTOMS_USCC, ParticipantKind.CUSTOMS, None, customs_ops),
    ]
    for name, uscc in BANKS.items():
        ops = {role: signers[next_signer + i] for i, role in enumerate(BANK_STAGES)}
        opener = signers[next_signer + len(BANK_STAGES)]
        statistician = signers[next_signer + len(BANK_STAGES) + 1]
        next_signer += len(BANK_STAGES) + 2
        banks[name] = BankDesks(name, uscc, ops, opener, statistician)
        operators = [Operator(s.address, {RCV: r}) for r, s in ops.items()]
        # The applicant is a senior operator who also reviews others' applications (maker-checker).
        operators[0] = Operator(ops[Stage.APPLY].address, {RCV: Stage.APPLY | Stage.REVIEW})
        operators.append(Operator(opener.address, {RCV: Stage.SERVICE}))
        operators.append(Operator(statistician.address, {RCV: Stage.STATISTICS}))
        plan.append((uscc, ParticipantKind.BANK, None, operators))
    firm_signers: dict[str, Signer] = {}
    for uscc in FIRMS.values():
        firm_signers[uscc] = signers[next_signer]
        next_signer += 1
        plan.append(
            (uscc, ParticipantKind.ENTERPRISE, None, [Operator(firm_signers[uscc].address)])
        )
    missing = [
        p for p in plan if participant_info(platform, admin.participant_id(p[0])).kind is None
    ]
    admin.onboard_many(missing)
    until = dt.datetime.now(dt.UTC) + CONSENT_VALIDITY
    for bank in banks.values():
        consents = [
            sign_consent(platform, firm_signers[firm], firm, bank.uscc, RCV, until)
            for firm in FIRMS.values()
            if service_status(platform, firm, bank.uscc, RCV)[0] is None
        ]
        ReceivablesDesk(platform, bank.opener).open_services(consents)
    return customs, banks, firm_signers


def write_names(path: Path) -> Path:
    """The demo's off-chain names (``uscc,name``), for ``crossborder report --names``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [("uscc", "name"), (REGULATOR_USCC, "State Administration of Foreign Exchange")]
    rows += [(CUSTOMS_USCC, "Customs")]
    rows += [(uscc, name) for name, uscc in {**BANKS, **FIRMS}.items()]
    path.write_text("".join(f"{uscc},{name}\n" for uscc, name in rows), encoding="utf-8")
    return path


def run_story(
    platform: Platform, signers: Sequence[Signer], progress: Callable[[str], None] = print
) -> Story:
    """The receivables story: a second bank is refused a declaration the first already financed."""
    story = Story()
    customs, banks, _ = onboard(platform, signers)
    story.say("Regulator 外汇局", "onboarded the consortium", "customs, 2 banks, 3 firms")
    story.say(
        "Firms 企业",
        "signed consents (业务开通授权), submitted by each bank",
        "receivables service open at both banks",
    )
    bank_a, bank_b = banks["Bank A"], banks["Bank B"]
    firms = list(FIRMS.values())

    rng = random.Random()
    today = dt.date.today()
    declarations = [
        Declaration(
            number=f"{rng.randrange(10**17, 10**18)}",
            export_date=today - dt.timedelta(days=10 + i),
            exporter=firms[i % 3],
            amount=Money(amount=Decimal(amount), currency="USD"),
        )
        for i, amount in enumerate(["120000.00", "80000.00", "45500.50", "230000.00"])
    ]
    registered = DocumentRegistry(platform, customs).register_declarations(declarations)
    story.declarations = [d.number for d in declarations]
    story.say(
        "Customs 海关",
        f"registered {registered.documents} export declarations (报关单)",
        f"{registered.transactions} transaction(s)",
    )
    d0, d1 = declarations[0], declarations[1]
    progress("Bank A finances declaration 1 in full …")
    apply_a = bank_a.desk(platform, Stage.APPLY)
    fid = apply_a.apply(
        FinancingApplication(
            firm=d0.exporter, citations=(Citation(document=d0.number, amount=d0.amount),)
        )
    )
    story.say("Bank A 代申请", f"applied against {d0.number} for {d0.amount}", f"financing #{fid}")
    bank_a.desk(platform, Stage.ACCEPT).accept(fid)
    try:
        apply_a.review(fid, True)
    except CrossborderError as error:
        story.say("Bank A applicant", "tried to approve its own application", f"refused: {error}")
    bank_a.desk(platform, Stage.REVIEW).review(fid, True)
    bank_a.desk(platform, Stage.DISBURSE).register_disbursement(
        fid, d0.amount, today, today + dt.timedelta(days=90)
    )
    story.say(
        "Bank A 受理/审核/放款", "accepted, approved (another operator), disbursed", str(d0.amount)
    )

    progress("Bank B tries the same declaration …")
    apply_b = bank_b.desk(platform, Stage.APPLY)
    for citation, what in (
        (
            Citation(document=d0.number, amount=Money(amount=Decimal("50000"), currency="USD")),
            "the same declaration",
        ),
        (
            Citation(document=d1.number, amount=Money(amount=Decimal("60000"), currency="USD")),
            "part of declaration 2",
        ),
        (
            Citation(document=d1.number, amount=Money(amount=Decimal("30000"), currency="USD")),
            "more of declaration 2",
        ),
    ):
        firm = d0.exporter if citation.document == d0.number else d1.exporter
        try:
            other = apply_b.apply(FinancingApplication(firm=firm, citations=(citation,)))
            story.say("Bank B 代申请", f"{what}: {citation.amount}", f"financing #{other}")
        except CrossborderError as error:
            story.say("Bank B 代申请", f"{what}: {citation.amount}", f"refused — {error}")

    bank_a.desk(platform, Stage.REPAY).register_repayment(
        fid, Money(amount=Decimal("20000"), currency="USD")
    )
    record = bank_a.desk(platform, Stage.REPAY).financing(fid)
    story.say(
        "Bank A 还款登记", "partial repayment USD 20,000.00", f"outstanding {record.outstanding}"
    )

    infos = Screening(platform).declarations([d.number for d in declarations])
    for declaration, info in zip(declarations, infos, strict=True):
        left = info.remaining if info.remaining is not None else "-"
        story.say(
            "Bank B 查询",
            f"inter-bank query {declaration.number}",
            f"{info.status.name.lower().replace('_', ' ')}, {left} left",
        )
    failures = platform.view("ReceivablesFinancing", "failures_by_reason", 5)[0]
    story.say("Regulator 统计", "duplicate-financing refusals recorded on chain", str(failures))
    return story
