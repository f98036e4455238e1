"""Filter-pattern text → syntax tree (``kmslog.patterns.ast``), with AWS's limits.

One hand-written recursive-descent parser per pattern kind; every error carries
the 0-based character position where it was detected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kmslog.patterns import ast as A
from kmslog.patterns.errors import PatternError
from kmslog.patterns.regex import compile_regex

MAX_PATTERN_LENGTH = 1024
MAX_REGEXES = 2
MAX_WILDCARD_SELECTORS = 3
# AWS documents no limit on parentheses; kmslog's own, so that parsing, printing and
# both evaluators (all recursive over groups) stay far from Python's recursion limit.
MAX_NESTING = 32

NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
PROPERTY_RE = re.compile(r"[A-Za-z0-9_-]+")
FIELD_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PLAIN_TERM_RE = re.compile(r"[A-Za-z0-9_]+")
# Python keeps undecodable bytes (a command-line argument, a file read with
# surrogateescape) as lone surrogates; no UTF-8 text, so no AWS pattern, holds one.
SURROGATE_RE = re.compile("[\ud800-\udfff]")
_BLANK = " \t\r\n\f\v"
_OPS = ("!=", "<=", ">=", "=", "<", ">")


@dataclass
class Parsed:
    ast: A.Pattern
    warnings: list[str] = field(default_factory=list)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.warnings: list[str] = []
        self.regexes = 0

    def fail(self, message: str, at: int | None = None) -> PatternError:
        return PatternError(message, self.i if at is None else at)

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def at_end(self) -> bool:
        return self.i >= len(self.text)

    def skip_ws(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in _BLANK:
            self.i += 1

    def expect(self, token: str, what: str | None = None) -> None:
        if not self.text.startswith(token, self.i):
            raise self.fail(f"expected {what or repr(token)}")
        self.i += len(token)

    def operator(self) -> A.Op:
        for op in _OPS:
            if self.text.startswith(op, self.i):
                if self.text.startswith("==", self.i):
                    raise self.fail("'==' is not an operator; use '='")
                self.i += len(op)
                return A.Op(op)
        raise self.fail("expected a comparison operator (=, !=, <, <=, >, >=)")

    def quoted(self, quote: str = '"') -> str:
        """At an opening quote: the unescaped content (``\\"`` and ``\\\\`` are escapes)."""
        start = self.i
        self.i += 1
        out: list[str] = []
        while True:
            if self.i >= len(self.text):
                raise self.fail("unterminated quoted string", start)
            ch = self.text[self.i]
            if (
                ch == "\\"
                and self.i + 1 < len(self.text)
                and self.text[self.i + 1] in (quote, "\\")
            ):
                out.append(self.text[self.i + 1])
                self.i += 2
                continue
            self.i += 1
            if ch == quote:
                return "".join(out)
            out.append(ch)

    def regex(self) -> A.Regex:
        start = self.i
        self.i += 1
        while True:
            if self.i >= len(self.text):
                raise self.fail("unterminated regular expression (missing closing '%')", start)
            ch = self.text[self.i]
            if ch == "\\":
                self.i += 2
                continue
            if ch == "%":
                break
            self.i += 1
        body = self.text[start + 1 : self.i]
        self.i += 1
        compile_regex(body, start + 1)
        self.regexes += 1
        if self.regexes > MAX_REGEXES:
            raise self.fail(
                f"a pattern may contain at most {MAX_REGEXES} regular expressions", start
            )
        return A.Regex(body)

    def value(self, op: A.Op, stops: str) -> A.Value:
        start = self.i
        ch = self.peek()
        value: A.Value
        if ch == '"':
            value = A.Text(self.quoted(), quoted=True)
        elif ch == "%":
            value = self.regex()
        else:
            while self.i < len(self.text) and self.text[self.i] not in stops:
                self.i += 1
            raw = self.text[start : self.i]
            if not raw:
                raise self.fail("expected a value", start)
            if raw == "*":
                value = A.AnyValue()
            elif NUMBER_RE.fullmatch(raw):
                value = A.Number(raw)
            else:
                value = A.Text(raw)
        if op not in (A.Op.EQ, A.Op.NE) and not isinstance(value, A.Number):
            raise self.fail(f"'{op.value}' needs a number on its right-hand side", start)
        return value


# --- JSON ------------------------------------------------------------------------

_JSON_STOPS = _BLANK + "&|()}"


class _JsonParser(_Scanner):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.wildcard_selectors = 0
        self.depth = 0

    def pattern(self) -> A.JsonPattern:
        self.skip_ws()
        self.expect("{")
        self.skip_ws()
        if self.peek() == "}":
            raise self.fail("empty JSON pattern")
        expr = self.or_expr()
        self.skip_ws()
        if self.peek() != "}":
            raise self.fail("expected '&&', '||' or '}'")
        self.i += 1
        self.skip_ws()
        if not self.at_end():
            raise self.fail("unexpected text after the closing '}'")
        return A.JsonPattern(expr)

    def or_expr(self) -> A.JsonExpr:
        items = [self.and_expr()]
        while True:
            self.skip_ws()
            if self.peek(2) != "||":
                break
            self.i += 2
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else A.Or(tuple(items))

    def and_expr(self) -> A.JsonExpr:
        items = [self.primary()]
        while True:
            self.skip_ws()
            if self.peek(2) != "&&":
                break
            self.i += 2
            items.append(self.primary())
        return items[0] if len(items) == 1 else A.And(tuple(items))

    def primary(self) -> A.JsonExpr:
        self.skip_ws()
        if self.peek() == "(":
            if self.depth >= MAX_NESTING:
                raise self.fail(f"parentheses may be nested at most {MAX_NESTING} deep")
            self.depth += 1
            self.i += 1
            inner = self.or_expr()
            self.skip_ws()
            self.expect(")", "')'")
            self.depth -= 1
            return A.Group(inner)
        return self.condition()

    def word(self) -> tuple[str, int]:
        start = self.i
        while (
            self.i < len(self.text) and self.text[self.i].isascii() and self.text[self.i].isalpha()
        ):
            self.i += 1
        return self.text[start : self.i], start

    def keyword(self, expected: tuple[str, ...]) -> tuple[str, int]:
        self.skip_ws()
        word, at = self.word()
        upper = word.upper()
        if upper not in expected:
            self.i = at
            return upper, at
        if word != upper:
            self.warnings.append(
                f"keyword '{word}' at position {at} is written in lower case; "
                f"AWS documents only '{upper}'"
            )
        return upper, at

    def condition(self) -> A.JsonExpr:
        selector = self.selector()
        self.skip_ws()
        if self.peek().isalpha():
            word, at = self.keyword(("IS", "NOT", "EXISTS"))
            if word == "IS":
                target, t_at = self.keyword(("NULL", "TRUE", "FALSE", "NOT"))
                if target == "NOT":
                    raise self.fail("'IS NOT' is not supported", at)
                if target not in ("NULL", "TRUE", "FALSE"):
                    raise self.fail("expected NULL, TRUE or FALSE after IS", t_at)
                return A.Test(selector, A.Check(f"IS {target}"))
            if word == "NOT":
                target, t_at = self.keyword(("EXISTS",))
                if target != "EXISTS":
                    raise self.fail("expected EXISTS after NOT", t_at)
                return A.Test(selector, A.Check.NOT_EXISTS)
            if word == "EXISTS":
                raise self.fail("'EXISTS' is not supported (only 'NOT EXISTS')", at)
            raise self.fail("expected a comparison operator, IS or NOT EXISTS", at)
        op = self.operator()
        self.skip_ws()
        return A.Compare(selector, op, self.value(op, _JSON_STOPS))

    def selector(self) -> A.Selector:
        self.skip_ws()
        start = self.i
        if self.peek() != "$":
            raise self.fail("a selector must start with '$.'")
        self.i += 1
        if self.peek() != ".":
            raise self.fail("a selector must start with '$.'", start)
        steps: list[A.Step] = []
        while True:
            ch = self.peek()
            if ch == ".":
                self.i += 1
                steps.append(self.property())
            elif ch == "[" and steps:
                steps.append(self.index())
            else:
                break
        wildcards = sum(isinstance(s, A.AnyField | A.AnyIndex) for s in steps)
        if wildcards > 1:
            raise self.fail("a selector may contain at most one wildcard", start)
        if wildcards:
            self.wildcard_selectors += 1
            if self.wildcard_selectors > MAX_WILDCARD_SELECTORS:
                raise self.fail(
                    f"a pattern may contain at most {MAX_WILDCARD_SELECTORS} wildcard selectors",
                    start,
                )
        return A.Selector(tuple(steps))

    def property(self) -> A.Step:
        ch = self.peek()
        if ch == "*":
            self.i += 1
            return A.AnyField()
        if ch == "[":
            start = self.i
            self.i += 1
            quote = self.peek()
            if quote not in ("'", '"'):
                raise self.fail("expected a quoted property name in brackets, like ['a.b']")
            name = self.quoted(quote)
            if not name:
                raise self.fail("empty property name", start)
            self.expect("]", "']'")
            return A.Name(name)
        m = PROPERTY_RE.match(self.text, self.i)
        if m is None:
            raise self.fail("expected a property name (letters, digits, '-', '_'), '*' or ['…']")
        self.i = m.end()
        return A.Name(m.group())

    def index(self) -> A.Step:
        self.i += 1
        if self.peek() == "*":
            self.i += 1
            self.expect("]", "']'")
            return A.AnyIndex()
        m = re.compile(r"\d+").match(self.text, self.i)
        if m is None:
            raise self.fail("expected an array index or '*' in brackets")
        self.i = m.end()
        self.expect("]", "']'")
        return A.Index(int(m.group()))


# --- space-delimited ------------------------------------------------------------

_FIELD_STOPS = _BLANK + ",]&|"


class _DelimitedParser(_Scanner):
    def pattern(self) -> A.DelimitedPattern:
        self.skip_ws()
        self.expect("[")
        entries: list[A.Field | A.Ellipsis_] = []
        names: set[str] = set()
        ellipsis_at: int | None = None
        self.skip_ws()
        if self.peek() == "]":
            self.i += 1
        else:
            while True:
                self.skip_ws()
                at = self.i
                entry = self.entry()
                if isinstance(entry, A.Ellipsis_):
                    if ellipsis_at is not None:
                        raise self.fail("a pattern may contain only one '...'", at)
                    ellipsis_at = at
                elif entry.name is not None:
                    if entry.name in names:
                        raise self.fail(f"field name '{entry.name}' is used twice", at)
                    names.add(entry.name)
                entries.append(entry)
                self.skip_ws()
                if self.peek() == ",":
                    self.i += 1
                    continue
                if self.peek() == "]":
                    self.i += 1
                    break
                raise self.fail("expected ',' or ']'")
        self.skip_ws()
        if not self.at_end():
            raise self.fail("unexpected text after the closing ']'")
        return A.DelimitedPattern(tuple(entries))

    def entry(self) -> A.Field | A.Ellipsis_:
        if self.peek(3) == "...":
            self.i += 3
            return A.Ellipsis_()
        if self.peek() in (",", "]"):
            return A.Field(None)
        name = self.field_name()
        self.skip_ws()
        if self.peek() in (",", "]"):
            return A.Field(name)
        alts = [self.conjunction(name, first=True)]
        while True:
            self.skip_ws()
            if self.peek(2) != "||":
                break
            self.i += 2
            alts.append(self.conjunction(name, first=False))
        return A.Field(name, A.FieldOr(tuple(alts)))

    def field_name(self) -> str:
        m = FIELD_NAME_RE.match(self.text, self.i)
        if m is None:
            raise self.fail("expected a field name, '...' or ','")
        self.i = m.end()
        return m.group()

    def conjunction(self, name: str, first: bool) -> A.FieldAnd:
        atoms = [self.atom(name, named=not first)]
        while True:
            self.skip_ws()
            if self.peek(2) != "&&":
                break
            self.i += 2
            atoms.append(self.atom(name, named=True))
        return A.FieldAnd(tuple(atoms))

    def atom(self, name: str, named: bool) -> A.FieldCompare:
        self.skip_ws()
        if named:
            at = self.i
            other = self.field_name()
            if other != name:
                raise self.fail(
                    f"a condition in field '{name}' may only test '{name}', not '{other}'", at
                )
            self.skip_ws()
        op = self.operator()
        self.skip_ws()
        return A.FieldCompare(name, op, self.value(op, _FIELD_STOPS))


# --- unstructured ---------------------------------------------------------------


def _terms(text: str, warnings: list[str]) -> A.TermPattern:
    scanner = _Scanner(text)
    terms: list[A.Term] = []
    while True:
        scanner.skip_ws()
        if scanner.at_end():
            break
        start = scanner.i
        kind = A.TermKind.REQUIRED
        ch = scanner.peek()
        nxt = text[start + 1 : start + 2]
        if ch in "?-" and nxt and nxt not in _BLANK:
            kind = A.TermKind(ch)
            scanner.i += 1
        if scanner.peek() == '"':
            content = scanner.quoted()
            if scanner.i < len(text) and text[scanner.i] not in _BLANK:
                raise scanner.fail("expected a space after the closing quote")
            if content.strip(_BLANK):
                terms.append(A.Term(content, kind, quoted=True))
            continue
        word_start = scanner.i
        while scanner.i < len(text) and text[scanner.i] not in _BLANK:
            scanner.i += 1
        word = text[word_start : scanner.i]
        if not PLAIN_TERM_RE.fullmatch(word) and word not in ("?", "-"):
            warnings.append(
                f"term '{word}' at position {word_start} contains characters other than "
                "letters, digits and '_'; AWS asks for such terms to be quoted"
            )
        terms.append(A.Term(word, kind))
    return A.TermPattern(tuple(terms))


def parse_text(text: str) -> Parsed:
    """Parse a filter pattern; raise :class:`PatternError` when AWS would reject it."""
    if not isinstance(text, str):
        raise TypeError("a filter pattern is a str")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"a filter pattern may be at most {MAX_PATTERN_LENGTH} characters long",
            MAX_PATTERN_LENGTH,
        )
    surrogate = SURROGATE_RE.search(text)
    if surrogate is not None:
        raise PatternError(
            "a filter pattern must be valid Unicode text (found a byte that is not UTF-8 "
            "or a lone surrogate)",
            surrogate.start(),
        )
    stripped = text.strip(_BLANK)
    start = len(text) - len(text.lstrip(_BLANK))
    if not stripped:
        return Parsed(A.TermPattern(()))
    first = stripped[0]
    if first == "{":
        if not stripped.endswith("}"):
            raise PatternError(
                "If a filter pattern starts with '{' it must end with '}'",
                start + len(stripped) - 1,
            )
        parser = _JsonParser(text)
        parser.i = start
        return Parsed(parser.pattern(), parser.warnings)
    if first == "[":
        dparser = _DelimitedParser(text)
        dparser.i = start
        return Parsed(dparser.pattern(), dparser.warnings)
    if (
        first == "%"
        and len(stripped) >= 2
        and stripped.endswith("%")
        and "%" not in stripped[1:-1].replace("\\%", "")
    ):
        compile_regex(stripped[1:-1], start + 1)
        return Parsed(A.RegexPattern(A.Regex(stripped[1:-1])))
    warnings: list[str] = []
    return Parsed(_terms(text, warnings), warnings)
