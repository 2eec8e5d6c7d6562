"""Recorded runs: one JSON file per training run in ``data/runs/``, validated when loaded.

Schema (``resnet_book.run/1``); errors are fractions in [0, 1], times in seconds:

.. code-block:: text

    id            str    "<model>-<shortcut or plain>-<preset>-seed<seed>", e.g. "resnet20-A-paper-seed0",
                         and the file's name: <id>.json (so ids are unique in a folder)
    model         str    a name of resnet_book.models.get_model ("resnet20", "plain56", ...), spelled as
                         Net.name spells it (not "resnet020")
    family?       str    "imagenet" for an ImageNet record (resnet_book.imagenet); absent: CIFAR-10
    shortcut      str | null   "A" | "B" | "C"; null for plain nets
    dataset       str    "cifar10", "cifar10-jpeg" ("synthetic" in tests), or a subset such as
                         "cifar10-jpeg[500/100 per class]" or "cifar10[45k/5k val]" (CIFAR_DATASET)
    seed          int
    preset        str    "paper", "quick", "colab", "mini" (the miniature, never in a paper-schedule table) or "custom"
    schedule      {iterations, batch_size, lr, lr_factor, milestones, weight_decay, momentum,
                   warmup: null | {lr, until_train_error, ended_at}, eval_every, split, ...,
                   width?, image_size?, warmup_iterations?}   (absent: the paper's 16, 32 and 0)
    history       [{iteration, lr, train_loss, train_error, test_loss, test_error, seconds}, ...]
                  train_* over the iterations since the previous entry (the paper's dashed curves),
                  test_* on the whole test split at that iteration (the bold curves)
    final         {train_error, test_error, train_loss, layer_response_std?: [float, ...]}: the last
                  history entry's errors and loss (it ends at schedule.iterations)
                  layer_response_std: Fig. 7, the std of each 3x3 layer's output after BN (test set);
                  an ImageNet record's test errors are its evaluations after the last entry: 10-crop
                  (test_error, test_top5_error) and centre crop (center_crop_error, ..._top5_error)
    provenance    {gpu, torch, commit, wall_seconds, date, resnet_book, python, device, fast_path,
                   resumed, trained_concurrently_with, threads?}
                  gpu is the GPU's name, or the CPU model for a CPU run (threads: torch's CPU threads); fast_path holds the speed
                  switches and packed_runs (1, or the runs trained as one network with this one);
                  wall_seconds is shared with the runs in trained_concurrently_with

Every number is finite. ``load_run`` refuses, naming the file and the field, a record that breaks any of
this: a copy saved under another name, a record whose model disagrees with its id, a NaN or an infinite
number (``1e999``), final errors that are not the history's last, a history that stops before the
schedule's end, an unknown dataset, a file that is not UTF-8 JSON. A chapter never shows a record it
could not check.
"""

from __future__ import annotations

import errno
import glob
import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .models import Net
from .provenance import REPO_ROOT

if TYPE_CHECKING:
    import torch

    from .recipe import Config

SCHEMA = "resnet_book.run/1"
RUNS_DIR = REPO_ROOT / "data" / "runs"
SCHEDULE_KEYS = ("iterations", "batch_size", "lr", "milestones", "weight_decay", "momentum", "warmup")
HISTORY_KEYS = ("iteration", "lr", "train_loss", "train_error", "test_error", "seconds")
PROVENANCE_KEYS = ("gpu", "torch", "commit", "wall_seconds", "date", "resnet_book")
RESTORE = "; restore the file (git checkout -- data/runs) or remove it"  # what to do with a broken record


class RunRecordError(ValueError):
    """A run record breaks the schema; the message names the file and the field."""


@dataclass(frozen=True)
class Run:
    """A validated run record (the JSON as a dict in ``record``) and where it came from."""

    record: dict
    path: Path | None = None

    def __getattr__(self, key: str) -> Any:
        try:
            return self.record[key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def net(self) -> Net:
        """The network the run trained (``resnet_book.models.Net``)."""
        return Net.parse(self.record["model"], self.record["shortcut"], family=self.record.get("family", "cifar"))

    @property
    def label(self) -> str:
        """e.g. "ResNet-20 (A)", "plain-56", "pre-act ResNet-110 (A)"."""
        shortcut = self.record["shortcut"]
        return self.net.label + (f" ({shortcut})" if shortcut else "")

    def curve(self, key: str) -> tuple[list[int], list[float]]:
        """(iterations, values) of one history field, e.g. ``run.curve("test_error")``."""
        return [e["iteration"] for e in self.history], [e[key] for e in self.history]

    @property
    def packed_with(self) -> list[str] | None:
        """The runs trained as one network with this one (``resnet_book.packed``): ``[]`` if it trained
        alone, None for the first records, written before the trainer kept track. They lead
        ``trained_concurrently_with``, followed by the runs that shared the GPU on their own streams."""
        p = self.record["provenance"]
        n = p.get("fast_path", {}).get("packed_runs")
        return None if n is None else p.get("trained_concurrently_with", [])[: n - 1]

    def caption(self) -> str:
        """Where the curve comes from: record id, GPU, dataset, wall time, commit."""
        p = self.record["provenance"]
        return (
            f"{self.record['id']}: {p['gpu']}, torch {p['torch']}, dataset {self.record['dataset']}, "
            f"{self.record['schedule']['iterations']:,} iterations in {p['wall_seconds'] / 60:.1f} min, "
            f"commit {str(p['commit'])[:10]}"
        )


def _fail(where: str, field: str, problem: str) -> RunRecordError:
    return RunRecordError(f"{where}: field '{field}' {problem}")


def _fraction(where: str, field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
        raise _fail(where, field, f"must be a fraction in [0, 1], got {value!r}")


def _finite(where: str, field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, field, f"must be a finite number, got {value!r}")


def _all_finite(where: str, field: str, value: Any) -> None:
    """Every number anywhere in ``value`` is finite (``json`` reads ``1e999`` as infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(where, field, f"must be a finite number, got {value!r}")
    if isinstance(value, dict):
        for key, item in value.items():
            _all_finite(where, f"{field}.{key}" if field else str(key), item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _all_finite(where, f"{field}[{i}]", item)


def _whole(where: str, field: str, value: Any, least: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise _fail(where, field, f"must be a whole number >= {least}, got {value!r}")


# The datasets a record may name (``resnet_book.data``): real CIFAR-10, the offline JPEG copy, or the tests'
# random images, optionally as a per-class subset or the paper's 45k/5k split; ImageNet records name
# Imagenette or an image folder (``resnet_book.imagenet.dataset_name``).
CIFAR_DATASET = re.compile(
    r"(cifar10|cifar10-jpeg|synthetic)(\[(?P<train>\d+|all)/(?P<test>\d+|all) per class\]|\[45k/5k val\])?", re.ASCII
)
IMAGENET_DATASET = re.compile(r"imagenette-320px|imagefolder:.+")
IMAGENET_PRESETS = ("paper", "imagenette")  # resnet_book.imagenet.PRESETS (a test checks they agree)


def _check_dataset(where: str, record: dict, family: str) -> None:
    name, schedule = record["dataset"], record["schedule"]
    match = (CIFAR_DATASET if family == "cifar" else IMAGENET_DATASET).fullmatch(name)
    if match is None:
        known = (
            "'cifar10', 'cifar10-jpeg' or 'synthetic', as a subset such as 'cifar10-jpeg[500/100 per class]' or "
            "'cifar10[45k/5k val]'"
            if family == "cifar"
            else "'imagenette-320px' or 'imagefolder:<folder>'"
        )
        raise _fail(where, "dataset", f"is {name!r}, not a dataset this package trains on: {known}")
    if family == "cifar" and match["train"] is not None:
        for side in ("train", "test"):
            key = f"{side}_per_class"
            if key in schedule and match[side] != str(schedule[key] or "all"):
                raise _fail(where, "dataset", f"is {name!r}, but schedule.{key} is {schedule[key]!r}")


def validate(record: Any, where: str = "run record") -> dict:
    """Check a record against the schema; raise ``RunRecordError`` naming ``where`` and the field.

    Beyond each field's type and range, a record must agree with itself: its id with its model, shortcut,
    preset and seed; its ``final`` errors with the history's last entry (where the trainer takes them);
    its history with the schedule's end (an unfinished run is a checkpoint, not a record)."""
    from .recipe import PRESETS, SEEDS

    if not isinstance(record, dict):
        raise RunRecordError(f"{where}: a run record must be a JSON object, got {type(record).__name__}")
    for key, kind in (
        ("id", str),
        ("model", str),
        ("dataset", str),
        ("seed", int),
        ("preset", str),
        ("schedule", dict),
        ("history", list),
        ("final", dict),
        ("provenance", dict),
    ):
        if key not in record:
            raise _fail(where, key, "is missing")
        if not isinstance(record[key], kind) or isinstance(record[key], bool):
            raise _fail(where, key, f"must be {kind.__name__}, got {type(record[key]).__name__}")
    if record.get("schema", SCHEMA) != SCHEMA:
        raise _fail(where, "schema", f"must be {SCHEMA!r}, got {record['schema']!r}")
    _all_finite(where, "", record)
    family = record.get("family", "cifar")  # CIFAR-10 records, the first, carry no family
    if family not in ("cifar", "imagenet"):
        raise _fail(where, "family", f"must be 'cifar' or 'imagenet', got {family!r}")
    shortcut = record.get("shortcut", "missing")
    if shortcut not in (None, "A", "B", "C"):
        raise _fail(where, "shortcut", f"must be 'A', 'B', 'C' or null, got {shortcut!r}")
    try:
        net = Net.parse(record["model"], shortcut=shortcut, family=family)
    except ValueError as err:
        raise _fail(where, "model", f"is not a valid network: {err}") from None
    if net.shortcut != shortcut:  # a ResNet always has one (the record names it); a plain net none
        raise _fail(where, "shortcut", f"is null, but {record['model']} is a ResNet: name its shortcut ('A', 'B' or 'C')")
    presets = (*(PRESETS if family == "cifar" else IMAGENET_PRESETS), "custom")
    if record["preset"] not in presets:
        raise _fail(where, "preset", f"must be one of {', '.join(presets)}; got {record['preset']!r}")
    if record["seed"] not in SEEDS:
        raise _fail(where, "seed", f"must be a 64-bit seed (torch.manual_seed's range), got {record['seed']}")
    expected = net.record_id(record["preset"], record["seed"])
    if record["id"] != expected:
        raise _fail(where, "id", f"is {record['id']!r} but model, shortcut, preset and seed make it {expected!r}")
    schedule = record["schedule"]
    for key in SCHEDULE_KEYS:
        if key not in schedule:
            raise _fail(where, f"schedule.{key}", "is missing")
    _whole(where, "schedule.iterations", schedule["iterations"])
    _whole(where, "schedule.batch_size", schedule["batch_size"])
    if isinstance(schedule["lr"], bool) or not isinstance(schedule["lr"], (int, float)) or not schedule["lr"] > 0:
        raise _fail(where, "schedule.lr", f"must be a finite number > 0, got {schedule['lr']!r}")
    _check_dataset(where, record, family)
    if not record["history"]:
        raise _fail(where, "history", "is empty")
    last = 0
    for i, entry in enumerate(record["history"]):
        if not isinstance(entry, dict):
            raise _fail(where, f"history[{i}]", f"must be an object, got {type(entry).__name__}")
        for key in HISTORY_KEYS:
            if key not in entry:
                raise _fail(where, f"history[{i}].{key}", "is missing")
        for key in ("train_error", "test_error"):
            _fraction(where, f"history[{i}].{key}", entry[key])
        for key in ("lr", "train_loss", "test_loss", "seconds"):
            if key in entry:  # test_loss came after the first records
                _finite(where, f"history[{i}].{key}", entry[key])
        _whole(where, f"history[{i}].iteration", entry["iteration"])
        if entry["iteration"] <= last:
            raise _fail(where, f"history[{i}].iteration", "must increase")
        last = entry["iteration"]
    if last != schedule["iterations"]:
        raise _fail(
            where,
            "history",
            f"ends at iteration {last:,} of a {schedule['iterations']:,}-iteration schedule: the run did not "
            "finish (a finished run logs its last iteration), so it is no result",
        )
    final, end = record["final"], record["history"][-1]
    for key in ("train_error", "test_error"):
        if key not in final:
            raise _fail(where, f"final.{key}", "is missing")
        _fraction(where, f"final.{key}", final[key])
    if "train_loss" in final:
        _finite(where, "final.train_loss", final["train_loss"])
    # the trainer's final errors are its last history entry's (train._final); an ImageNet record's test
    # errors come from the evaluations after the last entry (10 crops, and the centre crop again)
    for key in ("train_error", "train_loss", "test_error") if family == "cifar" else ("train_error", "train_loss"):
        if key in final and final[key] != end[key]:
            raise _fail(
                where, f"final.{key}", f"is {final[key]!r}, but the history's last entry (iteration {last:,}) has {end[key]!r}"
            )
    stds = record["final"].get("layer_response_std")
    if stds is not None:
        if not isinstance(stds, list):
            raise _fail(where, "final.layer_response_std", f"must be a list of numbers, got {type(stds).__name__}")
        for i, s in enumerate(stds):
            _finite(where, f"final.layer_response_std[{i}]", s)
    for key in PROVENANCE_KEYS:
        if key not in record["provenance"]:
            raise _fail(where, f"provenance.{key}", "is missing")
    wall = record["provenance"]["wall_seconds"]
    if isinstance(wall, bool) or not isinstance(wall, (int, float)) or not (0 <= wall < math.inf):
        raise _fail(where, "provenance.wall_seconds", f"must be a number of seconds >= 0, got {wall!r}")
    return record


def load_run(path: str | Path) -> Run:
    """Read and validate one record; a broken file raises ``RunRecordError`` naming it.

    The record's id must be the file's name: a copy saved as ``<id> (1).json`` is refused, not shown."""
    path = Path(path)
    try:
        record = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as err:
        raise RunRecordError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}){RESTORE}") from None
    except (json.JSONDecodeError, ValueError) as err:
        raise RunRecordError(f"{path}: not valid JSON ({err}){RESTORE}") from None
    except OSError as err:
        raise RunRecordError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        validate(record, str(path))
    except RunRecordError as err:
        raise RunRecordError(f"{err}{RESTORE}") from None
    if record["id"] != path.stem:
        raise _fail(
            str(path),
            "id",
            f"is {record['id']!r}, not the file's name {path.stem!r}: a copy or a "
            "renamed record; remove it, or name the file <id>.json",
        )
    return Run(record, path)


def _no_constant(name: str) -> None:
    """``json`` reads NaN and Infinity, which JSON does not have; a record never holds them."""
    raise ValueError(f"{name} is not a JSON number")


def list_runs(directory: str | Path = RUNS_DIR, **match: Any) -> list[Run]:
    """Every record in ``directory`` whose fields equal ``match`` (e.g. ``model="resnet20"``), by id.

    One broken record stops the listing with its name: a table never silently drops or swaps a run."""
    runs = [load_run(p) for p in sorted(Path(directory).glob("*.json"))]
    return [r for r in runs if all(r.record.get(k) == v for k, v in match.items())]


def as_seeds(runs: Run | Sequence[Run] | None) -> list[Run]:
    """One run, the seeds of one net (``find_runs``), or None (not recorded), as a list of runs: what the
    figures and the statistics over seeds take."""
    return [] if runs is None else [runs] if isinstance(runs, Run) else list(runs)


def find_runs(model: str, shortcut: str | None = None, preset: str = "paper", directory: str | Path = RUNS_DIR) -> list[Run]:
    """Every recorded seed of one net (``shortcut=None``: the paper's, option A for a CIFAR ResNet), by seed;
    ``[]`` if none. An impossible net is an error, not an empty list.

    The runs a statistic over seeds is computed from (``report.seed_stats``, Table 6's "best (mean ± std)")."""
    net = Net.parse(model, shortcut, family="cifar")
    return sorted(list_runs(directory, model=net.name, shortcut=net.shortcut, preset=preset), key=lambda r: r.seed)


def find_run(
    model: str, shortcut: str | None = None, preset: str = "paper", directory: str | Path = RUNS_DIR, seed: int | None = None
) -> Run | None:
    """The record for ``model`` (option A by default for ResNets), lowest seed first; None if not recorded."""
    runs = [r for r in find_runs(model, shortcut, preset, directory) if seed is None or r.seed == seed]
    return runs[0] if runs else None


def check_writable(folder: str | Path, what: str) -> Path:
    """Create ``folder`` if needed and write a file into it, so a run learns before training, not at its
    first save hours later, that its records or checkpoints cannot be written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise OSError(f"{folder}: the {what} folder is not writable ({err.strerror}); choose another one") from None
    return folder


class DiskFull(OSError):
    """A file could not be written for want of space (``ENOSPC``, or a quota's ``EDQUOT``); the message names the
    file, the space left, and what was kept."""


def temporary_name(path: Path) -> Path:
    """The temporary file ``write_atomically`` writes before renaming it to ``path``: a name of its own per
    writer, ``.<name>.<pid>-<12 hex>.tmp`` beside it."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def remove_orphans(path: Path) -> list[Path]:
    """Remove the temporary files of saves of ``path`` that never finished (a process killed with ``kill -9``
    while writing), saying so. Call it only while no other process may be writing ``path`` (its run's lock)."""
    found = sorted(Path(p) for p in glob.glob(str(path.with_name(f".{glob.escape(path.name)}.*-*.tmp"))))
    for tmp in found:
        tmp.unlink(missing_ok=True)
        print(f"{tmp}: removed, the temporary file of a save of {path.name} that never finished", flush=True)
    return found


def size_text(n: int) -> str:
    """``'0 bytes'``, ``'812 KB'``, ``'3.4 GB'``: a size as a reader says it (powers of 1000)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 100 * size else f"{n / size:.0f} {unit}"
    return f"{n} bytes"


def write_atomically(path: Path, write: Callable[[Path], None], kept: str | None = None) -> None:
    """``write(tmp)`` into a temporary file of its own beside ``path``, then rename it to ``path``: a reader
    sees the old file or the new one, never half of one, and two writers never share a temporary name.

    A full disk raises ``DiskFull`` naming ``path`` and the space left, the temporary file removed and the
    earlier file kept (``kept`` says what that means for the reader)."""
    # a name of its own, created with the file's usual mode (mkstemp's 0600 would hide records from others)
    tmp = temporary_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        free = size_text(shutil.disk_usage(path.parent).free)
        earlier = (kept or f"the earlier {path.name} is kept") if path.exists() else "nothing was written in its place"
        raise DiskFull(
            f"{path}: no space left to write it ({free} free in {path.parent}); {earlier}; free some space, then "
            "run the same command again"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class History:
    """What the trainer logs every ``eval_every`` iterations (the paper's dashed and bold curves), as a record
    stores it: ``history`` and the schedule's ``warmup.ended_at``."""

    entries: list[dict] = field(default_factory=list)
    warmup_end: int | None = None  # iteration at which the warm-up learning rate ended


@dataclass(frozen=True)
class TrainedRun:
    """A finished run as its record tells it, handed over by the trainer (``jobs.trained_runs``): one per run
    of a pack. ``history`` is the trainer's (``entries``, ``warmup_end``); the wall time, speed switches and
    ``trained_with`` are shared with the runs trained beside it."""

    config: Config
    dataset: str
    history: History
    device: torch.device
    wall_seconds: float
    fast_path: dict  # the speed switches, and packed_runs (1, or the runs trained as one network with it)
    resumed: bool
    trained_with: list[str]

    def final(self) -> dict:
        """Final training error (the last history window), test error and training loss."""
        last = self.history.entries[-1]
        return {"train_error": last["train_error"], "test_error": last["test_error"], "train_loss": last["train_loss"]}


def make_record(run: TrainedRun, layer_response_std: list[float] | None = None) -> dict:
    """The record of a finished run, with its provenance; ``layer_response_std``: Fig. 7's statistics."""
    from .provenance import provenance

    cfg = run.config
    schedule = cfg.schedule()
    if schedule["warmup"] is not None:
        schedule["warmup"]["ended_at"] = run.history.warmup_end
    final = run.final()
    if layer_response_std is not None:
        final["layer_response_std"] = layer_response_std
    record = {
        "schema": SCHEMA,
        "id": cfg.record_id(),
        "model": cfg.model,
        "shortcut": cfg.net.shortcut,
        "dataset": run.dataset,
        "seed": cfg.seed,
        "preset": cfg.preset,
        "schedule": schedule,
        "history": run.history.entries,
        "final": final,
        "provenance": {
            **provenance(run.device),
            "wall_seconds": round(run.wall_seconds, 2),
            "fast_path": dict(run.fast_path),
            "resumed": run.resumed,
            "trained_concurrently_with": run.trained_with,
        },
    }
    return validate(record, record["id"])


def save_run(record: dict, directory: str | Path = RUNS_DIR, overwrite: bool = False) -> Path:
    """Validate and write ``<directory>/<id>.json``; returns the path. An existing record is replaced only
    with ``overwrite`` (a finished run is not re-recorded with a new date unless asked)."""
    validate(record, record.get("id", "run record"))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['id']}.json"
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already recorded; pass overwrite=True (--force on the command line) to record it again")
    text = json.dumps(record, indent=1, allow_nan=False) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
