"""Anomaly thresholds: defaults (chosen with ``benchmarks/anomaly_eval.py``) and overrides.

Overrides come from ``--threshold name=value`` options or a TOML file with a
``[thresholds]`` table (or top-level keys); unknown names are errors, not ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    # Novelty (first-seen) findings need an entity with this much baseline history.
    min_history_days: int = 3
    min_history_events: int = 20
    # A key unused for this many days before its first use in the window is "dormant".
    dormant_days: int = 14
    # Odd-hour findings: principal history needed, how far (hours, circular) the new
    # hour must be from every hour seen on the same kind of day (weekday/weekend), and
    # how many calls at such hours make a finding.
    odd_hour_min_days: int = 7
    odd_hour_min_events: int = 100
    odd_hour_margin: int = 2
    odd_hour_min_calls: int = 5
    # Call-rate spike per hour: above all of min_calls, factor x baseline p99 hour and
    # median + mad_k x scaled MAD.
    rate_min_calls: int = 100
    rate_factor: float = 4.0
    rate_mad_k: float = 12.0
    # Error-rate spike per hour, same shape.
    error_min: int = 10
    error_factor: float = 4.0
    error_mad_k: float = 12.0
    # Sustained rate rise of a principal on a key: at least rise_min_hours consecutive
    # hours, each with at least rise_min_calls calls and rise_factor x the pair's usual
    # hourly rate (the median of its active hours in the rise_recent_days days before
    # that hour's day, which is what lets slow organic growth move "usual" along); the
    # pair needs rise_min_active_hours active hours in those days.
    rise_factor: float = 3.0
    rise_min_hours: int = 3
    rise_min_calls: int = 30
    rise_recent_days: int = 7
    rise_min_active_hours: int = 24
    # Findings below this score are dropped.
    min_score: float = 0.0
    # Event ids kept per finding (the total is always given).
    sample_cap: int = 20

    def with_overrides(self, overrides: Mapping[str, Any]) -> Thresholds:
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, raw in overrides.items():
            spec = known.get(name)
            if spec is None:
                raise ValueError(f"unknown threshold {name!r}; known: {', '.join(sorted(known))}")
            kind = int if spec.type in (int, "int") else float
            try:
                value = kind(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"threshold {name}: {raw!r} is not a valid {kind.__name__}"
                ) from exc
            if value < 0:
                raise ValueError(f"threshold {name}: must not be negative")
            changes[name] = value
        return replace(self, **changes)


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["rate_factor=5", …]`` → ``{"rate_factor": "5"}``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--threshold expects name=value, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read thresholds: {exc}") from exc
    table = data.get("thresholds", data)
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [thresholds] must be a table")
    return table


def resolve(toml_path: str | Path | None = None, assignments: Iterable[str] = ()) -> Thresholds:
    thresholds = Thresholds()
    if toml_path is not None:
        thresholds = thresholds.with_overrides(load_toml(toml_path))
    return thresholds.with_overrides(parse_assignments(assignments))
