"""Record fields as text, whatever JSON type an attacker gave them."""

from __future__ import annotations

from typing import Any


def field_text(value: Any) -> str:
    """A field as text. A list or object where a scalar belongs is named by its type,
    never rendered: it may be nested past any recursion limit. The record itself stays
    the evidence (source file, record index, event id)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return f"<{'list' if isinstance(value, list) else 'object'}>"
