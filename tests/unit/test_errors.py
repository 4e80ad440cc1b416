"""Every contract revert string maps to a typed error; verification reasons map to theirs."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
import snekmate

from crossborder.domain.codes import Reason
from crossborder.errors import (
    REVERTS,
    VERIFICATION_ERRORS,
    CrossborderError,
    CurrencyMismatch,
    DocumentNotFound,
    DuplicateFinancing,
    OverFinancing,
    TransactionFailed,
    VerificationFailed,
    WrongDocumentType,
    WrongExporter,
    from_revert,
    verification_error,
)

CONTRACTS = Path(__file__).parents[2] / "contracts"
SNEKMATE = Path(next(iter(snekmate.__path__)))  # a namespace package of .vy files


def revert_strings(source: str) -> set[str]:
    """The string literals of `assert <test>, "..."` and `raise "..."` in Vyper source.

    Works on tokens, so an assert split over lines counts and text in docstrings or comments
    does not.
    """
    found: set[str] = set()
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type not in (tokenize.NL, tokenize.COMMENT)
    ]
    for i, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in ("assert", "raise"):
            continue
        depth, j = 0, i + 1
        if token.string == "raise":
            j -= 1  # the message follows `raise` directly
        while j + 1 < len(tokens) and tokens[j].type != tokenize.NEWLINE:
            t = tokens[j]
            if t.string in "([{" and t.type == tokenize.OP:
                depth += 1
            elif t.string in ")]}" and t.type == tokenize.OP:
                depth -= 1
            elif (
                depth == 0 and (t.string == "," or j == i) and tokens[j + 1].type == tokenize.STRING
            ):
                found.add(_literal(tokens[j + 1].string))
                break
            j += 1
    return found


def _literal(token: str) -> str:
    assert token[0] in "\"'" and token[-1] == token[0], f"unexpected literal {token}"
    return token[1:-1]


def contract_revert_strings() -> dict[str, set[str]]:
    return {
        str(path.relative_to(CONTRACTS)): revert_strings(path.read_text())
        for path in sorted(CONTRACTS.rglob("*.vy"))
    }


################################################################
#                         THE SCANNER                          #
################################################################


def test_scanner_reads_every_form():
    source = '''
"""
A docstring that mentions assert x, "not a revert".
"""
@external
def f(a: uint256):
    assert a != 0, "one line"
    assert (
        a < 10 and self.g(a, 2) != 0
    ), "split over lines"
    assert self.h(a, "an argument, not a message") != 0, 'single quotes'
    assert a != 5  # no message, "in a comment"
    if a == 7:
        raise "raised"
    x: uint256 = 1
'''
    assert revert_strings(source) == {"one line", "split over lines", "single quotes", "raised"}


def test_scanner_sees_the_contracts():
    per_file = contract_revert_strings()
    assert {"Consortium.vy", "DocumentLedger.vy", "modules/financing_lifecycle.vy"} <= set(per_file)
    assert len(set().union(*per_file.values())) >= 30


################################################################
#                        THE REVERTS TABLE                     #
################################################################


def test_every_contract_revert_string_is_mapped():
    missing = {
        f"{file}: {message}"
        for file, messages in contract_revert_strings().items()
        for message in messages
        if message not in REVERTS
    }
    assert not missing, f"revert strings without an entry in crossborder.errors.REVERTS: {missing}"


def test_every_mapped_revert_string_exists():
    """No stale entries: each key is raised by contracts/ or by a snekmate module they use."""
    used = set().union(*contract_revert_strings().values())
    for path in CONTRACTS.rglob("*.vy"):
        for package, module in re.findall(
            r"^from snekmate\.(\w+) import (\w+)", path.read_text(), re.M
        ):
            used |= revert_strings((SNEKMATE / package / f"{module}.vy").read_text())
    stale = set(REVERTS) - used
    assert not stale, f"REVERTS entries no contract raises: {stale}"


@pytest.mark.parametrize("message", sorted(REVERTS))
def test_each_entry_is_a_typed_error_with_a_message(message):
    cls, text = REVERTS[message]
    assert issubclass(cls, CrossborderError)
    assert cls is not TransactionFailed
    assert text.strip()
    error = from_revert(message)
    assert type(error) is cls
    assert str(error) == text


@pytest.mark.parametrize(
    "reason", [None, "", "consortium: something new", "ownable: caller is not the owner "]
)
def test_unknown_revert_is_transaction_failed(reason):
    error = from_revert(reason)
    assert type(error) is TransactionFailed
    assert (reason or "no reason given").strip() in str(error)


################################################################
#                    VERIFICATION REASONS                      #
################################################################

EXPECTED = {
    Reason.NOT_FOUND: DocumentNotFound,
    Reason.WRONG_TYPE: WrongDocumentType,
    Reason.WRONG_OWNER: WrongExporter,
    Reason.CURRENCY_MISMATCH: CurrencyMismatch,
    Reason.DUPLICATE: DuplicateFinancing,
    Reason.OVER_FINANCED: OverFinancing,
}


@pytest.mark.parametrize("reason", [r for r in Reason if r != Reason.OK], ids=lambda r: r.name)
def test_verification_error_per_reason(reason):
    error = verification_error(int(reason), fingerprint=b"\x01" * 32, amount=42)
    assert type(error) is EXPECTED[reason]
    assert isinstance(error, VerificationFailed)
    assert error.reason == reason
    assert (error.fingerprint, error.amount) == (b"\x01" * 32, 42)
    assert str(error) == VERIFICATION_ERRORS[reason][1]


def test_duplicate_and_over_financing_say_different_things():
    duplicate = str(verification_error(Reason.DUPLICATE))
    over = str(verification_error(Reason.OVER_FINANCED))
    assert duplicate != over
    assert "重复融资" in duplicate and "超额融资" in over


def test_ok_is_not_an_error():
    assert set(VERIFICATION_ERRORS) == set(Reason) - {Reason.OK}
    with pytest.raises(KeyError):
        verification_error(Reason.OK)
    with pytest.raises(ValueError):
        verification_error(99)


def test_every_error_class_has_a_docstring():
    import inspect

    from crossborder import errors

    classes = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.CrossborderError)
    ]
    assert len(classes) > 20
    assert [c.__name__ for c in classes if not (c.__dict__.get("__doc__") or "").strip()] == []


def test_a_refusal_carries_its_context_and_stays_one_line():
    error = from_revert(
        "financing: the applicant may not review", tx_hash="0xabc", contract="0xdef"
    )
    assert error.context == {
        "revert": "financing: the applicant may not review",
        "tx_hash": "0xabc",
        "contract": "0xdef",
    }
    assert "\n" not in str(error) and "maker-checker" in str(error)
    unknown = from_revert("something new", tx_hash="0x1")
    assert isinstance(unknown, TransactionFailed) and unknown.revert == "something new"
    assert CrossborderError("plain").context == {}
