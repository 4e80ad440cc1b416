"""Contract ABIs from the compiled project, with precomputed encoders and decoders.

The only source of ABIs is ``ape compile``'s manifest (``.build/__local__.json``). Selectors,
canonical type strings and ``eth_abi`` tuple coders are built once per contract, so that encoding
a call or returning its output is one ``eth_abi`` call on precomputed coders.

Event logs have one decoder: an ``EventLayout`` (where each argument is: which topic, which data
word) compiled for a ``WordForm`` into an ``EventDecoder``. Values of one word (integers,
addresses, bools, fixed bytes: every platform event) are decoded by slicing, other data through
eth_abi. ``decode_log`` uses the ``RAW_WORDS`` form (bytes in, eth_abi's values out); the indexer
the ``HEX_WORDS`` form (a JSON-RPC log's hex strings in, the same values in JSON form out), so
that it decodes hundreds of thousands of logs without turning hex into bytes and back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from eth_abi.decoding import ContextFramesBytesIO
from eth_abi.exceptions import DecodingError, EncodingError
from eth_abi.registry import registry
from eth_utils.crypto import keccak

from ..errors import CrossborderError, InvalidInput
from ..settings import get_settings

Coder = Callable[[Any], Any]
WordDecoder = Callable[[Any], Any]  # one word (bytes or hex digits) to its value
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


class WordForm(NamedTuple):
    """One representation of a log's 32-byte ABI words, with the decoders of its one-word types.

    Every decoder of event logs is an ``EventLayout`` compiled for a form (``EventDecoder``).
    ``RAW_WORDS`` reads ``bytes`` topics and data (receipts, ``rpc.Log``) into eth_abi's values;
    ``HEX_WORDS`` reads the ``0x`` hex strings of a JSON-RPC log object into the same values in
    JSON form: bytes and addresses as ``0x`` lowercase hex. Each elementary type decodes in one
    row per form, side by side below; ``word_decoder`` is the one map from ABI type to decoder.

    Attributes:
        name: The form's name.
        width: A word's length: 32 bytes, or 64 hex digits.
        start: Where the words of a topic or of the data begin: 0, or 2 (after ``0x``).
        uint: Decoder of a ``uintN`` word.
        sint: Decoder of an ``intN`` word (sign-extended to 256 bits).
        address: Decoder of an ``address`` word (lowercase, as eth_abi decodes it).
        boolean: Decoder of a ``bool`` word (any nonzero word is true).
        fixed_bytes: The decoder of a ``bytesN`` word, by N.
        to_bytes: Words of this form (without the prefix) as bytes, for eth_abi.
        value: A value eth_abi decoded (a type that is not one word), in this form.
    """

    name: str
    width: int
    start: int
    uint: WordDecoder
    sint: WordDecoder
    address: WordDecoder
    boolean: WordDecoder
    fixed_bytes: Callable[[int], WordDecoder]
    to_bytes: Callable[[Any], bytes]
    value: Coder


def _identity(value: Any) -> Any:
    return value


_SIGN = 1 << 255
_WRAP = 1 << 256
_ZERO_WORD = bytes(32)


def _raw_fixed_bytes(size: int) -> WordDecoder:
    return _identity if size == 32 else lambda word: word[:size]


def _hex_bytes32(word: str) -> str:
    return "0x" + word.lower()


def _hex_fixed_bytes(size: int) -> WordDecoder:
    return _hex_bytes32 if size == 32 else lambda word: "0x" + word[: 2 * size].lower()


def _hex_int(word: str) -> int:
    value = int(word, 16)
    return value - _WRAP if value >= _SIGN else value


def json_value(value: Any) -> Any:
    """A value eth_abi decoded, in JSON form: bytes as ``0x`` hex, tuples as lists."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


RAW_WORDS = WordForm(
    name="raw",
    width=32,
    start=0,
    uint=lambda word: int.from_bytes(word, "big"),
    sint=lambda word: int.from_bytes(word, "big", signed=True),
    address=lambda word: "0x" + word[12:].hex(),
    boolean=lambda word: word != _ZERO_WORD,
    fixed_bytes=_raw_fixed_bytes,
    to_bytes=_identity,
    value=_identity,
)

HEX_WORDS = WordForm(
    name="hex",
    width=64,
    start=2,
    uint=lambda word: int(word, 16),
    sint=_hex_int,
    address=lambda word: "0x" + word[24:].lower(),
    boolean=lambda word: int(word, 16) != 0,
    fixed_bytes=_hex_fixed_bytes,
    to_bytes=bytes.fromhex,
    value=json_value,
)


def word_decoder(kind: str, form: WordForm) -> WordDecoder | None:
    """The form's decoder of one word of ``kind``, or None when the type is not one word."""
    if "[" in kind or kind.startswith("("):
        return None
    if kind == "address":
        return form.address
    if kind == "bool":
        return form.boolean
    if kind.startswith("uint"):
        return form.uint
    if kind.startswith("int"):
        return form.sint
    if kind.startswith("bytes") and kind[5:].isdigit():
        return form.fixed_bytes(int(kind[5:]))
    return None


def topic_decoder(kind: str, form: WordForm) -> WordDecoder:
    """The form's decoder of the topic of an indexed argument of type ``kind``.

    Indexed strings, bytes, arrays and structs are stored as their hash: the topic is kept.
    """
    if kind in ("string", "bytes") or "[" in kind or kind.startswith("("):
        return form.fixed_bytes(32)
    word = word_decoder(kind, form)
    if word is not None:
        return word
    single = registry.get_decoder(kind, strict=True)
    to_bytes, value = form.to_bytes, form.value
    return lambda topic: value(single(ContextFramesBytesIO(to_bytes(topic))))  # type: ignore[no-untyped-call]


class EventArg(NamedTuple):
    """Where one argument of an event is in its logs.

    Attributes:
        name: The argument's name.
        type: Its canonical ABI type.
        indexed: Whether it is a topic (else in the data).
        position: Its topic's index (1 is the first after the signature's), or its place
            among the data's values.
    """

    name: str
    type: str
    indexed: bool
    position: int


class EventLayout:
    """One ABI event: its topic, and where each argument is in its logs.

    The one description of an event's logs: ``ContractAbi.decode_log`` decodes with its
    ``RAW_WORDS`` decoder, the indexer with its ``HEX_WORDS`` decoder.

    Attributes:
        name: The event's name.
        signature: ``Name(type1,type2,…)``.
        topic: keccak of the signature, the logs' first topic.
        topic_count: Topics its logs carry (the signature's and one per indexed argument).
        args: Each argument, in declaration order.
        data_types: The types of the arguments in the data, in order.
    """

    def __init__(self, entry: ABIEntry) -> None:
        self.name: str = entry["name"]
        types = [canonical_type(p) for p in entry["inputs"]]
        self.signature = f"{self.name}({','.join(types)})"
        self.topic = keccak(text=self.signature)
        args = []
        topics = data = 0
        for param, kind in zip(entry["inputs"], types, strict=True):
            if param.get("indexed"):
                topics += 1
                args.append(EventArg(param["name"], kind, True, topics))
            else:
                args.append(EventArg(param["name"], kind, False, data))
                data += 1
        self.args = tuple(args)
        self.topic_count = 1 + topics
        self.data_types = tuple(a.type for a in self.args if not a.indexed)
        self._decoders: dict[str, EventDecoder] = {}

    def __repr__(self) -> str:
        return f"EventLayout({self.signature!r})"

    def decoder(self, form: WordForm) -> EventDecoder:
        """The decoder of this event's logs in ``form`` (built once per form)."""
        decoder = self._decoders.get(form.name)
        if decoder is None:
            decoder = self._decoders[form.name] = EventDecoder(self, form)
        return decoder


class EventDecoder:
    """An event's layout compiled for one form of words: the one decoder of event logs.

    When every argument in the data is one word (all the platform's events), each value is a
    slice of the data converted by its word decoder; otherwise the data goes through an eth_abi
    decoder and each value through the form's ``value``.
    """

    __slots__ = (
        "_data_end",
        "_fields",
        "_start",
        "_tuple",
        "_width",
        "form",
        "name",
        "topic_count",
    )

    def __init__(self, layout: EventLayout, form: WordForm) -> None:
        self.name = layout.name
        self.topic_count = layout.topic_count
        self.form = form
        self._start = form.start
        self._width = form.width
        words = [word_decoder(kind, form) for kind in layout.data_types]
        static = all(w is not None for w in words)
        self._tuple = None if static else _tuple_decoder(layout.data_types)
        self._data_end = form.start + form.width * len(words)
        # Per argument: (name, in a topic?, topic index / data offset / value index, decoder).
        fields: list[tuple[str, bool, int, WordDecoder]] = []
        for arg in layout.args:
            if arg.indexed:
                fields.append((arg.name, True, arg.position, topic_decoder(arg.type, form)))
            elif static:
                word = words[arg.position]
                assert word is not None
                fields.append((arg.name, False, form.start + form.width * arg.position, word))
            else:
                fields.append((arg.name, False, arg.position, form.value))
        self._fields = tuple(fields)

    def __repr__(self) -> str:
        return f"EventDecoder({self.name!r}, {self.form.name})"

    def decode(self, topics: Sequence[Any], data: Any) -> dict[str, Any] | None:
        """The arguments of a log by name, or None if its topics or data do not fit the event.

        Args:
            topics: The log's topics, the signature's first, in the decoder's form.
            data: The log's data, in the decoder's form.

        Raises:
            ValueError: A ``HEX_WORDS`` log is not hex.
        """
        if len(topics) != self.topic_count:
            return None
        start = self._start
        args: dict[str, Any] = {}
        # Plain loops, not comprehensions: this is the indexer's innermost loop.
        if self._tuple is None:
            if len(data) < self._data_end:
                return None
            width = self._width
            for name, in_topic, at, convert in self._fields:
                if in_topic:
                    args[name] = convert(topics[at][start:])
                else:
                    args[name] = convert(data[at : at + width])
            return args
        try:
            values = _decode(self._tuple, self.form.to_bytes(data[start:]))
        except DecodingError:
            return None
        for name, in_topic, at, convert in self._fields:
            args[name] = convert(topics[at][start:]) if in_topic else convert(values[at])
        return args


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
        self._events: dict[str, EventLayout] = {}
        self._decoders_by_topic: dict[bytes, EventDecoder] = {}
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
            event = EventLayout(entry)
            self._events[event.name] = event
            self._decoders_by_topic[event.topic] = event.decoder(RAW_WORDS)
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

    @property
    def events(self) -> list[EventLayout]:
        """The contract's (non-anonymous) events, in ABI order."""
        return list(self._events.values())

    def decode_log(self, topics: Sequence[bytes], data: bytes) -> DecodedEvent | None:
        """Decode a log of one of this contract's events, or None if it is not one of them."""
        event = self._decoders_by_topic.get(topics[0]) if topics else None
        if event is None:
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
        events = self._decoders_by_topic
        decoded = []
        for log in logs:
            topics = log.topics
            if not topics or (wanted is not None and log.address.lower() not in wanted):
                continue
            event = events.get(topics[0])
            if event is None:
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
