"""Command line: ``python -m resnet_book train MODEL`` and ``python -m resnet_book sweep NAME``.

A run checkpoints to ``data/checkpoints/<id>.pt`` and continues from there when started again (or from
``--resume PATH``); ``--max-minutes`` stops it cleanly with a checkpoint, so a long run fits in several
short sessions. A finished run is written to ``data/runs/<id>.json`` (schema: ``resnet_book.runs``), once:
``--force`` records it again. Ctrl-C stops at the next log point with a checkpoint; a second process on
the same run is refused. Every refusal is one line on stderr naming the file or value, exit status 2.

``--seed 0 1 2`` trains repeats of a net (the runs behind Table 6's "mean +- std") packed into one
network, each with its own initialisation and its own mini-batches, and records each seed on its own.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from . import data as datamod
from . import runs as runsmod
from .analysis import layer_responses
from .models import get_model
from .train import (
    PRESETS, WARMUP_MODELS, StopOnInterrupt, Trainer, TrainingDiverged, check_depth, duration_text, lock_run, preset,
    progress_text, resolve_device, seconds_per_iteration,
)  # fmt: skip

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


def finish(trainer: Trainer, out: Path, overwrite: bool = False) -> list[Path]:
    """Fig. 7 statistics on the test set, then the run record (one per run of a pack)."""
    images = trainer.data.normalize(trainer.data.test_images)
    if trainer.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    paths = []
    for run in trainer.members():
        stds = layer_responses(run.model, images)
        path = runsmod.save_run(runsmod.make_record(run, stds), out, overwrite=overwrite)
        print(f"{path}: train error {run.final()['train_error']:.4f}, test error {run.final()['test_error']:.4f}")
        paths.append(path)
    return paths


def make_config(args, model: str, shortcut: str | None, seed: int):
    length = {} if args.iterations is None else {"iterations": args.iterations}  # the schedule scales with it
    cfg = preset(args.preset, model, shortcut=shortcut, seed=seed, **length)
    if args.no_cuda_graph:
        cfg.cuda_graph = False
    if args.inductor:
        cfg.compile = True
    return cfg


def make_trainer(args, runs: list[tuple[str, str | None, int]], data_cache: dict) -> Trainer:
    """A trainer for one run (model, shortcut, seed), or for several packed into one network (``resnet_book.packed``)."""
    runs = [(m, shortcut_of(m, s), seed) for m, s, seed in runs]  # a bad name fails before the data loads
    configs = [make_config(args, *run) for run in runs]
    cfg = configs[0]
    key = (cfg.train_per_class, cfg.test_per_class, cfg.split)
    device = resolve_device(args.device)
    run = "+".join(runsmod.run_id(c.model, c.shortcut, c.preset, c.seed) for c in configs)
    checkpoint = Path(args.resume) if getattr(args, "resume", None) else Path(args.checkpoint_dir) / f"{run}.pt"
    if getattr(args, "resume", None) and not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint to resume from; leave out --resume to start the run")
    runsmod.check_writable(args.out, "run records")  # before hours of training, not after
    runsmod.check_writable(checkpoint.parent, "checkpoint")
    lock_run(checkpoint)  # one process per run
    if key not in data_cache:
        data_cache[key] = datamod.load_cifar10(
            train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class, split=cfg.split, device=device
        )
    trainer = Trainer(configs if len(configs) > 1 else cfg, data_cache[key], device, checkpoint=checkpoint)
    if trainer.resumed_from is not None:
        print(f"{run}: resuming from {checkpoint} at iteration {trainer.resumed_from:,}")
    return trainer


def cmd_train(args) -> int:
    shortcut = shortcut_of(args.model, args.shortcut)
    if len(set(args.seed)) > 1 and args.model in WARMUP_MODELS:
        raise ValueError(f"{args.model} warms up until its own training error drops (Sec. 4.2), so its seeds "
                         "train alone: one --seed per command")  # fmt: skip
    for seed in args.seed:
        cfg = make_config(args, args.model, shortcut, seed)
        record = Path(args.out) / f"{runsmod.run_id(args.model, shortcut, cfg.preset, cfg.seed)}.json"
        if record.exists() and not args.force:
            raise FileExistsError(f"{record}: already recorded; pass --force to train and record it again")
    trainer = make_trainer(args, [(args.model, shortcut, seed) for seed in dict.fromkeys(args.seed)], {})
    if trainer.device.type == "cpu":
        say_how_long(trainer)
    with StopOnInterrupt() as interrupted:
        trainer.run(max_seconds=None if args.max_minutes is None else args.max_minutes * 60, stop=interrupted)
    if interrupted():
        print(f"interrupted at iteration {trainer.iteration:,}, checkpoint {trainer.checkpoint_path}; run the "
              "same command again to continue", file=sys.stderr)  # fmt: skip
        return 130
    if not trainer.done:
        print(f"stopped at iteration {trainer.iteration:,} (time limit); run the same command again to continue")
        return 0
    finish(trainer, Path(args.out), overwrite=args.force)
    print(f"{trainer.wall_seconds:.0f} s")
    return 0


def say_how_long(trainer: Trainer) -> None:
    """Before a CPU run starts: how long it will take here, and how to stop and continue it."""
    cfg = trainer.config
    left = cfg.iterations - trainer.iteration
    if left <= 0:
        return
    step = seconds_per_iteration(cfg, trainer.device) * len(trainer.configs)  # a pack: about its runs' sum
    print(f"{left:,} iterations to go on this CPU at about {step:.2f} s each: about {duration_text(left * step)}.\n"
          "Stop any time with Ctrl-C (or give --max-minutes M): it saves a checkpoint, and the same command "
          f"continues from it (checkpoints every {cfg.checkpoint_every:,} iterations). A GPU is far faster.",
          flush=True)  # fmt: skip


def shortcut_of(model: str, shortcut: str | None) -> str | None:
    """The run's real shortcut: the model's default (option A for a CIFAR ResNet, none for a plain net) when
    not given, so ``train resnet56`` and ``train resnet56 --shortcut A`` share one checkpoint and record."""
    check_depth(model)
    return get_model(model, shortcut=shortcut, family="cifar").shortcut_option


def depth(model: str, shortcut: str | None) -> int:
    """Layers of a CIFAR-10 net (the name is checked: an impossible depth is a clear error)."""
    check_depth(model)
    return get_model(model, shortcut=shortcut, family="cifar").arch.depth


def packs(runs: list[tuple], size: int) -> list[list[tuple]]:
    """Runs (model, shortcut[, seed]) of one depth go into packs of up to ``size`` (first-seen order), seeds
    too (each run then trains on its own batches); warm-up runs train alone."""
    groups: dict = {}
    for run in runs:
        model, shortcut = run[:2]
        alone = size == 1 or model in WARMUP_MODELS
        key = run if alone else depth(model, shortcut)
        groups.setdefault(key, []).append(run)
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]


def job_cost(runs: list[tuple]) -> float:
    """Relative time of a job: depth x runs**0.75. On the H100 a pack of 2 took 1.6x and a pack of 4
    2.8x the time per step of one run (``data/benchmarks``), so a pack of two ResNet-56s (94) is shorter
    than one ResNet-110 (110), and a pack of four (158) is longer."""
    return depth(*runs[0][:2]) * len(runs) ** 0.75


def cmd_sweep(args) -> int:
    out = Path(args.out)
    todo = []
    for seed in dict.fromkeys(args.seed):
        for model, shortcut in SWEEPS[args.name]:
            cfg = make_config(args, model, shortcut, seed)
            run = runsmod.run_id(model, shortcut, cfg.preset, seed)
            if (out / f"{run}.json").exists():
                print(f"{run}: already recorded, skipped")
                continue
            todo.append((model, shortcut, seed))
    jobs = sorted(packs(todo, args.pack), key=job_cost, reverse=True)  # longest first: the last to start is short
    data_cache: dict = {}
    with StopOnInterrupt() as interrupted:
        finished = run_pool([lambda runs=runs: make_trainer(args, runs, data_cache) for runs in jobs], args.concurrent,
                            None if args.max_minutes is None else args.max_minutes * 60, lambda t: finish(t, out),
                            stop=interrupted)  # fmt: skip
    if finished < len(jobs):
        reason = "interrupted" if interrupted() else "time limit reached"
        print(f"{reason}: {finished} of {len(jobs)} jobs finished, the others stopped with a checkpoint or not "
              "started; run the same command again to continue", file=sys.stderr if interrupted() else sys.stdout)  # fmt: skip
        return 130 if interrupted() else 0
    return 0


def run_together(trainers: list[Trainer], max_seconds: float | None) -> None:
    """Train ``trainers`` at once (see ``run_pool``)."""
    run_pool([lambda t=t: t for t in trainers], len(trainers), max_seconds)


def run_pool(
    jobs: list[Callable[[], Trainer]], concurrent: int, max_seconds: float | None,
    on_done: Callable[[Trainer], None] | None = None, stop: Callable[[], bool] | None = None,
) -> int:  # fmt: skip
    """Train up to ``concurrent`` jobs at once, each on its own CUDA stream and at its own pace.

    Each run has a window of steps (up to its next log point) queued on its stream; the host looks at a
    run only once its window is done (``Trainer.ready``), logs it and queues the next one, so a fast run
    never waits for a slow one, and a finished run's slot goes to the next job at once. After
    ``max_seconds``, or once ``stop()`` says so (Ctrl-C), every live run stops at its next log point with a
    checkpoint and no other job starts. Returns the number of jobs finished.
    """
    from tqdm.auto import tqdm

    pending, live, bars, started, finished = list(jobs), [], {}, {}, 0
    start = time.perf_counter()

    def leave(t: Trainer, elapsed: float) -> None:
        live.remove(t)
        t.wall_seconds += elapsed - started.pop(id(t))
        bars.pop(id(t)).close()

    def time_is_up() -> bool:
        return (max_seconds is not None and time.perf_counter() - start > max_seconds) or (stop is not None and stop())

    try:
        while pending or live:
            while pending and len(live) < concurrent and not time_is_up():
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
                elif time_is_up():
                    t.stop_at_time_limit(elapsed - started[id(t)])
                    leave(t, elapsed)
                else:
                    t.advance(t.next_stop() - t.iteration)
    finally:
        for t in list(live):  # only after an error
            leave(t, time.perf_counter() - start)
    return finished


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (``--iterations 0`` or ``--pack -1`` is refused, not ignored)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def minutes(text: str) -> float:
    """An argparse type: a finite number of minutes >= 0 (``nan`` and ``-5`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (0 <= value < math.inf):
        raise argparse.ArgumentTypeError(f"must be a finite number of minutes >= 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["imagenet"]:  # the ImageNet recipe (Sec. 3.4) under torchrun has options of its own
        from .imagenet import main as imagenet_main

        return imagenet_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m resnet_book", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--preset", default="paper", choices=list(PRESETS))
    common.add_argument("--seed", type=int, nargs="+", default=[0],  # any integer: torch.manual_seed takes negatives
                        help="one or more seeds (default 0); several train packed, each on its own batches")
    common.add_argument("--out", default=str(runsmod.RUNS_DIR), help="where run records go (default data/runs)")
    common.add_argument("--max-minutes", type=minutes, default=None, help="stop cleanly with a checkpoint after M minutes")
    common.add_argument("--checkpoint-dir", default=str(CHECKPOINTS), help="default data/checkpoints")
    common.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    common.add_argument("--iterations", type=positive_int, default=None, help="override the schedule's length (milestones scale)")
    common.add_argument("--no-cuda-graph", dest="no_cuda_graph", action="store_true", help="eager steps on CUDA")
    common.add_argument("--inductor", action="store_true",
                        help="compile the model with inductor (Config.compile): fused kernels, same recipe")  # fmt: skip
    t = sub.add_parser("train", parents=[common], help="train one network")
    t.add_argument("model", help="e.g. resnet20, plain56, resnet110")
    t.add_argument("--shortcut", default=None, choices=["A", "B", "C"])
    t.add_argument("--resume", default=None, help="checkpoint to continue from (default data/checkpoints/<id>.pt)")
    t.add_argument("--force", action="store_true", help="train and record a run that is already recorded")
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("sweep", parents=[common], help="train a set of the paper's runs, skipping recorded ones")
    s.add_argument("name", choices=list(SWEEPS))
    s.add_argument("--concurrent", type=positive_int, default=1, help="runs (or packs) trained together, each on a stream")
    s.add_argument("--pack", type=positive_int, default=1, help="up to P runs of one depth trained as one network (resnet_book.packed)")
    s.set_defaults(func=cmd_sweep)
    sub.add_parser("imagenet", help="the ImageNet recipe, one GPU or many under torchrun (see: imagenet --help)")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, datamod.DatasetError, TrainingDiverged) as err:  # each names its file or value
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before training (loading data) or a second Ctrl-C: nothing new to save
        print("error: interrupted; checkpoints written so far are kept: run the same command again to continue",
              file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":
    sys.exit(main())
