"""Storage URLs: SQLite by default, PostgreSQL (or MySQL) when many machines share a study.

``journal:///path/file.log`` selects Optuna's journal file storage (one machine or a shared
file system with working file locks; no heartbeats, so no retry of trials whose worker died).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy

from mtlsearch.errors import MtlsearchError

__all__ = [
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_STORAGE_FILE",
    "SQLITE_BUSY_TIMEOUT",
    "open_storage",
    "resolve_storage_url",
    "supports_heartbeat",
]

DEFAULT_STORAGE_FILE = "mtlsearch.db"
SQLITE_BUSY_TIMEOUT = 60  # seconds a SQLite writer waits for a lock before "database is locked"
DEFAULT_HEARTBEAT_INTERVAL = 60  # seconds between a running trial's heartbeats (relational storages)
DEFAULT_GRACE_PERIOD = 180  # seconds without a heartbeat after which a running trial counts as dead
_SCHEMES = ("sqlite", "postgresql", "mysql", "journal")


def resolve_storage_url(url: str | None) -> str:
    """``url``, or the default SQLite file in the working directory, as an absolute URL."""
    if url is None:
        return f"sqlite:///{(Path.cwd() / DEFAULT_STORAGE_FILE).resolve()}"
    scheme = url.split(":", 1)[0].split("+", 1)[0] if ":" in url else ""
    if scheme not in _SCHEMES or "://" not in url:
        raise MtlsearchError(
            f"unsupported storage URL {url!r}",
            where="--storage",
            fix="use sqlite:///path/to/file.db, journal:///path/to/file.log or postgresql://user:password@host/database",
        )
    return url


def supports_heartbeat(url: str) -> bool:
    """Whether trials on ``url`` send heartbeats (relational storages do; the journal file does not)."""
    return not url.startswith("journal")


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    retry_stale_trials: bool = True,
) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; SQLite waits for locks instead of failing at once.

    With ``heartbeat_interval`` (seconds), each running trial records a heartbeat; a trial
    silent for ``grace_period`` seconds (its worker died) is marked failed by the next trial
    that starts in any worker and, with ``retry_stale_trials``, queued again with the same
    parameters (Optuna's ``RetryHeartbeatStaleTrialCallback``).
    """
    if url.startswith("journal"):
        return _open_journal(url)
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[-1])
        if not path.parent.is_dir():
            raise MtlsearchError(f"folder {path.parent} does not exist", where="--storage", fix="create it first")
        engine_kwargs: dict = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    else:
        engine_kwargs = {"pool_pre_ping": True}
        url = _with_installed_driver(url)
        if url.startswith("postgresql"):
            engine_kwargs["connect_args"] = {"connect_timeout": 10}
    heartbeat: dict = {}
    if heartbeat_interval is not None:
        grace = grace_period if grace_period is not None else max(DEFAULT_GRACE_PERIOD, 3 * heartbeat_interval)
        if heartbeat_interval < 1 or grace <= heartbeat_interval:
            raise MtlsearchError(
                f"heartbeat interval {heartbeat_interval} s and grace period {grace} s do not fit",
                where="--heartbeat-interval/--grace-period",
                fix="use an interval >= 1 s and a grace period longer than it (e.g. 60 and 180)",
            )
        heartbeat = {"heartbeat_interval": heartbeat_interval, "grace_period": grace}
        if retry_stale_trials:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                heartbeat["heartbeat_stale_trial_callback"] = optuna.storages.RetryHeartbeatStaleTrialCallback()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **heartbeat)
        if url.startswith("sqlite"):
            _fast_sqlite(storage.engine)
        return storage
    except ImportError as error:
        raise MtlsearchError(
            f"no database driver for {url.split(':', 1)[0]}: {error}",
            where="--storage",
            fix="pip install 'mtlsearch[postgres]' (psycopg2-binary) for PostgreSQL",
        ) from None
    except Exception as error:  # sqlalchemy's OperationalError and friends: unreachable, bad credentials
        reason = " ".join(str(error).split())[:200]
        raise MtlsearchError(
            f"cannot open storage: {reason}",
            where=_redact(url),
            fix="check the URL, that the server runs and the credentials",
        ) from None


def _fast_sqlite(engine: sqlalchemy.engine.Engine) -> None:
    """Write-ahead logging with ``synchronous=NORMAL`` on every connection.

    A trial makes dozens of small commits (parameters, attributes, per-epoch vectors); in
    SQLite's default rollback-journal mode each one waits for an fsync (~2 ms here). WAL commits
    need none and let readers (the dashboard, other workers) proceed while one process writes;
    a crash can lose at most the last commits, never corrupt the file. WAL is persistent in the
    file; ``synchronous`` is per connection, hence the listener, and the pool is emptied so that
    connections made before it get it too.
    """

    @sqlalchemy.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()


def _with_installed_driver(url: str) -> str:
    """``postgresql://`` with psycopg2 when psycopg (SQLAlchemy 2.1's default driver) is missing."""
    if (
        url.startswith("postgresql://")
        and not importlib.util.find_spec("psycopg")
        and importlib.util.find_spec("psycopg2")
    ):
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def _open_journal(url: str) -> optuna.storages.BaseStorage:
    from optuna.storages.journal import JournalFileBackend

    path = Path(url.split("journal:///", 1)[-1] if url.startswith("journal:///") else url.split("://", 1)[1])
    if not path.parent.is_dir():
        raise MtlsearchError(f"folder {path.parent} does not exist", where="--storage", fix="create it first")
    try:
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    except Exception as error:  # unreadable or corrupt log
        raise MtlsearchError(
            f"cannot open journal {path}: {error}", where="--storage", fix="check the file and its permissions"
        ) from None


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    if ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
