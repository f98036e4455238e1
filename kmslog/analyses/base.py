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

import json
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

import polars as pl

from kmslog.decode import schema as S

P = TypeVar("P")
R = TypeVar("R", covariant=True)


@runtime_checkable
class Analysis(Protocol[P, R]):
    """A fold over event frames. Implementations are small picklable dataclasses."""

    @property
    def name(self) -> str: ...

    def start(self) -> P: ...

    def update(self, state: P, frame: pl.DataFrame) -> P: ...

    def combine(self, a: P, b: P) -> P: ...

    def finish(self, state: P) -> R: ...


def columns_of(analysis: Analysis[Any, Any]) -> frozenset[str] | None:
    """The columns ``analysis`` declares it reads, or None for all."""
    columns = getattr(analysis, "columns", None)
    return None if columns is None else frozenset(columns)


def columns_read(exprs: Iterable[pl.Expr], made: Iterable[str] = ()) -> frozenset[str] | None:
    """The schema columns ``exprs`` read (``made``: names the expressions refer
    to that are computed on the way, not read), or None when that cannot be
    told: a selector or wildcard, or a name outside the schema."""
    names: set[str] = set()
    for expr in exprs:
        try:
            tree = json.loads(expr.meta.serialize(format="json"))
        except Exception:  # noqa: BLE001 - e.g. a Python function without cloudpickle
            # polars still knows the leaf columns; a wildcard or selector has none to give.
            if expr.meta.has_multiple_outputs():
                return None
            names.update(expr.meta.root_names())
            continue
        if not _columns_in(tree, names):
            return None
    names -= set(made)
    if not names <= set(S.SCHEMA.names):
        return None
    return frozenset(names)


def _columns_in(node: Any, names: set[str]) -> bool:
    """Add the columns named in a serialized expression; False on a selector."""
    if isinstance(node, list):
        return all(_columns_in(item, names) for item in node)
    if not isinstance(node, dict):
        return True
    for key, value in node.items():
        if key == "Selector":
            return False
        if key == "Column" and isinstance(value, str):
            names.add(value)
        elif not _columns_in(value, names):
            return False
    return True


def fold(analysis: Analysis[Any, Any], frames: Iterable[pl.DataFrame]) -> Any:
    """Run one analysis serially over frames (tests and library callers)."""
    state = analysis.start()
    for frame in frames:
        state = analysis.update(state, frame)
    return analysis.finish(state)
