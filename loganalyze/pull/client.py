"""The Management API logs endpoint: one GET per query, retried the ways the service
is known to fail, and its refusals turned into errors a user can act on.

`GET {api}/v1/projects/{ref}/analytics/endpoints/logs?sql=…&iso_timestamp_start=…&
iso_timestamp_end=…` with a Bearer token; the answer is `{"result": [...], "error": ...}`.
Retried: HTTP 429 (after Retry-After when given), 5xx, connection errors and timeouts,
and HTTP 200 whose body carries an error instead of rows ("Backend error! Retry your
query…"). The token goes in the Authorization header only; it is never part of a
message, a log line or the database.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from ..errors import InputError, UsageError
from .retry import Deadline, RetryPolicy, Throttle
from .slicing import iso

DEFAULT_API_URL = "https://api.supabase.com"
API_URL_ENV_VAR = "LOGANALYZE_API_URL"
TOKEN_ENV_VAR = "SUPABASE_ACCESS_TOKEN"
"""The same variable the Supabase CLI reads."""

ENDPOINT = "/v1/projects/{ref}/analytics/endpoints/logs"
PROJECT_REF = re.compile(r"^[a-z]{20}$")


class PullError(InputError):
    """The logs endpoint refused the pull, or the service could not be reached."""


class TimeBudgetSpent(Exception):
    """The pull's total time ran out while a request was being retried."""


def check_project_ref(ref: str) -> str:
    if not PROJECT_REF.match(ref or ""):
        raise UsageError(
            f"not a project ref: {ref!r}",
            hint="a project ref is 20 lowercase letters, as in "
            "https://supabase.com/dashboard/project/<ref> or <ref>.supabase.co",
        )
    return ref


def read_token(token_file: str | os.PathLike[str] | None = None) -> str:
    """The access token: from `token_file`, else $SUPABASE_ACCESS_TOKEN."""
    if token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(
                f"cannot read the token file {token_file}: {exc.strerror or exc}"
            ) from None
        if not token:
            raise UsageError(f"the token file {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV_VAR, "").strip()
    if not token:
        raise UsageError(
            "no access token",
            hint=f"set {TOKEN_ENV_VAR} (a personal access token, https://supabase.com/"
            "dashboard/account/tokens, with the analytics_logs_read permission) or pass "
            "--token-file",
        )
    return token


def api_url(value: str | None = None) -> str:
    url = (value or os.environ.get(API_URL_ENV_VAR) or DEFAULT_API_URL).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise UsageError(f"not an API base URL: {url!r}", hint="e.g. https://api.supabase.com")
    return url


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    wait_seconds: float = 0.0
    """Time spent waiting for responses (the service's share of the pull)."""
    backoff_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **values: float) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self, name, getattr(self, name) + value)


class LogsClient:
    def __init__(
        self,
        project: str,
        token: str,
        *,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        throttle: Throttle | None = None,
        deadline: Deadline | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.project = check_project_ref(project)
        self.policy = policy or RetryPolicy()
        self.throttle = throttle or Throttle(2)
        self.deadline = deadline or Deadline(self.policy.total)
        self.stats = ClientStats()
        self.path = ENDPOINT.format(ref=self.project)
        self._stop = threading.Event()
        self._http = httpx.Client(
            base_url=api_url(base_url),
            headers={"Authorization": "Bearer " + token, "Accept": "application/json",
                     "User-Agent": "loganalyze-pull"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def stop(self) -> None:
        """Make waiting requests give up (another slice hit a fatal error)."""
        self._stop.set()

    def sleep(self, seconds: float) -> None:
        """Wait, but not past the deadline; raise TimeBudgetSpent when it is reached."""
        left = self.deadline.left()
        if left <= 0 or self._stop.is_set():
            raise TimeBudgetSpent()
        wait = min(seconds, left)
        self.stats.add(backoff_seconds=wait)
        if self._stop.wait(wait) or wait < seconds:
            raise TimeBudgetSpent()

    def get(self, sql: str, start: datetime, end: datetime) -> bytes:
        """The body of a 200 answer to `sql` over [start, end), HTTP failures retried."""
        params = {"sql": sql, "iso_timestamp_start": iso(start), "iso_timestamp_end": iso(end)}
        attempt = 0
        while True:
            attempt += 1
            if self.deadline.expired() or self._stop.is_set():
                raise TimeBudgetSpent()
            retry_after: float | None = None
            problem: str
            with self.throttle:
                began = time.perf_counter()
                try:
                    response = self._http.get(self.path, params=params)
                    body = response.content
                except httpx.TransportError as exc:
                    response = None
                    problem = f"connection failed ({type(exc).__name__})"
                finally:
                    self.stats.add(requests=1, wait_seconds=time.perf_counter() - began)
            if response is not None:
                status = response.status_code
                if status == 200:
                    self.throttle.succeeded()
                    return body
                if status == 429:
                    self.throttle.throttled()
                    self.stats.add(throttled=1)
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    problem = "rate limited (HTTP 429)"
                elif status >= 500:
                    problem = f"HTTP {status}"
                else:
                    self._stop.set()  # no other request is worth sending now
                    raise self.refusal(status, body)
            if attempt >= self.policy.attempts:
                raise PullError(
                    f"the logs endpoint kept failing: {problem} after {attempt} tries",
                    hint="try again later, or raise --max-time",
                )
            self.stats.add(retries=1)
            self.sleep(self.policy.delay(attempt, retry_after))

    def refusal(self, status: int, body: bytes) -> PullError:
        ref = self.project
        if status == 401:
            return PullError(
                "the access token was refused (HTTP 401): it is invalid or has expired",
                hint=f"create a new token at https://supabase.com/dashboard/account/tokens "
                f"and set {TOKEN_ENV_VAR} (or --token-file)",
            )
        if status == 403:
            return PullError(
                f"the access token may not read the logs of project {ref} (HTTP 403)",
                hint="the token needs the analytics_logs_read permission on this project "
                "(OAuth scope analytics:read)",
            )
        if status == 404:
            return PullError(
                f"no project {ref} (HTTP 404)",
                hint="check the ref in https://supabase.com/dashboard/project/<ref>, and "
                "that the token's account can see it",
            )
        if status == 402:
            return PullError(
                f"project {ref}'s plan does not allow this (HTTP 402)",
                hint="log queries over this range need a paid plan; try a shorter --since",
            )
        if status == 410:
            return PullError(
                f"the logs endpoint {self.path} is gone (HTTP 410): the Management API has "
                "moved it",
                hint="upgrade loganalyze; meanwhile download the logs from the dashboard "
                "and use `loganalyze ingest`",
            )
        return PullError(
            f"the logs endpoint refused the query (HTTP {status}): " + _excerpt(body),
            hint="the range may exceed what the plan keeps (Free: 1 day, Pro: 7 days)",
        )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _excerpt(body: bytes) -> str:
    text = body[:300].decode("utf-8", errors="replace").strip()
    return text or "(empty body)"
