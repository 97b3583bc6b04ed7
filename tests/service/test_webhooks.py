"""Webhooks against a real local receiver: signatures verified, retries with backoff, delivery log,
destinations resolved, checked and pinned at delivery time."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.errors import InputError
from service.events import emit
from service.integration.webhooks import dispatch, list_deliveries, subscribe, verify
from service.pipeline import run_pipeline
from tests.service.conftest import FakeDNS
from tests.service.test_pipeline import load_all


class Receiver:
    """An HTTP server on loopback answering each POST with the next planned status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver([500, 503])
    yield r
    r.close()


def test_signed_delivery_retried_with_backoff(ctx, receiver: Receiver) -> None:
    sub = subscribe(ctx, url=receiver.url, event_types=["referrer.tier_changed"], created_by="test")
    assert sub["secret"].startswith("whsec_")
    assert emit(ctx, "alert.at_risk", {"provider_id": 1}) == 0  # nobody subscribed to it
    assert emit(ctx, "referrer.tier_changed", {"provider_id": 7, "from": "B", "to": "A"}) == 1
    backoff = ctx.settings.webhook_backoff_s
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)

    assert dispatch(ctx, now=t0) == {"delivered": 0, "retrying": 1, "failed": 0}
    assert dispatch(ctx, now=t0 + timedelta(seconds=backoff - 1))["retrying"] == 0  # not due yet
    assert dispatch(ctx, now=t0 + timedelta(seconds=backoff)) == {
        "delivered": 0,
        "retrying": 1,
        "failed": 0,
    }
    [log] = list_deliveries(ctx)
    assert log["attempts"] == 2 and log["last_status_code"] == 503 and log["status"] == "pending"
    assert log["next_attempt_at"] == t0 + timedelta(seconds=backoff + 2 * backoff)  # doubled
    done = t0 + timedelta(seconds=3 * backoff)
    assert dispatch(ctx, now=done) == {"delivered": 1, "retrying": 0, "failed": 0}
    [log] = list_deliveries(ctx)
    assert log["status"] == "delivered" and log["attempts"] == 3 and log["delivered_at"] == done

    assert len(receiver.received) == 3
    headers, body = receiver.received[-1]
    event = json.loads(body)
    assert event["type"] == "referrer.tier_changed" and event["data"]["to"] == "A"
    assert headers["prm-webhook-event"] == "referrer.tier_changed"
    assert headers["prm-webhook-id"] == event["id"] == log["event_id"]
    ts, sig = headers["prm-webhook-timestamp"], headers["prm-webhook-signature"]
    assert int(ts) == int(done.timestamp())
    assert verify(sub["secret"], ts, body, sig, now=done.timestamp())
    assert not verify(sub["secret"], ts, body + b" ", sig, now=done.timestamp())  # tampered body
    assert not verify("whsec_other", ts, body, sig, now=done.timestamp())
    assert not verify(sub["secret"], ts, body, sig, now=done.timestamp() + 3600)  # replayed later


def test_attempts_exhausted_is_failed(ctx) -> None:
    object.__setattr__(ctx, "settings", ctx.settings.model_copy(update={"webhook_max_attempts": 2}))
    dead = Receiver([500] * 5)
    try:
        subscribe(ctx, url=dead.url, event_types=["alert.at_risk"])
        emit(ctx, "alert.at_risk", {"provider_id": 3})
        t0 = datetime.now(UTC) + timedelta(minutes=1)
        assert dispatch(ctx, now=t0)["retrying"] == 1
        assert dispatch(ctx, now=t0 + timedelta(days=1))["failed"] == 1
        assert dispatch(ctx, now=t0 + timedelta(days=2)) == {
            "delivered": 0,
            "retrying": 0,
            "failed": 0,
        }
        [log] = list_deliveries(ctx, status="failed")
        assert log["attempts"] == 2 and log["last_error"] == "HTTP 500"
    finally:
        dead.close()


def test_subscription_input_is_checked(ctx) -> None:
    with pytest.raises(InputError) as exc:
        subscribe(ctx, url="ftp://x", event_types=["nope"])
    assert {p.field for p in exc.value.problems} == {"url", "event_types"}
    prod = ctx.settings.model_copy(update={"environment": "production"})
    object.__setattr__(ctx, "settings", prod)
    for url in (
        "https://10.0.0.8/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest",
        "https://localhost./hook",
        "https://api.localhost/hook",
        "http://crm.example.com/hook",
    ):
        with pytest.raises(InputError, match="invalid webhook"):
            subscribe(ctx, url=url, event_types=["alert.at_risk"])
    # a host name passes here; its addresses are checked at each delivery
    ok = subscribe(ctx, url="https://crm.example.com/hook", event_types=["alert.at_risk"])
    assert ok["active"]
    with pytest.raises(ValueError, match="unknown event type"):
        emit(ctx, "prospect.gone", {})


def test_scoring_emits_new_prospects_in_territory(ctx, receiver: Receiver) -> None:
    object.__setattr__(
        ctx,
        "settings",
        ctx.settings.model_copy(
            update={"as_of": date(2024, 6, 30), "radius_km": 60.0, "catchment_resolution": 7}
        ),
    )
    subscribe(ctx, url=receiver.url, event_types=["prospect.new_in_territory"])
    load_all(ctx)
    run_pipeline(ctx)
    [log] = list_deliveries(ctx)
    assert log["event_type"] == "prospect.new_in_territory"
    receiver.statuses.clear()
    dispatch(ctx)
    event = json.loads(receiver.received[-1][1])
    assert event["data"]["count"] == len(event["data"]["prospects"]) >= 1
    run_pipeline(ctx)  # nothing new the second time: no event
    assert len(list_deliveries(ctx)) == 1


def _production(ctx) -> None:
    prod = ctx.settings.model_copy(update={"environment": "production"})
    object.__setattr__(ctx, "settings", prod)


def test_refused_destinations_fail_at_once_in_production(ctx, fake_dns: FakeDNS) -> None:
    _production(ctx)
    internal = {
        "ten.example.test": ["10.20.30.40"],
        "meta.example.test": ["169.254.169.254"],
        "six.example.test": ["::1"],
        "mapped.example.test": ["::ffff:127.0.0.1"],
        "rebind.example.test": ["93.184.216.34", "127.0.0.1"],
    }
    subs = {}
    for name, addresses in internal.items():
        fake_dns.answer(name, addresses)
        subs[subscribe(ctx, url=f"https://{name}/hook", event_types=["alert.at_risk"])["id"]] = name
    assert emit(ctx, "alert.at_risk", {"provider_id": 5}) == len(internal)
    t0 = datetime.now(UTC) + timedelta(minutes=1)
    assert dispatch(ctx, now=t0) == {"delivered": 0, "retrying": 0, "failed": len(internal)}
    for log in list_deliveries(ctx):
        name = subs[log["subscription_id"]]
        assert log["status"] == "failed" and log["attempts"] == 1
        assert log["last_status_code"] is None
        assert log["last_error"].startswith(f"refused: {name} resolves to {internal[name][-1]} (")
    assert sorted(fake_dns.lookups) == sorted(internal)  # one lookup each, no connection after
    # permanent: not retried later (a rebinding attempt gets no second try)
    assert dispatch(ctx, now=t0 + timedelta(days=7)) == {"delivered": 0, "retrying": 0, "failed": 0}


def test_unresolvable_host_is_retried(ctx, fake_dns: FakeDNS) -> None:
    _production(ctx)
    fake_dns.fail("gone.example.test")
    subscribe(ctx, url="https://gone.example.test/hook", event_types=["alert.at_risk"])
    emit(ctx, "alert.at_risk", {"provider_id": 5})
    assert dispatch(ctx, now=datetime.now(UTC) + timedelta(minutes=1))["retrying"] == 1
    [log] = list_deliveries(ctx)
    assert log["status"] == "pending" and "cannot resolve gone.example.test" in log["last_error"]


def test_delivery_connects_to_the_checked_address(
    ctx, receiver: Receiver, fake_dns: FakeDNS
) -> None:
    # Production checks off (the receiver is on loopback). The name answers the receiver's
    # address once and then 127.0.0.2, where nothing listens: a second lookup by anyone
    # (httpcore resolving the name itself) would make the delivery fail.
    receiver.statuses.clear()
    port = receiver.server.server_address[1]
    fake_dns.answer("hooks.example.test", ["127.0.0.1"], ["127.0.0.2"])
    subscribe(ctx, url=f"http://hooks.example.test:{port}/hook", event_types=["alert.at_risk"])
    emit(ctx, "alert.at_risk", {"provider_id": 9})
    assert dispatch(ctx, now=datetime.now(UTC) + timedelta(minutes=1))["delivered"] == 1
    [(headers, body)] = receiver.received
    assert headers["host"] == f"hooks.example.test:{port}"  # the original name, not the IP
    assert json.loads(body)["data"] == {"provider_id": 9}
    assert fake_dns.lookups == ["hooks.example.test"]
