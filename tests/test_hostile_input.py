"""Hostile input: every bad study file, search space, config, data file and flag becomes one
line on stderr with a non-zero exit, no traceback, and no change to an existing study.

Exit codes: 1 for bad input found by mtlsearch (files, values, storage, data); 2 for command
line usage errors caught by argparse (an unknown flag, a non-integer where an integer belongs).
"""

from __future__ import annotations

import functools
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mtlsearch.cli import main

# The tiny study, smaller: 300 samples of 4 features, one trial of one epoch, mmoe or cgc with fixed widths.
SMALL = {
    "data": {"name": "synthetic-video", "options": {"n_samples": 300, "dim": 4}},
    "training": {"epochs": 1, "patience": 1},
    "n_trials": 1,
}
SMALL_PARAMS = {"architecture": {"type": "categorical", "choices": ["mmoe", "cgc"]}, "expert_width": 4}
TABLE_SCHEMA = {
    "categorical": ["c"],
    "numeric": ["x"],
    "tasks": [{"name": "y", "type": "binary", "label": "y"}],
}


def _study(
    tiny, folder: Path, text: str | None = None, space: str | None = None, *, params: dict | None = None, **changes
) -> str:
    """Write the small study (``text`` verbatim, else with ``changes``) and its search space (``space``
    verbatim, else with ``params`` changed)."""
    path = tiny.write(
        folder, params={**SMALL_PARAMS, **(params or {})}, drop=("levels", "loss_weight"), **{**SMALL, **changes}
    )
    if space is not None:
        (folder / tiny.study["search_space"]).write_text(space)
    if text is not None:
        path.write_text(text)
    return str(path)


def _csv(folder: Path, rows: str) -> str:
    path = folder / "table.csv"
    path.write_text("c,x,y\n" + rows)
    return str(path)


def _table_study(study: Callable[..., str], path: str) -> str:
    return study(
        name="table",
        data={"name": "tabular", "options": {"path": path, **TABLE_SCHEMA}},
        objectives=[{"task": "y", "metric": "auc"}],
    )


def _config(folder: Path, text: str) -> str:
    path = folder / "config.yaml"
    path.write_text(text)
    return str(path)


def _optimize(study: str, *extra: str) -> list[str]:
    return ["optimize", "--study", study, "--no-progress", *extra]


GOOD_ROWS = "".join(f"{'ab'[i % 2]},{i / 10},{i % 2}\n" for i in range(60))

# (id, argv from a scratch folder and a writer of the small study into it, expected message substring, exit code)
CASES: list[tuple[str, Callable[[Path, Callable[..., str]], list[str]], str, int]] = [
    # study files
    ("study-malformed-yaml", lambda d, study: _optimize(study("name: [tiny\n")), "malformed YAML", 1),
    ("study-not-a-mapping", lambda d, study: _optimize(study("- 1\n- 2\n")), "expected a mapping", 1),
    ("study-unknown-key", lambda d, study: _optimize(study(n_trial=3)), "unknown key 'n_trial'", 1),
    ("study-wrong-type", lambda d, study: _optimize(study(n_trials="three")), "n_trials", 1),
    ("study-zero-trials", lambda d, study: _optimize(study(n_trials=0)), "n_trials must be >= 1", 1),
    ("study-negative-timeout", lambda d, study: _optimize(study(timeout=-5)), "timeout must be > 0", 1),
    ("study-name-with-path", lambda d, study: _optimize(study(name="../evil")), "holds path characters", 1),
    ("study-unknown-sampler", lambda d, study: _optimize(study(sampler={"name": "cmaes"})), "unknown sampler", 1),
    ("study-no-objectives", lambda d, study: _optimize(study(objectives=[])), "no objectives", 1),
    ("study-unknown-task", lambda d, study: _optimize(study(objectives=[{"task": "ctr"}])), "unknown task 'ctr'", 1),
    ("study-missing-file", lambda d, study: _optimize(str(d / "nope.yaml")), "study file not found", 1),
    ("study-unknown-name", lambda d, study: _optimize("no-such-study"), "unknown study 'no-such-study'", 1),
    # search spaces
    ("space-malformed-yaml", lambda d, study: _optimize(study(space="params: {lr: [\n")), "malformed YAML", 1),
    (
        "space-empty-range",
        lambda d, study: _optimize(study(params={"lr": {"type": "float", "low": 0.1, "high": 0.1}})),
        "empty range",
        1,
    ),
    (
        "space-inverted-range",
        lambda d, study: _optimize(study(params={"shared_experts": {"type": "int", "low": 3, "high": 1}})),
        "inverted range",
        1,
    ),
    (
        "space-unknown-type",
        lambda d, study: _optimize(study(params={"lr": {"type": "gaussian"}})),
        "unknown type 'gaussian'",
        1,
    ),
    (
        "space-log-of-zero",
        lambda d, study: _optimize(study(params={"lr": {"type": "float", "low": 0, "high": 1, "log": True}})),
        "log scale needs low > 0",
        1,
    ),
    (
        "space-unknown-param",
        lambda d, study: _optimize(study(params={"dropout_rate": 0.1})),
        "dropout_rate",
        1,
    ),
    ("space-missing-file", lambda d, study: _optimize(study(search_space="gone.yaml")), "search space not found", 1),
    # exported configs (mtlsearch train --config)
    ("config-missing", lambda d, study: ["train", "--config", str(d / "missing.yaml")], "not found", 1),
    (
        "config-malformed-yaml",
        lambda d, study: ["train", "--config", _config(d, "model: {a: [\n")],
        "malformed YAML",
        1,
    ),
    ("config-unknown-key", lambda d, study: ["train", "--config", _config(d, "bogus: 1\n")], "unknown key 'bogus'", 1),
    (
        "config-wrong-type",
        lambda d, study: ["train", "--config", _config(d, "training: {epochs: many}\n")],
        "training.epochs",
        1,
    ),
    # data files
    ("csv-missing", lambda d, study: _optimize(_table_study(study, str(d / "absent.csv"))), "absent.csv", 1),
    ("csv-truncated", lambda d, study: _optimize(_table_study(study, _csv(d, GOOD_ROWS + "a,0.5"))), "table.csv", 1),
    (
        "csv-nan-labels",
        lambda d, study: _optimize(_table_study(study, _csv(d, GOOD_ROWS + "a,0.5,\nb,0.1,nan\n"))),
        "y",
        1,
    ),
    (
        "census-folder-missing",
        lambda d, study: _optimize(
            study(
                data={"name": "census-income", "options": {"path": str(d / "no-census")}},
                objectives=[{"task": "income", "metric": "auc"}],
            )
        ),
        "no-census",
        1,
    ),
    # command-line flags and storages
    (
        "storage-unknown-scheme",
        lambda d, study: _optimize(study(), "--storage", "redis://localhost/0"),
        "unsupported storage URL",
        1,
    ),
    (
        "storage-unreachable",
        lambda d, study: _optimize(study(), "--storage", "postgresql://127.0.0.1:1/x"),
        "cannot open storage",
        1,
    ),
    (
        "storage-folder-missing",
        lambda d, study: _optimize(study(), "--storage", f"sqlite:///{d}/no/such/folder.db"),
        "does not exist",
        1,
    ),
    (
        "negative-n-trials",
        lambda d, study: _optimize(study(), "--n-trials", "-3"),
        "--n-trials and --jobs must be >= 1",
        1,
    ),
    ("zero-jobs", lambda d, study: _optimize(study(), "--jobs", "0"), "--n-trials and --jobs must be >= 1", 1),
    ("n-trials-not-a-number", lambda d, study: _optimize(study(), "--n-trials", "many"), "invalid int value", 2),
    ("unknown-flag", lambda d, study: _optimize(study(), "--turbo"), "unrecognized arguments", 2),
    (
        "heartbeat-longer-than-grace",
        lambda d, study: _optimize(study(), "--heartbeat-interval", "30", "--grace-period", "10"),
        "do not fit",
        1,
    ),
    ("pareto-unknown-study", lambda d, study: ["pareto", "--study", "nope"], "no study 'nope'", 1),
    (
        "dashboard-port-in-use",
        lambda d, study: ["dashboard", "--study", "tiny", "--port", str(_busy_port())],
        "cannot listen",
        1,
    ),
]

_BUSY: list[socket.socket] = []


def _busy_port() -> int:
    """A port something listens on (kept open for the whole module)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    _BUSY.append(listener)
    return listener.getsockname()[1]


def snapshot(db: Path) -> list:
    """Every row that describes the studies and trials in ``db``."""
    with sqlite3.connect(db) as connection:
        return [
            connection.execute(f"select * from {table} order by 1").fetchall()
            for table in (
                "studies",
                "study_user_attributes",
                "trials",
                "trial_params",
                "trial_values",
                "trial_user_attributes",
                "trial_system_attributes",
            )
        ]


@pytest.fixture(scope="module")
def existing_study(tmp_path_factory, tiny_template) -> Path:
    """A study of one trial in ``mtlsearch.db`` (the default storage) of a scratch folder."""
    folder = tmp_path_factory.mktemp("existing")
    db = folder / "mtlsearch.db"
    assert main(_optimize(_study(tiny_template, folder), "--storage", f"sqlite:///{db}")) == 0
    yield db
    for listener in _BUSY:
        listener.close()


@pytest.mark.parametrize(("make_args", "message", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    existing_study, tiny_template, tmp_path, monkeypatch, make_args, message, code, capsys
):
    monkeypatch.chdir(existing_study.parent)  # the default storage is the existing study's
    before = snapshot(existing_study)
    args = make_args(tmp_path, functools.partial(_study, tiny_template, tmp_path))
    with pytest.raises(SystemExit) if code == 2 else _no_exit():
        assert main(args) == code
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    if code == 2:  # argparse: usage line(s), then one error line
        assert lines[-1].startswith("mtlsearch") and "error:" in lines[-1] and message in lines[-1], err
    else:
        assert len(lines) == 1 and message in err and err.startswith(f"mtlsearch {args[0]}: error:"), err
    assert "Traceback" not in err
    assert snapshot(existing_study) == before


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_case_table_is_big_enough():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["optimize", "--study", "tiny.yaml", "--storage", "postgresql://127.0.0.1:1/x"], "cannot open storage"),
        (["train", "--config", "missing.yaml"], "not found"),
    ],
)
def test_a_real_process_prints_no_traceback(tiny_template, tmp_path, args, message):
    _study(tiny_template, tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from mtlsearch.cli import main; sys.exit(main())", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,  # a limit for a stuck process, far above what a loaded machine needs
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, result.stderr


# Kind 3: storage URLs


def _foreign_db(path: Path) -> bytes:
    """An application's SQLite database (rollback journal, one table): what a typo'd URL may name."""
    with sqlite3.connect(path) as connection:
        connection.execute("create table users (id integer primary key, name text)")
        connection.execute("insert into users (name) values ('ada')")
    connection.close()
    return path.read_bytes()


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute("pragma journal_mode").fetchone()[0]


def _one_error_line(capsys, command: str, message: str) -> None:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"mtlsearch {command}: error:") and message in err, err


@pytest.mark.parametrize("command", ["optimize", "pareto", "export", "report", "dashboard", "baselines"])
def test_kind3_a_foreign_sqlite_database_is_refused_and_left_byte_for_byte(
    command, tiny_template, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    study = _study(tiny_template, tmp_path)
    app = tmp_path / "app.db"
    before = _foreign_db(app)
    assert _journal_mode(app) == "delete"
    args = {
        "optimize": _optimize(study),
        "pareto": ["pareto", "--study", "tiny"],
        "export": ["export", "--study", "tiny", "--trial", "0", "--out", str(tmp_path / "out.yaml")],
        "report": ["report", "--study", "tiny", "--out", str(tmp_path / "report.html")],
        "dashboard": ["dashboard", "--study", "tiny", "--port", "0"],
        "baselines": ["baselines", "--study", "tiny"],
    }[command]
    assert main([*args, "--storage", f"sqlite:///{app}"]) == 1
    _one_error_line(capsys, command, "not an Optuna storage")
    assert app.read_bytes() == before and _journal_mode(app) == "delete"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("app")) == ["app.db"]  # no -wal, -shm


def test_kind3_a_file_that_is_no_database_is_refused_unchanged(tiny_template, tmp_path, capsys):
    notes = tmp_path / "notes.db"
    notes.write_text("not a database, but my notes\n" * 200)
    before = notes.read_bytes()
    assert main(_optimize(_study(tiny_template, tmp_path), "--storage", f"sqlite:///{notes}")) == 1
    _one_error_line(capsys, "optimize", "not an Optuna storage")
    assert notes.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ["pareto", "--study", "tiny"],
        ["export", "--study", "tiny", "--trial", "0", "--out", "out.yaml"],
        ["report", "--study", "tiny", "--out", "report.html"],
        ["dashboard", "--study", "tiny", "--port", "0"],
        ["baselines", "--study", "tiny"],
    ],
    ids=lambda a: a[0],
)
@pytest.mark.parametrize(
    "url", ["sqlite:///mtlsearh.db", "journal:///mtlsearh.log", None], ids=["sqlite", "journal", "default"]
)
def test_kind3_read_only_commands_never_create_a_storage(args, url, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    storage = [] if url is None else ["--storage", url.replace(":///", f":///{tmp_path}/")]
    assert main([*args, *storage]) == 1
    _one_error_line(capsys, args[0], "no study storage here")
    assert list(tmp_path.iterdir()) == []  # no mtlsearh.db, no mtlsearch.db, no out.yaml


def test_kind3_an_empty_storage_url_is_a_usage_error(tiny_template, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    study = _study(tiny_template, tmp_path)
    assert main(_optimize(study, "--storage", "")) == 2
    _one_error_line(capsys, "optimize", "empty storage URL")
    assert main(["pareto", "--study", "tiny", "--storage", " "]) == 2
    _one_error_line(capsys, "pareto", "empty storage URL")
    assert not (tmp_path / "mtlsearch.db").exists()


def test_kind3_in_memory_storage_with_several_jobs_is_a_usage_error_saying_why(tiny_template, tmp_path, capsys):
    study = _study(tiny_template, tmp_path)
    assert main(_optimize(study, "--storage", "sqlite:///:memory:", "--jobs", "2")) == 2
    _one_error_line(capsys, "optimize", "in-memory database lives in one process")


# Kind 4b: resuming a study on changed data


def _schema_study(tiny, folder: Path) -> tuple[str, Path, Path]:
    """The small study on a CSV table whose schema is a file beside the study."""
    import yaml

    table = Path(_csv(folder, GOOD_ROWS))
    schema = folder / "schema.yaml"
    schema.write_text(yaml.safe_dump(TABLE_SCHEMA))
    study = _study(
        tiny,
        folder,
        name="table",
        data={"name": "tabular", "options": {"path": str(table), "schema": "schema.yaml"}},
        objectives=[{"task": "y", "metric": "auc"}],
    )
    return study, schema, table


@pytest.mark.parametrize("edit", ["schema", "table"])
def test_kind4b_a_changed_data_file_is_refused_like_a_changed_study_file(
    edit, tiny_template, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    study, schema, table = _schema_study(tiny_template, tmp_path)
    storage = f"sqlite:///{tmp_path / 'data.db'}"
    assert main(_optimize(study, "--storage", storage)) == 0
    capsys.readouterr()
    before = snapshot(tmp_path / "data.db")
    if edit == "schema":  # any edit of the schema file counts: its content is hashed
        schema.write_text(schema.read_text().replace("tasks:", "# edited\ntasks:"))
    else:
        table.write_text(table.read_text() + "a,9.9,1\nb,9.8,0\n")
    assert main(_optimize(study, "--storage", storage)) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the "study ...: storage ..." line
    assert err.startswith("mtlsearch optimize: error:") and "content of its data files" in err, err
    assert "--force-new-version" in err
    assert snapshot(tmp_path / "data.db") == before
    assert main(_optimize(study, "--storage", storage, "--force-new-version")) == 0
    from mtlsearch.search import load_study

    assert len(load_study("table-v2", storage).trials) == 1 and len(load_study("table", storage).trials) == 1


def test_kind4b_a_study_stored_without_the_data_fingerprint_still_resumes(tiny_template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study, _, _ = _schema_study(tiny_template, tmp_path)
    db = tmp_path / "old.db"
    assert main(_optimize(study, "--storage", f"sqlite:///{db}")) == 0
    with sqlite3.connect(db) as connection:  # as an earlier release stored it
        connection.execute("delete from study_user_attributes where key = 'mtlsearch.data_fingerprint'")
    connection.close()
    assert main(_optimize(study, "--storage", f"sqlite:///{db}")) == 0
    with sqlite3.connect(db) as connection:
        (count,) = connection.execute("select count(*) from trials").fetchone()
        keys = [k for (k,) in connection.execute("select key from study_user_attributes")]
    connection.close()
    assert count == 2 and "mtlsearch.data_fingerprint" in keys  # resumed, and fingerprinted from now on
