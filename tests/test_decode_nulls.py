"""``nulls_absent``: a null cell among the columns read means the field is absent."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kmslog.decode import native
from kmslog.decode import records as R
from kmslog.decode import schema as S
from kmslog.decode.flatten import flatten, nulls_absent, typed_paths
from tests.ingest_fixtures import record

CASES: list[tuple[dict[str, Any], bool]] = [
    (record(0), True),
    (record(1, errorCode=None), False),
    (record(2, errorCode=5), False),
    (record(3, readOnly="true"), False),
    (record(4, readOnly=True), True),
    (record(5, userIdentity=None), True),  # absent object on the way: absent fields
    (record(6, userIdentity="root"), False),  # no object to read type from
    (record(7, userIdentity={"type": None}), False),
    (record(8, userIdentity={"sessionContext": {"sessionIssuer": None}}), True),
    (record(9, userIdentity={"sessionContext": []}), False),
    (record(10, requestParameters=None, responseElements={"keyId": None}), True),
]


@pytest.mark.parametrize(("rec", "expected"), CASES)
def test_reference_and_fast_decode_agree_on_every_case(rec: dict[str, Any], expected: bool) -> None:
    cells = flatten(rec)
    assert cells is not None and cells[S.NULLS_ABSENT] is expected
    batch, rejected = R.decode_chunk([orjson.dumps(rec)], [0], "t")
    assert rejected == []
    assert batch.column(S.NULLS_ABSENT).to_pylist() == [expected]
    if native.available():
        texts = [orjson.dumps(rec), orjson.dumps(record(99))]
        assert native.decode_texts(texts, "t").column(S.NULLS_ABSENT).to_pylist() == [
            expected,
            True,
        ]


def test_it_speaks_only_of_the_columns_read() -> None:
    rec = record(1, errorCode=None, userAgent=None)
    assert nulls_absent(rec, typed_paths([S.EVENT_SOURCE])) is True
    assert nulls_absent(rec, typed_paths([S.USER_AGENT])) is False
    # error_code is always read (a repeated errorCode changes a record's meaning).
    asked = R.normalize([S.NULLS_ABSENT, S.EVENT_SOURCE])
    assert S.ERROR_CODE in R.read_for(asked)
    batch, _ = R.decode_chunk([orjson.dumps(rec)], [0], "t", columns=asked)
    assert batch.column(S.NULLS_ABSENT).to_pylist() == [False]
    other = record(2, userAgent=None)
    batch, _ = R.decode_chunk([orjson.dumps(other)], [0], "t", columns=asked)
    assert batch.column(S.NULLS_ABSENT).to_pylist() == [True]


def test_not_built_unless_asked() -> None:
    batch, _ = R.decode_chunk([orjson.dumps(record(1))], [0], "t", columns=R.normalize([]))
    assert batch.column(S.NULLS_ABSENT).null_count == 1
