"""Anomaly findings as JSON-ready data (the ``anomalies`` key of ``scan --format json``)."""

from __future__ import annotations

from typing import Any

from kmslog.analyses.anomalies import AnomalyResult


def anomalies_data(result: AnomalyResult) -> dict[str, Any]:
    return result.to_dict()
