"""Lifecycle results as JSON-ready data (the ``--format json`` contract; fields may be added)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from kmslog.kms.dates import iso_z
from kmslog.kms.keys import parse_key_ref
from kmslog.kms.policy_widen import widening_data
from kmslog.kms.resolve import AliasBinding
from kmslog.lifecycle.finding_kinds import kind_of
from kmslog.lifecycle.model import KeyLifecycle, LifecycleResult
from kmslog.report.dependents_json import dependents_data


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return iso_z(value)


def alias_data(binding: AliasBinding) -> dict[str, Any]:
    return {
        "name": binding.scope.name,
        "account": binding.scope.account or None,
        "region": binding.scope.region or None,
        "key_arn": binding.key_arn,
        "from": iso(binding.start),
        "to": iso(binding.end),
        "from_event_id": binding.start_event_id,
        "to_event_id": binding.end_event_id,
        "observed": binding.observed,
    }


def key_data(life: KeyLifecycle) -> dict[str, Any]:
    info = life.key
    return {
        "key_id": info.key_id,
        "arn": info.arn,
        "aliases": [alias_data(b) for b in info.aliases],
        "origin": info.origin,
        "created": iso(info.created),
        "created_raw": info.created_raw,
        "created_event_id": info.created_event_id,
        "description": info.description,
        "multi_region": info.multi_region,
    }


def query_data(result: LifecycleResult) -> dict[str, Any] | None:
    """The echo of the question: the text asked, its form and, for an alias, the alias's
    own history. Everything else in a report is the key's and does not depend on how the
    key was named, so dropping this one field leaves identical reports for a key's id,
    ARN, alias name and alias ARN."""
    if result.query is None:
        return None
    echo: dict[str, Any] = {"text": result.query, "form": parse_key_ref(result.query).kind.value}
    if result.alias_bindings:
        echo["alias_history"] = [alias_data(b) for b in result.alias_bindings]
    return echo


def lifecycle_data(life: KeyLifecycle, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """One key's full lifecycle; ``query`` is the echo of the question (:func:`query_data`)."""
    return {
        "query": query,
        "key": key_data(life),
        "state": life.state.value,
        "first_seen": iso(life.first_seen),
        "last_seen": iso(life.last_seen),
        "last_used": iso(life.last_used),
        "deletion_date": iso(life.deletion_date),
        # Blind spots of the key's account and Region: usage there is unknown.
        "caveats": caveats_data(life),
        # What uses the key (docs/dependents.md); null when not computed.
        "dependents": None if life.dependents is None else dependents_data(life.dependents),
        # The effective-access diff of each policy version (conditions evaluated).
        "policy_access": policy_access_data(life),
        "states": [
            {
                "state": s.state.value,
                "from": iso(s.start),
                "to": iso(s.end),
                "event_id": s.event_id,
                "cause": s.cause,
            }
            for s in life.states
        ],
        "events": [
            {
                "time": iso(e.time),
                "event_name": e.event_name,
                "category": e.category,
                "actor": e.actor,
                "source_ip": e.source_ip,
                "event_id": e.event_id,
                "success": e.success,
                "error_code": e.error_code,
                "detail": e.detail,
                "source": e.source,
                "record_index": e.record_index,
            }
            for e in life.events
        ],
        "usage": [
            {
                "principal": u.principal,
                "operation": u.operation,
                "count": u.count,
                "errors": u.errors,
                "first": iso(u.first),
                "last": iso(u.last),
                "source_ips": list(u.source_ips),
                "invoked_by": list(u.invoked_by),
                "context_keys": list(u.context_keys),
            }
            for u in life.usage
        ],
        "uses_in_state": [
            {
                "state": u.state.value,
                "principal": u.principal,
                "operation": u.operation,
                "count": u.count,
                "errors": u.errors,
                "first": iso(u.first),
                "last": iso(u.last),
                "event_id": u.event_id,
            }
            for u in life.uses_in_state
        ],
        "findings": [
            {
                "kind": f.kind,
                "id": kind_of(f.kind).id,
                "severity": kind_of(f.kind).severity,
                "title": kind_of(f.kind).title,
                "remediation": kind_of(f.kind).remediation,
                "time": iso(f.time),
                "detail": f.detail,
                "event_id": f.event_id,
            }
            for f in life.findings
        ],
        "facts": [
            {"kind": f.kind, "time": iso(f.time), "detail": f.detail, "event_id": f.event_id}
            for f in life.facts
        ],
        "grants": [
            {
                "grant_id": g.grant_id,
                "grantee": g.grantee,
                "operations": list(g.operations),
                "retiring_principal": g.retiring_principal,
                "name": g.name,
                "created": iso(g.created),
                "created_event_id": g.created_event_id,
                "ended": iso(g.ended),
                "ended_by": g.ended_by,
                "ended_event_id": g.ended_event_id,
            }
            for g in life.grants
        ],
    }


def result_data(result: LifecycleResult) -> dict[str, Any] | list[dict[str, Any]]:
    """The report for a key query: one object, or a list when it names several keys
    (an alias that moved between keys, or an ``mrk-`` id present in several Regions)."""
    echo = query_data(result)
    reports = [lifecycle_data(k, echo) for k in result.keys]
    return reports[0] if len(reports) == 1 else reports


def summary_row(life: KeyLifecycle) -> dict[str, Any]:
    """One row of ``--all``: the key object plus its state, last use and findings."""
    row = key_data(life)
    row.update(
        {
            "state": life.state.value,
            "last_used": iso(life.last_used),
            "last_seen": iso(life.last_seen),
            "deletion_date": iso(life.deletion_date),
            "findings": dict(sorted(Counter(f.kind for f in life.findings).items())),
            "caveats": caveats_data(life),
        }
    )
    return row


def caveats_data(life: KeyLifecycle) -> list[dict[str, Any]]:
    """``after_last_use``: the blind spot reaches past the last use seen, so the key
    may have been used later than ``last_used`` says."""
    last = life.last_used
    return [
        {
            "cause": c.cause,
            "account": c.account,
            "region": c.region,
            "from": iso(c.start),
            "to": iso(c.end),
            "after_last_use": last is None or c.end is None or c.end > last,
            "text": c.text,
        }
        for c in life.caveats
    ]


def all_keys_data(result: LifecycleResult) -> list[dict[str, Any]]:
    return [summary_row(k) for k in result.keys]


def policy_access_data(life: KeyLifecycle) -> list[dict[str, Any]]:
    return [
        {
            "time": iso(v.time),
            "event_name": v.event_name,
            "event_id": v.event_id,
            "by": v.by,
            "first_seen": v.first_seen,
            "error": v.error,
            "public": None if v.access is None else v.access.public,
            "widened": [widening_data(w) for w in v.widened],
        }
        for v in life.policy_access
    ]
