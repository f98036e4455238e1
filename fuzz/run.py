"""Run every fuzz target for a bounded time; exit 1 on any crash, saving the input.

    python fuzz/run.py --seconds 20                 # every target, every engine available
    python fuzz/run.py --seconds 300 --target decode --engine atheris

Engines: ``atheris`` (coverage-guided, libFuzzer; ``pip install '.[fuzz]'``) mutates
bytes from structure-aware seeds (``fuzz/seeds.py``); ``hypothesis`` draws hostile
inputs from ``fuzz/strategies.py``. Targets run one after the other, each in its own
process. A crashing input is saved as ``fuzz/corpus/<target>/crash-<sha1>``; the
corpus is replayed by ``tests/test_fuzz_corpus.py``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fuzz.targets import TARGETS  # noqa: E402

CORPUS = ROOT / "fuzz" / "corpus"
# One input taking longer than this is a hang (libFuzzer -timeout, SIGALRM for hypothesis).
INPUT_TIMEOUT = 20
RSS_LIMIT_MB = 2048


def show(path: Path) -> None:
    """Print a small crasher in full: CI runs in a clone whose files are not kept."""
    data = path.read_bytes()
    if len(data) <= 8192:
        encoded = base64.b64encode(data).decode()
        print(f"  input ({len(data)} bytes, base64): {encoded}", flush=True)


def save(target: str, data: bytes, kind: str = "crash") -> Path:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    return path


# --- atheris -----------------------------------------------------------------------------


def run_atheris(
    target: str, seconds: float, jobs_dir: Path, ignore: frozenset[str] = frozenset()
) -> bool:
    """libFuzzer for ``seconds`` on ``target``; True when it found nothing."""
    from fuzz.seeds import seeds

    work = jobs_dir / target
    work.mkdir(parents=True, exist_ok=True)
    for data in seeds(target):
        (work / hashlib.sha1(data).hexdigest()).write_bytes(data)
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(ROOT / "fuzz" / "atheris_main.py"),
        target,
        f"-max_total_time={max(1, int(seconds))}",
        f"-timeout={INPUT_TIMEOUT}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        "-max_len=65536",
        f"-artifact_prefix={folder}/",
        "-print_final_stats=1",
        str(work),
    ]
    # Earlier crashers seed the run too, but new inputs go to the scratch corpus only.
    if any(folder.iterdir()):
        command.append(str(folder))
    log = jobs_dir / f"{target}.log"
    with log.open("wb") as out:
        env = {**os.environ, "KMSLOG_FUZZ_IGNORE": ",".join(sorted(ignore))}
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    text = log.read_text(errors="replace")
    stats = [line for line in text.splitlines() if line.startswith(("#", "stat::number_of"))]
    runs = next((s.split()[-1] for s in reversed(stats) if "number_of_executed_units" in s), "?")
    if code == 0:
        print(f"  atheris    {target:<14} ok ({runs} inputs)", flush=True)
        return True
    print(f"  atheris    {target:<14} CRASH (exit {code})", flush=True)
    tail = text[text.find("=== Uncaught") :] if "=== Uncaught" in text else text[-4000:]
    print(tail[:6000], flush=True)
    for written in re.findall(r"Test unit written to (\S+)", text):
        print(f"  input saved as {written}", flush=True)
        show(Path(written))
    return False


# --- hypothesis ----------------------------------------------------------------------------


class Hang(Exception):
    """One input ran past INPUT_TIMEOUT."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"input took more than {INPUT_TIMEOUT} s")


def run_hypothesis(target: str, seconds: float, ignore: frozenset[str] = frozenset()) -> bool:
    """Batches of hypothesis examples for ``seconds``; True when it found nothing.
    Inputs raising an exception named in ``ignore`` count as handled."""
    from hypothesis import HealthCheck, Phase, given, settings

    from fuzz.strategies import STRATEGIES

    check = TARGETS[target]
    failing: list[bytes] = []

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(STRATEGIES[target])
    def property_(data: bytes) -> None:
        signal.alarm(INPUT_TIMEOUT)
        try:
            check(data)
        except BaseException as exc:
            if type(exc).__name__ in ignore:
                return
            failing.append(data)
            raise
        finally:
            signal.alarm(0)

    signal.signal(signal.SIGALRM, _alarm)
    end = time.monotonic() + seconds
    batches = 0
    while time.monotonic() < end:
        try:
            property_()
        except Exception:
            path = save(target, failing[-1]) if failing else None
            print(f"  hypothesis {target:<14} CRASH, input saved as {path}", flush=True)
            lines = traceback.format_exc(limit=12).splitlines()
            print("\n".join(line[:500] for line in lines[-40:]), flush=True)
            if path is not None:
                show(path)
            return False
        batches += 1
    print(f"  hypothesis {target:<14} ok ({batches * 200} inputs)", flush=True)
    return True


def _child(target: str, seconds: float, ignore: frozenset[str]) -> int:
    return 0 if run_hypothesis(target, seconds, ignore) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="per target and engine")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS))
    parser.add_argument(
        "--engine", choices=("all", "atheris", "hypothesis"), default="all", help="default: all"
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="EXCEPTION",
        help="treat this exception class (by name) as handled, to look "
        "past a known crash while it is being fixed; never in CI",
    )
    parser.add_argument("--hypothesis-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hypothesis_child:
        return _child(args.hypothesis_child, args.seconds, frozenset(args.ignore))
    targets = args.target or list(TARGETS)
    engines = ["atheris", "hypothesis"] if args.engine == "all" else [args.engine]
    if "atheris" in engines and importlib.util.find_spec("atheris") is None:
        if args.engine == "atheris":
            print("atheris is not installed: pip install '.[fuzz]'", file=sys.stderr)
            return 2
        print("atheris is not installed; running the hypothesis engine only", flush=True)
        engines.remove("atheris")
    started = time.monotonic()
    crashed: list[str] = []
    jobs_dir = Path(tempfile.mkdtemp(prefix="kmslog-fuzz-"))
    try:
        for target in targets:
            for engine in engines:
                if engine == "atheris":
                    ok = run_atheris(target, args.seconds, jobs_dir, frozenset(args.ignore))
                else:
                    # Its own process: a crash that kills the interpreter is still reported.
                    code = subprocess.call(
                        [sys.executable, __file__, "--hypothesis-child", target]
                        + ["--seconds", str(args.seconds)]
                        + [f"--ignore={name}" for name in args.ignore],
                        cwd=ROOT,
                    )
                    ok = code == 0
                    if code not in (0, 1):
                        print(f"  hypothesis {target:<14} died (exit {code})", flush=True)
                if not ok:
                    crashed.append(f"{engine}:{target}")
    finally:
        shutil.rmtree(jobs_dir, ignore_errors=True)
    elapsed = time.monotonic() - started
    if crashed:
        print(f"fuzz: {len(crashed)} crashed ({', '.join(crashed)}) in {elapsed:.0f} s")
        print(f"fuzz: inputs saved under {CORPUS.relative_to(ROOT)}/<target>/")
        return 1
    print(f"fuzz: {len(targets)} targets x {len(engines)} engines found nothing in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
