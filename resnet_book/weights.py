"""A recorded run's final weights, kept so that what needs a trained net runs without training it again
(chapter 2's loss landscape, after Li et al., "Visualizing the Loss Landscape of Neural Nets", 2018).

``data/weights/<record id>.pt`` (``python -m resnet_book train ... --keep-weights``) is one ``torch.save``
file of tensors and plain data, format ``resnet_book.weights/1``:

.. code-block:: text

    format   "resnet_book.weights/1"
    record   str    the id of the run record the weights end (data/runs/<record>.json)
    final    {train_error, test_error}: that record's final errors, so weights and record are checked
             against each other
    state    {name: tensor}: the net's state dict, floating tensors in float16 (half the size; BN's running
             statistics included)
    sha256   str    of ``state`` (``tensors_sha256``): a flipped bit is found, not loaded

``kept_state`` reads it with ``weights_only=True`` and refuses, naming the file, one that is not such a file,
fails its checksum, or no longer matches its record.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from .provenance import REPO_ROOT
from .records import check_writable, write_atomically
from .runs import RUNS_DIR, Run, load_run

WEIGHTS_FORMAT = "resnet_book.weights/1"
WEIGHTS_DIR = REPO_ROOT / "data" / "weights"
REWRITE = "train the run again with --keep-weights (and --force) to write it anew"


class WeightsError(ValueError):
    """A weights file cannot be read, fails its checksum or does not match its record; the message names it."""


def tensors_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order (the same on any machine)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _record_errors(record: Mapping) -> dict[str, float]:
    return {key: record["final"][key] for key in ("train_error", "test_error")}


def keep(model: nn.Module, record: Mapping, directory: str | Path = WEIGHTS_DIR) -> Path:
    """Write ``model``'s weights as the end of run ``record`` (a run record's dict) to ``<directory>/<id>.pt``."""
    directory = check_writable(directory, "weights")
    state = {
        name: t.detach().to("cpu", torch.float16 if t.is_floating_point() else t.dtype) for name, t in model.state_dict().items()
    }
    payload = {
        "format": WEIGHTS_FORMAT,
        "record": record["id"],
        "final": _record_errors(record),
        "state": state,
        "sha256": tensors_sha256(state),
    }
    path = directory / f"{record['id']}.pt"
    write_atomically(path, lambda tmp: torch.save(payload, tmp))
    return path


def kept_state(run: Run | str, directory: str | Path = WEIGHTS_DIR, runs_dir: str | Path = RUNS_DIR) -> dict[str, torch.Tensor]:
    """The state dict (float32) kept for ``run`` (a ``Run`` or a record id), checked against its checksum and
    its record; ``WeightsError`` naming the file otherwise."""
    if isinstance(run, str):
        run = load_run(Path(runs_dir) / f"{run}.json")
    path = Path(directory) / f"{run.id}.pt"
    if not path.is_file():
        raise WeightsError(f"{path}: no weights kept for {run.id}; {REWRITE}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(f"{path}: not a readable weights file ({reason}); {REWRITE}") from None
    if not isinstance(payload, dict) or payload.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path}: not a {WEIGHTS_FORMAT} file; {REWRITE}")
    missing = [key for key in ("record", "final", "state", "sha256") if key not in payload]
    if missing:
        raise WeightsError(f"{path}: field {missing[0]!r} is missing; {REWRITE}")
    state = payload["state"]
    if not isinstance(state, dict) or tensors_sha256(state) != payload["sha256"]:
        raise WeightsError(f"{path}: its tensors fail their checksum (the file is corrupt); {REWRITE}")
    if payload["record"] != run.id or payload["final"] != _record_errors(run.record):
        raise WeightsError(
            f"{path}: the weights end another run than the record {run.path or run.id} describes "
            f"(final errors {payload['final']} against {_record_errors(run.record)}); {REWRITE}"
        )
    return {name: t.float() if t.is_floating_point() else t for name, t in state.items()}


def trained_model(run: Run | str, directory: str | Path = WEIGHTS_DIR, runs_dir: str | Path = RUNS_DIR) -> nn.Module:
    """The net ``run`` trained, at its end, in eval mode: built from its record, weights from ``kept_state``."""
    if isinstance(run, str):
        run = load_run(Path(runs_dir) / f"{run}.json")
    model = run.net.build(width=run.schedule.get("width"))
    model.load_state_dict(kept_state(run, directory, runs_dir))
    return model.eval()
