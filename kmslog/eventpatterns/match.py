"""The reference evaluator: it defines what a pattern matches.

A pattern is first expanded, as event-ruler's ``JsonRuleCompiler`` does, into
branches (one per combination of ``$or`` alternatives), each a map from a field
path to its matchers in which a later field with the same path replaces an earlier
one. The event is flattened into (path, value, array positions) leaves. A branch
matches when every path finds a matching leaf and the chosen leaves never come
from different elements of the same array (event-ruler's ``ArrayMembership``);
``{"exists": false}`` holds when the path has no leaf anywhere in the event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from kmslog.eventpatterns import ast as A
from kmslog.eventpatterns.jsontext import Num
from kmslog.eventpatterns.numbers import comparable
from kmslog.eventpatterns.parser import cidr_range, ip_bytes

Path = tuple[str, ...]
Branch = dict[Path, tuple[A.Matcher, ...]]
Membership = tuple[tuple[int, int], ...]  # (array id, element index)


def branches(pattern: A.EventPattern) -> list[Branch]:
    rules: list[Branch] = []
    _expand(pattern.root, (), rules)
    return rules


def _expand(obj: A.Obj, prefix: Path, rules: list[Branch]) -> None:
    for e in obj.entries:
        if isinstance(e, A.AnyOf):
            current = [dict(r) for r in rules]
            rules.clear()
            for b in e.branches:
                new = [dict(r) for r in current] or [{}]
                _expand(b, prefix, new)
                rules.extend(new)
        elif isinstance(e, A.Nested):
            _expand(e.body, prefix + (e.name,), rules)
        else:
            if not rules:
                rules.append({})
            for r in rules:
                r[prefix + (e.name,)] = e.matchers


# --- the event ----------------------------------------------------------------


def flatten(event: Any) -> dict[Path, list[tuple[Any, Membership]]]:
    """Leaves by path; objects contribute their fields, arrays their elements."""
    out: dict[Path, list[tuple[Any, Membership]]] = {}
    counter = [0]

    def walk(v: Any, path: Path, member: Membership) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + (k,), member)
        elif isinstance(v, list):
            counter[0] += 1
            aid = counter[0]
            for i, x in enumerate(v):
                walk(x, path, member + ((aid, i),))
        elif path:
            out.setdefault(path, []).append((v, member))

    walk(event, (), ())
    return out


def _number_text(v: Any) -> str | None:
    if isinstance(v, Num):
        return v.text
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return repr(v) if isinstance(v, float) else str(v)


# --- leaves -------------------------------------------------------------------


@lru_cache(maxsize=4096)
def wildcard_regex(text: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "*":
            parts.append(".*")
        elif c == "\\" and i + 1 < len(text):
            parts.append(re.escape(text[i + 1]))
            i += 1
        else:
            parts.append(re.escape(c))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def fold(s: str) -> str:
    """Case folding for the ignore-case operators (decision E9)."""
    return s.lower()


def _in_range(value: int, terms: tuple[tuple[str, Num], ...]) -> bool:
    for op, n in terms:
        bound = comparable(n.text)
        assert bound is not None  # the parser accepts comparable bounds only
        if not {
            "=": value == bound,
            "<": value < bound,
            "<=": value <= bound,
            ">": value > bound,
            ">=": value >= bound,
        }[op]:
            return False
    return True


def _exact(want: A.Scalar, v: Any) -> bool:
    if isinstance(want, str):
        if not isinstance(v, str):
            return False
        addr = ip_bytes(want)
        if addr is not None:
            # event-ruler turns an IP literal into a one-address range: any
            # spelling of the same address matches (decision E6)
            return ip_bytes(v) == addr
        return v == want
    if isinstance(want, Num):
        text = _number_text(v)
        if text is None:
            return False
        if text == want.text:
            return True
        a, b = comparable(want.text), comparable(text)
        return a is not None and a == b
    if want is None:
        return v is None
    return isinstance(v, bool) and v is want


def _but_excluded(m: A.AnythingBut, v: Any) -> bool:
    """Whether leaf ``v`` is one of the values anything-but excludes."""
    if m.kind is A.ButKind.VALUES:
        if m.values and isinstance(m.values[0], Num):
            text = _number_text(v)
            if text is None:
                return False
            got = comparable(text)
            return got is not None and any(
                got == comparable(n.text) for n in m.values if isinstance(n, Num)
            )
        return isinstance(v, str) and v in m.values
    if not isinstance(v, str):
        return False
    texts = [x for x in m.values if isinstance(x, str)]
    if m.kind is A.ButKind.PREFIX:
        return any(v.startswith(t) for t in texts)
    if m.kind is A.ButKind.SUFFIX:
        return any(v.endswith(t) for t in texts)
    if m.kind is A.ButKind.EQUALS_IGNORE_CASE:
        return any(fold(v) == fold(t) for t in texts)
    return any(wildcard_regex(t).fullmatch(v) for t in texts)


def leaf_matches(m: A.Matcher, v: Any) -> bool:
    """Whether one leaf value satisfies one matcher (``exists`` excepted)."""
    if isinstance(m, A.Exact):
        return _exact(m.value, v)
    if isinstance(m, A.Exists):
        return m.present
    if isinstance(m, A.AnythingBut):
        return not _but_excluded(m, v)
    if isinstance(m, A.Numeric):
        text = _number_text(v)
        got = comparable(text) if text is not None else None
        return got is not None and _in_range(got, m.terms)
    if not isinstance(v, str):
        return False
    if isinstance(m, A.ExactOp):
        return v == m.text
    if isinstance(m, A.Prefix):
        return fold(v).startswith(fold(m.text)) if m.ignore_case else v.startswith(m.text)
    if isinstance(m, A.Suffix):
        return fold(v).endswith(fold(m.text)) if m.ignore_case else v.endswith(m.text)
    if isinstance(m, A.EqualsIgnoreCase):
        return fold(v) == fold(m.text)
    if isinstance(m, A.Wildcard):
        return wildcard_regex(m.text).fullmatch(v) is not None
    addr = ip_bytes(v)
    rng = cidr_range(m.text)
    assert not isinstance(rng, str)
    low, high = rng
    return addr is not None and len(addr) == len(low) and low <= addr <= high


# --- branches -----------------------------------------------------------------


def _consistent(a: Membership, b: dict[int, int]) -> bool:
    return all(b.get(aid, idx) == idx for aid, idx in a)


def _branch_matches(branch: Branch, leaves: dict[Path, list[tuple[Any, Membership]]]) -> bool:
    todo: list[list[Membership]] = []
    for path, matchers in branch.items():
        values = leaves.get(path, [])
        if not values:
            if any(isinstance(m, A.Exists) and not m.present for m in matchers):
                continue
            return False
        hits = [
            mem
            for v, mem in values
            if any(leaf_matches(m, v) for m in matchers if not isinstance(m, A.Exists) or m.present)
        ]
        if not hits:
            return False
        todo.append(hits)
    todo.sort(key=len)
    return _choose(todo, 0, {})


def _choose(todo: list[list[Membership]], i: int, chosen: dict[int, int]) -> bool:
    if i == len(todo):
        return True
    seen: set[Membership] = set()
    for mem in todo[i]:
        if mem in seen or not _consistent(mem, chosen):
            continue
        seen.add(mem)
        extra = {aid: idx for aid, idx in mem if aid not in chosen}
        chosen.update(extra)
        if _choose(todo, i + 1, chosen):
            return True
        for aid in extra:
            del chosen[aid]
    return False


def matches(pattern: A.EventPattern, event: Any) -> bool:
    """Whether EventBridge would deliver ``event`` (decoded JSON) to ``pattern``."""
    if not isinstance(event, dict):
        return False
    leaves = flatten(event)
    return any(_branch_matches(b, leaves) for b in branches(pattern))


def iter_paths(pattern: A.EventPattern) -> Iterator[Path]:
    for b in branches(pattern):
        yield from b
