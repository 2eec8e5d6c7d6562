"""Benchmark: the project's trainer against a plain PyTorch loop, same model, batch 128, same GPU, one run.

``python -m resnet_book bench`` (on a CUDA machine; ``run_benchmark``) measures images per second of

* ``reference``: the loop a reader would write: torchvision ``DataLoader`` (4 workers, pinned memory) with
  ``RandomCrop(32, 4)``, ``RandomHorizontalFlip``, ``ToTensor``, ``Normalize``; float32, eager;
  ``torch.optim.SGD`` + ``MultiStepLR``;
* ``ours``: ``resnet_book.train.Trainer`` with every switch on (GPU-resident data, bf16, channels_last,
  the whole step in one CUDA graph), and each lever alone (``levers``);
* ``sweep``: several runs trained together on one GPU (each on its own stream);
* ``packed``: runs of one depth trained as one network (``resnet_book.packed``): aggregate images/s of a
  pack of 2 (a ResNet and its plain twin), of 4 (plain, options A, B, C) and of 3 seeds of one net (each
  run on its own batches), and the nine-run Fig. 6 sweep timed pack by pack;

profiles one step of each (``profile``: kernels by kind, and how much of the step the GPU is busy);
checks that the fast path and the eager path give the same loss curve from the same seed, and writes
``data/benchmarks/<gpu>.json``. Every measurement is a slice of Sec. 4.2's recipe at its first learning
rate (0.1): the work per step of the paper's first 32k iterations.

The record, its schema and its reader are ``resnet_book.benchmarks`` (the records layer: the plan, the
estimates and the pages read it without loading this module).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import data as datamod
from .benchmarks import CPU_OUT, CPU_SCHEMA, OUT, SCHEMA, cpu_record_name, record_name, validate, validate_cpu
from .flops import count_flops
from .models import Net, get_model
from .provenance import machine_name, provenance
from .records import check_writable, write_json
from .train import Config, Engine, Trainer, preset


class NoGPU(RuntimeError):
    """The benchmark measures GPU training speed: without a CUDA GPU there is nothing to measure."""


class _PILDataset(torch.utils.data.Dataset):
    """The CIFAR-10 training images as PIL images, as ``torchvision.datasets.CIFAR10`` gives them."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images = images.permute(0, 2, 3, 1).contiguous().numpy()  # HWC uint8
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def reference_loop(model_name: str, data: datamod.CIFAR10, steps: int, warmup: int = 30) -> float:
    """Images/s of the plain PyTorch loop (fp32, eager, DataLoader with 4 workers)."""
    import torchvision.transforms as T

    transform = T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
        ]
    )
    loader = torch.utils.data.DataLoader(
        _PILDataset(data.train_images.cpu(), data.train_labels.cpu(), transform),
        batch_size=128,
        shuffle=True,
        num_workers=4,
        pin_memory=True,
        drop_last=True,
        persistent_workers=True,
    )
    torch.manual_seed(0)
    model = get_model(model_name).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[32000, 48000], gamma=0.1)
    model.train()
    done, start = 0, None
    while done < warmup + steps:
        for x, y in loader:
            if done == warmup:
                torch.cuda.synchronize()
                start = time.perf_counter()
            x, y = x.cuda(non_blocking=True), y.cuda(non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            if done == warmup + steps:
                break
    torch.cuda.synchronize()
    return steps * 128 / (time.perf_counter() - start)


def paper_slice(model: str, **overrides) -> Config:
    """The paper's recipe for a few iterations at its first learning rate (0.1, no decay): a slice of the
    first 32k iterations of Sec. 4.2, as every measurement here is."""
    return preset("paper", model, **{"milestones": (), **overrides})


def ours(model_name: str, data: datamod.CIFAR10, steps: int, warmup: int = 30, **switches) -> float:
    """Images/s of ``Trainer.advance`` with the given speed switches (default: all on)."""
    cfg = paper_slice(model_name, iterations=warmup + steps + 1)
    return _images_per_second(Trainer(cfg, data, "cuda", engine=Engine(**switches)), steps, warmup)


def packed(runs: list[tuple], data: datamod.CIFAR10, steps: int, warmup: int = 30, **switches) -> float:
    """Aggregate images/s of ``runs`` (model, shortcut[, seed]) packed into one network (all switches on,
    plus ``switches``). Runs with other seeds each get their own mini-batches (``packed.own_inputs``)."""
    # throughput only: no warm-up (it changes the learning rate, not the work), so ResNet-110 packs too
    configs = [
        paper_slice(m, shortcut=s, seed=seed, iterations=warmup + steps + 1, warmup_lr=None)
        for m, s, seed in ((*r, 0)[:3] for r in runs)
    ]
    return _images_per_second(Trainer(configs, data, "cuda", engine=Engine(**switches)), steps, warmup)


def _images_per_second(trainer: Trainer, steps: int, warmup: int) -> float:
    """Images/s of ``trainer.advance`` over ``steps`` iterations after ``warmup`` ones (a pack: all its runs)."""
    trainer.advance(warmup)
    trainer._sync()
    start = time.perf_counter()
    trainer.advance(steps)
    trainer._sync()
    return len(trainer.configs) * steps * trainer.config.batch_size / (time.perf_counter() - start)


def twins(model: str) -> list[tuple[str, str | None]]:
    depth = model.removeprefix("resnet").removeprefix("plain")
    return [(f"plain{depth}", None), (f"resnet{depth}", "A")]


def sweep_estimate(data: datamod.CIFAR10, steps: int, pack: bool) -> dict:
    """The nine-run Fig. 6 sweep (64k iterations each), timed job by job: twins packed (or run alone) and
    ResNet-110 alone (its warm-up keeps it out of a pack). Estimated from measured throughput."""
    jobs = (
        [twins(f"resnet{d}") for d in (20, 32, 44, 56)]
        if pack
        else [[(f"{k}{d}", None if k == "plain" else "A")] for d in (20, 32, 44, 56) for k in ("plain", "resnet")]
    )
    jobs.append([("resnet110", "A")])
    seconds = {}
    for runs in jobs:
        img_s = packed(runs, data, steps) if len(runs) > 1 else ours(runs[0][0], data, steps)
        seconds[" + ".join(m for m, _ in runs)] = round(64_000 * 128 * len(runs) / img_s, 1)
    return {"packed": pack, "seconds_per_job": seconds, "minutes_total": round(sum(seconds.values()) / 60, 2)}


def packed_equivalence(model: str, data: datamod.CIFAR10, iterations: int = 400, every: int = 50, device: str = "cuda") -> dict:
    """Loss curves of a ResNet and its plain twin trained alone and packed, fast path, same seed:
    ``{every, alone: {model: losses}, packed: {model: losses}, max_abs_diff}``."""
    configs = [paper_slice(m, shortcut=s, iterations=iterations, eval_every=every, test_per_class=100) for m, s in twins(model)]
    alone = {c.model: _losses(Trainer(c, data, device).run(progress=False).history) for c in configs}
    pack = Trainer(configs, data, device).run(progress=False)
    packed = {c.model: _losses(h) for c, h in zip(configs, pack.histories)}
    diffs = [abs(a - b) for m in alone for a, b in zip(alone[m], packed[m])]
    return {"every": every, "alone": alone, "packed": packed, "max_abs_diff": max(diffs)}


def _losses(history) -> list[float]:
    """The training loss at each log point of a run's history, as a record keeps it (4 decimals)."""
    return [round(e["train_loss"], 4) for e in history.entries]


def divergence(model: str, data: datamod.CIFAR10, iterations: int = 40, device: str = "cuda", nudge: float = 1e-7) -> dict:
    """How fast two runs that differ only by rounding drift apart: the training loss of every iteration of
    ``model`` and its plain twin packed, against each alone, and of the run alone against the same run
    whose initial weights were nudged by a relative ``nudge`` (about one float32 rounding).

    SGD at the paper's learning rate amplifies a difference of 1e-7 by orders of magnitude within ten
    steps, until it reaches the batch-to-batch noise: from then on two paths can only be compared statistically (final
    errors over seeds), not curve against curve.
    """
    configs = [paper_slice(m, shortcut=s, iterations=iterations, eval_every=1) for m, s in twins(model)]
    alone = Trainer(configs[1], data, device).run(progress=False)
    nudged = Trainer(configs[1], data, device)
    generator = torch.Generator(device=nudged.device).manual_seed(1)
    with torch.no_grad():
        for p in nudged.params:
            p.mul_(1 + nudge * torch.randn(p.shape, generator=generator, device=p.device))
    nudged.run(progress=False)
    pack = Trainer(configs, data, device).run(progress=False)

    def gaps(a, b) -> list[float]:
        return [abs(x["train_loss"] - y["train_loss"]) for x, y in zip(a.entries, b.entries)]

    return {
        "model": configs[1].model,
        "iterations": iterations,
        "nudge": nudge,
        "packed_vs_alone": gaps(alone.history, pack.histories[1]),
        "nudged_vs_alone": gaps(alone.history, nudged.history),
    }


# kernel (or, on a CPU, aten op) name -> what it does (LABELS["kernels"]); first match wins
KERNEL_KINDS = (
    ("batch_norm", r"batch_?norm|\bbn_|welford"),  # cuDNN's (bn_fw_tr_...), aten's, inductor's fused ones
    ("convolution", r"conv|xmma|implicit_gemm|wgrad|dgrad|fprop|winograd|cudnn"),
    ("sgd_update", r"foreach|multi_tensor"),
    ("fc", r"gemm|addmm|\bmm\b|matmul|cutlass"),
    ("memory_copy", r"memcpy|memset|copy"),
    ("elementwise", r"elementwise|threshold|relu|add|mul|triton_poi"),
)


def kernel_kind(name: str) -> str:
    """What a kernel (or aten op) does, by its name: ``convolution``, ``batch_norm``, ... or ``other``."""
    low = name.lower()
    return next((kind for kind, pattern in KERNEL_KINDS if re.search(pattern, low)), "other")


def profile(model_name: str, data: datamod.CIFAR10, steps: int = 20, device: str = "cuda", **switches) -> dict:
    """Where one training step's time goes, by kind of kernel (``torch.profiler``), ``steps`` steps after
    warm-up, with the given speed switches (default: the fast path).

    On a GPU it counts the kernels of a step, their summed time and the share of the step's wall time in
    which a kernel runs (``busy``): close to 1, the step is bound by the kernels themselves and only
    fewer or faster kernels help (inductor's fusion, better convolution algorithms); far below 1, the
    gaps between kernels (launches) cost more. On a CPU it reports aten ops by self time instead (and no
    ``busy``).
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    cfg = paper_slice(model_name, iterations=steps + 4)
    trainer = Trainer(cfg, data, device, engine=Engine(**switches))
    trainer.advance(3)  # capture (graph), cuDNN's algorithm search, allocator warm-up
    trainer._sync()
    cuda = trainer.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with torch_profile(activities=activities) as prof:
        start = time.perf_counter()
        trainer.advance(steps)
        trainer._sync()
        wall_us = (time.perf_counter() - start) * 1e6
    if cuda:  # kernels and copies on the GPU, with their own time stamps
        events = [(e.name, e.time_range.start, e.time_range.end) for e in prof.events() if e.device_type == DeviceType.CUDA]
    else:  # aten ops, each by the time spent in it and not in the ops it called
        events = [
            (e.name, 0, e.self_cpu_time_total)
            for e in prof.events()
            if e.device_type == DeviceType.CPU and e.name.startswith("aten::")
        ]
    if not events:
        raise RuntimeError(f"the profiler recorded no {'kernels' if cuda else 'aten ops'}")
    kinds: dict[str, float] = {}
    by_name: dict[str, list[float]] = {}
    for name, begin, end in events:
        kind = kernel_kind(name)
        kinds[kind] = kinds.get(kind, 0.0) + (end - begin)
        entry = by_name.setdefault(name[:90], [0.0, 0])
        entry[0] += end - begin
        entry[1] += 1
    busy_us = 0.0  # the union of the kernels' time intervals (kernels may overlap)
    if cuda:
        reach = float("-inf")
        for _, begin, end in sorted(events, key=lambda t: t[1]):
            busy_us += max(0.0, end - max(begin, reach))
            reach = max(reach, end)
    total_us = sum(kinds.values())
    top = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:8]
    return {
        "model": model_name,
        "device": machine_name(trainer.device),
        "steps": steps,
        "unit": "GPU kernels" if cuda else "aten ops (self CPU time)",
        "switches": {
            "cuda_graph": trainer.use_graph,
            "bf16": trainer.amp,
            "channels_last": trainer.channels_last,
            "inductor": trainer.use_compile,
        },
        "wall_us_per_step": round(wall_us / steps, 1),
        "kernels_per_step": round(len(events) / steps, 1),
        "kernel_us_per_step": round(total_us / steps, 1),
        **({"busy": round(busy_us / wall_us, 3)} if cuda else {}),  # a CPU has no kernels to be busy with
        "us_per_step_by_kind": {k: round(v / steps, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
        "top": [[name, round(t / steps, 1), round(n / steps, 1)] for name, (t, n) in top],
    }


def _measure(record: dict, field: str, measure: Callable, *args, **kwargs) -> Any:
    """``measure(*args, **kwargs)`` stored in ``record`` at the dotted ``field``, for a measurement that may
    not work on every torch/GPU (inductor, ...): if it fails, the field stays absent and
    ``record["failures"][field]`` says why (recorded, not hidden). Returns the value, or None."""
    try:
        value = measure(*args, **kwargs)
    except Exception as err:
        record["failures"][field] = f"{type(err).__name__}: {str(err)[:300]}"
        return None
    *parents, key = field.split(".")
    node = record
    for parent in parents:
        node = node.setdefault(parent, {})
    node[key] = value
    return value


def sweep_throughput(models: list[str], data: datamod.CIFAR10, steps: int) -> dict:
    """Aggregate images/s of several runs advanced together, each on its own stream."""
    trainers = [Trainer(paper_slice(m, iterations=steps + 31), data, "cuda") for m in models]
    for t in trainers:
        t.advance(30)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps // 50):
        for t in trainers:
            t.advance(50)
    torch.cuda.synchronize()
    took = time.perf_counter() - start
    return {"models": models, "seconds": took, "img_s_total": len(models) * (steps // 50) * 50 * 128 / took}


# the paths compared from one seed (record key -> speed switches): the fast path is the trainer's default
PATHS = {"fast": {}, "eager": {"cuda_graph": False}, "fast_fp32": {"amp": False}, "fast_inductor": {"compile": True}}


def loss_curve(
    model: str, data: datamod.CIFAR10, iterations: int = 400, every: int = 50, device: str = "cuda", **switches
) -> list[float]:
    """The training loss every ``every`` iterations of ``model`` from seed 0 along one path (``switches``)."""
    cfg = paper_slice(model, iterations=iterations, eval_every=every, test_per_class=100)
    return _losses(Trainer(cfg, data, device, engine=Engine(**switches)).run(progress=False).history)


def curve_gaps(curves: dict[str, list[float]]) -> dict[str, float]:
    """How far each path's loss curve gets from the fast path's (largest difference at a log point):
    ``max_abs_diff`` (eager: the same kernels, so 0), ``bf16_noise`` (fast_fp32: rounding alone, the
    yardstick for the others) and ``inductor_max_abs_diff`` (fast_inductor), each where both were measured."""
    names = {"max_abs_diff": "eager", "bf16_noise": "fast_fp32", "inductor_max_abs_diff": "fast_inductor"}
    return {gap: max(abs(a - b) for a, b in zip(curves["fast"], curves[path])) for gap, path in names.items() if path in curves}


def run_benchmark(
    models: Sequence[str] = ("resnet20", "resnet56", "resnet110"),
    steps: int = 300,
    out: str | Path = OUT,
    levers: bool = True,
    inductor: Sequence[str] = ("resnet20",),
) -> Path:
    """Measure everything above on this GPU and write ``<out>/<gpu>.json`` (validated, after each net, so a
    stopped benchmark leaves what it measured). ``levers``: each speed switch alone too; ``inductor``: the
    models whose inductor lever (and pack of four with inductor) is measured."""
    for m in (*models, *inductor):  # a bad argument fails before anything is measured
        Net.parse(m, family="cifar")
    if steps < 2:  # the eager levers time steps // 2 of them
        raise ValueError(f"steps must be at least 2 timed iterations, got {steps}")
    if not torch.cuda.is_available():
        raise NoGPU(
            "the benchmark measures training speed on a GPU and needs CUDA, which this machine does not "
            "have (in Colab: Runtime > Change runtime type > GPU)"
        )
    check_writable(out, "benchmark records")  # before an hour of measuring, not after
    torch.backends.cudnn.benchmark = True
    data = datamod.load_cifar10(device="cuda")
    where = provenance(torch.device("cuda"))  # the fields every record carries; a benchmark keeps these
    gpu = where["gpu"]
    record: dict = {
        "schema": SCHEMA,
        **{key: where[key] for key in ("gpu", "torch", "commit", "resnet_book", "date")},
        "batch_size": 128,
        "dataset": data.name,
        "steps_timed": steps,
        "cudnn_benchmark": True,
        "models": {},
        "failures": {},
    }
    path = Path(out) / record_name(gpu)

    def save() -> None:
        write_json(path, validate(record, str(path)))

    eq = record["equivalence"] = {"model": "resnet20", "every": 50, "curves": {}}
    for key, switches in PATHS.items():
        if key in ("fast", "eager"):  # the check itself: these must work
            eq["curves"][key] = loss_curve("resnet20", data, **switches)
        else:
            _measure(record, f"equivalence.curves.{key}", loss_curve, "resnet20", data, **switches)
    eq.update(curve_gaps(eq["curves"]))
    print("fast vs eager train loss every 50 iterations:", json.dumps(eq), flush=True)
    _measure(record, "divergence", divergence, "resnet20", data, 100)
    _measure(record, "packed_equivalence", packed_equivalence, "resnet20", data)
    print("alone vs packed train loss every 50 iterations:", json.dumps(record.get("packed_equivalence")), flush=True)
    for m in models:
        row = record["models"][m] = {"ours_img_s": ours(m, data, steps), "reference_img_s": reference_loop(m, data, steps)}
        row["speedup"] = row["ours_img_s"] / row["reference_img_s"]
        at = f"models.{m}"
        four = twins(m) + [(m, "B"), (m, "C")]
        for key, runs in (("twins", twins(m)), ("options", four), ("seeds", [(m, None, seed) for seed in (0, 1, 2)])):
            img_s = _measure(record, f"{at}.packed.{key}", packed, runs, data, steps)
            if img_s is not None and key != "seeds":
                row.setdefault("packed_speedup", {})[key] = img_s / row["reference_img_s"]
        if levers:
            row["levers"] = {
                "eager_fp32": ours(m, data, steps // 2, amp=False, channels_last=False, cuda_graph=False),
                "eager_bf16_channels_last": ours(m, data, steps // 2, cuda_graph=False),
                "graph_fp32": ours(m, data, steps, amp=False, channels_last=False),
                "graph_bf16": ours(m, data, steps, channels_last=False),
                "graph_bf16_channels_last": row["ours_img_s"],
            }
            if m in inductor:
                _measure(record, f"{at}.levers.graph_bf16_channels_last_inductor", ours, m, data, steps, compile=True)
                _measure(record, f"{at}.packed.options_inductor", packed, four, data, steps, compile=True)
        # where a step's time goes: kernels by kind, and how much of the step the GPU is busy
        _measure(record, f"{at}.profile.graph", profile, m, data)
        _measure(record, f"{at}.profile.eager", profile, m, data, cuda_graph=False)
        if m in inductor:
            _measure(record, f"{at}.profile.graph_inductor", profile, m, data, compile=True)
        print(
            f"{m}: ours {row['ours_img_s']:,.0f} img/s, reference {row['reference_img_s']:,.0f} img/s, "
            f"x{row['speedup']:.1f}  {row.get('levers', '')}",
            flush=True,
        )
        save()
    fig6 = ["plain20", "plain32", "plain44", "plain56", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]
    record["sweep"] = sweep_throughput(fig6, data, 200)
    print("sweep, nine runs together:", record["sweep"], flush=True)
    save()
    record["sweep_estimate"] = {"alone": sweep_estimate(data, 200, pack=False)}
    _measure(record, "sweep_estimate.packed", sweep_estimate, data, 200, pack=True)
    print("nine-run sweep, estimated:", json.dumps(record["sweep_estimate"]), flush=True)
    save()
    return path


# ------------------------------------------------------------------------------------------ on a CPU

# The nets a reader trains live on a CPU (the miniature of chapters 1-3 and 7), and ResNet-20 at the paper's size
CPU_NETS: tuple[tuple[str, str], ...] = (
    ("plain20", "mini"),
    ("plain56", "mini"),
    ("resnet56", "mini"),
    ("resnet20", "mini"),
    ("resnet20", "paper"),
)
CPU_LEVERS: dict[str, dict[str, bool]] = {
    "eager_fp32": {},
    "channels_last": {"channels_last": True},
    "bf16": {"amp": True},
    "bf16_channels_last": {"amp": True, "channels_last": True},
}


def cpu_slice(model: str, preset_name: str, iterations: int) -> Config:
    """``iterations`` of ``preset_name``'s recipe for ``model`` at its first learning rate, no warm-up: the work
    per step of a live run on a CPU (``mini``) or of the paper's (``paper``)."""
    return preset(preset_name, model, iterations=iterations, milestones=(), warmup_iterations=0, warmup_lr=None)


def reference_cpu_loop(cfg: Config, data: datamod.CIFAR10, steps: int, warmup: int = 5) -> float:
    """Images/s of the plain PyTorch loop on a CPU: a ``DataLoader`` without workers (two cores have none to
    spare) over PIL images with ``RandomCrop`` (Sec. 4.2's padding, scaled with the image), ``RandomHorizontalFlip``,
    ``ToTensor`` and ``Normalize``; float32, eager; ``torch.optim.SGD``. ``data`` at ``cfg.image_size``."""
    import torchvision.transforms as T

    transform = T.Compose(
        [
            T.RandomCrop(cfg.image_size, padding=datamod.pad_for(cfg.image_size)),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
        ]
    )
    dataset = _PILDataset(data.train_images.cpu(), data.train_labels.cpu(), transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=0, drop_last=True)
    torch.manual_seed(0)
    model = get_model(cfg.model, shortcut=cfg.shortcut, width=cfg.width)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    model.train()
    done, start = 0, time.perf_counter()
    while done < warmup + steps:
        for x, y in loader:
            if done == warmup:
                start = time.perf_counter()
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if done == warmup + steps:
                break
    return steps * cfg.batch_size / (time.perf_counter() - start)


def ours_cpu(cfg: Config, data: datamod.CIFAR10, steps: int, warmup: int = 5, **switches) -> tuple[float, float]:
    """(images/s, seconds of the first ``warmup`` steps) of ``Trainer.advance`` on a CPU with ``switches``;
    with ``compile`` the warm-up seconds are mostly compiling."""
    trainer = Trainer(replace(cfg, iterations=warmup + steps + 1), data, "cpu", engine=Engine(**switches))
    start = time.perf_counter()
    trainer.advance(warmup)
    warm = time.perf_counter() - start
    return _images_per_second(trainer, steps, 0), warm


def conv_gflops(dtype: torch.dtype = torch.float32, seconds: float = 0.5, rounds: int = 5) -> float:
    """What this CPU reaches on the convolution its kernels like best, in GFLOP/s (2 flops a multiply-add): a
    3x3 convolution of 256 filters on 256 channels of 16x16 maps, batch 32, channels_last, forward only, repeated
    for ``seconds``, the best of ``rounds`` (a ceiling, so the best). It is a convolution and not a matrix
    product because torch multiplies matrices through a BLAS that need not be tuned for this CPU, while both the
    plain loop and ours run their convolutions through oneDNN, as this does."""
    x = torch.randn(32, 256, 16, 16, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(256, 256, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
    flops = 2 * x.shape[0] * 256 * 256 * 9 * 16 * 16
    with torch.no_grad():
        F.conv2d(x, w, padding=1)
        best = 0.0
        for _ in range(rounds):
            done, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < seconds or done == 0:
                F.conv2d(x, w, padding=1)
                done += 1
            best = max(best, done * flops / elapsed / 1e9)
    return best


def ceiling(seconds: float = 0.5) -> dict[str, float]:
    """``conv_gflops`` in float32, and in bf16 where this CPU has native bf16 instructions."""
    found = {"fp32": conv_gflops(torch.float32, seconds=seconds)}
    if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        found["bf16"] = conv_gflops(torch.bfloat16, seconds=seconds)
    return found


def run_cpu_benchmark(
    nets: Sequence[tuple[str, str]] = CPU_NETS,
    steps: int = 30,
    repeats: int = 3,
    out: str | Path = CPU_OUT,
    compile_nets: Sequence[tuple[str, str]] = (),
    bf16_check: tuple[str, str] | None = ("resnet56", "mini"),
    ceiling_seconds: float = 0.5,
) -> Path:
    """Our trainer against the plain CPU loop (``reference_cpu_loop``), side by side in one process: for each
    net, ``repeats`` rounds of (reference, ours, each lever) over ``steps`` timed steps, the median of each kept,
    so a machine that slows down mid-run slows both. ``compile_nets``: also time ``torch.compile`` (its compile
    seconds recorded apart). ``bf16_check``: train that net to the end in float32 and in bf16 autocast from one
    seed and record both curves (bf16 is a lever only if it ends where float32 does). Also the ceiling: each
    net's multiply-adds per image, and what a convolution reaches on this CPU at its best (``conv_gflops``, in
    float32 and, where the CPU has bf16 instructions, in bf16), measured before the nets and after them, the
    larger kept (each the best of 5 rounds of ``ceiling_seconds``). Writes ``<out>/<cpu>-<threads>-threads.json``,
    validated."""
    import statistics

    for model, preset_name in (*nets, *compile_nets):
        Net.parse(model, family="cifar")
        preset(preset_name, model)  # an unknown preset is an error before anything is measured
    if steps < 2 or repeats < 1:
        raise ValueError(f"steps must be >= 2 and repeats >= 1, got {steps} and {repeats}")
    check_writable(out, "benchmark records")
    where = provenance(torch.device("cpu"))
    threads = torch.get_num_threads()
    record: dict = {
        "schema": CPU_SCHEMA,
        "cpu": where["gpu"],
        "threads": threads,
        **{key: where[key] for key in ("torch", "commit", "resnet_book", "date")},
        "dataset": "",
        "batch_size": 128,
        "steps_timed": steps,
        "repeats": repeats,
        "conv_gflops": ceiling(ceiling_seconds),
        "models": {},
        "failures": {},
    }
    path = Path(out) / cpu_record_name(record["cpu"], threads)
    loaded: dict[str, datamod.CIFAR10] = {}
    for model, preset_name in nets:
        cfg = cpu_slice(model, preset_name, steps + 6)
        key = f"{cfg.train_per_class}-{cfg.image_size}"
        if key not in loaded:
            loaded[key] = datamod.at_size(
                datamod.load_cifar10(train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class), cfg.image_size
            )
        data = loaded[key]
        record["dataset"] = data.name.split("[")[0]
        times: dict[str, list[float]] = {"reference": [], **{lever: [] for lever in CPU_LEVERS}}
        for _ in range(repeats):
            times["reference"].append(reference_cpu_loop(cfg, data, steps))
            for lever, switches in CPU_LEVERS.items():
                times[lever].append(ours_cpu(cfg, data, steps, **switches)[0])
        median = {k: statistics.median(v) for k, v in times.items()}
        row = record["models"][f"{model} {preset_name}"] = {
            "preset": preset_name,
            "width": cfg.width,
            "image_size": cfg.image_size,
            "reference_img_s": median["reference"],
            "ours_img_s": median["eager_fp32"],
            "speedup": median["eager_fp32"] / median["reference"],
            "levers": {lever: median[lever] for lever in CPU_LEVERS},
            "macs_per_image": count_flops(get_model(model, shortcut=cfg.shortcut, width=cfg.width), cfg.image_size),
        }
        if (model, preset_name) in compile_nets:
            try:
                row["levers"]["compile"], row["compile_seconds"] = ours_cpu(cfg, data, steps, compile=True)
            except Exception as err:  # inductor needs a C++ compiler; say what failed, keep the rest
                record["failures"][f"models.{model} {preset_name}.levers.compile"] = f"{type(err).__name__}: {str(err)[:200]}"
        print(f"{model} ({preset_name}): {json.dumps(row)}", flush=True)
        write_json(path, validate_cpu(record, str(path)))
    after = ceiling(ceiling_seconds)
    record["conv_gflops"] = {k: max(v, after[k]) for k, v in record["conv_gflops"].items()}
    write_json(path, validate_cpu(record, str(path)))
    if bf16_check is not None:
        model, preset_name = bf16_check
        cfg = preset(preset_name, model)
        data = datamod.load_cifar10(train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class)
        runs = {
            name: Trainer(cfg, data, "cpu", engine=Engine(amp=amp)).run(progress=False)
            for name, amp in (("fp32", False), ("bf16", True))
        }
        record["bf16_check"] = {
            "model": model,
            "preset": preset_name,
            "iterations": cfg.iterations,
            "final_train_error": {name: t.final()["train_error"] for name, t in runs.items()},
            "curves": {name: [e["train_error"] for e in t.history.entries] for name, t in runs.items()},
        }
        print(f"bf16 check: {json.dumps(record['bf16_check']['final_train_error'])}", flush=True)
    write_json(path, validate_cpu(record, str(path)))
    return path
