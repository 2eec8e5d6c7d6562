"""Paper vs ours in words: the trends and numbers a chapter states, computed from the recorded runs.

A sentence such as "the plain nets' training error rises with depth" is printed by a cell from these
functions, never typed, so it cannot go stale when a record changes (chapters 1, 2, 3, 5). Where a net
has several recorded seeds (``runs.find_runs``), its number is the mean over them, and the spread
between seeds is printed beside every "A beats B" (``compare``, ``spread_note``): a gap smaller than the
spread does not order two nets. The cells of the chapters' tables come from here too, so that a missing
record reads "not recorded yet" everywhere (``number``, ``summary``, ``record_ids``, ``how_trained``), and
so do the costs set beside each other (``increase``, ``beside``, ``shortcut_cost_rows``) and the rows of the
paper's own tables as the paper names them (``paper_row``). Also the package's own source, shown in a chapter
where it is the subject (``show_source``).
"""

from __future__ import annotations

import inspect
import statistics
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Net
from .runs import Run, as_seeds

if TYPE_CHECKING:
    from .analysis import ShortcutCost

NOT_RECORDED = "not recorded yet"
# Sec. 4.2 (CIFAR-10 recipe): lr 0.1 until iteration 32k; the first 5k are left out of averages
# because every net starts near chance there.
FIRST_LR_WINDOW = (5_000, 32_000)


def percent(run: Run | None, key: str = "test_error") -> str:
    """A final error of a record in % with two decimals, or "not recorded yet"."""
    return NOT_RECORDED if run is None else f"{100 * run.final[key]:.2f}"


def paper_row(key: str) -> str:
    """A row of the paper's ImageNet tables (``paper.TABLE3``, ``paper.TABLE4``) as the paper writes it:
    "resnet34 A" -> "ResNet-34 (A)", "plain34" -> "plain-34"; a method this book does not build ("VGG-16",
    "PReLU-net") as it is."""
    name, _, option = key.partition(" ")
    try:
        label = Net.parse(name).label
    except ValueError:
        return key
    return f"{label} ({option})" if option else label


def number(value: float | None, spec: str, missing: str = NOT_RECORDED) -> str:
    """``value`` formatted with ``spec`` (e.g. ".2f"), or ``missing`` where there is none: a net not recorded
    yet (the default), a number the paper does not print ("-"), one not computed on this page."""
    return missing if value is None else format(value, spec)


def increase(value: float, base: float) -> str:
    """How much ``value`` adds to ``base``, in % of ``base``: "+1.0 %" (e.g. what option B's projections
    add to option A's parameters, Sec. 3.3)."""
    return f"{100 * (value - base) / base:+.1f} %"


def beside(base: float, other: float, spec: str = ",.0f", unit: float = 1) -> list[str]:
    """Three cells of a table: ``base`` and ``other`` in ``unit`` with ``spec``, then ``other / base`` as
    "1.96x" (e.g. a bottleneck block with a projection shortcut against an identity, Sec. 4.1: "doubled")."""
    return [format(base / unit, spec), format(other / unit, spec), f"{other / base:.2f}x"]


def shortcut_cost_rows(costs: Mapping[str, ShortcutCost]) -> list[list[str]]:
    """What each net's shortcuts cost, stage by stage then in total (``analysis.shortcut_cost``): per net
    (``costs``: its label, e.g. "ResNet-20", -> its cost with one option, Sec. 3.3) a row of parameters
    and a row of FLOPs (multiply-adds, "0.15 M")."""
    rows = []
    for label, cost in costs.items():
        params, flops = [p for p, _ in cost.stages], [f for _, f in cost.stages]
        rows.append([f"{label} params"] + [f"{p:,}" for p in [*params, sum(params)]])
        rows.append([f"{label} FLOPs"] + [f"{f / 1e6:.2f} M" for f in [*flops, sum(flops)]])
    return rows


def shortcut_cost_note(cost: ShortcutCost, a: ShortcutCost, net: str = "ResNet-34 at 224x224") -> str:
    """What an option's projections add to a whole net over option A (``a``), in two lines, e.g. for the
    ResNet-34 of Table 3: "ResNet-34 at 224x224 (16 projections): +1.07 M params, ..."."""
    return (
        f"{net} ({cost.projections} projections): +{(cost.params - a.params) / 1e6:.2f} M params,\n"
        f"+{(cost.flops - a.flops) / 1e9:.2f} G FLOPs over option A ({a.params / 1e6:.1f} M params, {a.flops / 1e9:.2f} G)"
    )


def record_ids(runs: Run | Sequence[Run] | None) -> str:
    """Which records a net's numbers come from: "resnet20-B-paper-seed0", for several seeds
    "resnet20-B-paper, seeds 0, 1", or "not recorded yet"."""
    seeds = as_seeds(runs)
    if len(seeds) <= 1:
        return seeds[0].id if seeds else NOT_RECORDED
    return f"{seeds[0].id.rsplit('-seed', 1)[0]}, seeds {', '.join(str(r.seed) for r in seeds)}"


Key = str | Callable[[Run], float]  # a final error ("test_error", "train_error") or a number of a run


def final_errors(runs: Mapping[int, Run | Sequence[Run] | None], key: Key) -> dict[int, float]:
    """Depth -> final ``key`` ("train_error" or "test_error") in %, for the recorded depths only.

    A depth may hold one run or all its seeds (``runs.find_runs``): then the mean over them. ``key`` may
    also be a number of a run, e.g. ``first_phase``."""
    return {d: seed_stats(group, key).mean for d, group in sorted(runs.items()) if as_seeds(group)}


# Over several seeds of one net (Table 6's "best (mean ± std)"), and "A beats B" beside that spread.

NOT_MEASURED = "the spread between seeds is not measured yet"


def value(run: Run, key: Key = "test_error") -> float:
    """One number of a run: a final error (``key`` "test_error", "train_error") in %, or ``key(run)``."""
    return key(run) if callable(key) else 100 * run.final[key]


@dataclass(frozen=True)
class SeedStats:
    """One net's number over its recorded seeds, as Table 6 reports ResNet-110: "6.43 (6.61±0.16)", the
    best of 5 runs, then their mean ± std.

    ``std`` is the *sample* standard deviation over runs (divisor n - 1, ``statistics.stdev``), the usual
    estimate of the spread between seeds from a few runs; the paper does not say which it used.
    ``spread`` is the largest difference between two seeds (max - min). Both are None for a single
    run: one run does not measure them."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def best(self) -> float:
        return min(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if self.n >= 2 else None

    @property
    def spread(self) -> float | None:
        return max(self.values) - min(self.values) if self.n >= 2 else None


def seed_stats(runs: Run | Sequence[Run] | None, key: Key = "test_error") -> SeedStats:
    """``SeedStats`` of ``key`` (a final error in %, or a function of a run) over the runs of one net."""
    return SeedStats(tuple(value(run, key) for run in as_seeds(runs)))


def summary(runs: Run | Sequence[Run] | None, key: Key = "test_error", digits: int = 2) -> str:
    """Table 6's "best (mean ± std)" over the seeds of one net, with their number:
    "6.43 (6.61 ± 0.16, 5 runs)"; "7.03 (1 run)"; "not recorded yet" without a run. That the spread of a net
    with one run is not measured is said once per page, by ``spread_hedge``."""
    s = seed_stats(runs, key)
    if s.n == 0:
        return NOT_RECORDED
    if s.n == 1:
        return f"{s.best:.{digits}f} (1 run)"
    return f"{s.best:.{digits}f} ({s.mean:.{digits}f} ± {s.std:.{digits}f}, {s.n} runs)"


def seed_spread(groups: Iterable[Run | Sequence[Run] | None], key: Key = "test_error") -> float | None:
    """The largest difference between two seeds of one net, over ``groups`` (each the runs of one net);
    None while no net has two runs."""
    spreads = [s.spread for s in (seed_stats(g, key) for g in groups) if s.spread is not None]
    return max(spreads) if spreads else None


def spread_hedge(groups: Iterable[Run | Sequence[Run] | None]) -> str:
    """The hedge a page says once, where it first shows its records: while some net (each group the runs of
    one net) has one recorded run, "1 run" and "one run each" leave the spread between seeds unmeasured.
    "" once every net has two or more: the hedge goes by itself when the seeds are recorded."""
    single = [g for g in groups if seed_stats(g).n == 1]
    if not single:
        return ""
    return f'Nets marked "1 run" or "one run each" have one recorded run: {NOT_MEASURED}.'


def steps(values: Mapping[int, float]) -> list[float]:
    """The change of ``values`` (depth -> error) at each step in depth, in depth order."""
    ds = sorted(values)
    return [values[b] - values[a] for a, b in zip(ds, ds[1:])]


def spread_note(
    groups: Iterable[Run | Sequence[Run] | None],
    key: Key = "test_error",
    gaps: Iterable[float] = (),
    unit: str = " points",
    digits: int = 2,
) -> str:
    """The spread between seeds beside a claim about several nets (each group the runs of one net), e.g.
    "seeds of one net differ by up to 0.31 points (4 of 4 nets have 2 or more runs); the smallest gap,
    0.20 points, is within it". ``gaps`` are the differences the claim rests on (e.g. ``steps``): the note
    says whether the smallest is larger than the spread. One run per net: "one run per net" (what that
    leaves unmeasured is said once per page, by ``spread_hedge``)."""
    stats = [s for s in (seed_stats(g, key) for g in groups) if s.n]
    spread = max((s.spread for s in stats if s.spread is not None), default=None)
    if spread is None:
        return "one run per net"
    several = sum(s.n >= 2 for s in stats)
    note = f"seeds of one net differ by up to {spread:.{digits}f}{unit} ({several} of {len(stats)} nets have 2+ runs)"
    if gaps := [abs(g) for g in gaps]:
        note += f"; the smallest gap, {min(gaps):.{digits}f}{unit}, is "
        note += "larger than that" if min(gaps) > spread else "within it"
    return note


def wrap(text: object, indent: str = "", width: int = 96) -> str:
    """``text`` (a sentence of this module, wrapped or not) as printed lines of at most ``width``
    characters, the first indented by ``indent``, the others by two more spaces."""
    return textwrap.fill(" ".join(str(text).split()), width, initial_indent=indent, subsequent_indent=indent + "  ")


@dataclass(frozen=True)
class Comparison:
    """ "A beats B" from the records: the gap between the means of two nets' runs and, beside it, the
    largest difference between two seeds of either net, so that the sentence says whether the gap is
    larger than the luck of a seed. ``sentence`` is that in one line, ``str()`` wrapped (``wrap``)."""

    a: str
    b: str
    gap: float  # mean of a minus mean of b
    spread: float | None  # ``seed_spread`` of a and b; None: neither net has two runs yet
    n: tuple[int, int]  # runs of a, of b
    verb: str = "ends"
    unit: str = " points"
    digits: int = 2

    @property
    def larger_than_spread(self) -> bool | None:
        """Whether the gap is larger than the spread between seeds; None while that is not measured."""
        return None if self.spread is None else abs(self.gap) > self.spread

    @property
    def sentence(self) -> str:
        d, u = self.digits, self.unit
        where = "above" if self.gap > 0 else "below" if self.gap < 0 else "level with"
        text = f"{self.a} {self.verb} {abs(self.gap):.{d}f}{u} {where} {self.b}"
        if self.n != (1, 1):
            text += f" (means of {self.n[0]} and {self.n[1]} runs)"
        if self.spread is None:
            text += " (one run each)"
        else:
            text += f"; seeds of one net differ by up to {self.spread:.{d}f}{u}: the gap is "
            text += "larger than that" if self.larger_than_spread else "within it, so these runs do not order the two"
        return text

    def __str__(self) -> str:
        return wrap(self.sentence)

    __repr__ = __str__


def compare(
    a: Run | Sequence[Run],
    b: Run | Sequence[Run],
    key: Key = "test_error",
    names: tuple[str, str] | None = None,
    verb: str = "ends",
    unit: str = " points",
    digits: int = 2,
) -> Comparison:
    """Net ``a`` against net ``b`` (each one run or all its seeds) on ``key`` (mean over seeds), e.g.
    "ResNet-56 ends 0.65 points above ResNet-44 (one run each)". ``names`` default to the runs' labels ("ResNet-56 (A)")."""
    a, b = as_seeds(a), as_seeds(b)
    if not a or not b:
        raise ValueError("compare needs at least one run of each net")
    sa, sb = seed_stats(a, key), seed_stats(b, key)
    na, nb = names or (a[0].label, b[0].label)
    return Comparison(na, nb, sa.mean - sb.mean, seed_spread([a, b], key), (sa.n, sb.n), verb, unit, digits)


@dataclass(frozen=True)
class Seedwise:
    """Net ``a`` against net ``b`` seed by seed (the same seed: the same batches, crops and flips): in how
    many of the seeds both were trained with ``a`` ends above ``b``, and the gaps ``a - b`` of those seeds,
    in points. The verdict a page prints beside a reader's one live run, e.g. "plain-56 ends above
    plain-20 in 5 of 5 seeds, by 16.2 points on average (from 12.9 to 20.4)"."""

    a: str
    b: str
    gaps: tuple[float, ...]
    what: str = "ends"

    @property
    def above(self) -> int:
        return sum(g > 0 for g in self.gaps)

    @property
    def sentence(self) -> str:
        n, above = len(self.gaps), self.above
        if n == 0:
            return f"{self.a} against {self.b}: {NOT_RECORDED}"
        mean = statistics.fmean(self.gaps)
        where = "above" if mean >= 0 else "below"
        count = above if mean >= 0 else n - above
        text = f"{self.a} {self.what} {where} {self.b} in {count} of {n} seed{'s' if n > 1 else ''}"
        text += f", by {abs(mean):.1f} points on average"
        if n > 1:
            text += f" (from {min(self.gaps):+.1f} to {max(self.gaps):+.1f})"
        return text

    def __str__(self) -> str:
        return wrap(self.sentence)

    __repr__ = __str__


def seedwise(
    a: Sequence[Run], b: Sequence[Run], key: Key = "train_error", names: tuple[str, str] | None = None, what: str = "ends"
) -> Seedwise:
    """``Seedwise`` of two nets' recorded seeds on ``key`` (a final error in %), over the seeds both have."""
    by_seed = {run.seed: run for run in as_seeds(b)}
    pairs = [(run, by_seed[run.seed]) for run in as_seeds(a) if run.seed in by_seed]
    if names is None:
        names = (a[0].label, b[0].label) if a and b else ("a", "b")
    return Seedwise(*names, tuple(value(x, key) - value(y, key) for x, y in sorted(pairs, key=lambda p: p[0].seed)), what)


def trend(values: Mapping[int, float]) -> str:
    """ "rises", "falls" or "mixed": how ``values`` (depth -> error) move at *every* step in depth."""
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


def how_trained(runs: Run | Sequence[Run] | None) -> str:
    """How a net was trained: "alone", "packed with ..." (``resnet_book.packed``), or "not in the record"
    for early records. For several seeds it is said once where every seed trained the same way, "alone
    (each of 3 seeds)", else seed by seed: "seed 0: alone; seed 1: packed with ..."."""
    seeds = as_seeds(runs)
    if not seeds:
        return NOT_RECORDED
    how = [_how_one(run) for run in seeds]
    if len(set(how)) == 1:
        return how[0] + (f" (each of {len(how)} seeds)" if len(how) > 1 else "")
    return "; ".join(f"seed {run.seed}: {h}" for run, h in zip(seeds, how))


def _how_one(run: Run) -> str:
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
