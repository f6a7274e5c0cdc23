"""Serving throughput: rows/s of each artifact of a Census PLE at batch 1, 64 and 4096, one thread.

Eager (the ServingModel in ``torch.inference_mode``), ``model.pt2`` through ``torch.export.load``,
the same program compiled ahead of time with AOTInductor (if a C++ compiler is at hand),
ONNX Runtime (one intra-op thread) and TorchScript, all in one run, on the same input rows.
Time is CPU time of this process (``time.process_time``), so other work on a shared machine
slows every artifact alike and the ratios stay comparable.

    python benchmarks/serving.py [--max-rows N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import census_ple, machine

from mtlsearch.models import MultiTaskNetwork
from mtlsearch.serving import ServingModel, load_artifact, onnx_missing, raw_inputs, save_artifact
from mtlsearch.training import prepare_data

BATCHES = (1, 64, 4096)


def rows_per_second(predict, codes: np.ndarray, values: np.ndarray, batch: int, seconds: float) -> float:
    """Rows/s of ``predict`` over consecutive slices of ``batch`` rows, CPU time, at least ``seconds``."""
    n = len(codes)
    slices = [(s % (n - batch + 1), batch) for s in range(0, 64 * batch, batch)]
    for start, size in slices[:3]:  # warm-up
        predict(codes[start : start + size], values[start : start + size])
    rows, begin = 0, time.process_time()
    while True:
        for start, size in slices:
            predict(codes[start : start + size], values[start : start + size])
            rows += size
        elapsed = time.process_time() - begin
        if elapsed >= seconds:
            return rows / elapsed


def aoti(program_path: Path, folder: Path):
    """AOTInductor: compile the exported program to a shared library and load it (CPU)."""
    import torch._inductor

    program = torch.export.load(str(program_path))
    package = torch._inductor.aoti_compile_and_package(program, package_path=str(folder / "model-aoti.pt2"))
    runner = torch._inductor.aoti_load_package(package)

    def run(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return runner(torch.from_numpy(codes), torch.from_numpy(values)).numpy()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=None, help="rows read from each Census file (default all)")
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")

    config = census_ple()
    if args.max_rows:
        options = {**config.data.options, "max_rows": args.max_rows}
        config = type(config)(**{**config.__dict__, "data": type(config.data)(config.data.name, options)})
    data = prepare_data(config)
    torch.manual_seed(0)  # speed does not depend on the weights: an untrained network of the same shape
    network = MultiTaskNetwork(config.model, data.features, len(data.tasks)).eval()
    serving = ServingModel(network, data).eval().requires_grad_(False)
    codes_t, values_t = raw_inputs(data.validation, data)
    codes, values = codes_t.numpy(), values_t.numpy()

    folder = Path(tempfile.mkdtemp(prefix="mtlsearch-serving-"))
    example = (codes_t[:2], values_t[:2])
    predictors = {}

    def eager(c: np.ndarray, v: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return serving(torch.from_numpy(c), torch.from_numpy(v)).numpy()

    predictors["eager"] = eager
    notes = {}
    for name, file in (("pt2", "model.pt2"), ("torchscript", "model.pt"), ("onnx", "model.onnx")):
        if name == "onnx" and onnx_missing():
            notes[name] = onnx_missing()
            continue
        save_artifact(name, serving, example, folder / file)
        predictors[name] = load_artifact(name, folder / file, threads=1)
    start = time.perf_counter()
    try:
        predictors["pt2 (AOTInductor)"] = aoti(folder / "model.pt2", folder)
        notes["pt2 (AOTInductor)"] = f"compiled in {time.perf_counter() - start:.0f} s"
    except Exception as error:  # no compiler, or an unsupported op: say so and go on
        notes["pt2 (AOTInductor)"] = f"not measured: {type(error).__name__}: {str(error).splitlines()[0][:200]}"

    reference = eager(codes[:4096], values[:4096])
    results: dict[str, dict[str, float]] = {}
    for name, predict in predictors.items():
        diff = float(np.abs(predict(codes[:4096], values[:4096]) - reference).max())
        results[name] = {"max_abs_diff": diff}
        for batch in BATCHES:
            results[name][f"batch {batch}"] = rows_per_second(predict, codes, values, batch, args.seconds)

    print(f"machine: {machine()}; Census PLE ({network.n_parameters} parameters), {len(codes)} validation rows")
    header = f"{'artifact':<20}" + "".join(f"{f'batch {b} rows/s':>20}" for b in BATCHES) + f"{'x eager @1':>12}"
    print(header)
    base = results["eager"]["batch 1"]
    for name, row in results.items():
        cells = "".join(f"{row[f'batch {b}']:>20,.0f}" for b in BATCHES)
        print(f"{name:<20}{cells}{row['batch 1'] / base:>11.2f}x")
    for name, note in notes.items():
        print(f"{name}: {note}")
    print(json.dumps({"results": results, "notes": notes}))


if __name__ == "__main__":
    main()
