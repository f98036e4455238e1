"""The two seed patterns behave as AWS documents them, in both evaluators."""

from __future__ import annotations

import polars as pl

from kmslog.decode.memory import frame_from_records
from kmslog.patterns import parse
from kmslog.patterns.metric import MetricTransformation, metric_filter
from tests.patterns.records import (
    CANCEL_NOT_PENDING,
    DECRYPT_PENDING,
    DELETE_KEY_SERVICE,
    DISABLE_KEY,
    DISABLE_KEY_DENIED,
    DISABLE_ROTATION,
    ENCRYPT_DISABLED,
    ENCRYPT_OK,
    GENERATE_DATA_KEY,
    S3_PUT,
    SCHEDULE_BY_ROOT,
    SCHEDULE_DELETION,
)

PENDING = '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}'
CIS = (
    "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey) || "
    "($.eventName=ScheduleKeyDeletion))}"
)

# (record, pending-deletion usage?, CIS 4.7?)
TABLE = [
    (DECRYPT_PENDING, True, False),  # usage of a key pending deletion
    ({**DECRYPT_PENDING, "eventName": "GenerateDataKey"}, True, False),
    (ENCRYPT_OK, False, False),  # no errorMessage at all
    (ENCRYPT_DISABLED, False, False),  # another KMS error text
    (CANCEL_NOT_PENDING, False, False),  # "... is not pending deletion." still ends alike
    (DISABLE_KEY, False, True),
    (DISABLE_KEY_DENIED, False, True),  # failed attempts count too
    (SCHEDULE_DELETION, False, True),
    (SCHEDULE_BY_ROOT, False, True),
    (DISABLE_ROTATION, False, False),  # exact equality
    (DELETE_KEY_SERVICE, False, False),
    (GENERATE_DATA_KEY, False, False),
    (S3_PUT, False, False),  # other service, KMS-like words in its parameters
    ({**DISABLE_KEY, "eventSource": "s3.amazonaws.com"}, False, False),
    ({**DECRYPT_PENDING, "eventSource": "s3.amazonaws.com"}, False, False),
]


def _frame() -> pl.DataFrame:
    return frame_from_records([record for record, _, _ in TABLE])


def test_pending_deletion_pattern() -> None:
    p = parse(PENDING)
    frame = _frame()
    expected = [pending for _, pending, _ in TABLE]
    assert frame.select(p.to_polars().alias("m"))["m"].to_list() == expected
    assert [p.matches(raw) for raw in frame["raw"].to_list()] == expected


def test_cis_4_7_pattern() -> None:
    p = parse(CIS)
    frame = _frame()
    expected = [cis for _, _, cis in TABLE]
    assert frame.select(p.to_polars().alias("m"))["m"].to_list() == expected
    assert [p.matches(raw) for raw in frame["raw"].to_list()] == expected


def test_seed_metric_counts() -> None:
    frame = _frame()
    for text, column in ((PENDING, 1), (CIS, 2)):
        mf = metric_filter(text, MetricTransformation.of("1", default_value=0))
        total = frame.select(mf.value_expr().sum()).item()
        assert total == sum(row[column] for row in TABLE)
