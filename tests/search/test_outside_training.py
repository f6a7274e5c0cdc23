"""What a study does outside its training loops (issue 15): each cut changes no result."""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import optuna
import pytest
import torch

import mtlsearch.cli
from mtlsearch import _lazy
from mtlsearch.search import _optimize, _workers, load_study, optimize
from mtlsearch.search._optimize import TrialSeededSampler
from mtlsearch.search._storage import open_storage

ROOT = Path(__file__).resolve().parents[2]
TIMINGS = {"train_seconds", "fit_seconds"}  # wall-clock attributes: the only ones that may differ


def _tpe_study(path: Path, *, reuse: bool, monkeypatch) -> tuple[list, int]:
    """15 trials of a 2-objective, 9-10 parameter objective under TPE (random start 4) on SQLite:
    the trials' (params, values) and how many times the sampler's study asked the storage for trials."""
    monkeypatch.setattr(TrialSeededSampler, "reuse_reads", reuse)
    sampler = TrialSeededSampler(optuna.samplers.TPESampler(seed=0, n_startup_trials=4), 0)
    study = optuna.create_study(
        storage=open_storage(f"sqlite:///{path}"), sampler=sampler, directions=["maximize", "minimize"]
    )
    reads = []
    read = study._storage.get_all_trials
    monkeypatch.setattr(study._storage, "get_all_trials", lambda *a, **k: reads.append(1) or read(*a, **k))

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        xs = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(8)]
        kind = trial.suggest_categorical("kind", ["p", "q", "r"])
        if kind == "p":  # a conditional parameter, as the search spaces have
            xs.append(trial.suggest_int("n", 1, 4))
        return sum(xs), (xs[0] - 0.5) ** 2 + len(kind)

    study.optimize(objective, n_trials=15)
    return [(t.params, t.values) for t in study.trials], len(reads)


def test_tpe_reads_the_storage_once_per_trial_with_the_same_parameters(tmp_path, monkeypatch):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fresh, fresh_reads = _tpe_study(tmp_path / "fresh.db", reuse=False, monkeypatch=monkeypatch)
    reused, reused_reads = _tpe_study(tmp_path / "reused.db", reuse=True, monkeypatch=monkeypatch)
    assert reused == fresh  # the same parameters and values, trial by trial
    # Optuna's constant-liar TPE reads once per suggestion (11 TPE trials x 9-10 parameters);
    # reused, once per trial (and once for Optuna's own per-trial cache).
    assert fresh_reads > 100
    assert reused_reads <= 3 * 15


def test_the_one_read_of_a_trial_holds_other_workers_running_trials(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    other = optuna.create_study(storage=open_storage(storage), study_name="s", directions=["minimize"])
    for _ in range(3):
        trial = other.ask()
        other.tell(trial, trial.suggest_float("x", 0.0, 1.0))
    running = other.ask()  # another worker's trial, still running, with its parameter
    running.suggest_float("x", 0.0, 1.0)

    sampler = TrialSeededSampler(optuna.samplers.TPESampler(seed=0, n_startup_trials=2), 0)
    mine = optuna.load_study(study_name="s", storage=open_storage(storage), sampler=sampler)
    trial = mine.ask()
    trial.suggest_float("x", 0.0, 1.0)
    (_, number), seen = sampler._snapshot
    assert number == trial.number
    assert [(t.number, t.state, t.params) for t in seen if t.number == running.number] == [
        (running.number, optuna.trial.TrialState.RUNNING, running.params)
    ]
    mine.tell(trial, 0.5)
    assert sampler._snapshot is None  # dropped after the trial: the next one reads afresh


def _run_tiny(folder: Path, tiny_template, monkeypatch, *, reuse: bool) -> list:
    monkeypatch.setattr(TrialSeededSampler, "reuse_reads", reuse)
    study_file = tiny_template.write(folder, sampler={"name": "tpe", "seed": 0, "options": {"n_startup_trials": 2}})
    storage = f"sqlite:///{folder / 'tiny.db'}"
    optimize(str(study_file), n_trials=4, storage=storage)
    trials = load_study("tiny", storage).trials
    return [(t.params, t.values, {k: v for k, v in t.user_attrs.items() if k not in TIMINGS}, t.state) for t in trials]


def test_a_study_is_unchanged_by_the_cuts_and_opens_its_storage_once(tmp_path, tiny_template, monkeypatch):
    opened, preflight_threads = [], []
    real_open, real_preflight = _optimize.open_storage, _optimize.preflight
    monkeypatch.setattr(_optimize, "open_storage", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    monkeypatch.setattr(
        _optimize,
        "preflight",
        lambda *a, **k: preflight_threads.append(torch.get_num_threads()) or real_preflight(*a, **k),
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # torch's default on a 2-core machine
    try:
        reused = _run_tiny(tmp_path / "a", tiny_template, monkeypatch, reuse=True)
        assert torch.get_num_threads() == 2  # restored after the command
    finally:
        torch.set_num_threads(threads)
    assert len(opened) == 1  # one command, one storage (it was opened 3 times)
    assert preflight_threads == [_optimize.SEARCH_THREADS]  # the pre-flight runs at the search's threads too
    fresh = _run_tiny(tmp_path / "b", tiny_template, monkeypatch, reuse=False)
    assert len(reused) == 4 and all(state == optuna.trial.TrialState.COMPLETE for *_, state in reused)
    assert reused == fresh  # params, objective values and every stored attribute but the timings


def test_the_first_import_of_torch_runs_without_the_collector_and_freezes(tmp_path, monkeypatch):
    package = tmp_path / "heavy_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from mtlsearch._lazy import lazy_exports\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'_part': ('collector_on',)})\n"
    )
    (package / "_part.py").write_text("import gc\ncollector_on = gc.isenabled()\nitems = [[i] for i in range(10)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torch")  # as in a fresh process, before anything imported torch
    frozen = gc.get_freeze_count()
    try:
        import heavy_pkg

        assert heavy_pkg.collector_on is False  # the submodule ran with the collector paused
        assert gc.isenabled()  # and it is back on afterwards
        assert gc.get_freeze_count() > frozen  # with what was loaded moved out of its way
    finally:
        gc.unfreeze()  # leave this test process as it was
        sys.modules.pop("heavy_pkg", None)
        sys.modules.pop("heavy_pkg._part", None)


def test_once_torch_is_imported_lazy_imports_leave_the_collector_alone(tmp_path, monkeypatch):
    (tmp_path / "light_module.py").write_text("import gc\ncollector_on = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "torch" in sys.modules
    frozen = gc.get_freeze_count()
    try:
        assert _lazy.import_submodule("light_module").collector_on is True
        assert gc.get_freeze_count() == frozen
    finally:
        sys.modules.pop("light_module", None)


def test_the_executable_freezes_before_the_interpreter_exits(monkeypatch):
    calls = []
    monkeypatch.setattr(mtlsearch.cli, "main", lambda: calls.append("main") or 3)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    with pytest.raises(SystemExit) as exit_:
        mtlsearch.cli.console()
    assert exit_.value.code == 3 and calls == ["main", "freeze"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mtlsearch"] == "mtlsearch.cli:console"
    assert "console()" in (ROOT / "cli.py").read_text()


def test_workers_get_plain_arguments_and_import_the_training_stack_themselves(tmp_path, tiny_template, monkeypatch):
    captured = []
    monkeypatch.setattr(_optimize, "run_workers", lambda target, args, gpus, what: captured.append((target, args)))
    optimize(str(tiny_template.write(tmp_path)), storage=f"sqlite:///{tmp_path / 's.db'}", jobs=2)
    [(target, args)] = captured
    assert target == "mtlsearch.search._optimize:_worker"
    # What a spawned worker unpickles before its main runs must not import torch (or this module):
    # the worker imports those itself, with the collector paused.
    code = (
        "import pickle, sys; pickle.loads(sys.stdin.buffer.read()); "
        "print(sorted({'torch', 'mtlsearch.search._optimize'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((target, args)), capture_output=True, env=env)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().strip() == "[]"


class _Reports(list):
    put = list.append


def test_a_worker_imports_a_named_target_and_freezes_when_done(monkeypatch):
    calls = []
    target = types.ModuleType("fake_worker_target")
    target.run = lambda *args: calls.append(("run", args))
    monkeypatch.setitem(sys.modules, "fake_worker_target", target)
    monkeypatch.setattr(_lazy, "import_submodule", lambda name: calls.append(("import", name)) or sys.modules[name])
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(("freeze",)))
    reports = _Reports()
    _workers._entry("fake_worker_target:run", (1, 2), 0, None, reports, types.SimpleNamespace(value=b""))
    assert calls == [("import", "fake_worker_target"), ("run", (1, 2)), ("freeze",)]
    assert [r.kind for r in reports] == ["ok"]
