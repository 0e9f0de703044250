"""A throwaway PostgreSQL cluster for the real-server ingest tests.

Built from Debian's packages (`.ci/start-postgres.sh` installs them): initdb into a
temporary directory, start on a free loopback port with the logging collector writing
stderr, csvlog and jsonlog side by side, run SQL through `psql`, stop by the
postmaster's PID. initdb refuses to run as root, so as root every server command runs
as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def find_bindir(min_major: int = 15) -> Path | None:
    """The newest installed server bindir with jsonlog support (PostgreSQL 15+)."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = Path(initdb).parent
        try:
            major = int(bindir.parent.name.split(".")[0])
        except ValueError:
            continue
        if major >= min_major and (bindir / "pg_ctl").exists():
            found.append((major, bindir))
    return max(found)[1] if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    log_line_prefix: str
    log_min_duration_ms: int
    pid: int | None = None
    _run_as: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    def _server_cmd(self, *args: str) -> list[str]:
        return [*self._run_as, *args]

    def start(self) -> None:
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root needs runuser to drop to the postgres user")
            self._run_as = ["runuser", "-u", "postgres", "--"]
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        subprocess.run(
            self._server_cmd(
                str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
            ),
            check=True, capture_output=True, text=True,
        )
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "logging_collector": "on",
            "log_destination": "'stderr,csvlog,jsonlog'",
            "log_directory": f"'{self.log_dir}'",
            "log_filename": "'pg.log'",
            "log_rotation_age": "0",
            "log_rotation_size": "0",
            "log_line_prefix": "'" + self.log_line_prefix + "'",
            "log_timezone": "'UTC'",
            "lc_messages": "'C'",
            "log_min_duration_statement": str(self.log_min_duration_ms),
            "log_min_error_statement": "error",
            "fsync": "off",
            "max_connections": "20",
            "shared_buffers": "16MB",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write("\n# loganalyze test cluster\n")
            for key, value in conf.items():
                fh.write(f"{key} = {value}\n")
        subprocess.run(
            self._server_cmd(
                str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l",
                str(self.root / "startup.log"), "-w", "-t", "60", "start",
            ),
            check=True, capture_output=True, text=True,
        )
        pid_line = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        self.pid = int(pid_line)

    def psql(self, sql: str, *, user: str = "postgres") -> subprocess.CompletedProcess[str]:
        """Run a script; errors in it are expected (the workload provokes them)."""
        return subprocess.run(
            [
                str(self.bindir / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                "-U", user, "-d", "postgres", "-v", "ON_ERROR_STOP=0", "-f", "-",
            ],
            input=sql, capture_output=True, text=True, timeout=120, check=False,
        )

    def log_file(self, suffix: str) -> Path:
        """`pg.log` (stderr), `pg.csv` (csvlog) or `pg.json` (jsonlog)."""
        return self.log_dir / ("pg" + suffix)

    def stop(self, timeout: float = 60.0) -> None:
        """Fast shutdown by signalling the postmaster's PID; waits for it to exit so the
        logging collector has flushed every file."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def start_server(log_line_prefix: str, log_min_duration_ms: int) -> PgServer:
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL 15+ server binaries under /usr/lib/postgresql")
    root = Path(tempfile.mkdtemp(prefix="loganalyze-pg-"))
    os.chmod(root, 0o755)
    server = PgServer(bindir, root, _free_port(), log_line_prefix, log_min_duration_ms)
    try:
        server.start()
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def remove(server: PgServer) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
