"""Check one conformance case against the reference and the vectorized evaluator."""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl
import pytest

from kmslog.decode import schema as S
from kmslog.decode.memory import frame_from_records
from kmslog.patterns import PatternError, TransformationError, parse
from kmslog.patterns.metric import MetricTransformation, metric_filter

EPOCH = "2024-01-01T00:00:00Z"


def event_frame(event: str) -> pl.DataFrame | None:
    """A one-row event table whose ``raw`` is exactly ``event`` (None when the
    event is not a JSON object and so cannot be an ingested record)."""
    try:
        record = orjson.loads(event)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    # eventTime has no selector column, so replacing it leaves every typed cell as is
    frame = frame_from_records([{**record, "eventTime": EPOCH}])
    return frame.with_columns(pl.lit(event).alias(S.RAW))


def text_frame(event: str) -> pl.DataFrame:
    frame = frame_from_records([{"eventTime": EPOCH}])
    return frame.with_columns(pl.lit(event).alias(S.RAW))


def _transformation(case: dict[str, Any]) -> MetricTransformation | None:
    if "metric_value" not in case:
        return None
    dims = {name: spec["from"] for name, spec in (case.get("dimensions") or {}).items()}
    return MetricTransformation.of(case["metric_value"], case.get("default_value"), dims)


def check(case: dict[str, Any]) -> None:
    pattern, event, expect = case["pattern"], case["event"], case["expect"]
    transformation = _transformation(case)
    if expect == "invalid":
        with pytest.raises((PatternError, TransformationError)):
            p = parse(pattern)
            if transformation is not None:
                metric_filter(p, transformation)
        return
    p = parse(pattern)
    assert p.matches(event) is expect
    frame = event_frame(event) if p.kind == "json" else text_frame(event)
    if frame is not None:
        assert frame.select(p.to_polars()).item() is expect, "vectorized evaluator disagrees"
    if "extracted" in case:
        assert p.extract(event) == case["extracted"]
    if transformation is None:
        return
    mf = metric_filter(p, transformation)
    expected_value = case.get("value")
    got = mf.value_for(event)
    if expected_value is None:
        assert got is None
    else:
        assert got == pytest.approx(float(expected_value))
    point = mf.evaluate(event)
    if case.get("dimensions"):
        assert point is not None
        assert point.dimensions == {n: s["value"] for n, s in case["dimensions"].items()}
    if frame is not None:
        vector_value = frame.select(mf.value_expr()).item()
        assert vector_value == (None if point is None else pytest.approx(point.value))
        for name, expr in mf.dimension_exprs().items():
            dim = frame.select(expr).item()
            if point is not None:
                assert dim == point.dimensions[name]
