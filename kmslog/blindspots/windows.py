"""Trail changes folded into blind-spot windows (and failed attempts into incidents).

Per (account, trail), in time order, a window opens when the trail stops delivering
KMS events or records less of them, and closes when that is undone:

=====================  =======================================  ==========================
cause                  opened by                                closed by
=====================  =======================================  ==========================
trail stopped          StopLogging                              StartLogging, DeleteTrail
trail deleted          DeleteTrail                              CreateTrail (same name)
KMS excluded           PutEventSelectors: management events,    PutEventSelectors back to
                       but not kms.amazonaws.com                all KMS events; DeleteTrail
management events off  PutEventSelectors: no management events  (same)
selectors narrowed     PutEventSelectors: read-only/write-only  (same)
multi-Region off       UpdateTrail isMultiRegionTrail false     UpdateTrail back on
trail moved            UpdateTrail to another S3 bucket         UpdateTrail back
=====================  =======================================  ==========================

A window that one cause ends and another continues (stopped, then deleted) is two
windows meeting at the call. A CreateTrail is taken to restore a deleted trail: the
console starts logging with it, the API needs a StartLogging the logs then show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kmslog.blindspots import kinds
from kmslog.blindspots.model import Certainty, Cite, Coverage, Incident, TrailChange, Window

# The reductions one trail can have at once, each with at most one open window.
_LOGGING, _EXISTS, _SELECTORS, _REGIONS, _BUCKET = (
    "logging",
    "exists",
    "selectors",
    "regions",
    "bucket",
)


@dataclass
class _Open:
    cause: str
    start: datetime
    opened_by: Cite
    coverage: Coverage
    possibly: bool
    regions: tuple[str | None, ...]
    multi: bool | None  # the trail's multi-Region setting when the window opened
    note: str = ""  # what the summary says beyond the cause (e.g. the other bucket)
    restore: str | None = None  # the value that closes it (the original bucket)


@dataclass
class _Trail:
    home: str
    multi: bool | None = None
    bucket: str | None = None
    open: dict[str, _Open] = field(default_factory=dict)


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(text: str) -> str:
    """One line of printable text: log strings may hold newlines or control codes."""
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def _key(change: TrailChange) -> tuple[datetime, str, str]:
    moment = change.time if change.time.tzinfo else change.time.replace(tzinfo=UTC)
    return moment, (change.cite.event_id or "") if change.cite else "", change.action


def _cite(change: TrailChange) -> Cite:
    return change.cite or Cite(event_id=None, event_time=change.time, event_name=change.action)


def _selector_cause(change: TrailChange) -> tuple[str, Coverage, bool] | None:
    """(cause, coverage, possibly) of a successful PutEventSelectors; None: all KMS."""
    if change.kms is None:  # the selectors could not be read: they may record nothing
        return kinds.MANAGEMENT_OFF.id, Coverage.NONE, True
    if change.kms is Coverage.ALL:
        return None
    if change.kms is Coverage.NONE:
        cause = kinds.KMS_EXCLUDED.id if change.management else kinds.MANAGEMENT_OFF.id
        return cause, Coverage.NONE, change.kms_uncertain
    return kinds.NARROWED.id, change.kms, change.kms_uncertain


_ATTEMPTED = {
    "stop": "stop logging of",
    "delete": "delete",
    "selectors": "change the event selectors of",
    "update": "update",
}


def _is_threat(change: TrailChange) -> bool:
    """Whether a failed call would have reduced what the trail records."""
    if change.action in ("stop", "delete"):
        return True
    if change.action == "selectors":
        return change.kms is not Coverage.ALL
    if change.action == "update":
        return change.multi_region is not True or change.bucket is not None
    return False


def windows(
    changes: Iterable[TrailChange],
    end: datetime | None,
    *,
    regions: Mapping[str, Iterable[str]] | None = None,
) -> tuple[list[Window], list[Incident]]:
    """The blind-spot windows and the failed-attempt incidents of ``changes``.

    ``changes`` may come in any order (they are sorted by time, then event id);
    changes after ``end`` (the end of the logs read, when given) are left out, and a
    window still open at the end has ``end=None``. ``regions`` optionally maps an
    account to the Regions its logs show: a trail turned single-Region then gets one
    window per other Region, instead of one for every Region (``region=None``) that
    is only ``possibly-unrecorded``.

    A window's Region is the trail's home Region (where its calls are made), or None
    (every Region) for a trail known to be multi-Region. Its certainty is
    ``unrecorded`` when the changes show no other trail in the account, else (or when
    the call's effect is not fully known) ``possibly-unrecorded``. Windows come
    sorted by start; incidents in time order.
    """
    ordered = sorted(changes, key=_key)
    if end is not None:
        limit = end if end.tzinfo else end.replace(tzinfo=UTC)
        ordered = [c for c in ordered if _key(c)[0] <= limit]
    fold = _Fold(ordered, regions or {})
    for c in ordered:
        fold.apply(c)
    return fold.finish()


class _Fold:
    """The state of :func:`windows` over one sorted list of changes."""

    def __init__(self, ordered: list[TrailChange], regions: Mapping[str, Iterable[str]]) -> None:
        self.trails_of: dict[str, set[str]] = defaultdict(set)
        for c in ordered:
            # A call refused because the trail does not exist shows no other trail.
            if c.trail and not (c.cite and c.cite.error_code == "TrailNotFoundException"):
                self.trails_of[c.account].add(c.trail)
        self.regions = {a: sorted(set(r)) for a, r in regions.items()}
        self.state: dict[tuple[str, str], _Trail] = {}
        self.made: list[Window] = []
        self.incidents: list[Incident] = []

    def _alone(self, account: str) -> bool:
        return len(self.trails_of[account]) <= 1

    def _close(self, c: TrailChange, t: _Trail, dim: str) -> None:
        w = t.open.pop(dim, None)
        if w is not None:
            self.made.extend(
                _finish(w, c.account, c.trail, t.home, c.time, _cite(c), self._alone(c.account))
            )

    @staticmethod
    def _open(
        c: TrailChange,
        t: _Trail,
        dim: str,
        cause: str,
        coverage: Coverage,
        *,
        possibly: bool = False,
        where: tuple[str | None, ...] | None = None,
        note: str = "",
        restore: str | None = None,
    ) -> None:
        if where is None:
            # A trail of unknown scope is taken as multi-Region (the console's default,
            # and what CIS 3.1 asks for): a blind spot is better over- than under-stated.
            where = (t.home,) if t.multi is False else (None,)
        t.open[dim] = _Open(
            cause, c.time, _cite(c), coverage, possibly, where, t.multi, note, restore
        )

    def apply(self, c: TrailChange) -> None:
        if c.attempt:
            if _is_threat(c):
                self.incidents.append(_incident(c))
            return
        t = self.state.setdefault((c.account, c.trail), _Trail(home=c.region))
        if c.action == "create":
            self._close(c, t, _EXISTS)
            t.home, t.multi, t.bucket = c.region, c.multi_region, c.bucket
        elif c.action == "delete":
            for dim in (_LOGGING, _SELECTORS, _REGIONS, _BUCKET):
                self._close(c, t, dim)
            if _EXISTS not in t.open:
                self._open(c, t, _EXISTS, kinds.DELETED.id, Coverage.NONE)
        elif c.action == "stop":
            if _LOGGING not in t.open and _EXISTS not in t.open:
                self._open(c, t, _LOGGING, kinds.STOPPED.id, Coverage.NONE)
        elif c.action == "start":
            self._close(c, t, _LOGGING)
        elif c.action == "selectors":
            self._selectors(c, t)
        elif c.action == "update":
            self._multi_region(c, t)
            self._bucket(c, t)

    def _selectors(self, c: TrailChange, t: _Trail) -> None:
        found = _selector_cause(c)
        now = t.open.get(_SELECTORS)
        if now is not None and found is not None and (now.cause, now.coverage) == found[:2]:
            return
        self._close(c, t, _SELECTORS)
        if found is not None:
            self._open(c, t, _SELECTORS, found[0], found[1], possibly=found[2])

    def _multi_region(self, c: TrailChange, t: _Trail) -> None:
        if c.multi_region is False and t.multi is not False:
            # Once single-Region, the trail's logs stop showing the other Regions:
            # only what the caller knew of them beforehand names them.
            others = tuple(r for r in self.regions.get(c.account, ()) if r != t.home)
            self._open(
                c,
                t,
                _REGIONS,
                kinds.MULTI_REGION_OFF.id,
                Coverage.NONE,
                possibly=t.multi is None or not others,
                where=others or (None,),
            )
        elif c.multi_region is True:
            self._close(c, t, _REGIONS)
        if c.multi_region is not None:
            t.multi = c.multi_region

    def _bucket(self, c: TrailChange, t: _Trail) -> None:
        if c.bucket is None:
            return
        moved = t.open.get(_BUCKET)
        if moved is not None and c.bucket == moved.restore:
            self._close(c, t, _BUCKET)
        elif moved is None and t.bucket is not None and c.bucket != t.bucket:
            self._open(
                c,
                t,
                _BUCKET,
                kinds.MOVED.id,
                Coverage.ALL,
                possibly=True,
                note=f"delivered to bucket {c.bucket} instead of {t.bucket}",
                restore=t.bucket,
            )
        t.bucket = c.bucket

    def finish(self) -> tuple[list[Window], list[Incident]]:
        made = list(self.made)
        for (account, trail), t in self.state.items():
            for w in t.open.values():
                made.extend(_finish(w, account, trail, t.home, None, None, self._alone(account)))
        made.sort(key=lambda w: (w.start, w.account, w.trail, w.cause, w.region or ""))
        return made, list(self.incidents)


def _finish(
    w: _Open,
    account: str,
    trail: str,
    home: str,
    end: datetime | None,
    closed_by: Cite | None,
    alone: bool,
) -> list[Window]:
    certainty = Certainty.UNRECORDED if alone and not w.possibly else Certainty.POSSIBLY
    return [
        Window(
            account=account,
            region=region,
            trail=trail,
            start=w.start,
            end=end,
            cause=w.cause,
            certainty=certainty,
            coverage=w.coverage,
            opened_by=w.opened_by,
            closed_by=closed_by,
            summary=_summary(w, trail, home, region, end, certainty),
        )
        for region in w.regions
    ]


def _summary(
    w: _Open,
    trail: str,
    home: str,
    region: str | None,
    end: datetime | None,
    certainty: Certainty,
) -> str:
    name = f"trail {trail}" if trail else "an unnamed trail"
    if w.multi is None:
        where = f"{home or 'unknown Region'}, all Regions assumed: its scope is not in the logs"
    elif w.multi:
        where = f"{home or 'unknown Region'}, all Regions"
    else:
        where = home or "unknown Region"
    named = f"{name} ({where})"
    span = f"from {_stamp(w.start)} " + (
        f"to {_stamp(end)}" if end is not None else "until the end of the logs"
    )
    what = "usage"
    if w.cause == kinds.STOPPED.id:
        head = f"Logging was stopped on {named}"
    elif w.cause == kinds.DELETED.id:
        head = f"{named[0].upper()}{named[1:]} was deleted"
    elif w.cause == kinds.KMS_EXCLUDED.id:
        head = f"KMS management events were excluded from {named}"
    elif w.cause == kinds.MANAGEMENT_OFF.id:
        head = f"Management events were not recorded by {named}"
    elif w.cause == kinds.NARROWED.id:
        kept = "read-only" if w.coverage is Coverage.READ_ONLY else "write"
        head = f"{named[0].upper()}{named[1:]} recorded only {kept} KMS management events"
        what = "key changes" if w.coverage is Coverage.READ_ONLY else "most key use"
    elif w.cause == kinds.MULTI_REGION_OFF.id:
        other = region if region is not None else f"Regions other than {home or 'its home'}"
        head = f"{named[0].upper()}{named[1:]} stopped covering {other}"
    else:
        head = f"{named[0].upper()}{named[1:]} {w.note}"
        what = "its records"
    if w.cause == kinds.MOVED.id:
        tail = "these logs may not hold them"
    else:
        verb = "are" if what == "key changes" else "is"
        tail = f"{what} in that window {verb} unknown"
        if certainty is Certainty.POSSIBLY:
            tail = f"{what} in that window may be unknown (another trail may have recorded it)"
    return _plain(f"{head} {span}: {tail}")


def _incident(c: TrailChange) -> Incident:
    cite = _cite(c)
    name = f"trail {c.trail}" if c.trail else "a trail"
    by = f" by {cite.identity_arn}" if cite.identity_arn else ""
    what = f" ({c.detail})" if c.detail else ""
    summary = (
        f"Failed attempt to {_ATTEMPTED.get(c.action, c.action)} {name} "
        f"({c.region or 'unknown Region'}){what} at {_stamp(c.time)}{by}: "
        f"{cite.error_code or 'error'}"
    )
    return Incident(
        cause=kinds.ATTEMPT.id,
        account=c.account,
        region=c.region,
        resource=c.trail,
        attempt=True,
        cite=cite,
        summary=_plain(summary),
    )
