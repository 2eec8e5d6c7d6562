"""Paper vs ours in words: the trends and numbers a chapter states, computed from the recorded runs.

A sentence such as "the plain nets' training error rises with depth" is printed by a cell from these
functions, never typed, so it cannot go stale when a record changes (chapters 1, 2, 5). Also the
package's own source, shown in a chapter where it is the subject (``show_source``).
"""

from __future__ import annotations

import inspect
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


def trend_line(values: Mapping[int, float], unit: str = " %", digits: int = 2) -> str:
    """e.g. "rises: 20: 2.27 %, 32: 2.59 %, ..." (one printed line)."""
    return f"{trend(values)}: " + ", ".join(f"{d}: {v:.{digits}f}{unit}" for d, v in sorted(values.items()))


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


def show_source(*objects: object) -> object:
    """The package's source of each object, highlighted, side by side in columns that wrap (an IPython
    ``HTML``), so that a chapter shows the code itself, never a copy of it."""
    from IPython.display import HTML
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    style = "flex: 1 1 34em; min-width: 0; overflow-x: auto"
    blocks = "".join(
        f'<div style="{style}"><b>{obj.__name__}</b>'
        + highlight(inspect.getsource(obj), PythonLexer(), HtmlFormatter(noclasses=True))
        + "</div>"
        for obj in objects
    )
    return HTML(f'<div style="display: flex; flex-wrap: wrap; gap: 0 1em; font-size: 0.8em">{blocks}</div>')
