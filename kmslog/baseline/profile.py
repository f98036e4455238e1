"""Baseline profiles: mergeable daily aggregates, stored as versioned, reviewable JSON.

History is kept per day: every feature value carries its count per UTC day and every
key and principal its calls and errors per hour of each day. That is what lets a scan
compare a window against only the part of the profile *before* the window
(:meth:`Profile.before`), even when the profile was learned from a corpus that
includes the window, and what makes two profiles mergeable exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from kmslog import __version__
from kmslog.baseline import features as F
from kmslog.kms.dates import iso_z

FORMAT = "kmslog-baseline-profile"
VERSION = 1

HISTORY_NOTE = (
    "History is kept per UTC day. A scan compares its window against the part of this "
    "profile before the window (before the day of --since, or of the first scanned event)."
)


class ProfileError(ValueError):
    """A profile file that cannot be used (wrong format, unknown version, bad JSON)."""


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return f"{iso_z(ts)[:-1]}.{ts.microsecond // 1000:03d}Z"


def _parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Profile:
    """A learned baseline. ``obs`` and ``series`` follow ``features.OBS_SCHEMA`` /
    ``features.SERIES_SCHEMA``; both are compacted (one row per group)."""

    obs: pl.DataFrame = field(default_factory=F.empty_observations)
    series: pl.DataFrame = field(default_factory=F.empty_series)
    start: datetime | None = None
    end: datetime | None = None
    events: int = 0
    sources: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ queries
    def before(self, cutoff: date) -> Profile:
        """The profile restricted to UTC days strictly before ``cutoff``."""
        obs = self.obs.filter(pl.col("day") < cutoff)
        ser = self.series.filter(pl.col("day") < cutoff)
        end = None
        if obs.height:
            end = obs.select(pl.col("last").max()).item()
        events = int(ser.filter(pl.col("series") == "principal").get_column("calls").sum())
        return Profile(obs, ser, self.start if obs.height else None, end, events, self.sources)

    @property
    def days(self) -> int:
        if self.start is None or self.end is None:
            return 0
        return (self.end.date() - self.start.date()).days + 1

    @property
    def duration_minutes(self) -> int:
        """Baseline duration as CloudTrail Insights counts it: whole minutes of history."""
        return self.days * 24 * 60

    def keys(self) -> list[str]:
        return (
            self.obs.filter(pl.col("dim") == "key.operation")
            .get_column("e1")
            .unique()
            .sort()
            .to_list()
        )

    # ------------------------------------------------------------------ merge
    def merge(self, other: Profile) -> Profile:
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return Profile(
            F.compact_observations(pl.concat([self.obs, other.obs])),
            F.compact_series(pl.concat([self.series, other.series])),
            min(starts) if starts else None,
            max(ends) if ends else None,
            self.events + other.events,
            list(dict.fromkeys([*self.sources, *other.sources])),
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "learned_with": f"kmslog {__version__}",
            "note": HISTORY_NOTE,
            "window": {"start": _iso(self.start), "end": _iso(self.end), "days": self.days},
            "corpus": {"events": self.events, "sources": self.sources},
            "summary": summary(self),
            "features": _features_to_dict(self.obs),
            "series": _series_to_dict(self.series),
        }

    def to_json(self) -> str:
        return dumps_readable(self.to_dict()) + "\n"

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: Any, origin: str = "<profile>") -> Profile:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProfileError(f"{origin}: not a kmslog baseline profile (format != {FORMAT!r})")
        version = data.get("version")
        if version != VERSION:
            raise ProfileError(
                f"{origin}: profile version {version!r} is not supported (expected {VERSION})"
            )
        try:
            window = data.get("window") or {}
            corpus = data.get("corpus") or {}
            return cls(
                _features_from_dict(data.get("features") or {}),
                _series_from_dict(data.get("series") or {}),
                _parse_iso(window.get("start")),
                _parse_iso(window.get("end")),
                int(corpus.get("events") or 0),
                [str(s) for s in corpus.get("sources") or []],
            )
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise ProfileError(f"{origin}: malformed profile: {exc}") from exc

    @classmethod
    def read(cls, path: str | Path) -> Profile:
        try:
            data = orjson.loads(Path(path).read_bytes())
        except orjson.JSONDecodeError as exc:
            raise ProfileError(f"{path}: not valid JSON: {exc}") from exc
        except OSError as exc:
            raise ProfileError(f"{path}: cannot read profile: {exc}") from exc
        return cls.from_dict(data, str(path))


# ---------------------------------------------------------------------- features
def _features_to_dict(obs: pl.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not obs.height:
        return out
    grouped = (
        obs.sort("dim", "e1", "e2", "value", "day", nulls_last=True)
        .group_by("dim", "e1", "e2", "value", maintain_order=True)
        .agg(
            pl.col("count").sum().alias("total"),
            pl.col("first").min(),
            pl.col("last").max(),
            pl.col("day"),
            pl.col("count"),
        )
    )
    for dim, e1, e2, value, total, first, last, days, counts in grouped.iter_rows():
        node = out.setdefault(dim, {}).setdefault(e1, {})
        if e2 is not None:
            node = node.setdefault(e2, {})
        node[value] = {
            "count": total,
            "first": _iso(first),
            "last": _iso(last),
            "days": {d.isoformat(): c for d, c in zip(days, counts, strict=True)},
        }
    return out


def _features_from_dict(data: dict[str, Any]) -> pl.DataFrame:
    rows: dict[str, list[Any]] = {k: [] for k in F.OBS_SCHEMA}

    def emit(dim: str, e1: str, e2: str | None, value: str, stats: dict[str, Any]) -> None:
        first = _parse_iso(stats["first"])
        last = _parse_iso(stats["last"])
        assert first is not None and last is not None
        for day_text, count in stats["days"].items():
            day = date.fromisoformat(day_text)
            day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            # Per-day first/last are kept only at the extremes; inner days span the day.
            rows["dim"].append(dim)
            rows["e1"].append(e1)
            rows["e2"].append(e2)
            rows["value"].append(value)
            rows["day"].append(day)
            rows["count"].append(int(count))
            rows["first"].append(first if first.date() == day else day_start)
            rows["last"].append(
                last if last.date() == day else day_start + timedelta(days=1, milliseconds=-1)
            )

    for dim, entities in data.items():
        spec = F.DIM_BY_NAME.get(dim)
        if spec is None:
            raise ValueError(f"unknown feature dimension {dim!r}")
        for e1, node in entities.items():
            if spec.e2 is None:
                for value, stats in node.items():
                    emit(dim, e1, None, value, stats)
            else:
                for e2, values in node.items():
                    for value, stats in values.items():
                        emit(dim, e1, e2, value, stats)
    return pl.DataFrame(rows, schema=F.OBS_SCHEMA)


def _series_to_dict(ser: pl.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not ser.height:
        return out
    for (name, entity, day), part in ser.sort("series", "entity", "day", "hour").group_by(
        "series", "entity", "day", maintain_order=True
    ):
        calls = [0] * 24
        errors = [0] * 24
        for hour, c, e in part.select("hour", "calls", "errors").iter_rows():
            calls[hour] = c
            errors[hour] = e
        entry: dict[str, Any] = {"calls": calls}
        if any(errors):
            entry["errors"] = errors
        out.setdefault(str(name), {}).setdefault(str(entity), {})[day.isoformat()] = entry
    return out


def _series_from_dict(data: dict[str, Any]) -> pl.DataFrame:
    rows: dict[str, list[Any]] = {k: [] for k in F.SERIES_SCHEMA}
    for name, entities in data.items():
        for entity, days in entities.items():
            for day_text, entry in days.items():
                day = date.fromisoformat(day_text)
                calls = entry["calls"]
                errors = entry.get("errors") or [0] * 24
                if len(calls) != 24 or len(errors) != 24:
                    raise ValueError(f"series {name}/{entity}/{day_text}: expected 24 hours")
                for hour in range(24):
                    if calls[hour] or errors[hour]:
                        rows["series"].append(name)
                        rows["entity"].append(entity)
                        rows["day"].append(day)
                        rows["hour"].append(hour)
                        rows["calls"].append(int(calls[hour]))
                        rows["errors"].append(int(errors[hour]))
    return pl.DataFrame(rows, schema=F.SERIES_SCHEMA)


# ---------------------------------------------------------------------- summary
def summary(profile: Profile) -> dict[str, Any]:
    """Derived figures for people reading the profile (ignored when loading)."""
    minutes = max(profile.duration_minutes, 1)
    obs = profile.obs
    keys: dict[str, Any] = {}
    per_key = (
        profile.series.filter(pl.col("series") == "key")
        .group_by("entity")
        .agg(
            pl.col("calls").sum(),
            pl.col("errors").sum(),
            pl.col("day").n_unique().alias("active_days"),
            pl.col("day").min().alias("first_day"),
            pl.col("day").max().alias("last_day"),
        )
        .sort("entity")
    )
    principals = (
        obs.filter(pl.col("dim") == "key.principal")
        .group_by("e1")
        .agg(pl.col("value").n_unique().alias("n"))
    )
    n_principals = dict(principals.iter_rows())
    week_hours = dict(
        profile.series.filter(pl.col("series") == "key")
        .group_by("entity")
        .agg(
            (pl.col("day").dt.weekday().cast(pl.Int32) * 24 + pl.col("hour").cast(pl.Int32))
            .n_unique()
            .alias("n")
        )
        .iter_rows()
    )
    for entity, calls, errors, active, first_day, last_day in per_key.iter_rows():
        keys[entity] = {
            "calls": calls,
            "errors": errors,
            "active_days": active,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "principals": n_principals.get(entity, 0),
            "active_hours_of_week": week_hours.get(entity, 0),
            "baseline_average_per_minute": round(calls / minutes, 6),
            "error_average_per_minute": round(errors / minutes, 6),
        }
    control: dict[str, dict[str, list[str]]] = defaultdict(dict)
    destructive = (
        obs.filter(pl.col("dim") == "account.destructive")
        .group_by("e1", "e2")
        .agg(pl.col("value").unique().sort())
        .sort("e1", "e2")
    )
    for account, op, who in destructive.iter_rows():
        control[account][op] = who
    insights: dict[str, dict[str, float]] = defaultdict(dict)
    api = (
        obs.filter(pl.col("dim") == "api.calls")
        .group_by("e1", "value")
        .agg(pl.col("count").sum())
        .sort("e1", "value")
    )
    for scope, op, count in api.iter_rows():
        insights[scope][op] = round(count / minutes, 6)
    return {
        "baseline_duration_minutes": profile.duration_minutes,
        "keys": keys,
        "destructive_and_access_control": dict(control),
        "insights_style_write_calls_per_minute": dict(insights),
    }


# ---------------------------------------------------------------------- JSON text
def _scalar(v: Any) -> bool:
    return not isinstance(v, dict | list)


def _flat(v: Any) -> bool:
    if isinstance(v, dict):
        return all(_scalar(x) for x in v.values())
    if isinstance(v, list):
        return all(_scalar(x) for x in v)
    return True


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(
            f"{orjson.dumps(str(k)).decode()}: {_inline(v)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return orjson.dumps(value).decode()


def dumps_readable(value: Any, indent: int = 0) -> str:
    """JSON with one entry per line, except that a leaf object (scalars, or containers
    of scalars) stays on one line, so each feature value or day of hours is one line
    and diffs stay local."""
    pad = "  " * (indent + 1)
    end = "  " * indent
    if isinstance(value, dict):
        nested_dicts = sum(isinstance(v, dict) for v in value.values())
        if indent > 0 and nested_dicts <= 1 and all(_flat(v) for v in value.values()):
            return _inline(value)
        if not value:
            return "{}"
        items = [
            f"{pad}{orjson.dumps(str(k)).decode()}: {dumps_readable(v, indent + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, list):
        if all(_flat(v) for v in value):
            return _inline(value)
        items = [f"{pad}{dumps_readable(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + end + "]"
    return orjson.dumps(value).decode()
