"""Paper vs ours in words: the trends and numbers a chapter states, computed from the recorded runs.

A sentence such as "the plain nets' training error rises with depth" is printed by a cell from these
functions, never typed, so it cannot go stale when a record changes (chapters 1, 2, 5).
"""

from __future__ import annotations

from collections.abc import Mapping

from .runs import Run

NOT_RECORDED = "not recorded yet"
# Sec. 4.2 (CIFAR-10 recipe): lr 0.1 until iteration 32k; the first 5k are left out of averages
# because every net starts near chance there.
FIRST_LR_WINDOW = (5_000, 32_000)


def percent(run: Run | None, key: str = "test_error") -> str:
    """A final error of a record in % with two decimals, or "not recorded yet"."""
    return NOT_RECORDED if run is None else f"{100 * run.final[key]:.2f}"


def final_errors(runs: Mapping[int, Run | None], key: str) -> dict[int, float]:
    """Depth -> final ``key`` ("train_error" or "test_error") in %, for the recorded depths only."""
    return {d: 100 * run.final[key] for d, run in sorted(runs.items()) if run is not None}


def trend(values: Mapping[int, float]) -> str:
    """"rises", "falls" or "mixed": how ``values`` (depth -> error) move at *every* step in depth."""
    ds = sorted(values)
    steps = list(zip(ds, ds[1:]))
    if not steps:
        return "one depth only"
    if all(values[a] < values[b] for a, b in steps):
        return "rises"
    if all(values[a] > values[b] for a, b in steps):
        return "falls"
    return "mixed"


def trend_line(values: Mapping[int, float]) -> str:
    """e.g. "rises: 20: 2.27 %, 32: 2.59 %, ..." (one printed line)."""
    return f"{trend(values)}: " + ", ".join(f"{d}: {v:.2f} %" for d, v in sorted(values.items()))


def steps_against(values: Mapping[int, float], expected: str) -> list[tuple[int, int]]:
    """The steps in depth (a, b) that go against ``expected`` ("falls" or "rises")."""
    if expected not in ("falls", "rises"):
        raise ValueError(f"expected must be 'falls' or 'rises', got {expected!r}")
    ds = sorted(values)
    return [(a, b) for a, b in zip(ds, ds[1:]) if (values[b] >= values[a]) == (expected == "falls")]


def first_phase(run: Run, window: tuple[int, int] = FIRST_LR_WINDOW) -> float:
    """Mean training error (%) over the history entries in ``window`` (default: the first lr, past 5k)."""
    start, end = window
    errors = [e["train_error"] for e in run.history if start < e["iteration"] <= end]
    if not errors:
        raise ValueError(f"record {run.id} has no history between iterations {start} and {end}")
    return 100 * sum(errors) / len(errors)


def how_trained(run: Run) -> str:
    """"alone", "packed with ..." (``resnet_book.packed``), or "not in the record" for early records."""
    if run.packed_with is None:
        return "not in the record"
    return "packed with " + ", ".join(run.packed_with) if run.packed_with else "alone"
