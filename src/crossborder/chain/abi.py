"""Contract ABIs from the compiled project, with precomputed encoders and decoders.

The only source of ABIs is ``ape compile``'s manifest (``.build/__local__.json``). Selectors,
canonical type strings and ``eth_abi`` tuple coders are built once per contract, so that encoding
a call or decoding a log is one ``eth_abi`` call on precomputed coders: the indexer decodes
hundreds of thousands of logs with these.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from eth_abi.decoding import ContextFramesBytesIO
from eth_abi.exceptions import DecodingError, EncodingError
from eth_abi.registry import registry
from eth_utils.crypto import keccak

from ..errors import CrossborderError, InvalidInput
from ..settings import get_settings

Coder = Callable[[Any], Any]
WordDecoder = Callable[[bytes], Any]
ABIEntry = Mapping[str, Any]


class LogLike(Protocol):
    """Anything with a log's address, topics and data (``rpc.Log`` is one)."""

    @property
    def address(self) -> str: ...

    @property
    def topics(self) -> Sequence[bytes]: ...

    @property
    def data(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """An event decoded from a log.

    Attributes:
        name: The event's name.
        args: Its arguments by name, in declaration order. Indexed dynamic values (strings,
            arrays, structs) are only their keccak hash, the 32-byte topic.
        log: The log it came from, when decoded by ``decode_logs``.
    """

    name: str
    args: dict[str, Any]
    log: LogLike | None = None


def shipped_build_file() -> Path:
    """The compiled contracts shipped inside the package (``make compile`` writes them)."""
    return Path(str(resources.files("crossborder") / "artifacts" / "contracts.json"))


def default_build_file() -> Path:
    """``$CROSSBORDER_BUILD_FILE`` (an ape manifest), else the contracts the package ships."""
    return get_settings().build_file or shipped_build_file()


_manifests: dict[Path, tuple[int, dict[str, ContractAbi]]] = {}
_manifests_lock = threading.Lock()


def load_manifest(path: Path | None = None) -> dict[str, ContractAbi]:
    """Every contract type of an ape manifest, by name (cached until the file changes).

    Raises:
        CrossborderError: The manifest does not exist; run ``ape compile`` (``make compile``).
    """
    path = (path or default_build_file()).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise CrossborderError(
            f"no compiled contracts at {path}: run `make compile` first"
        ) from None
    with _manifests_lock:
        cached = _manifests.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, _parse_manifest(path))
            _manifests[path] = cached
    return dict(cached[1])


def contract_abi(name: str, path: Path | None = None) -> ContractAbi:
    """One contract type of the manifest.

    Raises:
        CrossborderError: The manifest has no contract of that name.
    """
    manifest = load_manifest(path)
    if name not in manifest:
        raise CrossborderError(f"the compiled project has no contract {name!r}")
    return manifest[name]


def _parse_manifest(path: Path) -> dict[str, ContractAbi]:
    types = json.loads(path.read_text())["contractTypes"]
    return {
        name: ContractAbi(
            name,
            entry.get("abi", []),
            _hex_bytes((entry.get("deploymentBytecode") or {}).get("bytecode")),
        )
        for name, entry in types.items()
    }


def _hex_bytes(value: str | None) -> bytes:
    if not value:
        return b""
    return bytes.fromhex(value.removeprefix("0x"))


def canonical_type(param: ABIEntry) -> str:
    """The canonical ABI type of a parameter: structs become ``(t1,t2,…)``."""
    kind: str = param["type"]
    if not kind.startswith("tuple"):
        return kind
    inner = ",".join(canonical_type(c) for c in param["components"])
    return f"({inner}){kind[len('tuple') :]}"


def _struct_normaliser(param: ABIEntry) -> Coder | None:
    """A converter of dicts (by component name) into the tuples eth_abi wants, if needed."""
    kind: str = param["type"]
    if not kind.startswith("tuple"):
        return None
    names = [c["name"] for c in param["components"]]
    inner = [_struct_normaliser(c) for c in param["components"]]

    def one(value: Any) -> tuple[Any, ...]:
        if isinstance(value, Mapping):
            value = [value[n] for n in names]
        return tuple(v if f is None else f(v) for f, v in zip(inner, value, strict=True))

    convert: Coder = one
    for _ in range(kind.count("[")):
        convert = _each(convert)
    return convert


def _each(convert: Coder) -> Coder:
    return lambda values: [convert(v) for v in values]


def _tuple_encoder(types: Sequence[str]) -> Coder | None:
    return registry.get_encoder(f"({','.join(types)})") if types else None


def _tuple_decoder(types: Sequence[str]) -> Coder | None:
    return registry.get_decoder(f"({','.join(types)})", strict=True) if types else None


def _decode(decoder: Coder | None, data: bytes) -> tuple[Any, ...]:
    if decoder is None:
        return ()
    result: tuple[Any, ...] = decoder(ContextFramesBytesIO(data))  # type: ignore[no-untyped-call]
    return result


class _Function:
    """One ABI function with its selector and coders."""

    def __init__(self, entry: ABIEntry) -> None:
        self.name: str = entry["name"]
        self.input_types = [canonical_type(p) for p in entry["inputs"]]
        self.output_types = [canonical_type(p) for p in entry.get("outputs", [])]
        self.signature = f"{self.name}({','.join(self.input_types)})"
        self.selector = keccak(text=self.signature)[:4]
        self.encoder = _tuple_encoder(self.input_types)
        self.decoder = _tuple_decoder(self.output_types)
        self.normalisers = [_struct_normaliser(p) for p in entry["inputs"]]
        self.has_structs = any(f is not None for f in self.normalisers)


class _Event:
    """One ABI event with its topic and a precomputed plan for decoding its logs.

    Elementary values (one 32-byte word each: integers, addresses, bools, fixed bytes) are
    decoded by slicing; only events with dynamic data go through an ``eth_abi`` decoder.
    """

    def __init__(self, entry: ABIEntry) -> None:
        inputs = entry["inputs"]
        self.name: str = entry["name"]
        types = [canonical_type(p) for p in inputs]
        self.signature = f"{self.name}({','.join(types)})"
        self.topic = keccak(text=self.signature)
        indexed = [i for i, p in enumerate(inputs) if p.get("indexed")]
        not_indexed = [i for i in range(len(inputs)) if i not in indexed]
        self.topic_count = 1 + len(indexed)
        data_types = [types[i] for i in not_indexed]
        words = [_word_decoder(t) for t in data_types]
        self.data_words: list[tuple[int, WordDecoder]] | None = None
        self.data_decoder: Coder | None = None
        if all(w is not None for w in words):
            self.data_words = [(32 * n, w) for n, w in enumerate(words) if w is not None]
        else:
            self.data_decoder = _tuple_decoder(data_types)
        self.data_size = 32 * len(data_types)
        # Per argument, in declaration order: (name, from a topic?, index there, decoder).
        self.plan: list[tuple[str, bool, int, WordDecoder]] = [
            (p["name"], True, 1 + indexed.index(i), _topic_decoder(types[i]))
            if i in indexed
            else (p["name"], False, not_indexed.index(i), _identity)
            for i, p in enumerate(inputs)
        ]

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any] | None:
        """The arguments of a log, or None if its data does not fit the event."""
        values = self._data(data)
        if values is None:
            return None
        return {
            name: decode(topics[index]) if in_topic else values[index]
            for name, in_topic, index, decode in self.plan
        }

    def _data(self, data: bytes) -> Sequence[Any] | None:
        if self.data_words is not None:
            if len(data) < self.data_size:
                return None
            return [decode(data[at : at + 32]) for at, decode in self.data_words]
        try:
            return _decode(self.data_decoder, data)
        except DecodingError:
            return None


def _identity(value: bytes) -> bytes:
    return value


def _address_word(word: bytes) -> str:
    return "0x" + word[12:].hex()  # lowercase, as eth_abi decodes addresses


def _bool_word(word: bytes) -> bool:
    return word[31] == 1


def _uint_word(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _int_word(word: bytes) -> int:
    return int.from_bytes(word, "big", signed=True)


def _fixed_bytes_word(size: int) -> WordDecoder:
    return lambda word: word[:size]


def _word_decoder(kind: str) -> WordDecoder | None:
    """A decoder of one ABI word, for the elementary types that are one word."""
    if "[" in kind or kind.startswith("("):
        return None
    if kind == "address":
        return _address_word
    if kind == "bool":
        return _bool_word
    if kind.startswith("uint"):
        return _uint_word
    if kind.startswith("int"):
        return _int_word
    if kind.startswith("bytes") and kind[5:].isdigit():
        return _identity if kind == "bytes32" else _fixed_bytes_word(int(kind[5:]))
    return None


def _topic_decoder(kind: str) -> WordDecoder:
    """Indexed strings, bytes, arrays and structs are stored as their hash: keep the topic."""
    if kind in ("string", "bytes") or "[" in kind or kind.startswith("("):
        return _identity
    word = _word_decoder(kind)
    if word is not None:
        return word
    single = registry.get_decoder(kind, strict=True)
    return lambda topic: single(ContextFramesBytesIO(topic))  # type: ignore[no-untyped-call]


class ContractAbi:
    """A compiled contract's ABI and deployment bytecode, ready to encode and decode.

    Args:
        name: The contract's name.
        abi: Its ABI entries.
        bytecode: Its deployment (init) bytecode; empty for a module or interface.
    """

    def __init__(self, name: str, abi: Sequence[ABIEntry], bytecode: bytes = b"") -> None:
        self.name = name
        self.abi = list(abi)
        self.bytecode = bytecode
        self._functions: dict[str, list[_Function]] = {}
        self._events: dict[str, _Event] = {}
        self._events_by_topic: dict[bytes, _Event] = {}
        self._constructor_types: list[str] = []
        for entry in self.abi:
            self._add(entry)
        self._constructor_encoder = _tuple_encoder(self._constructor_types)

    def __repr__(self) -> str:
        return f"ContractAbi({self.name!r})"

    def _add(self, entry: ABIEntry) -> None:
        kind = entry.get("type")
        if kind == "function":
            function = _Function(entry)
            self._functions.setdefault(function.name, []).append(function)
            self._functions[function.signature] = [function]
        elif kind == "event" and not entry.get("anonymous"):
            event = _Event(entry)
            self._events[event.name] = event
            self._events_by_topic[event.topic] = event
        elif kind == "constructor":
            self._constructor_types = [canonical_type(p) for p in entry["inputs"]]

    @property
    def function_names(self) -> list[str]:
        """The names of the contract's functions."""
        return sorted({k for k in self._functions if "(" not in k})

    def selector(self, fn: str) -> bytes:
        """The 4-byte selector of a function (by name, or by signature if overloaded)."""
        return self._function(fn).selector

    def encode_call(self, fn: str, *args: Any) -> bytes:
        """The calldata of a function call: selector and ABI-encoded arguments.

        Args:
            fn: The function's name, or its signature (``"f(uint256)"``) if overloaded.
            *args: Its arguments; a struct may be a tuple or a dict by field name.

        Raises:
            InvalidInput: An argument does not fit its ABI type.
        """
        function = self._function(fn, len(args))
        if function.encoder is None:
            if args:
                raise InvalidInput(f"{self.name}.{function.name} takes no arguments")
            return function.selector
        if function.has_structs:
            args = tuple(
                a if f is None else f(a) for f, a in zip(function.normalisers, args, strict=False)
            )
        try:
            encoded: bytes = function.encoder(args)
        except EncodingError as exc:
            raise InvalidInput(f"{self.name}.{function.signature}: {exc}") from None
        return function.selector + encoded

    def decode_output(self, fn: str, data: bytes) -> tuple[Any, ...]:
        """The decoded return values of a call to ``fn``.

        Raises:
            CrossborderError: The output is empty though the function returns values (no
                contract at the address called).
        """
        function = self._function(fn)
        if not data and function.decoder is not None:
            raise CrossborderError(
                f"{self.name}.{function.name} returned nothing: is the contract deployed there?"
            )
        return _decode(function.decoder, data)

    def encode_constructor(self, *args: Any) -> bytes:
        """The deployment data: bytecode followed by the ABI-encoded constructor arguments."""
        if not self.bytecode:
            raise CrossborderError(f"{self.name} has no deployment bytecode")
        if self._constructor_encoder is None:
            if args:
                raise InvalidInput(f"the constructor of {self.name} takes no arguments")
            return self.bytecode
        try:
            encoded: bytes = self._constructor_encoder(args)
        except EncodingError as exc:
            raise InvalidInput(f"{self.name} constructor: {exc}") from None
        return self.bytecode + encoded

    def event_topic(self, name: str) -> bytes:
        """The topic (keccak of the signature) of an event."""
        try:
            return self._events[name].topic
        except KeyError:
            raise KeyError(f"{self.name} has no event {name!r}") from None

    def decode_log(self, topics: Sequence[bytes], data: bytes) -> DecodedEvent | None:
        """Decode a log of one of this contract's events, or None if it is not one of them."""
        event = self._events_by_topic.get(topics[0]) if topics else None
        if event is None or len(topics) != event.topic_count:
            return None
        args = event.decode(topics, data)
        return None if args is None else DecodedEvent(event.name, args)

    def decode_logs(
        self, logs: Iterable[LogLike], address_filter: str | Iterable[str] | None = None
    ) -> list[DecodedEvent]:
        """Decode the logs of this contract's events, skipping all others.

        Args:
            logs: Logs, e.g. a receipt's or an ``eth_getLogs`` answer.
            address_filter: Only logs emitted by this address (or these addresses).
        """
        wanted = _address_set(address_filter)
        events = self._events_by_topic
        decoded = []
        for log in logs:
            topics = log.topics
            if not topics or (wanted is not None and log.address.lower() not in wanted):
                continue
            event = events.get(topics[0])
            if event is None or len(topics) != event.topic_count:
                continue
            args = event.decode(topics, log.data)
            if args is not None:
                decoded.append(DecodedEvent(event.name, args, log))
        return decoded

    def _function(self, fn: str, arg_count: int | None = None) -> _Function:
        candidates = self._functions.get(fn)
        if not candidates:
            raise KeyError(f"{self.name} has no function {fn!r}")
        if len(candidates) > 1 and arg_count is not None:
            candidates = [f for f in candidates if len(f.input_types) == arg_count]
        if len(candidates) != 1:
            raise KeyError(f"{self.name}.{fn} is overloaded: name it by its signature")
        return candidates[0]


def _address_set(addresses: str | Iterable[str] | None) -> set[str] | None:
    if addresses is None:
        return None
    if isinstance(addresses, str):
        return {addresses.lower()}
    return {a.lower() for a in addresses}
