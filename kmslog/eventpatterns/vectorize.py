"""Event patterns → polars expressions over flat string columns, where it pays.

A frame qualifies when each path the pattern names maps to a column that holds,
per row, either the field's string value or null for "absent" (no arrays, no
other types): the envelope fields ``source``, ``detail-type``, ``account``,
``region`` and CloudTrail's ``detail.eventName`` / ``detail.eventSource`` are like
that. Matchers whose meaning depends on more than plain strings (numbers, IP
addresses, case folding of non-ASCII text) make :func:`to_polars` return None, and
:func:`filter_mask` then runs the reference matcher per row. Property tests
(``tests/eventpatterns/test_properties.py``) check both give the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import reduce
from typing import Any

import polars as pl

from kmslog.eventpatterns import ast as A
from kmslog.eventpatterns.match import Path, branches, matches
from kmslog.eventpatterns.parser import ip_bytes

FALSE = pl.lit(False)
TRUE = pl.lit(True)
_ASCII = r"^[\x00-\x7f]*$"


def _wild(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "*":
            out.append(".*")
        elif c == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    return "(?s)^" + "".join(out) + "$"


def _is_ascii(s: str) -> bool:
    return s.isascii()


def _matcher(m: A.Matcher, col: pl.Expr) -> pl.Expr | None:
    """True where the cell's string satisfies ``m`` (null cells are handled by the caller)."""
    if isinstance(m, A.Exact):
        if isinstance(m.value, str):
            return None if ip_bytes(m.value) is not None else col == pl.lit(m.value)
        return FALSE  # numbers, booleans and null never equal a string
    if isinstance(m, A.ExactOp):
        return col == pl.lit(m.text)
    if isinstance(m, A.Numeric | A.Cidr):
        return None if isinstance(m, A.Cidr) else FALSE
    if isinstance(m, A.Prefix | A.Suffix | A.EqualsIgnoreCase):
        if getattr(m, "ignore_case", True) and not _is_ascii(m.text):
            return None
        ic = isinstance(m, A.EqualsIgnoreCase) or getattr(m, "ignore_case", False)
        target = col.str.to_lowercase() if ic else col
        text = m.text.lower() if ic else m.text
        if isinstance(m, A.Prefix):
            e = target.str.starts_with(text)
        elif isinstance(m, A.Suffix):
            e = target.str.ends_with(text)
        else:
            e = target == pl.lit(text)
        # Python's and polars' lower-casing agree on ASCII; other rows go per row
        return pl.when(col.str.contains(_ASCII)).then(e).otherwise(None) if ic else e
    if isinstance(m, A.Wildcard):
        return col.str.contains(_wild(m.text))
    if isinstance(m, A.AnythingBut):
        if m.kind is A.ButKind.VALUES:
            if m.values and not isinstance(m.values[0], str):
                return TRUE  # a string is never one of the excluded numbers
            return ~col.is_in([v for v in m.values if isinstance(v, str)])
        texts = [v for v in m.values if isinstance(v, str)]
        parts: list[pl.Expr] = []
        for t in texts:
            if m.kind is A.ButKind.PREFIX:
                parts.append(col.str.starts_with(t))
            elif m.kind is A.ButKind.SUFFIX:
                parts.append(col.str.ends_with(t))
            elif m.kind is A.ButKind.WILDCARD:
                parts.append(col.str.contains(_wild(t)))
            else:
                if not _is_ascii(t):
                    return None
                low = col.str.to_lowercase() == pl.lit(t.lower())
                parts.append(pl.when(col.str.contains(_ASCII)).then(low).otherwise(None))
        excluded = reduce(lambda a, b: a | b, parts, FALSE)
        return ~excluded
    return None  # Exists is handled by the caller


def to_polars(
    pattern: A.EventPattern,
    columns: Mapping[Path, str],
    absent_when: Mapping[str, pl.Expr] | None = None,
) -> pl.Expr | None:
    """A Boolean expression (null: "ask the reference matcher") or None when the
    pattern cannot be answered from ``columns`` at all.

    ``absent_when`` names columns whose null cell may also stand for a value that is
    not a string (a number, null, an object: the event schema's typing rule): for
    such a column the expression given is true where a null cell surely means the
    field is absent, and elsewhere the answer is left to the reference matcher."""
    ors: list[pl.Expr] = []
    for branch in branches(pattern):
        ands: list[pl.Expr] = []
        for path, matchers in branch.items():
            name = columns.get(path)
            if name is None:
                return None
            col = pl.col(name)
            present: list[pl.Expr] = []
            absent_ok = False
            for m in matchers:
                if isinstance(m, A.Exists):
                    if m.present:
                        present.append(TRUE)
                    else:
                        absent_ok = True
                    continue
                e = _matcher(m, col)
                if e is None:
                    return None
                present.append(e)
            any_present = reduce(lambda a, b: a | b, present, FALSE)
            when_null: pl.Expr = pl.lit(absent_ok)
            if absent_when is not None and name in absent_when:
                when_null = (
                    pl.when(absent_when[name])
                    .then(pl.lit(absent_ok))
                    .otherwise(pl.lit(None, dtype=pl.Boolean))
                )
            ands.append(pl.when(col.is_null()).then(when_null).otherwise(any_present))
        ors.append(reduce(lambda a, b: a & b, ands, TRUE))
    return reduce(lambda a, b: a | b, ors, FALSE)


def filter_mask(
    frame: pl.DataFrame,
    pattern: A.EventPattern,
    columns: Mapping[Path, str],
    event_of_row: Callable[[dict[str, Any]], Any],
) -> pl.Series:
    """Per row, whether the pattern matches: polars where the columns decide,
    the reference matcher on ``event_of_row(row)`` for the rest."""
    expr = to_polars(pattern, columns)
    if expr is None:
        return pl.Series(
            "match",
            [matches(pattern, event_of_row(r)) for r in frame.iter_rows(named=True)],
            dtype=pl.Boolean,
        )
    mask = frame.select(expr.alias("match")).to_series()
    if mask.null_count() == 0:
        return mask
    values = mask.to_list()
    rows = frame.iter_rows(named=True)
    out = [
        v if v is not None else matches(pattern, event_of_row(r))
        for v, r in zip(values, rows, strict=True)
    ]
    return pl.Series("match", out, dtype=pl.Boolean)
