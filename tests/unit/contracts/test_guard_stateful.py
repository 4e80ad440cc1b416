"""The duplicate/over-financing guard and hold ownership as a stateful property (Curve-style
hypothesis suite).

A plain Python model of documents, hold records, financings, services and failure counters runs
beside the contracts: two scenario contracts (ReceivablesFinancing deployed twice) and a probe
scenario (tests/unit/contracts/ProbeScenario.vy, which passes any hold, release or consume to the
ledger, as a hostile scenario would) × three banks × three firms. Random rules register documents
(skipping known ones), void them and correct their face, drive financings through their
lifecycle, stop and re-authorise scenarios, deactivate banks, force-release holds, open services
by signed consent, close them and revoke consents, and have the probe hold, release and consume,
its own holds and others'. After every step the invariant compares the chain with the model:
every document's record, every hold record (live, consumed, bank tag: so a hold changes only by
its owner's action or the regulator's force-release), Σ live holds ≤ face and held ≤ face for
every document, every financing, the scenarios' authorisation, the banks' status, the services
and the failure counters.

The invariant reads the chain through the embedded EVM backend directly (one `eth_call` costs
about 1 ms there against about 10 ms through ape's contract proxies): it runs after every step.

Budget: `CROSSBORDER_STATEFUL_STEPS` steps in all (default `DEFAULT_STEPS`, for `make test`);
`make stateful` runs 10,000 and prints the steps, examples and seconds.
"""

from __future__ import annotations

import math
import os
import time
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

from crossborder.domain.codes import (
    DocumentType,
    FinancingState,
    ForceReason,
    ParticipantKind,
    Reason,
    Scenario,
    Stage,
)

from .conftest import (
    CNY,
    EUR,
    FIRM_A,
    FIRM_B,
    ISSUED,
    USD,
    ZERO,
    Bank,
    bind,
    consent,
    events,
    fp,
    make_bank,
    open_service,
    sign,
)

DEFAULT_STEPS = 600
STEPS_PER_EXAMPLE = 40
STEPS = int(os.environ.get("CROSSBORDER_STATEFUL_STEPS", DEFAULT_STEPS))

S = FinancingState
EXPORT, IMPORT, FREIGHT = (
    DocumentType.EXPORT_DECLARATION,
    DocumentType.IMPORT_DECLARATION,
    DocumentType.FREIGHT_INVOICE,
)
TYPES = (EXPORT, IMPORT, FREIGHT)
FIRM_C = fp("firm-c-stateful")
FIRMS = (FIRM_A, FIRM_B, FIRM_C)
CURRENCIES = (USD, CNY, EUR)
UNKNOWN = (fp("stateful-unknown-1"), fp("stateful-unknown-2"))
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
LIFECYCLES = (0, 1)  # scenario indices of the two ReceivablesFinancing deployments
PROBE = 2  # scenario index of the probe
PROBE_IDS = range(1, 7)  # the probe's financing ids: they collide with the lifecycles' ids
DEACTIVATED = "consortium: participant is deactivated"
NO_SERVICE = "financing: firm has not opened the service with this bank"
NOT_AUTHORISED = "ledger: caller is not an authorised scenario"
NO_HOLD = "ledger: no such live hold of this scenario and financing"


def probe_bank(fid: int) -> int:
    """The bank a probe financing id holds for: fixed, so a record never changes banks."""
    return (fid - 1) % 3


@dataclass
class Doc:
    face: int
    currency: int
    owner: bytes


@dataclass
class Hold:
    live: int
    consumed: int
    bank: int


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


Key = tuple[int, bytes]  # (document type, fingerprint)
HoldKey = tuple[int, int, int, bytes]  # (scenario index, financing id, type, fingerprint)


@dataclass
class Model:
    docs: dict[Key, Doc] = field(default_factory=dict)
    holds: dict[HoldKey, Hold] = field(default_factory=dict)
    fins: dict[tuple[int, int], Fin] = field(default_factory=dict)
    count: list[int] = field(default_factory=lambda: [0, 0])  # financing_count per lifecycle
    failures: Counter = field(default_factory=Counter)  # (scenario, bank, reason) -> count
    authorised: list[bool] = field(default_factory=lambda: [True, True, True])
    active: list[bool] = field(default_factory=lambda: [True, True, True])
    services: dict[tuple[bytes, int], bool] = field(default_factory=dict)

    def held(self, key: Key) -> int:
        return sum(h.live + h.consumed for k, h in self.holds.items() if k[2:] == key)

    def live(self, key: Key) -> int:
        return sum(h.live for k, h in self.holds.items() if k[2:] == key)

    def verify(self, firm: bytes, currency: int, fps, amounts) -> tuple[Reason, int]:
        """The reason code and failing index the ledger should return (核验 in order)."""
        for i, (fingerprint, amount) in enumerate(zip(fps, amounts, strict=True)):
            doc = self.docs.get((EXPORT, fingerprint))
            if doc is None:
                return Reason.NOT_FOUND, i
            if doc.owner != firm:
                return Reason.WRONG_OWNER, i
            if doc.currency != currency:
                return Reason.CURRENCY_MISMATCH, i
            left = doc.face - self.held((EXPORT, fingerprint))
            if left <= 0:
                return Reason.DUPLICATE, i
            if amount > left:
                return Reason.OVER_FINANCED, i
        return Reason.OK, 0

    def take(self, scenario: int, fid: int, bank: int, fps, amounts) -> None:
        for fingerprint, amount in zip(fps, amounts, strict=True):
            hold = self.holds.setdefault((scenario, fid, EXPORT, fingerprint), Hold(0, 0, bank))
            hold.live += amount
            hold.bank = bank

    def live_records(self, scenario: int, fid: int) -> list[tuple[HoldKey, Hold]]:
        return [(k, h) for k, h in self.holds.items() if k[:2] == (scenario, fid) and h.live != 0]


class Reader:
    """Read-only calls straight to the embedded EVM backend."""

    def __init__(self, chain, caller):
        self.backend = chain.provider.evm_backend
        self.caller = to_canonical_address(caller.address)

    def call(self, contract, signature: str, args: list, out: list[str]) -> tuple:
        in_types = [t for t in signature.partition("(")[2].rstrip(")").split(",") if t]
        data = function_signature_to_4byte_selector(signature) + encode(in_types, args)
        address = contract if isinstance(contract, str) else contract.address
        raw = self.backend.call(
            {
                "from": self.caller,
                "to": to_canonical_address(address),
                "data": data,
                "gas": 30_000_000,
                "value": 0,
            },
            "latest",
        )
        return decode(out, raw)


FINANCING_OUT = (
    ["address", "bytes32", "uint8", "uint16"] + ["uint256"] * 4 + ["uint8"] + ["uint32"] * 2
)


class GuardMachine(RuleBasedStateMachine):
    # Set by the test before the run (ape fixtures cannot reach a hypothesis machine otherwise).
    env: ClassVar[dict[str, Any]] = {}
    steps: ClassVar[int] = 0
    examples: ClassVar[int] = 0
    tally: ClassVar[Counter] = Counter()

    def __init__(self):
        super().__init__()
        env = self.env
        self.chain = env["chain"]
        self.ledger, self.consortium = env["ledger"], env["consortium"]
        self.scenarios = env["scenarios"]  # receivables, second, probe
        self.regulator, self.providers = env["regulator"], env["providers"]
        self.banks: tuple[Bank, ...] = env["banks"]
        self.firm_accounts = env["firm_accounts"]
        self.registrar_index = env["registrar_index"]
        self.reader: Reader = env["reader"]
        self.snapshot = self.chain.snapshot()
        self.model = Model(
            count=[env["scenarios"][s].financing_count() for s in LIFECYCLES],
            services={(firm, b): True for firm in FIRMS for b in range(3)},
        )
        self.fingerprints: list[bytes] = []
        self.labels = 0
        GuardMachine.examples += 1

    def teardown(self):
        self.chain.restore(self.snapshot)

    def _step(self, name: str) -> None:
        GuardMachine.steps += 1
        GuardMachine.tally[name] += 1

    # ------------------------------------------------------------- documents

    def _register(self, data, count: int, doc_type: DocumentType) -> None:
        docs: list[tuple[bytes, Doc]] = []
        for _ in range(count):
            source = data.draw(st.sampled_from(["new", "new", "new", "known"]))
            if source == "known" and self.fingerprints:
                fingerprint = data.draw(st.sampled_from(self.fingerprints))
            else:
                self.labels += 1
                fingerprint = fp(f"stateful-{self.labels}")
                self.fingerprints.append(fingerprint)
            doc = Doc(
                face=data.draw(st.sampled_from([1, 2, 100, 1_000, 9_999, U64])),
                currency=data.draw(st.sampled_from(CURRENCIES)),
                owner=data.draw(st.sampled_from(FIRMS)),
            )
            docs.append((fingerprint, doc))
        tx = self.ledger.register(
            doc_type,
            [(f, d.owner, d.face, d.currency, ISSUED) for f, d in docs],
            sender=self.providers[doc_type],
        )
        registered = skipped = 0
        for fingerprint, doc in docs:
            key = (int(doc_type), fingerprint)
            if key in self.model.docs:
                skipped += 1
            else:
                registered += 1
                self.model.docs[key] = doc
        (logged,) = events(tx, self.ledger.DocumentsRegistered)
        assert (logged["count"], logged["skipped"]) == (registered, skipped)
        assert len(events(tx, self.ledger.DocumentSkipped)) == skipped

    @initialize(data=st.data(), count=st.integers(2, 5))
    def start(self, data, count):
        self._register(data, count, EXPORT)

    @rule(data=st.data(), what=st.sampled_from(["register"] * 3 + ["void", "correct_face"]))
    def documents(self, data, what):
        """A data provider registers a batch (some documents already known: skipped), or voids
        or corrects what it registered."""
        if not self.model.docs:
            what = "register"
        self._step(what)
        if what == "register":
            doc_type = data.draw(st.sampled_from([EXPORT] * 5 + [IMPORT, FREIGHT]))
            self._register(data, data.draw(st.integers(1, 3)), doc_type)
        else:
            getattr(self, f"_{what}")(data)

    def _pick_doc(self, data) -> Key:
        return data.draw(st.sampled_from(sorted(self.model.docs)))

    def _void(self, data):
        """The registering provider voids an unheld document (which may be registered again);
        another provider, or a held document, is refused."""
        doc_type, fingerprint = key = self._pick_doc(data)
        if data.draw(st.integers(0, 3)) == 0:  # another provider, even of the same kind
            with ape.reverts("ledger: document registered by another provider"):
                self.ledger.void(doc_type, [fingerprint], sender=self.env["intruders"][doc_type])
        elif self.model.held(key):
            with ape.reverts("ledger: the document is held"):
                self.ledger.void(doc_type, [fingerprint], sender=self.providers[doc_type])
        else:
            self.ledger.void(doc_type, [fingerprint], sender=self.providers[doc_type])
            del self.model.docs[key]
            self.tally["void: done"] += 1

    def _correct_face(self, data):
        """Up or down, never below what is held."""
        doc_type, fingerprint = key = self._pick_doc(data)
        doc, held = self.model.docs[key], self.model.held(key)
        face = {
            "held": max(held, 1),
            "below": max(held - 1, 1),
            "up": min(doc.face + data.draw(st.integers(1, 1_000)), U64),
            "any": data.draw(st.integers(1, 10_000)),
        }[data.draw(st.sampled_from(["held", "below", "up", "any"]))]
        sender = self.providers[doc_type]
        if face < held:
            with ape.reverts("ledger: face below the held amount"):
                self.ledger.correct_face(doc_type, fingerprint, face, sender=sender)
        else:
            self.ledger.correct_face(doc_type, fingerprint, face, sender=sender)
            doc.face = face

    # ------------------------------------------------------------ applying

    def _amount(self, data, fingerprint: bytes) -> int:
        doc = self.model.docs.get((EXPORT, fingerprint))
        if doc is None:
            return data.draw(st.integers(1, 1_000))
        left = doc.face - self.model.held((EXPORT, fingerprint))
        kind = data.draw(st.sampled_from(["part", "part", "rest", "over", "any"]))
        if kind == "part" and left > 1:
            return data.draw(st.integers(1, left - 1))
        if kind == "rest" and left > 0:
            return left
        if kind == "over":
            return min(max(left, 0) + data.draw(st.integers(1, 10)), U64)
        return data.draw(st.integers(1, min(doc.face, 10**6)))

    def _likely(self, data) -> bool:
        """True nine times in ten: steers draws towards applications that can pass."""
        return data.draw(st.integers(0, 9)) != 0

    def _citation(self, data) -> tuple[bytes, int, list[bytes], list[int]]:
        """A firm, a currency and documents with amounts: mostly the firm's own export
        declarations in their currency with something left, sometimes anything at all."""
        model = self.model
        exports = {f: d for (t, f), d in model.docs.items() if t == EXPORT}
        roomy = sorted(f for f, d in exports.items() if d.face > model.held((EXPORT, f)))
        seeds = roomy if roomy and self._likely(data) else sorted(exports)
        seed = exports[data.draw(st.sampled_from(seeds))] if seeds else None
        firm = seed.owner if seed and self._likely(data) else data.draw(st.sampled_from(FIRMS))
        currency = (
            seed.currency if seed and self._likely(data) else data.draw(st.sampled_from(CURRENCIES))
        )
        matching = [f for f in roomy if (exports[f].owner, exports[f].currency) == (firm, currency)]
        pool = (
            matching
            if matching and self._likely(data)
            else sorted(self.fingerprints) + list(UNKNOWN)
        )
        fps = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        amounts = [self._amount(data, f) for f in fps]
        if sum(amounts) > U64:
            amounts = [1] * len(amounts)
        return firm, currency, fps, amounts

    @rule(data=st.data(), scenario=st.sampled_from(LIFECYCLES))
    def apply(self, data, scenario):
        """A bank's applicant applies: refused for a deactivated bank, a closed service or a
        stopped scenario; otherwise verified, and held or recorded as a failure."""
        self._step("apply")
        firm, currency, fps, amounts = self._citation(data)
        contract, model = self.scenarios[scenario], self.model
        able = [b for b in range(3) if model.active[b] and model.services[(firm, b)]]
        bank = data.draw(st.sampled_from(able if able and self._likely(data) else [0, 1, 2]))
        sender = self.banks[bank].applicant

        def call():
            return contract.apply(firm, currency, fps, amounts, sender=sender)

        for refused, message in (
            (not model.active[bank], DEACTIVATED),
            (not model.services[(firm, bank)], NO_SERVICE),
            (not model.authorised[scenario], NOT_AUTHORISED),
        ):
            if refused:
                with ape.reverts(message):
                    call()
                self.tally[f"apply: refused, {message.partition(': ')[2]}"] += 1
                return
        reason, index = model.verify(firm, currency, fps, amounts)

        tx = call()

        applied = events(tx, contract.FinancingApplied)
        failed = events(tx, contract.VerificationFailed)
        if reason == Reason.OK:
            model.count[scenario] += 1
            fid = model.count[scenario]
            assert [a["financing_id"] for a in applied] == [fid] and failed == []
            model.fins[(scenario, fid)] = Fin(bank, fps, amounts)
            model.take(scenario, fid, bank, fps, amounts)
            self.tally["apply: held"] += 1
        else:
            assert applied == []
            assert [
                (f["reason"], f["fingerprint"], f["amount"], f["doc_type"]) for f in failed
            ] == [(reason, fps[index], amounts[index], EXPORT)]
            model.failures[(scenario, bank, reason)] += 1
            self.tally[f"apply: failed, {reason.name}"] += 1
            (counted,) = self.reader.call(
                contract,
                "verification_failures(bytes32,uint8)",
                [self.banks[bank].id, int(reason)],
                ["uint256"],
            )
            assert counted == model.failures[(scenario, bank, reason)]

    # ----------------------------------------------------------- lifecycle

    def _in(self, *states: FinancingState) -> list[tuple[int, int]]:
        return sorted(key for key, fin in self.model.fins.items() if fin.state in states)

    def _release_all(self, scenario: int, fid: int, tx, consume: bool) -> None:
        """The lifecycle frees (or consumes) what its financing still holds live, and only that."""
        expected = []
        for key, hold in self.model.live_records(scenario, fid):
            expected.append((key[3], hold.live))
            if consume:
                hold.consumed += hold.live
            hold.live = 0
        event = self.ledger.AmountConsumed if consume else self.ledger.AmountReleased
        logged = [(e["fingerprint"], e["amount"]) for e in events(tx, event)]
        assert sorted(logged) == sorted(expected)

    @precondition(lambda self: self.model.fins)
    @rule(
        data=st.data(),
        step=st.sampled_from(["withdraw", "reject", "forward", "forward", "forward", "misuse"]),
    )
    def act(self, data, step):
        """One lifecycle step on a live financing: forward (accept, approve, disburse, repay part
        or all), or where the state allows it a withdrawal or a rejection (accepting first). A
        deactivated bank's operators are refused. Or a misuse of a stage (`_misuse`)."""
        if step == "misuse" or not self._in(*LIVE):
            self._step("misuse")
            self._misuse(data)
            return
        self._step("act")
        # Half the time the furthest along, so that financings reach their end.
        advanced = self._in(S.APPROVED, S.DISBURSED)
        pool = advanced if advanced and data.draw(st.booleans()) else self._in(*LIVE)
        scenario, fid = key = data.draw(st.sampled_from(pool))
        fin, contract = self.model.fins[key], self.scenarios[scenario]
        bank = self.banks[fin.bank]
        if not self.model.active[fin.bank]:
            with ape.reverts(DEACTIVATED):
                self._call_stage(contract, "withdraw", fid, bank)
            return
        if step == "withdraw" and fin.state in WITHDRAWABLE:
            tx = contract.withdraw(fid, sender=bank.applicant)
            fin.state = S.WITHDRAWN
            self._release_all(scenario, fid, tx, consume=False)
        elif step == "reject" and fin.state in (S.APPLIED, S.ACCEPTED):
            if fin.state == S.APPLIED:
                contract.accept(fid, sender=bank.acceptor)
            tx = contract.review(fid, False, sender=bank.reviewer)
            fin.state = S.REJECTED
            self._release_all(scenario, fid, tx, consume=False)
        elif fin.state == S.APPLIED:
            contract.accept(fid, sender=bank.acceptor)
            fin.state = S.ACCEPTED
        elif fin.state == S.ACCEPTED:
            contract.review(fid, True, sender=bank.reviewer)
            fin.state = S.APPROVED
        elif fin.state == S.APPROVED:
            amount = data.draw(st.integers(1, fin.requested))
            contract.register_disbursement(fid, amount, ISSUED, ISSUED + 90, sender=bank.disburser)
            fin.state, fin.disbursed = S.DISBURSED, amount
        else:
            outstanding = fin.disbursed - fin.repaid
            full = data.draw(st.booleans()) or outstanding == 1
            amount = outstanding if full else data.draw(st.integers(1, outstanding - 1))
            tx = contract.register_repayment(fid, amount, sender=bank.repayer)
            fin.repaid += amount
            closed = fin.repaid == fin.disbursed
            assert events(tx, contract.RepaymentRegistered)[0]["closed"] == closed
            if closed:
                fin.state = S.CLOSED
                self._release_all(scenario, fid, tx, consume=True)
                self.tally["act: closed"] += 1

    def _misuse(self, data):
        """A stage called by another bank's operator (holding the stage), or on a financing in a
        state the stage does not accept, reverts and changes nothing."""
        stage = data.draw(st.sampled_from(sorted(STAGE_STATES)))
        fins = self.model.fins
        if data.draw(st.booleans()):  # another bank's operator
            scenario, fid = key = data.draw(st.sampled_from(sorted(fins)))
            caller = data.draw(st.sampled_from([b for b in range(3) if b != fins[key].bank]))
            message = (
                "financing: operator belongs to another bank"
                if self.model.active[caller]
                else DEACTIVATED
            )
            with ape.reverts(message):
                self._call_stage(self.scenarios[scenario], stage, fid, self.banks[caller])
            return
        wrong = self._in(*(set(S) - STAGE_STATES[stage]))
        if wrong:
            scenario, fid = key = data.draw(st.sampled_from(wrong))
            bank = fins[key].bank
            message = (
                "financing: wrong state for this action" if self.model.active[bank] else DEACTIVATED
            )
            with ape.reverts(message):
                self._call_stage(self.scenarios[scenario], stage, fid, self.banks[bank])

    def _call_stage(self, contract, stage: str, fid: int, bank: Bank):
        if stage == "accept":
            return contract.accept(fid, sender=bank.acceptor)
        if stage == "review":
            return contract.review(fid, False, sender=bank.reviewer)
        if stage == "withdraw":
            return contract.withdraw(fid, sender=bank.applicant)
        if stage == "register_disbursement":
            return contract.register_disbursement(fid, 1, ISSUED, ISSUED, sender=bank.disburser)
        return contract.register_repayment(fid, 1, sender=bank.repayer)

    # --------------------------------------------------- regulator's levers

    @rule(
        data=st.data(),
        lever=st.sampled_from(
            ["set_scenario", "set_bank_active"] + ["force_release"] * 3 + ["service"] * 3
        ),
    )
    def levers(self, data, lever):
        """The regulator stops or re-authorises a scenario, (de)activates a bank, or
        force-releases holds; a firm opens (by its signed consent) or closes a service."""
        if lever == "force_release" and not any(h.live for h in self.model.holds.values()):
            lever = "restore"
        if lever != "service":
            self._step(lever)
        getattr(self, f"_{lever}")(data)

    def _restore(self, data):
        """Re-authorise a stopped scenario or reactivate a bank, if any; else `_set_scenario`."""
        stopped = [s for s in range(3) if not self.model.authorised[s]]
        inactive = [b for b in range(3) if not self.model.active[b]]
        if not stopped and not inactive:
            self._set_scenario(data)
        elif stopped and (not inactive or data.draw(st.booleans())):
            scenario = data.draw(st.sampled_from(stopped))
            self.ledger.set_scenario(self.scenarios[scenario], True, sender=self.regulator)
            self.model.authorised[scenario] = True
        else:
            bank = data.draw(st.sampled_from(inactive))
            self.consortium.set_active(self.banks[bank].id, True, sender=self.regulator)
            self.model.active[bank] = True

    def _set_scenario(self, data):
        """A stopped scenario comes back three times in four; a running one stops once in three."""
        scenario = data.draw(st.sampled_from([0, 1, 2]))
        running = self.model.authorised[scenario]
        enabled = (
            data.draw(st.integers(0, 2)) != 0 if running else data.draw(st.integers(0, 3)) != 0
        )
        self.ledger.set_scenario(self.scenarios[scenario], enabled, sender=self.regulator)
        self.model.authorised[scenario] = enabled

    def _set_bank_active(self, data):
        bank = data.draw(st.sampled_from([0, 1, 2]))
        running = self.model.active[bank]
        active = data.draw(st.integers(0, 2)) != 0 if running else data.draw(st.integers(0, 3)) != 0
        self.consortium.set_active(self.banks[bank].id, active, sender=self.regulator)
        self.model.active[bank] = active

    def _force_release(self, data):
        """The regulator frees a financing's live holds: only of a stopped scenario (reason 1) or
        of a deactivated bank (reason 2), only naming the holds' own bank, only live ones."""
        model = self.model
        groups = sorted({k[:2] for k, h in model.holds.items() if h.live})
        scenario, fid = data.draw(st.sampled_from(groups))
        records = sorted(k for k in model.holds if k[:2] == (scenario, fid))
        chosen = data.draw(st.lists(st.sampled_from(records), min_size=1, max_size=3, unique=True))
        owner = model.holds[chosen[0]].bank
        others = [b for b in range(3) if b != owner]
        bank = owner if data.draw(st.integers(0, 3)) else data.draw(st.sampled_from(others))
        # Mostly the reason that applies, if one does; otherwise any.
        fitting = [
            r
            for r, applies in (
                (ForceReason.SCENARIO_STOPPED, not model.authorised[scenario]),
                (ForceReason.BANK_DEACTIVATED, not model.active[bank]),
            )
            if applies
        ]
        if not fitting and bank == owner and data.draw(st.booleans()):
            # Make one apply first: stop the scenario or deactivate the bank.
            if data.draw(st.booleans()):
                self.ledger.set_scenario(self.scenarios[scenario], False, sender=self.regulator)
                model.authorised[scenario] = False
                fitting = [ForceReason.SCENARIO_STOPPED]
            else:
                self.consortium.set_active(self.banks[bank].id, False, sender=self.regulator)
                model.active[bank] = False
                fitting = [ForceReason.BANK_DEACTIVATED]
        if fitting and data.draw(st.integers(0, 3)):
            reason = data.draw(st.sampled_from(fitting))
        else:
            reason = data.draw(st.sampled_from(list(ForceReason)))

        def call():
            return self.ledger.force_release(
                self.scenarios[scenario],
                fid,
                self.banks[bank].id,
                EXPORT,
                [k[3] for k in chosen],
                int(reason),
                sender=self.regulator,
            )

        if reason == ForceReason.SCENARIO_STOPPED and model.authorised[scenario]:
            message = "ledger: the scenario is not stopped"
        elif reason == ForceReason.BANK_DEACTIVATED and model.active[bank]:
            message = "ledger: the bank is active"
        elif bank != owner:
            message = "ledger: the hold belongs to another bank"
        elif any(model.holds[k].live == 0 for k in chosen):
            message = NO_HOLD
        else:
            tx = call()
            expected = []
            for k in chosen:
                expected.append((k[3], model.holds[k].live))
                model.holds[k].live = 0
            logged = [
                (e["fingerprint"], e["amount"]) for e in events(tx, self.ledger.AmountReleased)
            ]
            assert logged == expected
            (forced,) = events(tx, self.ledger.HoldsForceReleased)
            assert (forced["reason"], forced["documents"], forced["bank"]) == (
                reason,
                len(chosen),
                self.banks[bank].id,
            )
            self.tally[f"force_release: done, {reason.name}"] += 1
            return
        with ape.reverts(message):
            call()

    # ------------------------------------------------ services and consents

    def _service(self, data):
        """The firm (or the regulator) closes a service: no new applications, while live
        financings wind down (the lifecycle rules keep acting on them). The bank submits the
        firm's signed consent to open one; a revoked or replayed consent is refused."""
        what = data.draw(st.sampled_from(["close", "open", "open", "revoked", "replayed"]))
        self._step(f"service: {what}")
        firm = data.draw(st.sampled_from(FIRMS))
        bank = data.draw(st.sampled_from([0, 1, 2]))
        bank_id, signer = self.banks[bank].id, self.firm_accounts[firm]
        if what == "close":
            sender = signer if data.draw(st.booleans()) else self.regulator
            if self.model.services[(firm, bank)]:
                self.consortium.close_service(firm, bank_id, Scenario.RECEIVABLES, sender=sender)
                self.model.services[(firm, bank)] = False
            else:
                with ape.reverts("consortium: service is not open"):
                    self.consortium.close_service(
                        firm, bank_id, Scenario.RECEIVABLES, sender=sender
                    )
            return
        opener = self.banks[bank].opener
        if not self.model.active[bank]:
            with ape.reverts(DEACTIVATED):
                open_service(self.consortium, opener, signer, firm, bank_id)
            return
        terms = consent(firm, bank_id)
        signature = sign(terms, signer, self.consortium)
        if what == "revoked":
            self.consortium.revoke_consent(terms.nonce, sender=signer)
        else:
            self.consortium.open_service(terms.as_tuple(), signature, sender=opener)
            self.model.services[(firm, bank)] = True
        if what != "open":
            with ape.reverts("consortium: consent already used or revoked"):
                self.consortium.open_service(terms.as_tuple(), signature, sender=opener)

    # --------------------------------------------------------------- probe

    @rule(data=st.data(), what=st.sampled_from(["hold", "release", "release"]))
    def probe(self, data, what):
        """The probe holds, releases and consumes on its own account, and tries others' holds."""
        self._step(f"probe_{what}")
        getattr(self, f"_probe_{what}")(data)

    def _probe_hold(self, data):
        """The probe takes holds of its own, under ids that the lifecycles use too."""
        fid = data.draw(st.sampled_from(PROBE_IDS))
        firm, currency, fps, amounts = self._citation(data)
        bank = probe_bank(fid)
        probe = self.scenarios[PROBE]
        args = (fid, self.banks[bank].id, firm, currency, EXPORT, fps, amounts)
        if not self.model.authorised[PROBE]:
            with ape.reverts(NOT_AUTHORISED):
                probe.hold(*args, sender=self.regulator)
            return
        reason, _ = self.model.verify(firm, currency, fps, amounts)
        tx = probe.hold(*args, sender=self.regulator)
        held = events(tx, self.ledger.AmountHeld)
        if reason == Reason.OK:
            logged = [(e["fingerprint"], e["amount"]) for e in held]
            assert logged == list(zip(fps, amounts, strict=True))
            self.model.take(PROBE, fid, bank, fps, amounts)
            self.tally["probe_hold: held"] += 1
        else:
            assert held == []

    def _probe_release(self, data):
        """The probe releases or consumes: its own holds up to their live amount; anything else
        (another scenario's hold under the same id and document, more than its own live amount,
        zero) is refused. The invariant then shows the other scenarios' records untouched."""
        model = self.model
        pools = {
            "own": sorted(k for k, h in model.holds.items() if k[0] == PROBE and h.live),
            "theirs": sorted(k for k, h in model.holds.items() if k[0] != PROBE and h.live),
        }
        whose = data.draw(st.sampled_from(["own", "theirs"]))
        pool = pools[whose] or pools["theirs" if whose == "own" else "own"]
        if not pool:
            self._probe_hold(data)
            return
        whose = "own" if pool[0][0] == PROBE else "theirs"
        key = data.draw(st.sampled_from(pool))
        _, fid, _, fingerprint = key
        mine = model.holds.get((PROBE, fid, EXPORT, fingerprint))
        own_live = mine.live if mine else 0
        amount = {
            "within": data.draw(st.integers(1, max(own_live, 1))),
            "over": max(own_live, model.holds[key].live) + 1,
            "zero": 0,
        }[data.draw(st.sampled_from(["within", "within", "over", "zero"]))]
        probe = self.scenarios[PROBE]
        consume = data.draw(st.booleans())
        call = probe.consume if consume else probe.release
        if amount == 0:
            message = "ledger: amount must be positive"
        elif amount > own_live:
            message = NO_HOLD
        else:
            call(fid, EXPORT, [fingerprint], [amount], sender=self.regulator)
            mine.live -= amount
            if consume:
                mine.consumed += amount
            self.tally[f"probe_release: {whose}"] += 1
            return
        with ape.reverts(message):
            call(fid, EXPORT, [fingerprint], [amount], sender=self.regulator)
        self.tally[f"probe_release: refused, {whose}"] += 1

    # ------------------------------------------------------------ invariant

    @invariant()
    def chain_matches_model(self):
        model, read = self.model, self.reader
        fps = sorted(set(self.fingerprints)) + list(UNKNOWN)
        for doc_type in TYPES:
            (words,) = read.call(
                self.ledger, "documents(uint8,bytes32[])", [doc_type, fps], ["uint256[]"]
            )
            for fingerprint, word in zip(fps, words, strict=True):
                key = (int(doc_type), fingerprint)
                doc = model.docs.get(key)
                if doc is None:
                    assert word == 0, f"{key} is not registered"
                    continue
                face, held = word & U64, (word >> 64) & U64
                since = (word >> 176) & 0xFFFFFFFF
                assert (face, (word >> 128) & 0xFFFF, (word >> 144) & 0xFFFF) == (
                    doc.face,
                    doc.currency,
                    self.registrar_index[doc_type],
                ), key
                assert held == model.held(key), key
                assert held <= face  # the guard, live and consumed together
                assert model.live(key) <= face  # Σ live holds ≤ face
                assert (since != 0) == (held != 0)
                assert word >> 208 == 0  # the view hides the owner tag

        for (scenario, fid, doc_type, fingerprint), hold in model.holds.items():
            record = read.call(
                self.ledger,
                "hold_record(address,uint256,uint8,bytes32)",
                [self.scenarios[scenario].address, fid, doc_type, fingerprint],
                ["uint256", "uint256", "bytes16"],
            )
            assert record == (hold.live, hold.consumed, self.banks[hold.bank].id[:16]), (
                f"hold record {(scenario, fid, fingerprint.hex()[:8])}"
            )

        for scenario in LIFECYCLES:
            contract = self.scenarios[scenario]
            (count,) = read.call(contract, "financing_count()", [], ["uint256"])
            assert count == model.count[scenario]
            for (s, fid), fin in model.fins.items():
                if s != scenario:
                    continue
                f = read.call(contract, "financing(uint256)", [fid], FINANCING_OUT)
                assert (f[1], f[2], f[4], f[5], f[6], f[7], f[8]) == (
                    self.banks[fin.bank].id,
                    fin.state,
                    fin.requested,
                    fin.disbursed,
                    fin.repaid,
                    len(fin.fps),
                    EXPORT,
                ), f"financing {(scenario, fid)}"
            for reason in Reason:
                (total,) = read.call(contract, "failures_by_reason(uint8)", [reason], ["uint256"])
                assert total == sum(model.failures[(scenario, b, reason)] for b in range(3))

        for scenario, contract in enumerate(self.scenarios):
            (authorised,) = read.call(
                self.ledger, "scenarios(address)", [contract.address], ["bool"]
            )
            assert authorised == model.authorised[scenario]
        for b, bank in enumerate(self.banks):
            (active,) = read.call(self.consortium, "is_active(bytes32)", [bank.id], ["bool"])
            assert active == model.active[b]
            for firm in FIRMS:
                (opened,) = read.call(
                    self.consortium,
                    "is_service_opened(bytes32,bytes32,uint8)",
                    [firm, bank.id, Scenario.RECEIVABLES],
                    ["bool"],
                )
                assert opened == model.services[(firm, b)]


################################################################
#                           FIXTURES                           #
################################################################


@pytest.fixture(scope="module")
def world(
    project,
    probe_container,
    consortium,
    ledger,
    receivables,
    regulator,
    customs_op,
    accounts,
    bank_a,
    bank_b,
    firm_accounts,
    chain,
):
    """A third firm and a third bank; a second receivables deployment and the probe, both
    authorised; logistics registering freight invoices, and an intruder provider per type; every
    firm with the receivables service opened at every bank."""
    consortium.onboard(FIRM_C, int(ParticipantKind.ENTERPRISE), ZERO, sender=regulator)
    firms = {**firm_accounts, FIRM_C: accounts[29]}
    bind(consortium, regulator, firms[FIRM_C], FIRM_C)
    bank_c = make_bank(consortium, regulator, accounts, "bank-c", 2)
    for firm in FIRMS:
        for bank in (bank_a, bank_b, bank_c):
            if not consortium.is_service_opened(firm, bank.id, Scenario.RECEIVABLES):
                open_service(consortium, bank.opener, firms[firm], firm, bank.id)
    second = project.ReceivablesFinancing.deploy(consortium, ledger, sender=regulator)
    probe = probe_container.deploy(consortium, ledger, sender=regulator)
    for contract in (second, probe):
        ledger.set_scenario(contract, True, sender=regulator)
    register_stage = {Scenario.PLATFORM: Stage.REGISTER}
    ops = {}
    for i, (name, kind) in enumerate(
        (
            ("logistics", ParticipantKind.LOGISTICS),
            ("tax", ParticipantKind.TAX),
            ("customs-2", ParticipantKind.CUSTOMS),
        )
    ):
        participant = fp(f"stateful-{name}")
        consortium.onboard(participant, int(kind), ZERO, sender=regulator)
        bind(consortium, regulator, accounts[22 + i], participant, register_stage)
        ops[name] = accounts[22 + i]
    providers = {EXPORT: customs_op, IMPORT: customs_op, FREIGHT: ops["logistics"]}
    # Each provider registers once, so that its registrar index is known.
    for doc_type, op in providers.items():
        ledger.register(
            doc_type, [(fp(f"stateful-seed-{doc_type}"), FIRM_A, 1, USD, ISSUED)], sender=op
        )
    registrar_index = {
        EXPORT: ledger.registrar_index(fp("customs")),
        IMPORT: ledger.registrar_index(fp("customs")),
        FREIGHT: ledger.registrar_index(fp("stateful-logistics")),
    }
    chain.mine()
    return {
        "chain": chain,
        "consortium": consortium,
        "ledger": ledger,
        "scenarios": (receivables, second, probe),
        "regulator": regulator,
        "providers": providers,
        "intruders": {EXPORT: ops["customs-2"], IMPORT: ops["customs-2"], FREIGHT: ops["tax"]},
        "registrar_index": registrar_index,
        "banks": (bank_a, bank_b, bank_c),
        "firm_accounts": firms,
        "reader": Reader(chain, customs_op),
    }


def test_reader_agrees_with_ape(world, chain, ledger, receivables, customs_op, bank_a):
    """The backend shortcut reads what ape's proxies read."""
    reader = world["reader"]
    ledger.register(EXPORT, [(fp("reader"), FIRM_A, 500, USD, ISSUED)], sender=customs_op)
    receivables.apply(FIRM_A, USD, [fp("reader"), fp("nope")], [100, 1], sender=bank_a.applicant)
    tx = receivables.apply(FIRM_A, USD, [fp("reader")], [100], sender=bank_a.applicant)
    fid = events(tx, receivables.FinancingApplied)[0]["financing_id"]
    assert list(
        reader.call(ledger, "documents(uint8,bytes32[])", [EXPORT, [fp("reader")]], ["uint256[]"])[
            0
        ]
    ) == list(ledger.documents(EXPORT, [fp("reader")]))
    assert (
        reader.call(receivables, "financing(uint256)", [fid], FINANCING_OUT)[2:9]
        == tuple(receivables.financing(fid))[2:9]
    )
    assert reader.call(
        ledger,
        "hold_record(address,uint256,uint8,bytes32)",
        [receivables.address, fid, EXPORT, fp("reader")],
        ["uint256", "uint256", "bytes16"],
    ) == (100, 0, bank_a.id[:16])
    assert tuple(ledger.hold_record(receivables, fid, EXPORT, fp("reader"))) == (
        100,
        0,
        bank_a.id[:16],
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


def test_guard_holds_under_random_operations(world, chain, capsys):
    chain.mine()  # our snapshot must not coincide with ape's own per-test snapshot
    GuardMachine.env = world
    GuardMachine.steps = GuardMachine.examples = 0
    GuardMachine.tally = Counter()
    started = time.monotonic()
    while GuardMachine.steps < STEPS:
        remaining = STEPS - GuardMachine.steps
        run_state_machine_as_test(
            GuardMachine,
            settings=settings(
                max_examples=max(1, math.ceil(remaining / STEPS_PER_EXAMPLE)),
                stateful_step_count=STEPS_PER_EXAMPLE,
                deadline=None,
            ),
        )
    seconds = time.monotonic() - started
    if "CROSSBORDER_STATEFUL_STEPS" in os.environ:  # `make stateful` reports the figure
        with capsys.disabled():
            print(
                f"\nstateful guard: {GuardMachine.steps} steps in {GuardMachine.examples} "
                f"examples, {seconds:.0f} s ({GuardMachine.steps / seconds:.1f} steps/s)\n"
                + "\n".join(f"  {name}: {n}" for name, n in sorted(GuardMachine.tally.items()))
            )
