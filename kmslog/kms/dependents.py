"""What depends on a KMS key, as one cryptographic record shows it.

AWS services that encrypt with a key put the resource they protect in the encryption
context (``aws:s3:arn``, ``aws:ebs:id``, ``SecretARN`` …; see the design notes on KMS in
CloudTrail, §5), and a call a service made for someone carries
``userIdentity.invokedBy``. Those two say what would break if the key went away: the
dependents of the key. A call whose context names no known resource is put on its
service when it has one (the service still depends on the key), and on nothing
otherwise (a direct SDK call with an application's own context).

Pure functions over a parsed record; every string kept is capped, since log text is
attacker-controlled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 256  # characters kept of a resource name
ELLIPSIS = "…"

S3_BUCKET = "s3 bucket"
EBS_VOLUME = "ebs volume"
EBS_SNAPSHOT = "ebs snapshot"
RDS_DB = "rds db"
SECRET = "secret"
LAMBDA_FUNCTION = "lambda function"
DYNAMODB_TABLE = "dynamodb table"
CLOUDTRAIL_TRAIL = "cloudtrail trail"
SNS_TOPIC = "sns topic"
WORKMAIL_ORGANIZATION = "workmail organization"
SERVICE = "service"

# Encryption-context key → the kind of resource its value names. Keys are matched
# exactly: AWS writes them so, and a near miss is some application's own context.
CONTEXT_KINDS: Mapping[str, str] = {
    "aws:s3:arn": S3_BUCKET,
    "aws:ebs:id": EBS_VOLUME,
    "aws:rds:db-id": RDS_DB,
    "SecretARN": SECRET,
    "aws:lambda:FunctionArn": LAMBDA_FUNCTION,
    "aws:dynamodb:tableName": DYNAMODB_TABLE,
    "aws:cloudtrail:arn": CLOUDTRAIL_TRAIL,
    "aws:sns:topicArn": SNS_TOPIC,
    "aws:workmail:arn": WORKMAIL_ORGANIZATION,
}
KINDS: tuple[str, ...] = (*dict.fromkeys(CONTEXT_KINDS.values()), EBS_SNAPSHOT, SERVICE)

# Where a call's context sits: ReEncrypt has one per key (source, destination).
CONTEXT_FIELD = "encryptionContext"
SOURCE_CONTEXT_FIELD = "sourceEncryptionContext"
DESTINATION_CONTEXT_FIELD = "destinationEncryptionContext"

_S3_ARN = re.compile(r"^(arn:[^:]*:s3:::)([^/]*)(?:/.*)?$", re.DOTALL)


@dataclass(frozen=True, order=True)
class Dependent:
    """One thing that uses a key: its kind (one of :data:`KINDS`) and its name."""

    kind: str
    resource: str


@dataclass(frozen=True)
class RecordDependents:
    """What one record shows depending on its key(s): ``source`` for the key a call
    names first (the only one, except ReEncrypt), ``destination`` for ReEncrypt's
    destination key (the same as ``source`` for every other call)."""

    source: tuple[Dependent, ...] = ()
    destination: tuple[Dependent, ...] = ()

    def for_key(self, position: int) -> tuple[Dependent, ...]:
        return self.source if position == 0 else self.destination

    def union(self) -> tuple[Dependent, ...]:
        """Both, for a record that names one key (ReEncrypt within one key)."""
        if self.source == self.destination:
            return self.source
        return tuple(sorted(set(self.source) | set(self.destination)))


def cap(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters, the cut marked."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _s3_bucket(value: str) -> str:
    """The bucket ARN of an S3 object or bucket ARN (objects are too many to list, and
    the bucket is what is configured with the key); anything else as it is."""
    match = _S3_ARN.match(value)
    return match.group(1) + match.group(2) if match else value


def _context_dependent(name: str, value: Any) -> Dependent | None:
    kind = CONTEXT_KINDS.get(name)
    if kind is None or not isinstance(value, str) or not value:
        return None
    if kind == S3_BUCKET:
        value = _s3_bucket(value)
    elif kind == EBS_VOLUME and value.startswith("snap-"):
        kind = EBS_SNAPSHOT
    return Dependent(kind, cap(value))


def context_dependents(context: Any) -> tuple[Dependent, ...]:
    """The resources an encryption context names, sorted, each once. A context that is
    not an object names nothing."""
    if not isinstance(context, Mapping):
        return ()
    found = {
        dep
        for name, value in context.items()
        if isinstance(name, str) and (dep := _context_dependent(name, value)) is not None
    }
    return tuple(sorted(found))


def invoked_by(record: Mapping[str, Any]) -> str | None:
    """``userIdentity.invokedBy`` when it is a non-empty string."""
    identity = record.get("userIdentity")
    value = identity.get("invokedBy") if isinstance(identity, Mapping) else None
    return value if isinstance(value, str) and value else None


def record_dependents(record: Mapping[str, Any]) -> RecordDependents:
    """What ``record`` (a parsed CloudTrail record of a KMS call) shows depending on its
    key: the resources its encryption context names, else the service that made the
    call for someone (``invokedBy``), else nothing."""
    params = record.get("requestParameters")
    params = params if isinstance(params, Mapping) else {}
    service = invoked_by(record)
    fallback = (Dependent(SERVICE, cap(service)),) if service else ()
    if SOURCE_CONTEXT_FIELD in params or DESTINATION_CONTEXT_FIELD in params:
        source = context_dependents(params.get(SOURCE_CONTEXT_FIELD))
        destination = context_dependents(params.get(DESTINATION_CONTEXT_FIELD))
        return RecordDependents(source or fallback, destination or fallback)
    named = context_dependents(params.get(CONTEXT_FIELD)) or fallback
    return RecordDependents(named, named)
