"""Why ``kmslog scan`` exits as it does: the one computation of its exit status, as the
findings that decided it, and the sentence that says so (the console's last line).

The status is computed here and only here, so the line can never disagree with it:
``--fail-on finding`` counts every rule match, alarm that reached ALARM (or was deleted
before it would have), expiring key material and EventBridge match, and the findings
each built-in section counts (its ``counted``), unless ``--no-builtin-rules``;
``--fail-on alarm`` counts alarm transitions to ALARM; ``--fail-on none`` nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kmslog.analyses.detections import DetectionsResult
from kmslog.analyses.eventbridge import EventBridgeResult
from kmslog.findings.adapters import (
    ALARM_KIND,
    ALARM_SILENT_KIND,
    alarm_findings,
    detection_findings,
    eventbridge_findings,
)
from kmslog.findings.model import Finding
from kmslog.report.detections_section import FailOn


@dataclass(frozen=True)
class Verdict:
    status: int
    fail_on: FailOn
    counted: tuple[Finding, ...]  # the findings that decided the status
    reported: int  # every finding of the run, counted or not
    builtin_off: int  # built-in findings reported but not counted (--no-builtin-rules)

    def line(self) -> str:
        """One line, short enough for 80 columns: the status, how many of the run's
        findings decided it, and what the options left out."""
        head = f"exit {self.status}: "
        kinds = len({f.kind.id for f in self.counted})
        of = f"of {_findings(self.reported)}"
        if self.fail_on is FailOn.none:
            return head + f"--fail-on none; {_findings(self.reported)} reported"
        if self.fail_on is FailOn.alarm:
            if not self.counted:
                return head + f"no alarm reached ALARM (--fail-on alarm), {of}"
            return head + f"{len(self.counted)} transitions to ALARM count (--fail-on alarm), {of}"
        if self.reported == 0:
            return head + "no findings"
        if self.counted:
            text = f"{len(self.counted)} {of} count ({kinds} kind{'s' * (kinds != 1)})"
        else:
            text = f"none {of} counts"
        if self.builtin_off:
            text += f"; --no-builtin-rules left out {self.builtin_off}"
        return head + text


def _findings(n: int) -> str:
    return f"{n} finding" + ("" if n == 1 else "s")


def scan_verdict(
    detections: DetectionsResult,
    eventbridge: EventBridgeResult | None,
    builtin: Sequence[tuple[Any, Any]],
    fail_on: FailOn,
    builtin_rules: bool,
    reported: int,
) -> Verdict:
    """``builtin``: each built-in section's ``counted`` function and its result;
    ``reported``: how many findings the run reports in all (counted or not)."""
    counted: list[Finding] = []
    builtin_off = 0
    if fail_on is FailOn.alarm:
        counted = [
            f for f in alarm_findings(detections) if f.kind in (ALARM_KIND, ALARM_SILENT_KIND)
        ]
    elif fail_on is FailOn.finding:
        counted = detection_findings(detections)
        if eventbridge is not None:
            counted += eventbridge_findings(eventbridge)
        for count, result in builtin:
            if count is None:
                continue
            found = count(result)
            if builtin_rules:
                counted += found
            else:
                builtin_off += len(found)
    return Verdict(
        status=1 if counted else 0,
        fail_on=fail_on,
        counted=tuple(counted),
        reported=reported,
        builtin_off=builtin_off,
    )
