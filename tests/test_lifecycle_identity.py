"""One answer per key: ``kmslog lifecycle`` gives the same JSON, byte for byte apart from
the echo of the query, whether the key is named by its id, its ARN, an alias name or an
alias ARN, and ``--all`` agrees with every single-key report."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from kmslog.analyses.blind_spots import BlindSpotAnalysis
from kmslog.analyses.key_policies import KeyPolicyAnalysis, attach_policy_access
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.blindspots.caveats import attach_caveats
from kmslog.cli import app
from kmslog.lifecycle.model import LifecycleResult
from kmslog.report.lifecycle_json import all_keys_data, lifecycle_data, result_data
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


class _Frames:
    """Keeps the decoded frames, so every query folds the same decode of sample_logs."""

    name = "frames"
    columns = LifecycleAnalysis.columns

    def start(self) -> list[pl.DataFrame]:
        return []

    def update(self, state: list[pl.DataFrame], frame: pl.DataFrame) -> list[pl.DataFrame]:
        state.append(frame)
        return state

    def combine(self, a: list[pl.DataFrame], b: list[pl.DataFrame]) -> list[pl.DataFrame]:
        return a + b

    def finish(self, state: list[pl.DataFrame]) -> list[pl.DataFrame]:
        return state


@lru_cache(maxsize=1)
def frames() -> tuple[pl.DataFrame, ...]:
    return tuple(run([str(SAMPLE)], [_Frames()], ScanOptions(jobs=1)).results["frames"])


@cache
def lifecycle(query: str | None) -> LifecycleResult:
    """As the command runs it: the lifecycle fold, and the blind spots it states."""
    analysis, spots, policies = LifecycleAnalysis(query), BlindSpotAnalysis(), KeyPolicyAnalysis()
    state, seen, versions = analysis.start(), spots.start(), policies.start()
    for frame in frames():
        state = analysis.update(state, frame)
        seen = spots.update(seen, frame)
        versions = policies.update(versions, frame)
    result = analysis.finish(state)
    attach_caveats(result, spots.finish(seen))
    attach_policy_access(result, policies.finish(versions))
    return result


def report_text(query: str | None) -> str:
    """What ``kmslog lifecycle QUERY sample_logs --format json`` prints (same dump)."""
    result = lifecycle(query)
    data = all_keys_data(result) if query is None else result_data(result)
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def without_echo(text: str, key_arn: str) -> str:
    """The report on ``key_arn`` in ``text`` with its ``query`` field removed, dumped as
    the command dumps it. Parsing loses nothing: dumping the parsed text again gives it
    back byte for byte, so equal results mean byte-identical output."""
    data = json.loads(text)
    assert json.dumps(data, indent=2, ensure_ascii=True) + "\n" == text
    reports = data if isinstance(data, list) else [data]
    mine = [r for r in reports if r["key"]["arn"] == key_arn]
    assert len(mine) == 1, f"{len(mine)} reports on {key_arn}"
    report = mine[0]
    assert set(report["query"]) >= {"text", "form"}
    del report["query"]
    return json.dumps(report, indent=2, ensure_ascii=True)


def key_rows() -> list[dict[str, Any]]:
    return json.loads(report_text(None))


def names_of(row: dict[str, Any]) -> list[str]:
    """Every way to name the key: id, ARN, and each alias as name and as alias ARN."""
    region, account = row["arn"].split(":")[3:5]
    forms = [row["key_id"], row["arn"]]
    for alias in sorted({a["name"] for a in row["aliases"]}):
        forms += [alias, f"arn:aws:kms:{region}:{account}:{alias}"]
    return forms


def test_sample_logs_have_keys_with_aliases():
    rows = key_rows()
    assert len(rows) >= 10
    assert sum(1 for r in rows if r["aliases"]) >= 5


@pytest.mark.parametrize("row", key_rows(), ids=lambda r: r["key_id"][:8])
def test_every_name_of_a_key_gives_the_same_report(row):
    expected = without_echo(report_text(row["key_id"]), row["arn"])
    for form in names_of(row)[1:]:
        assert without_echo(report_text(form), row["arn"]) == expected, form


@pytest.mark.parametrize("row", key_rows(), ids=lambda r: r["key_id"][:8])
def test_all_keys_row_is_the_single_key_report(row):
    single = json.loads(report_text(row["arn"]))
    # The --all run holds the same full report on the key as the single-key run.
    everything = next(k for k in lifecycle(None).keys if k.key.arn == row["arn"])
    full = lifecycle_data(everything)
    del full["query"], single["query"]
    assert json.dumps(full, indent=2) == json.dumps(single, indent=2)
    assert row == {
        **single["key"],
        "state": single["state"],
        "last_used": single["last_used"],
        "last_seen": single["last_seen"],
        "deletion_date": single["deletion_date"],
        "findings": dict(sorted(Counter(f["kind"] for f in single["findings"]).items())),
        "caveats": single["caveats"],
    }


def test_alias_and_key_id_agree_on_the_customer_pii_key_through_the_command():
    """The case first reported: through the alias, a Decrypt made while the key was
    PendingDeletion was put under Disabled."""
    row = next(
        r for r in key_rows() if any(a["name"] == "alias/customer-pii" for a in r["aliases"])
    )
    runner = CliRunner()
    outputs = {}
    for form in names_of(row):
        done = runner.invoke(
            app, ["lifecycle", form, str(SAMPLE), "--format", "json", "--no-progress"]
        )
        assert done.exit_code == 0, done.output
        outputs[form] = without_echo(done.stdout, row["arn"])
        assert outputs[form] == without_echo(report_text(form), row["arn"])
    assert len(set(outputs.values())) == 1
    report = json.loads(outputs[row["key_id"]])
    pending = next(s for s in report["states"] if s["state"] == "PendingDeletion")
    used = [f for f in report["findings"] if f["kind"] == "used_while_pending_deletion"]
    assert used and used[0]["time"] >= pending["from"]
    disabled = [u for u in report["uses_in_state"] if u["state"] == "Disabled"]
    assert all(u["last"] < pending["from"] for u in disabled)
