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
    return cfg


def make_trainer(args, runs: list[tuple[str, str | None]], data_cache: dict) -> Trainer:
    """A trainer for one run, or for several packed into one network (``resnet_book.packed``)."""
    configs = [make_config(args, model, shortcut) for model, shortcut in runs]
    cfg = configs[0]
    key = (cfg.train_per_class, cfg.test_per_class, cfg.split)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if key not in data_cache:
        data_cache[key] = datamod.load_cifar10(
            train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class, split=cfg.split, device=device
        )
    run = "+".join(runsmod.run_id(m, s if not m.startswith("plain") else None, cfg.preset, cfg.seed) for m, s in runs)
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


def packs(runs: list[tuple[str, str | None]], size: int) -> list[list[tuple[str, str | None]]]:
    """Runs of one depth go into packs of up to ``size`` (first-seen order); warm-up runs train alone."""
    groups: dict = {}
    for model, shortcut in runs:
        alone = size == 1 or model in WARMUP_MODELS
        key = (model, shortcut) if alone else get_model(model, shortcut=shortcut, family="cifar").arch.depth
        groups.setdefault(key, []).append((model, shortcut))
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]


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
    deadline = None if args.max_minutes is None else time.monotonic() + args.max_minutes * 60
    data_cache: dict = {}
    jobs = packs(todo, args.pack)
    for group_start in range(0, len(jobs), args.concurrent):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            print("time limit reached before the next group; run the same command again to continue")
            return 0
        group = [make_trainer(args, runs, data_cache) for runs in jobs[group_start : group_start + args.concurrent]]
        run_together(group, left)
        for trainer in group:
            if trainer.done:
                finish(trainer, out)
        if not all(t.done for t in group):
            print("time limit reached; run the same command again to continue")
            return 0
    return 0


def run_together(trainers: list[Trainer], max_seconds: float | None) -> None:
    """Advance several runs in lockstep, each on its own CUDA stream, so a small net never idles the GPU."""
    if len(trainers) == 1:
        trainers[0].run(max_seconds=max_seconds)
        return
    from tqdm.auto import tqdm

    for t in trainers:  # the record says so: wall time is shared with these runs
        # a resumed run keeps the partners of its earlier segments
        t.trained_with += [o.label for o in trainers if o is not t and o.label not in t.trained_with]
    bars = [tqdm(total=t.config.iterations, initial=t.iteration, desc=t.label, position=i, unit="it")
            for i, t in enumerate(trainers)]  # fmt: skip
    start = time.perf_counter()
    try:
        while not all(t.done for t in trainers):
            live = [t for t in trainers if not t.done]
            stops = {id(t): t.next_stop() for t in live}
            before = {id(t): t.iteration for t in live}
            for t in live:  # queue every run's steps before any host sync
                t.advance(stops[id(t)] - t.iteration)
            elapsed = time.perf_counter() - start
            for t, bar in zip(trainers, bars):
                if id(t) in stops:
                    t.check_warmup()
                    entry = t.log(elapsed)
                    bar.update(t.iteration - before[id(t)])
                    if entry:
                        bar.set_postfix_str(progress_text(entry))
            if max_seconds is not None and elapsed > max_seconds:
                for t in trainers:
                    if not t.done:
                        t.stop_at_time_limit(elapsed)
                break
    finally:
        for t, bar in zip(trainers, bars):
            bar.close()
        took = time.perf_counter() - start
        for t in trainers:
            t.wall_seconds += took


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, datamod.DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
