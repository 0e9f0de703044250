"""Refusing work instead of growing without bound.

Two limits: request bodies held in memory at once (each request reserves its size before
its body is read, and gives it back once the body is on disk), and spooled bytes not yet
in the database (the database is held by a reader, or ingest falls behind). Past either,
new deliveries are answered 429 / 503 with `Retry-After`; drain senders retry, and
nothing already accepted is at risk.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    status: int
    retry_after: int
    reason: str


class Backpressure:
    def __init__(
        self,
        *,
        max_inflight_bytes: int,
        max_backlog_bytes: int,
        backlog: Callable[[], int],
        commit_every: float,
    ) -> None:
        self.max_inflight_bytes = max_inflight_bytes
        self.max_backlog_bytes = max_backlog_bytes
        self.backlog = backlog
        self.inflight_bytes = 0
        self.refused = 0
        self._retry_after = max(1, math.ceil(commit_every))

    def admit(self, nbytes: int) -> Refusal | None:
        """Reserve `nbytes` of the in-flight budget, or say why not."""
        if self.backlog() >= self.max_backlog_bytes:
            self.refused += 1
            return Refusal(503, self._retry_after * 2, "backlog full: the database is behind")
        if self.inflight_bytes + nbytes > self.max_inflight_bytes:
            self.refused += 1
            return Refusal(429, 1, "too many bodies in flight")
        self.inflight_bytes += nbytes
        return None

    def release(self, nbytes: int) -> None:
        self.inflight_bytes -= nbytes
