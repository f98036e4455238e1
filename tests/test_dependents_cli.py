"""``kmslog dependents`` end to end: generated logs on disk, every name of a key, --jobs,
exit statuses, hostile text in the terminal, the lifecycle report's dependents, and the
dependents the sample corpus's generator plants."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lifecycle_records import KEY_A, KEY_B, alias_arn, arn, record
from test_dependents import crypto
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.report.lifecycle_console import DEPENDENTS_SHOWN
from kmslog.run import executor

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"
runner = CliRunner()


def generated() -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = [
        record(
            "CreateAlias",
            "2026-03-01T08:00:00Z",
            None,
            request={"aliasName": "alias/app", "targetKeyId": KEY_A},
            resources=[alias_arn("alias/app"), arn(KEY_A)],
        )
    ]
    contexts = [
        {"aws:s3:arn": "arn:aws:s3:::data/2026/03/part-1.parquet"},
        {"aws:s3:arn": "arn:aws:s3:::data"},
        {"aws:ebs:id": "vol-0123456789abcdef0"},
        {"aws:rds:db-id": "db-ORDERS"},
        {"SecretARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"},
        {"aws:lambda:FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:f"},
        {"aws:dynamodb:tableName": "orders", "aws:dynamodb:subscriberId": "111122223333"},
        {"aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"},
        {"aws:sns:topicArn": "arn:aws:sns:us-east-1:111122223333:alerts"},
    ]
    for day in range(1, 4):
        for i, context in enumerate(contexts):
            recs.append(
                crypto(
                    ("Decrypt", "GenerateDataKey", "Encrypt")[i % 3],
                    f"2026-03-0{day}T{9 + i:02d}:00:00Z",
                    context=context,
                    invoked_by="s3.amazonaws.com" if "aws:s3:arn" in context else None,
                    assumed=f"role-{i % 2}/d{day}",
                    error=("ThrottlingException", "Rate exceeded") if day == 2 and i == 0 else None,
                )
            )
        recs.append(
            crypto(
                time=f"2026-03-0{day}T20:00:00Z",
                context={"tenant": "t1"},
                invoked_by="secretsmanager.amazonaws.com",
            )
        )
        recs.append(crypto(time=f"2026-03-0{day}T21:00:00Z", context={"app": "direct"}))
    recs.append(crypto(key_id=KEY_B, context={"aws:s3:arn": "arn:aws:s3:::other-bucket/x"}))
    return recs


def write_logs(root: Path, records: list[dict[str, Any]], per_file: int = 5) -> Path:
    logs = root / "logs"
    logs.mkdir()
    for n, start in enumerate(range(0, len(records), per_file)):
        chunk = records[start : start + per_file]
        (logs / f"part-{n:03d}.json").write_text(json.dumps({"Records": chunk}), "utf-8")
    return logs


@pytest.fixture()
def logs(tmp_path: Path) -> Path:
    return write_logs(tmp_path, generated())


def dependents_json(*args: str) -> Any:
    done = runner.invoke(app, ["dependents", *args, "--format", "json", "--no-progress"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_each_kind_appears_for_its_key(logs: Path) -> None:
    report = dependents_json(KEY_A, str(logs))
    assert report["key_arn"] == arn(KEY_A)
    kinds = {(d["kind"], d["resource"]) for d in report["dependents"]}
    assert kinds == {
        ("s3 bucket", "arn:aws:s3:::data"),
        ("ebs volume", "vol-0123456789abcdef0"),
        ("rds db", "db-ORDERS"),
        ("secret", "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"),
        ("lambda function", "arn:aws:lambda:us-east-1:111122223333:function:f"),
        ("dynamodb table", "orders"),
        ("cloudtrail trail", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"),
        ("sns topic", "arn:aws:sns:us-east-1:111122223333:alerts"),
        ("service", "secretsmanager.amazonaws.com"),
    }
    bucket = next(d for d in report["dependents"] if d["kind"] == "s3 bucket")
    # Object and bucket contexts of the same bucket, three days each.
    assert (bucket["calls"], bucket["failed"]) == (6, 1)
    assert (bucket["first"], bucket["last"]) == ("2026-03-01T09:00:00Z", "2026-03-03T10:00:00Z")
    assert bucket["principals"] == [
        "arn:aws:iam::111122223333:role/role-0",
        "arn:aws:iam::111122223333:role/role-1",
    ]
    assert report["calls"] == 33 and report["unattributed_calls"] == 3
    assert report["omitted"] == []
    other = dependents_json(KEY_B, str(logs))
    assert [d["resource"] for d in other["dependents"]] == ["arn:aws:s3:::other-bucket"]


def without_echo(report: Any) -> str:
    report = dict(report)
    report.pop("query")
    return json.dumps(report, sort_keys=True)


def test_every_name_of_the_key_gives_the_same_answer(logs: Path) -> None:
    names = [KEY_A, arn(KEY_A), "alias/app", alias_arn("alias/app")]
    reports = [dependents_json(name, str(logs)) for name in names]
    assert len({without_echo(r) for r in reports}) == 1
    assert [r["query"]["form"] for r in reports] == ["key_id", "key_arn", "alias_name", "alias_arn"]
    # --all holds the same object for the key.
    everything = dependents_json("--all", str(logs))
    row = next(r for r in everything if r["key_arn"] == arn(KEY_A))
    assert without_echo(row) == without_echo(reports[0])
    assert {r["key_arn"] for r in everything} == {arn(KEY_A), arn(KEY_B)}


@pytest.mark.parametrize("query", [None, KEY_A])
def test_jobs_do_not_change_the_answer(
    logs: Path, monkeypatch: pytest.MonkeyPatch, query: str | None
) -> None:
    args = ["--all"] if query is None else [query]
    one = dependents_json(*args, str(logs), "--jobs", "1")
    # One file per group, two worker processes: partials are pickled and combined.
    monkeypatch.setattr(executor, "GROUP_BYTES", 1)
    monkeypatch.setattr(executor, "NATIVE_GROUP_BYTES", 1)
    two = dependents_json(*args, str(logs), "--jobs", "2", "--engine", "python")
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert one


def test_no_record_names_the_key(logs: Path) -> None:
    missing = "arn:aws:kms:us-east-1:111122223333:key/ffffffff-ffff-ffff-ffff-ffffffffffff"
    done = runner.invoke(app, ["dependents", missing, str(logs), "--no-progress"])
    assert done.exit_code == 1
    assert "no record in these logs names" in done.stderr
    done = runner.invoke(
        app, ["dependents", missing, str(logs), "--format", "json", "--no-progress"]
    )
    assert done.exit_code == 1 and json.loads(done.stdout) == []
    done = runner.invoke(app, ["dependents", "alias/nothing", str(logs), "--no-progress"])
    assert done.exit_code == 1


def test_usage_and_help(logs: Path) -> None:
    assert runner.invoke(app, ["dependents", str(logs)]).exit_code == 2
    shown = runner.invoke(app, ["dependents", "--help"])
    assert shown.exit_code == 0
    for word in ("--all", "--format", "--since", "--jobs", "--engine", "Exit status"):
        assert word in shown.stdout


def test_since_until_narrow_the_uses(logs: Path) -> None:
    report = dependents_json(KEY_A, str(logs), "--since", "2026-03-02", "--until", "2026-03-02")
    bucket = next(d for d in report["dependents"] if d["kind"] == "s3 bucket")
    assert (bucket["calls"], bucket["first"]) == (2, "2026-03-02T09:00:00Z")


def test_terminal_output_fits_80_columns_and_keeps_hostile_text_inert(tmp_path: Path) -> None:
    hostile = "[bold]x[/bold]\x1b]0;pwned\x07\u202e" + "y" * 400
    recs = generated() + [crypto(context={"aws:lambda:FunctionArn": hostile})]
    logs = write_logs(tmp_path, recs)
    done = runner.invoke(
        app, ["dependents", KEY_A, str(logs), "--no-progress"], env={"COLUMNS": "80"}
    )
    assert done.exit_code == 0, done.output
    out = done.stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "[bold]x[/bold]" in out and "\\x1b" in out and "\\u202e" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    for kind in ("s3 bucket", "ebs volume", "secret", "lambda function", "service"):
        assert kind in out
    # The resource kept is capped.
    report = dependents_json(KEY_A, str(logs))
    names = [d["resource"] for d in report["dependents"] if d["kind"] == "lambda function"]
    assert max(len(n) for n in names) == 256
    everything = runner.invoke(
        app, ["dependents", "--all", str(logs), "--no-progress"], env={"COLUMNS": "80"}
    )
    assert everything.exit_code == 0
    assert max(len(line) for line in everything.stdout.splitlines()) <= 80


def test_lifecycle_carries_the_same_dependents(logs: Path) -> None:
    done = runner.invoke(
        app, ["lifecycle", "alias/app", str(logs), "--format", "json", "--no-progress"]
    )
    assert done.exit_code == 0, done.output
    life = json.loads(done.stdout)
    report = dependents_json(KEY_A, str(logs))
    assert life["dependents"] == {k: v for k, v in report.items() if k not in ("query", "key_arn")}
    table = runner.invoke(app, ["lifecycle", KEY_A, str(logs), "--no-progress"])
    assert table.exit_code == 0
    assert "dependents" in table.stdout and "arn:aws:s3:::data" in table.stdout


def test_lifecycle_terminal_report_shows_the_first_dependents(tmp_path: Path) -> None:
    recs = [crypto(context={"aws:ebs:id": f"vol-{i:04d}"}) for i in range(DEPENDENTS_SHOWN + 4)]
    logs = write_logs(tmp_path, recs)
    table = runner.invoke(app, ["lifecycle", KEY_A, str(logs), "--no-progress"])
    assert table.exit_code == 0, table.output
    assert f"vol-{DEPENDENTS_SHOWN - 1:04d}" in table.stdout
    assert f"vol-{DEPENDENTS_SHOWN:04d}" not in table.stdout
    assert "… and 4 more dependent(s)" in table.stdout


# --- the sample corpus ----------------------------------------------------------------------


def _sample_world() -> Any:
    if not SAMPLE.is_dir():
        pytest.skip("sample_logs/ absent")
    from tools.ctgen.sample_estate import build_world

    return build_world()


def _expected(wl: Any) -> tuple[str, str] | None:
    """The (kind, resource pattern) the generator's traffic puts in a workload's contexts."""
    key, name = wl.key, wl.resource_name or wl.name
    if wl.channel == "s3":
        return "s3 bucket", re.escape(f"arn:aws:s3:::{name}")
    if wl.channel == "lambda":
        return "lambda function", re.escape(
            f"arn:aws:lambda:{key.region}:{key.account_id}:function:{name}"
        )
    if wl.channel == "secretsmanager":
        prefix = f"arn:aws:secretsmanager:{key.region}:{key.account_id}:secret:{name}-"
        return "secret", re.escape(prefix) + "[A-Za-z]{6}"
    if wl.channel == "ebs":
        return "ebs volume", "vol-0[0-9a-f]{16}"
    return None


def test_sample_corpus_dependents_appear_for_their_keys() -> None:
    world = _sample_world()
    report = {r["key_arn"]: r for r in dependents_json("--all", str(SAMPLE))}
    checked: set[str] = set()
    for wl in world.wl.values():
        expected = _expected(wl)
        if expected is None or wl.rate <= 0:
            continue
        kind, pattern = expected
        deps = report.get(wl.key.arn, {"dependents": []})["dependents"]
        assert any(d["kind"] == kind and re.fullmatch(pattern, d["resource"]) for d in deps), (
            wl.name,
            wl.key.arn,
            kind,
        )
        checked.add(wl.channel)
    assert checked == {"s3", "lambda", "secretsmanager", "ebs"}


def test_lifecycle_html_lists_the_dependents_escaped(tmp_path: Path) -> None:
    recs = generated() + [crypto(context={"aws:lambda:FunctionArn": "<script>x</script>"})]
    logs = write_logs(tmp_path, recs)
    page = tmp_path / "key.html"
    done = runner.invoke(
        app, ["lifecycle", KEY_A, str(logs), "--format", "html", "-o", str(page), "--no-progress"]
    )
    assert done.exit_code == 0, done.output
    html = page.read_text("utf-8")
    assert "<h3>Dependents</h3>" in html and "arn:aws:s3:::data" in html
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
