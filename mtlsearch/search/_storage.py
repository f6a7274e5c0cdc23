"""Storage URLs: SQLite by default, PostgreSQL (or MySQL) when many machines share a study.

``journal:///path/file.log`` selects Optuna's journal file storage (one machine or a shared
file system with working file locks; no heartbeats, so no retry of trials whose worker died).

Every command opens its storage here, so the rules hold for all of them:

* a database that holds tables but none of Optuna's is refused ("not an Optuna storage") and
  left exactly as it was (it is inspected read-only before any ``PRAGMA`` or table creation);
* with ``create=False`` (``pareto``, ``export``, ``report``, ``dashboard``, ``baselines``) a
  storage that does not exist yet, or holds no Optuna tables, is an error: nothing is created;
* Optuna's schema is created under a retry, so that several processes starting at once on a
  fresh PostgreSQL (or SQLite) database all succeed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import sqlite3
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtlsearch.errors import MtlsearchError, UsageError

if TYPE_CHECKING:  # optuna and SQLAlchemy are imported where used: `mtlsearch --help` reads this module
    import optuna
    import sqlalchemy

__all__ = [
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_STORAGE_FILE",
    "OPTUNA_TABLES",
    "SQLITE_BUSY_TIMEOUT",
    "StorageLost",
    "check_workers",
    "is_in_memory",
    "is_storage_failure",
    "open_storage",
    "resolve_storage_url",
    "storage_lost",
    "supports_heartbeat",
]

DEFAULT_STORAGE_FILE = "mtlsearch.db"
SQLITE_BUSY_TIMEOUT = 60  # seconds a SQLite writer waits for a lock before "database is locked"
DEFAULT_HEARTBEAT_INTERVAL = 60  # seconds between a running trial's heartbeats (relational storages)
DEFAULT_GRACE_PERIOD = 180  # seconds without a heartbeat after which a running trial counts as dead
_SCHEMES = ("sqlite", "postgresql", "mysql", "journal")
# Tables of Optuna's relational schema: a database holding any of them is (or was) an Optuna storage.
OPTUNA_TABLES = frozenset({"studies", "version_info", "trials", "alembic_version", "study_directions"})
_SCHEMA_ATTEMPTS = 8  # tries to create Optuna's schema while other processes create it too


def resolve_storage_url(url: str | None) -> str:
    """``url``, or the default SQLite file in the working directory, as an absolute URL.

    Raises :class:`MtlsearchError` for an empty or unknown URL (``--storage ""`` is not the default).
    """
    if url is None:
        return f"sqlite:///{(Path.cwd() / DEFAULT_STORAGE_FILE).resolve()}"
    if not url.strip():
        raise UsageError(
            "empty storage URL",
            where="--storage",
            fix=f"leave --storage out for sqlite:///{DEFAULT_STORAGE_FILE}, or give a URL such as sqlite:///study.db",
        )
    scheme = url.split(":", 1)[0].split("+", 1)[0] if ":" in url else ""
    if scheme not in _SCHEMES or "://" not in url:
        raise MtlsearchError(
            f"unsupported storage URL {url!r}",
            where="--storage",
            fix="use sqlite:///path/to/file.db, journal:///path/to/file.log or postgresql://user:password@host/database",
        )
    return url


class StorageLost(MtlsearchError):
    """The database went away (server stopped, database dropped, network gone) while a study ran."""


def is_storage_failure(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is the database failing, rather than bad input or a bug."""
    import sqlalchemy

    while error is not None:
        if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
    return False


def storage_lost(error: BaseException, *, url: str, resume: str) -> StorageLost:
    """One line: the storage was lost, why, and the command that resumes once it is back."""
    reason = " ".join(str(getattr(error, "orig", None) or error).split())[:160]
    return StorageLost(
        f"the storage was lost ({reason})",
        where=_redact(url),
        fix=f"when the database is back, resume with: {resume}",
    )


def check_workers(url: str, jobs: int) -> None:
    """Refuse ``jobs`` > 1 on an in-memory SQLite URL: each process would get its own empty database."""
    if jobs > 1 and is_in_memory(url):
        raise UsageError(
            f"{url} cannot be shared by --jobs {jobs}: an in-memory database lives in one process, "
            "so each worker would search alone and its trials would vanish with it",
            where="--storage",
            fix="use --jobs 1, or a file: --storage sqlite:///study.db",
        )


def supports_heartbeat(url: str) -> bool:
    """Whether trials on ``url`` send heartbeats (relational storages do; the journal file does not)."""
    return not url.startswith("journal")


def is_in_memory(url: str) -> bool:
    """Whether ``url`` names an in-memory SQLite database (private to one process)."""
    return url.startswith("sqlite") and url.split("://", 1)[-1].strip("/") in ("", ":memory:")


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    retry_stale_trials: bool = True,
    create: bool = True,
) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; SQLite waits for locks instead of failing at once.

    With ``heartbeat_interval`` (seconds), each running trial records a heartbeat; a trial
    silent for ``grace_period`` seconds (its worker died) is marked failed by the next trial
    that starts in any worker and, with ``retry_stale_trials``, queued again with the same
    parameters (Optuna's ``RetryHeartbeatStaleTrialCallback``). With ``create=False`` the
    storage must exist already (for commands that only read a study).

    Raises :class:`MtlsearchError` when the database holds other tables but none of Optuna's
    (it is left unchanged), when ``create=False`` and there is no storage, and when the server
    cannot be reached.
    """
    import optuna

    if url.startswith("journal"):
        return _open_journal(url, create=create)
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[-1])
        if not is_in_memory(url):
            _check_sqlite_file(path, create=create)
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
        if not url.startswith("sqlite"):
            _check_server_tables(url, engine_kwargs, create=create)
        storage = _create_rdb_storage(url, engine_kwargs, heartbeat)
        if url.startswith("sqlite"):
            _fast_sqlite(storage.engine)
        return storage
    except MtlsearchError:
        raise
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


def _not_optuna(where: str, tables: list[str]) -> MtlsearchError:
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    return MtlsearchError(
        f"not an Optuna storage: the database holds other tables ({shown}) and none of Optuna's; left unchanged",
        where=where,
        fix="give a new file or an empty database for the study, e.g. --storage sqlite:///mtlsearch.db",
    )


def _no_storage(where: str, what: str) -> MtlsearchError:
    return MtlsearchError(
        f"no study storage here: {what}; nothing was created",
        where=where,
        fix="check the file name or URL (--storage), or run mtlsearch optimize first",
    )


def _check_sqlite_file(path: Path, *, create: bool) -> None:
    """Refuse a SQLite file that is not an Optuna storage, before anything writes to it.

    The file is opened read-only (``mode=ro``): no journal file, no ``PRAGMA``, no change.
    """
    where = f"--storage sqlite:///{path}"
    if not path.parent.is_dir():
        if not create:
            raise _no_storage(where, f"folder {path.parent} does not exist")
        raise MtlsearchError(f"folder {path.parent} does not exist", where="--storage", fix="create it first")
    if not path.exists():
        if not create:
            raise _no_storage(where, f"{path} does not exist")
        return
    if path.is_dir():
        raise MtlsearchError(f"{path} is a folder", where="--storage", fix="name a file, e.g. sqlite:///study.db")
    if path.stat().st_size == 0:
        if not create:
            raise _no_storage(where, f"{path} is empty")
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT)) as db:
            tables = [row[0] for row in db.execute("select name from sqlite_master where type = 'table'")]
    except sqlite3.DatabaseError as error:  # not a database at all ("file is not a database"), or unreadable
        raise MtlsearchError(
            f"not an Optuna storage: {error}; left unchanged",
            where=where,
            fix="give a new file or an existing study's database",
        ) from None
    if tables and not OPTUNA_TABLES.intersection(tables):
        raise _not_optuna(where, tables)
    if not tables and not create:
        raise _no_storage(where, f"{path} holds no tables")


def _check_server_tables(url: str, engine_kwargs: dict, *, create: bool) -> None:
    """The same rule on a database server: inspect its tables before Optuna creates any."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, **engine_kwargs)
    try:
        tables = sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables and not OPTUNA_TABLES.intersection(tables):
        raise _not_optuna(_redact(url), tables)
    if not tables and not create:
        raise _no_storage(_redact(url), "the database holds no tables")


def _create_rdb_storage(url: str, engine_kwargs: dict, heartbeat: dict) -> optuna.storages.RDBStorage:
    """``RDBStorage(url)``, retrying while another process creates the same schema.

    Optuna creates its tables with ``CREATE TABLE`` statements that race when several processes
    start on a fresh database: PostgreSQL answers the loser with a ``UniqueViolation`` on
    ``pg_type_typname_nsp_index`` (or "already exists"), SQLite with "table ... already exists"
    or "database is locked", and both with a unique-constraint failure on ``alembic_version``
    when two processes insert the schema's version row. Once the winner has committed, a new
    attempt finds the tables and the row.
    """
    import optuna

    for attempt in range(_SCHEMA_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **heartbeat)
        except Exception as error:  # SQLAlchemy's errors, or Optuna's and Alembic's wrapping them
            text = str(error).lower()
            racing = any(
                s in text for s in ("already exists", "duplicate key", "uniqueviolation", "unique constraint", "locked")
            )
            if not racing or attempt == _SCHEMA_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.3)
    raise AssertionError("unreachable")


def _fast_sqlite(engine: sqlalchemy.engine.Engine) -> None:
    """Write-ahead logging with ``synchronous=NORMAL`` on every connection.

    A trial makes dozens of small commits (parameters, attributes, per-epoch vectors); in
    SQLite's default rollback-journal mode each one waits for an fsync (~2 ms here). WAL commits
    need none and let readers (the dashboard, other workers) proceed while one process writes;
    a crash can lose at most the last commits, never corrupt the file. WAL is persistent in the
    file; ``synchronous`` is per connection, hence the listener, and the pool is emptied so that
    connections made before it get it too.
    """
    import sqlalchemy

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


def _open_journal(url: str, *, create: bool = True) -> optuna.storages.BaseStorage:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    path = Path(url.split("journal:///", 1)[-1] if url.startswith("journal:///") else url.split("://", 1)[1])
    if not create and not path.is_file():
        raise _no_storage(f"--storage {url}", f"{path} does not exist")
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
