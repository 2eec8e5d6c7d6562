"""The live cells: a run a chapter trains while the reader watches, bounded so that a page always finishes.

What a live run trains is decided here, once for every chapter (``config``): on a GPU the ``colab``
preset (all 50,000 images, 1/8 of the paper's schedule); on a CPU the ``mini`` preset, the paper's
experiment scaled down until two cores train a net in about a minute and still show its effect
(``recipe.PRESETS``; chapter 1 gives its records over five seeds).

A live run is bounded by its iterations (its result does not depend on the machine's speed). On a CPU a
time limit comes on top: past ``seconds`` the run stops cleanly at its next log point, keeps the curves so
far, and says so in one line, so a slow or busy machine shows a shorter run instead of an error. A cell
that trains several nets shares one limit among them (``Cell``), so the cell as a whole stays bounded
however many nets it trains. A reader with less time sets ``RESNET_BOOK_LIVE_SECONDS`` (e.g. ``0``: every
live run stops at its first log point). On a GPU a live run goes to its end.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping

import torch

from .data import CIFAR10, load_cifar10
from .recipe import Config, preset
from .train import Trainer, resolve_device

LIMIT_VARIABLE = "RESNET_BOOK_LIVE_SECONDS"
# A CPU's time limit for a live cell, all its nets together: the miniature takes 20-65 s a net on two idle
# cores, so this only ends a run on a machine several times slower, or busy, and well before the 300 s after
# which the book's build gives a cell up (_config.yml), since a run stops at its next log point.
SECONDS = 150


def preset_name(device: str | torch.device | None = None) -> str:
    """``colab`` on a GPU, ``mini`` on a CPU (``device`` None: a GPU where there is one)."""
    cuda = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    return "colab" if cuda else "mini"


def config(model: str, shortcut: str | None = None, device: str | torch.device | None = None, **overrides) -> Config:
    """The configuration of a live run of ``model``: ``preset(preset_name(device), model, ...)``."""
    return preset(preset_name(device), model, shortcut=shortcut, **overrides)


def data(cfg: Config, device: str | torch.device | None = None) -> CIFAR10:
    """The data ``cfg`` trains on, where it trains: real CIFAR-10 if it is here or can be downloaded, else
    the offline JPEG copy (it prints which), the subset the preset names."""
    return load_cifar10(train_per_class=cfg.train_per_class, test_per_class=cfg.test_per_class, device=resolve_device(device))


def describe(cfg: Config) -> str:
    """What a live run trains, in a sentence for the page: the schedule and, for the miniature, its levers."""
    images = "all 50,000 training images" if cfg.train_per_class is None else f"{10 * cfg.train_per_class:,} training images"
    text = (
        f"{cfg.iterations:,} iterations of {cfg.batch_size} images from {images}, learning rate {cfg.lr} "
        f"divided by 10 at {' and '.join(f'{m:,}' for m in cfg.milestones)}"
    )
    if cfg.warmup_iterations:
        text += f", after a {cfg.warmup_iterations}-iteration linear warm-up"
    if (cfg.width, cfg.image_size) != (Config.width, Config.image_size):  # the paper's 16 filters, 32 pixels
        text += f"; {cfg.width}, {2 * cfg.width} and {4 * cfg.width} filters, {cfg.image_size}x{cfg.image_size} images"
    return text


def cpu_limit(seconds: float | None) -> float | None:
    """The time limit of a live run on a CPU: ``seconds``, or the reader's own ``$RESNET_BOOK_LIVE_SECONDS``
    where that is shorter."""
    own = os.environ.get(LIMIT_VARIABLE)
    if own is None:
        return seconds
    try:
        value = float(own)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{LIMIT_VARIABLE}={own!r}: must be a number of seconds >= 0")
    return value if seconds is None else min(seconds, value)


def run(trainer: Trainer, seconds: float | None = SECONDS) -> Trainer:
    """Train ``trainer`` to the end of its schedule, or on a CPU until ``seconds`` (then at the next log point)."""
    trainer.run(max_seconds=None if trainer.device.type == "cuda" else cpu_limit(seconds))
    if not trainer.done:
        print(
            f"{trainer.label}: stopped at iteration {trainer.iteration:,} of {trainer.config.iterations:,} after "
            f"{trainer.wall_seconds:.0f} s, the time limit of a live run on a CPU; the curves show the run so far"
        )
    return trainer


class Cell:
    """One live cell's time on a CPU, ``seconds`` in all, shared by the ``runs`` nets it trains one after the
    other: each may take what is left divided by the nets still to train, so a net that ends early leaves its
    time to the next, and the last starts with all that is left."""

    def __init__(self, runs: int, seconds: float = SECONDS) -> None:
        if runs < 1:
            raise ValueError(f"a live cell trains at least one net, not {runs}")
        self.left, self.runs, self.given = seconds, runs, runs

    def run(self, trainer: Trainer) -> Trainer:
        """``run(trainer)`` with this net's share of the cell's time; what it took (evaluations included) is spent."""
        if self.runs == 0:
            raise ValueError(f"this live cell was given {self.given} runs and has trained them all")
        start = time.perf_counter()
        run(trainer, max(0.0, self.left) / self.runs)
        self.left -= time.perf_counter() - start
        self.runs -= 1
        return trainer


def iterations_text(trainers: list[Trainer]) -> str:
    """How long the runs trained: ``'20'``, or ``'15 to 20'`` where a run stopped early."""
    done = sorted({t.iteration for t in trainers})
    return f"{done[0]:,}" if len(done) == 1 else f"{done[0]:,} to {done[-1]:,}"


def timing(trainers: Mapping[str, Trainer]) -> str:
    """A live cell's last line, its iterations and seconds: ``'plain-20, plain-56: 700 iterations each in 71 s'``."""
    runs = list(trainers.values())
    each = " each" if len(runs) > 1 else ""
    return f"{', '.join(trainers)}: {iterations_text(runs)} iterations{each} in {sum(t.wall_seconds for t in runs):.0f} s"
