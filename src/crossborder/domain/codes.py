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


MAX_CITED = 20

# Most invoices one payment may tag (single-use, all or nothing, in one transaction).
MAX_TAGGED = 1000


class ReviewOutcome(IntEnum):
    """A post-review (事后抽查) outcome of a sampled capital-account payment."""

    COMPLIANT = 1
    NONCOMPLIANT = 2


# Invoices are single-use: tagged whole by one payment, never held.
SINGLE_USE = frozenset({DocumentType.FREIGHT_INVOICE, DocumentType.INVOICE})
