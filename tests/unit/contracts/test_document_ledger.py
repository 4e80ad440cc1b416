"""DocumentLedger: registration under a typed namespace, void and face correction, the packed
inter-bank view, document status, scenario authorisation, holds owned by the scenario and
financing that took them, and the regulator's logged force-release."""

from __future__ import annotations

import ape
import pytest

from crossborder.chain.packing import DocumentWord, unpack
from crossborder.domain.codes import (
    DocumentStatus,
    DocumentType,
    FinancingState,
    ForceReason,
    ParticipantKind,
    Reason,
    Scenario,
    SkipReason,
    Stage,
)
from crossborder.errors import (
    AccessDenied,
    InvalidInput,
    MissingRole,
    NotAnOperator,
    NotDocumentRegistrar,
    NotRegulator,
    ParticipantDeactivated,
    ScenarioNotAuthorised,
    UnknownEntity,
    WrongState,
)

from .conftest import (
    CNY,
    CUSTOMS,
    EUR,
    EXPORT,
    FIRM_A,
    FIRM_B,
    ISSUED,
    MAY_REGISTER,
    USD,
    ZERO,
    advance,
    apply,
    bind,
    events,
    fp,
    held,
    only_event,
    open_service,
    register,
    reverts,
)

IMPORT = DocumentType.IMPORT_DECLARATION
FREIGHT = DocumentType.FREIGHT_INVOICE
U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
S = FinancingState
NO_HOLD = "ledger: no such live hold of this scenario and financing"
STOPPED, DEACTIVATED = ForceReason.SCENARIO_STOPPED, ForceReason.BANK_DEACTIVATED
CUSTOMS_2 = fp("customs-2")


@pytest.fixture(scope="module")
def providers(consortium, regulator, accounts, customs_op, platform):
    """One operator per data-provider kind, each holding the platform's REGISTER stage; a second
    customs authority (accounts[7]); a second operator of the first customs (accounts[3])."""
    ops = {ParticipantKind.CUSTOMS: customs_op}
    register_stage = {Scenario.PLATFORM: Stage.REGISTER}
    for i, kind in enumerate(
        (ParticipantKind.INSURER, ParticipantKind.TAX, ParticipantKind.LOGISTICS)
    ):
        participant = fp(f"provider-{kind.name}")
        consortium.onboard(participant, int(kind), ZERO, sender=regulator)
        bind(consortium, regulator, accounts[4 + i], participant, register_stage)
        ops[kind] = accounts[4 + i]
    consortium.onboard(CUSTOMS_2, int(ParticipantKind.CUSTOMS), ZERO, sender=regulator)
    bind(consortium, regulator, accounts[7], CUSTOMS_2, register_stage)
    bind(consortium, regulator, accounts[3], CUSTOMS, register_stage)
    return ops


@pytest.fixture(scope="module")
def customs_2(accounts, providers):
    """The operator of another customs authority: the same kind, another provider."""
    return accounts[7]


@pytest.fixture(scope="module")
def customs_colleague(accounts, providers):
    """A second operator of the same customs authority that registers everything here."""
    return accounts[3]


@pytest.fixture(scope="module")
def five_hundred(ledger, customs_op, providers):
    """The largest batch: MAX_REGISTER documents in one transaction."""
    assert ledger.MAX_REGISTER() == 500
    docs = [_doc(f"big-{i}", face=10_000 + i, issued=ISSUED + i % 365) for i in range(500)]
    tx = ledger.register(EXPORT, docs, sender=customs_op)
    assert only_event(tx, ledger.DocumentsRegistered)["count"] == 500
    return docs


@pytest.fixture(scope="module")
def second(project, consortium, ledger, regulator, receivables, platform):
    """A second scenario contract on the same ledger (ReceivablesFinancing deployed again)."""
    contract = project.ReceivablesFinancing.deploy(consortium, ledger, sender=regulator)
    ledger.set_scenario(contract, True, sender=regulator)
    return contract


@pytest.fixture(scope="module")
def probe(probe_container, consortium, ledger, regulator, platform):
    """An authorised scenario contract that passes any hold, release or consume to the ledger."""
    contract = probe_container.deploy(consortium, ledger, sender=regulator)
    ledger.set_scenario(contract, True, sender=regulator)
    return contract


@pytest.fixture(scope="module", autouse=True)
def _module_state(
    providers, five_hundred, second, probe, bank_a, bank_b, outsider, firm_accounts, chain
):
    """Builds the module's state before its first test; the empty block keeps ape's per-test
    restore cheap (py-evm re-executes the snapshot block's transactions)."""
    chain.mine()


def _doc(label: str, owner: bytes = FIRM_A, face: int = 1_000, currency: int = USD, issued=ISSUED):
    return (fp(label), owner, face, currency, issued)


def _new(ledger, sender, label, doc_type=EXPORT, **fields) -> bytes:
    doc = _doc(label, **fields)
    ledger.register(doc_type, [doc], sender=sender)
    return doc[0]


def _tag(bank_id: bytes) -> bytes:
    """A hold record's bank tag: the top 16 bytes of the bank's id."""
    return bank_id[:16]


################################################################
#                         REGISTRATION                         #
################################################################


def test_register_a_batch_of_100(ledger, customs_op, providers):
    docs = [
        _doc(
            f"batch-{i}", (FIRM_A, FIRM_B)[i % 2], 1 + i * 7_919, (USD, CNY, EUR)[i % 3], ISSUED + i
        )
        for i in range(100)
    ]
    tx = ledger.register(EXPORT, docs, sender=customs_op)

    assert only_event(tx, ledger.DocumentsRegistered) == {
        "registrar": CUSTOMS,
        "operator": customs_op.address,
        "doc_type": EXPORT,
        "count": 100,
        "skipped": 0,
    }
    assert events(tx, ledger.DocumentSkipped) == []
    index = ledger.registrar_index(CUSTOMS)
    logged = events(tx, ledger.DocumentRegistered)
    assert len(logged) == 100
    for d, log in zip(docs, logged, strict=True):
        fingerprint, _, face, currency, issued = d
        record = face | currency << 128 | index << 144 | issued << 160
        assert log == {"fingerprint": fingerprint, "doc_type": EXPORT, "record": record}
        assert ledger.document(EXPORT, fingerprint) == (1, face, 0, currency, issued, 0)


def test_document_registered_logs_no_owner(ledger, customs_op, providers):
    """Any member reads the logs: the registration event names no firm, not even by a tag."""
    assert [i.name for i in ledger.DocumentRegistered.abi.inputs] == [
        "fingerprint",
        "doc_type",
        "record",
    ]
    tx = ledger.register(EXPORT, [_doc("no-owner", owner=FIRM_B)], sender=customs_op)
    log = only_event(tx, ledger.DocumentRegistered)
    assert log["record"] >> 208 == 0
    assert FIRM_B not in bytes(tx.logs[0]["data"]) + b"".join(
        bytes(t) for t in tx.logs[0]["topics"]
    )


def test_registrars_get_an_index_at_their_first_registration(ledger, providers):
    """The document word carries the registering provider's 16-bit index."""
    assert ledger.registrar_index(CUSTOMS) == 1  # five_hundred registered first
    assert ledger.registrar_of_index(1) == CUSTOMS
    count = ledger.registrar_count()
    tax = providers[ParticipantKind.TAX]
    assert ledger.registrar_index(fp("provider-TAX")) == 0
    fingerprint = _new(ledger, tax, "first-tax", doc_type=DocumentType.TAX_FILING)
    assert ledger.registrar_index(fp("provider-TAX")) == count + 1
    assert ledger.registrar_count() == count + 1
    assert ledger.registrar_of_index(count + 1) == fp("provider-TAX")
    word = unpack(ledger.documents(DocumentType.TAX_FILING, [fingerprint])[0])
    assert word.registrar == count + 1
    _new(ledger, tax, "second-tax", doc_type=DocumentType.TAX_FILING)
    assert ledger.registrar_count() == count + 1  # once per provider


def test_register_the_limit_of_500(ledger, five_hundred):
    for d in (five_hundred[0], five_hundred[-1]):
        assert ledger.document(EXPORT, d[0])[:2] == (DocumentStatus.FREE, d[2])


def test_register_more_than_the_limit_reverts(ledger, customs_op, providers):
    docs = [_doc(f"over-{i}") for i in range(501)]
    with ape.reverts():
        ledger.register(EXPORT, docs, sender=customs_op)
    assert ledger.documents(EXPORT, [docs[0][0], docs[-1][0]]) == [0, 0]


def test_register_an_empty_batch_reverts(ledger, customs_op, providers):
    with reverts("ledger: empty batch", InvalidInput):
        ledger.register(EXPORT, [], sender=customs_op)
    tx = ledger.register(EXPORT, [_doc("one-of-one")], sender=customs_op)
    assert only_event(tx, ledger.DocumentsRegistered)["count"] == 1


def test_a_batch_of_500_skips_what_is_already_registered(ledger, customs_op, five_hundred):
    """Every fifth document of the batch is already registered: the other 400 are registered,
    the 100 are skipped and logged, and their records are untouched."""
    batch = []
    for i in range(500):
        if i % 5 == 0:
            old = five_hundred[i]  # re-sent with another owner, face and currency
            batch.append((old[0], FIRM_B, 1, CNY, ISSUED))
        else:
            batch.append(_doc(f"mixed-{i}", face=100 + i))
    before = ledger.documents(EXPORT, [d[0] for d in five_hundred[::5]])

    tx = ledger.register(EXPORT, batch, sender=customs_op)

    assert only_event(tx, ledger.DocumentsRegistered) == {
        "registrar": CUSTOMS,
        "operator": customs_op.address,
        "doc_type": EXPORT,
        "count": 400,
        "skipped": 100,
    }
    assert events(tx, ledger.DocumentSkipped) == [
        {"fingerprint": d[0], "doc_type": EXPORT, "reason": SkipReason.ALREADY_REGISTERED}
        for d in batch[::5]
    ]
    assert [e["fingerprint"] for e in events(tx, ledger.DocumentRegistered)] == [
        d[0] for i, d in enumerate(batch) if i % 5
    ]
    assert ledger.documents(EXPORT, [d[0] for d in five_hundred[::5]]) == before
    assert ledger.document(EXPORT, batch[1][0])[:2] == (DocumentStatus.FREE, 101)


def test_a_document_twice_in_one_batch_is_registered_once(ledger, customs_op, providers):
    a, b = _doc("dup-a", face=100), _doc("dup-b")
    tx = ledger.register(EXPORT, [a, b, (a[0], FIRM_B, 999, CNY, ISSUED)], sender=customs_op)
    logged = only_event(tx, ledger.DocumentsRegistered)
    assert (logged["count"], logged["skipped"]) == (2, 1)
    assert only_event(tx, ledger.DocumentSkipped)["fingerprint"] == a[0]
    assert ledger.document(EXPORT, a[0])[1:4] == (100, 0, USD)  # the first one counts


def test_a_batch_of_only_known_documents_registers_nothing(ledger, customs_op, five_hundred):
    tx = ledger.register(EXPORT, five_hundred[:3], sender=customs_op)
    logged = only_event(tx, ledger.DocumentsRegistered)
    assert (logged["count"], logged["skipped"]) == (0, 3)
    assert events(tx, ledger.DocumentRegistered) == []


@pytest.mark.parametrize("doc_type", [0, *DocumentType, max(DocumentType) + 1])
@pytest.mark.parametrize("kind", list(MAY_REGISTER), ids=lambda k: k.name)
def test_who_may_register_what(ledger, providers, kind, doc_type):
    doc = _doc(f"typed-{kind.name}-{doc_type}")
    if doc_type in MAY_REGISTER[kind]:
        register(ledger, providers[kind], [doc[:4]], doc_type)
        assert ledger.document(doc_type, doc[0])[0] == DocumentStatus.FREE
    else:
        with reverts("ledger: this participant may not register this document type", AccessDenied):
            register(ledger, providers[kind], [doc[:4]], doc_type)
        assert ledger.document(doc_type, doc[0])[0] == DocumentStatus.UNKNOWN


@pytest.mark.parametrize("doc_type", [EXPORT, FREIGHT])
def test_bank_may_not_register(ledger, bank_a, providers, doc_type):
    with reverts("consortium: account lacks the role", MissingRole):
        register(ledger, bank_a.applicant, [_doc("by-bank")[:4]], doc_type)


def test_registration_needs_the_platform_stage(ledger, consortium, regulator, accounts, providers):
    clerk = accounts[2]
    bind(consortium, regulator, clerk, CUSTOMS)  # bound, no stage
    with reverts("consortium: account lacks the role", MissingRole):
        register(ledger, clerk, [_doc("by-clerk")[:4]])
    consortium.set_roles(clerk, Scenario.PLATFORM, Stage.REGISTER, sender=regulator)
    register(ledger, clerk, [_doc("by-clerk")[:4]])
    assert ledger.document(EXPORT, fp("by-clerk"))[0] == DocumentStatus.FREE


def test_non_operator_or_deactivated_provider_may_not_register(
    ledger, consortium, regulator, customs_op, outsider, providers
):
    with reverts("consortium: account is not an operator", NotAnOperator):
        register(ledger, outsider, [_doc("by-outsider")[:4]])
    consortium.set_active(CUSTOMS, False, sender=regulator)
    with reverts("consortium: participant is deactivated", ParticipantDeactivated):
        register(ledger, customs_op, [_doc("by-deactivated")[:4]])
    consortium.set_active(CUSTOMS, True, sender=regulator)
    register(ledger, customs_op, [_doc("by-reactivated")[:4]])
    assert ledger.document(EXPORT, fp("by-reactivated"))[0] == DocumentStatus.FREE


def test_one_fingerprint_two_types_two_records(ledger, receivables, customs_op, providers, bank_a):
    """Documents are keyed by (type, fingerprint): customs' export declaration and logistics'
    freight invoice may share a fingerprint, and each keeps its own record."""
    shared = fp("shared-fingerprint")
    logistics = providers[ParticipantKind.LOGISTICS]
    ledger.register(EXPORT, [(shared, FIRM_A, 1_000, USD, ISSUED)], sender=customs_op)

    tx = ledger.register(FREIGHT, [(shared, FIRM_B, 50, CNY, ISSUED + 1)], sender=logistics)

    assert only_event(tx, ledger.DocumentsRegistered)["skipped"] == 0
    assert ledger.document(EXPORT, shared) == (1, 1_000, 0, USD, ISSUED, 0)
    assert ledger.document(FREIGHT, shared) == (1, 50, 0, CNY, ISSUED + 1, 0)
    export_word = unpack(ledger.documents(EXPORT, [shared])[0])
    freight_word = unpack(ledger.documents(FREIGHT, [shared])[0])
    assert export_word.registrar == ledger.registrar_index(CUSTOMS)
    assert freight_word.registrar == ledger.registrar_index(fp("provider-LOGISTICS"))
    assert ledger.document(IMPORT, shared)[0] == DocumentStatus.UNKNOWN

    # Financing the export declaration leaves the freight invoice alone.
    assert apply(receivables, bank_a, FIRM_A, [shared], [1_000]) != 0
    assert held(ledger, shared) == 1_000
    assert ledger.document(FREIGHT, shared) == (1, 50, 0, CNY, ISSUED + 1, 0)
    # And the freight invoice's provider cannot void the export declaration's record.
    ledger.void(FREIGHT, [shared], sender=logistics)
    assert ledger.document(FREIGHT, shared)[0] == DocumentStatus.UNKNOWN
    assert ledger.document(EXPORT, shared)[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"face": 0}, "ledger: face amount must be positive"),
        ({"currency": 0}, "ledger: invalid currency code"),
        ({"currency": 1000}, "ledger: invalid currency code"),
        ({"currency": 65535}, "ledger: invalid currency code"),
        ({"fingerprint": ZERO}, "ledger: empty fingerprint"),
        ({"owner": ZERO}, "ledger: empty fingerprint"),
    ],
)
def test_malformed_document_reverts_the_batch(ledger, customs_op, providers, bad, message):
    good = _doc("well-formed")
    fields = dict(
        zip(("fingerprint", "owner", "face", "currency", "issued"), _doc("bad"), strict=True)
    )
    fields.update(bad)
    with reverts(message, InvalidInput):
        ledger.register(EXPORT, [good, tuple(fields.values())], sender=customs_op)
    assert ledger.documents(EXPORT, [good[0], fp("bad")]) == [0, 0]


def test_edge_values_are_accepted(ledger, customs_op, providers):
    """The passing side of the checks above: the smallest face, currency 1 and 999, day 0."""
    docs = [
        _doc("edge-1", face=1, currency=1, issued=0),
        _doc("edge-2", face=U64, currency=999, issued=65535),
    ]
    ledger.register(EXPORT, docs, sender=customs_op)
    assert ledger.document(EXPORT, docs[0][0]) == (1, 1, 0, 1, 0, 0)
    assert ledger.document(EXPORT, docs[1][0]) == (1, U64, 0, 999, 65535, 0)


################################################################
#                  VOID AND FACE CORRECTION                    #
################################################################


@pytest.mark.parametrize("by", ["the registering operator", "a colleague at the same provider"])
def test_void_while_unheld_then_register_again(
    ledger, customs_op, customs_colleague, customs_2, by
):
    doc = _new(ledger, customs_op, "to-void")
    operator = customs_op if by == "the registering operator" else customs_colleague

    tx = ledger.void(EXPORT, [doc], sender=operator)

    assert only_event(tx, ledger.DocumentVoided) == {
        "fingerprint": doc,
        "doc_type": EXPORT,
        "operator": operator.address,
    }
    assert ledger.document(EXPORT, doc) == (0, 0, 0, 0, 0, 0)
    assert ledger.documents(EXPORT, [doc]) == [0]
    # Voided, it can be registered again, with corrected details, by any provider allowed to.
    tx = ledger.register(EXPORT, [(doc, FIRM_B, 2_000, CNY, ISSUED)], sender=customs_2)
    assert only_event(tx, ledger.DocumentsRegistered)["count"] == 1
    assert ledger.document(EXPORT, doc) == (1, 2_000, 0, CNY, ISSUED, 0)
    assert unpack(ledger.documents(EXPORT, [doc])[0]).registrar == ledger.registrar_index(CUSTOMS_2)


def test_void_refused_while_held(ledger, receivables, customs_op, bank_a, bank_b):
    applied = _new(ledger, customs_op, "void-applied")
    closed = _new(ledger, customs_op, "void-closed")
    fid = apply(receivables, bank_a, FIRM_A, [applied], [1])
    done = apply(receivables, bank_b, FIRM_A, [closed], [1])
    advance(receivables, bank_b, done, S.CLOSED)
    for doc in (applied, closed):  # a live hold, a consumed one
        with reverts("ledger: the document is held", WrongState):
            ledger.void(EXPORT, [doc], sender=customs_op)
    with reverts("ledger: the document is held", WrongState):  # all or nothing
        ledger.void(EXPORT, [_new(ledger, customs_op, "void-free"), applied], sender=customs_op)
    assert ledger.document(EXPORT, fp("void-free"))[0] == DocumentStatus.FREE

    receivables.withdraw(fid, sender=bank_a.applicant)
    ledger.void(EXPORT, [applied], sender=customs_op)
    assert ledger.document(EXPORT, applied)[0] == DocumentStatus.UNKNOWN


def test_void_refused_for_another_provider(ledger, customs_op, customs_2, providers):
    export = _new(ledger, customs_op, "void-other")
    invoice = _new(ledger, providers[ParticipantKind.LOGISTICS], "void-invoice", FREIGHT)
    message = "ledger: document registered by another provider"
    with reverts(message, NotDocumentRegistrar):  # another customs authority: same kind
        ledger.void(EXPORT, [export], sender=customs_2)
    with reverts(message, NotDocumentRegistrar):  # tax may register freight invoices too
        ledger.void(FREIGHT, [invoice], sender=providers[ParticipantKind.TAX])
    with reverts("ledger: this participant may not register this document type", AccessDenied):
        ledger.void(EXPORT, [export], sender=providers[ParticipantKind.LOGISTICS])
    with reverts("ledger: unknown document", UnknownEntity):
        ledger.void(EXPORT, [fp("never-registered")], sender=customs_op)
    assert ledger.document(EXPORT, export)[0] == DocumentStatus.FREE
    assert ledger.document(FREIGHT, invoice)[0] == DocumentStatus.FREE


def test_correct_face_up_and_down_never_below_held(
    ledger, receivables, customs_op, customs_colleague, bank_a, bank_b
):
    doc = _new(ledger, customs_op, "correct", face=1_000)
    assert apply(receivables, bank_a, FIRM_A, [doc], [600]) != 0

    tx = ledger.correct_face(EXPORT, doc, 1_500, sender=customs_op)

    assert only_event(tx, ledger.FaceCorrected) == {
        "fingerprint": doc,
        "doc_type": EXPORT,
        "face": 1_500,
        "operator": customs_op.address,
    }
    assert ledger.document(EXPORT, doc)[:3] == (DocumentStatus.PARTLY_USED, 1_500, 600)
    assert apply(receivables, bank_b, FIRM_A, [doc], [901]) == 0  # 900 left, not 901
    assert apply(receivables, bank_b, FIRM_A, [doc], [800]) != 0
    assert held(ledger, doc) == 1_400

    with reverts("ledger: face below the held amount", InvalidInput):
        ledger.correct_face(EXPORT, doc, 1_399, sender=customs_op)
    ledger.correct_face(EXPORT, doc, 1_400, sender=customs_colleague)  # down to what is held
    assert ledger.document(EXPORT, doc)[:3] == (DocumentStatus.FULLY_USED, 1_400, 1_400)
    with reverts("ledger: face amount must be positive", InvalidInput):
        ledger.correct_face(EXPORT, doc, 0, sender=customs_op)


def test_correct_face_of_a_free_document(ledger, customs_op):
    doc = _new(ledger, customs_op, "correct-free", face=1_000)
    ledger.correct_face(EXPORT, doc, 1, sender=customs_op)
    assert ledger.document(EXPORT, doc) == (DocumentStatus.FREE, 1, 0, USD, ISSUED, 0)
    ledger.correct_face(EXPORT, doc, U64, sender=customs_op)
    assert ledger.document(EXPORT, doc)[1] == U64


def test_correct_face_refused_for_another_provider(
    ledger, customs_op, customs_2, outsider, providers
):
    doc = _new(ledger, customs_op, "correct-other", face=1_000)
    with reverts("ledger: document registered by another provider", NotDocumentRegistrar):
        ledger.correct_face(EXPORT, doc, 2_000, sender=customs_2)
    with reverts("ledger: unknown document", UnknownEntity):
        ledger.correct_face(IMPORT, doc, 2_000, sender=customs_op)  # not under that type
    with reverts("consortium: account is not an operator", NotAnOperator):
        ledger.correct_face(EXPORT, doc, 2_000, sender=outsider)
    assert ledger.document(EXPORT, doc)[1] == 1_000


################################################################
#                    INTER-BANK QUERY (VIEW)                   #
################################################################


def test_documents_view_decodes_per_the_layout(ledger, receivables, bank_a, five_hundred, chain):
    held_docs = {five_hundred[3][0]: 10_003, five_hundred[250][0]: 5_000}  # full and partial
    since = {}
    for fingerprint, amount in held_docs.items():
        apply(receivables, bank_a, FIRM_A, [fingerprint], [amount])
        since[fingerprint] = chain.blocks.head.timestamp
    unknown = [fp(f"unknown-{i}") for i in range(20)]
    # Unknown fingerprints interleaved with the 500 known ones.
    query = [d[0] for d in five_hundred]
    for i, u in enumerate(unknown):
        query.insert(i * 26, u)

    words = ledger.documents(EXPORT, query)

    assert len(words) == len(query) == 520
    by_fp = {d[0]: d for d in five_hundred}
    index = ledger.registrar_index(CUSTOMS)
    for fingerprint, raw in zip(query, words, strict=True):
        if fingerprint in unknown:
            assert raw == 0
            continue
        _, _, face, currency, issued = by_fp[fingerprint]
        amount = held_docs.get(fingerprint, 0)
        assert unpack(raw) == DocumentWord(
            face, amount, currency, index, issued, since.get(fingerprint, 0)
        )
        assert raw >> 208 == 0  # no owner tag
    # Under another type the same fingerprints are unknown.
    assert ledger.documents(IMPORT, query[:30]) == [0] * 30


def test_documents_view_bound(ledger):
    assert ledger.MAX_QUERY() == 2000
    assert ledger.documents(EXPORT, [fp("q")] * 2000) == [0] * 2000
    with ape.reverts():
        ledger.documents(EXPORT, [fp("q")] * 2001)


def test_owner_tag_is_stored_but_not_shown(ledger, receivables, customs_op, bank_a):
    """The owner tag is masked out of the view, yet verification still uses it."""
    doc = _new(ledger, customs_op, "owned-by-b", owner=FIRM_B)
    assert ledger.documents(EXPORT, [doc])[0] >> 208 == 0
    assert apply(receivables, bank_a, FIRM_A, [doc], [1]) == 0
    assert apply(receivables, bank_a, FIRM_B, [doc], [1]) != 0


def test_since_is_masked_to_32_bits(ledger, receivables, customs_op, bank_a, bank_b, chain):
    """A clock past 2**32 seconds must not spill `since` into the owner tag above it: a later
    application by the right firm still passes owner verification, a wrong firm still fails."""
    doc = _new(ledger, customs_op, "far-future", face=1_000)
    chain.mine(timestamp=2**32 + 5)

    tx = receivables.apply(FIRM_A, USD, [doc], [300], sender=bank_a.applicant)

    timestamp = chain.blocks[tx.block_number].timestamp
    assert timestamp > 2**32
    since = ledger.document(EXPORT, doc)[5]
    assert since == timestamp & U32 != 0
    assert ledger.documents(EXPORT, [doc])[0] >> 208 == 0
    assert apply(receivables, bank_b, FIRM_B, [doc], [1]) == 0  # wrong owner: still refused
    assert receivables.verification_failures(bank_b.id, Reason.WRONG_OWNER) == 1
    assert apply(receivables, bank_b, FIRM_A, [doc], [700]) != 0  # the right one: passes
    assert ledger.document(EXPORT, doc)[2:] == (1_000, USD, ISSUED, since)


def test_is_owned_by_names_the_registered_owner(ledger, customs_op, customs_2):
    """What a scenario asks before it relies on a document being a firm's: true only for a
    registered document of that type whose owner tag is the firm's (the same top 48 bits the
    guard's verification compares); never for an unknown or voided one, not even for a zero id."""
    doc = _new(ledger, customs_op, "is-owned-by", owner=FIRM_A)

    assert ledger.is_owned_by(EXPORT, doc, FIRM_A)
    assert not ledger.is_owned_by(EXPORT, doc, FIRM_B)
    assert not ledger.is_owned_by(IMPORT, doc, FIRM_A)  # keyed by type
    assert ledger.is_owned_by(EXPORT, doc, FIRM_A[:6] + bytes(26))  # the tag, as verified
    assert not ledger.is_owned_by(EXPORT, doc, bytes(6) + FIRM_A[6:])
    for owner in (FIRM_A, ZERO):
        assert not ledger.is_owned_by(EXPORT, fp("is-owned-by-unknown"), owner)

    ledger.void(EXPORT, [doc], sender=customs_op)
    assert not ledger.is_owned_by(EXPORT, doc, FIRM_A)
    assert not ledger.is_owned_by(EXPORT, doc, ZERO)
    ledger.register(EXPORT, [_doc("is-owned-by", owner=FIRM_B)], sender=customs_2)
    assert ledger.is_owned_by(EXPORT, doc, FIRM_B)
    assert not ledger.is_owned_by(EXPORT, doc, FIRM_A)


def test_held_of_counts_every_scenarios_live_and_consumed_holds(
    ledger, receivables, customs_op, probe, bank_a, bank_b
):
    """What all financings and payments hold on a document, live and consumed, across
    scenarios and banks (the document view's `held`): a release lowers it, a consumption not."""
    doc = _new(ledger, customs_op, "held-of", face=1_000)
    assert ledger.held_of(EXPORT, doc) == 0
    assert ledger.held_of(EXPORT, fp("held-of-unknown")) == 0

    probe.hold(5, bank_a.id, FIRM_A, USD, EXPORT, [doc], [300], sender=customs_op)
    fid = apply(receivables, bank_b, FIRM_A, [doc], [200])
    assert ledger.held_of(EXPORT, doc) == 500 == held(ledger, doc)
    assert ledger.held_of(IMPORT, doc) == 0  # keyed by type

    probe.consume(5, EXPORT, [doc], [100], sender=customs_op)
    assert ledger.held_of(EXPORT, doc) == 500
    probe.release(5, EXPORT, [doc], [200], sender=customs_op)
    assert ledger.held_of(EXPORT, doc) == 300
    advance(receivables, bank_b, fid, S.WITHDRAWN)
    assert ledger.held_of(EXPORT, doc) == 100 == held(ledger, doc)  # the consumed 100


################################################################
#                       DOCUMENT STATUS                        #
################################################################


def test_document_status_and_since(ledger, receivables, customs_op, bank_a, chain):
    doc = _doc("status")
    assert ledger.document(EXPORT, doc[0]) == (DocumentStatus.UNKNOWN, 0, 0, 0, 0, 0)
    ledger.register(EXPORT, [doc], sender=customs_op)
    assert ledger.document(EXPORT, doc[0]) == (DocumentStatus.FREE, 1_000, 0, USD, ISSUED, 0)

    first = apply(receivables, bank_a, FIRM_A, [doc[0]], [400])
    since = chain.blocks.head.timestamp
    assert since > 0
    assert ledger.document(EXPORT, doc[0]) == (
        DocumentStatus.PARTLY_USED,
        1_000,
        400,
        USD,
        ISSUED,
        since,
    )

    chain.mine(timestamp=since + 3_600)
    second = apply(receivables, bank_a, FIRM_A, [doc[0]], [600])
    assert ledger.document(EXPORT, doc[0])[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)
    assert ledger.document(EXPORT, doc[0])[5] == since  # since the first hold, not the second

    receivables.withdraw(first, sender=bank_a.applicant)
    assert ledger.document(EXPORT, doc[0])[:3] == (DocumentStatus.PARTLY_USED, 1_000, 600)
    assert ledger.document(EXPORT, doc[0])[5] == since  # still used

    receivables.withdraw(second, sender=bank_a.applicant)
    assert ledger.document(EXPORT, doc[0]) == (DocumentStatus.FREE, 1_000, 0, USD, ISSUED, 0)


################################################################
#                    SCENARIO AUTHORISATION                    #
################################################################


@pytest.fixture
def unwired(project, consortium, ledger, regulator):
    """A ReceivablesFinancing the regulator has not authorised yet."""
    return project.ReceivablesFinancing.deploy(consortium, ledger, sender=regulator)


def test_set_scenario_accepts_a_wired_scenario_contract(ledger, regulator, unwired):
    assert not ledger.scenarios(unwired)
    tx = ledger.set_scenario(unwired, True, sender=regulator)
    assert only_event(tx, ledger.ScenarioAuthorised) == {
        "scenario": unwired.address,
        "enabled": True,
        "by": regulator.address,
    }
    assert ledger.scenarios(unwired)
    tx = ledger.set_scenario(unwired, False, sender=regulator)
    assert only_event(tx, ledger.ScenarioAuthorised)["enabled"] is False
    assert not ledger.scenarios(unwired)


@pytest.mark.parametrize(
    "candidate",
    ["an account", "the consortium", "the ledger", "wired to another ledger", "wired elsewhere"],
)
def test_set_scenario_refuses_what_is_not_wired_here(
    project, ledger, consortium, regulator, outsider, candidate
):
    if candidate == "an account":
        address = outsider.address
    elif candidate == "the consortium":  # a contract without LEDGER()
        address = consortium.address
    elif candidate == "the ledger":  # has CONSORTIUM() but no LEDGER()
        address = ledger.address
    elif candidate == "wired to another ledger":
        other_ledger = project.DocumentLedger.deploy(consortium, sender=regulator)
        address = project.ReceivablesFinancing.deploy(
            consortium, other_ledger, sender=regulator
        ).address
    else:  # this ledger, but another consortium
        other_consortium = project.Consortium.deploy(sender=regulator)
        address = project.ReceivablesFinancing.deploy(
            other_consortium, ledger, sender=regulator
        ).address
    with reverts(
        "ledger: not a scenario contract wired to this ledger and consortium", InvalidInput
    ):
        ledger.set_scenario(address, True, sender=regulator)
    assert not ledger.scenarios(address)
    ledger.set_scenario(address, False, sender=regulator)  # stopping checks nothing


def test_set_scenario_refused_to_others(ledger, bank_a, outsider, unwired, platform):
    for caller in (outsider, bank_a.applicant):
        with reverts("ledger: caller is not the regulator", NotRegulator):
            ledger.set_scenario(unwired, True, sender=caller)
    assert not ledger.scenarios(unwired)


def test_set_scenario_follows_the_consortium_owner(
    ledger, consortium, regulator, accounts, unwired
):
    new_owner = accounts[8]
    consortium.transfer_ownership(new_owner, sender=regulator)
    ledger.set_scenario(unwired, True, sender=regulator)  # not yet transferred
    consortium.accept_ownership(sender=new_owner)
    with reverts("ledger: caller is not the regulator", NotRegulator):
        ledger.set_scenario(unwired, False, sender=regulator)
    ledger.set_scenario(unwired, False, sender=new_owner)
    assert not ledger.scenarios(unwired)


################################################################
#        HOLDS BELONG TO THE SCENARIO AND FINANCING            #
################################################################


def test_hold_release_consume_own_records(ledger, customs_op, probe, bank_a):
    doc = _new(ledger, customs_op, "direct")
    args = (5, bank_a.id, FIRM_A, USD, EXPORT)

    assert probe.hold.call(*args, [doc], [1_001]) == (Reason.OVER_FINANCED, 0)
    assert probe.hold.call(*args, [fp("nowhere"), doc], [1, 1]) == (Reason.NOT_FOUND, 0)
    assert probe.hold.call(*args, [doc], [700]) == (Reason.OK, 0)
    tx = probe.hold(*args, [doc], [700], sender=customs_op)
    assert only_event(tx, ledger.AmountHeld) == {
        "fingerprint": doc,
        "scenario": probe.address,
        "financing_id": 5,
        "doc_type": EXPORT,
        "amount": 700,
        "held": 700,
    }
    assert ledger.hold_record(probe, 5, EXPORT, doc) == (700, 0, _tag(bank_a.id))
    assert ledger.holds(probe, 5, EXPORT, [doc]) == [700]

    tx = probe.consume(5, EXPORT, [doc], [200], sender=customs_op)
    assert only_event(tx, ledger.AmountConsumed) == {
        "fingerprint": doc,
        "scenario": probe.address,
        "financing_id": 5,
        "doc_type": EXPORT,
        "amount": 200,
        "held": 700,  # consuming does not free
    }
    assert ledger.hold_record(probe, 5, EXPORT, doc) == (500, 200, _tag(bank_a.id))

    tx = probe.release(5, EXPORT, [doc], [300], sender=customs_op)
    assert only_event(tx, ledger.AmountReleased)["held"] == 400
    assert ledger.hold_record(probe, 5, EXPORT, doc) == (200, 200, _tag(bank_a.id))
    assert ledger.holds(probe, 5, EXPORT, [doc]) == [200]
    assert held(ledger, doc) == 400


def test_a_hold_record_keeps_its_bank(ledger, customs_op, probe, bank_a, bank_b):
    """A scenario adding to its hold on a document under one financing id adds for the same
    bank; another bank under the same scenario, financing and document is refused, even once
    the hold is released (the record keeps its tag). Another document is a record of its own."""
    doc, other = _new(ledger, customs_op, "one-bank"), _new(ledger, customs_op, "one-bank-2")
    probe.hold(5, bank_a.id, FIRM_A, USD, EXPORT, [doc], [300], sender=customs_op)
    probe.hold(5, bank_a.id, FIRM_A, USD, EXPORT, [doc], [200], sender=customs_op)
    assert ledger.hold_record(probe, 5, EXPORT, doc) == (500, 0, _tag(bank_a.id))

    with reverts("ledger: the hold belongs to another bank", InvalidInput):
        probe.hold(5, bank_b.id, FIRM_A, USD, EXPORT, [other, doc], [1, 1], sender=customs_op)

    assert held(ledger, other) == 0  # the whole hold reverted
    probe.release(5, EXPORT, [doc], [500], sender=customs_op)
    with reverts("ledger: the hold belongs to another bank", InvalidInput):
        probe.hold(5, bank_b.id, FIRM_A, USD, EXPORT, [doc], [1], sender=customs_op)
    probe.hold(5, bank_b.id, FIRM_A, USD, EXPORT, [other], [1], sender=customs_op)
    assert ledger.hold_record(probe, 5, EXPORT, other) == (1, 0, _tag(bank_b.id))
    assert ledger.hold_record(probe, 5, EXPORT, doc) == (0, 0, _tag(bank_a.id))


@pytest.mark.parametrize("call", ["release", "consume"])
def test_release_or_consume_at_most_the_own_live_hold(ledger, customs_op, probe, bank_a, call):
    doc = _new(ledger, customs_op, "bounded")
    probe.hold(5, bank_a.id, FIRM_A, USD, EXPORT, [doc], [700], sender=customs_op)
    fn = getattr(probe, call)
    with reverts(NO_HOLD, WrongState):
        fn(5, EXPORT, [doc], [701], sender=customs_op)
    with reverts("ledger: amount must be positive", InvalidInput):
        fn(5, EXPORT, [doc], [0], sender=customs_op)
    with reverts(NO_HOLD, WrongState):  # another financing id of the same scenario
        fn(6, EXPORT, [doc], [1], sender=customs_op)
    with reverts(NO_HOLD, WrongState):  # the same fingerprint under another type
        fn(5, IMPORT, [doc], [1], sender=customs_op)
    with reverts("ledger: fingerprints and amounts differ in length", InvalidInput):
        fn(5, EXPORT, [doc], [1, 1], sender=customs_op)
    fn(5, EXPORT, [doc], [700], sender=customs_op)  # exactly the live hold
    assert ledger.hold_record(probe, 5, EXPORT, doc)[0] == 0
    with reverts(NO_HOLD, WrongState):
        fn(5, EXPORT, [doc], [1], sender=customs_op)


def test_only_authorised_scenarios_take_holds(
    ledger, customs_op, regulator, bank_a, probe, probe_container, consortium
):
    doc = _new(ledger, customs_op, "guarded")
    args = (1, bank_a.id, FIRM_A, USD, EXPORT, [doc], [1])
    idle = probe_container.deploy(consortium, ledger, sender=regulator)
    for call in (
        lambda: ledger.hold(*args, sender=regulator),
        lambda: ledger.hold(*args, sender=bank_a.applicant),
        lambda: idle.hold(*args, sender=customs_op),
    ):
        with reverts("ledger: caller is not an authorised scenario", ScenarioNotAuthorised):
            call()
    ledger.set_scenario(idle, True, sender=regulator)
    idle.hold(*args, sender=customs_op)
    assert held(ledger, doc) == 1


@pytest.mark.parametrize("call", ["release", "consume"])
def test_an_account_holds_nothing_to_release(ledger, customs_op, regulator, bank_a, probe, call):
    doc = _new(ledger, customs_op, "not-yours")
    probe.hold(1, bank_a.id, FIRM_A, USD, EXPORT, [doc], [500], sender=customs_op)
    for caller in (regulator, bank_a.applicant):
        with reverts(NO_HOLD, WrongState):
            getattr(ledger, call)(1, EXPORT, [doc], [1], sender=caller)
    assert held(ledger, doc) == 500


@pytest.mark.parametrize("call", ["release", "consume"])
def test_a_second_scenario_cannot_touch_the_first_ones_holds(
    ledger, receivables, customs_op, probe, bank_a, call
):
    """Another authorised scenario contract citing the first one's financing id and document is
    refused; even with its own hold on the document under the same id, it frees only that."""
    doc = _new(ledger, customs_op, "theirs", face=1_000)
    fid = apply(receivables, bank_a, FIRM_A, [doc], [600])
    fn = getattr(probe, call)
    with reverts(NO_HOLD, WrongState):
        fn(fid, EXPORT, [doc], [1], sender=customs_op)

    probe.hold(fid, bank_a.id, FIRM_A, USD, EXPORT, [doc], [100], sender=customs_op)
    assert held(ledger, doc) == 700
    with reverts(NO_HOLD, WrongState):
        fn(fid, EXPORT, [doc], [101], sender=customs_op)
    fn(fid, EXPORT, [doc], [100], sender=customs_op)

    assert ledger.hold_record(receivables, fid, EXPORT, doc) == (600, 0, _tag(bank_a.id))
    assert held(ledger, doc) == (600 if call == "release" else 700)
    assert receivables.cited(fid) == ([doc], [600])


def test_two_receivables_deployments_keep_their_own_records(
    ledger, receivables, second, customs_op, bank_a, bank_b
):
    """The same financing id in two scenario contracts on one document: two records; winding
    one down touches only its own."""
    doc = _new(ledger, customs_op, "two-records", face=1_000)
    first = apply(receivables, bank_a, FIRM_A, [doc], [600])
    other = apply(second, bank_b, FIRM_A, [doc], [400])
    assert ledger.hold_record(receivables, first, EXPORT, doc) == (600, 0, _tag(bank_a.id))
    assert ledger.hold_record(second, other, EXPORT, doc) == (400, 0, _tag(bank_b.id))

    tx = second.withdraw(other, sender=bank_b.applicant)

    assert only_event(tx, ledger.AmountReleased) == {
        "fingerprint": doc,
        "scenario": second.address,
        "financing_id": other,
        "doc_type": EXPORT,
        "amount": 400,
        "held": 600,
    }
    assert ledger.hold_record(second, other, EXPORT, doc) == (0, 0, _tag(bank_b.id))
    assert ledger.hold_record(receivables, first, EXPORT, doc) == (600, 0, _tag(bank_a.id))


def test_the_old_attack_now_fails(
    ledger, receivables, customs_op, regulator, probe, bank_a, bank_b
):
    """Before: a retired scenario (once authorised) could release any document, so it could free
    bank A's disbursed hold and let bank B finance the same declaration again. Now the retired
    scenario may release only the holds it took."""
    doc = _new(ledger, customs_op, "attacked", face=1_000)
    fid = apply(receivables, bank_a, FIRM_A, [doc], [1_000])
    advance(receivables, bank_a, fid, S.DISBURSED)
    own = _new(ledger, customs_op, "retired-own", face=1_000)
    probe.hold(fid, bank_b.id, FIRM_A, USD, EXPORT, [own], [10], sender=customs_op)
    ledger.set_scenario(probe, False, sender=regulator)  # retired

    for call in (probe.release, probe.consume):
        with reverts(NO_HOLD, WrongState):
            call(fid, EXPORT, [doc], [1_000], sender=customs_op)

    tx = receivables.apply(FIRM_A, USD, [doc], [1_000], sender=bank_b.applicant)
    assert only_event(tx, receivables.VerificationFailed)["reason"] == Reason.DUPLICATE
    assert ledger.document(EXPORT, doc)[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)
    assert ledger.hold_record(receivables, fid, EXPORT, doc) == (1_000, 0, _tag(bank_a.id))
    # The retired scenario still winds down what it took itself.
    probe.release(fid, EXPORT, [own], [10], sender=customs_op)
    assert held(ledger, own) == 0


def test_stopped_scenario_takes_no_new_holds_but_winds_down_its_live_ones(
    ledger, second, customs_op, regulator, bank_b
):
    docs = [_new(ledger, customs_op, f"retired-{i}") for i in range(4)]
    withdrawn, rejected, closing = (apply(second, bank_b, FIRM_A, [d], [100]) for d in docs[:3])
    advance(second, bank_b, closing, S.DISBURSED)
    tx = ledger.set_scenario(second, False, sender=regulator)
    assert only_event(tx, ledger.ScenarioAuthorised)["enabled"] is False
    assert not ledger.scenarios(second)

    with reverts("ledger: caller is not an authorised scenario", ScenarioNotAuthorised):
        second.apply(FIRM_A, USD, [docs[3]], [1], sender=bank_b.applicant)
    second.withdraw(withdrawn, sender=bank_b.applicant)
    advance(second, bank_b, rejected, S.REJECTED)
    second.register_repayment(closing, 100, sender=bank_b.repayer)

    assert [held(ledger, d) for d in docs] == [0, 0, 100, 0]
    assert second.financing(closing).state == S.CLOSED
    assert ledger.hold_record(second, closing, EXPORT, docs[2]) == (0, 100, _tag(bank_b.id))

    ledger.set_scenario(second, True, sender=regulator)  # re-authorised: holds again
    assert apply(second, bank_b, FIRM_A, [docs[3]], [1]) != 0


@pytest.mark.parametrize("face", [1_000, 2**63 + 5])
def test_guard_refuses_a_document_cited_twice_in_one_hold(ledger, customs_op, probe, bank_a, face):
    doc = _new(ledger, customs_op, "twice", face=face)
    with reverts("ledger: document cited twice", InvalidInput):
        probe.hold(9, bank_a.id, FIRM_A, USD, EXPORT, [doc, doc], [face, face], sender=customs_op)
    assert ledger.document(EXPORT, doc)[1:4] == (face, 0, USD)
    # Each half alone is fine.
    probe.hold(9, bank_a.id, FIRM_A, USD, EXPORT, [doc], [face], sender=customs_op)
    assert held(ledger, doc) == face


def test_guard_refuses_a_zero_hold(ledger, customs_op, probe, bank_a):
    doc = _new(ledger, customs_op, "zero-hold")
    with reverts("ledger: amount must be positive", InvalidInput):
        probe.hold(9, bank_a.id, FIRM_A, USD, EXPORT, [doc], [0], sender=customs_op)
    status, _, amount, *_, since = ledger.document(EXPORT, doc)
    assert (status, amount, since) == (DocumentStatus.FREE, 0, 0)
    with reverts("ledger: fingerprints and amounts differ in length", InvalidInput):
        probe.hold(9, bank_a.id, FIRM_A, USD, EXPORT, [doc], [], sender=customs_op)


def test_guard_is_shared_by_two_scenarios(ledger, receivables, second, customs_op, bank_a, bank_b):
    doc = _new(ledger, customs_op, "shared", face=1_000)
    first = apply(receivables, bank_a, FIRM_A, [doc], [600])
    assert first != 0

    # Over-financing in the other scenario: refused, recorded there, nothing held.
    tx = second.apply(FIRM_A, USD, [doc], [500], sender=bank_b.applicant)
    assert only_event(tx, second.VerificationFailed)["reason"] == Reason.OVER_FINANCED
    assert events(tx, ledger.AmountHeld) == []
    assert second.failures_by_reason(Reason.OVER_FINANCED) == 1
    assert receivables.failures_by_reason(Reason.OVER_FINANCED) == 0
    assert held(ledger, doc) == 600

    count = second.financing_count()
    tx = second.apply(FIRM_A, USD, [doc], [400], sender=bank_b.applicant)
    assert only_event(tx, ledger.AmountHeld) == {
        "fingerprint": doc,
        "scenario": second.address,
        "financing_id": count + 1,  # ids are per scenario; the event says which scenario
        "doc_type": EXPORT,
        "amount": 400,
        "held": 1_000,
    }
    assert ledger.document(EXPORT, doc)[:3] == (DocumentStatus.FULLY_USED, 1_000, 1_000)

    # Fully used: a duplicate in either scenario.
    for scenario, bank in ((second, bank_b), (receivables, bank_a)):
        tx = scenario.apply(FIRM_A, USD, [doc], [1], sender=bank.applicant)
        assert only_event(tx, scenario.VerificationFailed)["reason"] == Reason.DUPLICATE

    # A rejection in the first scenario frees its part for the second.
    advance(receivables, bank_a, first, S.REJECTED)
    assert held(ledger, doc) == 400
    tx = second.apply(FIRM_A, USD, [doc], [600], sender=bank_b.applicant)
    assert len(events(tx, second.FinancingApplied)) == 1
    assert held(ledger, doc) == 1_000


################################################################
#                 THE REGULATOR'S FORCE-RELEASE                #
################################################################


def _force(ledger, regulator, scenario, fid, bank, docs, reason, sender=None):
    return ledger.force_release(
        scenario, fid, bank, EXPORT, list(docs), int(reason), sender=sender or regulator
    )


@pytest.mark.parametrize("state", [S.APPLIED, S.ACCEPTED, S.DISBURSED])
def test_force_release_of_a_stopped_scenario(
    ledger, second, receivables, customs_op, regulator, bank_a, bank_b, state
):
    d1 = _new(ledger, customs_op, "forced-1", face=1_000)
    d2 = _new(ledger, customs_op, "forced-2", face=500)
    fid = apply(second, bank_b, FIRM_A, [d1, d2], [600, 500])
    advance(second, bank_b, fid, state)
    ledger.set_scenario(second, False, sender=regulator)

    tx = _force(ledger, regulator, second, fid, bank_b.id, [d1, d2], STOPPED)

    assert events(tx, ledger.AmountReleased) == [
        {
            "fingerprint": d,
            "scenario": second.address,
            "financing_id": fid,
            "doc_type": EXPORT,
            "amount": amount,
            "held": 0,
        }
        for d, amount in ((d1, 600), (d2, 500))
    ]
    assert only_event(tx, ledger.HoldsForceReleased) == {
        "scenario": second.address,
        "financing_id": fid,
        "bank": bank_b.id,
        "reason": STOPPED,
        "documents": 2,
        "by": regulator.address,
    }
    assert ledger.hold_record(second, fid, EXPORT, d1) == (0, 0, _tag(bank_b.id))
    assert second.cited(fid) == ([d1, d2], [0, 0])

    # The stopped scenario's lifecycle still ends the financing, skipping the freed holds.
    if state == S.APPLIED:
        tx = second.withdraw(fid, sender=bank_b.applicant)
        assert second.financing(fid).state == S.WITHDRAWN
        assert events(tx, ledger.AmountReleased) == []
    elif state == S.ACCEPTED:
        tx = second.review(fid, False, sender=bank_b.reviewer)
        assert second.financing(fid).state == S.REJECTED
        assert events(tx, ledger.AmountReleased) == []
    else:
        tx = second.register_repayment(fid, 1_100, sender=bank_b.repayer)
        assert second.financing(fid).state == S.CLOSED
        assert events(tx, ledger.AmountConsumed) == []
    # The documents are free for anyone.
    assert apply(receivables, bank_a, FIRM_A, [d1, d2], [1_000, 500]) != 0


def test_force_release_of_a_deactivated_bank(
    ledger, consortium, receivables, customs_op, regulator, bank_a, bank_b
):
    doc = _new(ledger, customs_op, "bank-gone", face=1_000)
    fid = apply(receivables, bank_a, FIRM_A, [doc], [1_000])
    advance(receivables, bank_a, fid, S.DISBURSED)
    consortium.set_active(bank_a.id, False, sender=regulator)

    tx = _force(ledger, regulator, receivables, fid, bank_a.id, [doc], DEACTIVATED)

    assert only_event(tx, ledger.AmountReleased)["amount"] == 1_000
    assert only_event(tx, ledger.HoldsForceReleased)["reason"] == DEACTIVATED
    assert ledger.document(EXPORT, doc)[:3] == (DocumentStatus.FREE, 1_000, 0)
    assert apply(receivables, bank_b, FIRM_A, [doc], [1_000]) != 0
    # Reactivated, the bank still closes its financing; nothing left to consume.
    consortium.set_active(bank_a.id, True, sender=regulator)
    tx = receivables.register_repayment(fid, 1_000, sender=bank_a.repayer)
    assert receivables.financing(fid).state == S.CLOSED
    assert events(tx, ledger.AmountConsumed) == []
    assert held(ledger, doc) == 1_000  # bank B's hold


def test_force_release_of_a_branch_whose_head_office_is_deactivated(
    ledger, consortium, receivables, customs_op, regulator, accounts, firm_accounts
):
    """A branch (网点) is inactive when its head office is: its holds may be force-released."""
    head, branch = fp("bank-c-head"), fp("bank-c-branch")
    consortium.onboard(head, ParticipantKind.BANK, ZERO, sender=regulator)
    consortium.onboard(branch, ParticipantKind.BANK, head, sender=regulator)
    teller, opener = accounts[22], accounts[23]
    bind(consortium, regulator, teller, branch, {Scenario.RECEIVABLES: Stage.APPLY})
    bind(consortium, regulator, opener, branch, {Scenario.RECEIVABLES: Stage.SERVICE})
    open_service(consortium, opener, firm_accounts[FIRM_A], FIRM_A, branch)
    doc = _new(ledger, customs_op, "branch-doc")
    tx = receivables.apply(FIRM_A, USD, [doc], [500], sender=teller)
    fid = only_event(tx, receivables.FinancingApplied)["financing_id"]
    assert ledger.hold_record(receivables, fid, EXPORT, doc)[2] == _tag(branch)
    with reverts("ledger: the bank is active", WrongState):
        _force(ledger, regulator, receivables, fid, branch, [doc], DEACTIVATED)

    consortium.set_active(head, False, sender=regulator)

    _force(ledger, regulator, receivables, fid, branch, [doc], DEACTIVATED)
    assert held(ledger, doc) == 0


def test_force_release_frees_only_the_live_part(ledger, customs_op, regulator, probe, bank_a):
    doc = _new(ledger, customs_op, "part-consumed", face=1_000)
    probe.hold(9, bank_a.id, FIRM_A, USD, EXPORT, [doc], [500], sender=customs_op)
    probe.consume(9, EXPORT, [doc], [200], sender=customs_op)
    ledger.set_scenario(probe, False, sender=regulator)

    tx = _force(ledger, regulator, probe, 9, bank_a.id, [doc], STOPPED)

    assert only_event(tx, ledger.AmountReleased)["amount"] == 300
    assert ledger.hold_record(probe, 9, EXPORT, doc) == (0, 200, _tag(bank_a.id))
    assert held(ledger, doc) == 200  # consumed stays used
    with reverts(NO_HOLD, WrongState):  # nothing live left: not twice
        _force(ledger, regulator, probe, 9, bank_a.id, [doc], STOPPED)


@pytest.fixture
def stopped_hold(ledger, second, customs_op, regulator, bank_b):
    """A live hold of bank B's financing in the stopped second scenario: (fid, document)."""
    doc = _new(ledger, customs_op, "stopped-hold")
    fid = apply(second, bank_b, FIRM_A, [doc], [600])
    ledger.set_scenario(second, False, sender=regulator)
    return fid, doc


@pytest.mark.parametrize(
    "case",
    [
        "active scenario",
        "active bank",
        "wrong bank",
        "no live hold",
        "never held",
        "never held, wrong bank",
        "non-regulator",
        "unknown reason 0",
        "unknown reason 3",
        "no documents",
    ],
)
def test_force_release_refusals(
    ledger, receivables, second, customs_op, regulator, bank_a, bank_b, stopped_hold, case
):
    fid, doc = stopped_hold
    scenario, bank, docs, reason, sender = second, bank_b.id, [doc], STOPPED, regulator
    if case == "active scenario":
        active_doc = _new(ledger, customs_op, "active-scenario")
        scenario, docs = receivables, [active_doc]
        fid = apply(receivables, bank_b, FIRM_A, [active_doc], [1])
        message, error = "ledger: the scenario is not stopped", WrongState
    elif case == "active bank":
        reason, (message, error) = DEACTIVATED, ("ledger: the bank is active", WrongState)
    elif case == "wrong bank":
        bank, (message, error) = (
            bank_a.id,
            ("ledger: the hold belongs to another bank", InvalidInput),
        )
    elif case == "no live hold":
        second.withdraw(fid, sender=bank_b.applicant)
        message, error = NO_HOLD, WrongState
    elif case.startswith("never held"):
        # A hold that never existed reads as no live hold, whichever bank is named.
        docs = [fp("never-held")]
        if case.endswith("wrong bank"):
            bank = bank_a.id
        message, error = NO_HOLD, WrongState
    elif case == "non-regulator":
        sender, (message, error) = (
            bank_b.applicant,
            ("ledger: caller is not the regulator", NotRegulator),
        )
    elif case.startswith("unknown reason"):
        reason = int(case[-1])
        message, error = "ledger: unknown force-release reason", InvalidInput
    else:
        docs, (message, error) = [], ("ledger: no documents", InvalidInput)

    with reverts(message, error):
        _force(ledger, regulator, scenario, fid, bank, docs, reason, sender=sender)

    if case != "no live hold":  # the live hold is untouched
        checked = docs[0] if case == "active scenario" else doc
        assert ledger.hold_record(scenario, fid, EXPORT, checked)[0] != 0
