"""AWS's restricted regular-expression dialect (``%…%``).

The dialect is parsed and validated here, then emitted twice: for Python ``re``
(the reference evaluator) and for the Rust ``regex`` crate (polars, the vectorized
evaluator). Every literal is emitted as ``\\xHH`` and every shorthand class is
spelled out in ASCII, so both engines see the same language whatever their
defaults (Rust's ``\\d`` is Unicode-aware, Python's ``$`` also matches before a
trailing newline, Rust reads ``&&`` inside a class as set intersection, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kmslog.patterns.errors import PatternError

# Python ``re`` backtracks; without groups the worst case grows with the number
# of unbounded repeats in one alternative. AWS rejects slow expressions at put
# time ("Regular expression evaluation time exceeded allowed limit"); kmslog
# bounds the cost structurally instead.
MAX_UNBOUNDED_REPEATS = 5
MAX_REPEAT_BOUND = 1000

_SHORTHAND = "dDsSwW"
_CONTROL_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}
_RUST_SHORTHAND = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": "[\\t\\n\\x0B\\x0C\\r\\x20]",
    "S": "[^\\t\\n\\x0B\\x0C\\r\\x20]",
    "w": "[0-9A-Za-z_]",
    "W": "[^0-9A-Za-z_]",
}
_RUST_SHORTHAND_IN_CLASS = {
    "d": "0-9",
    "D": "[:^digit:]",
    "s": "\\t\\n\\x0B\\x0C\\r\\x20",
    "S": "[:^space:]",
    "w": "0-9A-Za-z_",
    "W": "[:^word:]",
}


def _lit(ch: str) -> str:
    return ch if ch.isascii() and ch.isalnum() else f"\\x{ord(ch):02x}"


# Python's ``re`` backtracks: a search with k unbounded repeats can cost about n^(k+1)
# steps on an n-character text (``%.*.*.*x%`` on a 1 KB record that lacks the ``x``
# does not end). Log text is attacker-controlled, so such searches run on the Rust
# ``regex`` crate (through polars), which is linear in the text; the two emissions
# denote the same language. Python keeps the cheap cases: no unbounded repeat, or
# one on a short text (at most about BACKTRACK_TEXT^2 steps).
BACKTRACK_TEXT = 2048


@dataclass(frozen=True)
class CompiledRegex:
    source: str
    python: str
    rust: str
    # The most unbounded repeats (``*``, ``+``, ``{n,}``) in one alternative.
    repeats: int = 0

    def search(self, text: str) -> bool:
        if self.repeats == 0 or (self.repeats == 1 and len(text) <= BACKTRACK_TEXT):
            return _compile_python(self.python).search(text) is not None
        return _linear_search(self.rust, text)


def _linear_search(rust: str, text: str) -> bool:
    import polars as pl

    try:
        series = pl.Series([text], dtype=pl.String)
    except UnicodeEncodeError:  # a lone surrogate cannot be a polars string
        series = pl.Series([text.encode("utf-8", "replace").decode()], dtype=pl.String)
    return bool(series.str.contains(rust).item())


@lru_cache(maxsize=1024)
def _compile_python(python: str) -> re.Pattern[str]:
    return re.compile(python, re.ASCII)


class _Parser:
    def __init__(self, source: str, offset: int) -> None:
        self.src = source
        self.offset = offset  # position of the regex body in the whole pattern
        self.i = 0
        self.py: list[str] = []
        self.rs: list[str] = []

    def fail(self, message: str, at: int | None = None) -> PatternError:
        return PatternError(message, self.offset + (self.i if at is None else at))

    def check_char(self, ch: str, at: int) -> None:
        if not ch.isascii():
            raise self.fail("regular expressions may contain only ASCII characters", at)
        if ch in "()":
            raise self.fail("parentheses (groups) are not supported in regular expressions", at)
        if ch == "!":
            raise self.fail("'!' is not supported in regular expressions", at)

    def run(self) -> CompiledRegex:
        if not self.src:
            raise self.fail("empty regular expression", 0)
        for at, ch in enumerate(self.src):
            self.check_char(ch, at)
        unbounded = 0
        most = 0
        can_repeat = False
        while self.i < len(self.src):
            ch = self.src[self.i]
            start = self.i
            if ch == "|":
                self.py.append("|")
                self.rs.append("|")
                self.i += 1
                unbounded = 0
                can_repeat = False
                continue
            if ch in "*+?{":
                if not can_repeat:
                    raise self.fail("nothing to repeat before this quantifier")
                text, is_unbounded = self.quantifier()
                self.py.append(text)
                self.rs.append(text)
                if is_unbounded:
                    unbounded += 1
                    most = max(most, unbounded)
                    if unbounded > MAX_UNBOUNDED_REPEATS:
                        raise self.fail(
                            "regular expression too costly to evaluate (more than "
                            f"{MAX_UNBOUNDED_REPEATS} unbounded repeats in one alternative)",
                            start,
                        )
                can_repeat = False
                continue
            can_repeat = True
            if ch == ".":
                self.py.append(".")
                self.rs.append(".")
                self.i += 1
            elif ch == "^":
                self.py.append("^")
                self.rs.append("^")
                self.i += 1
                can_repeat = False
            elif ch == "$":
                self.py.append("\\Z")
                self.rs.append("$")
                self.i += 1
                can_repeat = False
            elif ch == "[":
                self.char_class()
            elif ch == "\\":
                kind, value = self.escape()
                if kind == "short":
                    self.py.append("\\" + value)
                    self.rs.append(_RUST_SHORTHAND[value])
                else:
                    self.py.append(_lit(value))
                    self.rs.append(_lit(value))
            else:
                self.py.append(_lit(ch))
                self.rs.append(_lit(ch))
                self.i += 1
        return CompiledRegex(self.src, "".join(self.py), "".join(self.rs), most)

    def quantifier(self) -> tuple[str, bool]:
        ch = self.src[self.i]
        if ch in "*+?":
            self.i += 1
            text, unbounded = ch, ch != "?"
        else:
            m = re.compile(r"\{(\d*)(,?)(\d*)\}").match(self.src, self.i)
            if m is None or (not m.group(1) and not m.group(3)):
                raise self.fail("'{' must start a repeat count like {2}, {1,3}, {2,} or {,4}")
            low = int(m.group(1) or 0)
            high = m.group(3)
            if not m.group(2):
                high = m.group(1)
            if low > MAX_REPEAT_BOUND or (high and int(high) > MAX_REPEAT_BOUND):
                raise self.fail(f"repeat counts above {MAX_REPEAT_BOUND} are not supported")
            if high and int(high) < low:
                raise self.fail("repeat count range is reversed")
            self.i = m.end()
            text = f"{{{low},{high}}}" if m.group(2) else f"{{{low}}}"
            unbounded = bool(m.group(2)) and not high
        if self.i < len(self.src) and self.src[self.i] == "?":
            # lazy form: same match/no-match answer for a search
            self.i += 1
            text += "?"
        if self.i < len(self.src) and self.src[self.i] in "*+{":
            raise self.fail("multiple repeat")
        return text, unbounded

    def escape(self) -> tuple[str, str]:
        """At a backslash: ('short', letter) or ('char', the literal character)."""
        at = self.i
        if self.i + 1 >= len(self.src):
            raise self.fail("trailing backslash", at)
        ch = self.src[self.i + 1]
        self.i += 2
        if ch in _SHORTHAND:
            return "short", ch
        if ch in _CONTROL_ESCAPES:
            return "char", _CONTROL_ESCAPES[ch]
        if ch == "x":
            hexdigits = self.src[self.i : self.i + 2]
            if len(hexdigits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in hexdigits):
                raise self.fail("\\x must be followed by two hex digits", at)
            self.i += 2
            return "char", chr(int(hexdigits, 16))
        if ch.isascii() and not ch.isalnum() and ch.isprintable():
            return "char", ch
        raise self.fail(f"unsupported escape \\{ch}", at)

    def class_char(self) -> tuple[str, str]:
        ch = self.src[self.i]
        if ch == "\\":
            return self.escape()
        self.i += 1
        return "char", ch

    def char_class(self) -> None:
        open_at = self.i
        self.i += 1
        negate = self.i < len(self.src) and self.src[self.i] == "^"
        if negate:
            self.i += 1
        py: list[str] = []
        rs: list[str] = []
        first = True
        while True:
            if self.i >= len(self.src):
                raise self.fail("unterminated character class", open_at)
            if self.src[self.i] == "]" and not first:
                self.i += 1
                break
            first = False
            item_at = self.i
            kind, value = self.class_char()
            if kind == "short":
                py.append("\\" + value)
                rs.append(_RUST_SHORTHAND_IN_CLASS[value])
                continue
            if (
                self.i + 1 < len(self.src)
                and self.src[self.i] == "-"
                and self.src[self.i + 1] != "]"
            ):
                self.i += 1
                end_kind, end = self.class_char()
                if end_kind == "short":
                    raise self.fail("a class shorthand cannot end a range", item_at)
                if ord(end) < ord(value):
                    raise self.fail("character range is reversed", item_at)
                py.append(f"{_lit(value)}-{_lit(end)}")
                rs.append(f"{_lit(value)}-{_lit(end)}")
            else:
                py.append(_lit(value))
                rs.append(_lit(value))
        prefix = "[^" if negate else "["
        self.py.append(prefix + "".join(py) + "]")
        self.rs.append(prefix + "".join(rs) + "]")


@lru_cache(maxsize=1024)
def _compile_cached(source: str) -> CompiledRegex:
    return _Parser(source, 0).run()


def compile_regex(source: str, offset: int = 0) -> CompiledRegex:
    """Validate a ``%…%`` body (``offset`` = its position in the pattern, for errors)."""
    try:
        return _compile_cached(source)
    except PatternError as err:
        raise PatternError(err.message, err.position + offset) from None
