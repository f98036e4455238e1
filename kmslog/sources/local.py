"""Read a local file as a stream of decompressed pieces: gzip (any number of members)
or plain, detected by magic bytes, inflated with ISA-L under a size cap.

Memory is bounded by the piece sizes, whatever the cap: compressed input is read
:data:`READ_SIZE` bytes at a time and inflated at most :data:`PIECE_SIZE` bytes at a
time, and the cap is checked on the running total before a piece is handed on. Only
regular files are opened (see :mod:`kmslog.sources.regular`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator

from isal import isal_zlib

from kmslog.sources.base import SourceError
from kmslog.sources.regular import open_failure, open_regular
from kmslog.sources.sniff import NotJSONError, sniffed

# isal's stubs declare ``error`` as an instance, not an exception class.
_INFLATE_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# Compressed bytes read per system call.
READ_SIZE = 1024 * 1024
# Decompressed bytes per piece handed on.
PIECE_SIZE = 4 * 1024 * 1024


def _cap_error(max_size: int, position: int) -> SourceError:
    return SourceError(
        f"decompressed size exceeds the cap of {max_size} bytes "
        "(possible decompression bomb; raise --max-decompressed-size)",
        position,
    )


__all__ = ["SourceError", "decompressed_chunks", "gunzip", "inflate", "read_source"]


def inflate(blocks: Iterable[bytes], max_size: int) -> Iterator[bytes]:
    """The decompressed pieces of the gzip stream ``blocks`` (every member, zero
    padding after the last tolerated), each at most :data:`PIECE_SIZE` bytes.

    Raises :class:`SourceError`, positioned at the compressed offset where the member
    at fault starts (or where the garbage starts), on corrupt or truncated data,
    trailing garbage, or output beyond ``max_size``.
    """
    source = iter(blocks)
    total = 0
    offset = 0  # compressed offset of the first byte of ``pending``
    member = 0  # compressed offset where the current member starts
    pending = b""
    inflater = None
    full = False  # the last call filled its output limit: more may be waiting
    ended = False
    padding = False  # only zero bytes allowed from here to the end
    while True:
        if not pending and not full and not ended:
            pending = next(source, b"")
            ended = not pending
        if inflater is None:
            if not pending:
                return
            if padding or not pending.startswith(GZIP_MAGIC[: len(pending)]):
                # Tape-style writers pad the last member with zeros.
                if pending.strip(b"\x00"):
                    zeros = len(pending) - len(pending.lstrip(b"\x00"))
                    raise SourceError("trailing garbage after the last gzip member", offset + zeros)
                padding = True
                offset += len(pending)
                pending = b""
                continue
            if len(pending) < len(GZIP_MAGIC) and not ended:
                # A member's magic split across two reads.
                more = next(source, b"")
                ended = not more
                pending += more
                continue
            inflater = isal_zlib.decompressobj(31)
            member = offset
        if ended and not pending and not full:
            raise SourceError("truncated gzip file (stream ends before its end marker)", member)
        limit = min(PIECE_SIZE, max_size + 1 - total)
        try:
            piece = inflater.decompress(pending, limit)
        except _INFLATE_ERROR as exc:
            raise SourceError(f"corrupt gzip data: {exc}", member) from None
        total += len(piece)
        if total > max_size:
            raise _cap_error(max_size, member)
        full = len(piece) == limit
        if inflater.eof:
            rest = inflater.unused_data
            inflater, full = None, False
        else:
            rest = inflater.unconsumed_tail
            if not piece and rest and len(rest) == len(pending):
                # No input taken and no output given: never loop on it.
                raise SourceError("corrupt gzip data: inflater makes no progress", member)
        offset += len(pending) - len(rest)
        pending = rest
        if piece:
            yield piece


def gunzip(data: bytes, max_size: int) -> bytes:
    """Decompress every gzip member of ``data``; refuses output above ``max_size``."""
    blocks = (data[i : i + READ_SIZE] for i in range(0, len(data), READ_SIZE))
    return b"".join(inflate(blocks, max_size))


def _blocks(handle: io.FileIO, first: bytes) -> Iterator[bytes]:
    yield first
    while block := handle.read(READ_SIZE):
        yield block


def _plain(blocks: Iterable[bytes], max_size: int) -> Iterator[bytes]:
    total = 0
    for block in blocks:
        total += len(block)
        # The size was checked before reading; a file that grows while read is caught here.
        if total > max_size:
            raise SourceError(f"file size exceeds the cap of {max_size} bytes", 0)
        yield block


def decompressed_chunks(path: str, max_size: int) -> Iterator[bytes]:
    """The decompressed bytes of ``path`` (gzip, any number of members, or plain),
    in pieces of at most a few MiB, opened only if it is a regular file. Raises
    :class:`SourceError` (reason, compressed byte offset when known) as soon as the
    running total exceeds ``max_size``, on corrupt or truncated gzip, trailing garbage,
    zip archives, and on content that cannot begin a JSON document (a NUL byte, say),
    which is refused from its first bytes instead of being inflated to the cap."""
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise SourceError(open_failure(exc)) from None
    with handle:
        try:
            first = handle.read(READ_SIZE)
            compressed = first.startswith(GZIP_MAGIC)
            if first.startswith(ZIP_MAGIC):
                raise SourceError(
                    "zip archive: unpack it first (only gzip and plain JSON are read)", 0
                )
            if compressed:
                pieces = inflate(_blocks(handle, first), max_size)
            else:
                if max(len(first), os.fstat(handle.fileno()).st_size) > max_size:
                    raise SourceError(f"file size exceeds the cap of {max_size} bytes", 0)
                pieces = _plain(_blocks(handle, first), max_size)
            yield from sniffed(pieces)
        except NotJSONError as exc:
            raise SourceError(exc.reason, None if compressed else exc.offset) from None
        except OSError as exc:
            raise SourceError(f"cannot read file: {exc.strerror or exc}") from None


def read_source(path: str, max_size: int) -> bytes:
    """The decompressed bytes of ``path``, whole."""
    pieces = list(decompressed_chunks(path, max_size))
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)
