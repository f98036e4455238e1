"""The CloudWatch Logs filter-pattern language: parser, reference evaluator,
vectorized (polars) evaluator and metric transformations.

    from kmslog.patterns import parse, PatternError
    p = parse('{ $.eventSource = kms* && $.errorMessage = "* is pending deletion." }')
    p.matches(message); p.extract(message); frame.filter(p.to_polars())
"""

from __future__ import annotations

from kmslog.patterns.errors import PatternError, TransformationError
from kmslog.patterns.pattern import FilterPattern, parse

__all__ = ["FilterPattern", "PatternError", "TransformationError", "parse"]
