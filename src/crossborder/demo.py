"""The demo consortium and its receivables story, as ``make up`` runs it on the devnet."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .chain.signers import Signer
from .domain.codes import (
    CreditPurpose,
    CreditScope,
    DeclineReason,
    DocumentType,
    ParticipantKind,
    ReviewOutcome,
    Scenario,
    Stage,
)
from .domain.identifiers import make_uscc
from .domain.models import Citation, Declaration, FinancingApplication, TransportDocument
from .domain.money import Money, currency
from .domain.payments import CAPITAL, FREIGHT, PAYMENT_SPECS, TAX, PaymentDocument
from .domain.scenarios import POLICY, SCENARIO_SPECS
from .errors import CrossborderError
from .services import credit_query
from .services.consortium import (
    ConsortiumAdmin,
    Operator,
    open_services,
    participant_info,
    service_status,
    sign_consent,
)
from .services.credit_matching import CreditMatchingDesk, Outlet, request_credit
from .services.credit_query import CreditQueryDesk
from .services.documents import DocumentRegistry, Screening
from .services.financing import FinancingDesk
from .services.logistics import LogisticsDesk
from .services.payments import PaymentDesk, PostReview
from .services.platform import Platform
from .services.policy import InsurerDesk, PolicyDesk, set_advance_ratio, sign_assignment
from .services.receivables import ReceivablesDesk

BANK_STAGES = (Stage.APPLY, Stage.ACCEPT, Stage.REVIEW, Stage.DISBURSE, Stage.REPAY)
RCV = Scenario.RECEIVABLES
PLATFORM = (Scenario.PLATFORM,)
FINANCINGS = tuple(spec.scenario for spec in SCENARIO_SPECS)
# Credit query and credit matching (issue 11): the opener opens these services too; one credit
# officer per bank queries, keeps outlets, matches, accepts and decides.
CREDIT = (Scenario.CREDIT_QUERY, Scenario.CREDIT_MATCH)
CREDIT_OFFICER_ROLES = {
    Scenario.CREDIT_QUERY: Stage.QUERY,
    Scenario.CREDIT_MATCH: Stage.OUTLETS | Stage.MATCH | Stage.ACCEPT,
}
ADVANCE_RATIO = Decimal("0.8")  # banks finance up to 80 % of an insured amount
# Firms sign their consents for a year.
CONSENT_VALIDITY = dt.timedelta(days=365)


# Stand-in codes (made-up bodies with valid check characters), never real institutions.
REGULATOR_USCC = make_uscc("11100000000013127")  # 国家外汇管理局
CUSTOMS_USCC = make_uscc("11100000000012345")  # 海关总署
INSURER_USCC = make_uscc("91110000710930000")  # 中国出口信用保险公司 (stand-in)
LOGISTICS_USCC = make_uscc("91500000MA6000000")  # 渝新欧 rail operator (stand-in)
TAX_USCC = make_uscc("11100000000019999")  # 国家税务总局 (stand-in)
PAYMENTS = tuple(spec.scenario for spec in PAYMENT_SPECS)
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
    # 付汇核验: the payment verification operator of every payment scenario.
    teller: Signer | None = None

    def desk(self, platform: Platform, role: Stage) -> ReceivablesDesk:
        return ReceivablesDesk(platform, self.signers[role])


@dataclass
class Story:
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    declarations: list[str] = field(default_factory=list)
    # Policy numbers, buyer codes, waybill numbers: identifiers that must stay off the chain too.
    references: list[str] = field(default_factory=list)

    def say(self, actor: str, action: str, outcome: str) -> None:
        self.lines.append((actor, action, outcome))


@dataclass
class DemoConsortium:
    """Who the demo onboarded, with the signers that act for each."""

    customs: Signer
    banks: dict[str, BankDesks]
    firms: dict[str, Signer]
    insurer: Signer
    logistics: Signer
    tax: Signer | None = None
    credit: dict[str, Signer] = field(default_factory=dict)  # bank name: its credit officer


def onboard(platform: Platform, signers: Sequence[Signer]) -> DemoConsortium:
    """Onboards the demo consortium (idempotent: participants already there are kept).

    Bank operators hold their stage in every financing scenario; each firm gets a bound account
    that signs its consents, one per bank and scenario, which each bank submits. The regulator
    sets each bank's advance ratio on insured amounts.
    """
    regulator, customs = signers[0], signers[1]
    admin = ConsortiumAdmin(platform, regulator)
    banks: dict[str, BankDesks] = {}
    next_signer = 2
    plan: list[tuple[str, ParticipantKind, str | None, list[Operator]]] = [
        (REGULATOR_USCC, ParticipantKind.REGULATOR, None, []),
        (CUSTOMS_USCC, ParticipantKind.CUSTOMS, None, [_op(customs, PLATFORM, Stage.REGISTER)]),
    ]
    # The credit officers come after every other signer (the insurer, logistics, the tax bureau
    # and the banks' payment tellers), so that earlier ones keep their numbers.
    credit_first = 2 + len(BANKS) * (len(BANK_STAGES) + 2) + len(FIRMS) + 2 + 1 + len(BANKS)
    credit: dict[str, Signer] = {}
    for name, uscc in BANKS.items():
        credit[name] = signers[credit_first + len(credit)]
        ops = {role: signers[next_signer + i] for i, role in enumerate(BANK_STAGES)}
        opener = signers[next_signer + len(BANK_STAGES)]
        statistician = signers[next_signer + len(BANK_STAGES) + 1]
        next_signer += len(BANK_STAGES) + 2
        banks[name] = BankDesks(name, uscc, ops, opener, statistician)
        operators = [_op(s, FINANCINGS, r) for r, s in ops.items()]
        # The applicant is a senior operator who also reviews others' applications (maker-checker).
        operators[0] = _op(ops[Stage.APPLY], FINANCINGS, Stage.APPLY | Stage.REVIEW)
        operators.append(_op(opener, FINANCINGS + CREDIT, Stage.SERVICE))
        operators.append(_op(statistician, FINANCINGS, Stage.STATISTICS))
        operators.append(Operator(credit[name].address, CREDIT_OFFICER_ROLES))
        plan.append((uscc, ParticipantKind.BANK, None, operators))
    firm_signers: dict[str, Signer] = {}
    for uscc in FIRMS.values():
        firm_signers[uscc] = signers[next_signer]
        next_signer += 1
        plan.append(
            (uscc, ParticipantKind.ENTERPRISE, None, [Operator(firm_signers[uscc].address)])
        )
    insurer, logistics = signers[next_signer], signers[next_signer + 1]
    plan.append(
        (
            INSURER_USCC,
            ParticipantKind.INSURER,
            None,
            [_op(insurer, (POLICY.scenario,), Stage.REGISTER)],
        )
    )
    plan.append(
        (
            LOGISTICS_USCC,
            ParticipantKind.LOGISTICS,
            None,
            [_op(logistics, PLATFORM, Stage.REGISTER)],
        )
    )
    # Payment facilitation: the tax bureau registers filings and invoices; each bank's teller
    # (付汇核验) registers payments. Their signers come after everyone else's.
    tax = signers[next_signer + 2]
    plan.append((TAX_USCC, ParticipantKind.TAX, None, [_op(tax, PLATFORM, Stage.REGISTER)]))
    for i, bank in enumerate(banks.values()):
        bank.teller = signers[next_signer + 3 + i]
        entry = next(p for p in plan if p[0] == bank.uscc)
        entry[3].append(_op(bank.teller, PAYMENTS, Stage.VERIFY))
    missing = [
        p for p in plan if participant_info(platform, admin.participant_id(p[0])).kind is None
    ]
    admin.onboard_many(missing)
    until = dt.datetime.now(dt.UTC) + CONSENT_VALIDITY
    for bank in banks.values():
        if missing:
            set_advance_ratio(platform, regulator, bank.uscc, ADVANCE_RATIO)
        consents = [
            sign_consent(platform, firm_signers[firm], firm, bank.uscc, scenario, until)
            for scenario in FINANCINGS
            for firm in FIRMS.values()
            if service_status(platform, firm, bank.uscc, scenario)[0] is None
        ]
        open_services(platform, bank.opener, consents)
    return DemoConsortium(customs, banks, firm_signers, insurer, logistics, tax, credit)


def _op(signer: Signer, scenarios: Sequence[Scenario], stages: Stage) -> Operator:
    return Operator(signer.address, dict.fromkeys(scenarios, stages))


def write_names(path: Path) -> Path:
    """The demo's off-chain names (``uscc,name``), for ``crossborder report --names``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [("uscc", "name"), (REGULATOR_USCC, "State Administration of Foreign Exchange")]
    rows += [(CUSTOMS_USCC, "Customs"), (INSURER_USCC, "Export credit insurer")]
    rows += [(LOGISTICS_USCC, "Rail operator"), (TAX_USCC, "Tax bureau")]
    rows += [(uscc, name) for name, uscc in {**BANKS, **FIRMS}.items()]
    path.write_text("".join(f"{uscc},{name}\n" for uscc, name in rows), encoding="utf-8")
    return path


def run_story(
    platform: Platform, signers: Sequence[Signer], progress: Callable[[str], None] = print
) -> Story:
    """The demo story: a second bank is refused a declaration the first already financed, as a
    receivable, as an insured shipment (policy financing) and through a linked rail waybill."""
    story = Story()
    demo = onboard(platform, signers)
    customs, banks = demo.customs, demo.banks
    story.say("Regulator 外汇局", "onboarded the consortium", "customs, 2 banks, 3 firms")
    story.say(
        "Firms 企业",
        "signed consents (业务开通授权), submitted by each bank",
        "receivables, policy and logistics services open at both banks",
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

    _policy_story(platform, demo, declarations[2], story, progress)
    _logistics_story(platform, demo, declarations[3], story, progress)
    _payments_story(platform, demo, signers[0], story, progress)
    _credit_story(platform, demo, story, progress)

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


def _policy_story(
    platform: Platform,
    demo: DemoConsortium,
    declaration: Declaration,
    story: Story,
    progress: Callable[[str], None],
) -> None:
    """出口信保保单融资: an insured shipment financed at Bank A; Bank B cannot finance it again."""
    progress("The insurer covers a shipment; Bank A finances it …")
    bank_a, bank_b = demo.banks["Bank A"], demo.banks["Bank B"]
    firm = declaration.exporter
    number = f"SINO-{random.randrange(10**8, 10**9)}"
    insurer = InsurerDesk(platform, demo.insurer)
    insurer.register_policy(
        number, firm, "US-BUYER-0001", Money("500000.00", "USD"), dt.date.today() + CONSENT_VALIDITY
    )
    story.references += [number, "US-BUYER-0001"]
    insurer.declare_shipment(declaration.number, number, declaration.amount)
    insurer.confirm_cover(declaration.number)
    story.say(
        "Insurer 中国信保",
        f"policy {number}: shipment {declaration.number} covered",
        str(declaration.amount),
    )
    until = dt.datetime.now(dt.UTC) + CONSENT_VALIDITY
    signed = sign_assignment(platform, demo.firms[firm], number, firm, bank_a.uscc, until)
    PolicyDesk(platform, bank_a.opener).request_assignment(signed)
    insurer.confirm_assignment(number, bank_a.uscc)
    story.say(
        "Firm, Bank A, insurer",
        "claim rights assigned (赔款权益转让)",
        "firm signed, insurer confirmed",
    )
    advance = Money.from_minor(declaration.amount.to_minor() * 8 // 10, declaration.amount.currency)
    fid = PolicyDesk(platform, bank_a.signers[Stage.APPLY]).apply(
        FinancingApplication(
            firm=firm, citations=(Citation(document=declaration.number, amount=advance),)
        )
    )
    story.say(
        "Bank A 保单融资代申请", f"80 % of the insured amount: {advance}", f"financing #{fid}"
    )
    try:
        ReceivablesDesk(platform, bank_b.signers[Stage.APPLY]).apply(
            FinancingApplication(
                firm=firm,
                citations=(Citation(document=declaration.number, amount=Money("10000", "USD")),),
            )
        )
        story.say("Bank B 代申请", "the insured declaration as a receivable", "financed")
    except CrossborderError as error:
        story.say(
            "Bank B 代申请",
            "the insured declaration as a receivable: USD 10,000.00",
            f"refused — {error}",
        )


def _logistics_story(
    platform: Platform,
    demo: DemoConsortium,
    declaration: Declaration,
    story: Story,
    progress: Callable[[str], None],
) -> None:
    """物流融资: a rail waybill linked to its declaration financed at Bank A, refused at Bank B."""
    progress("A rail waybill is financed at Bank A and tried at Bank B …")
    bank_a, bank_b = demo.banks["Bank A"], demo.banks["Bank B"]
    waybill = TransportDocument(
        kind=DocumentType.RAIL_WAYBILL,
        number=f"CQ-{random.randrange(10**9, 10**10)}",
        consignor=declaration.exporter,
        goods_value=declaration.amount,
        issued=declaration.export_date,
        corridor="中欧班列长安号",
        carrier="China Railway Container",
        declaration=declaration.number,
    )
    DocumentRegistry(platform, demo.logistics).register_transport([waybill])
    story.references.append(waybill.number)
    story.say(
        "Rail operator 铁路",
        f"registered waybill {waybill.number} ({waybill.corridor}), linked to {declaration.number}",
        str(waybill.goods_value),
    )

    def application(amount: str) -> FinancingApplication:
        return FinancingApplication(
            firm=declaration.exporter,
            citations=(
                Citation(
                    document=waybill.number,
                    kind=DocumentType.RAIL_WAYBILL,
                    amount=Money(amount, "USD"),
                ),
            ),
        )

    fid = LogisticsDesk(platform, bank_a.signers[Stage.APPLY]).apply(application("150000"))
    story.say("Bank A 物流融资代申请", "the waybill: USD 150,000.00", f"financing #{fid}")
    as_receivable = FinancingApplication(
        firm=declaration.exporter,
        citations=(Citation(document=declaration.number, amount=Money("100000", "USD")),),
    )
    attempts: list[tuple[FinancingDesk, str, FinancingApplication]] = [
        (
            LogisticsDesk(platform, bank_b.signers[Stage.APPLY]),
            "the same waybill",
            application("100000"),
        ),
        (ReceivablesDesk(platform, bank_b.signers[Stage.APPLY]), "its declaration", as_receivable),
    ]
    for desk, what, attempt in attempts:
        try:
            desk.apply(attempt)
            story.say("Bank B 代申请", f"{what}: {attempt.total}", "financed")
        except CrossborderError as error:
            story.say("Bank B 代申请", f"{what}: {attempt.total}", f"refused — {error}")


def _payments_story(
    platform: Platform,
    demo: DemoConsortium,
    regulator: Signer,
    story: Story,
    progress: Callable[[str], None],
) -> None:
    """便利化类: payments under a tax filing never beyond it, freight invoices paid once across
    banks, and a qualified firm's capital-account payments sampled for post-review."""
    progress("Banks pay under a tax filing and against invoices …")
    bank_a, bank_b = demo.banks["Bank A"], demo.banks["Bank B"]
    assert demo.tax is not None and bank_a.teller is not None and bank_b.teller is not None
    firms = list(FIRMS.values())
    today = dt.date.today()
    serial = random.randrange(10**9, 10**10)
    filing = f"TF{serial}/{serial % 9973:04d}"
    freight = [f"{4403190000 + serial % 10**6:010d}/{i:08d}" for i in range(1, 4)]
    invoices = [f"{3100190000 + serial % 10**6:010d}/{i:08d}" for i in range(1, 7)]
    story.references += [filing, *freight, *invoices]

    def document(kind: DocumentType, number: str, payer: str, amount: str) -> PaymentDocument:
        return PaymentDocument(
            kind=kind, number=number, payer=payer, amount=Money(amount, "USD"), issued=today
        )

    registry = DocumentRegistry(platform, demo.tax)
    registry.register(
        DocumentType.TAX_FILING, [document(DocumentType.TAX_FILING, filing, firms[0], "50000")]
    )
    registry.register(
        DocumentType.FREIGHT_INVOICE,
        [document(DocumentType.FREIGHT_INVOICE, n, firms[1], "1800") for n in freight],
    )
    registry.register(
        DocumentType.INVOICE,
        [document(DocumentType.INVOICE, n, firms[2], "9000") for n in invoices],
    )
    story.say(
        "Tax 税务",
        f"registered tax filing {filing}, 3 freight invoices, 6 invoices",
        "USD 50,000.00 filed",
    )

    tax_a, tax_b = (
        PaymentDesk(platform, bank_a.teller, TAX),
        PaymentDesk(platform, bank_b.teller, TAX),
    )
    for desk, who, amount in (
        (tax_a, "Bank A", "30000"),
        (tax_b, "Bank B", "25000"),
        (tax_b, "Bank B", "20000"),
    ):
        try:
            payment_id = desk.pay_filing(filing, firms[0], Money(amount, "USD"), today)
            story.say(
                f"{who} 付汇核验",
                f"outward payment USD {amount} under the filing",
                f"payment #{payment_id}",
            )
        except CrossborderError as error:
            story.say(
                f"{who} 付汇核验",
                f"outward payment USD {amount} under the filing",
                f"refused — {error}",
            )

    freight_a = PaymentDesk(platform, bank_a.teller, FREIGHT)
    freight_b = PaymentDesk(platform, bank_b.teller, FREIGHT)
    payment_id = freight_a.pay_invoices(firms[1], currency("USD"), freight[:2], today)
    story.say(
        "Bank A 运费付汇", "2 freight invoices in one payment", f"payment #{payment_id}, tagged"
    )
    try:
        freight_b.pay_invoices(firms[1], currency("USD"), freight[1:], today)
        story.say("Bank B 运费付汇", "invoices 2 and 3", "paid")
    except CrossborderError as error:
        story.say("Bank B 运费付汇", "invoices 2 and 3", f"refused — {error}")

    progress("Capital-account payments and their post-review sample …")
    review = PostReview(platform, regulator)
    review.qualify(firms[2])
    capital = PaymentDesk(platform, bank_a.teller, CAPITAL)
    for number in invoices:
        capital.pay_invoices(firms[2], currency("USD"), [number], today)
    period = review.close_period(2)
    story.say(
        "Regulator 外汇局", "qualified a firm; closed the period of its 6 payments", "sample of 2"
    )
    _mine_past(platform, review.period(period).seed_block)
    PostReview(platform, bank_b.teller).draw(period)  # anyone draws
    sample = review.record_sample(period)
    review.record_review(sample[0], ReviewOutcome.COMPLIANT)
    check = review.check(period)
    story.say(
        "Regulator 事后抽查",
        f"sample by the block hash: payments {', '.join(map(str, sample))}",
        f"re-derived from the chain: {'matches' if check.ok else 'WRONG'}; 1 reviewed compliant",
    )


def _mine_past(platform: Platform, block: int, idle: float = 2.0) -> None:
    """Waits until ``block`` is mined: by interval mining, or (an automining devnet, no new
    block for ``idle`` seconds) by mining empty blocks on demand."""
    last, since = platform.rpc.block_number(), time.monotonic()
    while last <= block:
        time.sleep(0.1)
        now = platform.rpc.block_number()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > idle:
            platform.rpc.request("evm_mine")


def _credit_story(
    platform: Platform, demo: DemoConsortium, story: Story, progress: Callable[[str], None]
) -> None:
    """授权查证 and 融资授信银企对接: a firm authorises Bank A to query its trade credit; Bank B's
    query is refused and counted; the firm asks Bank A for credit, which matches, accepts and
    grants; another firm's request at Bank B is declined."""
    progress("Credit-information queries and credit matching …")
    bank_a, bank_b = demo.banks["Bank A"], demo.banks["Bank B"]
    officer_a, officer_b = demo.credit["Bank A"], demo.credit["Bank B"]
    firm_1, firm_2 = list(FIRMS.values())[:2]
    until = dt.datetime.now(dt.UTC) + CONSENT_VALIDITY
    scope = CreditScope.BASIC | CreditScope.TRADE
    open_services(
        platform,
        bank_a.opener,
        [credit_query.authorise(platform, demo.firms[firm_1], firm_1, bank_a.uscc, until, scope)],
    )
    story.say("Firm 1 企业", "authorised Bank A to query basic and trade credit (授权查证)", "")
    record = CreditQueryDesk(platform, officer_a).record(firm_1, scope)
    story.say(
        "Bank A 查证", "queried firm 1's trade credit", f"authorised, query #{record.query_id}"
    )
    for desk, who, wanted in (
        (CreditQueryDesk(platform, officer_b), "Bank B 查证", scope),
        (CreditQueryDesk(platform, officer_a), "Bank A 查证", CreditScope.REGULATORY),
    ):
        try:
            desk.record(firm_1, wanted)
        except CrossborderError as error:
            story.say(who, f"queried firm 1 ({wanted.name})", f"refused and counted — {error}")

    outlet_a = CreditMatchingDesk(platform, officer_a).add_outlet(
        Outlet("厦门分行营业部", 350200, "0592-5550100")
    )
    CreditMatchingDesk(platform, officer_b).add_outlet(Outlet("重庆分行营业部", 500000, "023-6666"))
    story.say("Banks 银行", "registered their credit outlets (银行信息维护)", "Xiamen, Chongqing")
    for firm, bank in ((firm_1, bank_a), (firm_2, bank_b)):
        consent = sign_consent(
            platform, demo.firms[firm], firm, bank.uscc, Scenario.CREDIT_MATCH, until
        )
        open_services(platform, bank.opener, [consent])
    asked = Money("300000", "USD")
    rid = request_credit(
        platform,
        demo.firms[firm_1],
        bank_a.uscc,
        asked,
        CreditPurpose.WORKING_CAPITAL,
        region=350200,
    )
    desk_a = CreditMatchingDesk(platform, officer_a)
    desk_a.match(rid, outlet_a)
    desk_a.accept(rid)
    desk_a.grant(rid, Money("250000", "USD"), 180)
    story.say(
        "Bank A 对接/受理/授信",
        f"firm 1 asked {asked}",
        "matched, accepted, granted USD 250,000.00",
    )
    other = request_credit(
        platform,
        demo.firms[firm_2],
        bank_b.uscc,
        Money("80000", "EUR"),
        CreditPurpose.EQUIPMENT,
        region=500000,
    )
    CreditMatchingDesk(platform, officer_b).decline(other, DeclineReason.OUTSIDE_POLICY)
    story.say("Bank B 授信", "firm 2 asked EUR 80,000.00", "declined (outside policy)")
