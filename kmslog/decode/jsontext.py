"""One record's JSON text → Python values, with explicit limits.

Every place that parses record text again (the reference decode path, the
evidence re-decode, lifecycle, filter output, the reference pattern evaluator)
goes through :func:`loads_record`, so hostile text gets one treatment everywhere:

* nesting deeper than :data:`MAX_DEPTH` levels → :class:`RecordTextError`
  (real CloudTrail records nest a few tens of levels, in ``requestParameters``);
* invalid UTF-8, invalid JSON (``NaN``, comments, trailing text, …) →
  :class:`RecordTextError`;
* a lone UTF-16 surrogate escape (``"\\ud800"`` without its pair) decodes to
  U+FFFD, as a UTF-8 decoder replaces what it cannot decode: the value cannot
  exist as UTF-8 text, and costing the record would let whoever controls one
  string field (a user agent, a tag) hide the whole event;
* a number beyond the range of a 64-bit float (``1e400``, a 400-digit integer)
  becomes ``±inf``, the value IEEE arithmetic gives on overflow (orjson already
  reads integers beyond 64 bits as floats). Such a number is never a string or
  a boolean, so it is a null cell under the schema's typing rule either way.

Nothing else escapes: no RecursionError, no UnicodeError, no orjson error.
The checks cost a count of brackets per call on the normal path; the closer
looks (exact depth, substitutions) run only on the texts that need them.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable
from typing import Any

import orjson

# Nesting levels (objects and arrays) accepted in one record, the record object itself
# being level 1: one limit for splitting files and for decoding records.
from kmslog.decode.scanner import MAX_DEPTH

MEANINGFUL_KEYS: tuple[str, ...] = (
    "eventTime",
    "eventID",
    "eventName",
    "eventSource",
    "recipientAccountId",
    "awsRegion",
    "errorCode",
    "userIdentity",
)
"""Top-level keys whose second occurrence in one record would change what the
record means (parsers disagree on which copy wins): such a record is rejected."""


class RecordTextError(ValueError):
    """A record's text cannot be read. ``reason`` is meant for the user;
    ``offset`` is the byte offset in the text when known."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


# Strings (possessive, so an unterminated one is scanned once) and structure.
_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_BRACKETS = re.compile(_STRING + rb"|[\[\]{}]")
_KEYS = re.compile(_STRING + rb"|[\[\]{}:]")
_NUMBERS = re.compile(_STRING + rb"|-?[0-9][0-9eE.+-]*")
# An escaped backslash, a valid surrogate pair, or a lone surrogate escape.
_SURROGATES = re.compile(
    rb"(\\\\)|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
_ORJSON_POSITION = re.compile(r": line \d+ column \d+ \(char \d+\)$")


def depth_exceeded(text: bytes, limit: int = MAX_DEPTH) -> int | None:
    """Byte offset of the first bracket nested deeper than ``limit`` levels,
    or None. Brackets inside strings do not count; never recurses."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return None
    depth = 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token[0] == 0x22:  # '"'
            continue
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return match.start()
        else:
            depth -= 1
    return None


def too_deep(offset: int) -> str:
    """The rejection reason for a record nested beyond :data:`MAX_DEPTH`."""
    return f"nested too deep: more than {MAX_DEPTH} levels at byte {offset}"


def duplicated(name: str, offset: int) -> str:
    """The rejection reason for a record holding ``name`` twice."""
    return f"duplicate key: {name} at byte {offset}"


_QUOTED_KEYS = tuple(f'"{name}"'.encode() for name in MEANINGFUL_KEYS)


def may_hold_problem(text: bytes) -> bool:
    """Whether :func:`record_problem` could find something in ``text``: cheap
    counts that every too deep record, and every record repeating one of
    :data:`MEANINGFUL_KEYS` (also when written with escapes), passes."""
    return (
        text.count(b"[") + text.count(b"{") > MAX_DEPTH
        or b"\\u00" in text
        or any(text.count(key) > 1 for key in _QUOTED_KEYS)
    )


def record_problem(text: bytes) -> str | None:
    """Why the record ``text``, which parses as a JSON object, must still be
    rejected (nesting beyond :data:`MAX_DEPTH`, a repeated meaningful key), or
    None."""
    deep = depth_exceeded(text)
    if deep is not None:
        return too_deep(deep)
    found = duplicate_key(text)
    return None if found is None else duplicated(*found)


def duplicate_key(text: bytes, names: Iterable[str] = MEANINGFUL_KEYS) -> tuple[str, int] | None:
    """The first of ``names`` that occurs twice among the top-level keys of the
    JSON object ``text``, with the byte offset of its second occurrence; None
    when there is none. ``text`` is assumed to be valid JSON (it was parsed
    already); keys written with escapes count as what they decode to."""
    wanted = frozenset(names)
    seen: set[str] = set()
    depth = 0
    pending: re.Match[bytes] | None = None
    for match in _KEYS.finditer(text):
        token = match.group()
        first = token[0]
        if first == 0x22:
            pending = match if depth == 1 else None
            continue
        if first == 0x3A and pending is not None:  # ':' after a top-level string
            raw = pending.group()
            key = _key_text(raw)
            if key in wanted:
                if key in seen:
                    return key, pending.start()
                seen.add(key)
        elif first in (0x5B, 0x7B):
            depth += 1
        elif first in (0x5D, 0x7D):
            depth -= 1
        pending = None
    return None


def _key_text(token: bytes) -> str:
    if b"\\" not in token:
        return token[1:-1].decode("utf-8", "replace")
    try:
        value = orjson.loads(_fix_surrogates(token))
    except orjson.JSONDecodeError:
        return ""
    return value if isinstance(value, str) else ""


def _fix_surrogates(text: bytes) -> bytes:
    """Lone surrogate escapes replaced by ``\\ufffd`` (same length, so byte
    offsets stay those of the original text)."""

    def replace(match: re.Match[bytes]) -> bytes:
        return b"\\ufffd" if match.group(2) else match.group()

    return _SURROGATES.sub(replace, text)


def _has_lone_surrogate(text: bytes) -> bool:
    return any(m.group(2) for m in _SURROGATES.finditer(text))


def _overflowing(text: bytes) -> list[tuple[int, int, bool]]:
    """(start, end, negative) of the number tokens beyond float range."""
    found = []
    for match in _NUMBERS.finditer(text):
        token = match.group()
        if token[0] == 0x22:
            continue
        try:
            value = float(token)
        except ValueError:  # not a number token; the parser reports it
            continue
        if math.isinf(value):
            found.append((match.start(), match.end(), value < 0))
    return found


def _restore(value: Any, marks: dict[str, float]) -> Any:
    """``value`` with the sentinel strings replaced by their numbers (iterative:
    the depth is bounded, but the Python stack must not be relied on)."""
    if isinstance(value, str):
        return marks.get(value, value)
    stack = [value]
    while stack:
        node = stack.pop()
        items: Iterable[tuple[Any, Any]] = (
            node.items() if isinstance(node, dict) else enumerate(node)
        )
        for k, v in list(items):
            if isinstance(v, str):
                if v in marks:
                    node[k] = marks[v]
            elif isinstance(v, (dict, list)):
                stack.append(v)
    return value


Span = tuple[int, int, int, int]
"""A substitution: (start, end) in the parsed text, (start, end) in the original."""


def _original_offset(offset: int, spans: list[Span]) -> int:
    for new_start, new_end, old_start, old_end in reversed(spans):
        if new_start <= offset:
            return old_start if offset < new_end else old_end + (offset - new_end)
    return offset


def _decode_error(exc: orjson.JSONDecodeError, spans: list[Span]) -> RecordTextError:
    """The parser's message with its position as a byte offset of the original text."""
    doc: str = exc.doc if isinstance(exc.doc, str) else ""
    offset = _original_offset(len(doc[: exc.pos].encode("utf-8", "surrogatepass")), spans)
    message = _ORJSON_POSITION.sub("", str(exc))
    return RecordTextError(f"invalid JSON: {message} at byte {offset}", offset)


def loads_record(text: bytes | str) -> Any:
    """Parse one record's text (see the module docstring for the limits).

    Raises :class:`RecordTextError` with a user-facing reason, and nothing else.
    """
    if isinstance(text, str):
        try:
            data = text.encode()
        except UnicodeEncodeError as exc:
            raise RecordTextError(
                f"unpaired surrogate: U+{ord(text[exc.start]):04X} at character {exc.start}",
                None,
            ) from None
    else:
        data = bytes(text)
    deep = depth_exceeded(data)
    if deep is not None:
        raise RecordTextError(too_deep(deep), deep)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        first = exc
    try:
        data.decode()
    except UnicodeDecodeError as exc:
        raise RecordTextError(f"invalid UTF-8: at byte {exc.start}", exc.start) from None
    fixed = _fix_surrogates(data) if _has_lone_surrogate(data) else data
    numbers = _overflowing(fixed)
    if fixed is data and not numbers:
        raise _decode_error(first, [])
    marks: dict[str, float] = {}
    spans: list[Span] = []
    if numbers:
        nonce = secrets.token_hex(16)
        while nonce.encode() in fixed:
            nonce = secrets.token_hex(16)
        plus, minus = f"{nonce}+", f"{nonce}-"
        marks = {plus: math.inf, minus: -math.inf}
        parts: list[bytes] = []
        at = size = 0
        for start, end, negative in numbers:
            mark = b'"' + (minus if negative else plus).encode() + b'"'
            size += start - at
            spans.append((size, size + len(mark), start, end))
            size += len(mark)
            parts += [fixed[at:start], mark]
            at = end
        parts.append(fixed[at:])
        fixed = b"".join(parts)
    try:
        value = orjson.loads(fixed)
    except orjson.JSONDecodeError as exc:
        raise _decode_error(exc, spans) from None
    return _restore(value, marks) if marks else value


def request_parameters(text: bytes | str) -> dict[str, Any] | None:
    """The ``requestParameters`` object of a record's text; None when the text does
    not parse to a record holding one (a configuration call then names nothing)."""
    try:
        record = loads_record(text)
    except RecordTextError:
        return None
    params = record.get("requestParameters") if isinstance(record, dict) else None
    return params if isinstance(params, dict) else None
