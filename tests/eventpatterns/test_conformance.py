"""The conformance table (cases/*.json): documented examples first (``doc`` cites
the page), then derived cases (``reason``); each runs through both evaluators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from kmslog.eventpatterns import EventPatternError, loads_event, matches, parse, to_text
from kmslog.eventpatterns.vectorize import filter_mask

CASES_DIR = Path(__file__).parent / "cases"
MATCHING: list[dict[str, Any]] = json.loads((CASES_DIR / "matching.json").read_text("utf-8"))[
    "cases"
]
INVALID: list[dict[str, Any]] = json.loads((CASES_DIR / "invalid.json").read_text("utf-8"))[
    "invalid"
]

# The flat string fields the vectorized path reads from columns.
FLAT = {
    ("source",): "source",
    ("detail-type",): "detail_type",
    ("account",): "account",
    ("region",): "region",
    ("detail", "eventName"): "event_name",
    ("detail", "eventSource"): "event_source",
    ("f",): "f",
}


def frame_of(texts: list[str]) -> pl.DataFrame:
    """Columns hold a field's string, null otherwise; a non-string value leaves
    the column null and the case is then not a flat one (see ``flat``)."""
    data: dict[str, list[Any]] = {"raw": texts}
    events = [loads_event(t) for t in texts]
    for path, name in FLAT.items():
        col: list[str | None] = []
        for e in events:
            v: Any = e
            for step in path:
                v = v.get(step) if isinstance(v, dict) else None
            col.append(v if isinstance(v, str) else None)
        data[name] = col
    return pl.DataFrame(data, schema={k: pl.String for k in data})


ABSENT = object()


def flat(text: str) -> bool:
    """Whether every FLAT path holds a string or nothing (the columns' contract)."""
    e = loads_event(text)
    if not isinstance(e, dict):
        return False
    for path in FLAT:
        v: Any = e
        for step in path:
            if not isinstance(v, dict):
                return False  # a string or array where an object was expected
            if step not in v:
                v = ABSENT
                break
            v = v[step]
        if v is not ABSENT and not isinstance(v, str):
            return False
    return True


def test_table_size_and_citations() -> None:
    assert len(MATCHING) >= 250
    documented = [c for c in MATCHING if "doc" in c]
    assert len(documented) >= 50
    # documented examples come first, every other case says why it is there
    first_derived = next(i for i, c in enumerate(MATCHING) if "doc" not in c)
    assert all("doc" not in c for c in MATCHING[first_derived:])
    assert all("reason" in c for c in MATCHING[first_derived:])
    assert len({c["id"] for c in MATCHING}) == len(MATCHING)


@pytest.mark.parametrize("case", MATCHING, ids=[c["id"] for c in MATCHING])
def test_reference(case: dict[str, Any]) -> None:
    pattern = parse(case["pattern"])
    assert matches(pattern, loads_event(case["event"])) is case["expect"]
    assert parse(to_text(pattern)) == pattern


@pytest.mark.parametrize("case", MATCHING, ids=[c["id"] for c in MATCHING])
def test_vectorized(case: dict[str, Any]) -> None:
    pattern = parse(case["pattern"])
    texts = [case["event"]]
    frame = frame_of(texts)
    mask = filter_mask(
        frame, pattern, FLAT if flat(case["event"]) else {}, lambda r: loads_event(r["raw"])
    )
    assert mask.to_list() == [case["expect"]]


def test_vectorized_over_all_events_at_once() -> None:
    """Each pattern over the whole frame of flat events: one polars pass per pattern."""
    flat_texts = sorted({c["event"] for c in MATCHING if flat(c["event"])})
    frame = frame_of(flat_texts)
    events = [loads_event(t) for t in flat_texts]
    for case in MATCHING:
        pattern = parse(case["pattern"])
        got = filter_mask(frame, pattern, FLAT, lambda r: loads_event(r["raw"])).to_list()
        assert got == [matches(pattern, e) for e in events], case["id"]


@pytest.mark.parametrize("case", INVALID, ids=[c["id"] for c in INVALID])
def test_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(EventPatternError) as info:
        parse(case["pattern"])
    assert info.value.message == case["message"]
    assert 0 <= info.value.position <= len(case["pattern"])
