"""A run's checkpoint: what lets a stopped run continue as if it had never stopped (Sec. 4.2's 64k iterations
do not fit one sitting on a small GPU).

A checkpoint is one ``torch.save`` file of tensors and plain data (format ``resnet_book.checkpoint/2``):
the runs' configs, the iteration, weights, momentum buffers, histories, warm-up state, wall time, RNG states
and the dataset's name (``train.state_of``). ``save`` writes it atomically; ``load`` reads it with
``weights_only=True`` and hands it back only for the same runs (``Config.identity``) on the same dataset,
refusing any other by name.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Sequence

import torch

from .recipe import Config
from .records import check_writable, write_atomically

# Config fields newer than the first checkpoints (the miniature's levers), read as their defaults from those
ADDED = ("width", "image_size", "warmup_iterations")

FORMAT = "resnet_book.checkpoint/2"
FIX = "delete it to start the run over"


class CheckpointError(ValueError):
    """A checkpoint cannot be read or belongs to another run; the message names the file."""


def check_path(path: Path) -> None:
    """Refuse, before training, a path where no checkpoint can be written (a folder, an unwritable folder)."""
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file; remove it or choose another path")
    check_writable(path.parent, "checkpoint")  # now, not at the first save


def save(path: Path, state: dict) -> None:
    """Atomically write ``state`` (``train.state_of``) to ``path``: a reader finds the old checkpoint or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: torch.save({"format": FORMAT, **state}, tmp))


def read(path: Path, device: torch.device, kind: str = FORMAT) -> dict:
    """The state saved at ``path`` (``weights_only=True``: tensors and plain data only), of checkpoint format
    ``kind`` (this package's, or the ImageNet runner's); a file that does not load, or is another kind of
    file, raises ``CheckpointError`` naming it."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "Weights only load failed" in reason:  # torch's advice (weights_only=False) is not ours to give
            reason = "it holds objects other than tensors and plain data"
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason}); {FIX}") from None
    if not isinstance(state, dict) or state.get("format") != kind:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: not a {kind} checkpoint (found {found!r}); {FIX}")
    return state


def load(path: Path, configs: Sequence[Config], dataset: str, device: torch.device) -> dict:
    """The state saved at ``path`` (``weights_only=True``), for ``train.restore``, checked to be of
    these runs on this dataset: a file that does not load, a checkpoint of another run, or of the same run on
    another dataset (real CIFAR-10 found after a start on the JPEG copy, say) raises ``CheckpointError`` naming it."""
    state = read(path, device)
    if state.get("dataset") != dataset:
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
