"""Per-access-token rate limiting: a token bucket of `rate_burst` refilled at `rate_limit_per_s`.

The rate and burst are read from the live fault settings on every request, so changes made
through `POST /_sim/faults` apply at once. Callers hold `state.lock`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from rupa_desk.sandbox.config import FaultSettings


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float = field(default_factory=time.monotonic)


class RateLimiter:
    """Token buckets keyed by access-token fingerprint."""

    def __init__(self, settings: FaultSettings) -> None:
        self._settings = settings
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> int | None:
        """Spend one request for `key`; None if allowed, else the Retry-After seconds (≥ 1)."""
        rate = self._settings.rate_limit_per_s
        burst = float(self._settings.rate_burst)
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=burst, updated=now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def reset(self) -> None:
        """Forget every bucket (all tokens start with a full burst again)."""
        self._buckets.clear()
