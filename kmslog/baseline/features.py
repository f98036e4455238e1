"""Baseline features of KMS events, extracted with polars expressions.

Every feature is a *dimension*: an entity (a key, a principal, a key+principal pair,
an account) and a value observed for it (a principal, a network, an operation …).
``observations(frame)`` turns an event frame into one long table of
``(dim, e1, e2, value, day, count, first, last)`` rows, aggregated per day, which is
what profiles keep and what scans compare. ``series(frame)`` gives per-hour call and
error counts per key and per principal, for the rate statistics.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import polars as pl

from kmslog.decode import schema as S
from kmslog.kms.keys import key_arn_expr
from kmslog.kms.principals import principal_expr

# Control-plane KMS operations: who performs them is a habit worth learning.
CONTROL_OPS: frozenset[str] = frozenset(
    {
        "CreateKey",
        "PutKeyPolicy",
        "CreateGrant",
        "RevokeGrant",
        "RetireGrant",
        "DisableKey",
        "EnableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
        "GetParametersForImport",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "RotateKeyOnDemand",
        "UpdateKeyDescription",
        "TagResource",
        "UntagResource",
        "ReplicateKey",
        "UpdatePrimaryRegion",
        "CreateCustomKeyStore",
        "DeleteCustomKeyStore",
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
    }
)

# Destructive or access-control operations: the account-level "who ever does this" list.
DESTRUCTIVE_OPS: frozenset[str] = frozenset(
    {
        "PutKeyPolicy",
        "CreateGrant",
        "RevokeGrant",
        "DisableKey",
        "ScheduleKeyDeletion",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
        "UpdateAlias",
        "DeleteAlias",
        "DisableKeyRotation",
        "UpdatePrimaryRegion",
        "DeleteCustomKeyStore",
        "DisconnectCustomKeyStore",
    }
)

# Encryption-context keys whose values have a stable, meaningful prefix.
_EC_PREFIX_PATTERNS: dict[str, str] = {
    "aws:s3:arn": r'"aws:s3:arn"\s*:\s*"(arn:[^"/]*)',  # bucket ARN
    "aws:ebs:id": r'"aws:ebs:id"\s*:\s*"([a-z]+)-',  # vol / snap
    "aws:lambda:FunctionArn": r'"aws:lambda:FunctionArn"\s*:\s*"(arn:[^"]*:function:[^":]*)',
    "SecretARN": r'"SecretARN"\s*:\s*"(arn:[^"]*?)(?:-[A-Za-z0-9]{6})?"',
    "aws:cloudtrail:arn": r'"aws:cloudtrail:arn"\s*:\s*"([^"]*)"',
    "aws:sns:topicArn": r'"aws:sns:topicArn"\s*:\s*"([^"]*)"',
}


def is_metadata(op: str) -> bool:
    """Reads of key metadata (DescribeKey, GetKeyPolicy, List*): not use of the key."""
    return op.startswith(("Describe", "List", "Get")) and op != "GetParametersForImport"


def metadata_expr() -> pl.Expr:
    op = pl.col(S.EVENT_NAME)
    return op.str.contains(r"^(Describe|List|Get)") & (op != "GetParametersForImport")


@dataclass(frozen=True)
class Dim:
    """One feature dimension: an entity (one or two parts) and the value observed."""

    name: str
    e1: str
    e2: str | None
    value: str
    only: str | None = None  # column that must be true for a row to count
    about: str = ""


# Columns produced by ``enrich``; dims name them.
DIMS: tuple[Dim, ...] = (
    Dim("key.principal", "key", None, "principal", about="principals using the key"),
    Dim("key.account", "key", None, "caller_account", about="caller accounts"),
    Dim("key.operation", "key", None, "op", about="operations on the key"),
    Dim("key.principal.operation", "key", "principal", "op", about="operations per principal"),
    Dim(
        "key.service",
        "key",
        None,
        "service",
        only="is_use",
        about="calling services / user-agent families (metadata reads excluded)",
    ),
    Dim("key.network", "key", None, "network", about="source networks"),
    Dim("key.region", "key", None, "region", about="regions"),
    Dim("key.vpce", "key", None, "vpce", about="VPC endpoints"),
    Dim("key.session", "key", "principal", "session", about="session-name patterns"),
    Dim("key.error", "key", None, "error", about="error codes on the key"),
    Dim("principal.key", "principal", None, "key", about="keys a principal uses"),
    Dim("principal.error", "principal", None, "error", about="error codes a principal gets"),
    Dim("principal.network", "principal", None, "network", about="networks a principal uses"),
    Dim(
        "principal.hour",
        "principal",
        None,
        "hour",
        about="hours of day (UTC) a principal is active",
    ),
    Dim(
        "principal.control",
        "principal",
        None,
        "op",
        only="is_control",
        about="control-plane operations a principal performs",
    ),
    Dim(
        "account.destructive",
        "recipient",
        "op",
        "principal",
        only="is_destructive",
        about="who performs destructive or access-control operations",
    ),
    Dim(
        "api.calls",
        "api_scope",
        None,
        "op",
        only="is_write",
        about="write calls per API (Insights-style)",
    ),
    Dim("api.errors", "api_scope", "op", "error", about="errors per API and code (Insights-style)"),
)

EC_DIMS: tuple[Dim, ...] = (
    Dim("key.context", "key", None, "ec_key", about="encryption-context keys"),
    Dim(
        "key.principal.context",
        "key",
        "principal",
        "ec_key",
        about="encryption-context keys per principal (capped)",
    ),
    Dim("key.context_prefix", "key", None, "ec_prefix", about="well-known context value prefixes"),
)

DIM_BY_NAME: dict[str, Dim] = {d.name: d for d in (*DIMS, *EC_DIMS)}

# Context key names are chosen by callers: an attacker could invent a new one per call
# and grow the profile without end. Per key and principal the profile keeps the
# CONTEXT_NAMES_CAP lexically smallest names; the smallest N of a union is the smallest N
# of the parts' smallest N, so the cap keeps merging exact (and says, for a name past
# the largest kept one, that it cannot tell).
CAPPED_DIMS: dict[str, int] = {"key.principal.context": 32}

# Hourly call series per key, per principal, and per key and principal (the pair's
# entity is the key ARN, a space, the principal; keys with a space get no pair series).
SERIES_NAMES: tuple[str, ...] = ("key", "principal", "key.principal")
PAIR_SERIES = "key.principal"


def pair_entity(key: str, principal: str) -> str:
    return f"{key} {principal}"


def split_pair(entity: str) -> tuple[str, str]:
    key, _, principal = entity.partition(" ")
    return key, principal


OBS_SCHEMA: dict[str, pl.DataType] = {
    "dim": pl.String(),
    "e1": pl.String(),
    "e2": pl.String(),
    "value": pl.String(),
    "day": pl.Date(),
    "count": pl.Int64(),
    "first": pl.Datetime("ms", "UTC"),
    "last": pl.Datetime("ms", "UTC"),
}

SAMPLES_TYPE = pl.List(pl.Struct({"ts": pl.Datetime("ms", "UTC"), "event_id": pl.String()}))

SERIES_SCHEMA: dict[str, pl.DataType] = {
    "series": pl.String(),
    "entity": pl.String(),
    "day": pl.Date(),
    "hour": pl.Int8(),
    "calls": pl.Int64(),
    "errors": pl.Int64(),
}


def _ua_family() -> pl.Expr:
    ua = pl.col(S.USER_AGENT)
    token = ua.str.strip_chars_start("[").str.extract(r"^([^/\s\]\(]+)", 1).str.to_lowercase()
    return (
        pl.when(ua.str.contains(r"^[A-Za-z0-9.-]+\.amazonaws\.com$"))
        .then(ua)
        .when(ua.str.starts_with("AWS Internal"))
        .then(pl.lit("AWS Internal"))
        .otherwise(pl.lit("ua:") + token)
    )


def _service() -> pl.Expr:
    """``invokedBy`` when a service acted, else the user-agent family."""
    return pl.coalesce(pl.col(S.IDENTITY_INVOKED_BY), _ua_family(), pl.lit("ua:none"))


def _ipv6_prefix(values: pl.Series) -> pl.Series:
    out: list[str | None] = []
    for v in values.to_list():
        try:
            net = ipaddress.ip_network(f"{v}/48", strict=False)
            out.append(str(net))
        except ValueError:
            out.append(v)
    return pl.Series(values.name, out, dtype=pl.String)


_PRIVATE_V4 = (
    r"^(?:10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)"
)


def network_expr() -> pl.Expr:
    """Public IPv4 /24, private IPv4 (RFC 1918, CGNAT) /16, IPv6 /48; AWS service names
    and anything else verbatim. Private networks are coarser because hosts inside an
    organisation's own address space move between subnets all the time, and /24s of a
    busy VPC would otherwise grow the profile with every new instance."""
    ip = pl.col(S.SOURCE_IP)
    v4 = ip.str.extract(r"^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$", 1)
    v4_16 = ip.str.extract(r"^(\d{1,3}\.\d{1,3})\.\d{1,3}\.\d{1,3}$", 1)
    is_v6 = ip.str.contains(r"^[0-9A-Fa-f:]+(?:%.*)?$") & ip.str.contains(":", literal=True)
    v6 = ip.map_batches(_ipv6_prefix, return_dtype=pl.String)
    return (
        pl.when(v4.is_not_null() & ip.str.contains(_PRIVATE_V4))
        .then(v4_16 + ".0.0/16")
        .when(v4.is_not_null())
        .then(v4 + ".0/24")
        .when(is_v6)
        .then(v6)
        .otherwise(pl.coalesce(ip, pl.lit("none")))
    )


def _session_pattern() -> pl.Expr:
    name = pl.col(S.IDENTITY_ARN).str.extract(r"^arn:[^:]+:sts::[^:]*:assumed-role/.+/([^/]+)$", 1)
    return name.str.replace_all(r"[0-9a-fA-F]{8,}", "*").str.replace_all(r"[0-9]+", "#")


# Columns of the event schema the features read; ``slim`` keeps only these (plus the
# encryption context cut out of ``raw``) so frames can be buffered cheaply.
_NEEDED = (
    S.EVENT_TIME,
    S.EVENT_ID,
    S.EVENT_SOURCE,
    S.EVENT_NAME,
    S.AWS_REGION,
    S.SOURCE_IP,
    S.USER_AGENT,
    S.ERROR_CODE,
    S.READ_ONLY,
    S.RECIPIENT_ACCOUNT_ID,
    S.VPC_ENDPOINT_ID,
    S.IDENTITY_TYPE,
    S.IDENTITY_ARN,
    S.IDENTITY_ACCOUNT_ID,
    S.IDENTITY_SESSION_ISSUER_ARN,
    S.IDENTITY_INVOKED_BY,
    S.KEY_IDS,
)


def _ec_expr() -> pl.Expr:
    return pl.col(S.RAW).str.json_path_match("$.requestParameters.encryptionContext").alias("ec")


def slim(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns features need, with the encryption context instead of ``raw``."""
    if "ec" in frame.columns:
        return frame
    return frame.select(*_NEEDED, _ec_expr())


def enrich(frame: pl.DataFrame) -> pl.DataFrame:
    """The event frame (full or ``slim``) with the derived columns every dimension reads."""
    return _enrich_lazy(frame.lazy(), "ec" in frame.columns).collect()


def _enrich_lazy(frame: pl.LazyFrame, has_ec: bool) -> pl.LazyFrame:
    ts = pl.col(S.EVENT_TIME)
    is_error = pl.col(S.ERROR_CODE).is_not_null()
    return frame.select(
        ts.alias("ts"),
        ts.dt.date().alias("day"),
        ts.dt.hour().cast(pl.Int8).alias("hour_num"),
        pl.col(S.EVENT_ID).alias("event_id"),
        key_arn_expr().alias("key"),
        principal_expr(),
        pl.col(S.EVENT_NAME).alias("op"),
        pl.col(S.IDENTITY_ACCOUNT_ID).alias("caller_account"),
        _service().alias("service"),
        network_expr().alias("network"),
        pl.col(S.AWS_REGION).alias("region"),
        pl.col(S.VPC_ENDPOINT_ID).alias("vpce"),
        _session_pattern().alias("session"),
        ts.dt.hour().cast(pl.String).str.zfill(2).alias("hour"),
        pl.col(S.RECIPIENT_ACCOUNT_ID).alias("recipient"),
        pl.concat_str(
            [
                pl.coalesce(pl.col(S.RECIPIENT_ACCOUNT_ID), pl.lit("?")),
                pl.coalesce(pl.col(S.AWS_REGION), pl.lit("?")),
                pl.coalesce(pl.col(S.EVENT_SOURCE), pl.lit("?")),
            ],
            separator=" ",
        ).alias("api_scope"),
        pl.col(S.ERROR_CODE).alias("error"),
        is_error.alias("is_error"),
        # A habit is what a principal succeeds at: a denied DisableKey in the
        # baseline must not make the next successful one look routine.
        (pl.col(S.EVENT_NAME).is_in(list(CONTROL_OPS)) & ~is_error).alias("is_control"),
        (~metadata_expr()).fill_null(True).alias("is_use"),
        (pl.col(S.EVENT_NAME).is_in(list(DESTRUCTIVE_OPS)) & ~is_error).alias("is_destructive"),
        (pl.col(S.READ_ONLY) == False).fill_null(False).alias("is_write"),  # noqa: E712
        pl.col("ec") if has_ec else _ec_expr(),
    )


def _context(enriched: pl.LazyFrame) -> pl.LazyFrame:
    """Rows with an encryption context: one row per context key and per known prefix."""
    rows = enriched.filter(pl.col("key").is_not_null() & pl.col("ec").is_not_null())
    prefixes = [
        (pl.lit(f"{name}=") + pl.col("ec").str.extract(pattern, 1))
        for name, pattern in _EC_PREFIX_PATTERNS.items()
    ]
    return rows.with_columns(
        # Keys of a flat JSON object: a quoted string followed by a colon.
        pl.col("ec").str.extract_all(r'"((?:[^"\\]|\\.)*)"\s*:').alias("ec_key"),
        pl.concat_list(prefixes).list.drop_nulls().alias("ec_prefix"),
    ).with_columns(
        pl.col("ec_key").list.eval(pl.element().str.extract(r'^"((?:[^"\\]|\\.)*)"', 1)),
    )


def _select(rows: pl.LazyFrame, dim: Dim) -> pl.LazyFrame:
    """The rows of one dimension, in the common long shape."""
    selected = rows
    if dim.only is not None:
        selected = selected.filter(pl.col(dim.only))
    e2 = pl.col(dim.e2) if dim.e2 else pl.lit(None, dtype=pl.String)
    valid = pl.col("e1").is_not_null() & pl.col("value").is_not_null()
    if dim.e2:
        valid = valid & pl.col("e2").is_not_null()
    return selected.select(
        pl.lit(dim.name).alias("dim"),
        pl.col(dim.e1).alias("e1"),
        e2.alias("e2"),
        pl.col(dim.value).cast(pl.String).alias("value"),
        "day",
        "ts",
        "event_id",
    ).filter(valid)


def _aggregate(long: pl.LazyFrame, sample_cap: int | None = None) -> pl.LazyFrame:
    aggs = [
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("ts").min().alias("first"),
        pl.col("ts").max().alias("last"),
    ]
    if sample_cap is not None:
        aggs.append(sample_expr(sample_cap))
    return long.group_by("dim", "e1", "e2", "value", "day").agg(aggs)


def sample_expr(cap: int) -> pl.Expr:
    """The earliest ``cap`` (time, event id) pairs of a group: deterministic evidence
    whatever the order and split of the input."""
    return pl.struct("ts", "event_id").sort().head(cap).alias("samples")


def observations(
    frame: pl.DataFrame, enriched: pl.DataFrame | None = None, sample_cap: int | None = None
) -> pl.DataFrame:
    """Daily per-dimension counts of one event frame (see module docstring); with
    ``sample_cap``, also a ``samples`` column of the earliest event ids per row."""
    rows = enrich(frame) if enriched is None else enriched
    return _observations_lazy(rows.lazy(), sample_cap).collect()


def series(
    frame: pl.DataFrame, enriched: pl.DataFrame | None = None, sample_cap: int | None = None
) -> pl.DataFrame:
    """Per-hour calls and errors, per key and per principal; with ``sample_cap``, also
    first/last event time and the earliest event ids of each hour (scan windows)."""
    rows = enrich(frame) if enriched is None else enriched
    return _series_lazy(rows.lazy(), sample_cap).collect()


def extract(
    frame: pl.DataFrame, sample_cap: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``observations`` and ``series`` of one frame in a single query: on file-sized
    frames, per-operation overhead costs more than the work."""
    rows = enrich(frame).lazy()
    queries = [_observations_lazy(rows, sample_cap), _series_lazy(rows, sample_cap)]
    obs, ser = pl.collect_all(queries)
    return obs, ser


def _observations_lazy(rows: pl.LazyFrame, sample_cap: int | None) -> pl.LazyFrame:
    parts = [_select(rows, d) for d in DIMS]
    ctx = _context(rows)
    parts += [_select(ctx.explode(d.value), d) for d in EC_DIMS]
    out = _aggregate(pl.concat(parts, how="vertical"), sample_cap)
    schema = dict(OBS_SCHEMA)
    if sample_cap is not None:
        schema["samples"] = SAMPLES_TYPE
    return out.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def _series_lazy(rows: pl.LazyFrame, sample_cap: int | None) -> pl.LazyFrame:
    schema = dict(SERIES_SCHEMA)
    aggs = [
        pl.len().cast(pl.Int64).alias("calls"),
        pl.col("is_error").sum().cast(pl.Int64).alias("errors"),
    ]
    if sample_cap is not None:
        aggs += [pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last")]
        aggs.append(sample_expr(sample_cap))
        aggs.append(
            pl.struct("ts", "event_id")
            .filter(pl.col("is_error"))
            .sort()
            .head(sample_cap)
            .alias("error_samples")
        )
        schema.update(first=pl.Datetime("ms", "UTC"), last=pl.Datetime("ms", "UTC"))
        schema.update(samples=SAMPLES_TYPE, error_samples=SAMPLES_TYPE)
    parts = []
    # A forged key ARN with a space would split wrongly: such keys get no pair series.
    pair = pl.when(~pl.col("key").str.contains(" ", literal=True)).then(
        pl.concat_str([pl.col("key"), pl.col("principal")], separator=" ")
    )
    for name, col in (
        ("key", pl.col("key")),
        ("principal", pl.col("principal")),
        (PAIR_SERIES, pair),
    ):
        parts.append(
            rows.filter(col.is_not_null())
            .group_by(col.alias("entity"), "day", pl.col("hour_num").alias("hour"))
            .agg(aggs)
            .with_columns(pl.lit(name).alias("series"))
        )
    return pl.concat(parts, how="diagonal").select(list(schema)).cast(schema)  # type: ignore[arg-type]


def empty_observations() -> pl.DataFrame:
    return pl.DataFrame(schema=OBS_SCHEMA)


def empty_series() -> pl.DataFrame:
    return pl.DataFrame(schema=SERIES_SCHEMA)


def compact_observations(obs: pl.DataFrame) -> pl.DataFrame:
    """Merge rows of the same (dim, entity, value, day): the combine of partials."""
    # Unsorted: order is a serialization concern, and sorting would double the peak.
    merged = obs.group_by("dim", "e1", "e2", "value", "day").agg(
        pl.col("count").sum(), pl.col("first").min(), pl.col("last").max()
    )
    return cap_values(merged)


def cap_values(obs: pl.DataFrame) -> pl.DataFrame:
    """Drop, per entity of a capped dimension, the values past its cap (lexical order)."""
    for dim, cap in CAPPED_DIMS.items():
        is_dim = pl.col("dim").cast(pl.String) == dim
        part = obs.filter(is_dim)
        if not part.height:
            continue
        rank = (
            pl.col("value")
            .cast(pl.String)
            .rank("dense")
            .over(pl.col("e1").cast(pl.String), pl.col("e2").cast(pl.String))
        )
        kept = part.filter(rank <= cap)
        if kept.height < part.height:
            obs = pl.concat([obs.filter(~is_dim), kept])
    return obs


def compact_series(ser: pl.DataFrame) -> pl.DataFrame:
    return ser.group_by("series", "entity", "day", "hour").agg(
        pl.col("calls").sum(), pl.col("errors").sum()
    )
