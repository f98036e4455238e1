from datetime import UTC, datetime

import pytest

from kmslog.decode.memory import frame_from_records
from kmslog.kms.dates import parse_kms_date
from kmslog.kms.keys import IdKind, key_arn_expr, parse_key_ref
from kmslog.kms.principals import fold_principal, principal_expr, session_name

KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
ARN = f"arn:aws:kms:us-east-1:111122223333:key/{KEY}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apr 12, 2021 18:58:30 PM", datetime(2021, 4, 12, 18, 58, 30, tzinfo=UTC)),
        ("Oct 21, 2024, 2:25:29 PM", datetime(2024, 10, 21, 14, 25, 29, tzinfo=UTC)),
        ("Nov 19, 2020 12:00:00 AM", datetime(2020, 11, 19, 0, 0, 0, tzinfo=UTC)),
        ("Jan 1, 2021 8:00:00 PM", datetime(2021, 1, 1, 20, 0, 0, tzinfo=UTC)),
        ("Aug 10, 2022, 10:38:27\u202fPM", datetime(2022, 8, 10, 22, 38, 27, tzinfo=UTC)),
        ("Dec 1, 2024, 12:30:00 PM", datetime(2024, 12, 1, 12, 30, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_java_style_dates(text, expected):
    assert parse_kms_date(text) == expected


@pytest.mark.parametrize(
    "text", ["", "soon", "Foo 12, 2021 1:00:00 PM", "Feb 30, 2021 1:00:00 PM", None]
)
def test_unreadable_dates_are_none(text):
    assert parse_kms_date(text) is None


def test_key_ref_forms():
    assert parse_key_ref(ARN).kind is IdKind.KEY_ARN
    assert parse_key_ref(ARN).key_id == KEY
    assert parse_key_ref(KEY).kind is IdKind.KEY_ID
    assert parse_key_ref("mrk-1234abcd12ab34cd56ef1234567890ab").kind is IdKind.KEY_ID
    alias = parse_key_ref("arn:aws-cn:kms:cn-north-1:111122223333:alias/app")
    assert (alias.kind, alias.alias, alias.partition) == (IdKind.ALIAS_ARN, "alias/app", "aws-cn")
    assert parse_key_ref("alias/aws/ebs").kind is IdKind.ALIAS_NAME
    assert parse_key_ref("nonsense").kind is IdKind.OTHER


def test_key_arn_expr_prefers_resources_and_builds_from_bare_ids():
    base = {
        "eventTime": "2024-01-01T00:00:00Z",
        "awsRegion": "eu-west-1",
        "recipientAccountId": "444455556666",
    }
    frame = frame_from_records(
        [
            {**base, "requestParameters": {"keyId": "alias/app"}, "resources": [{"ARN": ARN}]},
            {**base, "requestParameters": {"keyId": KEY}},
            {**base, "requestParameters": {"keyId": "alias/app"}},
            {**base},
        ]
    )
    assert frame.select(key_arn_expr())["key_arn"].to_list() == [
        ARN,
        f"arn:aws:kms:eu-west-1:444455556666:key/{KEY}",
        None,
        None,
    ]


def test_principal_folding_scalar_and_vector_agree():
    records = [
        {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::1:assumed-role/etl/s-1",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/etl"}},
        },
        {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/svc/path/s-2"},
        {"type": "IAMUser", "arn": "arn:aws:iam::1:user/alice"},
        {"accountId": "1", "invokedBy": "AWS Internal"},
        {"type": "AWSAccount", "accountId": "999988887777"},
    ]
    frame = frame_from_records(
        [{"eventTime": "2024-01-01T00:00:00Z", "userIdentity": r} for r in records]
    )
    vector = frame.select(principal_expr())["principal"].to_list()
    scalar = [
        fold_principal(
            r.get("arn"),
            r.get("sessionContext", {}).get("sessionIssuer", {}).get("arn"),
            r.get("type"),
            r.get("invokedBy"),
            r.get("accountId"),
        )
        for r in records
    ]
    assert (
        vector
        == scalar
        == [
            "arn:aws:iam::1:role/etl",
            "arn:aws:iam::1:role/svc/path",
            "arn:aws:iam::1:user/alice",
            "AWS Internal",
            "account:999988887777",
        ]
    )
    assert session_name("arn:aws:sts::1:assumed-role/etl/s-1") == "s-1"
