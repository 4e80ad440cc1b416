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

# Operator roles, one bit per resource of DOMAIN.md's function list.
# Export receivables financing (出口应收账款融资).
ROLE_RCV_APPLY: constant(uint256) = 1 << 0  # 代申请
ROLE_RCV_ACCEPT: constant(uint256) = 1 << 1  # 受理
ROLE_RCV_REVIEW: constant(uint256) = 1 << 2  # 审核
ROLE_RCV_DISBURSE: constant(uint256) = 1 << 3  # 放款登记
ROLE_RCV_REPAY: constant(uint256) = 1 << 4  # 还款登记
ROLE_RCV_STATISTICS: constant(uint256) = 1 << 5  # 融资业务银行统计员
ROLE_RCV_SERVICE: constant(uint256) = 1 << 6  # 业务开通
# Export credit-insurance policy financing (出口信保保单融资).
ROLE_POL_APPLY: constant(uint256) = 1 << 8
ROLE_POL_ACCEPT: constant(uint256) = 1 << 9
ROLE_POL_REVIEW: constant(uint256) = 1 << 10
ROLE_POL_DISBURSE: constant(uint256) = 1 << 11
ROLE_POL_REPAY: constant(uint256) = 1 << 12
# Domestic freight FX payment facilitation (境内运费外汇支付便利化).
ROLE_FREIGHT_VERIFY: constant(uint256) = 1 << 16
# Bank-enterprise credit matching (融资授信银企对接).
ROLE_CM_OUTLETS: constant(uint256) = 1 << 20
ROLE_CM_MATCH: constant(uint256) = 1 << 21
ROLE_CM_ACCEPT: constant(uint256) = 1 << 22
ROLE_CM_SERVICE: constant(uint256) = 1 << 23
# Data providers (customs, tax, logistics, insurer) register source documents.
ROLE_DOC_REGISTER: constant(uint256) = 1 << 32

BANK_ROLES: constant(uint256) = (
    ROLE_RCV_APPLY | ROLE_RCV_ACCEPT | ROLE_RCV_REVIEW | ROLE_RCV_DISBURSE | ROLE_RCV_REPAY
    | ROLE_RCV_STATISTICS | ROLE_RCV_SERVICE
    | ROLE_POL_APPLY | ROLE_POL_ACCEPT | ROLE_POL_REVIEW | ROLE_POL_DISBURSE | ROLE_POL_REPAY
    | ROLE_FREIGHT_VERIFY
    | ROLE_CM_OUTLETS | ROLE_CM_MATCH | ROLE_CM_ACCEPT | ROLE_CM_SERVICE
)
DATA_PROVIDER_ROLES: constant(uint256) = ROLE_DOC_REGISTER

# Scenarios; a firm's opened services are a bit mask of (1 << scenario).
SCENARIO_RECEIVABLES: constant(uint8) = 1
SCENARIO_POLICY: constant(uint8) = 2
SCENARIO_LOGISTICS: constant(uint8) = 3
SCENARIO_CREDIT_MATCH: constant(uint8) = 4
SCENARIO_MAX: constant(uint8) = 4

# Document types.
DOC_EXPORT_DECLARATION: constant(uint8) = 1
DOC_IMPORT_DECLARATION: constant(uint8) = 2
DOC_INSURED_SHIPMENT: constant(uint8) = 3
DOC_RAIL_WAYBILL: constant(uint8) = 4
DOC_BILL_OF_LADING: constant(uint8) = 5
DOC_TAX_FILING: constant(uint8) = 6
DOC_FREIGHT_INVOICE: constant(uint8) = 7
DOC_MAX: constant(uint8) = 7

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
REASON_WRONG_TYPE: constant(uint8) = 2
REASON_WRONG_OWNER: constant(uint8) = 3
REASON_CURRENCY_MISMATCH: constant(uint8) = 4
REASON_DUPLICATE: constant(uint8) = 5
REASON_OVER_FINANCED: constant(uint8) = 6
REASON_MAX: constant(uint8) = 6

# Most documents one financing may cite.
MAX_CITED: constant(uint256) = 20
