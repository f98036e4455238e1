"""Metric filters over event frames: matching rows → findings, and per-minute
metric samples.

CloudWatch Logs publishes one sample per matching event (the metric value) and
aggregates per minute; ``defaultValue`` adds a sample for every minute in which
events arrived but none matched. Per minute kmslog keeps what the alarm
statistics need and what merges across workers: count, sum, minimum, maximum,
and the raw values only when an alarm on the metric uses a percentile-type
statistic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
from polars._typing import PolarsDataType

from kmslog.decode import schema as S
from kmslog.kms.keys import key_arn_expr
from kmslog.kms.principals import principal_expr
from kmslog.metrics.rules import FilterRule, MetricFilter, RuleSet, compile_filter

MINUTE = "minute"
STREAM = "stream"
DIMS = "dims"
ACCOUNT = "account"
SAMPLE_SCHEMA: dict[str, PolarsDataType] = {
    ACCOUNT: pl.String,
    STREAM: pl.String,
    DIMS: pl.String,
    MINUTE: pl.Int64,
    "count": pl.Int64,
    "sum": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
    "values": pl.List(pl.Float64),
}

_ERROR_ARN = r"^(arn:aws[a-z-]*:kms:[^:\s]*:\d*:key/\S+?) is "


@dataclass(frozen=True)
class CompiledFilter:
    rule: FilterRule
    mask: pl.Expr
    value: pl.Expr | None  # None: the constant ``constant``
    constant: float | None
    dimensions: tuple[tuple[str, pl.Expr], ...]
    keep_values: bool


def dims_key(pairs: Sequence[tuple[str, str]]) -> str:
    """How a dimension set is written in the sample table (sorted name=value, US-separated)."""
    return "\x1f".join(f"{k}={v}" for k, v in sorted(pairs))


def _dims_expr(dimensions: tuple[tuple[str, pl.Expr], ...]) -> pl.Expr:
    if not dimensions:
        return pl.lit("", dtype=pl.String)
    parts: list[pl.Expr] = []
    for index, (name, expr) in enumerate(sorted(dimensions, key=lambda d: d[0])):
        if index:
            parts.append(pl.lit("\x1f"))
        parts.extend([pl.lit(f"{name}="), expr])
    return pl.concat_str(parts)


@lru_cache(maxsize=64)
def compile_rules(rules: RuleSet) -> tuple[CompiledFilter, ...]:
    """Polars expressions for every filter (cached per process: rule sets are frozen)."""
    needs_values = {(a.namespace, a.metric_name) for a in rules.alarms if a.statistic.needs_samples}
    out = []
    for rule in rules.filters:
        mf: MetricFilter = rule.metric_filter
        engine = compile_filter(rule.id, mf)
        constant = mf.constant_value
        dims = tuple(engine.dimension_exprs().items()) if mf.dimensions else ()
        out.append(
            CompiledFilter(
                rule=rule,
                mask=engine.pattern.to_polars(),
                value=None if constant is not None and not dims else engine.value_expr(),
                constant=constant,
                dimensions=dims,
                keep_values=mf.metric_key in needs_values,
            )
        )
    return tuple(out)


def finding_columns() -> list[pl.Expr]:
    """The evidence each finding carries (besides the rule)."""
    from_message = pl.col(S.ERROR_MESSAGE).str.extract(_ERROR_ARN, 1)
    return [
        pl.col(S.EVENT_ID),
        pl.col(S.EVENT_TIME),
        pl.col(S.EVENT_NAME),
        pl.col(S.EVENT_SOURCE),
        # A failed call often names no key but its message does ("<arn> is pending deletion.").
        pl.coalesce(key_arn_expr(), from_message).alias("key_arn"),
        principal_expr().alias("principal_arn"),
        pl.col(S.IDENTITY_ARN),
        pl.col(S.SOURCE_IP),
        pl.col(S.USER_AGENT),
        pl.col(S.AWS_REGION),
        pl.col(S.RECIPIENT_ACCOUNT_ID),
        pl.col(S.ERROR_CODE),
        pl.col(S.ERROR_MESSAGE),
        pl.col(S.SOURCE),
        pl.col(S.RECORD_INDEX),
    ]


def mask_column(index: int) -> str:
    return f"__rule{index}"


def rule_columns(compiled: Sequence[CompiledFilter]) -> list[pl.Expr]:
    """What to keep of each row some rule matched besides the evidence: per-rule
    metric values and dimensions where they are not constant, and ``__rule``, the
    list of the rules (by position) that matched the row. These read only what
    the rules' patterns, values and dimensions read."""
    per_rule: list[pl.Expr] = []
    for i, c in enumerate(compiled):
        if c.value is not None:
            per_rule.append(c.value.cast(pl.Float64).alias(f"__v{i}"))
        if c.dimensions:
            per_rule.append(_dims_expr(c.dimensions).alias(f"__d{i}"))
    if not compiled:
        # A scan with no rules still reads CloudWatch configuration and key material.
        index = pl.lit([], dtype=pl.List(pl.Int32))
    else:
        index = pl.concat_list(
            [
                pl.when(pl.col(mask_column(i)).fill_null(False)).then(pl.lit(i, dtype=pl.Int32))
                for i in range(len(compiled))
            ]
        ).list.drop_nulls()
    return [*per_rule, index.alias("__rule")]


def expand(
    compiled: Sequence[CompiledFilter], candidates: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Findings (one row per event and rule) and per-minute samples from the rows
    kept with :func:`finding_columns` and :func:`rule_columns`. All rules are
    handled together, once."""
    if candidates.height == 0 or not compiled:
        return pl.DataFrame(), empty_samples()
    long = candidates.lazy().filter(pl.col("__rule").list.len() > 0).explode("__rule")
    rule = pl.col("__rule")
    value: pl.Expr = pl.lit(None, dtype=pl.Float64)
    dims: pl.Expr = pl.lit("", dtype=pl.String)
    keep: pl.Expr = pl.lit(False)
    for i, c in reversed(list(enumerate(compiled))):
        this = pl.col(f"__v{i}") if c.value is not None else pl.lit(c.constant, dtype=pl.Float64)
        value = pl.when(rule == i).then(this).otherwise(value)
        if c.dimensions:
            dims = pl.when(rule == i).then(pl.col(f"__d{i}")).otherwise(dims)
        if c.keep_values:
            keep = pl.when(rule == i).then(pl.lit(True)).otherwise(keep)
    ids = {i: c.rule.id for i, c in enumerate(compiled)}
    streams = {i: c.rule.metric_filter.name for i, c in enumerate(compiled)}
    long = long.with_columns(
        value.alias("metric_value"),
        dims.alias(DIMS),
        keep.alias("__keep"),
        rule.replace_strict(ids, return_dtype=pl.String).alias("rule"),
    )
    evidence = [e.meta.output_name() for e in finding_columns()]
    minute = (pl.col(S.EVENT_TIME).dt.epoch("s") // 60 * 60).alias(MINUTE)
    # Each account has its own log group, metric filter and metric.
    account = pl.col(S.RECIPIENT_ACCOUNT_ID).fill_null("").alias(ACCOUNT)
    samples = (
        long.filter(pl.col("metric_value").is_not_null() & pl.col(DIMS).is_not_null())
        .group_by(account, "__rule", DIMS, minute)
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("metric_value").sum().alias("sum"),
            pl.col("metric_value").min().alias("min"),
            pl.col("metric_value").max().alias("max"),
            pl.col("metric_value").filter(pl.col("__keep")).alias("values"),
            pl.col("__keep").any().alias("__keep"),
        )
        .with_columns(
            pl.col("__rule").replace_strict(streams, return_dtype=pl.String).alias(STREAM),
            pl.when(pl.col("__keep")).then(pl.col("values")).alias("values"),
        )
        .select([pl.col(k).cast(v) for k, v in SAMPLE_SCHEMA.items()])
        .sort(ACCOUNT, STREAM, DIMS, MINUTE)
    )
    findings, samples_frame = pl.collect_all(
        [long.select("rule", *evidence, "metric_value"), samples]
    )
    return findings, samples_frame


def empty_samples() -> pl.DataFrame:
    return pl.DataFrame(schema=SAMPLE_SCHEMA)
