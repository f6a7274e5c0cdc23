"""What the pre-flight check of a study costs, next to loading its data: CPU seconds, one thread.

``optimize`` checks the whole study before it opens the storage (``mtlsearch.search.preflight``):
it loads the data (which a run needs anyway), then checks the base run and the extreme points of
the search space against it and tries the sampler. This measures the part beyond the data load,
per shipped study, in one run.

    python benchmarks/preflight.py [--studies ple family census-family]
"""

from __future__ import annotations

import argparse
import time

import torch

from mtlsearch.search._optimize import _extreme_params, preflight
from mtlsearch.search._space import load_search_space
from mtlsearch.search._study import load_study_config
from mtlsearch.training import prepare_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="+", default=["ple", "family", "census-family"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        "| study | sampler | extreme points | data load (s CPU) | pre-flight incl. data load (s CPU) "
        "| pre-flight beyond the load |"
    )
    print("|---|---|---|---|---|---|")
    for name in args.studies:
        config = load_study_config(name)
        space = load_search_space(str(config.search_space_path()))
        base = config.base_run_config()
        points = sum(1 for _ in _extreme_params(space, config.task_names))
        prepare_data(base), preflight(config, space, base)  # warm: imports, file caches
        load, full = [], []
        for _ in range(args.repeats):
            start = time.process_time()
            prepare_data(base)
            load.append(time.process_time() - start)
            start = time.process_time()
            preflight(config, space, base)
            full.append(time.process_time() - start)
        load_s, full_s = min(load), min(full)
        print(f"| {name} | {config.sampler.name} | {points} | {load_s:.2f} | {full_s:.2f} | {full_s - load_s:.2f} |")


if __name__ == "__main__":
    main()
