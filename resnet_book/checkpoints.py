"""A run's checkpoint: what lets a stopped run continue as if it had never stopped (Sec. 4.2's 64k iterations
do not fit one sitting on a small GPU).

A checkpoint is one ``torch.save`` file of tensors and plain data (format ``resnet_book.checkpoint/3``):
the runs' configs, the iteration, weights, momentum buffers, histories, warm-up state, wall time, RNG states
and the dataset's name (``train.state_of``), with a SHA-256 ``checksum`` of all of it (``checksum``: torch's
zip files carry no check a loader makes, so a flipped bit would otherwise resume silently). ``save`` writes
it atomically (a full disk raises ``records.DiskFull``, the earlier checkpoint kept); ``load`` reads it with
``weights_only=True``, refuses a file that fails its checksum or lacks a field, and hands it back only for
the same runs (``Config.identity``) on the same dataset, refusing any other by name. Checkpoints of format
``resnet_book.checkpoint/2`` (no checksum) are still read.

``claim`` is the one place that makes a checkpoint this process's before a run trains: it refuses a folder
or an unwritable one, takes the checkpoint's lock (``<checkpoint>.lock``: one process trains a run at a time;
``lock``) and those of the runs it holds, and removes what saves cut short by ``kill -9`` left. Every way in
claims a checkpoint once: ``jobs`` before it loads the data, ``train.train``, and a ``Trainer`` given a plain
path; a ``Trainer`` given what ``claim`` handed over (``Claimed``) checks none of it again.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from .recipe import Config
from .records import check_writable, remove_orphans, write_atomically

# Config fields newer than the first checkpoints (the miniature's levers), read as their defaults from those
ADDED = ("width", "image_size", "warmup_iterations")

FORMAT = "resnet_book.checkpoint/3"
READABLE = (FORMAT, "resnet_book.checkpoint/2")  # /2: the same fields, no checksum
FIX = "delete it to start the run over"

# the fields of ``train.state_of`` and the types ``restore`` needs; a checkpoint without one is refused by name
NUMBER = (int, float)
FIELDS: dict[str, tuple[type, ...]] = {
    "configs": (list,),
    "iteration": (int,),
    "model": (dict,),
    "momentum": (list,),
    "histories": (list,),
    "warmup_end": (int, type(None)),
    "warming_up": (bool,),
    "wall_seconds": NUMBER,
    "rng_cpu": (torch.Tensor,),
    "rng_cuda": (torch.Tensor, type(None)),
    "dataset": (str,),
}
OPTIONAL = {"trained_with": (list,)}  # the first /2 checkpoints were written without it


class CheckpointError(ValueError):
    """A checkpoint cannot be read or belongs to another run; the message names the file."""


class RunLocked(CheckpointError):
    """Another process holds the run's lock (``lock``): it is training the run now."""


def check_path(path: Path) -> None:
    """Refuse, before training, a path where no checkpoint can be written (a folder, an unwritable folder)."""
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file; remove it or choose another path")
    check_writable(path.parent, "checkpoint")  # now, not at the first save


def claim(path: str | Path, runs: Sequence[Path] = ()) -> "Claimed":
    """Make ``path`` this process's checkpoint before its run trains, and hand it over as ``Claimed``:
    ``check_path``, the folders of ``runs`` (the checkpoints of the runs it holds, trained alone: their locks go
    there) checked writable, the locks of ``path`` and ``runs`` taken (all or none, ``lock_all``: another
    process on one of them raises ``RunLocked``), then the temporary files of its saves that never finished
    removed (no other process writes it now)."""
    path = Path(path)
    check_path(path)
    for folder in dict.fromkeys(Path(p).parent for p in runs):
        check_writable(folder, "checkpoint")
    lock_all([path, *runs])
    remove_orphans(path)  # a save cut short by kill -9
    return Claimed(path)


@dataclass(frozen=True)
class Claimed:
    """A checkpoint that ``claim`` made this process's (checked, locked, cleaned): the trainer resumes from
    ``path`` and saves to it without checking it again."""

    path: Path


def save(path: Path, state: dict, kind: str = FORMAT) -> None:
    """Atomically write ``state`` (``train.state_of``; the ImageNet runner's of its ``kind``) to ``path`` with
    its checksum: a reader finds the old checkpoint or the new one. A full disk raises ``records.DiskFull``
    naming the file and the space left, the earlier checkpoint kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": kind, **state}
    state["checksum"] = checksum(state)

    def write(tmp: Path) -> None:
        buffer = io.BytesIO()  # serialised first, so that a full disk is Python's OSError, not torch's zip writer's
        torch.save(state, buffer)
        tmp.write_bytes(buffer.getbuffer())

    write_atomically(path, write, kept="the earlier checkpoint is kept and the run continues from it")


def checksum(state: dict) -> str:
    """SHA-256 of everything in ``state`` but its ``format`` and ``checksum``: each tensor's name, dtype, shape
    and bytes (on the CPU, contiguous), and the plain data's types and values, keys in sorted order; the same
    before ``torch.save`` and after ``torch.load`` on any device."""
    digest = hashlib.sha256()

    def feed(name: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach().to("cpu").contiguous()
            digest.update(f"{name}:tensor:{t.dtype}:{tuple(t.shape)}\n".encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            digest.update(f"{name}:dict:{len(value)}\n".encode())
            for key in sorted(value, key=repr):
                feed(f"{name}/{key!r}", value[key])
        elif isinstance(value, (list, tuple)):  # torch.load may give back a tuple as a list
            digest.update(f"{name}:seq:{len(value)}\n".encode())
            for i, item in enumerate(value):
                feed(f"{name}/{i}", item)
        else:  # None, bool, int, float, str: repr is exact (floats round-trip)
            digest.update(f"{name}:{type(value).__name__}:{value!r}\n".encode())

    for key in sorted(k for k in state if k not in ("format", "checksum")):
        feed(key, state[key])
    return digest.hexdigest()


def read(path: Path, device: torch.device, kind: str | Sequence[str] = READABLE) -> dict:
    """The state saved at ``path`` (``weights_only=True``: tensors and plain data only), of a checkpoint format
    in ``kind`` (this package's, or the ImageNet runner's); a file that does not load, is another kind of
    file, or fails its checksum (where it has one) raises ``CheckpointError`` naming it."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "Weights only load failed" in reason:  # torch's advice (weights_only=False) is not ours to give
            reason = "it holds objects other than tensors and plain data"
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason}); {FIX}") from None
    if not isinstance(state, dict) or state.get("format") not in kinds:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: not a {kinds[0]} checkpoint (found {found!r}); {FIX}")
    if state["format"] == FORMAT and "checksum" not in state:
        raise CheckpointError(f"{path}: corrupt, a {FORMAT} checkpoint without its checksum; {FIX}")
    if "checksum" in state and state["checksum"] != checksum(state):
        raise CheckpointError(
            f"{path}: corrupt, its contents do not match the checksum saved with them (changed on disk or in a "
            f"copy since it was written); {FIX}, or put back an intact copy"
        )
    return state


def check_fields(path: Path, state: dict) -> None:
    """Every field ``train.restore`` reads, of the type it needs: a hand-made or damaged checkpoint is
    refused naming the field, not with a ``KeyError`` from deep in the trainer."""
    for key, types in {**FIELDS, **OPTIONAL}.items():
        if key not in state:
            if key in OPTIONAL:
                continue
            raise CheckpointError(f"{path}: field {key!r} is missing; {FIX}")
        bad_bool = bool not in types and isinstance(state[key], bool)  # True is an int to Python, not a count
        if not isinstance(state[key], types) or bad_bool:
            wanted = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            raise CheckpointError(f"{path}: field {key!r} is {type(state[key]).__name__}, not {wanted}; {FIX}")
    if state["iteration"] < 0:
        raise CheckpointError(f"{path}: field 'iteration' is {state['iteration']}, below 0; {FIX}")
    if not state["configs"] or not all(isinstance(c, dict) for c in state["configs"]):
        raise CheckpointError(f"{path}: field 'configs' does not hold a config (a dict) per run; {FIX}")
    histories = state["histories"]
    if len(histories) != len(state["configs"]) or not all(isinstance(h, list) for h in histories):
        raise CheckpointError(
            f"{path}: field 'histories' holds {len(histories)} entries, not a history (a list) for each of its "
            f"{len(state['configs'])} runs; {FIX}"
        )


def load(path: Path, configs: Sequence[Config], dataset: str, device: torch.device) -> dict:
    """The state saved at ``path`` (``weights_only=True``), for ``train.restore``, checked to be of
    these runs on this dataset: a file that does not load, a checkpoint of another run, or of the same run on
    another dataset (real CIFAR-10 found after a start on the JPEG copy, say) raises ``CheckpointError`` naming it."""
    state = read(path, device)
    check_fields(path, state)
    if state["dataset"] != dataset:
        raise CheckpointError(
            f"{path}: this run was trained on {state.get('dataset')!r} and would continue on "
            f"{dataset!r}; {FIX}, or continue it where {state.get('dataset')!r} is found (real "
            "CIFAR-10 comes first: RESNET_BOOK_DATA_DIR chooses the folder it is looked for in)"
        )
    if len(state["configs"]) != len(configs):
        raise CheckpointError(f"{path}: checkpoint of {len(state['configs'])} packed runs, not {len(configs)}; {FIX}")
    for cfg, theirs in zip(configs, state["configs"]):
        mine = cfg.identity()
        theirs["milestones"] = tuple(theirs.get("milestones", ()))
        for k in ADDED:  # a field added after the checkpoint was written held its default there (the paper's value)
            theirs.setdefault(k, getattr(Config, k))
        differ = [k for k in mine if k not in theirs or mine[k] != theirs[k]]
        if differ:
            raise CheckpointError(
                f"{path}: checkpoint of a different run ({', '.join(differ)} differ); {FIX}, or pass the options "
                "it was started with"
            )
    return state


# ------------------------------------------------------------------------------------------ the lock

_locks: dict[Path, int] = {}  # lock file (resolved) -> its descriptor, held for the life of the process


def lock(checkpoint: Path) -> None:
    """Take ``<checkpoint>.lock`` for this process: one process trains a run at a time. A second process on
    the same run is refused by name (``RunLocked``), and the lock is freed when the holder exits, even by
    ``kill -9``. Taking a lock this process holds already does nothing."""
    import fcntl  # POSIX (Linux, macOS, Colab): imported here so the rest of the module loads anywhere

    checkpoint = Path(checkpoint)
    lock_file = checkpoint.with_name(checkpoint.name + ".lock")
    key = lock_file.resolve()
    if key in _locks:
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise RunLocked(
            f"{lock_file}: another process (pid {holder}) is training this run; wait for it to finish or stop it"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _locks[key] = fd


def lock_all(checkpoints: Sequence[Path]) -> None:
    """``lock`` each of ``checkpoints``, or none: where one is held by another process, the ones this call
    took are given back before ``RunLocked`` is raised (a sweep skips the job and trains the others)."""
    taken = []
    try:
        for path in checkpoints:
            key = Path(path).with_name(Path(path).name + ".lock").resolve()
            fresh = key not in _locks
            lock(path)
            if fresh:
                taken.append(key)
    except RunLocked:
        for key in taken:
            os.close(_locks.pop(key))  # closing the descriptor frees its flock
        raise
