"""Hostile input, organised by the kinds of issue 13.

Every case in a kind's ``CASES`` list goes through one harness (bottom of the file): one line on
stderr (``mtlsearch COMMAND: error: ...``), exit code 1 for bad input found by mtlsearch (files,
values, storage, data, flags) or 2 for command-line usage errors caught by argparse, no
traceback, and nothing written: the rows of an existing study unchanged, and no new file in
the scratch folder or the working directory (no new storage, no output). Tests that need more
than that (timing, contents of what is written, a real process) sit in their kind's section.

The next hostile case of a kind goes into that kind's section:

* Kind 1: the study's training settings are checked only when a trial runs (study files,
  search spaces, training configs and data: everything the pre-flight check resolves)
* Kind 2: YAML that a careful loader refuses
* Kind 3: storage URLs that damage or surprise
* Kind 4: many machines on one PostgreSQL study, as the README documents it
* Kind 4b: resuming a study on changed data
* Kind 5: outputs and arguments
* Kind 6: metrics that cannot be computed
* Kind 7: the command line starts slowly, and slow machines break the fault tests
* Kind 8: multi-objective early stopping has a competitor now
"""

from __future__ import annotations

import functools
import json
import math
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
import yaml

from mtlsearch._strict import MAX_ALIAS_NODES, read_yaml
from mtlsearch.cli import main
from mtlsearch.errors import MtlsearchError

ROOT = Path(__file__).resolve().parents[1]

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
CONFIG = {"data": SMALL["data"], "training": SMALL["training"]}  # a training config for `mtlsearch train`

Case = tuple[str, Callable[[Path, Callable[..., str]], list[str]], str, int]
# (id, argv from a scratch folder and a writer of the small study into it, expected message substring, exit code)


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


def _training(**changes) -> dict:
    return {**SMALL["training"], **changes}


def _sampler(name: str, **options) -> dict:
    return {"name": name, "seed": 0, "options": options}


def _csv(folder: Path, rows: str, name: str = "table.csv") -> str:
    path = folder / name
    path.write_text("c,x,y\n" + rows)
    return str(path)


def _table_study(study: Callable[..., str], path: str, **options) -> str:
    return study(
        name="table",
        data={"name": "tabular", "options": {"path": path, **TABLE_SCHEMA, **options}},
        objectives=[{"task": "y", "metric": "auc"}],
    )


def _config(folder: Path, text: str | dict) -> str:
    path = folder / "config.yaml"
    path.write_text(text if isinstance(text, str) else yaml.safe_dump(text))
    return str(path)


def _train(folder: Path, text: str | dict, *extra: str) -> list[str]:
    return ["train", "--config", _config(folder, text), "--out", str(folder / "out"), *extra]


def _optimize(study: str, *extra: str) -> list[str]:
    return ["optimize", "--study", study, "--no-progress", *extra]


def _real_process(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``args`` through the console entry point in a fresh interpreter (as a user runs it)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _one_line(result: subprocess.CompletedProcess, message: str, code: int = 1) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, result.stderr
    return lines[0]


GOOD_ROWS = "".join(f"{'ab'[i % 2]},{i / 10},{i % 2}\n" for i in range(60))
ZEROS = "".join(f"{'ab'[i % 2]},{i / 10},0\n" for i in range(20))  # a constant label


def _bomb(levels: int = 9) -> str:
    """The classic "billion laughs": 9 levels of 9 aliases each, 9**9 strings once expanded."""
    text = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
    return text


@pytest.fixture(scope="module")
def existing_study(tmp_path_factory, tiny_template) -> Path:
    """A study of one trial in ``mtlsearch.db`` (the default storage) of a scratch folder."""
    folder = tmp_path_factory.mktemp("existing")
    db = folder / "mtlsearch.db"
    assert main(_optimize(_study(tiny_template, folder), "--storage", f"sqlite:///{db}")) == 0
    yield db
    for listener in _BUSY:
        listener.close()


# =====================================================================================================
# Kind 1: The study's training settings are checked only when a trial runs
# Before anything is written, `optimize` resolves the whole run (base config, fixed values, the
# extremes of every searched range), loads the data once, checks the objectives, builds the
# sampler and the pruner; `train` goes through the same check (mtlsearch.training.check_run).
# =====================================================================================================

KIND_1: list[Case] = [
    # study files: values
    ("study-unknown-key", lambda d, study: _optimize(study(n_trial=3)), "unknown key 'n_trial'", 1),
    ("study-wrong-type", lambda d, study: _optimize(study(n_trials="three")), "n_trials", 1),
    ("study-zero-trials", lambda d, study: _optimize(study(n_trials=0)), "n_trials must be >= 1", 1),
    ("study-negative-timeout", lambda d, study: _optimize(study(timeout=-5)), "timeout must be a finite", 1),
    ("study-nan-timeout", lambda d, study: _optimize(study(timeout=math.nan)), "timeout must be a finite", 1),
    ("study-name-with-path", lambda d, study: _optimize(study(name="../evil")), "holds path characters", 1),
    ("study-unknown-sampler", lambda d, study: _optimize(study(sampler={"name": "cmaes"})), "unknown sampler", 1),
    ("study-no-objectives", lambda d, study: _optimize(study(objectives=[])), "no objectives", 1),
    ("study-unknown-task", lambda d, study: _optimize(study(objectives=[{"task": "ctr"}])), "unknown task 'ctr'", 1),
    ("study-missing-file", lambda d, study: _optimize(str(d / "nope.yaml")), "study file not found", 1),
    ("study-unknown-name", lambda d, study: _optimize("no-such-study"), "unknown study 'no-such-study'", 1),
    ("study-seed-too-large", lambda d, study: _optimize(study(seed=2**32)), "seed must lie in 0..", 1),
    (
        "study-reference-point-nan",
        lambda d, study: _optimize(study(reference_point=[math.nan, 1.0])),
        "reference_point must hold finite numbers",
        1,
    ),
    # study files: training settings (the issue's examples)
    (
        "study-lr-inf",
        lambda d, study: _optimize(study(training=_training(lr=math.inf))),
        "training.lr: lr must be a finite number > 0, got inf",
        1,
    ),
    (
        "study-weight-decay-nan",
        lambda d, study: _optimize(study(training=_training(weight_decay=math.nan))),
        "training.weight_decay: weight_decay must be a finite number >= 0, got nan",
        1,
    ),
    (
        "study-monitor-typo",
        lambda d, study: _optimize(study(training=_training(monitor="vtr/aucc"))),
        "training.monitor: unknown monitor 'vtr/aucc'",
        1,
    ),
    (
        "study-monitor-metric-of-another-task-type",
        lambda d, study: _optimize(study(training=_training(monitor="vcr/auc"))),
        "unknown monitor 'vcr/auc' (fix: use one of loss, vtr/auc, vtr/logloss, vcr/mse)",
        1,
    ),
    (
        "study-unknown-accelerator",
        lambda d, study: _optimize(study(training=_training(accelerator="tpu"))),
        "unknown accelerator 'tpu'",
        1,
    ),
    (
        "study-unavailable-accelerator",
        lambda d, study: _optimize(study(training=_training(accelerator="mps"))),
        "training.accelerator: accelerator 'mps' cannot run here",
        1,
    ),
    # study files: data
    (
        "study-10-samples",
        lambda d, study: _optimize(study(data={"name": "synthetic-video", "options": {"n_samples": 10, "dim": 4}})),
        "task 'vtr' has a single class in the validation split",
        1,
    ),
    (
        "study-negative-samples",
        lambda d, study: _optimize(study(data={"name": "synthetic-video", "options": {"n_samples": -5, "dim": 4}})),
        "data.options.n_samples: n_samples must be >= 1, got -5",
        1,
    ),
    (
        "study-samples-not-a-size",
        lambda d, study: _optimize(study(data={"name": "synthetic-video", "options": {"n_samples": 2.5, "dim": 4}})),
        "data.options (synthetic-video)",
        1,
    ),
    # study files: sampler and pruner
    (
        "study-nsga2-population-1",
        lambda d, study: _optimize(study(sampler=_sampler("nsga2", population_size=1))),
        "sampler.options: Optuna's NSGAIISampler refuses these options: `population_size` must be greater",
        1,
    ),
    (
        "study-nsga2-population-not-an-integer",
        lambda d, study: _optimize(study(sampler=_sampler("nsga2", population_size=2.5))),
        "sampler.options.population_size: population_size must be a whole number, got 2.5",
        1,
    ),
    (
        "study-sampler-option-of-wrong-type",
        lambda d, study: _optimize(study(sampler=_sampler("tpe", multivariate="yes"))),
        "multivariate must be true or false or null, got 'yes'",
        1,
    ),
    (
        "study-sampler-option-that-fails-when-sampling",
        lambda d, study: _optimize(study(sampler=_sampler("tpe", n_ei_candidates=0, n_startup_trials=1))),
        "sampler: the tpe sampler fails on this search space",
        1,
    ),
    (
        "study-unknown-sampler-option",
        lambda d, study: _optimize(study(sampler=_sampler("random", warm_start=True))),
        "RandomSampler got an unexpected keyword argument 'warm_start'",
        1,
    ),
    (
        "study-sampler-seed-in-its-options",
        lambda d, study: _optimize(study(sampler=_sampler("tpe", seed=1))),
        "sampler.options.seed: the seed goes in sampler.seed",
        1,
    ),
    (
        "study-sampler-seed-negative",
        lambda d, study: _optimize(study(sampler={"name": "random", "seed": -1})),
        "sampler.seed: seed must lie in 0..",
        1,
    ),
    (
        "study-pruner-reduction-factor-1",
        lambda d, study: _optimize(study(pruning={"enabled": True, "reduction_factor": 1})),
        "reduction_factor must be >= 2",
        1,
    ),
    (
        "study-pruner-without-a-rung",
        lambda d, study: _optimize(study(pruning={"enabled": True})),
        "no rung before the last of training.epochs=1 epochs",
        1,
    ),
    # search spaces: values, and extremes that give a run that cannot train
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
    ("space-unknown-param", lambda d, study: _optimize(study(params={"dropout_rate": 0.1})), "dropout_rate", 1),
    ("space-missing-file", lambda d, study: _optimize(study(search_space="gone.yaml")), "search space not found", 1),
    ("space-fixed-lr-inf", lambda d, study: _optimize(study(params={"lr": math.inf})), "expected a finite number", 1),
    (
        "space-dropout-high-of-1",
        lambda d, study: _optimize(study(params={"dropout": {"type": "float", "low": 0.0, "high": 1.0}})),
        "dropout = 1.0 gives an invalid",
        1,
    ),
    (
        "space-loss-decay-that-grows-past-float32",
        lambda d, study: _optimize(
            study(training=_training(epochs=40), params={"loss_decay": {"type": "float", "low": 0.5, "high": 1e10}})
        ),
        "mmoe with every parameter at its high gives a run that cannot train: tasks.vtr.decay: the loss weight",
        1,
    ),
    (
        "space-network-too-big-at-the-high-end",
        lambda d, study: _optimize(study(params={"expert_width": {"type": "int", "low": 4, "high": 10**12}})),
        "with every parameter at its high gives a run that cannot train: model: cannot build the",
        1,
    ),
    # training configs (mtlsearch train --config): the same check
    ("config-missing", lambda d, study: ["train", "--config", str(d / "missing.yaml")], "not found", 1),
    ("config-unknown-key", lambda d, study: _train(d, "bogus: 1\n"), "unknown key 'bogus'", 1),
    ("config-wrong-type", lambda d, study: _train(d, "training: {epochs: many}\n"), "training.epochs", 1),
    (
        "config-lr-inf",
        lambda d, study: _train(d, {**CONFIG, "training": _training(lr=math.inf)}),
        "config.yaml: training.lr: lr must be a finite number > 0, got inf",
        1,
    ),
    (
        "config-weight-decay-nan",
        lambda d, study: _train(d, {**CONFIG, "training": _training(weight_decay=math.nan)}),
        "config.yaml: training.weight_decay",
        1,
    ),
    (
        "config-monitor-typo",
        lambda d, study: _train(d, {**CONFIG, "training": _training(monitor="vtr/aucc")}),
        "config.yaml: training.monitor: unknown monitor 'vtr/aucc'",
        1,
    ),
    (
        "config-monitor-of-an-unknown-task",
        lambda d, study: _train(d, {**CONFIG, "training": _training(monitor="ctr/auc")}),
        "config.yaml: training.monitor: unknown monitor 'ctr/auc'",
        1,
    ),
    (
        "config-unavailable-accelerator",
        lambda d, study: _train(d, {**CONFIG, "training": _training(accelerator="mps")}),
        "config.yaml: training.accelerator",
        1,
    ),
    ("config-seed-negative", lambda d, study: _train(d, {**CONFIG, "seed": -1}), "config.yaml: seed", 1),
    (
        "config-10-samples",
        lambda d, study: _train(
            d, {**CONFIG, "data": {"name": "synthetic-video", "options": {"n_samples": 10, "dim": 4}}}
        ),
        "config.yaml: data: task 'vtr' has a single class in the validation split",
        1,
    ),
    (
        "config-negative-samples",
        lambda d, study: _train(d, {**CONFIG, "data": {"name": "synthetic", "options": {"n_samples": -5}}}),
        "config.yaml: data.options.n_samples",
        1,
    ),
    (
        "config-labels-overflow-to-nan",
        lambda d, study: _train(
            d, {**CONFIG, "data": {"name": "synthetic", "options": {"n_samples": 300, "scale": math.inf}}}
        ),
        "config.yaml: data: task 'y1' has NaN or infinite labels in the train split",
        1,
    ),
    (
        "config-option-outside-the-generator-domain",
        lambda d, study: _train(
            d, {**CONFIG, "data": {"name": "synthetic", "options": {"n_samples": 300, "noise": -1.0}}}
        ),
        "config.yaml: data.options (synthetic): data set 'synthetic' cannot be built with these options",
        1,
    ),
    (
        "config-loss-weight-grows-past-float32",
        lambda d, study: _train(
            d, {**CONFIG, "tasks": [{"name": "vtr", "decay": 1e10}], "training": _training(epochs=10)}
        ),
        "config.yaml: tasks.vtr.decay: the loss weight of task 'vtr' grows past float32",
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
]


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda d, study: _train(d, {**CONFIG, "training": _training(lr=math.inf)}),
            "training.lr: lr must be a finite number > 0, got inf",
        ),
        (
            lambda d, study: _optimize(study(data={"name": "synthetic-video", "options": {"n_samples": 10, "dim": 4}})),
            "single class in the validation split",
        ),
    ],
    ids=["train-lr-inf", "optimize-10-samples"],
)
def test_kind_1_a_real_process_prints_one_line_and_writes_nothing(tiny_template, tmp_path, make_args, message):
    args = make_args(tmp_path, functools.partial(_study, tiny_template, tmp_path))
    before = sorted(p.name for p in tmp_path.iterdir())
    _one_line(_real_process(args, tmp_path), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no mtlsearch.db, no out/


def test_kind_1_the_extremes_of_a_valid_space_pass_and_a_trial_failure_is_one_line(
    tiny_template, tmp_path, capfd, monkeypatch
):
    """A valid study passes the pre-flight check; what fails later is a trial failure, logged in one
    line with its reason, the traceback kept in the trial's ``fail_traceback`` attribute."""
    import mtlsearch.search._optimize as optimize_module

    def broken_train(*args, **kwargs):
        raise ZeroDivisionError("a bug deep inside training")

    monkeypatch.setattr(optimize_module, "train", broken_train)
    study = _study(tiny_template, tmp_path, n_trials=2)
    assert main(_optimize(study, "--storage", f"sqlite:///{tmp_path}/s.db")) == 1
    err = capfd.readouterr().err
    assert "Traceback" not in err and "failed with value None" not in err, err
    assert "the first 2 trials all failed; last reason: ZeroDivisionError: a bug deep inside training" in err
    trials = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path}/s.db").trials
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    assert all("ZeroDivisionError" in t.user_attrs["fail_traceback"] for t in trials)


# =====================================================================================================
# Kind 2: YAML that a careful loader refuses
# One loader (mtlsearch._strict.StrictLoader) for study files, search spaces, training configs and
# table schemas: duplicate keys name the key and the line; aliases may repeat at most
# MAX_ALIAS_NODES nodes, so loading stays linear in the file's size.
# =====================================================================================================


def _schema_study(study: Callable[..., str], folder: Path, schema_text: str) -> str:
    schema = folder / "schema.yaml"
    schema.write_text(schema_text)
    return study(
        name="table",
        data={"name": "tabular", "options": {"path": _csv(folder, GOOD_ROWS), "schema": str(schema)}},
        objectives=[{"task": "y", "metric": "auc"}],
    )


KIND_2: list[Case] = [
    ("study-malformed-yaml", lambda d, study: _optimize(study("name: [tiny\n")), "malformed YAML", 1),
    ("study-not-a-mapping", lambda d, study: _optimize(study("- 1\n- 2\n")), "expected a mapping", 1),
    ("space-malformed-yaml", lambda d, study: _optimize(study(space="params: {lr: [\n")), "malformed YAML", 1),
    ("config-malformed-yaml", lambda d, study: _train(d, "model: {a: [\n"), "malformed YAML", 1),
    (
        "study-duplicate-key",
        lambda d, study: _optimize(study(Path(study()).read_text() + "n_trials: 2\n")),
        "duplicate key 'n_trials' at line",
        1,
    ),
    (
        "study-duplicate-nested-key",
        lambda d, study: _optimize(study("name: tiny\ntraining:\n  lr: 0.01\n  epochs: 1\n  lr: 0.1\n")),
        "tiny.yaml: duplicate key 'lr' at line 5, column 3 (fix: keep one 'lr' in this mapping)",
        1,
    ),
    (
        "space-duplicate-key",
        lambda d, study: _optimize(study(space="params:\n  architecture: mmoe\n  lr: 0.01\n  lr: 0.1\n")),
        "tiny-space.yaml: duplicate key 'lr' at line 4",
        1,
    ),
    (
        "config-duplicate-key",
        lambda d, study: _train(d, "training: {epochs: 1, lr: 0.01, lr: 0.1}\n"),
        "config.yaml: duplicate key 'lr' at line 1",
        1,
    ),
    (
        "schema-duplicate-key",
        lambda d, study: _optimize(
            _schema_study(study, d, yaml.safe_dump(TABLE_SCHEMA) + "numeric: [c]\n"),
        ),
        "duplicate key 'numeric' at line",
        1,
    ),
    ("study-alias-bomb", lambda d, study: _optimize(study(_bomb())), "(an alias bomb?)", 1),
    ("space-alias-bomb", lambda d, study: _optimize(study(space=_bomb())), "(an alias bomb?)", 1),
    ("config-alias-bomb", lambda d, study: _train(d, _bomb()), "(an alias bomb?)", 1),
    ("study-recursive-alias", lambda d, study: _optimize(study("name: &n [*n]\n")), "refers to its own anchor", 1),
]


def test_kind_2_billion_laughs_is_refused_at_once_without_quoting_the_expansion(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    start = time.process_time()
    with pytest.raises(MtlsearchError) as error:
        read_yaml(path)
    assert time.process_time() - start < 1.0  # about a millisecond: the alias graph is never expanded
    message = str(error.value)
    assert "alias bomb" in message and "at line" in message and "lol" not in message and len(message) < 300


def test_kind_2_aliases_and_merge_keys_within_the_bound_still_load(tmp_path):
    """Anchors, aliases and ``<<`` merges are YAML users rely on: only an expansion past the bound fails."""
    path = tmp_path / "shared.yaml"
    path.write_text(
        "base: &base {epochs: 2, lr: 0.01}\n"
        "fast:\n  <<: *base\n  lr: 0.1\n"  # a merged key may be overridden: not a duplicate
        f"many: [{', '.join(['*base'] * (MAX_ALIAS_NODES // 10))}]\n"
    )
    data = read_yaml(path)
    assert data["fast"] == {"epochs": 2, "lr": 0.1} and len(data["many"]) == MAX_ALIAS_NODES // 10
    path.write_text(f"base: &base [{', '.join(['1'] * 100)}]\nmany: [{', '.join(['*base'] * 101)}]\n")
    with pytest.raises(MtlsearchError, match="alias bomb"):
        read_yaml(path)


def test_kind_2_a_real_process_refuses_an_alias_bomb(tiny_template, tmp_path):
    study = _study(tiny_template, tmp_path, _bomb())
    _one_line(_real_process(_optimize(study), tmp_path), "(an alias bomb?)")
    assert not (tmp_path / "mtlsearch.db").exists()


def test_kind_2_an_error_is_one_line_even_when_it_quotes_a_long_value():
    error = MtlsearchError("expected a string, got " + repr(["x" * 50] * 10_000) + "\nsecond line", where="f.yaml")
    assert "\n" not in str(error) and len(str(error)) <= 2000


# =====================================================================================================
# Kind 3: Storage URLs that damage or surprise
# =====================================================================================================

KIND_3: list[Case] = [
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
]


def test_kind_3_a_real_process_prints_no_traceback(tiny_template, tmp_path):
    _study(tiny_template, tmp_path)
    args = ["optimize", "--study", "tiny.yaml", "--storage", "postgresql://127.0.0.1:1/x"]
    _one_line(_real_process(args, tmp_path), "cannot open storage")


# =====================================================================================================
# Kind 4: Many machines on one PostgreSQL study, as the README documents it
# =====================================================================================================

KIND_4: list[Case] = []


# =====================================================================================================
# Kind 4b: Resuming a study on changed data
# =====================================================================================================

KIND_4B: list[Case] = []


# =====================================================================================================
# Kind 5: Outputs and arguments
# Outputs are checked before any work (train --out before training, export/report --out before the
# study is read) and written whole or not at all; flags are checked before the study file is read.
# =====================================================================================================

_BUSY: list[socket.socket] = []


def _busy_port() -> int:
    """A port something listens on (kept open for the whole module)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    _BUSY.append(listener)
    return listener.getsockname()[1]


def _file(folder: Path, name: str = "taken.txt") -> Path:
    path = folder / name
    path.write_text("mine\n")
    return path


def _weird_study_file(study: Callable[..., str]) -> str:
    """A study file whose name (the study's default name) holds a line break."""
    path = Path(study())
    weird = path.with_name("two\nlines.yaml")
    weird.write_text(path.read_text().replace("name: tiny\n", ""))
    path.unlink()
    return str(weird)


KIND_5: list[Case] = [
    ("negative-n-trials", lambda d, study: _optimize(study(), "--n-trials", "-3"), "must be >= 1, got -3", 1),
    ("zero-n-trials", lambda d, study: _optimize(study(), "--n-trials", "0"), "--n-trials must be >= 1, got 0", 1),
    ("zero-jobs", lambda d, study: _optimize(study(), "--jobs", "0"), "--jobs: --jobs must be >= 1, got 0 (fix", 1),
    ("negative-timeout", lambda d, study: _optimize(study(), "--timeout", "-5"), "--timeout must be a finite", 1),
    ("zero-timeout", lambda d, study: _optimize(study(), "--timeout", "0"), "--timeout must be a finite", 1),
    ("nan-timeout", lambda d, study: _optimize(study(), "--timeout", "nan"), "--timeout must be a finite", 1),
    ("infinite-timeout", lambda d, study: _optimize(study(), "--timeout", "inf"), "--timeout must be a finite", 1),
    ("negative-seed", lambda d, study: _optimize(study(), "--seed", "-1"), "--seed must lie in 0..", 1),
    ("n-trials-not-a-number", lambda d, study: _optimize(study(), "--n-trials", "many"), "invalid int value", 2),
    ("unknown-flag", lambda d, study: _optimize(study(), "--turbo"), "unrecognized arguments", 2),
    ("abbreviated-flag", lambda d, study: _optimize(study(), "--n-trial", "1"), "unrecognized arguments", 2),
    (
        "heartbeat-longer-than-grace",
        lambda d, study: _optimize(study(), "--heartbeat-interval", "30", "--grace-period", "10"),
        "do not fit",
        1,
    ),
    (
        "study-name-with-a-line-break",
        lambda d, study: _optimize(study(name="two\nlines")),
        "study name 'two\\nlines' holds a line break",
        1,
    ),
    (
        "study-name-with-outer-spaces",
        lambda d, study: _optimize(study(name=" tiny")),
        "outer spaces",
        1,
    ),
    (
        "study-file-name-with-a-line-break",
        lambda d, study: _optimize(_weird_study_file(study)),
        "holds a line break",
        1,
    ),
    ("pareto-unknown-study", lambda d, study: ["pareto", "--study", "nope"], "no study 'nope'", 1),
    ("pareto-unknown-format", lambda d, study: ["pareto", "--study", "tiny", "--format", "xml"], "invalid choice", 2),
    (
        "dashboard-port-in-use",
        lambda d, study: ["dashboard", "--study", "tiny", "--port", str(_busy_port())],
        "cannot listen",
        1,
    ),
    (
        "dashboard-port-out-of-range",
        lambda d, study: ["dashboard", "--study", "tiny", "--port", "70000"],
        "cannot listen on 127.0.0.1:70000",
        1,
    ),
    (
        "export-out-is-a-folder",
        lambda d, study: ["export", "--study", "tiny", "--trial", "0", "--out", str(d)],
        "--out: " + "{d} is a folder, not a file",
        1,
    ),
    (
        "export-out-below-a-file",
        lambda d, study: ["export", "--study", "tiny", "--trial", "0", "--out", str(_file(d) / "best.yaml")],
        "taken.txt is a file, so",
        1,
    ),
    (
        "report-out-is-a-folder",
        lambda d, study: ["report", "--study", "tiny", "--out", str(d)],
        "is a folder, not a file (fix: name a file, e.g. report.html)",
        1,
    ),
    (
        "report-png-out-is-a-file",
        lambda d, study: ["report", "--study", "tiny", "--format", "png", "--out", str(_file(d))],
        "is an existing file, not a folder",
        1,
    ),
    (
        "train-out-is-a-file",
        lambda d, study: ["train", "--config", _config(d, CONFIG), "--out", str(_file(d))],
        "--out: " + "{d}/taken.txt is an existing file, not a folder",
        1,
    ),
    (
        "train-out-empty",
        lambda d, study: ["train", "--config", _config(d, CONFIG), "--out", ""],
        "--out: the output folder is empty",
        1,
    ),
    (
        "export-out-empty",
        lambda d, study: ["export", "--study", "tiny", "--trial", "0", "--out", " "],
        "--out: the output file is empty",
        1,
    ),
    (
        "train-out-below-a-file",
        lambda d, study: ["train", "--config", _config(d, CONFIG), "--out", str(_file(d) / "run")],
        "taken.txt is a file, so",
        1,
    ),
]


def test_kind_5_train_out_naming_a_file_fails_before_training(tmp_path, monkeypatch, capsys):
    import mtlsearch.cli._train as train_command
    import mtlsearch.training as training

    def no_training(*args, **kwargs):
        raise AssertionError("trained although --out was wrong")

    for module in (training, train_command):  # wherever the command takes them from
        monkeypatch.setattr(module, "train", no_training, raising=False)
        monkeypatch.setattr(module, "load_run", no_training, raising=False)  # nor the data loaded
    taken = _file(tmp_path)
    assert main(["train", "--config", _config(tmp_path, CONFIG), "--out", str(taken)]) == 1
    assert "is an existing file, not a folder" in capsys.readouterr().err
    assert taken.read_text() == "mine\n"


def test_kind_5_a_real_process_refuses_train_out_naming_a_file(tmp_path):
    taken = _file(tmp_path)
    args = ["train", "--config", _config(tmp_path, CONFIG), "--out", str(taken)]
    _one_line(_real_process(args, tmp_path), "is an existing file, not a folder")
    assert taken.read_text() == "mine\n"


def test_kind_5_export_writes_whole_files_only(existing_study, tmp_path, monkeypatch):
    """The exported file appears complete or not at all: no temporary file is left beside it."""
    monkeypatch.chdir(existing_study.parent)
    out = tmp_path / "deep" / "best.yaml"
    assert main(["export", "--study", "tiny", "--trial", "0", "--out", str(out)]) == 0
    assert yaml.safe_load(out.read_text())["provenance"]["trial"] == 0
    assert [p.name for p in out.parent.iterdir()] == ["best.yaml"]
    plain = tmp_path / "plain.yaml"
    plain.write_text("")
    assert out.stat().st_mode == plain.stat().st_mode  # an ordinary file's permissions, not a temporary's


# =====================================================================================================
# Kind 6: Metrics that cannot be computed
# A binary task with one class in the validation or test split is refused up front (the kind-1 check,
# mtlsearch.training.check_data); a metric undefined after training is null in strict JSON and fails
# the trial (or the train command) with that reason.
# =====================================================================================================


def _split_files(folder: Path, validation_rows: str) -> dict:
    return {
        "path": _csv(folder, GOOD_ROWS, "train.csv"),
        "validation_path": _csv(folder, validation_rows, "validation.csv"),
        "test_path": _csv(folder, GOOD_ROWS[:200], "test.csv"),
    }


KIND_6: list[Case] = [
    (
        "train-constant-validation-label",
        lambda d, study: _train(
            d, {"data": {"name": "tabular", "options": {**TABLE_SCHEMA, **_split_files(d, ZEROS)}}}
        ),
        "config.yaml: data: task 'y' has a single class in the validation split of 'train': all 20 labels in its "
        "sample space are 0",
        1,
    ),
    (
        "study-constant-validation-label",
        lambda d, study: _optimize(
            study(
                name="table",
                data={"name": "tabular", "options": {**TABLE_SCHEMA, **_split_files(d, ZEROS)}},
                objectives=[{"task": "y", "metric": "auc"}],
            )
        ),
        "task 'y' has a single class in the validation split",
        1,
    ),
    (
        "study-constant-test-label",
        lambda d, study: _optimize(
            study(
                name="table",
                data={
                    "name": "tabular",
                    "options": {**TABLE_SCHEMA, **_split_files(d, GOOD_ROWS), "test_path": _csv(d, ZEROS, "t.csv")},
                },
                objectives=[{"task": "y", "metric": "auc"}],
            )
        ),
        "task 'y' has a single class in the test split",
        1,
    ),
]

DIVERGING = {**CONFIG, "training": _training(optimizer="sgd", lr=1.0e30)}  # predictions become NaN in one step


def _strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_kind_6_a_real_process_refuses_a_constant_validation_label(tmp_path):
    config = {"data": {"name": "tabular", "options": {**TABLE_SCHEMA, **_split_files(tmp_path, ZEROS)}}}
    args = _train(tmp_path, config)
    _one_line(_real_process(args, tmp_path), "task 'y' has a single class in the validation split")
    assert not (tmp_path / "out").exists()


def test_kind_6_train_with_a_metric_undefined_after_training_writes_nothing(tmp_path, capsys):
    assert main(_train(tmp_path, DIVERGING)) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is undefined after training" in err and "training.lr" in err, err
    assert not (tmp_path / "out").exists()


def test_kind_6_metrics_json_is_strict_with_null_for_an_undefined_metric(tmp_path):
    from mtlsearch.config import run_config_from_dict
    from mtlsearch.training import prepare_data, train
    from mtlsearch.training._artifacts import write_artifacts

    config = run_config_from_dict(CONFIG)
    data = prepare_data(config)
    result = train(config, data)
    result.validation["vtr/auc"] = math.nan  # as a metric that became undefined
    result.test["vtr/auc"] = math.inf
    paths = write_artifacts(result, tmp_path / "out", data, formats=("torchscript",)).paths  # the quickest format
    metrics = _strict_json(paths["metrics"].read_text())
    assert metrics["validation"]["vtr/auc"] is None and metrics["test"]["vtr/auc"] is None
    card = _strict_json(paths["model_card"].read_text())
    assert card["tasks"]["vtr"]["validation"]["auc"] is None
    assert result.undefined_metrics() == ["validation vtr/auc", "test vtr/auc"]


def test_kind_6_a_trial_whose_objective_becomes_undefined_fails_with_that_reason(tiny_template, tmp_path, capfd):
    params = {"optimizer": "sgd", "lr": 1.0e30, "batch_size": 1024}  # one step: the loss stays finite
    study = _study(tiny_template, tmp_path, params=params)
    storage = f"sqlite:///{tmp_path}/s.db"
    assert main(_optimize(study, "--storage", storage)) == 1  # the only trial failed: the study gives up
    err = capfd.readouterr().err
    assert "Traceback" not in err and "objective vtr/auc is undefined" in err, err
    (trial,) = optuna.load_study(study_name="tiny", storage=storage).trials
    assert trial.state.name == "FAIL" and "undefined" in trial.user_attrs["fail_reason"]
    assert trial.user_attrs["validation"]["vtr/auc"] is None  # stored as strict JSON


def test_kind_6_pareto_json_never_emits_nan(existing_study, tmp_path, capsys):
    copy = tmp_path / "copy.db"
    with sqlite3.connect(existing_study) as source, sqlite3.connect(copy) as target:
        source.backup(target)  # the whole database, its write-ahead log included
    with sqlite3.connect(copy) as connection:  # a NaN test metric, as earlier versions stored it
        connection.execute(
            "update trial_user_attributes set value_json = ? where key = 'test'",
            (json.dumps({"vtr/auc": math.nan, "vcr/mse": 0.5}),),
        )
    assert main(["pareto", "--study", "tiny", "--storage", f"sqlite:///{copy}", "--format", "json"]) == 0
    (row,) = _strict_json(capsys.readouterr().out)
    assert row["test vtr/auc"] is None and row["test vcr/mse"] == 0.5


# =====================================================================================================
# Kind 7: The command line starts slowly, and slow machines break the fault tests
# =====================================================================================================

KIND_7: list[Case] = []


# =====================================================================================================
# Kind 8: Multi-objective early stopping has a competitor now
# =====================================================================================================

KIND_8: list[Case] = []


# =====================================================================================================
# The harness: every case of every kind
# =====================================================================================================

CASES: list[Case] = [*KIND_1, *KIND_2, *KIND_3, *KIND_4, *KIND_4B, *KIND_5, *KIND_6, *KIND_7, *KIND_8]
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")


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


def files(*folders: Path) -> list[tuple[str, int]]:
    """Every file below ``folders`` with its size (SQLite's transient side files left out)."""
    return sorted(
        (str(p), p.stat().st_size if p.is_file() and not p.name.endswith(".db") else 0)
        for folder in folders
        for p in folder.rglob("*")
        if not p.name.endswith(_SQLITE_SIDE_FILES)
    )


@pytest.mark.parametrize(("make_args", "message", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(
    existing_study, tiny_template, tmp_path, monkeypatch, make_args, message, code, capfd
):
    monkeypatch.chdir(existing_study.parent)  # the default storage is the existing study's
    before = snapshot(existing_study)
    args = make_args(tmp_path, functools.partial(_study, tiny_template, tmp_path))
    written = files(tmp_path, existing_study.parent)
    capfd.readouterr()
    with pytest.raises(SystemExit) if code == 2 else _no_exit():
        assert main(args) == code
    err = capfd.readouterr().err.strip()
    lines = err.splitlines()
    message = message.replace("{d}", str(tmp_path))
    if code == 2:  # argparse: usage line(s), then one error line
        assert lines[-1].startswith("mtlsearch") and "error:" in lines[-1] and message in lines[-1], err
    else:
        assert len(lines) == 1 and message in err and err.startswith(f"mtlsearch {args[0]}: error:"), err
    assert "Traceback" not in err
    assert snapshot(existing_study) == before
    assert files(tmp_path, existing_study.parent) == written  # no storage, no output, no half-written file


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_case_table_is_big_enough():
    assert len(CASES) >= 90 and len({c[0] for c in CASES}) == len(CASES)


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


def _kind4b_study(tiny, folder: Path) -> tuple[str, Path, Path]:
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
    study, schema, table = _kind4b_study(tiny_template, tmp_path)
    storage = f"sqlite:///{tmp_path / 'data.db'}"
    assert main(_optimize(study, "--storage", storage)) == 0
    capsys.readouterr()
    before = snapshot(tmp_path / "data.db")
    if edit == "schema":  # any edit of the schema file counts: its content is hashed
        schema.write_text(schema.read_text().replace("tasks:", "# edited\ntasks:"))
    else:
        table.write_text(table.read_text() + "a,9.9,1\nb,9.8,0\n")
    assert main(_optimize(study, "--storage", storage)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # the refusal alone: no "study ...: storage ..." line before it
    err = err[0]
    assert err.startswith("mtlsearch optimize: error:") and "content of its data files" in err, err
    assert "--force-new-version" in err and "restore the old data files" in err, err
    assert snapshot(tmp_path / "data.db") == before
    assert main(_optimize(study, "--storage", storage, "--force-new-version")) == 0
    from mtlsearch.search import load_study

    assert len(load_study("table-v2", storage).trials) == 1 and len(load_study("table", storage).trials) == 1


def test_kind4b_a_study_stored_without_the_data_fingerprint_still_resumes(tiny_template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study, _, _ = _kind4b_study(tiny_template, tmp_path)
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
