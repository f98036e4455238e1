"""The one hardened way to turn one record's text into Python values.

Every place that parses a record's text again (lifecycle, the evidence re-decode,
filter output) goes through :func:`loads_record`, so that whatever a log holds
(nesting too deep to walk, invalid UTF-8, lone surrogate escapes, numbers beyond the
range of a double) ends as a :class:`RecordTextError` with a reason a user can read,
never as some other exception escaping into a run.
"""

from __future__ import annotations

from typing import Any

import orjson

# orjson refuses documents nested deeper than this (its own recursion limit).
MAX_DEPTH = 1024


class RecordTextError(ValueError):
    """A record's text that cannot be read as JSON; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def loads_record(text: bytes | str) -> Any:
    """``orjson.loads`` with its limits turned into :class:`RecordTextError`."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordTextError(f"not readable JSON: {exc}") from None
