"""Non-KMS management events that surround KMS activity in a real trail (s3, sts, ec2, iam)."""

from __future__ import annotations

from tools.ctgen import agents, clock
from tools.ctgen.ids import IdSource
from tools.ctgen.records import Caller, api_call
from tools.ctgen.world import Principal, Record

S3_READS = (
    "GetBucketAcl",
    "GetBucketLocation",
    "GetBucketEncryption",
    "GetBucketPolicy",
    "ListBuckets",
    "GetBucketVersioning",
    "GetBucketPublicAccessBlock",
)
S3_WRITES = ("PutBucketTagging", "PutBucketPolicy", "PutBucketLifecycle")
EC2_READS = (
    "DescribeInstances",
    "DescribeVolumes",
    "DescribeSecurityGroups",
    "DescribeSubnets",
    "DescribeNetworkInterfaces",
    "DescribeImages",
)
EC2_WRITES = ("CreateTags", "RunInstances", "StopInstances", "ModifyInstanceAttribute")
IAM_READS = (
    "GetRole",
    "ListRoles",
    "GetPolicy",
    "ListAttachedRolePolicies",
    "GetRolePolicy",
    "ListPolicies",
)


def _b64(ids: IdSource, n: int) -> str:
    return ids.b64(n)


def s3_event(
    ids: IdSource, t: int, region: str, caller: Caller, bucket: str, *, error: bool = False
) -> Record:
    rng = ids.rng
    write = rng.random() < 0.08
    name = rng.choice(S3_WRITES) if write else rng.choice(S3_READS)
    acct = caller.principal.account_id
    if name == "ListBuckets":
        req: dict = {"Host": f"s3.{region}.amazonaws.com"}
        resources = None
    else:
        req = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", _sub(name): ""}
        resources = [
            {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}
        ]
    additional = {
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": 0,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": _b64(ids, 76),
        "bytesTransferredOut": rng.randrange(0, 900) if not write else 0,
    }
    err = None
    if error:
        err = (
            ("AccessDenied", "Access Denied")
            if rng.random() < 0.7
            else ("NoSuchBucketPolicy", "The bucket policy does not exist")
        )
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source="s3.amazonaws.com",
        name=name,
        request=req,
        read_only=not write,
        resources=resources,
        error=err,
        additional=additional,
        version="1.09",
        host=f"{bucket}.s3.{region}.amazonaws.com",
    )


def _sub(name: str) -> str:
    # S3 logs the sub-resource of the request as an empty-valued parameter (?acl, ?policy …).
    return {
        "GetBucketAcl": "acl",
        "GetBucketLocation": "location",
        "GetBucketEncryption": "encryption",
        "GetBucketPolicy": "policy",
        "GetBucketVersioning": "versioning",
        "GetBucketPublicAccessBlock": "publicAccessBlock",
        "PutBucketTagging": "tagging",
        "PutBucketPolicy": "policy",
        "PutBucketLifecycle": "lifecycle",
    }.get(name, "acl")


def sts_assume_role(
    ids: IdSource, t: int, region: str, caller: Caller, target: Principal, *, error: bool = False
) -> Record:
    start, sname, akid, _ = target.session(t)
    role_arn = target.arn
    req = {"roleArn": role_arn, "roleSessionName": sname, "durationSeconds": target.session_seconds}
    resp = {
        "credentials": {
            "accessKeyId": akid,
            "sessionToken": ids.session_token(),
            "expiration": clock.java_date(start + target.session_seconds),
        },
        "assumedRoleUser": {
            "assumedRoleId": f"{target.unique_id}:{sname}",
            "arn": f"arn:aws:sts::{target.account_id}:assumed-role/{target.name}/{sname}",
        },
    }
    resources = [
        {"accountId": target.account_id, "type": "AWS::IAM::Role", "ARN": role_arn},
    ]
    err = None
    if error:
        actor = (
            caller.principal.session_arn(t)
            if caller.principal.kind != "AWSService"
            else caller.principal.service
        )
        err = (
            "AccessDenied",
            f"User: {actor} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source="sts.amazonaws.com",
        name="AssumeRole",
        request=req,
        response=resp,
        read_only=True,
        resources=resources,
        error=err,
        recipient=target.account_id,
        host=f"sts.{region}.amazonaws.com",
    )


def ec2_event(ids: IdSource, t: int, region: str, caller: Caller, *, error: bool = False) -> Record:
    rng = ids.rng
    write = rng.random() < 0.1
    name = rng.choice(EC2_WRITES) if write else rng.choice(EC2_READS)
    if name == "DescribeInstances":
        req: dict | None = {
            "instancesSet": {},
            "filterSet": {
                "items": [{"name": "tag:Environment", "valueSet": {"items": [{"value": "prod"}]}}]
            },
        }
    elif name in ("CreateTags", "StopInstances", "ModifyInstanceAttribute", "RunInstances"):
        req = {"resourcesSet": {"items": [{"resourceId": f"i-0{ids.hex(16)}"}]}}
    else:
        req = {"maxResults": 1000, "filterSet": {}}
    err = None
    if error:
        err = (
            "Client.UnauthorizedOperation",
            "You are not authorized to perform this operation. User: "
            f"{caller.principal.session_arn(t)} is not authorized to perform: ec2:{name} "
            "because no identity-based policy allows the ec2:"
            + name
            + " action. Encoded authorization failure message: "
            + _b64(ids, 420),
        )
    return api_call(
        ids,
        t,
        caller=caller,
        region=region,
        source="ec2.amazonaws.com",
        name=name,
        request=req,
        read_only=not write,
        error=err,
        version="1.09",
    )


def iam_event(
    ids: IdSource, t: int, caller: Caller, role_name: str, *, error: bool = False
) -> Record:
    rng = ids.rng
    name = rng.choice(IAM_READS)
    acct = caller.principal.account_id
    if name in ("GetRole", "ListAttachedRolePolicies"):
        req: dict | None = {"roleName": role_name}
    elif name == "GetRolePolicy":
        req = {"roleName": role_name, "policyName": "inline-access"}
    elif name == "GetPolicy":
        req = {"policyArn": f"arn:aws:iam::{acct}:policy/{role_name}-policy"}
    else:
        req = None
    err = None
    if error:
        err = ("NoSuchEntityException", f"The role with name {role_name}-old cannot be found.")
    return api_call(
        ids,
        t,
        caller=caller,
        region="us-east-1",
        source="iam.amazonaws.com",
        name=name,
        request=req,
        read_only=True,
        error=err,
        host="iam.amazonaws.com",
    )


GITHUB_OIDC = "token.actions.githubusercontent.com"
# Self-hosted runners behind two NAT gateways (a stable egress, unlike GitHub-hosted runners).
RUNNER_IPS = ("20.42.11.17", "20.42.11.86", "20.57.4.33", "20.57.4.201")


def sts_assume_role_with_web_identity(
    ids: IdSource, t: int, region: str, target: Principal, *, repo: str = "example-org/platform"
) -> Record:
    """A CI job (GitHub Actions OIDC) assuming ``target``: userIdentity type WebIdentityUser."""
    acct = target.account_id
    provider = f"arn:aws:iam::{acct}:oidc-provider/{GITHUB_OIDC}"
    subject = f"repo:{repo}:ref:refs/heads/main"
    start, sname, akid, _ = target.session(t)
    runner_ip = RUNNER_IPS[ids.rng.randrange(len(RUNNER_IPS))]
    identity = {
        "type": "WebIdentityUser",
        "principalId": f"{provider}:sts.amazonaws.com:{subject}",
        "userName": subject,
        "identityProvider": provider,
    }
    rec: Record = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": clock.iso(t),
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoleWithWebIdentity",
        "awsRegion": region,
        "sourceIPAddress": runner_ip,
        "userAgent": agents.GITHUB_ACTIONS,
        "requestParameters": {
            "roleArn": target.arn,
            "roleSessionName": sname,
            "durationSeconds": target.session_seconds,
        },
        "responseElements": {
            "credentials": {
                "accessKeyId": akid,
                "sessionToken": ids.session_token(),
                "expiration": clock.java_date(start + target.session_seconds),
            },
            "subjectFromWebIdentityToken": subject,
            "assumedRoleUser": {
                "assumedRoleId": f"{target.unique_id}:{sname}",
                "arn": f"arn:aws:sts::{acct}:assumed-role/{target.name}/{sname}",
            },
            "provider": provider,
            "audience": "sts.amazonaws.com",
        },
        "additionalEventData": {"identityProviderConnectionVerificationMethod": "IAMTrustStore"},
        "requestID": ids.uuid(),
        "eventID": ids.uuid(),
        "readOnly": True,
        "resources": [
            {"accountId": acct, "type": "AWS::IAM::Role", "ARN": target.arn},
        ],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": acct,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"sts.{region}.amazonaws.com",
        },
    }
    return rec
