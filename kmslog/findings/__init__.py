"""Findings: the one model every analysis reports through, and the kinds it knows."""

from kmslog.findings.model import (
    SEVERITIES,
    Evidence,
    Finding,
    FindingKind,
    Subject,
    kind,
    kinds,
    register_kind,
)

__all__ = [
    "SEVERITIES",
    "Evidence",
    "Finding",
    "FindingKind",
    "Subject",
    "kind",
    "kinds",
    "register_kind",
]
