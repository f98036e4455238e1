"""A readable diff between two key policies (statements and principals).

PutKeyPolicy logs the whole policy as a JSON *string*; CreateKey may carry the
first one. Statements are matched by ``Sid`` (or, lacking one, by their content),
and principals are collected from every Allow statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.lifecycle.fields import field_text


@dataclass(frozen=True)
class Statement:
    key: str  # Sid, or the canonical JSON when there is none
    effect: str
    principals: frozenset[str]
    actions: frozenset[str]
    text: str  # canonical JSON, to tell changed statements apart


@dataclass
class PolicyDiff:
    added: list[Statement] = field(default_factory=list)
    removed: list[Statement] = field(default_factory=list)
    changed: list[tuple[Statement, Statement]] = field(default_factory=list)
    principals_added: list[str] = field(default_factory=list)
    principals_removed: list[str] = field(default_factory=list)
    previous_known: bool = True
    unreadable: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed) and not self.unreadable

    def summary(self) -> str:
        if self.unreadable:
            return "policy text is not readable JSON"
        parts: list[str] = []
        if not self.previous_known:
            parts.append("previous policy not in the logs")
        for st in self.added:
            parts.append(f"+ statement {st.key} ({st.effect} {_short(st.principals)})")
        for st in self.removed:
            parts.append(f"- statement {st.key} ({st.effect} {_short(st.principals)})")
        for old, _new in self.changed:
            parts.append(f"~ statement {old.key}")
        if self.principals_added:
            parts.append("principals added: " + ", ".join(self.principals_added))
        if self.principals_removed:
            parts.append("principals removed: " + ", ".join(self.principals_removed))
        return "; ".join(parts) if parts else "no change"


def _short(principals: frozenset[str]) -> str:
    listed = sorted(principals)
    if len(listed) > 3:
        return ", ".join(listed[:3]) + f" +{len(listed) - 3}"
    return ", ".join(listed) or "no principal"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def principals_of(statement: Mapping[str, Any]) -> frozenset[str]:
    """``Principal`` flattened to strings: ``*`` stays ``*``; typed ones become ``AWS:arn``."""
    found: set[str] = set()
    principal = statement.get("Principal")
    if principal == "*" or isinstance(principal, str):
        found.add(principal)
    elif isinstance(principal, Mapping):
        for kind, values in principal.items():
            for value in _as_list(values):
                found.add("*" if value == "*" else f"{kind}:{field_text(value)}")
    if "NotPrincipal" in statement:
        found.add("NotPrincipal")
    return frozenset(found)


def parse_policy(text: str | None) -> list[Statement] | None:
    """Statements of a policy JSON string; None when it cannot be read."""
    if not isinstance(text, str):
        return None
    try:
        document = loads_record(text)
    except RecordTextError:
        return None
    if not isinstance(document, Mapping):
        return None
    statements: list[Statement] = []
    for index, raw in enumerate(_as_list(document.get("Statement"))):
        if not isinstance(raw, Mapping):
            continue
        try:
            canonical = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            return None  # nested deeper than orjson writes: not a policy KMS would accept
        sid = raw.get("Sid")
        key = sid if isinstance(sid, str) and sid else f"#{index + 1}"
        statements.append(
            Statement(
                key=key,
                effect=field_text(raw.get("Effect", "")),
                principals=principals_of(raw),
                actions=frozenset(field_text(a) for a in _as_list(raw.get("Action"))),
                text=canonical,
            )
        )
    return statements


def _allowed(statements: list[Statement]) -> set[str]:
    return {p for st in statements if st.effect == "Allow" for p in st.principals}


def diff_policies(old: str | None, new: str | None) -> PolicyDiff:
    """What changed from ``old`` to ``new`` (``old`` None: not known from the logs)."""
    new_statements = parse_policy(new)
    if new_statements is None:
        return PolicyDiff(unreadable=True, previous_known=old is not None)
    old_statements = parse_policy(old) if old is not None else None
    if old_statements is None:
        return PolicyDiff(
            added=new_statements,
            principals_added=sorted(_allowed(new_statements)),
            previous_known=False,
        )
    old_by_key = {st.key: st for st in old_statements}
    new_by_key = {st.key: st for st in new_statements}
    result = PolicyDiff()
    for key, st in new_by_key.items():
        before = old_by_key.get(key)
        if before is None:
            result.added.append(st)
        elif before.text != st.text:
            result.changed.append((before, st))
    result.removed = [st for key, st in old_by_key.items() if key not in new_by_key]
    old_allowed, new_allowed = _allowed(old_statements), _allowed(new_statements)
    result.principals_added = sorted(new_allowed - old_allowed)
    result.principals_removed = sorted(old_allowed - new_allowed)
    return result
