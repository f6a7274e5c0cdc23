"""Worker processes for ``optimize(jobs=N)`` and clean interruption by SIGINT / SIGTERM.

Each worker is a fresh (spawned) process that loads the study from the shared storage and runs
its share of the trials, with cores / N torch threads and, on GPU studies, its own GPU
(``CUDA_VISIBLE_DEVICES``). Workers report back through a queue, so a failing worker becomes
one clear line in the parent instead of a traceback from ``multiprocessing``.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mtlsearch._interrupt import Signalled, cooperative_signals, set_signal_namer
from mtlsearch.errors import MtlsearchError

__all__ = [
    "Interrupted",
    "WorkerReport",
    "run_workers",
    "split_trials",
    "worker_gpus",
]

_STOP_WAIT = 60  # seconds interrupted workers get to mark their trials failed before they are killed


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the study; the trials it found running were marked failed.

    ``signal_name`` is ``SIGINT`` or ``SIGTERM``; ``exit_code`` is 128 + the signal number.
    ``failed_trials``: the numbers of the trials marked failed, counted in the storage by
    :func:`~mtlsearch.search.optimize` (empty when the signal came between trials; None: unknown).
    """

    def __init__(self, signal_name: str = "SIGINT", *, study_name: str = "", storage_url: str = "") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.study_name = study_name
        self.storage_url = storage_url
        self.failed_trials: tuple[int, ...] | None = None

    @property
    def exit_code(self) -> int:
        return 128 + int(getattr(signal, self.signal_name, signal.SIGINT))


def split_trials(n_trials: int, jobs: int) -> list[int]:
    """``n_trials`` split into at most ``jobs`` non-zero shares that add up exactly."""
    return [share for i in range(jobs) if (share := n_trials // jobs + (i < n_trials % jobs))]


def worker_gpus(jobs: int, accelerator: str) -> list[str | None]:
    """The ``CUDA_VISIBLE_DEVICES`` value of each worker: one GPU each, round robin; None on CPU."""
    if accelerator == "cpu":
        return [None] * jobs
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        devices = [d for d in visible.split(",") if d.strip()]
    else:
        import torch

        devices = [str(i) for i in range(torch.cuda.device_count())]
    return [devices[i % len(devices)] if devices else None for i in range(jobs)]


@dataclass(frozen=True)
class WorkerReport:
    """What a worker sends back: ``kind`` is ok, error, interrupted or crashed."""

    index: int
    kind: str
    message: str = ""


def _entry(
    target: Callable[..., None] | str, args: tuple, index: int, gpu: str | None, reports: Any, stop_reason: Any
) -> None:
    """A worker's main: run ``target(*args)`` and report how it ended, without a traceback.

    ``target`` may be ``"module:function"``: the worker imports it itself, as the lazy exports do
    (:func:`~mtlsearch._lazy.import_submodule`: torch and Lightning without the cyclic GC), where
    a function object would be imported, collector on, while the process unpickles its arguments.
    ``stop_reason`` is a shared byte array where the parent writes the signal it received before
    it stops the worker with SIGTERM; the worker's interrupted trial is then named after it.
    The worker freezes its objects when done (``gc.freeze()``), so that its exit does not walk
    torch's and Lightning's objects once more (about 2 s); queues are still flushed at exit.
    """
    try:
        _run_entry(target, args, index, gpu, reports, stop_reason)
    finally:
        gc.freeze()


def _run_entry(
    target: Callable[..., None] | str, args: tuple, index: int, gpu: str | None, reports: Any, stop_reason: Any
) -> None:
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    set_signal_namer(lambda name: stop_reason.value.decode() or name)
    try:
        with cooperative_signals(immediate=True):  # until the run installs its cooperative handler
            if isinstance(target, str):
                from mtlsearch._lazy import import_submodule

                module, name = target.split(":")
                target = getattr(import_submodule(module), name)
            target(*args)
    except (KeyboardInterrupt, Signalled) as error:
        reports.put(WorkerReport(index, "interrupted", getattr(error, "signal_name", "SIGINT")))
        raise SystemExit(130) from None
    except MtlsearchError as error:
        if type(error).__name__ == "StorageLost":  # each worker says so, on its own line
            print(f"mtlsearch worker {index + 1}: error: {error}", file=sys.stderr, flush=True)
            reports.put(WorkerReport(index, "storage-lost", str(error)))
        else:
            reports.put(WorkerReport(index, "error", str(error)))
        raise SystemExit(1) from None
    except Exception as error:  # a bug, reported as one line; the parent names the worker
        reports.put(WorkerReport(index, "crashed", f"{error.__class__.__name__}: {error}"))
        raise SystemExit(1) from None
    reports.put(WorkerReport(index, "ok"))


def run_workers(
    target: Callable[..., None] | str, args_per_worker: list[tuple], gpus: list[str | None], *, what: str
) -> None:
    """Run ``target(*args)`` in one spawned process per entry; raise if any worker failed.

    ``target``: a function, or ``"module:function"`` for the worker to import (see ``_entry``).

    On SIGINT/SIGTERM the workers are asked to stop (each marks its trial failed) and
    :class:`Interrupted` is raised once they have exited. ``what`` names the job in messages.
    """
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    stop_reason = context.Array("c", 16)  # the signal the parent received, for the workers' trials
    workers = [
        context.Process(target=_entry, args=(target, args, i, gpu, reports, stop_reason), name=f"mtlsearch-worker-{i}")
        for i, (args, gpu) in enumerate(zip(args_per_worker, gpus))
    ]
    try:
        with cooperative_signals(immediate=True):  # the parent only waits: stop at once
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
    except (KeyboardInterrupt, Signalled) as error:
        name = getattr(error, "signal_name", "SIGINT")
        stop_reason.value = name.encode()
        _stop(workers)
        raise Interrupted(name) from None
    received: dict[int, WorkerReport] = {}
    while len(received) < len(workers):
        try:
            report = reports.get(timeout=0.5)
        except Exception:  # queue.Empty: a worker died without reporting (kill -9, out of memory)
            break
        received[report.index] = report
    lost = [r for r in received.values() if r.kind == "storage-lost"]
    if lost and all(r.kind in ("storage-lost", "ok") for r in received.values()):
        from mtlsearch.search._storage import StorageLost

        first = lost[0].message
        raise StorageLost(f"{len(lost)} of {len(workers)} workers lost the storage; {first.split(': ', 1)[-1]}")
    problems = []
    for i, worker in enumerate(workers):
        report = received.get(i)
        name = f"worker {i + 1} of {len(workers)} (pid {worker.pid})"
        if report is not None and report.kind == "ok" and worker.exitcode == 0:
            continue
        if report is not None and report.kind == "interrupted":
            problems.append(f"{name} was interrupted ({report.message})")
        elif report is not None and report.kind in ("error", "crashed"):
            problems.append(f"{name}: {report.message}")
        elif worker.exitcode is not None and worker.exitcode < 0:
            problems.append(f"{name} was killed by {signal.Signals(-worker.exitcode).name}")
        else:
            problems.append(f"{name} exited with code {worker.exitcode}")
    if problems:
        raise MtlsearchError(
            "; ".join(problems),
            where=what,
            fix="fix the cause and run the same command again: completed trials are kept, and trials of a "
            "killed worker are retried once their heartbeat's grace period has passed",
        )


def _stop(workers: list[Any]) -> None:
    """Ask running workers to stop (SIGTERM), wait for their clean-up, then kill stragglers.

    SIGTERM, not the parent's SIGINT: a worker still starting up would print a KeyboardInterrupt
    traceback. The parent's own signal is in ``stop_reason``, so the trial still says SIGINT.
    """
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker in workers:
            if worker.is_alive() and worker.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.join(_STOP_WAIT)
            if worker.is_alive():
                worker.kill()
                worker.join()
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
