"""The sign-in page (``/signin``): a browser gets its session here, never through a URL key.

Pages that need a session (``/map``, ``/map/planning``, the printable brief)
send a browser that is not signed in here, with ``?next=`` the page it
wanted. The page's script posts the typed key to ``POST /v1/session``, or the
token of a one-time link (``/signin#link=<token>``: a fragment, so it is
never in a request line or an access log) to ``POST /v1/session/link``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["router", "signin_page"]

router = APIRouter(tags=["session"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - PRM</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:26em;margin:3em auto;padding:0 1em;color:#1b1b1b}
label{display:block;font-weight:600;margin:.8em 0 .3em}
input{width:100%;box-sizing:border-box;padding:.5em;font:inherit;border:1px solid #555;border-radius:4px}
button{margin-top:1em;padding:.5em 1.2em;font:inherit;background:#0b5394;color:#fff;border:0;border-radius:4px}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
#status{min-height:1.5em;margin-top:1em}
</style></head>
<body><main>
<h1>Sign in</h1>
<form id="signin" method="post">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
<p>Your key is exchanged for a session kept in this browser; it is never put in a link.</p>
</main>
<script src="/static/app/signin.js"></script>
</body></html>
"""


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
async def signin_page() -> HTMLResponse:
    """The sign-in form (no key needed to see it)."""
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-store"})
