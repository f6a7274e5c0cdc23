"""Command-line start-up: wall and CPU time of each read-only command against ``python -c pass``.

Each command runs ``--repeats`` times in a fresh interpreter, alternating; the table gives the
median wall seconds and the median CPU seconds (user + system of the child, from
``resource.getrusage(RUSAGE_CHILDREN)``), and the CPU time over that of ``python -c pass``.
CPU time is the steadier measure on a shared machine. A one-trial study (synthetic data, one
epoch) is made first in a temporary folder for ``pareto``, ``export`` and ``dashboard``
(``dashboard`` is given a busy port, so it stops after loading the study: its start-up only).
Targets (issue 13): ``--help`` under 0.5 s and ``pareto`` under 1.5 s of CPU.

    nice python benchmarks/cli_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from mtlsearch.cli import main; sys.exit(main())"]
STUDY = """name: startup
data: {name: synthetic-video, options: {n_samples: 400, dim: 8}}
objectives: [{task: vtr, metric: auc}, {task: vcr, metric: mse}]
search_space: ple
training: {epochs: 1, patience: 1}
sampler: {name: random, seed: 0}
n_trials: 1
"""


def timed(command: list[str], cwd: str) -> tuple[float, float, int]:
    """(wall s, CPU s, exit code) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env_path}" if env_path else str(ROOT)
    with tempfile.TemporaryDirectory() as folder, socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        (Path(folder) / "startup.yaml").write_text(STUDY)
        storage = ["--storage", f"sqlite:///{folder}/s.db"]
        made = subprocess.run(
            [*CLI, "optimize", "--study", "startup.yaml", "--no-progress", *storage], cwd=folder, capture_output=True
        )
        if made.returncode:
            raise SystemExit(f"could not make the study: {made.stderr.decode()[-500:]}")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import torch' (reference)": [sys.executable, "-c", "import torch"],
            "mtlsearch --help": [*CLI, "--help"],
            "mtlsearch --version": [*CLI, "--version"],
            "mtlsearch pareto": [*CLI, "pareto", "--study", "startup", *storage],
            "mtlsearch export --pick knee": [
                *CLI,
                "export",
                "--study",
                "startup",
                "--pick",
                "knee",
                "--out",
                "x.yaml",
                *storage,
            ],
            "mtlsearch dashboard (until it listens)": [
                *CLI,
                "dashboard",
                "--study",
                "startup",
                "--port",
                str(busy.getsockname()[1]),
                *storage,
            ],
        }
        runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                runs[name].append(timed(command, folder))
    base_cpu = statistics.median(cpu for _, cpu, _ in runs["python -c pass"])
    print(f"{args.repeats} runs each, alternating; medians; machine load {os.getloadavg()[0]:.1f} at the end\n")
    print("| command | wall s | CPU s | CPU / `python -c pass` | exit codes |")
    print("|---|---|---|---|---|")
    for name, results in runs.items():
        wall = statistics.median(w for w, _, _ in results)
        cpu = statistics.median(c for _, c, _ in results)
        codes = ",".join(sorted({str(code) for _, _, code in results}))
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / base_cpu:.1f}x | {codes} |")


if __name__ == "__main__":
    main()
