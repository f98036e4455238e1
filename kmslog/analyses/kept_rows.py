"""The shape of a fold that keeps a few rows as they are and reads them at the end
(grant calls, key-policy versions, outward re-encryptions): ``keep`` picks the rows
with tests on typed columns, ``take`` may narrow or reshape them as they come."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl


@dataclass
class KeptRows:
    rows: list[dict[str, Any]] = field(default_factory=list)


class KeptRowsFold:
    """start / update / combine of such a fold; subclasses give ``row_columns``,
    ``keep`` and ``finish`` (and ``take`` when the rows need narrowing)."""

    row_columns: ClassVar[tuple[str, ...]] = ()

    def keep(self) -> pl.Expr:
        raise NotImplementedError

    def take(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows

    def start(self) -> KeptRows:
        return KeptRows()

    def update(self, state: KeptRows, frame: pl.DataFrame) -> KeptRows:
        if not frame.height:
            return state
        kept = frame.lazy().filter(self.keep()).select(*self.row_columns).collect()
        rows = self.take(kept.to_dicts()) if kept.height else []
        return KeptRows(state.rows + rows) if rows else state

    def combine(self, a: KeptRows, b: KeptRows) -> KeptRows:
        return KeptRows(a.rows + b.rows)
