"""What a run would cost, estimated from the benchmark records (``resnet_book.benchmarks``): the one home of
every estimate the book prints, so a page states a cost the same way everywhere and never computes one itself.

* ``estimate_seconds`` / ``cost``: a CIFAR-10 run (or a pack) on the benchmark's GPU, from the measured
  images/s, interpolated in the pack's size and in depth (extrapolated past the measured depths);
  ``sweeps.plan`` and ``sweep --dry-run`` add these up job by job;
* ``on_t4``: the same on Colab's usual T4, scaled by the two GPUs' datasheets (``GPU_SPECS``);
* ``flops_scaled`` / ``imagenet_cost``: a net the benchmark never ran (an ImageNet net at 224x224, the
  sequel's ResNet-1001) at the multiply-adds per second ResNet-110 reached on the benchmark's GPU;
* ``seconds_per_iteration`` / ``cpu_time_note``: a run on the reader's own CPU, from one training step timed
  there (no benchmark of that CPU exists), as ``jobs.train_and_record`` says before a CPU run starts.

Every GPU estimate takes a benchmark record (``benchmark=``) or reads the current one (``find_benchmark``).
They are estimates, not measurements, and say so where they are printed.
"""

from __future__ import annotations

import functools
import time

import torch
import torch.nn.functional as F

from .benchmarks import load_benchmarks
from .flops import count_flops
from .models import Net, get_model
from .paper import IMAGENET_RECIPE
from .recipe import Config

RunKey = tuple  # (model, shortcut) or (model, shortcut, seed): one run of a sweep (``resnet_book.sweeps``)


def find_benchmark(gpu: str = "") -> dict:
    """The benchmark record an estimate reads: the first in ``data/benchmarks`` (by file name) whose GPU's name
    starts with ``gpu`` (``"NVIDIA H100"``); by default the first of all, which every estimate reads unless
    given a record (``benchmark=``)."""
    found = [b for b in load_benchmarks() if b["gpu"].startswith(gpu)]
    if not found:
        raise ValueError(
            f"no benchmark record{f' of an {gpu!r} GPU' if gpu else ''} in data/benchmarks to estimate from; "
            "run python -m resnet_book bench on a GPU"
        )
    return found[0]


def depth(model: str, shortcut: str | None) -> int:
    """Layers of a CIFAR-10 net (the name is checked: an impossible depth is a clear error)."""
    return Net.parse(model, shortcut, family="cifar").depth


# ------------------------------------------------------------------------ CIFAR-10, from measured speed

# a benchmark row's measured packs of different nets of one depth: runs in the pack -> its key in ``packed``
PACKED_KEYS = {2: "twins", 4: "options"}


def images_per_second(benchmark: dict) -> dict[int, dict[int, float]]:
    """Measured images/s of all runs of a pack, ``{depth: {runs in the pack: img/s}}``, from a benchmark
    record (``resnet_book.benchmarks``, validated): one run alone, and packs of 2 and 4 where they were measured
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


def estimate_seconds(job: list[RunKey], rates: dict[int, dict[int, float]], iterations: int, batch_size: int = 128) -> float:
    """Training time of a job (its runs packed) from measured throughput: the seconds per image of one
    iteration of the pack, interpolated in the pack's size, then in depth (time grows about linearly
    with depth). Test-set evaluations (128 of them in the paper's schedule) add a little on top."""
    d, k = depth(*job[0][:2]), len(job)
    per_depth = {dd: _between({kk: 1 / r for kk, r in by_k.items()}, k) for dd, by_k in rates.items()}
    return iterations * batch_size * k * _between(per_depth, d)


def cost(model: str, iterations: int = 64_000, benchmark: dict | None = None) -> dict:
    """What one run of ``model`` costs: GPU minutes estimated from the benchmark (``measured`` says whether
    its depth was measured or is extrapolated from the measured depths) and the size of its checkpoint
    (weights, momentum and BN statistics in float32), which must be kept if the run is stopped and continued."""
    benchmark = benchmark or find_benchmark()
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
    benchmark = benchmark or find_benchmark()
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


# ------------------------------------------------------------------------ other nets, scaled by FLOPs

REFERENCE = "resnet110"  # the deepest net the benchmark measures: its multiply-adds per second scale to others


@functools.lru_cache(maxsize=None)
def flops(model: str, shortcut: str | None = None, input_size: int = 32, **options) -> int:
    """Multiply-adds of one image through ``model`` (``flops.count_flops``), counted once per session."""
    return count_flops(get_model(model, shortcut=shortcut, **options), input_size)


def flops_scaled(net_flops: float, benchmark: dict | None = None, iterations: int | None = None, batch_size: int = 128) -> dict:
    """Images/s of a net of ``net_flops`` multiply-adds per image, estimated at the multiply-adds per second
    that ResNet-110 (``REFERENCE``) reached on the benchmark's GPU (bf16, channels_last, CUDA graph), and with
    ``iterations`` (of ``batch_size`` images) the GPU hours of a run that long.

    A deeper or wider net keeps a GPU busier than a CIFAR-10 net does, so this is more likely pessimistic
    than optimistic; it is an estimate, not a measurement. Returns ``{gpu, img_s, reference_img_s,
    reference_flops[, gpu_hours]}``."""
    benchmark = benchmark or find_benchmark()
    reference_img_s = benchmark["models"][REFERENCE]["ours_img_s"]
    reference_flops = flops(REFERENCE)
    estimate = {
        "gpu": benchmark["gpu"],
        "img_s": reference_img_s * reference_flops / net_flops,
        "reference_img_s": reference_img_s,
        "reference_flops": reference_flops,
    }
    if iterations is not None:
        estimate["gpu_hours"] = iterations * batch_size / estimate["img_s"] / 3600
    return estimate


def imagenet_cost(
    model: str,
    shortcut: str | None = None,
    iterations: int = IMAGENET_RECIPE["iterations"],
    batch_size: int = IMAGENET_RECIPE["batch_size"],
    benchmark: dict | None = None,
) -> dict:
    """An ImageNet run of ``model`` (Sec. 3.4: up to 60x10^4 iterations of 256 at 224x224) on one GPU of the
    benchmark's kind, FLOPs-scaled (``flops_scaled``): ``{gpu, flops, img_s, gpu_hours, ...}``."""
    net_flops = flops(model, shortcut, 224)
    return {**flops_scaled(net_flops, benchmark, iterations, batch_size), "flops": net_flops}


# ------------------------------------------------------------------------ the reader's CPU, timed here


def seconds_per_iteration(cfg: Config, device: str | torch.device = "cpu", steps: int = 2) -> float:
    """Seconds of one training step of ``cfg``'s net at its batch size, timed on random images after one
    warm-up step: enough to tell a reader, before a run starts, whether it takes minutes or days."""
    device = torch.device(device)
    model = cfg.net.build(width=cfg.width).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    x = torch.randn(cfg.batch_size, 3, cfg.image_size, cfg.image_size, device=device)
    y = torch.randint(0, 10, (cfg.batch_size,), device=device)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times[1:])


def duration_text(seconds: float) -> str:
    """``'40 seconds'``, ``'12 minutes'``, ``'5.3 hours'``, ``'2.1 days'``: a duration as a reader says it."""
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}" if unit != "minutes" else f"{seconds / size:.0f} minutes"
    return f"{seconds:.0f} seconds"


def cpu_time_note(cfg: Config, iteration: int = 0, runs: int = 1) -> str:
    """What a CPU run says before it starts: how long the ``cfg.iterations - iteration`` steps left take on
    this CPU (one step of ``runs`` packed nets costs about their sum), and how to stop and continue it."""
    left = cfg.iterations - iteration
    step = seconds_per_iteration(cfg, "cpu") * runs
    return (
        f"{left:,} iterations to go on this CPU at about {step:.2f} s each: about {duration_text(left * step)}.\n"
        "Stop any time with Ctrl-C (or give --max-minutes M): it saves a checkpoint, and the same command "
        f"continues from it (checkpoints every {cfg.checkpoint_every:,} iterations). A GPU is far faster."
    )
