"""``crossborder ids``: participant ids, which no member can derive from a USCC.

The regulator's directory (``CROSSBORDER_DIRECTORY_KEY``) issues a firm's id on a lookup the firm
authorised and writes who asked, when and why to its audit log; a member keeps the ids it learned
in its id book (``CROSSBORDER_ID_BOOK``). See the README's trust model.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click

from ..chain.rpc import connect_rpc
from ..domain.identifiers import validate_uscc
from ..domain.ids import DirectoryIds, IdBook, ParticipantIds
from ..errors import InvalidInput
from ..settings import Settings, get_settings
from .common import console, friendly


@click.group()
def ids() -> None:
    """参与方标识: participant ids from the regulator's directory, and a member's id book."""


def _resolver(settings: Settings) -> ParticipantIds:
    return settings.participant_ids(connect_rpc(settings.rpc_url).chain_id())


@ids.command("show")
@click.argument("usccs", nargs=-1, required=True)
@friendly
def show_cmd(usccs: tuple[str, ...]) -> None:
    """Prints the on-chain id of each USCC, as this process knows it (directory or id book)."""
    resolver = _resolver(get_settings())
    for uscc in usccs:
        console.print(f"{validate_uscc(uscc)}  0x{resolver.participant(uscc).hex()}")


@ids.command("learn")
@click.argument("uscc")
@click.argument("pid", metavar="ID")
@friendly
def learn_cmd(uscc: str, pid: str) -> None:
    """Records in this member's id book the ID a firm (or the directory) gave for USCC."""
    resolver = _resolver(get_settings())
    if not isinstance(resolver, IdBook):
        raise InvalidInput("this process holds the directory key: it knows every id already")
    try:
        raw = bytes.fromhex(pid.removeprefix("0x"))
    except ValueError:
        raise InvalidInput(f"{pid!r} is not a hex participant id") from None
    resolver.learn(uscc, raw)
    console.print(f"{validate_uscc(uscc)} → 0x{raw.hex()} recorded in {resolver.path}")


@ids.command("issue")
@click.argument("uscc")
@click.option("--to", "asker", required=True, help="the USCC of the institution that asks")
@click.option("--reason", required=True, help="why, e.g. the firm's authorisation reference")
@click.option(
    "--audit-log",
    type=click.Path(path_type=Path),
    help="the directory's audit log (JSON lines) [default: directory-audit.jsonl in devnet_dir]",
)
@friendly
def issue_cmd(uscc: str, asker: str, reason: str, audit_log: Path | None) -> None:
    """The directory's audited lookup: prints USCC's id for the asking institution and logs it."""
    settings = get_settings()
    resolver = _resolver(settings)
    if not isinstance(resolver, DirectoryIds):
        raise InvalidInput(
            "only the regulator's directory issues ids: set CROSSBORDER_DIRECTORY_KEY"
        )
    if not reason.strip():
        raise InvalidInput("say why the id is issued (--reason)")
    uscc, asker = validate_uscc(uscc), validate_uscc(asker)
    pid = resolver.participant(uscc)
    entry = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "uscc": uscc,
        "id": "0x" + pid.hex(),
        "to": asker,
        "reason": reason.strip(),
    }
    path = audit_log or settings.devnet_dir / "directory-audit.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Appended and flushed before the id is shown: no id leaves the directory unlogged.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    console.print(f"{uscc}  0x{pid.hex()}  (issued to {asker}, logged in {path})")
