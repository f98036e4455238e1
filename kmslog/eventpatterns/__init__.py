"""EventBridge event patterns: parse, print, match (reference and vectorized)."""

from kmslog.eventpatterns.errors import EventPatternError
from kmslog.eventpatterns.jsontext import Num, loads_event
from kmslog.eventpatterns.match import matches
from kmslog.eventpatterns.parser import parse
from kmslog.eventpatterns.printer import to_text

__all__ = ["EventPatternError", "Num", "loads_event", "matches", "parse", "to_text"]
