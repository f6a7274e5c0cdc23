"""Does SQLite keep up with N worker processes, compared with Optuna's journal file storage?

Each worker process runs ``--trials`` trials of a storage-bound objective: it suggests as many
parameters and writes as many user attributes as an mtlsearch trial does, then sleeps
``--work`` seconds (the training; real trials take seconds to minutes). Reports, per storage and
worker count, the wall time, trials per second, storage seconds per trial and errors
("database is locked" and friends).

    python benchmarks/storage.py --workers 1 2 4 8 --trials 40 --work 0.02

Wall time counts from the moment all workers are ready (imports excluded) to the last one's end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import optuna

from mtlsearch.search._storage import open_storage

__all__ = ["main", "measure"]


def _objective(work: float):
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)]
        trial.suggest_categorical("architecture", ["mmoe", "cgc", "ple"])
        trial.suggest_int("levels", 1, 3)
        for key in ("config", "validation", "test", "n_parameters", "train_seconds", "best_epoch", "history"):
            trial.set_user_attr(key, {"value": x, "history": [x] * 5})
        time.sleep(work)
        return sum(x), x[0]

    return objective


def _worker(url: str, trials: int, work: float, errors, times, start) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="bench", storage=open_storage(url), sampler=optuna.samplers.RandomSampler())
    start.wait()  # all workers start trials together, after their imports
    begin = time.perf_counter()
    try:
        study.optimize(_objective(work), n_trials=trials)
    except Exception as error:  # the point of the benchmark: count them
        errors.put(f"{error.__class__.__name__}: {str(error).splitlines()[0][:120]}")
    times.put(time.perf_counter() - begin)


def measure(url: str, workers: int, trials: int, work: float) -> dict[str, float | int | str]:
    """Run ``workers`` processes of ``trials`` trials each against ``url``; timings and errors."""
    optuna.create_study(study_name="bench", storage=open_storage(url), directions=["maximize", "minimize"])
    context = multiprocessing.get_context("spawn")
    errors, times, start = context.Queue(), context.Queue(), context.Barrier(workers)
    processes = [
        context.Process(target=_worker, args=(url, trials, work, errors, times, start)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    wall = max(times.get() for _ in processes)  # from the common start to the last worker's end
    found = []
    while not errors.empty():
        found.append(errors.get())
    study = optuna.load_study(study_name="bench", storage=open_storage(url))
    numbers = [t.number for t in study.trials]
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    return {
        "workers": workers,
        "trials": done,
        "duplicates": len(numbers) - len(set(numbers)),
        "wall_s": round(wall, 2),
        "trials_per_s": round(done / wall, 1),
        # time a worker spends on the storage per trial, beyond the simulated training
        "storage_ms_per_trial": round(1000 * (wall * workers / max(done, 1) - work), 1),
        "errors": len(found),
        "first_error": found[0] if found else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--trials", type=int, default=40, help="trials per worker")
    parser.add_argument("--work", type=float, default=0.02, help="seconds of simulated training per trial")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for workers in args.workers:
            for kind in ("sqlite", "journal"):
                path = Path(folder) / f"{kind}-{workers}"
                url = f"sqlite:///{path}.db" if kind == "sqlite" else f"journal:///{path}.log"
                print(kind, measure(url, workers, args.trials, args.work), flush=True)


if __name__ == "__main__":
    main()
