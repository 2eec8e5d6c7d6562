"""Command line: ``python -m resnet_book train MODEL`` and ``python -m resnet_book sweep NAME``.

A run checkpoints to ``data/checkpoints/<id>.pt`` and continues from there when started again (or from
``--resume PATH``); ``--max-minutes`` stops it cleanly with a checkpoint, so a long run fits in several
short sessions. A finished run is written to ``data/runs/<id>.json`` (schema: ``resnet_book.runs``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from . import data as datamod
from . import runs as runsmod
from .analysis import layer_responses
from .models import get_model
from .train import PRESETS, WARMUP_MODELS, Trainer, progress_text, preset

SWEEPS = {
    # Fig. 6 (left) and Fig. 1: plain nets get worse with depth.
    "fig6-plain": [("plain20", None), ("plain32", None), ("plain44", None), ("plain56", None)],
    # Fig. 6 (middle), Table 6: ResNets get better with depth (option A).
    "fig6-resnet": [("resnet20", "A"), ("resnet32", "A"), ("resnet44", "A"), ("resnet56", "A"), ("resnet110", "A")],
    # Sec. 3.3 / Table 3 on CIFAR-10: options B and C (A is in fig6-resnet).
    "shortcuts": [("resnet20", "B"), ("resnet20", "C"), ("resnet56", "B"), ("resnet56", "C")],
}
# twins side by side (same cost, so they finish together when trained concurrently), ResNet-110 last
SWEEPS["fig6"] = [run for pair in zip(SWEEPS["fig6-resnet"], SWEEPS["fig6-plain"]) for run in pair] + [("resnet110", "A")]
SWEEPS["all"] = SWEEPS["fig6"][:-1] + SWEEPS["shortcuts"] + SWEEPS["fig6"][-1:]

CHECKPOINTS = datamod.REPO_ROOT / "data" / "checkpoints"


def finish(trainer: Trainer, out: Path) -> list[Path]:
    """Fig. 7 statistics on the test set, then the run record (one per run of a pack)."""
    images = trainer.data.normalize(trainer.data.test_images)
    if trainer.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    paths = []
    for run in trainer.members():
        stds = layer_responses(run.model, images)
        path = runsmod.save_run(runsmod.make_record(run, stds), out)
        print(f"{path}: train error {run.final()['train_error']:.4f}, test error {run.final()['test_error']:.4f}")
        paths.append(path)
    return paths


def make_config(args, model: str, shortcut: str | None):
    cfg = preset(args.preset, model, shortcut=shortcut, seed=args.seed)
    if args.iterations:
        scale = args.iterations / cfg.iterations
        cfg.milestones = tuple(round(m * scale) for m in cfg.milestones)
        cfg.iterations = args.iterations
        cfg.eval_every = cfg.checkpoint_every = max(1, min(cfg.eval_every, args.iterations // 4))
        cfg.preset = "custom"
    if args.no_cuda_graph:
        cfg.cuda_graph = False
    if args.inductor:
        cfg.compile = True
    return cfg


def make_trainer(args, runs: list[tuple[str, str | None]], data_cache: dict) -> Trainer:
    """A trainer for one run, or for several packed into one network (``resnet_book.packed``)."""
    runs = [(model, shortcut_of(model, shortcut)) for model, shortcut in runs]  # a bad name fails before the data loads
    configs = [make_config(args, model, shortcut) for model, shortcut in runs]
    cfg = configs[0]
    key = (cfg.train_per_class, cfg.test_per_class, cfg.split)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if key not in data_cache:
        data_cache[key] = datamod.load_cifar10(
            train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class, split=cfg.split, device=device
        )
    run = "+".join(runsmod.run_id(m, s, cfg.preset, cfg.seed) for m, s in runs)
    checkpoint = Path(args.resume) if getattr(args, "resume", None) else Path(args.checkpoint_dir) / f"{run}.pt"
    trainer = Trainer(configs if len(configs) > 1 else cfg, data_cache[key], device, checkpoint=checkpoint)
    if trainer.resumed_from is not None:
        print(f"{run}: resuming from {checkpoint} at iteration {trainer.resumed_from:,}")
    return trainer


def cmd_train(args) -> int:
    trainer = make_trainer(args, [(args.model, args.shortcut)], {})
    trainer.run(max_seconds=None if args.max_minutes is None else args.max_minutes * 60)
    if not trainer.done:
        print(f"stopped at iteration {trainer.iteration:,} (time limit); run the same command again to continue")
        return 0
    finish(trainer, Path(args.out))
    print(f"{trainer.wall_seconds:.0f} s")
    return 0


def shortcut_of(model: str, shortcut: str | None) -> str | None:
    """The run's real shortcut: the model's default (option A for a CIFAR ResNet, none for a plain net) when
    not given, so ``train resnet56`` and ``train resnet56 --shortcut A`` share one checkpoint and record."""
    return get_model(model, shortcut=shortcut, family="cifar").shortcut_option


def depth(model: str, shortcut: str | None) -> int:
    """Layers of a CIFAR-10 net (the name is checked: an impossible depth is a clear error)."""
    return get_model(model, shortcut=shortcut, family="cifar").arch.depth


def packs(runs: list[tuple[str, str | None]], size: int) -> list[list[tuple[str, str | None]]]:
    """Runs of one depth go into packs of up to ``size`` (first-seen order); warm-up runs train alone."""
    groups: dict = {}
    for model, shortcut in runs:
        alone = size == 1 or model in WARMUP_MODELS
        key = (model, shortcut) if alone else depth(model, shortcut)
        groups.setdefault(key, []).append((model, shortcut))
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]


def job_cost(runs: list[tuple[str, str | None]]) -> float:
    """Relative time of a job: depth x runs**0.75. On the H100 a pack of 2 took 1.6x and a pack of 4
    2.8x the time per step of one run (``data/benchmarks``), so a pack of two ResNet-56s (94) is shorter
    than one ResNet-110 (110), and a pack of four (158) is longer."""
    return depth(*runs[0]) * len(runs) ** 0.75


def cmd_sweep(args) -> int:
    out = Path(args.out)
    todo = []
    for model, shortcut in SWEEPS[args.name]:
        cfg = preset(args.preset, model, seed=args.seed)
        run = runsmod.run_id(model, shortcut, cfg.preset if not args.iterations else "custom", args.seed)
        if (out / f"{run}.json").exists():
            print(f"{run}: already recorded, skipped")
            continue
        todo.append((model, shortcut))
    jobs = sorted(packs(todo, args.pack), key=job_cost, reverse=True)  # longest first: the last to start is short
    data_cache: dict = {}
    finished = run_pool([lambda runs=runs: make_trainer(args, runs, data_cache) for runs in jobs], args.concurrent,
                        None if args.max_minutes is None else args.max_minutes * 60, lambda t: finish(t, out))  # fmt: skip
    if finished < len(jobs):
        print("time limit reached; run the same command again to continue")
    return 0


def run_together(trainers: list[Trainer], max_seconds: float | None) -> None:
    """Train ``trainers`` at once (see ``run_pool``)."""
    run_pool([lambda t=t: t for t in trainers], len(trainers), max_seconds)


def run_pool(
    jobs: list[Callable[[], Trainer]], concurrent: int, max_seconds: float | None,
    on_done: Callable[[Trainer], None] | None = None,
) -> int:  # fmt: skip
    """Train up to ``concurrent`` jobs at once, each on its own CUDA stream and at its own pace.

    Each run has a window of steps (up to its next log point) queued on its stream; the host looks at a
    run only once its window is done (``Trainer.ready``), logs it and queues the next one, so a fast run
    never waits for a slow one, and a finished run's slot goes to the next job at once. After
    ``max_seconds`` every live run stops at its next log point with a checkpoint and no other job starts.
    Returns the number of jobs finished.
    """
    from tqdm.auto import tqdm

    pending, live, bars, started, finished = list(jobs), [], {}, {}, 0
    start = time.perf_counter()

    def leave(t: Trainer, elapsed: float) -> None:
        live.remove(t)
        t.wall_seconds += elapsed - started.pop(id(t))
        bars.pop(id(t)).close()

    try:
        while pending or live:
            while pending and len(live) < concurrent and (max_seconds is None or time.perf_counter() - start < max_seconds):
                t = pending.pop(0)()
                started[id(t)] = time.perf_counter() - start
                live.append(t)
                for o in live:  # the record says so: wall time is shared with these runs
                    o.trained_with += [p.label for p in live if p is not o and p.label not in o.trained_with]
                bars[id(t)] = tqdm(total=t.config.iterations, initial=t.iteration, desc=t.label, unit="it",
                                   position=len(live) - 1, disable=t.done)  # fmt: skip
                t.advance(t.next_stop() - t.iteration)  # queue its first window before any host sync
            if not live:
                break
            ready = [t for t in live if t.ready()]
            if not ready:
                time.sleep(0.0005)
                continue
            for t in ready:
                elapsed, bar = time.perf_counter() - start, bars[id(t)]
                t.check_warmup()
                entry = t.log(elapsed - started[id(t)])
                if entry:
                    bar.set_postfix_str(progress_text(entry), refresh=False)
                bar.update(t.iteration - bar.n)  # the window just done
                if t.done:
                    leave(t, elapsed)
                    finished += 1
                    if on_done is not None:
                        on_done(t)
                elif max_seconds is not None and elapsed > max_seconds:
                    t.stop_at_time_limit(elapsed - started[id(t)])
                    leave(t, elapsed)
                else:
                    t.advance(t.next_stop() - t.iteration)
    finally:
        for t in list(live):  # only after an error
            leave(t, time.perf_counter() - start)
    return finished


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["imagenet"]:  # the ImageNet recipe (Sec. 3.4) under torchrun has options of its own
        from .imagenet import main as imagenet_main

        return imagenet_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m resnet_book", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--preset", default="paper", choices=list(PRESETS))
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--out", default=str(runsmod.RUNS_DIR), help="where run records go (default data/runs)")
    common.add_argument("--max-minutes", type=float, default=None, help="stop cleanly with a checkpoint after M minutes")
    common.add_argument("--checkpoint-dir", default=str(CHECKPOINTS), help="default data/checkpoints")
    common.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    common.add_argument("--iterations", type=int, default=None, help="override the schedule's length (milestones scale)")
    common.add_argument("--no-cuda-graph", dest="no_cuda_graph", action="store_true", help="eager steps on CUDA")
    common.add_argument("--inductor", action="store_true",
                        help="compile the model with inductor (Config.compile): fused kernels, same recipe")  # fmt: skip
    t = sub.add_parser("train", parents=[common], help="train one network")
    t.add_argument("model", help="e.g. resnet20, plain56, resnet110")
    t.add_argument("--shortcut", default=None, choices=["A", "B", "C"])
    t.add_argument("--resume", default=None, help="checkpoint to continue from (default data/checkpoints/<id>.pt)")
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("sweep", parents=[common], help="train a set of the paper's runs, skipping recorded ones")
    s.add_argument("name", choices=list(SWEEPS))
    s.add_argument("--concurrent", type=int, default=1, help="runs (or packs) trained together, each on a stream")
    s.add_argument("--pack", type=int, default=1, help="up to P runs of one depth trained as one network (resnet_book.packed)")
    s.set_defaults(func=cmd_sweep)
    sub.add_parser("imagenet", help="the ImageNet recipe, one GPU or many under torchrun (see: imagenet --help)")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, datamod.DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
