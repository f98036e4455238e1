"""Time helpers: epoch seconds in, CloudTrail's two date dialects out."""

from __future__ import annotations

import calendar
import time

MINUTE = 60
HOUR = 3600
DAY = 86400

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def epoch(iso_text: str) -> int:
    """``2026-09-01T00:00:00Z`` (or a bare date) → epoch seconds, UTC."""
    text = iso_text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S" if "T" in text else "%Y-%m-%d"
    return calendar.timegm(time.strptime(text, fmt))


def iso(t: int) -> str:
    """eventTime form: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def java_date(t: int, *, comma_after_year: bool = True) -> str:
    """The locale-style dates KMS writes into deletionDate/creationDate/validTo.

    Newer records put a comma after the year (``Oct 21, 2024, 2:25:29 PM``), older
    ones do not (``Jan 1, 2021 8:00:00 PM``).
    """
    tm = time.gmtime(t)
    hour12 = tm.tm_hour % 12 or 12
    ampm = "AM" if tm.tm_hour < 12 else "PM"
    sep = ", " if comma_after_year else " "
    return (
        f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday}, {tm.tm_year}{sep}"
        f"{hour12}:{tm.tm_min:02d}:{tm.tm_sec:02d} {ampm}"
    )


def file_stamp(t: int) -> str:
    """Log file name timestamp: delivery minute, ``YYYYMMDDTHHmmZ``."""
    return time.strftime("%Y%m%dT%H%MZ", time.gmtime(t))


def digest_stamp(t: int) -> str:
    """Digest file name timestamp, with seconds: ``YYYYMMDDTHHmmssZ``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def day_path(t: int) -> str:
    """``YYYY/MM/DD`` folder of the S3 layout."""
    return time.strftime("%Y/%m/%d", time.gmtime(t))


def hour_of_day(t: int) -> int:
    return (t % DAY) // HOUR


def weekday(t: int) -> int:
    """Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday)."""
    return (t // DAY + 3) % 7
