"""The reference evaluator: one log event message → match / no match, and the
``extractedValues`` TestMetricFilter would return. This module *defines* the
semantics; the vectorized evaluator must agree with it on every input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.patterns import ast as A
from kmslog.patterns.regex import compile_regex
from kmslog.patterns.syntax import NUMBER_RE

MISSING: Any = object()


# --- shared value semantics --------------------------------------------------------


def number_text(value: int | float) -> str:
    """The text a JSON number is compared as: integers in decimal, floats as the
    shortest round-trip form, exponent without zero padding (``1e+20``,
    ``1.5e-7``) — the same text polars' JSON path extraction produces."""
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"
    return text


@lru_cache(maxsize=4096)
def _glob(text: str) -> re.Pattern[str]:
    body = ".*".join(re.escape(part) for part in text.split("*"))
    return re.compile(body + r"\Z", re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    """``*`` matches any run of characters, anywhere in the value (§9 A1)."""
    if "*" not in pattern:
        return pattern == text
    return _glob(pattern).match(text) is not None


def text_matches(value: A.Value, text: str) -> bool:
    """``=`` of a string-like value against a scalar's text."""
    if isinstance(value, A.AnyValue):
        return True
    if isinstance(value, A.Text):
        return glob_match(value.text, text)
    if isinstance(value, A.Regex):
        return compile_regex(value.source).search(text)
    return text == value.literal


def _numeric(op: A.Op, left: int | float, right: int | float) -> bool:
    if op is A.Op.EQ:
        return left == right
    if op is A.Op.NE:
        return left != right
    if op is A.Op.LT:
        return left < right
    if op is A.Op.LE:
        return left <= right
    if op is A.Op.GT:
        return left > right
    return left >= right


def compare_scalar(op: A.Op, value: A.Value, node: Any) -> bool:
    """One comparison against one selected JSON node.

    Only strings and numbers take part in comparisons; booleans, null, objects
    and arrays fail ``=`` and ``!=`` alike (§2.2, §9 A3, A5).
    """
    if isinstance(node, bool) or not isinstance(node, str | int | float):
        return False
    if isinstance(value, A.Number):
        if isinstance(node, str):
            # §9 A8: a string is compared by text, never by magnitude
            if op is A.Op.EQ:
                return node == value.literal
            if op is A.Op.NE:
                return node != value.literal
            return False
        return _numeric(op, node, value.value)
    text = node if isinstance(node, str) else number_text(node)
    hit = text_matches(value, text)
    return hit if op is A.Op.EQ else not hit


# --- JSON ---------------------------------------------------------------------------


def load_json(message: str) -> Any:
    """The event as a JSON object, or MISSING when it is not one (§2.5, §9 A10).

    Read as every record text is (``loads_record``): nesting beyond its limit is
    not a JSON event, a number beyond float range is ``±inf``, a lone surrogate
    escape is U+FFFD."""
    try:
        doc = loads_record(message)
    except RecordTextError:
        return MISSING
    return doc if isinstance(doc, dict) else MISSING


def select(doc: Any, steps: tuple[A.Step, ...]) -> list[Any]:
    nodes = [doc]
    for step in steps:
        nxt: list[Any] = []
        for node in nodes:
            if isinstance(step, A.Name):
                if isinstance(node, dict) and step.name in node:
                    nxt.append(node[step.name])
            elif isinstance(step, A.Index):
                if isinstance(node, list) and step.index < len(node):
                    nxt.append(node[step.index])
            elif isinstance(step, A.AnyIndex):
                if isinstance(node, list):
                    nxt.extend(node)
            elif isinstance(node, dict):
                nxt.extend(node.values())
        nodes = nxt
    return nodes


def eval_json(expr: A.JsonExpr, doc: Any) -> bool:
    if isinstance(expr, A.Compare):
        return any(compare_scalar(expr.op, expr.value, n) for n in select(doc, expr.selector.steps))
    if isinstance(expr, A.Test):
        nodes = select(doc, expr.selector.steps)
        if expr.check is A.Check.NOT_EXISTS:
            return not nodes
        if expr.check is A.Check.IS_NULL:
            return any(n is None for n in nodes)
        want = expr.check is A.Check.IS_TRUE
        return any(n is want for n in nodes)
    if isinstance(expr, A.Group):
        return eval_json(expr.inner, doc)
    if isinstance(expr, A.And):
        return all(eval_json(item, doc) for item in expr.items)
    return any(eval_json(item, doc) for item in expr.items)


# --- space-delimited -------------------------------------------------------------------

_SPACE = " \t\r\n\f\v"


@dataclass(frozen=True)
class Token:
    value: str
    start: int


def tokenize(message: str) -> list[Token]:
    """Split on whitespace; ``[...]`` and ``"..."`` are single fields without
    their delimiters (§4.1). An unclosed delimiter runs to the end of the line."""
    tokens: list[Token] = []
    i, n = 0, len(message)
    while i < n:
        ch = message[i]
        if ch in _SPACE:
            i += 1
            continue
        if ch in '["':
            close = "]" if ch == "[" else '"'
            end = message.find(close, i + 1)
            if end < 0:
                end = n
            tokens.append(Token(message[i + 1 : end], i))
            i = end + 1
            continue
        start = i
        while i < n and message[i] not in _SPACE:
            i += 1
        tokens.append(Token(message[start:i], start))
    return tokens


def field_matches(cond: A.FieldOr, text: str) -> bool:
    return any(all(_field_atom(a, text) for a in conj.items) for conj in cond.items)


def _field_atom(atom: A.FieldCompare, text: str) -> bool:
    if isinstance(atom.value, A.Number):
        if NUMBER_RE.fullmatch(text):
            return _numeric(atom.op, A.parse_number(text), atom.value.value)
        if atom.op is A.Op.EQ:
            return text == atom.value.literal
        if atom.op is A.Op.NE:
            return text != atom.value.literal
        return False
    hit = text_matches(atom.value, text)
    return hit if atom.op is A.Op.EQ else not hit


def align(pattern: A.DelimitedPattern, message: str) -> list[tuple[A.Field | None, str]] | None:
    """Pair every event field with its pattern entry (None = covered by ``...`` or
    ``[]``); None when the event has too few fields."""
    tokens = tokenize(message)
    fields = pattern.fields
    if not fields:
        return [(None, t.value) for t in tokens]
    cut = next((i for i, f in enumerate(fields) if isinstance(f, A.Ellipsis_)), None)
    if cut is None:
        plain: list[A.Field] = list(fields)  # type: ignore[arg-type]
        if len(tokens) < len(plain):
            return None
        pairs: list[tuple[A.Field | None, str]] = [
            (f, t.value) for f, t in zip(plain[:-1], tokens, strict=False)
        ]
        last = tokens[len(plain) - 1]
        if len(tokens) == len(plain):
            pairs.append((plain[-1], last.value))
        else:
            # §9 A4: the last field absorbs the rest of the line
            pairs.append((plain[-1], message[last.start :].rstrip(_SPACE)))
        return pairs
    head: list[A.Field] = list(fields[:cut])  # type: ignore[arg-type]
    tail: list[A.Field] = list(fields[cut + 1 :])  # type: ignore[arg-type]
    if len(tokens) < len(head) + len(tail):
        return None
    middle = tokens[len(head) : len(tokens) - len(tail)]
    paired: list[tuple[A.Field | None, str]] = [
        (f, t.value) for f, t in zip(head, tokens, strict=False)
    ]
    paired += [(None, t.value) for t in middle]
    paired += [(f, t.value) for f, t in zip(tail, tokens[len(tokens) - len(tail) :], strict=True)]
    return paired


def eval_delimited(pattern: A.DelimitedPattern, message: str) -> dict[str, str] | None:
    """The extracted values when the event matches, else None."""
    pairs = align(pattern, message)
    if pairs is None:
        return None
    extracted: dict[str, str] = {}
    for position, (entry, text) in enumerate(pairs, start=1):
        if entry is not None and entry.condition and not field_matches(entry.condition, text):
            return None
        if entry is not None and entry.name is not None:
            extracted["$" + entry.name] = text
        else:
            extracted[f"${position}"] = text
    return extracted


# --- unstructured ------------------------------------------------------------------------


def eval_terms(pattern: A.TermPattern, message: str) -> bool:
    required = [t.text for t in pattern.terms if t.kind is A.TermKind.REQUIRED]
    excluded = [t.text for t in pattern.terms if t.kind is A.TermKind.EXCLUDED]
    optional = [t.text for t in pattern.terms if t.kind is A.TermKind.OPTIONAL]
    if required or excluded:
        # §5.4 / §9 A12: '?' terms are ignored next to any other term
        return all(t in message for t in required) and not any(t in message for t in excluded)
    if optional:
        return any(t in message for t in optional)
    return True


# --- entry points ----------------------------------------------------------------------------


def matches(pattern: A.Pattern, message: str) -> bool:
    if isinstance(pattern, A.JsonPattern):
        doc = load_json(message)
        return doc is not MISSING and eval_json(pattern.expr, doc)
    if isinstance(pattern, A.DelimitedPattern):
        return eval_delimited(pattern, message) is not None
    if isinstance(pattern, A.RegexPattern):
        return compile_regex(pattern.regex.source).search(message)
    return eval_terms(pattern, message)


def extract(pattern: A.Pattern, message: str) -> dict[str, str]:
    """TestMetricFilter's ``extractedValues``: the ``$name``/``$N`` map for a
    matching delimited pattern, ``{}`` otherwise (§6.1, §9 A15)."""
    if isinstance(pattern, A.DelimitedPattern):
        return eval_delimited(pattern, message) or {}
    return {}


Matcher = Callable[[str], bool]
