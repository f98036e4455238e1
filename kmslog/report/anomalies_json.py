"""Anomaly findings as JSON-ready data (the ``anomalies`` key of ``scan --format json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kmslog.analyses.anomalies import AnomalyResult
from kmslog.analyses.blind_spots import BlindSpots
from kmslog.baseline.findings import Finding
from kmslog.blindspots.caveats import Caveat, caveats, key_place


def dormancy_caveats(finding: Finding, spots: BlindSpots | None) -> tuple[Caveat, ...]:
    """A dormant key's idle stretch claims no use: the blind spots of the key's
    account and Region within it (the ones these logs show) qualify that claim."""
    if finding.kind != "dormant_key" or finding.key_arn is None:
        return ()
    last = finding.details.get("last_use")
    if not isinstance(last, str):
        return ()
    account, region = key_place(finding.key_arn)
    if account is None:
        return ()
    since = datetime.fromisoformat(last.replace("Z", "+00:00"))
    return caveats(spots, account, region, since, finding.start)


def anomalies_data(result: AnomalyResult, spots: BlindSpots | None = None) -> dict[str, Any]:
    data = result.to_dict()
    items: list[dict[str, Any]] = []
    for finding in result.findings:
        item = finding.to_dict()
        found = dormancy_caveats(finding, spots)
        if found:
            item["caveats"] = [c.text for c in found]
        items.append(item)
    data["findings"] = items
    return data
