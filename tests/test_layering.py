"""The layers stay apart: renderers, findings, analyses and the rest of the library
never import the command line (``kmslog.commands``, ``kmslog.cli``); commands build on
them, not the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kmslog"
COMMAND_LAYER = ("kmslog.commands", "kmslog.cli")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_nothing_below_the_commands_imports_them() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("commands", "cli.py", "__main__.py"):
            continue
        for module in _imports(path):
            if module.startswith(COMMAND_LAYER):
                offenders.append(f"{relative}: {module}")
    assert offenders == []
