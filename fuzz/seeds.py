"""Structure-aware starting inputs for every target, taken from the project itself:
real records from ``sample_logs/``, the filter-pattern conformance table, the
built-in rule catalogue. Built when a run starts, so they follow the project."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

import orjson

from fuzz.targets import SEPARATOR

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LOGS = ROOT / "sample_logs"
BUILTIN_RULES = ROOT / "kmslog" / "metrics" / "builtin_rules.toml"


@functools.cache
def sample_records(limit: int = 40) -> tuple[bytes, ...]:
    """Compact texts of real records, one per distinct (eventSource, eventName)."""
    found: dict[tuple[str, str], bytes] = {}
    for path in sorted(SAMPLE_LOGS.rglob("*.json.gz")):
        if "CloudTrail-Digest" in path.parts:
            continue
        for record in orjson.loads(gzip.decompress(path.read_bytes())).get("Records", []):
            key = (str(record.get("eventSource")), str(record.get("eventName")))
            if key not in found:
                found[key] = orjson.dumps(record)
        if len(found) >= limit:
            break
    return tuple(found.values())


@functools.cache
def sample_files(limit: int = 4) -> tuple[bytes, ...]:
    """Whole delivered files (gzip, as on S3), the smallest first."""
    paths = sorted(
        (p for p in SAMPLE_LOGS.rglob("*.json.gz") if "CloudTrail-Digest" not in p.parts),
        key=lambda p: p.stat().st_size,
    )
    return tuple(p.read_bytes() for p in paths[:limit])


@functools.cache
def patterns() -> tuple[str, ...]:
    """The conformance table's patterns, valid and invalid, and the built-in ones."""
    from kmslog.metrics.loaders import builtin_rules

    found: list[str] = [r.metric_filter.pattern for r in builtin_rules().filters]
    try:
        from tests.patterns.conformance_cases import CASES
    except ImportError:  # an installed copy without the tests
        CASES = []
    found += [case[1] for case in CASES]
    return tuple(dict.fromkeys(found))


@functools.cache
def events() -> tuple[str, ...]:
    found = [r.decode() for r in sample_records()]
    try:
        from tests.patterns.conformance_cases import CASES
    except ImportError:
        CASES = []
    found += [case[2] for case in CASES if isinstance(case[2], str)]
    return tuple(dict.fromkeys(found))


def builtin_toml() -> str:
    return BUILTIN_RULES.read_text(encoding="utf-8")


def aws_json() -> bytes:
    """The built-in catalogue as `describe-metric-filters` + `describe-alarms` output."""
    from kmslog.metrics.loaders import builtin_rules

    rules = builtin_rules()
    filters = [
        {
            "filterName": r.metric_filter.name,
            "logGroupName": "CloudTrail/logs",
            "filterPattern": r.metric_filter.pattern,
            "metricTransformations": [
                {
                    "metricName": r.metric_filter.metric_name,
                    "metricNamespace": r.metric_filter.namespace,
                    "metricValue": r.metric_filter.metric_value,
                }
            ],
        }
        for r in rules.filters
    ]
    alarms: list[dict[str, Any]] = [
        {
            "AlarmName": a.name,
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:111122223333:alarm:{a.name}",
            "Namespace": a.namespace,
            "MetricName": a.metric_name,
            "Statistic": "Sum",
            "Period": a.period,
            "EvaluationPeriods": a.evaluation_periods,
            "DatapointsToAlarm": a.datapoints_to_alarm or a.evaluation_periods,
            "Threshold": a.threshold,
            "ComparisonOperator": a.comparison.value,
            "TreatMissingData": a.treat_missing_data.value,
            "ActionsEnabled": a.actions_enabled,
            "Dimensions": [],
        }
        for a in rules.alarms
    ]
    return json.dumps({"metricFilters": filters, "MetricAlarms": alarms}, indent=1).encode()


def _shapes(records: list[bytes]) -> list[bytes]:
    joined = b",".join(records)
    first = records[0]
    history = [{"EventId": "x", "CloudTrailEvent": r.decode()} for r in records]
    return [
        b'{"Records":[' + joined + b"]}",
        b"[" + joined + b"]",
        b"\n".join(records) + b"\n",
        first,
        b'{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":' + first + b"}",
        orjson.dumps({"Events": history}),
    ]


def sample_digests() -> tuple[bytes, ...]:
    """The digest files of ``sample_logs/`` as stored (gzip)."""
    return tuple(p.read_bytes() for p in sorted(SAMPLE_LOGS.rglob("*CloudTrail-Digest_*.json.gz")))


@functools.cache
def verify_documents() -> tuple[bytes, ...]:
    """A list-public-keys document with a real RSA key, and a --signatures document."""
    from tools.ctgen.digests import new_signing_key

    entry = new_signing_key().public_key_entry(0, 2_000_000_000)
    key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/09/15/x.json.gz"
    return (
        orjson.dumps({"PublicKeyList": [entry]}),
        orjson.dumps({f"s3://b/{key}": {"signature": "ab" * 256}, key[:-3]: "cd" * 256}),
    )


def seeds(target: str) -> list[bytes]:
    """The starting inputs of ``target``."""
    records = list(sample_records())
    if target in ("decode", "split", "native"):
        out: list[bytes] = []
        for start in range(0, min(len(records), 12), 3):
            out += _shapes(records[start : start + 3])
        return out
    if target == "local_file":
        plain = _shapes(records[:3])
        return list(sample_files()) + [gzip.compress(p) for p in plain] + plain[:2]
    if target == "pattern":
        return [p.encode("utf-8", "surrogateescape") for p in patterns()]
    if target == "pattern_event":
        evs = events()
        return [
            p.encode("utf-8", "surrogateescape") + SEPARATOR + evs[i % len(evs)].encode()
            for i, p in enumerate(patterns())
        ]
    if target == "rules_toml":
        return [builtin_toml().encode()]
    if target == "rules_json":
        return [aws_json()]
    if target == "digest":
        found = sample_digests()
        return list(found) + [gzip.decompress(d) for d in found]
    if target == "verify_inputs":
        return list(verify_documents())
    raise KeyError(target)
