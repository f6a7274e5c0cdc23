"""Storage URLs: SQLite by default, PostgreSQL (or MySQL) when many machines share a study."""

from __future__ import annotations

from pathlib import Path

import optuna

from mtlsearch.errors import MtlsearchError

__all__ = ["DEFAULT_STORAGE_FILE", "open_storage", "resolve_storage_url"]

DEFAULT_STORAGE_FILE = "mtlsearch.db"
_SCHEMES = ("sqlite", "postgresql", "mysql")


def resolve_storage_url(url: str | None) -> str:
    """``url``, or the default SQLite file in the working directory, as an absolute URL."""
    if url is None:
        return f"sqlite:///{(Path.cwd() / DEFAULT_STORAGE_FILE).resolve()}"
    scheme = url.split(":", 1)[0].split("+", 1)[0] if ":" in url else ""
    if scheme not in _SCHEMES:
        raise MtlsearchError(
            f"unsupported storage URL {url!r}",
            where="--storage",
            fix="use sqlite:///path/to/file.db or postgresql://user:password@host/database",
        )
    return url


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; SQLite waits for locks instead of failing at once."""
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[-1])
        if not path.parent.is_dir():
            raise MtlsearchError(f"folder {path.parent} does not exist", where="--storage", fix="create it first")
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
    except ImportError as error:
        raise MtlsearchError(
            f"no database driver for {url.split(':', 1)[0]}: {error}",
            where="--storage",
            fix="pip install 'mtlsearch[postgres]' (psycopg2-binary) for PostgreSQL",
        ) from None
    except Exception as error:  # sqlalchemy's OperationalError and friends: unreachable, bad credentials
        reason = str(error).strip().splitlines()[0][:200]
        raise MtlsearchError(
            f"cannot open storage: {reason}",
            where=_redact(url),
            fix="check the URL, that the server runs and the credentials",
        ) from None


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
