"""Builders of single CloudTrail records (plain dicts in CloudTrail's field order).

Every builder takes an ``IdSource`` (for eventID/requestID and any random detail) and an
epoch-seconds time. Sub-objects such as identities and tlsDetails are shared between
records for speed: never mutate a returned record in place.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from tools.ctgen import agents, clock
from tools.ctgen.ids import IdSource
from tools.ctgen.world import Key, Principal, Record, Trail

KMS = "kms.amazonaws.com"
AWS_INTERNAL = "AWS Internal"
CONSOLE_AGENT = "AWS Internal"

_TLS: dict[tuple[str, str], dict] = {}


def tls_details(host: str, version: str = "TLSv1.3") -> dict:
    key = (host, version)
    tls = _TLS.get(key)
    if tls is None:
        suite = "TLS_AES_128_GCM_SHA256" if version == "TLSv1.3" else "ECDHE-RSA-AES128-GCM-SHA256"
        tls = {"tlsVersion": version, "cipherSuite": suite, "clientProvidedHostHeader": host}
        _TLS[key] = tls
    return tls


@dataclass(frozen=True)
class Caller:
    """How a principal reaches an API: network origin and client.

    ``invoked_by`` (a service host) makes it an "on behalf" call: sourceIPAddress and
    userAgent become the service host and there are no tlsDetails. ``console`` marks
    AWS console use (userAgent "AWS Internal", sessionCredentialFromConsole).
    """

    principal: Principal
    ip: str = "198.51.100.10"
    agent: str = agents.CLI_LINUX
    vpce: str | None = None
    invoked_by: str | None = None
    console: bool = False
    tls_version: str = "TLSv1.3"


def api_call(
    ids: IdSource,
    t: int,
    *,
    caller: Caller,
    region: str,
    source: str,
    name: str,
    request: dict | None,
    response: dict | None = None,
    read_only: bool = False,
    resources: list | None = None,
    error: tuple[str, str | None] | None = None,
    additional: dict | None = None,
    recipient: str | None = None,
    shared_event_id: str | None = None,
    version: str = "1.08",
    event_id: str | None = None,
    host: str | None = None,
) -> Record:
    """One ``AwsApiCall`` record.

    ``host`` is the TLS host header (default ``<svc>.<region>.amazonaws.com``).
    """
    p = caller.principal
    if caller.invoked_by:
        ip = agent = caller.invoked_by
        identity = p.identity(t, caller.invoked_by)
    else:
        ip, agent = caller.ip, (CONSOLE_AGENT if caller.console else caller.agent)
        identity = p.identity(t)
    rec: Record = {
        "eventVersion": version,
        "userIdentity": identity,
        "eventTime": clock.iso(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
    }
    if error is not None:
        rec["errorCode"] = error[0]
        if error[1] is not None:
            rec["errorMessage"] = error[1]
    rec["requestParameters"] = request
    rec["responseElements"] = None if error is not None else response
    if additional is not None:
        rec["additionalEventData"] = additional
    rec["requestID"] = ids.uuid()
    rec["eventID"] = event_id or ids.uuid()
    rec["readOnly"] = read_only
    if resources is not None:
        rec["resources"] = resources
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = True
    rec["recipientAccountId"] = recipient or p.account_id
    if shared_event_id is not None:
        rec["sharedEventID"] = shared_event_id
    if caller.vpce and not caller.invoked_by:
        rec["vpcEndpointId"] = caller.vpce
    rec["eventCategory"] = "Management"
    if not caller.invoked_by and not caller.console:
        svc = source.split(".", 1)[0]
        rec["tlsDetails"] = tls_details(host or f"{svc}.{region}.amazonaws.com", caller.tls_version)
    if caller.console:
        rec["sessionCredentialFromConsole"] = "true"
    return rec


# --------------------------------------------------------------------------- errors


def err_pending_deletion(key: Key) -> tuple[str, str]:
    return ("KMSInvalidStateException", f"{key.arn} is pending deletion.")


def err_disabled(key: Key) -> tuple[str, str]:
    return ("DisabledException", f"{key.arn} is disabled.")


def err_pending_import(key: Key) -> tuple[str, str]:
    return ("KMSInvalidStateException", f"{key.arn} is pending import.")


def err_not_pending_deletion(key: Key) -> tuple[str, str]:
    return ("KMSInvalidStateException", f"{key.arn} is not pending deletion.")


def err_not_found(key: Key) -> tuple[str, str]:
    return ("NotFoundException", f"Key '{key.arn}' does not exist")


def err_access_denied(
    actor_arn: str, action: str, resource_arn: str, *, policy: str = "identity-based"
) -> tuple[str, str]:
    return (
        "AccessDeniedException",
        f"User: {actor_arn} is not authorized to perform: {action} on resource: {resource_arn} "
        f"because no {policy} policy allows the {action} action",
    )


ERR_INVALID_CIPHERTEXT = ("InvalidCiphertextException", None)
ERR_THROTTLED = ("ThrottlingException", "Rate exceeded")


# --------------------------------------------------------------------------- data plane

DATA_PLANE = (
    "Decrypt",
    "GenerateDataKey",
    "Encrypt",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncrypt",
)
# Share of the data plane per perf-limits.md.
DATA_PLANE_MIX = (
    ("Decrypt", 55.0),
    ("GenerateDataKey", 30.0),
    ("Encrypt", 11.0),
    ("GenerateDataKeyWithoutPlaintext", 3.0),
    ("ReEncrypt", 1.0),
)


def kms_crypto(
    ids: IdSource,
    t: int,
    op: str,
    key: Key,
    caller: Caller,
    *,
    key_ref: str | None = None,
    context: dict | None = None,
    error: tuple[str, str | None] | None = None,
    dest_key: Key | None = None,
    recipient: str | None = None,
    shared_event_id: str | None = None,
    event_id: str | None = None,
    version: str = "1.08",
) -> Record:
    """A cryptographic operation on ``key``. ``key_ref`` is the keyId the caller sent
    (None: omitted, only legal for Decrypt). resources[] always names the real key."""
    if op == "Decrypt":
        req: dict = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        if key_ref is not None:
            req = {"keyId": key_ref, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        if context is not None:
            req["encryptionContext"] = context
        resources = [key.resource()]
    elif op == "Encrypt":
        req = {"keyId": key_ref or key.arn, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        if context is not None:
            req["encryptionContext"] = context
        resources = [key.resource()]
    elif op in ("GenerateDataKey", "GenerateDataKeyWithoutPlaintext"):
        req = {"keyId": key_ref or key.arn, "keySpec": "AES_256"}
        if context is not None:
            req["encryptionContext"] = context
        resources = [key.resource()]
    elif op == "ReEncrypt":
        dst = dest_key or key
        req = {
            "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "destinationKeyId": dst.arn,
        }
        if context is not None:
            req["sourceEncryptionContext"] = context
            req["destinationEncryptionContext"] = context
        resources = [key.resource(), dst.resource()]
    else:
        raise ValueError(f"not a data-plane operation: {op}")
    return api_call(
        ids,
        t,
        caller=caller,
        region=key.region,
        source=KMS,
        name=op,
        request=req,
        read_only=True,
        resources=resources,
        error=error,
        recipient=recipient or key.account_id,
        shared_event_id=shared_event_id,
        event_id=event_id,
        version=version,
    )


# --------------------------------------------------------------------------- control plane

READ_ONLY_KMS = frozenset(
    {
        "DescribeKey",
        "ListAliases",
        "ListKeys",
        "ListGrants",
        "GetKeyPolicy",
        "GetKeyRotationStatus",
        "GetParametersForImport",
        "ListResourceTags",
        "ListKeyPolicies",
        "GetPublicKey",
    }
    | set(DATA_PLANE)
)


def kms_control(
    ids: IdSource,
    t: int,
    name: str,
    key: Key | None,
    caller: Caller,
    *,
    request: dict | None,
    response: dict | None = None,
    error: tuple[str, str | None] | None = None,
    resources: list | None = None,
    additional: dict | None = None,
    region: str | None = None,
    event_id: str | None = None,
    version: str = "1.08",
) -> Record:
    if resources is None and key is not None:
        resources = [key.resource()]
    return api_call(
        ids,
        t,
        caller=caller,
        region=region or (key.region if key else "us-east-1"),
        source=KMS,
        name=name,
        request=request,
        response=response,
        read_only=name in READ_ONLY_KMS,
        resources=resources,
        error=error,
        additional=additional,
        recipient=key.account_id if key else caller.principal.account_id,
        event_id=event_id,
        version=version,
    )


DEFAULT_POLICY_ADMIN_ROLE = "KeyAdministrators"


def key_policy(
    key: Key, *, extra_statements: list[dict] | None = None, users: list[str] | None = None
) -> str:
    """A key policy document as KMS logs it: a JSON *string*."""
    acct = key.account_id
    stmts: list[dict] = [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "Allow access for Key Administrators",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{acct}:role/{DEFAULT_POLICY_ADMIN_ROLE}"},
            "Action": [
                "kms:Create*",
                "kms:Describe*",
                "kms:Enable*",
                "kms:List*",
                "kms:Put*",
                "kms:Update*",
                "kms:Revoke*",
                "kms:Disable*",
                "kms:Get*",
                "kms:Delete*",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:ScheduleKeyDeletion",
                "kms:CancelKeyDeletion",
                "kms:RotateKeyOnDemand",
            ],
            "Resource": "*",
        },
    ]
    if users:
        stmts.append(
            {
                "Sid": "Allow use of the key",
                "Effect": "Allow",
                "Principal": {"AWS": users},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
            }
        )
    stmts.extend(extra_statements or [])
    return json.dumps(
        {"Version": "2012-10-17", "Id": "key-consolepolicy-3", "Statement": stmts}, indent=4
    )


def create_key(
    ids: IdSource,
    t: int,
    key: Key,
    caller: Caller,
    *,
    policy: str | None = None,
    tags: list | None = None,
    event_id: str | None = None,
) -> Record:
    external = key.origin == "EXTERNAL"
    req: dict = {
        "policy": policy or key_policy(key),
        "description": key.description,
        "keyUsage": "ENCRYPT_DECRYPT",
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "keySpec": "SYMMETRIC_DEFAULT",
        "origin": key.origin,
        "bypassPolicyLockoutSafetyCheck": False,
    }
    if tags:
        req["tags"] = tags
    meta = {
        "aWSAccountId": key.account_id,
        "keyId": key.key_id,
        "arn": key.arn,
        "creationDate": clock.java_date(t),
        "enabled": not external,
        "description": key.description,
        "keyUsage": "ENCRYPT_DECRYPT",
        "keyState": "PendingImport" if external else "Enabled",
        "origin": key.origin,
        "keyManager": "CUSTOMER",
        "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "keySpec": "SYMMETRIC_DEFAULT",
        "encryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "multiRegion": False,
    }
    if external:
        meta["expirationModel"] = "KEY_MATERIAL_EXPIRES"
    return kms_control(
        ids,
        t,
        "CreateKey",
        key,
        caller,
        request=req,
        response={"keyMetadata": meta},
        event_id=event_id,
    )


def key_op(
    ids: IdSource,
    t: int,
    name: str,
    key: Key,
    caller: Caller,
    *,
    error: tuple[str, str | None] | None = None,
    key_ref: str | None = None,
    event_id: str | None = None,
) -> Record:
    """EnableKey, DisableKey, EnableKeyRotation, DisableKeyRotation, RotateKeyOnDemand,
    CancelKeyDeletion, DescribeKey: request ``{keyId}``, response ``{keyId: ARN}`` (2024 shape)."""
    req: dict = {"keyId": key_ref or key.key_id}
    if name == "EnableKeyRotation":
        req["rotationPeriodInDays"] = 365
    response: dict | None = {"keyId": key.arn}
    if name == "DescribeKey":
        response = None
    return kms_control(
        ids, t, name, key, caller, request=req, response=response, error=error, event_id=event_id
    )


def schedule_key_deletion(
    ids: IdSource,
    t: int,
    key: Key,
    caller: Caller,
    *,
    days: int = 30,
    error: tuple[str, str | None] | None = None,
    event_id: str | None = None,
) -> Record:
    req = {"keyId": key.arn, "pendingWindowInDays": days}
    resp = {
        "keyId": key.arn,
        "deletionDate": clock.java_date(t + days * clock.DAY),
        "keyState": "PendingDeletion",
        "pendingWindowInDays": days,
    }
    return kms_control(
        ids,
        t,
        "ScheduleKeyDeletion",
        key,
        caller,
        request=req,
        response=resp,
        error=error,
        event_id=event_id,
    )


def get_parameters_for_import(
    ids: IdSource, t: int, key: Key, caller: Caller, *, event_id: str | None = None
) -> Record:
    req = {
        "keyId": key.key_id,
        "wrappingAlgorithm": "RSAES_OAEP_SHA_256",
        "wrappingKeySpec": "RSA_4096",
    }
    return kms_control(
        ids, t, "GetParametersForImport", key, caller, request=req, event_id=event_id
    )


def import_key_material(
    ids: IdSource,
    t: int,
    key: Key,
    caller: Caller,
    *,
    valid_to: int | None,
    comma_after_year: bool = True,
    event_id: str | None = None,
) -> Record:
    req: dict = {"keyId": key.key_id}
    if valid_to is None:
        req["expirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
    else:
        req["validTo"] = clock.java_date(valid_to, comma_after_year=comma_after_year)
        req["expirationModel"] = "KEY_MATERIAL_EXPIRES"
    return kms_control(ids, t, "ImportKeyMaterial", key, caller, request=req, event_id=event_id)


def delete_imported_key_material(
    ids: IdSource, t: int, key: Key, caller: Caller, *, event_id: str | None = None
) -> Record:
    return kms_control(
        ids,
        t,
        "DeleteImportedKeyMaterial",
        key,
        caller,
        request={"keyId": key.key_id},
        response={"keyId": key.arn},
        event_id=event_id,
    )


def put_key_policy(
    ids: IdSource, t: int, key: Key, caller: Caller, policy: str, *, event_id: str | None = None
) -> Record:
    req = {
        "keyId": key.key_id,
        "policyName": "default",
        "policy": policy,
        "bypassPolicyLockoutSafetyCheck": False,
    }
    return kms_control(ids, t, "PutKeyPolicy", key, caller, request=req, event_id=event_id)


def create_grant(
    ids: IdSource,
    t: int,
    key: Key,
    caller: Caller,
    *,
    grantee: str,
    operations: list[str],
    retiring: str | None = None,
    name: str | None = None,
    constraints: dict | None = None,
    grant_id: str | None = None,
    event_id: str | None = None,
) -> Record:
    req: dict = {"keyId": key.arn, "granteePrincipal": grantee}
    if retiring:
        req["retiringPrincipal"] = retiring
    req["operations"] = operations
    if constraints:
        req["constraints"] = constraints
    if name:
        req["name"] = name
    return kms_control(
        ids,
        t,
        "CreateGrant",
        key,
        caller,
        request=req,
        response={"grantId": grant_id or ids.grant_id(), "keyId": key.arn},
        event_id=event_id,
    )


def retire_grant(
    ids: IdSource, t: int, key: Key, caller: Caller, grant_id: str, *, event_id: str | None = None
) -> Record:
    return kms_control(
        ids,
        t,
        "RetireGrant",
        key,
        caller,
        request=None,
        additional={"grantId": grant_id},
        event_id=event_id,
    )


def revoke_grant(
    ids: IdSource, t: int, key: Key, caller: Caller, grant_id: str, *, event_id: str | None = None
) -> Record:
    return kms_control(
        ids,
        t,
        "RevokeGrant",
        key,
        caller,
        request={"keyId": key.arn, "grantId": grant_id},
        event_id=event_id,
    )


def alias_op(
    ids: IdSource,
    t: int,
    name: str,
    alias: str,
    key: Key,
    caller: Caller,
    *,
    event_id: str | None = None,
) -> Record:
    """CreateAlias / UpdateAlias / DeleteAlias. resources list the alias ARN and the key ARN,
    both typed AWS::KMS::Key as KMS logs them."""
    resources = [
        {"accountId": key.account_id, "type": "AWS::KMS::Key", "ARN": key.alias_arn(alias)},
        key.resource(),
    ]
    if name == "DeleteAlias":
        req: dict = {"aliasName": alias}
        resp = None
    else:
        req = {"aliasName": alias, "targetKeyId": key.key_id}
        resp = {"keyId": key.arn} if name == "UpdateAlias" else None
    return kms_control(
        ids,
        t,
        name,
        key,
        caller,
        request=req,
        response=resp,
        resources=resources,
        event_id=event_id,
    )


def tag_resource(
    ids: IdSource,
    t: int,
    key: Key,
    caller: Caller,
    tags: dict[str, str],
    *,
    event_id: str | None = None,
) -> Record:
    req = {"keyId": key.arn, "tags": [{"tagKey": k, "tagValue": v} for k, v in tags.items()]}
    return kms_control(ids, t, "TagResource", key, caller, request=req, event_id=event_id)


def update_key_description(
    ids: IdSource,
    t: int,
    key: Key,
    caller: Caller,
    description: str,
    *,
    event_id: str | None = None,
) -> Record:
    return kms_control(
        ids,
        t,
        "UpdateKeyDescription",
        key,
        caller,
        request={"keyId": key.arn, "description": description},
        event_id=event_id,
    )


def list_aliases(
    ids: IdSource, t: int, region: str, caller: Caller, *, event_id: str | None = None
) -> Record:
    return kms_control(
        ids, t, "ListAliases", None, caller, request=None, region=region, event_id=event_id
    )


def kms_service_event(
    ids: IdSource,
    t: int,
    name: str,
    key: Key,
    *,
    details: dict | None = None,
    event_id: str | None = None,
    version: str = "1.08",
) -> Record:
    """RotateKey / DeleteKey / DeleteExpiredKeyMaterial: no caller, no requestID."""
    rec: Record = {
        "eventVersion": version,
        "userIdentity": {"accountId": key.account_id, "invokedBy": AWS_INTERNAL},
        "eventTime": clock.iso(t),
        "eventSource": KMS,
        "eventName": name,
        "awsRegion": key.region,
        "sourceIPAddress": AWS_INTERNAL,
        "userAgent": AWS_INTERNAL,
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id or ids.uuid(),
        "readOnly": False,
        "resources": [key.resource()],
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": key.account_id,
        "serviceEventDetails": details if details is not None else {"keyId": key.key_id},
        "eventCategory": "Management",
    }
    return rec


# --------------------------------------------------------------------------- CloudWatch

LOGS = "logs.amazonaws.com"
MONITORING = "monitoring.amazonaws.com"


def put_metric_filter(
    ids: IdSource,
    t: int,
    region: str,
    caller: Caller,
    *,
    log_group: str,
    filter_name: str,
    pattern: str,
    metric_name: str,
    namespace: str,
    value: str = "1",
    event_id: str | None = None,
) -> Record:
    req = {
        "logGroupName": log_group,
        "filterName": filter_name,
        "filterPattern": pattern,
        "metricTransformations": [
            {"metricName": metric_name, "metricNamespace": namespace, "metricValue": value}
        ],
    }
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source=LOGS,
        name="PutMetricFilter",
        request=req,
        event_id=event_id,
    )


def delete_metric_filter(
    ids: IdSource,
    t: int,
    region: str,
    caller: Caller,
    *,
    log_group: str,
    filter_name: str,
    event_id: str | None = None,
) -> Record:
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source=LOGS,
        name="DeleteMetricFilter",
        request={"logGroupName": log_group, "filterName": filter_name},
        event_id=event_id,
    )


def put_metric_alarm(
    ids: IdSource,
    t: int,
    region: str,
    caller: Caller,
    *,
    alarm_name: str,
    metric_name: str,
    namespace: str,
    actions: list[str],
    statistic: str = "Sum",
    period: int = 300,
    threshold: float = 1.0,
    comparison: str = "GreaterThanOrEqualToThreshold",
    evaluation_periods: int = 1,
    description: str = "",
    event_id: str | None = None,
) -> Record:
    req = {
        "alarmName": alarm_name,
        "alarmDescription": description,
        "actionsEnabled": True,
        "alarmActions": actions,
        "metricName": metric_name,
        "namespace": namespace,
        "statistic": statistic,
        "period": period,
        "evaluationPeriods": evaluation_periods,
        "threshold": threshold,
        "comparisonOperator": comparison,
        "treatMissingData": "notBreaching",
    }
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source=MONITORING,
        name="PutMetricAlarm",
        request=req,
        event_id=event_id,
    )


def alarm_names_op(
    ids: IdSource,
    t: int,
    region: str,
    caller: Caller,
    name: str,
    alarms: list[str],
    *,
    event_id: str | None = None,
) -> Record:
    """DeleteAlarms / DisableAlarmActions / EnableAlarmActions: ``{alarmNames: [...]}``."""
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source=MONITORING,
        name=name,
        request={"alarmNames": alarms},
        event_id=event_id,
    )


# --------------------------------------------------------------------------- EventBridge

EVENTS = "events.amazonaws.com"


def eventbridge_rule_op(
    ids: IdSource,
    t: int,
    region: str,
    caller: Caller,
    name: str,
    rule: str,
    *,
    pattern: str | None = None,
    state: str | None = None,
    targets: list[dict] | None = None,
    target_ids: list[str] | None = None,
    event_id: str | None = None,
) -> Record:
    """PutRule / EnableRule / DisableRule / DeleteRule (``name``) and PutTargets /
    RemoveTargets (``rule``), with the API's parameter names in lowerCamelCase."""
    acct = caller.principal.account_id
    arn = f"arn:aws:events:{region}:{acct}:rule/{rule}"
    req: dict = {"rule": rule} if name in ("PutTargets", "RemoveTargets") else {"name": rule}
    response: dict | None = None
    if name == "PutRule":
        req.update({"eventPattern": pattern, "state": state or "ENABLED"})
        response = {"ruleArn": arn}
    elif name == "PutTargets":
        req["targets"] = targets or []
        response = {"failedEntryCount": 0, "failedEntries": []}
    elif name == "RemoveTargets":
        req["ids"] = target_ids or []
        response = {"failedEntryCount": 0, "failedEntries": []}
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source=EVENTS,
        name=name,
        request=req,
        response=response,
        event_id=event_id,
    )


# --------------------------------------------------------------------------- CloudTrail

CLOUDTRAIL = "cloudtrail.amazonaws.com"
# CloudTrail's records carry the same (newest) version as the S3 and EC2 ones of the corpus.
CLOUDTRAIL_VERSION = "1.09"


def err_cloudtrail_denied(actor_arn: str, action: str, trail: Trail) -> tuple[str, str]:
    """CloudTrail says ``AccessDenied`` (not KMS's ``AccessDeniedException``) with the IAM text."""
    return ("AccessDenied", err_access_denied(actor_arn, action, trail.arn)[1])


def put_event_selectors(
    ids: IdSource,
    t: int,
    trail: Trail,
    caller: Caller,
    selectors: list[dict],
    *,
    event_id: str | None = None,
) -> Record:
    """Basic event selectors put on ``trail`` (called in its home Region): the response
    repeats them as applied, next to the trail's ARN."""
    return api_call(
        ids,
        t,
        caller=caller,
        region=trail.home_region,
        source=CLOUDTRAIL,
        name="PutEventSelectors",
        request={"trailName": trail.name, "eventSelectors": copy.deepcopy(selectors)},
        response={"trailARN": trail.arn, "eventSelectors": copy.deepcopy(selectors)},
        version=CLOUDTRAIL_VERSION,
        event_id=event_id,
    )


def stop_logging(
    ids: IdSource,
    t: int,
    trail: Trail,
    caller: Caller,
    *,
    error: tuple[str, str | None] | None = None,
    event_id: str | None = None,
) -> Record:
    """StopLogging; a denied call logs null ``requestParameters`` (the trail ARN is then
    only in ``errorMessage``)."""
    return api_call(
        ids,
        t,
        caller=caller,
        region=trail.home_region,
        source=CLOUDTRAIL,
        name="StopLogging",
        request=None if error is not None else {"name": trail.arn},
        error=error,
        version=CLOUDTRAIL_VERSION,
        event_id=event_id,
    )
