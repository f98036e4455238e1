"""decode_texts (record texts decoded again, e.g. for a finding's evidence):
native and Python give the same cells, and a text either cannot take falls
back without losing the others."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslog.decode import native
from kmslog.decode import records as R
from kmslog.decode import schema as S
from tests.test_decode_fast import _json, _record

CELLS = frozenset({S.IDENTITY_ARN, S.SOURCE_IP, S.USER_AGENT, S.KEY_IDS, S.EVENT_ID})


def _python(raws: list[bytes], columns: Any) -> pa.RecordBatch:
    batch, _ = R.decode_chunk(raws, list(range(len(raws))), "t", "record", columns)
    return batch


def _text(rec: Any) -> bytes:
    return rec if isinstance(rec, bytes) else json.dumps(rec).encode()


@pytest.mark.skipif(not native.available(), reason="the native extension is not built")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    recs=st.lists(st.one_of(_record, _record, _json), min_size=1, max_size=6),
    columns=st.sampled_from([None, CELLS, CELLS | {S.NULLS_ABSENT}]),
)
def test_native_and_python_agree(recs: list[Any], columns: Any) -> None:
    raws = [_text(r) for r in recs]
    got = native.decode_texts(raws, "t", columns)
    expected = _python(raws, columns)
    assert got.num_rows == expected.num_rows
    for name in S.SCHEMA.names:
        assert got.column(name).equals(expected.column(name)), name


def test_a_text_that_is_not_a_record_is_left_out_not_the_others() -> None:
    good = json.dumps(
        {"eventVersion": "1.08", "eventTime": "2026-01-02T03:04:05Z", "eventID": "e1"}
    ).encode()
    batch = native.decode_texts([good, b"", b"[1]", good.replace(b"e1", b"e2")], "t", CELLS)
    assert batch.column(S.EVENT_ID).to_pylist() == ["e1", "e2"]
    assert batch.column(S.RECORD_INDEX).to_pylist() == [0, 3]


def test_pretty_printed_texts_keep_their_index() -> None:
    recs = [
        {"eventVersion": "1.08", "eventTime": "2026-01-02T03:04:05Z", "eventID": f"e{i}"}
        for i in range(3)
    ]
    raws = [json.dumps(r, indent=2).encode() for r in recs]
    batch = native.decode_texts(raws, "t", CELLS)
    assert batch.column(S.RECORD_INDEX).to_pylist() == [0, 1, 2]
    assert batch.column(S.EVENT_ID).to_pylist() == ["e0", "e1", "e2"]


@pytest.mark.skipif(not native.available(), reason="the native extension is not built")
def test_plain_records_are_decoded_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("fell back to the Python decoder")

    monkeypatch.setattr(native, "decode_chunk", refuse)
    raw = json.dumps(
        {"eventVersion": "1.08", "eventTime": "2026-01-02T03:04:05Z", "eventID": "e1"}
    ).encode()
    assert native.decode_texts([raw, raw], "t", CELLS).num_rows == 2


@pytest.mark.skipif(not native.available(), reason="the native extension is not built")
def test_many_texts_past_the_piece_size_stay_native(monkeypatch: pytest.MonkeyPatch) -> None:
    # Evidence of a big scan is thousands of texts: together a document the
    # native engine reads in pieces, which it only does for the Records shape.
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("fell back to the Python decoder")

    monkeypatch.setattr(native, "decode_chunk", refuse)
    pad = "x" * 2000  # 5000 texts: past the 8 MiB the native engine reads whole
    raws = [
        json.dumps(
            {
                "eventVersion": "1.08",
                "eventTime": "2026-01-02T03:04:05Z",
                "eventID": f"e{i}",
                "userAgent": pad,
            }
        ).encode()
        for i in range(5000)
    ]
    batch = native.decode_texts(raws, "t", CELLS)
    assert batch.column(S.RECORD_INDEX).to_pylist() == list(range(5000))
    assert batch.column(S.EVENT_ID).to_pylist() == [f"e{i}" for i in range(5000)]
