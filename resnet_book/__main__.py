"""Command line: ``python -m resnet_book train MODEL``, ``python -m resnet_book sweep NAME``,
``python -m resnet_book bench`` (the trainer's speed on a GPU, ``resnet_book.bench``) and
``python -m resnet_book imagenet`` (the ImageNet recipe under torchrun, ``resnet_book.imagenet``).

A run checkpoints to ``data/checkpoints/<id>.pt`` and continues from there when started again (or from
``--resume PATH``); ``--max-minutes`` stops it cleanly with a checkpoint, so a long run can be trained in
several sittings. A finished run is written to ``data/runs/<id>.json`` (schema: ``resnet_book.runs``), once:
``--force`` records it again. Ctrl-C (exit status 130) or SIGTERM (143) stops at the next log point with a
checkpoint; a second process on the same run is refused (a sweep skips that job and goes on). Every refusal
is one line on stderr naming the file or value, exit status 2.

``--seed 0 1 2`` trains repeats of a net (the runs behind Table 6's "mean +- std") packed into one
network, each with its own initialisation and its own mini-batches, and records each seed on its own.
"""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import replace
from pathlib import Path

from . import bench, imagenet, jobs, weights
from . import data as datamod
from . import runs as runsmod
from .estimates import images_per_second
from .options import at_least, learning_rate, minutes, positive_int, seed
from .recipe import IMAGENET_PRESETS, PRESETS, Config, ImageNetConfig, imagenet_preset, preset, run_name
from .sweeps import SWEEPS, plan
from .train import Engine, TrainingDiverged


def make_config(args, model: str, shortcut: str | None, seed: int) -> Config:
    """The run's ``Config``: the preset, with the shortcut named (the model's default when not given, option A
    for a CIFAR ResNet), so ``train resnet56`` and ``train resnet56 --shortcut A`` share one checkpoint and record."""
    length = {} if args.iterations is None else {"iterations": args.iterations}  # the schedule scales with it
    cfg = preset(args.preset, model, shortcut=shortcut, seed=seed, **length)  # a bad name fails here, before any data
    return replace(cfg, shortcut=cfg.net.shortcut)


def make_engine(args) -> Engine:
    """The speed switches of the command line (the rest automatic: the fast path on a GPU)."""
    return Engine(cuda_graph=False if args.no_cuda_graph else None, compile=args.inductor)


def cmd_train(args) -> int:
    engine = make_engine(args)
    configs = [make_config(args, args.model, args.shortcut, seed) for seed in dict.fromkeys(args.seed)]
    if len(configs) > 1 and configs[0].warmup_lr is not None:
        raise ValueError(
            f"{args.model} warms up until its own training error drops (Sec. 4.2), so its seeds "
            "train alone: one --seed per command"
        )
    if args.resume is not None:
        jobs.check_resumable(Path(args.resume))
    result = jobs.train_and_record(
        configs,
        engine,
        out=args.out,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint=args.resume,
        device=args.device,
        max_seconds=None if args.max_minutes is None else args.max_minutes * 60,
        force=args.force,
        keep_weights=args.keep_weights,
    )
    trainer = result.trainer
    if result.interrupted:
        how = "interrupted" if result.signal == signal.SIGINT else f"stopped by {signal.Signals(result.signal).name}"
        print(
            f"{how} at iteration {trainer.iteration:,}, checkpoint {trainer.checkpoint_path}; run the "
            "same command again to continue",
            file=sys.stderr,
        )
        return 128 + result.signal
    if not result.finished:
        print(f"stopped at iteration {trainer.iteration:,} (time limit); run the same command again to continue")
        return 0
    print(f"{trainer.wall_seconds:.0f} s")
    return 0


def cmd_sweep(args) -> int:
    engine, seeds = make_engine(args), dict.fromkeys(args.seed)
    configs = [make_config(args, model, shortcut, seed) for seed in seeds for model, shortcut in SWEEPS[args.name]]
    queue = jobs.queue(configs, args.pack, args.out)
    if args.dry_run:
        return say_plan(queue, args.max_minutes)
    result = jobs.sweep(
        queue,
        engine,
        concurrent=args.concurrent,
        out=args.out,
        checkpoint_dir=args.checkpoint_dir,
        device=args.device,
        max_seconds=None if args.max_minutes is None else args.max_minutes * 60,
    )
    if result.skipped:
        print(
            f"{result.skipped} of {result.jobs} jobs skipped: another process is training them (see above)",
            file=sys.stderr,
        )
    if result.finished + result.skipped < result.jobs:
        reason = "time limit reached"
        if result.interrupted:
            reason = "interrupted" if result.signal == signal.SIGINT else f"stopped by {signal.Signals(result.signal).name}"
        print(
            f"{reason}: {result.finished} of {result.jobs} jobs finished, the others stopped with a checkpoint or not "
            "started; run the same command again to continue",
            file=sys.stderr if result.interrupted else sys.stdout,
        )
        return 128 + result.signal if result.interrupted else 0
    return 0


def say_plan(queue: list[list[Config]], budget_minutes: float | None = None) -> int:
    """``sweep --dry-run``: the jobs in the order they would start, each with its estimated GPU minutes."""
    from .benchmarks import load_benchmarks

    benchmarks = load_benchmarks()
    if not queue or not benchmarks:
        print("nothing to train" if not queue else f"{len(queue)} jobs; no benchmark record to estimate their time")
        return 0
    gpu, iterations = benchmarks[0]["gpu"], queue[0][0].iterations
    jobs = [[(c.model, c.shortcut, c.seed) for c in job] for job in queue]
    rows = plan(jobs, images_per_second(benchmarks[0]), iterations, budget_minutes)
    print(
        f"{len(queue)} jobs, {iterations:,} iterations each; minutes estimated from the benchmark on {gpu} "
        "(training steps; evaluations add a little):"
    )
    for i, (row, job) in enumerate(zip(rows, queue), 1):
        runs = " + ".join(run_name(c, seed=True) for c in job)
        sitting = "" if budget_minutes is None else f"sitting {row['sitting']}: "
        fits = "" if row["fits"] else "  longer than --max-minutes: it continues from its checkpoint in the next"
        print(f"{i:3}. {sitting}{row['minutes']:5.1f} min  {runs}{fits}")
    total = f"total {sum(r['minutes'] for r in rows):.0f} minutes"
    if budget_minutes is not None:
        sittings = rows[-1]["sitting"]
        total += f" in {sittings} sitting{'s' * (sittings > 1)} of {budget_minutes:g} minutes"
    print(total)
    return 0


def cmd_bench(args) -> int:
    """``bench``: our trainer against a plain PyTorch loop on this GPU, one record per GPU in
    ``data/benchmarks`` (``resnet_book.bench.run_benchmark``); with ``--cpu`` on this CPU, the nets a reader
    trains live there, in ``data/benchmarks/cpu`` (``run_cpu_benchmark``)."""
    if args.cpu:
        nets = bench.CPU_NETS if args.models is None else tuple((m, "mini") for m in args.models)
        compiled = tuple((m, "mini") for m in (args.inductor or ()))
        path = bench.run_cpu_benchmark(nets, args.steps or 30, out=args.out or str(bench.CPU_OUT), compile_nets=compiled)
        print(f"wrote {path}")
        return 0
    models = args.models or ["resnet20", "resnet56", "resnet110"]
    inductor = ["resnet20"] if args.inductor is None else args.inductor
    try:
        path = bench.run_benchmark(
            models, args.steps or 300, args.out or str(bench.OUT), levers=not args.skip_levers, inductor=inductor
        )
    except bench.NoGPU as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def make_imagenet_config(args) -> ImageNetConfig:
    """The ImageNet run's ``ImageNetConfig``: the preset (``recipe.imagenet_preset``: ``imagenette`` on Imagenette,
    ``paper`` otherwise) with the options given, any of which makes it ``custom``."""
    keys = ("batch_size", "lr", "iterations", "eval_every", "patience", "crop", "test_size", "mean_images")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if args.milestones is not None:
        overrides["milestones"] = tuple(args.milestones) or None
    if args.scale is not None:
        overrides["scale"] = tuple(args.scale)
    if args.freeze_bn:
        overrides["freeze_bn"] = True
    return imagenet_preset(args.preset, args.model, args.data, shortcut=args.shortcut, seed=args.seed, **overrides)


def cmd_imagenet(args) -> int:
    """``imagenet``: the ImageNet recipe (Sec. 3.4), one GPU or many under torchrun (``resnet_book.imagenet``)."""
    cfg = make_imagenet_config(args)
    imagenet.train_imagenet(cfg, Path(args.out), Path(args.checkpoint_dir), args.workers, args.stop_after, args.device)
    return 0


def parser() -> argparse.ArgumentParser:
    """The one command line: ``train``, ``sweep``, ``bench`` and ``imagenet``, each a subcommand."""
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
    common.add_argument("--checkpoint-dir", default=str(jobs.CHECKPOINTS), help="default data/checkpoints")
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
    t.add_argument(
        "--keep-weights",
        nargs="?",
        const=str(weights.WEIGHTS_DIR),
        default=None,
        metavar="DIR",
        help="keep each run's final weights beside its record (default folder data/weights)",
    )
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("sweep", parents=[common], help="train a set of the paper's runs, skipping recorded ones")
    s.add_argument("name", choices=list(SWEEPS))
    s.add_argument("--concurrent", type=positive_int, default=1, help="runs (or packs) trained together, each on a stream")
    s.add_argument("--dry-run", action="store_true", help="print the jobs and their estimated GPU minutes; train nothing")
    s.add_argument(
        "--pack", type=positive_int, default=1, help="up to P runs of one depth trained as one network (resnet_book.packed)"
    )
    s.set_defaults(func=cmd_sweep)
    b = sub.add_parser("bench", help="measure the trainer's speed on this GPU (or --cpu) against a plain PyTorch loop")
    b.add_argument(
        "--cpu",
        action="store_true",
        help="measure on this CPU instead: the nets trained live on a CPU (the mini preset) and ResNet-20 (data/benchmarks/cpu)",
    )
    b.add_argument("--models", nargs="+", default=None, help="CIFAR-10 nets measured (default resnet20 resnet56 resnet110)")
    b.add_argument(
        "--steps", type=positive_int, default=None, help="timed iterations per measurement (default 300; 30 with --cpu)"
    )
    b.add_argument("--out", default=None, help="where the record goes (default data/benchmarks, or data/benchmarks/cpu)")
    b.add_argument("--skip-levers", action="store_true", help="leave out each speed switch alone")
    b.add_argument(
        "--inductor", nargs="*", default=None, help="models whose inductor lever is measured (default resnet20; none with --cpu)"
    )
    b.set_defaults(func=cmd_bench)
    doc = imagenet.__doc__.split("\n\n", 1)
    i = sub.add_parser(
        "imagenet",
        help="the ImageNet recipe, one GPU or many under torchrun (see: imagenet --help)",
        description=doc[0],
        epilog=doc[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imagenet_arguments(i).set_defaults(func=cmd_imagenet)  # its options are its own (Sec. 3.4's recipe)
    return parser


def imagenet_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``python -m resnet_book imagenet``, Sec. 3.4's recipe (``recipe.ImageNetConfig``)."""
    p.add_argument("--model", default="resnet34", help="plain18/34, resnet18/34/50/101/152")
    p.add_argument("--shortcut", default=None, choices=["A", "B", "C"], help="Sec. 3.3 (default A; B from 50)")
    p.add_argument("--data", default="imagenette", help=f"'imagenette' or a folder: {imagenet.LAYOUT}")
    p.add_argument("--preset", default=None, choices=list(IMAGENET_PRESETS), help="default: imagenette or paper")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--batch-size", type=positive_int, default=None, help="in all, over every process (paper: 256)")
    p.add_argument("--lr", type=learning_rate, default=None)
    p.add_argument("--iterations", type=positive_int, default=None)
    p.add_argument("--milestones", type=positive_int, nargs="*", default=None, help="fixed lr steps (default: plateau rule)")
    p.add_argument("--patience", type=at_least(0), default=None, help="plateau rule: evaluations without 0.1 points gained")
    p.add_argument("--eval-every", type=positive_int, default=None, help="iterations between evaluations and checkpoints")
    p.add_argument("--scale", type=positive_int, nargs=2, default=None, metavar=("MIN", "MAX"), help="shorter side (256 480)")
    p.add_argument("--crop", type=positive_int, default=None, help="training and test crop (224)")
    p.add_argument("--test-size", type=positive_int, default=None, help="test shorter side; 10 crops of its centre (256)")
    p.add_argument("--mean-images", type=positive_int, default=None, help="images averaged into the per-pixel mean")
    p.add_argument(
        "--freeze-bn",
        action="store_true",
        help="not the recipe: BN uses its running statistics, so "
        "splitting the batch over GPUs changes nothing (the test of DDP uses it)",
    )
    p.add_argument("--workers", type=at_least(0), default=8, help="DataLoader workers per process (JPEG decoding)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"])
    p.add_argument("--out", default=str(imagenet.IMAGENET_RUNS), help="where the record goes (default data/runs/imagenet)")
    p.add_argument("--checkpoint-dir", default=str(imagenet.IMAGENET_CHECKPOINTS), help="on a disk every node shares")
    p.add_argument("--stop-after", type=positive_int, default=None, help="stop (checkpointed) N iterations on")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
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
