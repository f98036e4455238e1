"""Make hostile log text safe to show in a terminal.

Log strings are attacker-controlled: an ESC sequence in a userAgent could
rewrite the screen, and ``[bold]`` in an errorMessage would be rich markup.
Everything from a record passes through :func:`clean` / :func:`text`.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls (tab and newline would break table layout too), DEL, C1 controls,
# and the bidi overrides/isolates that can reorder what a reader sees.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object) -> str:
    """A printable, single-line rendering of ``value`` with unsafe characters escaped."""
    if value is None:
        return ""
    return _UNSAFE.sub(_escape, str(value))


def text(value: object, style: str = "") -> Text:
    """A rich Text (never parsed as markup) holding the cleaned value."""
    return Text(clean(value), style=style)
