"""The parsed filter pattern object the rest of kmslog uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kmslog.patterns import ast as A
from kmslog.patterns import match as M
from kmslog.patterns.printer import to_text
from kmslog.patterns.syntax import parse_text

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class FilterPattern:
    """A valid filter pattern: its text, syntax tree and lint warnings."""

    text: str
    ast: A.Pattern
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        """``json``, ``delimited``, ``regex`` or ``terms``."""
        if isinstance(self.ast, A.JsonPattern):
            return "json"
        if isinstance(self.ast, A.DelimitedPattern):
            return "delimited"
        if isinstance(self.ast, A.RegexPattern):
            return "regex"
        return "terms"

    def matches(self, message: str) -> bool:
        return M.matches(self.ast, message)

    def extract(self, message: str) -> dict[str, str]:
        return M.extract(self.ast, message)

    def to_polars(self) -> pl.Expr:
        """A boolean expression over an event frame (``kmslog.decode.schema``)."""
        from kmslog.patterns.vectorize import to_polars

        return to_polars(self)

    def to_text(self) -> str:
        return to_text(self.ast)

    def __str__(self) -> str:
        return self.to_text()


def parse(text: str) -> FilterPattern:
    """Parse a CloudWatch Logs filter pattern; raises PatternError when invalid."""
    parsed = parse_text(text)
    return FilterPattern(text, parsed.ast, tuple(parsed.warnings))
