"""The typed syntax tree of an EventBridge event pattern.

Every node is a frozen dataclass. The tree keeps the pattern's fields in written
order, repeated names included, because event-ruler lets a later field replace an
earlier one with the same path, and inside ``$or`` that depends on the order
(``branches`` in ``match.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kmslog.eventpatterns.jsontext import Num

Scalar = str | Num | bool | None


@dataclass(frozen=True)
class Exact:
    """A bare value: ``"x"``, ``5``, ``true``, ``null``."""

    value: Scalar


@dataclass(frozen=True)
class ExactOp:
    """``{"exact": "x"}`` (event-ruler's spelled-out exact match; strings only)."""

    text: str


@dataclass(frozen=True)
class Prefix:
    text: str
    ignore_case: bool = False


@dataclass(frozen=True)
class Suffix:
    text: str
    ignore_case: bool = False


@dataclass(frozen=True)
class EqualsIgnoreCase:
    text: str


@dataclass(frozen=True)
class Wildcard:
    """``*`` is any run of characters; ``\\*`` and ``\\\\`` are literal."""

    text: str


class ButKind(StrEnum):
    VALUES = ""
    PREFIX = "prefix"
    SUFFIX = "suffix"
    EQUALS_IGNORE_CASE = "equals-ignore-case"
    WILDCARD = "wildcard"


@dataclass(frozen=True)
class AnythingBut:
    """``anything-but``: ``values`` are strings, or (kind VALUES only) numbers.
    ``listed`` records whether they were written as a list."""

    kind: ButKind
    values: tuple[str | Num, ...]
    listed: bool


@dataclass(frozen=True)
class Numeric:
    """``numeric``: one ``=`` term, or one or two bounds ((op, number), ...)."""

    terms: tuple[tuple[str, Num], ...]


@dataclass(frozen=True)
class Cidr:
    text: str


@dataclass(frozen=True)
class Exists:
    present: bool


Matcher = (
    Exact
    | ExactOp
    | Prefix
    | Suffix
    | EqualsIgnoreCase
    | Wildcard
    | AnythingBut
    | Numeric
    | Cidr
    | Exists
)


@dataclass(frozen=True)
class Leaf:
    """``"name": [matcher, ...]``: the field matches when any matcher does."""

    name: str
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True)
class Nested:
    """``"name": {...}``."""

    name: str
    body: Obj


@dataclass(frozen=True)
class AnyOf:
    """``"$or": [{...}, {...}, ...]``."""

    branches: tuple[Obj, ...]


Entry = Leaf | Nested | AnyOf


@dataclass(frozen=True)
class Obj:
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class EventPattern:
    root: Obj
