"""The shipped ``sample_logs/`` corpus: a fixed estate, five weeks of ordinary traffic and the
planted scenarios of docs/sample_logs.md. ``build_sample()`` is pure and deterministic."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tools.ctgen import agents, clock
from tools.ctgen.delivery import Digest, LogFile, batch_into_files, digest_chain, gzip_bytes
from tools.ctgen.ids import IdSource
from tools.ctgen.records import (
    Caller,
    alarm_names_op,
    alias_op,
    create_grant,
    create_key,
    delete_metric_filter,
    err_access_denied,
    err_not_found,
    err_not_pending_deletion,
    get_parameters_for_import,
    import_key_material,
    key_op,
    key_policy,
    kms_control,
    kms_crypto,
    kms_service_event,
    list_aliases,
    put_key_policy,
    put_metric_alarm,
    put_metric_filter,
    retire_grant,
    revoke_grant,
    schedule_key_deletion,
    tag_resource,
    update_key_description,
)
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
from tools.ctgen.traffic import NoiseProfile, background
from tools.ctgen.truth import (
    active_matches,
    alarm_timelines,
    alias_histories,
    filter_windows,
    is_cis_4_7,
    is_pending_deletion_error,
    key_histories,
    key_usage,
    metric_points,
)
from tools.ctgen.world import (
    Account,
    Key,
    Principal,
    Record,
    Workload,
    World,
    make_key,
    role,
    root,
    service,
    user,
)
from tools.ctgen.world import foreign_role as foreign

SEED = 20260901
T = clock.epoch
LOG_START = T("2026-09-01T00:00:00Z")
LOG_END = T("2026-10-07T00:00:00Z")
BASELINE_END = T("2026-10-04T00:00:00Z")
A, B, C = "111122223333", "444455556666", "777788889999"
EXTERNAL = "999988887777"

PENDING_FILTER = "KMSKeyPendingDeletionErrorCount"
PENDING_PATTERN = '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}'
PENDING_ALARM = "KMSKeyPendingDeletionErrorAlarm"
CIS_FILTER = "KMSCustomerKeyDisableOrDeleteEvents"
CIS_PATTERN = (
    "{($.eventSource = kms.amazonaws.com) && "
    "(($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"
)
CIS_ALARM = "KMSCustomerKeyDisableOrDeleteAlarm"

HUMAN_AGENT = agents.CLI_MAC
TF_AGENT = agents.TERRAFORM_KMS
PY_AGENT = agents.BOTO3_LAMBDA

DATA_OPS = (("Decrypt", 60.0), ("GenerateDataKey", 30.0), ("Encrypt", 10.0))


def _ips(prefix: str, n: int, seed: str) -> tuple[str, ...]:
    ids = IdSource("ips", seed)
    return tuple(ids.private_ip(prefix) for _ in range(n))


@dataclass
class SampleWorld:
    world: World
    keys: dict[str, Key]
    p: dict[str, Principal]
    wl: dict[str, Workload]


def build_world() -> SampleWorld:
    accounts = [
        Account(A, "prod", ("us-east-1", "eu-west-1", "us-west-2")),
        Account(B, "analytics", ("us-east-1", "eu-west-1")),
        Account(C, "shared-services", ("us-east-1", "eu-west-1")),
    ]
    w = World(accounts, trail_name="org-management-trail", bucket="example-cloudtrail-logs")
    k = {}
    for name, acct, region, desc, origin in [
        ("orders", A, "us-east-1", "orders service data", "AWS_KMS"),
        ("legacy-orders", A, "us-east-1", "orders v1 (legacy)", "AWS_KMS"),
        ("payments-v1", A, "us-east-1", "payments 2026-09", "AWS_KMS"),
        ("payments-v2", A, "us-east-1", "payments 2026-09 rotation target", "AWS_KMS"),
        ("hsm-import", A, "us-east-1", "tokenization (BYOK)", "EXTERNAL"),
        ("customer-pii", A, "us-east-1", "CRM customer PII", "AWS_KMS"),
        ("eu-orders", A, "eu-west-1", "orders EU", "AWS_KMS"),
        ("eu-billing", A, "eu-west-1", "billing exports EU", "AWS_KMS"),
        ("dr-backups", A, "us-west-2", "DR replica backups", "AWS_KMS"),
        ("reporting", B, "us-east-1", "reporting datasets", "AWS_KMS"),
        ("analytics-warehouse", B, "us-east-1", "warehouse staging", "AWS_KMS"),
        ("data-lake", B, "us-east-1", "data lake raw zone", "AWS_KMS"),
        ("batch-2025-archive", B, "us-east-1", "2025 batch archive", "AWS_KMS"),
        ("app-secrets", B, "eu-west-1", "web backend secrets", "AWS_KMS"),
        ("eu-analytics", B, "eu-west-1", "EU analytics", "AWS_KMS"),
        ("shared-data", C, "us-east-1", "partner shared data", "AWS_KMS"),
        ("security-logs", C, "us-east-1", "CloudTrail log encryption", "AWS_KMS"),
        ("old-backups", C, "eu-west-1", "legacy backup vault", "AWS_KMS"),
        ("hr-payroll", C, "eu-west-1", "HR payroll", "AWS_KMS"),
    ]:
        k[name] = w.add_key(make_key(name, acct, region, description=desc, origin=origin))
    k["aws-ebs"] = w.add_key(
        make_key(
            "aws-ebs",
            A,
            "us-east-1",
            description="Default key that protects my EBS volumes when no other key is defined",
            aws_managed=True,
        )
    )

    p = {
        "admin-a": role(
            A,
            "KeyAdministrators",
            "alice@example.com",
            "bob@example.com",
            hours=4,
            mfa=True,
            path="aws-reserved/sso.amazonaws.com/",
        ),
        "admin-b": role(
            B,
            "KeyAdministrators",
            "dave@example.com",
            hours=4,
            mfa=True,
            path="aws-reserved/sso.amazonaws.com/",
        ),
        "admin-c": role(
            C,
            "KeyAdministrators",
            "erin@example.com",
            hours=4,
            mfa=True,
            path="aws-reserved/sso.amazonaws.com/",
        ),
        "secbase-a": role(A, "security-baseline", "terraform"),
        "secbase-b": role(B, "security-baseline", "terraform"),
        "secbase-c": role(C, "security-baseline", "terraform"),
        "auditor-a": role(A, "ReadOnlyAuditor", "carol@example.com", hours=2),
        "build-bot": user(A, "build-bot"),
        "orders-api": role(A, "orders-api", *(f"ecs-task-{i:02d}" for i in range(6)), hours=6),
        "orders-exporter": role(A, "orders-exporter", "i-0a1b2c3d4e5f60718"),
        "orders-processor": role(A, "orders-processor", "orders-processor"),
        "payments-service": role(
            A, "payments-service", *(f"payments-{i}" for i in range(3)), hours=6
        ),
        "tokenization": role(A, "tokenization", "tokenizer"),
        "crm-app": role(A, "crm-app", "crm-app"),
        "eks-nodes": role(A, "eks-nodes", "i-07f3a9c2b1d4e5f60"),
        "orders-api-eu": role(
            A, "orders-api-eu", *(f"ecs-task-{i:02d}" for i in range(4)), hours=6
        ),
        "billing-batch": role(A, "billing-batch", "billing-batch"),
        "dr-replicator": role(A, "dr-replicator", "dr-replicator"),
        "reporting-etl": role(B, "reporting-etl", "reporting-etl"),
        "glue-etl": role(B, "glue-etl", "GlueJobRunnerSession"),
        "analyst-notebooks": role(
            B, "analyst-notebooks", "frank@example.com", "grace@example.com", hours=8
        ),
        "archive-batch": role(B, "archive-batch", "archive-batch"),
        "ci-runner": role(B, "ci-runner", "gh-actions-8841", "gh-actions-8842"),
        "tmp-migration": role(B, "tmp-migration", "migration"),
        "web-backend": role(B, "web-backend", "web-backend"),
        "glue-etl-eu": role(B, "glue-etl-eu", "GlueJobRunnerSession"),
        "partner-gateway": role(C, "partner-gateway", "partner-gateway"),
        "analytics-reader": role(C, "analytics-reader", "analytics-reader"),
        "partner-batch": role(C, "partner-batch", "partner-batch"),
        "security-analyst": role(C, "security-analyst", "henry@example.com", hours=4),
        "cloudtrail": service(C, "cloudtrail.amazonaws.com"),
        "backup-runner": role(C, "backup-runner", "backup-runner"),
        "payroll-app": role(C, "payroll-app", "payroll-app"),
        "ci-deployer": user(C, "ci-deployer"),
        "external": foreign(EXTERNAL, "data-sync", "sync-job"),
        "root-b": root(B, "example-analytics"),
        "legacy-deploy": role(A, "legacy-deploy", "i-0e5c1d2b3a4f56789", hours=6),
    }
    for label_, pr in p.items():
        w.add_principal(label_, pr)
    w.noise_principals = {
        A: [
            p["admin-a"],
            p["build-bot"],
            p["legacy-deploy"],
            p["orders-api"],
            p["eks-nodes"],
            p["auditor-a"],
            p["secbase-a"],
        ],
        B: [p["admin-b"], p["ci-runner"], p["glue-etl"], p["analyst-notebooks"], p["secbase-b"]],
        C: [
            p["admin-c"],
            p["ci-deployer"],
            p["partner-gateway"],
            p["security-analyst"],
            p["secbase-c"],
        ],
    }

    w.kms_readers = {
        A: [p["admin-a"], p["secbase-a"], p["auditor-a"]],
        B: [p["admin-b"], p["secbase-b"]],
        C: [p["admin-c"], p["secbase-c"], p["security-analyst"]],
    }
    S = scenario_times
    w.lifetimes = {
        "legacy-orders": (None, S["s1_delete"]),
        "reporting": (S["s2_create"], None),
        "old-backups": (S["s3_create"], None),
        "hsm-import": (S["s5_create"], None),
        "shared-data": (S["s7_create"], None),
        "payments-v1": (S["s8_create_v1"], None),
        "payments-v2": (S["s8_create_v2"], None),
        "customer-pii": (S["s10c_create"], None),
    }
    vpce_a = w.vpce(A, "us-east-1")
    wl: dict[str, Workload] = {}

    def add(
        name: str, principal: str, key: str, channel: str, ops: tuple, rate: float, **kw: object
    ) -> None:
        # Rates are scaled so the shipped corpus stays a few MB; bursts keep files few.
        burst = float(kw.pop("burst", 4.0)) * 1.3  # type: ignore[arg-type]
        wl[name] = Workload(name, p[principal], k[key], channel, ops, rate * 0.7, burst=burst, **kw)  # type: ignore[arg-type]

    add(
        "orders-api",
        "orders-api",
        "orders",
        "direct",
        DATA_OPS,
        3,
        rhythm="daytime",
        burst=5,
        ips=_ips("10.0", 6, "orders-api"),
        vpce=vpce_a,
        key_ref="arn",
        resource_name="orders",
    )
    add(
        "orders-table",
        "orders-api",
        "orders",
        "dynamodb",
        (("Decrypt", 80.0), ("GenerateDataKey", 20.0)),
        1.5,
        rhythm="daytime",
        burst=4,
        resource_name="orders",
    )
    add(
        "orders-exports",
        "orders-exporter",
        "orders",
        "s3",
        (("GenerateDataKey", 85.0), ("Decrypt", 15.0)),
        7,
        rhythm="nightly",
        burst=14,
        resource_name="example-orders-exports",
    )
    add(
        "legacy-orders",
        "orders-processor",
        "legacy-orders",
        "lambda",
        (("Decrypt", 100.0),),
        2,
        rhythm="daytime",
        burst=4,
        end=S["s1_schedule"],
        resource_name="orders-processor",
    )
    add(
        "payments-v1",
        "payments-service",
        "payments-v1",
        "direct",
        (("GenerateDataKey", 45.0), ("Decrypt", 45.0), ("Encrypt", 10.0)),
        2,
        rhythm="daytime",
        burst=4,
        start=S["s8_create_alias"] + 1800,
        end=S["s8_update_alias"],
        ips=_ips("10.0", 3, "payments"),
        user_agent=PY_AGENT,
        key_ref="alias/payments",
        resource_name="payments",
    )
    add(
        "payments-v2",
        "payments-service",
        "payments-v2",
        "direct",
        (("GenerateDataKey", 45.0), ("Decrypt", 45.0), ("Encrypt", 10.0)),
        2,
        rhythm="daytime",
        burst=4,
        start=S["s8_update_alias"] + 60,
        ips=_ips("10.0", 3, "payments"),
        user_agent=PY_AGENT,
        key_ref="alias/payments",
        resource_name="payments",
    )
    add(
        "payments-v1-old",
        "payments-service",
        "payments-v1",
        "direct",
        (("Decrypt", 100.0),),
        0.6,
        rhythm="daytime",
        burst=3,
        start=S["s8_update_alias"] + 120,
        ips=_ips("10.0", 3, "payments"),
        user_agent=PY_AGENT,
        key_ref="arn",
        resource_name="payments",
    )
    add(
        "tokenization",
        "tokenization",
        "hsm-import",
        "direct",
        DATA_OPS,
        1.5,
        rhythm="daytime",
        burst=4,
        start=S["s5_import1"] + 600,
        end=S["s5_expire"],
        ips=_ips("10.0", 2, "tok"),
        key_ref="alias/tokenization",
        paused=((S["s5_expire"], S["s5_import2"] + 600),),
    )
    add(
        "tokenization-2",
        "tokenization",
        "hsm-import",
        "direct",
        DATA_OPS,
        1.5,
        rhythm="daytime",
        burst=4,
        start=S["s5_import2"] + 600,
        ips=_ips("10.0", 2, "tok"),
        key_ref="alias/tokenization",
    )
    add(
        "crm-app",
        "crm-app",
        "customer-pii",
        "lambda",
        (("Decrypt", 70.0), ("GenerateDataKey", 30.0)),
        2.5,
        rhythm="business",
        burst=4,
        start=S["s10c_create"] + 3600,
        end=S["s10c_disable"],
        resource_name="crm-app",
    )
    add(
        "ebs",
        "eks-nodes",
        "aws-ebs",
        "ebs",
        (("GenerateDataKeyWithoutPlaintext", 40.0), ("Decrypt", 60.0)),
        0.15,
        rhythm="flat",
        burst=3,
        key_ref="alias/aws/ebs",
    )
    add(
        "eu-orders",
        "orders-api-eu",
        "eu-orders",
        "direct",
        DATA_OPS,
        1.5,
        rhythm="daytime",
        burst=5,
        ips=_ips("10.1", 4, "eu-orders"),
        key_ref="arn",
    )
    add(
        "eu-billing",
        "billing-batch",
        "eu-billing",
        "s3",
        (("GenerateDataKey", 90.0), ("Decrypt", 10.0)),
        4,
        rhythm="nightly",
        burst=12,
        resource_name="example-billing-exports-eu",
    )
    add(
        "dr-backups",
        "dr-replicator",
        "dr-backups",
        "s3",
        (("GenerateDataKey", 70.0), ("ReEncrypt", 5.0), ("Decrypt", 25.0)),
        2,
        rhythm="nightly",
        burst=10,
        resource_name="example-dr-backups",
    )
    add(
        "reporting",
        "reporting-etl",
        "reporting",
        "direct",
        DATA_OPS,
        3,
        rhythm="business",
        burst=5,
        start=S["s2_create"] + 3600,
        paused=((S["s2_disable"], S["s2_enable"]),),
        ips=_ips("10.2", 3, "reporting"),
        user_agent=PY_AGENT,
        key_ref="alias/reporting",
    )
    add(
        "warehouse-etl",
        "glue-etl",
        "analytics-warehouse",
        "s3",
        (("GenerateDataKey", 60.0), ("Decrypt", 40.0)),
        8,
        rhythm="nightly",
        burst=15,
        resource_name="example-warehouse-staging",
    )
    add(
        "warehouse-analysts",
        "analyst-notebooks",
        "analytics-warehouse",
        "s3",
        (("Decrypt", 100.0),),
        2,
        rhythm="business",
        burst=6,
        resource_name="example-warehouse-staging",
    )
    add(
        "data-lake",
        "glue-etl",
        "data-lake",
        "s3",
        (("GenerateDataKey", 50.0), ("Decrypt", 50.0)),
        1.5,
        rhythm="daytime",
        burst=6,
        resource_name="example-data-lake-raw",
    )
    add(
        "archive",
        "archive-batch",
        "batch-2025-archive",
        "direct",
        (("Decrypt", 70.0), ("ReEncrypt", 30.0)),
        20,
        rhythm="nightly",
        burst=15,
        start=LOG_START,
        end=T("2026-09-08T00:00:00Z"),
        ips=_ips("10.2", 2, "archive"),
        user_agent=PY_AGENT,
        key_ref="arn",
    )
    wl["archive"].reencrypt_to = k["data-lake"]
    add(
        "app-secrets",
        "web-backend",
        "app-secrets",
        "secretsmanager",
        (("Decrypt", 92.0), ("GenerateDataKey", 8.0)),
        1.5,
        rhythm="daytime",
        burst=4,
        resource_name="prod/web/db-credentials",
    )
    add(
        "eu-analytics",
        "glue-etl-eu",
        "eu-analytics",
        "s3",
        (("GenerateDataKey", 60.0), ("Decrypt", 40.0)),
        4,
        rhythm="nightly",
        burst=12,
        resource_name="example-eu-analytics",
    )
    add(
        "shared-data",
        "partner-gateway",
        "shared-data",
        "direct",
        DATA_OPS,
        1.5,
        rhythm="daytime",
        burst=4,
        start=S["s7_create"] + 3600,
        ips=_ips("10.3", 2, "partner"),
        key_ref="alias/shared-data",
    )
    add(
        "shared-data-grant",
        "analytics-reader",
        "shared-data",
        "direct",
        (("Decrypt", 100.0),),
        2,
        rhythm="business",
        burst=4,
        start=S["s7_grant1"] + 300,
        end=S["s7_retire"],
        ips=_ips("10.3", 2, "reader"),
    )
    add(
        "cloudtrail-sse",
        "cloudtrail",
        "security-logs",
        "cloudtrail",
        (("GenerateDataKey", 100.0),),
        0.25,
        rhythm="flat",
        burst=2,
        resource_name="org-management-trail",
    )
    add(
        "security-analyst",
        "security-analyst",
        "security-logs",
        "direct",
        (("Decrypt", 100.0),),
        1.5,
        rhythm="business",
        burst=6,
        ips=("10.3.7.21",),
        user_agent=HUMAN_AGENT,
        key_ref="arn",
    )
    add(
        "old-backups",
        "backup-runner",
        "old-backups",
        "s3",
        (("GenerateDataKey", 80.0), ("Decrypt", 20.0)),
        4,
        rhythm="nightly",
        burst=10,
        start=S["s3_create"] + 3600,
        end=S["s3_schedule"],
        resource_name="example-legacy-backups",
    )
    add(
        "hr-payroll",
        "payroll-app",
        "hr-payroll",
        "direct",
        (("Decrypt", 75.0), ("Encrypt", 25.0)),
        2,
        rhythm="office",
        burst=4,
        ips=("10.4.12.40", "10.4.12.41"),
        key_ref="alias/hr-payroll",
    )
    w.workloads = list(wl.values())
    return SampleWorld(w, k, p, wl)


# Planted times (UTC). Names are stable handles used by scenarios.json.
scenario_times: dict[str, int] = {
    "s9_setup_a": T("2026-09-01T09:10:00Z"),
    "s9_setup_b": T("2026-09-01T09:40:00Z"),
    "s9_setup_c": T("2026-09-01T10:05:00Z"),
    "s8_create_v1": T("2026-09-01T10:00:00Z"),
    "s8_create_alias": T("2026-09-01T10:01:30Z"),
    "s7_create": T("2026-09-02T11:00:00Z"),
    "s10c_create": T("2026-09-02T13:00:00Z"),
    "s2_create": T("2026-09-02T15:04:10Z"),
    "s3_create": T("2026-09-03T08:20:00Z"),
    "s5_create": T("2026-09-04T09:00:12Z"),
    "s5_import1": T("2026-09-04T09:12:00Z"),
    "s6_enable_rotation": T("2026-09-08T13:30:00Z"),
    "s7_policy": T("2026-09-09T14:20:00Z"),
    "b1_root_console": T("2026-09-09T16:12:00Z"),
    "s4_attempt": T("2026-09-10T16:22:05Z"),
    "s7_grant1": T("2026-09-11T10:00:00Z"),
    "s7_grant2": T("2026-09-12T09:00:00Z"),
    "s5_expire": T("2026-09-14T09:12:00Z"),
    "s1_schedule": T("2026-09-15T14:25:29Z"),
    "s5_import2": T("2026-09-16T10:05:00Z"),
    "s9b_mute": T("2026-09-17T09:55:00Z"),
    "s2_disable": T("2026-09-17T10:02:44Z"),
    "s2_enable": T("2026-09-18T16:40:05Z"),
    "s9b_unmute": T("2026-09-18T16:45:00Z"),
    "s8_create_v2": T("2026-09-19T15:00:00Z"),
    "s7_retire": T("2026-09-19T17:00:00Z"),
    "s8_update_alias": T("2026-09-20T09:30:00Z"),
    "s3_schedule": T("2026-09-21T11:15:00Z"),
    "s9b_filter_deleted": T("2026-09-21T16:00:00Z"),
    "s9b_filter_recreated": T("2026-09-22T12:00:00Z"),
    "s1_delete": T("2026-09-22T21:47:13Z"),
    "s3_cancel": T("2026-09-23T09:48:31Z"),
    "s6_rotate_on_demand": T("2026-09-25T10:00:00Z"),
    "s7_revoke": T("2026-09-26T15:30:00Z"),
    "s8_delete_alias": T("2026-09-28T11:00:00Z"),
    "s10g_unusual_hour": T("2026-10-04T03:00:00Z"),
    "s10e_off_network": T("2026-10-04T15:20:00Z"),
    "s10b_policy": T("2026-10-04T20:10:44Z"),
    "s10a_exfil": T("2026-10-05T01:00:00Z"),
    "s10c_disable_alarm_actions": T("2026-10-05T02:38:12Z"),
    "s10c_delete_alarm": T("2026-10-05T02:49:40Z"),
    "s10c_disable": T("2026-10-05T02:59:51Z"),
    "s10c_schedule": T("2026-10-05T03:02:07Z"),
    "s10f_dormant": T("2026-10-05T10:15:00Z"),
    "s10d_probe": T("2026-10-06T11:02:00Z"),
}


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
    return plans


def _fixups(plans: list[Plan]) -> None:
    """Labels that need cross-scenario context."""
    for pl in plans:
        for lab in pl.labels:
            lab.setdefault("scenario", pl.sid)


@dataclass
class SampleCorpus:
    files: list[LogFile]
    digests: list[tuple[str, bytes]]
    truth: dict
    bodies: dict[str, bytes]  # key → uncompressed JSON


def _regions() -> list[tuple[str, str]]:
    return [(a.account_id, r) for a in build_world().world.accounts for r in a.regions]


def build_sample(seed: int = SEED) -> SampleCorpus:
    sw = build_world()
    w = sw.world
    plans = plant(sw)
    _fixups(plans)
    planted_by_ar: dict[tuple[str, str], list[Record]] = {}
    for pl in plans:
        for r in pl.records:
            planted_by_ar.setdefault((r["recipientAccountId"], r["awsRegion"]), []).append(r)

    profiles = {
        A: NoiseProfile(
            noise_rate=1.1,
            control_rate=0.25,
            noise_burst=4.0,
            buckets=("example-orders-exports", "example-app-assets"),
        ),
        B: NoiseProfile(
            noise_rate=0.9,
            control_rate=0.2,
            noise_burst=4.0,
            buckets=("example-warehouse-staging", "example-data-lake-raw"),
        ),
        C: NoiseProfile(
            noise_rate=0.7,
            control_rate=0.2,
            noise_burst=4.0,
            buckets=("example-partner-drop", "example-cloudtrail-logs"),
        ),
    }
    files: list[LogFile] = []
    all_records: list[Record] = []
    for acct, region in [(a.account_id, r) for a in w.accounts for r in a.regions]:
        prof = profiles[acct]
        prof.version_1_09_from = T("2026-09-24T00:00:00Z") if acct == B else None
        if region != "us-east-1":
            prof = NoiseProfile(
                noise_rate=prof.noise_rate / 2,
                control_rate=prof.control_rate / 2,
                buckets=prof.buckets,
                noise_burst=prof.noise_burst,
                version_1_09_from=prof.version_1_09_from,
            )
        bg = background(
            w,
            acct,
            region,
            LOG_START,
            LOG_END - 900,
            IdSource("background", seed, acct, region),
            prof,
        )
        recs = bg + planted_by_ar.get((acct, region), [])
        all_records.extend(recs)
        files.extend(batch_into_files(recs, acct, region, IdSource("delivery", seed, acct, region)))

    dup_id = next(
        pl.notes["duplicate_event_id"] for pl in plans if "duplicate_event_id" in pl.notes
    )
    dup_files = _deliver_twice(files, dup_id)
    files.sort(key=lambda f: f.key)
    bodies = {f.key: f.body() for f in files}
    digests = _digests(files, bodies, w, seed)
    truth = _truth(sw, plans, all_records, files, dup_id, dup_files, digests)
    return SampleCorpus(files, digests, truth, bodies)


def _deliver_twice(files: list[LogFile], event_id: str) -> list[str]:
    """Put one record into the next file of the same account-region as well (CloudTrail's
    rare duplicate delivery: same eventID in two files)."""
    ordered = sorted(files, key=lambda f: (f.account_id, f.region, f.stamp, f.unique))
    for i, f in enumerate(ordered):
        for rec in f.records:
            if rec["eventID"] == event_id:
                nxt = ordered[i + 1]
                nxt.records.insert(len(nxt.records) // 2, rec)
                return [f.key, nxt.key]
    raise LookupError(event_id)


def _digests(
    files: list[LogFile], bodies: dict[str, bytes], w: World, seed: int
) -> list[tuple[str, bytes]]:
    start = scenario_times["s1_schedule"] - 24 * 60 + 2  # 14:01:31, the hour of scenario 1
    chain = []
    for i in range(2):
        s, e = start + i * 3600, start + (i + 1) * 3600
        members = [
            (f, bodies[f.key])
            for f in files
            if f.account_id == A and f.region == "us-east-1" and s <= f.stamp < e
        ]
        chain.append(Digest(A, "us-east-1", "us-east-1", w.trail_name, w.bucket, s, e, members))
    return digest_chain(chain, IdSource("digest", seed))


def _truth(
    sw: SampleWorld,
    plans: list[Plan],
    records: list[Record],
    files: list[LogFile],
    dup_id: str,
    dup_files: list[str],
    digests: list[tuple[str, bytes]],
) -> dict:
    keys = [k for k in sw.keys.values() if not k.aws_managed]
    histories = key_histories(records, keys, LOG_START)
    usage = key_usage(records, [*keys, sw.keys["aws-ebs"]])
    created = {
        r["responseElements"]["keyMetadata"]["arn"]
        for r in records
        if r["eventName"] == "CreateKey"
    }
    key_info = {
        k.name: {
            "arn": k.arn,
            "key_id": k.key_id,
            "account": k.account_id,
            "region": k.region,
            "origin": k.origin,
            "created_in_logs": k.arn in created,
            "states": histories[k.name],
            "final_state": histories[k.name][-1]["state"],
            "usage": usage[k.name],
        }
        for k in keys
    }
    aws_ebs = sw.keys["aws-ebs"]
    key_info["aws-ebs"] = {
        "arn": aws_ebs.arn,
        "key_id": aws_ebs.key_id,
        "account": A,
        "region": "us-east-1",
        "origin": "AWS_KMS",
        "aws_managed": True,
        "created_in_logs": False,
        "states": [
            {"state": "Unknown", "from": clock.iso(LOG_START), "event_name": None, "event_id": None}
        ],
        "final_state": "Unknown",
        "usage": usage["aws-ebs"],
    }
    by_eid = {r["eventID"]: r for r in records}
    scenarios = []
    for pl in plans:
        evs = sorted(pl.records, key=lambda r: (r["eventTime"], r["eventID"]))
        scenarios.append(
            {
                "id": pl.sid,
                "title": pl.title,
                "keys": pl.keys,
                "events": [_summary(r) for r in evs],
                "labels": pl.labels,
                **({"notes": pl.notes} if pl.notes else {}),
            }
        )
    pending = [r for r in sorted(records, key=_order) if is_pending_deletion_error(r)]
    cis = [r for r in sorted(records, key=_order) if is_cis_4_7(r)]
    windows = filter_windows(records)
    anomalies = [lab for pl in plans if pl.sid == "s10_anomalies" for lab in pl.labels]
    total_records = sum(len(f.records) for f in files)
    return {
        "generator": "python -m tools.ctgen sample",
        "seed": SEED,
        "zlib_runtime_version": zlib.ZLIB_RUNTIME_VERSION,
        "log_start": clock.iso(LOG_START),
        "log_end": clock.iso(LOG_END),
        "baseline_end": clock.iso(BASELINE_END),
        "accounts": {
            a.account_id: {"name": a.name, "regions": list(a.regions)} for a in sw.world.accounts
        },
        "external_account": EXTERNAL,
        "bucket": sw.world.bucket,
        "trail": sw.world.trail_name,
        "counts": {
            "files": len(files),
            "records_in_files": total_records,
            "distinct_event_ids": len(by_eid),
            "kms_records": sum(1 for r in records if r["eventSource"] == "kms.amazonaws.com"),
            "error_records": sum(1 for r in records if r.get("errorCode")),
        },
        "keys": key_info,
        "aliases": alias_histories(records),
        "metric_filters": {
            name: {
                "pattern": pattern,
                "namespace": namespace,
                "metric": name,
                "alarm": alarm,
                "matches": [_summary(r) for r in matches],
                "points": metric_points(records, match),
                "windows": {a: w[name] for a, w in windows.items() if name in w},
                "matches_while_active": [
                    r["eventID"] for r in active_matches(records, match, _for(windows, name))
                ],
                "points_while_active": metric_points(
                    active_matches(records, match, _for(windows, name)), match
                ),
            }
            for name, pattern, namespace, alarm, match, matches in (
                (
                    PENDING_FILTER,
                    PENDING_PATTERN,
                    "CloudTrailLogMetrics",
                    PENDING_ALARM,
                    is_pending_deletion_error,
                    pending,
                ),
                (CIS_FILTER, CIS_PATTERN, "CISBenchmark", CIS_ALARM, is_cis_4_7, cis),
            )
        },
        "alarms": alarm_timelines(records),
        "duplicate_delivery": {"event_id": dup_id, "files": dup_files},
        "digests": [k for k, _ in digests],
        "anomalies": anomalies,
        "scenarios": scenarios,
    }


def _for(windows: dict[str, dict[str, list[dict]]], name: str) -> dict[str, list[dict]]:
    return {a: w[name] for a, w in windows.items() if name in w}


def _order(r: Record) -> tuple[str, str]:
    return (r["eventTime"], r["eventID"])


def _summary(r: Record) -> dict:
    ident = r["userIdentity"]
    out = {
        "event_id": r["eventID"],
        "event_time": r["eventTime"],
        "event_name": r["eventName"],
        "event_source": r["eventSource"],
        "account": r["recipientAccountId"],
        "region": r["awsRegion"],
        "principal": ident.get("arn") or ident.get("principalId") or ident.get("invokedBy"),
    }
    if r.get("errorCode"):
        out["error_code"] = r["errorCode"]
    keys = [x["ARN"] for x in r.get("resources") or [] if ":kms:" in x.get("ARN", "")]
    if keys:
        out["resources"] = keys
    return out


def write_sample(out: Path, corpus: SampleCorpus | None = None) -> SampleCorpus:
    corpus = corpus or build_sample()
    for f in corpus.files:
        path = out / f.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(corpus.bodies[f.key]))
    for key, raw in corpus.digests:
        path = out / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(raw))
    return corpus


def truth_json(corpus: SampleCorpus) -> str:
    return json.dumps(corpus.truth, indent=1, sort_keys=False) + "\n"


__all__ = [
    "LOG_END",
    "LOG_START",
    "SampleCorpus",
    "build_sample",
    "build_world",
    "label",
    "scenario_times",
    "truth_json",
    "write_sample",
]
