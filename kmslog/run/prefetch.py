"""Native decoding ahead of the folds, on threads of this process.

With the native engine a run starts no worker processes (each would re-import
polars, pyarrow and kmslog): ``--jobs`` threads call the Rust decoder, which
releases the GIL while it reads, inflates and parses, and the main thread folds
the groups in path order as their files come back. The window of work submitted
ahead is bounded, so memory does not grow with the input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from kmslog.decode.native import FileResult, decode_files
from kmslog.decode.records import Columns
from kmslog.sources.discover import SourceFile

# Consecutive files of a group are decoded in one call up to this many
# compressed bytes (or files): per-call costs then stay small next to the work,
# and a call's rows (about 12K records) make a batch of their own.
ITEM_BYTES = 2 * 1024 * 1024
ITEM_FILES = 256


def _items(group: Sequence[SourceFile], item_bytes: int) -> list[list[str]]:
    items: list[list[str]] = []
    current: list[str] = []
    size = 0
    for f in group:
        if current and (size + f.size > item_bytes or len(current) >= ITEM_FILES):
            items.append(current)
            current, size = [], 0
        current.append(f.path)
        size += f.size
    if current:
        items.append(current)
    return items


class Prefetch:
    """The groups' files decoded natively, handed out group by group in order."""

    def __init__(
        self,
        groups: Sequence[Sequence[SourceFile]],
        columns: Columns,
        max_size: int,
        threads: int,
        item_bytes: int = ITEM_BYTES,
    ) -> None:
        self.columns = columns
        self.max_size = max_size
        self.pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="kmslog-decode")
        # (group index, paths) in path order.
        self.items = [
            (g, item) for g, group in enumerate(groups) for item in _items(group, item_bytes)
        ]
        self.submitted = 0
        self.pending: deque[tuple[int, Future[list[FileResult]]]] = deque()
        # Items decoded or decoding beyond the ones being folded.
        self.window = 2 * max(1, threads) + 1

    def _fill(self, group: int) -> None:
        while self.submitted < len(self.items) and (
            self.items[self.submitted][0] <= group or len(self.pending) < self.window
        ):
            g, paths = self.items[self.submitted]
            future = self.pool.submit(decode_files, paths, self.max_size, self.columns)
            self.pending.append((g, future))
            self.submitted += 1

    def group(self, index: int) -> list[FileResult]:
        """What the native decoder made of each file of group ``index`` (groups
        must be asked for in order)."""
        self._fill(index)
        results: list[FileResult] = []
        while self.pending and self.pending[0][0] == index:
            _, future = self.pending.popleft()
            results.extend(future.result())
            self._fill(index)
        return results

    def close(self) -> None:
        for _, future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
