"""The ledger and the lifecycle's grant table tell the same story on the fields they
share, so the lifecycle report can take its grants from the ledger."""

from __future__ import annotations

from typing import Any

from kmslog.analyses.base import fold
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.decode.memory import frame_from_records
from kmslog.kms.grants import build_ledger
from tests.kms import grant_records as G
from tests.kms.test_grants import SCENARIO


def _lifecycle_view(records: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    result = fold(LifecycleAnalysis(None), [frame_from_records(records)])
    (life,) = [k for k in result.keys if k.key.arn == G.KEY]
    return {
        (
            g.grant_id,
            g.grantee,
            g.operations,
            g.retiring_principal,
            g.name,
            g.created,
            g.created_event_id,
            g.ended,
            g.ended_by,
            g.ended_event_id,
        )
        for g in life.grants
    }


def _ledger_view(records: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    ledger = build_ledger(frame_from_records(records).to_dicts())
    return {
        (
            g.grant_id,
            g.grantee or "",
            g.operations,
            g.retiring_principal,
            g.name,
            g.created.event_time if g.created else None,
            g.created.event_id if g.created else None,
            g.ended.event_time if g.ended else None,
            g.ended_how,
            g.ended.event_id if g.ended else None,
        )
        for g in ledger.grants[G.KEY]
        if g.created is not None
    }


def test_ledger_agrees_with_the_lifecycle_grants():
    records = [G.clone(r) for r in SCENARIO]
    assert _ledger_view(records) == _lifecycle_view(records)
