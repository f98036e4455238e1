"""Every input the fuzzers once crashed on (fuzz/corpus/<target>/) keeps being checked
against its target's contract (fuzz/targets.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fuzz.targets import TARGETS

CORPUS = Path(__file__).resolve().parent.parent / "fuzz" / "corpus"
README = CORPUS / "README.md"
# Decoder crashers that still crash here; the decoder's own hardening (issue 9) fixes
# them, and then these marks go.
STILL_CRASHING: dict[str, str] = {
    "decode/crash-ffcaf2420eb66cb06e9746e776d75a6a6503dfc0": "deep nesting: RecursionError",
    "split/crash-f0aafea7c88fe97d454305dc9a2c2bb86c6c66a1": "deep nesting: RecursionError",
    "decode/crash-0b2cf72274e47b7bb4dd416b8b9802a5f1caf368": "1e400 outside the projection",
    "decode/crash-f1e7918b9323cf5491d856d82ff53b8632d2923d": "calendar edge: OverflowError",
}


def _inputs() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*/*") if p.is_file())


def _params() -> list[object]:
    params: list[object] = []
    for path in _inputs():
        name = f"{path.parent.name}/{path.name}"
        marks = []
        if name in STILL_CRASHING:
            marks.append(pytest.mark.xfail(strict=False, reason=STILL_CRASHING[name]))
        params.append(pytest.param(path, id=name, marks=marks))
    return params


@pytest.mark.parametrize("path", _params())
def test_corpus_input_keeps_the_contract(path: Path) -> None:
    TARGETS[path.parent.name](path.read_bytes())


def test_corpus_folders_are_targets() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert folders <= set(TARGETS)


def test_every_crasher_is_described() -> None:
    listed = set(re.findall(r"`([a-z_]+/[\w.-]+)`", README.read_text(encoding="utf-8")))
    files = {f"{p.parent.name}/{p.name}" for p in _inputs()}
    assert files - listed == set(), "describe each crasher in fuzz/corpus/README.md"
    assert listed - files == set(), "fuzz/corpus/README.md names inputs that are not there"
