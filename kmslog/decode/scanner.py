"""Find the records in JSON text without parsing them.

The scanner walks the structure of a JSON document: strings (honouring backslash
escapes) and brackets, nothing else. It finds the element spans of a top-level
array, or of the ``Records``/``Events`` arrays of a top-level object, the
top-level keys with their byte offsets, and each value's nesting depth, so a file
can be taken apart record by record even when a JSON parser would refuse the
whole of it: a record nested too deeply, a lone surrogate escape or a malformed
record then costs that record only.

It is fed the text in pieces (:meth:`Scanner.feed`, then :meth:`Scanner.close`)
and keeps only the unfinished tail, so a file of any size is split with bounded
memory; :func:`scan` runs it over one buffer. The result does not depend on how
the text was cut into pieces.

Speed comes from compiled regular expressions: one match takes a whole record
apart when it is nested no deeper than :data:`SHALLOW_DEPTH` (every real
CloudTrail record); deeper or malformed values are walked bracket by bracket.
Bracket kinds are not matched against each other (``[}`` closes): the scanner
only finds boundaries, and the record's own decoding rejects what is not JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import msgspec

# Nesting levels accepted in a record (the record's own brackets count as one).
# Both JSON libraries recurse: msgspec raises RecursionError near 1,000 levels
# (less when called from deep in a stack), orjson refuses beyond 1,024; 512 stays
# well inside both, and no real CloudTrail record comes near it.
MAX_DEPTH = 512
# The nesting one regular-expression match can take apart; deeper values are
# walked bracket by bracket. Depths at or below it are reported as SHALLOW_DEPTH.
SHALLOW_DEPTH = 16
# A record larger than this is rejected without being held whole.
MAX_RECORD_BYTES = 64 * 1024 * 1024
# Keys the scanner descends into: the record arrays of the accepted shapes.
RECORD_ARRAYS = frozenset({"Records", "Events"})
# An unfinished value is re-matched when more text arrives while it is short;
# past this it is walked incrementally instead (linear time on long values).
_RETRY_BYTES = 1024 * 1024
# A top-level key longer than this makes the file fail rather than be buffered.
_MAX_KEY_BYTES = 1024 * 1024

_STRING = rb'"[^"\\]*+(?:\\[\s\S][^"\\]*+)*+"'


def _group(levels: int) -> bytes:
    """A bracketed value of at most ``levels`` levels, strings skipped whole."""
    group = rb"(?!)"
    for _ in range(levels):
        group = rb"[\[{](?:" + _STRING + rb"|" + group + rb'|[^"\[\]{}]++)*+[\]}]'
    return group


# A whole value at one level, up to the comma or bracket that ends it.
_VALUE = re.compile(rb"(?:" + _STRING + rb"|" + _group(SHALLOW_DEPTH) + rb'|[^"\[\]{},]++)*+')
_KEY = re.compile(_STRING)
_WS = re.compile(rb"[ \t\r\n]*+")
# The rest of a string after its opening quote (stops at the closing quote, or at
# a backslash that is the last byte of the text so far).
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\[\s\S][^"\\]*+)*+')
_GAP_INNER = re.compile(rb'[^"\[\]{}]*+')
_GAP_OUTER = re.compile(rb'[^"\[\]{},]*+')
_TOKEN = re.compile(_STRING + rb"|[\[\]{}]")

_QUOTE, _BACKSLASH, _COMMA, _COLON = 0x22, 0x5C, 0x2C, 0x3A
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_ENDS = frozenset(b",]}")
_BLANK = b" \t\r\n"


class ScanError(ValueError):
    """The text is not a JSON object or array (``position``: absolute byte offset)."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (byte {position})")
        self.reason = reason
        self.position = position


class Item(NamedTuple):
    """What the scanner found, in text order.

    ``kind`` is ``"key"`` (a top-level key: ``name``, ``start``), ``"element"``
    (element number ``ordinal`` of the array ``name``; ``""`` is the top-level array),
    ``"value"`` (the whole value of top-level key ``name``, when not an array the
    scanner descends into), ``"end"`` (the top-level value, ``name`` "array" or
    "object": ``start``/``stop``)
    or ``"trailing"`` (text after the top-level value starts at ``start``).
    ``depth`` is ``max(nesting depth, SHALLOW_DEPTH)``: exact whenever it can
    exceed :data:`MAX_DEPTH`. ``text`` is the value's bytes when asked for and no
    longer than :data:`MAX_RECORD_BYTES`, else None.
    """

    kind: str
    name: str
    ordinal: int
    start: int
    stop: int
    depth: int
    text: bytes | None


@dataclass
class _Walk:
    """A value being walked bracket by bracket across pieces."""

    start: int  # absolute offset of the value's first byte
    pos: int  # absolute offset where the walk resumes
    level: int = 0
    deepest: int = 0
    in_string: bool = False
    escape: bool = False
    keep: bool = True  # still holding the value's text


# Where the scanner stands between values.
_TOP, _KEY_OR_CLOSE, _KEY_NEXT, _COLON_NEXT, _MEMBER, _MEMBER_SEP = range(6)
_FIRST_ELEMENT, _ELEMENT, _ELEMENT_SEP, _AFTER, _DONE = range(6, 11)


class Scanner:
    """Incremental structural scanner; see the module docstring.

    ``keep`` names the arrays (``""``: the top-level array) and top-level keys
    whose element or value text is returned in :class:`Item`.
    """

    def __init__(self, keep: Iterable[str] = ()) -> None:
        self._keep = frozenset(keep)
        self._buf = b""
        self._base = 0  # absolute offset of _buf[0]
        self._pos = 0  # scan position in _buf
        self._state = _TOP
        self._name = ""  # the current top-level key, or "" in a top-level array
        self._index = 0
        self._walk: _Walk | None = None
        self._top_start = 0
        self._top_depth = 0  # deepest member or element of the top-level value
        self._array_depth = 0  # deepest element of the array being read
        self._top_array = False
        self._final = False

    def feed(self, piece: bytes) -> list[Item]:
        """The items completed by ``piece`` (the text following what was fed)."""
        self._buf = self._buf + piece if self._buf else piece
        return self._run()

    def close(self) -> list[Item]:
        """The last items; raises :class:`ScanError` when the text ends inside
        the top-level value, or holds no JSON object or array."""
        self._final = True
        items = self._run()
        if self._state not in (_AFTER, _DONE):
            raise ScanError("unexpected end of the JSON text", self._base + len(self._buf))
        return items

    # The states below consume self._buf from self._pos and return False when
    # they need more text.

    def _run(self) -> list[Item]:
        out: list[Item] = []
        step = self._step
        while self._state != _DONE and step(out):
            pass
        self._release()
        return out

    def _release(self) -> None:
        """Drop the text no unfinished item needs any more."""
        walk = self._walk
        if walk is not None and walk.keep:
            if self._base + len(self._buf) - walk.start <= MAX_RECORD_BYTES:
                keep_from = walk.start - self._base
            else:
                walk.keep = False
                keep_from = walk.pos - self._base
        else:
            keep_from = self._pos if walk is None else walk.pos - self._base
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._base += keep_from
            # While a walk is under way the position is the walk's, not this one.
            self._pos = max(self._pos - keep_from, 0)

    def _skip_blank(self) -> bool:
        self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
        return self._pos < len(self._buf)

    def _fail(self, reason: str, at: int | None = None) -> ScanError:
        return ScanError(reason, self._base + (self._pos if at is None else at))

    def _step(self, out: list[Item]) -> bool:
        state = self._state
        if state in (_MEMBER, _ELEMENT, _FIRST_ELEMENT) or self._walk is not None:
            return self._value(out)
        if not self._skip_blank():
            return False
        buf, pos = self._buf, self._pos
        c = buf[pos]
        if state == _TOP:
            if c not in _OPEN:
                raise self._fail("not a JSON object or array")
            self._top_start = self._base + pos
            self._pos += 1
            self._top_array = c == 0x5B
            self._state = _FIRST_ELEMENT if self._top_array else _KEY_OR_CLOSE
            return True
        if state in (_KEY_OR_CLOSE, _KEY_NEXT):
            if c == 0x7D and state == _KEY_OR_CLOSE:
                self._pos += 1
                return self._end(out)
            if c != _QUOTE:
                raise self._fail("expected a key string in the top-level object")
            match = _KEY.match(buf, pos)
            if match is None:
                if self._final:
                    raise self._fail("unterminated key string")
                if len(buf) - pos > _MAX_KEY_BYTES:
                    raise self._fail(f"top-level key longer than {_MAX_KEY_BYTES} bytes")
                return False
            self._name = _key_name(match.group())
            out.append(
                Item("key", self._name, -1, self._base + pos, self._base + match.end(), 0, None)
            )
            self._pos = match.end()
            self._state = _COLON_NEXT
            return True
        if state == _COLON_NEXT:
            if c != _COLON:
                raise self._fail("expected ':' after a key")
            self._pos += 1
            self._state = _MEMBER
            return True
        if state == _MEMBER_SEP:
            self._pos += 1
            if c == _COMMA:
                self._state = _KEY_NEXT
                return True
            if c == 0x7D:
                return self._end(out)
            raise self._fail("expected ',' or '}' after a value", pos)
        if state == _ELEMENT_SEP:
            self._pos += 1
            if c == _COMMA:
                self._state = _ELEMENT
                return True
            if c in _CLOSE:
                return self._close_array(out)
            raise self._fail("expected ',' or ']' after an element", pos)
        # _AFTER: the top-level value has ended; anything but blanks follows it.
        out.append(Item("trailing", "", -1, self._base + pos, self._base + pos, 0, None))
        self._state = _DONE
        return False

    def _end(self, out: list[Item]) -> bool:
        """The top-level value has closed (at ``self._pos``)."""
        depth = max(self._top_depth + 1, SHALLOW_DEPTH)
        name = "array" if self._top_array else "object"
        out.append(Item("end", name, -1, self._top_start, self._base + self._pos, depth, None))
        self._state = _AFTER
        return True

    def _close_array(self, out: list[Item]) -> bool:
        depth = max(self._array_depth + 1, SHALLOW_DEPTH)
        self._array_depth = 0
        if self._top_array:
            self._top_depth = depth - 1
            return self._end(out)
        self._top_depth = max(self._top_depth, depth)
        self._state = _MEMBER_SEP
        return True

    def _value(self, out: list[Item]) -> bool:
        """Scan the value at the current position: a member value or an element."""
        walk = self._walk
        if walk is None:
            if not self._skip_blank():
                return False
            buf, pos = self._buf, self._pos
            c = buf[pos]
            if self._state == _MEMBER and c == 0x5B and self._name in RECORD_ARRAYS:
                self._pos += 1
                self._index = 0
                self._array_depth = 0
                self._state = _FIRST_ELEMENT
                return True
            if self._state == _FIRST_ELEMENT and c in _CLOSE:
                self._pos += 1
                return self._close_array(out)
            end = _VALUE.match(buf, pos).end()  # type: ignore[union-attr]
            if end < len(buf) and buf[end] in _ENDS:
                return self._found(out, pos, end, SHALLOW_DEPTH, True)
            if not self._final and len(buf) - pos <= _RETRY_BYTES:
                return False  # may be a value cut by the end of the text so far
            start = self._base + pos
            walk = self._walk = _Walk(start, start, keep=self._name in self._keep)
        end = _walk_value(walk, self._buf, self._base)
        if end is None:
            if self._final:
                raise self._fail("unexpected end of the JSON text", len(self._buf))
            return False
        self._walk = None
        depth = max(walk.deepest, SHALLOW_DEPTH)
        return self._found(out, walk.start - self._base, end, depth, walk.keep)

    def _found(self, out: list[Item], start: int, end: int, depth: int, whole: bool) -> bool:
        """Record the value ``buf[start:end]`` (``end``: the byte that ends it;
        ``whole``: its text is still held)."""
        buf = self._buf
        stop = end
        while stop > max(start, 0) and buf[stop - 1] in _BLANK:
            stop -= 1
        name = self._name
        text = None
        if whole and name in self._keep and stop - start <= MAX_RECORD_BYTES:
            text = buf[start:stop]
        first = self._base + start
        if self._state == _MEMBER:
            out.append(Item("value", name, -1, first, self._base + stop, depth, text))
            self._top_depth = max(self._top_depth, depth)
            self._state = _MEMBER_SEP
        else:
            out.append(Item("element", name, self._index, first, self._base + stop, depth, text))
            self._index += 1
            self._array_depth = max(self._array_depth, depth)
            self._state = _ELEMENT_SEP
        self._pos = end
        return True


def _walk_value(walk: _Walk, buf: bytes, base: int) -> int | None:
    """Walk a value bracket by bracket from ``walk.pos``; the offset in ``buf`` of
    the byte ending it, or None (state saved in ``walk``) at the end of ``buf``."""
    pos = walk.pos - base
    n = len(buf)
    level, deepest = walk.level, walk.deepest
    in_string, escape = walk.in_string, walk.escape
    result = None
    while True:
        if in_string:
            if escape:
                if pos >= n:
                    break
                pos += 1
                escape = False
            pos = _STRING_REST.match(buf, pos).end()  # type: ignore[union-attr]
            if pos >= n:
                break
            if buf[pos] == _BACKSLASH:  # the last byte so far: its escaped byte is next
                escape = True
                pos += 1
                continue
            in_string = False
            pos += 1
            continue
        pos = (_GAP_INNER if level else _GAP_OUTER).match(buf, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            break
        c = buf[pos]
        if c == _QUOTE:
            in_string = True
        elif c in _OPEN:
            level += 1
            if level > deepest:
                deepest = level
        elif level:
            level -= 1
        else:
            result = pos  # a comma or closing bracket at the value's own level
            break
        pos += 1
    walk.pos = base + pos
    walk.level, walk.deepest = level, deepest
    walk.in_string, walk.escape = in_string, escape
    return result


def _key_name(literal: bytes) -> str:
    try:
        return msgspec.json.decode(literal, type=str)
    except msgspec.DecodeError:
        # Not a valid string (a lone surrogate, say): named by its text, which
        # can then equal no key kmslog looks for.
        return literal.decode("utf-8", "replace")


def scan(data: bytes, keep: Iterable[str] = ()) -> list[Item]:
    """Every item of ``data`` (one whole JSON text); see :class:`Scanner`."""
    scanner = Scanner(keep)
    return scanner.feed(data) + scanner.close()


def max_depth(text: bytes) -> int:
    """The deepest bracket nesting anywhere in ``text`` (strings skipped), exactly."""
    level = deepest = 0
    for match in _TOKEN.finditer(text):
        c = text[match.start()]
        if c in _OPEN:
            level += 1
            if level > deepest:
                deepest = level
        elif c in _CLOSE and level:
            level -= 1
    return deepest


_raw = msgspec.json.Decoder(msgspec.Raw)
_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)$")


def top_level_keys(data: bytes) -> list[tuple[str, int]] | None:
    """The keys of the top-level object in ``data`` and their byte offsets, fast:
    each value is skipped by msgspec at C speed (it stops at the byte after the
    value and says where). None when ``data`` is not a well-formed object."""
    view = memoryview(data)
    pos = _WS.match(data).end()  # type: ignore[union-attr]
    if data[pos : pos + 1] != b"{":
        return None
    keys: list[tuple[str, int]] = []
    pos = _WS.match(data, pos + 1).end()  # type: ignore[union-attr]
    if data[pos : pos + 1] == b"}":
        return keys
    while True:
        key = _KEY.match(data, pos)
        if key is None:
            return None
        keys.append((_key_name(key.group()), pos))
        pos = _WS.match(data, key.end()).end()  # type: ignore[union-attr]
        if data[pos : pos + 1] != b":":
            return None
        pos = _WS.match(data, pos + 1).end()  # type: ignore[union-attr]
        try:
            _raw.decode(view[pos:])
            return None  # the value ran to the end: the object is not closed
        except msgspec.DecodeError as exc:
            found = _TRAILING.search(str(exc))
            if found is None:
                return None
            # msgspec names the byte just past the first one after the value.
            pos += int(found.group(1)) - 1
        except RecursionError:
            return None
        sep = data[pos : pos + 1]
        if sep not in (b",", b"}"):
            return None
        pos = _WS.match(data, pos + 1).end()  # type: ignore[union-attr]
        if sep == b"}":
            return keys if pos == len(data) else None


def value_depth(text: bytes) -> int:
    """``max(nesting depth of text, SHALLOW_DEPTH)``, as :class:`Item` reports it:
    one regular-expression match for a shallow value, an exact count otherwise."""
    match = _VALUE.match(text)
    if match is not None and match.end() == len(text):
        return SHALLOW_DEPTH
    return max(max_depth(text), SHALLOW_DEPTH)


def duplicate_keys(record: bytes, names: Iterable[str]) -> set[str]:
    """Which of ``names`` occur more than once as keys of the JSON object ``record``
    (its own keys, not those of nested objects). Cheap when none of them is
    repeated literally; an unterminated or non-object text has none."""
    wanted = frozenset(names)
    if not any(record.count(b'"' + n.encode() + b'"') > 1 for n in wanted) and b"\\" not in record:
        return set()
    try:
        items = scan(record)
    except ScanError:
        return set()
    seen: set[str] = set()
    repeated: set[str] = set()
    for item in items:
        if item.kind == "key" and item.name in wanted:
            (repeated if item.name in seen else seen).add(item.name)
    return repeated


def iter_items(pieces: Iterable[bytes], keep: Iterable[str] = ()) -> Iterator[Item]:
    """The items of a JSON text given in pieces, as they complete."""
    scanner = Scanner(keep)
    for piece in pieces:
        yield from scanner.feed(piece)
    yield from scanner.close()
