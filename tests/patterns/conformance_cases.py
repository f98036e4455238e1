"""kmslog's own filter-pattern conformance table, written from the spec
(docs/filter-patterns.md). Every ambiguity decision A1..A16 has cases marked
``# A<n>: <which way> — <why>``.

A case: (id, pattern, event, expect[, extras]) where expect is True, False or
"invalid"; extras may carry metric_value, default_value, value, dimensions
({name: {"from": ref, "value": expected}}), extracted.
"""

from __future__ import annotations

from typing import Any

from tests.patterns.records import (
    APACHE,
    APACHE_404,
    CANCEL_NOT_PENDING,
    DECRYPT_PENDING,
    DELETE_KEY_SERVICE,
    DISABLE_KEY,
    DISABLE_KEY_DENIED,
    DISABLE_ROTATION,
    ENCRYPT_DISABLED,
    ENCRYPT_OK,
    ERROR_LINE,
    GENERATE_DATA_KEY,
    GUIDE,
    S3_PUT,
    SCHEDULE_BY_ROOT,
    SCHEDULE_DELETION,
    USERS,
    compact,
)

Case = tuple[str, str, str, Any, dict[str, Any]]
CASES: list[Case] = []


def c(case_id: str, pattern: str, event: Any, expect: Any, **extra: Any) -> None:
    text = event if isinstance(event, str) else compact(event)
    CASES.append((case_id, pattern, text, expect, extra))


PENDING = '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}'
CIS = (
    "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey) || "
    "($.eventName=ScheduleKeyDeletion))}"
)

# --- seed pattern 1: usage of a key pending deletion (KMS developer guide) -------------------
c("seed1-001", PENDING, DECRYPT_PENDING, True)
c("seed1-002", PENDING, ENCRYPT_OK, False)  # no errorMessage: selector selects nothing
c("seed1-003", PENDING, CANCEL_NOT_PENDING, False)  # "... is not pending deletion." ends the same
c("seed1-004", PENDING, ENCRYPT_DISABLED, False)
c("seed1-005", PENDING, {**DECRYPT_PENDING, "eventSource": "s3.amazonaws.com"}, False)
c("seed1-006", PENDING, {**DECRYPT_PENDING, "errorMessage": None}, False)
c("seed1-007", PENDING, {**DECRYPT_PENDING, "errorMessage": " is pending deletion."}, True)
c("seed1-008", PENDING, {**DECRYPT_PENDING, "errorMessage": "is pending deletion."}, False)
c("seed1-009", PENDING, {**DECRYPT_PENDING, "errorMessage": "x is pending deletion. "}, False)
c("seed1-010", PENDING, {**DECRYPT_PENDING, "eventSource": "kmsfoo"}, True)  # prefix wildcard
c("seed1-011", PENDING, {**DECRYPT_PENDING, "errorMessage": 5}, False)
c("seed1-012", PENDING, "arn is pending deletion. kms.amazonaws.com", False)  # not JSON

# --- seed pattern 2: CIS 4.7 / CloudWatch.7 ---------------------------------------------------
c("seed2-001", CIS, DISABLE_KEY, True)
c("seed2-002", CIS, SCHEDULE_DELETION, True)
c("seed2-003", CIS, DISABLE_KEY_DENIED, True)  # failed attempts still match: no errorCode test
c("seed2-004", CIS, DISABLE_ROTATION, False)  # equality is exact, not a prefix
c("seed2-005", CIS, S3_PUT, False)
c("seed2-006", CIS, {**DISABLE_KEY, "eventSource": "s3.amazonaws.com"}, False)
c("seed2-007", CIS, DECRYPT_PENDING, False)
c("seed2-008", CIS, DELETE_KEY_SERVICE, False)
c("seed2-009", CIS, SCHEDULE_BY_ROOT, True)
c("seed2-010", CIS, {**DISABLE_KEY, "eventName": "disablekey"}, False)  # case sensitive
c("seed2-011", CIS.replace(" ", ""), DISABLE_KEY, True)  # whitespace is optional
c("seed2-012", CIS, {**DISABLE_KEY, "eventName": None}, False)

# --- JSON: selectors ------------------------------------------------------------------------------
c("json-001", '{ $.eventType = "UpdateTrail" }', GUIDE, True)
c("json-002", "{ $.sourceIPAddress != 123.123.* }", GUIDE, True)
c("json-003", "{ $.objectList[1].id = 2 }", GUIDE, True)
c("json-004", "{ $.objectList[0].id = 2 }", GUIDE, False)
c("json-005", "{ $.SomeObject IS NULL }", GUIDE, True)
c("json-006", "{ $.SomeOtherObject NOT EXISTS }", GUIDE, True)
c("json-007", "{ $.ThisFlag IS TRUE }", GUIDE, True)
c("json-008", "{ $.['cluster.name'] = \"c\" }", GUIDE, True)
c("json-009", "{ $.['cluster.name'] = c }", compact({"cluster": {"name": "c"}}), False)
c("json-010", "{ $.cluster.name = c }", GUIDE, False)  # the dotted key is one property
c("json-011", "{ $.a.['b.c'] = 1 }", compact({"a": {"b.c": 1}}), True)  # bracket form deeper
c("json-012", "{ $.coordinates[0][1] = 1 }", USERS, True)
c("json-013", "{ $.coordinates[1][0] = 2 }", USERS, True)
c("json-014", "{ $.coordinates[2][0] = 2 }", USERS, False)  # index past the end
c("json-015", "{ $.coordinates[0][5] = 1 }", USERS, False)
c("json-016", '{ $.arrayKey[0] = "value" }', compact({"arrayKey": "value"}), False)  # not an array
c("json-017", '{ $.arrayKey.x = "value" }', compact({"arrayKey": ["value"]}), False)
c("json-018", '{ $.user-id = "u1" }', compact({"user-id": "u1"}), True)
c("json-019", '{ $.user_id = "u1" }', compact({"user_id": "u1"}), True)
c("json-020", '{ $.users[*].email = "Jane.Doe@example.com" }', USERS, True)
c("json-021", '{ $.users[*].email = "nobody@example.com" }', USERS, False)
c("json-022", "{ $.arrayKey[*] = %val.{2}% }", GUIDE, True)
c("json-023", '{ $.objectList[*].name = "b" }', GUIDE, True)
c("json-024", "{ $.user.* = 1 }", USERS, True)  # any field of the object
c("json-025", "{ $.user.* = 7 }", USERS, False)
c("json-026", "{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", GUIDE, True)
c("json-027", "{ $.actions[*] != GET }", USERS, True)  # any element satisfies !=
c("json-028", "{ $.nothing[*] = * }", USERS, False)
c("json-029", "{ $.users = 1 }", compact({"users": [1, 2, 3]}), False)  # array node
c("json-030", "{ $.users != 1 }", compact({"users": [1, 2, 3]}), False)
c("json-031", "{ $.user = * }", USERS, False)  # object node is not a value node
c("json-032", '{ $.user != "x" }', USERS, False)
c("json-033", "{ $.eventType NOT EXISTS }", GUIDE, False)
c("json-034", "{ $.SomeObject NOT EXISTS }", GUIDE, False)  # present with null: exists
c("json-035", "{ $.eventType IS NULL }", GUIDE, False)
c("json-036", "{ $.missing IS NULL }", GUIDE, False)  # absent is not null
c("json-037", "{ $.a.b NOT EXISTS }", compact({"a": "text"}), True)  # non-object parent
c("json-038", "{ $.a.b NOT EXISTS }", compact({"a": None}), True)
c("json-039", "{ $.a[3] NOT EXISTS }", compact({"a": [1]}), True)
c("json-040", "{ $.a[0] NOT EXISTS }", compact({"a": [None]}), False)
c("json-041", "{ $.a[0] IS NULL }", compact({"a": [None]}), True)
c("json-042", "{ $.ThisFlag IS FALSE }", compact({"ThisFlag": False}), True)
c("json-043", "{ $.ThisFlag IS FALSE }", GUIDE, False)
c("json-044", "{ $.ThisFlag IS TRUE }", compact({"ThisFlag": 1}), False)
c("json-045", "{ $.ThisFlag IS FALSE }", compact({"ThisFlag": 0}), False)
c("json-046", "{ $.ThisFlag IS FALSE }", compact({"ThisFlag": None}), False)
c("json-047", "{ $.ThisFlag IS NULL }", compact({"ThisFlag": False}), False)

# --- JSON: string values ------------------------------------------------------------------------
c("json-050", "{$.foo = bar}", compact({"foo": "baz"}), False)
c("json-051", "{$.foo = baz }", compact({"foo": "baz"}), True)
c("json-052", "{ $.eventType = Update* }", GUIDE, True)
c("json-053", "{ $.eventType = *Trail }", GUIDE, True)
c("json-054", "{ $.eventType = *dateTr* }", GUIDE, True)
c("json-055", "{ $.eventType = Delete* }", GUIDE, False)
c("json-056", '{ $.eventType = "*" }', GUIDE, True)
c("json-057", '{ $.missingField = "*" }', GUIDE, False)
c("json-058", "{ $.eventType = updatetrail }", GUIDE, False)  # case sensitive
c("json-059", '{ $.eventType = "UpdateTrail " }', GUIDE, False)
c("json-060", '{ $.s = "" }', compact({"s": ""}), True)
c("json-061", '{ $.s = "*" }', compact({"s": ""}), True)
c("json-062", "{ $.s = * }", compact({"s": ""}), True)
c("json-063", '{ $.s = "a b c" }', compact({"s": "a b c"}), True)
c("json-064", "{ $.s = %Trail% }", compact({"s": "UpdateTrail"}), True)
c("json-065", '{ $.s = "%Trail%" }', compact({"s": "UpdateTrail"}), False)  # quoted: literal
c("json-066", '{ $.s = "%Trail%" }', compact({"s": "%Trail%"}), True)
c("json-067", "{ $.s != %Trail% }", compact({"s": "UpdateTrail"}), False)
c("json-068", "{ $.s != %Trail% }", compact({"s": "CreateKey"}), True)
c("json-069", "{ $.s = kms.amazonaws.com }", compact({"s": "kms.amazonaws.com"}), True)
c("json-070", "{ $.s = kms.amazonaws.com }", compact({"s": "kmsXamazonawsYcom"}), False)
c("json-071", "{ $.s = a\\b }", compact({"s": "a\\b"}), True)
c("json-072", '{ $.s = "line\\nbreak" }', compact({"s": "line\\nbreak"}), True)
c("json-073", "{ $.s = *x }", compact({"s": "line\nx"}), True)  # * spans newlines
c("json-074", '{ $.s = "é*" }', compact({"s": "été"}), True)
c("json-075", '{ $.s = "x" }', compact({"s": ["x"]}), False)
c("json-076", "{ $.s = abc }", '{"s":"abc"', False)  # truncated JSON
c("json-077", "{ $.s = abc }", 'prefix {"s":"abc"}', False)
c("json-078", "{ $.s = abc }", '["abc"]', False)  # top level is not an object
c("json-079", "{ $.s NOT EXISTS }", "plain text", False)  # JSON patterns need JSON events
c("json-080", "{ $.s = abc }", ' {"s":"abc"} ', True)  # surrounding blanks are JSON whitespace
c("json-081", "{ $.s = abc }", '{"s":"ab\\u0063"}', True)  # escapes are decoded
c("json-082", "{ $.a.s = abc }", '{"a":{"s":"abc"},"a":{"s":"x"}}', False)  # last key wins

# --- JSON: numbers -------------------------------------------------------------------------------
c("json-100", "{ $.bandwidth > 75 }", compact({"bandwidth": 75}), False)
c("json-101", "{ $.bandwidth > 75 }", compact({"bandwidth": 76}), True)
c("json-102", "{ $.refreshRate >= 60 }", compact({"refreshRate": 60}), True)
c("json-103", "{ $.responseTime <= 5 }", compact({"responseTime": 5}), True)
c("json-104", "{ $.responseTime <= 5 }", compact({"responseTime": 6}), False)
c("json-105", "{ $.responseTime < 5 }", compact({"responseTime": 4.99}), True)
c("json-106", "{ $.errorCode = 400}", compact({"errorCode": 400}), True)
c("json-107", "{ $.errorCode != 500 }", compact({"errorCode": 500}), False)
c("json-108", "{ $.errorCode != 500 }", compact({"errorCode": 501}), True)
c("json-109", "{ $.n = 20 }", compact({"n": 20.0}), True)  # by value
c("json-110", "{ $.n = 2e1 }", compact({"n": 20}), True)
c("json-111", "{ $.n = 20.0 }", compact({"n": 20}), True)
c("json-112", "{ $.n = +1000 }", compact({"n": 1000}), True)
c("json-113", "{ $.n = 1e+3 }", compact({"n": 1000}), True)
c("json-114", "{ $.numbers[0] < 10e-3 }", compact({"numbers": [0.001]}), True)
c("json-115", "{ $.delta < -2.5 }", compact({"delta": -3}), True)
c("json-116", "{ $.delta > -2.5 }", compact({"delta": -3}), False)
c("json-117", "{ $.n = -0 }", compact({"n": 0}), True)
c("json-118", "{ $.n = .5 }", compact({"n": 0.5}), True)
c("json-119", "{ $.latency > 10 }", compact({"other": 50}), False)
c("json-120", "{ $.errorCode = 4* }", compact({"errorCode": 404}), True)  # wildcard on numbers
c("json-121", "{ $.errorCode = 4* }", compact({"errorCode": 504}), False)
c("json-122", "{ $.errorCode != 4* }", compact({"errorCode": 504}), True)
c("json-123", "{ $.latency = * }", compact({"latency": 50}), True)
c("json-124", "{ $.latency != * }", compact({"latency": 50}), False)
c("json-125", "{ $.n > 5 }", compact({"n": "abc"}), False)  # non-numeric node fails relations
c("json-126", "{ $.n < 5 }", compact({"n": True}), False)
c("json-127", "{ $.n < 5 }", compact({"n": None}), False)
c("json-128", "{ $.n < 5 }", compact({"n": [1]}), False)
c("json-129", "{ $.n = %^4[0-9]{2}$% }", compact({"n": 404}), True)  # regex on number text
c("json-130", "{ $.n = 12345678901234567890 }", compact({"n": 12345678901234567890}), True)
c("json-131", "{ $.n = 12345678901234567891 }", compact({"n": 12345678901234567890}), False)

# --- JSON: precedence and grouping --------------------------------------------------------------
COMPOUND = (
    '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch")'
    ' && $.actions[2] = "nonmatch" }'
)
c("json-150", COMPOUND, USERS, False)
c(
    "json-151",
    '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch"'
    ' && $.actions[2] = "nonmatch" }',
    USERS,
    True,  # && binds tighter: a || (b && c)
)
c("json-152", "{$.user.id=1&&$.actions[0]=GET}", USERS, True)
c("json-153", "{ $.user.id = 2 || $.user.id = 1 && $.actions[0] = PUT }", USERS, False)
c("json-154", "{ ($.user.id = 2 || $.user.id = 1) && $.actions[0] = GET }", USERS, True)
c("json-155", "{ (($.user.id = 1)) }", USERS, True)
c("json-156", "{ $.a = 1 || $.b = 2 || $.c = 3 }", compact({"c": 3}), True)
c("json-157", "{ $.a = 1 && $.b = 2 && $.c = 3 }", compact({"a": 1, "b": 2}), False)
c("json-158", "{ ( $.a = 1 ) && ( $.b NOT EXISTS ) }", compact({"a": 1}), True)

# --- CloudTrail / KMS ----------------------------------------------------------------------------
c(
    "kms-001",
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }',
    SCHEDULE_BY_ROOT,
    True,
)
c(
    "kms-002",
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS }',
    DISABLE_KEY,
    False,
)
c("kms-003", "{ $.userIdentity.invokedBy NOT EXISTS }", DELETE_KEY_SERVICE, False)
c("kms-004", "{ $.userIdentity.invokedBy NOT EXISTS }", DISABLE_KEY, True)
c("kms-005", '{ $.userIdentity.invokedBy = "s3.amazonaws.com" }', GENERATE_DATA_KEY, True)
c("kms-006", '{ $.userIdentity.arn = "arn:aws:iam::111122223333:user/*" }', DISABLE_KEY, True)
c("kms-007", "{ $.userIdentity.userName = Alice }", DISABLE_KEY, True)
c(
    "kms-008",
    '{ $.resources[0].ARN = "*1234abcd-12ab-34cd-56ef-1234567890ab" }',
    SCHEDULE_DELETION,
    True,
)
c("kms-009", '{ $.resources[0].ARN = "arn:aws:kms:us-east-1:*" }', SCHEDULE_DELETION, False)
c("kms-010", '{ $.resources[0].type = "AWS::KMS::Key" }', DISABLE_KEY, True)
c("kms-011", "{ $.resources[0].type NOT EXISTS }", DELETE_KEY_SERVICE, True)
c("kms-012", "{ $.resources = * }", DISABLE_KEY, False)
c(
    "kms-013",
    '{ $.requestParameters.* = "1234abcd-12ab-34cd-56ef-1234567890ab" }',
    DISABLE_KEY,
    True,
)
c("kms-014", "{ $.requestParameters.encryptionContext.Department = Engineering }", ENCRYPT_OK, True)
c("kms-015", "{ $.requestParameters IS NULL }", DELETE_KEY_SERVICE, True)
c("kms-016", "{ $.requestParameters IS NULL }", DISABLE_KEY, False)
c("kms-017", "{ $.requestParameters.keyId NOT EXISTS }", DELETE_KEY_SERVICE, True)
c(
    "kms-018",
    '{ $.serviceEventDetails.keyId = "1234abcd-12ab-34cd-56ef-1234567890ab" }',
    DELETE_KEY_SERVICE,
    True,
)
c("kms-019", "{ $.eventType = AwsServiceEvent }", DELETE_KEY_SERVICE, True)
c("kms-020", '{ $.errorCode != "AccessDeniedException" }', DISABLE_KEY, False)
c("kms-021", '{ $.errorCode != "AccessDeniedException" }', DECRYPT_PENDING, True)
c("kms-022", '{ $.errorCode = "AccessDenied*" }', DISABLE_KEY_DENIED, True)
c("kms-023", "{ $.errorCode = * }", DISABLE_KEY_DENIED, True)
c("kms-024", "{ $.errorCode = * }", DISABLE_KEY, False)
c("kms-025", "{ $.sourceIPAddress = 192.0.2.* }", DISABLE_KEY, True)
c("kms-026", "{ $.sourceIPAddress = 192.0.2.* }", GENERATE_DATA_KEY, False)
c("kms-027", '{ $.userAgent = "AWS Internal" }', DISABLE_KEY, True)
c("kms-028", "{ $.readOnly IS TRUE }", DISABLE_KEY, False)
c("kms-029", "{ $.readOnly IS FALSE }", DISABLE_KEY, True)
c("kms-030", "{ $.readOnly IS TRUE }", DECRYPT_PENDING, True)
c("kms-031", "{ $.managementEvent IS TRUE }", DISABLE_KEY, True)
c("kms-032", "{ $.managementEvent IS FALSE }", DISABLE_KEY, False)
c("kms-033", '{ $.additionalEventData.customKeyStoreId = "cks-*" }', DISABLE_KEY, False)
c("kms-034", "{ $.requestParameters.pendingWindowInDays < 30 }", SCHEDULE_DELETION, True)
c(
    "kms-035",
    "{ $.requestParameters.pendingWindowInDays >= 7 && "
    "$.requestParameters.pendingWindowInDays <= 30 }",
    SCHEDULE_DELETION,
    True,
)
c("kms-036", "{ $.requestParameters.pendingWindowInDays != 7 }", SCHEDULE_DELETION, True)
c("kms-037", "{ $.requestParameters.pendingWindowInDays = 7 }", SCHEDULE_BY_ROOT, True)
c("kms-038", "{ $.requestParameters.pendingWindowInDays < 1e2 }", SCHEDULE_DELETION, True)
c("kms-039", "{ $.requestParameters.pendingWindowInDays < 30 }", DISABLE_KEY, False)
c("kms-040", "{ $.eventName = %^Disable|^Schedule% }", DISABLE_KEY, True)
c("kms-041", "{ $.eventName = %^Disable|^Schedule% }", DECRYPT_PENDING, False)
c("kms-042", "{ $.eventName = %Key$% }", DISABLE_KEY, True)
c("kms-043", "{ $.eventName = %Key$% }", SCHEDULE_DELETION, False)
c("kms-044", "{ $.eventName = %^Disable% && $.errorCode = %Denied% }", DISABLE_KEY_DENIED, True)
c("kms-045", '{ $.requestParameters.keySpec = "AES_256" }', GENERATE_DATA_KEY, True)
c("kms-046", '{ $.requestParameters.keySpec = "AES_256" }', DISABLE_KEY, False)
c("kms-047", '{ $.tlsDetails.tlsVersion = "TLSv1.2" }', GENERATE_DATA_KEY, True)
c("kms-048", "{ $.requestParameters.numberOfBytes = 32 }", GENERATE_DATA_KEY, True)
c("kms-049", '{ $.resources[*].ARN = "*:key/1234abcd-*" }', DISABLE_KEY, True)
c("kms-050", '{ $.resources[*].ARN = "*:alias/*" }', DISABLE_KEY, False)
c("kms-051", "{ $.responseElements.keyState = PendingDeletion }", SCHEDULE_DELETION, True)
c("kms-052", "{ $.responseElements.keyState = PendingDeletion }", DISABLE_KEY, False)
c(
    "kms-053",
    '{ $.userIdentity.sessionContext.attributes.mfaAuthenticated = "true" }',
    DISABLE_KEY,
    True,
)
c("kms-054", '{ $.eventSource = "kms.amazonaws.com" && $.errorCode NOT EXISTS }', DISABLE_KEY, True)
c(
    "kms-055",
    '{ $.eventSource = "kms.amazonaws.com" && $.errorCode NOT EXISTS }',
    DISABLE_KEY_DENIED,
    False,
)
c("kms-056", "{ $.recipientAccountId = 111122223333 }", DISABLE_KEY, True)  # A8 text compare
c("kms-057", "{ $.recipientAccountId > 1 }", DISABLE_KEY, False)  # A8: strings never relate

# --- ambiguity decisions -------------------------------------------------------------------------
# A1: '*' is a wildcard anywhere in a value — the current guide says "use * as a wild card"
c("a01-001", "{ $.s = Ev*ent }", compact({"s": "EvXYZent"}), True)
c("a01-002", "{ $.s = Ev*ent }", compact({"s": "Ev*ent"}), True)
c("a01-003", '{ $.s = "a*b*c" }', compact({"s": "aXbYc"}), True)
c("a01-004", '{ $.s = "a*b*c" }', compact({"s": "aXcYb"}), False)
# A2: != on a missing property is false — a selector that selects nothing fails every comparison
c("a02-001", '{ $.errorCode != "x" }', compact({"other": 1}), False)
c("a02-002", "{ $.a[5] != 1 }", compact({"a": [1]}), False)
c("a02-003", "{ $.a.b != 1 }", compact({"a": 3}), False)
# A3: = * and = "*" never match JSON null — null is not a value node
c("a03-001", "{ $.a = * }", compact({"a": None}), False)
c("a03-002", '{ $.a = "*" }', compact({"a": None}), False)
c("a03-003", "{ $.a != x }", compact({"a": None}), False)
# A4: delimited, fewer fields than tokens, no '...': the last field absorbs the rest of the line
c(
    "a04-001",
    "[w1=ERROR, w2]",
    ERROR_LINE,
    True,
    extracted={"$w1": "ERROR", "$w2": "09/25/2014 12:00:02 Failed to process request"},
)
c("a04-002", "[w1, w2, w3=%request$%]", ERROR_LINE, True)
c("a04-003", "[w1, w2=09/25/2014]", ERROR_LINE, False)  # w2 holds the whole remainder
# A5: only IS TRUE / IS FALSE match booleans; comparisons never do
c("a05-001", "{ $.f = true }", compact({"f": True}), False)
c("a05-002", '{ $.f = "true" }', compact({"f": True}), False)
c("a05-003", "{ $.f != false }", compact({"f": True}), False)
c("a05-004", "{ $.f = * }", compact({"f": True}), False)
# A6: unquoted values may hold any character but blanks and & | ( ) }
c("a06-001", "{ $.s = a.b-c:d/e@f }", compact({"s": "a.b-c:d/e@f"}), True)
c("a06-002", "{ $.s = 10.0.0.1 }", compact({"s": "10.0.0.1"}), True)
c("a06-003", "{ $.s = foo bar }", GUIDE, "invalid")  # a blank ends the value
# A7: an unquoted non-alphanumeric term is accepted (with a warning) as a literal substring
c("a07-001", "request-id-123", "got request-id-123 ok", True)
c("a07-002", "request-id-123", "got request id 123", False)
c("a07-003", "a.b", "aXb", False)  # no regex or wildcard meaning
# A8: a numeric literal compares numerically only with JSON numbers; strings compare by text
c("a08-001", "{ $.n = 50 }", compact({"n": "50"}), True)
c("a08-002", "{ $.n = 50 }", compact({"n": "50.0"}), False)
c("a08-003", "{ $.n > 40 }", compact({"n": "50"}), False)
c("a08-004", "{ $.n != 50 }", compact({"n": "51"}), True)
c("a08-005", '{ $.n = "50" }', compact({"n": 50}), True)  # a number compares as its text
# A9: IS TRUE never matches the string "true" (CloudTrail's mfaAuthenticated is a string)
c(
    "a09-001",
    "{ $.userIdentity.sessionContext.attributes.mfaAuthenticated IS TRUE }",
    DISABLE_KEY,
    False,
)
c("a09-002", "{ $.f IS FALSE }", compact({"f": "false"}), False)
# A10: JSON after a text prefix is not a JSON event
c("a10-001", "{ $.level = INFO }", '2024-01-01 id INFO {"level":"INFO"}', False)
c("a10-002", "{ $.level NOT EXISTS }", 'INFO {"x":1}', False)
# A11: keywords are documented upper-case; lower/mixed case is accepted with a warning
c("a11-001", "{ $.SomeObject is null }", GUIDE, True)
c("a11-002", "{ $.nothing not exists }", GUIDE, True)
c("a11-003", "{ $.ThisFlag Is True }", GUIDE, True)
# A12: '?' terms are ignored whenever any non-? term (plain or '-') exists
c("a12-001", "?ERROR ?ARGUMENTS REQUEST", "[INFO] REQUEST", True)
c("a12-002", "?ERROR -WARN", "[INFO] nothing", True)
c("a12-003", "?ERROR -WARN", "[WARN] ERROR", False)
c("a12-004", "?ERROR ?WARN", "[INFO] nothing", False)
# A13: regexes reject only '!', parentheses and non-ASCII; other symbols are allowed
c("a13-001", '%"x": ?"y"%', 'a "x": "y"', True)
c("a13-002", "%a&b<c>d'e~f%", "a&b<c>d'e~f", True)
c("a13-003", "%a}b%", "a}b", True)
c("a13-004", "%a!b%", "a!b", "invalid")
# A14: \" and \\ are escapes inside quoted values; a literal '*' cannot be expressed
c("a14-001", '{ $.s = "say \\"hi\\"" }', compact({"s": 'say "hi"'}), True)
c("a14-002", '{ $.s = "back\\\\slash" }', compact({"s": "back\\slash"}), True)
c("a14-003", '{ $.s = "a*" }', compact({"s": "abc"}), True)  # '*' stays a wildcard in quotes
# A15: extractedValues is {} for JSON patterns (and for term and regex patterns)
c("a15-001", "{ $.eventType = UpdateTrail }", GUIDE, True, extracted={})
c("a15-002", "ERROR", "ERROR x", True, extracted={})
c("a15-003", "%ERR%", "ERROR x", True, extracted={})
# A16: an unquoted multi-word term pattern is valid (all terms must occur)
c("a16-001", "My error text", "My big error: text", True)
c("a16-002", "My error text", "My error", False)

# --- regular expressions --------------------------------------------------------------------------
c("regex-001", "%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", True)  # search, not full
c("regex-002", "%^AUTHORIZED%", "UNAUTHORIZED", False)
c("regex-003", "%^[hc]at%", "hat", True)
c("regex-004", "%^[hc]at%", "that", False)
c("regex-005", "%[hc]at$%", "the cat", True)
c("regex-006", "%[hc]at$%", "chat room", False)
c("regex-007", "%cat$%", "cat\n", False)  # $ is the very end (Python's $ would match here)
c("regex-008", "%colou?r%", "color", True)
c("regex-009", "%colou?r%", "colour", True)
c("regex-010", "%colou?r%", "colouur", False)
c("regex-011", "%[abc]%", "xyz", False)
c("regex-012", "%[a-z]%", "1a2", True)
c("regex-013", "%[^a-z]%", "abc", False)
c("regex-014", "%[^a-z]%", "ab1", True)
c("regex-015", "%[abcx-z]%", "w", False)
c("regex-016", "%[abcx-z]%", "y", True)
c("regex-017", "%a{3,5}%", "aaa", True)
c("regex-018", "%^a{3,5}$%", "aa", False)
c("regex-019", "%^a{3,5}$%", "aaaaaa", False)
c("regex-020", "%^a{3}$%", "aaa", True)
c("regex-021", "%^a{2,}$%", "aaaaaaa", True)
c("regex-022", "%^a{,2}$%", "aa", True)
c("regex-023", "%^a{,2}$%", "aaa", False)
c("regex-024", "%gra|ey%", "gray", True)
c("regex-025", "%gra|ey%", "grey", True)
c("regex-026", "%gra|ey%", "groy", False)
c("regex-027", "%^starting|^initializing|^shutting down%", "initializing cache", True)
c("regex-028", "%^starting|^initializing|^shutting down%", "skipping initializing cache", False)
c("regex-029", "%\\[.\\]%", "[7]", True)
c("regex-030", "%\\[.\\]%", "[]", False)
c("regex-031", "%10.10.0.1%", "10010,051", True)  # '.' is any character
c("regex-032", "%10\\.10\\.0\\.1%", "10010,051", False)
c("regex-033", "%ab*c%", "ac", True)
c("regex-034", "%ab+c%", "ac", False)
c("regex-035", "%\\d%", "abc", False)
c("regex-036", "%\\d%", "a1c", True)
c("regex-037", "%\\d%", "a\u0663c", False)  # ASCII digits only
c("regex-038", "%\\D%", "123", False)
c("regex-039", "%\\s%", "a b", True)
c("regex-040", "%\\s%", "a\tb", True)
c("regex-041", "%\\s%", "a\u00a0b", False)  # ASCII whitespace only
c("regex-042", "%\\S%", "   ", False)
c("regex-043", "%\\w%", "---", False)
c("regex-044", "%\\W%", "a-b", True)
c("regex-045", "%\\x28%", "f(x)", True)  # \xhh reaches characters the dialect refuses
c("regex-046", "%[\\d.]+%", "1.2", True)
c("regex-047", "%[[]%", "a[b", True)
c("regex-048", "%a&&b%", "a&&b", True)
c("regex-049", "%[Ee]rror|[Ff]ail%", "Failure", True)
c("regex-050", "%[Ee]rror|[Ff]ail%", "ERROR", False)  # case sensitive
c("regex-051", "%.%", "", False)
c("regex-052", "%a.c%", "a\nc", False)  # '.' does not match a newline
c("regex-053", "%KMSInvalidStateException|DisabledException%", DECRYPT_PENDING, True)
c("regex-054", "%KMSInvalidStateException|DisabledException%", DISABLE_KEY, False)
c("regex-055", "  %ERROR%  ", "an ERROR", True)  # surrounding blanks are not part of the regex

# --- space-delimited -----------------------------------------------------------------------------
APACHE_ALL = {
    "$1": "127.0.0.1",
    "$2": "-",
    "$3": "frank",
    "$4": "10/Oct/2000:13:25:15 -0700",
    "$5": "GET /apache_pb.gif HTTP/1.0",
    "$6": "200",
    "$7": "1534",
}
c("delim-001", "[]", APACHE, True, extracted=APACHE_ALL)
c("delim-002", "[...]", APACHE, True, extracted=APACHE_ALL)
c("delim-003", "[]", "", True, extracted={})
c(
    "delim-004",
    "[ip, id, user, timestamp, request, status_code, size]",
    APACHE,
    True,
    extracted={
        "$ip": "127.0.0.1",
        "$id": "-",
        "$user": "frank",
        "$timestamp": "10/Oct/2000:13:25:15 -0700",
        "$request": "GET /apache_pb.gif HTTP/1.0",
        "$status_code": "200",
        "$size": "1534",
    },
)
c(
    "delim-005",
    "[..., status_code=200, size]",
    APACHE,
    True,
    extracted={
        "$1": "127.0.0.1",
        "$2": "-",
        "$3": "frank",
        "$4": "10/Oct/2000:13:25:15 -0700",
        "$5": "GET /apache_pb.gif HTTP/1.0",
        "$status_code": "200",
        "$size": "1534",
    },
)
c(
    "delim-006",
    "[..., request=*.html*, status_code=4*,]",
    APACHE_404,
    True,
    extracted={
        "$1": "127.0.0.1",
        "$2": "-",
        "$3": "frank",
        "$4": "10/Oct/2000:13:25:15 -0700",
        "$request": "GET /index.html HTTP/1.0",
        "$status_code": "404",
        "$7": "1534",
    },
)
c("delim-007", "[..., request=*.html*, status_code=4*,]", APACHE, False)
c("delim-008", "[..., status_code = 4*]", APACHE_404, False)  # aligned to the end: byte count
c(
    "delim-009",
    "[ip, user, ..., status_code, bytes]",
    APACHE,
    True,
    extracted={
        "$ip": "127.0.0.1",
        "$user": "-",
        "$3": "frank",
        "$4": "10/Oct/2000:13:25:15 -0700",
        "$5": "GET /apache_pb.gif HTTP/1.0",
        "$status_code": "200",
        "$bytes": "1534",
    },
)
c("delim-010", "[ip, user, ...]", APACHE, True)
c("delim-011", "[a, b, c, d, e, f, g, h]", APACHE, False)  # more fields than the event has
c("delim-012", "[a, ..., b, c, d, e, f, g, h]", APACHE, False)
c(
    "delim-013",
    '[ip, user, username, timestamp, request = "GET /index.html HTTP/1.0", status_code, bytes]',
    APACHE_404,
    True,
)
c(
    "delim-014",
    "[ip, user, username, timestamp, request, status_code = 404 || status_code = 410, bytes]",
    APACHE_404,
    True,
)
c(
    "delim-015",
    "[ip, user, username, timestamp, request, status_code = 404 || status_code = 410, bytes]",
    APACHE,
    False,
)
c(
    "delim-016",
    "[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]",
    APACHE_404,
    True,
)
c(
    "delim-017",
    "[ip, user, username, timestamp, request, status_code = 4* && status_code != 404, bytes]",
    APACHE_404,
    False,
)
c(
    "delim-018",
    "[ip, user, username, timestamp, request, status_code >= 400 && status_code < 500, bytes]",
    APACHE_404,
    True,
)
c("delim-019", "[ip, user, username, timestamp, request, status_code != 200, bytes]", APACHE, False)
c("delim-020", "[ip, user, username, timestamp, request, status_code, bytes > 1000]", APACHE, True)
c("delim-021", "[ip, user > 5, ...]", APACHE, False)  # '-' is not a number
c("delim-022", "[ip, user != 5, ...]", APACHE, True)
c("delim-023", "[ip, user = -, ...]", APACHE, True)
c("delim-024", "[w1=ERROR || w1=WARNING, w2]", "WARNING 09/25/2014 Invalid user request", True)
c("delim-025", "[w1=ERROR, w2]", "INFO 09/25/2014 12:00:01 POST /x 1310", False)
c("delim-026", "[w1!=ERROR && w1!=WARNING, w2]", "INFO 09/25/2014 x", True)
c("delim-027", "[w1!=ERROR && w1!=WARNING, w2]", "ERROR 09/25/2014 x", False)
c("delim-028", "[w1=ERROR || w1=%WARN%, w2]", "WARNING 09/25/2014 x", True)
c(
    "delim-029",
    "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]",
    "INFO 09/25/2014 12:00:01 POST /service/resource/67 1310",
    True,
)
c(
    "delim-030",
    "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]",
    "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
    False,
)
c("delim-031", "[a, b]", "x\t  y", True, extracted={"$a": "x", "$b": "y"})
c(
    "delim-032",
    "[a, b]",
    '"quoted field" [bracketed field]',
    True,
    extracted={"$a": "quoted field", "$b": "bracketed field"},
)
c("delim-033", "[a = 1.5e1, ...]", "15 x", True)  # numeric field compared by value
c("delim-034", "[a = 15, ...]", "15.0 x", True)
c("delim-035", "[a = 15, ...]", "fifteen x", False)
c("delim-036", '[a = "x y", b]', '"x y" z', True)
c("delim-037", "[a, b = *]", "x", False)  # too few fields
c("delim-038", "[a, , c]", "1 2 3", True, extracted={"$a": "1", "$2": "2", "$c": "3"})
c("delim-039", "[a = %^1$%, ...]", "1 2", True)
c("delim-040", "[a = %^1$% && a = 1, b]", "1 2", True)
c("delim-041", "[ a , b ]", "1 2", True)
c("delim-042", "[a]", "[unterminated field", True, extracted={"$a": "unterminated field"})
c("delim-043", "[..., last = 1534]", APACHE, True)
c("delim-044", "[first = 127.0.0.1, ...]", APACHE, True)

# --- unstructured terms --------------------------------------------------------------------------
c("term-001", "ERROR", "[ERROR 400] BAD REQUEST", True)
c("term-002", "ERROR", "[INFO] REQUEST FAILED", False)
c("term-003", "ERROR", "Exiting with ERRORCODE: -1", True)  # substring
c("term-004", "ERROR", "an error happened", False)  # case sensitive
c("term-005", "ERROR ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS", True)
c("term-006", "ERROR ARGUMENTS", "[ERROR 401] UNAUTHORIZED REQUEST", False)
c("term-007", '"INTERNAL SERVER ERROR"', "500 INTERNAL SERVER ERROR", True)
c("term-008", '"INTERNAL SERVER ERROR"', "SERVER INTERNAL ERROR", False)
c("term-009", "?ERROR ?ARGUMENTS", "[ERROR 401] UNAUTHORIZED REQUEST", True)
c("term-010", "?ERROR ?ARGUMENTS", "[INFO] MISSING ARGUMENTS", True)
c("term-011", "?ERROR ?ARGUMENTS", "[INFO] OK", False)
c("term-012", "ERROR -ARGUMENTS", "[ERROR 400] BAD REQUEST", True)
c("term-013", "ERROR -ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS", False)
c("term-014", "ERROR -Exiting", "Exiting with ERRORCODE: -1", False)
c("term-015", '-"foo bar"', "foo and bar", True)  # quoted exclusion
c("term-016", '-"foo bar"', "x foo bar", False)
c("term-017", "", "anything", True)
c("term-018", "   ", "anything", True)
c("term-019", '""', "anything", True)
c("term-020", '" "', "nospace", True)  # documented as match-all
c("term-021", '?"a b" ?c', "xa by", True)
c("term-022", '"[ERROR]"', "02 May 2014 00:34:12,525 [INFO] Starting", False)
c("term-023", '"[ERROR]"', "02 May 2014 [ERROR] failed", True)
c("term-024", '"is pending deletion"', DECRYPT_PENDING, True)
c("term-025", '"is pending deletion"', CANCEL_NOT_PENDING, False)
c("term-026", "?DisableKey ?ScheduleKeyDeletion", DISABLE_ROTATION, True)  # substring hit
c("term-027", "KMSInvalidStateException", DECRYPT_PENDING, True)
c("term-028", '"1234abcd-12ab-34cd-56ef-1234567890ab" Decrypt', DECRYPT_PENDING, True)
c("term-029", '"1234abcd-12ab-34cd-56ef-1234567890ab" Decrypt', DISABLE_KEY, False)
c("term-030", "a*b", "a*b", True)  # '*' is literal in terms
c("term-031", "a*b", "axb", False)
c("term-032", "%ERROR", "%ERROR here", True)  # not a whole %...% pattern: a term
c("term-033", "?", "is it?", True)
c("term-034", "-", "a-b", True)
c("term-035", "ERROR -", "ERROR x", False)  # a lone '-' is a literal term
c("term-036", '"say \\"hi\\""', 'they say "hi"', True)
c("term-037", "ÉRROR", "ÉRROR", True)

# --- metric transformations ----------------------------------------------------------------------
c(
    "metric-001",
    "{ $.latency = * }",
    compact({"latency": 50}),
    True,
    metric_value="$.latency",
    value=50,
)
c(
    "metric-002",
    "{ $.latency = * }",
    compact({"requestType": "GET"}),
    False,
    metric_value="$.latency",
    default_value=0,
    value=0,
)
c(
    "metric-003",
    "{ $.latency = * }",
    compact({"latency": "12.5"}),
    True,
    metric_value="$.latency",
    value=12.5,
)
c(
    "metric-004",
    "{ $.eventName = * }",
    compact({"eventName": "x", "n": "abc"}),
    True,
    metric_value="$.n",
)  # non-numeric: nothing published
c(
    "metric-005",
    "{ $.requestParameters.pendingWindowInDays = * }",
    SCHEDULE_DELETION,
    True,
    metric_value="$.requestParameters.pendingWindowInDays",
    value=20,
)
c("metric-006", CIS, DISABLE_KEY, True, metric_value="1", value=1)
c("metric-007", CIS, DECRYPT_PENDING, False, metric_value="1", default_value=0, value=0)
c(
    "metric-008",
    "{ $.eventSource = kms.amazonaws.com && $.userIdentity.userName = * }",
    DISABLE_KEY,
    True,
    metric_value="1",
    value=1,
    dimensions={
        "user": {"from": "$.userIdentity.userName", "value": "Alice"},
        "event": {"from": "$.eventName", "value": "DisableKey"},
    },
)
c(
    "metric-009",
    "{ $.eventSource = kms* }",
    SCHEDULE_DELETION,
    True,
    metric_value="1",
    value=1,
    dimensions={"days": {"from": "$.requestParameters.pendingWindowInDays", "value": "20"}},
)
c(
    "metric-010",
    "[ip, id, user, timestamp, request, status_code, size]",
    APACHE,
    True,
    metric_value="$size",
    value=1534,
)
c(
    "metric-011",
    "[ip, id, user, timestamp, request, status_code, size]",
    APACHE,
    True,
    metric_value="$7",
    value=1534,
)
c(
    "metric-012",
    "[..., status_code=200, size]",
    APACHE,
    True,
    metric_value="$size",
    value=1534,
    dimensions={"status": {"from": "$status_code", "value": "200"}},
)
c(
    "metric-013",
    "[ip, id, user, timestamp, request, status_code, size]",
    APACHE,
    True,
    metric_value="$user",
)  # "frank" is not numeric: nothing published
c("metric-014", "ERROR", "ERROR x", True, metric_value="2.5", value=2.5)
c("metric-015", "ERROR", "INFO x", False, metric_value="1", default_value=0.5, value=0.5)
c("metric-016", "{ $.a = 1 }", compact({"a": 1}), True, metric_value="-3", value=-3)
# invalid transformations (PutMetricFilter rejects them)
c(
    "metric-050", "ERROR", "ERROR", "invalid", metric_value="1", dimensions={"d": {"from": "$.a"}}
)  # terms do not support dimensions
c("metric-051", "%ERR%", "ERR", "invalid", metric_value="1", dimensions={"d": {"from": "$.a"}})
c(
    "metric-052",
    "{ $.a = * }",
    "{}",
    "invalid",
    metric_value="1",
    default_value=0,
    dimensions={"d": {"from": "$.a"}},
)  # dimensions + defaultValue
c(
    "metric-053",
    "{ $.a = * }",
    "{}",
    "invalid",
    metric_value="1",
    dimensions={
        "a": {"from": "$.a"},
        "b": {"from": "$.b"},
        "c": {"from": "$.c"},
        "d": {"from": "$.d"},
    },
)  # more than 3
c("metric-054", "{ $.a = * }", "{}", "invalid", metric_value="latency")  # bare word
c("metric-055", "{ $.a = * }", "{}", "invalid", metric_value="$size")  # $name needs delimited
c("metric-056", "[a, b]", "1 2", "invalid", metric_value="$.a")  # $. needs JSON
c("metric-057", "[a, b]", "1 2", "invalid", metric_value="$c")  # no such field
c("metric-058", "{ $.a = * }", "{}", "invalid", metric_value="$.a[*]")  # wildcard
c("metric-059", "{ $.a = * }", "{}", "invalid", metric_value="1" * 101)  # > 100 chars
c(
    "metric-060",
    "{ $.a = * }",
    "{}",
    "invalid",
    metric_value="1",
    dimensions={"d": {"from": "literal"}},
)  # dimension values are references

# --- invalid patterns ----------------------------------------------------------------------------
INVALID = [
    "%something!%",
    "%a(b%",
    "%a)b%",
    "%café%",
    "{ $.eventName = %^(Disable|Schedule)Key% }",
    "{ $.a = %x% || $.b = %y% || $.c = %z% }",
    "[a = %x%, b = %y%, c = %z%]",
    "{ $.a[*].* = 1 }",
    "{ $.a[*].b[*] = 1 }",
    "{ $.a[*] = 1 || $.b[*] = 1 || $.c.* = 1 || $.d.* = 1 }",
    "{ $.userIdentity.invokedBy IS NOT NULL }",
    "{ $.errorCode EXISTS }",
    '{ $.eventName = "DisableKey"',
    '{ eventName = "DisableKey" }',
    "[status_code = 4* && bytes > 1000]",
    "x" * 1025,
    "{ }",
    "{ $.a }",
    "{ $.a = }",
    "{ $.a == 1 }",
    "{ $.a = 1 && }",
    "{ $.a = 1 || || $.b = 2 }",
    "{ ($.a = 1 }",
    "{ $.a = 1) }",
    "{ $.a > abc }",
    "{ $.a < %x% }",
    "{ $.a >= 4* }",
    "{ $.a IS MAYBE }",
    "{ $.a NOT THERE }",
    "{ $ = 1 }",
    "{ $[0] = 1 }",
    "{ $.a[x] = 1 }",
    "{ $.a[-1] = 1 }",
    "{ $.['a = 1 }",
    "{ $.a.. = 1 }",
    '{ $.a = "unterminated }',
    "{ $.a = 1 } trailing",
    "{ $.a = %x }",
    "{ $.a = %% }",
    "[a, ...,  b, ...]",
    "[a, a]",
    "[1a]",
    "[a",
    "[a] trailing",
    "[a = 1 || b = 2]",
    "[a = ]",
    '"unterminated',
    "%a**%",
    "%*a%",
    "%a{2%",
    "%[a-%",
    "%[z-a]%",
    "%a\\q%",
    "%\\x4%",
    "%a{5,2}%",
    "%a|*b%",
    "%a{1001}%",
    "%.*.*.*.*.*.*x%",
]
for i, text in enumerate(INVALID, start=1):
    c(f"invalid-{i:03d}", text, "x", "invalid")

# --- non-ASCII, odd and hostile input the evaluator must survive ---------------------------------
c("edge-001", "{ $.a = 1 }", "", False)
c("edge-002", "ERROR", "", False)
c("edge-003", '{ $.a = "\u202e" }', compact({"a": "\u202e"}), True)
c("edge-004", "{ $.a = x }", compact({"a": "x", "b": "\u0000"}), True)
c("edge-005", "{ $.a = 1 }", compact({"a": 1, "nested": [[[[[[{"z": None}]]]]]]}), True)
c(
    "edge-006",
    "{ $.nested[0][0][0][0][0][0].z IS NULL }",
    compact({"nested": [[[[[[{"z": None}]]]]]]}),
    True,
)
c("edge-007", '{ $.a = "\\\\u0041" }', compact({"a": "\\u0041"}), True)
