"""Syntax tree → filter-pattern text that parses back to the same tree."""

from __future__ import annotations

from kmslog.patterns import ast as A
from kmslog.patterns.syntax import PROPERTY_RE


def _quote(text: str, quote: str = '"') -> str:
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def value_text(value: A.Value) -> str:
    if isinstance(value, A.Text):
        return _quote(value.text) if value.quoted else value.text
    if isinstance(value, A.Number):
        return value.literal
    if isinstance(value, A.Regex):
        return f"%{value.source}%"
    return "*"


def selector_text(selector: A.Selector) -> str:
    out = ["$"]
    for step in selector.steps:
        if isinstance(step, A.Name):
            if PROPERTY_RE.fullmatch(step.name):
                out.append("." + step.name)
            else:
                out.append(".[" + _quote(step.name, "'") + "]")
        elif isinstance(step, A.Index):
            out.append(f"[{step.index}]")
        elif isinstance(step, A.AnyIndex):
            out.append("[*]")
        else:
            out.append(".*")
    return "".join(out)


def _json(expr: A.JsonExpr) -> str:
    if isinstance(expr, A.Compare):
        return f"{selector_text(expr.selector)} {expr.op.value} {value_text(expr.value)}"
    if isinstance(expr, A.Test):
        return f"{selector_text(expr.selector)} {expr.check.value}"
    if isinstance(expr, A.Group):
        return f"({_json(expr.inner)})"
    if isinstance(expr, A.And):
        return " && ".join(_json(item) for item in expr.items)
    return " || ".join(_json(item) for item in expr.items)


def _field(entry: A.Field | A.Ellipsis_) -> str:
    if isinstance(entry, A.Ellipsis_):
        return "..."
    if entry.name is None:
        return ""
    if entry.condition is None:
        return entry.name
    alts = []
    for conj in entry.condition.items:
        alts.append(" && ".join(f"{a.name} {a.op.value} {value_text(a.value)}" for a in conj.items))
    return " || ".join(alts)


def _term(term: A.Term) -> str:
    return term.kind.value + (_quote(term.text) if term.quoted else term.text)


def to_text(pattern: A.Pattern) -> str:
    if isinstance(pattern, A.JsonPattern):
        return "{ " + _json(pattern.expr) + " }"
    if isinstance(pattern, A.DelimitedPattern):
        if not pattern.fields:
            return "[]"
        return "[" + ", ".join(_field(f) for f in pattern.fields) + "]"
    if isinstance(pattern, A.RegexPattern):
        return f"%{pattern.regex.source}%"
    text = " ".join(_term(t) for t in pattern.terms)
    if text[:1] in ("{", "[", "%"):
        # The written pattern began with an empty quoted term, which the parser drops;
        # without one the text would read as a JSON, delimited or regex pattern.
        return '"" ' + text
    return text
