"""The typed syntax tree of a CloudWatch Logs filter pattern.

Every node is a frozen dataclass, so two parses of the same text compare equal
and patterns can be used as dict keys or pickled into worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Op(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


# --- values -----------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A string value. ``*`` in ``text`` is a wildcard (there is no way to write a
    literal asterisk). ``quoted`` only records how it was written."""

    text: str
    quoted: bool = False

    @property
    def is_star(self) -> bool:
        return "*" in self.text


@dataclass(frozen=True)
class Number:
    """A numeric literal; ``literal`` is the text as written (``1e+3``, ``-2.5``)."""

    literal: str

    @property
    def value(self) -> int | float:
        return parse_number(self.literal)


@dataclass(frozen=True)
class Regex:
    """A ``%…%`` regular expression (``source`` excludes the percent signs)."""

    source: str


@dataclass(frozen=True)
class AnyValue:
    """Bare ``*``: any present string or number."""


Value = Text | Number | Regex | AnyValue


def parse_number(literal: str) -> int | float:
    try:
        return int(literal)
    except ValueError:
        return float(literal)


# --- JSON patterns ------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Index:
    index: int


@dataclass(frozen=True)
class AnyField:
    """``.*``: every field of an object."""


@dataclass(frozen=True)
class AnyIndex:
    """``[*]``: every element of an array."""


Step = Name | Index | AnyField | AnyIndex


@dataclass(frozen=True)
class Selector:
    steps: tuple[Step, ...]

    @property
    def has_wildcard(self) -> bool:
        return any(isinstance(s, AnyField | AnyIndex) for s in self.steps)

    @property
    def names(self) -> tuple[str, ...] | None:
        """The plain property path, or None when an index or wildcard is involved."""
        if all(isinstance(s, Name) for s in self.steps):
            return tuple(s.name for s in self.steps)  # type: ignore[union-attr]
        return None


@dataclass(frozen=True)
class Compare:
    selector: Selector
    op: Op
    value: Value


class Check(StrEnum):
    IS_NULL = "IS NULL"
    IS_TRUE = "IS TRUE"
    IS_FALSE = "IS FALSE"
    NOT_EXISTS = "NOT EXISTS"


@dataclass(frozen=True)
class Test:
    """``IS NULL`` / ``IS TRUE`` / ``IS FALSE`` / ``NOT EXISTS``."""

    selector: Selector
    check: Check


@dataclass(frozen=True)
class And:
    items: tuple[JsonExpr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[JsonExpr, ...]


@dataclass(frozen=True)
class Group:
    """Parentheses, kept so that printing gives back the user's grouping."""

    inner: JsonExpr


JsonExpr = Compare | Test | And | Or | Group


@dataclass(frozen=True)
class JsonPattern:
    expr: JsonExpr


# --- space-delimited patterns -----------------------------------------------------


@dataclass(frozen=True)
class FieldCompare:
    name: str
    op: Op
    value: Value


@dataclass(frozen=True)
class FieldAnd:
    items: tuple[FieldCompare, ...]


@dataclass(frozen=True)
class FieldOr:
    items: tuple[FieldAnd, ...]


@dataclass(frozen=True)
class Field:
    """One position of a delimited pattern: ``name`` is None for an empty entry."""

    name: str | None
    condition: FieldOr | None = None


@dataclass(frozen=True)
class Ellipsis_:
    """``...``: any number of unnamed fields."""


@dataclass(frozen=True)
class DelimitedPattern:
    fields: tuple[Field | Ellipsis_, ...]


# --- unstructured patterns --------------------------------------------------------


class TermKind(StrEnum):
    REQUIRED = ""
    OPTIONAL = "?"
    EXCLUDED = "-"


@dataclass(frozen=True)
class Term:
    text: str
    kind: TermKind = TermKind.REQUIRED
    quoted: bool = False


@dataclass(frozen=True)
class TermPattern:
    """Terms in written order; an empty tuple matches every event."""

    terms: tuple[Term, ...]


@dataclass(frozen=True)
class RegexPattern:
    regex: Regex


Pattern = JsonPattern | DelimitedPattern | TermPattern | RegexPattern
