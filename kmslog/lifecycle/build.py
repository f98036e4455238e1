"""``finish`` of the lifecycle fold: resolve, replay, describe — over small data only."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.kms.dates import readable, shifted
from kmslog.kms.keys import KEY_ARN_REGEX, IdKind, parse_key_ref
from kmslog.kms.resolve import (
    ALIAS_EVENTS,
    AliasBinding,
    AliasHistory,
    AliasObservation,
    RecordKeys,
    alias_event_from_record,
    error_key_arn,
    keys_named,
    record_keys,
    scope_of,
)
from kmslog.kms.shared_events import one_copy
from kmslog.lifecycle.fields import field_text
from kmslog.lifecycle.model import (
    Finding,
    KeyInfo,
    KeyLifecycle,
    LifecycleResult,
    TimelineEntry,
    UsageRow,
    UseInState,
)
from kmslog.lifecycle.state_machine import (
    CRYPTO_OPERATIONS,
    KeyState,
    StateInput,
    replay,
    state_from_error,
)
from kmslog.lifecycle.timeline import (
    CATEGORIES,
    Described,
    KeyMemory,
    describe,
    read_date,
    state_input,
)

if TYPE_CHECKING:
    from kmslog.analyses.dependents import DependentsResult
    from kmslog.analyses.lifecycle import LifecyclePartial

# States in which a use means someone still depends on a key that is going away.
WATCHED_STATES = (
    KeyState.PENDING_DELETION,
    KeyState.PENDING_REPLICA_DELETION,
    KeyState.DISABLED,
    KeyState.PENDING_IMPORT,
    KeyState.UNAVAILABLE,
    KeyState.DELETED,
)
DELETION_SLACK = timedelta(hours=24)
# Reading a key's metadata works in any state and is not a dependency on the key,
# nor is KMS's own multi-Region synchronisation; such calls stay in uses_in_state
# but do not make a "still used" finding.
NOT_DEPENDENCIES = frozenset(
    {
        "SynchronizeMultiRegionKey",
        "DescribeKey",
        "GetKeyPolicy",
        "ListKeyPolicies",
        "ListGrants",
        "ListRetirableGrants",
        "ListResourceTags",
        "GetKeyRotationStatus",
        "ListKeyRotations",
        "ListAliases",
    }
)


@dataclass
class _Control:
    time: datetime
    row: dict[str, Any]
    record: Mapping[str, Any]
    # Why the record's text could not be parsed again (it is then placed by its
    # decoded columns alone); None when it was read.
    unreadable: str | None = None

    def keys(self, history: AliasHistory) -> RecordKeys:
        if self.unreadable is None:
            return record_keys(self.record, history, self.time)
        ids = [i for i in self.row.get(S.KEY_IDS) or () if isinstance(i, str)]
        arns = [i for i in ids if parse_key_ref(i).kind is IdKind.KEY_ARN]
        others = [i for i in ids if i not in arns]
        return keys_named(
            [*arns, error_key_arn(self.row.get(S.ERROR_MESSAGE)), *others],
            event_name=self.row.get(S.EVENT_NAME),
            region=self.row.get(S.AWS_REGION),
            account=self.row.get(S.RECIPIENT_ACCOUNT_ID),
            when=self.time,
            history=history,
        )


@dataclass
class _KeyData:
    control: list[_Control] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)  # exact rows, no lists
    usage_table: list[dict[str, Any]] = field(default_factory=list)  # per principal × op
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical_relaxed") if frames else None


def _first_copies(frame: pl.DataFrame, same: list[str]) -> pl.DataFrame:
    """Drop repeated deliveries: rows equal in every column of ``same`` (account, eventID
    and content). Two records that only share an eventID are distinct events and both
    stay, whichever other keys' records a query happened to keep; rows without an id
    stay too."""
    first = pl.struct(*same).is_first_distinct()
    return frame.filter(pl.col(S.EVENT_ID).is_null() | first)


_SAME_CONTROL = [S.RECIPIENT_ACCOUNT_ID, S.EVENT_ID, S.EVENT_TIME, S.EVENT_NAME, S.RAW]
_SAME_EVIDENCE = ["account", S.EVENT_ID, S.EVENT_TIME, "operation", "ref", S.ERROR_MESSAGE]


def _actor(row: Mapping[str, Any]) -> str:
    return row.get(S.IDENTITY_ARN) or row.get(S.IDENTITY_INVOKED_BY) or row.get("principal") or ""


def _observations(partial: LifecyclePartial) -> list[AliasObservation]:
    return observations(partial.alias_uses)


def observations(frames: list[pl.DataFrame]) -> list[AliasObservation]:
    """The alias observations of a fold's alias-use frames (``analyses.lifecycle.alias_uses``)."""
    uses = _concat(frames)
    if uses is None:
        return []
    merged = uses.group_by(["alias", "key_arn", "region", "account"]).agg(
        pl.col("first").min(), pl.col("last").max()
    )
    found: list[AliasObservation] = []
    for row in merged.iter_rows(named=True):
        scope = scope_of(parse_key_ref(row["alias"]), row["region"], row["account"])
        if scope is not None:
            found.append(AliasObservation(scope, row["key_arn"], row["first"], row["last"]))
    return found


def resolve_ref(
    ref: str, region: str | None, account: str | None, when: datetime, history: AliasHistory
) -> str | None:
    parsed = parse_key_ref(ref)
    if parsed.kind is IdKind.KEY_ARN:
        return ref
    scope = scope_of(parsed, region, account)
    return history.resolve(scope, when) if scope is not None else None


_UNPLACED = "\x00"  # stands for a null Region or account in join keys


def _with_keys(usage: pl.DataFrame, history: AliasHistory, lost: dict[str, int]) -> pl.DataFrame:
    """Usage rows with the key each one is about (column ``key``); rows naming an alias
    no history resolves at their time are counted in ``lost`` and left out. Key ARNs
    name themselves; only the alias references, one per distinct (reference, place,
    second), go through the alias history."""
    place = [
        pl.col("region").fill_null(_UNPLACED).alias("__region"),
        pl.col("account").fill_null(_UNPLACED).alias("__account"),
    ]
    usage = usage.with_columns(*place)
    is_arn = pl.col("ref").str.contains(KEY_ARN_REGEX)
    named = usage.filter(~is_arn).select("ref", "__region", "__account", "bucket").unique()
    resolved = [
        resolve_ref(
            ref,
            None if region == _UNPLACED else region,
            None if account == _UNPLACED else account,
            when,
            history,
        )
        for ref, region, account, when in named.iter_rows()
    ]
    mapping = named.with_columns(pl.Series("__alias_key", resolved, dtype=pl.String))
    joined = usage.join(mapping, on=["ref", "__region", "__account", "bucket"], how="left")
    keyed = joined.with_columns(
        pl.when(is_arn).then(pl.col("ref")).otherwise(pl.col("__alias_key")).alias("key")
    ).drop("__region", "__account", "__alias_key")
    for ref, calls in (
        keyed.filter(pl.col("key").is_null()).group_by("ref").agg(pl.col("count").sum()).iter_rows()
    ):
        lost[ref] += calls
    return keyed.filter(pl.col("key").is_not_null())


def _attach_usage(usage: pl.DataFrame, ticks: pl.DataFrame, keys: dict[str, _KeyData]) -> None:
    """Each wanted key's usage: the per principal × operation table (with the address,
    service and context-key sets, merged in polars) and the exact rows the state
    attribution reads (one per second, narrow)."""
    table = usage.group_by(["key", "principal", "operation"]).agg(
        pl.col("count").sum(),
        pl.col("errors").sum(),
        pl.col("first").min(),
        pl.col("last").max(),
        *(
            pl.col(c).explode().drop_nulls().unique().sort()
            for c in ("source_ips", "invoked_by", "context_keys")
        ),
    )
    for row in table.iter_rows(named=True):
        keys[row["key"]].usage_table.append(row)
    # Partials arrive in whatever order group_by left them: sort, so that ties
    # (first use, example record) are broken the same way in every run.
    ticks = ticks.sort(["key", "bucket", "ref", "principal", "operation", "region", "account"])
    ok = pl.when(pl.col("count") > pl.col("errors")).then(pl.col("bucket"))
    exact = ticks.select(
        "key",
        "principal",
        "operation",
        "count",
        "errors",
        pl.col("bucket").alias("first"),
        pl.col("bucket").alias("last"),
        ok.alias("ok_first"),
        ok.alias("ok_last"),
    )
    for row in exact.iter_rows(named=True):
        keys[row.pop("key")].usage.append(row)


def _matches(query: str | None, arn: str, history: AliasHistory) -> bool:
    if query is None:
        return True
    ref = parse_key_ref(query)
    if ref.kind is IdKind.KEY_ARN:
        return arn == query
    if ref.kind is IdKind.KEY_ID:
        return arn.endswith("/" + query)
    return False


def wanted_keys(
    query: str | None, candidates: Iterable[str], history: AliasHistory
) -> tuple[list[str], list[AliasBinding]]:
    """The keys a query names among ``candidates`` (every key the logs name), and for an
    alias query the alias's bindings, whose keys those are: one answer for a key
    whatever form of its name is asked."""
    ref = parse_key_ref(query) if query is not None else None
    if ref is not None and ref.alias is not None:
        scope = scope_of(ref, None, None)
        assert scope is not None  # an alias reference always has a scope
        bindings = history.bindings_named(ref.alias, scope.account or None, scope.region or None)
        return list(dict.fromkeys(b.key_arn for b in bindings)), bindings
    return sorted(arn for arn in candidates if _matches(query, arn, history)), []


def _parse_control(row: dict[str, Any], warnings: list[str]) -> _Control:
    """The control record parsed again; one that cannot be (or is not an object) is
    still placed by its decoded columns, marked unreadable, never skipped."""
    reason: str | None = None
    try:
        record = loads_record(row[S.RAW])
    except RecordTextError as exc:
        reason = exc.reason
    else:
        if isinstance(record, Mapping):
            return _Control(row[S.EVENT_TIME], row, record)
        reason = "not a JSON object"
    warnings.append(
        f"{row[S.SOURCE]} record {row[S.RECORD_INDEX]} ({row[S.EVENT_NAME]}): record text "
        f"unreadable ({reason}); placed by its decoded columns, details unknown"
    )
    columns = {
        "eventName": row[S.EVENT_NAME],
        "eventTime": None,
        "errorCode": row.get(S.ERROR_CODE),
        "errorMessage": row.get(S.ERROR_MESSAGE),
        "eventID": row.get(S.EVENT_ID),
    }
    return _Control(row[S.EVENT_TIME], row, columns, reason)


def _wildcard_reaches(record: Mapping[str, Any] | None, key_arn: str) -> bool:
    """Whether a policy that names Principal "*" opens the key to anyone (or may: a
    condition kmslog cannot verify) once its conditions are evaluated; a "*" narrowed by
    kms:CallerAccount or aws:PrincipalOrgID does not (kmslog/kms/policy.py)."""
    from kmslog.kms.policy import PolicyError, access, parse_policy

    params = _as_mapping((record or {}).get("requestParameters"))
    text = params.get("policy")
    parsed = parse_policy(text) if isinstance(text, str) else PolicyError("no policy text")
    if isinstance(parsed, PolicyError):
        return True  # unreadable: stay on the safe side
    account = key_arn.split(":")[4] if key_arn.count(":") >= 5 else ""
    found = access(parsed, account)
    return any(g.grantee in ("public", "conditional") for g in found.grants)


def attach_dependents(result: LifecycleResult, found: DependentsResult) -> None:
    """Each key's dependents into its lifecycle; a key known from its control plane
    alone was not used at all."""
    from kmslog.analyses.dependents import KeyDependents

    by_arn = {k.key_arn: k for k in found.keys}
    for life in result.keys:
        arn = life.key.arn
        life.dependents = by_arn.get(arn) or KeyDependents(arn, calls=0, failed=0, unattributed=0)
        if result.logs_end is not None:
            life.findings = [
                _with_recent_users(f, life.dependents, result.logs_end) for f in life.findings
            ]


# A key-deletion finding names what used the key in this many days before the logs end.
RECENT_USE_DAYS = 30
_DELETION_KINDS = frozenset({"deletion_pending", "deletion_not_observed"})


def _with_recent_users(finding: Finding, found: Any, end: datetime) -> Finding:
    """A deletion finding that says which resources still used the key lately."""
    if finding.kind not in _DELETION_KINDS:
        return finding
    try:
        since = end - timedelta(days=RECENT_USE_DAYS)
    except OverflowError:  # logs ending in year 1: everything is recent
        since = datetime.min.replace(tzinfo=end.tzinfo)
    recent = sorted(
        (d for d in found.dependents if d.last >= since),
        key=lambda d: (-d.calls, d.kind, d.resource),
    )
    if not recent:
        return replace(
            finding,
            detail=finding.detail + f"; no resource used it in the last {RECENT_USE_DAYS} days",
        )
    named = ", ".join(f"{d.kind} {d.resource}" for d in recent[:3])
    more = f" and {len(recent) - 3} more" if len(recent) > 3 else ""
    return replace(
        finding,
        detail=finding.detail
        + f"; still used in the last {RECENT_USE_DAYS} days by {len(recent)} resource(s): "
        + named
        + more,
    )


def build_result(query: str | None, partial: LifecyclePartial) -> LifecycleResult:
    result = LifecycleResult(query, [], logs_start=partial.logs_start, logs_end=partial.logs_end)

    control = _concat(partial.control)
    controls: list[_Control] = []
    if control is not None:
        control = _first_copies(control, _SAME_CONTROL)
        control = one_copy(
            control,
            [S.EVENT_NAME],
            S.RECIPIENT_ACCOUNT_ID,
            pl.col(S.KEY_IDS)
            .list.eval(pl.element().filter(pl.element().str.contains(KEY_ARN_REGEX)))
            .list.first(),
        ).sort([S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, S.EVENT_ID], nulls_last=True)
        for row in control.iter_rows(named=True):
            controls.append(_parse_control(row, result.warnings))

    alias_events = [
        event
        for c in controls
        if c.unreadable is None
        and c.row[S.EVENT_NAME] in ALIAS_EVENTS
        and (event := alias_event_from_record(c.record)) is not None
    ]
    history = AliasHistory(alias_events, _observations(partial))

    keys: dict[str, _KeyData] = defaultdict(_KeyData)
    for c in controls:
        found = c.keys(history)
        for arn in found.keys:
            keys[arn].control.append(c)
        if not found.keys and found.unresolved:
            result.unresolved.append(
                f"{c.row[S.SOURCE]} record {c.row[S.RECORD_INDEX]} "
                f"({c.row[S.EVENT_NAME]}): {', '.join(found.unresolved)}"
            )

    usage = _concat(partial.usage)
    ticks = _concat(partial.ticks)
    lost: dict[str, int] = defaultdict(int)
    if usage is not None and ticks is not None:
        usage = _with_keys(usage, history, defaultdict(int))
        ticks = _with_keys(ticks, history, lost)
        for seen in ticks["key"].unique().to_list():
            keys.setdefault(seen, _KeyData())  # a key seen only in use is a key of --all
    for ref_text, calls in sorted(lost.items()):
        result.unresolved.append(
            f"{calls} call(s) named {ref_text}, which no alias history resolves at their time"
        )
    evidence = _concat(partial.evidence)
    if evidence is not None:
        evidence = _first_copies(evidence, _SAME_EVIDENCE)
        evidence = one_copy(evidence, ["operation", "ref"], "account", pl.col("ref")).sort(
            [S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, "ref"], nulls_last=True
        )
        for row in evidence.iter_rows(named=True):
            owner = resolve_ref(
                row["ref"], row["region"], row["account"], row[S.EVENT_TIME], history
            )
            if owner is not None:
                keys[owner].evidence.append(row)

    wanted, result.alias_bindings = wanted_keys(query, keys, history)
    if usage is not None and ticks is not None:
        _attach_usage(
            usage.filter(pl.col("key").is_in(wanted)),
            ticks.filter(pl.col("key").is_in(wanted)),
            keys,
        )
    for arn in wanted:
        result.keys.append(
            _lifecycle(
                arn, keys.get(arn, _KeyData()), history, partial.logs_start, partial.logs_end
            )
        )
    return result


def _lifecycle(
    arn: str,
    data: _KeyData,
    history: AliasHistory,
    logs_start: datetime | None,
    logs_end: datetime | None,
) -> KeyLifecycle:
    info = KeyInfo(arn=arn, key_id=arn.rsplit("/", 1)[-1], aliases=history.aliases_of(arn))
    policy = KeyMemory()
    entries: list[TimelineEntry] = []
    inputs: list[StateInput] = []
    findings: list[Finding] = []
    last_schedule: StateInput | None = None
    last_import: tuple[datetime, Any] | None = None
    expired_after_import = False

    for c in data.control:
        rec, row = c.record, c.row
        # The decoded column, not the text parsed again: the two agree, and the column
        # is there even when the text cannot be parsed.
        name = str(row[S.EVENT_NAME])
        success = not row.get(S.ERROR_CODE)
        if c.unreadable is not None:
            described = Described(
                f"record text unreadable ({c.unreadable}): {name} placed by its time, key "
                "and error code; what it changed is unknown"
            )
            findings.append(
                Finding(
                    "unreadable_record",
                    c.time,
                    f"{name} at {row[S.SOURCE]} record {row[S.RECORD_INDEX]}: {described.detail}",
                    row.get(S.EVENT_ID),
                )
            )
        else:
            described = describe(rec, policy)
        entries.append(
            TimelineEntry(
                time=c.time,
                event_name=name,
                category=CATEGORIES.get(name, "other"),
                actor=_actor(row),
                source_ip=row.get(S.SOURCE_IP),
                event_id=row.get(S.EVENT_ID),
                success=success,
                detail=described.detail,
                source=row[S.SOURCE],
                record_index=row[S.RECORD_INDEX],
                error_code=row.get(S.ERROR_CODE),
            )
        )
        for warning in described.warnings:
            findings.append(Finding("unreadable_date", c.time, warning, row.get(S.EVENT_ID)))
        if c.unreadable is not None:
            # What the columns tell: the call, its time, whether it failed and the state
            # its error proves. A ScheduleKeyDeletion's window (so its date) is unknown.
            item = StateInput(
                time=c.time,
                event_name=name,
                success=success,
                event_id=row.get(S.EVENT_ID),
                evidence=None if success else state_from_error(row.get(S.ERROR_MESSAGE)),
            )
        else:
            item = state_input(rec, c.time, described)
        # ReplicateKey creates the replica; for the primary it is only a timeline entry.
        creates_this_key = name != "ReplicateKey" or _replica_arn(rec) == arn
        if creates_this_key:
            inputs.append(item)
        if not success:
            continue
        if c.unreadable is not None:
            if name == "ScheduleKeyDeletion":
                last_schedule = item
            continue
        if name in ("CreateKey", "ReplicateKey") and creates_this_key and info.origin is None:
            _fill_created(info, rec, c.time, row.get(S.EVENT_ID), findings)
        elif name == "UpdateKeyDescription":
            described_text = _as_mapping(rec.get("requestParameters")).get("description")
            info.description = described_text if isinstance(described_text, str) else None
        elif name == "ScheduleKeyDeletion":
            last_schedule = item
        elif name == "ImportKeyMaterial":
            last_import = (c.time, described.valid_to)
            expired_after_import = False
        elif name == "DeleteExpiredKeyMaterial":
            expired_after_import = True
            findings.append(
                Finding(
                    "material_expired",
                    c.time,
                    "imported key material expired; the key is PendingImport until re-imported",
                    row.get(S.EVENT_ID),
                )
            )
        diff = described.policy_diff
        if diff is not None and "*" in diff.principals_added and _wildcard_reaches(rec, arn):
            findings.append(
                Finding(
                    "policy_wildcard_principal",
                    c.time,
                    'key policy now allows Principal "*"',
                    row.get(S.EVENT_ID),
                )
            )
        outsiders = _other_accounts(diff.principals_added, arn) if diff is not None else []
        if outsiders:
            findings.append(
                Finding(
                    "policy_external_principal",
                    c.time,
                    "key policy now allows principals of other accounts: " + ", ".join(outsiders),
                    row.get(S.EVENT_ID),
                )
            )

    for row in data.evidence:
        inputs.append(
            StateInput(
                time=row[S.EVENT_TIME],
                event_name=row["operation"] or "",
                success=False,
                event_id=row[S.EVENT_ID],
                evidence=state_from_error(row[S.ERROR_MESSAGE]),
            )
        )
    times = [c.time for c in data.control] + [r["first"] for r in data.usage]
    times += [r[S.EVENT_TIME] for r in data.evidence]
    first_seen = min(times) if times else None
    start = logs_start if logs_start is not None else first_seen
    states = replay(sorted(inputs, key=lambda i: i.time), start)
    facts = _enabled_by_use(states.intervals, data.usage)

    for attempt in states.attempts:
        findings.append(
            Finding(
                "failed_state_change",
                attempt.time,
                f"{attempt.event_name} failed; the state did not change",
                attempt.event_id,
            )
        )
    for conflict in states.conflicts:
        findings.append(
            Finding(
                "state_conflict",
                conflict.time,
                f"{conflict.event_name} shows the key {conflict.seen} while the logged history "
                f"says {conflict.expected}: a state change is missing from the logs",
                conflict.event_id,
            )
        )
    for late in states.after_deletion:
        findings.append(
            Finding(
                "event_after_deletion",
                late.time,
                f"{late.event_name} after the key was deleted",
                late.event_id,
            )
        )

    usage_rows = _usage(data.usage_table)
    in_state = _uses_in_states(states.intervals, data.usage, data.evidence)
    for use in _per_principal(in_state):
        findings.append(use)
    findings.extend(_used_after_alias_left(info.aliases, data.usage))

    deletion: datetime | None = None
    if states.current in (KeyState.PENDING_DELETION,) and last_schedule is not None:
        deletion = last_schedule.deletion_date
        if deletion is not None and logs_end is not None and _later(logs_end, deletion):
            findings.append(
                Finding(
                    "deletion_not_observed",
                    deletion,
                    "deletion date passed more than 24 h before the logs end but no DeleteKey "
                    "was logged: state unknown, not cancelled",
                    last_schedule.event_id,
                )
            )
        elif deletion is not None:
            findings.append(
                Finding(
                    "deletion_pending",
                    deletion,
                    f"key will be deleted on or after {readable(deletion, seconds=False)}",
                    last_schedule.event_id,
                )
            )
    if last_import is not None and not expired_after_import:
        valid_to = last_import[1]
        if valid_to is not None and valid_to.value is not None:
            passed = logs_end is not None and valid_to.value < logs_end
            findings.append(
                Finding(
                    "material_expiry",
                    valid_to.value,
                    "imported key material "
                    + ("expired" if passed else "expires")
                    + f" at {readable(valid_to.value, seconds=False)}"
                    + (" (no DeleteExpiredKeyMaterial logged)" if passed else ""),
                    None,
                )
            )

    last_used_values = [r["ok_last"] for r in data.usage if r["ok_last"] is not None]
    last_times = times + [r["last"] for r in data.usage]
    findings.sort(key=lambda f: (f.time is None, f.time or datetime.min, f.kind))
    return KeyLifecycle(
        key=info,
        states=states.intervals,
        events=entries,
        usage=usage_rows,
        findings=findings,
        facts=facts,
        uses_in_state=in_state,
        first_seen=first_seen,
        last_seen=max(last_times) if last_times else None,
        last_used=max(last_used_values) if last_used_values else None,
        deletion_date=deletion,
        usage_points=sorted((r["first"], r["count"], r["errors"]) for r in data.usage),
        grants=sorted(policy.grants.values(), key=lambda g: (g.created is None, g.created)),
    )


def _later(end: datetime, deletion: datetime) -> bool:
    """The logs end more than DELETION_SLACK after the deletion date (a date in the
    last day of the calendar has no slack after it: never overdue)."""
    due = shifted(deletion, DELETION_SLACK)
    return due is not None and end > due


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


_ACCOUNT_IN_PRINCIPAL = re.compile(r"^AWS:(?:arn:[^:]+:(?:iam|sts)::)?(\d{12})\b")


def _other_accounts(principals: Iterable[str], key_arn: str) -> list[str]:
    """Principals added to a policy that belong to another account than the key's."""
    owner = parse_key_ref(key_arn).account
    found = []
    for principal in principals:
        match = _ACCOUNT_IN_PRINCIPAL.match(principal)
        if match and owner and match.group(1) != owner:
            found.append(principal)
    return found


def _replica_arn(record: Mapping[str, Any]) -> str | None:
    response = record.get("responseElements")
    meta = response.get("replicaKeyMetadata") if isinstance(response, Mapping) else None
    arn = meta.get("arn") if isinstance(meta, Mapping) else None
    return arn if isinstance(arn, str) else None


def _fill_created(
    info: KeyInfo,
    record: Mapping[str, Any],
    when: datetime,
    event_id: str | None,
    findings: list[Finding],
) -> None:
    response = record.get("responseElements")
    response = response if isinstance(response, Mapping) else {}
    meta = response.get("keyMetadata") or response.get("replicaKeyMetadata") or {}
    request = record.get("requestParameters")
    request = request if isinstance(request, Mapping) else {}
    if not isinstance(meta, Mapping):
        meta = {}
    info.origin = field_text(meta.get("origin") or request.get("origin") or "AWS_KMS")
    created = read_date(meta.get("creationDate"))
    info.created_event_id = event_id
    if created is None:
        info.created = when
    else:
        info.created_raw = created.raw
        info.created = created.value or when
        if created.value is None:
            findings.append(
                Finding(
                    "unreadable_date",
                    when,
                    f"unreadable creationDate kept verbatim: {created.raw!r}",
                    event_id,
                )
            )
    description = meta.get("description") or request.get("description")
    if isinstance(description, str):
        info.description = description
    multi = meta.get("multiRegion", request.get("multiRegion"))
    info.multi_region = multi if isinstance(multi, bool) else None


def _usage(rows: Iterable[dict[str, Any]]) -> list[UsageRow]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        k = (r["principal"], r["operation"])
        m = merged.get(k)
        if m is None:
            merged[k] = {
                "count": r["count"],
                "errors": r["errors"],
                "first": r["first"],
                "last": r["last"],
                "ips": set(r["source_ips"] or ()),
                "invoked": set(r["invoked_by"] or ()),
                "ctx": set(r["context_keys"] or ()),
            }
            continue
        m["count"] += r["count"]
        m["errors"] += r["errors"]
        m["first"] = min(m["first"], r["first"])
        m["last"] = max(m["last"], r["last"])
        m["ips"].update(r["source_ips"] or ())
        m["invoked"].update(r["invoked_by"] or ())
        m["ctx"].update(r["context_keys"] or ())
    return sorted(
        (
            UsageRow(
                principal=k[0],
                operation=k[1],
                count=m["count"],
                errors=m["errors"],
                first=m["first"],
                last=m["last"],
                source_ips=tuple(sorted(m["ips"])),
                invoked_by=tuple(sorted(m["invoked"])),
                context_keys=tuple(sorted(m["ctx"])),
            )
            for k, m in merged.items()
        ),
        key=lambda u: (-u.count, u.principal, u.operation),
    )


def _uses_in_states(
    intervals: list[Any], usage: list[dict[str, Any]], evidence: list[dict[str, Any]]
) -> list[UseInState]:
    """Uses whose time falls in a watched state, per state × principal × operation."""
    found: dict[tuple[KeyState, str, str], dict[str, Any]] = {}
    example: dict[tuple[KeyState, str, str], str] = {}
    for interval in intervals:
        if interval.state not in WATCHED_STATES:
            continue
        # The example record is a failure of that caller inside this state, when the
        # logs hold one (evidence is in time order).
        for row in evidence:
            t = row[S.EVENT_TIME]
            inside = (interval.start is None or t >= interval.start) and (
                interval.end is None or t < interval.end
            )
            if inside and row[S.EVENT_ID]:
                example.setdefault(
                    (interval.state, row["principal"], row["operation"]), row[S.EVENT_ID]
                )
        for row in usage:
            t = row["first"]
            if (interval.start is not None and t < interval.start) or (
                interval.end is not None and t >= interval.end
            ):
                continue
            k = (interval.state, row["principal"], row["operation"])
            m = found.setdefault(
                k, {"count": 0, "errors": 0, "first": row["first"], "last": row["last"]}
            )
            m["count"] += row["count"]
            m["errors"] += row["errors"]
            m["first"] = min(m["first"], row["first"])
            m["last"] = max(m["last"], row["last"])
    return [
        UseInState(
            state=k[0],
            principal=k[1],
            operation=k[2],
            count=m["count"],
            errors=m["errors"],
            first=m["first"],
            last=m["last"],
            event_id=example.get(k),
        )
        for k, m in sorted(found.items(), key=lambda kv: (kv[1]["first"], kv[0][1], kv[0][2]))
    ]


_STATE_KIND = {
    KeyState.PENDING_DELETION: "used_while_pending_deletion",
    KeyState.PENDING_REPLICA_DELETION: "used_while_pending_deletion",
    KeyState.DISABLED: "used_while_disabled",
    KeyState.PENDING_IMPORT: "used_while_pending_import",
    KeyState.UNAVAILABLE: "used_while_unavailable",
    KeyState.DELETED: "used_after_deletion",
}


def _per_principal(uses: list[UseInState]) -> list[Finding]:
    grouped: dict[tuple[KeyState, str], list[UseInState]] = defaultdict(list)
    for use in uses:
        if use.operation not in NOT_DEPENDENCIES:
            grouped[(use.state, use.principal)].append(use)
    findings: list[Finding] = []
    for (state, principal), items in grouped.items():
        count = sum(u.count for u in items)
        errors = sum(u.errors for u in items)
        ops = ", ".join(sorted({u.operation for u in items}))
        first = min(u.first for u in items)
        last = max(u.last for u in items)
        findings.append(
            Finding(
                _STATE_KIND[state],
                first,
                f"{principal} still uses the key while {state}: {count} call(s) "
                f"({errors} failed) of {ops}, {readable(first)} .. {readable(last)}",
                next((u.event_id for u in items if u.event_id), None),
            )
        )
    return findings


def _enabled_by_use(intervals: list[Any], usage: list[dict[str, Any]]) -> list[Finding]:
    """A successful cryptographic call while the state is Unknown shows it was Enabled."""
    found: list[Finding] = []
    for interval in intervals:
        if interval.state is not KeyState.UNKNOWN:
            continue
        inside = [
            r
            for r in usage
            if r["ok_first"] is not None
            and r["operation"] in CRYPTO_OPERATIONS
            and (interval.start is None or r["ok_first"] >= interval.start)
            and (interval.end is None or r["ok_first"] < interval.end)
        ]
        if inside:
            first = min(inside, key=lambda r: r["ok_first"])
            found.append(
                Finding(
                    "enabled_by_use",
                    first["ok_first"],
                    f"state not logged, but a successful {first['operation']} by "
                    f"{first['principal']} shows the key was Enabled then",
                    None,
                )
            )
    return found


def _used_after_alias_left(
    bindings: list[AliasBinding], usage: list[dict[str, Any]]
) -> list[Finding]:
    """Callers that kept using the key directly after an alias stopped pointing to it
    (old ciphertexts, hard-coded ARNs): they still need this key."""
    found: list[Finding] = []
    for binding in bindings:
        end = binding.end
        if end is None:
            continue
        late: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in usage:
            if row["first"] >= end and row["operation"] not in NOT_DEPENDENCIES:
                late[row["principal"]].append(row)
        for principal, rows in sorted(late.items()):
            count = sum(r["count"] for r in rows)
            ops = ", ".join(sorted({r["operation"] for r in rows}))
            last = max(r["last"] for r in rows)
            found.append(
                Finding(
                    "used_after_alias_left",
                    min(r["first"] for r in rows),
                    f"{principal} kept using the key after {binding.scope.name} stopped "
                    f"pointing to it at {readable(end, seconds=False)}: {count} call(s) of "
                    f"{ops}, last {readable(last)}",
                    binding.end_event_id,
                )
            )
    return found
