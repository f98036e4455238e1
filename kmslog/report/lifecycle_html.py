"""Lifecycle as one self-contained HTML file: inline CSS and SVG, no script, no network.

Every string from a record is HTML-escaped (after the terminal-safety cleaning),
and a Content-Security-Policy forbids scripts and remote loads, so a hostile log
line cannot run in the auditor's browser even if it slipped through.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kmslog.findings.context import ReportContext
from kmslog.kms.dates import readable, shifted
from kmslog.lifecycle.finding_kinds import kind_of
from kmslog.lifecycle.model import KeyLifecycle, LifecycleResult
from kmslog.lifecycle.state_machine import KeyState
from kmslog.report.html_parts import (
    esc,
    evidence_header,
    inputs_section,
    legend,
    page,
    severity_badge,
)

__all__ = ["esc", "render_html", "risk_order", "timeline_svg"]

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
USAGE_COLOUR, FAILED_COLOUR = "#5c7cfa", "#b00020"
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
.state{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;white-space:nowrap;
overflow-wrap:normal}
svg{max-width:100%;height:auto}svg text{font-size:11px;fill:#222}
.marks span{margin-right:12px;white-space:nowrap}tr.fail td{color:#b00020}
"""

WIDTH, LEFT, RIGHT = 1000, 110, 20
BASE, HEIGHT = 205, 235  # usage histogram baseline, picture height
BARS = 100  # usage histogram bins across the span

# Most urgent first in the --all index: a key about to be deleted, then one that cannot
# be used; the other states after the keys with findings.
STATE_RISK = {
    KeyState.PENDING_DELETION: 0,
    KeyState.PENDING_REPLICA_DELETION: 1,
    KeyState.DISABLED: 2,
}


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
    counts, errors = [0] * BARS, [0] * BARS
    for moment, count, failed in life.usage_points:
        index = int((scale.x(moment, x0) - x0) / (x1 - x0) * (BARS - 1) + 0.5)
        counts[index] += count
        errors[index] += failed
    top = max(counts) or 1
    width = (x1 - x0) / BARS
    for i in range(BARS):
        if not counts[i]:
            continue
        h = 50 * counts[i] / top
        he = 50 * errors[i] / top
        x = x0 + i * width
        tip = esc(f"{counts[i]} calls, {errors[i]} failed")
        parts.append(
            f'<rect x="{x:.1f}" y="{BASE - h:.1f}" width="{max(width - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{USAGE_COLOUR}"><title>{tip}</title></rect>'
        )
        if he:
            parts.append(
                f'<rect x="{x:.1f}" y="{BASE - he:.1f}" width="{max(width - 1, 1):.1f}" '
                f'height="{he:.1f}" fill="{FAILED_COLOUR}"><title>{tip}</title></rect>'
            )
    parts.append(_usage_scale(top if any(counts) else 0, x0))
    parts.append(_time_axis(start, end, x0, x1))
    parts.append("</svg>")
    return "".join(parts)


def _usage_scale(top: int, x0: float) -> str:
    """The histogram's vertical scale: 0 at the baseline, the tallest bar's count at the top."""
    tick = x0 - 4
    return (
        f'<line x1="{x0 - 0.5}" y1="{BASE - 50}" x2="{x0 - 0.5}" y2="{BASE}" stroke="#999"/>'
        f'<line x1="{tick}" y1="{BASE - 50}" x2="{x0}" y2="{BASE - 50}" stroke="#999"/>'
        f'<text x="{tick - 2}" y="{BASE - 46}" text-anchor="end">{top:,} calls</text>'
        f'<text x="{tick - 2}" y="{BASE + 4}" text-anchor="end">0</text>'
    )


def _time_axis(start: datetime, end: datetime, x0: float, x1: float) -> str:
    """Dates under the picture, with light guides up through every lane so each mark
    can be read against the scale."""
    parts = [f'<line x1="{x0}" y1="{BASE + 0.5}" x2="{x1}" y2="{BASE + 0.5}" stroke="#999"/>']
    ticks = 5
    for i in range(ticks + 1):
        moment = start + (end - start) * i / ticks
        x = x0 + (x1 - x0) * i / ticks
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{BASE}" stroke="#e4e4e4"/>')
        parts.append(f'<line x1="{x:.1f}" y1="{BASE}" x2="{x:.1f}" y2="{BASE + 5}" stroke="#999"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{BASE + 18}" text-anchor="{anchor}">'
            f"{esc(readable(moment, seconds=False))}</text>"
        )
    return "".join(parts)


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            value = seconds / size
            return f"{value:.3g} {unit}{'' if value == 1 else 's'}"
    return f"{seconds:.3g} seconds"


def scale_note(start: datetime, end: datetime) -> str:
    span = max((end - start).total_seconds(), 3600.0)
    return (
        f'<p class="muted">Time axis: {esc(readable(start, seconds=False))} to '
        f"{esc(readable(end, seconds=False))} (UTC), the same for every key. Each usage bar "
        f"covers {esc(_duration(span / BARS))}; bar heights are relative to the tallest bar "
        "of this key, whose count the scale shows.</p>"
    )


def _table(headers: list[str], rows: list[list[str]], fail: list[bool] | None = None) -> str:
    out = ['<table class="wide"><tr>', *(f"<th>{h}</th>" for h in headers), "</tr>"]
    for i, row in enumerate(rows):
        cls = ' class="fail"' if fail and fail[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def key_section(life: KeyLifecycle, start: datetime, end: datetime, anchor: str = "") -> str:
    info = life.key
    ident = f' id="{anchor}"' if anchor else ""
    out = [f"<h2{ident}>Key <code>{esc(info.arn)}</code></h2>"]
    facts = [
        f"state {_badge(life.state)}",
        f"origin {esc(info.origin or 'not logged')}",
        f"created {esc(_t(info.created, 'not logged'))}",
        f"last used {esc(_t(life.last_used, 'never'))}",
    ]
    if life.deletion_date:
        facts.append(f"deletion date {esc(_t(life.deletion_date))}")
    out.append("<p>" + " · ".join(facts) + "</p>")
    for c in life.caveats:
        out.append(f'<p class="caveat">caveat: {esc(c.text)}</p>')
    if info.description:
        out.append(f"<p>description {esc(info.description)}</p>")
    out.append(timeline_svg(life, start, end))
    out.append(f'<p class="marks">{_marks()}</p>')
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
    if life.dependents is not None and life.dependents.dependents:
        deps = life.dependents
        out.append("<h3>Dependents</h3>")
        note = (
            f"{deps.calls} cryptographic call(s), {deps.failed} failed; "
            f"{deps.unattributed} named no resource or calling service"
        )
        for omitted in deps.omitted:
            note += f"; {omitted.calls} call(s) by further {omitted.kind} dependents not listed"
        out.append(f"<p>{esc(note)}</p>")
        out.append(
            _table(
                ["kind", "resource", "calls", "failed", "first", "last", "principals"],
                [
                    [
                        esc(d.kind),
                        esc(d.resource),
                        str(d.calls),
                        str(d.failed),
                        esc(_t(d.first)),
                        esc(_t(d.last)),
                        esc(", ".join(d.principals) + (" …" if d.more_principals else "")),
                    ]
                    for d in deps.dependents
                ],
                [d.failed > 0 for d in deps.dependents],
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
                ["severity", "kind", "time", "detail", "event id"],
                [
                    [
                        severity_badge(kind_of(f.kind).severity),
                        esc(f.kind),
                        esc(_t(f.time, "")),
                        esc(f.detail),
                        esc(f.event_id),
                    ]
                    for f in life.findings
                ],
            )
        )
    if life.facts:
        out.append("<h3>Facts</h3><ul>")
        out.extend(f"<li>{esc(_t(f.time, ''))}: {esc(f.detail)}</li>" for f in life.facts)
        out.append("</ul>")
    return "".join(out)


def _marks() -> str:
    """The timeline's marks in one line of visible text, under each picture."""
    cats = "".join(
        f'<span><b style="color:{c}">●</b> {k}</span>' for k, c in CATEGORY_COLOUR.items()
    )
    return (
        f'{cats}<span><b style="color:{FAILED_COLOUR}">✕</b> failed call</span>'
        f'<span><b style="color:{USAGE_COLOUR}">▮</b> calls</span>'
        f'<span><b style="color:{FAILED_COLOUR}">▮</b> failed calls</span>'
    )


def _legend() -> str:
    items = {
        _badge(state): f"key state {state.value} (band in the state lane)" for state in STATE_COLOUR
    }
    items.update(
        {
            f'<b style="color:{c}">●</b>': f"a successful {k} event in the events lane"
            for k, c in CATEGORY_COLOUR.items()
        }
    )
    items[f'<b style="color:{FAILED_COLOUR}">✕</b>'] = (
        "a control-plane call that failed (its row in the timeline table is red)"
    )
    items[f'<b style="color:{USAGE_COLOUR}">▮</b>'] = (
        "usage bar: cryptographic and other non-control calls in that slice of time"
    )
    items[f'<b style="color:{FAILED_COLOUR}">▮</b>'] = "the failed part of a usage bar"
    items["…"] = "open end: before the logs begin, or still so at their end"
    return legend(items)


def risk_order(keys: list[KeyLifecycle]) -> list[KeyLifecycle]:
    """Keys pending deletion, then pending replica deletion, then disabled; then the
    keys with findings (most first); then the rest, each group by ARN."""
    return sorted(
        keys,
        key=lambda k: (
            STATE_RISK.get(k.state, len(STATE_RISK)),
            not k.findings,
            -len(k.findings),
            k.key.arn,
        ),
    )


def _index(keys: list[KeyLifecycle]) -> str:
    rows = []
    for i, life in enumerate(keys, 1):
        kinds: dict[str, int] = {}
        for f in life.findings:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        aliases = sorted({b.scope.name for b in life.key.aliases if b.end is None})
        rows.append(
            [
                f'<a href="#k{i}">#{i}</a>',
                f"<code>{esc(life.key.arn)}</code>",
                _badge(life.state),
                esc(", ".join(aliases)),
                esc(", ".join(f"{k} ×{n}" for k, n in sorted(kinds.items())) or "none"),
                esc(_t(life.last_used, "never")),
                esc(_t(life.deletion_date, "")),
            ]
        )
    headers = ["#", "key", "state", "aliases", "findings", "last used", "deletion date"]
    return _table(headers, rows)


def render_html(result: LifecycleResult, context: ReportContext | None = None) -> str:
    """The whole report as one HTML document; with ``context``, the evidence header
    (tool version, command, inputs with hashes, generation time) comes first."""
    times = [t for k in result.keys for t in (k.first_seen, k.last_seen) if t is not None]
    times += [t for t in (result.logs_start, result.logs_end) if t is not None]
    start = min(times) if times else datetime(1970, 1, 1)
    end = max(times) if times else start
    title = f"kmslog lifecycle {result.query or 'all keys'}"
    body = [f"<h1>{esc(title)}</h1>"]
    if context is not None:
        body.append(evidence_header(context, title))
    body.append(f"<p>logs {esc(_t(result.logs_start))} .. {esc(_t(result.logs_end))}</p>")
    body.append(_legend())
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
    keys = risk_order(result.keys)
    if not keys:
        body.append("<p>No key found.</p>")
    else:
        body.append(scale_note(start, end))
    if len(keys) > 1 or result.query is None:
        body.append(f"<h2>Keys by risk ({len(keys):,})</h2>")
        body.append(_index(keys))
    for i, life in enumerate(keys, 1):
        body.append(key_section(life, start, end, f"k{i}"))
    if context is not None:
        body.append(inputs_section(context))
    return page(title, "".join(body), CSS)
