"""Hostile hypothesis strategies, one per target, each drawing the bytes of one input.

What an attacker who writes the log (or hands over a rule file) controls: nesting
depth, number range, calendar range, duplicate keys, lone surrogate escapes, invalid
UTF-8, the file's shape and its gzip framing. Real records from ``sample_logs/`` are
the starting point, so the hostile part lands inside otherwise valid records.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

from fuzz import seeds
from fuzz.targets import SEPARATOR

# --- JSON text with hostile leaves ---------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text spliced in as it is (may be invalid on purpose)."""

    text: str


@dataclass(frozen=True)
class Obj:
    """An object as ordered pairs, so a key can appear twice."""

    pairs: tuple[tuple[str, Any], ...]


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


EDGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999999Z",
    "2026-02-30T00:00:00Z",
    "2026-12-31T23:59:60Z",
    "2026-01-01T24:00:00Z",
    "+10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "2026-01-01T00:00:00+99:99",
    "2026-01-01",
    "2026-01-01T00:00:00",
    "",
    "\u0000",
]
HUGE_NUMBERS = [
    "1e400",
    "-1e400",
    "1e-400",
    "1" + "0" * 400,
    "-" + "9" * 30,
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "1000000000000",
    "0.0000000000000000000001",
    "-0",
    "1E+308",
    "NaN",
    "Infinity",
]
SURROGATES = ['"\\ud800"', '"\\udfff"', '"a\\ud800b"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"']


def nested(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '[{"a":' * depth + "1" + "}]" * depth


depths = st.sampled_from([64, 500, 999, 1000, 1001, 1023, 1024, 1025, 2000, 10_000, 100_000])
deep = st.builds(nested, depths, st.sampled_from(["array", "object", "mixed"])).map(Raw)
hostile_scalar = st.one_of(
    st.sampled_from(HUGE_NUMBERS).map(Raw),
    st.sampled_from(SURROGATES).map(Raw),
    st.sampled_from(EDGE_TIMES),
    st.text(max_size=20),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(['"\\u0000"', '"\\u001b[2J"', '"\\u00e9"', '"\\"', "tru", "1.", "01"]).map(Raw),
)
KEYS = [
    "eventTime",
    "eventID",
    "eventName",
    "eventSource",
    "Records",
    "recipientAccountId",
    "requestParameters",
    "responseElements",
    "resources",
    "userIdentity",
    "type",
    "keyId",
    "ARN",
    "detail",
    "detail-type",
    "CloudTrailEvent",
    "Events",
    "a",
]
key = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
json_values = st.recursive(
    st.one_of(hostile_scalar, deep),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.tuples(key, children), max_size=4).map(lambda p: Obj(tuple(p))),
    ),
    max_leaves=12,
)
# Fields whose value the decoder reads, and where a wrong type or range matters.
FIELD_PATHS = [
    ("eventTime",),
    ("eventID",),
    ("eventName",),
    ("eventSource",),
    ("eventVersion",),
    ("recipientAccountId",),
    ("awsRegion",),
    ("readOnly",),
    ("requestParameters",),
    ("requestParameters", "keyId"),
    ("requestParameters", "pendingWindowInDays"),
    ("responseElements",),
    ("responseElements", "keyId"),
    ("resources",),
    ("userIdentity",),
    ("userIdentity", "type"),
    ("userIdentity", "sessionContext", "sessionIssuer", "arn"),
    ("serviceEventDetails",),
    ("errorCode",),
    ("additionalEventData",),
    ("somethingNobodyReads",),
]


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = dict(record)
    node = out
    for step in path[:-1]:
        child = node.get(step)
        child = dict(child) if isinstance(child, dict) else {}
        node[step] = child
        node = child
    node[path[-1]] = value
    return out


@st.composite
def hostile_record(draw: st.DrawFn) -> str:
    """A real record with one to three fields made hostile, maybe a key given twice."""
    base = orjson.loads(draw(st.sampled_from(seeds.sample_records())))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(FIELD_PATHS))
        base = _set(base, path, draw(json_values))
    if draw(st.booleans()):
        name = draw(
            st.sampled_from(["eventTime", "eventID", "eventName", "Records", "eventSource"])
        )
        return dump(Obj((*base.items(), (name, draw(json_values)))))
    return dump(base)


records = st.one_of(
    hostile_record(),
    st.sampled_from(seeds.sample_records()).map(bytes.decode),
    json_values.map(dump),
)


@st.composite
def shaped_file(draw: st.DrawFn) -> bytes:
    """Records in one of the accepted file shapes, sometimes subtly broken."""
    texts = draw(st.lists(records, min_size=1, max_size=4))
    shape = draw(st.integers(0, 9))
    if shape == 0:
        body = '{"Records":[' + ",".join(texts) + "]}"
    elif shape == 1:
        body = '{"Records":[' + ",".join(texts) + '],"Records":' + draw(json_values.map(dump)) + "}"
    elif shape == 2:
        body = "[" + ",".join(texts) + "]"
    elif shape == 3:
        lines = list(texts)
        if draw(st.booleans()):
            lines.insert(0, draw(st.sampled_from(["{", "not json", '{"a":1} {"b":2}', "[1,"])))
        body = "\n".join(lines)
    elif shape == 4:
        body = texts[0]
    elif shape == 5:
        body = '{"detail-type":"AWS API Call via CloudTrail","detail":' + texts[0] + "}"
    elif shape == 6:
        entries = []
        for t in texts:
            event = draw(st.one_of(st.just(t), json_values))
            entries.append(dump({"EventId": "e", "CloudTrailEvent": event}))
        body = '{"Events":[' + ",".join(entries) + "]}"
    elif shape == 7:
        body = '{"Records":' + draw(json_values.map(dump)) + "}"
    elif shape == 8:
        body = (
            "["
            + ",".join(
                '{"detail-type":"x","detail":' + t + "}" if i % 2 else t
                for i, t in enumerate(texts)
            )
            + "]"
        )
    else:
        body = draw(json_values.map(dump))
    data = body.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"  \n", b"\x00"])) + data
    return draw(mutated(data))


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """A few random byte edits (flip, insert, delete, truncate), often none."""
    edits = draw(st.integers(0, 3))
    buf = bytearray(data)
    for _ in range(edits):
        if not buf:
            break
        at = draw(st.integers(0, len(buf) - 1))
        how = draw(st.integers(0, 3))
        if how == 0:
            buf[at] = draw(st.integers(0, 255))
        elif how == 1:
            buf[at:at] = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\n"]))
        elif how == 2:
            del buf[at]
        else:
            del buf[at:]
    return bytes(buf)


@st.composite
def framed_file(draw: st.DrawFn) -> bytes:
    """A file's bytes on disk: plain, gzip (one or more members), a bomb past the cap,
    truncated or corrupt gzip, trailing bytes, a zip header."""
    body = draw(shaped_file())
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return body
    if kind == 1:
        return gzip.compress(body)
    if kind == 2:
        parts = draw(st.integers(2, 4))
        return b"".join(gzip.compress(body[i::parts]) for i in range(parts))
    if kind == 3:
        size = draw(st.sampled_from([255 * 1024, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024]))
        return gzip.compress(b"\x00" * size, compresslevel=9)
    if kind == 4:
        data = gzip.compress(body)
        return data[: draw(st.integers(0, len(data)))]
    if kind == 5:
        data = gzip.compress(body)
        return data + draw(st.sampled_from([b"\x00" * 8, b"garbage", b"\x1f\x8b", b"\x1f\x8b\x08"]))
    if kind == 6:
        raw = zlib.compress(body)
        return draw(st.sampled_from([raw, b"PK\x03\x04" + raw, b"\x1f\x8b" + raw]))
    return draw(mutated(gzip.compress(body)))


# --- filter patterns -----------------------------------------------------------------------

PATTERN_TOKENS = [
    "{", "}", "(", ")", "[", "]", "$", ".", "$.", "*", "%", '"', "'", "\\", "&&", "||",
    "=", "!=", "==", "<", "<=", ">", ">=", "IS", "NULL", "TRUE", "FALSE", "NOT", "EXISTS",
    "is", "null", ",", "...", "?", "-", " ", "\t", "\n", "a", "eventName", "$.a", "$.a[0]",
    "$.a[*]", "$.*", "$.['x.y']", "0", "1e400", "9" * 40, "-1.5", ".5", "1e", "é", "\ud800",
    "\x00", "\x1b[2J", "[0-9]", "{2,}", "{1000}", "{1001}", "\\d", "\\x4", "\\", "^", "|",
]  # fmt: skip


@st.composite
def pattern_text(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.sampled_from(seeds.patterns()))
    if kind == 1:
        return "".join(draw(st.lists(st.sampled_from(PATTERN_TOKENS), max_size=40)))
    if kind == 2:
        depth = draw(st.sampled_from([1, 2, 31, 32, 33, 100, 330, 400, 510]))
        inner = draw(st.sampled_from(["$.a = 1", "$.a IS NULL", "$.b = %x%"]))
        return "{ " + "(" * depth + inner + ")" * depth + " }"
    if kind == 3:
        base = draw(st.sampled_from(seeds.patterns()))
        at = draw(st.integers(0, len(base)))
        return base[:at] + draw(st.sampled_from(PATTERN_TOKENS)) + base[at:]
    return draw(st.text(max_size=60))


patterns = pattern_text().map(lambda t: t.encode("utf-8", "surrogatepass"))
event_text = st.one_of(
    st.sampled_from(seeds.events()),
    records,
    st.text(max_size=80),
)
pattern_events = st.builds(
    lambda p, e: p + SEPARATOR + e.encode("utf-8", "replace"), patterns, event_text
)

# --- rule files ----------------------------------------------------------------------------

TOML_VALUES = [
    "1", "0", "-1", "9223372036854775807", "1e400", "inf", "nan", "-inf", "1.5", "300.0",
    "true", '""', '"x"', '"Sum"', '"p99"', '"p101"', '"TM(10%:90%)"', "[]", "[1, 2]", '["a"]',
    "{}", '{ a = "b" }', '{ a = 1 }', "1979-05-27T07:32:00Z", '"$.eventName"', '"$1"',
    '"{ $.a = 1 }"', '"{ (((((((((( $.a = 1 ))))))))))"', '"GreaterThanThreshold"',
    '"LessThanOrEqualToThreshold"', '"breaching"', '"' + "x" * 600 + '"',
]  # fmt: skip
TOML_FIELDS = [
    "id", "title", "severity", "references", "description", "filter", "alarm",
    "filter.name", "filter.pattern", "filter.namespace", "filter.metric", "filter.value",
    "filter.default", "filter.unit", "filter.dimensions", "alarm.name", "alarm.statistic",
    "alarm.period", "alarm.evaluation_periods", "alarm.datapoints_to_alarm",
    "alarm.threshold", "alarm.comparison", "alarm.treat_missing_data",
    "alarm.actions_enabled", "alarm.evaluate_low_sample_count_percentile", "unknown",
]  # fmt: skip


@st.composite
def toml_rule(draw: st.DrawFn) -> str:
    """One [[rule]] (or [key_material]) with a few fields given hostile values."""
    fields: dict[str, dict[str, str]] = {
        "": {"id": '"r"', "severity": '"high"'},
        "filter": {
            "name": '"F"',
            "pattern": '"{ $.eventName = DisableKey }"',
            "namespace": '"N"',
            "metric": '"M"',
            "value": '"1"',
        },
        "alarm": {
            "name": '"A"',
            "statistic": '"Sum"',
            "period": "300",
            "evaluation_periods": "1",
            "threshold": "1",
            "comparison": '"GreaterThanOrEqualToThreshold"',
        },
    }
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(TOML_FIELDS))
        table, _, leaf = name.rpartition(".")
        if not leaf and not table:
            continue
        if table == "" and leaf in ("filter", "alarm"):
            fields.pop(leaf, None)
            fields[""][leaf] = draw(st.sampled_from(TOML_VALUES))
            continue
        fields.setdefault(table, {})[leaf] = draw(st.sampled_from(TOML_VALUES))
    head = draw(st.sampled_from(["[[rule]]", "[key_material]", "[rule]", "[[other]]"]))
    lines = [head] + [f"{k} = {v}" for k, v in fields[""].items()]
    for table in ("filter", "alarm"):
        if table in fields:
            prefix = head.strip("[]")
            lines.append(f"[{prefix}.{table}]")
            lines += [f"{k} = {v}" for k, v in fields[table].items()]
    return "\n".join(lines) + "\n"


@st.composite
def toml_file(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 5)) == 0:
        return draw(mutated(seeds.builtin_toml().encode()))
    rules = draw(st.lists(toml_rule(), min_size=1, max_size=3))
    return draw(mutated("\n".join(rules).encode()))


AWS_FILTER_FIELDS = ["filterName", "filterPattern", "logGroupName", "metricTransformations"]
AWS_TRANSFORM_FIELDS = ["metricName", "metricNamespace", "metricValue", "defaultValue", "unit",
                        "dimensions"]  # fmt: skip
AWS_ALARM_FIELDS = [
    "AlarmName", "AlarmArn", "Namespace", "MetricName", "Statistic", "ExtendedStatistic",
    "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
    "TreatMissingData", "ActionsEnabled", "Dimensions", "Metrics", "ThresholdMetricId",
    "EvaluateLowSampleCountPercentile",
]  # fmt: skip


@st.composite
def aws_json_file(draw: st.DrawFn) -> bytes:
    """describe-metric-filters / describe-alarms output with hostile fields."""
    document = json.loads(seeds.aws_json())
    filters = document["metricFilters"][: draw(st.integers(0, 2))]
    alarms = document["MetricAlarms"][: draw(st.integers(0, 2))]
    pieces: dict[str, Any] = {"metricFilters": filters, "MetricAlarms": alarms}
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, 3))
        value = draw(json_values)
        if where == 0 and filters:
            filters[0] = {**filters[0], draw(st.sampled_from(AWS_FILTER_FIELDS)): value}
        elif where == 1 and filters:
            transforms = filters[0].get("metricTransformations")
            if isinstance(transforms, list) and transforms and isinstance(transforms[0], dict):
                field = draw(st.sampled_from(AWS_TRANSFORM_FIELDS))
                filters[0] = {
                    **filters[0],
                    "metricTransformations": [{**transforms[0], field: value}],
                }
        elif where == 2 and alarms:
            alarms[0] = {**alarms[0], draw(st.sampled_from(AWS_ALARM_FIELDS)): value}
        else:
            pieces[draw(st.sampled_from(["metricFilters", "MetricAlarms", "CompositeAlarms"]))] = (
                value
            )
    return draw(mutated(dump(pieces).encode("utf-8", "surrogatepass")))


DIGEST_FIELDS = [
    "awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
    "digestPublicKeyFingerprint", "digestSignatureAlgorithm", "previousDigestS3Bucket",
    "previousDigestS3Object", "previousDigestHashValue", "previousDigestHashAlgorithm",
    "previousDigestSignature", "logFiles",
]  # fmt: skip
LOG_ENTRY_FIELDS = ["s3Bucket", "s3Object", "hashValue", "hashAlgorithm", "newestEventTime"]


@st.composite
def digest_file(draw: st.DrawFn) -> bytes:
    """A sample digest with hostile fields, in a log entry or at the top, maybe gzip."""
    document = json.loads(gzip.decompress(draw(st.sampled_from(seeds.sample_digests()))))
    for _ in range(draw(st.integers(1, 4))):
        value = draw(json_values)
        entries = document.get("logFiles")
        if draw(st.booleans()) and isinstance(entries, list) and entries:
            if isinstance(entries[0], dict):
                entries[0] = {**entries[0], draw(st.sampled_from(LOG_ENTRY_FIELDS)): value}
        else:
            document[draw(st.sampled_from(DIGEST_FIELDS))] = value
    text = draw(mutated(dump(document).encode("utf-8", "surrogatepass")))
    return gzip.compress(text) if draw(st.booleans()) else text


@st.composite
def verify_file(draw: st.DrawFn) -> bytes:
    """A list-public-keys or --signatures document with hostile fields."""
    keys, signatures = (json.loads(d) for d in seeds.verify_documents())
    if draw(st.booleans()):
        entry = keys["PublicKeyList"][0]
        field = draw(st.sampled_from(["Value", "Fingerprint", "ValidityStartTime", "x"]))
        keys["PublicKeyList"][0] = {**entry, field: draw(json_values)}
        document: Any = keys if draw(st.booleans()) else keys["PublicKeyList"]
    else:
        document = {**signatures, draw(key): draw(json_values)}
    return draw(mutated(dump(document).encode("utf-8", "surrogatepass")))


STRATEGIES: dict[str, st.SearchStrategy[bytes]] = {
    "decode": shaped_file(),
    "split": shaped_file(),
    "native": shaped_file(),
    "local_file": framed_file(),
    "pattern": patterns,
    "pattern_event": pattern_events,
    "rules_toml": toml_file(),
    "rules_json": aws_json_file(),
    "digest": digest_file(),
    "verify_inputs": verify_file(),
}
