"""The detections section of ``kmslog scan``: builds the analysis from the options
(built-in catalogue plus ``--rules`` files) and names its renderers (the exit status,
``--fail-on``, is decided in ``report/exit_verdict.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from kmslog.analyses.blind_spots import BlindSpotAnalysis
from kmslog.analyses.detections import DetectionsAnalysis
from kmslog.metrics.loaders import builtin_rules, load_rules
from kmslog.metrics.rules import RuleSet
from kmslog.report.detections_console import print_detections
from kmslog.report.detections_json import detections_data
from kmslog.report.findings_console import alias_lookup
from kmslog.report.section import Section

# The name the blind-spot fold's result is kept under in a run's results.
BLIND_SPOTS = BlindSpotAnalysis.name


class FailOn(StrEnum):
    none = "none"
    finding = "finding"
    alarm = "alarm"


def load_rule_set(files: Sequence[str], builtin: bool = True) -> RuleSet:
    """Built-in catalogue (unless ``builtin`` is false) merged with each file in turn.

    Raises RuleError naming the file, rule and field.
    """
    rules = builtin_rules() if builtin else RuleSet()
    for path in files:
        rules = rules.merged(load_rules(path))
    return rules


def detections_section(
    rules: RuleSet, as_of: datetime | None, logged_alarms: bool = True
) -> Section:
    """``logged_alarms``: also replay the filters and alarms the logs show being
    configured (PutMetricFilter / PutMetricAlarm), version by version."""
    return Section(
        DetectionsAnalysis(rules=rules, as_of=as_of, logged_alarms=logged_alarms),
        "",  # contributes several top-level keys: findings, alarms, key_material
        lambda result, found: detections_data(found, result.results.get(BLIND_SPOTS)),
        lambda console, result, found: print_detections(
            console, found, result.results.get(BLIND_SPOTS), alias_lookup(result.results)
        ),
    )
