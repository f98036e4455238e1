""":class:`EventPattern` → pattern JSON text (fields in written order, repeats kept)."""

from __future__ import annotations

import json

from kmslog.eventpatterns import ast as A
from kmslog.eventpatterns.jsontext import Num


def _scalar(v: A.Scalar) -> str:
    if isinstance(v, Num):
        return v.text
    return json.dumps(v, ensure_ascii=False)


def _matcher(m: A.Matcher) -> str:
    s = _scalar
    if isinstance(m, A.Exact):
        return s(m.value)
    if isinstance(m, A.ExactOp):
        return '{"exact":' + s(m.text) + "}"
    if isinstance(m, A.Prefix | A.Suffix):
        key = "prefix" if isinstance(m, A.Prefix) else "suffix"
        inner = '{"equals-ignore-case":' + s(m.text) + "}" if m.ignore_case else s(m.text)
        return "{" + s(key) + ":" + inner + "}"
    if isinstance(m, A.EqualsIgnoreCase):
        return '{"equals-ignore-case":' + s(m.text) + "}"
    if isinstance(m, A.Wildcard):
        return '{"wildcard":' + s(m.text) + "}"
    if isinstance(m, A.AnythingBut):
        vals = "[" + ",".join(s(v) for v in m.values) + "]" if m.listed else s(m.values[0])
        inner = vals if m.kind is A.ButKind.VALUES else "{" + s(str(m.kind)) + ":" + vals + "}"
        return '{"anything-but":' + inner + "}"
    if isinstance(m, A.Numeric):
        terms = ",".join(s(op) + "," + n.text for op, n in m.terms)
        return '{"numeric":[' + terms + "]}"
    if isinstance(m, A.Cidr):
        return '{"cidr":' + s(m.text) + "}"
    return '{"exists":' + ("true" if m.present else "false") + "}"


def _obj(o: A.Obj) -> str:
    parts = []
    for e in o.entries:
        if isinstance(e, A.Leaf):
            parts.append(_scalar(e.name) + ":[" + ",".join(_matcher(m) for m in e.matchers) + "]")
        elif isinstance(e, A.Nested):
            parts.append(_scalar(e.name) + ":" + _obj(e.body))
        else:
            parts.append('"$or":[' + ",".join(_obj(b) for b in e.branches) + "]")
    return "{" + ",".join(parts) + "}"


def to_text(pattern: A.EventPattern) -> str:
    return _obj(pattern.root)
