"""The scan summary as JSON-ready data (``{"summary": …}`` at the top level;
other sections of a scan report sit beside it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kmslog.analyses.summary import Summary
from kmslog.run.api import IngestStats


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def summary_data(stats: IngestStats, summary: Summary) -> dict[str, Any]:
    return {
        "files": {
            "read": stats.files_read,
            "failed": stats.files_failed,
            "skipped_digest": stats.files_skipped_digest,
            "skipped_insight": stats.files_skipped_insight,
            "skipped_other": stats.files_skipped_other,
            "pruned": stats.files_pruned,
        },
        "records": {
            "seen": stats.records_seen,
            "kept": stats.records_kept,
            "duplicate": stats.records_duplicate,
            "rejected": stats.records_rejected,
            "out_of_window": stats.records_out_of_window,
            # Kept records (within "kept") reusing an earlier record's eventID.
            "event_id_conflict": stats.event_id_conflicts,
        },
        "time_span": {"first": _iso(summary.first), "last": _iso(summary.last)},
        "accounts": [{"account": k, "records": n} for k, n in summary.accounts],
        "regions": [{"region": k, "records": n} for k, n in summary.regions],
        "event_sources": [{"event_source": k, "records": n} for k, n in summary.sources],
        "kms_events": [
            {"event_name": k, "calls": n, "errors": e} for k, n, e in summary.kms_events
        ],
        "rejections_by_reason": [
            {"reason": k, "count": n}
            for k, n in sorted(stats.rejection_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "rejections": [
            {
                "source": r.source,
                "position": r.position,
                "position_kind": r.position_kind,
                "reason": r.reason,
            }
            for r in stats.rejections
        ],
        "rejection_details_truncated": len(stats.rejections)
        < stats.records_rejected + stats.files_failed,
        "event_id_conflicts": [
            {
                "account": c.account,
                "event_id": c.event_id,
                "source": c.source,
                "record_index": c.position,
                "first_source": c.first_source,
                "first_record_index": c.first_position,
            }
            for c in stats.conflicts
        ],
        "event_id_conflict_details_truncated": len(stats.conflicts) < stats.event_id_conflicts,
    }
