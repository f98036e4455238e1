import gzip

import pytest

from kmslog.sources.local import SourceError, gunzip, read_source

DATA = b'{"Records":[]}' * 1000


def test_plain_and_gzip_detected_by_magic_not_name(tmp_path):
    (tmp_path / "a.json.gz").write_bytes(DATA)
    (tmp_path / "b.json").write_bytes(gzip.compress(DATA))
    assert read_source(str(tmp_path / "a.json.gz"), 1 << 30) == DATA
    assert read_source(str(tmp_path / "b.json"), 1 << 30) == DATA


def test_multi_member_gzip_and_zero_padding():
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), 100) == b"abcd"
    assert gunzip(gzip.compress(b"ab") + b"\0" * 10, 100) == b"ab"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (gzip.compress(DATA)[:-12], "truncated gzip"),
        (gzip.compress(DATA)[:15], "truncated gzip"),
        (gzip.compress(DATA)[:12] + b"\xff" * 40, "corrupt gzip"),
        (gzip.compress(DATA) + b"junk", "trailing garbage"),
    ],
)
def test_bad_gzip_is_a_source_error(data, reason):
    with pytest.raises(SourceError, match=reason):
        gunzip(data, 1 << 30)


def test_decompression_cap_stops_a_bomb():
    bomb = gzip.compress(b"\0" * (20 << 20), 9)
    assert len(bomb) < 100_000
    with pytest.raises(SourceError, match="exceeds the cap of 1048576 bytes"):
        gunzip(bomb, 1 << 20)
    assert len(gunzip(bomb, 20 << 20)) == 20 << 20


def test_plain_file_above_cap_and_zip_and_missing(tmp_path):
    (tmp_path / "big.json").write_bytes(b" " * 2000)
    with pytest.raises(SourceError, match="exceeds the cap"):
        read_source(str(tmp_path / "big.json"), 1000)
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(SourceError, match="zip archive"):
        read_source(str(tmp_path / "x.zip"), 1000)
    with pytest.raises(SourceError, match="cannot read"):
        read_source(str(tmp_path / "missing.json"), 1000)
