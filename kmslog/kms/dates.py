"""Date strings found inside KMS records.

``deletionDate``, ``keyMetadata.creationDate`` and ``validTo`` are Java locale
strings, not ISO 8601: ``"Nov 19, 2020 12:00:00 AM"``, ``"Oct 21, 2024, 2:25:29 PM"``,
and even the impossible ``"Apr 12, 2021 18:58:30 PM"`` from AWS's own docs. They
are read leniently and taken as UTC; a string that still cannot be read is
reported to the caller (who keeps it verbatim), never guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

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


def parse_kms_date(value: object) -> datetime | None:
    """A KMS date string (Java style, ISO 8601, or epoch seconds) → aware UTC datetime.

    Returns None when the value cannot be read; callers keep the raw text.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
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
