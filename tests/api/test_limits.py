"""Request bodies are bounded while they arrive, before any key is checked (api.limits);
requests beyond a worker's capacity wait in a bounded queue (api.admission)."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.admission import AdmissionGate
from api.main import create_app
from tests.api.conftest import ADMIN, SeededDB

MB = 1 << 20


async def _call(app, *, method: str, path: str, chunks, headers=()) -> tuple[int, dict, bytes, int]:
    """Drive ``app`` as a server would; ``chunks`` is a list of body parts or a receive-side callable.

    Returns the status, headers, body and how many body parts the app pulled.
    """
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        if callable(chunks):
            return await chunks(pulled := pulled + 1)
        if pulled < len(chunks):
            pulled += 1
            return {
                "type": "http.request",
                "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks),
            }
        await anyio.sleep_forever()  # after the body, a client that stays connected

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    with anyio.fail_after(60):
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body, pulled


@pytest.fixture(scope="module")
def app(api_db: SeededDB):
    return create_app(context=api_db.ctx)


def test_a_huge_chunked_body_without_a_key_is_cut_off_at_the_limit(app) -> None:
    chunks = [b"x" * MB] * 200  # 200 MB, no Content-Length, no key
    status, headers, body, pulled = anyio.run(
        lambda: _call(
            app,
            method="POST",
            path="/v1/interactions",
            chunks=chunks,
            headers=[("content-type", "application/json"), ("transfer-encoding", "chunked")],
        )
    )
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 413
    assert pulled <= 2  # 1 MB allowed: read no further than the chunk that crossed it


def test_a_declared_length_over_the_limit_is_refused_before_reading(app) -> None:
    status, _, _, pulled = anyio.run(
        lambda: _call(
            app,
            method="POST",
            path="/v1/sites",
            chunks=[b"{}"],
            headers=[("content-type", "application/json"), ("content-length", str(5 * MB))],
        )
    )
    assert (status, pulled) == (413, 0)


def test_a_trickling_body_is_cut_off(api_db: SeededDB) -> None:
    from service.context import AppContext

    # limits are read when the app is built: one over the same database with a short body timeout
    ctx = AppContext(
        settings=api_db.ctx.settings.model_copy(update={"body_timeout_s": 0.2}),
        engine=api_db.ctx.engine,
        sessions=api_db.ctx.sessions,
    )
    app = create_app(context=ctx)

    async def trickle(n: int) -> dict:
        if n > 1:
            await anyio.sleep_forever()  # one byte, then nothing
        return {"type": "http.request", "body": b"{", "more_body": True}

    status, _headers, body, _ = anyio.run(
        lambda: _call(
            app,
            method="POST",
            path="/v1/sites",
            chunks=trickle,
            headers=[("content-type", "application/json")],
        )
    )
    assert status == 408
    assert json.loads(body)["title"] == "Request timeout"


def test_a_trickling_upload_is_cut_off_but_a_steady_one_gets_time(api_db: SeededDB) -> None:
    from api.limits import MIN_UPLOAD_RATE, _Metered
    from service.context import AppContext

    ctx = AppContext(
        settings=api_db.ctx.settings.model_copy(update={"body_timeout_s": 0.2}),
        engine=api_db.ctx.engine,
        sessions=api_db.ctx.sessions,
    )
    app = create_app(context=ctx)
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nnpi\n'

    async def trickle(n: int) -> dict:
        if n > 1:
            await anyio.sleep_forever()
        return {"type": "http.request", "body": head, "more_body": True}

    status, _, body, _ = anyio.run(
        lambda: _call(
            app,
            method="POST",
            path="/v1/uploads/nppes",
            chunks=trickle,
            headers=[
                ("content-type", "multipart/form-data; boundary=b"),
                ("x-api-key", "test-admin"),
            ],
        )
    )
    assert status == 408 and json.loads(body)["title"] == "Request timeout"
    # the allowance grows with what arrived: 10 MB in gives 160 s more at the minimum rate
    metered = _Metered(None, limit=1 << 40, timeout_s=30, min_rate=MIN_UPLOAD_RATE)  # type: ignore[arg-type]
    metered.started, metered.size = 0.0, 10 * MB
    assert metered.deadline == pytest.approx(30 + 10 * MB / MIN_UPLOAD_RATE)


def test_an_upload_without_a_key_is_refused_before_its_body_is_read(app) -> None:
    chunks = [b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'] + [
        b"y" * MB
    ] * 40
    status, _, _, pulled = anyio.run(
        lambda: _call(
            app,
            method="POST",
            path="/v1/uploads/nppes",
            chunks=chunks,
            headers=[("content-type", "multipart/form-data; boundary=b")],
        )
    )
    assert status == 401
    assert pulled == 0


@pytest.mark.parametrize("name", ["..", ".", "...", "../.."])
def test_an_upload_named_dots_is_a_4xx(client: TestClient, name: str) -> None:
    r = client.post("/v1/uploads/sites", files={"file": (name, b"site_code\n")}, headers=ADMIN)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_a_json_body_under_the_limit_still_reaches_the_handler(client: TestClient) -> None:
    r = client.post("/v1/sites", headers=ADMIN, content=b"{" + b" " * (MB - 10) + b"}")
    assert r.status_code == 422  # read whole and validated: no site fields, not a size refusal
    assert r.json()["status"] == 422


# ----------------------------------------------------------------------------- admission


def _gated(release: anyio.Event) -> AdmissionGate:
    async def slow(request):
        await release.wait()
        return PlainTextResponse("done")

    async def health(request):
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/work", slow), Route("/health", health)])
    return AdmissionGate(inner, max_active=1, max_queued=1, timeout_s=0.3)


def test_excess_requests_wait_then_get_503_and_a_full_queue_is_refused_at_once() -> None:
    async def scenario() -> dict[str, httpx.Response]:
        release = anyio.Event()
        gate = _gated(release)
        out: dict[str, httpx.Response] = {}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gate), base_url="http://t"
        ) as c:

            async def get(name: str) -> None:
                out[name] = await c.get("/work")

            async with anyio.create_task_group() as tg:
                tg.start_soon(get, "running")
                while gate.active < 1:
                    await anyio.sleep(0.01)
                tg.start_soon(get, "queued")
                while gate.waiting < 1:
                    await anyio.sleep(0.01)
                out["full"] = await c.get("/work")  # queue full: refused at once
                out["health"] = await c.get("/health")  # probes pass the gate
                while "queued" not in out:
                    await anyio.sleep(0.01)  # its wait ran out
                release.set()
        return out

    out = anyio.run(scenario)
    assert out["running"].status_code == 200
    assert out["health"].status_code == 200
    for name in ("queued", "full"):
        r = out[name]
        assert r.status_code == 503, name
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) >= 1
    assert "already waiting" in out["full"].json()["detail"]
    assert "within" in out["queued"].json()["detail"]


# ----------------------------------------------------------------------------- a drained pool


def test_a_drained_pool_is_a_503_and_health_still_answers(api_db: SeededDB) -> None:
    from data.db import make_engine, session_factory
    from service.context import AppContext

    settings = api_db.ctx.settings
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout_s=0.2)
    ctx = AppContext(settings=settings, engine=engine, sessions=session_factory(engine))
    try:
        with TestClient(create_app(context=ctx)) as c:
            held = engine.connect()  # every pooled connection is busy elsewhere
            try:
                r = c.get("/v1/sites", headers={"X-API-Key": "test-viewer"})
                assert r.status_code == 503, r.text
                assert r.headers["content-type"] == "application/problem+json"
                assert int(r.headers["retry-after"]) >= 1
                assert c.get("/health").status_code == 200  # on its own reserved connection
            finally:
                held.close()
            assert c.get("/v1/sites", headers={"X-API-Key": "test-viewer"}).status_code == 200
    finally:
        ctx.close()


def test_sending_an_answer_holds_no_slot() -> None:
    async def scenario() -> tuple[int, int]:
        started, release = anyio.Event(), anyio.Event()

        async def app(scope, receive, send):
            if scope["path"] != "/slow":
                await PlainTextResponse("ok")(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"first", "more_body": True})
            started.set()
            await release.wait()  # a slow reader: the rest is still being sent
            await send({"type": "http.response.body", "body": b"rest", "more_body": False})

        # one slot, no queue: were the slot still held, the second request would be refused
        gate = AdmissionGate(app, max_active=1, max_queued=0, timeout_s=0.3)
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: _call(gate, method="GET", path="/slow", chunks=[b""]))
            await started.wait()
            active = gate.active
            second = await _call(gate, method="GET", path="/", chunks=[b""])
            release.set()
        return active, second[0]

    assert anyio.run(scenario) == (0, 200)
