"""The one error the event-pattern engine raises for a bad pattern or event."""

from __future__ import annotations


class EventPatternError(ValueError):
    """An invalid event pattern (or event text).

    ``message`` is AWS's wording where AWS (``aws/event-ruler``) has one; ``position``
    is the 0-based character index in the text where the problem was found;
    ``path`` is the dotted field path being compiled ("" at the top).
    """

    def __init__(self, message: str, position: int, path: str = "") -> None:
        where = f" (field {path})" if path else ""
        super().__init__(f"{message} at position {position}{where}")
        self.message = message
        self.position = position
        self.path = path

    def line_column(self, text: str) -> tuple[int, int]:
        """1-based line and column of ``position`` in ``text``."""
        before = text[: self.position]
        line = before.count("\n") + 1
        return line, self.position - (before.rfind("\n") + 1) + 1

    def __reduce__(self) -> tuple[type[EventPatternError], tuple[str, int, str]]:
        return (type(self), (self.message, self.position, self.path))
