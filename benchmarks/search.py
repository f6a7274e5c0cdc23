"""Samplers against random search: hypervolume of the validation Pareto front after N trials.

    python benchmarks/search.py --study ple [--seeds 0 1 2] [--trials 30] [--random-trials 90]
                                [--samplers tpe nsga2 gp 'tpe:multivariate=true,group=true']
                                [--n-samples N] [--epochs E]
                                [--data-option KEY=VALUE ...] [--parallel P]

Every (sampler, seed) runs the study in its own temporary SQLite storage with 1 torch thread.
All runs of one study share one reference point (each objective's worst value over every run,
10% of the range beyond it), so their hypervolumes compare. Target (issue 3): the default
sampler (TPE) after 30 trials reaches at least the hypervolume random search reaches after 90.
``--n-samples``/``--epochs``/``--data-option max_rows=N`` shrink the study's data and budget to
fit a run on 2 cores; ``--parallel P`` runs P (sampler, seed) runs at once, one process each.
A sampler is ``NAME`` or ``NAME:KEY=VALUE,...`` (keyword options of the Optuna sampler, values
in YAML); a bare ``NAME`` that is the study file's sampler takes the file's options.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import optuna
import torch
import yaml
from _common import add_study_overrides, machine, study_with_overrides

from mtlsearch.analysis import hypervolume, reference_point
from mtlsearch.errors import MtlsearchError
from mtlsearch.search import SamplerConfig, make_sampler, optimize


def parse_sampler(spec: str, study_sampler: SamplerConfig) -> tuple[str, dict]:
    """``NAME`` or ``NAME:KEY=VALUE,...`` as (name, options); a bare study sampler keeps its options."""
    name, _, rest = spec.partition(":")
    if not rest:
        return name, dict(study_sampler.options) if name == study_sampler.name else {}
    options = {}
    for item in rest.split(","):
        key, equals, value = item.partition("=")
        if not (key and equals):
            raise SystemExit(f"search.py: --samplers {spec!r}: write NAME:KEY=VALUE,..., e.g. tpe:multivariate=true")
        options[key] = yaml.safe_load(value)
    return name, options


def run(config, sampler: str, seed: int, n_trials: int) -> tuple[list[list[float]], float]:
    """The objective vectors of the completed trials, in trial order, and the wall seconds."""
    torch.set_num_threads(1)  # again: a worker process of --parallel starts afresh
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name, options = parse_sampler(sampler, config.sampler)
    config = dataclasses.replace(config, sampler=SamplerConfig(name, seed, options), name=f"{config.name}-{name}")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        study = optimize(config, n_trials=n_trials, storage=f"sqlite:///{Path(folder) / 'bench.db'}")
        seconds = time.perf_counter() - start
        done = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: t.number)
        return [t.values for t in done], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="ple")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--random-trials", type=int, default=90)
    parser.add_argument("--samplers", nargs="+", default=["tpe", "nsga2", "gp"])
    add_study_overrides(parser)
    parser.add_argument("--parallel", type=int, default=1, help="runs at once, one process each")
    parser.add_argument("--save", type=Path, help="also write every run's objective values to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = study_with_overrides(parser, args)
    for spec in args.samplers:  # a bad name or option is a usage error before any run
        name, options = parse_sampler(spec, config.sampler)
        try:
            make_sampler(dataclasses.replace(config, sampler=SamplerConfig(name, 0, options)))
        except MtlsearchError as error:
            parser.error(f"--samplers {spec!r}: {error}")
    jobs = [(s, seed, args.trials) for seed in args.seeds for s in args.samplers]
    jobs += [("random", seed, args.random_trials) for seed in args.seeds]
    jobs.sort(key=lambda job: -job[2])  # the longest first, so parallel runs end together
    with ProcessPoolExecutor(args.parallel, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {(s, seed): pool.submit(run, config, s, seed, n) for s, seed, n in jobs}
        runs = {key: future.result() for key, future in futures.items()}
    if args.save:
        args.save.write_text(json.dumps([[s, seed, values, wall] for (s, seed), (values, wall) in runs.items()]))
    every = [v for values, _ in runs.values() for v in values]
    reference = reference_point(every, config.directions)

    def hv(values: list[list[float]], n: int) -> float:
        return hypervolume(values[:n], reference, config.directions)

    print(f"machine: {machine()}")
    print(
        f"study {args.study}: data {config.data.options}, epochs {config.training.epochs}, seeds {args.seeds}; "
        f"reference point {[round(r, 5) for r in reference]} ({', '.join(config.metric_names)})\n"
    )
    print("| sampler | trials | mean hypervolume | per seed | mean wall s |")
    print("|---|---|---|---|---|")
    rows = [(s, args.trials) for s in args.samplers] + [("random", args.trials), ("random", args.random_trials)]
    means = {}
    for sampler, n in rows:
        per_seed = [hv(runs[sampler, seed][0], n) for seed in args.seeds]
        means[sampler, n] = statistics.mean(per_seed)
        wall = statistics.mean(runs[sampler, seed][1] for seed in args.seeds)
        print(f"| {sampler} | {n} | {means[sampler, n]:.5f} | {', '.join(f'{v:.5f}' for v in per_seed)} | {wall:.0f} |")
    if "tpe" in args.samplers:
        verdict = "met" if means["tpe", args.trials] >= means["random", args.random_trials] else "NOT met"
        print(f"\ntarget: TPE after {args.trials} >= random after {args.random_trials}: {verdict}")


if __name__ == "__main__":
    main()
