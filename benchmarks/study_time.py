"""The default study end to end: `mtlsearch optimize --study ple`, alone and beside busy processes,
at each torch thread count, with the time outside the training loops taken apart.

    python benchmarks/study_time.py [--study ple] [--n-trials N] [--threads 1 2] [--busy 0 1]
                                    [--checkouts /tmp/before .] [--repeat R]
    python benchmarks/study_time.py --thread-check K [--threads 1 2] [--busy 0 1]

For every (busy, threads) arm, in that order, and every checkout (``--checkouts``, alternated over
``--repeat`` rounds, so that code versions are compared under the same load in one run), the
checkout's ``cli.py`` runs in a fresh temporary folder (new SQLite storage) on a copy of the study
file with ``training.threads`` set, while ``busy`` processes spin on the CPU beside it
(``while True: pass``, as one other job on a shared machine). Then every trial is read back from
the storage and the command's wall time is split into:

- before the first trial: interpreter start-up, the imports ``optimize`` needs (timed in the
  command's process, the lazy ones as the command makes them), the data set, the pre-flight
  checks, and the storage and study set-up with the rest (command start to trial 0's start);
- training loops: the trials' ``train_seconds`` (the training epochs alone);
- Trainer set-up and validation: ``fit_seconds - train_seconds``;
- rest of the trials: suggesting, model and Trainer construction, test scoring, utilisation,
  storage writes (trial wall - ``fit_seconds``);
- between and after trials: sampler start of each trial, study callbacks (hypervolume), the
  Pareto table and the interpreter's exit.

A second table gives the parts, from timers the command's process wraps around our functions
(``PROBE`` below): suggest (sampler and parameter writes), Trainer construction, test scoring,
the trial's attribute writes and result hooks, the hypervolume callback, and the exit.

``--thread-check K`` instead trains the study's first K random-sampler configurations for one
epoch each, in this process, at each thread count in turn (arms alternated per configuration,
twice), and reports wall and CPU seconds per arm: the torch thread default's question.

Also printed: the data set's load time measured alone, and the 1-minute load average
(``/proc/loadavg``) before and after each arm: on a shared machine the absolute figures depend on
what else runs, so compare arms within one run, and CPU seconds (the command's, children included).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml
from _common import ROOT, machine

from mtlsearch.search import load_study_config


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Runs in the CLI's process (``python -c PROBE ARGS...``, PYTHONPATH set to the checkout
# under test): times the imports ``optimize`` needs (the lazy ones as the command makes them), then
# wraps a few functions with timers and runs the checkout's ``cli.py``, which exits as it would.
# Only names present in every measured checkout are wrapped; a wrapped call nested in another of
# the same part is counted once.
PROBE = r"""
import json, runpy, sys, time
start_wall = time.time()
t = time.perf_counter()
import mtlsearch.cli, mtlsearch.cli._optimize
from mtlsearch.search import format_trials, optimize, pareto_trials  # as `optimize` imports them
import mtlsearch.search, mtlsearch.search._optimize as o, mtlsearch.training._train as tr
import mtlsearch.analysis._hypervolume as hv
imports = time.perf_counter() - t
sums, active = {}, set()

def timed(owner, name, part):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        if part in active:
            return original(*args, **kwargs)
        active.add(part)
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            active.discard(part)
            sums[part] = sums.get(part, 0.0) + time.perf_counter() - t
            sums[part + "_end"] = time.time()

    setattr(owner, name, wrapper)

timed(mtlsearch.search, "optimize", "optimize")
timed(o, "prepare_data", "data")
timed(o, "preflight", "preflight")
timed(o, "open_storage", "storage")
timed(o, "create_or_load_study", "storage")
timed(o, "suggest_params", "suggest")
timed(o, "train", "train")
timed(o.Objective, "_train", "objective")
timed(tr, "build_trainer", "trainer")
timed(tr, "_score", "test")
timed(hv.HypervolumeRecorder, "__call__", "hypervolume")
main = mtlsearch.cli.main

def main_then_marks(argv=None):
    code = main(argv)
    marks = {"start": start_wall, "imports": imports, **sums, "end": time.time()}
    with open(MARKS, "w") as f:
        json.dump(marks, f)
    return code

mtlsearch.cli.main = main_then_marks
sys.argv = [CLI, *sys.argv[1:]]
runpy.run_path(CLI, run_name="__main__")  # exits as the checkout's cli.py does
"""


def run_arm(study: str, n_trials: int | None, threads: int, busy: int, checkout: Path = ROOT) -> dict[str, float | str]:
    source = load_study_config(study).source
    plain = yaml.safe_load(Path(source).read_text())
    plain["training"] = {**plain.get("training", {}), "threads": threads}
    plain.setdefault("name", Path(source).stem)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        time.sleep(1.0 if busy else 0.0)
        with tempfile.TemporaryDirectory() as folder:
            file = Path(folder) / f"{plain['name']}.yaml"
            space = plain.get("search_space", "ple")
            if "/" in space or space.endswith((".yaml", ".yml")):
                plain["search_space"] = str((Path(source).parent / space).resolve())
            file.write_text(yaml.safe_dump(plain))
            marks_file = Path(folder) / "marks.json"
            probe = PROBE.replace("MARKS", repr(str(marks_file))).replace("CLI", repr(str(checkout / "cli.py")))
            command = [sys.executable, "-c", probe, "optimize", "--study", str(file), "--no-progress"]
            if n_trials:
                command += ["--n-trials", str(n_trials)]
            env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(checkout)}
            load_before, cpu_before = loadavg(), child_cpu()
            start, start_clock = time.perf_counter(), time.time()
            subprocess.run(command, cwd=folder, check=True, capture_output=True, env=env)
            wall = time.perf_counter() - start
            cpu = child_cpu() - cpu_before
            load_after = loadavg()
            marks = json.loads(marks_file.read_text())
            stored = optuna.load_study(study_name=plain["name"], storage=f"sqlite:///{Path(folder) / 'mtlsearch.db'}")
            trials = [t for t in stored.trials if t.state.is_finished() and t.datetime_complete]
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    walls = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials]
    loops = sum(t.user_attrs.get("train_seconds", 0.0) for t in trials)
    fits = sum(t.user_attrs.get("fit_seconds", 0.0) for t in trials)
    first = min(t.datetime_start for t in trials).timestamp()  # naive local time, as Optuna stores it
    python = marks["start"] - start_clock  # the interpreter's own start-up, before the probe's first line
    before = first - start_clock
    parts = {
        "trials": len(trials),
        "wall": wall,
        "cpu": cpu,
        "loops": loops,
        "fit_rest": fits - loops,
        "trial_rest": sum(walls) - fits,
        "load": f"{load_before} -> {load_after}",
        "imports": marks["imports"],
        "data": marks.get("data", 0.0),
        "preflight": marks.get("preflight", 0.0) - marks.get("data", 0.0),
        "suggest": marks.get("suggest", 0.0),
        "trainer": marks.get("trainer", 0.0),
        "test": marks.get("test", 0.0),
        "attrs": marks.get("objective", 0.0) - marks.get("suggest", 0.0) - marks.get("train", 0.0),
        "hypervolume": marks.get("hypervolume", 0.0),
    }
    parts["before"] = before
    parts["python"] = python
    parts["storage"] = marks.get("storage", 0.0)  # opening the storage, creating or loading the study
    parts["start_rest"] = before - python - parts["imports"] - marks.get("preflight", 0.0) - parts["storage"]
    parts["between"] = wall - before - sum(walls)
    last = max(t.datetime_complete for t in trials).timestamp()
    parts["in_between"] = last - first - sum(walls)  # sampler start-up of each trial, callbacks
    parts["last_callbacks"] = marks["optimize_end"] - last  # the last trial's callbacks, closing
    parts["table"] = marks["end"] - marks["optimize_end"]  # the command's Pareto table
    parts["exit"] = start_clock + wall - marks["end"]  # interpreter shut-down after the CLI returned
    return parts


def measure_alone(study: str) -> float:
    """The study's data set loaded in this process (seconds)."""
    from mtlsearch.training import prepare_data

    start = time.perf_counter()
    prepare_data(load_study_config(study).base_run_config())
    return time.perf_counter() - start


def thread_check(study: str, n_configs: int, threads: list[int], busy: int) -> None:
    import torch

    from mtlsearch.search import load_search_space, params_to_config, suggest_params
    from mtlsearch.training import prepare_data, train

    config = load_study_config(study)
    space = load_search_space(str(config.search_space_path()))
    base = config.base_run_config()
    data = prepare_data(base)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.create_study(directions=config.directions, sampler=optuna.samplers.RandomSampler(seed=0))
    configs = []
    for _ in range(n_configs):
        params = suggest_params(sampler.ask(), space, config.task_names)
        run = params_to_config(params, base)
        configs.append(dataclasses.replace(run, training=dataclasses.replace(run.training, epochs=1, patience=0)))
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    walls = {t: 0.0 for t in threads}
    cpus = {t: 0.0 for t in threads}
    load_before = loadavg()
    try:
        for run in configs:
            for repeat in range(2):
                for t in threads if repeat == 0 else threads[::-1]:
                    torch.set_num_threads(t)
                    wall, cpu = time.perf_counter(), time.process_time()
                    train(run, data)
                    walls[t] += time.perf_counter() - wall
                    cpus[t] += time.process_time() - cpu
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    first = threads[0]
    print(f"{n_configs} configurations x 2, 1 epoch each, {busy} busy process(es); load {load_before} -> {loadavg()}\n")
    print("| torch threads | wall s | CPU s | wall / wall at " + f"{first} thread(s) |")
    print("|---|---|---|---|")
    for t in threads:
        print(f"| {t} | {walls[t]:.1f} | {cpus[t]:.1f} | {walls[t] / walls[first]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="ple")
    parser.add_argument("--n-trials", type=int, help="default: the study file's")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch threads per arm")
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1], help="spinning processes beside it")
    parser.add_argument("--thread-check", type=int, metavar="K", help="only compare thread counts on K configurations")
    parser.add_argument(
        "--checkouts",
        type=Path,
        nargs="+",
        default=[ROOT],
        help="run the CLI of each checkout in turn (e.g. a `git worktree` of main, then this one)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all arms, alternated")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average at start {loadavg()}")
    if args.thread_check:
        for busy in args.busy:
            thread_check(args.study, args.thread_check, args.threads, busy)
        return
    print(f"alone: data set {measure_alone(args.study):.2f} s\n")
    results = []
    for round_ in range(args.repeat):
        checkouts = args.checkouts if round_ % 2 == 0 else args.checkouts[::-1]
        for busy in args.busy:
            for threads in args.threads:
                for checkout in checkouts:
                    results.append(
                        (checkout, busy, threads, run_arm(args.study, args.n_trials, threads, busy, checkout))
                    )
    print(
        "| checkout | busy | threads | trials | wall s | CPU s | before 1st trial | training loops | Trainer set-up + "
        "validation | rest of trials | between/after | outside training | load avg (1 min) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for checkout, busy, threads, r in results:
        wall = float(r["wall"])

        def part(key: str, r=r, wall=wall) -> str:
            return f"{float(r[key]):.1f} s ({100 * float(r[key]) / wall:.0f}%)"

        print(
            f"| {checkout.resolve().name} | {busy} | {threads} | {r['trials']} | {wall:.1f} | {float(r['cpu']):.1f} | "
            f"{part('before')} | {part('loops')} | {part('fit_rest')} | {part('trial_rest')} | {part('between')} | "
            f"{100 * (1 - float(r['loops']) / wall):.1f}% | {r['load']} |"
        )
    print(
        "\nThe parts outside training, wall seconds (all trials together for the per-trial parts):\n\n"
        "| checkout | busy | threads | python start-up | imports | data | pre-flight checks | storage and study | "
        "rest before | suggest (sampler + param writes) | Trainer construction | test scoring | trial attributes "
        "+ result hooks | hypervolume callback | between trials | after the last trial | Pareto table | exit |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    keys = (
        "python",
        "imports",
        "data",
        "preflight",
        "storage",
        "start_rest",
        "suggest",
        "trainer",
        "test",
        "attrs",
        "hypervolume",
        "in_between",
        "last_callbacks",
        "table",
        "exit",
    )
    for checkout, busy, threads, r in results:
        print(
            f"| {checkout.resolve().name} | {busy} | {threads} | "
            + " | ".join(f"{float(r[k]):.2f}" for k in keys)
            + " |"
        )


if __name__ == "__main__":
    main()
