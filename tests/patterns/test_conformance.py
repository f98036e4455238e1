"""kmslog's own conformance table (always runs) and the shared sample (when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.patterns.conformance import check
from tests.patterns.conformance_cases import CASES

SHARED = Path(__file__).parents[2] / ".." / "shared" / "conformance"
SHARED_FILE = SHARED / "filter_patterns_public.jsonl"


def test_table_is_large_and_ids_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) >= 250
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_own_case(case: tuple) -> None:
    case_id, pattern, event, expect, extra = case
    check({"id": case_id, "pattern": pattern, "event": event, "expect": expect, **extra})


def _shared_cases() -> list[dict]:
    if not SHARED_FILE.exists():
        return []
    return [json.loads(line) for line in SHARED_FILE.read_text().splitlines() if line.strip()]


@pytest.mark.skipif(not SHARED_FILE.exists(), reason="../shared is not available")
@pytest.mark.parametrize("case", _shared_cases(), ids=lambda c: c["id"])
def test_shared_case(case: dict) -> None:
    check(case)
