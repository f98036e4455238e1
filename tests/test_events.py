"""The events fold on hand-written records: keys resolved in time (alias moved), every
form of principal, source addresses, errors and names, split folds, bad values; and its
renderers (80 columns, escaping, formula-safe CSV)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from lifecycle_records import ACCOUNT, KEY_A, KEY_B, alias_arn, arn, record

from kmslog.analyses.base import fold
from kmslog.analyses.events import EventQuery, EventsAnalysis, EventsResult, QueryError
from kmslog.decode.memory import frame_from_records
from kmslog.report import events_report


def _alias(name: str, time: str, target: str) -> dict[str, Any]:
    return record(
        name,
        time,
        None,
        request={"aliasName": "alias/app", "targetKeyId": target},
        resources=[alias_arn("alias/app"), arn(target)],
    )


def _call(time: str, key: str | None, *, via_alias: bool = False, **kw: Any) -> dict[str, Any]:
    request = {"keyId": "alias/app" if via_alias else arn(key or KEY_A)}
    return record("Decrypt", time, key, request=request, **kw)


def moved_alias() -> list[dict[str, Any]]:
    """alias/app → KEY_A on the 1st, → KEY_B on the 3rd; direct and aliased calls on both
    keys on each side of the move, one aliased call naming no key at all."""
    return [
        _alias("CreateAlias", "2026-03-01T08:00:00Z", KEY_A),
        _call("2026-03-02T09:00:00Z", KEY_A, via_alias=True, assumed="app/s1"),
        _call("2026-03-02T09:01:00Z", KEY_A, assumed="app/s2"),
        _call("2026-03-02T09:02:00Z", KEY_B, assumed="app/s1"),
        _call("2026-03-02T09:03:00Z", None, via_alias=True, assumed="app/s1"),
        _alias("UpdateAlias", "2026-03-03T08:00:00Z", KEY_B),
        _call("2026-03-04T09:00:00Z", KEY_B, via_alias=True, assumed="app/s1"),
        _call("2026-03-04T09:01:00Z", KEY_A, assumed="app/s1"),
        _call("2026-03-04T09:02:00Z", KEY_B, actor=f"arn:aws:iam::{ACCOUNT}:user/Alice"),
        _call("2026-03-04T09:03:00Z", None, via_alias=True, ip="2001:db8::7"),
    ]


def run(records: list[dict[str, Any]], **query: Any) -> EventsResult:
    return fold(EventsAnalysis(EventQuery(**query)), [frame_from_records(records)])


def times(result: EventsResult) -> list[str]:
    return [events_report.iso(e.time) for e in result.events]


def test_an_alias_means_the_key_it_pointed_to_at_each_records_time() -> None:
    found = run(moved_alias(), key="alias/app")
    assert times(found) == [
        "2026-03-01T08:00:00Z",  # CreateAlias names KEY_A in resources[]
        "2026-03-02T09:00:00Z",
        "2026-03-02T09:01:00Z",
        "2026-03-02T09:03:00Z",  # named only the alias: resolved through the history
        "2026-03-03T08:00:00Z",  # UpdateAlias names KEY_B
        "2026-03-04T09:00:00Z",
        "2026-03-04T09:02:00Z",
        "2026-03-04T09:03:00Z",
    ]
    keys = [e.key_arn for e in found.events]
    assert keys[:4] == [arn(KEY_A)] * 4 and keys[4:] == [arn(KEY_B)] * 4
    assert all(e.aliases == ("alias/app",) for e in found.events[1:])


def test_a_key_by_id_arn_and_alias_gives_the_same_records_while_the_alias_names_it() -> None:
    recs = moved_alias()
    by_id = run(recs, key=KEY_B)
    by_arn = run(recs, key=arn(KEY_B))
    assert by_id.events == by_arn.events
    assert times(by_id) == [
        "2026-03-02T09:02:00Z",
        "2026-03-03T08:00:00Z",
        "2026-03-04T09:00:00Z",
        "2026-03-04T09:02:00Z",
        "2026-03-04T09:03:00Z",
    ]
    by_alias = run(recs, key=alias_arn("alias/app"))
    after_move = [e for e in by_id.events if times(by_id)[0] < events_report.iso(e.time)]
    assert [e for e in by_alias.events if e.key_arn == arn(KEY_B)] == after_move
    # The key's alias at the time is shown only while the alias pointed at it.
    assert by_id.events[0].aliases == ()


def test_principal_forms() -> None:
    recs = moved_alias()
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s2"
    by_role = run(recs, principals=(role,))
    assert len(by_role.events) == 6 and {e.principal for e in by_role.events} == {role}
    # A session folds to its role: every session of the role matches.
    assert run(recs, principals=(session,)).events == by_role.events
    assert run(recs, principals=("app",)).events == by_role.events
    alice = run(recs, principals=("Alice",))
    assert [e.identity_arn for e in alice.events] == [f"arn:aws:iam::{ACCOUNT}:user/Alice"] * 4
    assert run(recs, principals=(ACCOUNT,)).events == run(recs).events
    assert run(recs, principals=("999988887777",)).events == ()
    assert run(recs, principals=("ap",)).events == ()  # a name, not a suffix
    both = run(recs, principals=("app", "Alice"))
    assert len(both.events) == len(run(recs).events)


def test_source_addresses_and_cidrs() -> None:
    recs = moved_alias()
    recs[2]["sourceIPAddress"] = "10.1.2.3"
    recs[3]["sourceIPAddress"] = "kms.amazonaws.com"
    assert times(run(recs, source_ips=("10.0.0.0/8",))) == ["2026-03-02T09:01:00Z"]
    assert times(run(recs, source_ips=("10.1.2.3",))) == ["2026-03-02T09:01:00Z"]
    assert times(run(recs, source_ips=("2001:db8::/32", "10.1.2.3/32"))) == [
        "2026-03-02T09:01:00Z",
        "2026-03-04T09:03:00Z",
    ]
    assert run(recs, source_ips=("0.0.0.0/0", "::/0")).events == tuple(
        e for e in run(recs).events if e.source_ip != "kms.amazonaws.com"
    )


def test_event_names_errors_and_window_parts_combine() -> None:
    recs = moved_alias()
    recs[6]["errorCode"], recs[6]["errorMessage"] = "AccessDeniedException", "denied"
    failed = run(recs, errors_only=True)
    assert [e.error_code for e in failed.events] == ["AccessDeniedException"]
    names = run(recs, event_names=("CreateAlias", "UpdateAlias"))
    assert [e.event_name for e in names.events] == ["CreateAlias", "UpdateAlias"]
    assert run(recs, event_names=("UpdateAlias",), key=KEY_A).events == ()


def test_the_answer_does_not_depend_on_how_the_records_were_split() -> None:
    recs = moved_alias()
    analysis = EventsAnalysis(EventQuery(key="alias/app"))
    whole = fold(analysis, [frame_from_records(recs)])
    for cut in range(1, len(recs)):
        parts = [frame_from_records(recs[:cut], "a"), frame_from_records(recs[cut:], "b")]
        # Right half first: combine must not care which partial came first.
        right = analysis.update(analysis.start(), parts[1])
        left = analysis.update(analysis.start(), parts[0])
        split = analysis.finish(analysis.combine(left, right))
        assert [(e.time, e.key_arn, e.event_id) for e in split.events] == [
            (e.time, e.key_arn, e.event_id) for e in whole.events
        ]


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ({"key": "not a key"}, "--key"),
        ({"source_ips": ("10.0.0.0/33",)}, "--source-ip"),
        ({"source_ips": ("example.com",)}, "--source-ip"),
    ],
)
def test_bad_values_name_their_option(query: dict[str, Any], option: str) -> None:
    with pytest.raises(QueryError) as caught:
        EventQuery(**query)
    assert caught.value.option == option


def hostile() -> list[dict[str, Any]]:
    recs = moved_alias()
    recs[1]["userAgent"] = "=HYPERLINK(\x1b[31mx) aws-cli/2.15.30 Python/3.11.8 Linux/5.10"
    recs[1]["eventID"] = "-2+3\u202e"
    return recs


def test_table_reads_at_80_columns_and_never_cuts_an_arn() -> None:
    result = run(hostile(), key="alias/app")
    out = io.StringIO()
    events_report.write_table(result, out)
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b" in text
    for line in text.splitlines():
        # Only a single unbreakable value (a long file name) may pass 80 columns.
        assert len(line) <= 80 or " " not in line.strip(), line
    for event in result.events:
        assert event.key_arn is not None
        assert any(line.strip().startswith(event.key_arn) for line in text.splitlines())
    assert text.rstrip().endswith(f"{len(result.events)} records")


def test_wrapping_packs_words_and_keeps_each_whole() -> None:
    words = ["a" * 30, "b" * 30, "c" * 75, "d" * 90, "e"]
    lines = list(events_report.wrapped("key", words))
    assert lines == [
        "  key        " + "a" * 30 + " " + "b" * 30,
        "  " + "c" * 75,
        "  " + "d" * 90,
        " " * 13 + "e",
    ]


def test_csv_is_formula_safe_and_escaped() -> None:
    result = run(hostile(), key="alias/app")
    out = io.StringIO()
    events_report.write_csv(result, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == len(result.events)
    hit = next(r for r in rows if r["event_id"].startswith("'"))
    assert hit["event_id"] == "'-2+3\\u202e"
    assert hit["user_agent"].startswith("'=HYPERLINK(")
    assert "\x1b" not in out.getvalue()
    for row in rows:
        assert not row["user_agent"].startswith(("=", "+", "-", "@"))


def test_json_and_ndjson_carry_the_same_events() -> None:
    result = run(hostile(), key="alias/app")
    doc_out, nd_out = io.StringIO(), io.StringIO()
    events_report.write_json(result, doc_out)
    events_report.write_ndjson(result, nd_out)
    doc = json.loads(doc_out.getvalue())
    lines = [json.loads(line) for line in nd_out.getvalue().splitlines()]
    assert doc["events"] == lines and doc["count"] == len(result.events)
    assert doc["query"]["key"] == "alias/app"
    assert doc_out.getvalue().isascii() and nd_out.getvalue().isascii()
    assert lines[1]["source"] == "<memory>" and lines[1]["record_index"] == 1


@pytest.mark.parametrize(
    ("agent", "short"),
    [
        ("AWS Internal", "AWS Internal"),
        (
            "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.215 exe/x86_64.amzn.2 command/kms.decrypt",
            "aws-cli/2.15.30",
        ),
        (
            "[Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python]",
            "Boto3/1.34.131",
        ),
        ("x" * 60, "x" * 39 + "…"),
        (None, None),
    ],
)
def test_short_user_agent(agent: str | None, short: str | None) -> None:
    assert events_report.short_user_agent(agent) == short


def test_a_call_through_an_alias_nothing_resolves_still_answers_that_alias() -> None:
    recs = moved_alias()
    unknown = record("Encrypt", "2026-03-05T10:00:00Z", None, request={"keyId": "alias/other"})
    recs.append(unknown)
    found = run(recs, key="alias/other")
    assert [(e.event_id, e.key_arn, e.aliases) for e in found.events] == [
        (unknown["eventID"], None, ("alias/other",))
    ]
    assert run(recs, key=alias_arn("alias/other")).events == found.events
    assert run(recs, key=alias_arn("alias/other", "eu-west-1")).events == ()
    assert unknown["eventID"] not in {e.event_id for e in run(recs, key="alias/app").events}
    # Without --key it is listed too, with no key.
    assert run(recs).events[-1].event_id == unknown["eventID"]
