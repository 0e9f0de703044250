"""What a drain receiver is told: where it listens, where data goes, its secrets and its
limits. Validated once, before anything binds a port or touches the database."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .forward import EngineTarget

LOOPBACK_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServeConfig:
    db: Path
    """The DuckDB database the drained events end in (opened only while committing)."""
    spool: Path
    """Directory of the write-ahead spool (segments not yet in the database)."""
    host: str = LOOPBACK_HOST
    port: int = 8787
    supabase_secret: str | None = None
    """Expected `Authorization: Bearer` value of the Supabase drain."""
    vercel_secret: str | None = None
    """HMAC-SHA1 key of `x-vercel-signature`."""
    vercel_verify: str | None = None
    """Value echoed in `x-vercel-verify` (Vercel's ownership check when adding a drain)."""
    commit_every: float = 2.0
    """Seconds between commits into the database (the freshness readers see)."""
    max_body_bytes: int = 16 << 20
    """Largest request body, after decompression (413 beyond)."""
    max_inflight_bytes: int = 64 << 20
    """Request bodies held in memory at once; past it new requests get 429."""
    max_backlog_bytes: int = 1 << 30
    """Spooled bytes not yet in the database; past it new requests get 503."""
    segment_bytes: int = 32 << 20
    """A spool segment is sealed at this size even between commits (a segment is the
    unit of one ingest, so this also bounds how long one holds the database)."""
    memory_limit: str = "1GB"
    """Memory budget of each batch ingest (DuckDB spills beyond it)."""
    status_every: float = 10.0
    """Seconds between status lines (0: none)."""
    shutdown_timeout: float = 30.0
    """On SIGTERM, how long to keep trying to commit what was accepted; what is left
    stays in the spool for the next start."""
    forward_to: EngineTarget | None = None
    """A ClickHouse engine (`serve --engine chdb|clickhouse`) that each commit's rows are
    forwarded to; the DuckDB database stays the durable buffer (forward.py)."""

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UsageError(f"not a port: {self.port}")
        if self.commit_every <= 0:
            raise UsageError("--commit-every must be positive")
        if self.max_body_bytes <= 0 or self.max_inflight_bytes < self.max_body_bytes:
            raise UsageError(
                "the in-flight budget must hold at least one request of the largest size",
                hint="raise --max-inflight or lower --max-body",
            )
        if not is_loopback(self.host) and not (self.supabase_secret or self.vercel_secret):
            raise UsageError(
                f"refusing to listen on {self.host} without a secret: anyone who can reach "
                "it could write into the database",
                hint="give --secret-file and/or --vercel-secret-file, or listen on 127.0.0.1 "
                "behind a tunnel or reverse proxy",
            )

    @property
    def open_drains(self) -> dict[str, bool]:
        """Which drains accept requests: on loopback all of them (with their secret
        checked when one is set); elsewhere only the drains that have a secret."""
        loopback = is_loopback(self.host)
        return {
            "supabase": bool(self.supabase_secret) or loopback,
            "vercel": bool(self.vercel_secret) or loopback,
        }


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:  # a host name: loopback only if every address it resolves to is
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def read_secret(path: Path, what: str) -> str:
    """A secret from a file (one line; surrounding whitespace dropped). Files keep secrets
    out of `ps` and shell history."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not text:
        raise UsageError(f"{what} {path} is empty")
    return text


def default_spool(db: Path) -> Path:
    return db.with_name(db.name + ".spool")
