"""What every command's command line shows the same way, applied once to the built click
commands: ``--version`` (the app's own option, copied) and metavars people know instead
of the Python types typer derives (``<list[str]>``, ``<int range>``)."""

from __future__ import annotations

import copy
from typing import Any, get_args

from typer.core import TyperArgument

try:  # typer from 0.2x carries its own copy of click
    from typer._click.core import Command, Context, Parameter
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import Command, Context, Parameter  # type: ignore[assignment]

# Python types typer derives → the metavar shown when a parameter names none of its own.
_METAVARS = {"str": "TEXT", "int": "N", "float": "NUMBER", "Path": "FILE"}


class NamedArgument(TyperArgument):
    """An argument whose help line shows its metavar only (``PATH...``), not the metavar
    and then the Python type typer adds after it."""

    def display_type_rich(self, ctx: Context) -> str | None:
        return None if self.metavar else super().display_type_rich(ctx)


def default_metavar(param: Parameter) -> str | None:
    """The metavar a parameter without one gets, or None to leave it (flags, choices)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or descriptor.is_choice:
        return None
    annotation = descriptor.annotation
    element = get_args(annotation)[0] if descriptor.is_list and get_args(annotation) else annotation
    name = "FILE" if descriptor.is_path else _METAVARS.get(getattr(element, "__name__", ""), "TEXT")
    if isinstance(param, TyperArgument) and param.nargs != 1:
        return f"{name}..."
    return name


def apply(command: Command, version_option: Parameter | None) -> None:
    """Give ``command`` the conventions (idempotent)."""
    for param in command.params:
        if param.metavar is None and param.param_type_name in ("option", "argument"):
            param.metavar = default_metavar(param)
        if isinstance(param, TyperArgument) and not isinstance(param, NamedArgument):
            param.__class__ = NamedArgument
    if version_option is not None and not any(
        p.name == version_option.name for p in command.params
    ):
        own: Any = copy.copy(version_option)
        own.expose_value = False  # the command's function takes no such argument
        command.params.append(own)
