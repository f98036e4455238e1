"""A partial state the native run folds must not keep the decoded batch alive:
evidence rows kept in a state would otherwise pin every batch they came from,
and memory would grow with the input."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
import pytest

from kmslog.decode import native
from kmslog.decode import schema as S
from kmslog.run import executor
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run
from tests.ingest_fixtures import layout_path, record, write_trail

pytestmark = pytest.mark.skipif(not native.available(), reason="native extension not built")


def _address(frame: pl.DataFrame) -> int:
    """Where the record_index values of ``frame`` live (the start of its buffer)."""
    return int(frame[S.RECORD_INDEX].to_arrow().buffers()[1].address)


@dataclass(frozen=True)
class KeepsRows:
    """Keeps one row of every frame, as an analysis keeping evidence does, and
    remembers the frames it was given (kept alive, so no address is reused)."""

    name: str = "keeps"
    seen: list[pl.DataFrame] = field(default_factory=list, compare=False)

    def start(self) -> list[pl.DataFrame]:
        return []

    def update(self, state: list[pl.DataFrame], frame: pl.DataFrame) -> list[pl.DataFrame]:
        self.seen.append(frame)
        return [*state, frame.slice(frame.height - 1, 1)]

    def combine(self, a: list[pl.DataFrame], b: list[pl.DataFrame]) -> list[pl.DataFrame]:
        return a + b

    def finish(self, state: list[pl.DataFrame]) -> list[pl.DataFrame]:
        return state


def test_native_partial_states_do_not_share_the_batch_buffers(tmp_path, monkeypatch):
    monkeypatch.setattr(executor, "GROUP_BYTES", 1)
    monkeypatch.setattr(executor, "NATIVE_GROUP_BYTES", 1)
    for i in range(3):
        rows = [record(1000 * i + j) for j in range(200)]
        write_trail(layout_path(tmp_path, stamp=f"20240502T0{i}00Z", unique=f"{i}" * 16), rows)
    keeps = KeepsRows()
    result = run([str(tmp_path)], [keeps], ScanOptions(jobs=2, engine="native"))
    kept = result.results["keeps"]
    assert len(kept) == 3 and len(keeps.seen) == 3
    batches = {_address(frame) for frame in keeps.seen}
    assert not batches & {_address(frame) for frame in kept}
    assert [frame[S.EVENT_ID].item() for frame in kept] == [
        f"evt-{1000 * i + 199:06d}" for i in range(3)
    ]
