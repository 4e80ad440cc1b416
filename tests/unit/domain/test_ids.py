"""Participant ids: the regulator's directory issues them; a member's id book knows some of them."""

from __future__ import annotations

import json

import pytest

from crossborder.domain.fingerprint import Fingerprinter
from crossborder.domain.identifiers import make_uscc
from crossborder.domain.ids import DirectoryIds, IdBook
from crossborder.errors import InvalidInput, UnknownParticipantId
from crossborder.settings import DEVNET_DIRECTORY_KEY, Settings

FIRM = make_uscc("91350200MA2Y00001")
OTHER = make_uscc("91500000MA5U00002")
CONSORTIUM_KEY = b"consortium-key-every-member-holds"
DIRECTORY_KEY = b"directory-key-only-the-regulator-holds"


def test_directory_ids_are_stable_and_not_the_consortium_keys_fingerprint() -> None:
    directory = DirectoryIds(DIRECTORY_KEY)
    assert directory.participant(FIRM) == DirectoryIds(DIRECTORY_KEY).participant(FIRM)
    assert directory.participant(FIRM) != directory.participant(OTHER)
    # What a member can compute from the public USCC with its own key is another value.
    assert directory.participant(FIRM) != Fingerprinter(CONSORTIUM_KEY).participant(FIRM)
    assert "directory-key" not in repr(directory)


def test_the_book_answers_only_what_it_learned_and_keeps_it(tmp_path) -> None:
    path = tmp_path / "ids.json"
    pid = DirectoryIds(DIRECTORY_KEY).participant(FIRM)
    book = IdBook(path)
    with pytest.raises(UnknownParticipantId, match="consent carries it"):
        book.participant(FIRM)
    book.learn(FIRM, pid)
    assert book.participant(FIRM.lower()) == pid
    assert IdBook(path).participant(FIRM) == pid  # saved, and read back by a new process
    assert json.loads(path.read_text()) == {FIRM: "0x" + pid.hex()}
    with pytest.raises(UnknownParticipantId):
        IdBook(path).participant(OTHER)


def test_the_book_refuses_a_second_id_for_a_firm_and_malformed_input(tmp_path) -> None:
    book = IdBook(tmp_path / "ids.json")
    book.learn(FIRM, b"\x01" * 32)
    book.learn(FIRM, b"\x01" * 32)  # the same again is fine
    with pytest.raises(InvalidInput, match="another id"):
        book.learn(FIRM, b"\x02" * 32)
    with pytest.raises(InvalidInput, match="32 bytes"):
        book.learn(OTHER, b"\x01" * 31)
    with pytest.raises(InvalidInput):
        book.learn("not a uscc", b"\x01" * 32)
    assert book.participant(FIRM) == b"\x01" * 32
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="unreadable"):
        IdBook(tmp_path / "broken.json")


def test_the_directory_key_is_the_published_one_only_on_the_devnet(tmp_path) -> None:
    member = Settings(devnet=False, devnet_dir=tmp_path, id_book=tmp_path / "book.json")
    assert member.directory_key_for(7368) is None
    assert isinstance(member.participant_ids(7368), IdBook)
    devnet = Settings(devnet=True, devnet_dir=tmp_path)
    assert devnet.directory_key_for(31337) == DEVNET_DIRECTORY_KEY.encode()
    regulator = Settings(devnet=False, devnet_dir=tmp_path, directory_key="k" * 32)
    ids = regulator.participant_ids(7368)
    assert isinstance(ids, DirectoryIds)
    assert ids.participant(FIRM) == DirectoryIds(b"k" * 32).participant(FIRM)
