"""The paper's sets of runs, and how they share a GPU: packs, the order of jobs, a pool of streams, a plan.

A *sweep* is a list of runs (model, shortcut), trained for one or more seeds. Runs of one depth go into
packs (``resnet_book.packed``), and jobs start longest first so that the last to start is short
(``packs``, ``job_cost``); ``run_pool`` trains several jobs at once, each on its own CUDA stream.
``plan`` says before a GPU is spent what a sweep will cost on it, from the measured throughput in
``data/benchmarks``, and, given a time budget of the user's, which sitting of that length each job falls in.
"""

from __future__ import annotations

import time
from typing import Callable

from .models import Net
from .recipe import warms_up
from .train import Trainer, progress_bar, show

SWEEPS = {
    # Fig. 6 (left) and Fig. 1: plain nets get worse with depth.
    "fig6-plain": [("plain20", None), ("plain32", None), ("plain44", None), ("plain56", None)],
    # Fig. 6 (middle), Table 6: ResNets get better with depth (option A).
    "fig6-resnet": [("resnet20", "A"), ("resnet32", "A"), ("resnet44", "A"), ("resnet56", "A"), ("resnet110", "A")],
    # Sec. 3.3 / Table 3 on CIFAR-10: options B and C (A is in fig6-resnet).
    "shortcuts": [("resnet20", "B"), ("resnet20", "C"), ("resnet56", "B"), ("resnet56", "C")],
    # Table 6 reports ResNet-110 over 5 runs: "best (mean +- std)"
    "resnet110": [("resnet110", "A")],
    # The sequel (Identity Mappings): ResNet-110 of full pre-activation units (paper.SEQUEL_CIFAR10).
    "sequel": [("preact-resnet110", "A")],
}
# twins side by side (same cost, so they finish together when trained concurrently), ResNet-110 last
SWEEPS["fig6"] = [run for pair in zip(SWEEPS["fig6-resnet"], SWEEPS["fig6-plain"]) for run in pair] + [("resnet110", "A")]
SWEEPS["all"] = SWEEPS["fig6"][:-1] + SWEEPS["shortcuts"] + SWEEPS["fig6"][-1:]

Run = tuple  # (model, shortcut) or (model, shortcut, seed)


def depth(model: str, shortcut: str | None) -> int:
    """Layers of a CIFAR-10 net (the name is checked: an impossible depth is a clear error)."""
    return Net.parse(model, shortcut, family="cifar").depth


def packs(runs: list[Run], size: int) -> list[list[Run]]:
    """Runs (model, shortcut[, seed]) of one depth go into packs of up to ``size`` (first-seen order), seeds
    too (each run then trains on its own batches); warm-up runs and the sequel's nets train alone."""
    groups: dict = {}
    for run in runs:
        net = Net.parse(*run[:2], family="cifar")
        alone = size == 1 or warms_up(net.name) or net.preact or net.bottleneck  # packed.py: basic blocks only
        key = run if alone else net.depth
        groups.setdefault(key, []).append(run)
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]


def job_cost(runs: list[Run]) -> float:
    """Relative time of a job: depth x runs**0.75. On the H100 a pack of 2 took 1.6x and a pack of 4
    2.8x the time per step of one run (``data/benchmarks``), so a pack of two ResNet-56s (94) is shorter
    than one ResNet-110 (110), and a pack of four (158) is longer."""
    return depth(*runs[0][:2]) * len(runs) ** 0.75


# ------------------------------------------------------------------------------------------ the plan

# a benchmark row's measured packs of different nets of one depth: runs in the pack -> its key in ``packed``
PACKED_KEYS = {2: "twins", 4: "options"}


def images_per_second(benchmark: dict) -> dict[int, dict[int, float]]:
    """Measured images/s of all runs of a pack, ``{depth: {runs in the pack: img/s}}``, from a benchmark
    record (``resnet_book.bench``, validated): one run alone, and packs of 2 and 4 where they were measured
    (a pack that failed is absent from the record)."""
    rates: dict[int, dict[int, float]] = {}
    for model, row in benchmark["models"].items():
        packed = row.get("packed", {})
        rates[depth(model, None)] = {1: row["ours_img_s"]} | {k: packed[key] for k, key in PACKED_KEYS.items() if key in packed}
    return rates


def _between(points: dict[int, float], x: float) -> float:
    """``points`` read at ``x``: linear between the measured points, the nearest two beyond them."""
    xs = sorted(points)
    if len(xs) == 1:
        return points[xs[0]]
    i = max(1, min(len(xs) - 1, sum(p <= x for p in xs)))
    x0, x1 = xs[i - 1], xs[i]
    return points[x0] + (points[x1] - points[x0]) * (x - x0) / (x1 - x0)


def estimate_seconds(job: list[Run], rates: dict[int, dict[int, float]], iterations: int, batch_size: int = 128) -> float:
    """Training time of a job (its runs packed) from measured throughput: the seconds per image of one
    iteration of the pack, interpolated in the pack's size, then in depth (time grows about linearly
    with depth). Test-set evaluations (128 of them in the paper's schedule) add a little on top."""
    d, k = depth(*job[0][:2]), len(job)
    per_depth = {dd: _between({kk: 1 / r for kk, r in by_k.items()}, k) for dd, by_k in rates.items()}
    return iterations * batch_size * k * _between(per_depth, d)


def plan(
    jobs: list[list[Run]], rates: dict[int, dict[int, float]], iterations: int, budget_minutes: float | None = None
) -> list[dict]:
    """The jobs in order with their estimated minutes; with a time budget of the user's (``--max-minutes``),
    the sitting of that many minutes each falls in (sittings filled in order) and whether it fits one at all
    (a longer job continues from its checkpoint in the next)."""
    rows, sitting, used = [], 1, 0.0
    for job in jobs:
        minutes = estimate_seconds(job, rates, iterations) / 60
        if budget_minutes is not None and used and used + minutes > budget_minutes:
            sitting, used = sitting + 1, 0.0
        used += minutes
        fits = budget_minutes is None or minutes <= budget_minutes
        rows.append({"job": job, "minutes": minutes, "sitting": sitting, "fits": fits})
    return rows


def cost(model: str, iterations: int = 64_000, benchmark: dict | None = None) -> dict:
    """What one run of ``model`` costs: GPU minutes estimated from the benchmark (``measured`` says whether
    its depth was measured or is extrapolated from the measured depths) and the size of its checkpoint
    (weights, momentum and BN statistics in float32), which must be kept if the run is stopped and continued."""
    from .benchmarks import load_benchmarks

    benchmark = benchmark or load_benchmarks()[0]
    rates = images_per_second(benchmark)
    net = Net.parse(model, family="cifar").build()
    floats = 2 * sum(p.numel() for p in net.parameters()) + sum(b.numel() for b in net.buffers())
    return {
        "gpu": benchmark["gpu"],
        "minutes": estimate_seconds([(model, None)], rates, iterations) / 60,
        "measured": net.arch.depth in rates,
        "checkpoint_mb": 4 * floats / 1e6,
    }


# Peak float32 throughput without tensor cores (TFLOPS) and memory bandwidth (GB/s), from NVIDIA's
# datasheets: the two GPUs the book meets, the benchmark's H100 and Colab's usual T4.
GPU_SPECS = {
    "NVIDIA H100 80GB HBM3": {"fp32_tflops": 67.0, "bandwidth_gb_s": 3350.0},  # H100 SXM5
    "Tesla T4": {"fp32_tflops": 8.1, "bandwidth_gb_s": 320.0},
}


def on_t4(model: str, iterations: int, batch_size: int = 128, benchmark: dict | None = None) -> dict:
    """An estimate, not a measurement, of how long ``iterations`` of ``model`` train on Colab's T4.

    A T4 has no native bf16, so the fast path trains in float32 there (``train.amp_choice``). Start from
    the float32 images/s our CUDA-graph step measured on the benchmark's GPU (lever ``graph_fp32``, read
    at the net's depth as ``estimate_seconds`` does) and scale it by the *lower* of the T4's two ratios to
    that GPU: peak float32 throughput and memory bandwidth (``GPU_SPECS``). That assumes the T4 reaches the
    same share of its peak as the benchmark's GPU did; a small CIFAR-10 net is far from either peak, so
    the real time may differ in either direction. Training steps only: evaluations add about a tenth."""
    from .benchmarks import load_benchmarks

    benchmark = benchmark or load_benchmarks()[0]
    measured = {
        depth(m, None): row["levers"]["graph_fp32"]
        for m, row in benchmark["models"].items()
        if "graph_fp32" in row.get("levers", {})
    }
    if not measured or benchmark["gpu"] not in GPU_SPECS:
        raise ValueError(f"no float32 measurement to scale from in the benchmark of {benchmark['gpu']}")
    there, t4 = GPU_SPECS[benchmark["gpu"]], GPU_SPECS["Tesla T4"]
    scale = min(t4[k] / there[k] for k in t4)
    seconds_per_image = _between({d: 1 / r for d, r in measured.items()}, depth(model, None)) / scale
    return {
        "minutes": iterations * batch_size * seconds_per_image / 60,
        "img_s": 1 / seconds_per_image,
        "from_gpu": benchmark["gpu"],
        "scale": scale,
    }


# ------------------------------------------------------------------------------------------ the pool


def run_pool(
    jobs: list[Callable[[], Trainer]],
    concurrent: int,
    max_seconds: float | None,
    on_done: Callable[[Trainer], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Train up to ``concurrent`` jobs at once, each on its own CUDA stream and at its own pace.

    Each run has a window of steps (``Trainer.queue_window``) queued on its stream; the host looks at a
    run only once its window is done (``Trainer.ready``, then ``end_window``) and queues the next one, so a fast run
    never waits for a slow one, and a finished run's slot goes to the next job at once. After
    ``max_seconds``, or once ``stop()`` says so (Ctrl-C), every live run stops at its next log point with a
    checkpoint and no other job starts. Returns the number of jobs finished.
    """
    pending, live, bars, finished = list(jobs), [], {}, 0
    start = time.perf_counter()

    def leave(t: Trainer) -> None:
        live.remove(t)
        t.stop_clock()
        bars.pop(id(t)).close()

    def time_is_up() -> bool:
        return (max_seconds is not None and time.perf_counter() - start > max_seconds) or (stop is not None and stop())

    try:
        while pending or live:
            while pending and len(live) < concurrent and not time_is_up():
                t = pending.pop(0)()
                t.start_clock()
                live.append(t)
                for o in live:  # the record says so: wall time is shared with these runs
                    o.trained_with += [p.label for p in live if p is not o and p.label not in o.trained_with]
                bars[id(t)] = progress_bar(t, position=len(live) - 1, disable=t.done)
                t.queue_window()  # its first window, queued before any host sync
            if not live:
                break
            ready = [t for t in live if t.ready()]
            if not ready:
                time.sleep(0.0005)
                continue
            for t in ready:
                show(bars[id(t)], t, t.end_window())
                if t.done:
                    leave(t)
                    finished += 1
                    if on_done is not None:
                        on_done(t)
                elif time_is_up():
                    t.stop_at_log_point()
                    leave(t)
                else:
                    t.queue_window()
    finally:
        for t in list(live):  # only after an error
            leave(t)
    return finished
