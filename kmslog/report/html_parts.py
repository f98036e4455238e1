"""What kmslog's HTML reports share: escaping, the page shell with its strict
Content-Security-Policy, the layout rules that keep a page within 1,400 px, and the
evidence header (tool version, command line, inputs with sizes and hashes, generation
time, span of events).

Every string that can come from a record, a file name or the command line goes
through :func:`esc` (terminal-safety cleaning, then HTML escaping with quotes), and
the policy forbids scripts and every remote load, so a hostile log line cannot run in
the reader's browser even if it slipped through.
"""

from __future__ import annotations

import html
import shlex
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from kmslog.findings.context import InputEntry, ReportContext
from kmslog.kms.dates import readable
from kmslog.report.safe import clean

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# overflow-wrap:anywhere also lowers a cell's min-content width, so a table with a long
# ARN shrinks to the page instead of pushing it wider than the window.
BASE_CSS = """
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:1352px}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px;max-width:100%}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:#f3f3f3;overflow-wrap:normal}td.num{text-align:right;white-space:nowrap}
td a[href^="#"]{white-space:nowrap}
code{font-size:12px;overflow-wrap:anywhere}
p,li,dd{overflow-wrap:anywhere}
table.wide{width:100%}
.evidence th{width:150px}
.sev{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-weight:600;
white-space:nowrap;overflow-wrap:normal}
.sev-critical{background:#6a1b1b}.sev-high{background:#c62828}.sev-medium{background:#b45f06}
.sev-low{background:#1565c0}.sev-info{background:#546e7a}
.legend{border:1px solid #ddd;padding:6px 10px;background:#fafafa}
.legend dt{font-weight:600;display:inline}.legend dd{display:inline;margin:0 14px 0 4px}
.muted{color:#666}
"""


def esc(value: object) -> str:
    """Log text → safe HTML text (control characters shown escaped, markup escaped)."""
    return html.escape(clean(value), quote=True)


def severity_badge(severity: str) -> str:
    return f'<span class="sev sev-{esc(severity)}">{esc(severity)}</span>'


def when(value: datetime | None, empty: str = "…") -> str:
    return esc(readable(value)) if value else esc(empty)


def size_text(size: int) -> str:
    """Exact bytes, with a binary-prefixed figure for reading at a glance."""
    units = ("KiB", "MiB", "GiB", "TiB")
    value, unit = float(size), ""
    for name in units:
        if value < 1024:
            break
        value, unit = value / 1024, name
    short = f" ({value:.1f} {unit})" if unit else ""
    return f"{size:,} B{short}"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    css: str = "",
    row_ids: Sequence[str] | None = None,
) -> str:
    """Headers are trusted markup; cells must already be escaped."""
    cls = f' class="{css}"' if css else ""
    out = [f"<table{cls}>"]
    if headers:
        out += ["<tr>", *(f"<th>{h}</th>" for h in headers), "</tr>"]
    for i, row in enumerate(rows):
        rid = f' id="{row_ids[i]}"' if row_ids else ""
        out.append(f"<tr{rid}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _input_rows(entry: InputEntry) -> list[list[str]]:
    note = f' <span class="muted">({esc(entry.note)})</span>' if entry.note else ""
    if entry.kind in ("file", "missing"):
        return [
            [
                f"<code>{esc(entry.path)}</code>{note}",
                esc(entry.kind),
                size_text(entry.size),
                f"<code>{esc(entry.sha256 or 'not hashed')}</code>",
            ]
        ]
    rows = [
        [
            f"<code>{esc(entry.path)}</code>{note}",
            esc(f"{entry.kind}, {entry.file_count:,} files"),
            f"{size_text(entry.size)} in total",
            '<span class="muted">per file below</span>',
        ]
    ]
    for f in entry.files:
        fnote = f' <span class="muted">({esc(f.note)})</span>' if f.note else ""
        rows.append(
            [
                f"&nbsp;&nbsp;↳ <code>{esc(f.path)}</code>{fnote}",
                "file",
                size_text(f.size),
                f"<code>{esc(f.sha256 or 'not hashed')}</code>",
            ]
        )
    if entry.files_not_listed:
        rows.append(
            [
                esc(f"… {entry.files_not_listed:,} more files not listed"),
                "",
                "",
                '<span class="muted">counted in the total, not hashed</span>',
            ]
        )
    return rows


def _stat_value(value: Any) -> str:
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return esc(value)


def evidence_header(context: ReportContext, what: str) -> str:
    """The table a reader checks first: what made this report, from which bytes."""
    facts: list[list[str]] = [
        ["report", esc(what)],
        ["kmslog version", esc(context.version)],
        ["command", f"<code>{esc(shlex.join(context.argv))}</code>"],
        ["generated", when(context.generated)],
        [
            "inputs",
            f'{len(context.inputs):,} given, with sizes and SHA-256: <a href="#inputs">Inputs</a>',
        ],
        [
            "events from",
            f"{when(context.first, 'no event')} to {when(context.last, 'no event')}",
        ],
    ]
    facts += [[esc(k), _stat_value(v)] for k, v in context.stats.items()]
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    out = [f'<table class="evidence wide">{rows}</table>']
    return "".join(out)


def inputs_section(context: ReportContext) -> str:
    """Every input with its size and hash; placed after the findings, which a reader
    wants first, and linked from the header."""
    inputs = [row for entry in context.inputs for row in _input_rows(entry)]
    return '<h2 id="inputs">Inputs</h2>' + table(
        ["path", "what", "size", "SHA-256"], inputs, css="wide"
    )


def legend(items: Mapping[str, str]) -> str:
    """Marks and their meaning, in visible text (a hover title alone is not enough):
    keys are trusted markup (the mark), values plain text."""
    parts = "".join(
        f"<dt>{mark}</dt><dd>{html.escape(meaning)}</dd>" for mark, meaning in items.items()
    )
    return f'<section class="legend"><h3>Legend</h3><dl>{parts}</dl></section>'


def page(title: str, body: str, css: str = "") -> str:
    """A whole self-contained document; ``title`` is plain text."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{BASE_CSS}{css}</style></head><body>"
        + body
        + "</body></html>\n"
    )
