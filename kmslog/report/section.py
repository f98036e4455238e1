"""A section of ``kmslog scan``'s report: one analysis of the run, its JSON key, its
console renderer and the findings of it that decide the exit status. Sections are built
by the section modules of ``report/`` and listed by ``commands/scan_sections.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from kmslog.analyses.base import Analysis
from kmslog.findings.model import Finding
from kmslog.run.api import RunResult


@dataclass(frozen=True)
class Section:
    """One analysis of the run and how its result is shown."""

    analysis: Analysis[Any, Any]
    json_key: str
    to_json: Callable[[RunResult, Any], Any]
    to_console: Callable[[Console, RunResult, Any], None]
    # The findings of the result that make the scan exit 1 (--fail-on finding);
    # None: the section never decides the exit status by itself.
    counted: Callable[[Any], list[Finding]] | None = None
