"""Pattern texts the fuzzer found crashing the engine: each is a positioned PatternError.

Parentheses nested 400 deep raised RecursionError in the parser; a byte that is not
UTF-8 (kept by Python as a lone surrogate, as in a command-line argument) reached the
vectorized evaluator's regex, which raised polars' ComputeError."""

from __future__ import annotations

import pytest

from kmslog.patterns import PatternError, parse
from kmslog.patterns.syntax import MAX_NESTING


def nested(depth: int) -> str:
    return "{ " + "(" * depth + "$.a = 1" + ")" * depth + " }"


def test_deepest_allowed_nesting_parses_prints_and_matches() -> None:
    pattern = parse(nested(MAX_NESTING))
    assert parse(pattern.to_text()).ast == pattern.ast
    assert pattern.matches('{"a": 1}') and not pattern.matches('{"a": 2}')
    pattern.to_polars()


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 400, 500])
def test_deeper_nesting_is_a_positioned_pattern_error(depth: int) -> None:
    with pytest.raises(PatternError, match="nested at most") as info:
        parse(nested(depth))
    assert info.value.position == 2 + MAX_NESTING


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('{ $.s = "a*b\udcff*c" }', 12),
        ("{ $.s = a\ud800 }", 9),
        ("[a = \udfff]", 5),
        ("%x\udcff%", 2),
        ("ERROR \udcff", 6),
    ],
)
def test_lone_surrogates_are_a_positioned_pattern_error(text: str, position: int) -> None:
    with pytest.raises(PatternError, match="valid Unicode") as info:
        parse(text)
    assert info.value.position == position


@pytest.mark.parametrize("text", ['% % ""', '"" %x%', '"" {a}', '"" [a] b', '-"" %a%'])
def test_terms_after_an_empty_quoted_term_print_back_as_terms(text: str) -> None:
    pattern = parse(text)
    assert pattern.kind == "terms"
    assert parse(pattern.to_text()).ast == pattern.ast


def test_costly_regex_searches_are_linear_and_agree_with_python() -> None:
    import re

    from kmslog.patterns.regex import BACKTRACK_TEXT, compile_regex

    costly = compile_regex(".*.*.*.#x")
    assert costly.repeats == 3
    # What Python's backtracking engine would take ~n^4 steps for ends at once.
    assert costly.search("a" * 20_000) is False
    assert costly.search("a" * 20_000 + "b#x") is True
    single = compile_regex("ab+c")
    assert single.repeats == 1 and compile_regex("abc").repeats == 0
    assert single.search("x" * (BACKTRACK_TEXT + 10) + "abbbc") is True
    # Both engines give the same answers where Python can afford to answer.
    for text in ["", "#x", "a#x", "ab#", "zz#xz", "\u00e9#x", "a\n#x"]:
        expected = re.compile(costly.python, re.ASCII).search(text) is not None
        assert costly.search(text) is expected, text
