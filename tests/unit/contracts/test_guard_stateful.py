"""The duplicate/over-financing guard as a stateful property (Curve-style hypothesis suite).

A plain Python model of documents, financings and failure counters runs beside the contracts;
random rules register documents and drive financings of two banks through their lifecycle, and
after every step the invariant compares the chain with the model: for every document the amount
held equals the model's and never exceeds its face, every financing is in the model's state, and
the failure counters agree.

The invariant reads the chain through the embedded EVM backend directly (one `eth_call` costs
about 1 ms there against about 10 ms through ape's contract proxies): it runs after every step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import ape
import pytest
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, to_canonical_address
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from crossborder.domain.codes import DocumentType, FinancingState, ParticipantKind, Reason, Scenario

from .conftest import CNY, EUR, FIRM_A, FIRM_B, ISSUED, USD, ZERO, Bank, events, fp

S = FinancingState
FIRM_C = fp("firm-c-stateful")
FIRMS = (FIRM_A, FIRM_B, FIRM_C)
CURRENCIES = (USD, CNY, EUR)
UNKNOWN = (fp("stateful-unknown-1"), fp("stateful-unknown-2"))
HOLDING = {S.APPLIED, S.ACCEPTED, S.APPROVED, S.DISBURSED, S.CLOSED}  # closed: consumed, kept
U64 = (1 << 64) - 1
WITHDRAWABLE = (S.APPLIED, S.ACCEPTED, S.APPROVED)
LIVE = (*WITHDRAWABLE, S.DISBURSED)
STAGE_STATES = {
    "accept": {S.APPLIED},
    "review": {S.ACCEPTED},
    "withdraw": set(WITHDRAWABLE),
    "register_disbursement": {S.APPROVED},
    "register_repayment": {S.DISBURSED},
}


@dataclass
class Doc:
    face: int
    currency: int
    owner: bytes
    doc_type: int


@dataclass
class Fin:
    bank: int
    fps: list[bytes]
    amounts: list[int]
    state: FinancingState = S.APPLIED
    disbursed: int = 0
    repaid: int = 0

    @property
    def requested(self) -> int:
        return sum(self.amounts)


@dataclass
class Model:
    docs: dict[bytes, Doc] = field(default_factory=dict)
    fins: dict[int, Fin] = field(default_factory=dict)
    failures: Counter = field(default_factory=Counter)  # (bank index, reason) -> count
    first_id: int = 1

    def held(self, fingerprint: bytes) -> int:
        return sum(
            amount
            for fin in self.fins.values()
            if fin.state in HOLDING
            for f, amount in zip(fin.fps, fin.amounts, strict=True)
            if f == fingerprint
        )

    def verify(self, firm: bytes, currency: int, fps, amounts) -> tuple[Reason, int]:
        """The reason code and failing index the ledger should return (核验 in order)."""
        for i, (fingerprint, amount) in enumerate(zip(fps, amounts, strict=True)):
            doc = self.docs.get(fingerprint)
            if doc is None:
                return Reason.NOT_FOUND, i
            if doc.doc_type != DocumentType.EXPORT_DECLARATION:
                return Reason.WRONG_TYPE, i
            if doc.owner != firm:
                return Reason.WRONG_OWNER, i
            if doc.currency != currency:
                return Reason.CURRENCY_MISMATCH, i
            left = doc.face - self.held(fingerprint)
            if left <= 0:
                return Reason.DUPLICATE, i
            if amount > left:
                return Reason.OVER_FINANCED, i
        return Reason.OK, 0


class Reader:
    """Read-only calls straight to the embedded EVM backend."""

    def __init__(self, chain, caller):
        self.backend = chain.provider.evm_backend
        self.caller = to_canonical_address(caller.address)

    def call(self, contract, signature: str, args: list, out: list[str]) -> tuple:
        in_types = [t for t in signature.partition("(")[2].rstrip(")").split(",") if t]
        data = function_signature_to_4byte_selector(signature) + encode(in_types, args)
        raw = self.backend.call(
            {
                "from": self.caller,
                "to": to_canonical_address(contract.address),
                "data": data,
                "gas": 30_000_000,
                "value": 0,
            },
            "latest",
        )
        return decode(out, raw)


FINANCING_OUT = ["address", "bytes32", "uint8", "uint16"] + ["uint256"] * 4 + ["uint32"] * 2


class GuardMachine(RuleBasedStateMachine):
    # Set by the test before the run (ape fixtures cannot reach a hypothesis machine otherwise).
    env: ClassVar[dict[str, Any]] = {}

    def __init__(self):
        super().__init__()
        env = self.env
        self.chain = env["chain"]
        self.ledger, self.receivables = env["ledger"], env["receivables"]
        self.customs_op, self.banks = env["customs_op"], env["banks"]
        self.reader: Reader = env["reader"]
        self.snapshot = self.chain.snapshot()
        self.model = Model(first_id=self.receivables.financing_count() + 1)
        self.labels = 0

    def teardown(self):
        self.chain.restore(self.snapshot)

    # ---------------------------------------------------------------- rules

    def _register(self, data, count: int, doc_type: DocumentType) -> None:
        docs = []
        for _ in range(count):
            self.labels += 1
            doc = Doc(
                face=data.draw(st.sampled_from([1, 2, 100, 1_000, 9_999, U64])),
                currency=data.draw(st.sampled_from(CURRENCIES)),
                owner=data.draw(st.sampled_from(FIRMS)),
                doc_type=int(doc_type),
            )
            docs.append((fp(f"stateful-{self.labels}"), doc))
        self.ledger.register(
            doc_type,
            [(f, d.owner, d.face, d.currency, ISSUED) for f, d in docs],
            sender=self.customs_op,
        )
        self.model.docs.update(docs)

    @initialize(data=st.data(), count=st.integers(2, 5))
    def start(self, data, count):
        self._register(data, count, DocumentType.EXPORT_DECLARATION)

    @rule(
        data=st.data(),
        count=st.integers(1, 3),
        doc_type=st.sampled_from(
            [DocumentType.EXPORT_DECLARATION] * 4 + [DocumentType.IMPORT_DECLARATION]
        ),
    )
    def register(self, data, count, doc_type):
        self._register(data, count, doc_type)

    def _amount(self, data, fingerprint: bytes) -> int:
        doc = self.model.docs.get(fingerprint)
        if doc is None:
            return data.draw(st.integers(1, 1_000))
        left = doc.face - self.model.held(fingerprint)
        kind = data.draw(st.sampled_from(["part", "part", "rest", "over", "any"]))
        if kind == "part" and left > 1:
            return data.draw(st.integers(1, left - 1))
        if kind == "rest" and left > 0:
            return left
        if kind == "over":
            return min(max(left, 0) + data.draw(st.integers(1, 10)), U64)
        return data.draw(st.integers(1, min(doc.face, 10**6)))

    def _likely(self, data) -> bool:
        """True four times in five: steers draws towards applications that can pass."""
        return data.draw(st.integers(0, 4)) != 0

    @rule(data=st.data(), bank=st.sampled_from([0, 1]))
    def apply(self, data, bank):
        docs = self.model.docs
        seed = docs[data.draw(st.sampled_from(sorted(docs)))]
        firm = seed.owner if self._likely(data) else data.draw(st.sampled_from(FIRMS))
        currency = seed.currency if self._likely(data) else data.draw(st.sampled_from(CURRENCIES))
        matching = sorted(
            f
            for f, d in docs.items()
            if (d.owner, d.currency, d.doc_type)
            == (firm, currency, DocumentType.EXPORT_DECLARATION)
        )
        pool = matching if matching and self._likely(data) else sorted(docs) + list(UNKNOWN)
        fps = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        amounts = [self._amount(data, f) for f in fps]
        if sum(amounts) > U64:
            amounts = [1] * len(amounts)
        reason, index = self.model.verify(firm, currency, fps, amounts)

        tx = self.receivables.apply(firm, currency, fps, amounts, sender=self.banks[bank].applicant)

        applied = events(tx, self.receivables.FinancingApplied)
        failed = events(tx, self.receivables.VerificationFailed)
        if reason == Reason.OK:
            fid = self.model.first_id + len(self.model.fins)
            assert [a["financing_id"] for a in applied] == [fid] and failed == []
            self.model.fins[fid] = Fin(bank, fps, amounts)
        else:
            assert applied == []
            assert [(f["reason"], f["fingerprint"], f["amount"]) for f in failed] == [
                (reason, fps[index], amounts[index])
            ]
            self.model.failures[(bank, reason)] += 1

    def _in(self, *states: FinancingState) -> list[int]:
        return sorted(fid for fid, fin in self.model.fins.items() if fin.state in states)

    def _pick(self, data, *states: FinancingState) -> tuple[int, Fin, Bank]:
        fid = data.draw(st.sampled_from(self._in(*states)))
        fin = self.model.fins[fid]
        return fid, fin, self.banks[fin.bank]

    def _accept(self, fid: int, fin: Fin, bank: Bank) -> None:
        self.receivables.accept(fid, sender=bank.acceptor)
        fin.state = S.ACCEPTED

    def _review(self, fid: int, fin: Fin, bank: Bank, approve: bool) -> None:
        self.receivables.review(fid, approve, sender=bank.reviewer)
        fin.state = S.APPROVED if approve else S.REJECTED

    def _disburse(self, data, fid: int, fin: Fin, bank: Bank) -> None:
        amount = data.draw(st.integers(1, fin.requested))
        self.receivables.register_disbursement(
            fid, amount, ISSUED, ISSUED + 90, sender=bank.disburser
        )
        fin.state, fin.disbursed = S.DISBURSED, amount

    def _repay(self, data, fid: int, fin: Fin, bank: Bank, full: bool) -> None:
        outstanding = fin.disbursed - fin.repaid
        amount = (
            outstanding if full or outstanding == 1 else data.draw(st.integers(1, outstanding - 1))
        )
        tx = self.receivables.register_repayment(fid, amount, sender=bank.repayer)
        fin.repaid += amount
        if fin.repaid == fin.disbursed:
            fin.state = S.CLOSED
        closed = events(tx, self.receivables.RepaymentRegistered)[0]["closed"]
        assert closed == (fin.state == S.CLOSED)

    @precondition(lambda self: self._in(*LIVE))
    @rule(data=st.data(), step=st.sampled_from(["withdraw", "reject", "forward", "forward"]))
    def act(self, data, step):
        """One lifecycle step on a live financing: forward (accept, approve, disburse, repay part
        or all), or where the state allows it a withdrawal or a rejection (accepting first)."""
        fid, fin, bank = self._pick(data, *LIVE)
        if step == "withdraw" and fin.state in WITHDRAWABLE:
            self.receivables.withdraw(fid, sender=bank.applicant)
            fin.state = S.WITHDRAWN
        elif step == "reject" and fin.state in (S.APPLIED, S.ACCEPTED):
            if fin.state == S.APPLIED:
                self._accept(fid, fin, bank)
            self._review(fid, fin, bank, False)
        elif fin.state == S.APPLIED:
            self._accept(fid, fin, bank)
        elif fin.state == S.ACCEPTED:
            self._review(fid, fin, bank, True)
        elif fin.state == S.APPROVED:
            self._disburse(data, fid, fin, bank)
        else:
            self._repay(data, fid, fin, bank, data.draw(st.booleans()))

    @precondition(lambda self: self.model.fins)
    @rule(data=st.data(), stage=st.sampled_from(sorted(STAGE_STATES)), other_bank=st.booleans())
    def misuse(self, data, stage, other_bank):
        """A stage called by the other bank's operator (holding the stage's role), or on a
        financing in a state the stage does not accept, reverts and changes nothing."""
        fins = self.model.fins
        if other_bank:
            fid = data.draw(st.sampled_from(sorted(fins)))
            with ape.reverts("financing: operator belongs to another bank"):
                self._call_stage(stage, fid, self.banks[1 - fins[fid].bank])
            return
        wrong = self._in(*(set(S) - STAGE_STATES[stage]))
        if wrong:
            fid = data.draw(st.sampled_from(wrong))
            with ape.reverts("financing: wrong state for this action"):
                self._call_stage(stage, fid, self.banks[fins[fid].bank])

    def _call_stage(self, stage: str, fid: int, bank: Bank):
        r = self.receivables
        if stage == "accept":
            return r.accept(fid, sender=bank.acceptor)
        if stage == "review":
            return r.review(fid, False, sender=bank.reviewer)
        if stage == "withdraw":
            return r.withdraw(fid, sender=bank.applicant)
        if stage == "register_disbursement":
            return r.register_disbursement(fid, 1, ISSUED, ISSUED, sender=bank.disburser)
        return r.register_repayment(fid, 1, sender=bank.repayer)

    # ------------------------------------------------------------ invariant

    @invariant()
    def chain_matches_model(self):
        model, read = self.model, self.reader
        fps = sorted(model.docs) + list(UNKNOWN)
        (words,) = read.call(self.ledger, "documents(bytes32[])", [fps], ["uint256[]"])
        for fingerprint, word in zip(fps, words, strict=True):
            doc = model.docs.get(fingerprint)
            if doc is None:
                assert word == 0
                continue
            face, held = word & U64, (word >> 64) & U64
            since = (word >> 168) & 0xFFFFFFFF
            assert (face, (word >> 128) & 0xFFFF, (word >> 144) & 0xFF) == (
                doc.face,
                doc.currency,
                doc.doc_type,
            )
            assert held == model.held(fingerprint)
            assert held <= face  # the guard
            assert (since != 0) == (held != 0)

        (count,) = read.call(self.receivables, "financing_count()", [], ["uint256"])
        assert count == model.first_id - 1 + len(model.fins)
        for fid, fin in model.fins.items():
            f = read.call(self.receivables, "financing(uint256)", [fid], FINANCING_OUT)
            assert (f[1], f[2], f[4], f[5], f[6], f[7]) == (
                self.banks[fin.bank].id,
                fin.state,
                fin.requested,
                fin.disbursed,
                fin.repaid,
                len(fin.fps),
            ), f"financing {fid}"

        for reason in Reason:
            if reason == Reason.OK:
                continue
            (total,) = read.call(
                self.receivables, "failures_by_reason(uint8)", [reason], ["uint256"]
            )
            assert total == sum(model.failures[(b, reason)] for b in (0, 1))
            for b, bank in enumerate(self.banks):
                (n,) = read.call(
                    self.receivables,
                    "verification_failures(bytes32,uint8)",
                    [bank.id, reason],
                    ["uint256"],
                )
                assert n == model.failures[(b, reason)]


@pytest.fixture(scope="module")
def firm_c(consortium, regulator, bank_a, bank_b, customs_op, ledger, receivables, outsider):
    consortium.onboard(FIRM_C, int(ParticipantKind.ENTERPRISE), ZERO, sender=regulator)
    for bank in (bank_a, bank_b):
        consortium.set_service(FIRM_C, Scenario.RECEIVABLES, True, sender=bank.opener)
    return FIRM_C


def test_reader_agrees_with_ape(chain, ledger, receivables, customs_op, bank_a, firm_c):
    """The backend shortcut reads what ape's proxies read."""
    reader = Reader(chain, customs_op)
    ledger.register(
        DocumentType.EXPORT_DECLARATION,
        [(fp("reader"), FIRM_A, 500, USD, ISSUED)],
        sender=customs_op,
    )
    receivables.apply(FIRM_A, USD, [fp("reader"), fp("nope")], [100, 1], sender=bank_a.applicant)
    receivables.apply(FIRM_A, USD, [fp("reader")], [100], sender=bank_a.applicant)
    assert list(
        reader.call(ledger, "documents(bytes32[])", [[fp("reader")]], ["uint256[]"])[0]
    ) == list(ledger.documents([fp("reader")]))
    assert (
        reader.call(receivables, "financing(uint256)", [1], FINANCING_OUT)[2:8]
        == tuple(receivables.financing(1))[2:8]
    )
    assert (
        reader.call(
            receivables,
            "verification_failures(bytes32,uint8)",
            [bank_a.id, Reason.NOT_FOUND],
            ["uint256"],
        )
        == (receivables.verification_failures(bank_a.id, Reason.NOT_FOUND),)
        == (1,)
    )


def test_guard_holds_under_random_operations(
    chain, ledger, receivables, customs_op, bank_a, bank_b, firm_c
):
    chain.mine()  # our snapshot must not coincide with ape's own per-test snapshot
    GuardMachine.env = {
        "chain": chain,
        "ledger": ledger,
        "receivables": receivables,
        "customs_op": customs_op,
        "banks": (bank_a, bank_b),
        "reader": Reader(chain, customs_op),
    }
    run_state_machine_as_test(
        GuardMachine,
        settings=settings(max_examples=30, stateful_step_count=35, deadline=None),
    )
