# pragma version ~=0.4.3
"""
@title Document ledger: the shared guard
@custom:contract-name DocumentLedger
@license Apache-2.0
@notice One ledger of source documents (customs declarations, insured
        shipments, waybills, tax filings, freight invoices) keyed by keyed
        fingerprint. Data providers register them in batches; only the
        scenario contracts the regulator authorised may hold, release or
        consume amounts. For every document, across all banks and all
        scenarios: held <= face.
@dev Each document is one storage slot, packed (low bits first):
         face      uint64  bits   0..63   (minor units)
         held      uint64  bits  64..127  (live and consumed holds)
         currency  uint16  bits 128..143  (ISO 4217 numeric code)
         doc_type  uint8   bits 144..151
         issued    uint16  bits 152..167  (days since 1970-01-01)
         since     uint32  bits 168..199  (unix time the first live hold began, 0 when free)
         owner tag uint56  bits 200..255  (top 56 bits of the owner firm's fingerprint)
     `crossborder.chain.packing` decodes the same layout.
"""

################################################################
#                          INTERFACES                          #
################################################################

from .interfaces import IConsortium
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


event DocumentRegistered:
    fingerprint: indexed(bytes32)
    owner: bytes32
    record: uint256


event AmountHeld:
    fingerprint: indexed(bytes32)
    scenario: indexed(address)
    financing_id: indexed(uint256)
    amount: uint256
    held: uint256


event AmountReleased:
    fingerprint: indexed(bytes32)
    scenario: indexed(address)
    financing_id: indexed(uint256)
    amount: uint256
    held: uint256


event AmountConsumed:
    fingerprint: indexed(bytes32)
    scenario: indexed(address)
    financing_id: indexed(uint256)
    amount: uint256
    held: uint256


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

REASON_NOT_FOUND: public(constant(uint8)) = codes.REASON_NOT_FOUND
REASON_WRONG_TYPE: public(constant(uint8)) = codes.REASON_WRONG_TYPE
REASON_WRONG_OWNER: public(constant(uint8)) = codes.REASON_WRONG_OWNER
REASON_CURRENCY_MISMATCH: public(constant(uint8)) = codes.REASON_CURRENCY_MISMATCH
REASON_DUPLICATE: public(constant(uint8)) = codes.REASON_DUPLICATE
REASON_OVER_FINANCED: public(constant(uint8)) = codes.REASON_OVER_FINANCED

_U64: constant(uint256) = (1 << 64) - 1
_HELD_SHIFT: constant(uint256) = 64
_CURRENCY_SHIFT: constant(uint256) = 128
_TYPE_SHIFT: constant(uint256) = 144
_ISSUED_SHIFT: constant(uint256) = 152
_SINCE_SHIFT: constant(uint256) = 168
_OWNER_SHIFT: constant(uint256) = 200
_HELD_MASK: constant(uint256) = _U64 << _HELD_SHIFT
_SINCE_MASK: constant(uint256) = ((1 << 32) - 1) << _SINCE_SHIFT
_PUBLIC_MASK: constant(uint256) = (1 << _OWNER_SHIFT) - 1

################################################################
#                           STORAGE                            #
################################################################

CONSORTIUM: public(immutable(IConsortium))

# A scenario the regulator stops is retired, not forgotten: its live financings may still
# release or consume their holds (reject, withdraw, close), but it takes no new ones.
scenarios: public(HashMap[address, bool])
ever_authorised: public(HashMap[address, bool])
_documents: HashMap[bytes32, uint256]


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
            hold document amounts. A stopped scenario may still release and
            consume the holds it took, so its live financings can wind down.
    """
    assert msg.sender == staticcall CONSORTIUM.owner(), "ledger: caller is not the regulator"
    self.scenarios[scenario] = enabled
    if enabled:
        self.ever_authorised[scenario] = True
    log ScenarioAuthorised(scenario=scenario, enabled=enabled, by=msg.sender)


################################################################
#                        DATA PROVIDERS                        #
################################################################


@external
def register(doc_type: uint8, documents: DynArray[DocumentInput, MAX_REGISTER]):
    """
    @notice Registers a batch of documents of one type. The whole batch
            reverts if any document is malformed or already registered.
    @param doc_type One of `codes.DOC_*`, allowed for the caller's kind.
    @param documents Fingerprint, owner firm's fingerprint, face amount in
           minor units, ISO 4217 numeric currency, issue day.
    """
    registrar: bytes32 = empty(bytes32)
    kind: uint8 = 0
    registrar, kind = staticcall CONSORTIUM.authorize(msg.sender, codes.ROLE_DOC_REGISTER)
    assert self._may_register(kind, doc_type), "ledger: this participant may not register this document type"
    assert len(documents) != 0, "ledger: empty batch"
    fixed: uint256 = convert(doc_type, uint256) << _TYPE_SHIFT
    for d: DocumentInput in documents:
        assert d.face != 0, "ledger: face amount must be positive"
        assert d.currency != 0 and d.currency < 1000, "ledger: invalid currency code"
        assert d.fingerprint != empty(bytes32) and d.owner != empty(bytes32), "ledger: empty fingerprint"
        assert self._documents[d.fingerprint] == 0, "ledger: document already registered"
        record: uint256 = (
            convert(d.face, uint256)
            | (convert(d.currency, uint256) << _CURRENCY_SHIFT)
            | fixed
            | (convert(d.issued, uint256) << _ISSUED_SHIFT)
        )
        self._documents[d.fingerprint] = record | ((convert(d.owner, uint256) >> _OWNER_SHIFT) << _OWNER_SHIFT)
        log DocumentRegistered(fingerprint=d.fingerprint, owner=d.owner, record=record)
    log DocumentsRegistered(registrar=registrar, operator=msg.sender, doc_type=doc_type, count=len(documents))


################################################################
#                     SCENARIOS: THE GUARD                     #
################################################################


@external
def hold(
    financing_id: uint256,
    owner: bytes32,
    currency: uint16,
    doc_type: uint8,
    fingerprints: DynArray[bytes32, codes.MAX_CITED],
    amounts: DynArray[uint256, codes.MAX_CITED],
) -> (uint8, uint256):
    """
    @notice Verifies (核验) every cited document, then holds all amounts,
            or none: a failure changes nothing and is returned, not reverted,
            so that the scenario can record the attempt.
    @return The reason code (0 when held) and the first failing index.
    """
    assert self.scenarios[msg.sender], "ledger: caller is not an authorised scenario"
    assert len(fingerprints) == len(amounts), "ledger: fingerprints and amounts differ in length"
    tag: uint256 = convert(owner, uint256) >> _OWNER_SHIFT
    # Pass 1 reads only, so that a failure needs no undo; refusing a document
    # cited twice keeps the reads independent of the writes of pass 2.
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        assert amounts[i] != 0, "ledger: amount must be positive"
        for j: uint256 in range(i, bound=codes.MAX_CITED):
            assert fingerprints[j] != fingerprints[i], "ledger: document cited twice"
        reason: uint8 = self._verify(self._documents[fingerprints[i]], tag, currency, doc_type, amounts[i])
        if reason != codes.REASON_OK:
            return reason, i
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        fingerprint: bytes32 = fingerprints[i]
        word: uint256 = self._documents[fingerprint]
        held: uint256 = ((word >> _HELD_SHIFT) & _U64) + amounts[i]
        if word & _SINCE_MASK == 0:
            word |= block.timestamp << _SINCE_SHIFT
        self._documents[fingerprint] = (word & ~_HELD_MASK) | (held << _HELD_SHIFT)
        log AmountHeld(fingerprint=fingerprint, scenario=msg.sender, financing_id=financing_id, amount=amounts[i], held=held)
    return codes.REASON_OK, 0


@external
def release(financing_id: uint256, fingerprints: DynArray[bytes32, codes.MAX_CITED], amounts: DynArray[uint256, codes.MAX_CITED]):
    """
    @notice Frees held amounts (the financing was rejected or withdrawn).
    """
    assert self.ever_authorised[msg.sender], "ledger: caller was never an authorised scenario"
    assert len(fingerprints) == len(amounts), "ledger: fingerprints and amounts differ in length"
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        fingerprint: bytes32 = fingerprints[i]
        word: uint256 = self._documents[fingerprint]
        held: uint256 = (word >> _HELD_SHIFT) & _U64
        assert held >= amounts[i], "ledger: release exceeds the held amount"
        held = unsafe_sub(held, amounts[i])  # checked just above
        word = (word & ~_HELD_MASK) | (held << _HELD_SHIFT)
        if held == 0:
            word &= ~_SINCE_MASK
        self._documents[fingerprint] = word
        log AmountReleased(fingerprint=fingerprint, scenario=msg.sender, financing_id=financing_id, amount=amounts[i], held=held)


@external
def consume(financing_id: uint256, fingerprints: DynArray[bytes32, codes.MAX_CITED], amounts: DynArray[uint256, codes.MAX_CITED]):
    """
    @notice Turns held amounts into used ones: the financing was repaid,
            the receivable collected, and the document is not freed.
    @dev The held total already counts the amounts; only the event changes
         what the holds mean to the indexer.
    """
    assert self.ever_authorised[msg.sender], "ledger: caller was never an authorised scenario"
    assert len(fingerprints) == len(amounts), "ledger: fingerprints and amounts differ in length"
    for i: uint256 in range(len(fingerprints), bound=codes.MAX_CITED):
        held: uint256 = (self._documents[fingerprints[i]] >> _HELD_SHIFT) & _U64
        assert held >= amounts[i], "ledger: consume exceeds the held amount"
        log AmountConsumed(fingerprint=fingerprints[i], scenario=msg.sender, financing_id=financing_id, amount=amounts[i], held=held)


################################################################
#                 INTER-BANK QUERY AND SCREENING               #
################################################################


@view
@external
def documents(fingerprints: DynArray[bytes32, MAX_QUERY]) -> DynArray[uint256, MAX_QUERY]:
    """
    @notice Batch inter-bank financing information (银行间融资信息互动):
            for each fingerprint, the packed record without its owner tag:
            face, held, currency, type, issue day and since when it is used.
            Zero means unknown. Says nothing about who financed it.
    """
    out: DynArray[uint256, MAX_QUERY] = []
    for fingerprint: bytes32 in fingerprints:
        out.append(self._documents[fingerprint] & _PUBLIC_MASK)
    return out


@view
@external
def document(fingerprint: bytes32) -> (uint8, uint256, uint256, uint16, uint8, uint16, uint256):
    """
    @notice One document's status for people: status (0 unknown, 1 free,
            2 partly used, 3 fully used), face, held, currency, type,
            issue day, and since when it is used.
    """
    word: uint256 = self._documents[fingerprint]
    if word == 0:
        return 0, 0, 0, 0, 0, 0, 0
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
        convert((word >> _CURRENCY_SHIFT) & 65535, uint16),
        convert((word >> _TYPE_SHIFT) & 255, uint8),
        convert((word >> _ISSUED_SHIFT) & 65535, uint16),
        (word & _SINCE_MASK) >> _SINCE_SHIFT,
    )


################################################################
#                      INTERNAL FUNCTIONS                      #
################################################################


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
        return doc_type == codes.DOC_TAX_FILING or doc_type == codes.DOC_FREIGHT_INVOICE
    return False


@pure
@internal
def _verify(word: uint256, tag: uint256, currency: uint16, doc_type: uint8, amount: uint256) -> uint8:
    if word == 0:
        return codes.REASON_NOT_FOUND
    if (word >> _TYPE_SHIFT) & 255 != convert(doc_type, uint256):
        return codes.REASON_WRONG_TYPE
    if word >> _OWNER_SHIFT != tag:
        return codes.REASON_WRONG_OWNER
    if (word >> _CURRENCY_SHIFT) & 65535 != convert(currency, uint256):
        return codes.REASON_CURRENCY_MISMATCH
    face: uint256 = word & _U64
    held: uint256 = (word >> _HELD_SHIFT) & _U64
    if held >= face:
        return codes.REASON_DUPLICATE
    if amount > face - held:
        return codes.REASON_OVER_FINANCED
    return codes.REASON_OK
