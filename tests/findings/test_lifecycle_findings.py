"""Lifecycle findings through the one finding model: every kind the lifecycle reports
has its catalogue entry (title, severity, rationale, remediation), the adapter is found
by result type, every renderer renders them, and a state learned from use is a fact,
never a finding."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.cli import app
from kmslog.findings.collect import findings_of
from kmslog.findings.model import SEVERITIES
from kmslog.findings.render import renderer, renderer_names
from kmslog.lifecycle.finding_kinds import KINDS, kind_of, lifecycle_findings
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run
from tests.findings.test_render import CONTEXT, OCSF_REQUIRED

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"
pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")


@pytest.fixture(scope="module")
def result():  # noqa: ANN201
    return run([str(SAMPLE)], [LifecycleAnalysis(None)], ScanOptions()).results["lifecycle"]


def test_every_kind_has_its_metadata() -> None:
    for name, entry in KINDS.items():
        assert entry.id == "lifecycle-" + name.replace("_", "-")
        assert entry.severity in SEVERITIES and entry.source == "lifecycle"
        assert entry.title and entry.rationale and entry.remediation, name
    assert "enabled_by_use" not in KINDS


def test_sample_findings_reach_the_model_and_every_renderer(result) -> None:  # noqa: ANN001
    found = lifecycle_findings(result)
    produced = {f.kind for life in result.keys for f in life.findings}
    # every kind the sample produces is in the table (none falls back)
    assert produced and produced <= set(KINDS)
    assert {f.kind.id for f in found} == {KINDS[k].id for k in produced}
    assert findings_of([result]) == found
    assert all(f.subject.key_arn for f in found)
    for name in renderer_names():
        out = io.StringIO()
        renderer(name)(found, CONTEXT, out)
        assert out.getvalue()
        if name == "ocsf":
            for line in out.getvalue().splitlines():
                record = json.loads(line)
                assert all(a in record for a in OCSF_REQUIRED)


def test_state_learned_from_use_is_a_fact(result) -> None:  # noqa: ANN001
    facts = [f for life in result.keys for f in life.facts]
    assert facts and {f.kind for f in facts} == {"enabled_by_use"}
    assert not [f for life in result.keys for f in life.findings if f.kind == "enabled_by_use"]


def test_lifecycle_json_carries_the_metadata_and_the_facts() -> None:
    out = CliRunner().invoke(app, ["lifecycle", "--all", str(SAMPLE), "--format", "json"])
    assert out.exit_code in (0, 1), out.output
    data = json.loads(out.stdout)
    keys = data["keys"] if isinstance(data, dict) else data
    assert keys
    row = keys[0]
    assert "enabled_by_use" not in row["findings"]


def test_an_unknown_kind_keeps_a_low_entry() -> None:
    entry = kind_of("something_new")
    assert entry.id == "lifecycle-something-new" and entry.severity == "low"
