"""``prm-demo``: build the Columbus, Ohio demo (synthetic registry, bundled OSM) and serve it.

The demo sits above the CLI: it reuses the CLI's helpers and server, and the
``prm`` commands know nothing of it.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import _context, _run, err, out
from cli.progress import rich_progress
from cli.serving import _serve
from core import settings as core_settings
from core.settings import Settings, load_settings, write_demo_record
from demo.build import build_demo
from service.security.keys import create_key
from service.security.sessions import create_sign_in_link

app = typer.Typer(add_completion=False)


@app.command()
def demo(
    providers: Annotated[int, typer.Option(help="Synthetic providers to generate.")] = 6000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when built.")
    ] = True,
) -> None:
    """Build the Columbus, Ohio demo (synthetic registry, bundled OSM) and serve it."""
    from datetime import date

    base = _run(load_settings)
    demo_dir = base.cache_dir.parent / "demo"
    db_file = demo_dir / "demo.sqlite"
    demo_dir.mkdir(parents=True, exist_ok=True)
    core_settings.DEMO_RECORD.unlink(missing_ok=True)  # recorded again once the new build is whole
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    admin = base.admin_api_key.get_secret_value()
    viewer = base.viewer_api_key.get_secret_value()
    if admin.startswith("dev-"):
        admin, viewer = (
            f"demo-admin-{secrets.token_urlsafe(12)}",
            f"demo-viewer-{secrets.token_urlsafe(12)}",
        )
    settings = Settings(
        **{
            **base.model_dump(),
            "database_url": f"sqlite:///{db_file}",
            "as_of": base.as_of or date(2026, 11, 1),
            "admin_api_key": admin,
            "viewer_api_key": viewer,
        }
    )
    ctx = _run(_context, settings)
    err.print(
        f"building the demo in {demo_dir} (first run parses the OSM extract; later runs use the cache)"
    )
    with rich_progress() as progress:
        manifest, reports = _run(
            build_demo,
            ctx,
            demo_dir / "files",
            providers=providers,
            seed=seed,
            as_of=settings.as_of,
            progress=progress,
        )
    table = Table(title="Demo build")
    table.add_column("step")
    table.add_column("result")
    for r in reports:
        name = getattr(r, "file_name", None) or getattr(r, "stage", "")
        d = r.model_dump(exclude={"rejects", "detail"}) if hasattr(r, "file_name") else r.detail
        table.add_row(str(name), json.dumps(d, default=str)[:160])
    out.print(table)
    marketing = _run(
        create_key,
        ctx,
        name="demo marketing",
        person="Demo marketer",
        role="marketing",
        days=30,
        created_by="demo",
    ).key  # stored hashed, like `prm keys create`
    # the liaison the demo's territory plan names first, so the app opens on a real person's view
    liaison = _run(
        create_key,
        ctx,
        name="demo liaison",
        person="Ana",
        role="liaison",
        days=30,
        created_by="demo",
    ).key
    # `prm` commands that name no database now read this one (core.settings.load_settings)
    record = write_demo_record(database_url=settings.database_url, as_of=settings.as_of)
    url = f"http://{host}:{port}"
    link = _run(create_sign_in_link, ctx, key=liaison, minutes=24 * 60)
    out.print(f"\n[bold green]Demo ready[/] ({manifest.get('build_seconds')} s).")
    out.print(
        f"  App:      {url}/signin?next=/app#link={link}  (one-time sign-in link: Ana, liaison)"
    )
    out.print(f"  Maps:     {url}/map and {url}/map/planning")
    out.print(f"  API docs: {url}/docs")
    out.print(f"  Viewer key (X-API-Key): {viewer}")
    out.print(f"  Admin key  (X-API-Key): {admin}")
    out.print(f"  Liaison key (Ana; stored, expires in 30 days): {liaison}")
    out.print(f"  Marketing key (stored, expires in 30 days; exports): {marketing}")
    out.print(
        f"  CLI:      ./dev prm ... reads this database (recorded in {record}; "
        "PRM_DATABASE_URL picks another)"
    )
    out.print(f"  Example:  curl -H 'X-API-Key: {viewer}' '{url}/v1/prospects?limit=5'")
    sys.stdout.flush()
    if serve_after:
        _serve(settings, host, port, ctx)
