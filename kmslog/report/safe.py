"""Make hostile text safe to show: in a terminal, through rich, in a message, in JSON lines.

Log strings and file names are attacker-controlled: an ESC sequence in a userAgent
could clear the screen or retitle the terminal, ``[bold]`` in an errorMessage would be
rich markup, ``:warning:`` an emoji, U+202E would reverse what a reader sees. Every
string from a record or the file system passes through :func:`clean` / :func:`text`,
every rich console comes from :func:`console` (markup, emoji and highlighting off), and
every one-line message goes through :func:`say`. HTML output escapes ``clean``'s result
(``report/lifecycle_html.esc``); JSON output is ``ensure_ascii`` or :func:`json_text`.

What is escaped, as ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN``: C0 controls (tab and
newline too: they would break one-line messages and table layout), DEL, C1 controls
(U+009B is a CSI on some terminals), every Unicode format character (bidi overrides,
embeddings, isolates and marks, zero-width characters, BOM, tag characters), the line and
paragraph separators, and lone surrogates (a file name that is not UTF-8 reaches Python
with its bad bytes as U+DC80..U+DCFF; printed raw it would raise). Backslashes are
kept as they are, so ``\\x1b`` in the output may also be those four characters in the log.
"""

from __future__ import annotations

import re
import sys
from typing import IO

from rich.console import Console
from rich.text import Text

# Unicode format characters (category Cf, Unicode 15) and separators (Zl, Zp), listed
# rather than computed so the module imports fast; tests check the list against
# unicodedata.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT}\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(value: object) -> str:
    """A printable, single-line rendering of ``value`` with unsafe characters escaped."""
    if value is None:
        return ""
    return _UNSAFE.sub(_escape, value if isinstance(value, str) else str(value))


def text(value: object, style: str = "") -> Text:
    """A rich Text (never parsed as markup or emoji) holding the cleaned value."""
    return Text(clean(value), style=style)


def console(
    *, stderr: bool = False, file: IO[str] | None = None, width: int | None = None
) -> Console:
    """The one way kmslog makes a rich Console: no markup, no emoji codes, no highlighter,
    so a plain ``str`` given to it (a table title, a cell) is shown as it is."""
    return Console(
        stderr=stderr,
        file=file,
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
    )


def say(message: object) -> None:
    """Write one cleaned line to standard error (errors, warnings, notes)."""
    sys.stderr.write(clean(message) + "\n")
    sys.stderr.flush()


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in "\t\n\r":
        # Raw, these are only ever whitespace between tokens of valid JSON (inside a
        # string they would be invalid), so a space means the same.
        return " "
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(document: str) -> str:
    """Valid JSON text → the same JSON value with every unsafe character written as a
    ``\\u`` escape. Outside strings valid JSON holds only ASCII tokens and whitespace, so
    each unsafe character is inside a string, where its escape means the same."""
    return _UNSAFE.sub(_json_escape, document)


CARET_WIDTH = 76


def caret_lines(source: str, position: int, indent: str = "  ") -> list[str]:
    """``source`` (escaped, on one line) and a caret under the character at ``position``
    (0-based; at the end: just past the last one). The caret's column counts terminal
    cells of the escaped text before it, so escapes and wide characters do not shift it;
    a long text is shown as the :data:`CARET_WIDTH` cells around the position. Of a text
    on several lines (a JSON event pattern) only the line holding the position is shown."""
    from rich.cells import cell_len

    position = max(0, min(position, len(source)))
    start = source.rfind("\n", 0, position) + 1
    end = source.find("\n", position)
    source, position = source[start : len(source) if end < 0 else end], position - start
    source = source.rstrip("\r")
    position = min(position, len(source))
    before, after = clean(source[:position]), clean(source[position:])
    head, tail = "", ""
    if cell_len(before) > CARET_WIDTH // 2 and cell_len(before + after) > CARET_WIDTH:
        while cell_len(before) > CARET_WIDTH // 2:
            before = before[1:]
        head = "…"
    while cell_len(before + after) > CARET_WIDTH:
        after = after[:-1]
        tail = "…"
    shown = head + before + after + tail
    return [indent + shown, indent + " " * cell_len(head + before) + "^"]
