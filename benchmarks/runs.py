"""Timing a kmslog run the same way in every benchmark: wall and CPU seconds."""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from typing import Any

from kmslog.run.api import RunResult, ScanOptions
from kmslog.run.executor import run


def cpu_seconds() -> float:
    """User + system CPU of this process and its (finished) worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(
    paths: Sequence[str], analyses: Sequence[Any], options: ScanOptions
) -> tuple[float, float, RunResult]:
    """Wall seconds, CPU seconds and the result of one run."""
    start, cpu = time.perf_counter(), cpu_seconds()
    result = run(paths, analyses, options)
    return time.perf_counter() - start, cpu_seconds() - cpu, result
