"""The lifecycle fold declares the columns it reads; decoding only those must not
change a single result."""

from pathlib import Path

import pytest

from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


class _EveryColumn(LifecycleAnalysis):
    columns = None  # type: ignore[assignment]


@pytest.mark.parametrize("query", [None, "alias/payments"])
def test_projection_gives_the_full_decode_result(query):
    options = ScanOptions(jobs=1)
    projected = run([str(SAMPLE)], [LifecycleAnalysis(query)], options).results["lifecycle"]
    full = run([str(SAMPLE)], [_EveryColumn(query)], options).results["lifecycle"]
    assert LifecycleAnalysis.columns is not None
    assert repr(projected) == repr(full)
    assert projected.keys
