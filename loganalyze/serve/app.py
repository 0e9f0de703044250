"""The HTTP side of `loganalyze serve` (aiohttp): the two drain endpoints, `/healthz`,
and the run loop that ties the spool, the committer and the status reports together.

A delivery is answered 2xx only after its events are on disk (the spool's fsync); what
happens to them afterwards is the committer's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import signal
import time
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from .backpressure import Backpressure
from .bodies import BodyTooLarge, Reject, UnsupportedEncoding, decode_content, parse_drain_body
from .committer import Committer
from .config import ServeConfig
from .spool import Kind, Spool

DRAINS = {"supabase": Kind.SUPABASE, "vercel": Kind.VERCEL}
BODY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Status:
    uptime_s: float
    events_per_s: float
    accepted_events: int
    stored_rows: int
    duplicates: int
    rejected: int
    backlog_bytes: int
    refused: int
    waiting_for_db_s: float | None
    """How long the committer has waited for another process to release the database."""


@dataclass(frozen=True)
class ServeSummary:
    accepted_events: int
    stored_rows: int
    rejected: int
    left_in_spool: bool
    """True when the database stayed busy through the shutdown timeout; the next start
    commits what is left."""


class Reporter(Protocol):
    def ready(self, url: str, drains: dict[str, bool]) -> None: ...
    def status(self, status: Status) -> None: ...
    def notice(self, message: str) -> None: ...
    def stopping(self) -> None: ...


class _Quiet:
    def ready(self, url: str, drains: dict[str, bool]) -> None:
        pass

    def status(self, status: Status) -> None:
        pass

    def notice(self, message: str) -> None:
        pass

    def stopping(self) -> None:
        pass


class DrainReceiver:
    """Request handling; holds the counters the status line shows."""

    def __init__(self, config: ServeConfig, spool: Spool, committer: Committer) -> None:
        self.config = config
        self.spool = spool
        self.committer = committer
        self.drains = config.open_drains
        self.pressure = Backpressure(
            max_inflight_bytes=config.max_inflight_bytes,
            max_backlog_bytes=config.max_backlog_bytes,
            backlog=lambda: spool.backlog_bytes,
            commit_every=config.commit_every,
        )
        self.accepted_events = 0
        self.started = time.monotonic()
        self.stopping = False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post("/drains/{drain}", self.post_drain)
        app.router.add_get("/drains/vercel", self.vercel_verify)
        app.router.add_get("/healthz", self.healthz)
        return app

    # ------------------------------------------------------------------ endpoints
    async def post_drain(self, request: web.Request) -> web.Response:
        drain = request.match_info["drain"]
        if drain not in DRAINS or not self.drains[drain]:
            return _json(404, {"error": f"no drain at {request.path}"})
        if drain == "supabase" and not self._bearer_ok(request):
            return _json(401, {"error": "missing or wrong Authorization: Bearer token"},
                         {"WWW-Authenticate": "Bearer"})
        limit = self.config.max_body_bytes
        declared = request.content_length
        if declared is not None and declared > limit:
            return self._answer(drain, 413, {"error": f"body larger than {limit} bytes"})
        reserved = declared if declared is not None else limit
        refusal = self.pressure.admit(reserved)
        if refusal is not None:
            return self._answer(drain, refusal.status, {"error": refusal.reason},
                                {"Retry-After": str(refusal.retry_after)})
        try:
            return await self._receive(request, drain)
        finally:
            self.pressure.release(reserved)

    async def _receive(self, request: web.Request, drain: str) -> web.Response:
        limit = self.config.max_body_bytes
        try:
            raw = await asyncio.wait_for(request.read(), BODY_TIMEOUT_SECONDS)
        except web.HTTPRequestEntityTooLarge:
            return self._answer(drain, 413, {"error": f"body larger than {limit} bytes"})
        except TimeoutError:  # a sender too slow to finish its body gives its reservation back
            return self._answer(drain, 408, {"error": "the body took too long to arrive"},
                                {"Connection": "close"})
        encoding = request.headers.get("Content-Encoding")
        rejects: list[Reject] = []
        try:
            body = decode_content(raw, encoding, limit)
        except BodyTooLarge:
            return self._answer(drain, 413, {"error": f"body larger than {limit} bytes once decompressed"})
        except UnsupportedEncoding as exc:
            return self._answer(drain, 415, {"error": f"unsupported Content-Encoding {exc}"})
        except ValueError as exc:
            body = None
            rejects.append(Reject(None, str(exc), raw[:4096].hex()))
        if drain == "vercel" and not self._signature_ok(request, raw, body):
            return self._answer(drain, 403, {"error": "x-vercel-signature does not match the body"})
        if body is None:
            try:
                await self._spool([], rejects, drain)
            except OSError as exc:
                return self._spool_failed(drain, exc)
            return self._answer(drain, 400, {"error": rejects[0].reason, "accepted": 0})
        extra = len(body) if encoding else 0
        if extra:  # the decompressed copy is held too
            refusal = self.pressure.admit(extra)
            if refusal is not None:
                return self._answer(drain, refusal.status, {"error": refusal.reason},
                                    {"Retry-After": str(refusal.retry_after)})
        try:
            parsed = parse_drain_body(body)
            records = [(DRAINS[drain], parsed.events)] if parsed.count else []
            try:
                await self._spool(records, parsed.rejects, drain)
            except OSError as exc:
                return self._spool_failed(drain, exc)
        finally:
            if extra:
                self.pressure.release(extra)
        self.accepted_events += parsed.count
        if parsed.malformed:
            return self._answer(drain, 400, {
                "error": parsed.malformed, "accepted": parsed.count, "rejected": len(parsed.rejects),
            })
        return self._answer(drain, 200, {"accepted": parsed.count})

    async def _spool(self, records: list[tuple[Kind, bytes]], rejects: list[Reject], drain: str) -> None:
        if rejects:
            doc = {"drain": drain, "rows": [[r.line, r.reason, r.raw] for r in rejects]}
            records = [*records, (Kind.REJECTED, json.dumps(doc).encode("utf-8"))]
        if records:
            await self.spool.append(records)

    def _spool_failed(self, drain: str, exc: OSError) -> web.Response:
        """The disk refused the write (full, read-only): nothing was acknowledged."""
        return self._answer(drain, 503, {"error": f"cannot write the spool: {exc.strerror or exc}"},
                            {"Retry-After": "5"})

    async def vercel_verify(self, request: web.Request) -> web.Response:
        if not self.drains["vercel"]:
            return _json(404, {"error": f"no drain at {request.path}"})
        return self._answer("vercel", 200, {"ok": True})

    async def healthz(self, request: web.Request) -> web.Response:
        status = self.status(0.0)
        body = {
            "status": "stopping" if self.stopping else "ok",
            "backlog_bytes": status.backlog_bytes,
            "accepted_events": status.accepted_events,
            "stored_rows": status.stored_rows,
            "rejected": status.rejected,
            "waiting_for_db_s": status.waiting_for_db_s,
            "forwarded_rows": self.committer.stats.forwarded if self.config.forward_to else None,
            "forwarding_failing": self.committer.stats.forward_failing,
            "last_commit_age_s": (
                round(time.time() - self.committer.stats.last_commit_at, 3)
                if self.committer.stats.last_commit_at else None
            ),
        }
        return _json(503 if self.stopping else 200, body)

    # ------------------------------------------------------------------ checks
    def _bearer_ok(self, request: web.Request) -> bool:
        secret = self.config.supabase_secret
        if not secret:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode("utf-8", "replace"), ("Bearer " + secret).encode("utf-8"))

    def _signature_ok(self, request: web.Request, raw: bytes, body: bytes | None) -> bool:
        secret = self.config.vercel_secret
        if not secret:
            return True
        given = request.headers.get("x-vercel-signature", "").strip().lower().encode("ascii", "replace")
        key = secret.encode("utf-8")
        candidates = [raw] if body is None or body is raw else [raw, body]
        return any(
            hmac.compare_digest(given, hmac.new(key, data, hashlib.sha1).hexdigest().encode("ascii"))
            for data in candidates
        )

    def _answer(self, drain: str, status: int, body: dict, headers: dict[str, str] | None = None) -> web.Response:
        headers = dict(headers or {})
        if drain == "vercel" and self.config.vercel_verify:
            headers["x-vercel-verify"] = self.config.vercel_verify
        return _json(status, body, headers)

    # ------------------------------------------------------------------ status
    def status(self, events_per_s: float) -> Status:
        stats = self.committer.stats
        waiting = stats.waiting_since
        return Status(
            uptime_s=time.monotonic() - self.started,
            events_per_s=events_per_s,
            accepted_events=self.accepted_events,
            stored_rows=stats.rows,
            duplicates=stats.duplicates,
            rejected=stats.rejected,
            backlog_bytes=self.spool.backlog_bytes,
            refused=self.pressure.refused,
            waiting_for_db_s=None if waiting is None else time.monotonic() - waiting,
        )


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def run_server(config: ServeConfig, reporter: Reporter | None = None) -> ServeSummary:
    """Receive drains until SIGTERM/SIGINT, then commit what was accepted and return."""
    config.validate()
    return asyncio.run(_serve(config, reporter or _Quiet()))


async def _serve(config: ServeConfig, reporter: Reporter) -> ServeSummary:
    spool = Spool(config.spool, segment_bytes=config.segment_bytes)
    committer = Committer(config.db, spool, every=config.commit_every,
                          memory_limit=config.memory_limit, on_notice=reporter.notice,
                          forward_to=config.forward_to)
    try:
        committer.check_database()
    except BaseException:
        spool.close()
        raise
    receiver = DrainReceiver(config, spool, committer)
    runner = web.AppRunner(receiver.app(), access_log=None, auto_decompress=False,
                           handle_signals=False, shutdown_timeout=config.shutdown_timeout)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        spool.close()
        from ..errors import UsageError

        raise UsageError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    committer.start()
    host, port = runner.addresses[0][:2]
    shown = f"[{host}]" if ":" in host else host
    reporter.ready(f"http://{shown}:{port}", receiver.drains)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    status_task = asyncio.create_task(_report_status(receiver, reporter, config.status_every))
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        receiver.stopping = True
        reporter.stopping()
        status_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await status_task
        await runner.cleanup()  # stop accepting; finish the requests in flight
        empty = await asyncio.to_thread(committer.stop, config.shutdown_timeout)
        spool.close()
    reporter.status(receiver.status(0.0))
    stats = committer.stats
    return ServeSummary(receiver.accepted_events, stats.rows, stats.rejected, left_in_spool=not empty)


async def _report_status(receiver: DrainReceiver, reporter: Reporter, every: float) -> None:
    if every <= 0:
        return
    last_events, last_time = receiver.accepted_events, time.monotonic()
    while True:
        await asyncio.sleep(every)
        now = time.monotonic()
        rate = (receiver.accepted_events - last_events) / max(now - last_time, 1e-9)
        last_events, last_time = receiver.accepted_events, now
        reporter.status(receiver.status(rate))
