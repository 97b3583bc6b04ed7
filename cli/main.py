"""``prm``: one subcommand per pipeline stage, plus loading, the API server, the demo and the rest.

Each command module defines its own :data:`app` (a ``typer.Typer``: top-level
commands, and its command groups added by name); this module only adds each
of them, the same way, to the ``prm`` Typer. Shared helpers live in
:mod:`cli.common`; no command module imports this one.

Exit codes: 0 success, 2 bad input (file, layout, encoding, rows), 1 other errors;
``prm serve --workers N``: 3 when its workers cannot start.
"""

from __future__ import annotations

import typer

from cli import (
    loading,
    matching,
    planning,
    prospecting,
    scoring,
    security,
    serving,
    stages,
    visits,
)

app = typer.Typer(
    help="Territory mapping and referral prospecting for clinics.", no_args_is_help=True
)

#: Command modules, in the order ``prm --help`` lists their commands and groups.
MODULES = (stages, serving, loading, matching, security, planning, prospecting, scoring, visits)

for _module in MODULES:
    app.add_typer(_module.app)


if __name__ == "__main__":
    app()
