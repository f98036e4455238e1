"""Decompression bombs against every command that reads logs: wall time and peak RSS.

Bombs, built once under ``--dir`` (kept between runs; about 10 MB each):

* ``zeros``: 10 GiB of zeros as 10 gzip members of 1 GiB (one member compressed
  once with zlib level 9, written ten times);
* ``zeros-single``: 10 GiB of zeros as one gzip member (zlib level 9, streamed;
  about 35 s to build once; ``--kinds`` leaves it out when not asked for);
* ``spaces``: ``{"Records":[`` then 10 GiB of spaces (members of 1 GiB): a start
  that is valid JSON, so only the size cap can refuse it.

Each command (``scan``, ``filter``, ``lifecycle --all``, ``baseline``) runs as a
subprocess on a tree holding one small valid log file and the bomb; with ``--jobs 2``
the tree holds the bomb twice (hard links: two files, two groups), so each worker
process inflates one. CPU is user + system seconds of the command and its workers
(on a shared machine wall time includes waiting for a core). Peak RSS is
``ru_maxrss`` from ``wait4``: the largest of the command's process and its worker
processes (per process, not summed). "refused"
means the command's output names the bomb with the cap or not-JSON reason.

    python -m benchmarks.bomb [--dir benchmarks/.work/bombs] [--kinds zeros,spaces]
        [--jobs 1,2] [--cap 4GiB] [--commands scan,filter,lifecycle,baseline,chunks]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
GIB = 1024**3
BLOCK = 64 * 1024**2
RECORD = {
    "eventVersion": "1.08",
    "eventTime": "2024-05-01T10:00:00Z",
    "eventSource": "kms.amazonaws.com",
    "eventName": "Decrypt",
    "awsRegion": "us-east-1",
    "eventID": "00000000-0000-0000-0000-000000000001",
    "recipientAccountId": "111122223333",
}
COMMANDS = {
    "scan": ["scan", "--format", "json", "--fail-on", "none"],
    "filter": ["filter", '{ $.eventName = "Decrypt" }'],
    "lifecycle": ["lifecycle", "--all"],
    "baseline": ["baseline", "-o", "{out}/profile.json"],
}


def _member(byte: bytes, size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = byte * BLOCK
    parts = [packer.compress(block) for _ in range(size // BLOCK)]
    parts.append(packer.flush())
    return b"".join(parts)


def build(kind: str, where: Path) -> Path:
    path = where / f"{kind}.json.gz"
    if path.exists():
        return path
    where.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    partial = path.with_suffix(".part")
    with partial.open("wb") as out:
        if kind == "zeros":
            member = _member(b"\0", GIB)
            for _ in range(10):
                out.write(member)
        elif kind == "zeros-single":
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)
            block = b"\0" * BLOCK
            for _ in range(10 * GIB // BLOCK):
                out.write(packer.compress(block))
            out.write(packer.flush())
        elif kind == "spaces":
            out.write(zlib.compress(b'{"Records":[', 9, wbits=31))
            member = _member(b" ", GIB)
            for _ in range(10):
                out.write(member)
        else:
            raise SystemExit(f"unknown bomb kind {kind!r}")
    partial.rename(path)
    print(
        f"built {path} ({path.stat().st_size:,} bytes) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return path


def tree(bomb: Path, copies: int, where: Path) -> Path:
    """A directory with one valid log file and ``copies`` hard links to ``bomb``."""
    root = where / f"tree-{bomb.stem.split('.')[0]}-{copies}"
    if root.exists():
        return root
    root.mkdir(parents=True)
    (root / "good.json").write_text(json.dumps({"Records": [RECORD]}))
    for i in range(copies):
        os.link(bomb, root / f"bomb{i}.json.gz")
    return root


@dataclass
class Measured:
    wall: float
    cpu: float
    rss_mb: float
    status: int
    refused: bool


def drain(path: str, cap: str) -> None:
    """Read ``path`` with ``decompressed_chunks`` and drop the pieces: the reader's own
    bound, whatever the layers above it hold."""
    from kmslog.commands.options import parse_size
    from kmslog.sources.local import SourceError, decompressed_chunks

    try:
        for _ in decompressed_chunks(path, parse_size(cap)):
            pass
    except SourceError as exc:
        print(f"{path}: {exc.reason}")


def measure(command: str, root: Path, jobs: int, cap: str | None, out: Path) -> Measured:
    if command == "chunks":
        bomb = str(root / "bomb0.json.gz")
        argv = [sys.executable, "-m", "benchmarks.bomb", "--drain", bomb, cap or "4GiB"]
    else:
        args = [a.replace("{out}", str(out)) for a in COMMANDS[command]]
        args += ["--no-progress", "--jobs", str(jobs)]
        if cap is not None:
            args += ["--max-decompressed-size", cap]
        argv = [sys.executable, "-m", "kmslog", *args, str(root)]
    log = out / "output.txt"
    env = {**os.environ, "COLUMNS": "1000"}  # no wrapped file names in rich output
    started = time.perf_counter()
    with log.open("wb") as sink:
        child = subprocess.Popen(
            argv,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
        # wait4: this command's own peak (the largest of it and its reaped workers).
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    refused = "bomb0.json.gz" in text and ("exceeds the cap" in text or "not JSON" in text)
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(wall, cpu, usage.ru_maxrss / 1024, child.returncode, refused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=HERE / ".work" / "bombs")
    parser.add_argument("--kinds", default="zeros,zeros-single,spaces")
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--cap", default=None, help="--max-decompressed-size (default: 4GiB)")
    parser.add_argument(
        "--commands",
        default=",".join(COMMANDS),
        help="also: chunks (decompressed_chunks alone, pieces dropped)",
    )
    parser.add_argument("--drain", nargs=2, metavar=("PATH", "CAP"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.drain:
        drain(*options.drain)
        return
    out = options.dir / "out"
    out.mkdir(parents=True, exist_ok=True)
    cap = options.cap or "4GiB (default)"
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, cap {cap}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print()
    print("| bomb | command | jobs | wall | CPU | peak RSS per process | exit | refused |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in options.kinds.split(","):
        bomb = build(kind, options.dir)
        for jobs in (int(j) for j in options.jobs.split(",")):
            root = tree(bomb, jobs, options.dir)
            for command in options.commands.split(","):
                m = measure(command, root, jobs, options.cap, out)
                print(
                    f"| {kind} | {command} | {jobs} | {m.wall:.2f} s | {m.cpu:.2f} s "
                    f"| {m.rss_mb:,.0f} MB "
                    f"| {m.status} | {'yes' if m.refused else '**no**'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
