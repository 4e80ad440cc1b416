# pragma version ~=0.4.3
"""
@title Capital-account income payment facilitation (资本项目收入支付便利化真实性审核)
@custom:contract-name CapitalPayment
@license Apache-2.0
@notice The regulator marks qualified firms; a bank operator holding the
        verification stage (付汇核验) registers each payment of a qualified
        firm with its invoices, without prior proof: the ledger tags the
        invoices fully used (single-use across all banks, all or nothing).
        Afterwards the regulator draws a post-review sample (事后抽查) that
        anyone can re-check from the chain alone:
        1. `close_period(k)` closes the payments since the last period and
           names a future block, `SEED_DELAY` blocks ahead, whose hash will be
           the seed: when the regulator closes, nobody knows it yet.
        2. Anyone calls `draw` once that block is mined and within the 256
           blocks the EVM keeps its hash; the seed is recorded. Past the
           window, `draw` names a new future block instead (the desks draw at
           once, so that waiting out the window buys the regulator nothing
           but a fresh unknown seed).
        3. The sample is the first k payments of the period ordered by
           keccak256(seed, payment id) (both as 32-byte words), computed off
           chain; `record_sample` checks each id is in the period, the count
           and the ascending order, and records it. That no payment with a
           smaller key was left out is checked off chain from events alone
           (`scripts/verify_sample.py`).
        4. `record_review` records each sampled payment's outcome.
@dev On a permissioned chain the sealer of the seed block could try several
     blocks to steer the hash (or withhold its block, losing its turn). On
     the consortium network every institution's node seals, the regulator's
     too; a commit-reveal seed would bind the regulator alone and would not
     remove a sealer's influence either.
"""

from .interfaces import IConsortium
from .interfaces import IDocumentLedger
from .modules import codes
from .modules import payment_desk as desk

initializes: desk

exports: (
    desk.payment,
    desk.payment_count,
    desk.verification.verification_failures,
    desk.verification.failures_by_reason,
    desk.CONSORTIUM,
    desk.LEDGER,
    desk.SCENARIO,
)

################################################################
#                            EVENTS                            #
################################################################

event FirmQualified:
    firm: indexed(bytes32)
    qualified: bool
    by: indexed(address)


event PeriodClosed:
    period: indexed(uint256)
    first: uint256
    last: uint256
    sample_size: uint256
    seed_block: uint256
    by: indexed(address)


event SeedBlockNamed:
    period: indexed(uint256)
    seed_block: uint256
    by: indexed(address)


event SeedDrawn:
    period: indexed(uint256)
    seed: bytes32
    seed_block: uint256
    by: indexed(address)


event SampleRecorded:
    period: indexed(uint256)
    seed: bytes32
    payment_ids: DynArray[uint256, MAX_SAMPLE]
    by: indexed(address)


event ReviewRecorded:
    period: indexed(uint256)
    payment_id: indexed(uint256)
    outcome: uint8
    by: indexed(address)

################################################################
#                          CONSTANTS                           #
################################################################

# Blocks between closing a period and the block whose hash is its seed.
SEED_DELAY: public(constant(uint256)) = 4
# The EVM keeps the hashes of the last 256 blocks only.
BLOCKHASH_WINDOW: public(constant(uint256)) = 256
MAX_SAMPLE: public(constant(uint256)) = 500
REVIEW_COMPLIANT: public(constant(uint8)) = codes.REVIEW_COMPLIANT
REVIEW_NONCOMPLIANT: public(constant(uint8)) = codes.REVIEW_NONCOMPLIANT


struct Period:
    first: uint256
    last: uint256
    sample_size: uint256
    seed_block: uint256
    seed: bytes32
    sampled: uint256
    reviewed: uint256

################################################################
#                           STORAGE                            #
################################################################

qualified: public(HashMap[bytes32, bool])
period_count: public(uint256)
_periods: HashMap[uint256, Period]
# payment id => the period whose sample it is in (0: not sampled).
sampled_in: public(HashMap[uint256, uint256])
# payment id => review outcome (`codes.REVIEW_*`, 0: not reviewed).
review_of: public(HashMap[uint256, uint8])


@deploy
def __init__(consortium: IConsortium, ledger: IDocumentLedger):
    desk.__init__(consortium, ledger, codes.SCENARIO_CAPITAL_PAYMENT)


################################################################
#                            BANKS                             #
################################################################


@external
def pay(payer: bytes32, currency: uint16, invoices: DynArray[bytes32, codes.MAX_TAGGED], value_date: uint32) -> uint256:
    """
    @notice 付汇核验: register a qualified firm's payment with its invoices, each tagged used.
    @param payer The paying firm's id; qualified, and each invoice's payer.
    @param currency ISO 4217 numeric code of the payment, equal to each invoice's.
    @param invoices Fingerprints of the invoices, at most `codes.MAX_TAGGED`.
    @param value_date The payment's value day (days since 1970-01-01).
    @return The payment id (its amount is the invoices' total), or 0 when
            verification failed (then the attempt is recorded with its reason code).
    """
    assert self.qualified[payer], "capital: the firm is not qualified"
    return desk._pay_invoices(payer, currency, codes.DOC_INVOICE, invoices, value_date)


@external
def draw(period: uint256) -> bytes32:
    """
    @notice Anyone records a closed period's seed: the hash of the block
            named at closing, once mined and while the EVM still keeps it.
            Past that window a new future block is named and zero returned.
    @param period The period.
    @return The seed, or zero when a new seed block was named.
    """
    p: Period = self._closed(period)
    assert p.seed == empty(bytes32), "capital: the seed is already drawn"
    assert block.number > p.seed_block, "capital: the seed block is not mined yet"
    if block.number > p.seed_block + BLOCKHASH_WINDOW:
        p.seed_block = block.number + SEED_DELAY
        self._periods[period] = p
        log SeedBlockNamed(period=period, seed_block=p.seed_block, by=msg.sender)
        return empty(bytes32)
    p.seed = blockhash(p.seed_block)
    self._periods[period] = p
    log SeedDrawn(period=period, seed=p.seed, seed_block=p.seed_block, by=msg.sender)
    return p.seed


################################################################
#                          REGULATOR                           #
################################################################


@external
def set_qualified(firm: bytes32, qualified: bool):
    """
    @notice The regulator marks a firm qualified for facilitated payments (or not).
    @param firm The firm's id.
    @param qualified True to qualify, false to withdraw the qualification.
    """
    assert msg.sender == staticcall desk.CONSORTIUM.owner(), "capital: caller is not the regulator"
    assert firm != empty(bytes32), "capital: empty firm id"
    self.qualified[firm] = qualified
    log FirmQualified(firm=firm, qualified=qualified, by=msg.sender)


@external
def close_period(sample_size: uint256) -> uint256:
    """
    @notice The regulator closes the payments registered since the last
            period and names the future block whose hash will be the seed.
    @param sample_size How many payments to review, 1 to `MAX_SAMPLE`
           (all of them when the period has fewer).
    @return The period's number.
    """
    assert msg.sender == staticcall desk.CONSORTIUM.owner(), "capital: caller is not the regulator"
    assert sample_size != 0 and sample_size <= MAX_SAMPLE, "capital: sample size out of range"
    period: uint256 = self.period_count + 1
    first: uint256 = self._periods[period - 1].last + 1
    last: uint256 = desk.payment_count
    assert last >= first, "capital: no payments since the last period"
    seed_block: uint256 = block.number + SEED_DELAY
    self._periods[period] = Period(first=first, last=last, sample_size=sample_size, seed_block=seed_block, seed=empty(bytes32), sampled=0, reviewed=0)
    self.period_count = period
    log PeriodClosed(period=period, first=first, last=last, sample_size=sample_size, seed_block=seed_block, by=msg.sender)
    return period


@external
def record_sample(period: uint256, payment_ids: DynArray[uint256, MAX_SAMPLE]):
    """
    @notice The regulator records the period's sample: the first k
            payments of the period by keccak256(seed, payment id), in that
            order (k = the sample size, or every payment of a smaller period).
    @param period The period, its seed drawn.
    @param payment_ids The sampled payment ids, ascending by key.
    """
    assert msg.sender == staticcall desk.CONSORTIUM.owner(), "capital: caller is not the regulator"
    p: Period = self._closed(period)
    assert p.seed != empty(bytes32), "capital: the seed is not drawn yet"
    assert p.sampled == 0, "capital: the sample is already recorded"
    assert len(payment_ids) == min(p.sample_size, p.last + 1 - p.first), "capital: wrong sample size"
    previous: uint256 = 0
    for i: uint256 in range(len(payment_ids), bound=MAX_SAMPLE):
        payment_id: uint256 = payment_ids[i]
        assert payment_id >= p.first and payment_id <= p.last, "capital: payment not in the period"
        key: uint256 = convert(self._key(p.seed, payment_id), uint256)
        # Strictly ascending keys: in the drawn order, and no id twice.
        assert i == 0 or key > previous, "capital: sample not in seed order"
        previous = key
        self.sampled_in[payment_id] = period
    p.sampled = len(payment_ids)
    self._periods[period] = p
    log SampleRecorded(period=period, seed=p.seed, payment_ids=payment_ids, by=msg.sender)


@external
def record_review(payment_id: uint256, outcome: uint8):
    """
    @notice The regulator records the post-review outcome of a sampled payment, once.
    @param payment_id A payment of a recorded sample.
    @param outcome `codes.REVIEW_COMPLIANT` or `codes.REVIEW_NONCOMPLIANT`.
    """
    assert msg.sender == staticcall desk.CONSORTIUM.owner(), "capital: caller is not the regulator"
    period: uint256 = self.sampled_in[payment_id]
    assert period != 0, "capital: payment not in a recorded sample"
    assert outcome == codes.REVIEW_COMPLIANT or outcome == codes.REVIEW_NONCOMPLIANT, "capital: unknown review outcome"
    assert self.review_of[payment_id] == 0, "capital: payment already reviewed"
    self.review_of[payment_id] = outcome
    self._periods[period].reviewed += 1
    log ReviewRecorded(period=period, payment_id=payment_id, outcome=outcome, by=msg.sender)


################################################################
#                            VIEWS                             #
################################################################


@view
@external
def period(period: uint256) -> Period:
    """
    @notice One period: its payment ids (first..last), sample size, seed
            block, seed (zero until drawn), sampled and reviewed counts.
    @param period The period.
    """
    return self._periods[period]


@pure
@external
def sample_key(seed: bytes32, payment_id: uint256) -> bytes32:
    """
    @notice The order of the sample: keccak256(seed, payment id), both 32-byte words.
    @param seed The period's seed.
    @param payment_id The payment.
    """
    return self._key(seed, payment_id)


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@pure
@internal
def _key(seed: bytes32, payment_id: uint256) -> bytes32:
    return keccak256(concat(seed, convert(payment_id, bytes32)))


@view
@internal
def _closed(period: uint256) -> Period:
    p: Period = self._periods[period]
    assert p.last != 0, "capital: unknown period"
    return p
