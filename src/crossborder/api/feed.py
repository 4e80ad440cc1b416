"""Event notifications: the platform's logs, confirmed, filtered to what one caller may see.

A bank is notified of its own financings (every event of a scenario contract that names one of
its financings or its bank, branches included) and of the documents they cite (holds, releases,
voids, corrections and links on the ledger, by any bank: another bank's financing stays
unnamed). The regulator is notified of everything. Each notification carries its position,
``block:log_index``, as its cursor: a stream resumed after a cursor delivers what follows it,
so a client that resumes from the last cursor it received gets every event at least once.
Only blocks ``CROSSBORDER_CONFIRMATIONS`` behind the head are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..chain.rpc import Log
from ..domain.scenarios import SCENARIO_SPECS
from ..errors import InvalidInput
from ..services.consortium import CONSORTIUM
from ..services.documents import LEDGER
from .gateway import Gateway, Principal

# A cursor naming a whole block: "B" means after every log of block B.
WHOLE_BLOCK = 1 << 31
MAX_RANGE = 2000
CURSOR_PATTERN = r"^[0-9]{1,18}(:[0-9]{1,9})?$"
_CURSOR = re.compile(CURSOR_PATTERN)
DOCUMENT_EVENTS = frozenset(
    {
        "AmountHeld",
        "AmountReleased",
        "AmountConsumed",
        "DocumentVoided",
        "FaceCorrected",
        "DocumentLinked",
    }
)
# What a bank learns of another bank's hold on a document it cites: the document, not the hold.
_OTHERS_HOLD = ("fingerprint", "doc_type", "held")


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the chain's logs: after log ``log_index`` of ``block``."""

    block: int
    log_index: int = WHOLE_BLOCK

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """``"B:L"`` (after that log) or ``"B"`` (after the whole block).

        Raises:
            InvalidInput: Anything else.
        """
        if not _CURSOR.fullmatch(text):
            raise InvalidInput(f"cursor {text!r} is not BLOCK:LOG_INDEX (or BLOCK)")
        block, _, index = text.partition(":")
        return cls(int(block), int(index) if index else WHOLE_BLOCK)

    def __str__(self) -> str:
        if self.log_index == WHOLE_BLOCK:
            return str(self.block)
        return f"{self.block}:{self.log_index}"


@dataclass(frozen=True)
class Notification:
    cursor: Cursor
    event: str
    data: dict[str, Any]


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass
class _Scope:
    """A bank's own financings and the documents they cite, grown as the stream goes."""

    banks: set[bytes]
    own: dict[tuple[str, int], bool] = field(default_factory=dict)
    cited: set[tuple[int, bytes]] = field(default_factory=set)


class EventFeed:
    """One subscriber's stream of notifications, read in polls (blocking; call in a thread).

    Args:
        after: Deliver what follows this cursor; None starts after the confirmed head.
    """

    def __init__(self, gateway: Gateway, principal: Principal, after: Cursor | None) -> None:
        self.gateway = gateway
        self.platform = gateway.platform
        self.principal = principal
        deployment = self.platform.deployment
        self._names = {a.lower(): n for n, a in deployment.contracts.items()}
        self._scenarios = {
            deployment.scenarios[s.name].address.lower(): s.name
            for s in SCENARIO_SPECS
            if s.name in deployment.scenarios
        }
        self.cursor = after if after is not None else Cursor(self.confirmed_head())
        self._next = self.cursor.block + (1 if self.cursor.log_index == WHOLE_BLOCK else 0)
        self._scope = None if principal.regulator else self._bank_scope()
        self.caught_up = False

    def confirmed_head(self) -> int:
        return max(0, self.platform.rpc.block_number() - self.gateway.confirmations)

    def poll(self) -> list[Notification]:
        """What is new and confirmed since the last poll (at most ``MAX_RANGE`` blocks)."""
        head = self.confirmed_head()
        if self._next > head:
            self.caught_up = True
            return []
        last = min(head, self._next + MAX_RANGE - 1)
        self.caught_up = last == head
        logs = self.platform.rpc.get_logs(
            address=list(self._names), from_block=self._next, to_block=last
        )
        out = []
        for log in sorted(logs, key=lambda log: (log.block_number, log.log_index)):
            position = Cursor(log.block_number, log.log_index)
            if position <= self.cursor:
                continue
            notification = self._notification(position, log)
            if notification is not None:
                out.append(notification)
        self._next = last + 1
        self.cursor = max(self.cursor, Cursor(last))
        return out

    # -- what a caller sees ----------------------------------------------------------------------

    def _notification(self, position: Cursor, log: Log) -> Notification | None:
        contract = self._names.get(log.address)
        if contract is None:
            return None
        event = self.platform.abis[contract].decode_log(log.topics, log.data)
        if event is None:
            return None
        args = dict(event.args)
        whole = True
        if self._scope is not None:
            shown = self._for_bank(self._scope, log.address, event.name, args)
            if shown is None:
                return None
            whole = shown.keys() == args.keys()
            args = shown
        data = {
            "cursor": str(position),
            "event": event.name,
            "contract": contract,
            "scenario": self._scenarios.get(log.address),
            "block": log.block_number,
            "log_index": log.log_index,
            # Another bank's hold on a cited document: the document, not whose transaction.
            "transaction": log.tx_hash if whole else None,
            "args": {k: jsonable(v) for k, v in args.items()},
        }
        return Notification(position, event.name, data)

    def _for_bank(
        self, scope: _Scope, address: str, name: str, args: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The arguments a bank is shown of an event, or None when it is not the bank's."""
        if address in self._scenarios:
            if "financing_id" in args:
                return args if self._own(scope, address, int(args["financing_id"])) else None
            bank = args.get("bank")
            return args if bank is not None and bytes(bank) in scope.banks else None
        if self._names.get(address) != LEDGER:
            return None
        if name == "HoldsForceReleased":
            return args if bytes(args["bank"]) in scope.banks else None
        if name not in DOCUMENT_EVENTS:
            return None
        holder = args.get("scenario")
        if holder is not None and self._own(scope, str(holder).lower(), int(args["financing_id"])):
            return args
        if (int(args["doc_type"]), bytes(args["fingerprint"])) not in scope.cited:
            return None
        if holder is None:
            return args
        return {key: args[key] for key in _OTHERS_HOLD if key in args}

    def _own(self, scope: _Scope, address: str, financing_id: int) -> bool:
        """Whether a financing is the bank's; a new one adds the documents it cites."""
        key = (address, financing_id)
        known = scope.own.get(key)
        if known is None:
            name = self._names.get(address)
            if name is None or address not in self._scenarios:
                return False
            (record,) = self.platform.view(name, "financing", financing_id)
            known = int(record[2]) != 0 and self.gateway.head_of(bytes(record[1])) in scope.banks
            scope.own[key] = known
            if known:
                self._cite(scope, name, [financing_id], {financing_id: int(record[8])})
        return known

    # -- a bank's financings and documents, at the start ---------------------------------------

    def _bank_scope(self) -> _Scope:
        head = self.principal.head
        assert head is not None
        scope = _Scope(banks={head} | self._branches(head))
        platform = self.platform
        for spec in SCENARIO_SPECS:
            deployed = platform.deployment.scenarios.get(spec.name)
            if deployed is None:
                continue
            abi = platform.abis[spec.contract]
            logs = platform.rpc.get_logs(
                address=deployed.address,
                topics=[abi.event_topic("FinancingApplied"), None, sorted(scope.banks)],
                from_block=deployed.block,
            )
            ids = [int.from_bytes(log.topics[1], "big") for log in logs]
            address = deployed.address.lower()
            scope.own.update({(address, i): True for i in ids})
            records = self._batch(spec.contract, "financing", ids)
            self._cite(
                scope,
                spec.contract,
                ids,
                {i: int(r[0][8]) for i, r in zip(ids, records, strict=True)},
            )
        return scope

    def _branches(self, head: bytes) -> set[bytes]:
        abi = self.platform.abis[CONSORTIUM]
        logs = self.platform.rpc.get_logs(
            address=self.platform.address(CONSORTIUM),
            topics=[abi.event_topic("ParticipantOnboarded"), None, head],
            from_block=self.platform.deployment.block,
        )
        return {log.topics[1] for log in logs}

    def _cite(self, scope: _Scope, contract: str, ids: list[int], types: dict[int, int]) -> None:
        for financing_id, (fingerprints, _) in zip(
            ids, self._batch(contract, "cited", ids), strict=True
        ):
            doc_type = types[financing_id]
            scope.cited.update((doc_type, bytes(f)) for f in fingerprints)

    def _batch(self, contract: str, fn: str, ids: list[int]) -> list[tuple[Any, ...]]:
        """One view per financing, in one JSON-RPC batch."""
        if not ids:
            return []
        abi = self.platform.abis[contract]
        to = self.platform.address(contract)
        answers = self.platform.rpc.batch(
            [
                ("eth_call", [{"to": to, "data": "0x" + abi.encode_call(fn, i).hex()}, "latest"])
                for i in ids
            ]
        )
        return [abi.decode_output(fn, bytes.fromhex(a[2:])) for a in answers]
