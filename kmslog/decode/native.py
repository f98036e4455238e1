"""The native decode engine: files → batches of the event schema in Rust
(``kmslog._native``), the Python decoder (``kmslog.decode.records``) for every
file the native one does not take.

The native decoder gets its column spec from ``kmslog.decode.schema`` (names,
kinds, JSON paths, key-id sources) and returns Arrow arrays through the Arrow C
data interface, so no cell becomes a Python object. It either decodes a file
with exactly the cells, positions and counts the Python path gives, or reports
it as a fallback, and the Python path then reads that file (see docs/ingest.md,
"Native engine").
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pyarrow as pa

from kmslog.decode import schema as S
from kmslog.decode.records import (
    CHUNK_ROWS,
    WHOLE_FILE_BYTES,
    Columns,
    Segment,
    decode_chunk,
    normalize,
    read_for,
)
from kmslog.sources.names import display_name
from kmslog.sources.regular import special_kind

ENGINE_ENV = "KMSLOG_ENGINE"
ENGINES = ("native", "python")
# Record keys that send a file to the Python path: EventBridge envelopes.
_STOPS = ("detail", "detail-type")


def _load() -> ModuleType | None:
    try:
        from kmslog import _native  # type: ignore[attr-defined]

        return _native
    except ImportError:
        pass
    # Imported from a source checkout beside an installed build (``pip install .``
    # then tests run from the checkout): use the installed extension.
    here = Path(__file__).resolve().parents[1]
    for entry in sys.path:
        package = Path(entry or ".").resolve() / "kmslog"
        if package == here or not package.is_dir():
            continue
        for candidate in sorted(package.glob("_native*.so")) + sorted(package.glob("_native*.pyd")):
            spec = importlib.util.spec_from_file_location("kmslog._native", candidate)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except ImportError:
                continue
            return module
    return None


_native = _load()


def available() -> bool:
    """Whether the native extension imported."""
    return _native is not None


def resolve_engine(engine: str | None) -> str:
    """The engine to run: the one asked for, else ``$KMSLOG_ENGINE``, else native
    when the extension imported. Asking for native without it is an error."""
    choice = engine or os.environ.get(ENGINE_ENV) or ("native" if available() else "python")
    choice = choice.strip().lower()
    if choice not in ENGINES:
        raise ValueError(f"unknown decode engine {choice!r} (expected native or python)")
    if choice == "native" and not available():
        raise ValueError("the native decode engine is not built in this installation")
    return choice


def simd_kernel() -> str:
    """The SIMD kernel the JSON parser selected on this CPU."""
    return "" if _native is None else str(_native.simd_kernel())


# Cells only the Python path can hold: the native engine hands EventBridge envelopes
# to it, so their column is null in what it builds.
PYTHON_ONLY = frozenset({S.ENVELOPE})


def _kind(field: pa.Field) -> str:
    if field.name == S.RAW:
        return "raw"
    if field.name == S.SOURCE:
        return "source"
    if field.name == S.RECORD_INDEX:
        return "record_index"
    if field.name == S.KEY_IDS:
        return "key_ids"
    if field.name == S.NULLS_ABSENT:
        return "nulls_absent"
    if field.type == S.UTC_TS:
        return "timestamp"
    if field.type == pa.bool_():
        return "bool"
    if field.type == pa.string():
        return "string"
    raise ValueError(f"no native decoding for column {field.name} ({field.type})")


def column_spec(columns: Columns) -> list[tuple[str, str, list[str]]]:
    """(name, kind, JSON path) of each column to build, in schema order."""
    return [
        (f.name, _kind(f), list(S.COLUMN_PATHS.get(f.name, ())))
        for f in S.SCHEMA
        if f.name not in PYTHON_ONLY and (columns is None or f.name in columns)
    ]


@functools.cache
def decoder(columns: Columns) -> Any:
    """The native decoder building ``columns`` (None: all)."""
    if _native is None:
        raise RuntimeError("the native decode engine is not built in this installation")
    sources = [(list(path), needle) for path, needle in S.KEY_ID_SOURCES]
    return _native.Decoder(column_spec(columns), sources, list(_STOPS))


class FileResult(NamedTuple):
    """One file as the native decoder left it: its rows (``batch``, rows
    ``offset`` … of ``parent``, the batch of the whole call) or, when ``batch``
    is None, the reason the Python path must read it."""

    source: str
    position_kind: str
    batch: pa.RecordBatch | None
    fallback: str | None = None
    parent: pa.RecordBatch | None = None
    offset: int = 0


def _batch(columns_out: Sequence[Any], rows: int, columns: Columns) -> pa.RecordBatch:
    """The built columns (one C-data import each) as a batch of the whole schema,
    the others all null."""
    built = {
        name: pa.Array._import_from_c_capsule(schema, array) for name, schema, array in columns_out
    }
    arrays = [
        built[f.name]
        if f.name in built and (columns is None or f.name in columns)
        else pa.nulls(rows, f.type)
        for f in S.SCHEMA
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=S.SCHEMA)


def _results(sources: Sequence[str], out: Any, columns: Columns) -> list[FileResult]:
    files, columns_out = out
    rows = sum(f[2] for f in files if f[0] == "native")
    batch = _batch(columns_out, rows, columns)
    results: list[FileResult] = []
    offset = 0
    for source, file in zip(sources, files, strict=True):
        if file[0] == "native":
            _, kind, rows = file
            part = batch.slice(offset, rows)
            results.append(FileResult(source, kind, part, None, batch, offset))
            offset += rows
        else:
            results.append(FileResult(source, "record", None, file[1]))
    return results


def _python_reads(path: str) -> str | None:
    """Why the Python path, not the native one, must read ``path`` (None: native).

    The native decoder holds a file's text whole; the Python path streams, sniffs
    and opens only regular files. So the native one gets only regular files whose
    name is UTF-8 and whose compressed size is within the whole-file limit; it is
    also given that limit as its cap (below), so a bigger text falls back too."""
    if display_name(path) != path:
        return "file name is not UTF-8"
    info, kind = special_kind(path)
    if kind is not None or info is None:
        return "not a regular file"
    if info.st_size > WHOLE_FILE_BYTES:
        return "larger than the whole-file limit"
    return None


def _fetched(path: str) -> bytes | None:
    """An ``s3://`` object's bytes when it is within the whole-file limit; None when it
    is larger or cannot be read (the Python path then streams it and reports why)."""
    from kmslog.sources.base import SourceError
    from kmslog.sources.s3 import object_bytes

    try:
        return object_bytes(path, WHOLE_FILE_BYTES)
    except SourceError:
        return None


def decode_files(paths: Sequence[str], max_size: int, columns: Columns = None) -> list[FileResult]:
    """Read, inflate and decode ``paths`` (the GIL is released meanwhile); files
    the native decoder must not take (see ``_python_reads``) are left to Python.
    ``s3://`` objects are fetched whole (within the whole-file limit) and decoded
    natively from memory."""
    columns = normalize(columns)
    remote = {p: _fetched(p) for p in paths if p.startswith("s3://")}
    reasons = [
        ("larger than the whole-file limit, or unreadable" if remote[p] is None else None)
        if p in remote
        else _python_reads(p)
        for p in paths
    ]
    native = [p for p, why in zip(paths, reasons, strict=True) if why is None and p not in remote]
    # Beyond the whole-file limit the Python path streams the text (bounded memory,
    # and it refuses bombs from their first bytes): the native decoder stops there.
    cap = min(max_size, WHOLE_FILE_BYTES)
    out = decoder(read_for(columns)).decode_files(native, cap)
    decoded = dict(zip(native, _results(native, out, columns), strict=True))
    contents = [(data, p) for p, data in remote.items() if data is not None]
    if contents:
        fetched = decode_contents(contents, cap, columns)
        decoded.update(zip([p for _, p in contents], fetched, strict=True))
    return [
        decoded[path] if why is None else FileResult(path, "record", None, why)
        for path, why in zip(paths, reasons, strict=True)
    ]


def decode_contents(
    contents: Sequence[tuple[bytes, str]], max_size: int, columns: Columns = None
) -> list[FileResult]:
    """Decode files given as (bytes, source) pairs, gzip or plain."""
    columns = normalize(columns)
    out = decoder(read_for(columns)).decode_contents([(bytes(d), s) for d, s in contents], max_size)
    return _results([s for _, s in contents], out, columns)


def run_segment(results: Sequence[FileResult]) -> Segment:
    """Consecutive files of one call (adjacent in its batch) as one segment,
    without copying their rows."""
    first = results[0]
    assert first.parent is not None
    rows = sum(r.batch.num_rows for r in results if r.batch is not None)
    part = first.parent.slice(first.offset, rows)
    return Segment(first.source, first.position_kind, rows, [], [], None, [], part)


def segments(result: FileResult) -> Iterator[Segment]:
    """The natively decoded rows of a file as decoder segments of at most
    CHUNK_ROWS rows (the sizes the Python path assembles batches from)."""
    batch = result.batch
    assert batch is not None
    if not batch.num_rows:
        yield Segment(result.source, result.position_kind, 0, [], [], None, [])
        return
    for start in range(0, batch.num_rows, CHUNK_ROWS):
        part = batch.slice(start, CHUNK_ROWS)
        yield Segment(result.source, result.position_kind, part.num_rows, [], [], None, [], part)


def decode_texts(raws: Sequence[bytes], source: str, columns: Columns = None) -> pa.RecordBatch:
    """Record texts (each one JSON object) decoded into a batch whose
    ``record_index`` is the text's index; rejected texts are left out. Natively
    as one ``{"Records": [...]}`` document when the extension is there and takes
    it whole, else by the Python decoder (the same cells either way). The Records
    shape, not a bare array, because that is the shape the native engine also
    takes in pieces when the texts add up to a big document."""
    if _native is not None and raws and all(raws):
        document = b'{"Records":[' + b",".join(raws) + b"]}"
        results = decode_contents([(document, source)], WHOLE_FILE_BYTES, columns)
        batch = results[0].batch
        if batch is not None and batch.num_rows == len(raws):
            return batch
    batch, _ = decode_chunk(raws, list(range(len(raws))), source, "record", columns)
    return batch
