"""``kmslog events`` end to end: the same records as the equivalent filter pattern through
``kmslog filter`` on the sample corpus (alias moved inside the window) and on a generated
corpus, for a key given by id, ARN and alias, with --jobs 1 and 2; formats, -o, and the
exit status of bad values."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.commands import options
from tools.ctgen.corpus import generate_corpus

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
TRUTH = json.loads((ROOT / "tools" / "ctgen" / "scenarios.json").read_text())
ALIAS_ARN = "arn:aws:kms:us-east-1:111122223333:alias/payments"
ROLE = "arn:aws:iam::111122223333:role/payments-service"
# "Now" for relative times: three days after alias/payments moved to v2.
NOW = datetime(2026, 9, 23, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "utc_now", lambda: NOW)


def invoke(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def events(*args: str) -> list[tuple[str, int]]:
    doc = json.loads(invoke(["events", *args, "--format", "json", "--no-progress"]).stdout)
    return [(e["source"], e["record_index"]) for e in doc["events"]]


def filtered(pattern: str, *args: str) -> list[tuple[str, int]]:
    out = invoke(["filter", pattern, *args, "--format", "json", "--no-progress"]).stdout
    return [(e["logStreamName"], e["recordIndex"]) for e in json.loads(out)["events"]]


def on_key(key_arn: str) -> str:
    return f'($.resources[0].ARN = "{key_arn}" || $.resources[1].ARN = "{key_arn}")'


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_sample_alias_query_equals_filter_over_each_binding_window() -> None:
    since = NOW - timedelta(days=7)
    bindings = TRUTH["aliases"][ALIAS_ARN]
    assert _at(bindings[1]["from"]) > since  # the move is inside the window
    expected: list[tuple[str, int]] = []
    for n, binding in enumerate(bindings):
        start = max(_at(binding["from"]), since)
        end = _at(bindings[n + 1]["from"]) if n + 1 < len(bindings) else None
        if end is not None and end <= since:
            continue
        window = ["--since", iso(start)]
        if end is not None:
            window += ["--until", iso(end - timedelta(milliseconds=1))]
        pattern = (
            f"{{ {on_key(binding['target'])} && "
            f'$.userIdentity.sessionContext.sessionIssuer.arn = "{ROLE}" }}'
        )
        expected += filtered(pattern, str(SAMPLE), *window)
    assert len(expected) > 50
    for jobs in ("1", "2"):
        for key in ("alias/payments", ALIAS_ARN):
            found = events(
                str(SAMPLE), "--key", key, "--principal", ROLE, "--since", "7d", "--jobs", jobs
            )
            assert sorted(found) == sorted(expected), (key, jobs)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sample_key_by_id_and_arn_equals_filter(jobs: str) -> None:
    key_arn = TRUTH["aliases"][ALIAS_ARN][0]["target"]
    key_id = key_arn.rsplit("/", 1)[1]
    pattern = (
        f'{{ {on_key(key_arn)} && $.userIdentity.sessionContext.sessionIssuer.arn = "{ROLE}" }}'
    )
    expected = filtered(pattern, str(SAMPLE), "--since", "7d")
    assert expected
    for key in (key_id, key_arn):
        found = events(
            str(SAMPLE),
            "--key",
            key,
            "--principal",
            "payments-service",
            "--since",
            "7d",
            "--jobs",
            jobs,
        )
        assert sorted(found) == sorted(expected)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generate_corpus(out, events=6_000, seed=7, accounts=2, regions=2, days=3, mean_per_file=400.0)
    return out


def test_generated_corpus_key_principal_and_names_equal_filter(corpus: Path) -> None:
    everything = json.loads(
        invoke(["events", str(corpus), "--format", "json", "--no-progress"]).stdout
    )["events"]
    keys = Counter(e["key_arn"] for e in everything if e["key_arn"])
    key_arn = keys.most_common(1)[0][0]
    callers = Counter(e["principal"] for e in everything if e["key_arn"] == key_arn)
    principal = next(p for p, _ in callers.most_common() if ":role/" in p)
    identity = (
        f'($.userIdentity.sessionContext.sessionIssuer.arn = "{principal}" || '
        f'$.userIdentity.arn = "{principal}")'
    )
    pattern = f'{{ {on_key(key_arn)} && {identity} && $.eventName = "Decrypt" }}'
    expected = filtered(pattern, str(corpus))
    assert expected
    for jobs in ("1", "2"):
        for key in (key_arn, key_arn.rsplit("/", 1)[1]):
            found = events(
                str(corpus),
                "--key",
                key,
                "--principal",
                principal,
                "--event-name",
                "Decrypt",
                "--jobs",
                jobs,
            )
            assert sorted(found) == sorted(expected)


def test_generated_corpus_errors_only_equals_filter(corpus: Path) -> None:
    expected = filtered('{ $.eventSource = "kms.amazonaws.com" && $.errorCode = * }', str(corpus))
    assert expected
    assert sorted(events(str(corpus), "--errors-only")) == sorted(expected)


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "csv"])
def test_output_file_holds_what_stdout_would(fmt: str, tmp_path: Path) -> None:
    args = [
        "events",
        str(SAMPLE),
        "--key",
        "alias/payments",
        "--event-name",
        "UpdateAlias",
        "--format",
        fmt,
        "--no-progress",
    ]
    shown = invoke(args).stdout
    target = tmp_path / f"out.{fmt}"
    assert invoke([*args, "-o", str(target)]).stdout == ""
    assert target.read_text(encoding="utf-8") == shown
    assert "UpdateAlias" in shown


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--key", "nonsense"], "--key"),
        (["--source-ip", "300.1.1.1"], "--source-ip"),
        (["--since", "yesterday"], "--since"),
        (["--until", "7x"], "--until"),
        (["--format", "xml"], "--format"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_option(args: list[str], option: str) -> None:
    result = runner.invoke(app, ["events", str(SAMPLE), *args, "--no-progress"])
    assert result.exit_code == 2
    assert option in result.output
