# pragma version ~=0.4.3
"""
@title Document ledger: the shared guard
@custom:contract-name DocumentLedger
@license Apache-2.0
@notice One ledger of source documents (customs declarations, insured
        shipments, waybills, tax filings, freight invoices) keyed by
        (document type, keyed fingerprint). Data providers register them in
        batches and may void or correct what they registered while nothing
        holds it. Only scenario contracts the regulator authorised take
        holds; each hold belongs to the scenario and the financing (or
        payment) that took it, and only its owner releases or consumes it,
        except the regulator's logged force-release of a stopped scenario's
        or a deactivated bank's holds. For every document, across all banks
        and all scenarios: held <= face. A document of the goods (a waybill,
        a bill of lading) linked to the export declaration of the same goods
        holds on both at once, so that the two together are never financed
        beyond the goods' value, whichever is financed first.
        Invoices (freight invoices, general invoices) are single-use: they
        are never held, but tagged whole by a payment scenario (`tag`), a
        batch of up to `MAX_TAGGED` at once, all or nothing; a tagged
        invoice is fully used for good: nothing releases, consumes, voids
        or corrects it. Tagging writes only the document's existing word
        (held = face, since = now), no hold record, so that a batch of
        1,000 invoices fits one block.
@dev Each document is one storage slot, packed (low bits first):
         face      uint64  bits   0..63   (minor units)
         held      uint64  bits  64..127  (live and consumed holds)
         currency  uint16  bits 128..143  (ISO 4217 numeric code)
         registrar uint16  bits 144..159  (the registering provider's index)
         issued    uint16  bits 160..175  (days since 1970-01-01)
         since     uint32  bits 176..207  (unix time the first live hold began, 0 when free)
         owner tag uint48  bits 208..255  (top 48 bits of the owner firm's fingerprint)
     Each hold is one slot keyed by (scenario, financing id, document):
         live      uint64  bits   0..63
         consumed  uint64  bits  64..127
         bank tag  uint128 bits 128..255  (top 128 bits of the bank's id)
     `crossborder.chain.packing` decodes the same layouts.
"""

################################################################
#                          INTERFACES                          #
################################################################

from .interfaces import IConsortium
from .interfaces import IScenario
from .modules import codes

implements: IDocumentLedger
from .interfaces import IDocumentLedger

################################################################
#                            EVENTS                            #
################################################################

event DocumentsRegistered:
    registrar: indexed(bytes32)
    operator: indexed(address)
    doc_type: uint8
    count: uint256
    skipped: uint256


event DocumentRegistered:
    fingerprint: indexed(bytes32)
    doc_type: uint8
    record: uint256


event DocumentSkipped:
    fingerprint: indexed(bytes32)
    doc_type: uint8
    reason: uint8


event DocumentVoided:
    fingerprint: indexed(bytes32)
    doc_type: uint8
    operator: indexed(address)


event FaceCorrected:
    fingerprint: indexed(bytes32)
    doc_type: uint8
    face: uint256
    operator: indexed(address)


event DocumentLinked:
    fingerprint: indexed(bytes32)
    doc_type: uint8
    declaration: indexed(bytes32)
    operator: indexed(address)


event AmountHeld:
    fingerprint: indexed(bytes32)
    scenario: indexed(address)
    financing_id: indexed(uint256)
    doc_type: uint8
    amount: uint256
    held: uint256


event AmountReleased:
    fingerprint: indexed(bytes32)
    scenario: indexed(address)
    financing_id: indexed(uint256)
    doc_type: uint8
    amount: uint256
    held: uint256


event AmountConsumed:
    fingerprint: indexed(bytes32)
    scenario: indexed(address)
    financing_id: indexed(uint256)
    doc_type: uint8
    amount: uint256
    held: uint256


event DocumentsTagged:
    scenario: indexed(address)
    payment_id: indexed(uint256)
    bank: indexed(bytes32)
    doc_type: uint8
    total: uint256
    fingerprints: DynArray[bytes32, codes.MAX_TAGGED]


event HoldsForceReleased:
    scenario: indexed(address)
    financing_id: indexed(uint256)
    bank: indexed(bytes32)
    reason: uint8
    documents: uint256
    by: address


event ScenarioAuthorised:
    scenario: indexed(address)
    enabled: bool
    by: indexed(address)

################################################################
#                          CONSTANTS                           #
################################################################

MAX_REGISTER: public(constant(uint256)) = 500
MAX_QUERY: public(constant(uint256)) = 2000
MAX_CITED: public(constant(uint256)) = codes.MAX_CITED
MAX_TAGGED: public(constant(uint256)) = codes.MAX_TAGGED

REASON_NOT_FOUND: public(constant(uint8)) = codes.REASON_NOT_FOUND
REASON_WRONG_TYPE: public(constant(uint8)) = codes.REASON_WRONG_TYPE
REASON_WRONG_OWNER: public(constant(uint8)) = codes.REASON_WRONG_OWNER
REASON_CURRENCY_MISMATCH: public(constant(uint8)) = codes.REASON_CURRENCY_MISMATCH
REASON_DUPLICATE: public(constant(uint8)) = codes.REASON_DUPLICATE
REASON_OVER_FINANCED: public(constant(uint8)) = codes.REASON_OVER_FINANCED

_U16: constant(uint256) = (1 << 16) - 1
_U32: constant(uint256) = (1 << 32) - 1
_U64: constant(uint256) = (1 << 64) - 1
_HELD_SHIFT: constant(uint256) = 64
_CURRENCY_SHIFT: constant(uint256) = 128
_REGISTRAR_SHIFT: constant(uint256) = 144
_ISSUED_SHIFT: constant(uint256) = 160
_SINCE_SHIFT: constant(uint256) = 176
_OWNER_SHIFT: constant(uint256) = 208
_FACE_MASK: constant(uint256) = _U64
_HELD_MASK: constant(uint256) = _U64 << _HELD_SHIFT
_SINCE_MASK: constant(uint256) = _U32 << _SINCE_SHIFT
_PUBLIC_MASK: constant(uint256) = (1 << _OWNER_SHIFT) - 1
# A hold's record.
_CONSUMED_SHIFT: constant(uint256) = 64
_BANK_SHIFT: constant(uint256) = 128
_AMOUNTS_MASK: constant(uint256) = (1 << _BANK_SHIFT) - 1

################################################################
#                           STORAGE                            #
################################################################

CONSORTIUM: public(immutable(IConsortium))

# Authorised scenarios take new holds. A stopped one takes none, but its
# live holds wind down: only the holds it took are its to release or consume.
scenarios: public(HashMap[address, bool])
# keccak(doc_type, fingerprint) => packed document word.
_documents: HashMap[bytes32, uint256]
# scenario => financing or payment id => document key => packed hold record.
_holds: HashMap[address, HashMap[uint256, HashMap[bytes32, uint256]]]
# keccak(doc_type, fingerprint) => the fingerprint of the export declaration of the same
# goods: a hold on the document also holds on the declaration, for the same financing.
_links: HashMap[bytes32, bytes32]
# A registering provider's 16-bit index, assigned at its first registration.
registrar_index: public(HashMap[bytes32, uint256])
registrar_of_index: public(HashMap[uint256, bytes32])
registrar_count: public(uint256)


struct DocumentInput:
    fingerprint: bytes32
    owner: bytes32
    face: uint64
    currency: uint16
    issued: uint16


@deploy
def __init__(consortium: IConsortium):
    CONSORTIUM = consortium


################################################################
#                         REGULATOR                            #
################################################################


@external
def set_scenario(scenario: address, enabled: bool):
    """
    @notice The regulator authorises (or stops) a scenario contract to
            take holds. A stopped scenario may still release and consume
            the holds it took, so its live financings wind down.
    @param scenario A contract whose `LEDGER()` is this ledger and whose
           `CONSORTIUM()` is this ledger's consortium.
    @param enabled True to authorise, false to stop.
    """
    assert msg.sender == staticcall CONSORTIUM.owner(), "ledger: caller is not the regulator"
    if enabled:
        assert self._wired(scenario), "ledger: not a scenario contract wired to this ledger and consortium"
    self.scenarios[scenario] = enabled
    log ScenarioAuthorised(scenario=scenario, enabled=enabled, by=msg.sender)


@external
def force_release(
    scenario: address,
    financing_id: uint256,
    bank: bytes32,
    doc_type: uint8,
    fingerprints: DynArray[bytes32, codes.MAX_CITED],
    reason: uint8,
):
    """
    @notice The regulator frees the live holds of one financing of a
            stopped scenario or of a deactivated bank, logged with a reason.
            Consumed amounts stay used.
    @param scenario The scenario contract that took the holds.
    @param financing_id The financing (or payment) id within that scenario.
    @param bank The bank that holds them (the hold records carry its tag).
    @param doc_type The documents' type.
    @param fingerprints The documents to free; each must have a live hold.
    @param reason `codes.FORCE_SCENARIO_STOPPED` or `codes.FORCE_BANK_DEACTIVATED`.
    """
    assert msg.sender == staticcall CONSORTIUM.owner(), "ledger: caller is not the regulator"
    if reason == codes.FORCE_SCENARIO_STOPPED:
        assert not self.scenarios[scenario], "ledger: the scenario is not stopped"
    elif reason == codes.FORCE_BANK_DEACTIVATED:
        assert not staticcall CONSORTIUM.is_active(bank), "ledger: the bank is active"
    else:
        raise "ledger: unknown force-release reason"
    assert len(fingerprints) != 0, "ledger: no documents"
    tag: uint256 = convert(bank, uint256) >> _BANK_SHIFT
    for fingerprint: bytes32 in fingerprints:
        key: bytes32 = self._key(doc_type, fingerprint)
        live: uint256 = self._force_free(scenario, financing_id, key, fingerprint, doc_type, tag)
        linked: bytes32 = self._links[key]
        if linked != empty(bytes32):
            linked_key: bytes32 = self._key(codes.DOC_EXPORT_DECLARATION, linked)
            # The declaration's hold may have been force-released alone before.
            if self._holds[scenario][financing_id][linked_key] & _U64 != 0:
                self._force_free(scenario, financing_id, linked_key, linked, codes.DOC_EXPORT_DECLARATION, tag)
    log HoldsForceReleased(scenario=scenario, financing_id=financing_id, bank=bank, reason=reason, documents=len(fingerprints), by=msg.sender)


################################################################
#                        DATA PROVIDERS                        #
################################################################


@external
def register(doc_type: uint8, documents: DynArray[DocumentInput, MAX_REGISTER]):
    """
    @notice Registers a batch of documents of one type. A document already
            registered under this type is skipped and logged with its
            reason; a malformed one reverts the batch.
    @param doc_type One of `codes.DOC_*`, allowed for the caller's kind.
    @param documents Fingerprint, owner firm's fingerprint, face amount in
           minor units, ISO 4217 numeric currency, issue day.
    """
    registrar: bytes32 = self._registrar(doc_type)
    assert len(documents) != 0, "ledger: empty batch"
    index: uint256 = self.registrar_index[registrar]
    if index == 0:
        index = self.registrar_count + 1
        assert index <= _U16, "ledger: too many registrars"
        self.registrar_count = index
        self.registrar_index[registrar] = index
        self.registrar_of_index[index] = registrar
    fixed: uint256 = index << _REGISTRAR_SHIFT
    skipped: uint256 = 0
    for d: DocumentInput in documents:
        assert d.face != 0, "ledger: face amount must be positive"
        assert d.currency != 0 and d.currency < 1000, "ledger: invalid currency code"
        assert d.fingerprint != empty(bytes32) and d.owner != empty(bytes32), "ledger: empty fingerprint"
        key: bytes32 = self._key(doc_type, d.fingerprint)
        if self._documents[key] != 0:
            skipped = unsafe_add(skipped, 1)  # at most MAX_REGISTER
            log DocumentSkipped(fingerprint=d.fingerprint, doc_type=doc_type, reason=codes.SKIP_ALREADY_REGISTERED)
            continue
        record: uint256 = (
            convert(d.face, uint256)
            | (convert(d.currency, uint256) << _CURRENCY_SHIFT)
            | fixed
            | (convert(d.issued, uint256) << _ISSUED_SHIFT)
        )
        self._documents[key] = record | ((convert(d.owner, uint256) >> _OWNER_SHIFT) << _OWNER_SHIFT)
        log DocumentRegistered(fingerprint=d.fingerprint, doc_type=doc_type, record=record)
    log DocumentsRegistered(registrar=registrar, operator=msg.sender, doc_type=doc_type, count=len(documents) - skipped, skipped=skipped)


@external
def void(doc_type: uint8, fingerprints: DynArray[bytes32, MAX_REGISTER]):
    """
    @notice The provider that registered documents voids them (a
            correction) while nothing holds them, with their link to a
            declaration; they may then be registered (and linked) again.
    @param doc_type The documents' type.
    @param fingerprints The documents to void.
    """
    index: uint256 = self.registrar_index[self._registrar(doc_type)]
    for fingerprint: bytes32 in fingerprints:
        key: bytes32 = self._key(doc_type, fingerprint)
        word: uint256 = self._own_document(key, index)
        assert word & _HELD_MASK == 0, "ledger: the document is held"
        self._documents[key] = 0
        # A correction may change what the document is linked to: the link goes with it.
        self._links[key] = empty(bytes32)
        log DocumentVoided(fingerprint=fingerprint, doc_type=doc_type, operator=msg.sender)


@external
def correct_face(doc_type: uint8, fingerprint: bytes32, face: uint64):
    """
    @notice The provider that registered a document corrects its face
            amount; the face never drops below what is held.
    @param doc_type The document's type.
    @param fingerprint The document.
    @param face The corrected face amount in minor units.
    """
    index: uint256 = self.registrar_index[self._registrar(doc_type)]
    key: bytes32 = self._key(doc_type, fingerprint)
    word: uint256 = self._own_document(key, index)
    assert face != 0, "ledger: face amount must be positive"
    # Invoices are never held, only tagged whole: a held one is used for good.
    assert not self._single_use(doc_type) or word & _HELD_MASK == 0, "ledger: a tagged invoice cannot change"
    assert convert(face, uint256) >= (word >> _HELD_SHIFT) & _U64, "ledger: face below the held amount"
    self._documents[key] = (word & ~_FACE_MASK) | convert(face, uint256)
    log FaceCorrected(fingerprint=fingerprint, doc_type=doc_type, face=convert(face, uint256), operator=msg.sender)


@external
def link(doc_type: uint8, fingerprints: DynArray[bytes32, MAX_REGISTER], declarations: DynArray[bytes32, MAX_REGISTER]):
    """
    @notice The provider that registered documents of the goods (waybills,
            bills of lading) links each to the export declaration of the
            same goods, once, while neither is held: from then on every hold
            on the document also holds on the declaration.
    @param doc_type The documents' type (not a declaration type).
    @param fingerprints The documents.
    @param declarations The export declaration of each, registered, of the
           same owner firm and currency.
    """
    assert doc_type != codes.DOC_EXPORT_DECLARATION and doc_type != codes.DOC_IMPORT_DECLARATION, "ledger: a declaration is not linked to a declaration"
    assert len(fingerprints) == len(declarations), "ledger: fingerprints and amounts differ in length"
    index: uint256 = self.registrar_index[self._registrar(doc_type)]
    for i: uint256 in range(len(fingerprints), bound=MAX_REGISTER):
        key: bytes32 = self._key(doc_type, fingerprints[i])
        word: uint256 = self._own_document(key, index)
        assert self._links[key] == empty(bytes32), "ledger: the document is already linked"
        linked: uint256 = self._documents[self._key(codes.DOC_EXPORT_DECLARATION, declarations[i])]
        assert linked != 0, "ledger: unknown document"
        assert word & _HELD_MASK == 0 and linked & _HELD_MASK == 0, "ledger: the document is held"
        assert linked >> _OWNER_SHIFT == word >> _OWNER_SHIFT, "ledger: the linked declaration has another owner or currency"
        assert (linked >> _CURRENCY_SHIFT) & _U16 == (word >> _CURRENCY_SHIFT) & _U16, "ledger: the linked declaration has another owner or currency"
        self._links[key] = declarations[i]
        log DocumentLinked(fingerprint=fingerprints[i], doc_type=doc_type, declaration=declarations[i], operator=msg.sender)


################################################################
#                     SCENARIOS: THE GUARD                     #
################################################################


@external
def hold(
    financing_id: uint256,
    bank: bytes32,
    owner: bytes32,
    currency: uint16,
    doc_type: uint8,
    fingerprints: DynArray[bytes32, codes.MAX_CITED],
    amounts: DynArray[uint256, codes.MAX_CITED],
) -> (uint8, uint256):
    """
    @notice Verifies (核验) every cited document, then holds all amounts
            for the calling scenario's financing, or none: a failure
            changes nothing and is returned, not reverted, so that the
            scenario can record the attempt.
    @param financing_id The caller's financing (or payment) id.
    @param bank The bank the holds are taken for.
    @param owner The firm's id; each document's owner tag must match.
    @param currency ISO 4217 numeric code each document must have.
    @param doc_type The documents' type.
    @param fingerprints The cited documents.
    @param amounts The amount to hold on each, minor units.
    @return The reason code (0 when held) and the first failing index.
    """
    assert self.scenarios[msg.sender], "ledger: caller is not an authorised scenario"
    assert not self._single_use(doc_type), "ledger: invoices are tagged, not held"
    assert len(fingerprints) == len(amounts), "ledger: fingerprints and amounts differ in length"
    tag: uint256 = convert(owner, uint256) >> _OWNER_SHIFT
    keys: DynArray[bytes32, codes.MAX_CITED] = []
    links: DynArray[bytes32, codes.MAX_CITED] = []
    # Pass 1 reads only, so that a failure needs no undo; refusing a document
    # cited twice (itself, or through a link to one declaration) keeps the
    # reads independent of the writes of pass 2.
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        assert amounts[i] != 0, "ledger: amount must be positive"
        key: bytes32 = self._key(doc_type, fingerprints[i])
        linked: bytes32 = self._links[key]
        for j: uint256 in range(i, bound=codes.MAX_CITED):
            assert fingerprints[j] != fingerprints[i], "ledger: document cited twice"
            assert linked == empty(bytes32) or links[j] != linked, "ledger: document cited twice"
        keys.append(key)
        links.append(linked)
        reason: uint8 = self._verify(self._documents[key], tag, currency, amounts[i])
        if reason == codes.REASON_OK and linked != empty(bytes32):
            reason = self._verify(self._documents[self._key(codes.DOC_EXPORT_DECLARATION, linked)], tag, currency, amounts[i])
        if reason != codes.REASON_OK:
            return reason, i
    bank_tag: uint256 = (convert(bank, uint256) >> _BANK_SHIFT) << _BANK_SHIFT
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        self._take_hold(financing_id, keys[i], fingerprints[i], doc_type, amounts[i], bank_tag)
        if links[i] != empty(bytes32):
            self._take_hold(financing_id, self._key(codes.DOC_EXPORT_DECLARATION, links[i]), links[i], codes.DOC_EXPORT_DECLARATION, amounts[i], bank_tag)
    return codes.REASON_OK, 0


@external
def release(financing_id: uint256, doc_type: uint8, fingerprints: DynArray[bytes32, codes.MAX_CITED], amounts: DynArray[uint256, codes.MAX_CITED]):
    """
    @notice Frees amounts of the caller's own holds (the financing was
            rejected or withdrawn).
    @param financing_id The caller's financing (or payment) id.
    @param doc_type The documents' type.
    @param fingerprints The held documents.
    @param amounts The amount to free on each: positive, at most the caller's live hold.
    """
    assert len(fingerprints) == len(amounts), "ledger: fingerprints and amounts differ in length"
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        linked: bytes32 = self._release_own(financing_id, doc_type, fingerprints[i], amounts[i])
        if linked != empty(bytes32):
            amount: uint256 = self._linked_live(financing_id, linked, amounts[i])
            if amount != 0:
                self._release_own(financing_id, codes.DOC_EXPORT_DECLARATION, linked, amount)


@external
def consume(financing_id: uint256, doc_type: uint8, fingerprints: DynArray[bytes32, codes.MAX_CITED], amounts: DynArray[uint256, codes.MAX_CITED]):
    """
    @notice Turns amounts of the caller's own live holds into used ones:
            the financing was repaid (the receivable collected) or the
            payment made, and the document is not freed.
    @param financing_id The caller's financing (or payment) id.
    @param doc_type The documents' type.
    @param fingerprints The held documents.
    @param amounts The amount to consume on each: positive, at most the caller's live hold.
    """
    assert len(fingerprints) == len(amounts), "ledger: fingerprints and amounts differ in length"
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        linked: bytes32 = self._consume_own(financing_id, doc_type, fingerprints[i], amounts[i])
        if linked != empty(bytes32):
            amount: uint256 = self._linked_live(financing_id, linked, amounts[i])
            if amount != 0:
                self._consume_own(financing_id, codes.DOC_EXPORT_DECLARATION, linked, amount)


@external
def tag(
    payment_id: uint256,
    bank: bytes32,
    owner: bytes32,
    currency: uint16,
    doc_type: uint8,
    fingerprints: DynArray[bytes32, codes.MAX_TAGGED],
) -> (uint8, uint256, uint256):
    """
    @notice Verifies (核验) every invoice of a payment, then tags each one
            fully used for the calling scenario's payment, or none: a
            failure changes nothing and is returned, not reverted, so that
            the scenario can record the attempt. An invoice is tagged once,
            across all banks and scenarios; nothing ever frees it.
    @dev Pass 1 reads only; pass 2 writes each document's own word (a warm
         slot), with no hold record. An invoice cited twice in one batch
         passes pass 1 both times and is caught when pass 2 finds it tagged.
    @param payment_id The caller's payment id.
    @param bank The paying bank (logged with the batch).
    @param owner The payer firm's id; each invoice's owner tag must match.
    @param currency ISO 4217 numeric code each invoice must have.
    @param doc_type A single-use type: `codes.DOC_FREIGHT_INVOICE` or `codes.DOC_INVOICE`.
    @param fingerprints The invoices, at most `MAX_TAGGED`.
    @return The reason code (0 when tagged), the first failing index, and
            the invoices' total face (0 on failure).
    """
    assert self.scenarios[msg.sender], "ledger: caller is not an authorised scenario"
    assert self._single_use(doc_type), "ledger: only invoices are tagged"
    assert len(fingerprints) != 0, "ledger: no documents"
    tag: uint256 = convert(owner, uint256) >> _OWNER_SHIFT
    total: uint256 = 0
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_TAGGED):
        word: uint256 = self._documents[self._key(doc_type, fingerprints[i])]
        # The whole face must be free: an invoice already tagged reads as a duplicate.
        reason: uint8 = self._verify(word, tag, currency, word & _U64)
        if reason != codes.REASON_OK:
            return reason, i, 0
        # At most MAX_TAGGED faces below 2**64 each: far below 2**256.
        total = unsafe_add(total, word & _U64)
    stamp: uint256 = (block.timestamp & _U32) << _SINCE_SHIFT
    for fingerprint: bytes32 in fingerprints:
        key: bytes32 = self._key(doc_type, fingerprint)
        word: uint256 = self._documents[key]
        assert word & _HELD_MASK == 0, "ledger: document cited twice"
        self._documents[key] = word | ((word & _U64) << _HELD_SHIFT) | stamp
    log DocumentsTagged(scenario=msg.sender, payment_id=payment_id, bank=bank, doc_type=doc_type, total=total, fingerprints=fingerprints)
    return codes.REASON_OK, 0, total


################################################################
#                 INTER-BANK QUERY AND SCREENING               #
################################################################


@view
@external
def documents(doc_type: uint8, fingerprints: DynArray[bytes32, MAX_QUERY]) -> DynArray[uint256, MAX_QUERY]:
    """
    @notice Batch inter-bank financing information (银行间融资信息互动):
            for each fingerprint, the packed record without its owner tag:
            face, held, currency, registrar, issue day and since when it is
            used. Zero means unknown. Says nothing about who financed it.
    @param doc_type The documents' type.
    @param fingerprints Up to `MAX_QUERY` documents.
    """
    out: DynArray[uint256, MAX_QUERY] = []
    for fingerprint: bytes32 in fingerprints:
        out.append(self._documents[self._key(doc_type, fingerprint)] & _PUBLIC_MASK)
    return out


@view
@external
def document(doc_type: uint8, fingerprint: bytes32) -> (uint8, uint256, uint256, uint16, uint16, uint256):
    """
    @notice One document's status for people: status (0 unknown, 1 free,
            2 partly used, 3 fully used), face, held, currency, issue day,
            and since when it is used.
    @param doc_type The document's type.
    @param fingerprint The document.
    """
    word: uint256 = self._documents[self._key(doc_type, fingerprint)]
    if word == 0:
        return 0, 0, 0, 0, 0, 0
    face: uint256 = word & _U64
    held: uint256 = (word >> _HELD_SHIFT) & _U64
    status: uint8 = 1
    if held == face:
        status = 3
    elif held != 0:
        status = 2
    return (
        status,
        face,
        held,
        convert((word >> _CURRENCY_SHIFT) & _U16, uint16),
        convert((word >> _ISSUED_SHIFT) & _U16, uint16),
        (word & _SINCE_MASK) >> _SINCE_SHIFT,
    )


@view
@external
def holds(scenario: address, financing_id: uint256, doc_type: uint8, fingerprints: DynArray[bytes32, codes.MAX_CITED]) -> DynArray[uint256, codes.MAX_CITED]:
    """
    @notice The live (held, not consumed) amount of each document under
            one financing of one scenario.
    @param scenario The scenario contract.
    @param financing_id Its financing (or payment) id.
    @param doc_type The documents' type.
    @param fingerprints The documents.
    """
    out: DynArray[uint256, codes.MAX_CITED] = []
    for fingerprint: bytes32 in fingerprints:
        out.append(self._holds[scenario][financing_id][self._key(doc_type, fingerprint)] & _U64)
    return out


@view
@external
def held_of(doc_type: uint8, fingerprint: bytes32) -> uint256:
    """
    @notice What all financings and payments hold (live and consumed) on one document.
    @param doc_type The document's type.
    @param fingerprint The document.
    """
    return (self._documents[self._key(doc_type, fingerprint)] >> _HELD_SHIFT) & _U64


@view
@external
def is_owned_by(doc_type: uint8, fingerprint: bytes32, owner: bytes32) -> bool:
    """
    @notice True when the document is registered and its owner tag is `owner`'s
            (a scenario checks a document belongs to a firm before it relies on it).
    @param doc_type The document's type.
    @param fingerprint The document.
    @param owner The firm's id.
    """
    word: uint256 = self._documents[self._key(doc_type, fingerprint)]
    return word != 0 and word >> _OWNER_SHIFT == convert(owner, uint256) >> _OWNER_SHIFT


@view
@external
def linked_declaration(doc_type: uint8, fingerprint: bytes32) -> bytes32:
    """
    @notice The export declaration a document of the goods is linked to (zero when none).
    @param doc_type The document's type.
    @param fingerprint The document.
    """
    return self._links[self._key(doc_type, fingerprint)]


@view
@external
def hold_record(scenario: address, financing_id: uint256, doc_type: uint8, fingerprint: bytes32) -> (uint256, uint256, bytes16):
    """
    @notice One hold: live amount, consumed amount and the bank's tag
            (the top 16 bytes of its id).
    @param scenario The scenario contract.
    @param financing_id Its financing (or payment) id.
    @param doc_type The document's type.
    @param fingerprint The document.
    """
    record: uint256 = self._holds[scenario][financing_id][self._key(doc_type, fingerprint)]
    return record & _U64, (record >> _CONSUMED_SHIFT) & _U64, convert(convert(record >> _BANK_SHIFT, uint128), bytes16)


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


@pure
@internal
def _key(doc_type: uint8, fingerprint: bytes32) -> bytes32:
    return keccak256(concat(convert(doc_type, bytes1), fingerprint))


@view
@internal
def _registrar(doc_type: uint8) -> bytes32:
    """
    @dev The calling provider's id, after checking it may register `doc_type`.
    """
    registrar: bytes32 = empty(bytes32)
    kind: uint8 = 0
    registrar, kind = staticcall CONSORTIUM.authorize(msg.sender, codes.SCENARIO_PLATFORM, codes.STAGE_REGISTER)
    assert self._may_register(kind, doc_type), "ledger: this participant may not register this document type"
    return registrar


@view
@internal
def _own_document(key: bytes32, index: uint256) -> uint256:
    word: uint256 = self._documents[key]
    assert word != 0, "ledger: unknown document"
    assert index != 0 and (word >> _REGISTRAR_SHIFT) & _U16 == index, "ledger: document registered by another provider"
    return word


@internal
def _take_hold(financing_id: uint256, key: bytes32, fingerprint: bytes32, doc_type: uint8, amount: uint256, bank_tag: uint256):
    """
    @dev Adds a verified amount to a document's held amount and to the
         calling scenario's hold record of it.
    """
    word: uint256 = self._documents[key]
    # The sum stays within the face (verified before), below 2**64.
    held: uint256 = unsafe_add((word >> _HELD_SHIFT) & _U64, amount)
    if word & _SINCE_MASK == 0:
        word |= (block.timestamp & _U32) << _SINCE_SHIFT
    self._documents[key] = (word & ~_HELD_MASK) | (held << _HELD_SHIFT)
    record: uint256 = self._holds[msg.sender][financing_id][key]
    assert record == 0 or record >> _BANK_SHIFT == bank_tag >> _BANK_SHIFT, "ledger: the hold belongs to another bank"
    # live + amount <= held + amount <= face < 2**64: no carry into the consumed bits.
    self._holds[msg.sender][financing_id][key] = bank_tag | unsafe_add(record & _AMOUNTS_MASK, amount)
    log AmountHeld(fingerprint=fingerprint, scenario=msg.sender, financing_id=financing_id, doc_type=doc_type, amount=amount, held=held)


@internal
def _release_own(financing_id: uint256, doc_type: uint8, fingerprint: bytes32, amount: uint256) -> bytes32:
    """
    @dev Frees `amount` of the caller's own live hold on a document.
    @return The declaration the document is linked to, if any.
    """
    key: bytes32 = self._take_own(financing_id, doc_type, fingerprint, amount, 0)
    held: uint256 = self._free(key, amount)
    log AmountReleased(fingerprint=fingerprint, scenario=msg.sender, financing_id=financing_id, doc_type=doc_type, amount=amount, held=held)
    return self._links[key]


@internal
def _consume_own(financing_id: uint256, doc_type: uint8, fingerprint: bytes32, amount: uint256) -> bytes32:
    """
    @dev Turns `amount` of the caller's own live hold on a document into a used one.
    @return The declaration the document is linked to, if any.
    """
    key: bytes32 = self._take_own(financing_id, doc_type, fingerprint, amount, amount)
    held: uint256 = (self._documents[key] >> _HELD_SHIFT) & _U64
    log AmountConsumed(fingerprint=fingerprint, scenario=msg.sender, financing_id=financing_id, doc_type=doc_type, amount=amount, held=held)
    return self._links[key]


@view
@internal
def _linked_live(financing_id: uint256, declaration: bytes32, amount: uint256) -> uint256:
    """
    @dev What of `amount` the caller still holds live on the declaration a
         released or consumed document is linked to: all of it, unless the
         regulator force-released the declaration's hold alone (then the
         document's own hold must still wind down).
    """
    return min(amount, self._holds[msg.sender][financing_id][self._key(codes.DOC_EXPORT_DECLARATION, declaration)] & _U64)


@internal
def _force_free(scenario: address, financing_id: uint256, key: bytes32, fingerprint: bytes32, doc_type: uint8, tag: uint256) -> uint256:
    """
    @dev The regulator's release of a whole live hold of another scenario.
    @return The amount freed.
    """
    record: uint256 = self._holds[scenario][financing_id][key]
    live: uint256 = record & _U64
    assert live != 0, "ledger: no such live hold of this scenario and financing"
    assert record >> _BANK_SHIFT == tag, "ledger: the hold belongs to another bank"
    self._holds[scenario][financing_id][key] = record & ~_U64
    held: uint256 = self._free(key, live)
    log AmountReleased(fingerprint=fingerprint, scenario=scenario, financing_id=financing_id, doc_type=doc_type, amount=live, held=held)
    return live


@internal
def _take_own(financing_id: uint256, doc_type: uint8, fingerprint: bytes32, amount: uint256, consumed: uint256) -> bytes32:
    """
    @dev Takes `amount` off the caller's live hold on a document, adding
         `consumed` to its consumed amount.
    @return The document's key.
    """
    assert amount != 0, "ledger: amount must be positive"
    key: bytes32 = self._key(doc_type, fingerprint)
    record: uint256 = self._holds[msg.sender][financing_id][key]
    assert amount <= record & _U64, "ledger: no such live hold of this scenario and financing"
    # live - amount >= 0 (checked above); consumed + amount <= the face, below 2**64.
    self._holds[msg.sender][financing_id][key] = unsafe_add(unsafe_sub(record, amount), consumed << _CONSUMED_SHIFT)
    return key


@internal
def _free(key: bytes32, amount: uint256) -> uint256:
    """
    @dev Lowers a document's held amount by a released hold.
    @return The document's new held amount.
    """
    word: uint256 = self._documents[key]
    # Every live hold is counted in the document's held amount.
    held: uint256 = unsafe_sub((word >> _HELD_SHIFT) & _U64, amount)
    word = (word & ~_HELD_MASK) | (held << _HELD_SHIFT)
    if held == 0:
        word &= ~_SINCE_MASK
    self._documents[key] = word
    return held


@view
@internal
def _wired(scenario: address) -> bool:
    if not scenario.is_contract:
        return False
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(scenario, method_id("LEDGER()"), max_outsize=32, is_static_call=True, revert_on_failure=False)
    if not ok or len(out) != 32 or convert(out, address) != self:
        return False
    ok, out = raw_call(scenario, method_id("CONSORTIUM()"), max_outsize=32, is_static_call=True, revert_on_failure=False)
    return ok and len(out) == 32 and convert(out, address) == CONSORTIUM.address


@pure
@internal
def _may_register(kind: uint8, doc_type: uint8) -> bool:
    if kind == codes.KIND_CUSTOMS:
        return doc_type == codes.DOC_EXPORT_DECLARATION or doc_type == codes.DOC_IMPORT_DECLARATION
    if kind == codes.KIND_INSURER:
        return doc_type == codes.DOC_INSURED_SHIPMENT
    if kind == codes.KIND_LOGISTICS:
        return doc_type == codes.DOC_RAIL_WAYBILL or doc_type == codes.DOC_BILL_OF_LADING or doc_type == codes.DOC_FREIGHT_INVOICE
    if kind == codes.KIND_TAX:
        return doc_type == codes.DOC_TAX_FILING or doc_type == codes.DOC_FREIGHT_INVOICE or doc_type == codes.DOC_INVOICE
    return False


@pure
@internal
def _single_use(doc_type: uint8) -> bool:
    """
    @dev Invoices are tagged whole by one payment, never held.
    """
    return doc_type == codes.DOC_FREIGHT_INVOICE or doc_type == codes.DOC_INVOICE


@pure
@internal
def _verify(word: uint256, tag: uint256, currency: uint16, amount: uint256) -> uint8:
    if word == 0:
        return codes.REASON_NOT_FOUND
    if word >> _OWNER_SHIFT != tag:
        return codes.REASON_WRONG_OWNER
    if (word >> _CURRENCY_SHIFT) & _U16 != convert(currency, uint256):
        return codes.REASON_CURRENCY_MISMATCH
    face: uint256 = word & _U64
    held: uint256 = (word >> _HELD_SHIFT) & _U64
    if held >= face:
        return codes.REASON_DUPLICATE
    if amount > face - held:
        return codes.REASON_OVER_FINANCED
    return codes.REASON_OK
