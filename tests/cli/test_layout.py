"""The CLI's layout: one Typer per command module, helpers in cli.common, no cycle to cli.main."""

from __future__ import annotations

import ast
from pathlib import Path

import typer

import cli
import cli.main

CLI = Path(cli.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (inside functions too), and dynamic imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Name) and node.id == "__import__":
            found.add("__import__")
    return found


def test_no_module_imports_main_or_imports_dynamically() -> None:
    for path in sorted(CLI.glob("*.py")):
        names = _imports(path)
        if path.name != "main.py":
            assert not {"cli.main", "cli.main.app"} & names, f"{path.name} imports cli.main"
        assert not {"importlib", "__import__"} & names, f"{path.name} imports modules by name"


def test_each_command_module_brings_its_own_typer() -> None:
    app, modules_added = cli.main.app, cli.main.MODULES
    modules = {m.__name__.rsplit(".", 1)[1] for m in modules_added}
    texts = {p.stem: p.read_text(encoding="utf-8") for p in CLI.glob("*.py")}
    commands = {
        name for name, text in texts.items() if "@app.command" in text or "add_typer(" in text
    }
    assert commands - {"main"} == modules  # every module with commands is added, once
    for module in modules_added:
        assert isinstance(module.app, typer.Typer) and module.app is not app
    assert [g.typer_instance for g in app.registered_groups] == [m.app for m in modules_added]
    assert not app.registered_commands  # main only assembles
