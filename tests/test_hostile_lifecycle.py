"""Lifecycle on control-plane records of any shape: no record can end the run, and
none is dropped without saying so."""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl
import pytest
from lifecycle_records import KEY_A, arn, create_key, record
from rich.console import Console

from kmslog.analyses.base import fold
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.decode import schema as S
from kmslog.decode.memory import frame_from_records
from kmslog.lifecycle.model import LifecycleResult
from kmslog.lifecycle.timeline import CONTROL_EVENTS
from kmslog.report.lifecycle_console import print_all, print_result
from kmslog.report.lifecycle_html import render_html
from kmslog.report.lifecycle_json import all_keys_data, result_data

CREATED = "2024-03-01T00:00:00Z"


def lifecycle(query: str | None, frame: pl.DataFrame) -> LifecycleResult:
    return fold(LifecycleAnalysis(query), [frame])


def every_output(query: str | None, records: list[dict[str, Any]]) -> LifecycleResult:
    """The result for ``records``, rendered by every lifecycle renderer."""
    result = lifecycle(query, frame_from_records(records))
    json.dumps(result_data(result) if query else all_keys_data(result))
    console = Console(file=io.StringIO(), width=120)
    (print_result if query else print_all)(console, result)
    render_html(result)
    return result


def with_field(name: str, field: str, value: Any) -> dict[str, Any]:
    rec = record(name, "2024-03-02T00:00:00Z")
    rec[field] = value
    return rec


DEEP = "[" * 1000 + "]" * 1000  # within orjson's limit, past Python's recursion limit


def every_output_of_text(query: str | None, records: list[dict[str, Any]]) -> LifecycleResult:
    """Like :func:`every_output`, with each ``"__DEEP__"`` string in a record's text
    replaced by a list nested 1000 levels deep (the decoded columns keep the string)."""
    frame = frame_from_records(records)
    raws = [r.replace('"__DEEP__"', DEEP) for r in frame[S.RAW].to_list()]
    result = lifecycle(query, frame.with_columns(pl.Series(S.RAW, raws, dtype=pl.String)))
    json.dumps(result_data(result) if query else all_keys_data(result))
    console = Console(file=io.StringIO(), width=120)
    (print_result if query else print_all)(console, result)
    render_html(result)
    return result


SECTIONS = [None, "__DEEP__", 12345, ["a", ["b"]], {"nested": {"deeper": [1]}}, True, ""]


@pytest.mark.parametrize("value", SECTIONS, ids=repr)
@pytest.mark.parametrize(
    "section", ["requestParameters", "responseElements", "additionalEventData", "resources"]
)
@pytest.mark.parametrize("name", sorted(CONTROL_EVENTS))
def test_sections_of_any_type_on_every_control_call(name, section, value):
    records = [create_key(CREATED), with_field(name, section, value)]
    result = every_output_of_text(KEY_A, records)
    if section != "resources":
        assert [e.event_name for e in result.keys[0].events] == ["CreateKey", name]


def test_schedule_with_null_request_is_pending_deletion_with_the_default_window():
    rec = with_field("ScheduleKeyDeletion", "requestParameters", None)
    key = every_output(KEY_A, [create_key(CREATED), rec]).keys[0]
    assert key.state.value == "PendingDeletion"
    assert key.deletion_date is not None and key.deletion_date.isoformat().startswith("2024-04-01")


WRONG = [
    "__DEEP__",
    12345,
    ["a", ["b"]],
    {"nested": {"deeper": [1, 2]}},
    True,
    1.5,
    -1,
    "",
]


@pytest.mark.parametrize("value", WRONG, ids=repr)
@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("ScheduleKeyDeletion", "pendingWindowInDays"),
        ("PutKeyPolicy", "policy"),
        ("CreateAlias", "aliasName"),
        ("CreateAlias", "targetKeyId"),
        ("UpdateKeyDescription", "description"),
        ("CreateGrant", "operations"),
        ("CreateGrant", "granteePrincipal"),
        ("CreateGrant", "constraints"),
        ("RetireGrant", "grantId"),
        ("TagResource", "tags"),
        ("ImportKeyMaterial", "validTo"),
        ("EnableKeyRotation", "rotationPeriodInDays"),
        ("ReplicateKey", "replicaRegion"),
        ("DisableKey", "keyId"),
    ],
)
def test_wrong_json_types_in_request_fields_are_unknown_not_fatal(name, field, value):
    rec = record(name, "2024-03-02T00:00:00Z", request={"keyId": KEY_A, field: value})
    key = every_output_of_text(KEY_A, [create_key(CREATED), rec]).keys[0]
    # The record is still on the timeline, tied to its key by resources[].
    assert [e.event_name for e in key.events][-1] == name


def test_update_key_description_with_a_non_string_description_leaves_it_unknown():
    rec = record(
        "UpdateKeyDescription", "2024-03-02T00:00:00Z", request={"keyId": KEY_A, "description": [1]}
    )
    key = every_output(KEY_A, [create_key(CREATED), rec]).keys[0]
    assert key.key.description is None
    assert "<list>" in key.events[-1].detail


def test_huge_pending_window_gives_no_date_and_says_so():
    rec = record(
        "ScheduleKeyDeletion",
        "2024-03-02T00:00:00Z",
        request={"keyId": KEY_A, "pendingWindowInDays": 10**12},
    )
    key = every_output(KEY_A, [create_key(CREATED), rec]).keys[0]
    assert key.state.value == "PendingDeletion"
    assert key.deletion_date is None
    assert any(
        f.kind == "unreadable_date" and "outside the calendar" in f.detail for f in key.findings
    )


def test_pending_window_of_the_wrong_type_is_not_guessed_as_thirty_days():
    rec = record(
        "ScheduleKeyDeletion",
        "2024-03-02T00:00:00Z",
        request={"keyId": KEY_A, "pendingWindowInDays": "seven"},
    )
    key = every_output(KEY_A, [create_key(CREATED), rec]).keys[0]
    assert key.state.value == "PendingDeletion" and key.deletion_date is None
    assert "not a number of days" in key.events[-1].detail


def _with_raw(frame: pl.DataFrame, index: int, text: str) -> pl.DataFrame:
    raws = frame[S.RAW].to_list()
    raws[index] = text
    return frame.with_columns(pl.Series(S.RAW, raws, dtype=pl.String))


UNREADABLE = {
    "not JSON (NaN)": '"note": NaN',
    "nesting past the limit": '"note": ' + "[" * 1100 + "]" * 1100,
}
# Read on purpose (see loads_record): a lone surrogate as U+FFFD, a number beyond a
# double as infinity; the record must then count like any other.
ODD_BUT_READABLE = {
    "lone surrogate": '"note": "\\ud800"',
    "number beyond a double": '"note": 1e400',
}


def _schedule_with(text: str) -> pl.DataFrame:
    records = [
        create_key(CREATED),
        record("ScheduleKeyDeletion", "2024-03-02T00:00:00Z"),
        record("Decrypt", "2024-03-03T00:00:00Z"),
    ]
    frame = frame_from_records(records)
    raw = frame[S.RAW][1]
    broken = raw.replace('"requestParameters": {', '"requestParameters": {' + text + ", ", 1)
    broken = broken.replace('"requestParameters":{', '"requestParameters":{' + text + ",", 1)
    assert broken != raw
    return _with_raw(frame, 1, broken)


@pytest.mark.parametrize("text", list(ODD_BUT_READABLE.values()), ids=list(ODD_BUT_READABLE))
def test_odd_but_readable_schedule_record_counts(text):
    key = lifecycle(KEY_A, _schedule_with(text)).keys[0]
    assert key.state.value == "PendingDeletion"
    assert not any(f.kind == "unreadable_record" for f in key.findings)
    assert any(f.kind == "used_while_pending_deletion" for f in key.findings)


@pytest.mark.parametrize("text", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_unreadable_schedule_record_still_makes_the_key_pending_deletion(text):
    result = lifecycle(KEY_A, _schedule_with(text))
    key = result.keys[0]
    assert key.state.value == "PendingDeletion"
    schedule = [e for e in key.events if e.event_name == "ScheduleKeyDeletion"]
    assert len(schedule) == 1 and "unreadable" in schedule[0].detail
    assert any(f.kind == "unreadable_record" for f in key.findings)
    assert any("unreadable" in w for w in result.warnings)
    # The Decrypt after it is a use while pending deletion, as scan would say.
    assert any(f.kind == "used_while_pending_deletion" for f in key.findings)


def test_unreadable_record_without_resources_is_placed_by_its_key_ids():
    rec = record("DisableKey", "2024-03-02T00:00:00Z", resources=[])
    frame = frame_from_records([create_key(CREATED), rec])
    result = lifecycle(None, _with_raw(frame, 1, '{"eventName": "DisableKey", "x": NaN}'))
    assert [k.key.arn for k in result.keys] == [arn(KEY_A)]
    assert result.keys[0].state.value == "Disabled"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_events_at_the_edges_of_the_calendar(moment):
    records = [
        record("ScheduleKeyDeletion", moment),
        record("Decrypt", moment),
        record(
            "ImportKeyMaterial",
            moment,
            request={
                "keyId": KEY_A,
                "expirationModel": "KEY_MATERIAL_EXPIRES",
                "validTo": "Dec 31, 9999 11:59:59 PM",
            },
        ),
    ]
    for query in (KEY_A, None):
        result = every_output(query, records)
        key = result.keys[0]
        assert key.state.value == "PendingDeletion"
    data = result_data(lifecycle(KEY_A, frame_from_records(records)))
    assert isinstance(data, dict)
    assert data["first_seen"] == moment  # four-digit year, also for year 1
    if moment.startswith("9999"):
        # 30 days after the last second of the calendar: no date, and a warning.
        assert data["deletion_date"] is None
        assert any("outside the calendar" in f["detail"] for f in data["findings"])
    else:
        assert data["deletion_date"] == "0001-01-31T00:00:00Z"


def test_example_record_of_a_use_in_state_is_one_made_in_that_state():
    def failed_decrypt(time: str, state: str) -> dict[str, Any]:
        return record(
            "Decrypt", time, error=("KMSInvalidStateException", f"{arn(KEY_A)} is {state}.")
        )

    disabled = failed_decrypt("2024-03-02T01:00:00Z", "disabled")
    pending = failed_decrypt("2024-03-03T01:00:00Z", "pending deletion")
    records = [
        create_key(CREATED),
        record("DisableKey", "2024-03-02T00:00:00Z"),
        disabled,
        record("ScheduleKeyDeletion", "2024-03-03T00:00:00Z"),
        pending,
    ]
    key = every_output(KEY_A, records).keys[0]
    examples = {u.state.value: u.event_id for u in key.uses_in_state}
    assert examples == {"Disabled": disabled["eventID"], "PendingDeletion": pending["eventID"]}
