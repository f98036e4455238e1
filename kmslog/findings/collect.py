"""Every finding of a run, in the one model: each analysis result type names its
adapter here once, so a renderer of findings (CSV, OCSF, HTML …) sees all of them
without knowing which analysis made which."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kmslog.findings.model import Finding

Adapter = Callable[[Any], list[Finding]]
_ADAPTERS: list[tuple[type, Adapter]] = []


def register_adapter(result_type: type, adapter: Adapter) -> None:
    """Findings of results of ``result_type`` come from ``adapter``."""
    _ADAPTERS.append((result_type, adapter))


def _builtin() -> None:
    # Deferred: adapters import the analyses, which must not import this module.
    if _ADAPTERS:
        return
    from kmslog.analyses.anomalies import AnomalyResult
    from kmslog.analyses.blind_spots import BlindSpots
    from kmslog.analyses.detections import DetectionsResult
    from kmslog.analyses.eventbridge import EventBridgeResult
    from kmslog.analyses.foreign_key_objects import ForeignKeyObjectsResult
    from kmslog.analyses.grants import GrantResult
    from kmslog.analyses.key_policies import KeyPolicies
    from kmslog.analyses.reencrypt import ReEncryptResult
    from kmslog.findings.adapters import (
        anomaly_findings,
        detection_findings,
        eventbridge_findings,
    )
    from kmslog.kms.foreign_key_findings import foreign_key_findings
    from kmslog.kms.policy_findings import policy_findings
    from kmslog.kms.reencrypt_findings import reencrypt_findings
    from kmslog.lifecycle.finding_kinds import lifecycle_findings
    from kmslog.lifecycle.model import LifecycleResult
    from kmslog.report.blind_spots_section import blind_spot_findings
    from kmslog.report.grants_section import grant_result_findings

    register_adapter(DetectionsResult, detection_findings)
    register_adapter(EventBridgeResult, eventbridge_findings)
    register_adapter(BlindSpots, blind_spot_findings)
    register_adapter(AnomalyResult, anomaly_findings)
    register_adapter(GrantResult, grant_result_findings)
    register_adapter(KeyPolicies, policy_findings)
    register_adapter(ReEncryptResult, reencrypt_findings)
    register_adapter(ForeignKeyObjectsResult, foreign_key_findings)
    register_adapter(LifecycleResult, lifecycle_findings)


def findings_of(results: Iterable[Any]) -> list[Finding]:
    """The findings of every result that has an adapter, in the order given."""
    _builtin()
    out: list[Finding] = []
    for result in results:
        for result_type, adapter in _ADAPTERS:
            if isinstance(result, result_type):
                out.extend(adapter(result))
    return out
