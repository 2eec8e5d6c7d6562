"""A run's checkpoint: what lets a stopped run continue as if it had never stopped (Sec. 4.2's 64k iterations
do not fit one sitting on a small GPU).

A checkpoint is one ``torch.save`` file of tensors and plain data (format ``resnet_book.checkpoint/2``):
the runs' configs, the iteration, weights, momentum buffers, histories, warm-up state, wall time, RNG states
and the dataset's name. ``save`` writes a trainer's atomically; ``load_into`` reads one with
``weights_only=True`` into a trainer of the same runs (``Config.identity``) on the same dataset, and refuses
any other by name.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .runs import check_writable, write_atomically

if TYPE_CHECKING:  # for the annotations only: the trainer imports this module
    from .train import Trainer

FORMAT = "resnet_book.checkpoint/2"
FIX = "delete it to start the run over"


class CheckpointError(ValueError):
    """A checkpoint cannot be read or belongs to another run; the message names the file."""


def check_path(path: Path) -> None:
    """Refuse, before training, a path where no checkpoint can be written (a folder, an unwritable folder)."""
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file; remove it or choose another path")
    check_writable(path.parent, "checkpoint")  # now, not at the first save


def save(trainer: Trainer, path: Path) -> None:
    """Atomically write the trainer's state to ``path``: a reader finds the old checkpoint or the new one."""
    trainer._sync()
    state = {
        "format": FORMAT,
        "configs": [asdict(c) for c in trainer.configs],
        "iteration": trainer.iteration,
        "model": trainer.model.state_dict(),
        "momentum": [b.detach().clone() for b in trainer.bufs],
        "histories": [copy.deepcopy(h.entries) for h in trainer.histories],
        "warmup_end": trainer.history.warmup_end,
        "warming_up": trainer.warming_up,
        "wall_seconds": trainer.wall_seconds + trainer.seconds(),
        "trained_with": list(trainer.trained_with),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state(trainer.device) if trainer.device.type == "cuda" else None,
        "dataset": trainer.data.name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda tmp: torch.save(state, tmp))


def load_into(trainer: Trainer, path: Path) -> None:
    """Resume ``trainer`` from ``path`` (``weights_only=True``): the run continues as if never interrupted.

    A file that does not load, a checkpoint of another run, or of the same run on another dataset
    (real CIFAR-10 found after a start on the JPEG copy, say) raises ``CheckpointError`` naming it."""
    state = _read(path, trainer)
    trainer.model.load_state_dict(state["model"])
    with torch.no_grad():
        for b, s in zip(trainer.bufs, state["momentum"]):
            b.copy_(s)
    trainer.iteration = trainer._last_log = trainer.resumed_from = int(state["iteration"])
    trainer.step_t.fill_(trainer.iteration)
    for history, entries in zip(trainer.histories, state["histories"]):
        history.entries = list(entries)
    trainer.history.warmup_end = state["warmup_end"]
    trainer.warming_up = bool(state["warming_up"])
    trainer.wall_seconds = float(state["wall_seconds"])
    trainer.trained_with = list(state["trained_with"])  # runs that shared the GPU in earlier segments
    torch.set_rng_state(state["rng_cpu"].cpu())
    if state["rng_cuda"] is not None and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(state["rng_cuda"].cpu(), trainer.device)


def _read(path: Path, trainer: Trainer) -> dict:
    """The state saved at ``path``, checked to be of the trainer's runs on the trainer's dataset."""
    try:
        state = torch.load(path, map_location=trainer.device, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "Weights only load failed" in reason:  # torch's advice (weights_only=False) is not ours to give
            reason = "it holds objects other than tensors and plain data"
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason}); {FIX}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: not a {FORMAT} checkpoint (found {found!r}); {FIX}")
    dataset, configs = trainer.data.name, trainer.configs
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
        differ = [k for k in mine if k not in theirs or mine[k] != theirs[k]]
        if differ:
            raise CheckpointError(
                f"{path}: checkpoint of a different run ({', '.join(differ)} differ); {FIX}, or pass the options "
                "it was started with"
            )
    return state
