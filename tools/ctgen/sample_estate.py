"""The estate of the shipped sample corpus: accounts, keys, principals, workloads and the
fixed times of every planted scenario (names are stable handles used in scenarios.json)."""

from __future__ import annotations

from dataclasses import dataclass

from tools.ctgen import agents, clock
from tools.ctgen.ids import IdSource
from tools.ctgen.world import (
    Account,
    Key,
    Principal,
    Trail,
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

# 777788889999 delivers through its own multi-Region trail to the shared log bucket (which
# lives in that account); scenario 12 changes its event selectors.
SHARED_TRAIL = Trail("shared-services-trail", C, "us-east-1", "example-cloudtrail-logs")
TRAILS = (SHARED_TRAIL,)
# Scenario 12: who tampers with the trail, and from where (an address never seen before).
S12_PRINCIPAL = "security-analyst"
S12_IP = "203.0.113.58"

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
    "s11_put_rule": T("2026-09-01T09:25:00Z"),
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
    "s11_disable_rule": T("2026-10-05T02:53:18Z"),
    "s10c_disable": T("2026-10-05T02:59:51Z"),
    "s10c_schedule": T("2026-10-05T03:02:07Z"),
    "s10f_dormant": T("2026-10-05T10:15:00Z"),
    "s11_enable_rule": T("2026-10-05T09:40:00Z"),
    "s10d_probe": T("2026-10-06T11:02:00Z"),
    # The KMS-excluded window sits between two cross-account calls of 10b (01:17:11 and
    # 02:57:06), so it hides none of the records that scenario's ground truth names.
    "s12_stop_logging": T("2026-10-05T00:58:31Z"),
    "s12_exclude_kms": T("2026-10-05T01:18:07Z"),
    "s12_restore": T("2026-10-05T02:56:52Z"),
    # 13-15 sit on 10-06, after the probing of 10d and clear of every other planted hour.
    "s15_public": T("2026-10-06T09:14:27Z"),
    "s15_narrowed": T("2026-10-06T09:41:05Z"),
    "s13_reencrypt": T("2026-10-06T13:20:00Z"),
    "s14_external_grant": T("2026-10-06T15:07:33Z"),
    "s14_ebs_attach": T("2026-10-06T16:32:10Z"),
    # 16: quiet anomalies, clear of the planted hours of 10 and 13-15.
    "s16_rise": T("2026-10-05T13:00:00Z"),
    "s16_context": T("2026-10-06T10:41:00Z"),
}
