"""The reporting store's tables (SQLAlchemy 2 Core): raw events, projections, checkpoint.

Every projection is a deterministic fold of the raw events, so that a reorg can delete what it
orphaned and recompute the rows it touched from the events that remain.

Identifiers are lowercase ``0x`` hex text (fingerprints, participant ids, addresses), amounts are
integer minor units (BIGINT: exact in SQLite and PostgreSQL alike), times are unix seconds, and
each timed row also carries its reporting day (``YYYY-MM-DD`` in China Standard Time, UTC+8, the
platform's users' calendar) so that grouping by day or month is the same plain text operation in
every SQL dialect.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

REPORTING_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
# How every report and the CLI name that zone: said wherever a day or a time is shown.
REPORTING_TZ_NAME = "China Standard Time"
REPORTING_TZ_OFFSET = "UTC+8"
REPORTING_TZ_LABEL = f"{REPORTING_TZ_NAME} ({REPORTING_TZ_OFFSET})"
HEX32 = String(66)
ADDRESS = String(42)
DAY = String(10)

metadata = MetaData()


def reporting_day(timestamp: int) -> str:
    """The reporting day (China Standard Time) of a unix timestamp."""
    return dt.datetime.fromtimestamp(timestamp, REPORTING_TZ).strftime("%Y-%m-%d")


def reporting_time(moment: dt.datetime) -> str:
    """A moment as the platform's users read it: China Standard Time, with its offset."""
    return f"{moment.astimezone(REPORTING_TZ):%Y-%m-%d %H:%M:%S} {REPORTING_TZ_OFFSET}"


# -- the chain as indexed ------------------------------------------------------------------------

raw_events = Table(
    "raw_events",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("block_hash", HEX32, nullable=False),
    Column("block_time", BigInteger, nullable=False),
    Column("tx_hash", HEX32, nullable=False),
    Column("address", ADDRESS, nullable=False),
    Column("event", String(40), nullable=False),
    # The first indexed argument: how a projection finds an entity's events to replay them.
    Column("topic1", HEX32),
    Column("args", JSON, nullable=False),
)
Index("ix_raw_events_topic1", raw_events.c.topic1)

# Blocks with events (their time) and the ends of committed ranges: the hashes a reorg is
# detected and walked back with.
blocks = Table(
    "blocks",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", HEX32, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
)

checkpoint = Table(
    "checkpoint",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", HEX32, nullable=False),
)

# -- projections: entities (folded, recomputed on a reorg) ---------------------------------------

participants = Table(
    "participants",
    metadata,
    Column("participant", HEX32, primary_key=True),
    Column("kind", SmallInteger, nullable=False),
    Column("parent", HEX32),
    Column("active", Boolean, nullable=False),
    Column("onboarded_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_participants_parent", participants.c.parent)

operators = Table(
    "operators",
    metadata,
    Column("account", ADDRESS, primary_key=True),
    Column("participant", HEX32, nullable=False),
    Column("added_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_operators_participant", operators.c.participant)

# An operator's stage flags (``domain.codes.Stage``) in one scenario: roles are data per scenario.
operator_roles = Table(
    "operator_roles",
    metadata,
    Column("account", ADDRESS, primary_key=True),
    Column("scenario", SmallInteger, primary_key=True, autoincrement=False),
    Column("participant", HEX32, nullable=False),
    Column("stages", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

# The scenario table: the stages a kind of participant may hold in a scenario.
scenario_roles = Table(
    "scenario_roles",
    metadata,
    Column("scenario", SmallInteger, primary_key=True, autoincrement=False),
    Column("kind", SmallInteger, primary_key=True, autoincrement=False),
    Column("stages", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("firm", HEX32, primary_key=True),
    Column("bank", HEX32, primary_key=True),
    Column("scenario", SmallInteger, primary_key=True, autoincrement=False),
    Column("opened", Boolean, nullable=False),
    # The credit-information scope the firm consented to, and until when (unix seconds; the
    # service lapses then). Both 0 once closed.
    Column("scope", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

scenario_contracts = Table(
    "scenario_contracts",
    metadata,
    Column("address", ADDRESS, primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

# One row per live document: the ledger keys documents by (type, fingerprint), so one
# fingerprint may have a row under each type. A voided document's row is deleted (its history
# stays in raw_events); registering it again creates a new row. The owner is not on the
# ledger's events: who financed a document comes from its holds' financings.
documents = Table(
    "documents",
    metadata,
    Column("doc_type", SmallInteger, primary_key=True, autoincrement=False),
    Column("fingerprint", HEX32, primary_key=True),
    Column("face", BigInteger, nullable=False),
    Column("currency", SmallInteger, nullable=False),
    Column("registrar", Integer, nullable=False),  # the ledger's index of the registering provider
    Column("issued_day", Integer, nullable=False),
    Column("held", BigInteger, nullable=False),  # live and consumed holds, as the ledger counts
    Column("held_since", BigInteger),  # when the first live hold began; NULL while free
    # A document of the goods (a waybill, a bill of lading): the export declaration of the same
    # goods it is linked to (``document_links``), on which its holds also hold; NULL when none.
    Column("linked_declaration", HEX32),
    Column("registered_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_documents_fingerprint", documents.c.fingerprint)

# The ledger's links (``DocumentLinked``): a document of the goods to the export declaration of
# the same goods. Voiding the document drops its link (``DocumentVoided``): registered again, it
# is unlinked until its provider links it again.
document_links = Table(
    "document_links",
    metadata,
    Column("doc_type", SmallInteger, primary_key=True, autoincrement=False),
    Column("fingerprint", HEX32, primary_key=True),
    Column("declaration", HEX32, nullable=False),
    Column("operator", ADDRESS, nullable=False),
    Column("linked_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_document_links_declaration", document_links.c.declaration)

# One row per (scenario contract, financing, document), as the ledger's hold records.
holds = Table(
    "holds",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("financing_id", BigInteger, primary_key=True, autoincrement=False),
    Column("doc_type", SmallInteger, primary_key=True, autoincrement=False),
    Column("fingerprint", HEX32, primary_key=True),
    Column("amount", BigInteger, nullable=False),  # everything ever held
    Column("live", BigInteger, nullable=False),
    Column("consumed", BigInteger, nullable=False),
    Column("state", String(8), nullable=False),  # live, released, consumed
    # A hold the ledger took on a linked export declaration because the financing cites the
    # document of the goods linked to it: that document's fingerprint. NULL for a hold on a
    # cited document. The financing's amount is counted once, on the documents it cites.
    Column("via", HEX32),
    Column("held_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_holds_document", holds.c.doc_type, holds.c.fingerprint)

financings = Table(
    "financings",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("financing_id", BigInteger, primary_key=True, autoincrement=False),
    Column("scenario", SmallInteger, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("firm", HEX32, nullable=False),
    Column("applicant", ADDRESS, nullable=False),
    Column("currency", SmallInteger, nullable=False),
    Column("documents", Integer, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("requested", BigInteger, nullable=False),
    Column("approved", BigInteger, nullable=False),
    Column("disbursed", BigInteger, nullable=False),
    Column("repaid", BigInteger, nullable=False),
    Column("applied_at", BigInteger, nullable=False),
    Column("applied_day", DAY, nullable=False),
    Column("approved_at", BigInteger),
    Column("disbursed_at", BigInteger),
    Column("closed_at", BigInteger),
    Column("value_day", Integer),
    Column("due_day", Integer),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_financings_applied_day", financings.c.applied_day)
Index("ix_financings_bank", financings.c.bank)

# -- export credit-insurance policy financing (出口信保保单融资) ----------------------------------
# Keyed by the policy scenario contract too: each such contract keeps its own policies.

# A policy (保单) for one insured firm and buyer. ``used`` is the buyer credit limit its live
# financings use (applied, accepted, approved or disbursed: rejection, withdrawal and closing
# free it), derived from ``financings`` through the shipments they cite.
policies = Table(
    "policies",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("policy", HEX32, primary_key=True),
    Column("firm", HEX32, nullable=False),
    Column("buyer", HEX32, nullable=False),
    Column("insurer", HEX32, nullable=False),
    Column("credit_limit", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=False),
    Column("currency", SmallInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),  # unix seconds
    Column("assignee", HEX32),  # the bank the claim rights are assigned to (赔款权益转让)
    Column("pending", HEX32),  # the bank whose requested assignment awaits the insurer
    Column("registered_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_policies_firm", policies.c.firm)

# Shipments declared under a policy (投保申报), each the export declaration of its goods.
shipments = Table(
    "shipments",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("declaration", HEX32, primary_key=True),
    Column("policy", HEX32, nullable=False),
    Column("insured", BigInteger, nullable=False),
    Column("covered", Boolean, nullable=False),  # cover confirmed (承保)
    Column("declared_at", BigInteger, nullable=False),
    Column("covered_at", BigInteger),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_shipments_policy", shipments.c.scenario_address, shipments.c.policy)

# Each bank's advance ratio of insured amounts, in basis points, as the regulator set it last.
advance_ratios = Table(
    "advance_ratios",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("bank", HEX32, primary_key=True),
    Column("ratio_bps", Integer, nullable=False),
    Column("set_by", ADDRESS, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

# Claims (理赔) the insurer filed on shipments. ``status``: 1 filed, 2 paid, 3 declined;
# ``amount`` is what was claimed, ``paid`` what the insurer paid, ``applied`` what of it repaid
# financings (derived from ``claim_repayments``).
claims = Table(
    "claims",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("claim_id", BigInteger, primary_key=True, autoincrement=False),
    Column("policy", HEX32, nullable=False),
    Column("bank", HEX32),  # the policy's assignee when the claim was filed; NULL for none
    Column("declaration", HEX32, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("paid", BigInteger, nullable=False),
    Column("applied", BigInteger, nullable=False),
    Column("filed_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_claims_policy", claims.c.scenario_address, claims.c.policy)

# -- projections: facts (appended; a reorg deletes those above the common ancestor) --------------

financing_states = Table(
    "financing_states",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("financing_id", BigInteger, nullable=False),
    Column("action", String(10), nullable=False),
    Column("state", SmallInteger, nullable=False),  # the financing's state after the action
    Column("operator", ADDRESS, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)
Index(
    "ix_financing_states_financing",
    financing_states.c.scenario_address,
    financing_states.c.financing_id,
)

verification_attempts = Table(
    "verification_attempts",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("scenario", SmallInteger, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("firm", HEX32, nullable=False),
    # The failing document; NULL for a passing attempt (which may cite several).
    Column("fingerprint", HEX32),
    Column("doc_type", SmallInteger),  # the failing document's type
    Column("reason", SmallInteger, nullable=False),  # 0: passed
    Column("amount", BigInteger, nullable=False),
    Column("currency", SmallInteger, nullable=False),
    Column("applicant", ADDRESS, nullable=False),
    Column("financing_id", BigInteger),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)
Index("ix_verification_attempts_day", verification_attempts.c.day)

registrations = Table(
    "registrations",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("registrar", HEX32, nullable=False),
    Column("operator", ADDRESS, nullable=False),
    Column("doc_type", SmallInteger, nullable=False),
    Column("count", Integer, nullable=False),  # documents registered
    Column("skipped", Integer, nullable=False),  # already registered under the type: no row
    Column("at", BigInteger, nullable=False),
)

# The regulator's force-releases (强制释放) of a stopped scenario's or a deactivated bank's holds.
# The ledger logs each freed document as an AmountReleased (the holds table's rows end then);
# this is the regulator's action itself, with its reason (``domain.codes.ForceReason``).
force_releases = Table(
    "force_releases",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("ledger", ADDRESS, nullable=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("financing_id", BigInteger, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("reason", SmallInteger, nullable=False),
    Column("documents", Integer, nullable=False),
    Column("by", ADDRESS, nullable=False),
    Column("tx_hash", HEX32, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)
Index(
    "ix_force_releases_financing",
    force_releases.c.scenario_address,
    force_releases.c.financing_id,
)

consent_revocations = Table(
    "consent_revocations",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("firm", HEX32, nullable=False),
    Column("nonce", HEX32, nullable=False),  # uint256, as 0x hex
    Column("by", ADDRESS, nullable=False),
    Column("at", BigInteger, nullable=False),
)

# Logs of the platform's contracts that no known event decodes (an event newer than the ABIs the
# indexer was given): kept whole, so that nothing the chain said is silently dropped, and a
# re-index with the new ABIs can read them.
undecoded_logs = Table(
    "undecoded_logs",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("block_hash", HEX32, nullable=False),
    Column("tx_hash", HEX32, nullable=False),
    Column("address", ADDRESS, nullable=False),
    Column("topics", Text, nullable=False),  # space-separated 0x hex
    Column("data", Text, nullable=False),
)

# Events the projections could not fold (an event that contradicts them, e.g. a release of a
# hold never taken, or arguments of an unexpected shape): the event stays in raw_events, the
# projection skips it, and indexing goes on. Each row names the projection and why.
anomalies = Table(
    "anomalies",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("projection", String(40), primary_key=True),
    Column("event", String(40), nullable=False),
    Column("address", ADDRESS, nullable=False),
    Column("message", Text, nullable=False),
)

# Scenario contracts the ledger authorised after the deployment (``ScenarioAuthorised``), which
# the indexer found and follows from the authorising block on: their compiled contract (NULL
# when no compiled contract matches its code: its logs are kept in undecoded_logs) and scenario.
discovered_contracts = Table(
    "discovered_contracts",
    metadata,
    Column("address", ADDRESS, primary_key=True),
    Column("contract", String(80)),
    Column("scenario", SmallInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),
)

# The firm's claim-rights assignments: requested by the bank with the firm's signature, then
# confirmed by the insurer.
assignments = Table(
    "assignments",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("policy", HEX32, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("action", String(10), nullable=False),  # requested, confirmed
    Column("by", ADDRESS, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)

# Loss notices (可能损失通知) on insured shipments.
loss_notices = Table(
    "loss_notices",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("policy", HEX32, nullable=False),
    Column("bank", HEX32),  # the policy's assignee then; NULL for none
    Column("declaration", HEX32, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("by", ADDRESS, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)

# A paid claim applied as a repayment of a financing on the same policy (the financing's
# ``RepaymentRegistered`` of the same transaction counts it in ``financings.repaid``).
claim_repayments = Table(
    "claim_repayments",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("financing_id", BigInteger, nullable=False),
    Column("claim_id", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("by", ADDRESS, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)
Index("ix_claim_repayments_claim", claim_repayments.c.scenario_address, claim_repayments.c.claim_id)

# -- payment facilitation (便利化类) ------------------------------------------------------------

# Each payment a bank's payment verification operator (付汇核验) registered.
payments = Table(
    "payments",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("scenario", SmallInteger, nullable=False),
    Column("payment_id", BigInteger, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("payer", HEX32, nullable=False),
    Column("operator", ADDRESS, nullable=False),
    Column("doc_type", SmallInteger, nullable=False),
    Column("currency", SmallInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("documents", Integer, nullable=False),
    Column("value_day", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)
Index("ix_payments_id", payments.c.scenario_address, payments.c.payment_id, unique=True)

# Invoices tagged single-use by a payment: one row per invoice of a ``DocumentsTagged`` batch.
invoice_tags = Table(
    "invoice_tags",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("payment_id", BigInteger, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("doc_type", SmallInteger, nullable=False),
    Column("fingerprint", HEX32, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)
Index("ix_invoice_tags_doc", invoice_tags.c.doc_type, invoice_tags.c.fingerprint, unique=True)

# Firms the regulator qualified for capital-account payment facilitation.
qualified_firms = Table(
    "qualified_firms",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("firm", HEX32, primary_key=True),
    Column("qualified", Boolean, nullable=False),
    Column("by", ADDRESS, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

# Capital-account post-review periods (事后抽查): payments first..last, the seed, the sample.
review_periods = Table(
    "review_periods",
    metadata,
    Column("scenario_address", ADDRESS, primary_key=True),
    Column("period", BigInteger, primary_key=True, autoincrement=False),
    Column("first_payment", BigInteger, nullable=False),
    Column("last_payment", BigInteger, nullable=False),
    Column("sample_size", Integer, nullable=False),
    Column("seed_block", BigInteger, nullable=False),
    Column("seed", HEX32),
    Column("sampled", Integer, nullable=False),
    Column("reviewed", Integer, nullable=False),
    Column("noncompliant", Integer, nullable=False),
    Column("closed_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

# Each sampled payment (one row per payment of a ``SampleRecorded``) and its review, if any.
sampled_payments = Table(
    "sampled_payments",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("period", BigInteger, nullable=False),
    Column("payment_id", BigInteger, nullable=False),
)

payment_reviews = Table(
    "payment_reviews",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("scenario_address", ADDRESS, nullable=False),
    Column("period", BigInteger, nullable=False),
    Column("payment_id", BigInteger, nullable=False),
    Column("outcome", SmallInteger, nullable=False),
    Column("by", ADDRESS, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)

# -- credit-information query and credit matching --------------------------------------

# Every credit-information query a bank recorded (``CreditQueried``), authorised (outcome 0) or
# refused with its reason: the regulator's audit of who looked at whom.
credit_queries = Table(
    "credit_queries",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("query_id", BigInteger, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("firm", HEX32, nullable=False),
    Column("scope", SmallInteger, nullable=False),
    Column("outcome", SmallInteger, nullable=False),
    Column("by", ADDRESS, nullable=False),
    Column("tx_hash", HEX32, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("day", DAY, nullable=False),
)
Index("ix_credit_queries_bank", credit_queries.c.bank)

# A bank's outlets that handle credit: public bank data (name, region, contact).
credit_outlets = Table(
    "credit_outlets",
    metadata,
    Column("contract", ADDRESS, primary_key=True),
    Column("outlet_id", BigInteger, primary_key=True, autoincrement=False),
    Column("bank", HEX32, nullable=False),
    Column("name", String(64), nullable=False),
    Column("region", Integer, nullable=False),
    Column("contact", String(64), nullable=False),
    Column("open", Boolean, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)

# Credit requests and where each stands; times in unix seconds (NULL until the step happens).
credit_requests = Table(
    "credit_requests",
    metadata,
    Column("contract", ADDRESS, primary_key=True),
    Column("request_id", BigInteger, primary_key=True, autoincrement=False),
    Column("firm", HEX32, nullable=False),
    Column("bank", HEX32, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", SmallInteger, nullable=False),
    Column("purpose", SmallInteger, nullable=False),
    Column("region", Integer, nullable=False),
    Column("outlet_id", BigInteger, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("requested_at", BigInteger, nullable=False),
    Column("requested_day", DAY, nullable=False),
    Column("matched_at", BigInteger),
    Column("accepted_at", BigInteger),
    Column("decided_at", BigInteger),
    Column("granted", BigInteger, nullable=False),
    Column("term_days", Integer, nullable=False),
    Column("reason", SmallInteger, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
)
Index("ix_credit_requests_bank", credit_requests.c.bank)

# Regulatory credit the regulator maintains off chain (no event makes it; a re-index keeps it):
# each firm's FX classification (A/B/C) and its penalties.
fx_classifications = Table(
    "fx_classifications",
    metadata,
    Column("firm", HEX32, primary_key=True),
    Column("classification", String(1), nullable=False),
    Column("since_day", DAY, nullable=False),
    Column("updated_by", ADDRESS, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
fx_penalties = Table(
    "fx_penalties",
    metadata,
    Column("penalty_id", Integer, primary_key=True, autoincrement=True),
    Column("firm", HEX32, nullable=False),
    Column("day", DAY, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", SmallInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("recorded_by", ADDRESS, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
)
Index("ix_fx_penalties_firm", fx_penalties.c.firm)
# A firm's credit profile reads its financings and verification attempts by firm.
Index("ix_financings_firm", financings.c.firm)
Index("ix_verification_attempts_firm", verification_attempts.c.firm)

ENTITY_TABLES = (
    participants,
    operators,
    operator_roles,
    scenario_roles,
    services,
    scenario_contracts,
    document_links,
    documents,
    holds,
    financings,
    policies,
    shipments,
    advance_ratios,
    claims,
    qualified_firms,
    review_periods,
    credit_outlets,
    credit_requests,
)
FACT_TABLES = (
    financing_states,
    verification_attempts,
    registrations,
    force_releases,
    consent_revocations,
    assignments,
    loss_notices,
    claim_repayments,
    payments,
    invoice_tags,
    sampled_payments,
    payment_reviews,
    credit_queries,
)
PROJECTION_TABLES = ENTITY_TABLES + FACT_TABLES
