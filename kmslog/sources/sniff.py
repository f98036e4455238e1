"""Refuse, from its first bytes, a stream that cannot be a JSON document.

A decompression bomb is usually a run of one byte value; zeros cannot begin JSON, so
such a file is refused after its first piece instead of after inflating it to the cap.
A bomb of whitespace (or anything that can begin JSON) passes and is left to the cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

WHITESPACE = b" \t\r\n"
BOM = b"\xef\xbb\xbf"
# The bytes a JSON value can begin with: object, array, string, number, true/false/null.
JSON_START = frozenset(b'{["-0123456789tfn')
# How far to look for a line break before deciding: a line-oriented file may hold
# records after a bad first line, which the shape parser, not this, must judge.
PROBE = 64 * 1024


class NotJSONError(ValueError):
    def __init__(self, byte: int, offset: int) -> None:
        self.reason = f"not JSON: starts with byte 0x{byte:02x}"
        self.offset = offset
        super().__init__(self.reason)


def _body(head: bytes) -> bytes:
    body = head.lstrip(WHITESPACE)
    while body.startswith(BOM):
        body = body[len(BOM) :].lstrip(WHITESPACE)
    return body


def sniffed(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """``pieces`` unchanged, unless the stream's first significant byte (after
    whitespace and a byte-order mark) cannot begin JSON and no line break follows it
    within :data:`PROBE` bytes: then :class:`NotJSONError` (with the decompressed
    offset of that byte). Holds at most PROBE bytes plus one piece while deciding; a
    stream that ends before a decision passes unchanged."""
    held: list[bytes] = []
    passed = 0
    decided = False
    for piece in pieces:
        if decided:
            yield piece
            continue
        held.append(piece)
        head = held[0] if len(held) == 1 else b"".join(held)
        body = _body(head)
        if not body or BOM.startswith(body):
            if not body:
                # Only leading whitespace so far: nothing to decide on, nothing to hold.
                yield from held
                passed += len(head)
                held = []
            continue
        if body[0] in JSON_START or b"\n" in body[:PROBE]:
            decided = True
        elif len(body) >= PROBE:
            raise NotJSONError(body[0], passed + len(head) - len(body))
        else:
            continue
        yield from held
        held = []
    yield from held
