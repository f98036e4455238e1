"""Lifecycle as one self-contained HTML file: inline CSS and SVG, no script, no network.

Every string from a record is HTML-escaped (after the terminal-safety cleaning),
and a Content-Security-Policy forbids scripts and remote loads, so a hostile log
line cannot run in the auditor's browser even if it slipped through.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from kmslog.kms.dates import readable, shifted
from kmslog.lifecycle.model import KeyLifecycle, LifecycleResult
from kmslog.lifecycle.state_machine import KeyState
from kmslog.report.safe import clean

STATE_COLOUR = {
    KeyState.ENABLED: "#4caf50",
    KeyState.DISABLED: "#f0b400",
    KeyState.PENDING_DELETION: "#e53935",
    KeyState.PENDING_REPLICA_DELETION: "#ef6c6c",
    KeyState.PENDING_IMPORT: "#8e44ad",
    KeyState.UNAVAILABLE: "#9c7bb5",
    KeyState.DELETED: "#555555",
    KeyState.UNKNOWN: "#c8c8c8",
}
CATEGORY_COLOUR = {
    "state": "#1e4d8c",
    "policy": "#b23c17",
    "grant": "#00796b",
    "alias": "#6a1b9a",
    "rotation": "#2e7d32",
    "tag": "#607d8b",
    "description": "#607d8b",
    "import": "#8e44ad",
    "replication": "#0277bd",
}

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.fail{color:#b00020}code{font-size:12px;word-break:break-all}
.state{display:inline-block;padding:0 6px;border-radius:3px;color:#fff}
svg text{font-size:11px;fill:#222}.legend span{margin-right:12px}
"""

WIDTH, LEFT, RIGHT = 1000, 110, 20
BASE, HEIGHT = 205, 235  # usage histogram baseline, picture height


def esc(value: object) -> str:
    """Log text → safe HTML text (control characters shown escaped, markup escaped)."""
    return html.escape(clean(value), quote=True)


def _t(value: datetime | None, empty: str = "…") -> str:
    return readable(value) if value else empty


def _badge(state: KeyState) -> str:
    return f'<span class="state" style="background:{STATE_COLOUR[state]}">{state.value}</span>'


class _Scale:
    def __init__(self, start: datetime, end: datetime) -> None:
        if end <= start:
            # An hour wide, on whichever side the calendar leaves room (9999-12-31).
            later = shifted(start, timedelta(hours=1))
            start, end = (start, later) if later is not None else (end - timedelta(hours=1), end)
        self.start, self.span = start, (end - start).total_seconds()

    def x(self, when: datetime | None, default: float) -> float:
        if when is None:
            return default
        frac = (when - self.start).total_seconds() / self.span
        return LEFT + max(0.0, min(1.0, frac)) * (WIDTH - LEFT - RIGHT)


def timeline_svg(life: KeyLifecycle, start: datetime, end: datetime) -> str:
    scale = _Scale(start, end)
    x0, x1 = float(LEFT), float(WIDTH - RIGHT)
    parts = [f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">']
    parts.append('<text x="4" y="34">state</text><text x="4" y="100">events</text>')
    parts.append(f'<text x="4" y="{BASE - 25}">usage</text>')
    lanes = list(CATEGORY_COLOUR)
    for s in life.states:
        a, b = scale.x(s.start, x0), scale.x(s.end, x1)
        colour = STATE_COLOUR[s.state]
        tip = esc(f"{s.state.value} {_t(s.start, 'before the logs')} .. {_t(s.end, 'now')}")
        parts.append(
            f'<rect x="{a:.1f}" y="18" width="{max(b - a, 1.0):.1f}" height="26" '
            f'fill="{colour}"><title>{tip}</title></rect>'
        )
        if b - a > 70:
            ink = "#222" if s.state is KeyState.UNKNOWN else "#fff"
            parts.append(
                f'<text x="{a + 4:.1f}" y="35" style="fill:{ink}">{esc(s.state.value)}</text>'
            )
    for e in life.events:
        x = scale.x(e.time, x0)
        # One lane per category, so events close in time stay visible.
        y = 60 + 9 * (lanes.index(e.category) if e.category in lanes else len(lanes))
        colour = CATEGORY_COLOUR.get(e.category, "#333") if e.success else "#b00020"
        tip = esc(f"{_t(e.time)} {e.event_name}: {e.detail} ({e.actor})")
        if e.success:
            mark = f'<circle cx="{x:.1f}" cy="{y}" r="4" fill="{colour}">'
        else:
            mark = (
                f'<path d="M{x - 4:.1f} {y - 4} L{x + 4:.1f} {y + 4} '
                f'M{x + 4:.1f} {y - 4} L{x - 4:.1f} {y + 4}" stroke="{colour}" stroke-width="2">'
            )
        parts.append(f"{mark}<title>{tip}</title>{'</circle>' if e.success else '</path>'}")
    bins = 100
    counts, errors = [0] * bins, [0] * bins
    for when, count, failed in life.usage_points:
        index = int((scale.x(when, x0) - x0) / (x1 - x0) * (bins - 1) + 0.5)
        counts[index] += count
        errors[index] += failed
    top = max(counts) or 1
    width = (x1 - x0) / bins
    for i in range(bins):
        if not counts[i]:
            continue
        h = 50 * counts[i] / top
        he = 50 * errors[i] / top
        x = x0 + i * width
        tip = esc(f"{counts[i]} calls, {errors[i]} failed")
        parts.append(
            f'<rect x="{x:.1f}" y="{BASE - h:.1f}" width="{max(width - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="#5c7cfa"><title>{tip}</title></rect>'
        )
        if he:
            parts.append(
                f'<rect x="{x:.1f}" y="{BASE - he:.1f}" width="{max(width - 1, 1):.1f}" '
                f'height="{he:.1f}" fill="#b00020"><title>{tip}</title></rect>'
            )
    parts.append(f'<line x1="{x0}" y1="{BASE + 0.5}" x2="{x1}" y2="{BASE + 0.5}" stroke="#999"/>')
    ticks = 5
    for i in range(ticks + 1):
        when = start + (end - start) * i / ticks
        x = x0 + (x1 - x0) * i / ticks
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(f'<line x1="{x:.1f}" y1="{BASE}" x2="{x:.1f}" y2="{BASE + 5}" stroke="#999"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{BASE + 18}" text-anchor="{anchor}">'
            f"{esc(readable(when, seconds=False))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]], fail: list[bool] | None = None) -> str:
    out = ["<table><tr>", *(f"<th>{h}</th>" for h in headers), "</tr>"]
    for i, row in enumerate(rows):
        cls = ' class="fail"' if fail and fail[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def key_section(life: KeyLifecycle, start: datetime, end: datetime) -> str:
    info = life.key
    out = [f"<h2>Key <code>{esc(info.arn)}</code></h2>"]
    facts = [
        f"state {_badge(life.state)}",
        f"origin {esc(info.origin or 'not logged')}",
        f"created {esc(_t(info.created, 'not logged'))}",
        f"last used {esc(_t(life.last_used, 'never'))}",
    ]
    if life.deletion_date:
        facts.append(f"deletion date {esc(_t(life.deletion_date))}")
    out.append("<p>" + " · ".join(facts) + "</p>")
    if info.description:
        out.append(f"<p>description {esc(info.description)}</p>")
    out.append(timeline_svg(life, start, end))
    legend = "".join(
        f'<span><b style="color:{c}">●</b> {k}</span>' for k, c in CATEGORY_COLOUR.items()
    )
    out.append(f'<p class="legend">{legend}<span><b style="color:#b00020">✕</b> failed</span></p>')
    if info.aliases:
        out.append("<h3>Aliases</h3>")
        out.append(
            _table(
                ["alias", "from", "to", "how"],
                [
                    [
                        esc(b.scope.name),
                        esc(_t(b.start, "before the logs")),
                        esc(_t(b.end, "now")),
                        "seen in use" if b.observed else "alias events",
                    ]
                    for b in info.aliases
                ],
            )
        )
    out.append("<h3>States</h3>")
    out.append(
        _table(
            ["state", "from", "to", "cause", "event id"],
            [
                [
                    _badge(s.state),
                    esc(_t(s.start, "before the logs")),
                    esc(_t(s.end, "now")),
                    esc(s.cause),
                    esc(s.event_id),
                ]
                for s in life.states
            ],
        )
    )
    out.append("<h3>Control-plane timeline</h3>")
    out.append(
        _table(
            ["time", "event", "actor", "source IP", "detail", "event id", "file"],
            [
                [
                    esc(_t(e.time)),
                    esc(e.event_name),
                    esc(e.actor),
                    esc(e.source_ip),
                    esc(e.detail),
                    esc(e.event_id),
                    esc(f"{e.source}#{e.record_index}"),
                ]
                for e in life.events
            ],
            [not e.success for e in life.events],
        )
    )
    out.append("<h3>Usage</h3>")
    out.append(
        _table(
            [
                "principal",
                "operation",
                "count",
                "errors",
                "first",
                "last",
                "source IPs",
                "via",
                "context keys",
            ],
            [
                [
                    esc(u.principal),
                    esc(u.operation),
                    str(u.count),
                    str(u.errors),
                    esc(_t(u.first)),
                    esc(_t(u.last)),
                    esc(", ".join(u.source_ips)),
                    esc(", ".join(u.invoked_by)),
                    esc(", ".join(u.context_keys)),
                ]
                for u in life.usage
            ],
        )
    )
    if life.grants:
        out.append("<h3>Grants</h3>")
        out.append(
            _table(
                ["grant", "grantee", "operations", "retiring principal", "created", "ended"],
                [
                    [
                        esc(g.grant_id),
                        esc(g.grantee),
                        esc(", ".join(g.operations)),
                        esc(g.retiring_principal),
                        esc(_t(g.created)),
                        esc(f"{g.ended_by} {_t(g.ended)}" if g.ended_by else "active"),
                    ]
                    for g in life.grants
                ],
            )
        )
    if life.findings:
        out.append("<h3>Findings</h3>")
        out.append(
            _table(
                ["kind", "time", "detail", "event id"],
                [
                    [esc(f.kind), esc(_t(f.time, "")), esc(f.detail), esc(f.event_id)]
                    for f in life.findings
                ],
            )
        )
    return "".join(out)


def render_html(result: LifecycleResult) -> str:
    """The whole report as one HTML document."""
    times = [t for k in result.keys for t in (k.first_seen, k.last_seen) if t is not None]
    times += [t for t in (result.logs_start, result.logs_end) if t is not None]
    start = min(times) if times else datetime(1970, 1, 1)
    end = max(times) if times else start
    title = esc(f"kmslog lifecycle {result.query or 'all keys'}")
    body = [f"<h1>{title}</h1>"]
    body.append(f"<p>logs {esc(_t(result.logs_start))} .. {esc(_t(result.logs_end))}</p>")
    if result.alias_bindings:
        body.append("<h2>Alias history</h2>")
        body.append(
            _table(
                ["alias", "account", "region", "key", "from", "to"],
                [
                    [
                        esc(b.scope.name),
                        esc(b.scope.account),
                        esc(b.scope.region),
                        esc(b.key_arn),
                        esc(_t(b.start, "before the logs")),
                        esc(_t(b.end, "now")),
                    ]
                    for b in result.alias_bindings
                ],
            )
        )
    if not result.keys:
        body.append("<p>No key found.</p>")
    for life in result.keys:
        body.append(key_section(life, start, end))
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f"<title>{title}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
