"""How `pull` waits: exponential backoff with full jitter, `Retry-After` honoured, a
bounded total time, and a limit on requests in flight that shrinks when throttled."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    """Tries per request (the first one included)."""
    base: float = 1.0
    """Seconds before the first retry; doubles each time, up to `cap`."""
    cap: float = 30.0
    """Longest single wait, Retry-After included (a service asking for more is waited
    for `cap` seconds and asked again)."""
    total: float = 600.0
    """Seconds the whole pull may take; past it, what is missing is reported incomplete."""
    verify_attempts: int = 4
    """Reads of a slice whose row count does not match its count() before it is
    reported incomplete."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            # A little jitter on top, so that parallel slices do not return in lockstep.
            return min(self.cap, retry_after + random.uniform(0, self.base))
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


class Deadline:
    """The pull's total time budget."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0


class Throttle:
    """At most `limit` requests in flight; a 429 lowers the limit by one (not below one),
    a run of successes raises it back towards the configured maximum."""

    RECOVER_AFTER = 20

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.in_flight = 0
        self.successes = 0
        self.lowest = self.maximum
        self._cond = threading.Condition()

    def __enter__(self) -> Throttle:
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def throttled(self) -> None:
        with self._cond:
            self.limit = max(1, self.limit - 1)
            self.lowest = min(self.lowest, self.limit)
            self.successes = 0

    def succeeded(self) -> None:
        with self._cond:
            self.successes += 1
            if self.successes >= self.RECOVER_AFTER and self.limit < self.maximum:
                self.limit += 1
                self.successes = 0
                self._cond.notify_all()
