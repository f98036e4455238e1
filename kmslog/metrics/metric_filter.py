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

from kmslog.decode import schema as S
from kmslog.kms.keys import key_arn_expr
from kmslog.kms.principals import principal_expr
from kmslog.metrics.rules import FilterRule, MetricFilter, RuleSet, compile_filter

MINUTE = "minute"
STREAM = "stream"
DIMS = "dims"
ACCOUNT = "account"
SAMPLE_SCHEMA = {
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


def evaluate_matches(
    compiled: Sequence[CompiledFilter], candidates: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Findings and per-minute samples from rows already marked with the rule masks.

    ``candidates`` holds the rows any rule matched, with one boolean column per
    rule (:func:`mask_column`).
    """
    findings: list[pl.DataFrame] = []
    samples: list[pl.DataFrame] = []
    evidence = finding_columns()
    for index, c in enumerate(compiled):
        rows = candidates.filter(pl.col(mask_column(index)))
        if rows.height == 0:
            continue
        value = pl.lit(c.constant, dtype=pl.Float64) if c.value is None else c.value
        matched = rows.select(
            pl.lit(c.rule.id).alias("rule"),
            *evidence,
            value.alias("metric_value"),
            _dims_expr(c.dimensions).alias(DIMS),
        )
        findings.append(matched.drop(DIMS))
        published = matched.filter(
            pl.col("metric_value").is_not_null() & pl.col(DIMS).is_not_null()
        )
        if published.height == 0:
            continue
        minute = (pl.col(S.EVENT_TIME).dt.epoch("s") // 60 * 60).alias(MINUTE)
        # Each account has its own log group, metric filter and metric.
        account = pl.col(S.RECIPIENT_ACCOUNT_ID).fill_null("").alias(ACCOUNT)
        agg = published.group_by(account, DIMS, minute).agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("metric_value").sum().alias("sum"),
            pl.col("metric_value").min().alias("min"),
            pl.col("metric_value").max().alias("max"),
            (pl.col("metric_value") if c.keep_values else pl.lit(None)).alias("values"),
        )
        samples.append(
            agg.with_columns(pl.lit(c.rule.metric_filter.name).alias(STREAM)).select(
                [pl.col(k).cast(v) for k, v in SAMPLE_SCHEMA.items()]
            )
        )
    return (
        pl.concat(findings, how="vertical_relaxed") if findings else pl.DataFrame(),
        pl.concat(samples) if samples else empty_samples(),
    )


def empty_samples() -> pl.DataFrame:
    return pl.DataFrame(schema=SAMPLE_SCHEMA)


def merge_samples(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Collapse partial sample tables to one row per stream, dimension set and minute."""
    if not frames:
        return empty_samples()
    data = pl.concat(frames)
    if data.height == 0:
        return empty_samples()
    return (
        data.group_by(ACCOUNT, STREAM, DIMS, MINUTE, maintain_order=True)
        .agg(
            pl.col("count").sum(),
            pl.col("sum").sum(),
            pl.col("min").min(),
            pl.col("max").max(),
            pl.col("values").explode().drop_nulls().alias("values"),
        )
        .select([pl.col(k).cast(v) for k, v in SAMPLE_SCHEMA.items()])
    )
