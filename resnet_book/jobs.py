"""A run from its name to its record: what ``python -m resnet_book train`` and ``sweep`` do, callable from a
notebook too.

``train_and_record(configs, engine)`` trains one run of Sec. 4.2 (or several seeds of one net packed into one
network, ``resnet_book.packed``) and records it; ``train.train`` trains one and returns its trainer, recording
nothing, hence the two names. It refuses a run already recorded, checks that records and
checkpoints can be written (before hours of training, not after), takes the locks of the job and of each
of its runs (one process per run, however it is packed; ``checkpoints.claim``), removes what saves cut short
by ``kill -9`` left behind, loads CIFAR-10, trains (resuming from the job's checkpoint) under
``StopOnInterrupt`` (the first Ctrl-C or SIGTERM stops at the next log point with a checkpoint), then computes
Fig. 7's layer responses and writes one record per run (``resnet_book.runs``), from the runs as the trainer
hands them over (``train.trained_runs``). ``queue`` turns a sweep's runs into jobs (packs, the longest first) and
``sweep`` trains them the same way, several at once on one GPU (``sweeps.run_pool``), skipping a job another
process is training. A run checkpoints to ``data/checkpoints/<id>.pt`` and continues from there when started
again. The runs of a job are in order of their seeds (``in_order``), however they were typed, so that a job
has one checkpoint and one lock.
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from . import checkpoints, weights
from . import data as datamod
from .analysis import layer_responses
from .checkpoints import RunLocked
from .estimates import cpu_time_note
from .provenance import REPO_ROOT
from .recipe import Config
from .records import check_writable, remove_orphans
from .runs import RUNS_DIR, make_record, save_run
from .sweeps import job_cost, packs, run_pool
from .train import Engine, Trainer, resolve_device, trained_runs

CHECKPOINTS = REPO_ROOT / "data" / "checkpoints"


@dataclass(frozen=True)
class Outcome:
    """How ``train_and_record`` or ``sweep`` ended: ``finished`` of ``jobs`` trained to the end and recorded; the others
    stopped at a log point with a checkpoint (or never started), by Ctrl-C or SIGTERM (``interrupted``, and
    ``signal`` its number) or the time limit, or were skipped as another process was training them (``skipped``)."""

    jobs: int
    finished: int
    interrupted: bool
    trainer: Trainer | None = None  # ``train_and_record``: the run's trainer, at the iteration it stopped
    signal: int | None = None  # the signal that stopped it: SIGINT (Ctrl-C) or SIGTERM
    skipped: int = 0  # ``sweep``: jobs another process holds the lock of


def train_and_record(
    configs: Sequence[Config],
    engine: Engine = Engine(),
    *,
    out: str | Path = RUNS_DIR,
    checkpoint_dir: str | Path = CHECKPOINTS,
    checkpoint: str | Path | None = None,
    device: str | torch.device | None = None,
    max_seconds: float | None = None,
    force: bool = False,
    keep_weights: str | Path | None = None,
) -> Outcome:
    """Train ``configs`` (one run, or several packed into one network) and record each run in ``out``.

    The run checkpoints to ``checkpoint`` (default ``<checkpoint_dir>/<id>.pt``) and continues from it when
    started again; ``max_seconds``, Ctrl-C or SIGTERM stop it there. A run already recorded is refused unless
    ``force``. The runs are trained in order of their seeds (``in_order``), whatever order they come in.
    ``keep_weights``: a folder where each run's final weights go beside its record (``resnet_book.weights``)."""
    configs = in_order(configs)
    for cfg in configs:
        record = Path(out) / f"{cfg.record_id()}.json"
        if record.exists() and not force:
            raise FileExistsError(f"{record}: already recorded; pass --force to train and record it again")
    if keep_weights is not None:
        check_writable(keep_weights, "weights")  # now, not after the run
    trainer = open_run(configs, engine, out, checkpoint_dir, device, {}, checkpoint)
    if trainer.device.type == "cpu" and not trainer.done:  # before a CPU run: how long, and how to stop it
        print(cpu_time_note(trainer.config, trainer.iteration, len(trainer.configs)), flush=True)
    with StopOnInterrupt() as interrupted:
        trainer.run(max_seconds=max_seconds, stop=interrupted)
    finished = trainer.done and not interrupted()
    if finished:
        record_runs(trainer, out, overwrite=force, weights_dir=keep_weights)
    return Outcome(1, int(finished), interrupted(), trainer, interrupted.signal)


def check_resumable(path: Path) -> None:
    """What ``--resume`` is given, the checkpoint a run continues from: a file, and not a run record (a
    checkpoint is a zip of tensors; a record is the JSON a finished run wrote, which stays as it is)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint to resume from; leave out --resume to start the run")
    with path.open("rb") as f:
        head = f.read(64).lstrip()
    if head.startswith(b"{") or path.suffix == ".json":
        raise ValueError(
            f"{path}: a run record (JSON), not a checkpoint; --resume takes the checkpoint a stopped run wrote "
            "(by default data/checkpoints/<id>.pt), and a finished run needs none"
        )


def in_order(configs: Sequence[Config]) -> list[Config]:
    """The runs of a job in order of their seeds (runs of one seed as they came): ``--seed 1 0`` and
    ``--seed 0 1`` are one job, with one checkpoint and one lock."""
    return sorted(configs, key=lambda c: c.seed)


def queue(configs: Sequence[Config], pack: int = 1, out: str | Path = RUNS_DIR) -> list[list[Config]]:
    """A sweep's jobs: its runs not yet recorded in ``out`` (each one skipped is said), runs of one depth
    packed up to ``pack`` (``sweeps.packs``) in order of their seeds (``in_order``: the packs do not depend on the
    order seeds were typed in), the longest job first so that the last to start is short."""
    todo = {}
    for cfg in in_order(configs):
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
    ``train_and_record`` does; after ``max_seconds``, Ctrl-C or SIGTERM the live ones stop with a checkpoint and
    no other starts. A job whose lock another process holds is skipped, saying so, and the sweep goes on."""
    device, data, skipped = resolve_device(device), {}, []

    def start(job: list[Config]) -> Trainer | None:
        try:
            return open_run(job, engine, out, checkpoint_dir, device, data)
        except RunLocked as err:
            print(f"{err}; {job_name(job)}: skipped, the sweep goes on", flush=True)
            skipped.append(job)
            return None

    starts = [lambda job=job: start(job) for job in jobs]
    with StopOnInterrupt() as interrupted:
        finished = run_pool(starts, concurrent, max_seconds, lambda t: record_runs(t, out), stop=interrupted)
    return Outcome(len(jobs), finished, interrupted(), signal=interrupted.signal, skipped=len(skipped))


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
    configs: list[Config],
    engine: Engine,
    out: str | Path,
    checkpoint_dir: str | Path,
    device: str | torch.device | None,
    data: dict,
    checkpoint: str | Path | None = None,
) -> Trainer:
    """The trainer of a job, resumed from its checkpoint (``checkpoint``, by default ``<checkpoint_dir>/<job
    name>.pt``) if there is one. A device this machine lacks is refused first (``train.resolve_device``); then,
    before any data is loaded, the checkpoint is claimed (``checkpoints.claim``: its folder checked, its lock and
    each run's taken, ``<checkpoint_dir>/<record id>.pt.lock``, the lock of the run trained alone, so that no run
    trains in two processes, whether alone or in packs of other sizes), the records' folder is checked writable
    and what saves of the runs' records cut short left is removed. A lock another process holds raises
    ``checkpoints.RunLocked`` with none taken. ``data`` caches CIFAR-10 by subset for the jobs of a sweep. The
    trainer gets the checkpoint claimed, resumes from it, and checks none of that again."""
    device = resolve_device(device)
    cfg, folder = configs[0], Path(checkpoint_dir)
    path = Path(checkpoint) if checkpoint is not None else folder / f"{job_name(configs)}.pt"
    claimed = checkpoints.claim(path, [folder / f"{c.record_id()}.pt" for c in configs])  # one process per run
    check_writable(out, "run records")  # before hours of training, not after
    for c in configs:  # a record's save cut short by kill -9
        remove_orphans(Path(out) / f"{c.record_id()}.json")
    key = (cfg.train_per_class, cfg.test_per_class, cfg.split)
    if key not in data:
        data[key] = datamod.load_cifar10(
            train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class, split=cfg.split, device=device
        )
    trainer = Trainer(configs if len(configs) > 1 else cfg, data[key], device, checkpoint=claimed, engine=engine)
    if trainer.resumed_from is not None:
        print(f"{job_name(configs)}: resuming from {path} at iteration {trainer.resumed_from:,}")
    return trainer


def record_runs(trainer: Trainer, out: str | Path, overwrite: bool = False, weights_dir: str | Path | None = None) -> list[Path]:
    """Fig. 7 statistics on the test set, then the run record (one per run of a pack, ``train.trained_runs``), and
    with ``weights_dir`` each run's final weights (``resnet_book.weights``)."""
    images = trainer.data.normalize(trainer.data.test_images)
    if trainer.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    paths = []
    for run in trained_runs(trainer):
        # Fig. 7 reads the original block's BN outputs; a pre-activation net has none of that kind
        stds = None if run.config.net.preact else layer_responses(run.model, images)
        record = make_record(run, stds)
        path = save_run(record, out, overwrite=overwrite)
        print(f"{path}: train error {run.final()['train_error']:.4f}, test error {run.final()['test_error']:.4f}")
        if weights_dir is not None:
            print(f"{weights.keep(run.model, record, weights_dir)}: its final weights")
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------ Ctrl-C and SIGTERM


class StopOnInterrupt:
    """While active (``with``), the first Ctrl-C (SIGINT) or SIGTERM (``kill``, a scheduler's stop) only asks
    the run to stop: calling the object says whether one came (``signal``: which), and ``Trainer.run`` / a
    sweep then stop at the next log point with a checkpoint, so the work since the last one is kept. A second
    signal ends at once (work since the last checkpoint lost): Ctrl-C as ``KeyboardInterrupt``, SIGTERM as
    ``SystemExit(143)``. The handlers in place before are put back on leaving. Signal handlers belong to the
    main thread: in another one nothing is installed (``max_seconds`` still stops the run)."""

    NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        name = self.NAMES.get(signum, f"signal {signum}")
        if self.requested:
            print(f"\n{name} again: quitting without a checkpoint", file=sys.stderr, flush=True)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        self.signal = signum
        print(
            f"\n{name}: stopping at the next log point with a checkpoint ({name} again: quit without it)",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> "StopOnInterrupt":
        if threading.current_thread() is threading.main_thread():
            for signum in self.NAMES:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
