"""Open a local file as bytes: gzip (any number of members) or plain, detected by
magic bytes, decompressed with ISA-L under a size cap."""

from __future__ import annotations

from collections.abc import Iterator

from isal import isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# Inflate in pieces this large so the cap is checked before memory is spent.
_CHUNK = 64 * 1024 * 1024


class SourceError(Exception):
    """A file that cannot be read at all. ``position`` is a byte offset in the
    compressed file when known."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position


def gunzip(data: bytes, max_size: int) -> bytes:
    """Decompress every gzip member of ``data``; refuses output above ``max_size``."""
    out: list[bytes] = []
    total = 0
    pos = 0
    while pos < len(data):
        inflater = isal_zlib.decompressobj(31)
        view = memoryview(data)[pos:]
        try:
            piece = inflater.decompress(view, min(_CHUNK, max_size + 1 - total))
            while True:
                total += len(piece)
                if total > max_size:
                    raise SourceError(
                        f"decompressed size exceeds the cap of {max_size} bytes "
                        "(possible decompression bomb; raise --max-decompressed-size)",
                        pos,
                    )
                out.append(piece)
                tail = inflater.unconsumed_tail
                if inflater.eof or not tail:
                    break
                piece = inflater.decompress(tail, min(_CHUNK, max_size + 1 - total))
            if not inflater.eof:
                piece = inflater.flush()
                total += len(piece)
                if total > max_size:
                    raise SourceError(f"decompressed size exceeds the cap of {max_size} bytes", pos)
                out.append(piece)
        except isal_zlib.error as exc:
            raise SourceError(f"corrupt gzip data: {exc}", pos) from None
        if not inflater.eof:
            raise SourceError("truncated gzip file (stream ends before its end marker)", pos)
        rest = inflater.unused_data
        consumed = len(view) - len(rest)
        pos += consumed
        # Trailing zero padding after the last member is common (tape-style writers).
        if rest and not rest.startswith(GZIP_MAGIC):
            if rest.strip(b"\x00"):
                raise SourceError("trailing garbage after the last gzip member", pos)
            break
    return out[0] if len(out) == 1 else b"".join(out)


def read_source(path: str, max_size: int) -> bytes:
    """The decompressed bytes of ``path``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    if data.startswith(GZIP_MAGIC):
        return gunzip(data, max_size)
    if data.startswith(ZIP_MAGIC):
        raise SourceError("zip archive: unpack it first (only gzip and plain JSON are read)", 0)
    if len(data) > max_size:
        raise SourceError(f"file size exceeds the cap of {max_size} bytes", 0)
    return data


# Pieces handed out by decompressed_chunks: as large as gunzip's own, so a file
# that is read whole anyway is never copied to be re-joined.
_PIECE = _CHUNK


def decompressed_chunks(path: str, max_size: int) -> Iterator[bytes]:
    """The decompressed bytes of ``path`` in pieces of at most a few MiB.

    Reads the whole file first (as :func:`read_source`): the pieces bound what
    callers hold, not what this function holds."""
    data = read_source(path, max_size)
    for start in range(0, len(data), _PIECE):
        yield data[start : start + _PIECE]
