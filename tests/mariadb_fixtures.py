"""A real MariaDB server for the tests, as ToolsDB runs it: Debian's mariadbd on a free
loopback port, its data in a throwaway folder, a password account per test database.

`LocalMariaDB.start` runs mariadb-install-db and mariadbd (no systemd, no root account
over TCP); `stop` ends the server it started and nothing else. Tests skip when Debian's
`mariadb-server` is not installed (scripts/install-test-services.sh installs it).
"""

from __future__ import annotations

import getpass
import itertools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
import pytest
from sqlalchemy.engine import URL

from tests.wiki_fixtures import free_port

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
USER = "bot"
PASSWORD = "toolsdb-like-secret"


def mariadb_available() -> str | None:
    """None when a MariaDB server can run here, else the reason to skip."""
    for path in (MARIADBD, INSTALL_DB):
        if not os.access(path, os.X_OK):
            return f"{path} not found: install mariadb-server (scripts/install-test-services.sh)"
    return None


@dataclass
class LocalMariaDB:
    """A running mariadbd; `new_database` gives each test an empty database."""

    dir: Path
    port: int
    process: subprocess.Popen
    _names: itertools.count = field(default_factory=itertools.count)

    @classmethod
    def start(cls, dir: Path) -> LocalMariaDB:
        dir.mkdir(parents=True, exist_ok=True)
        user = getpass.getuser()
        subprocess.run(
            [
                INSTALL_DB,
                f"--user={user}",
                f"--datadir={dir / 'data'}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )
        port = free_port()
        log = (dir / "server.log").open("w")
        process = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",  # nothing from /etc/mysql: only what is said here
                f"--user={user}",
                f"--datadir={dir / 'data'}",
                f"--socket={dir / 'sock'}",
                f"--pid-file={dir / 'server.pid'}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                "--innodb-lock-wait-timeout=10",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = cls(dir, port, process)
        server._wait_ready()
        return server

    def _root(self) -> pymysql.Connection:
        return pymysql.connect(unix_socket=str(self.dir / "sock"), user=getpass.getuser())

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError((self.dir / "server.log").read_text()[-3000:])
            try:
                self._root().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def new_database(self) -> str:
        """An empty utf8mb4 database that the password account may use fully."""
        name = f"{USER}__t{next(self._names)}"  # shaped like ToolsDB's <user>__<name>
        with self._root() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            cur.execute(
                f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'"
            )
            cur.execute(f"GRANT ALL ON {name}.* TO '{USER}'@'127.0.0.1'")
        return name

    def url(self, database: str) -> URL:
        return URL.create(
            "mysql+pymysql",
            username=USER,
            password=PASSWORD,
            host="127.0.0.1",
            port=self.port,
            database=database,
            query={"charset": "utf8mb4"},
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMariaDB]:
    """One MariaDB server for the whole test session; stopped and removed at the end."""
    reason = mariadb_available()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("mariadb")
    server = LocalMariaDB.start(base)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
