"""Date strings found inside KMS records.

``deletionDate``, ``keyMetadata.creationDate`` and ``validTo`` are Java locale
strings, not ISO 8601: ``"Nov 19, 2020 12:00:00 AM"``, ``"Oct 21, 2024, 2:25:29 PM"``,
and even the impossible ``"Apr 12, 2021 18:58:30 PM"`` from AWS's own docs. They
are read leniently and taken as UTC; a string that still cannot be read is
reported to the caller (who keeps it verbatim), never guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from kmslog.decode.flatten import parse_event_time

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

# Month day, year[,] hour:minute[:second] [AM|PM] — any whitespace, including the
# narrow no-break space newer JDKs put before the day period.
_JAVA = re.compile(
    r"^\s*(?P<mon>[A-Za-z]{3})[a-z]*\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4}),?\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?\s*"
    r"(?:UTC|GMT|Z)?\s*$",
    re.UNICODE,
)


# The calendar Python can represent; times outside it are never computed.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(microsecond=0, tzinfo=UTC)


def shifted(moment: datetime, delta: timedelta) -> datetime | None:
    """``moment + delta``, or None when that falls outside year 1 … 9999 (the caller says
    why it has no date rather than letting an OverflowError end the run)."""
    if delta >= timedelta(0):
        return moment + delta if moment <= LATEST - delta else None
    return moment + delta if moment >= EARLIEST - delta else None


def from_epoch(seconds: float) -> datetime | None:
    """An aware UTC datetime for epoch seconds, or None outside year 1 … 9999."""
    if not (EARLIEST.timestamp() <= seconds <= LATEST.timestamp()):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def iso_z(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` with a four-digit year also before 1000 (``strftime``
    writes year 1 as ``1``)."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def readable(moment: datetime, seconds: bool = True) -> str:
    """``YYYY-MM-DD HH:MM[:SS]Z`` for messages, four-digit year included."""
    text = iso_z(moment).replace("T", " ")
    return text if seconds else text[:16] + "Z"


def parse_kms_date(value: object) -> datetime | None:
    """A KMS date string (Java style, ISO 8601, or epoch seconds) → aware UTC datetime.

    Returns None when the value cannot be read; callers keep the raw text.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        return from_epoch(seconds) if seconds == seconds else None
    if not isinstance(value, str):
        return None
    text = value.replace("\u202f", " ").replace("\u00a0", " ")
    match = _JAVA.match(text)
    if match is None:
        return parse_event_time(text.strip())
    month = _MONTHS.get(match["mon"].lower())
    if month is None:
        return None
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").upper()
    # A 24-hour clock with a day period ("18:58:30 PM") is taken at its hour value.
    if ampm and hour <= 12:
        if hour == 12:
            hour = 0 if ampm == "AM" else 12
        elif ampm == "PM":
            hour += 12
    try:
        return datetime(
            int(match["year"]), month, int(match["day"]), hour, minute, second, tzinfo=UTC
        )
    except ValueError:
        return None
