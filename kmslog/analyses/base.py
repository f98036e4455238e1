"""The fold contract every analysis follows.

An analysis never opens files; it sees polars frames of the event schema
(``kmslog.decode.schema``). Its partial state must be picklable and mergeable:

    state = a.start()
    state = a.update(state, frame)      # map a batch into the partial, any number of times
    state = a.combine(state, other)     # merge partials from other workers (associative;
                                        # the runner combines in file order)
    result = a.finish(state)

That shape is what lets the same analysis run serially, in a process pool, or on a
cluster without change.

An analysis may also declare ``columns``: the schema columns its ``update``
reads (a frozenset of names; absent or None means all). The runner then decodes
only the union of what its analyses declare; frames keep the whole schema, the
other columns all null. A wrong declaration silently changes results, so
declare only what ``update`` provably reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

import polars as pl

P = TypeVar("P")
R = TypeVar("R", covariant=True)


@runtime_checkable
class Analysis(Protocol[P, R]):
    """A fold over event frames. Implementations are small picklable dataclasses."""

    name: str

    def start(self) -> P: ...

    def update(self, state: P, frame: pl.DataFrame) -> P: ...

    def combine(self, a: P, b: P) -> P: ...

    def finish(self, state: P) -> R: ...


def columns_of(analysis: Analysis[Any, Any]) -> frozenset[str] | None:
    """The columns ``analysis`` declares it reads, or None for all."""
    columns = getattr(analysis, "columns", None)
    return None if columns is None else frozenset(columns)


def fold(analysis: Analysis[Any, Any], frames: Iterable[pl.DataFrame]) -> Any:
    """Run one analysis serially over frames (tests and library callers)."""
    state = analysis.start()
    for frame in frames:
        state = analysis.update(state, frame)
    return analysis.finish(state)
