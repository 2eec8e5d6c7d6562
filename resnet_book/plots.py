"""Figures drawn like the paper's: Fig. 6 curves (dashed training error, bold test error) and Fig. 7.

The curves take ``Run`` records (``resnet_book.runs``) or a live ``Trainer``'s history (``LiveFigure``
redraws them in place while it trains) and return a matplotlib ``Figure``; captions naming each curve's
source come from ``Caption(runs)``. Where a net has several recorded seeds (``runs.find_runs``), pass them
as one list: its curve is the mean over the seeds and a band spans their min-max; one run is drawn as is,
without a band. A net not recorded yet says so on the figure (``not_recorded``). Also the chapters' other
repeated figures: chapter 3's one-option figure (``shortcut_option``), chapter 4's bars of what a block or
a stage costs (``block_costs``, ``grouped_bars``), chapter 2's loss surfaces (``loss_surfaces``), and ``Table``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .models import Net
from .runs import Run, as_seeds
from .tables import Table  # chapters and report cells use plots.Table

if TYPE_CHECKING:
    from .analysis import LossSurface, ShortcutCost

Runs = Run | Sequence[Run]  # one run, or the seeds of one net

# One colour per depth, shared by every figure so "56" always looks the same.
DEPTH_COLORS = {20: "#e6a000", 32: "#2b83ba", 44: "#1a9641", 56: "#d7191c", 110: "#000000", 1202: "#7b3294"}


def depth_of(model: str) -> int:
    return Net.parse(model, family="cifar").depth


def color_for(model: str) -> str:
    return DEPTH_COLORS.get(depth_of(model), "#666666")


def _draw_pair(ax: plt.Axes, xs: list[float], entries: Sequence[dict], color: str, label: str, marker: str | None = None) -> None:
    """One net as in Fig. 6: training error dashed and thin, test error bold, in %; ``marker`` on every
    evaluation (a curve of one point is drawn only by its marker)."""
    ax.plot(xs, [100 * e["train_error"] for e in entries], "--", color=color, linewidth=1, marker=marker, markersize=3)
    ax.plot(xs, [100 * e["test_error"] for e in entries], "-", color=color, linewidth=2, label=label, marker=marker, markersize=4)


def _draw_seeds(ax: plt.Axes, group: Sequence[Run], color: str, per: float = 1e4) -> None:
    """The seeds of one net: the mean of each curve over the seeds at the iterations they all logged,
    and a band from the lowest to the highest seed (training error lighter); one run as ``_draw_pair``."""
    if len(group) == 1:
        run = group[0]
        _draw_pair(ax, [e["iteration"] / per for e in run.history], run.history, color, run.label)
        return
    common = set.intersection(*({e["iteration"] for e in run.history} for run in group))
    its = sorted(common)
    for key, style, width, alpha in (("train_error", "--", 1, 0.12), ("test_error", "-", 2, 0.25)):
        by_it = [{e["iteration"]: 100 * e[key] for e in run.history} for run in group]
        ys = [[values[i] for values in by_it] for i in its]
        xs = [i / per for i in its]
        ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], color=color, alpha=alpha, linewidth=0)
        label = f"{group[0].label}, mean of {len(group)}" if key == "test_error" else None
        ax.plot(xs, [sum(y) / len(y) for y in ys], style, color=color, linewidth=width, label=label)


def error_curves(
    runs: Sequence[Runs],
    ax: plt.Axes | None = None,
    title: str | None = None,
    ylim: tuple[float, float] = (0, 20),
    colors: Sequence[str] | None = None,
    per: float = 1e4,
) -> Figure:
    """Fig. 6 style: per net, training error (dashed, over each logging window) and test error (bold), in %.

    Each item of ``runs`` is one run, or the seeds of one net (a list): their mean curves with a band
    from the lowest to the highest seed. Each net is drawn in its depth's colour, or in ``colors[i]``.
    The iterations are counted in 1e4 as in the paper's figures (``per=1``: one by one, for the miniature's
    700, on the axes of a live run's ``live_curves``).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    groups = [as_seeds(group) for group in runs]
    for i, group in enumerate(groups):
        if group:
            _draw_seeds(ax, group, colors[i] if colors else color_for(group[0].model), per)
    ax.set_xlabel("iter. (1e4)" if per == 1e4 else "iteration" if per == 1 else f"iter. ({per:g})")
    ax.set_ylabel("error (%)")
    ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    if any(groups):
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or "dashed: training error, bold: test error")
    return fig


def live_curves(trainers: dict[str, object], ax: plt.Axes | None = None, colors: dict[str, str] | None = None) -> Figure:
    """The same drawing for trainers still running (their ``history.entries``), for live cells, with a marker
    on every evaluation: a run stopped after its first one still shows where it stood.

    Each trainer in its depth's colour, or in ``colors[label]`` (nets of one depth that differ otherwise)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    for label, trainer in trainers.items():
        entries = trainer.history.entries
        color = (colors or {}).get(label) or color_for(trainer.config.model)
        if entries:
            _draw_pair(ax, [e["iteration"] for e in entries], entries, color, label, marker="o")
    ax.set_xlabel("iteration")
    ax.set_ylabel("error (%)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # nothing to name before the first evaluation
        ax.legend(loc="upper right", fontsize=8)
    return fig


def draw_layer_responses(runs: Sequence[Runs], axes: Sequence[plt.Axes] | None = None) -> Figure:
    """Fig. 7: std of each 3x3 layer's response, in layer order (top) and sorted descending (bottom).

    An item of ``runs`` may be the seeds of one net: its curve is their mean, layer by layer
    (``analysis.mean_response_std``)."""
    from .analysis import mean_response_std

    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(6, 6))
    else:
        fig = axes[0].figure
    for group in map(as_seeds, runs):
        group = [run for run in group if run.final.get("layer_response_std")]
        if not group:
            continue
        stds = mean_response_std(group)
        run = group[0]
        style = "-" if run.shortcut else "--"
        c = color_for(run.model)
        label = run.label + (f", mean of {len(group)}" if len(group) > 1 else "")
        axes[0].plot(range(1, len(stds) + 1), stds, style, color=c, label=label)
        axes[1].plot(range(1, len(stds) + 1), sorted(stds, reverse=True), style, color=c, label=label)
    axes[0].set_xlabel("layer index (original)")
    axes[1].set_xlabel("layer index (sorted by magnitude)")
    for ax in axes:
        ax.set_ylabel("std")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


PLAIN_COLOR = "#888888"  # a plain net drawn beside its ResNet twin (same depth, so not its depth colour)


def twin_curves(
    plain: Runs | None, resnet: Runs | None, ax: plt.Axes | None = None, ylim: tuple[float, float] = (0, 20)
) -> Figure:
    """Fig. 6 left and middle on one axes for one depth: plain net in grey, its ResNet twin in the depth's
    colour (each one run, or its seeds: mean and band as in ``error_curves``)."""
    pairs = [(as_seeds(runs), color) for runs, color in ((plain, PLAIN_COLOR), (resnet, None)) if as_seeds(runs)]
    colors = [color or color_for(group[0].model) for group, color in pairs]
    return error_curves([group for group, _ in pairs], ax, ylim=ylim, colors=colors)


def draw_gradient_norms(norms: dict[str, Sequence[float]], ax: plt.Axes | None = None) -> Figure:
    """Gradient norm of each weighted layer (``analysis.gradient_norms``), log scale; plain dashed, ResNet solid."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for model, values in norms.items():
        net = Net.parse(model, family="cifar")
        style = "--" if net.kind == "plain" else "-"
        label = net.label
        ax.semilogy(range(1, len(values) + 1), values, style, color=color_for(model), label=label)
    ax.set_xlabel("weighted layer (1 = first conv, last = fc)")
    ax.set_ylabel("gradient norm")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


class Caption:
    """The caption under a recorded figure: one line that counts its sources (and names the nets not
    recorded yet), with the full list of sources folded under it, one "Source:" line per run (an HTML
    ``<details>`` in a notebook; as text, the summary line and then the list)."""

    def __init__(self, runs: Sequence[Runs], not_recorded: Sequence[str] = ()) -> None:
        from .report import NOT_RECORDED

        sources = [run for group in runs for run in as_seeds(group)]
        self.lines = ["Source: " + run.caption() for run in sources]
        datasets = sorted({run.record["dataset"] for run in sources})
        summary = []
        if sources:
            n = len(sources)
            summary.append(f"Sources: {n} recorded run{'s' if n > 1 else ''} in data/runs ({', '.join(datasets)})")
        if not_recorded:
            summary.append(f"{NOT_RECORDED}: " + ", ".join(not_recorded))
        self.summary = "; ".join(summary)
        if summary and not sources:
            self.summary = self.summary[0].upper() + self.summary[1:]  # "Not recorded yet: ..."

    def __str__(self) -> str:
        return "\n".join([self.summary, *("  " + line for line in self.lines)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        style = 'style="font-size: 0.8em; color: #555; margin: 0"'
        if not self.lines:
            return f"<p {style}>{escape(self.summary)}</p>"
        body = "<br>".join(escape(line) for line in self.lines)
        return f"<details {style}><summary>{escape(self.summary)}</summary>{body}</details>"


def fig1(shallow: Run, deep: Run, ylim: tuple[float, float] = (0, 20)) -> Figure:
    """Fig. 1's two panels: training error (top) and test error (bottom) of a 20- and a 56-layer plain net,
    in %, against iterations (1e4). The deeper net is worse on both panels (Sec. 1). The paper sets the
    panels side by side; one above the other, on a shared axis of iterations, they keep their text legible
    when the figure is shrunk into a phone's column (about 360 px wide)."""
    fig, axes = plt.subplots(2, 1, figsize=(5.2, 5.6), sharex=True, layout="constrained")
    for ax, key, what in zip(axes, ("train_error", "test_error"), ("training error", "test error")):
        for run in (shallow, deep):
            ax.plot(
                [e["iteration"] / 1e4 for e in run.history],
                [100 * e[key] for e in run.history],
                color=color_for(run.model),
                label=f"{depth_of(run.model)}-layer",
            )
        ax.set(ylabel=f"{what} (%)", ylim=ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1].set_xlabel("iter. (1e4)")
    fig.suptitle("Fig. 1, ours: plain nets on CIFAR-10", fontsize=10)
    return fig


class LiveFigure:
    """``live_curves`` of trainers still running, redrawn in place in the notebook after every evaluation:
    pass ``redraw`` as each ``Trainer``'s callback. Until the first evaluation it shows ``waiting``.
    Fill ``trainers`` (label -> trainer) as the trainers start; a live cell watches the curves of Fig. 6
    grow, as the recorded runs drew them. ``colors`` as in ``live_curves``."""

    def __init__(
        self,
        trainers: Mapping[str, object],
        title: str = "live: dashed training error, bold test error",
        waiting: str = "*The curves appear after the first evaluation.*",
        colors: Mapping[str, str] | None = None,
    ) -> None:
        from IPython import display

        self.trainers, self.title, self.colors = trainers, title, colors
        self.handle = display.display(display.Markdown(waiting), display_id=True)

    def redraw(self, trainer: object = None, entry: dict | None = None) -> None:
        """The ``Trainer`` callback (``trainer``, ``entry`` unused): the figure drawn anew, shown in place."""
        fig = live_curves(dict(self.trainers), colors=self.colors)
        fig.axes[0].set_title(self.title)
        if self.handle is not None:  # None outside a notebook: nothing to update
            self.handle.update(fig)
        plt.close(fig)  # shown through the handle only


# Chapter 3's shortcut options, one colour each (A and B as in diagrams.SHORTCUT_STYLE).
OPTION_COLORS = {"A": "#e6a000", "B": "#2b83ba", "C": "#7b3294"}


def not_recorded(ax: plt.Axes, what: str, paper: str = "") -> None:
    """In place of a net's curves: "<what>: not recorded yet" in red and, below it, what the paper measured
    (``paper``), so that a missing run is said on the figure, never left blank."""
    from .report import NOT_RECORDED

    ax.text(0.5, 0.65, f"{what}:\n{NOT_RECORDED}", ha="center", va="center", fontsize=12, color="#aa0000", transform=ax.transAxes)
    if paper:
        ax.text(0.5, 0.25, paper, ha="center", va="center", fontsize=9.5, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def shortcut_option(option: str, seeds: Runs | None, costs: Mapping[tuple[str, str], ShortcutCost]) -> list[Figure | Table]:
    """Chapter 3's view of one shortcut option (Sec. 3.3), in three parts that stay legible one under the
    other in a narrow column: ResNet-20's shortcuts drawn from the model (``diagrams.draw_shortcuts``); the
    recorded curves of ResNet-20 with that option (``seeds``: mean and band), or "not recorded yet" beside
    what the paper measured with it on ImageNet (Table 3, ResNet-34); and a ``Table`` (HTML, so it reflows)
    of what its shortcuts cost, stage by stage in ResNet-20 and 56, with what they add to all of ResNet-34
    over option A in its caption (``costs[name, option]``, from ``analysis.shortcut_cost``)."""
    from . import diagrams, paper, report
    from .models import get_model

    drawing, ax = plt.subplots(figsize=(3.7, 3.4))
    diagrams.draw_shortcuts(ax, get_model("resnet20", shortcut=option), stacked=True)
    ax.set_title(f"Option {option}: ResNet-20's shortcuts", fontsize=10, pad=52)
    curves, ax = plt.subplots(figsize=(5, 3.4))
    seeds = as_seeds(seeds)
    if seeds:
        error_curves([seeds], ax, colors=[OPTION_COLORS[option]])
        ax.set_title(f"ResNet-20 ({option}), recorded on {seeds[0].dataset}:\ntest err. (%) {report.summary(seeds)}", fontsize=10)
    else:
        top1, top5 = paper.TABLE3[f"resnet34 {option}"]
        not_recorded(
            ax,
            f"ResNet-20 ({option}) on CIFAR-10",
            f"Paper, Table 3\n(ImageNet, ResNet-34 {option}):\ntop-1 {top1:.2f} %, top-5 {top5:.2f} %",
        )
    rows = report.shortcut_cost_rows({f"ResNet-{d}": costs[f"resnet{d}", option] for d in (20, 56)})
    note = report.shortcut_cost_note(costs["resnet34", option], costs["resnet34", "A"])
    table = Table(
        ["", "stage 1", "stage 2", "stage 3", "total"],
        rows,
        f"What option {option}'s shortcuts cost (FLOPs: multiply-adds). " + " ".join(note.split()),
    )
    return [drawing, curves, table]


def grouped_bars(
    ax: plt.Axes,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    colors: Sequence[str],
    width: float = 0.38,
    fontsize: float | None = None,
) -> None:
    """Bars side by side: one group per label of ``groups`` (the x ticks), in each one bar per series
    (``series``: legend label -> one value per group), e.g. Table 1's stages of ResNet-34 and ResNet-50."""
    n = len(series)
    for k, ((label, values), color) in enumerate(zip(series.items(), colors)):
        ax.bar([i + (k - (n - 1) / 2) * width for i in range(len(groups))], values, width=width, color=color, label=label)
    ax.set_xticks(range(len(groups)), groups, **({} if fontsize is None else {"fontsize": fontsize}))


# Fig. 5's layers (chapter 4), one colour each.
FIG5_COLORS = {"3x3, 64": "#2b83ba", "1x1, 64": "#abdda4", "1x1, 256": "#fdae61"}


def stacked_bars(
    ax: plt.Axes, bars: Mapping[str, Sequence[tuple[str, float]]], colors: Mapping[str, str], title: str = ""
) -> None:
    """One bar per key of ``bars``, stacked from its (segment label, value) pairs, each segment named on
    it and coloured by ``colors[label]``, the total written on top (Fig. 5: a block's cost, layer by layer)."""
    for x, segments in enumerate(bars.values()):
        bottom = 0.0
        for label, value in segments:
            ax.bar(x, value, bottom=bottom, color=colors[label], edgecolor="white", width=0.55)
            ax.text(x, bottom + value / 2, label, ha="center", va="center", fontsize=8)
            bottom += value
        ax.text(x, bottom, f"{bottom:.1f}", ha="center", va="bottom")
    ax.set_xticks(range(len(bars)), list(bars))
    ax.set_title(title, fontsize=10)
    ax.margins(y=0.12)


def block_costs(blocks: Mapping[str, Sequence[tuple[str, int, int]]], title: str = "") -> Figure:
    """Fig. 5's claim, "similar time complexity" (Sec. 4.1), drawn: per block (``blocks``: name -> its
    layers as (label, parameters, multiply-adds)) a bar of its parameters (x10^3, top) and one of its
    multiply-adds (x10^6, bottom), a segment per layer (``stacked_bars``, coloured by ``FIG5_COLORS``).
    One panel above the other, so that the figure stays legible in a phone's column; a long ``title``
    wraps onto a second line."""
    fig, axes = plt.subplots(2, 1, figsize=(5, 6), layout="constrained")
    for ax, index, unit, what in ((axes[0], 1, 1e3, "parameters (x10^3)"), (axes[1], 2, 1e6, "multiply-adds (x10^6)")):
        bars = {name: [(layer[0], layer[index] / unit) for layer in layers] for name, layers in blocks.items()}
        stacked_bars(ax, bars, FIG5_COLORS, what)
    fig.suptitle(textwrap.fill(title, 60), fontsize=10)
    return fig


def loss_surfaces(surfaces: Mapping[str, LossSurface]) -> Figure:
    """Li et al.'s Fig. 1 for our nets: each net's loss surface (``analysis.loss_surface``) filled on one shared
    log scale, so a surface whose walls rise faster shows more colour bands within the same square; the
    trained net is the cross at the centre. One surface under the other, beside one colour bar: the squares
    keep a size, and their text a size, that a phone's column can show."""
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import LogFormatterSciNotation

    low = min(min(map(min, s.loss)) for s in surfaces.values())
    high = max(s.highest for s in surfaces.values())
    levels = np.geomspace(low, high, 14)  # log-spaced: the basin and the walls both show
    n = len(surfaces)
    fig, axes = plt.subplots(n, 1, figsize=(4.6, 3.3 * n + 0.2), sharex=True, layout="constrained", squeeze=False)
    for ax, (label, surface) in zip(axes[:, 0], surfaces.items()):
        filled = ax.contourf(surface.coords, surface.coords, surface.loss, levels=levels, norm=LogNorm(low, high), cmap="viridis")
        ax.contour(surface.coords, surface.coords, surface.loss, levels=levels, colors="white", linewidths=0.4)
        ax.plot(0, 0, "w+", markersize=10, markeredgewidth=2)
        ax.set_title(f"{label}: loss {surface.centre:.2f} at the centre", fontsize=9)
        ax.set_ylabel("direction 2")
        ax.set_aspect("equal")
    axes[-1, 0].set_xlabel("direction 1")
    fig.colorbar(
        filled,
        ax=list(axes[:, 0]),
        shrink=0.9,
        label="training loss",
        format=LogFormatterSciNotation(),
        ticks=np.geomspace(1, 1e6, 7),
    )
    return fig
