"""The alias history of a run as a fold: alias events (CreateAlias / UpdateAlias /
DeleteAlias) and the uses that show where an alias pointed, so a report can name a
key by the aliases it had when it was used (``kms/resolve.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from kmslog.analyses.dependents import ALIAS_EVENT_COLUMNS, alias_events_of
from kmslog.analyses.lifecycle import KMS_SOURCE, alias_uses
from kmslog.decode import schema as S
from kmslog.kms.resolve import ALIAS_EVENTS, AliasHistory
from kmslog.lifecycle.build import observations

_USE_KEYS = ["alias", "key_arn", "region", "account"]


@dataclass
class AliasPartial:
    events: list[pl.DataFrame] = field(default_factory=list)
    uses: list[pl.DataFrame] = field(default_factory=list)


def _compact(frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    # One row per alias x key x place: the uses of a long run stay a few rows.
    if len(frames) < 2:
        return frames
    merged = pl.concat(frames, how="vertical_relaxed")
    return [merged.group_by(_USE_KEYS).agg(pl.col("first").min(), pl.col("last").max())]


@dataclass(frozen=True)
class AliasHistoryAnalysis:
    name: ClassVar[str] = "alias_history"
    columns: ClassVar[frozenset[str]] = frozenset(
        {
            S.EVENT_SOURCE,
            S.EVENT_NAME,
            S.EVENT_TIME,
            S.ERROR_CODE,
            S.KEY_IDS,
            S.AWS_REGION,
            S.RECIPIENT_ACCOUNT_ID,
            S.RAW,
        }
    )

    def start(self) -> AliasPartial:
        return AliasPartial()

    def update(self, state: AliasPartial, frame: pl.DataFrame) -> AliasPartial:
        kms = frame.filter(pl.col(S.EVENT_SOURCE) == KMS_SOURCE)
        if kms.height == 0:
            return state
        is_alias_event = pl.col(S.EVENT_NAME).is_in(ALIAS_EVENTS).fill_null(False)
        uses = alias_uses(kms.filter(~is_alias_event))
        if uses is not None:
            state.uses = _compact([*state.uses, uses])
        changes = kms.filter(is_alias_event & pl.col(S.ERROR_CODE).is_null())
        if changes.height:
            state.events.append(changes.select(ALIAS_EVENT_COLUMNS))
        return state

    def combine(self, a: AliasPartial, b: AliasPartial) -> AliasPartial:
        return AliasPartial(events=a.events + b.events, uses=_compact(a.uses + b.uses))

    def finish(self, state: AliasPartial) -> AliasHistory:
        return AliasHistory(alias_events_of(state.events), observations(state.uses))
