"""One target under atheris (coverage-guided, libFuzzer): ``python fuzz/atheris_main.py
TARGET [libFuzzer options] [corpus dirs]``. Started by ``fuzz/run.py``, one process
per target, so a crash in one target does not hide the others."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import atheris  # noqa: E402

# Only kmslog's own code is instrumented: coverage of polars or pyarrow internals
# would make every input look new without saying anything about kmslog.
with atheris.instrument_imports(include=["kmslog"]):
    import kmslog.patterns.metric  # noqa: F401  (imported lazily by the code under test)
    import kmslog.patterns.vectorize  # noqa: F401
    from fuzz.targets import TARGETS


def ignoring(target: Callable[[bytes], None], names: frozenset[str]) -> Callable[[bytes], None]:
    """``target`` with the exceptions named in ``names`` counted as handled (run.py --ignore)."""

    def run(data: bytes) -> None:
        try:
            target(data)
        except Exception as exc:
            if type(exc).__name__ not in names:
                raise

    return run


def main() -> None:
    target = TARGETS[sys.argv[1]]
    names = frozenset(filter(None, os.environ.get("KMSLOG_FUZZ_IGNORE", "").split(",")))
    atheris.Setup([sys.argv[0], *sys.argv[2:]], ignoring(target, names) if names else target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
