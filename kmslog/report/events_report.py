"""``kmslog events`` output: JSON, NDJSON, formula-safe CSV, and a terminal listing that
reads at 80 columns.

The listing is a block per record rather than a table: a key ARN alone is about 75
characters, so columns would cut it. Values are packed at spaces and a value that does
not fit the line starts a line of its own, whole: an ARN or a file name is never cut.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from kmslog.analyses.events import EventsResult, MatchedEvent
from kmslog.findings.render import csv_cell
from kmslog.report import safe

WIDTH = 80
LABEL = 11  # "principal  " and friends
USER_AGENT_SHORT = 40

FIELDS = (
    "time",
    "event_name",
    "key_arn",
    "aliases",
    "principal",
    "identity_arn",
    "source_ip",
    "user_agent",
    "error_code",
    "event_id",
    "account",
    "region",
    "source",
    "record_index",
)


def iso(moment: datetime) -> str:
    # isoformat, not strftime: glibc's %Y does not pad years before 1000.
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def short_user_agent(agent: str | None) -> str | None:
    """The first product of a user agent (``aws-cli/2.15.30``, ``Boto3/1.34.2``), or the
    whole agent when it is short (``AWS Internal``); at most :data:`USER_AGENT_SHORT`
    characters."""
    if agent is None:
        return None
    text = agent.strip()
    if len(text) > USER_AGENT_SHORT:
        words = text.lstrip("[").split()
        text = words[0] if words else ""
    if len(text) > USER_AGENT_SHORT:
        text = text[: USER_AGENT_SHORT - 1] + "…"
    return text


def event_dict(event: MatchedEvent) -> dict[str, Any]:
    return {
        "time": iso(event.time),
        "event_name": event.event_name,
        "key_arn": event.key_arn,
        "aliases": list(event.aliases),
        "principal": event.principal,
        "identity_arn": event.identity_arn,
        "source_ip": event.source_ip,
        "user_agent": short_user_agent(event.user_agent),
        "error_code": event.error_code,
        "event_id": event.event_id,
        "account": event.account,
        "region": event.region,
        "source": event.source,
        "record_index": event.record_index,
    }


def query_dict(result: EventsResult) -> dict[str, Any]:
    q = result.query
    return {
        "key": q.key,
        "principals": list(q.principals),
        "event_names": list(q.event_names),
        "source_ips": list(q.source_ips),
        "errors_only": q.errors_only,
    }


def write_json(result: EventsResult, out: TextIO) -> None:
    doc = {
        "query": query_dict(result),
        "count": len(result.events),
        "events": [event_dict(e) for e in result.events],
    }
    out.write(json.dumps(doc, indent=2, ensure_ascii=True) + "\n")


def write_ndjson(result: EventsResult, out: TextIO) -> None:
    for event in result.events:
        out.write(json.dumps(event_dict(event), ensure_ascii=True) + "\n")


def write_csv(result: EventsResult, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for event in result.events:
        row = event_dict(event)
        row["aliases"] = " ".join(row["aliases"])
        # Formula-safe like every kmslog CSV, and escaped: a cell is still shown in a
        # terminal or an editor.
        writer.writerow([csv_cell(safe.clean(row[c])) for c in FIELDS])


def wrapped(label: str, words: list[str], width: int = WIDTH) -> Iterator[str]:
    """``label`` then ``words`` packed at spaces within ``width``. A word that does not fit
    what is left of the line starts the next one, under the values; one too long for that
    starts at the left margin instead (a key ARN fits there at 80 columns), and one longer
    than a whole line stands alone: never cut."""
    indent = " " * (2 + LABEL)
    current = f"  {label:<{LABEL - 1}} "
    has_word = False
    for word in words:
        gap = " " if has_word else ""
        if len(current) + len(gap) + len(word) <= width:
            current += gap + word
        else:
            yield current.rstrip()
            current = (indent if len(indent) + len(word) <= width else "  ") + word
        has_word = True
    yield current.rstrip()


def block(event: MatchedEvent, width: int = WIDTH) -> list[str]:
    """The lines of one record, every value escaped."""
    head = [iso(event.time), safe.clean(event.event_name) or "-"]
    if event.error_code:
        head.append(f"error {safe.clean(event.error_code)}")
    lines = [" ".join(head)]
    key = [safe.clean(event.key_arn)] if event.key_arn else []
    key += [safe.clean(a) for a in event.aliases]
    if key:
        lines += wrapped("key", key, width)
    caller = [safe.clean(event.principal)]
    if event.identity_arn and event.identity_arn != event.principal:
        caller.append(f"({safe.clean(event.identity_arn)})")
    lines += wrapped("principal", caller, width)
    origin = [safe.clean(event.source_ip) or "-"]
    if event.user_agent:
        origin.append(safe.clean(short_user_agent(event.user_agent)))
    lines += wrapped("from", origin, width)
    lines += wrapped("event id", [safe.clean(event.event_id) or "-"], width)
    lines += wrapped("record", [f"{safe.clean(event.source)}:{event.record_index}"], width)
    return lines


def write_table(result: EventsResult, out: TextIO, width: int = WIDTH) -> None:
    for n, event in enumerate(result.events):
        if n:
            out.write("\n")
        out.write("\n".join(block(event, width)) + "\n")
    count = len(result.events)
    out.write(f"{'' if not count else chr(10)}{count} record{'s' if count != 1 else ''}\n")
