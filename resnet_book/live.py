"""The live cells: a run a chapter trains while the reader watches, bounded so that a page always finishes.

A live run is bounded by its iterations (its result does not depend on the machine's speed). On a CPU a
safety limit comes on top: past ``seconds`` the run stops cleanly at its next log point, keeps the curves
so far, and says so in one line, so a slow or busy machine shows a shorter run instead of an error. On a
GPU it runs to its end.
"""

from __future__ import annotations

from .train import Trainer


def run(trainer: Trainer, seconds: float | None) -> Trainer:
    """Train ``trainer`` to the end of its schedule, or on a CPU until ``seconds`` (then at the next log point)."""
    limit = None if trainer.device.type == "cuda" else seconds
    trainer.run(max_seconds=limit)
    if not trainer.done:
        print(
            f"{trainer.label}: stopped at iteration {trainer.iteration:,} of {trainer.config.iterations:,} after "
            f"{trainer.wall_seconds:.0f} s, this page's limit on a CPU; the curves show the run so far"
        )
    return trainer


def iterations_text(trainers: list[Trainer]) -> str:
    """How long the runs trained: ``'20'``, or ``'15 to 20'`` where a run stopped early."""
    done = sorted({t.iteration for t in trainers})
    return f"{done[0]:,}" if len(done) == 1 else f"{done[0]:,} to {done[-1]:,}"
