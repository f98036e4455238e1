"""Properties: print/parse round trip, vectorized == reference, parser robustness."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslog.decode import schema as S
from kmslog.decode.memory import frame_from_records
from kmslog.patterns import PatternError, parse
from kmslog.patterns.metric import MetricTransformation, metric_filter
from tests.patterns.conformance_cases import CASES

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- generated patterns --------------------------------------------------------------------

PLAIN_PATHS = [
    ("eventName",),
    ("eventSource",),
    ("errorMessage",),
    ("errorCode",),
    ("readOnly",),
    ("managementEvent",),
    ("recipientAccountId",),
    ("userIdentity", "type"),
    ("userIdentity", "invokedBy"),
    ("requestParameters",),
    ("requestParameters", "keySpec"),
    ("requestParameters", "n"),
    ("a",),
    ("a", "b"),
    ("we.ird",),
]
SELECTORS = ["$." + ".".join(p) if "we.ird" not in p else "$.['we.ird']" for p in PLAIN_PATHS] + [
    "$.arr[0]",
    "$.arr[1].b",
    "$.arr[*]",
    "$.requestParameters.*",
    "$.a[*].b",
]

STRING_VALUES = [
    "*",
    '"*"',
    "kms*",
    "DisableKey",
    "Disable*",
    "*Key",
    "*able*",
    "D*y",
    '"x y"',
    '""',
    '"true"',
    "true",
    "false",
    '"{a"',
    '"20"',
    "4*",
    "*0",
    "2*0",
    "kms.amazonaws.com",
    '"* is pending deletion."',
    "%^D%",
    "%[0-9]%",
    "%y$%",
    "%^$%",
    '"%x%"',
    '"é*"',
    "a\\b",
    '"say \\"hi\\""',
    "null",
    "-",
    "1.5*",
]
NUMBER_VALUES = ["20", "2e1", "20.0", "-1.5", "0", "+7", "1e16", "12345678901234567890", ".5"]
STRING_NODES = [
    "DisableKey",
    "Disable",
    "ScheduleKeyDeletion",
    "kms.amazonaws.com",
    "kms",
    "x y",
    "",
    "true",
    "false",
    "20",
    "20.0",
    "2e1",
    "{a",
    "[1]",
    "x is pending deletion.",
    "Key",
    "%x%",
    "été",
    'say "hi"',
    "a\\b",
    "null",
    "1.5",
    "-",
    "y\nz",
    "\u0001",
    "40",
    "123",
]
NUMBER_NODES = [0, 1, 7, 20, -3, 400, 404, 20.0, 1.5, -1.5, 1e16, 1e-7, 0.1, 123456789012345678]


@st.composite
def conditions(draw: st.DrawFn) -> str:
    selector = draw(st.sampled_from(SELECTORS))
    kind = draw(st.integers(0, 9))
    if kind == 0:
        check = draw(st.sampled_from(["IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"]))
        return f"{selector} {check}"
    if kind <= 3:
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"{selector} {op} {draw(st.sampled_from(NUMBER_VALUES))}"
    op = draw(st.sampled_from(["=", "!="]))
    return f"{selector} {op} {draw(st.sampled_from(STRING_VALUES))}"


def json_expr(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return conditions()
    sub = json_expr(depth - 1)
    return st.one_of(
        conditions(),
        st.builds(lambda a, b: f"{a} && {b}", sub, sub),
        st.builds(lambda a, b: f"{a} || {b}", sub, sub),
        st.builds(lambda a: f"({a})", sub),
    )


def _regex_budget(text: str) -> bool:
    return text.count("%") <= 4


json_patterns = json_expr(2).map(lambda e: "{ " + e + " }").filter(_regex_budget)

TERMS = [
    "DisableKey",
    "Key",
    '"is pending"',
    "kms",
    "?Disable",
    "?Schedule",
    "-Rotation",
    '-"x y"',
    "ERROR",
    "é",
    "20",
]
term_patterns = st.lists(st.sampled_from(TERMS), max_size=4).map(" ".join)
regex_patterns = st.sampled_from(
    [
        '%Key"%',
        "%^\\{%",
        "%[0-9]{2}%",
        "%Disable|Schedule%",
        "%\\s%",
        "%é%".replace("é", "e"),
        "%kms\\.amazonaws\\.com%",
        "%\\d\\d\\d\\d%",
    ]
)
FIELDS = ["a", "b = 1", "c = x*", "d != 2", "e > 1 && e < 99", "f = %^y%", "...", ""]
delimited_patterns = st.lists(st.sampled_from(FIELDS), max_size=4).map(
    lambda fs: "[" + ", ".join(fs) + "]"
)
any_pattern = st.one_of(json_patterns, term_patterns, regex_patterns, delimited_patterns)


def _valid(text: str) -> Any:
    try:
        return parse(text)
    except PatternError:
        return None


# --- generated records ---------------------------------------------------------------------

scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(NUMBER_NODES),
    st.sampled_from(STRING_NODES),
)
node = st.one_of(
    scalar,
    st.lists(scalar, max_size=3),
    st.dictionaries(st.sampled_from(["b", "n", "keySpec"]), scalar, max_size=2),
)
MISSING = object()


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    rec: dict[str, Any] = {"eventTime": "2024-05-01T10:00:00Z"}
    for path in PLAIN_PATHS + [("arr",)]:
        value = draw(st.one_of(st.just(MISSING), node))
        if value is MISSING:
            continue
        target = rec
        for step in path[:-1]:
            existing = target.get(step)
            if not isinstance(existing, dict):
                existing = {}
                target[step] = existing
            target = existing
        target[path[-1]] = value
    if draw(st.booleans()):
        rec["arr"] = draw(st.lists(st.one_of(scalar, st.fixed_dictionaries({"b": scalar}))))
    return rec


def _frame(recs: list[dict[str, Any]]) -> pl.DataFrame:
    return frame_from_records(recs)


# --- (a) printing then parsing gives the same tree --------------------------------------------


@SETTINGS
@given(any_pattern)
def test_print_parse_round_trip(text: str) -> None:
    p = _valid(text)
    if p is None:
        return
    again = parse(p.to_text())
    assert again.ast == p.ast
    assert str(again) == p.to_text()


def test_round_trip_of_every_valid_table_pattern() -> None:
    for case_id, text, *_ in CASES:
        p = _valid(text)
        if p is not None:
            assert parse(str(p)).ast == p.ast, case_id


# --- (b) vectorized and reference evaluators agree ---------------------------------------------


@SETTINGS
@given(any_pattern, st.lists(records(), min_size=1, max_size=12))
def test_vectorized_agrees_with_reference(text: str, recs: list[dict[str, Any]]) -> None:
    p = _valid(text)
    if p is None:
        return
    frame = _frame(recs)
    vector = frame.select(p.to_polars().alias("m"))["m"].to_list()
    reference = [p.matches(raw) for raw in frame[S.RAW].to_list()]
    assert vector == reference


VALUE_REFS = ["1", "$.requestParameters.n", "$.a", "$.eventName", "$.arr[0]"]
DIM_REFS = ["$.eventName", "$.a.b", "$.requestParameters.keySpec", "$.arr[1].b", "$.readOnly"]


@SETTINGS
@given(
    json_patterns,
    st.sampled_from(VALUE_REFS),
    st.lists(st.sampled_from(DIM_REFS), max_size=2, unique=True),
    st.lists(records(), min_size=1, max_size=10),
)
def test_vectorized_metric_agrees(
    text: str, value_ref: str, dims: list[str], recs: list[dict[str, Any]]
) -> None:
    p = _valid(text)
    if p is None:
        return
    mf = metric_filter(
        p, MetricTransformation.of(value_ref, dimensions={f"d{i}": d for i, d in enumerate(dims)})
    )
    frame = _frame(recs)
    values = frame.select(mf.value_expr().alias("v"))["v"].to_list()
    dim_columns = {
        n: frame.select(e.alias("x"))["x"].to_list() for n, e in mf.dimension_exprs().items()
    }
    for row, raw in enumerate(frame[S.RAW].to_list()):
        point = mf.evaluate(raw)
        assert values[row] == (None if point is None else point.value)
        if point is not None:
            for name, column in dim_columns.items():
                assert column[row] == point.dimensions[name]


# --- (c) the parser raises nothing but PatternError ----------------------------------------------

PATTERN_ALPHABET = st.sampled_from(
    list("{}[]()$.*%\"'\\=!<>&|?-,_ aZ09\t\né")
    + ["IS", "NOT", "NULL", "EXISTS", "TRUE", "...", "&&", "||", "$."]
)


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.lists(PATTERN_ALPHABET, max_size=30).map("".join)))
def test_parser_only_raises_pattern_error(text: str) -> None:
    try:
        p = parse(text)
    except PatternError as err:
        assert 0 <= err.position <= max(len(text), 1024)
        assert err.message
        return
    p.matches(text)
    p.extract(text)
    parse(p.to_text())
