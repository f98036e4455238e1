"""Every input the fuzzers once crashed on (fuzz/corpus/<target>/) keeps being checked
against its target's contract (fuzz/targets.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fuzz.targets import TARGETS

CORPUS = Path(__file__).resolve().parent.parent / "fuzz" / "corpus"
README = CORPUS / "README.md"


def _inputs() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*/*") if p.is_file())


def _params() -> list[object]:
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in _inputs()]


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
