"""The planted scenarios of the sample corpus (docs/sample_logs.md), one ``Plan`` each."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.ctgen import agents, clock
from tools.ctgen.ids import IdSource
from tools.ctgen.records import (
    Caller,
    alarm_names_op,
    alias_op,
    create_grant,
    create_key,
    delete_metric_filter,
    err_access_denied,
    err_cloudtrail_denied,
    err_not_found,
    err_not_pending_deletion,
    eventbridge_rule_op,
    get_parameters_for_import,
    import_key_material,
    key_op,
    key_policy,
    kms_control,
    kms_crypto,
    kms_service_event,
    list_aliases,
    put_event_selectors,
    put_key_policy,
    put_metric_alarm,
    put_metric_filter,
    retire_grant,
    revoke_grant,
    schedule_key_deletion,
    stop_logging,
    tag_resource,
    update_key_description,
)
from tools.ctgen.sample_estate import (
    CIS_ALARM,
    CIS_FILTER,
    CIS_PATTERN,
    HUMAN_AGENT,
    PENDING_ALARM,
    PENDING_FILTER,
    PENDING_PATTERN,
    PY_AGENT,
    S12_IP,
    S12_PRINCIPAL,
    SHARED_TRAIL,
    TF_AGENT,
    A,
    B,
    C,
    SampleWorld,
    T,
    scenario_times,
)
from tools.ctgen.sample_quiet import plant_quiet_anomalies
from tools.ctgen.sample_threats import plant_kms_threats
from tools.ctgen.scenarios import (
    ScenarioResult,
    inject_access_denied_probe,
    inject_alarm_tampering,
    inject_calls,
    inject_disable_then_delete,
    inject_exfiltration,
    inject_key_state_failures,
    inject_policy_backdoor,
    label,
)
from tools.ctgen.world import (
    Principal,
    Record,
)


@dataclass
class Plan:
    """Planted records of one scenario plus the summary ground truth keeps of each."""

    sid: str
    title: str
    ids: IdSource
    records: list[Record] = field(default_factory=list)
    labels: list[dict] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    notes: dict = field(default_factory=dict)

    def add(self, *recs: Record) -> Record:
        self.records.extend(recs)
        return recs[-1]

    def merge(self, res: ScenarioResult) -> ScenarioResult:
        self.records.extend(res.records)
        self.labels.extend(res.labels)
        return res


def _console(p: Principal, ip: str = "198.51.100.44") -> Caller:
    return Caller(p, ip=ip, console=True)


def _cli(p: Principal, ip: str = "198.51.100.44", agent: str = HUMAN_AGENT) -> Caller:
    return Caller(p, ip=ip, agent=agent)


def plant(sw: SampleWorld) -> list[Plan]:
    k, p, wl, S = sw.keys, sw.p, sw.wl, scenario_times
    plans: list[Plan] = []

    def new(sid: str, title: str, *keys: str) -> Plan:
        plan = Plan(sid, title, IdSource("scenario", sid), keys=list(keys))
        plans.append(plan)
        return plan

    # 9 — CloudWatch metric filters and alarms in every account's home region.
    pl = new(
        "s9_cloudwatch_setup", "metric filters and alarms for pending-deletion use and CIS 4.7"
    )
    for acct, key in ((A, "s9_setup_a"), (B, "s9_setup_b"), (C, "s9_setup_c")):
        caller = Caller(
            p[{A: "secbase-a", B: "secbase-b", C: "secbase-c"}[acct]],
            ip="10.9.0.15",
            agent=TF_AGENT,
        )
        t = S[key]
        group = f"aws-cloudtrail-logs-{acct}"
        topic = [f"arn:aws:sns:us-east-1:{acct}:security-alerts"]
        pl.add(
            put_metric_filter(
                pl.ids,
                t,
                "us-east-1",
                caller,
                log_group=group,
                filter_name=PENDING_FILTER,
                pattern=PENDING_PATTERN,
                metric_name=PENDING_FILTER,
                namespace="CloudTrailLogMetrics",
            ),
            put_metric_alarm(
                pl.ids,
                t + 4,
                "us-east-1",
                caller,
                alarm_name=PENDING_ALARM,
                metric_name=PENDING_FILTER,
                namespace="CloudTrailLogMetrics",
                actions=topic,
                description="Use of a KMS key that is pending deletion",
            ),
            put_metric_filter(
                pl.ids,
                t + 9,
                "us-east-1",
                caller,
                log_group=group,
                filter_name=CIS_FILTER,
                pattern=CIS_PATTERN,
                metric_name=CIS_FILTER,
                namespace="CISBenchmark",
            ),
            put_metric_alarm(
                pl.ids,
                t + 13,
                "us-east-1",
                caller,
                alarm_name=CIS_ALARM,
                metric_name=CIS_FILTER,
                namespace="CISBenchmark",
                actions=topic,
                description="CIS 4.7 disabling or scheduled deletion of customer created CMKs",
            ),
        )
        pl.notes.setdefault("log_groups", {})[acct] = group

    # 1 — key scheduled for deletion (7 days) and still used until deleted.
    pl = new(
        "s1_pending_deletion_in_use", "key scheduled for deletion and still used", "legacy-orders"
    )
    key = k["legacy-orders"]
    pl.add(schedule_key_deletion(pl.ids, S["s1_schedule"], key, _console(p["admin-a"]), days=7))
    fail_times = [
        T(x)
        for x in (
            "2026-09-15T14:31:02Z",
            "2026-09-15T18:12:40Z",
            "2026-09-16T09:03:11Z",
            "2026-09-16T09:03:12Z",
            "2026-09-16T09:03:14Z",
            "2026-09-17T11:20:05Z",
            "2026-09-18T02:15:33Z",
            "2026-09-19T13:40:51Z",
            "2026-09-21T08:05:10Z",
            "2026-09-21T08:05:12Z",
            "2026-09-22T10:30:00Z",
        )
    ]
    fails = inject_key_state_failures(pl.ids, wl["legacy-orders"], fail_times, "pending_deletion")
    pl.add(*fails)
    pl.notes["duplicate_event_id"] = fails[2]["eventID"]
    pl.add(kms_service_event(pl.ids, S["s1_delete"], "DeleteKey", key))
    gone = kms_crypto(
        pl.ids,
        T("2026-09-23T09:12:44Z"),
        "GenerateDataKey",
        key,
        Caller(p["orders-processor"], invoked_by="lambda.amazonaws.com"),
        key_ref=key.arn,
        context={
            "aws:lambda:FunctionArn": f"arn:aws:lambda:us-east-1:{A}:function:orders-processor"
        },
        error=err_not_found(key),
    )
    del gone["resources"]  # a deleted key cannot be resolved: only requestParameters.keyId names it
    pl.add(gone)
    pl.notes["deletion_date"] = clock.iso(S["s1_schedule"] + 7 * clock.DAY)

    # 2 — disabled, failing calls, re-enabled.
    pl = new("s2_disabled_then_enabled", "key disabled, calls fail, key re-enabled", "reporting")
    key = k["reporting"]
    pl.add(
        create_key(pl.ids, S["s2_create"], key, _cli(p["admin-b"], "198.51.100.61")),
        alias_op(
            pl.ids,
            S["s2_create"] + 50,
            "CreateAlias",
            "alias/reporting",
            key,
            _cli(p["admin-b"], "198.51.100.61"),
        ),
    )
    pl.add(
        key_op(pl.ids, S["s2_disable"], "DisableKey", key, _console(p["admin-b"], "198.51.100.61"))
    )
    pl.add(
        *inject_key_state_failures(
            pl.ids,
            wl["reporting"],
            [
                T(x)
                for x in (
                    "2026-09-17T10:15:20Z",
                    "2026-09-17T10:15:21Z",
                    "2026-09-17T11:40:02Z",
                    "2026-09-17T14:05:09Z",
                    "2026-09-17T14:05:10Z",
                    "2026-09-17T14:05:13Z",
                    "2026-09-18T09:30:44Z",
                    "2026-09-18T09:30:47Z",
                )
            ],
            "disabled",
        )
    )
    pl.add(
        key_op(pl.ids, S["s2_enable"], "EnableKey", key, _console(p["admin-b"], "198.51.100.61"))
    )

    # 3 — deletion scheduled then cancelled: the key is left Disabled.
    pl = new(
        "s3_cancelled_deletion_left_disabled",
        "deletion cancelled, key stays Disabled",
        "old-backups",
    )
    key = k["old-backups"]
    adm = _cli(p["admin-c"], "198.51.100.77")
    pl.add(
        create_key(pl.ids, S["s3_create"], key, adm),
        alias_op(pl.ids, S["s3_create"] + 40, "CreateAlias", "alias/old-backups", key, adm),
        schedule_key_deletion(pl.ids, S["s3_schedule"], key, adm, days=30),
    )
    pl.add(
        *inject_key_state_failures(
            pl.ids,
            wl["old-backups"],
            [T("2026-09-22T01:10:31Z"), T("2026-09-22T01:10:33Z"), T("2026-09-23T01:12:02Z")],
            "pending_deletion",
        )
    )
    pl.add(key_op(pl.ids, S["s3_cancel"], "CancelKeyDeletion", key, adm, key_ref=key.arn))
    pl.add(
        key_op(
            pl.ids,
            S["s3_cancel"] + 31,
            "CancelKeyDeletion",
            key,
            adm,
            key_ref=key.arn,
            error=err_not_pending_deletion(key),
        )
    )
    pl.add(
        *inject_key_state_failures(
            pl.ids,
            wl["old-backups"],
            [T("2026-09-24T01:05:10Z"), T("2026-09-24T01:05:12Z"), T("2026-09-25T01:07:40Z")],
            "disabled",
        )
    )

    # 4 — CIS 4.7 matches that change nothing: an unprivileged principal is denied.
    pl = new(
        "s4_cis_failed_attempt",
        "denied ScheduleKeyDeletion and DisableKey (no state change)",
        "eu-billing",
    )
    key = k["eu-billing"]
    aud = _cli(p["auditor-a"], "198.51.100.90")
    actor = p["auditor-a"].session_arn(S["s4_attempt"])
    sched = schedule_key_deletion(
        pl.ids,
        S["s4_attempt"],
        key,
        aud,
        days=7,
        error=err_access_denied(actor, "kms:ScheduleKeyDeletion", key.arn),
    )
    dis = key_op(
        pl.ids,
        S["s4_attempt"] + 95,
        "DisableKey",
        key,
        aud,
        error=err_access_denied(actor, "kms:DisableKey", key.arn),
    )
    pl.add(sched, dis)

    # 5 — imported key material: expiry, pending-import failures, re-import.
    pl = new(
        "s5_imported_material",
        "EXTERNAL key: import, expiry, pending import, re-import",
        "hsm-import",
    )
    key = k["hsm-import"]
    adm = _cli(p["admin-a"], "198.51.100.44")
    pl.add(
        create_key(pl.ids, S["s5_create"], key, adm),
        alias_op(pl.ids, S["s5_create"] + 28, "CreateAlias", "alias/tokenization", key, adm),
        get_parameters_for_import(pl.ids, S["s5_create"] + 319, key, adm),
    )
    pl.add(
        *inject_key_state_failures(
            pl.ids, wl["tokenization"], [S["s5_create"] + 470], "pending_import", op="Encrypt"
        )
    )
    pl.add(
        import_key_material(
            pl.ids, S["s5_import1"], key, adm, valid_to=S["s5_expire"], comma_after_year=False
        )
    )
    pl.add(kms_service_event(pl.ids, S["s5_expire"], "DeleteExpiredKeyMaterial", key))
    pl.add(
        *inject_key_state_failures(
            pl.ids,
            wl["tokenization"],
            [
                T(x)
                for x in (
                    "2026-09-14T09:30:05Z",
                    "2026-09-14T09:30:09Z",
                    "2026-09-14T15:00:41Z",
                    "2026-09-15T10:10:00Z",
                    "2026-09-15T10:10:02Z",
                    "2026-09-15T10:10:03Z",
                    "2026-09-16T08:45:30Z",
                )
            ],
            "pending_import",
        )
    )
    valid_to_2 = T("2026-10-12T00:00:00Z")
    pl.add(
        get_parameters_for_import(pl.ids, S["s5_import2"] - 170, key, adm),
        import_key_material(pl.ids, S["s5_import2"], key, adm, valid_to=valid_to_2),
    )
    pl.notes["valid_to"] = [clock.iso(S["s5_expire"]), clock.iso(valid_to_2)]

    # 6 — rotation.
    pl = new(
        "s6_rotation", "automatic rotation enabled, on-demand rotation completed", "app-secrets"
    )
    key = k["app-secrets"]
    pl.add(
        key_op(
            pl.ids,
            S["s6_enable_rotation"],
            "EnableKeyRotation",
            key,
            _console(p["admin-b"], "198.51.100.61"),
        ),
        key_op(
            pl.ids,
            S["s6_rotate_on_demand"],
            "RotateKeyOnDemand",
            key,
            _cli(p["admin-b"], "198.51.100.61"),
        ),
        kms_service_event(pl.ids, S["s6_rotate_on_demand"] + 37, "RotateKey", key),
    )

    # 7 — key policy change and grants.
    pl = new(
        "s7_policy_and_grants",
        "policy statement added, grants created, retired, revoked",
        "shared-data",
    )
    key = k["shared-data"]
    adm = _cli(p["admin-c"], "198.51.100.77")
    base_users = [p["partner-gateway"].arn]
    pl.add(
        create_key(
            pl.ids,
            S["s7_create"],
            key,
            adm,
            policy=key_policy(key, users=base_users),
            tags=[{"tagKey": "team", "tagValue": "partners"}],
        ),
        alias_op(pl.ids, S["s7_create"] + 60, "CreateAlias", "alias/shared-data", key, adm),
        tag_resource(pl.ids, S["s7_create"] + 120, key, adm, {"data-class": "confidential"}),
    )
    pl.add(
        put_key_policy(
            pl.ids,
            S["s7_policy"],
            key,
            adm,
            key_policy(key, users=[*base_users, p["analytics-reader"].arn]),
        )
    )
    g1 = pl.ids.grant_id()
    g2 = pl.ids.grant_id()
    reader = p["analytics-reader"].arn
    pl.add(
        create_grant(
            pl.ids,
            S["s7_grant1"],
            key,
            adm,
            grantee=reader,
            retiring=reader,
            operations=["Decrypt", "DescribeKey"],
            name="analytics-reader-decrypt",
            grant_id=g1,
        )
    )
    pl.add(
        update_key_description(
            pl.ids, S["s7_grant2"] - 300, key, adm, "partner shared data (grants managed)"
        ),
        create_grant(
            pl.ids,
            S["s7_grant2"],
            key,
            adm,
            grantee=p["partner-batch"].arn,
            operations=["GenerateDataKey", "Encrypt"],
            constraints={"encryptionContextSubset": {"partner": "acme"}},
            name="partner-batch",
            grant_id=g2,
        ),
    )
    pl.add(
        retire_grant(
            pl.ids, S["s7_retire"], key, _cli(p["analytics-reader"], "10.3.9.9", PY_AGENT), g1
        ),
        revoke_grant(pl.ids, S["s7_revoke"], key, adm, g2),
    )
    pl.notes["grants"] = {"analytics-reader-decrypt": g1, "partner-batch": g2}

    # 8 — alias moved from one key to another; another alias deleted.
    pl = new(
        "s8_alias_moved",
        "alias/payments moved from payments-v1 to payments-v2",
        "payments-v1",
        "payments-v2",
    )
    v1, v2 = k["payments-v1"], k["payments-v2"]
    adm = _cli(p["admin-a"], "198.51.100.44")
    pl.add(
        create_key(pl.ids, S["s8_create_v1"], v1, adm),
        alias_op(pl.ids, S["s8_create_alias"], "CreateAlias", "alias/payments", v1, adm),
        create_key(pl.ids, S["s8_create_v2"], v2, adm),
        alias_op(pl.ids, S["s8_update_alias"], "UpdateAlias", "alias/payments", v2, adm),
        alias_op(
            pl.ids, S["s8_update_alias"] + 70, "CreateAlias", "alias/payments-legacy", v1, adm
        ),
        alias_op(pl.ids, S["s8_delete_alias"], "DeleteAlias", "alias/payments-legacy", v1, adm),
    )

    # 9b — ordinary CloudWatch maintenance that alarm replay must honour: alarm actions muted
    # around a planned DisableKey in 444455556666, and the pending-deletion filter of
    # 777788889999 deleted and re-created (events in the gap are not counted).
    pl = new("s9b_cloudwatch_maintenance", "alarm actions muted; a metric filter re-created")
    mb = _console(p["admin-b"], "198.51.100.61")
    pl.add(
        alarm_names_op(pl.ids, S["s9b_mute"], "us-east-1", mb, "DisableAlarmActions", [CIS_ALARM]),
        alarm_names_op(pl.ids, S["s9b_unmute"], "us-east-1", mb, "EnableAlarmActions", [CIS_ALARM]),
    )
    mc = Caller(p["secbase-c"], ip="10.9.0.15", agent=TF_AGENT)
    pl.add(
        delete_metric_filter(
            pl.ids,
            S["s9b_filter_deleted"],
            "us-east-1",
            mc,
            log_group=f"aws-cloudtrail-logs-{C}",
            filter_name=PENDING_FILTER,
        ),
        put_metric_filter(
            pl.ids,
            S["s9b_filter_recreated"],
            "us-east-1",
            mc,
            log_group=f"aws-cloudtrail-logs-{C}",
            filter_name=PENDING_FILTER,
            pattern=PENDING_PATTERN,
            metric_name=PENDING_FILTER,
            namespace="CloudTrailLogMetrics",
        ),
    )

    # Baseline colour: the root user of 444455556666 looks at keys in the console (not an anomaly
    # scenario; it puts a Root identity in the corpus).
    pl = new("b1_root_console_reads", "root user reads key metadata in the console", "reporting")
    rc = _console(p["root-b"], "198.51.100.61")
    t = S["b1_root_console"]
    rep = k["reporting"]
    pl.add(
        list_aliases(pl.ids, t, "us-east-1", rc),
        key_op(pl.ids, t + 14, "DescribeKey", rep, rc, key_ref=rep.arn),
        kms_control(
            pl.ids,
            t + 19,
            "GetKeyPolicy",
            rep,
            rc,
            request={"keyId": rep.arn, "policyName": "default"},
        ),
        kms_control(pl.ids, t + 31, "GetKeyRotationStatus", rep, rc, request={"keyId": rep.arn}),
    )

    # 10 — anomalies after the clean baseline (labelled).
    pl = new(
        "s10_anomalies",
        "anomalies in the last three days",
        "analytics-warehouse",
        "security-logs",
        "customer-pii",
        "batch-2025-archive",
        "orders",
        "hr-payroll",
    )
    ids = pl.ids
    # customer-pii is created inside the window (its life is in ground truth as well).
    pl.add(
        create_key(ids, S["s10c_create"], k["customer-pii"], _cli(p["admin-a"])),
        alias_op(
            ids,
            S["s10c_create"] + 33,
            "CreateAlias",
            "alias/customer-pii",
            k["customer-pii"],
            _cli(p["admin-a"]),
        ),
    )
    # (g) use at an hour never seen for the key: Sunday 03:00 UTC.
    pl.merge(
        inject_calls(
            ids,
            wl["hr-payroll"],
            S["s10g_unusual_hour"],
            calls=12,
            seconds=1200,
            kind="unusual_hour",
        )
    )
    # (e) a VPC-endpoint service role used from an outside public IP.
    outside = Caller(
        p["orders-api"],
        ip="185.220.101.47",
        agent=agents.KALI_CLI,
    )
    pl.merge(
        inject_calls(
            ids,
            wl["orders-api"],
            S["s10e_off_network"],
            calls=25,
            seconds=1500,
            kind="off_network_use",
            caller=outside,
            source_ips=["185.220.101.47"],
        )
    )
    # (b) key-policy backdoor followed by cross-account use.
    sec = k["security-logs"]
    pl.merge(
        inject_policy_backdoor(
            ids,
            sec,
            _cli(p["ci-deployer"], "203.0.113.200", TF_AGENT),
            S["s10b_policy"],
            json.loads(key_policy(sec, users=[p["security-analyst"].arn])),
            p["external"],
        )
    )
    # (a) exfiltration: a never-seen role mass-decrypts from three new IPs.
    pl.merge(
        inject_exfiltration(
            ids,
            k["analytics-warehouse"],
            p["tmp-migration"],
            S["s10a_exfil"],
            calls=420,
            bucket="example-warehouse-staging",
        )
    )
    # (9/10c) alarm tampering, then disable + schedule deletion by an unusual principal.
    bot = _cli(
        p["legacy-deploy"],
        "45.137.21.9",
        agents.KALI_CLI_2,
    )
    pl.merge(
        inject_alarm_tampering(
            ids,
            "us-east-1",
            bot,
            CIS_ALARM,
            S["s10c_disable_alarm_actions"],
            S["s10c_delete_alarm"],
        )
    )
    pl.merge(
        inject_disable_then_delete(
            ids, k["customer-pii"], bot, S["s10c_disable"], S["s10c_schedule"], days=7
        )
    )
    crm = wl["crm-app"]
    pl.add(
        *inject_key_state_failures(
            ids,
            crm,
            [S["s10c_disable"] + 40, S["s10c_disable"] + 41, S["s10c_disable"] + 95],
            "disabled",
        )
    )
    pending_times = [
        S["s10c_schedule"] + 300 + i * 7200 + ids.rng.randrange(600) for i in range(18)
    ]
    pl.add(*inject_key_state_failures(ids, crm, pending_times, "pending_deletion"))
    # (f) dormant key (used only in week 1) revived.
    pl.merge(
        inject_calls(
            ids,
            wl["archive"],
            S["s10f_dormant"],
            calls=30,
            seconds=1500,
            kind="dormant_key_revived",
        )
    )
    # (d) access-denied probing across several keys.
    probe = Caller(p["ci-runner"], ip="10.2.44.17", agent=PY_AGENT)
    pl.merge(
        inject_access_denied_probe(
            ids,
            [k["reporting"], k["analytics-warehouse"], k["data-lake"], k["batch-2025-archive"]],
            probe,
            S["s10d_probe"],
            calls=24,
        )
    )
    plant_eventbridge_rule(sw, new)
    plant_trail_tampering(sw, new)
    plant_kms_threats(sw, new)
    plant_quiet_anomalies(sw, new)
    return plans


# The EventBridge rule of scenario 11 (tests/eventbridge/list-rules.json holds
# what `aws events list-rules` prints for it).
EB_RULE = "kms-disable-or-delete-alert"
EB_PATTERN = json.dumps(
    {
        "source": ["aws.kms"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["kms.amazonaws.com"],
            "eventName": ["DisableKey", "ScheduleKeyDeletion"],
        },
    },
    separators=(",", ":"),
)


def plant_eventbridge_rule(sw: SampleWorld, new: Callable[..., Plan]) -> None:
    """11 — an EventBridge rule for DisableKey / ScheduleKeyDeletion in 111122223333
    us-east-1: created with an SNS target during the CloudWatch setup, disabled by the
    same intruder minutes before the disable-and-delete of customer-pii (10c), and
    enabled again by the security baseline in the morning."""
    p, S = sw.p, scenario_times
    pl = new("s11_eventbridge_rule", "EventBridge rule created, disabled before 10c, re-enabled")
    region = "us-east-1"
    base = Caller(p["secbase-a"], ip="10.9.0.15", agent=TF_AGENT)
    bot = _cli(p["legacy-deploy"], "45.137.21.9", agents.KALI_CLI_2)
    topic = f"arn:aws:sns:{region}:{A}:security-alerts"
    pl.add(
        eventbridge_rule_op(
            pl.ids, S["s11_put_rule"], region, base, "PutRule", EB_RULE, pattern=EB_PATTERN
        ),
        eventbridge_rule_op(
            pl.ids,
            S["s11_put_rule"] + 6,
            region,
            base,
            "PutTargets",
            EB_RULE,
            targets=[{"id": "security-alerts", "arn": topic}],
        ),
        eventbridge_rule_op(pl.ids, S["s11_disable_rule"], region, bot, "DisableRule", EB_RULE),
        eventbridge_rule_op(pl.ids, S["s11_enable_rule"], region, base, "EnableRule", EB_RULE),
    )
    pl.notes.update(
        {
            "rule": EB_RULE,
            "pattern": EB_PATTERN,
            "disabled": [clock.iso(S["s11_disable_rule"]), clock.iso(S["s11_enable_rule"])],
        }
    )


# Scenario 12's basic event selectors: every management event but KMS's, then all of them.
KMS_EXCLUDED = [
    {
        "readWriteType": "All",
        "includeManagementEvents": True,
        "dataResources": [],
        "excludeManagementEventSources": ["kms.amazonaws.com"],
    }
]
ALL_MANAGEMENT = [
    {
        "readWriteType": "All",
        "includeManagementEvents": True,
        "dataResources": [],
        "excludeManagementEventSources": [],
    }
]


def plant_trail_tampering(sw: SampleWorld, new: Callable[..., Plan]) -> None:
    """12 — the trail of 777788889999 blinded to KMS for an hour and a half: a security
    analyst's session, from an address never seen before, is denied StopLogging, then puts
    event selectors that exclude kms.amazonaws.com and later restores them. The generator
    leaves out every KMS record of the account (any Region) in between."""
    S, trail = scenario_times, SHARED_TRAIL
    who = sw.p[S12_PRINCIPAL]
    pl = new("s12_trail_tampering", "StopLogging denied, KMS events excluded from the trail")

    def via(command: str) -> Caller:
        return Caller(who, ip=S12_IP, agent=agents.cli_linux(f"cloudtrail.{command}"))

    t_stop = S["s12_stop_logging"]
    denied = err_cloudtrail_denied(who.session_arn(t_stop), "cloudtrail:StopLogging", trail)
    stop = stop_logging(pl.ids, t_stop, trail, via("stop-logging"), error=denied)
    exclude = put_event_selectors(
        pl.ids, S["s12_exclude_kms"], trail, via("put-event-selectors"), KMS_EXCLUDED
    )
    restore = put_event_selectors(
        pl.ids, S["s12_restore"], trail, via("put-event-selectors"), ALL_MANAGEMENT
    )
    pl.add(stop, exclude, restore)
    pl.labels.append(
        label(
            "trail_tampering",
            [stop, exclude, restore],
            account=trail.account_id,
            trail_arn=trail.arn,
            principal_arn=who.session_arn(S["s12_exclude_kms"]),
            source_ips=[S12_IP],
            excluded_sources=["kms.amazonaws.com"],
        )
    )
    pl.notes.update(
        {
            "trail": trail.name,
            "kms_excluded": [clock.iso(S["s12_exclude_kms"]), clock.iso(S["s12_restore"])],
        }
    )


def tag_labels_with_scenario(plans: list[Plan]) -> None:
    """Labels that need cross-scenario context."""
    for pl in plans:
        for lab in pl.labels:
            lab.setdefault("scenario", pl.sid)
