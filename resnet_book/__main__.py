"""Command line: ``python -m resnet_book train MODEL``, ``python -m resnet_book sweep NAME`` and
``python -m resnet_book bench`` (the trainer's speed on a GPU, ``resnet_book.bench``).

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
from pathlib import Path

import torch

from . import bench
from . import data as datamod
from . import runs as runsmod
from .analysis import layer_responses
from .models import Net
from .provenance import REPO_ROOT
from .recipe import PRESETS, SEEDS, preset, warms_up
from .sweeps import SWEEPS, images_per_second, job_cost, packs, plan, run_pool
from .train import (
    Engine,
    StopOnInterrupt,
    Trainer,
    TrainingDiverged,
    duration_text,
    lock_run,
    resolve_device,
    seconds_per_iteration,
)

CHECKPOINTS = REPO_ROOT / "data" / "checkpoints"
# The longest job name a checkpoint takes: a file name has 255 bytes, and the checkpoint's temporary copy,
# ".<name>.pt.<pid>-<12 hex>.tmp" (runs.write_atomically, a pid of up to 7 digits), adds 29 to the name.
MAX_JOB_NAME = 255 - 29


def finish(trainer: Trainer, out: Path, overwrite: bool = False) -> list[Path]:
    """Fig. 7 statistics on the test set, then the run record (one per run of a pack)."""
    images = trainer.data.normalize(trainer.data.test_images)
    if trainer.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    paths = []
    for run in trainer.members():
        # Fig. 7 reads the original block's BN outputs; a pre-activation net has none of that kind
        stds = None if run.config.net.preact else layer_responses(run.model, images)
        path = runsmod.save_run(runsmod.make_record(run, stds), out, overwrite=overwrite)
        print(f"{path}: train error {run.final()['train_error']:.4f}, test error {run.final()['test_error']:.4f}")
        paths.append(path)
    return paths


def make_config(args, model: str, shortcut: str | None, seed: int):
    length = {} if args.iterations is None else {"iterations": args.iterations}  # the schedule scales with it
    return preset(args.preset, model, shortcut=shortcut, seed=seed, **length)


def make_engine(args) -> Engine:
    """The speed switches of the command line (the rest automatic: the fast path on a GPU)."""
    return Engine(cuda_graph=False if args.no_cuda_graph else None, compile=args.inductor)


def make_trainer(args, runs: list[tuple[str, str | None, int]], data_cache: dict) -> Trainer:
    """A trainer for one run (model, shortcut, seed), or for several packed into one network (``resnet_book.packed``)."""
    runs = [(m, shortcut_of(m, s), seed) for m, s, seed in runs]  # a bad name fails before the data loads
    configs = [make_config(args, *run) for run in runs]
    cfg = configs[0]
    key = (cfg.train_per_class, cfg.test_per_class, cfg.split)
    device = resolve_device(args.device)
    run = "+".join(c.net.record_id(c.preset, c.seed) for c in configs)
    if len(run.encode()) > MAX_JOB_NAME:
        raise ValueError(
            f"{len(configs)} runs packed as one job ({run.split('+')[0]} and {len(configs) - 1} more): its checkpoint's "
            f"name would be longer than a file name may be ({len(run.encode()):,} of {MAX_JOB_NAME} bytes); "
            "train fewer seeds per command"
        )
    checkpoint = Path(args.resume) if getattr(args, "resume", None) else Path(args.checkpoint_dir) / f"{run}.pt"
    if getattr(args, "resume", None):
        check_resumable(checkpoint)
    runsmod.check_writable(args.out, "run records")  # before hours of training, not after
    runsmod.check_writable(checkpoint.parent, "checkpoint")
    lock_run(checkpoint)  # one process per run
    if key not in data_cache:
        data_cache[key] = datamod.load_cifar10(
            train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class, split=cfg.split, device=device
        )
    trainer = Trainer(
        configs if len(configs) > 1 else cfg, data_cache[key], device, checkpoint=checkpoint, engine=make_engine(args)
    )
    if trainer.resumed_from is not None:
        print(f"{run}: resuming from {checkpoint} at iteration {trainer.resumed_from:,}")
    return trainer


def check_resumable(path: Path) -> None:
    """What ``--resume`` is given: a file, and not a run record (a checkpoint is a zip of tensors; a record
    is the JSON a finished run wrote, which stays as it is)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint to resume from; leave out --resume to start the run")
    with path.open("rb") as f:
        head = f.read(64).lstrip()
    if head.startswith(b"{") or path.suffix == ".json":
        raise ValueError(
            f"{path}: a run record (JSON), not a checkpoint; --resume takes the checkpoint a stopped run wrote "
            "(by default data/checkpoints/<id>.pt), and a finished run needs none"
        )


def cmd_train(args) -> int:
    shortcut = shortcut_of(args.model, args.shortcut)
    if len(set(args.seed)) > 1 and warms_up(args.model):
        raise ValueError(
            f"{args.model} warms up until its own training error drops (Sec. 4.2), so its seeds "
            "train alone: one --seed per command"
        )
    for seed in args.seed:
        cfg = make_config(args, args.model, shortcut, seed)
        record = Path(args.out) / f"{cfg.net.record_id(cfg.preset, cfg.seed)}.json"
        if record.exists() and not args.force:
            raise FileExistsError(f"{record}: already recorded; pass --force to train and record it again")
    trainer = make_trainer(args, [(args.model, shortcut, seed) for seed in dict.fromkeys(args.seed)], {})
    if trainer.device.type == "cpu":
        say_how_long(trainer)
    with StopOnInterrupt() as interrupted:
        trainer.run(max_seconds=None if args.max_minutes is None else args.max_minutes * 60, stop=interrupted)
    if interrupted():
        print(
            f"interrupted at iteration {trainer.iteration:,}, checkpoint {trainer.checkpoint_path}; run the "
            "same command again to continue",
            file=sys.stderr,
        )
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
    print(
        f"{left:,} iterations to go on this CPU at about {step:.2f} s each: about {duration_text(left * step)}.\n"
        "Stop any time with Ctrl-C (or give --max-minutes M): it saves a checkpoint, and the same command "
        f"continues from it (checkpoints every {cfg.checkpoint_every:,} iterations). A GPU is far faster.",
        flush=True,
    )


def shortcut_of(model: str, shortcut: str | None) -> str | None:
    """The run's real shortcut: the model's default (option A for a CIFAR ResNet, none for a plain net) when
    not given, so ``train resnet56`` and ``train resnet56 --shortcut A`` share one checkpoint and record."""
    return Net.parse(model, shortcut, family="cifar").shortcut


def cmd_sweep(args) -> int:
    out = Path(args.out)
    todo = []
    for seed in dict.fromkeys(args.seed):
        for model, shortcut in SWEEPS[args.name]:
            cfg = make_config(args, model, shortcut, seed)
            run = cfg.net.record_id(cfg.preset, seed)
            if (out / f"{run}.json").exists():
                print(f"{run}: already recorded, skipped")
                continue
            todo.append((model, shortcut, seed))
    jobs = sorted(packs(todo, args.pack), key=job_cost, reverse=True)  # longest first: the last to start is short
    if args.dry_run:
        return say_plan(jobs, make_config(args, *todo[0]).iterations if todo else 0)
    data_cache: dict = {}
    with StopOnInterrupt() as interrupted:
        finished = run_pool(
            [lambda runs=runs: make_trainer(args, runs, data_cache) for runs in jobs],
            args.concurrent,
            None if args.max_minutes is None else args.max_minutes * 60,
            lambda t: finish(t, out),
            stop=interrupted,
        )
    if finished < len(jobs):
        reason = "interrupted" if interrupted() else "time limit reached"
        print(
            f"{reason}: {finished} of {len(jobs)} jobs finished, the others stopped with a checkpoint or not "
            "started; run the same command again to continue",
            file=sys.stderr if interrupted() else sys.stdout,
        )
        return 130 if interrupted() else 0
    return 0


def say_plan(jobs: list[list[tuple]], iterations: int) -> int:
    """``sweep --dry-run``: the jobs in the order they would start, each with its estimated GPU minutes."""
    from .bench import load_benchmarks

    benchmarks = load_benchmarks()
    if not jobs or not benchmarks:
        print("nothing to train" if not jobs else f"{len(jobs)} jobs; no benchmark record to estimate their time")
        return 0
    gpu = benchmarks[0]["gpu"]
    rows = plan(jobs, images_per_second(benchmarks[0]), iterations)
    print(
        f"{len(jobs)} jobs, {iterations:,} iterations each; minutes estimated from the benchmark on {gpu} "
        "(training steps; evaluations add a little):"
    )
    for i, row in enumerate(rows, 1):
        runs = " + ".join(Net.parse(m, s, family="cifar").run_name(seed) for m, s, seed in row["job"])
        fits = "" if row["fits"] else "  longer than one lease: its checkpoint must travel to the next"
        print(f"{i:3}. lease {row['lease']}: {row['minutes']:5.1f} min  {runs}{fits}")
    leases = rows[-1]["lease"]
    print(f"total {sum(r['minutes'] for r in rows):.0f} minutes in {leases} lease{'s' * (leases > 1)} of 25 minutes")
    return 0


def cmd_bench(args) -> int:
    """``bench``: our trainer against a plain PyTorch loop on this GPU, one record per GPU in
    ``data/benchmarks`` (``resnet_book.bench.run_benchmark``)."""
    try:
        path = bench.run_benchmark(args.models, args.steps, args.out, levers=not args.skip_levers, inductor=args.inductor)
    except bench.NoGPU as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def whole_number(text: str) -> int:
    """``text`` as an int, or an argparse error quoting it (its start only, if it is long)."""
    if len(text) > 100:  # int() refuses more than 4,300 digits, with advice that is not ours
        raise argparse.ArgumentTypeError(f"{text[:30]!r}... ({len(text):,} characters) is too long for any number here")
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (``--iterations 0`` or ``--pack -1`` is refused, not ignored)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def seed(text: str) -> int:
    """An argparse type: a seed ``torch.manual_seed`` takes, any 64-bit number (negatives too)."""
    value = whole_number(text)
    if value not in SEEDS:
        raise argparse.ArgumentTypeError(f"must be from -2^63 to 2^64 - 1 (torch.manual_seed's range), got {value}")
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
    common.add_argument(
        "--seed",
        type=seed,
        nargs="+",
        default=[0],  # any 64-bit integer: torch.manual_seed takes negatives
        help="one or more seeds (default 0); several train packed, each on its own batches",
    )
    common.add_argument("--out", default=str(runsmod.RUNS_DIR), help="where run records go (default data/runs)")
    common.add_argument("--max-minutes", type=minutes, default=None, help="stop cleanly with a checkpoint after M minutes")
    common.add_argument("--checkpoint-dir", default=str(CHECKPOINTS), help="default data/checkpoints")
    common.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    common.add_argument("--iterations", type=positive_int, default=None, help="override the schedule's length (milestones scale)")
    common.add_argument("--no-cuda-graph", dest="no_cuda_graph", action="store_true", help="eager steps on CUDA")
    common.add_argument(
        "--inductor", action="store_true", help="compile the model with inductor (Engine.compile): fused kernels, same recipe"
    )
    t = sub.add_parser("train", parents=[common], help="train one network")
    t.add_argument("model", help="e.g. resnet20, plain56, resnet110; the sequel's preact-resnet110")
    t.add_argument("--shortcut", default=None, choices=["A", "B", "C"])
    t.add_argument("--resume", default=None, help="checkpoint to continue from (default data/checkpoints/<id>.pt)")
    t.add_argument("--force", action="store_true", help="train and record a run that is already recorded")
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("sweep", parents=[common], help="train a set of the paper's runs, skipping recorded ones")
    s.add_argument("name", choices=list(SWEEPS))
    s.add_argument("--concurrent", type=positive_int, default=1, help="runs (or packs) trained together, each on a stream")
    s.add_argument("--dry-run", action="store_true", help="print the jobs and their estimated GPU minutes; train nothing")
    s.add_argument(
        "--pack", type=positive_int, default=1, help="up to P runs of one depth trained as one network (resnet_book.packed)"
    )
    s.set_defaults(func=cmd_sweep)
    b = sub.add_parser("bench", help="measure the trainer's speed on this GPU against a plain PyTorch loop")
    b.add_argument("--models", nargs="+", default=["resnet20", "resnet56", "resnet110"], help="CIFAR-10 nets measured")
    b.add_argument("--steps", type=positive_int, default=300, help="timed iterations per measurement")
    b.add_argument("--out", default=str(bench.OUT), help="where the record goes (default data/benchmarks)")
    b.add_argument("--skip-levers", action="store_true", help="leave out each speed switch alone")
    b.add_argument("--inductor", nargs="*", default=["resnet20"], help="models whose inductor lever is measured")
    b.set_defaults(func=cmd_bench)
    sub.add_parser("imagenet", help="the ImageNet recipe, one GPU or many under torchrun (see: imagenet --help)")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, datamod.DatasetError, TrainingDiverged) as err:  # each names its file or value
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before training (loading data) or a second Ctrl-C: nothing new to save
        print("error: interrupted; checkpoints written so far are kept: run the same command again to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
