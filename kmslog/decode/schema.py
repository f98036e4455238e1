"""THE event table schema: every column name and type, declared once.

Analyses ask for columns by the names below; nobody re-parses ``raw`` except the
pattern engine's fallback for JSON selectors that have no typed column here.

Typing rule for the flattened columns: a string column holds the value only when
the JSON node at that path is a string; a bool column only when it is a JSON
boolean. Absent, JSON ``null`` and any other JSON type all become a null cell, so
a consumer that must tell those apart (e.g. ``IS NULL`` vs ``NOT EXISTS``) falls
back to ``raw``.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 2

# Top-level record fields.
EVENT_TIME = "event_time"
EVENT_VERSION = "event_version"
EVENT_SOURCE = "event_source"
EVENT_NAME = "event_name"
EVENT_TYPE = "event_type"
EVENT_CATEGORY = "event_category"
AWS_REGION = "aws_region"
SOURCE_IP = "source_ip"
USER_AGENT = "user_agent"
ERROR_CODE = "error_code"
ERROR_MESSAGE = "error_message"
READ_ONLY = "read_only"
MANAGEMENT_EVENT = "management_event"
RECIPIENT_ACCOUNT_ID = "recipient_account_id"
EVENT_ID = "event_id"
REQUEST_ID = "request_id"
SHARED_EVENT_ID = "shared_event_id"
VPC_ENDPOINT_ID = "vpc_endpoint_id"

# userIdentity, flattened.
IDENTITY_TYPE = "identity_type"
IDENTITY_ARN = "identity_arn"
IDENTITY_ACCOUNT_ID = "identity_account_id"
IDENTITY_PRINCIPAL_ID = "identity_principal_id"
IDENTITY_ACCESS_KEY_ID = "identity_access_key_id"
IDENTITY_SESSION_ISSUER_ARN = "identity_session_issuer_arn"
IDENTITY_INVOKED_BY = "identity_invoked_by"

# KMS keys the record touches: every identifier found in resources[].ARN (those
# naming KMS), requestParameters.keyId/targetKeyId/sourceKeyId/destinationKeyId,
# responseElements.keyId, responseElements.keyMetadata.arn,
# responseElements.replicaKeyMetadata.arn and serviceEventDetails.keyId, in that
# order (KEY_ID_SOURCES below), empty strings skipped, de-duplicated, verbatim (key
# ids, key ARNs, alias names and alias ARNs alike). Resolution to a canonical key
# ARN is an analysis concern (it needs alias history).
KEY_IDS = "key_ids"

# True when no JSON null (nor a value of another type) sits at the path of any
# string or boolean column the decode read, so each null cell among those columns
# means the field (or an object on its path) is absent. Relative to the columns
# read: a consumer may rely on it for the columns it reads itself. Null where not
# built; a consumer then looks at ``raw``.
NULLS_ABSENT = "nulls_absent"

# The EventBridge event a record was read from, as the user archived it (its text;
# null for records read from CloudTrail's own files). An event whose ``detail`` is
# no CloudTrail record (KMS's three events) is its own record: ``raw`` is then the
# envelope too, its time the envelope's ``time``, and its other cells null.
ENVELOPE = "envelope"

# Evidence and provenance.
RAW = "raw"
SOURCE = "source"
RECORD_INDEX = "record_index"

UTC_TS = pa.timestamp("ms", tz="UTC")

SCHEMA = pa.schema(
    [
        pa.field(EVENT_TIME, UTC_TS, nullable=False),
        pa.field(EVENT_VERSION, pa.string()),
        pa.field(EVENT_SOURCE, pa.string()),
        pa.field(EVENT_NAME, pa.string()),
        pa.field(EVENT_TYPE, pa.string()),
        pa.field(EVENT_CATEGORY, pa.string()),
        pa.field(AWS_REGION, pa.string()),
        pa.field(SOURCE_IP, pa.string()),
        pa.field(USER_AGENT, pa.string()),
        pa.field(ERROR_CODE, pa.string()),
        pa.field(ERROR_MESSAGE, pa.string()),
        pa.field(READ_ONLY, pa.bool_()),
        pa.field(MANAGEMENT_EVENT, pa.bool_()),
        pa.field(RECIPIENT_ACCOUNT_ID, pa.string()),
        pa.field(EVENT_ID, pa.string()),
        pa.field(REQUEST_ID, pa.string()),
        pa.field(SHARED_EVENT_ID, pa.string()),
        pa.field(VPC_ENDPOINT_ID, pa.string()),
        pa.field(IDENTITY_TYPE, pa.string()),
        pa.field(IDENTITY_ARN, pa.string()),
        pa.field(IDENTITY_ACCOUNT_ID, pa.string()),
        pa.field(IDENTITY_PRINCIPAL_ID, pa.string()),
        pa.field(IDENTITY_ACCESS_KEY_ID, pa.string()),
        pa.field(IDENTITY_SESSION_ISSUER_ARN, pa.string()),
        pa.field(IDENTITY_INVOKED_BY, pa.string()),
        pa.field(KEY_IDS, pa.list_(pa.string())),
        pa.field(NULLS_ABSENT, pa.bool_()),
        pa.field(ENVELOPE, pa.string()),
        pa.field(RAW, pa.string(), nullable=False),
        pa.field(SOURCE, pa.string(), nullable=False),
        pa.field(RECORD_INDEX, pa.int64(), nullable=False),
    ],
    metadata={"kmslog.schema_version": str(SCHEMA_VERSION)},
)

# JSON path (as a tuple of property names from the record root) → typed column.
# The pattern engine's vectorizer uses this to avoid touching ``raw``; every
# path listed here follows the typing rule in the module docstring.
SELECTOR_COLUMNS: dict[tuple[str, ...], str] = {
    ("eventVersion",): EVENT_VERSION,
    ("eventSource",): EVENT_SOURCE,
    ("eventName",): EVENT_NAME,
    ("eventType",): EVENT_TYPE,
    ("eventCategory",): EVENT_CATEGORY,
    ("awsRegion",): AWS_REGION,
    ("sourceIPAddress",): SOURCE_IP,
    ("userAgent",): USER_AGENT,
    ("errorCode",): ERROR_CODE,
    ("errorMessage",): ERROR_MESSAGE,
    ("readOnly",): READ_ONLY,
    ("managementEvent",): MANAGEMENT_EVENT,
    ("recipientAccountId",): RECIPIENT_ACCOUNT_ID,
    ("eventID",): EVENT_ID,
    ("requestID",): REQUEST_ID,
    ("sharedEventID",): SHARED_EVENT_ID,
    ("vpcEndpointId",): VPC_ENDPOINT_ID,
    ("userIdentity", "type"): IDENTITY_TYPE,
    ("userIdentity", "arn"): IDENTITY_ARN,
    ("userIdentity", "accountId"): IDENTITY_ACCOUNT_ID,
    ("userIdentity", "principalId"): IDENTITY_PRINCIPAL_ID,
    ("userIdentity", "accessKeyId"): IDENTITY_ACCESS_KEY_ID,
    ("userIdentity", "sessionContext", "sessionIssuer", "arn"): IDENTITY_SESSION_ISSUER_ARN,
    ("userIdentity", "invokedBy"): IDENTITY_INVOKED_BY,
}

# What the native decoder (``kmslog.decode.native``) is given, derived from the
# declarations above so they stay the only ones: the JSON path of every column
# made from one record field, and the sources of ``key_ids`` in order as
# (path, text the value must contain or None). ``EACH`` in a path stands for
# every element of an array.
EACH = "[]"
COLUMN_PATHS: dict[str, tuple[str, ...]] = {
    EVENT_TIME: ("eventTime",),
    **{column: path for path, column in SELECTOR_COLUMNS.items()},
}
KEY_ID_SOURCES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("resources", EACH, "ARN"), ":kms:"),
    (("requestParameters", "keyId"), None),
    (("requestParameters", "targetKeyId"), None),
    (("requestParameters", "sourceKeyId"), None),
    (("requestParameters", "destinationKeyId"), None),
    (("responseElements", "keyId"), None),
    (("responseElements", "keyMetadata", "arn"), None),
    (("responseElements", "replicaKeyMetadata", "arn"), None),
    (("serviceEventDetails", "keyId"), None),
)

STRING_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in SCHEMA if f.type == pa.string() and f.name not in (RAW, SOURCE, ENVELOPE)
)


def empty_batch() -> pa.RecordBatch:
    """A zero-row batch of the schema (useful as a fold's neutral input)."""
    return pa.RecordBatch.from_pylist([], schema=SCHEMA)
