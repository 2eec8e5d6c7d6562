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
                   resumed, trained_concurrently_with, threads?; an ImageNet record's also world_size,
                   nodes and backend}
                  gpu is the GPU's name, or the CPU model for a CPU run (threads: torch's CPU threads); fast_path holds the speed
                  switches and packed_runs (1, or the runs trained as one network with this one);
                  wall_seconds is shared with the runs in trained_concurrently_with

The schema is written as a spec (``SPEC``, ``IMAGENET_SPEC``: ``resnet_book.records``, as the benchmark
records' is). Every number is finite. ``load_run`` refuses, naming the file and the field, a record that breaks any of
this: a copy saved under another name, a record whose model disagrees with its id, a NaN or an infinite
number (``1e999``), final errors that are not the history's last, a history that stops before the
schedule's end, an unknown dataset, a file that is not UTF-8 JSON. A chapter never shows a record it
could not check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .models import Net
from .provenance import REPO_ROOT
from .records import ANY, Kind, RecordError, finite, fraction, kind, whole, write_json

if TYPE_CHECKING:
    import torch

    from .recipe import Config

SCHEMA = "resnet_book.run/1"
RUNS_DIR = REPO_ROOT / "data" / "runs"


class RunRecordError(RecordError):
    """A run record breaks the schema; the message names the file and the field."""


KIND = Kind(SCHEMA, "run record", RunRecordError, "; restore the file (git checkout -- data/runs) or remove it")


def _shortcut(value: Any) -> str | None:
    return None if value in (None, "A", "B", "C") else f"must be 'A', 'B', 'C' or null, got {value!r}"


def _seconds(value: Any) -> str | None:
    return None if finite(0)(value) is None else f"must be a number of seconds >= 0, got {value!r}"


TEXT, INT, FINITE, WHOLE = kind(str), kind(int), finite(), whole()
# The schema above as a spec (resnet_book.records); "*": ANY leaves the rest of an object open (a schedule's
# fields beyond these, an ImageNet record's provenance). validate() adds what relates fields to each other.
SPEC = {
    "schema?": TEXT,
    "family?": TEXT,
    "id": TEXT,
    "model": TEXT,
    "shortcut": _shortcut,
    "dataset": TEXT,
    "seed": INT,
    "preset": TEXT,
    "schedule": {
        "iterations": WHOLE,
        "batch_size": WHOLE,
        "lr": finite(0, strict=True),
        **{key: ANY for key in ("milestones", "weight_decay", "momentum", "warmup")},
        "*": ANY,
    },
    "history": [
        {
            "iteration": WHOLE,
            "lr": FINITE,
            "train_loss": FINITE,
            "train_error": fraction,
            "test_loss?": FINITE,  # came after the first records
            "test_error": fraction,
            "seconds": FINITE,
            "*": ANY,
        }
    ],
    "final": {"train_error": fraction, "test_error": fraction, "train_loss?": FINITE, "layer_response_std?": [FINITE], "*": ANY},
    "provenance": {
        **{key: ANY for key in ("gpu", "torch", "commit", "date", "resnet_book")},
        "wall_seconds": _seconds,
        "*": ANY,
    },
    "*": ANY,
}
# An ImageNet record (resnet_book.imagenet): top-5 and centre-crop errors beside the 10-crop test error, and
# the processes it ran on.
IMAGENET_SPEC = {
    **SPEC,
    "final": {**SPEC["final"], **{f"{k}_error": fraction for k in ("test_top5", "center_crop", "center_crop_top5")}},
    "provenance": {**SPEC["provenance"], "world_size": WHOLE, "nodes": WHOLE, "backend": ANY},
}
FAMILIES = {"cifar": SPEC, "imagenet": IMAGENET_SPEC}


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


# The datasets a record may name (``resnet_book.data``): real CIFAR-10, the offline JPEG copy, or the tests'
# random images, optionally as a per-class subset or the paper's 45k/5k split; ImageNet records name
# Imagenette or an image folder (``resnet_book.imagenet.dataset_name``).
CIFAR_DATASET = re.compile(
    r"(cifar10|cifar10-jpeg|synthetic)(\[(?P<train>\d+|all)/(?P<test>\d+|all) per class\]|\[45k/5k val\])?", re.ASCII
)
IMAGENET_DATASET = re.compile(r"imagenette-320px|imagefolder:.+")


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
        raise KIND.fail(where, "dataset", f"is {name!r}, not a dataset this package trains on: {known}")
    if family == "cifar" and match["train"] is not None:
        for side in ("train", "test"):
            key = f"{side}_per_class"
            if key in schedule and match[side] != str(schedule[key] or "all"):
                raise KIND.fail(where, "dataset", f"is {name!r}, but schedule.{key} is {schedule[key]!r}")


def validate(record: Any, where: str = "run record") -> dict:
    """Check a record against the schema (``SPEC``, or ``IMAGENET_SPEC`` for ``family: "imagenet"``); raise
    ``RunRecordError`` naming ``where`` and the field.

    Beyond each field's type and range, a record must agree with itself: its id with its model, shortcut,
    preset and seed; its ``final`` errors with the history's last entry (where the trainer takes them);
    its history with the schedule's end (an unfinished run is a checkpoint, not a record)."""
    from .recipe import IMAGENET_PRESETS, PRESETS, SEEDS

    family = record.get("family", "cifar") if isinstance(record, dict) else "cifar"  # CIFAR-10 records carry none
    if not isinstance(family, str) or family not in FAMILIES:
        raise KIND.fail(where, "family", f"must be 'cifar' or 'imagenet', got {family!r}")
    KIND.check(FAMILIES[family], record, where)
    if record.get("schema", SCHEMA) != SCHEMA:
        raise KIND.fail(where, "schema", f"must be {SCHEMA!r}, got {record['schema']!r}")
    KIND.check_finite(record, where)
    shortcut = record["shortcut"]
    try:
        net = Net.parse(record["model"], shortcut=shortcut, family=family)
    except ValueError as err:
        raise KIND.fail(where, "model", f"is not a valid network: {err}") from None
    if net.shortcut != shortcut:  # a ResNet always has one (the record names it); a plain net none
        raise KIND.fail(where, "shortcut", f"is null, but {record['model']} is a ResNet: name its shortcut ('A', 'B' or 'C')")
    presets = (*(PRESETS if family == "cifar" else IMAGENET_PRESETS), "custom")
    if record["preset"] not in presets:
        raise KIND.fail(where, "preset", f"must be one of {', '.join(presets)}; got {record['preset']!r}")
    if record["seed"] not in SEEDS:
        raise KIND.fail(where, "seed", f"must be a 64-bit seed (torch.manual_seed's range), got {record['seed']}")
    expected = net.record_id(record["preset"], record["seed"])
    if record["id"] != expected:
        raise KIND.fail(where, "id", f"is {record['id']!r} but model, shortcut, preset and seed make it {expected!r}")
    schedule = record["schedule"]
    _check_dataset(where, record, family)
    last = 0
    for i, entry in enumerate(record["history"]):
        if entry["iteration"] <= last:
            raise KIND.fail(where, f"history[{i}].iteration", "must increase")
        last = entry["iteration"]
    if last != schedule["iterations"]:
        raise KIND.fail(
            where,
            "history",
            f"ends at iteration {last:,} of a {schedule['iterations']:,}-iteration schedule: the run did not "
            "finish (a finished run logs its last iteration), so it is no result",
        )
    final, end = record["final"], record["history"][-1]
    # the trainer's final errors are its last history entry's (train._final); an ImageNet record's test
    # errors come from the evaluations after the last entry (10 crops, and the centre crop again)
    for key in ("train_error", "train_loss", "test_error") if family == "cifar" else ("train_error", "train_loss"):
        if key in final and final[key] != end[key]:
            raise KIND.fail(
                where, f"final.{key}", f"is {final[key]!r}, but the history's last entry (iteration {last:,}) has {end[key]!r}"
            )
    return record


def load_run(path: str | Path) -> Run:
    """Read and validate one record; a broken file raises ``RunRecordError`` naming it.

    The record's id must be the file's name: a copy saved as ``<id> (1).json`` is refused, not shown."""
    path = Path(path)
    record = KIND.read(path, validate)
    if record["id"] != path.stem:
        raise KIND.fail(
            str(path),
            "id",
            f"is {record['id']!r}, not the file's name {path.stem!r}: a copy or a "
            "renamed record; remove it, or name the file <id>.json",
        )
    return Run(record, path)


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


@dataclass
class History:
    """What the trainer logs every ``eval_every`` iterations (the paper's dashed and bold curves), as a record
    stores it: ``history`` and the schedule's ``warmup.ended_at``."""

    entries: list[dict] = field(default_factory=list)
    warmup_end: int | None = None  # iteration at which the warm-up learning rate ended

    def final(self) -> dict:
        """Final training error (the last history window), test error and training loss."""
        last = self.entries[-1]
        return {"train_error": last["train_error"], "test_error": last["test_error"], "train_loss": last["train_loss"]}


@dataclass(frozen=True)
class TrainedRun:
    """A run as its record tells it, handed over by the trainer (``train.trained_runs``): one per run
    of a pack. ``history`` is the trainer's (``entries``, ``warmup_end``); the wall time, speed switches and
    ``trained_with`` are shared with the runs trained beside it. ``model`` is the run's own network (a pack's
    run unpacked), which the record does not hold: Fig. 7's responses and the kept weights are read from it."""

    config: Config
    dataset: str
    history: History
    device: torch.device
    wall_seconds: float
    fast_path: dict  # the speed switches, and packed_runs (1, or the runs trained as one network with it)
    resumed: bool
    trained_with: list[str]
    model: torch.nn.Module

    def final(self) -> dict:
        """Final training error (the last history window), test error and training loss."""
        return self.history.final()


def record_schedule(cfg: Config) -> dict:
    """A run's schedule as its record stores it (``schedule`` in the schema above)."""
    return {
        "iterations": cfg.iterations,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "lr_factor": cfg.lr_factor,
        "milestones": list(cfg.milestones),
        "weight_decay": cfg.weight_decay,
        "momentum": cfg.momentum,
        "warmup": None if cfg.warmup_lr is None else {"lr": cfg.warmup_lr, "until_train_error": cfg.warmup_until_error},
        "eval_every": cfg.eval_every,
        "split": cfg.split,
        "train_per_class": cfg.train_per_class,
        "test_per_class": cfg.test_per_class,
        "width": cfg.width,
        "image_size": cfg.image_size,
        "warmup_iterations": cfg.warmup_iterations,
    }


def make_record(run: TrainedRun, layer_response_std: list[float] | None = None) -> dict:
    """The record of a finished run, with its provenance; ``layer_response_std``: Fig. 7's statistics. It is
    checked where it is written (``save_run``), once."""
    from .provenance import provenance

    cfg = run.config
    schedule = record_schedule(cfg)
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
    return record


def save_run(record: dict, directory: str | Path = RUNS_DIR, overwrite: bool = False) -> Path:
    """Validate and write ``<directory>/<id>.json``; returns the path. An existing record is replaced only
    with ``overwrite`` (a finished run is not re-recorded with a new date unless asked)."""
    validate(record, record.get("id", "run record"))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['id']}.json"
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already recorded; pass overwrite=True (--force on the command line) to record it again")
    return write_json(path, record)
