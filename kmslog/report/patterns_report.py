"""``kmslog test-pattern`` output: the TestMetricFilter response shape, or a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from kmslog.report.safe import text


@dataclass(frozen=True)
class TestedEvent:
    number: int  # 1-based, as TestMetricFilter numbers events
    message: str
    matched: bool
    extracted: dict[str, str] = field(default_factory=dict)
    value: float | None = None
    dimensions: dict[str, str] = field(default_factory=dict)


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def response(events: Sequence[TestedEvent], with_metric: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "matches": [
            {"eventNumber": e.number, "eventMessage": e.message, "extractedValues": e.extracted}
            for e in events
            if e.matched
        ]
    }
    if with_metric:
        doc["metricValues"] = [
            {"eventNumber": e.number, "value": _number(e.value), "dimensions": e.dimensions}
            for e in events
            if e.value is not None
        ]
    return doc


def print_table(console: Console, events: Sequence[TestedEvent], with_metric: bool) -> None:
    table = Table(title=None, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("event message", overflow="fold")
    table.add_column("extracted values", overflow="fold")
    if with_metric:
        table.add_column("value", justify="right")
        table.add_column("dimensions", overflow="fold")
    shown = [e for e in events if e.matched or (with_metric and e.value is not None)]
    for e in shown:
        extracted = text(", ".join(f"{k}={v}" for k, v in e.extracted.items()))
        row = [text(str(e.number)), text(e.message), extracted]
        if with_metric:
            value = "" if e.value is None else str(_number(e.value))
            dims = ", ".join(f"{k}={v}" for k, v in e.dimensions.items())
            row += [text(value), text(dims)]
        table.add_row(*row)
    console.print(table)
    matched = sum(e.matched for e in events)
    console.print(text(f"{matched} of {len(events)} event messages matched"))
