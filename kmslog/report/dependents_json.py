"""Dependents as JSON-ready data (the ``--format json`` contract of ``kmslog dependents``
and the ``dependents`` object of a lifecycle report; docs/dependents.md; fields may be
added)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kmslog.analyses.dependents import DependentsResult, DependentUse, KeyDependents
from kmslog.kms.dates import iso_z
from kmslog.kms.keys import parse_key_ref


def iso(value: datetime) -> str:
    return iso_z(value)


def use_data(use: DependentUse) -> dict[str, Any]:
    return {
        "kind": use.kind,
        "resource": use.resource,
        "first": iso(use.first),
        "last": iso(use.last),
        "calls": use.calls,
        "failed": use.failed,
        "principals": list(use.principals),
        "more_principals": use.more_principals,
    }


def dependents_data(deps: KeyDependents) -> dict[str, Any]:
    """One key's dependents without the key (the lifecycle report's ``dependents``)."""
    return {
        "calls": deps.calls,
        "failed": deps.failed,
        "unattributed_calls": deps.unattributed,
        "dependents": [use_data(u) for u in deps.dependents],
        "omitted": [{"kind": o.kind, "calls": o.calls, "failed": o.failed} for o in deps.omitted],
    }


def query_data(result: DependentsResult) -> dict[str, Any] | None:
    """The echo of the question; the only field that depends on how the key was named."""
    if result.query is None:
        return None
    echo: dict[str, Any] = {"text": result.query, "form": parse_key_ref(result.query).kind.value}
    if result.alias_bindings:
        # Imported here: the lifecycle report imports this module for its own section.
        from kmslog.report.lifecycle_json import alias_data

        echo["alias_history"] = [alias_data(b) for b in result.alias_bindings]
    return echo


def key_data(deps: KeyDependents, query: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"query": query, "key_arn": deps.key_arn, **dependents_data(deps)}


def result_data(result: DependentsResult) -> dict[str, Any] | list[dict[str, Any]]:
    """A key query: one object, or a list when it names several keys (an alias that
    moved, an ``mrk-`` id in several Regions); ``--all``: a list, one object per key."""
    echo = query_data(result)
    reports = [key_data(k, echo) for k in result.keys]
    return reports[0] if result.query is not None and len(reports) == 1 else reports
