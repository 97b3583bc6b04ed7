"""``prm keys``, ``prm audit``, ``prm privacy``, ``prm webhooks``: keys, audit log, GDPR, webhooks.

Its :data:`app` is added to ``prm`` by :mod:`cli.main`. Every command here that
changes something writes an audit entry with actor ``cli``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from cli.common import _context, _json, _run, err, out

app = typer.Typer()
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
privacy_app = typer.Typer(help="GDPR: objection and erasure for a person.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(privacy_app, name="privacy")

ACTOR = "cli"


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help='What the key is for (e.g. "Ana\'s tablet").')],
    person: Annotated[
        str,
        typer.Option(
            help="The named person the key belongs to; their changes are attributed to them."
        ),
    ],
    role: Annotated[
        str, typer.Option(help="viewer, liaison, marketing, integration or admin.")
    ] = "viewer",
    days: Annotated[int, typer.Option(help="Days until it expires.", min=1, max=3650)] = 365,
    never_expires: Annotated[bool, typer.Option("--never-expires", help="No expiry.")] = False,
) -> None:
    """Issue a key; it is printed this once (only its SHA-256 is stored)."""
    from service.security import audit
    from service.security.keys import create_key

    ctx = _run(_context)
    created = _run(
        create_key,
        ctx,
        name=name,
        person=person,
        role=role,
        days=None if never_expires else days,
        created_by=ACTOR,
    )
    audit.append(
        ctx,
        actor=ACTOR,
        action="key_created",
        records={"key_id": created.id, "role": role, "person": created.person},
    )
    err.print(
        f"key {created.id} ({created.role}) of {created.person!r} for {created.name!r}, expires "
        f"{created.expires_at or 'never'}. Store it now: it cannot be shown again."
    )
    out.print(created.key)


@keys_app.command("list")
def keys_list(
    revoked: Annotated[
        bool, typer.Option("--revoked/--active", help="Include revoked keys.")
    ] = True,
) -> None:
    """Stored keys, newest first (never the keys themselves)."""
    from service.security.keys import list_keys

    rows = _run(list_keys, _run(_context), include_revoked=revoked)
    _json([r.model_dump(mode="json") for r in rows])


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="Key id (see prm keys list).", min=1)],
) -> None:
    """Revoke a key now."""
    from service.security import audit
    from service.security.keys import revoke_key

    ctx = _run(_context)
    row = _run(revoke_key, ctx, key_id)
    audit.append(ctx, actor=ACTOR, action="key_revoked", records={"key_id": key_id})
    _json(row.model_dump(mode="json"))


@keys_app.command("sign-in-link")
def keys_sign_in_link(
    role: Annotated[
        str | None,
        typer.Option(
            help="Sign in as the environment's bootstrap key of this "
            "role (viewer or admin) instead of typing a key."
        ),
    ] = None,
    minutes: Annotated[
        int, typer.Option(help="Minutes the link stays usable.", min=1, max=1440)
    ] = 60,
    url: Annotated[
        str, typer.Option(help="Address the server is reached at.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print a one-time link that signs a browser in (the key is read from the prompt, never
    from the command line, which other users of the machine can see)."""
    from service.security import audit
    from service.security.keys import bootstrap_key
    from service.security.sessions import create_sign_in_link

    ctx = _run(_context)
    key = bootstrap_key(ctx.settings, role) if role else typer.prompt("API key", hide_input=True)
    if key is None:
        err.print("[bold red]error:[/] --role is viewer or admin (the bootstrap keys)")
        raise typer.Exit(2)
    token = _run(create_sign_in_link, ctx, key=key, minutes=minutes)
    audit.append(
        ctx, actor=ACTOR, action="sign_in_link", records={"role": role, "minutes": minutes}
    )
    err.print(f"one-time link, usable once within {minutes} minutes:")
    out.print(f"{url.rstrip('/')}/signin#link={token}")


@audit_app.command("list")
def audit_list(
    actor: Annotated[str | None, typer.Option(help="key:<id>, env:admin, cli, anonymous.")] = None,
    person: Annotated[str | None, typer.Option(help="The named person of the key.")] = None,
    action: Annotated[
        str | None, typer.Option(help="read, bulk_read, export, change, denied, ...")
    ] = None,
    path: Annotated[str | None, typer.Option(help="Path prefix, e.g. /v1/prospects.")] = None,
    since: Annotated[datetime | None, typer.Option(help="ISO date-time, inclusive.")] = None,
    until: Annotated[datetime | None, typer.Option(help="ISO date-time, inclusive.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
) -> None:
    """Entries newest first, as JSON (``next_cursor`` continues)."""
    from service.security.audit import list_audit

    page = _run(
        list_audit,
        _run(_context),
        actor=actor,
        person=person,
        action=action,
        path_prefix=path,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    _json(page.model_dump(mode="json"))


@privacy_app.command("object")
def privacy_object(
    provider_id: Annotated[int, typer.Argument(help="Golden record id.", min=1)],
    reason: Annotated[str | None, typer.Option(help="Reference of the request.")] = None,
) -> None:
    """Record an objection: the person is never prospected nor exported again."""
    from service.security.privacy import object_to_processing

    row = _run(object_to_processing, _run(_context), provider_id, actor=ACTOR, reason=reason)
    _json(row.model_dump(mode="json"))


@privacy_app.command("erase")
def privacy_erase(
    provider_id: Annotated[int, typer.Argument(help="Golden record id.", min=1)],
) -> None:
    """Erase what the service holds about a person beyond the public registry record."""
    from service.security.privacy import erase

    report = _run(erase, _run(_context), provider_id, actor=ACTOR)
    _json(report.model_dump(mode="json"))


webhooks_app = typer.Typer(
    help="Outgoing webhooks: subscribe, list, deactivate, dispatch, deliveries.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("create")
def webhooks_create(
    url: Annotated[str, typer.Argument(help="https endpoint of the CRM.")],
    event: Annotated[list[str], typer.Option("--event", help="Event type (repeat).")],
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
) -> None:
    """Subscribe; the signing secret is printed this once."""
    from service.integration.webhooks import subscribe

    created = _run(
        subscribe,
        _run(_context),
        url=url,
        event_types=event,
        description=description,
        created_by=ACTOR,
    )
    err.print(f"subscription {created['id']}: store the secret now, it cannot be shown again.")
    out.print(created["secret"])


@webhooks_app.command("list")
def webhooks_list() -> None:
    """Subscriptions (without secrets)."""
    from service.integration.webhooks import list_subscriptions

    _json(_run(list_subscriptions, _run(_context)))


@webhooks_app.command("deactivate")
def webhooks_deactivate(subscription_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Stop deliveries to a subscription (the log is kept)."""
    from service.integration.webhooks import deactivate

    _json(_run(deactivate, _run(_context), subscription_id))


@webhooks_app.command("dispatch")
def webhooks_dispatch(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100) -> None:
    """Send the deliveries that are due (run it from a timer, e.g. every minute)."""
    from service.integration.webhooks import dispatch

    _json(_run(dispatch, _run(_context), limit=limit))


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """The delivery log, newest first."""
    from service.integration.webhooks import list_deliveries

    _json(_run(list_deliveries, _run(_context), status=status, limit=limit))
