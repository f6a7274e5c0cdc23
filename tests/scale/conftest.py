"""A throw-away PostgreSQL server for the scale-out tests, and the tiny study they share.

The cluster is made with ``initdb`` and started with ``pg_ctl`` on a free local port (as the
``postgres`` user when the tests run as root: the server refuses to run as root), and removed
afterwards. Without PostgreSQL the tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # Debian: newest first


def _find(tool: str) -> str | None:
    for folder in PG_BIN_DIRS:
        if (folder / tool).is_file():
            return str(folder / tool)
    return shutil.which(tool)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """Run ``command`` as ``postgres`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg2://postgres@127.0.0.1:PORT/mtlsearch`` on a fresh cluster."""
    initdb, pg_ctl = _find("initdb"), _find("pg_ctl")
    problem = None
    if not (initdb and pg_ctl):
        problem = "PostgreSQL server binaries (initdb, pg_ctl) not found; install the postgresql package"
    else:
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            problem = "psycopg2 is not installed: pip install 'mtlsearch[postgres]'"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem} (CI must run the PostgreSQL tests)")
        pytest.skip(problem)
    root = Path(tempfile.mkdtemp(prefix="mtlsearch-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "cwd": root}
    try:
        subprocess.run(_as_server_user([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]), **run)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start"]), **run
        )
        createdb = _find("createdb") or "createdb"
        subprocess.run(
            _as_server_user([createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mtlsearch"]), **run
        )
    except subprocess.CalledProcessError as error:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {error.stderr or error.stdout}\n{log}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mtlsearch"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True)
        for _ in range(20):
            if not (data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """A new empty database on the session's server, one per test."""
    import psycopg2

    name = f"t{time.time_ns()}"
    connection = psycopg2.connect(postgres_url.replace("postgresql+psycopg2", "postgresql"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"create database {name}")
    connection.close()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def tiny_study(tiny_template, tmp_path: Path):
    """``tiny_study(**changes)`` writes the tiny study, cut to 1 epoch, into ``tmp_path``."""
    return lambda **changes: tiny_template.write(tmp_path, **{"training": {"epochs": 1, "patience": 1}, **changes})


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path: Path) -> str:
    """A fresh storage of each relational kind: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("fresh_postgres")
