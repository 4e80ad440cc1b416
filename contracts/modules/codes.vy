# pragma version ~=0.4.3
"""
@title Platform codes
@custom:contract-name codes
@license Apache-2.0
@notice The one on-chain table of participant kinds, operator roles,
        scenarios, document types, financing states and verification
        reason codes. Python mirrors it in `crossborder.domain.codes`;
        `tests/unit/test_codes.py` proves the two agree through the
        contracts' public getters.
"""

# Participant kinds.
KIND_REGULATOR: constant(uint8) = 1
KIND_BANK: constant(uint8) = 2
KIND_ENTERPRISE: constant(uint8) = 3
KIND_INSURER: constant(uint8) = 4
KIND_CUSTOMS: constant(uint8) = 5
KIND_TAX: constant(uint8) = 6
KIND_LOGISTICS: constant(uint8) = 7
KIND_MAX: constant(uint8) = 7

# Operator roles are stage flags per scenario (yearn v3's `flag Roles`, one
# word per account and scenario): an account holds, for each scenario, the
# stages (resources, 资源) of the function list it may act on. Which stages a
# participant kind may hold in a scenario is a row of data the regulator
# defines (`Consortium.define_roles`), not code.
STAGE_APPLY: constant(uint256) = 1 << 0  # 代申请
STAGE_ACCEPT: constant(uint256) = 1 << 1  # 受理
STAGE_REVIEW: constant(uint256) = 1 << 2  # 审核
STAGE_DISBURSE: constant(uint256) = 1 << 3  # 放款登记
STAGE_REPAY: constant(uint256) = 1 << 4  # 还款登记
STAGE_STATISTICS: constant(uint256) = 1 << 5  # 融资业务银行统计员
STAGE_SERVICE: constant(uint256) = 1 << 6  # 业务开通
STAGE_VERIFY: constant(uint256) = 1 << 7  # 付汇核验 (payment verification)
STAGE_OUTLETS: constant(uint256) = 1 << 8  # 银行信息维护
STAGE_MATCH: constant(uint256) = 1 << 9  # 对接
STAGE_REGISTER: constant(uint256) = 1 << 10  # 单证登记 (data providers)
STAGE_QUERY: constant(uint256) = 1 << 11  # 信用信息查证 (credit-information query)
STAGE_MAX: constant(uint256) = 1 << 11

# Scenarios (模块). Scenario 0 is the platform itself: document registration.
SCENARIO_PLATFORM: constant(uint8) = 0
SCENARIO_RECEIVABLES: constant(uint8) = 1
SCENARIO_POLICY: constant(uint8) = 2
SCENARIO_LOGISTICS: constant(uint8) = 3
SCENARIO_CREDIT_MATCH: constant(uint8) = 4
# Payment facilitation (便利化类): payments verified against documents, not financings.
SCENARIO_TAX_PAYMENT: constant(uint8) = 5
SCENARIO_FREIGHT_PAYMENT: constant(uint8) = 6
SCENARIO_CAPITAL_PAYMENT: constant(uint8) = 7
SCENARIO_CREDIT_QUERY: constant(uint8) = 8

# Document types.
DOC_EXPORT_DECLARATION: constant(uint8) = 1
DOC_IMPORT_DECLARATION: constant(uint8) = 2
DOC_INSURED_SHIPMENT: constant(uint8) = 3
DOC_RAIL_WAYBILL: constant(uint8) = 4
DOC_BILL_OF_LADING: constant(uint8) = 5
DOC_TAX_FILING: constant(uint8) = 6
DOC_FREIGHT_INVOICE: constant(uint8) = 7
DOC_INVOICE: constant(uint8) = 8  # general invoice (capital-account payments)
DOC_MAX: constant(uint8) = 8

# Financing states.
STATE_NONE: constant(uint8) = 0
STATE_APPLIED: constant(uint8) = 1
STATE_ACCEPTED: constant(uint8) = 2
STATE_APPROVED: constant(uint8) = 3
STATE_REJECTED: constant(uint8) = 4
STATE_WITHDRAWN: constant(uint8) = 5
STATE_DISBURSED: constant(uint8) = 6
STATE_CLOSED: constant(uint8) = 7

# Verification (核验) reason codes; 0 means the document passed.
REASON_OK: constant(uint8) = 0
REASON_NOT_FOUND: constant(uint8) = 1
# Documents are keyed by (type, fingerprint), so a citation of the wrong type
# reads as not found; the code stays reserved so that the table never renumbers.
REASON_WRONG_TYPE: constant(uint8) = 2
REASON_WRONG_OWNER: constant(uint8) = 3
REASON_CURRENCY_MISMATCH: constant(uint8) = 4
REASON_DUPLICATE: constant(uint8) = 5
REASON_OVER_FINANCED: constant(uint8) = 6
REASON_MAX: constant(uint8) = 6

# Why the regulator force-released a hold.
FORCE_SCENARIO_STOPPED: constant(uint8) = 1
FORCE_BANK_DEACTIVATED: constant(uint8) = 2

# Why a registration batch skipped a document instead of reverting.
SKIP_ALREADY_REGISTERED: constant(uint8) = 1

# Credit information and credit matching (issue 11) ----------------------------

# Credit-information scope a firm grants a bank (信用信息授权范围), as bits of the
# consent's `scope`: basic data, trade credit, regulatory credit.
SCOPE_BASIC: constant(uint32) = 1
SCOPE_TRADE: constant(uint32) = 2
SCOPE_REGULATORY: constant(uint32) = 4
SCOPE_MAX: constant(uint32) = 4

# A credit-information query's outcome; every query is recorded, refused or not.
QUERY_AUTHORISED: constant(uint8) = 0
QUERY_NOT_AUTHORISED: constant(uint8) = 1  # no live authorisation: never granted, or revoked
QUERY_EXPIRED: constant(uint8) = 2
QUERY_OUT_OF_SCOPE: constant(uint8) = 3
QUERY_FIRM_INACTIVE: constant(uint8) = 4
QUERY_MAX: constant(uint8) = 4

# A credit request's states (融资授信银企对接).
CREDIT_REQUESTED: constant(uint8) = 1
CREDIT_MATCHED: constant(uint8) = 2
CREDIT_ACCEPTED: constant(uint8) = 3
CREDIT_GRANTED: constant(uint8) = 4
CREDIT_DECLINED: constant(uint8) = 5
CREDIT_MAX: constant(uint8) = 5

# What a firm asks credit for.
PURPOSE_WORKING_CAPITAL: constant(uint8) = 1
PURPOSE_TRADE_FINANCE: constant(uint8) = 2
PURPOSE_EQUIPMENT: constant(uint8) = 3
PURPOSE_OTHER: constant(uint8) = 4
PURPOSE_MAX: constant(uint8) = 4

# Why a bank declines a credit request.
DECLINE_CREDIT_RISK: constant(uint8) = 1
DECLINE_INCOMPLETE_INFORMATION: constant(uint8) = 2
DECLINE_OUTSIDE_POLICY: constant(uint8) = 3
DECLINE_OTHER: constant(uint8) = 4
DECLINE_MAX: constant(uint8) = 4

# Most documents one financing may cite.
MAX_CITED: constant(uint256) = 20

# Most invoices one payment may tag (single-use, all or nothing, in one transaction).
MAX_TAGGED: constant(uint256) = 1000

# A post-review (事后抽查) outcome of a sampled capital-account payment.
REVIEW_COMPLIANT: constant(uint8) = 1
REVIEW_NONCOMPLIANT: constant(uint8) = 2
REVIEW_MAX: constant(uint8) = 2
