"""Hostile file systems and compressed streams: only regular files are opened, any
file name is carried and shown escaped, inflating is streaming and capped on every
command, and a bomb is refused with bounded memory."""

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.run.api import ScanOptions
from kmslog.run.executor import NoInputError, run
from kmslog.sources import local
from kmslog.sources.discover import discover
from kmslog.sources.local import SourceError, decompressed_chunks, inflate, read_source
from kmslog.sources.names import display_name
from tests.ingest_fixtures import KEY, record

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
BAD = b"bad\xffname.json"
BAD_SHOWN = "bad\\xffname.json"
PATTERN = '{ $.eventName = "Decrypt" }'


def _records(*records: dict) -> bytes:
    return json.dumps({"Records": list(records)}).encode()


def _good(tmp_path: Path) -> Path:
    path = tmp_path / "good.json"
    path.write_bytes(_records(record(0)))
    return path


# -- only regular files are opened ---------------------------------------------------


def test_fifo_in_a_tree_is_skipped_not_opened(tmp_path):
    _good(tmp_path)
    os.mkfifo(tmp_path / "pipe.json")
    # A subprocess with a timeout: opening a FIFO for reading blocks until a writer comes.
    done = subprocess.run(
        [sys.executable, "-m", "kmslog", "scan", "--format", "json", "--fail-on", "none"]
        + ["--no-progress", str(tmp_path)],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["summary"]
    assert summary["files"]["read"] == 1
    assert summary["files"]["skipped_special"] == 1
    assert summary["skipped_special"] == [{"source": str(tmp_path / "pipe.json"), "reason": "FIFO"}]


def _special_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    good = _good(tree)
    (tree / "zero.json").symlink_to("/dev/zero")
    (tree / "null.json.gz").symlink_to("/dev/null")
    (tree / "a.json").symlink_to(tree / "b.json")
    (tree / "b.json").symlink_to(tree / "a.json")
    (tree / "self.json").symlink_to(tree / "self.json")
    (tree / "broken.json").symlink_to(tree / "nowhere.json")
    (tree / "link.json").symlink_to(good)  # followed once: the same file as good.json
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tree / "s.json"))
    sock.close()
    return tree


def test_devices_sockets_loops_and_broken_links_are_skipped_with_a_reason(tmp_path):
    tree = _special_tree(tmp_path)
    found = discover([str(tree)])
    assert [f.path for f in found.files] == [str(tree / "good.json")]
    assert dict(found.skipped_special) == {
        str(tree / "zero.json"): "character device",
        str(tree / "null.json.gz"): "character device",
        str(tree / "a.json"): "symlink loop",
        str(tree / "b.json"): "symlink loop",
        str(tree / "self.json"): "symlink loop",
        str(tree / "broken.json"): "broken symlink",
        str(tree / "s.json"): "socket",
    }
    stats = run([str(tree)], [], ScanOptions(jobs=1)).stats
    assert (stats.files_read, stats.files_failed, stats.records_kept) == (1, 0, 1)
    assert stats.files_skipped_special == 7
    assert stats.skipped_special_reasons == {
        "character device": 2,
        "symlink loop": 3,
        "broken symlink": 1,
        "socket": 1,
    }
    result = runner.invoke(app, ["scan", "--no-progress", "--fail-on", "none", str(tree)])
    assert result.exit_code == 0, result.output
    assert "files skipped (not regular files)" in result.output
    assert "symlink loop" in result.output


def test_a_device_named_explicitly_is_not_read(tmp_path):
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(NoInputError, match="not regular files: character device"):
        run([str(link)], [], ScanOptions(jobs=1))
    with pytest.raises(SourceError, match="not a regular file: character device"):
        read_source(str(link), 1 << 30)
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(NoInputError, match="symlink loop"):
        run([str(loop)], [], ScanOptions(jobs=1))


def test_a_fifo_swapped_in_after_the_check_cannot_block(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    # The stat check saw a regular file; by the time of the open it is a FIFO.
    monkeypatch.setattr("kmslog.sources.regular.special_kind", lambda path: (None, None))
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_source(str(fifo), 1 << 20)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)
    assert outcome, "reading a FIFO blocked"
    assert isinstance(outcome[0], SourceError)
    assert outcome[0].reason == "not a regular file: FIFO"


# -- file names of any bytes ---------------------------------------------------------


def test_display_name_escapes_bytes_that_are_not_utf8():
    assert display_name("/logs/plain.json") == "/logs/plain.json"
    assert display_name(os.fsdecode(b"/logs/" + BAD)) == "/logs/" + BAD_SHOWN
    assert display_name("lone\ud800") == "lone\\ud800"


def _named_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "names"
    tree.mkdir()
    control = record(1, eventName="DisableKey", readOnly=False, requestParameters={"keyId": KEY})
    (Path(os.fsdecode(bytes(tree) + b"/" + BAD))).write_bytes(_records(record(0), control))
    broken = bytes(tree) + b"/rej\xfe.json"
    Path(os.fsdecode(broken)).write_bytes(_records({"eventTime": "never"}))
    return tree


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_non_utf8_file_names_scan(tmp_path, jobs, monkeypatch):
    tree = _named_tree(tmp_path)
    # One group per file, so that --jobs 2 really reads them in worker processes.
    monkeypatch.setattr("kmslog.run.executor.GROUP_BYTES", 1)
    monkeypatch.setattr("kmslog.run.executor.NATIVE_GROUP_BYTES", 1)
    result = runner.invoke(
        app,
        ["scan", "--no-progress", "--fail-on", "none", "--format", "json"]
        + ["--jobs", jobs, str(tree)],
    )
    assert result.exception is None, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["files"]["read"] == 2
    assert summary["records"]["kept"] == 2
    assert summary["rejections"][0]["source"] == f"{tree}/rej\\xfe.json"
    table = runner.invoke(app, ["scan", "--no-progress", "--fail-on", "none", str(tree)])
    assert table.exit_code == 0, table.output
    assert "rej\\xfe.json" in table.output


def test_non_utf8_file_names_filter_lifecycle_baseline(tmp_path):
    tree = _named_tree(tmp_path)
    shown = f"{tree}/{BAD_SHOWN}"
    result = runner.invoke(app, ["filter", "--no-progress", "--format", "json", PATTERN, str(tree)])
    assert result.exception is None, result.output
    assert [e["logStreamName"] for e in json.loads(result.stdout)["events"]] == [shown]
    result = runner.invoke(app, ["filter", "--no-progress", PATTERN, str(tree)])
    assert result.exception is None, result.output
    result = runner.invoke(
        app, ["lifecycle", "--no-progress", "--format", "json", KEY.split("/")[-1], str(tree)]
    )
    assert result.exception is None, result.output
    assert shown in {e["source"] for e in json.loads(result.stdout)["events"]}
    result = runner.invoke(app, ["lifecycle", "--no-progress", "--all", str(tree)])
    assert result.exception is None, result.output
    profile = tmp_path / "profile.json"
    result = runner.invoke(app, ["baseline", "--no-progress", "-o", str(profile), str(tree)])
    assert result.exception is None, result.output
    assert profile.exists()


@pytest.mark.parametrize("command", ["scan", "filter", "lifecycle", "baseline"])
def test_a_non_utf8_file_named_on_the_command_line(tmp_path, command):
    tree = _named_tree(tmp_path)
    named = os.fsdecode(bytes(tree) + b"/" + BAD)
    args = {
        "scan": ["scan", "--fail-on", "none"],
        "filter": ["filter", PATTERN],
        "lifecycle": ["lifecycle", "--all"],
        "baseline": ["baseline", "-o", str(tmp_path / "profile.json")],
    }[command]
    result = runner.invoke(app, [*args, "--no-progress", named])
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    if command == "baseline":
        profile = (tmp_path / "profile.json").read_text()
        assert json.dumps(f"{tree}/{BAD_SHOWN}") in profile


# -- the size cap on every command ---------------------------------------------------

COMMANDS = {
    "scan": ["scan", "--fail-on", "none"],
    "filter": ["filter", PATTERN],
    "lifecycle": ["lifecycle", "--all"],
    "baseline": ["baseline", "-o", "{profile}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_log_reading_command_takes_and_enforces_the_cap(tmp_path, command):
    big = tmp_path / "big.json.gz"
    big.write_bytes(gzip.compress(_records(*(record(i) for i in range(20)))))
    args = [a.replace("{profile}", str(tmp_path / "p.json")) for a in COMMANDS[command]]
    result = runner.invoke(app, [*args, "--no-progress", "--strict", str(big)])
    assert result.exit_code == 0, result.output
    capped = runner.invoke(
        app, [*args, "--no-progress", "--strict", "--max-decompressed-size", "4KiB", str(big)]
    )
    assert capped.exit_code == 3, capped.output
    message = " ".join(capped.output.split())  # rich wraps long lines
    assert f"{big} (byte 0): decompressed size exceeds the cap of 4096 bytes" in message
    # Without --strict the refused file is still named; it was the only input, so
    # nothing was readable (exit 2).
    lenient = runner.invoke(
        app, [*args, "--no-progress", "--max-decompressed-size", "4KiB", str(big)]
    )
    assert lenient.exit_code == 2, lenient.output
    assert "exceeds the cap of 4096 bytes" in " ".join(lenient.output.split())


# -- streaming inflate ---------------------------------------------------------------


def _member(byte: bytes, size: int) -> bytes:
    return zlib.compress(byte * size, 9, wbits=31)


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("block", [1, 7, 4096, 1 << 20])
def test_inflate_multi_member_and_padding_in_any_block_size(block, monkeypatch):
    monkeypatch.setattr(local, "PIECE_SIZE", 1000)
    members = [b"a" * 5000, b"", b'{"Records":[]}', os.urandom(3000)]
    data = b"".join(gzip.compress(m) for m in members) + b"\0" * 300
    pieces = list(inflate(_blocks(data, block), 1 << 30))
    assert b"".join(pieces) == b"".join(members)
    assert max(len(p) for p in pieces) <= 1000


def test_inflate_errors_name_the_member_or_the_garbage():
    one, two, three = (gzip.compress(bytes([65 + i]) * 10_000) for i in range(3))
    corrupt = two[:12] + b"\xff" * 40 + two[52:]
    cases = [
        (one + corrupt + three, "corrupt gzip", len(one)),
        (one + two[:-5], "truncated gzip", len(one)),
        (one + two[:15], "truncated gzip", len(one)),
        (one + two[:1], "truncated gzip", len(one)),
        (one + two + b"\0\0junk", "trailing garbage", len(one) + len(two) + 2),
        (one + b"\0" * 8 + two, "trailing garbage", len(one) + 8),
    ]
    for data, reason, position in cases:
        for block in (3, 1 << 20):
            with pytest.raises(SourceError, match=reason) as caught:
                b"".join(inflate(_blocks(data, block), 1 << 30))
            assert caught.value.position == position, (reason, block)


def test_the_cap_is_checked_while_inflating_not_after_reading_everything():
    member = gzip.compress(b" " * (4 << 20), 9)
    consumed = 0

    def blocks():
        nonlocal consumed
        for _ in range(1000):  # 4 GiB of spaces if it were read to the end
            consumed += 1
            yield member

    pieces = inflate(blocks(), 10 << 20)
    biggest = 0
    with pytest.raises(SourceError, match="exceeds the cap of 10485760 bytes"):
        for piece in pieces:
            biggest = max(biggest, len(piece))
    assert consumed <= 4
    assert biggest <= local.PIECE_SIZE


def test_file_streams_in_pieces_and_a_zero_bomb_is_refused_from_its_first_bytes(tmp_path):
    data = _records(*(record(i) for i in range(3000)))
    path = tmp_path / "many.json.gz"
    path.write_bytes(gzip.compress(data))
    pieces = list(decompressed_chunks(str(path), 1 << 30))
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) <= local.PIECE_SIZE
    plain = tmp_path / "plain.json"
    plain.write_bytes(data)
    assert b"".join(decompressed_chunks(str(plain), 1 << 30)) == data
    bomb = tmp_path / "zeros.json.gz"
    bomb.write_bytes(_member(b"\0", 16 << 20) * 64)
    chunks = decompressed_chunks(str(bomb), 1 << 40)
    with pytest.raises(SourceError, match=r"^not JSON: starts with byte 0x00$"):
        next(chunks)
    # Whitespace and a BOM before JSON, and a bad first line with more lines after it,
    # are for the shape parser to judge.
    (tmp_path / "ws.json").write_bytes(b" \n" * 100_000 + b"\xef\xbb\xbf" + data)
    assert b"".join(decompressed_chunks(str(tmp_path / "ws.json"), 1 << 30)).endswith(data)
    (tmp_path / "lines.json").write_bytes(b"\0garbage\n" + b'{"eventTime": "x"}\n' * 10_000)
    assert len(read_source(str(tmp_path / "lines.json"), 1 << 30)) > 64 * 1024
    (tmp_path / "text.json").write_bytes(b"#" * 100_000)
    with pytest.raises(SourceError, match="not JSON: starts with byte 0x23") as caught:
        read_source(str(tmp_path / "text.json"), 1 << 30)
    assert caught.value.position == 0


# -- bombs: refused with bounded memory ----------------------------------------------

RSS_LIMIT_KIB = 512 * 1024


# Runs a command and writes the peak RSS (KiB) of it and its waited-for workers to
# argv[1]. It is a fresh, small process: ru_maxrss of a child counts the memory of the
# process it was forked from, so forking the command from the test process itself
# (hundreds of MB after a long suite) would measure the test, not the command.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _scan_measured(tmp_path: Path, tree: Path, *args: str) -> tuple[int, dict, int]:
    """Exit status, JSON summary and peak RSS (KiB, the command and its workers) of a scan."""
    out, err, peak = tmp_path / "out.json", tmp_path / "err.txt", tmp_path / "rss.txt"
    command = [sys.executable, "-m", "kmslog", "scan", "--format", "json", "--fail-on", "none"]
    command += ["--no-progress", *args, str(tree)]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", _MEASURE, str(peak), *command],
            stdout=stdout,
            stderr=stderr,
            cwd=ROOT,
        )
    try:
        child.wait(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()
        raise
    assert child.returncode == 0, err.read_text()
    return child.returncode, json.loads(out.read_bytes())["summary"], int(peak.read_text())


def test_a_zero_bomb_under_the_default_cap_is_refused_with_bounded_memory(tmp_path):
    tree = tmp_path / "zeros"
    tree.mkdir()
    _good(tree)
    # 1 GiB of zeros, 64 members: under the 4 GiB default cap, so only the sniff stops it.
    (tree / "zeros.json.gz").write_bytes(_member(b"\0", 16 << 20) * 64)
    _, summary, rss = _scan_measured(tmp_path, tree, "--jobs", "1")
    assert (summary["files"]["read"], summary["files"]["failed"]) == (1, 1)
    failure = summary["rejections"][0]
    assert failure["source"] == str(tree / "zeros.json.gz")
    assert failure["reason"] == "not JSON: starts with byte 0x00"
    assert rss < RSS_LIMIT_KIB


def test_a_whitespace_bomb_is_refused_at_the_cap_with_bounded_memory(tmp_path):
    tree = tmp_path / "spaces"
    tree.mkdir()
    _good(tree)
    # 512 MiB of spaces after a valid start: the sniff passes it, the cap must stop it.
    bomb = gzip.compress(b'{"Records":[') + _member(b" ", 16 << 20) * 32
    (tree / "spaces.json.gz").write_bytes(bomb)
    _, summary, rss = _scan_measured(tmp_path, tree, "--max-decompressed-size", "64MiB")
    assert (summary["files"]["read"], summary["files"]["failed"]) == (1, 1)
    failure = summary["rejections"][0]
    assert failure["source"] == str(tree / "spaces.json.gz")
    assert failure["reason"].startswith("decompressed size exceeds the cap of 67108864 bytes")
    assert rss < RSS_LIMIT_KIB
