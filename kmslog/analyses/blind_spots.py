"""The blind-spot fold: which calls changed what the trails record, and where the
logs' cadence breaks (docs/blind-spots.md).

The rows that matter are few (trail configuration, calls on the log destination and
on alarms), so ``update`` keeps them as plain dicts and ``finish`` reads them in time
order; the delivery cadence is a small mergeable partial (``gaps.Arrivals``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import polars as pl

from kmslog.analyses.summary import earliest, latest
from kmslog.blindspots import destination, gaps, trails, windows
from kmslog.blindspots.model import Gap, Incident, Window
from kmslog.decode import schema as S

# The columns the interpreting functions read from a kept row.
ROW_COLUMNS = (
    S.EVENT_TIME,
    S.EVENT_SOURCE,
    S.EVENT_NAME,
    S.ERROR_CODE,
    S.ERROR_MESSAGE,
    S.RECIPIENT_ACCOUNT_ID,
    S.AWS_REGION,
    S.EVENT_ID,
    S.IDENTITY_ARN,
    S.SOURCE_IP,
    S.SOURCE,
    S.RECORD_INDEX,
    S.RAW,
)


def kept_rows() -> pl.Expr:
    """Rows the fold keeps (tests on two typed columns): what the trail and the
    destination readers may use."""
    trail_calls = (pl.col(S.EVENT_SOURCE) == trails.SOURCE) & pl.col(S.EVENT_NAME).is_in(
        list(trails.ACTIONS)
    )
    return trail_calls | destination.candidates()


def kept_names() -> list[str]:
    """Every event name :func:`kept_rows` may keep, sorted."""
    return sorted(destination.candidate_names() | set(trails.ACTIONS))


def kept(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``frame`` :func:`kept_rows` keeps, in :data:`ROW_COLUMNS`. The names
    are tested first and alone: most rows fail that, and the string comparisons of the
    full test then run on the few left."""
    named = frame.select(*ROW_COLUMNS).filter(pl.col(S.EVENT_NAME).is_in(kept_names()))
    # Most batches of real logs hold no such call: nothing more to test then.
    return named.filter(kept_rows()) if named.height else named


# Partials of the cadence merged at once when this many are pending: a merge costs
# the same for a small partial as for a big one, and the pending ones stay few.
PENDING = 32


@dataclass
class BlindSpotState:
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Not merged yet (see PENDING); together they are the cadence's partial.
    arrivals: tuple[gaps.Arrivals, ...] = ()
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class BlindSpots:
    """What the logs could not see, and the calls that tried to make it so."""

    windows: tuple[Window, ...]
    incidents: tuple[Incident, ...]
    gaps: tuple[Gap, ...]
    missing_regions: tuple[tuple[str, str], ...]  # (account, Region) others have
    first: datetime | None
    last: datetime | None

    def covering(
        self, account: str | None, region: str | None, start: datetime | None, end: datetime | None
    ) -> tuple[Window, ...]:
        """The windows that overlap [start, end] for ``account`` in ``region``
        (None: any). A window with no Region covers every Region of its account."""
        return tuple(
            w
            for w in self.windows
            if (account is None or w.account == account)
            and (region is None or w.region is None or w.region == region)
            and w.overlaps(start, end)
        )


@dataclass(frozen=True)
class BlindSpotAnalysis:
    name: str = "blind_spots"
    # ROW_COLUMNS, and what ``gaps.arrivals`` reads (account, Region, time, file).
    columns: ClassVar[frozenset[str]] = frozenset(ROW_COLUMNS)

    def start(self) -> BlindSpotState:
        return BlindSpotState()

    def update(self, state: BlindSpotState, frame: pl.DataFrame) -> BlindSpotState:
        if not frame.height:
            return state
        span = frame.select(
            pl.col(S.EVENT_TIME).min().alias("lo"), pl.col(S.EVENT_TIME).max().alias("hi")
        ).row(0)
        part = BlindSpotState(
            rows=kept(frame).to_dicts(),
            arrivals=(gaps.arrivals(frame),),
            first=span[0],
            last=span[1],
        )
        return self.combine(state, part)

    def combine(self, a: BlindSpotState, b: BlindSpotState) -> BlindSpotState:
        pending = a.arrivals + b.arrivals
        return BlindSpotState(
            rows=a.rows + b.rows,
            arrivals=(gaps.merge_all(pending),) if len(pending) > PENDING else pending,
            first=earliest(a.first, b.first),
            last=latest(a.last, b.last),
        )

    def finish(self, state: BlindSpotState) -> BlindSpots:
        arrivals = gaps.merge_all(state.arrivals)
        rows = sorted(
            state.rows, key=lambda r: (r[S.EVENT_TIME], r[S.EVENT_ID] or "", r[S.SOURCE] or "")
        )
        changes = [c for c in (trails.trail_change(r) for r in rows) if c is not None]
        regions: dict[str, list[str]] = {}
        for account, region in arrivals.places():
            regions.setdefault(account, []).append(region)
        found, attempts = windows.windows(changes, state.last, regions=regions)
        targets = destination.targets(rows)
        incidents = [i for i in (destination.incident(r, targets) for r in rows) if i is not None]
        return BlindSpots(
            windows=tuple(found),
            incidents=tuple(sorted([*attempts, *incidents], key=lambda i: i.cite.event_time)),
            gaps=tuple(gaps.gaps(arrivals)),
            missing_regions=tuple(gaps.missing_regions(arrivals)),
            first=state.first,
            last=state.last,
        )
