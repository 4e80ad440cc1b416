"""The duplicate/over-financing guard and hold ownership as a stateful property (Curve-style
hypothesis suite).

A plain Python model of documents, links, hold records, financings, policies, services and
failure counters runs beside the contracts: four lifecycle scenarios (ReceivablesFinancing
deployed twice, LogisticsFinancing citing rail waybills, PolicyFinancing citing insured
shipments' declarations) and a probe scenario (tests/unit/contracts/ProbeScenario.vy, which
passes any hold, release or consume to the ledger, as a hostile scenario would) × three banks ×
three firms. Receivables, policy and logistics financing compete for the same export
declarations: a waybill linked to a declaration holds on both, and a policy financing may take,
with everything already held on the shipment's declaration, at most its insured amount times
the bank's advance ratio. Random rules register documents (skipping known ones), void them (a
waybill with its link), correct their face and link waybills to declarations (again, once
voided and registered again); the insurer declares shipments on the insured firm's registered
declarations (others are refused) and confirms cover; rules drive financings through their
lifecycle, stop and re-authorise scenarios, deactivate banks, set advance ratios, force-release
holds (a waybill's with its declaration's, or a declaration's alone), open services by signed
consent, close them and revoke consents, and have the probe hold (for one bank per financing
id, or try another), release and consume, its own holds and others'.

After every step the invariant compares the ledger and the scenarios with the model: every
document's record, every link (and no link left on a waybill voided since), every hold record
(live, consumed, bank tag: so a hold changes only by its owner's action or the regulator's
force-release), Σ live holds ≤ face and held ≤ face for every document, every financing and
financing count, every policy's assignee and buyer limit used, every shipment, the scenarios'
authorisation and the banks' status. What moves only through one rule is read right after that
rule instead: the failure counters (apply), a service (its rule) and the advance ratios
(theirs).

The invariant reads the chain through the embedded EVM backend directly (one `eth_call` costs
about 1 ms there against about 10 ms through ape's contract proxies).

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
    FAR,
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
    grant_stages,
    make_bank,
    only_event,
    open_service,
    sign,
    sign_assignment,
)

DEFAULT_STEPS = 600
STEPS_PER_EXAMPLE = 40
STEPS = int(os.environ.get("CROSSBORDER_STATEFUL_STEPS", DEFAULT_STEPS))

S = FinancingState
EXPORT, IMPORT, FREIGHT, WAYBILL = (
    DocumentType.EXPORT_DECLARATION,
    DocumentType.IMPORT_DECLARATION,
    DocumentType.FREIGHT_INVOICE,
    DocumentType.RAIL_WAYBILL,
)
TYPES = (EXPORT, IMPORT, FREIGHT, WAYBILL)
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
# Scenario indices: two ReceivablesFinancing deployments, the probe, logistics, policy.
PROBE, LOGISTICS, POLICY = 2, 3, 4
LIFECYCLES = (0, 1, LOGISTICS, POLICY)
SCENARIOS = range(5)
CITES = {0: EXPORT, 1: EXPORT, LOGISTICS: WAYBILL, POLICY: EXPORT}  # what each one's apply cites
SERVICE_OF = {
    0: Scenario.RECEIVABLES,
    1: Scenario.RECEIVABLES,
    LOGISTICS: Scenario.LOGISTICS,
    POLICY: Scenario.POLICY,
}
SERVICES = (Scenario.RECEIVABLES, Scenario.LOGISTICS, Scenario.POLICY)
PROBE_IDS = range(1, 7)  # the probe's financing ids: they collide with the lifecycles' ids
# One policy per firm, each in its own currency, assigned to one bank; advance ratios per bank.
POLICIES = tuple(fp(f"stateful-policy-{i}") for i in range(3))
POLICY_CURRENCY = (USD, CNY, EUR)
POLICY_LIMIT = 20_000
RATIOS = (10_000, 8_000, 5_000)
DEACTIVATED = "consortium: participant is deactivated"
NO_SERVICE = "financing: firm has not opened the service with this bank"
NOT_AUTHORISED = "ledger: caller is not an authorised scenario"
NO_HOLD = "ledger: no such live hold of this scenario and financing"
OTHER_BANK_HOLD = "ledger: the hold belongs to another bank"
CITED_TWICE = "ledger: document cited twice"
NOT_THE_FIRMS = "policy: the declaration is not the insured firm's registered export declaration"


def probe_bank(fid: int) -> int:
    """The bank a probe financing id holds for, mostly (the probe sometimes tries another)."""
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
    doc_type: int
    fps: list[bytes]
    amounts: list[int]
    state: FinancingState = S.APPLIED
    disbursed: int = 0
    repaid: int = 0
    policy: int | None = None  # the policy index of a policy financing

    @property
    def requested(self) -> int:
        return sum(self.amounts)


@dataclass
class Shipment:
    policy: int
    insured: int
    covered: bool = False


@dataclass
class Policy:
    firm: bytes
    currency: int
    assignee: int
    used: int = 0


Key = tuple[int, bytes]  # (document type, fingerprint)
HoldKey = tuple[int, int, int, bytes]  # (scenario index, financing id, type, fingerprint)


class Refused(Exception):
    """The model's prediction that a call reverts with this message."""


@dataclass
class Model:
    docs: dict[Key, Doc] = field(default_factory=dict)
    links: dict[Key, bytes] = field(default_factory=dict)  # a waybill -> its declaration
    holds: dict[HoldKey, Hold] = field(default_factory=dict)
    fins: dict[tuple[int, int], Fin] = field(default_factory=dict)
    count: dict[int, int] = field(default_factory=dict)  # financing_count per lifecycle
    failures: Counter = field(default_factory=Counter)  # (scenario, bank, reason) -> count
    authorised: list[bool] = field(default_factory=lambda: [True] * len(SCENARIOS))
    active: list[bool] = field(default_factory=lambda: [True, True, True])
    services: dict[tuple[bytes, int, int], bool] = field(default_factory=dict)
    shipments: dict[bytes, Shipment] = field(default_factory=dict)
    policies: list[Policy] = field(default_factory=list)
    ratios: list[int] = field(default_factory=lambda: list(RATIOS))
    # Freight invoices a payment tagged single-use (held = face for good, no hold record).
    tagged: set[Key] = field(default_factory=set)
    payments: int = 0  # the freight payment contract's payment_count

    def held(self, key: Key) -> int:
        if key in self.tagged:
            return self.docs[key].face
        return sum(h.live + h.consumed for k, h in self.holds.items() if k[2:] == key)

    def live(self, key: Key) -> int:
        return sum(h.live for k, h in self.holds.items() if k[2:] == key)

    def left(self, key: Key) -> int:
        doc = self.docs.get(key)
        return 0 if doc is None else doc.face - self.held(key)

    def room(self, key: Key) -> int:
        """What is left to hold on a document: on a linked one, on its declaration too."""
        link = self.links.get(key)
        if link is None:
            return self.left(key)
        return min(self.left(key), self.left((EXPORT, link)))

    def _verify_one(self, key: Key, firm: bytes, currency: int, amount: int) -> Reason:
        doc = self.docs.get(key)
        if doc is None:
            return Reason.NOT_FOUND
        if doc.owner != firm:
            return Reason.WRONG_OWNER
        if doc.currency != currency:
            return Reason.CURRENCY_MISMATCH
        left = doc.face - self.held(key)
        if left <= 0:
            return Reason.DUPLICATE
        if amount > left:
            return Reason.OVER_FINANCED
        return Reason.OK

    def verify(self, firm: bytes, currency: int, doc_type: int, fps, amounts) -> tuple[Reason, int]:
        """The reason code and failing index the ledger should return (核验 in order: each
        document, then the declaration it is linked to); raises `Refused` where the ledger
        reverts (two cited documents linked to one declaration, found before a failure)."""
        seen: list[bytes] = []
        for i, (fingerprint, amount) in enumerate(zip(fps, amounts, strict=True)):
            link = self.links.get((doc_type, fingerprint))
            if link is not None and link in seen:
                raise Refused(CITED_TWICE)
            if link is not None:
                seen.append(link)
            reason = self._verify_one((doc_type, fingerprint), firm, currency, amount)
            if reason == Reason.OK and link is not None:
                reason = self._verify_one((EXPORT, link), firm, currency, amount)
            if reason != Reason.OK:
                return reason, i
        return Reason.OK, 0

    def take(self, scenario: int, fid: int, bank: int, doc_type: int, fps, amounts) -> list:
        """Holds every amount (and on each linked declaration); the (fingerprint, amount) pairs
        the ledger logs, in order."""
        logged = []
        for fingerprint, amount in zip(fps, amounts, strict=True):
            keys = [(doc_type, fingerprint)]
            link = self.links.get((doc_type, fingerprint))
            if link is not None:
                keys.append((EXPORT, link))
            for key in keys:
                hold = self.holds.setdefault((scenario, fid, *key), Hold(0, 0, bank))
                assert hold.bank == bank  # the ledger refuses a record another bank's
                hold.live += amount
                logged.append((key[1], amount))
        return logged

    def live_records(self, scenario: int, fid: int) -> list[tuple[HoldKey, Hold]]:
        return [(k, h) for k, h in self.holds.items() if k[:2] == (scenario, fid) and h.live != 0]

    def linked_record(self, key: HoldKey) -> Hold | None:
        """The hold record on the declaration a held document is linked to, if any."""
        scenario, fid, doc_type, fingerprint = key
        link = self.links.get((doc_type, fingerprint))
        return None if link is None else self.holds.get((scenario, fid, EXPORT, link))


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
POLICY_OUT = ["bytes32"] * 5 + ["uint256", "uint256", "uint16", "uint64"]


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
        self.scenarios = env["scenarios"]  # by scenario index
        self.regulator, self.providers = env["regulator"], env["providers"]
        self.insurer = env["insurer"]
        self.banks: tuple[Bank, ...] = env["banks"]
        self.firm_accounts = env["firm_accounts"]
        self.registrar_index = env["registrar_index"]
        self.reader: Reader = env["reader"]
        self.snapshot = self.chain.snapshot()
        self.model = Model(
            count={s: env["scenarios"][s].financing_count() for s in LIFECYCLES},
            services={(f, b, sc): True for f in FIRMS for b in range(3) for sc in SERVICES},
            policies=[Policy(firm, POLICY_CURRENCY[i], i) for i, firm in enumerate(FIRMS)],
        )
        self.fingerprints: list[bytes] = []
        self.ever_linked: set[bytes] = set()  # waybills linked at some time (maybe voided since)
        self.labels = 0
        GuardMachine.examples += 1

    def teardown(self):
        self.chain.restore(self.snapshot)

    def _step(self, name: str) -> None:
        GuardMachine.steps += 1
        GuardMachine.tally[name] += 1

    def _likely(self, data) -> bool:
        """True nine times in ten: steers draws towards calls that can pass."""
        return data.draw(st.integers(0, 9)) != 0

    # ------------------------------------------------------------- documents

    def _register(self, data, count: int, doc_type: DocumentType) -> None:
        docs: list[tuple[bytes, Doc]] = []
        for _ in range(count):
            source = data.draw(st.sampled_from(["new", "new", "new", "known"]))
            # A waybill voided with its link, mostly, when a known waybill comes back.
            unlinked = [f for f in sorted(self.ever_linked) if (WAYBILL, f) not in self.model.docs]
            if source == "known" and doc_type == WAYBILL and unlinked and data.draw(st.booleans()):
                fingerprint = data.draw(st.sampled_from(unlinked))
            elif source == "known" and self.fingerprints:
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
            exports = [d for (t, _), d in self.model.docs.items() if t == EXPORT]
            if doc_type == WAYBILL and exports and data.draw(st.integers(0, 3)):
                # Mostly the goods of a declaration: its firm and currency, so it can be linked.
                goods = data.draw(st.sampled_from(exports))
                doc.owner, doc.currency = goods.owner, goods.currency
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
        """Some declarations and waybills, one waybill linked, mostly; some declarations
        insured under a policy."""
        self._register(data, count, EXPORT)
        self._register(data, data.draw(st.integers(1, 3)), WAYBILL)
        self._link(data)
        for _ in range(data.draw(st.integers(0, 2))):
            self._insure(data)

    @rule(
        data=st.data(),
        what=st.sampled_from(
            ["register"] * 3
            + ["void", "correct_face", "link", "link", "insure", "insure", "freight_payment"]
        ),
    )
    def documents(self, data, what):
        """A data provider registers a batch (some documents already known: skipped), voids or
        corrects what it registered, or links a waybill to a declaration; the insurer declares
        shipments and confirms cover."""
        if not self.model.docs:
            what = "register"
        self._step(what)
        if what == "register":
            doc_type = data.draw(st.sampled_from([EXPORT] * 5 + [WAYBILL] * 3 + [IMPORT, FREIGHT]))
            self._register(data, data.draw(st.integers(1, 3)), doc_type)
        else:
            getattr(self, f"_{what}")(data)

    def _pick_doc(self, data) -> Key:
        return data.draw(st.sampled_from(sorted(self.model.docs)))

    def _void(self, data):
        """The registering provider voids an unheld document (which may be registered again, and
        a waybill linked again); a waybill's link goes with it. Another provider, or a held
        document, is refused."""
        if self.model.links and data.draw(st.integers(0, 2)) == 0:  # a linked waybill
            doc_type, fingerprint = key = data.draw(st.sampled_from(sorted(self.model.links)))
        else:
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
            if self.model.links.pop(key, None) is not None:
                self.tally["void: done, with its link"] += 1
            self.tally["void: done"] += 1

    def _correct_face(self, data):
        """Up or down, never below what is held; a tagged invoice not at all."""
        doc_type, fingerprint = key = self._pick_doc(data)
        doc, held = self.model.docs[key], self.model.held(key)
        face = {
            "held": max(held, 1),
            "below": max(held - 1, 1),
            "up": min(doc.face + data.draw(st.integers(1, 1_000)), U64),
            "any": data.draw(st.integers(1, 10_000)),
        }[data.draw(st.sampled_from(["held", "below", "up", "any"]))]
        sender = self.providers[doc_type]
        if key in self.model.tagged:
            with ape.reverts("ledger: a tagged invoice cannot change"):
                self.ledger.correct_face(doc_type, fingerprint, face, sender=sender)
            self.tally["correct_face: refused, tagged invoice"] += 1
        elif face < held:
            with ape.reverts("ledger: face below the held amount"):
                self.ledger.correct_face(doc_type, fingerprint, face, sender=sender)
        else:
            self.ledger.correct_face(doc_type, fingerprint, face, sender=sender)
            doc.face = face

    def _link(self, data):
        """The carrier links a waybill to the export declaration of the same goods: once, only
        its own waybill, only to a registered declaration of the same owner and currency, and
        only while neither is held. Mostly a pair that fits."""
        model = self.model
        waybills = sorted(f for (t, f) in model.docs if t == WAYBILL)
        exports = {f: d for (t, f), d in model.docs.items() if t == EXPORT}
        free = {
            w: model.docs[(WAYBILL, w)]
            for w in waybills
            if (WAYBILL, w) not in model.links and not model.held((WAYBILL, w))
        }
        pairs = [
            (w, f)
            for w, goods in free.items()
            for f, d in exports.items()
            if (d.owner, d.currency) == (goods.owner, goods.currency)
            and not model.held((EXPORT, f))
        ]
        if pairs and self._likely(data):
            waybill, declaration = data.draw(st.sampled_from(sorted(pairs)))
        else:
            waybill = data.draw(st.sampled_from(waybills or list(UNKNOWN)))
            declaration = data.draw(st.sampled_from(sorted(exports) + list(UNKNOWN)))
        doc = model.docs.get((WAYBILL, waybill))
        intruder = data.draw(st.integers(0, 5)) == 0
        sender = self.env["intruders"][WAYBILL] if intruder else self.providers[WAYBILL]
        target = model.docs.get((EXPORT, declaration))
        if doc is None:
            message = "ledger: unknown document"
        elif intruder:
            message = "ledger: document registered by another provider"
        elif (WAYBILL, waybill) in model.links:
            message = "ledger: the document is already linked"
        elif target is None:
            message = "ledger: unknown document"
        elif model.held((WAYBILL, waybill)) or model.held((EXPORT, declaration)):
            message = "ledger: the document is held"
        elif (target.owner, target.currency) != (doc.owner, doc.currency):
            message = "ledger: the linked declaration has another owner or currency"
        else:
            tx = self.ledger.link(WAYBILL, [waybill], [declaration], sender=sender)
            assert only_event(tx, self.ledger.DocumentLinked)["declaration"] == declaration
            model.links[(WAYBILL, waybill)] = declaration
            if waybill in self.ever_linked:
                self.tally["link: done, again after a void"] += 1
            self.ever_linked.add(waybill)
            self.tally["link: done"] += 1
            return
        with ape.reverts(message):
            self.ledger.link(WAYBILL, [waybill], [declaration], sender=sender)
        self.tally[f"link: refused, {message.partition(': ')[2]}"] += 1

    def _insure(self, data):
        """The insurer declares a shipment under a policy (mostly the declaration owner's) and
        confirms cover three times in four; or confirms cover of a declared one. A declaration
        that is not a registered export declaration of the policy's firm is refused."""
        model = self.model
        if data.draw(st.integers(0, 3)) == 0 and model.shipments:
            declaration = data.draw(st.sampled_from(sorted(model.shipments)))
            self.scenarios[POLICY].confirm_cover(declaration, sender=self.insurer)
            model.shipments[declaration].covered = True
            return
        exports = {f: d for (t, f), d in model.docs.items() if t == EXPORT}
        insurable = sorted(
            f
            for f, d in exports.items()
            if f not in model.shipments and d.currency == POLICY_CURRENCY[FIRMS.index(d.owner)]
        )
        if insurable and self._likely(data):
            pool = insurable
        else:  # any declaration (another currency than its firm's policy), or anything at all
            pool = sorted(exports) if exports and self._likely(data) else sorted(self.fingerprints)
        declaration = data.draw(st.sampled_from(pool or list(UNKNOWN)))
        doc = exports.get(declaration)
        owner = FIRMS.index(doc.owner) if doc else 0
        policy = owner if self._likely(data) else data.draw(st.sampled_from([0, 1, 2]))
        face = doc.face if doc else 1_000
        insured = data.draw(st.sampled_from([1, max(face // 2, 1), min(face, U64), 10_000]))
        contract = self.scenarios[POLICY]
        if declaration in model.shipments:
            with ape.reverts("policy: shipment already declared"):
                contract.declare_shipment(
                    declaration, POLICIES[policy], insured, sender=self.insurer
                )
            return
        if doc is None or doc.owner != model.policies[policy].firm:
            with ape.reverts(NOT_THE_FIRMS):
                contract.declare_shipment(
                    declaration, POLICIES[policy], insured, sender=self.insurer
                )
            self.tally["insure: refused, not the insured firm's declaration"] += 1
            return
        contract.declare_shipment(declaration, POLICIES[policy], insured, sender=self.insurer)
        model.shipments[declaration] = Shipment(policy, insured)
        if data.draw(st.integers(0, 3)):
            contract.confirm_cover(declaration, sender=self.insurer)
            model.shipments[declaration].covered = True
        self.tally["insure: declared"] += 1

    # ------------------------------------------------------------ applying

    def _amount(self, data, key: Key) -> int:
        if key not in self.model.docs:
            return data.draw(st.integers(1, 1_000))
        left = self.model.room(key)
        kind = data.draw(st.sampled_from(["part", "part", "rest", "over", "any"]))
        if kind == "part" and left > 1:
            return data.draw(st.integers(1, left - 1))
        if kind == "rest" and left > 0:
            return left
        if kind == "over":
            return min(max(left, 0) + data.draw(st.integers(1, 10)), U64)
        return data.draw(st.integers(1, min(self.model.docs[key].face, 10**6)))

    def _citation(self, data, doc_type: int) -> tuple[bytes, int, list[bytes], list[int]]:
        """A firm, a currency and documents of `doc_type` with amounts: mostly the firm's own in
        their currency with something left, sometimes anything at all."""
        model = self.model
        docs = {f: d for (t, f), d in model.docs.items() if t == doc_type}
        roomy = sorted(f for f in docs if model.room((doc_type, f)) > 0)
        linked = [f for f in roomy if (doc_type, f) in model.links]
        if linked and data.draw(st.booleans()):  # half the time a linked waybill, if any
            roomy = linked
        seeds = roomy if roomy and self._likely(data) else sorted(docs)
        seed = docs[data.draw(st.sampled_from(seeds))] if seeds else None
        firm = seed.owner if seed and self._likely(data) else data.draw(st.sampled_from(FIRMS))
        currency = (
            seed.currency if seed and self._likely(data) else data.draw(st.sampled_from(CURRENCIES))
        )
        matching = [f for f in roomy if (docs[f].owner, docs[f].currency) == (firm, currency)]
        pool = (
            matching
            if matching and self._likely(data)
            else sorted(self.fingerprints) + list(UNKNOWN)
        )
        fps = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        amounts = [self._amount(data, (doc_type, f)) for f in fps]
        if sum(amounts) > U64:
            amounts = [1] * len(amounts)
        return firm, currency, fps, amounts

    def _policy_fits(self, p: int, fingerprint: bytes) -> tuple[int, int]:
        """What is left under the advance-ratio cap of a shipment of policy `p` (its insured
        amount x the assignee's ratio, less what every scenario holds on the declaration), and
        what of that the declaration's room and the buyer limit left allow too."""
        model, policy = self.model, self.model.policies[p]
        shipment = model.shipments.get(fingerprint)
        cap = shipment.insured * model.ratios[policy.assignee] // 10_000 if shipment else 1_000
        under_cap = cap - model.held((EXPORT, fingerprint))
        return under_cap, min(
            under_cap, model.room((EXPORT, fingerprint)), POLICY_LIMIT - policy.used
        )

    def _policy_citation(self, data) -> tuple[int, bytes, int, list[bytes], list[int]]:
        """A policy's covered shipments with something left under the cap, mostly, with amounts
        mostly within what is left under the advance ratio, the declaration's rest and the buyer
        limit left (else just over the cap, or anything); its firm and currency, mostly."""
        model = self.model
        covered = sorted(f for f, s in model.shipments.items() if s.covered)
        roomy = [f for f in covered if self._policy_fits(model.shipments[f].policy, f)[1] > 0]
        insured = sorted({model.shipments[f].policy for f in (roomy or covered)})
        p = data.draw(st.sampled_from(insured if insured and self._likely(data) else [0, 1, 2]))
        policy = model.policies[p]
        own = sorted(f for f, s in model.shipments.items() if s.policy == p)
        mine = [f for f in roomy if f in own] or [f for f in covered if f in own]
        pool = mine if mine and self._likely(data) else own + sorted(model.shipments)
        pool = pool if pool and self._likely(data) else pool + list(UNKNOWN)
        fps = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        amounts = []
        for f in fps:
            under_cap, fits = self._policy_fits(p, f)
            kind = data.draw(st.sampled_from(["fits"] * 8 + ["over the cap", "any"]))
            if kind == "fits" and fits > 0:
                amounts.append(data.draw(st.integers(1, max(fits // len(fps), 1))))
            elif kind == "over the cap":
                amounts.append(max(under_cap, 0) + data.draw(st.integers(1, 10)))
            else:
                amounts.append(data.draw(st.integers(1, max(under_cap, 1) + 10)))
        firm = policy.firm if self._likely(data) else data.draw(st.sampled_from(FIRMS))
        currency = policy.currency if self._likely(data) else data.draw(st.sampled_from(CURRENCIES))
        return p, firm, currency, fps, amounts

    def _policy_refusal(self, bank: int, firm, currency, fps, amounts) -> str | None:
        """PolicyFinancing's own checks, before the lifecycle's: the first that refuses. The
        advance-ratio cap counts every scenario's live and consumed holds on the declaration;
        the firm is not checked here (a shipment is the insured firm's declaration, so the
        ledger verifies the firm)."""
        model = self.model
        first = model.shipments.get(fps[0])
        total = 0
        for fingerprint, amount in zip(fps, amounts, strict=True):
            shipment = model.shipments.get(fingerprint)
            if shipment is None:
                return "policy: the declaration is not an insured shipment"
            if shipment.policy != first.policy:
                return "policy: one financing cites shipments of one policy"
            if not shipment.covered:
                return "policy: the shipment's cover is not confirmed"
            held = model.held((EXPORT, fingerprint))
            if (held + amount) * 10_000 > shipment.insured * model.ratios[bank]:
                return (
                    "policy: the amount exceeds the insured amount times the bank's advance ratio"
                )
            total += amount
        policy = model.policies[first.policy]
        if policy.assignee != bank:
            return "policy: the policy's claim rights are not assigned to this bank"
        if policy.firm != firm:
            return "policy: the firm is not the insured firm"
        if policy.currency != currency:
            return "policy: the currency is not the policy's"
        if policy.used + total > POLICY_LIMIT:
            return "policy: the amount exceeds the buyer credit limit left"
        return None

    @rule(data=st.data(), scenario=st.sampled_from(LIFECYCLES))
    def apply(self, data, scenario):
        """A bank's applicant applies (receivables: export declarations; logistics: waybills;
        policy: insured shipments of one policy): refused by the scenario's own checks, for a
        deactivated bank, a closed service or a stopped scenario, or two waybills of one
        declaration; otherwise verified, and held or recorded as a failure."""
        self._step("apply")
        model, contract, doc_type = self.model, self.scenarios[scenario], CITES[scenario]
        policy = None
        if scenario == POLICY:
            policy, firm, currency, fps, amounts = self._policy_citation(data)
            preferred = [model.policies[policy].assignee]
        else:
            firm, currency, fps, amounts = self._citation(data, doc_type)
            preferred = [0, 1, 2]
        able = [
            b
            for b in preferred
            if model.active[b] and model.services[(firm, b, SERVICE_OF[scenario])]
        ]
        bank = data.draw(st.sampled_from(able if able and self._likely(data) else [0, 1, 2]))
        sender = self.banks[bank].applicant
        args = (firm, currency, *([doc_type] if scenario == LOGISTICS else []), fps, amounts)

        def call():
            return contract.apply(*args, sender=sender)

        # In the contracts' order: the policy's own checks, the lifecycle's, the ledger's.
        refusal = self._policy_refusal(bank, *args) if scenario == POLICY else None
        for refused, message in (
            (not model.active[bank], DEACTIVATED),
            (not model.services[(firm, bank, SERVICE_OF[scenario])], NO_SERVICE),
            (not model.authorised[scenario], NOT_AUTHORISED),
        ):
            if refused and refusal is None:
                refusal = message
        try:
            if refusal is not None:
                raise Refused(refusal)
            reason, index = model.verify(firm, currency, doc_type, fps, amounts)
        except Refused as refused:
            with ape.reverts(str(refused)):
                call()
            self.tally[f"apply: refused, {str(refused).partition(': ')[2][:40]}"] += 1
            return

        tx = call()

        applied = events(tx, contract.FinancingApplied)
        failed = events(tx, contract.VerificationFailed)
        if reason == Reason.OK:
            model.count[scenario] += 1
            fid = model.count[scenario]
            assert [a["financing_id"] for a in applied] == [fid] and failed == []
            if policy is not None:
                policy = model.shipments[fps[0]].policy
                model.policies[policy].used += sum(amounts)
                assert firm == model.policies[policy].firm
            model.fins[(scenario, fid)] = Fin(bank, doc_type, fps, amounts, policy=policy)
            logged = model.take(scenario, fid, bank, doc_type, fps, amounts)
            assert [
                (e["fingerprint"], e["amount"]) for e in events(tx, self.ledger.AmountHeld)
            ] == (logged)
            self.tally[f"apply: held, scenario {scenario}"] += 1
            if any((doc_type, f) in model.links for f in fps):
                self.tally["apply: held, with a linked declaration"] += 1
        else:
            assert applied == []
            assert [
                (f["reason"], f["fingerprint"], f["amount"], f["doc_type"]) for f in failed
            ] == [(reason, fps[index], amounts[index], doc_type)]
            model.failures[(scenario, bank, reason)] += 1
            self.tally[f"apply: failed, {reason.name}"] += 1
            (counted,) = self.reader.call(
                contract,
                "verification_failures(bytes32,uint8)",
                [self.banks[bank].id, int(reason)],
                ["uint256"],
            )
            assert counted == model.failures[(scenario, bank, reason)]
        self._check_failures(scenario)

    def _check_failures(self, scenario: int) -> None:
        """The scenario's failure counters by reason: they move only when it applies, so the
        apply rule reads them (every reason) rather than the invariant after every step."""
        for reason in Reason:
            (total,) = self.reader.call(
                self.scenarios[scenario], "failures_by_reason(uint8)", [reason], ["uint256"]
            )
            assert total == sum(self.model.failures[(scenario, b, reason)] for b in range(3))

    # ----------------------------------------------------------- lifecycle

    def _in(self, *states: FinancingState) -> list[tuple[int, int]]:
        return sorted(key for key, fin in self.model.fins.items() if fin.state in states)

    def _release_all(self, scenario: int, fid: int, tx, consume: bool) -> None:
        """The lifecycle frees (or consumes) what its financing still holds live on the
        documents it cites, and the ledger what it holds on their linked declarations (at most
        the document's amount, whatever the regulator has not force-released), and only that."""
        model, fin = self.model, self.model.fins[(scenario, fid)]
        expected = []
        for fingerprint in fin.fps:
            key = (scenario, fid, fin.doc_type, fingerprint)
            hold = model.holds.get(key)
            if hold is None or hold.live == 0:
                continue
            amount = hold.live
            linked = model.linked_record(key)
            for record, part in (
                (hold, amount),
                (linked, min(amount, linked.live if linked else 0)),
            ):
                if record is None or part == 0:
                    continue
                expected.append((fingerprint if record is hold else model.links[key[2:]], part))
                record.live -= part
                if consume:
                    record.consumed += part
        event = self.ledger.AmountConsumed if consume else self.ledger.AmountReleased
        logged = [(e["fingerprint"], e["amount"]) for e in events(tx, event)]
        assert logged == expected

    def _ended(self, scenario: int, fid: int, state: FinancingState, tx) -> None:
        fin = self.model.fins[(scenario, fid)]
        fin.state = state
        self._release_all(scenario, fid, tx, consume=state == S.CLOSED)
        if fin.policy is not None:  # the buyer credit limit is free again
            self.model.policies[fin.policy].used -= fin.requested

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
            self._ended(scenario, fid, S.WITHDRAWN, tx)
        elif step == "reject" and fin.state in (S.APPLIED, S.ACCEPTED):
            if fin.state == S.APPLIED:
                contract.accept(fid, sender=bank.acceptor)
            tx = contract.review(fid, False, sender=bank.reviewer)
            self._ended(scenario, fid, S.REJECTED, tx)
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
                self._ended(scenario, fid, S.CLOSED, tx)
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
            ["set_scenario", "set_bank_active", "advance_ratio"]
            + ["force_release"] * 3
            + ["service"] * 3
        ),
    )
    def levers(self, data, lever):
        """The regulator stops or re-authorises a scenario, (de)activates a bank, sets a bank's
        advance ratio, or force-releases holds; a firm opens (by its signed consent) or closes a
        service."""
        if lever == "force_release" and not any(h.live for h in self.model.holds.values()):
            lever = "restore"
        if lever != "service":
            self._step(lever)
        getattr(self, f"_{lever}")(data)

    def _restore(self, data):
        """Re-authorise a stopped scenario or reactivate a bank, if any; else `_set_scenario`."""
        stopped = [s for s in SCENARIOS if not self.model.authorised[s]]
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
        scenario = data.draw(st.sampled_from(SCENARIOS))
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

    def _advance_ratio(self, data):
        bank = data.draw(st.sampled_from([0, 1, 2]))
        ratio = data.draw(st.sampled_from([0, 5_000, 8_000, 10_000]))
        self.scenarios[POLICY].set_advance_ratio(self.banks[bank].id, ratio, sender=self.regulator)
        self.model.ratios[bank] = ratio
        for b, expected in enumerate(self.model.ratios):
            (on_chain,) = self.reader.call(
                self.scenarios[POLICY],
                "advance_ratio_bps(bytes32)",
                [self.banks[b].id],
                ["uint256"],
            )
            assert on_chain == expected

    def _force_plan(self, keys: list[HoldKey], bank: int) -> tuple[str | None, list]:
        """What the regulator's force-release of `keys` (one scenario, financing and type) does:
        the revert message, or the records it frees, in order (each one's linked declaration
        right after it, if the regulator has not freed that alone before)."""
        plan = []
        for key in keys:
            hold = self.model.holds.get(key)
            if hold is None or hold.live == 0:
                return NO_HOLD, []
            if hold.bank != bank:
                return OTHER_BANK_HOLD, []
            plan.append((key[3], hold))
            linked = self.model.linked_record(key)
            if linked is not None and linked.live:
                plan.append((self.model.links[key[2:]], linked))
        return None, plan

    def _force_release(self, data):
        """The regulator frees a financing's live holds of one type: only of a stopped scenario
        (reason 1) or of a deactivated bank (reason 2), only naming the holds' own bank, only
        live ones; a waybill's with its declaration's, or a declaration's alone."""
        model = self.model
        groups = sorted({k[:2] for k, h in model.holds.items() if h.live})
        waybills = sorted({k[:2] for k, h in model.holds.items() if h.live and k[2] == WAYBILL})
        # A third of the time a waybill financing's, if any: its declaration rides along.
        pool = waybills if waybills and data.draw(st.integers(0, 2)) == 0 else groups
        scenario, fid = data.draw(st.sampled_from(pool))
        records = sorted(k for k in model.holds if k[:2] == (scenario, fid))
        doc_type = data.draw(st.sampled_from(sorted({k[2] for k in records})))
        records = [k for k in records if k[2] == doc_type]
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
                doc_type,
                [k[3] for k in chosen],
                int(reason),
                sender=self.regulator,
            )

        if reason == ForceReason.SCENARIO_STOPPED and model.authorised[scenario]:
            message = "ledger: the scenario is not stopped"
        elif reason == ForceReason.BANK_DEACTIVATED and model.active[bank]:
            message = "ledger: the bank is active"
        else:
            message, plan = self._force_plan(chosen, bank)
        if message is None:
            tx = call()
            expected = []
            for fingerprint, hold in plan:
                expected.append((fingerprint, hold.live))
                hold.live = 0
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
            self.tally[f"force_release: done, {reason.name}, {DocumentType(doc_type).name}"] += 1
            return
        with ape.reverts(message):
            call()
        self.tally[f"force_release: refused, {message.partition(': ')[2][:30]}"] += 1

    # ------------------------------------------------ services and consents

    def _service(self, data):
        """The firm (or the regulator) closes a service: no new applications, while live
        financings wind down (the lifecycle rules keep acting on them). The bank submits the
        firm's signed consent to open one; a revoked or replayed consent is refused. Services
        change only here: the service touched is compared with the model right after."""
        firm = data.draw(st.sampled_from(FIRMS))
        bank = data.draw(st.sampled_from([0, 1, 2]))
        scenario = data.draw(st.sampled_from(SERVICES))
        self._change_service(data, firm, bank, scenario)
        (opened,) = self.reader.call(
            self.consortium,
            "is_service_opened(bytes32,bytes32,uint8)",
            [firm, self.banks[bank].id, scenario],
            ["bool"],
        )
        assert opened == self.model.services[(firm, bank, scenario)]

    def _change_service(self, data, firm: bytes, bank: int, scenario: Scenario) -> None:
        what = data.draw(st.sampled_from(["close", "open", "open", "revoked", "replayed"]))
        self._step(f"service: {what}")
        bank_id, signer = self.banks[bank].id, self.firm_accounts[firm]
        if what == "close":
            sender = signer if data.draw(st.booleans()) else self.regulator
            if self.model.services[(firm, bank, scenario)]:
                self.consortium.close_service(firm, bank_id, scenario, sender=sender)
                self.model.services[(firm, bank, scenario)] = False
            else:
                with ape.reverts("consortium: service is not open"):
                    self.consortium.close_service(firm, bank_id, scenario, sender=sender)
            return
        opener = self.banks[bank].opener
        if not self.model.active[bank]:
            with ape.reverts(DEACTIVATED):
                open_service(self.consortium, opener, signer, firm, bank_id, scenario)
            return
        terms = consent(firm, bank_id, scenario)
        signature = sign(terms, signer, self.consortium)
        if what == "revoked":
            self.consortium.revoke_consent(terms.nonce, sender=signer)
        else:
            self.consortium.open_service(terms.as_tuple(), signature, sender=opener)
            self.model.services[(firm, bank, scenario)] = True
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
        """The probe takes holds of its own, under ids that the lifecycles use too, mostly for
        one bank per id; for another bank, a document it already holds under the id is
        refused (a hold record keeps its bank)."""
        fid = data.draw(st.sampled_from(PROBE_IDS))
        firm, currency, fps, amounts = self._citation(data, EXPORT)
        bank = probe_bank(fid) if data.draw(st.integers(0, 4)) else data.draw(st.integers(0, 2))
        probe, model = self.scenarios[PROBE], self.model
        args = (fid, self.banks[bank].id, firm, currency, EXPORT, fps, amounts)
        if not model.authorised[PROBE]:
            with ape.reverts(NOT_AUTHORISED):
                probe.hold(*args, sender=self.regulator)
            return
        reason, _ = model.verify(firm, currency, EXPORT, fps, amounts)
        theirs = [
            f
            for f in fps
            if model.holds.get((PROBE, fid, EXPORT, f), Hold(0, 0, bank)).bank != bank
        ]
        if reason == Reason.OK and theirs:
            with ape.reverts(OTHER_BANK_HOLD):
                probe.hold(*args, sender=self.regulator)
            self.tally["probe_hold: refused, another bank's record"] += 1
            return
        tx = probe.hold(*args, sender=self.regulator)
        held = events(tx, self.ledger.AmountHeld)
        if reason == Reason.OK:
            logged = [(e["fingerprint"], e["amount"]) for e in held]
            assert logged == model.take(PROBE, fid, bank, EXPORT, fps, amounts)
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
        _, fid, doc_type, fingerprint = key
        mine = model.holds.get((PROBE, fid, doc_type, fingerprint))
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
            call(fid, doc_type, [fingerprint], [amount], sender=self.regulator)
            mine.live -= amount
            if consume:
                mine.consumed += amount
            self.tally[f"probe_release: {whose}"] += 1
            return
        with ape.reverts(message):
            call(fid, doc_type, [fingerprint], [amount], sender=self.regulator)
        self.tally[f"probe_release: refused, {whose}"] += 1

    # ------------------------------------------------------- freight payments

    def _freight_payment(self, data):
        """A bank's 付汇核验 operator pays against a batch of freight invoices: every invoice
        the payer's, in the currency, never tagged, and then all are tagged for good, or none
        (the first failing one counted); an invoice twice in a passing batch reverts."""
        model = self.model
        if sum(t == FREIGHT for t, _ in model.docs) < 3 or not data.draw(st.integers(0, 3)):
            self._register(data, data.draw(st.integers(2, 5)), FREIGHT)
        invoices = sorted(f for t, f in model.docs if t == FREIGHT)
        if self._likely(data):
            # Mostly a batch that can pass: untagged invoices of one payer and currency.
            first = model.docs[(int(FREIGHT), data.draw(st.sampled_from(invoices)))]
            firm, currency = first.owner, first.currency
            fitting = [
                f
                for f in invoices
                if (d := model.docs[(int(FREIGHT), f)]).owner == firm
                and d.currency == currency
                and (int(FREIGHT), f) not in model.tagged
            ] or invoices
            batch = data.draw(
                st.lists(st.sampled_from(fitting), min_size=1, max_size=4, unique=True)
            )
        else:  # anything: unknown, another payer's, tagged, or one invoice twice
            pool = invoices + list(UNKNOWN[:1])
            batch = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
            firm = data.draw(st.sampled_from(FIRMS))
            currency = data.draw(st.sampled_from(CURRENCIES))
        bank = data.draw(st.integers(0, 2))
        freight = self.env["freight"]
        args = (firm, currency, batch, ISSUED)
        teller = self.banks[bank].opener
        if not model.active[bank]:
            with ape.reverts(DEACTIVATED):
                freight.pay(*args, sender=teller)
            return
        reason, index = Reason.OK, 0
        for i, fingerprint in enumerate(batch):
            key = (int(FREIGHT), fingerprint)
            doc = model.docs.get(key)
            if doc is None:
                reason = Reason.NOT_FOUND
            elif doc.owner != firm:
                reason = Reason.WRONG_OWNER
            elif doc.currency != currency:
                reason = Reason.CURRENCY_MISMATCH
            elif key in model.tagged:
                reason = Reason.DUPLICATE
            if reason != Reason.OK:
                index = i
                break
        if reason == Reason.OK and len(set(batch)) != len(batch):
            with ape.reverts(CITED_TWICE):
                freight.pay(*args, sender=teller)
            self.tally["freight_payment: refused, invoice twice"] += 1
            return
        tx = freight.pay(*args, sender=teller)
        if reason != Reason.OK:
            failed = only_event(tx, freight.VerificationFailed)
            assert (failed["reason"], failed["fingerprint"]) == (reason, batch[index])
            assert events(tx, self.ledger.DocumentsTagged) == []
            model.failures[("freight", bank, int(reason))] += 1
            self.tally[f"freight_payment: {reason.name}"] += 1
            # The counters and the payment count move only here: read them here.
            (counted,) = self.reader.call(
                freight,
                "verification_failures(bytes32,uint8)",
                [self.banks[bank].id, int(reason)],
                ["uint256"],
            )
            assert counted == model.failures[("freight", bank, int(reason))]
            return
        tagged = only_event(tx, self.ledger.DocumentsTagged)
        faces = [model.docs[(int(FREIGHT), f)].face for f in batch]
        assert (tagged["fingerprints"], tagged["total"]) == (batch, sum(faces))
        assert tagged["bank"] == self.banks[bank].id
        model.tagged.update((int(FREIGHT), f) for f in batch)
        model.payments += 1
        assert self.reader.call(freight, "payment_count()", [], ["uint256"]) == (model.payments,)
        self.tally["freight_payment: tagged"] += 1

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

        for fingerprint in sorted(self.ever_linked):
            (linked,) = read.call(
                self.ledger,
                "linked_declaration(uint8,bytes32)",
                [WAYBILL, fingerprint],
                ["bytes32"],
            )
            assert linked == model.links.get((WAYBILL, fingerprint), ZERO)

        for (scenario, fid, doc_type, fingerprint), hold in model.holds.items():
            record = read.call(
                self.ledger,
                "hold_record(address,uint256,uint8,bytes32)",
                [self.scenarios[scenario].address, fid, doc_type, fingerprint],
                ["uint256", "uint256", "bytes16"],
            )
            assert record == (hold.live, hold.consumed, self.banks[hold.bank].id[:16]), (
                f"hold record {(scenario, fid, doc_type, fingerprint.hex()[:8])}"
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
                    fin.doc_type,
                ), f"financing {(scenario, fid)}"

        policy_contract = self.scenarios[POLICY]
        for i, policy in enumerate(model.policies):
            p = read.call(policy_contract, "policy(bytes32)", [POLICIES[i]], POLICY_OUT)
            assert (p[3], p[6]) == (self.banks[policy.assignee].id, policy.used), f"policy {i}"
            assert 0 <= policy.used <= POLICY_LIMIT
        for declaration, shipment in model.shipments.items():
            s = read.call(
                policy_contract, "shipment(bytes32)", [declaration], ["bytes32", "uint256", "bool"]
            )
            assert s == (POLICIES[shipment.policy], shipment.insured, shipment.covered)

        for scenario, contract in enumerate(self.scenarios):
            (authorised,) = read.call(
                self.ledger, "scenarios(address)", [contract.address], ["bool"]
            )
            assert authorised == model.authorised[scenario]
        for b, bank in enumerate(self.banks):
            (active,) = read.call(self.consortium, "is_active(bytes32)", [bank.id], ["bool"])
            assert active == model.active[b]


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
    """A third firm and a third bank; a second receivables deployment, the probe, logistics and
    policy financing, all authorised; every bank's operators with their stages in every
    scenario, every firm with every service opened at every bank; logistics registering freight
    invoices and waybills, and an intruder provider per type; the insurer (accounts[8]) with one
    policy per firm (its own currency, limit `POLICY_LIMIT`) assigned to one bank each, and the
    banks' advance ratios `RATIOS`."""
    consortium.onboard(FIRM_C, int(ParticipantKind.ENTERPRISE), ZERO, sender=regulator)
    firms = {**firm_accounts, FIRM_C: accounts[29]}
    bind(consortium, regulator, firms[FIRM_C], FIRM_C)
    bank_c = make_bank(consortium, regulator, accounts, "bank-c", 2)
    banks = (bank_a, bank_b, bank_c)
    second = project.ReceivablesFinancing.deploy(consortium, ledger, sender=regulator)
    probe = probe_container.deploy(consortium, ledger, sender=regulator)
    logistics = project.LogisticsFinancing.deploy(consortium, ledger, sender=regulator)
    policy = project.PolicyFinancing.deploy(consortium, ledger, sender=regulator)
    freight = project.FreightPayment.deploy(consortium, ledger, sender=regulator)
    for contract in (second, probe, logistics, policy, freight):
        ledger.set_scenario(contract, True, sender=regulator)
    for bank in banks:  # the opener doubles as the bank's freight payment operator (付汇核验)
        consortium.set_roles(
            bank.opener, int(Scenario.FREIGHT_PAYMENT), int(Stage.VERIFY), sender=regulator
        )
    for bank in banks:
        for service in (Scenario.LOGISTICS, Scenario.POLICY):
            grant_stages(consortium, regulator, bank, service)
        for firm in FIRMS:
            for service in SERVICES:
                if not consortium.is_service_opened(firm, bank.id, service):
                    open_service(consortium, bank.opener, firms[firm], firm, bank.id, service)
    register_stage = {Scenario.PLATFORM: Stage.REGISTER}
    ops = {}
    for i, (name, kind) in enumerate(
        (
            ("logistics", ParticipantKind.LOGISTICS),
            ("tax", ParticipantKind.TAX),
            ("customs-2", ParticipantKind.CUSTOMS),
            ("logistics-2", ParticipantKind.LOGISTICS),
        )
    ):
        participant = fp(f"stateful-{name}")
        consortium.onboard(participant, int(kind), ZERO, sender=regulator)
        bind(consortium, regulator, accounts[22 + i], participant, register_stage)
        ops[name] = accounts[22 + i]
    providers = {
        EXPORT: customs_op,
        IMPORT: customs_op,
        FREIGHT: ops["logistics"],
        WAYBILL: ops["logistics"],
    }
    # Each provider registers once, so that its registrar index is known.
    for doc_type, op in providers.items():
        ledger.register(
            doc_type, [(fp(f"stateful-seed-{doc_type}"), FIRM_A, 1, USD, ISSUED)], sender=op
        )
    registrar_index = {
        EXPORT: ledger.registrar_index(fp("customs")),
        IMPORT: ledger.registrar_index(fp("customs")),
        FREIGHT: ledger.registrar_index(fp("stateful-logistics")),
        WAYBILL: ledger.registrar_index(fp("stateful-logistics")),
    }
    insurer = accounts[8]
    consortium.onboard(fp("stateful-insurer"), int(ParticipantKind.INSURER), ZERO, sender=regulator)
    bind(consortium, regulator, insurer, fp("stateful-insurer"), {Scenario.POLICY: Stage.REGISTER})
    for i, (firm, bank) in enumerate(zip(FIRMS, banks, strict=True)):
        policy.register_policy(
            POLICIES[i],
            firm,
            fp("stateful-buyer"),
            POLICY_LIMIT,
            POLICY_CURRENCY[i],
            FAR,
            sender=insurer,
        )
        signed = sign_assignment(policy, firms[firm], POLICIES[i], firm, bank.id)
        policy.request_assignment(POLICIES[i], *signed, sender=bank.opener)
        policy.confirm_assignment(POLICIES[i], bank.id, sender=insurer)
        policy.set_advance_ratio(bank.id, RATIOS[i], sender=regulator)
    chain.mine()
    return {
        "chain": chain,
        "consortium": consortium,
        "ledger": ledger,
        "scenarios": (receivables, second, probe, logistics, policy),
        "freight": freight,
        "regulator": regulator,
        "providers": providers,
        "insurer": insurer,
        "intruders": {
            EXPORT: ops["customs-2"],
            IMPORT: ops["customs-2"],
            FREIGHT: ops["tax"],
            WAYBILL: ops["logistics-2"],
        },
        "registrar_index": registrar_index,
        "banks": banks,
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
