"""Column types that differ between backends: stored times come back aware, in UTC, on both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select

from data.db import make_engine, session_factory, upgrade
from data.models.security import ApiKey

PARIS_SUMMER = timezone(timedelta(hours=2))


def test_stored_times_come_back_aware_utc_whatever_was_written(backend_url: str) -> None:
    engine = make_engine(backend_url)
    upgrade(engine)
    sessions = session_factory(engine)
    written = {
        "aware": datetime(2026, 6, 1, 12, 0, tzinfo=PARIS_SUMMER),  # 10:00 UTC
        "utc": datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
        "naive": datetime(2026, 6, 1, 10, 0),  # the service's convention: UTC
    }
    try:
        with sessions.begin() as s:
            for name, when in written.items():
                s.add(
                    ApiKey(
                        name=name,
                        prefix=f"prm_{name}"[:12],
                        key_hash=name.ljust(64, "0"),
                        role="viewer",
                        expires_at=when,
                    )
                )
        with sessions() as s:
            rows = dict(s.execute(select(ApiKey.name, ApiKey.expires_at)).all())
            latest = s.scalar(select(func.max(ApiKey.expires_at)))
            defaulted = s.scalar(select(ApiKey.created_at).limit(1))  # the server's now()
            # a comparison binds through the same type: an aware bound finds the rows
            found = s.scalar(
                select(func.count())
                .select_from(ApiKey)
                .where(ApiKey.expires_at == datetime(2026, 6, 1, 12, 0, tzinfo=PARIS_SUMMER))
            )
        for name, value in rows.items():
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0), (name, value)
            assert value == datetime(2026, 6, 1, 10, 0, tzinfo=UTC), (name, value)
        assert latest.tzinfo is not None and latest.utcoffset() == timedelta(0)
        assert defaulted.tzinfo is not None and defaulted.utcoffset() == timedelta(0)
        assert abs(defaulted - datetime.now(UTC)) < timedelta(hours=1)
        assert found == 3
    finally:
        engine.dispose()
