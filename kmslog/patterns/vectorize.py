"""Filter patterns → polars expressions over the event table.

The expressions must agree with the reference evaluator (``match.py``) on every
row. Each JSON condition is compiled to a three-valued expression: true, false,
or null = "cannot be decided from the columns". Conditions combine with Kleene
logic (``false & null`` is false), so most rows are decided in polars; the few
left null are settled by running the reference evaluator on exactly those rows.

What decides a row:

* typed columns (``SELECTOR_COLUMNS``): a non-null string cell *is* a string node;
  a null cell is a node that is not a string (absent, null, number, ...);
* ``str.json_path_match`` on ``raw``: null for absent or JSON-null nodes, the
  content for strings, and a text rendering for numbers, booleans and
  containers — ambiguous only when a string *looks* like one of those;
* necessary-condition scans of ``raw``: a string node under key ``k`` implies the
  text ``"k":"`` (unless the record uses ``\\u`` escapes), a null node implies
  ``"k":null``; without them the ambiguous cases resolve.

The vectorized path assumes, as the event schema guarantees, that ``raw`` is a
JSON object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

import polars as pl
from polars._typing import PolarsDataType as PolarsType

from kmslog.decode import schema as S
from kmslog.patterns import ast as A
from kmslog.patterns import match as M
from kmslog.patterns.regex import compile_regex

if TYPE_CHECKING:
    from kmslog.patterns.metric import MetricFilter, Reference
    from kmslog.patterns.pattern import FilterPattern

RAW = pl.col(S.RAW)
NULL_BOOL = pl.lit(None, dtype=pl.Boolean)
TRUE = pl.lit(True)
FALSE = pl.lit(False)

_NUMBER_FULL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NUMBER_SHAPE = r"^[-+0-9.eE]+$"
_INT_SHAPE = r"^-?[0-9]{1,15}$"
_NUMBER_CHARS = frozenset("0123456789.-+eE")
_SAFE_KEY = re.compile(r"[\x20-\x7e]+")
_BOOL_COLUMNS = {S.READ_ONLY, S.MANAGEMENT_EVENT}


def _lit_re(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in text)


def _contains_any_escape() -> pl.Expr:
    return RAW.str.contains("\\u", literal=True)


# --- string-value matching on a String expression ------------------------------------


def _glob_expr(pattern: str, col: pl.Expr) -> pl.Expr:
    if "*" not in pattern:
        return col == pl.lit(pattern)
    parts = pattern.split("*")
    inner = parts[1:-1]
    if all(p == "" for p in parts):
        return col.is_not_null()
    if len(parts) == 2:
        starts, ends = parts
        expr = col.is_not_null()
        if starts:
            expr = expr & col.str.starts_with(starts)
        if ends:
            expr = expr & col.str.ends_with(ends)
        if starts and ends:
            expr = expr & (col.str.len_chars() >= len(starts) + len(ends))
        return expr
    if len(parts) == 3 and not parts[0] and not parts[2]:
        return col.str.contains(inner[0], literal=True)
    body = "(?s:.*)".join(_lit_re(p) for p in parts)
    return col.str.contains("^" + body + "$")


def _text_hit(value: A.Value, col: pl.Expr) -> pl.Expr:
    """``=`` of a string-like value against a String expression."""
    if isinstance(value, A.AnyValue):
        return col.is_not_null()
    if isinstance(value, A.Text):
        return _glob_expr(value.text, col)
    if isinstance(value, A.Regex):
        return col.str.contains(compile_regex(value.source).rust)
    assert isinstance(value, A.Number)
    return col == pl.lit(value.literal)


def _may_match_number_text(value: A.Value) -> bool:
    if isinstance(value, A.Text):
        return set(value.text.replace("*", "")) <= _NUMBER_CHARS and value.text != ""
    return True


# --- what a selector lands on ------------------------------------------------------------


def _jsonpath(selector: A.Selector) -> str | None:
    out = ["$"]
    for step in selector.steps:
        if isinstance(step, A.Index):
            out.append(f"[{step.index}]")
        elif isinstance(step, A.Name):
            name = step.name
            if "\\" in name or ("'" in name and '"' in name):
                return None
            quote = '"' if "'" in name else "'"
            out.append(f"[{quote}{name}{quote}]")
        else:
            return None
    return "".join(out)


@dataclass
class NodeView:
    """Per-row facts about the node a plain (wildcard-free) selector lands on.
    Each is a Boolean expression, null where the columns cannot tell."""

    is_str: pl.Expr
    str_val: pl.Expr
    is_num: pl.Expr
    num_text: pl.Expr
    is_null: pl.Expr
    is_missing: pl.Expr
    is_true: pl.Expr
    is_false: pl.Expr


def _key_scan(selector: A.Selector, follow: str) -> pl.Expr:
    """A necessary condition for "the last key holds a node starting with ``follow``"."""
    last = selector.steps[-1]
    if not isinstance(last, A.Name) or not _SAFE_KEY.fullmatch(last.name):
        return TRUE
    if any(c in last.name for c in '"\\/'):
        return TRUE
    return RAW.str.contains(f'"{_lit_re(last.name)}"\\s*:\\s*{follow}') | _contains_any_escape()


def node_view(selector: A.Selector, m: pl.Expr | None = None) -> NodeView | None:
    """``m`` overrides the JSON-path extraction (a column computed once, see
    :func:`_on_candidates`)."""
    path = _jsonpath(selector)
    if path is None:
        return None
    if m is None:
        m = RAW.str.json_path_match(path)
    m_null = m.is_null()
    # polars' JSON reader rejects some records kmslog keeps (a number beyond float
    # range, a lone surrogate escape, nesting beyond 128 levels): there the extraction
    # says nothing, and the facts it gives are left to the reference evaluator.
    # (read again only where the extraction gave nothing: the rest parsed)
    unreadable = m_null & pl.when(m_null).then(RAW).str.json_path_match("$").is_null()

    def known(fact: pl.Expr) -> pl.Expr:
        return pl.when(unreadable).then(NULL_BOOL).otherwise(fact)

    shape_num = m.str.contains(_NUMBER_SHAPE)
    shape_bool = m.is_in(["true", "false"])
    shape_cont = m.str.starts_with("{") | m.str.starts_with("[")
    may_hold_null = _key_scan(selector, "null")
    is_null = pl.when(m_null & may_hold_null).then(NULL_BOOL).otherwise(FALSE)
    is_missing = pl.when(m_null & may_hold_null).then(NULL_BOOL).otherwise(m_null)
    names = selector.names
    column = S.SELECTOR_COLUMNS.get(names) if names else None
    if column is not None and column not in _BOOL_COLUMNS:
        typed = pl.col(column)
        is_str = typed.is_not_null()
        non_str = ~is_str & ~m_null
        return NodeView(
            is_str=is_str,
            str_val=typed,
            is_num=known(non_str & shape_num),
            num_text=m,
            is_null=known(~is_str & is_null),
            is_missing=known(~is_str & is_missing),
            is_true=known(non_str & (m == "true")),
            is_false=known(non_str & (m == "false")),
        )
    may_hold_str = _key_scan(selector, '"')
    ambiguous = shape_num | shape_bool | shape_cont
    if column is not None:
        typed = pl.col(column)
        is_true = typed.fill_null(False)
        is_false = (~typed).fill_null(False)
        ambiguous = shape_num | shape_cont
        bool_known = typed.is_not_null()
    else:
        is_true = pl.when(m == "true").then(pl.when(may_hold_str).then(NULL_BOOL).otherwise(TRUE))
        is_true = is_true.otherwise(FALSE)
        is_false = pl.when(m == "false").then(pl.when(may_hold_str).then(NULL_BOOL).otherwise(TRUE))
        is_false = is_false.otherwise(FALSE)
        bool_known = FALSE
    is_str = (
        pl.when(m_null | bool_known)
        .then(FALSE)
        .when(~ambiguous)
        .then(TRUE)
        .when(may_hold_str)
        .then(NULL_BOOL)
        .otherwise(FALSE)
    )
    is_num = (
        pl.when(m_null | bool_known | ~shape_num)
        .then(FALSE)
        .when(may_hold_str)
        .then(NULL_BOOL)
        .otherwise(TRUE)
    )
    return NodeView(
        known(is_str),
        m,
        known(is_num),
        m,
        known(is_null),
        known(is_missing),
        known(is_true),
        known(is_false),
    )


# --- conditions ------------------------------------------------------------------------------


def _numeric(op: A.Op, left: pl.Expr, right: float) -> pl.Expr:
    lit = pl.lit(right, dtype=pl.Float64)
    return {
        A.Op.EQ: left == lit,
        A.Op.NE: left != lit,
        A.Op.LT: left < lit,
        A.Op.LE: left <= lit,
        A.Op.GT: left > lit,
        A.Op.GE: left >= lit,
    }[op]


def _negate_if(op: A.Op, hit: pl.Expr) -> pl.Expr:
    return hit if op is A.Op.EQ else ~hit


def _compare(cond: A.Compare, view: NodeView) -> pl.Expr:
    value, op = cond.value, cond.op
    if isinstance(value, A.Number):
        on_str: pl.Expr = FALSE
        if op is A.Op.EQ:
            on_str = view.str_val == pl.lit(value.literal)
        elif op is A.Op.NE:
            on_str = view.str_val != pl.lit(value.literal)
        literal = value.value
        exact_literal = isinstance(literal, float) or float(literal) == literal
        text = view.num_text
        decidable = text.str.contains(_INT_SHAPE) | text.str.contains("[.eE]")
        if exact_literal:
            on_num = (
                pl.when(decidable)
                .then(_numeric(op, text.cast(pl.Float64, strict=False), float(literal)))
                .otherwise(NULL_BOOL)
            )
        else:
            on_num = NULL_BOOL
    else:
        on_str = _negate_if(op, _text_hit(value, view.str_val))
        if isinstance(value, A.AnyValue):
            on_num = _negate_if(op, TRUE)
        elif not _may_match_number_text(value):
            on_num = _negate_if(op, FALSE)
        else:
            on_num = (
                pl.when(view.num_text.str.contains(_INT_SHAPE))
                .then(_negate_if(op, _text_hit(value, view.num_text)))
                .otherwise(NULL_BOOL)
            )
    return (
        pl.when(view.is_str.is_null())
        .then(NULL_BOOL)
        .when(view.is_str)
        .then(on_str)
        .when(view.is_num.is_null())
        .then(NULL_BOOL)
        .when(view.is_num)
        .then(on_num)
        .otherwise(FALSE)
    )


def _typed_fast_path(cond: A.JsonExpr) -> pl.Expr | None:
    """Exact, column-only forms for the common CloudTrail conditions."""
    names = cond.selector.names if isinstance(cond, A.Compare | A.Test) else None
    column = S.SELECTOR_COLUMNS.get(names) if names else None
    if column is None:
        return None
    typed = pl.col(column)
    if isinstance(cond, A.Test) and column in _BOOL_COLUMNS:
        if cond.check is A.Check.IS_TRUE:
            return typed.fill_null(False)
        if cond.check is A.Check.IS_FALSE:
            return (~typed).fill_null(False)
        return None
    if (
        isinstance(cond, A.Compare)
        and column not in _BOOL_COLUMNS
        and isinstance(cond.value, A.Text | A.Regex)
        and cond.op is A.Op.EQ
        and not (isinstance(cond.value, A.Regex) or _may_match_number_text(cond.value))
    ):
        # a null cell is "not a string", and no number's text can match the value.
        # (Not for '!=': a number node satisfies it, and only raw can tell numbers.)
        return (typed.is_not_null() & _text_hit(cond.value, typed)).fill_null(False)
    return None


def _literal_runs(value: A.Value) -> list[str]:
    if isinstance(value, A.Text):
        runs = re.findall(r"[\x20-\x7e]+", value.text.replace("*", "\x00"))
        return [r for r in runs if all(c not in '"\\/' for c in r)]
    return []


def _wildcard_condition(cond: A.JsonExpr) -> pl.Expr:
    """Wildcard selectors: prefilter by a literal the match needs, settle the rest
    row by row."""
    if isinstance(cond, A.Compare) and cond.op is A.Op.EQ:
        runs = sorted(_literal_runs(cond.value), key=len, reverse=True)
        if runs:
            possible = RAW.str.contains(runs[0], literal=True) | _contains_any_escape()
            return pl.when(possible).then(NULL_BOOL).otherwise(FALSE)
    return NULL_BOOL


def _json(expr: A.JsonExpr) -> pl.Expr:
    if isinstance(expr, A.Group):
        return _json(expr.inner)
    if isinstance(expr, A.And):
        return reduce(lambda a, b: a & b, (_json(i) for i in expr.items))
    if isinstance(expr, A.Or):
        return reduce(lambda a, b: a | b, (_json(i) for i in expr.items))
    fast = _typed_fast_path(expr)
    if fast is not None:
        return fast
    path = _jsonpath(expr.selector)
    if path is None:
        return _wildcard_condition(expr)
    view = node_view(expr.selector, pl.col(_M))
    assert view is not None
    if isinstance(expr, A.Compare):
        leaf = _compare(expr, view)
    else:
        leaf = {
            A.Check.IS_NULL: view.is_null,
            A.Check.NOT_EXISTS: view.is_missing,
            A.Check.IS_TRUE: view.is_true,
            A.Check.IS_FALSE: view.is_false,
        }[expr.check]
    return _on_candidates(_candidates(expr), leaf, path, expr.selector)


_M = "__kmslog_m"


def _absent_answer(leaf: pl.Expr) -> bool | None:
    """The leaf's answer on a record without the property."""
    probe = pl.DataFrame(
        {S.RAW: ["{}"], _M: pl.Series([None], dtype=pl.String)},
    )
    for name in S.SELECTOR_COLUMNS.values():
        dtype = pl.Boolean if name in _BOOL_COLUMNS else pl.String
        probe = probe.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return probe.select(leaf.alias("v")).item()


_ESCAPE_FREE = re.compile(r"[\x20-\x7e]+")


@dataclass(frozen=True)
class Candidates:
    """Which rows may need the JSON path; on every other row the node is as good
    as absent, or (typed string column) the typed cell answers.

    A node under property ``k`` can only exist if the record's text holds ``"k"``
    (or uses ``\\u`` escapes); an equality with a value no number's text can
    match also needs the value's literal text."""

    key: str | None  # None: every row is a candidate
    literal: str | None
    column: str | None  # a typed string column

    def rows(self, df: pl.DataFrame) -> pl.Series:
        raw = df[S.RAW]
        if self.key is None:
            return pl.repeat(True, df.height, dtype=pl.Boolean, eager=True)
        pool = pl.repeat(True, df.height, dtype=pl.Boolean, eager=True)
        if self.column is not None:
            pool = df[self.column].is_null()
        if self.literal is not None:
            pool = pool & raw.str.contains(self.literal, literal=True)
        escaped = raw.str.contains("\\u", literal=True)
        pool_rows = pool.arg_true()
        if pool_rows.len() * 2 > df.height:
            return (pool & raw.str.contains(f'"{self.key}"', literal=True)) | escaped
        # few rows left: scan only those for the key
        has_key = raw.gather(pool_rows).str.contains(f'"{self.key}"', literal=True)
        out = pl.repeat(False, df.height, dtype=pl.Boolean, eager=True)
        return out.scatter(pool_rows.filter(has_key), True) | escaped


def _candidates(expr: A.Compare | A.Test) -> Candidates:
    names = [s.name for s in expr.selector.steps if isinstance(s, A.Name)]
    key = names[-1]
    column = S.SELECTOR_COLUMNS.get(expr.selector.names or ())
    typed = column if column is not None and column not in _BOOL_COLUMNS else None
    if not _ESCAPE_FREE.fullmatch(key) or any(c in key for c in '"\\/'):
        return Candidates(None, None, typed)
    literal = None
    if (
        isinstance(expr, A.Compare)
        and expr.op is A.Op.EQ
        and isinstance(expr.value, A.Text)
        and not _may_match_number_text(expr.value)
    ):
        runs = sorted(_literal_runs(expr.value), key=len, reverse=True)
        literal = runs[0] if runs else None
    return Candidates(key, literal, typed)


def _on_candidates(
    candidates: Candidates, leaf: pl.Expr, path: str, selector: A.Selector
) -> pl.Expr:
    """Evaluate ``leaf`` (which reads the JSON path from column ``_M``) with the
    real JSON path only on candidate rows. JSON path extraction is the costly
    step: it runs once, on as few rows as possible."""
    column = candidates.column
    selector_column = S.SELECTOR_COLUMNS.get(selector.names or ())
    inputs = [RAW] + ([pl.col(selector_column)] if selector_column is not None else [])
    absent_answer = _absent_answer(leaf)

    def run(batch: pl.Series) -> pl.Series:
        df = batch.struct.unnest()
        chosen = candidates.rows(df)
        out = pl.repeat(absent_answer, df.height, dtype=pl.Boolean, eager=True)
        if column is not None:
            # a string node: the typed cell alone answers (raw and the path are not read)
            known = df[column].is_not_null() & ~chosen
            if known.any():
                cells = pl.DataFrame({column: df[column]}).with_columns(
                    pl.lit("", dtype=pl.String).alias(S.RAW),
                    pl.lit(None, dtype=pl.String).alias(_M),
                )
                answers = cells.select(leaf.alias("v"))["v"]
                out = pl.select(pl.when(known).then(answers).otherwise(out)).to_series()
        rows = chosen.arg_true()
        if rows.len() == 0:
            return out
        sub = df.filter(chosen).with_columns(RAW.str.json_path_match(path).alias(_M))
        return out.scatter(rows, sub.select(leaf.alias("v"))["v"])

    return pl.struct(inputs).map_batches(run, return_dtype=pl.Boolean, is_elementwise=True)


def _always_decided(expr: A.JsonExpr) -> bool:
    if isinstance(expr, A.Group):
        return _always_decided(expr.inner)
    if isinstance(expr, A.And | A.Or):
        return all(_always_decided(i) for i in expr.items)
    return _typed_fast_path(expr) is not None


# --- settling undecided rows ------------------------------------------------------------------


def settle(decided: pl.Expr, fn: Callable[[str], Any], dtype: PolarsType) -> pl.Expr:
    """Fill the null rows of ``decided`` with ``fn(raw)``, calling Python only for
    those rows."""

    def run(batch: pl.Series) -> pl.Series:
        values = batch.struct.field("decided").clone()
        undecided = values.is_null().arg_true()
        if undecided.len() == 0:
            return values
        raws = batch.struct.field("raw").gather(undecided).to_list()
        filled = pl.Series([fn(r) for r in raws], dtype=dtype)
        return values.scatter(undecided, filled)

    return pl.struct(decided.alias("decided"), RAW.alias("raw")).map_batches(
        run, return_dtype=dtype, is_elementwise=True
    )


def to_polars(pattern: FilterPattern) -> pl.Expr:
    ast = pattern.ast
    if isinstance(ast, A.TermPattern):
        return _terms(ast)
    if isinstance(ast, A.RegexPattern):
        return RAW.str.contains(compile_regex(ast.regex.source).rust)
    if isinstance(ast, A.DelimitedPattern):
        return settle(NULL_BOOL, pattern.matches, pl.Boolean)
    if _always_decided(ast.expr):
        return _json(ast.expr)
    return settle(_json(ast.expr), pattern.matches, pl.Boolean)


def _terms(ast: A.TermPattern) -> pl.Expr:
    def has(term: A.Term) -> pl.Expr:
        return RAW.str.contains(term.text, literal=True)

    required = [has(t) for t in ast.terms if t.kind is A.TermKind.REQUIRED]
    excluded = [~has(t) for t in ast.terms if t.kind is A.TermKind.EXCLUDED]
    optional = [has(t) for t in ast.terms if t.kind is A.TermKind.OPTIONAL]
    if required or excluded:
        return reduce(lambda a, b: a & b, required + excluded)
    if optional:
        return reduce(lambda a, b: a | b, optional)
    return RAW.is_not_null()


# --- metric transformations ---------------------------------------------------------------------


def _reference_text(ref: Reference) -> pl.Expr | None:
    """String per row: the referenced node's text when it is a string or number,
    null when it is anything else; None when the columns cannot provide it."""
    if ref.selector is None:
        return None
    view = node_view(ref.selector)
    if view is None:
        return None
    return (
        pl.when(view.is_str.is_null() | view.is_num.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(view.is_str)
        .then(view.str_val)
        .when(view.is_num & view.num_text.str.contains(_INT_SHAPE))
        .then(view.num_text)
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _undecided_text(ref: Reference) -> pl.Expr:
    """Rows where :func:`_reference_text` could not tell "no value" from "unknown"."""
    assert ref.selector is not None
    view = node_view(ref.selector)
    assert view is not None
    return (
        view.is_str.is_null()
        | view.is_num.is_null()
        | (view.is_num.fill_null(False) & ~view.num_text.str.contains(_INT_SHAPE))
    )


def metric_value_expr(mf: MetricFilter) -> pl.Expr:
    matched = mf.pattern.to_polars()
    if isinstance(mf.pattern.ast, A.JsonPattern) and all(
        r.selector is not None or r.constant is not None
        for r in [mf.value_ref] + [d for _, d in mf.dimension_refs]
    ):
        if mf.value_ref.constant is not None:
            value = pl.lit(mf.value_ref.constant, dtype=pl.Float64)
        else:
            view = node_view(mf.value_ref.selector)  # type: ignore[arg-type]
            if view is None:
                return _settled_value(mf)
            # numbers and numeric strings both count; json_path_match renders both
            text = view.num_text
            value = (
                pl.when(text.str.contains(_NUMBER_FULL))
                .then(text.cast(pl.Float64, strict=False))
                .otherwise(pl.lit(None, dtype=pl.Float64))
            )
        dims = _dimension_exprs_all_rows(mf)
        resolved = reduce(lambda a, b: a & b, [d.is_not_null() for d in dims.values()], TRUE)
        published = pl.when(resolved).then(value).otherwise(pl.lit(None, dtype=pl.Float64))
        return _where_matched(matched, published, pl.Float64)
    if mf.value_ref.constant is not None and not mf.dimension_refs:
        return (
            pl.when(matched)
            .then(pl.lit(mf.value_ref.constant, dtype=pl.Float64))
            .otherwise(pl.lit(None, dtype=pl.Float64))
        )
    return _settled_value(mf)


def _settled_value(mf: MetricFilter) -> pl.Expr:
    def fn(raw: str) -> float | None:
        point = mf.evaluate(raw)
        return None if point is None else point.value

    return settle(pl.lit(None, dtype=pl.Float64), fn, pl.Float64)


def _where_matched(mask: pl.Expr, expr: pl.Expr, dtype: PolarsType) -> pl.Expr:
    """``expr`` where ``mask`` holds, null elsewhere — computed on those rows only
    (reading JSON paths is costly; matching rows are usually few)."""
    columns = sorted(set(expr.meta.root_names()) | {S.RAW})

    def run(batch: pl.Series) -> pl.Series:
        df = batch.struct.unnest()
        chosen = df["__mask"].fill_null(False)
        out = pl.repeat(None, df.height, dtype=dtype, eager=True)
        rows = chosen.arg_true()
        if rows.len() == 0:
            return out
        sub = df.filter(chosen)
        return out.scatter(rows, sub.select(expr.alias("v"))["v"])

    inputs = [mask.alias("__mask"), *[pl.col(c) for c in columns]]
    return pl.struct(inputs).map_batches(run, return_dtype=dtype, is_elementwise=True)


def metric_dimension_exprs(mf: MetricFilter) -> dict[str, pl.Expr]:
    matched = mf.pattern.to_polars()
    return {
        name: _where_matched(matched, expr, pl.String)
        for name, expr in _dimension_exprs_all_rows(mf).items()
    }


def _dimension_exprs_all_rows(mf: MetricFilter) -> dict[str, pl.Expr]:
    out: dict[str, pl.Expr] = {}
    for name, ref in mf.dimension_refs:
        text = _reference_text(ref)
        if text is None:

            def fn(raw: str, name: str = name) -> str | None:
                point = mf.evaluate(raw)
                return None if point is None else point.dimensions.get(name)

            out[name] = settle(pl.lit(None, dtype=pl.String), fn, pl.String)
            continue

        def one(raw: str, ref: Reference = ref) -> str | None:
            doc = M.load_json(raw)
            return None if doc is M.MISSING else _json_node_text(doc, ref)

        undecided = _undecided_text(ref)
        decided = pl.when(undecided).then(pl.lit(None, dtype=pl.String)).otherwise(text)
        out[name] = _settle_where(decided, undecided, one, pl.String)
    return out


def _json_node_text(doc: Any, ref: Reference) -> str | None:
    from kmslog.patterns.metric import _json_text

    return _json_text(doc, ref)


def _settle_where(
    decided: pl.Expr, undecided: pl.Expr, fn: Callable[[str], Any], dtype: PolarsType
) -> pl.Expr:
    """Like :func:`settle`, but the rows to compute are marked explicitly (for
    values where null is itself a legitimate answer)."""

    def run(batch: pl.Series) -> pl.Series:
        values = batch.struct.field("decided").clone()
        rows = batch.struct.field("undecided").fill_null(True).arg_true()
        if rows.len() == 0:
            return values
        raws = batch.struct.field("raw").gather(rows).to_list()
        return values.scatter(rows, pl.Series([fn(r) for r in raws], dtype=dtype))

    return pl.struct(
        decided.alias("decided"), undecided.alias("undecided"), RAW.alias("raw")
    ).map_batches(run, return_dtype=dtype, is_elementwise=True)
