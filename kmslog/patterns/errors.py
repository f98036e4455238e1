"""The one error the pattern engine raises for a bad filter pattern."""

from __future__ import annotations


class PatternError(ValueError):
    """An invalid filter pattern: ``message`` says why, ``position`` is the 0-based
    character index in the pattern text where the problem was found."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position

    def __reduce__(self) -> tuple[type[PatternError], tuple[str, int]]:
        return (type(self), (self.message, self.position))


class TransformationError(ValueError):
    """A metric transformation AWS would refuse (PutMetricFilter validation)."""
