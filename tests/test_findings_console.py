"""Grouped findings in the terminal (``report/findings_console.py``): at 80 columns the
lists are short ("+N more"), user agents cut, ARNs never cut; wide, every value; log
text never reaches the terminal raw."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import MappingProxyType

from rich.cells import cell_len

from kmslog.findings.group import group_findings
from kmslog.findings.model import Evidence, Finding, FindingKind, Subject
from kmslog.report import safe
from kmslog.report.findings_console import print_finding_blocks, print_groups

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
KEY = "arn:aws:kms:us-east-1:111122223333:key/0613a7dc-d418-4973-bc7a-82b0eeb3f354"
# 79 cells: does not fit beside "by " at its indent, fits alone on a line
LONG_ROLE = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/KeyAdministrators"
KIND = FindingKind(
    "test-console", "A kind", "high", "rule", remediation="rotate the [bold]thing[/bold]."
)
IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]
AGENT = "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python"
HOSTILE_AGENT = "evil\x1b[2J\x1b]0;title\x07agent"


def render(found: list[Finding], width: int) -> str:
    out = io.StringIO()
    console = safe.console(file=out, width=width)
    print_groups(console, group_findings(found, lambda *_: ("alias/customer-pii",)))
    return out.getvalue()


def sample() -> list[Finding]:
    return [
        Finding(
            KIND,
            Subject(key_arn=KEY, principal=LONG_ROLE),
            T0,
            T0,
            5,
            f"5 events by {LONG_ROLE} on {KEY}",
            evidence=tuple(
                Evidence(f"e{i}", source_ip=ip, user_agent=f"{AGENT} {i}")
                for i, ip in enumerate(IPS)
            ),
            details=MappingProxyType({}),
        ),
        Finding(
            KIND,
            Subject(key_arn=KEY, principal="arn:aws:iam::111122223333:role/app"),
            T0,
            T0,
            1,
            "\x1b[31mred[/]",
            evidence=(Evidence("h", source_ip="192.0.2.1", user_agent=HOSTILE_AGENT),),
        ),
    ]


def test_narrow_fits_and_keeps_arns_whole() -> None:
    text = render(sample(), 80)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    for arn in (KEY, LONG_ROLE):
        assert any(arn in line for line in lines), arn
    assert "alias/customer-pii" in text
    assert "+2 more" in text  # five IPs, three shown
    assert "10.0.0.4" not in text
    assert f"{AGENT} 0" not in text and "…" in text  # user agents cut in short
    assert "what to do: Rotate the [bold]thing[/bold]." in text.replace("\n", " ")


def test_wide_lists_every_value_whole() -> None:
    text = render(sample(), 1000)
    for value in [*IPS, f"{AGENT} 4", KEY, LONG_ROLE]:
        assert value in text, value
    assert "+2 more" not in text


def test_log_text_is_escaped() -> None:
    for width in (80, 1000):
        text = render(sample(), width)
        assert "\x1b" not in text and "\x07" not in text
        assert "\\x1b[2J" in text and "\\x1b[31mred[/]" in text


def test_blocks_title_and_none() -> None:
    out = io.StringIO()
    console = safe.console(file=out, width=80)
    print_finding_blocks(console, "Grants", sample(), "Grants: none")
    print_finding_blocks(console, "Grants", [], "Grants: none")
    assert out.getvalue().splitlines()[0] == "Grants: 2 finding(s)"
    assert out.getvalue().rstrip().endswith("Grants: none")


def test_an_open_finding_runs_to_the_end_of_the_logs() -> None:
    kind = FindingKind("test-open", "Open", "high", "blind_spot")
    found = [Finding(kind, Subject(account="111122223333", region="us-east-1"), T0, None, 2, "x")]
    for width in (80, 1000):
        assert "end of logs" in render(found, width)
