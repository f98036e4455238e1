"""What a trail's event selectors record of KMS management events.

Pure functions over the selectors as PutEventSelectors logs them (its
``requestParameters`` or ``responseElements``): basic ``eventSelectors`` or
``advancedEventSelectors``. Keys are read without regard to case, since the API
spells them ``ReadWriteType`` and CloudTrail logs them ``readWriteType``.

A trail records an event when any of its selectors does (the selectors are OR-ed).
Each selector is evaluated on two probe events, a read-only and a write KMS
management event, and on a management event of another service (to tell "KMS
excluded" from "management events off"). What the analysis cannot evaluate (an
unknown field, operator or value shape) may or may not match: the result then has a
lower bound (``least``, what surely is recorded) below its upper bound (``most``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kmslog.blindspots.model import Coverage

KMS_SOURCE = "kms.amazonaws.com"
_OTHER_SOURCE = "ec2.amazonaws.com"  # any management event source but KMS

# Three-valued: True matches, False does not, None cannot tell.
Tri = bool | None


@dataclass(frozen=True)
class Probe:
    """The fields of a management event that advanced selectors can look at."""

    source: str
    read_only: bool

    def field(self, name: str) -> str | None:
        """The event's value of the selector field ``name``; None: not one of the
        fields this probe knows (the match is then unknown)."""
        if name == "eventcategory":
            return "Management"
        if name == "eventsource":
            return self.source
        if name == "readonly":
            return "true" if self.read_only else "false"
        return None


_KMS_READ = Probe(KMS_SOURCE, True)
_KMS_WRITE = Probe(KMS_SOURCE, False)
_OTHER_READ = Probe(_OTHER_SOURCE, True)
_OTHER_WRITE = Probe(_OTHER_SOURCE, False)
_PROBES = (_KMS_READ, _KMS_WRITE, _OTHER_READ, _OTHER_WRITE)


@dataclass(frozen=True)
class Selection:
    """What the selectors record: ``least`` surely, ``most`` at best.

    ``management`` says whether management events of other services are surely
    recorded (so a KMS-less coverage means KMS was excluded, not management events
    turned off).
    """

    least: Coverage
    most: Coverage
    management: bool

    @property
    def uncertain(self) -> bool:
        """Some selector could not be evaluated: coverage may be more than ``least``."""
        return self.least != self.most


def coverage_of(read: bool, write: bool) -> Coverage:
    if read and write:
        return Coverage.ALL
    if read:
        return Coverage.READ_ONLY
    return Coverage.WRITE_ONLY if write else Coverage.NONE


def _fold(matches: Sequence[tuple[Tri, Tri, Tri, Tri]]) -> Selection:
    """The union of per-selector matches on the four probes."""

    def surely(i: int) -> bool:
        return any(m[i] is True for m in matches)

    def maybe(i: int) -> bool:
        return any(m[i] is not False for m in matches)

    return Selection(
        least=coverage_of(surely(0), surely(1)),
        most=coverage_of(maybe(0), maybe(1)),
        management=surely(2) or surely(3),
    )


def _lower(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k.lower() if isinstance(k, str) else k: v for k, v in value.items()}
    return value


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


_ALL_UNKNOWN: tuple[Tri, Tri, Tri, Tri] = (None, None, None, None)
_BASIC_KEYS = frozenset(
    {"readwritetype", "includemanagementevents", "excludemanagementeventsources", "dataresources"}
)


def _basic_one(selector: Any) -> tuple[Tri, Tri, Tri, Tri]:
    sel = _lower(selector)
    if not isinstance(sel, dict) or set(sel) - _BASIC_KEYS:
        return _ALL_UNKNOWN
    include = sel.get("includemanagementevents", True)  # the API's default
    if include is False:
        return (False, False, False, False)
    if include is not True:
        return _ALL_UNKNOWN
    kind = sel.get("readwritetype", "All")
    if kind == "All":
        read, write = True, True
    elif kind == "ReadOnly":
        read, write = True, False
    elif kind == "WriteOnly":
        read, write = False, True
    else:
        return _ALL_UNKNOWN
    excluded = sel.get("excludemanagementeventsources", [])
    names = [] if excluded is None else _strings(excluded)
    if names is None:
        kms: tuple[Tri, Tri] = (None if read else False, None if write else False)
    elif KMS_SOURCE in names:
        kms = (False, False)
    else:
        kms = (read, write)
    other = _OTHER_SOURCE not in (names or [])
    return (kms[0], kms[1], read and other, write and other)


def basic(selectors: Any) -> Selection:
    """KMS coverage of basic ``eventSelectors`` (a list of {readWriteType,
    includeManagementEvents, excludeManagementEventSources, dataResources}).

    An empty list records no management event; anything but a list of objects
    cannot be evaluated (least NONE, most ALL).
    """
    if not isinstance(selectors, list):
        return _fold([_ALL_UNKNOWN])
    return _fold([_basic_one(s) for s in selectors])


_OPERATORS = frozenset(
    {"equals", "startswith", "endswith", "notequals", "notstartswith", "notendswith"}
)


def _condition(field_selector: Any, probe: Probe) -> Tri:
    """Whether one field selector lets ``probe`` through: its inclusive operators
    (Equals, StartsWith, EndsWith) OR-ed, its exclusions (Not…) AND-ed."""
    fs = _lower(field_selector)
    if not isinstance(fs, dict) or not isinstance(fs.get("field"), str):
        return None
    ops = {k: v for k, v in fs.items() if k != "field" and v not in (None, [])}
    if set(ops) - _OPERATORS:
        return None
    lists = {k: _strings(v) for k, v in ops.items()}
    if any(v is None for v in lists.values()):
        return None
    value = probe.field(fs["field"].lower())
    if value is None:
        return None if ops else True

    def hit(op: str, pattern: str) -> bool:
        if op.endswith("equals"):
            return value == pattern
        if op.endswith("startswith"):
            return value.startswith(pattern)
        return value.endswith(pattern)

    include = [(op, p) for op, v in lists.items() if not op.startswith("not") for p in v or []]
    exclude = [(op[3:], p) for op, v in lists.items() if op.startswith("not") for p in v or []]
    if include and not any(hit(op, p) for op, p in include):
        return False
    return not any(hit(op, p) for op, p in exclude)


def _advanced_one(selector: Any) -> tuple[Tri, Tri, Tri, Tri]:
    sel = _lower(selector)
    fields = sel.get("fieldselectors") if isinstance(sel, dict) else None
    if not isinstance(fields, list) or not fields:
        return _ALL_UNKNOWN
    named = [_lower(f).get("field") if isinstance(f, dict) else None for f in fields]
    # A selector without eventCategory is invalid; CloudTrail would have refused it.
    if not any(isinstance(n, str) and n.lower() == "eventcategory" for n in named):
        return _ALL_UNKNOWN
    out: list[Tri] = []
    for probe in _PROBES:
        verdict: Tri = True
        for f in fields:
            c = _condition(f, probe)
            if c is False:
                verdict = False
                break
            if c is None:
                verdict = None
        out.append(verdict)
    return (out[0], out[1], out[2], out[3])


def advanced(selectors: Any) -> Selection:
    """KMS coverage of ``advancedEventSelectors`` (a list of {name, fieldSelectors:
    [{field, equals, startsWith, endsWith, notEquals, notStartsWith, notEndsWith}]}).

    A selector records an event when all its field selectors let it through; the
    fields known here are eventCategory, eventSource and readOnly (any other field
    with a condition, e.g. eventName, makes the selector's match unknown).
    """
    if not isinstance(selectors, list):
        return _fold([_ALL_UNKNOWN])
    return _fold([_advanced_one(s) for s in selectors])


def from_parameters(params: Mapping[str, Any] | None) -> Selection | None:
    """The selection a PutEventSelectors call's ``requestParameters`` (or
    ``responseElements``) sets; None when it holds neither kind of selectors."""
    if not isinstance(params, Mapping):
        return None
    p = _lower(params)
    if p.get("advancedeventselectors") is not None:
        return advanced(p["advancedeventselectors"])
    if p.get("eventselectors") is not None:
        return basic(p["eventselectors"])
    return None
