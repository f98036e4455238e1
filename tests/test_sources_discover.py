from datetime import UTC, datetime

import pytest

from kmslog.sources.discover import DELIVERY_LAG, discover, parse_layout
from tests.ingest_fixtures import layout_path, write

T = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)


def test_parse_layout_plain_and_organization(tmp_path):
    plain = parse_layout(str(layout_path(tmp_path)))
    assert plain is not None
    assert (plain.account, plain.region, plain.delivered, plain.org_id) == (
        "111122223333",
        "us-east-1",
        T,
        None,
    )
    org = parse_layout(str(layout_path(tmp_path / "prefix", org="o-abc123")))
    assert org is not None
    assert org.org_id == "o-abc123"
    assert org.account == "111122223333"


@pytest.mark.parametrize(
    "path",
    [
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/02/"
        "111122223333_CloudTrail_us-east-1_20240501T1005Z_AbCdEfGh12345678.json.gz",
        "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/01/"
        "111122223333_CloudTrail_us-east-1_20240501T1005Z_AbCdEfGh12345678.json.gz",
        "AWSLogs/999999999999/CloudTrail/us-east-1/2024/05/01/"
        "111122223333_CloudTrail_us-east-1_20240501T1005Z_AbCdEfGh12345678.json.gz",
        "logs/111122223333/CloudTrail/us-east-1/2024/05/01/"
        "111122223333_CloudTrail_us-east-1_20240501T1005Z_AbCdEfGh12345678.json.gz",
        "111122223333_CloudTrail_us-east-1_20240501T1005Z_AbCdEfGh12345678.json.gz",
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/other.json.gz",
    ],
)
def test_parse_layout_rejects_inconsistent_paths(path):
    assert parse_layout("/data/" + path) is None


def _tree(tmp_path):
    paths = {
        "a": layout_path(tmp_path, stamp="20240501T1005Z"),
        "b": layout_path(tmp_path, stamp="20240503T0000Z"),
        "c": layout_path(tmp_path, account="444455556666", stamp="20240502T0000Z"),
        "d": layout_path(tmp_path, region="eu-west-1", stamp="20240502T0000Z"),
    }
    for p in paths.values():
        write(p, b"{}")
    digest = tmp_path / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/d.json.gz"
    insight = tmp_path / "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/05/01/i.json.gz"
    write(digest, b"{}")
    write(insight, b"{}")
    write(tmp_path / "README.md", b"notes")
    write(tmp_path / "loose" / "events.ndjson", b"{}")
    return paths


def test_walk_skips_digest_insight_and_non_log_files(tmp_path):
    paths = _tree(tmp_path)
    found = discover([str(tmp_path)])
    assert [f.path for f in found.files] == sorted(
        [str(p) for p in paths.values()] + [str(tmp_path / "loose" / "events.ndjson")]
    )
    assert len(found.skipped_digest) == 1
    assert len(found.skipped_insight) == 1
    assert found.skipped_other == [str(tmp_path / "README.md")]
    assert found.pruned == 0


def test_explicit_file_is_read_whatever_its_name(tmp_path):
    _tree(tmp_path)
    found = discover([str(tmp_path / "README.md")])
    assert [f.path for f in found.files] == [str(tmp_path / "README.md")]


def test_prune_by_account_region_since_until(tmp_path):
    paths = _tree(tmp_path)
    loose = str(tmp_path / "loose" / "events.ndjson")

    def kept(**kw):
        return {f.path for f in discover([str(tmp_path)], **kw).files}

    assert kept(accounts=frozenset({"444455556666"})) == {str(paths["c"]), loose}
    assert kept(regions=frozenset({"eu-west-1"})) == {str(paths["d"]), loose}
    # Delivered before the window opens: cannot hold a record inside it.
    since = datetime(2024, 5, 2, tzinfo=UTC)
    assert str(paths["a"]) not in kept(since=since)
    assert str(paths["c"]) in kept(since=since)
    # Delivered after the window closes: may still hold older records, up to the lag.
    until = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert str(paths["c"]) in kept(until=until)
    assert str(paths["b"]) not in kept(until=until)
    assert str(paths["b"]) in kept(until=until + DELIVERY_LAG)
    found = discover([str(tmp_path)], accounts=frozenset({"444455556666"}))
    assert found.pruned == 3


def test_globs_dedupe_and_missing(tmp_path):
    paths = _tree(tmp_path)
    found = discover(
        [str(tmp_path / "AWSLogs/*/CloudTrail/us-east-1"), str(paths["a"]), str(tmp_path / "nope")]
    )
    assert found.missing == [str(tmp_path / "nope")]
    assert [f.path for f in found.files] == sorted(str(p) for k, p in paths.items() if k in "abc")
    assert discover([str(tmp_path / "**" / "*.ndjson")]).files[0].path.endswith("events.ndjson")
    assert discover([str(tmp_path / "*.nothing")]).missing
