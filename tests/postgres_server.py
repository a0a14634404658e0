"""A real PostgreSQL for the tests: Debian's binaries, a throwaway cluster on a Unix socket, no TCP.

    with PostgresServer.start(tmp_dir) as server:
        url = server.new_database()     # postgresql+psycopg://postgres@/db_1?host=<socket dir>

`initdb` refuses to run as root (CI runs as root), so as root the cluster belongs to the `postgres` user
and its programs run through `runuser`; the socket then takes root as the database user `postgres`
(trust authentication, local socket only). `find_binaries()` is None when PostgreSQL is not installed:
the tests that need it skip and say how to get it (`apt-get install postgresql`; `make test` does it as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import sqlalchemy


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian layout), else one on PATH, else None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self, bin_dir: Path, root: Path, run_as: str | None):
        self.bin_dir, self.root, self.run_as = bin_dir, root, run_as
        self.data, self.socket_dir = root / "data", root / "socket"
        self._numbers = count(1)

    @classmethod
    @contextmanager
    def start(cls, bin_dir: Path) -> Iterator[PostgresServer]:
        root = Path(tempfile.mkdtemp(prefix="podsight-pg-"))
        run_as = "postgres" if os.geteuid() == 0 else None
        server = cls(bin_dir, root, run_as)
        try:
            server._init_and_start()
            yield server
        finally:
            server._stop()
            shutil.rmtree(root, ignore_errors=True)

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def _init_and_start(self) -> None:
        self.socket_dir.mkdir()
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        # fsync off: a test cluster needs no durability, and it makes CREATE DATABASE fast
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def _stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except subprocess.CalledProcessError:
                pass

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """An empty database of its own, so tests never see each other's rows."""
        name = f"db_{next(self._numbers)}"
        engine = sqlalchemy.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        engine.dispose()
        return self.url(name)
