"""The live cells: a run a chapter trains while the reader watches, bounded so that a page always finishes.

A live run is bounded by its iterations (its result does not depend on the machine's speed). On a CPU a
time limit comes on top: past ``seconds`` the run stops cleanly at its next log point, keeps the curves so
far, and says so in one line, so a slow or busy machine shows a shorter run instead of an error. A reader
with less time sets ``RESNET_BOOK_LIVE_SECONDS`` (e.g. ``0``: every live run stops at its first log point).
On a GPU a live run goes to its end.
"""

from __future__ import annotations

import math
import os

from .train import Trainer

LIMIT_VARIABLE = "RESNET_BOOK_LIVE_SECONDS"


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


def run(trainer: Trainer, seconds: float | None) -> Trainer:
    """Train ``trainer`` to the end of its schedule, or on a CPU until ``seconds`` (then at the next log point)."""
    trainer.run(max_seconds=None if trainer.device.type == "cuda" else cpu_limit(seconds))
    if not trainer.done:
        print(
            f"{trainer.label}: stopped at iteration {trainer.iteration:,} of {trainer.config.iterations:,} after "
            f"{trainer.wall_seconds:.0f} s, the time limit of a live run on a CPU; the curves show the run so far"
        )
    return trainer


def iterations_text(trainers: list[Trainer]) -> str:
    """How long the runs trained: ``'20'``, or ``'15 to 20'`` where a run stopped early."""
    done = sorted({t.iteration for t in trainers})
    return f"{done[0]:,}" if len(done) == 1 else f"{done[0]:,} to {done[-1]:,}"
