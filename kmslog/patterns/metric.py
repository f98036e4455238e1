"""Metric transformations (PutMetricFilter's ``metricTransformations``).

A :class:`MetricFilter` couples a pattern with one transformation, validated the
way PutMetricFilter validates it, and evaluates per message (:meth:`evaluate`)
or per event frame (:meth:`value_expr`, :meth:`dimension_exprs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kmslog.patterns import ast as A
from kmslog.patterns import match as M
from kmslog.patterns.errors import PatternError, TransformationError
from kmslog.patterns.pattern import FilterPattern, parse
from kmslog.patterns.syntax import FIELD_NAME_RE, NUMBER_RE, _JsonParser

if TYPE_CHECKING:
    import polars as pl

MAX_DIMENSIONS = 3
MAX_METRIC_VALUE_LENGTH = 100
MAX_DIMENSION_LENGTH = 255

STANDARD_UNITS = frozenset(
    [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ]
)


@dataclass(frozen=True)
class Reference:
    """Where a metric value or dimension comes from: a JSON selector, a delimited
    field (``$name`` / ``$N``), or (metric values only) a constant."""

    text: str
    selector: A.Selector | None = None
    field: str | None = None
    constant: float | None = None


@dataclass(frozen=True)
class MetricTransformation:
    metric_value: str
    default_value: float | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    unit: str | None = None
    metric_name: str = ""
    metric_namespace: str = ""

    @classmethod
    def of(
        cls,
        metric_value: str,
        default_value: float | None = None,
        dimensions: Mapping[str, str] | None = None,
        unit: str | None = None,
        metric_name: str = "",
        metric_namespace: str = "",
    ) -> MetricTransformation:
        return cls(
            str(metric_value),
            None if default_value is None else float(default_value),
            tuple((dimensions or {}).items()),
            unit,
            metric_name,
            metric_namespace,
        )


@dataclass(frozen=True)
class MetricPoint:
    """What one matching event publishes."""

    value: float
    dimensions: dict[str, str] = field(default_factory=dict)


def _reference(text: str, pattern: FilterPattern, what: str, allow_constant: bool) -> Reference:
    if allow_constant and NUMBER_RE.fullmatch(text):
        return Reference(text, constant=float(text))
    if text.startswith("$."):
        if not isinstance(pattern.ast, A.JsonPattern):
            raise TransformationError(f"{what} {text!r}: '$.' selectors need a JSON pattern")
        parser = _JsonParser(text)
        try:
            selector = parser.selector()
        except PatternError as err:
            raise TransformationError(f"{what} {text!r}: {err.message}") from None
        if not parser.at_end():
            raise TransformationError(f"{what} {text!r}: unexpected text after the selector")
        if selector.has_wildcard:
            raise TransformationError(f"{what} {text!r}: wildcard selectors are not allowed")
        return Reference(text, selector=selector)
    if text.startswith("$") and len(text) > 1:
        if not isinstance(pattern.ast, A.DelimitedPattern):
            raise TransformationError(f"{what} {text!r}: '$name' needs a space-delimited pattern")
        name = text[1:]
        names = {f.name for f in pattern.ast.fields if isinstance(f, A.Field) and f.name}
        if not (name.isdigit() and int(name) >= 1) and not (
            FIELD_NAME_RE.fullmatch(name) and name in names
        ):
            raise TransformationError(f"{what} {text!r}: the pattern has no field {name!r}")
        return Reference(text, field=text)
    kind = "a number or a $reference" if allow_constant else "a $reference"
    raise TransformationError(f"{what} {text!r} must be {kind}")


@dataclass(frozen=True)
class MetricFilter:
    pattern: FilterPattern
    transformation: MetricTransformation
    value_ref: Reference
    dimension_refs: tuple[tuple[str, Reference], ...]

    def evaluate(self, message: str) -> MetricPoint | None:
        """The value and dimensions a matching message publishes; None when the
        message does not match or a referenced value is missing / not numeric
        (spec §6, recommended: emit nothing)."""
        ast = self.pattern.ast
        if isinstance(ast, A.JsonPattern):
            doc = M.load_json(message)
            if doc is M.MISSING or not M.eval_json(ast.expr, doc):
                return None
            lookup = lambda ref: _json_text(doc, ref)  # noqa: E731
        elif isinstance(ast, A.DelimitedPattern):
            extracted = M.eval_delimited(ast, message)
            if extracted is None:
                return None
            lookup = lambda ref: _field_text(ast, message, extracted, ref)  # noqa: E731
        else:
            if not M.matches(ast, message):
                return None
            lookup = lambda ref: None  # noqa: E731
        value = self.value_ref.constant
        if value is None:
            text = lookup(self.value_ref)
            if text is None or not NUMBER_RE.fullmatch(text):
                return None
            value = float(text)
        dims: dict[str, str] = {}
        for name, ref in self.dimension_refs:
            text = lookup(ref)
            if text is None:
                return None
            dims[name] = text
        return MetricPoint(value, dims)

    def value_for(self, message: str) -> float | None:
        """The published value, with ``defaultValue`` standing in for a non-match."""
        point = self.evaluate(message)
        if point is not None:
            return point.value
        if not self.matches(message):
            return self.transformation.default_value
        return None

    def matches(self, message: str) -> bool:
        return self.pattern.matches(message)

    def value_expr(self) -> pl.Expr:
        """Float64 per row: the value a matching row publishes, null otherwise."""
        from kmslog.patterns.vectorize import metric_value_expr

        return metric_value_expr(self)

    def dimension_exprs(self) -> dict[str, pl.Expr]:
        """Dimension name → String expression per row (null when unresolved)."""
        from kmslog.patterns.vectorize import metric_dimension_exprs

        return metric_dimension_exprs(self)


def _field_text(
    ast: A.DelimitedPattern, message: str, extracted: dict[str, str], ref: Reference
) -> str | None:
    """``$name`` or ``$N``; a position also reaches a named field (``$7`` = ``$size``)."""
    name = ref.field or ""
    if name in extracted or not name[1:].isdigit():
        return extracted.get(name)
    pairs = M.align(ast, message) or []
    position = int(name[1:])
    return pairs[position - 1][1] if position <= len(pairs) else None


def _json_text(doc: Any, ref: Reference) -> str | None:
    assert ref.selector is not None
    nodes = M.select(doc, ref.selector.steps)
    if not nodes:
        return None
    node = nodes[0]
    if isinstance(node, str):
        return node
    if isinstance(node, int | float) and not isinstance(node, bool):
        return M.number_text(node)
    return None


def metric_filter(
    pattern: str | FilterPattern, transformation: MetricTransformation
) -> MetricFilter:
    """Validate a pattern + transformation as PutMetricFilter would.

    Raises PatternError for the pattern, TransformationError for the rest.
    """
    fp = parse(pattern) if isinstance(pattern, str) else pattern
    t = transformation
    if not t.metric_value or len(t.metric_value) > MAX_METRIC_VALUE_LENGTH:
        raise TransformationError(
            f"metricValue must be 1 to {MAX_METRIC_VALUE_LENGTH} characters long"
        )
    value_ref = _reference(t.metric_value, fp, "metricValue", allow_constant=True)
    if t.dimensions:
        if isinstance(fp.ast, A.TermPattern | A.RegexPattern):
            raise TransformationError("The specified filter pattern does not support dimensions")
        if t.default_value is not None:
            raise TransformationError("dimensions cannot be combined with defaultValue")
        if len(t.dimensions) > MAX_DIMENSIONS:
            raise TransformationError(f"at most {MAX_DIMENSIONS} dimensions are allowed")
    dims: list[tuple[str, Reference]] = []
    seen: set[str] = set()
    for name, source in t.dimensions:
        if not name or len(name) > MAX_DIMENSION_LENGTH or len(source) > MAX_DIMENSION_LENGTH:
            raise TransformationError(
                f"dimension names and values must be 1 to {MAX_DIMENSION_LENGTH} characters"
            )
        if name in seen:
            raise TransformationError(f"dimension {name!r} is given twice")
        seen.add(name)
        dims.append((name, _reference(source, fp, f"dimension {name!r}", allow_constant=False)))
    if t.unit is not None and t.unit not in STANDARD_UNITS:
        raise TransformationError(f"unit {t.unit!r} is not a CloudWatch standard unit")
    return MetricFilter(fp, t, value_ref, tuple(dims))
