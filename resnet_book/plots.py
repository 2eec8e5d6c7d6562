"""Figures drawn like the paper's: Fig. 6 curves (dashed training error, bold test error) and Fig. 7.

Every function takes ``Run`` records (``resnet_book.runs``) or a live ``Trainer``'s history and returns a
matplotlib ``Figure``; captions naming each curve's source come from ``caption(runs)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from .runs import Run

# One colour per depth, shared by every figure so "56" always looks the same.
DEPTH_COLORS = {20: "#e6a000", 32: "#2b83ba", 44: "#1a9641", 56: "#d7191c", 110: "#000000", 1202: "#7b3294"}


def depth_of(model: str) -> int:
    return int(model.lstrip("abcdefghijklmnopqrstuvwxyz"))


def color_for(model: str) -> str:
    return DEPTH_COLORS.get(depth_of(model), "#666666")


def _draw_pair(ax: plt.Axes, xs: list[float], entries: Sequence[dict], color: str, label: str) -> None:
    """One net as in Fig. 6: training error dashed and thin, test error bold, in %."""
    ax.plot(xs, [100 * e["train_error"] for e in entries], "--", color=color, linewidth=1)
    ax.plot(xs, [100 * e["test_error"] for e in entries], "-", color=color, linewidth=2, label=label)


def error_curves(
    runs: Sequence[Run], ax: plt.Axes | None = None, title: str | None = None, ylim: tuple[float, float] = (0, 20),
    colors: Sequence[str] | None = None,
) -> Figure:  # fmt: skip
    """Fig. 6 style: per run, training error (dashed, over each logging window) and test error (bold), in %.

    Each run is drawn in its depth's colour, or in ``colors[i]`` where given.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    for i, run in enumerate(runs):
        xs = [e["iteration"] / 1e4 for e in run.history]
        _draw_pair(ax, xs, run.history, colors[i] if colors else color_for(run.model), run.label)
    ax.set_xlabel("iter. (1e4)")
    ax.set_ylabel("error (%)")
    ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    if runs:
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or "dashed: training error, bold: test error")
    return fig


def live_curves(trainers: dict[str, object], ax: plt.Axes | None = None) -> Figure:
    """The same drawing for trainers still running (their ``history.entries``), for live cells."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    for label, trainer in trainers.items():
        entries = trainer.history.entries
        if entries:
            _draw_pair(ax, [e["iteration"] for e in entries], entries, color_for(trainer.config.model), label)
    ax.set_xlabel("iteration")
    ax.set_ylabel("error (%)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # nothing to name before the first evaluation
        ax.legend(loc="upper right", fontsize=8)
    return fig


def layer_responses(runs: Sequence[Run], axes: Sequence[plt.Axes] | None = None) -> Figure:
    """Fig. 7: std of each 3x3 layer's response, in layer order (top) and sorted descending (bottom)."""
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(6, 6))
    else:
        fig = axes[0].figure
    for run in runs:
        stds = run.final.get("layer_response_std")
        if not stds:
            continue
        style = "-" if run.shortcut else "--"
        c = color_for(run.model)
        axes[0].plot(range(1, len(stds) + 1), stds, style, color=c, label=run.label)
        axes[1].plot(range(1, len(stds) + 1), sorted(stds, reverse=True), style, color=c, label=run.label)
    axes[0].set_xlabel("layer index (original)")
    axes[1].set_xlabel("layer index (sorted by magnitude)")
    for ax in axes:
        ax.set_ylabel("std")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def caption(runs: Sequence[Run]) -> str:
    """One line per run: record id, GPU, dataset, wall time (what the site prints under a figure)."""
    return "\n".join("Source: " + run.caption() for run in runs)


PLAIN_COLOR = "#888888"  # a plain net drawn beside its ResNet twin (same depth, so not its depth colour)


def twin_curves(
    plain: Run | None, resnet: Run | None, ax: plt.Axes | None = None, ylim: tuple[float, float] = (0, 20)
) -> Figure:  # fmt: skip
    """Fig. 6 left and middle on one axes for one depth: plain net in grey, its ResNet twin in the depth's colour."""
    pairs = [(run, color) for run, color in ((plain, PLAIN_COLOR), (resnet, None)) if run is not None]
    runs = [run for run, _ in pairs]
    colors = [color or color_for(run.model) for run, color in pairs]
    return error_curves(runs, ax, ylim=ylim, colors=colors)


def gradient_norms(norms: dict[str, Sequence[float]], ax: plt.Axes | None = None) -> Figure:
    """Gradient norm of each weighted layer (``analysis.gradient_norms``), log scale; plain dashed, ResNet solid."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for model, values in norms.items():
        style = "--" if model.startswith("plain") else "-"
        label = ("plain-" if model.startswith("plain") else "ResNet-") + str(depth_of(model))
        ax.semilogy(range(1, len(values) + 1), values, style, color=color_for(model), label=label)
    ax.set_xlabel("weighted layer (1 = first conv, last = fc)")
    ax.set_ylabel("gradient norm")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


class Table:
    """A small table that renders as HTML in a notebook (and as text elsewhere): the paper beside ours."""

    def __init__(self, head: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "") -> None:
        self.head, self.rows, self.caption = list(head), [[str(c) for c in r] for r in rows], caption

    def __str__(self) -> str:
        widths = [max(len(x) for x in col) for col in zip(self.head, *self.rows)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(self.head, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in self.rows]
        return (self.caption + "\n" if self.caption else "") + "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        pad = "padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: left"
        cap = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        th = "".join(f'<th style="{pad}">{escape(h)}</th>' for h in self.head)
        trs = "".join("<tr>" + "".join(f'<td style="{pad}">{escape(c)}</td>' for c in r) + "</tr>" for r in self.rows)
        return f'<table style="border-collapse: collapse">{cap}<thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>'


class Caption:
    """The caption under a recorded figure: one "Source:" line per run, then what is not recorded yet."""

    def __init__(self, runs: Sequence[Run], not_recorded: Sequence[str] = ()) -> None:
        self.lines = ["Source: " + run.caption() for run in runs]
        if not_recorded:
            self.lines.append("Not recorded yet: " + ", ".join(not_recorded))

    def __str__(self) -> str:
        return "\n".join(self.lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        body = "<br>".join(escape(line) for line in self.lines)
        return f'<p style="font-size: 0.8em; color: #555; margin: 0">{body}</p>'


def fig1(shallow: Run, deep: Run, ylim: tuple[float, float] = (0, 20)) -> Figure:
    """Fig. 1 as the paper draws it: training error (left) and test error (right) of a 20- and a 56-layer
    plain net, in %, against iterations (1e4). The deeper net is worse on both panels (Sec. 1)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, key, what in zip(axes, ("train_error", "test_error"), ("training error", "test error")):
        for run in (shallow, deep):
            ax.plot([e["iteration"] / 1e4 for e in run.history], [100 * e[key] for e in run.history],
                    color=color_for(run.model), label=f"{depth_of(run.model)}-layer")
        ax.set(xlabel="iter. (1e4)", ylabel=f"{what} (%)", ylim=ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Fig. 1, ours: plain nets on CIFAR-10", fontsize=10)
    return fig
