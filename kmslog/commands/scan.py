"""``kmslog scan PATH…``: read CloudTrail files once, feed every analysis, render.

A built-in analysis that needs no option is one section module (analysis, JSON key,
console renderer, whether its result fails the scan) listed in
``commands/scan_sections.py``; one built from options is added in :func:`scan`.
"""

from __future__ import annotations

import json
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from kmslog.analyses.summary import SummaryAnalysis
from kmslog.commands.options import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    EXIT_USAGE,
    Accounts,
    Dask,
    Engine,
    Jobs,
    MaxDecompressedSize,
    NoProgress,
    NoSignRequest,
    Regions,
    S3EndpointUrl,
    S3Profile,
    S3Region,
    Since,
    StoreDirs,
    Strict,
    Until,
    configure_s3,
    exit_statuses,
    parse_instant,
    run_or_exit,
    scan_options,
    with_stores,
)
from kmslog.report import safe
from kmslog.report.section import Section
from kmslog.report.summary_console import print_summary
from kmslog.report.summary_json import summary_data
from kmslog.run.api import RunResult


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    html = "html"
    csv = "csv"
    ocsf = "ocsf"


# Formats that render the findings alone, through the renderer registry.
FINDING_FORMATS = frozenset({OutputFormat.csv, OutputFormat.ocsf})


def sections() -> list[Section]:
    return [
        Section(
            SummaryAnalysis(),
            "summary",
            lambda result, summary: summary_data(result.stats, summary),
            lambda console, result, summary: print_summary(console, result.stats, summary),
        )
    ]


def scan(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH...", help="CloudTrail files, directories (recursive) or globs."
        ),
    ] = None,
    store: StoreDirs = None,
    since: Since = None,
    until: Until = None,
    account: Accounts = None,
    region: Regions = None,
    jobs: Jobs = None,
    dask: Dask = None,
    engine: Engine = None,
    strict: Strict = False,
    max_decompressed_size: MaxDecompressedSize = DEFAULT_MAX_DECOMPRESSED_SIZE,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="table (terminal), json, ndjson (one record a line), html (needs -o), "
            "or the findings alone as csv or ocsf (OCSF 1.3 Detection Findings, JSON lines).",
        ),
    ] = OutputFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help="Write the html (or csv, ocsf) here."),
    ] = None,
    no_progress: NoProgress = False,
    profile: S3Profile = None,
    s3_region: S3Region = None,
    endpoint_url: S3EndpointUrl = None,
    no_sign_request: NoSignRequest = False,
    rules: Annotated[
        list[str] | None,
        typer.Option(
            "--rules",
            metavar="FILE",
            help="Rule file: TOML, or the JSON of `aws logs describe-metric-filters` / "
            "`aws cloudwatch describe-alarms` / `aws events list-rules` / "
            "`aws events describe-rule` (repeatable).",
        ),
    ] = None,
    no_builtin_rules: Annotated[
        bool,
        typer.Option(
            "--no-builtin-rules",
            help="Only the rules given with --rules (blind spots are still reported, "
            "but no longer change the exit status).",
        ),
    ] = False,
    no_logged_alarms: Annotated[
        bool,
        typer.Option(
            "--no-logged-alarms",
            help="Do not replay the metric filters and alarms the logs show being "
            "configured (PutMetricFilter/PutMetricAlarm); by default each logged version "
            "is replayed while it existed, under its own name and settings.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="Key-material expiry as of this time (default: the end of the logs).",
        ),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            metavar="none|finding|alarm",
            help="Exit 1 on: none, finding (a rule or EventBridge rule matched, an alarm "
            "reached ALARM or was deleted before it would have, key material expires, or "
            "a blind spot; default) or alarm (an alarm reached ALARM). Anomaly findings "
            "do not change the exit status.",
        ),
    ] = "finding",
    baseline: Annotated[
        str | None,
        typer.Option(
            metavar="FILE", help="Baseline profile (kmslog baseline): add anomaly findings."
        ),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=VALUE",
            help="Anomaly threshold override name=value (repeatable), e.g. rise_factor=4; "
            "names and defaults in docs/baseline.md.",
        ),
    ] = None,
    thresholds_file: Annotated[
        str | None,
        typer.Option("--thresholds", metavar="FILE", help="TOML file of anomaly thresholds."),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="Table format: every column and every value (all source IPs and user "
            "agents), however narrow the terminal; by default the console fits its width "
            "(80 columns readable) and lists the first few of each.",
        ),
    ] = False,
) -> None:
    """Read CloudTrail logs once: summarise them, run the metric-filter rules and replay
    their CloudWatch alarms, replay the EventBridge rules over the events EventBridge would
    have seen, and (with --baseline) flag usage that departs from the profile. The table
    groups findings rule → key → principal and ends with the line that says why the exit
    status is what it is (docs/console.md)."""
    paths = with_stores(paths, store)
    configure_s3(profile, s3_region, endpoint_url, no_sign_request)
    options = scan_options(
        since,
        until,
        accounts=account,
        regions=region,
        strict=strict,
        jobs=jobs,
        engine=engine,
        max_decompressed_size=max_decompressed_size,
        dask=dask,
    )
    if output_format is OutputFormat.html and output is None:
        safe.say("error: --format html needs -o FILE")
        raise typer.Exit(EXIT_USAGE)
    chosen = sections()
    from kmslog.metrics.rules import RuleError
    from kmslog.report.detections_section import (
        FailOn,
        detections_section,
        load_rule_set,
    )

    try:
        fail_mode = FailOn(fail_on)
    except ValueError:
        raise typer.BadParameter(
            "expected none, finding or alarm", param_hint="--fail-on"
        ) from None
    try:
        rule_set = load_rule_set(rules or [], builtin=not no_builtin_rules)
    except RuleError as exc:
        safe.say(f"error: {exc}")
        if exc.source is not None:
            for line in safe.caret_lines(*exc.source):
                safe.say(line)
        raise typer.Exit(EXIT_USAGE) from None
    detections = detections_section(
        rule_set, None if as_of is None else parse_instant(as_of), not no_logged_alarms
    )
    chosen.append(detections)
    # Findings of the built-in analyses beside the rules (docs/blind-spots.md, grants.md,
    # key-policies.md, cross-account.md): one section each, from the registry.
    from kmslog.commands.scan_sections import builtin_sections

    builtin = builtin_sections()
    chosen.extend(builtin)
    eventbridge = None
    if rule_set.event_rules:
        from kmslog.report.eventbridge_section import eventbridge_section

        eventbridge = eventbridge_section(rule_set.event_rules)
        chosen.append(eventbridge)
    if baseline is not None:
        from kmslog.report.anomalies_section import anomaly_section

        chosen.append(anomaly_section(baseline, options, threshold or [], thresholds_file))

    def unreadable(result: RunResult) -> None:
        # Machine output still describes the run (files failed, rejections); a table
        # shows only the summary, never "No rule matched" for logs it could not read.
        if output_format is OutputFormat.html:
            from kmslog.commands.scan_html import write_scan_html

            assert output is not None
            write_scan_html(result, result.results[detections.analysis.name], paths, output)
            return
        if output_format in FINDING_FORMATS:
            _render_findings(result, paths, output_format, output)
            return
        _render(
            result,
            chosen if output_format is not OutputFormat.table else chosen[:1],
            output_format,
            wide=wide,
        )

    from kmslog.analyses.aliases import AliasHistoryAnalysis

    # Not a section of its own: the console names keys by their aliases at the time.
    result = run_or_exit(
        paths,
        [s.analysis for s in chosen] + [AliasHistoryAnalysis()],
        options,
        show_progress=not no_progress,
        unreadable=unreadable,
    )
    replayed = None if eventbridge is None else result.results[eventbridge.analysis.name]
    from kmslog.findings.collect import findings_of
    from kmslog.report.exit_verdict import scan_verdict

    # The built-in sections' findings are reported always, and counted for the exit
    # status unless the built-in rules are off.
    verdict = scan_verdict(
        result.results[detections.analysis.name],
        replayed,
        [(s.counted, result.results[s.analysis.name]) for s in builtin],
        fail_mode,
        builtin_rules=not no_builtin_rules,
        reported=len(findings_of(result.results[s.analysis.name] for s in chosen)),
    )
    status = verdict.status
    if output_format is OutputFormat.html:
        assert output is not None
        from kmslog.commands.scan_html import write_scan_html

        write_scan_html(result, result.results[detections.analysis.name], paths, output, replayed)
        raise typer.Exit(status)
    if output_format in FINDING_FORMATS:
        _render_findings(result, paths, output_format, output)
        raise typer.Exit(status)
    _render(result, chosen, output_format, verdict.line(), wide)
    raise typer.Exit(status)


def _render_findings(
    result: RunResult, paths: list[str], output_format: OutputFormat, output: Path | None
) -> None:
    from kmslog.findings.collect import findings_of
    from kmslog.findings.context import build_context, command_line, ingest_figures
    from kmslog.findings.render import renderer

    found = findings_of(result.results.values())
    times = [t for f in found for t in (f.first, f.last) if t is not None]
    context = build_context(
        command_line(),
        paths,
        min(times, default=None),
        max(times, default=None),
        ingest_figures(result.stats),
    )
    render = renderer(output_format.value)
    if output is None:
        render(found, context, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        render(found, context, handle)


def wide_width() -> int:
    """``--wide``: the terminal's width, but at least enough for every column."""
    from kmslog.report.findings_console import WIDE_CONSOLE

    return max(shutil.get_terminal_size((WIDE_CONSOLE, 24)).columns, WIDE_CONSOLE)


def _render(
    result: RunResult,
    chosen: list[Section],
    output_format: OutputFormat,
    verdict: str | None = None,
    wide: bool = False,
) -> None:
    if output_format is OutputFormat.table:
        out = safe.console(width=wide_width() if wide else None)
        for s in chosen:
            s.to_console(out, result, result.results[s.analysis.name])
        if verdict is not None:
            # Last, so a reader (or a script's log) sees why the status is what it is.
            out.print(Text(verdict, style="bold"))
        return
    document: dict[str, Any] = {}
    for s in chosen:
        value = s.to_json(result, result.results[s.analysis.name])
        if s.json_key:
            document[s.json_key] = value
            continue
        # A section without its own key contributes several top-level keys.
        for key, part in value.items():
            if isinstance(document.get(key), dict) and isinstance(part, dict):
                document[key] = {**document[key], **part}
            else:
                document[key] = part
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=True) + "\n")
    else:
        _write_ndjson(document)


def _write_ndjson(document: dict[str, Any]) -> None:
    """One JSON object a line: list items as records of their key's type, the rest
    as one record each."""
    types = {"findings": "finding", "alarms": "alarm", "key_material": "key_material"}
    for key, value in document.items():
        if isinstance(value, list):
            for item in value:
                record = (
                    {"type": types.get(key, key), **item}
                    if isinstance(item, dict)
                    else {
                        "type": types.get(key, key),
                        "value": item,
                    }
                )
                sys.stdout.write(json.dumps(record, ensure_ascii=True) + "\n")
        else:
            sys.stdout.write(json.dumps({"type": key, "data": value}, ensure_ascii=True) + "\n")


EPILOG = exit_statuses("nothing found", "findings (what counts: --fail-on)")


def register(app: typer.Typer) -> None:
    app.command("scan", epilog=EPILOG)(scan)
