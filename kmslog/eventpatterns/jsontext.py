"""A small JSON reader that keeps what the pattern compiler needs and the standard
library drops: the position of every value, every key of an object in written order
(duplicates included: their order decides which one wins), and the text of numbers
(event-ruler matches a number both by value and by its text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from kmslog.eventpatterns.errors import EventPatternError

MAX_DEPTH = 64  # kmslog's own guard; real patterns nest a handful of levels

_WS = frozenset(" \t\n\r")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Num:
    """A JSON number as written."""

    text: str


@dataclass(frozen=True)
class JObject:
    pairs: tuple[tuple[str, int, JValue], ...]  # key, key position, value
    pos: int


@dataclass(frozen=True)
class JArray:
    items: tuple[JValue, ...]
    pos: int


@dataclass(frozen=True)
class JScalar:
    value: str | Num | bool | None
    pos: int


JValue: TypeAlias = JObject | JArray | JScalar


class _Reader:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.i = 0
        self.what = what

    def fail(self, message: str, pos: int | None = None) -> EventPatternError:
        return EventPatternError(message, self.i if pos is None else pos)

    def skip(self) -> None:
        t, i, n = self.text, self.i, len(self.text)
        while i < n and t[i] in _WS:
            i += 1
        self.i = i

    def value(self, depth: int) -> JValue:
        self.skip()
        if self.i >= len(self.text):
            raise self.fail(f"Unexpected end of {self.what}")
        c = self.text[self.i]
        pos = self.i
        if c == "{":
            return self.obj(depth + 1)
        if c == "[":
            return self.arr(depth + 1)
        if c == '"':
            return JScalar(self.string(), pos)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, pos):
                self.i = pos + len(word)
                return JScalar(val, pos)
        m = _NUMBER.match(self.text, pos)
        if m and m.end() > pos:
            self.i = m.end()
            return JScalar(Num(m.group()), pos)
        raise self.fail(f"Unexpected character {c!r}")

    def nest(self, depth: int, pos: int) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(f"Nesting deeper than {MAX_DEPTH} levels", pos)

    def obj(self, depth: int) -> JObject:
        pos = self.i
        self.nest(depth, pos)
        self.i += 1
        pairs: list[tuple[str, int, JValue]] = []
        self.skip()
        if self.text.startswith("}", self.i):
            self.i += 1
            return JObject((), pos)
        while True:
            self.skip()
            kpos = self.i
            if not self.text.startswith('"', kpos):
                raise self.fail("Expected a field name in double quotes")
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.i):
                raise self.fail("Expected ':' after a field name")
            self.i += 1
            pairs.append((key, kpos, self.value(depth)))
            self.skip()
            if self.text.startswith(",", self.i):
                self.i += 1
                continue
            if self.text.startswith("}", self.i):
                self.i += 1
                return JObject(tuple(pairs), pos)
            raise self.fail("Expected ',' or '}' in an object")

    def arr(self, depth: int) -> JArray:
        pos = self.i
        self.nest(depth, pos)
        self.i += 1
        items: list[JValue] = []
        self.skip()
        if self.text.startswith("]", self.i):
            self.i += 1
            return JArray((), pos)
        while True:
            items.append(self.value(depth))
            self.skip()
            if self.text.startswith(",", self.i):
                self.i += 1
                continue
            if self.text.startswith("]", self.i):
                self.i += 1
                return JArray(tuple(items), pos)
            raise self.fail("Expected ',' or ']' in an array")

    def string(self) -> str:
        t = self.text
        start = self.i
        i = start + 1
        out: list[str] = []
        n = len(t)
        while True:
            j = i
            while j < n and t[j] != '"' and t[j] != "\\" and t[j] >= " ":
                j += 1
            out.append(t[i:j])
            if j >= n:
                raise self.fail("Unterminated string", start)
            c = t[j]
            if c == '"':
                self.i = j + 1
                return "".join(out)
            if c < " ":
                raise self.fail("Control character in a string", j)
            esc = t[j + 1 : j + 2]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i = j + 2
                continue
            if esc == "u":
                code = self.hex4(j)
                i = j + 6
                if 0xD800 <= code < 0xDC00 and t.startswith("\\u", i):
                    low = self.hex4(i)
                    if 0xDC00 <= low < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                if 0xD800 <= code < 0xE000:
                    raise self.fail("Unpaired surrogate in a string", j)
                out.append(chr(code))
                continue
            raise self.fail("Invalid escape in a string", j)

    def hex4(self, j: int) -> int:
        digits = self.text[j + 2 : j + 6]
        if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise self.fail("Invalid \\u escape in a string", j)
        return int(digits, 16)


def read(text: str, what: str = "JSON") -> JValue:
    """The JSON tree of ``text``; raises EventPatternError with the position."""
    r = _Reader(text, what)
    v = r.value(0)
    r.skip()
    if r.i != len(text):
        raise r.fail(f"Unexpected text after the {what}")
    return v


Plain: TypeAlias = dict[str, "Plain"] | list["Plain"] | str | Num | bool | None


def plain(v: JValue) -> Plain:
    """Python values; numbers stay :class:`Num`, a repeated key keeps its last value."""
    if isinstance(v, JObject):
        return {k: plain(x) for k, _, x in v.pairs}
    if isinstance(v, JArray):
        return [plain(x) for x in v.items]
    return v.value


def loads_event(text: str) -> Plain:
    """An event's text as Python values (raises EventPatternError on bad JSON)."""
    return plain(read(text, "event"))
