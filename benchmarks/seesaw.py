"""The seesaw on synthetic-video: MTL gain over single-task models as task correlation drops.

    python benchmarks/seesaw.py [--correlations 0.9 0.5 0.0 -0.5] [--seeds 0 1] [--n-samples 20000]

For each correlation p, trains single-task, shared-bottom, MMoE, CGC and PLE with the same budget
and seeds, and reports each architecture's mean test MTL gain per task (AUC: MTL - single; MSE:
single - MTL, so positive is better for both). Weaker correlation should make hard sharing pay
on one task and lose on the other (the seesaw), while CGC/PLE keep both gains higher.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from _common import machine

from mtlsearch.analysis import seesaw
from mtlsearch.config import run_config_from_dict
from mtlsearch.training import prepare_data, train

ARCHITECTURES = ("single-task", "shared-bottom", "mmoe", "cgc", "ple")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--correlations", type=float, nargs="+", default=[0.9, 0.5, 0.0, -0.5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {machine()}")
    print(
        f"synthetic-video, {args.n_samples} samples, dim 32, {args.epochs} epochs (patience 3), seeds {args.seeds}; "
        "experts of 32 units, towers of 16\n"
    )
    print("| p | architecture | test VTR AUC | test VCR MSE | gain VTR AUC | gain VCR MSE | seesaw |")
    print("|---|---|---|---|---|---|---|")
    for p in args.correlations:
        metrics: dict[str, list[tuple[float, float]]] = {a: [] for a in ARCHITECTURES}
        for seed in args.seeds:
            base = {
                "data": {
                    "name": "synthetic-video",
                    "options": {"n_samples": args.n_samples, "dim": 32, "correlation": p, "seed": seed},
                },
                "training": {"epochs": args.epochs, "patience": 3, "batch_size": 512, "lr": 3e-3},
                "seed": seed,
            }
            data = prepare_data(run_config_from_dict(base))
            for architecture in ARCHITECTURES:
                config = run_config_from_dict(
                    {**base, "model": {"architecture": architecture, "expert_hidden": [32], "tower_hidden": [16]}}
                )
                result = train(config, data)
                metrics[architecture].append((result.test["vtr/auc"], result.test["vcr/mse"]))
        single_auc = statistics.mean(m[0] for m in metrics["single-task"])
        single_mse = statistics.mean(m[1] for m in metrics["single-task"])
        for architecture in ARCHITECTURES:
            auc = statistics.mean(m[0] for m in metrics[architecture])
            mse = statistics.mean(m[1] for m in metrics[architecture])
            gain_auc, gain_mse = auc - single_auc, single_mse - mse
            gains = {"vtr": gain_auc, "vcr": gain_mse}
            mark = "" if architecture == "single-task" else seesaw(gains) or "both lose"
            print(f"| {p} | {architecture} | {auc:.4f} | {mse:.5f} | {gain_auc:+.4f} | {gain_mse:+.5f} | {mark} |")


if __name__ == "__main__":
    main()
