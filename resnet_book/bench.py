"""Benchmark: the project's trainer against a plain PyTorch loop, same model, batch 128, same GPU, one run.

``python -m resnet_book.bench`` (on a CUDA machine) measures images per second of

* ``reference``: the loop a reader would write: torchvision ``DataLoader`` (4 workers, pinned memory) with
  ``RandomCrop(32, 4)``, ``RandomHorizontalFlip``, ``ToTensor``, ``Normalize``; float32, eager;
  ``torch.optim.SGD`` + ``MultiStepLR``;
* ``ours``: ``resnet_book.train.Trainer`` with every switch on (GPU-resident data, bf16, channels_last,
  the whole step in one CUDA graph), and each lever alone (``levers``);
* ``sweep``: several runs trained together on one GPU (each on its own stream);
* ``packed``: runs of one depth trained as one network (``resnet_book.packed``): aggregate images/s of a
  pack of 2 (a ResNet and its plain twin) and of 4 (plain, options A, B, C), and the nine-run Fig. 6 sweep
  timed pack by pack, and 3 seeds of one net packed (each run on its own batches);

profiles one step of each (``profile``: kernels by kind, and how much of the step the GPU is busy);
checks that the fast path and the eager path give the same loss curve from the same seed, and writes
``data/benchmarks/<gpu>.json``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import re
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import __version__
from . import data as datamod
from .models import get_model
from .provenance import git_commit, machine_name
from .train import Config, Trainer, preset

OUT = datamod.REPO_ROOT / "data" / "benchmarks"


REQUIRED = ("gpu", "torch", "commit", "date", "dataset", "batch_size", "models")


def load_benchmarks(directory: str | Path = OUT) -> list[dict]:
    """Every benchmark record in ``directory`` (one per GPU), checked; a broken file is named in the error."""
    records = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a benchmark record: invalid JSON ({err})") from None
        missing = [k for k in REQUIRED if k not in record] if isinstance(record, dict) else list(REQUIRED)
        if missing:
            raise ValueError(f"{path}: not a benchmark record: {', '.join(missing)} missing")
        for model, row in record["models"].items():
            for key in ("ours_img_s", "reference_img_s"):
                if not isinstance(row.get(key), (int, float)) or row[key] <= 0:
                    raise ValueError(f"{path}: models.{model}.{key} must be a positive number, got {row.get(key)!r}")
        records.append(record)
    return records


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

    transform = T.Compose([
        T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
        T.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    ])  # fmt: skip
    loader = torch.utils.data.DataLoader(
        _PILDataset(data.train_images.cpu(), data.train_labels.cpu(), transform),
        batch_size=128, shuffle=True, num_workers=4, pin_memory=True, drop_last=True, persistent_workers=True,
    )  # fmt: skip
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
    cfg = paper_slice(model_name, iterations=warmup + steps + 1, **switches)
    return _images_per_second(Trainer(cfg, data, "cuda"), steps, warmup)


def packed(runs: list[tuple], data: datamod.CIFAR10, steps: int, warmup: int = 30, **switches) -> float:
    """Aggregate images/s of ``runs`` (model, shortcut[, seed]) packed into one network (all switches on,
    plus ``switches``). Runs with other seeds each get their own mini-batches (``packed.own_inputs``)."""
    configs = [paper_slice(m, shortcut=s, seed=seed, iterations=warmup + steps + 1, **switches)
               for m, s, seed in ((*r, 0)[:3] for r in runs)]  # fmt: skip
    for c in configs:
        c.warmup_lr = None  # throughput only: the warm-up changes the learning rate, not the work
    return _images_per_second(Trainer(configs, data, "cuda"), steps, warmup)


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
    jobs = [twins(f"resnet{d}") for d in (20, 32, 44, 56)] if pack else [
        [(f"{k}{d}", None if k == "plain" else "A")] for d in (20, 32, 44, 56) for k in ("plain", "resnet")]
    jobs.append([("resnet110", "A")])
    seconds = {}
    for runs in jobs:
        img_s = packed(runs, data, steps) if len(runs) > 1 else ours(runs[0][0], data, steps)
        seconds[" + ".join(m for m, _ in runs)] = round(64_000 * 128 * len(runs) / img_s, 1)
    return {"packed": pack, "seconds_per_job": seconds, "minutes_total": round(sum(seconds.values()) / 60, 2)}


def packed_equivalence(model: str, data: datamod.CIFAR10, iterations: int = 400, every: int = 50, device: str = "cuda") -> dict:
    """Loss curves of a ResNet and its plain twin trained alone and packed, fast path, same seed."""
    curves: dict = {}
    configs = [paper_slice(m, shortcut=s, iterations=iterations, eval_every=every, test_per_class=100) for m, s in twins(model)]
    for (m, _), cfg in zip(twins(model), configs):
        curves[f"{m} alone"] = [round(e["train_loss"], 4) for e in Trainer(cfg, data, device).run(progress=False).history.entries]
    t = Trainer(configs, data, device).run(progress=False)
    for (m, _), h in zip(twins(model), t.histories):
        curves[f"{m} packed"] = [round(e["train_loss"], 4) for e in h.entries]
    diffs = [abs(a - b) for m, _ in twins(model) for a, b in zip(curves[f"{m} alone"], curves[f"{m} packed"])]
    return {"every": every, **curves, "max_abs_diff": max(diffs)}


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

    return {"model": configs[1].model, "iterations": iterations, "nudge": nudge,
            "packed vs alone": gaps(alone.history, pack.histories[1]),
            "nudged vs alone": gaps(alone.history, nudged.history)}  # fmt: skip


# kernel (or, on a CPU, aten op) name -> what it does; first match wins
KERNEL_KINDS = (
    ("batch norm", r"batch_?norm|\bbn_|welford"),  # cuDNN's (bn_fw_tr_...), aten's, inductor's fused ones
    ("convolution", r"conv|xmma|implicit_gemm|wgrad|dgrad|fprop|winograd|cudnn"),
    ("SGD update", r"foreach|multi_tensor"),
    ("fc (matmul)", r"gemm|addmm|\bmm\b|matmul|cutlass"),
    ("memory copy", r"memcpy|memset|copy"),
    ("elementwise (ReLU, addition, ...)", r"elementwise|threshold|relu|add|mul|triton_poi"),
)


def kernel_kind(name: str) -> str:
    """What a kernel (or aten op) does, by its name: ``convolution``, ``batch norm``, ... or ``other``."""
    low = name.lower()
    return next((kind for kind, pattern in KERNEL_KINDS if re.search(pattern, low)), "other")


def profile(model_name: str, data: datamod.CIFAR10, steps: int = 20, device: str = "cuda", **switches) -> dict:
    """Where one training step's time goes, by kind of kernel (``torch.profiler``), ``steps`` steps after
    warm-up, with the given speed switches (default: the fast path).

    On a GPU it counts the kernels of a step, their summed time and the share of the step's wall time in
    which a kernel runs (``busy``): close to 1, the step is bound by the kernels themselves and only
    fewer or faster kernels help (inductor's fusion, better convolution algorithms); far below 1, the
    gaps between kernels (launches) cost more. On a CPU it reports aten ops by self time instead.
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    cfg = paper_slice(model_name, iterations=steps + 4, **switches)
    trainer = Trainer(cfg, data, device)
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
        events = [(e.name, e.time_range.start, e.time_range.end) for e in prof.events()
                  if e.device_type == DeviceType.CUDA]  # fmt: skip
    else:  # aten ops, each by the time spent in it and not in the ops it called
        events = [(e.name, 0, e.self_cpu_time_total) for e in prof.events()
                  if e.device_type == DeviceType.CPU and e.name.startswith("aten::")]  # fmt: skip
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
        "model": model_name, "device": machine_name(trainer.device), "steps": steps,
        "unit": "GPU kernels" if cuda else "aten ops (self CPU time)",
        "switches": {"cuda_graph": trainer.use_graph, "bf16": trainer.amp, "channels_last": trainer.channels_last,
                     "inductor": trainer.use_compile},
        "wall_us_per_step": round(wall_us / steps, 1),
        "kernels_per_step": round(len(events) / steps, 1),
        "kernel_us_per_step": round(total_us / steps, 1),
        "busy": round(busy_us / wall_us, 3) if cuda else None,
        "us_per_step_by_kind": {k: round(v / steps, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
        "top": [[name, round(t / steps, 1), round(n / steps, 1)] for name, (t, n) in top],
    }  # fmt: skip


def _try(measure, *args, **kwargs):
    """A lever that may not work on every torch/GPU: its figure (or curve), or why it failed."""
    try:
        return measure(*args, **kwargs)
    except Exception as err:  # recorded in the benchmark file, not hidden
        return f"failed: {type(err).__name__}: {str(err)[:300]}"


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


def _loss_curve(cfg, data: datamod.CIFAR10) -> list[float]:
    return [round(e["train_loss"], 4) for e in Trainer(cfg, data, "cuda").run(progress=False).history.entries]


def equivalence(model_name: str, data: datamod.CIFAR10, iterations: int = 400, every: int = 50) -> dict:
    """Loss curves of the fast paths (CUDA graph; + inductor) and the eager path from the same seed.

    ``fast fp32`` (the graph without bf16) gives the yardstick: how far two curves drift apart after
    400 iterations when only the rounding differs ("bf16 noise"); other levers are judged against it.
    """
    curves = {}
    for name, switches in (("fast", {}), ("eager", dict(cuda_graph=False)), ("fast+inductor", dict(compile=True)),
                           ("fast fp32", dict(amp=False))):  # fmt: skip
        cfg = paper_slice(model_name, iterations=iterations, eval_every=every, test_per_class=100, **switches)
        curves[name] = _try(_loss_curve, cfg, data)  # only the inductor lever may fail; the record says why
    def gap(name: str) -> float | None:
        other = curves[name]
        return None if isinstance(other, str) else max(abs(a - b) for a, b in zip(curves["fast"], other))

    return {"model": model_name, "every": every, **curves, "max_abs_diff": gap("eager"),
            "bf16_noise": gap("fast fp32"), "inductor_max_abs_diff": gap("fast+inductor")}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resnet_book.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet20", "resnet56", "resnet110"])
    parser.add_argument("--steps", type=int, default=300, help="timed iterations per measurement")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--skip-levers", action="store_true")
    parser.add_argument("--inductor", nargs="*", default=["resnet20"], help="models whose inductor lever is measured")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("the benchmark needs a CUDA GPU")
    torch.backends.cudnn.benchmark = True
    data = datamod.load_cifar10(device="cuda")
    gpu = torch.cuda.get_device_name()
    record: dict = {
        "gpu": gpu, "torch": torch.__version__, "commit": git_commit(), "resnet_book": __version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "batch_size": 128,
        "dataset": data.name, "steps_timed": args.steps, "cudnn_benchmark": True, "models": {},
    }  # fmt: skip

    def save() -> Path:
        path = Path(args.out) / (re.sub(r"[^A-Za-z0-9]+", "-", gpu).strip("-").lower() + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")
        return path

    record["equivalence"] = equivalence("resnet20", data)
    print("fast vs eager train loss every 50 iterations:", json.dumps(record["equivalence"]), flush=True)
    record["divergence"] = _try(divergence, "resnet20", data, 100)
    record["packed_equivalence"] = _try(packed_equivalence, "resnet20", data)
    print("alone vs packed train loss every 50 iterations:", json.dumps(record["packed_equivalence"]), flush=True)
    save()
    for m in args.models:
        row = {"ours_img_s": ours(m, data, args.steps), "reference_img_s": reference_loop(m, data, args.steps)}
        row["speedup"] = row["ours_img_s"] / row["reference_img_s"]
        row["packed"] = {
            "2 runs (plain + ResNet), img/s all runs": _try(packed, twins(m), data, args.steps),
            "4 runs (plain, A, B, C), img/s all runs": _try(
                packed, twins(m) + [(m, "B"), (m, "C")], data, args.steps
            ),
            "3 seeds (one net, each run its own batches), img/s all runs": _try(
                packed, [(m, None, seed) for seed in (0, 1, 2)], data, args.steps
            ),
            "note": f"aggregate images/s of the runs trained as one network; one {m} alone: {row['ours_img_s']:,.0f}",
        }
        for k, v in list(row["packed"].items())[:2]:
            if isinstance(v, float):
                row["packed"][k.replace("img/s", "speedup over the reference loop")] = v / row["reference_img_s"]
        if not args.skip_levers:
            row["levers"] = {
                "eager fp32": ours(m, data, args.steps // 2, amp=False, channels_last=False, cuda_graph=False),
                "eager bf16 + channels_last": ours(m, data, args.steps // 2, cuda_graph=False),
                "cuda graph fp32": ours(m, data, args.steps, amp=False, channels_last=False),
                "cuda graph bf16": ours(m, data, args.steps, channels_last=False),
                "cuda graph bf16 + channels_last": row["ours_img_s"],
            }
            if m in args.inductor:
                row["levers"]["cuda graph bf16 + channels_last + inductor"] = _try(ours, m, data, args.steps, compile=True)
                row["packed"]["4 runs + inductor, img/s all runs"] = _try(
                    packed, twins(m) + [(m, "B"), (m, "C")], data, args.steps, compile=True
                )
        # where a step's time goes: kernels by kind, and how much of the step the GPU is busy
        row["profile"] = {"cuda graph": _try(profile, m, data), "no graph": _try(profile, m, data, cuda_graph=False)}
        if m in args.inductor:
            row["profile"]["cuda graph + inductor"] = _try(profile, m, data, compile=True)
        record["models"][m] = row
        print(f"{m}: ours {row['ours_img_s']:,.0f} img/s, reference {row['reference_img_s']:,.0f} img/s, "
              f"x{row['speedup']:.1f}  {row.get('levers', '')}", flush=True)  # fmt: skip
        save()
    fig6 = ["plain20", "plain32", "plain44", "plain56", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]
    record["sweep"] = sweep_throughput(fig6, data, 200)
    print("sweep, nine runs together:", record["sweep"], flush=True)
    save()
    record["sweep_estimate"] = {"alone": sweep_estimate(data, 200, pack=False), "packed": _try(sweep_estimate, data, 200, pack=True)}
    print("nine-run sweep, estimated:", json.dumps(record["sweep_estimate"]), flush=True)
    print(f"wrote {save()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
