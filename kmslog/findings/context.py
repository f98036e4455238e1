"""What a report says about the run that produced it (evidence reports need it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class InputFile:
    path: str  # display form (sources/names.py)
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ReportContext:
    tool_version: str
    command_line: tuple[str, ...]
    generated_at: datetime
    inputs: tuple[InputFile, ...] = ()
    first_event: datetime | None = None
    last_event: datetime | None = None
    # The run's summary figures (records seen, kept, duplicates, rejected …).
    stats: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
