"""Properties: print → parse round trip, vectorized = reference, and the parser
raising nothing but EventPatternError on arbitrary JSON and text."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslog.eventpatterns import EventPatternError, loads_event, matches, parse, to_text
from kmslog.eventpatterns.vectorize import filter_mask
from tests.eventpatterns.test_conformance import FLAT, frame_of

WORDS = st.sampled_from(
    [
        "",
        "a",
        "A",
        "ab",
        "aB",
        "kms",
        "KMS",
        "é",
        "É",
        "ß",
        "Σ",
        "x*y",
        "10.0.0.1",
        "::1",
        "5",
        "a\\b",
    ]
)
TEXT = st.one_of(WORDS, st.text(max_size=6))
NUMS = st.sampled_from(["0", "5", "-5", "5.5", "1e3", "0.000001", "5000000000", "-2.5e2"])


def wild(s: str) -> str:
    return s.replace("\\", "\\\\").replace("*", "\\*")


WILDCARDS = st.builds(lambda a, b: wild(a) + "*" + wild(b), TEXT, TEXT) | TEXT.map(wild)


def matcher() -> st.SearchStrategy[Any]:
    s = json.dumps
    strings = TEXT.map(s)
    nonempty = TEXT.filter(bool).map(s)
    return st.one_of(
        strings,
        NUMS,
        st.sampled_from(["true", "false", "null"]),
        strings.map(lambda t: '{"prefix":' + t + "}"),
        strings.map(lambda t: '{"suffix":' + t + "}"),
        strings.map(lambda t: '{"prefix":{"equals-ignore-case":' + t + "}}"),
        strings.map(lambda t: '{"suffix":{"equals-ignore-case":' + t + "}}"),
        strings.map(lambda t: '{"equals-ignore-case":' + t + "}"),
        WILDCARDS.map(lambda t: '{"wildcard":' + s(t) + "}"),
        strings.map(lambda t: '{"anything-but":' + t + "}"),
        st.lists(strings, min_size=1, max_size=3).map(
            lambda v: '{"anything-but":[' + ",".join(v) + "]}"
        ),
        st.lists(NUMS, min_size=1, max_size=3).map(
            lambda v: '{"anything-but":[' + ",".join(v) + "]}"
        ),
        nonempty.map(lambda t: '{"anything-but":{"prefix":' + t + "}}"),
        nonempty.map(lambda t: '{"anything-but":{"suffix":' + t + "}}"),
        strings.map(lambda t: '{"anything-but":{"equals-ignore-case":' + t + "}}"),
        WILDCARDS.map(lambda t: '{"anything-but":{"wildcard":' + s(t) + "}}"),
        st.sampled_from(
            ['{"numeric":[">",0]}', '{"numeric":["<=",5]}', '{"numeric":[">=",-5,"<",1e3]}']
        ),
        st.sampled_from(['{"cidr":"10.0.0.0/8"}', '{"cidr":"::/1"}']),
        st.sampled_from(['{"exists":true}', '{"exists":false}']),
    )


def leaf() -> st.SearchStrategy[str]:
    return st.lists(matcher(), min_size=1, max_size=3).map(lambda ms: "[" + ",".join(ms) + "]")


FLAT_PATTERN_FIELDS = {
    "source": '"source"',
    "detail-type": '"detail-type"',
    "account": '"account"',
    "region": '"region"',
}


def flat_object() -> st.SearchStrategy[str]:
    top = st.dictionaries(st.sampled_from(sorted(FLAT_PATTERN_FIELDS)), leaf(), max_size=2)
    detail = st.dictionaries(st.sampled_from(["eventName", "eventSource"]), leaf(), max_size=2)

    def build(t: dict[str, str], d: dict[str, str]) -> str:
        parts = [json.dumps(k) + ":" + v for k, v in t.items()]
        if d:
            parts.append(
                '"detail":{' + ",".join(json.dumps(k) + ":" + v for k, v in d.items()) + "}"
            )
        return "{" + ",".join(parts) + "}"

    return st.builds(build, top, detail).filter(lambda p: p != "{}" and '"detail":{}' not in p)


def flat_pattern() -> st.SearchStrategy[str]:
    one = flat_object()
    with_or = st.builds(lambda a, b, c: a[:-1] + ',"$or":[' + b + "," + c + "]}", one, one, one)
    return one | with_or


FLAT_EVENT = st.fixed_dictionaries(
    {},
    optional={
        "source": TEXT,
        "detail-type": TEXT,
        "account": TEXT,
        "region": TEXT,
        "detail": st.fixed_dictionaries({}, optional={"eventName": TEXT, "eventSource": TEXT}),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flat_pattern())
def test_print_parse_round_trip(text: str) -> None:
    p = parse(text)
    printed = to_text(p)
    assert parse(printed) == p
    assert to_text(parse(printed)) == printed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flat_pattern(), st.lists(FLAT_EVENT, min_size=1, max_size=8))
def test_vectorized_equals_reference(text: str, events: list[dict[str, Any]]) -> None:
    pattern = parse(text)
    texts = [json.dumps(e, ensure_ascii=False) for e in events]
    frame = frame_of(texts)
    got = filter_mask(frame, pattern, FLAT, lambda r: loads_event(r["raw"])).to_list()
    assert got == [matches(pattern, loads_event(t)) for t in texts]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.sampled_from(
        [
            "prefix",
            "suffix",
            "numeric",
            "anything-but",
            "exists",
            "cidr",
            "$or",
            "wildcard",
            "<",
            ">=",
            "=",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "a",
                    "prefix",
                    "suffix",
                    "numeric",
                    "anything-but",
                    "exists",
                    "cidr",
                    "$or",
                    "wildcard",
                    "equals-ignore-case",
                    "exact",
                ]
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(JSON)
def test_parser_raises_only_its_error_on_json(value: Any) -> None:
    text = json.dumps(value)
    try:
        p = parse(text)
    except EventPatternError as exc:
        assert 0 <= exc.position <= len(text)
        return
    assert parse(to_text(p)) == p
    matches(p, {"a": [1, "x", None, {"a": "y"}]})


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list('{}[]:,"\\ 0123456789.eE-+truefalsnu$oprix*/')), max_size=40
    )
    | st.text(max_size=40)
)
def test_parser_raises_only_its_error_on_text(text: str) -> None:
    try:
        parse(text)
    except EventPatternError as exc:
        assert 0 <= exc.position <= len(text)


def test_frame_helper_keeps_columns_strings() -> None:
    frame = frame_of(['{"source":"aws.kms","detail":{"eventName":5}}'])
    assert frame["source"].to_list() == ["aws.kms"]
    assert frame["event_name"].to_list() == [None]
    assert frame.schema["event_name"] == pl.String
