"""Section 5: one central ``antre serve`` with PostgreSQL as its database.

The benchmark starts its own PostgreSQL: ``initdb`` in a temporary folder, run
as the ``postgres`` user when we are root (PostgreSQL refuses to run as root),
listening on a free loopback port with its socket in that folder. Nothing of
the machine's own PostgreSQL cluster is touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .harness import free_port, wait_for


def _bindir() -> Path | None:
    for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (cand / "initdb").exists():
            return cand
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


class Postgres:
    """A throw-away PostgreSQL cluster. ``start()`` returns a SQLAlchemy URL or raises RuntimeError."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port = free_port()
        self.bindir = _bindir()
        self.user: str | None = None

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> str:
        if self.bindir is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise RuntimeError('psycopg is not installed (pip install "psycopg[binary]")') from None
        self.dir = Path(tempfile.mkdtemp(prefix="antre-bench-pg-"))
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user to run PostgreSQL") from None
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root and runuser is missing")
            self.user = "postgres"
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = self.dir / "data"
        try:
            self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed: {exc.stderr.strip()[-500:]}") from None
        # fsync and synchronous_commit stay on (the defaults): acknowledged means durable.
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c shared_buffers=64MB"
        try:
            self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "pg.log"), "-o", opts, "-w", "start")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"pg_ctl start failed: {exc.stderr.strip()[-500:]}") from None
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE antre")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/antre"

    def commits_per_second(self, n: int) -> float:
        """Durable single-row commits per second (one connection, autocommit inserts)."""
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="antre",
                             autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_t (id serial PRIMARY KEY, v text)")
            for _ in range(20):
                conn.execute("INSERT INTO bench_t (v) VALUES ('warm')")
            t0 = time.perf_counter()
            for i in range(n):
                conn.execute("INSERT INTO bench_t (v) VALUES (%s)", (f"row {i}",))
            return n / (time.perf_counter() - t0)

    def stop(self) -> None:
        if self.dir is None:
            return
        if (self.dir / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop", check=False)
            wait_for(lambda: not (self.dir / "data" / "postmaster.pid").exists(), 30, "PostgreSQL to stop")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
