"""Per-key rate limiting: an in-process token bucket per API key.

Each key (``key:<id>`` or ``env:<role>``) has a bucket of ``burst`` tokens
refilled at ``rate`` tokens per second; a request takes one token or is
refused with 429 and ``Retry-After``. Requests with a missing or invalid key
draw from a bucket per client address, so guessing keys is slowed down too.

The buckets live in the worker process: with N uvicorn/gunicorn workers a key
may send up to N times the configured rate (see docs/production.md). Buckets
idle long enough to be full again are dropped, so memory stays bounded by the
number of keys and addresses active in the last ``burst / rate`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.errors import RateLimitError

__all__ = ["TokenBuckets"]

_SWEEP_EVERY = 1024


class TokenBuckets:
    """Token buckets by name, safe to use from several threads.

    Parameters
    ----------
    rate
        Tokens added per second (> 0).
    burst
        Bucket size: requests admitted at once (>= 1).
    clock
        Monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0, not {rate!r}")
        if not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an int >= 1, not {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, updated)
        self._lock = threading.Lock()
        self._calls = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, name: str) -> None:
        """Refuse now if ``name``'s bucket is empty, without taking a token.

        Raises
        ------
        core.errors.RateLimitError
            When the bucket holds less than one token.
        """
        now = self._clock()
        with self._lock:
            tokens = self._tokens(name, now)
        if tokens < 1.0:
            raise self._refusal(tokens, "too many refused credentials from this address")

    def _tokens(self, name: str, now: float) -> float:
        """Tokens in ``name``'s bucket at ``now`` (refilled since its last use); hold the lock."""
        tokens, updated = self._buckets.get(name, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - updated) * self.rate)

    def _refusal(self, tokens: float, why: str) -> RateLimitError:
        wait = (1.0 - tokens) / self.rate
        return RateLimitError(f"{why}; retry in {wait:.1f} s", retry_after=wait)

    def take(self, name: str) -> None:
        """Take one token from ``name``'s bucket.

        Raises
        ------
        core.errors.RateLimitError
            When the bucket is empty; ``retry_after`` is the wait for one token.
        """
        now = self._clock()
        with self._lock:
            self._calls += 1
            if self._calls % _SWEEP_EVERY == 0:
                self._sweep(now)
            tokens = self._tokens(name, now)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                raise self._refusal(
                    tokens, f"rate limit of {self.rate:g} requests/s (burst {self.burst}) exceeded"
                )
            self._buckets[name] = (tokens - 1.0, now)

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        stale = [n for n, (_, updated) in self._buckets.items() if now - updated >= full_after]
        for name in stale:
            del self._buckets[name]
