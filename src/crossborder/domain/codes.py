"""The platform's code tables, mirroring ``contracts/modules/codes.vy``.

``tests/unit/test_codes.py`` proves both tables agree through the contracts' public getters.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class ParticipantKind(IntEnum):
    REGULATOR = 1
    BANK = 2
    ENTERPRISE = 3
    INSURER = 4
    CUSTOMS = 5
    TAX = 6
    LOGISTICS = 7


class Stage(IntFlag):
    """Operator roles are stages (resources, 资源) held per scenario: an account's roles are a
    set of stage flags in each scenario (``Consortium.roles_of(account, scenario)``)."""

    APPLY = 1 << 0
    ACCEPT = 1 << 1
    REVIEW = 1 << 2
    DISBURSE = 1 << 3
    REPAY = 1 << 4
    STATISTICS = 1 << 5
    SERVICE = 1 << 6
    VERIFY = 1 << 7
    OUTLETS = 1 << 8
    MATCH = 1 << 9
    REGISTER = 1 << 10
    QUERY = 1 << 11


STAGE_LABELS: dict[Stage, str] = {
    Stage.APPLY: "代申请 apply on behalf",
    Stage.ACCEPT: "受理 accept",
    Stage.REVIEW: "审核 review",
    Stage.DISBURSE: "放款登记 disbursement registration",
    Stage.REPAY: "还款登记 repayment registration",
    Stage.STATISTICS: "融资业务银行统计员 bank statistician",
    Stage.SERVICE: "业务开通 service opening",
    Stage.VERIFY: "付汇核验 payment verification",
    Stage.OUTLETS: "银行信息维护 outlet maintenance",
    Stage.MATCH: "对接 matching",
    Stage.REGISTER: "单证登记 document registration",
    Stage.QUERY: "信用信息查证 credit-information query",
}


class Scenario(IntEnum):
    """Scenarios (模块); 0 is the platform itself (document registration)."""

    PLATFORM = 0
    RECEIVABLES = 1
    POLICY = 2
    LOGISTICS = 3
    CREDIT_MATCH = 4
    # Payment facilitation (便利化类): payments verified against documents, not financings.
    TAX_PAYMENT = 5
    FREIGHT_PAYMENT = 6
    CAPITAL_PAYMENT = 7
    CREDIT_QUERY = 8


FINANCING_STAGES = (
    Stage.APPLY
    | Stage.ACCEPT
    | Stage.REVIEW
    | Stage.DISBURSE
    | Stage.REPAY
    | Stage.STATISTICS
    | Stage.SERVICE
)

# The scenario table: the stages each kind of participant may hold in each scenario. The deploy
# writes every row to `Consortium.define_roles`; a new scenario is new rows here and a thin
# contract, nothing else.
SCENARIO_TABLE: dict[tuple[Scenario, ParticipantKind], Stage] = {
    (Scenario.PLATFORM, ParticipantKind.CUSTOMS): Stage.REGISTER,
    (Scenario.PLATFORM, ParticipantKind.TAX): Stage.REGISTER,
    (Scenario.PLATFORM, ParticipantKind.LOGISTICS): Stage.REGISTER,
    (Scenario.PLATFORM, ParticipantKind.INSURER): Stage.REGISTER,
    (Scenario.RECEIVABLES, ParticipantKind.BANK): FINANCING_STAGES,
    # The insurer registers policies, shipments, cover, loss notices and claims, and confirms
    # assignments in the policy scenario's own contract.
    (Scenario.POLICY, ParticipantKind.BANK): FINANCING_STAGES,
    (Scenario.POLICY, ParticipantKind.INSURER): Stage.REGISTER,
    (Scenario.LOGISTICS, ParticipantKind.BANK): FINANCING_STAGES,
    # Payment facilitation: the bank's payment verification operator (付汇核验) registers
    # payments; its statistician reads the reports. The regulator's admin qualifies firms and
    # draws and reviews the capital-account sample.
    (Scenario.TAX_PAYMENT, ParticipantKind.BANK): Stage.VERIFY | Stage.STATISTICS,
    (Scenario.FREIGHT_PAYMENT, ParticipantKind.BANK): Stage.VERIFY | Stage.STATISTICS,
    (Scenario.CAPITAL_PAYMENT, ParticipantKind.BANK): Stage.VERIFY | Stage.STATISTICS,
    # Credit matching and credit-information query (issue 11): the firm opens each service by
    # its signed consent (SERVICE); the query consent's scope is what the bank may query.
    (Scenario.CREDIT_MATCH, ParticipantKind.BANK): (
        Stage.SERVICE | Stage.OUTLETS | Stage.MATCH | Stage.ACCEPT
    ),
    (Scenario.CREDIT_QUERY, ParticipantKind.BANK): Stage.SERVICE | Stage.QUERY,
}


def allowed_stages(scenario: Scenario, kind: ParticipantKind) -> Stage:
    """The stages ``kind`` may hold in ``scenario`` (none when the table has no row)."""
    return SCENARIO_TABLE.get((scenario, kind), Stage(0))


class DocumentType(IntEnum):
    EXPORT_DECLARATION = 1
    IMPORT_DECLARATION = 2
    INSURED_SHIPMENT = 3
    RAIL_WAYBILL = 4
    BILL_OF_LADING = 5
    TAX_FILING = 6
    FREIGHT_INVOICE = 7
    INVOICE = 8  # general invoice (capital-account payments)


class FinancingState(IntEnum):
    NONE = 0
    APPLIED = 1
    ACCEPTED = 2
    APPROVED = 3
    REJECTED = 4
    WITHDRAWN = 5
    DISBURSED = 6
    CLOSED = 7

    @property
    def holds_amounts(self) -> bool:
        """A financing holds its document amounts until rejected, withdrawn or closed."""
        return self in (self.APPLIED, self.ACCEPTED, self.APPROVED, self.DISBURSED)


class Reason(IntEnum):
    """Verification (核验) reason codes."""

    OK = 0
    NOT_FOUND = 1
    WRONG_TYPE = 2
    WRONG_OWNER = 3
    CURRENCY_MISMATCH = 4
    DUPLICATE = 5
    OVER_FINANCED = 6


class ForceReason(IntEnum):
    """Why the regulator force-released a financing's holds."""

    SCENARIO_STOPPED = 1
    BANK_DEACTIVATED = 2


class SkipReason(IntEnum):
    """Why a registration batch skipped a document."""

    ALREADY_REGISTERED = 1


class DocumentStatus(IntEnum):
    UNKNOWN = 0
    FREE = 1
    PARTLY_USED = 2
    FULLY_USED = 3


# Credit information and credit matching (issue 11) ----------------------------------------------


class CreditScope(IntFlag):
    """Credit-information scope bits a firm grants a bank with its consent (信用信息授权范围)."""

    BASIC = 1 << 0  # basic data
    TRADE = 1 << 1  # trade credit: export volumes, financing history
    REGULATORY = 1 << 2  # regulatory credit: FX classification, penalties
    ALL = BASIC | TRADE | REGULATORY


class QueryOutcome(IntEnum):
    """A credit-information query's outcome; every query is recorded on chain, refused or not."""

    AUTHORISED = 0
    NOT_AUTHORISED = 1  # no live authorisation: never granted, or revoked
    EXPIRED = 2
    OUT_OF_SCOPE = 3
    FIRM_INACTIVE = 4


class CreditState(IntEnum):
    """A credit request's states (融资授信银企对接)."""

    REQUESTED = 1
    MATCHED = 2
    ACCEPTED = 3
    GRANTED = 4
    DECLINED = 5


class CreditPurpose(IntEnum):
    WORKING_CAPITAL = 1
    TRADE_FINANCE = 2
    EQUIPMENT = 3
    OTHER = 4


class DeclineReason(IntEnum):
    CREDIT_RISK = 1
    INCOMPLETE_INFORMATION = 2
    OUTSIDE_POLICY = 3
    OTHER = 4


MAX_CITED = 20

# Most invoices one payment may tag (single-use, all or nothing, in one transaction).
MAX_TAGGED = 1000


class ReviewOutcome(IntEnum):
    """A post-review (事后抽查) outcome of a sampled capital-account payment."""

    COMPLIANT = 1
    NONCOMPLIANT = 2


# Invoices are single-use: tagged whole by one payment, never held.
SINGLE_USE = frozenset({DocumentType.FREIGHT_INVOICE, DocumentType.INVOICE})
