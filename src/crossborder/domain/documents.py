"""Document kinds: how each type of source document is numbered and fingerprinted.

One table, so that a new kind of document (a waybill, a tax filing) is a row here: its ledger
type, the fingerprint domain, the validator of its number and its name as users know it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidInput
from .codes import DocumentType
from .fingerprint import DECLARATION_KIND, Fingerprinter, normalise_field
from .identifiers import validate_declaration_number

_REFERENCE = re.compile(r"[A-Z0-9][A-Z0-9/-]{3,34}")


def validate_reference(value: str) -> str:
    """A transport or policy reference (waybill 运单号, bill of lading 提单号, policy 保单号):
    4 to 35 letters, digits, '-' or '/', in normal form (upper case, no spaces)."""
    reference = normalise_field(value).replace(" ", "")
    if not _REFERENCE.fullmatch(reference):
        raise InvalidInput(
            f"reference {reference!r} must be 4 to 35 letters, digits, '-' or '/' (no spaces)"
        )
    return reference


_FILING = re.compile(r"[A-Z0-9]{6,30}/[A-Z0-9]{4,12}")
_INVOICE = re.compile(r"\d{10,12}/\d{8}|\d{20}")


def validate_tax_filing(value: str) -> str:
    """A service-trade tax filing (服务贸易等项目对外支付税务备案表): its serial number
    (备案编号) and check code (校验码) as ``SERIAL/CHECK``, letters and digits."""
    number = normalise_field(value).replace(" ", "")
    if not _FILING.fullmatch(number):
        raise InvalidInput(
            f"tax filing {number!r} must be SERIAL/CHECK: 6-30 and 4-12 letters or digits"
        )
    return number


def validate_invoice(value: str) -> str:
    """An invoice (发票): ``CODE/NUMBER`` (发票代码 10 or 12 digits, 发票号码 8 digits), or the
    20-digit number of a fully digital e-invoice (全电发票)."""
    number = normalise_field(value).replace(" ", "")
    if not _INVOICE.fullmatch(number):
        raise InvalidInput(
            f"invoice {number!r} must be CODE/NUMBER (10-12 and 8 digits) or 20 digits"
        )
    return number


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document.

    Attributes:
        doc_type: Its type on the ledger (documents are keyed by type and fingerprint).
        fingerprint_kind: The fingerprint's domain (``Fingerprinter.document``'s kind).
        validate: Checks and normalises a document number (raises ``InvalidInput``).
        label: Its name as users know it, Chinese and English.
    """

    doc_type: DocumentType
    fingerprint_kind: str
    validate: Callable[[str], str]
    label: str


DOCUMENT_KINDS: dict[DocumentType, DocumentKind] = {
    DocumentType.EXPORT_DECLARATION: DocumentKind(
        DocumentType.EXPORT_DECLARATION,
        DECLARATION_KIND,
        validate_declaration_number,
        "出口报关单 export customs declaration",
    ),
    DocumentType.IMPORT_DECLARATION: DocumentKind(
        DocumentType.IMPORT_DECLARATION,
        DECLARATION_KIND,
        validate_declaration_number,
        "进口报关单 import customs declaration",
    ),
    DocumentType.RAIL_WAYBILL: DocumentKind(
        DocumentType.RAIL_WAYBILL,
        "rail-waybill",
        validate_reference,
        "铁路运单 rail waybill",
    ),
    DocumentType.BILL_OF_LADING: DocumentKind(
        DocumentType.BILL_OF_LADING,
        "bill-of-lading",
        validate_reference,
        "提单 bill of lading",
    ),
    # Payment facilitation (便利化类).
    DocumentType.TAX_FILING: DocumentKind(
        DocumentType.TAX_FILING,
        "tax-filing",
        validate_tax_filing,
        "服务贸易税务备案 service-trade tax filing",
    ),
    DocumentType.FREIGHT_INVOICE: DocumentKind(
        DocumentType.FREIGHT_INVOICE,
        "freight-invoice",
        validate_invoice,
        "运费发票 freight invoice",
    ),
    DocumentType.INVOICE: DocumentKind(
        DocumentType.INVOICE,
        "invoice",
        validate_invoice,
        "发票 invoice",
    ),
}

# Fingerprint domains of identifiers that are not ledger documents.
POLICY_KIND = "insurance-policy"
BUYER_KIND = "buyer-code"


def document_kind(doc_type: DocumentType) -> DocumentKind:
    """The kind of ``doc_type``; a type the SDK does not number yet is refused."""
    try:
        return DOCUMENT_KINDS[DocumentType(doc_type)]
    except (KeyError, ValueError):
        raise InvalidInput(f"documents of type {doc_type!r} are not supported yet") from None


def document_fingerprint(fingerprints: Fingerprinter, doc_type: DocumentType, number: str) -> bytes:
    """The keyed fingerprint of a document of ``doc_type`` by its number."""
    kind = document_kind(doc_type)
    return fingerprints.document(kind.fingerprint_kind, kind.validate(number))
