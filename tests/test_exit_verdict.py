"""The scan's exit status and the line that explains it come from one computation
(``report/exit_verdict.py``): what each --fail-on mode counts, what --no-builtin-rules
leaves out, and the sentence for each case."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from kmslog.analyses.detections import DetectionsResult
from kmslog.findings.model import Finding, FindingKind, Subject
from kmslog.report.detections_section import FailOn
from kmslog.report.exit_verdict import Verdict, scan_verdict

T0 = datetime(2026, 9, 1, tzinfo=UTC)
GRANT = FindingKind("test-grant", "Grant", "medium", "policy")
LOW = FindingKind("test-low", "Low", "low", "policy")


def nothing_detected() -> DetectionsResult:
    return DetectionsResult(
        rules=(),
        findings=pl.DataFrame(),
        alarms=(),
        key_material_rule=None,
        key_material=(),
        as_of=None,
        first=None,
        last=None,
        events=0,
        skipped=(),
    )


def found(kind: FindingKind, n: int) -> list[Finding]:
    return [Finding(kind, Subject(key_arn=f"k{i}"), T0, T0, 1, "x") for i in range(n)]


def medium_and_above(result: list[Finding]) -> list[Finding]:
    return [f for f in result if f.kind.severity in ("critical", "high", "medium")]


def verdict(fail_on: FailOn, builtin_rules: bool = True, reported: int | None = None) -> Verdict:
    section_result = found(GRANT, 2) + found(LOW, 1)
    return scan_verdict(
        nothing_detected(),
        None,
        [(medium_and_above, section_result), (None, section_result)],
        fail_on,
        builtin_rules=builtin_rules,
        reported=3 if reported is None else reported,
    )


def test_built_in_findings_count_by_their_section() -> None:
    v = verdict(FailOn.finding)
    assert v.status == 1
    assert [f.kind.id for f in v.counted] == ["test-grant", "test-grant"]
    assert v.line() == "exit 1: 2 of 3 findings count (1 kind)"


def test_no_builtin_rules_reports_but_does_not_count() -> None:
    v = verdict(FailOn.finding, builtin_rules=False)
    assert (v.status, v.counted, v.builtin_off) == (0, (), 2)
    assert v.line() == "exit 0: none of 3 findings counts; --no-builtin-rules left out 2"


@pytest.mark.parametrize(
    ("fail_on", "line"),
    [
        (FailOn.none, "exit 0: --fail-on none; 3 findings reported"),
        (FailOn.alarm, "exit 0: no alarm reached ALARM (--fail-on alarm), of 3 findings"),
    ],
)
def test_other_modes_ignore_the_sections(fail_on: FailOn, line: str) -> None:
    v = verdict(fail_on)
    assert v.status == 0 and not v.counted
    assert v.line() == line


def test_nothing_found() -> None:
    v = scan_verdict(nothing_detected(), None, [], FailOn.finding, True, reported=0)
    assert (v.status, v.line()) == (0, "exit 0: no findings")
