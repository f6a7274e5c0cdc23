"""A recommender log at scale: generate an AliExpress-like Parquet log, then measure mtlsearch on it.

    python benchmarks/log_scale.py generate --rows 10000000 --out /tmp/log10m
    python benchmarks/log_scale.py load --data /tmp/log10m            # load + encode seconds, peak RSS
    python benchmarks/log_scale.py throughput --data /tmp/log10m --steps 200 --rounds 3
    python benchmarks/log_scale.py embedding-updates                 # dense vs row-wise updates
    python benchmarks/log_scale.py study --data /tmp/log10m --rows 200000 --n-trials 20
    python benchmarks/log_scale.py study --data /tmp/log10m --rows 0 --jobs 2 --batch-size 4096 \
        --expert-widths 16 32                                        # all 10M rows

The log: ``user_id`` (Zipf over 1M values), ``item_id`` (Zipf over 300k), 10 more categoricals
(``cat_0`` .. ``cat_9``, 10 to 50k values), two multi-valued list columns (``history_item_ids``:
up to 20 earlier items, sharing ``item_id``'s table; ``tags``: up to 5 tags), 20 numerics
(``num_0`` .. ``num_19``, some heavy-tailed), and a funnel: ``click`` on every impression,
``purchase`` only after a click. Three tasks: CTR (click, all impressions), CVR (purchase on
clicks) and CTCVR (purchase, all impressions). Rows are generated and written in chunks (one
Parquet row group each), so generation holds one chunk in memory.

Each measuring command runs in its own process and reports its peak resident memory
(``ru_maxrss``), so figures of one step do not include another's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

N_USERS, N_ITEMS = 1_000_000, 300_000
CAT_SIZES = (10, 20, 50, 100, 300, 1000, 3000, 10_000, 30_000, 50_000)
N_NUMERIC = 20
HISTORY_LEN, N_TAGS, TAG_LEN = 20, 2000, 5


def _zipf(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """``n`` ranks 1..len(cdf) drawn with probability proportional to 1 / rank**s (``cdf`` precomputed)."""
    return (np.searchsorted(cdf, rng.random(n)) + 1).astype(np.int32)


def _cdf(n: int, s: float = 1.05) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** s
    return np.cumsum(weights) / weights.sum()


def generate(rows: int, out: Path, chunk: int = 500_000, seed: int = 0) -> Path:
    """Write ``out/log.parquet`` with ``rows`` rows; return its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    path = out / "log.parquet"
    rng = np.random.default_rng(seed)
    user_cdf, item_cdf, tag_cdf = _cdf(N_USERS), _cdf(N_ITEMS), _cdf(N_TAGS, 1.2)
    # Latent effects that make clicks and purchases learnable from the IDs and numerics.
    user_bias = rng.normal(0, 0.5, N_USERS + 1).astype(np.float32)
    item_bias = rng.normal(0, 0.5, N_ITEMS + 1).astype(np.float32)
    item_quality = rng.normal(0, 0.7, N_ITEMS + 1).astype(np.float32)
    cat_bias = [rng.normal(0, 0.3, size + 1).astype(np.float32) for size in CAT_SIZES]
    numeric_weight = rng.normal(0, 0.2, N_NUMERIC).astype(np.float32)
    writer = None
    try:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            user = _zipf(rng, user_cdf, n)
            item = _zipf(rng, item_cdf, n)
            columns: dict[str, pa.Array] = {"user_id": pa.array(user), "item_id": pa.array(item)}
            logit = user_bias[user] + item_bias[item] - 2.0
            for j, size in enumerate(CAT_SIZES):
                values = rng.integers(1, size + 1, n, dtype=np.int32)
                columns[f"cat_{j}"] = pa.array(values)
                logit += cat_bias[j][values]
            # history: 0..20 earlier items (Zipf), a list column; tags: 0..5 tags.
            lengths = rng.integers(0, HISTORY_LEN + 1, n)
            offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
            history = _zipf(rng, item_cdf, int(offsets[-1]))
            columns["history_item_ids"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(history))
            history_quality = np.add.reduceat(item_quality[history], offsets[:-1]) if len(history) else 0
            logit += 0.05 * np.where(lengths > 0, history_quality, 0.0).astype(np.float32)
            tag_lengths = rng.integers(0, TAG_LEN + 1, n)
            tag_offsets = np.concatenate([[0], np.cumsum(tag_lengths)]).astype(np.int32)
            tags = _zipf(rng, tag_cdf, int(tag_offsets[-1])).astype(np.int16)
            columns["tags"] = pa.ListArray.from_arrays(pa.array(tag_offsets), pa.array(tags))
            numeric = rng.standard_normal((n, N_NUMERIC), dtype=np.float32)
            logit += numeric @ numeric_weight
            for j in range(N_NUMERIC):
                # every fourth numeric is a heavy-tailed count (price, dwell time...)
                values = np.exp(numeric[:, j] * 1.5).round(2) if j % 4 == 0 else numeric[:, j]
                columns[f"num_{j}"] = pa.array(values.astype(np.float32))
            click = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
            buy_logit = item_quality[item] + 0.3 * numeric[:, 1] - 2.5
            purchase = click & (rng.random(n) < 1.0 / (1.0 + np.exp(-buy_logit)))
            columns["click"] = pa.array(click.astype(np.int8))
            columns["purchase"] = pa.array(purchase.astype(np.int8))
            table = pa.table(columns)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=chunk)
            print(f"{start + n:>12,} rows", file=sys.stderr, flush=True)
    finally:
        if writer is not None:
            writer.close()
    return path


def schema() -> dict:
    """The benchmark's schema, as a user would write it in YAML."""
    return {
        "categorical": [
            {"name": "user_id", "hash_buckets": 500_000, "embedding_dim": 8},
            {"name": "item_id", "min_count": 2, "embedding_dim": 8},
            *[f"cat_{j}" for j in range(len(CAT_SIZES))],
        ],
        "multi_valued": [
            {"name": "history_item_ids", "max_len": HISTORY_LEN, "pooling": "mean", "share_embedding": "item_id"},
            {"name": "tags", "max_len": TAG_LEN, "pooling": "sum"},
        ],
        "numeric": [f"num_{j}" for j in range(N_NUMERIC)],
        "log1p": [f"num_{j}" for j in range(0, N_NUMERIC, 4)],
        "tasks": [
            {"name": "ctr", "type": "binary", "label": "click"},
            {"name": "cvr", "type": "binary", "label": "purchase", "sample_space": "ctr"},
            {"name": "ctcvr", "type": "binary", "label": "purchase"},
        ],
        "split": {"fractions": [0.8, 0.1, 0.1], "seed": 0},
    }


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def _parquet(data: Path) -> Path:
    return data / "log.parquet" if data.is_dir() else data


def load(data: Path) -> dict:
    """Load + encode the whole file through the ``tabular`` source; seconds and peak RSS."""
    from mtlsearch.data._tabular import tabular

    rss_before = _peak_rss_gb()
    start, cpu = time.perf_counter(), time.process_time()
    dataset = tabular(path=str(_parquet(data)), schema=schema())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    sizes = {
        name: {
            "rows": len(split),
            "categorical": f"{tuple(split.categorical.shape)} {split.categorical.dtype}",
            "numeric": f"{tuple(split.numeric.shape)} {split.numeric.dtype}",
            "MB": round(sum(t.numel() * t.element_size() for t in split.batch()) / 1e6),
        }
        for name, split in (("train", dataset.train), ("validation", dataset.validation), ("test", dataset.test))
    }
    return {
        "rows": sum(s["rows"] for s in sizes.values()),
        "load_encode_seconds": round(seconds, 1),
        "load_encode_cpu_seconds": round(cpu, 1),
        "peak_rss_GB": round(_peak_rss_gb(), 2),
        "peak_rss_before_GB": round(rss_before, 2),
        "splits": sizes,
        "vocab_sizes": dict(zip(dataset.features.categorical, dataset.features.vocab_sizes)),
    }


def _ple(data_options: dict, *, epochs: int = 1, batch_size: int = 2048) -> object:
    from mtlsearch.config import run_config_from_dict

    training = {"epochs": epochs, "batch_size": batch_size, "eval_batch_size": 65536, "lr": 1e-3, "threads": 1}
    return run_config_from_dict(
        {
            "data": {"name": "tabular", "options": data_options},
            "model": {
                "architecture": "ple",
                "levels": 2,
                "specific_experts": 1,
                "shared_experts": 1,
                "expert_hidden": [64],
                "tower_hidden": [32],
                "embedding_dim": 8,
            },
            "training": training,
        }
    )


def throughput(data: Path, steps: int, rounds: int = 3, batch_size: int = 2048) -> dict:
    """Training cost per sample of one PLE on the full file against its first 1M rows.

    Both data sets are loaded first; then, ``rounds`` times and alternating the two arms, the
    same number of shuffled batches is drawn (the data gather, timed alone) and trained on (one
    torch thread, process CPU time; the network and optimiser persist across rounds). Reported:
    the median per arm of the gather and step milliseconds per batch and of samples per CPU
    second, so the ratio shows whether the cost per sample grows with the number of rows, and
    which part does.
    """
    import statistics

    import pyarrow.parquet as pq
    import torch

    from mtlsearch.data import BatchLoader
    from mtlsearch.data._tabular import tabular
    from mtlsearch.models import MultiTaskNetwork
    from mtlsearch.training import make_optimizer, task_losses

    torch.set_num_threads(1)
    full = _parquet(data)
    small = full.parent / "log_1m.parquet"
    if not small.exists():
        pq.write_table(pq.ParquetFile(full).read_row_groups([0, 1]), small, compression="zstd")
    arms = {}
    for label, path in (("1M", small), ("full", full)):
        dataset = tabular(path=str(path), schema=schema())
        config = _ple({})
        torch.manual_seed(0)
        network = MultiTaskNetwork(config.model, dataset.features, len(dataset.tasks))
        arms[label] = {
            "dataset": dataset,
            "network": network,
            "optimizer": make_optimizer(config.training, network.parameters()),
            "binary": torch.tensor([t.type == "binary" for t in dataset.tasks]),
            "gather_ms": [],
            "step_ms": [],
        }
    for round_ in range(rounds):
        for arm in arms.values():
            loader = BatchLoader(arm["dataset"].train, batch_size, shuffle=True, seed=round_)
            cpu, batches = time.process_time(), []
            for i, batch in enumerate(loader):
                if i == steps:
                    break
                batches.append(batch)
            arm["gather_ms"].append((time.process_time() - cpu) / len(batches) * 1e3)
            network, optimizer = arm["network"], arm["optimizer"]
            cpu = time.process_time()
            for batch in batches:
                logits = network(batch.categorical, batch.numeric)
                loss = task_losses(logits, batch.labels, batch.masks.float(), arm["binary"]).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            arm["step_ms"].append((time.process_time() - cpu) / len(batches) * 1e3)
    out: dict = {"batch_size": batch_size, "steps": steps, "rounds": rounds}
    for label, arm in arms.items():
        gather, step = statistics.median(arm["gather_ms"]), statistics.median(arm["step_ms"])
        out[label] = {
            "train_rows": len(arm["dataset"].train),
            "embedding_rows": sum(table.weight.shape[0] for table in arm["network"].inputs.tables),
            "gather_ms": round(gather, 2),
            "step_ms": round(step, 2),
            "samples_per_cpu_second": round(batch_size / (gather + step) * 1e3),
            "rounds_step_ms": [round(v, 2) for v in arm["step_ms"]],
        }
    out["ratio_full_over_1M"] = round(out["full"]["samples_per_cpu_second"] / out["1M"]["samples_per_cpu_second"], 3)
    out["peak_rss_GB"] = round(_peak_rss_gb(), 2)
    return out


def embedding_updates(steps: int = 30, rounds: int = 3, batch_size: int = 2048, lookups: int = 37) -> dict:
    """What one step of the embedding part costs, by update rule and table size.

    A table of ``rows`` x 8 with Zipf(1.05) codes, ``batch_size * lookups`` look-ups a step (the
    log's 12 categorical columns and 25 list slots), loss sum of squares; milliseconds per step
    (one torch thread, process CPU time, median of ``rounds`` alternated rounds) of

    - ``dense``: ``index_select`` and fused Adam over the whole table (what training does);
    - ``sparse_adam``: ``F.embedding(sparse=True)`` and ``torch.optim.SparseAdam``;
    - ``lazy_adam``: the step's unique rows gathered into a small leaf, Adam on those rows only
      (moments kept per row, as TensorFlow's LazyAdam).

    The last two update only the rows a batch touches; the question is whether that pays on CPU.
    """
    import statistics

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    out: dict = {}
    for rows in (10_000, 100_000, 900_000):
        codes = torch.from_numpy(_zipf(rng, _cdf(rows), steps * batch_size * lookups) - 1).long().view(steps, -1)
        times: dict[str, list[float]] = {"dense": [], "sparse_adam": [], "lazy_adam": []}
        unique = 0
        for _ in range(rounds):
            for rule in times:
                torch.manual_seed(0)
                weight = torch.nn.Parameter(torch.randn(rows, 8) * 0.01)
                if rule == "dense":
                    optimizer = torch.optim.Adam([weight], lr=1e-3, fused=True)
                elif rule == "sparse_adam":
                    optimizer = torch.optim.SparseAdam([weight], lr=1e-3)
                else:
                    m, v = torch.zeros_like(weight), torch.zeros_like(weight)
                cpu = time.process_time()
                for step in range(steps):
                    if rule == "lazy_adam":
                        rows_used, inverse = torch.unique(codes[step], return_inverse=True)
                        unique = len(rows_used)
                        leaf = weight.detach().index_select(0, rows_used).requires_grad_()
                        embedded = leaf.index_select(0, inverse)
                        (embedded * embedded).sum().backward()
                        g = leaf.grad
                        mu = m.index_select(0, rows_used).mul_(0.9).add_(g, alpha=0.1)
                        vu = v.index_select(0, rows_used).mul_(0.999).addcmul_(g, g, value=0.001)
                        m.index_copy_(0, rows_used, mu)
                        v.index_copy_(0, rows_used, vu)
                        update = (mu / (1 - 0.9 ** (step + 1))) / (vu / (1 - 0.999 ** (step + 1))).sqrt_().add_(1e-8)
                        weight.data.index_add_(0, rows_used, update, alpha=-1e-3)
                        continue
                    if rule == "dense":
                        embedded = weight.index_select(0, codes[step])
                    else:
                        embedded = F.embedding(codes[step], weight, sparse=True)
                    optimizer.zero_grad()
                    (embedded * embedded).sum().backward()
                    optimizer.step()
                times[rule].append((time.process_time() - cpu) / steps * 1e3)
        out[str(rows)] = {
            "unique_rows_per_step": unique,
            **{rule: round(statistics.median(ms), 2) for rule, ms in times.items()},
        }
    return out


def _subsample(data: Path, rows: int) -> Path:
    """The first ``rows`` rows of the log (whole row groups, then cut), as their own file; the log
    itself when ``rows`` is 0 or covers it."""
    import pyarrow.parquet as pq

    full = _parquet(data)
    if rows == 0 or rows >= pq.ParquetFile(full).metadata.num_rows:
        return full
    out = full.parent / f"log_{rows}.parquet"
    if not out.exists():
        source = pq.ParquetFile(full)
        groups, n = [], 0
        while n < rows:
            groups.append(len(groups))
            n += source.metadata.row_group(groups[-1]).num_rows
        pq.write_table(source.read_row_groups(groups).slice(0, rows), out, compression="zstd")
    return out


def _memory(pids: list[int]) -> tuple[float, float, float]:
    """Summed RSS, PSS and anonymous (private) memory in GB of ``pids``. PSS splits shared pages
    among the processes mapping them; anonymous memory is what no other process can share."""
    totals = {"Rss:": 0.0, "Pss:": 0.0, "Anonymous:": 0.0}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                key = line.split(maxsplit=1)[0] if line else ""
                if key in totals:
                    totals[key] += int(line.split()[1]) / 1024**2
        except OSError:
            continue
    return totals["Rss:"], totals["Pss:"], totals["Anonymous:"]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def study(
    data: Path,
    rows: int,
    n_trials: int,
    jobs: int,
    epochs: int,
    batch_size: int = 2048,
    expert_widths: tuple[int, ...] = (16, 32, 64),
) -> dict:
    """A pruned ``n_trials``-trial PLE study on the first ``rows`` rows; wall time, trial states and
    the memory of the parent and its workers (sampled every second)."""
    import threading

    import optuna
    import yaml

    from mtlsearch.search import optimize

    path = _subsample(data, rows)
    folder = path.parent / f"study_{rows}_{jobs}_{batch_size}"
    folder.mkdir(exist_ok=True)
    study_file = folder / "log-ple.yaml"
    # The PLE space sized for this CPU budget: at most 2 levels of 1-2 experts a group.
    space = {
        "params": {
            "architecture": "ple",
            "levels": {"type": "int", "low": 1, "high": 2},
            "specific_experts": {"type": "int", "low": 1, "high": 2},
            "shared_experts": {"type": "int", "low": 1, "high": 2},
            "expert_width": {"type": "categorical", "choices": list(expert_widths)},
            "tower_width": {"type": "int", "low": 8, "high": 32, "step": 8},
            "embedding_dim": {"type": "categorical", "choices": [4, 8]},
            "dropout": {"type": "float", "low": 0.0, "high": 0.3},
            "loss_weight": {"type": "float", "low": 0.2, "high": 5.0, "log": True},
            "optimizer": "adam",
            "lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True},
            "batch_size": batch_size,
        }
    }
    (folder / "log-ple-space.yaml").write_text(yaml.safe_dump(space, sort_keys=False))
    study_file.write_text(
        yaml.safe_dump(
            {
                "name": f"log-ple-{rows}-{jobs}-{batch_size}",
                "data": {"name": "tabular", "options": {"path": str(path), "schema": schema()}},
                "objectives": [{"task": t, "metric": "auc"} for t in ("ctr", "cvr", "ctcvr")],
                "search_space": "log-ple-space.yaml",
                "training": {"epochs": epochs, "patience": 1, "batch_size": batch_size, "threads": 1},
                "sampler": {"name": "tpe", "seed": 0},
                "pruning": {"enabled": True, "reduction_factor": 3, "min_trials": 4},
                "n_trials": n_trials,
                "seed": 0,
            },
            sort_keys=False,
        )
    )
    storage = f"sqlite:///{folder / 'study.db'}"
    peak = {"workers_rss_GB": 0.0, "workers_pss_GB": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            rss, pss, _ = _memory(_children(os.getpid()))
            peak["workers_rss_GB"] = max(peak["workers_rss_GB"], rss)
            peak["workers_pss_GB"] = max(peak["workers_pss_GB"], pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = optimize(str(study_file), storage=storage, jobs=jobs)
    seconds = time.perf_counter() - start
    done.set()
    states = [t.state.name for t in result.trials]
    return {
        "rows": rows,
        "jobs": jobs,
        "epochs": epochs,
        "batch_size": batch_size,
        "expert_widths": list(expert_widths),
        "wall_seconds": round(seconds),
        "trials": {s: states.count(s) for s in sorted(set(states))},
        "parent_peak_rss_GB": round(_peak_rss_gb(), 2),
        **{k: round(v, 2) for k, v in peak.items()},
        "pareto_front": [[round(v, 4) for v in t.values] for t in result.best_trials],
        "optuna": optuna.__version__,
    }


def _share_worker(mode: str, folder: str, path: str, ready, release) -> None:
    """Load the data as a study worker would (``mmap``: the parent's saved arrays; ``source``: the
    file again; ``none``: nothing), read every row once, then wait while the parent measures."""
    import torch

    from mtlsearch.data import BatchLoader, MultiTaskData
    from mtlsearch.data._tabular import tabular

    torch.set_num_threads(1)
    data = None
    if mode == "mmap":
        data = MultiTaskData.load(folder)
    elif mode == "source":
        data = tabular(path=path, schema=schema())
    if data is not None:
        for split in (data.train, data.validation, data.test):
            for batch in BatchLoader(split, 65536, shuffle=True):
                batch.categorical.sum(), batch.numeric.sum()  # touch every page
    ready.put(os.getpid())
    release.wait()


def share(data: Path, rows: int, jobs: int) -> dict:
    """Memory of ``jobs`` worker processes holding the encoded data: mapped from the parent's saved
    arrays (what ``optimize(jobs=N)`` does) against each loading the source itself (the old way)."""
    import multiprocessing
    import tempfile

    from mtlsearch.data._tabular import tabular

    path = _subsample(data, rows) if rows else _parquet(data)
    dataset = tabular(path=str(path), schema=schema())
    encoded_mb = (
        sum(t.numel() * t.element_size() for s in (dataset.train, dataset.validation, dataset.test) for t in s.batch())
        / 1e6
    )
    out = {
        "rows": len(dataset.train) + len(dataset.validation) + len(dataset.test),
        "jobs": jobs,
        "encoded_MB": round(encoded_mb),
    }
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        dataset.save(folder)
        del dataset
        for mode in ("none", "mmap", "source"):
            ready, release = context.Queue(), context.Event()
            workers = [
                context.Process(target=_share_worker, args=(mode, folder, str(path), ready, release))
                for _ in range(jobs)
            ]
            for worker in workers:
                worker.start()
            pids = [ready.get() for _ in workers]
            rss, pss, anonymous = _memory(pids)
            release.set()
            for worker in workers:
                worker.join()
            out[mode] = {
                "workers_rss_MB": round(rss * 1024),
                "workers_pss_MB": round(pss * 1024),
                "workers_private_MB": round(anonymous * 1024),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--rows", type=int, default=10_000_000)
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--chunk", type=int, default=500_000)
    e = sub.add_parser("embedding-updates")
    e.add_argument("--steps", type=int, default=30)
    for name in ("load", "throughput", "study", "share"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, required=True)
        if name == "throughput":
            p.add_argument("--steps", type=int, default=200)
            p.add_argument("--rounds", type=int, default=3)
        if name in ("study", "share"):
            p.add_argument("--rows", type=int, default=200_000, help="the first ROWS rows; 0: all")
            p.add_argument("--jobs", type=int, default=1 if name == "study" else 2)
        if name == "study":
            p.add_argument("--n-trials", type=int, default=20)
            p.add_argument("--epochs", type=int, default=2)
            p.add_argument("--batch-size", type=int, default=2048)
            p.add_argument("--expert-widths", type=int, nargs="+", default=[16, 32, 64])
    args = parser.parse_args()
    if args.command == "generate":
        start = time.perf_counter()
        path = generate(args.rows, args.out, args.chunk)
        result = {
            "file": str(path),
            "MB": round(os.path.getsize(path) / 1e6),
            "seconds": round(time.perf_counter() - start),
        }
    elif args.command == "embedding-updates":
        result = embedding_updates(args.steps)
    elif args.command == "load":
        result = load(args.data)
    elif args.command == "study":
        result = study(
            args.data, args.rows, args.n_trials, args.jobs, args.epochs, args.batch_size, tuple(args.expert_widths)
        )
    elif args.command == "share":
        result = share(args.data, args.rows, args.jobs)
    else:
        result = throughput(args.data, args.steps, args.rounds)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
