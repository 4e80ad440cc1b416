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


class Role(IntFlag):
    """Operator roles: one bit per resource (资源) of the platform's function list."""

    RCV_APPLY = 1 << 0
    RCV_ACCEPT = 1 << 1
    RCV_REVIEW = 1 << 2
    RCV_DISBURSE = 1 << 3
    RCV_REPAY = 1 << 4
    RCV_STATISTICS = 1 << 5
    RCV_SERVICE = 1 << 6
    POL_APPLY = 1 << 8
    POL_ACCEPT = 1 << 9
    POL_REVIEW = 1 << 10
    POL_DISBURSE = 1 << 11
    POL_REPAY = 1 << 12
    FREIGHT_VERIFY = 1 << 16
    CM_OUTLETS = 1 << 20
    CM_MATCH = 1 << 21
    CM_ACCEPT = 1 << 22
    CM_SERVICE = 1 << 23
    DOC_REGISTER = 1 << 32


ROLE_LABELS: dict[Role, str] = {
    Role.RCV_APPLY: "应收账款融资代申请 receivables apply on behalf",
    Role.RCV_ACCEPT: "应收账款融资受理 receivables accept",
    Role.RCV_REVIEW: "应收账款融资审核 receivables review",
    Role.RCV_DISBURSE: "应收账款融资放款登记 receivables disbursement registration",
    Role.RCV_REPAY: "应收账款融资还款登记 receivables repayment registration",
    Role.RCV_STATISTICS: "融资业务银行统计员 bank financing statistician",
    Role.RCV_SERVICE: "企业出口融资业务开通 export financing service opening",
    Role.POL_APPLY: "保单融资代申请 policy financing apply on behalf",
    Role.POL_ACCEPT: "保单融资受理 policy financing accept",
    Role.POL_REVIEW: "保单融资审核 policy financing review",
    Role.POL_DISBURSE: "保单融资放款登记 policy financing disbursement registration",
    Role.POL_REPAY: "保单融资还款登记 policy financing repayment registration",
    Role.FREIGHT_VERIFY: "运费付汇业务核验 freight payment verification",
    Role.CM_OUTLETS: "融资授信业务办理银行信息维护 credit outlets maintenance",
    Role.CM_MATCH: "融资授信对接 credit matching",
    Role.CM_ACCEPT: "融资授信受理 credit acceptance",
    Role.CM_SERVICE: "企业融资授信申请业务开通 credit application service opening",
    Role.DOC_REGISTER: "单证登记 document registration",
}

BANK_ROLES = Role(0)
for _role in Role:
    if _role is not Role.DOC_REGISTER:
        BANK_ROLES |= _role
DATA_PROVIDER_ROLES = Role.DOC_REGISTER


class Scenario(IntEnum):
    RECEIVABLES = 1
    POLICY = 2
    LOGISTICS = 3
    CREDIT_MATCH = 4


class DocumentType(IntEnum):
    EXPORT_DECLARATION = 1
    IMPORT_DECLARATION = 2
    INSURED_SHIPMENT = 3
    RAIL_WAYBILL = 4
    BILL_OF_LADING = 5
    TAX_FILING = 6
    FREIGHT_INVOICE = 7


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


class DocumentStatus(IntEnum):
    UNKNOWN = 0
    FREE = 1
    PARTLY_USED = 2
    FULLY_USED = 3


MAX_CITED = 20
