"""A run from its name to its record: what ``python -m resnet_book train`` and ``sweep`` do, callable from a
notebook too.

``train(configs, engine)`` trains one run of Sec. 4.2 (or several seeds of one net packed into one network,
``resnet_book.packed``) and records it: it refuses a run already recorded, checks that records and
checkpoints can be written (before hours of training, not after), takes the run's lock (one process per
run), loads CIFAR-10, trains under ``StopOnInterrupt`` (the first Ctrl-C stops at the next log point with a
checkpoint), then computes Fig. 7's layer responses and writes one record per run (``resnet_book.runs``).
``queue`` turns a sweep's runs into jobs (packs, the longest first) and ``sweep`` trains them the same way,
several at once on one GPU (``sweeps.run_pool``). A run checkpoints to ``data/checkpoints/<id>.pt`` and
continues from there when started again.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from . import data as datamod
from .analysis import layer_responses
from .checkpoints import CheckpointError
from .provenance import REPO_ROOT
from .recipe import Config
from .records import check_writable
from .runs import RUNS_DIR, TrainedRun, make_record, save_run
from .sweeps import job_cost, packs, run_pool
from .train import Engine, Trainer, resolve_device

CHECKPOINTS = REPO_ROOT / "data" / "checkpoints"


@dataclass(frozen=True)
class Outcome:
    """How ``train`` or ``sweep`` ended: ``finished`` of ``jobs`` trained to the end and recorded; the others
    stopped at a log point with a checkpoint (or never started), by Ctrl-C (``interrupted``) or the time limit."""

    jobs: int
    finished: int
    interrupted: bool
    trainer: Trainer | None = None  # ``train``: the run's trainer, at the iteration it stopped


def train(
    configs: Sequence[Config],
    engine: Engine = Engine(),
    *,
    out: str | Path = RUNS_DIR,
    checkpoint_dir: str | Path = CHECKPOINTS,
    checkpoint: str | Path | None = None,
    device: str | torch.device | None = None,
    max_seconds: float | None = None,
    force: bool = False,
) -> Outcome:
    """Train ``configs`` (one run, or several packed into one network) and record each run in ``out``.

    The run checkpoints to ``checkpoint`` (default ``<checkpoint_dir>/<id>.pt``) and continues from it when
    started again; ``max_seconds`` or Ctrl-C stop it there. A run already recorded is refused unless ``force``."""
    for cfg in configs:
        record = Path(out) / f"{cfg.record_id()}.json"
        if record.exists() and not force:
            raise FileExistsError(f"{record}: already recorded; pass --force to train and record it again")
    device = resolve_device(device)
    trainer = open_run(list(configs), engine, out, checkpoint or Path(checkpoint_dir) / f"{job_name(configs)}.pt", device, {})
    if trainer.device.type == "cpu":
        say_how_long(trainer)
    with StopOnInterrupt() as interrupted:
        trainer.run(max_seconds=max_seconds, stop=interrupted)
    finished = trainer.done and not interrupted()
    if finished:
        record_runs(trainer, out, overwrite=force)
    return Outcome(1, int(finished), interrupted(), trainer)


def queue(configs: Sequence[Config], pack: int = 1, out: str | Path = RUNS_DIR) -> list[list[Config]]:
    """A sweep's jobs: its runs not yet recorded in ``out`` (each one skipped is said), runs of one depth
    packed up to ``pack`` (``sweeps.packs``), the longest job first so that the last to start is short."""
    todo = {}
    for cfg in configs:
        if (Path(out) / f"{cfg.record_id()}.json").exists():
            print(f"{cfg.record_id()}: already recorded, skipped")
            continue
        todo[(cfg.model, cfg.shortcut, cfg.seed)] = cfg
    return [[todo[run] for run in job] for job in sorted(packs(list(todo), pack), key=job_cost, reverse=True)]


def sweep(
    jobs: list[list[Config]],
    engine: Engine = Engine(),
    *,
    concurrent: int = 1,
    out: str | Path = RUNS_DIR,
    checkpoint_dir: str | Path = CHECKPOINTS,
    device: str | torch.device | None = None,
    max_seconds: float | None = None,
) -> Outcome:
    """Train the jobs of ``queue``, up to ``concurrent`` at once on one GPU (``sweeps.run_pool``), each as
    ``train`` does; after ``max_seconds`` or Ctrl-C the live ones stop with a checkpoint and no other starts."""
    device, data = resolve_device(device), {}
    starts = [
        lambda job=job: open_run(job, engine, out, Path(checkpoint_dir) / f"{job_name(job)}.pt", device, data) for job in jobs
    ]
    with StopOnInterrupt() as interrupted:
        finished = run_pool(starts, concurrent, max_seconds, lambda t: record_runs(t, out), stop=interrupted)
    return Outcome(len(jobs), finished, interrupted())


# The longest job name a checkpoint takes: a file name has 255 bytes, and the checkpoint's temporary copy,
# ".<name>.pt.<pid>-<12 hex>.tmp" (records.write_atomically, a pid of up to 7 digits), adds 29 to the name.
MAX_JOB_NAME = 255 - 29


def job_name(configs: Sequence[Config]) -> str:
    """A job's checkpoint name: its runs' record ids, ``resnet56-A-paper-seed0+plain56-plain-paper-seed0``;
    refused (before anything trains) where it would not fit a file name."""
    name = "+".join(c.record_id() for c in configs)
    if len(name.encode()) > MAX_JOB_NAME:
        raise ValueError(
            f"{len(configs)} runs packed as one job ({configs[0].record_id()} and {len(configs) - 1} more): its checkpoint's "
            f"name would be longer than a file name may be ({len(name.encode()):,} of {MAX_JOB_NAME} bytes); "
            "train fewer seeds per command"
        )
    return name


def open_run(
    configs: list[Config], engine: Engine, out: str | Path, checkpoint: str | Path, device: torch.device, data: dict
) -> Trainer:
    """The trainer of a job, resumed from its checkpoint if there is one, after checking that its record and
    checkpoint can be written and taking its lock. ``data`` caches CIFAR-10 by subset for the jobs of a sweep."""
    checkpoint, cfg = Path(checkpoint), configs[0]
    check_writable(out, "run records")  # before hours of training, not after
    check_writable(checkpoint.parent, "checkpoint")
    lock_run(checkpoint)  # one process per run
    key = (cfg.train_per_class, cfg.test_per_class, cfg.split)
    if key not in data:
        data[key] = datamod.load_cifar10(
            train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class, split=cfg.split, device=device
        )
    trainer = Trainer(configs if len(configs) > 1 else cfg, data[key], device, checkpoint=checkpoint, engine=engine)
    if trainer.resumed_from is not None:
        print(f"{job_name(configs)}: resuming from {checkpoint} at iteration {trainer.resumed_from:,}")
    return trainer


def record_runs(trainer: Trainer, out: str | Path, overwrite: bool = False) -> list[Path]:
    """Fig. 7 statistics on the test set, then the run record (one per run of a pack)."""
    images = trainer.data.normalize(trainer.data.test_images)
    if trainer.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    paths = []
    for run, member in zip(trained_runs(trainer), trainer.members()):
        # Fig. 7 reads the original block's BN outputs; a pre-activation net has none of that kind
        stds = None if run.config.net.preact else layer_responses(member.model, images)
        path = save_run(make_record(run, stds), out, overwrite=overwrite)
        print(f"{path}: train error {run.final()['train_error']:.4f}, test error {run.final()['test_error']:.4f}")
        paths.append(path)
    return paths


def trained_runs(trainer: Trainer) -> list[TrainedRun]:
    """What each run of a finished trainer's record says of it (``runs.make_record``), in the order of its configs.

    A net given as ``Trainer(..., model=net)`` is refused: its record would name the config's model
    (``resnet20-A``, say), which is not the net that was trained."""
    if trainer.own_model:
        raise ValueError(
            f"{trainer.label}: trained a net given as model=, not the named {trainer.config.model!r}; "
            "such a run is not recorded (a record names the model it was trained on)"
        )
    fast_path = {
        "cuda_graph": trainer.use_graph,
        "bf16": trainer.amp,
        "channels_last": trainer.channels_last,
        "inductor": trainer.use_compile,
        "packed_runs": len(trainer.configs),  # 1, or the runs trained as one network with it
    }
    return [
        TrainedRun(
            m.config,
            trainer.data.name,
            m.history,
            trainer.device,
            trainer.wall_seconds,
            fast_path,
            trainer.resumed_from is not None,
            m.trained_with,
        )
        for m in trainer.members()
    ]


# ------------------------------------------------------------------------------------------ how long


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


def seconds_per_iteration(cfg: Config, device: str | torch.device = "cpu", steps: int = 2) -> float:
    """Seconds of one training step of ``cfg``'s net at its batch size, timed on random images after one
    warm-up step: enough to tell a reader, before a run starts, whether it takes minutes or days."""
    device = resolve_device(device)
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


# ------------------------------------------------------------------------------------------ Ctrl-C and the lock


class StopOnInterrupt:
    """While active (``with``), the first Ctrl-C only asks the run to stop: calling the object says whether
    it was pressed, and ``Trainer.run`` / a sweep then stop at the next log point with a checkpoint, so the
    work since the last one is kept. A second Ctrl-C interrupts at once (work since the last checkpoint lost)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nCtrl-C: stopping at the next log point with a checkpoint (Ctrl-C again: quit without it)",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> "StopOnInterrupt":
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self._previous)


_locks: dict[Path, int] = {}  # held for the life of the process


def lock_run(checkpoint: Path) -> None:
    """Take ``<checkpoint>.lock`` for this process: one process trains a run at a time. A second process on
    the same run is refused by name, and the lock is freed when the holder exits, even by ``kill -9``."""
    import fcntl  # POSIX (Linux, macOS, Colab): imported here so the rest of the module loads anywhere

    lock = checkpoint.with_name(checkpoint.name + ".lock")
    if lock in _locks:
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise CheckpointError(
            f"{lock}: another process (pid {holder}) is training this run; wait for it to finish or stop it"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _locks[lock] = fd
