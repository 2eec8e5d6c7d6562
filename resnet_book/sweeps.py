"""The paper's sets of runs, and how they share a GPU: packs, the order of jobs, a pool of streams, a plan.

A *sweep* is a list of runs (model, shortcut), trained for one or more seeds. Runs of one depth go into
packs (``resnet_book.packed``), and jobs start longest first so that the last to start is short
(``packs``, ``job_cost``); ``run_pool`` trains several jobs at once, each on its own CUDA stream.
``plan`` says before a GPU is spent what a sweep will cost on it (each job's time from
``resnet_book.estimates``, which reads the measured throughput in ``data/benchmarks``), and, given a time
budget of the user's, which sitting of that length each job falls in.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

from .estimates import RunKey, depth, estimate_seconds
from .models import Net
from .recipe import warms_up
from .train import Trainer, progress_bar, show

SWEEPS = {
    # Fig. 6 (left) and Fig. 1: plain nets get worse with depth.
    "fig6-plain": [("plain20", None), ("plain32", None), ("plain44", None), ("plain56", None)],
    # Fig. 6 (middle), Table 6: ResNets get better with depth (option A).
    "fig6-resnet": [("resnet20", "A"), ("resnet32", "A"), ("resnet44", "A"), ("resnet56", "A"), ("resnet110", "A")],
    # Sec. 3.3 / Table 3 on CIFAR-10: options B and C (A is in fig6-resnet).
    "shortcuts": [("resnet20", "B"), ("resnet20", "C"), ("resnet56", "B"), ("resnet56", "C")],
    # Table 6 reports ResNet-110 over 5 runs: "best (mean +- std)"
    "resnet110": [("resnet110", "A")],
    # The sequel (Identity Mappings): ResNet-110 of full pre-activation units (paper.SEQUEL_CIFAR10).
    "sequel": [("preact-resnet110", "A")],
}
# twins side by side (same cost, so they finish together when trained concurrently), ResNet-110 last
SWEEPS["fig6"] = [run for pair in zip(SWEEPS["fig6-resnet"], SWEEPS["fig6-plain"]) for run in pair] + [("resnet110", "A")]
SWEEPS["all"] = SWEEPS["fig6"][:-1] + SWEEPS["shortcuts"] + SWEEPS["fig6"][-1:]


def packs(runs: list[RunKey], size: int) -> list[list[RunKey]]:
    """Runs (model, shortcut[, seed]) of one depth go into packs of up to ``size`` (first-seen order), seeds
    too (each run then trains on its own batches); warm-up runs and the sequel's nets train alone."""
    groups: dict = {}
    for run in runs:
        net = Net.parse(*run[:2], family="cifar")
        alone = size == 1 or warms_up(net.name) or net.preact or net.bottleneck  # packed.py: basic blocks only
        key = run if alone else net.depth
        groups.setdefault(key, []).append(run)
    return [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]


def job_cost(runs: list[RunKey]) -> float:
    """Relative time of a job: depth x runs**0.75. On the H100 a pack of 2 took 1.6x and a pack of 4
    2.8x the time per step of one run (``data/benchmarks``), so a pack of two ResNet-56s (94) is shorter
    than one ResNet-110 (110), and a pack of four (158) is longer."""
    return depth(*runs[0][:2]) * len(runs) ** 0.75


# ------------------------------------------------------------------------------------------ the plan


def plan(
    jobs: list[list[RunKey]], rates: dict[int, dict[int, float]], iterations: int, budget_minutes: float | None = None
) -> list[dict]:
    """The jobs in order with their estimated minutes; with a time budget of the user's (``--max-minutes``),
    the sitting of that many minutes each falls in (sittings filled in order) and whether it fits one at all
    (a longer job continues from its checkpoint in the next)."""
    rows, sitting, used = [], 1, 0.0
    for job in jobs:
        minutes = estimate_seconds(job, rates, iterations) / 60
        if budget_minutes is not None and used and used + minutes > budget_minutes:
            sitting, used = sitting + 1, 0.0
        used += minutes
        fits = budget_minutes is None or minutes <= budget_minutes
        rows.append({"job": job, "minutes": minutes, "sitting": sitting, "fits": fits})
    return rows


# ------------------------------------------------------------------------------------------ the pool


def run_pool(
    jobs: list[Callable[[], Trainer | None]],
    concurrent: int,
    max_seconds: float | None,
    on_done: Callable[[Trainer], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Train up to ``concurrent`` jobs at once, each on its own CUDA stream and at its own pace.

    Each run has a window of steps (``Trainer.queue_window``) queued on its stream; the host looks at a
    run only once its window is done (``Trainer.ready``, then ``end_window``) and queues the next one, so a fast run
    never waits for a slow one, and a finished run's slot goes to the next job at once. A job that starts as
    None is skipped (``jobs.sweep``: another process trains it). After ``max_seconds``, or once ``stop()`` says
    so (Ctrl-C, SIGTERM), every live run stops at its next log point with a checkpoint and no other job starts.
    Where a job fails (it cannot start, it diverges, the disk is full), the others live stop the same way before
    the error goes on, so no run loses the work since its last checkpoint. Returns the number of jobs finished.
    """
    pending, live, bars, finished = list(jobs), [], {}, 0
    start = time.perf_counter()
    failing: Trainer | None = None  # the run whose step or look raised, if one did

    def leave(t: Trainer) -> None:
        live.remove(t)
        t.stop_clock()
        bars.pop(id(t)).close()

    def time_is_up() -> bool:
        return (max_seconds is not None and time.perf_counter() - start > max_seconds) or (stop is not None and stop())

    try:
        while pending or live:
            while pending and len(live) < concurrent and not time_is_up():
                t = pending.pop(0)()
                if t is None:
                    continue
                t.start_clock()
                live.append(t)
                for o in live:  # the record says so: wall time is shared with these runs
                    o.trained_with += [p.label for p in live if p is not o and p.label not in o.trained_with]
                bars[id(t)] = progress_bar(t, position=len(live) - 1, disable=t.done)
                failing = t
                t.queue_window()  # its first window, queued before any host sync
                failing = None
            if not live:
                break
            ready = [t for t in live if t.ready()]
            if not ready:
                time.sleep(0.0005)
                continue
            for t in ready:
                failing = t
                show(bars[id(t)], t, t.end_window())
                if t.done:
                    leave(t)
                    finished += 1
                    if on_done is not None:
                        on_done(t)
                elif time_is_up():
                    t.stop_at_log_point()
                    leave(t)
                else:
                    t.queue_window()
                failing = None
    except Exception:
        if failing is not None and failing in live:
            leave(failing)
        for t in list(live):  # each has one window queued: look at it, then stop at a log point with a checkpoint
            try:
                t.end_window()
                if not t.done:
                    t.stop_at_log_point()
                elif on_done is not None:
                    on_done(t)
            except Exception as err:  # noqa: BLE001 - the first error is the one raised; this one is said
                print(f"{t.label}: not stopped with a checkpoint ({err})", file=sys.stderr, flush=True)
            leave(t)
        raise
    finally:
        for t in list(live):  # only after an error that is not an Exception (a second Ctrl-C)
            leave(t)
    return finished
