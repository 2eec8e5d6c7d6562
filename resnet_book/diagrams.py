"""The paper's diagrams, drawn from the networks themselves so that a drawing cannot disagree with the code.

* Fig. 2: a plain block beside a residual block, ``y = F(x) + x`` (Sec. 3.2).
* Fig. 3, compact: VGG-19, plain-34 and ResNet-34 as strips of layers, one colour per width, with the
  ResNet's shortcuts as arcs, dashed where the dimensions increase (Sec. 3.3).
* Fig. 5: a basic block on 64 channels beside a bottleneck block on 256 (Sec. 4.1).
* The sequel's Fig. 4 (a) and (e): the original unit and the full pre-activation unit as the sequence of
  weight, BN and ReLU layers their forward pass applies, traced from the code (``draw_unit``).

Blocks are read from ``get_model`` (their convolutions' kernel sizes and widths, their shortcut's type);
only VGG-19, which the package does not build, is typed here, from Fig. 3 of the paper.
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from torch import fx, nn

from .models import ResNet, get_model, shortcut_kind
from .paper import TABLE1_FLOPS, TABLE1_OTHER_FLOPS

# One colour per width (channels), shared by every diagram.
WIDTH_COLORS = {16: "#fde0c5", 32: "#facba6", 64: "#f8b58b", 128: "#a6d96a", 256: "#74add1", 512: "#b2abd2"}
OTHER_COLOR = "#dddddd"  # pooling, fc

# Fig. 3 (left), after Simonyan & Zisserman: (3x3 convs per stage, width); each stage ends in a 2x2 max pool.
VGG19_STAGES = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))


def convs(block: nn.Module) -> list[nn.Conv2d]:
    """The convolutions of a block's residual function F, in order (not its shortcut's)."""
    return [m for m in block.children() if isinstance(m, nn.Conv2d)]


def conv_label(conv: nn.Conv2d) -> str:
    """The paper's notation for a layer, e.g. "3x3, 64" (Fig. 2, Fig. 5, Table 1)."""
    k1, k2 = conv.kernel_size
    return f"{k1}x{k2}, {conv.out_channels}"


def _conv_kind(conv: nn.Conv2d) -> str:
    k1, k2 = conv.kernel_size
    return f"{k1}x{k2} conv"


def _box(ax: Axes, x: float, y: float, text: str, color: str, w: float = 2.2, h: float = 0.6) -> None:
    ax.add_patch(
        FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", facecolor=color, edgecolor="black", linewidth=1)
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], **kw) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, **{"color": "black", **kw}))


def draw_block(ax: Axes, block: nn.Module, title: str = "", input_label: str | None = None) -> None:
    """One block as the paper draws it (Fig. 2, Fig. 5): its layers top to bottom, a ReLU after each but
    the last, and, for a residual block, the shortcut from the input to the addition (⊕) before the last
    ReLU. Layers and shortcut are read from ``block`` (a ``BasicBlock`` or ``Bottleneck``)."""
    layers = convs(block)
    kind = shortcut_kind(block)
    x, step = 0.0, 1.05
    y = 0.0
    ax.text(x, y + 0.35, input_label or f"x ({layers[0].in_channels}-d)", ha="center", va="bottom", fontsize=9)
    top = y
    for i, conv in enumerate(layers):
        # from the input label, or from the bottom edge of the layer above: no arrow crosses a box's label
        _arrow(ax, (x, y + 0.3 if i == 0 else y), (x, y - step + 0.3))
        y -= step
        _box(ax, x, y, "weight layer\n" + conv_label(conv), WIDTH_COLORS.get(conv.out_channels, OTHER_COLOR))
        if i < len(layers) - 1:
            ax.text(x + 0.15, y - step / 2, "relu", ha="left", va="center", fontsize=8, style="italic")
        y -= 0.3
    bottom = y
    if kind is None:  # plain: the layers must fit H(x) themselves
        ax.text(x + 0.15, y - 0.25, "relu", ha="left", va="center", fontsize=8, style="italic")
        _arrow(ax, (x, y), (x, y - 0.55))
        ax.text(x, y - 0.6, "H(x)", ha="center", va="top", fontsize=10)
        ax.text(x - 1.3, (top + bottom) / 2, "H(x)", ha="right", va="center", fontsize=10)
    else:
        ax.text(x - 1.3, (top + bottom) / 2, "F(x)", ha="right", va="center", fontsize=10)
        _arrow(ax, (x, y), (x, y - 0.33))
        ax.add_patch(Circle((x, y - 0.45), 0.12, facecolor="white", edgecolor="black"))
        ax.text(x, y - 0.45, "+", ha="center", va="center", fontsize=11)
        side, style = x + 1.35, "-" if kind == "identity" else "--"
        ax.plot([x, side, side], [top + 0.1, top + 0.1, y - 0.45], color="black", linewidth=1, linestyle=style)
        _arrow(ax, (side, y - 0.45), (x + 0.12, y - 0.45), linestyle=style)
        ax.text(side + 0.1, (top + y) / 2, "x\n" + kind, ha="left", va="center", fontsize=9)
        ax.text(x + 0.15, y - 0.75, "relu", ha="left", va="center", fontsize=8, style="italic")
        _arrow(ax, (x, y - 0.57), (x, y - 1.0))
        ax.text(x, y - 1.05, "F(x) + x", ha="center", va="top", fontsize=10)
    ax.set_title(title, fontsize=10)
    ax.set(xlim=(-2.4, 2.9), ylim=(bottom - 1.5, top + 0.8), aspect="equal")
    ax.axis("off")


def fig2() -> Figure:
    """Fig. 2 with its plain counterpart: the second block of plain-34 and of ResNet-34 (conv2_x, 64-d).

    The same two 3x3 layers; the residual block adds the identity shortcut (Eqn. 1), the plain block
    must fit the whole mapping H(x) itself (Sec. 3.1)."""
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 4.2))
    draw_block(axes[0], get_model("plain34").stages[0][1], "plain block: fits H(x)")
    draw_block(axes[1], get_model("resnet34").stages[0][1], "residual block (Fig. 2): fits F(x) = H(x) - x")
    return fig


def fig5() -> Figure:
    """Fig. 5: a basic block of ResNet-34 on a 64-d map and a bottleneck block of ResNet-50 on a 256-d map,
    both the second block of conv2_x (Sec. 4.1, "Deeper Bottleneck Architectures")."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 4.8))
    basic, bottleneck = get_model("resnet34").stages[0][1], get_model("resnet50").stages[0][1]
    draw_block(axes[0], basic, "basic block (ResNet-34)", f"{basic.conv1.in_channels}-d")
    draw_block(axes[1], bottleneck, "bottleneck block (ResNet-50)", f"{bottleneck.conv1.in_channels}-d")
    widths = sorted({c.out_channels for block in (basic, bottleneck) for c in convs(block)})
    handles = [
        Rectangle((0, 0), 1, 1, facecolor=WIDTH_COLORS[w], edgecolor="black", label=f"{w} output channels") for w in widths
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.06),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
        title="box colour: the layer's width, as in Fig. 3",
        title_fontsize=8,
    )
    return fig


@dataclass(frozen=True)
class Strip:
    """A network as a row of layers for Fig. 3: (label, width) per layer, shortcuts as (first, last, kind)
    layer index spans (``kind`` as :func:`models.shortcut_kind`), each layer's output map size in pixels
    at a 224x224 input (``None`` for an fc), and the net's FLOPs (Table 1, x10^9) where given."""

    name: str
    layers: tuple[tuple[str, int | None], ...]
    shortcuts: tuple[tuple[int, int, str], ...] = ()
    sizes: tuple[int | None, ...] = ()
    flops: float | None = None

    @property
    def weighted(self) -> int:
        """Layers with weights (convolutions and fc), the depth the paper counts."""
        return sum(label != "pool" for label, _ in self.layers)


def vgg19_strip() -> Strip:
    """VGG-19 (Fig. 3 left): 16 3x3 convs in five stages, each followed by a max pool, then three fc."""
    layers: list[tuple[str, int | None]] = []
    sizes: list[int | None] = []
    size = 224  # "same" 3x3 convs keep the map; each 2x2 max pool halves it
    for count, width in VGG19_STAGES:
        layers += [("3x3 conv", width)] * count + [("pool", None)]
        sizes += [size] * count + [size // 2]
        size //= 2
    layers += [("fc 4096", None), ("fc 4096", None), ("fc 1000", None)]
    sizes += [None] * 3
    return Strip("VGG-19", tuple(layers), sizes=tuple(sizes), flops=TABLE1_OTHER_FLOPS["vgg19"])


def _map_sizes(model: nn.Module, modules: list[nn.Module], input_size: int = 224) -> list[int]:
    """The output map size (pixels) of each of ``modules`` in a pass of one image (meta device: shapes only)."""
    names = {id(m): name for name, m in model.named_modules()}
    net = copy.deepcopy(model).to("meta").eval()
    out: dict[str, int] = {}
    hooks = [
        net.get_submodule(names[id(m)]).register_forward_hook(lambda _m, _i, o, k=names[id(m)]: out.__setitem__(k, o.shape[-1]))
        for m in modules
    ]
    try:
        net(torch.zeros(1, 3, input_size, input_size, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return [out[names[id(m)]] for m in modules]


def model_strip(model: ResNet, name: str) -> Strip:
    """An ImageNet net of ``resnet_book.models`` as a strip: stem, every block's convs, pool, fc."""
    stem = model.stem.conv
    layers: list[tuple[str, int | None]] = [(_conv_kind(stem) + ", /2", stem.out_channels), ("pool", None)]
    modules: list[nn.Module] = [stem, model.stem.maxpool]
    shortcuts = []
    for stage in model.stages:
        for block in stage:
            first = len(layers)
            layers += [(_conv_kind(c), c.out_channels) for c in convs(block)]
            modules += convs(block)
            kind = shortcut_kind(block)
            if kind is not None:
                shortcuts.append((first, len(layers) - 1, kind))
    layers += [("pool", None), (f"fc {model.fc.out_features}", None)]
    sizes = (*_map_sizes(model, [*modules, model.avgpool]), None)
    return Strip(name, tuple(layers), tuple(shortcuts), sizes)


def fig3_strips() -> list[Strip]:
    """The three nets of Fig. 3: VGG-19, plain-34 and ResNet-34 (option A), the last two from ``get_model``."""
    plain = replace(model_strip(get_model("plain34"), "34-layer plain"), flops=TABLE1_OTHER_FLOPS["plain34"])
    residual = replace(model_strip(get_model("resnet34"), "34-layer residual"), flops=TABLE1_FLOPS["resnet34"])
    return [vgg19_strip(), plain, residual]


def _rows(strip: Strip, per_row: int) -> list[range]:
    """The layer indices of ``strip`` cut into rows of at most ``per_row``, never inside a shortcut's span."""
    rows, start = [], 0
    while start < len(strip.layers):
        end = min(start + per_row, len(strip.layers))
        for first, last, _ in strip.shortcuts:
            if first < end <= last and first > start:
                end = first  # the block goes to the next row whole
        rows.append(range(start, end))
        start = end
    return rows


def fig3(strips: list[Strip] | None = None, per_row: int = 18) -> Figure:
    """Fig. 3, compact: each net a strip of layers coloured by width, cut into rows of ``per_row`` layers so
    that the figure stays legible in a phone's column; ResNet-34's shortcuts as arcs, solid for identities,
    dashed for zero-padding (option A, where the dimensions increase) or projections (B, C). Under the boxes,
    the output map size of each run of layers (224, 112, 56, 28, 14, 7 pixels), as the paper's Fig. 3 gives
    it: VGG-19 runs its first convolutions on the full 224x224 map, the 34-layer nets halve it twice before
    their first block, which is where their FLOPs (beside each name) are saved."""
    strips = fig3_strips() if strips is None else strips
    cut = [_rows(strip, per_row) for strip in strips]
    row_gap, name_gap, net_gap = 1.55, 0.75, 0.35  # a row of boxes, the name above a net, between nets
    height = sum(name_gap + row_gap * len(rows) + net_gap for rows in cut)
    fig, ax = plt.subplots(figsize=(5.2, 1.0 + 0.3 * height))
    fig.subplots_adjust(left=0.02, right=0.98)
    y = 0.0
    for strip, rows in zip(strips, cut):
        cost = "" if strip.flops is None else f", {strip.flops} billion FLOPs"
        ax.text(-0.5, y, f"{strip.name} ({strip.weighted} layers{cost})", ha="left", va="top", fontsize=9, weight="bold")
        y -= name_gap + 0.45  # the row's centre line, under the arcs
        for k, row in enumerate(rows):
            x0 = row.start
            start = row.start
            for i in range(row.start + 1, row.stop + 1):  # runs of layers with one output size, labelled below
                if strip.sizes and (i == row.stop or strip.sizes[i] != strip.sizes[start]):
                    if strip.sizes[start] is not None:
                        ax.plot([start - x0 - 0.4, i - x0 - 0.6], [y - 0.42, y - 0.42], color="#555555", linewidth=0.8)
                        ax.text((start + i - 1) / 2 - x0, y - 0.47, str(strip.sizes[start]), ha="center", va="top", fontsize=7.5)
                    start = i
            for i in row:
                label, width = strip.layers[i]
                w = 0.35 if label == "pool" else 0.8
                color = OTHER_COLOR if width is None else WIDTH_COLORS.get(width, OTHER_COLOR)
                ax.add_patch(Rectangle((i - x0 - w / 2, y - 0.3), w, 0.6, facecolor=color, edgecolor="black", linewidth=0.5))
            for first, last, kind in strip.shortcuts:
                if first in row:
                    ax.add_patch(
                        FancyArrowPatch(
                            (first - x0 - 0.35, y + 0.3),
                            (last - x0 + 0.35, y + 0.3),
                            connectionstyle="arc3,rad=-0.5",
                            arrowstyle="-|>",
                            mutation_scale=6,
                            linewidth=0.9,
                            linestyle="-" if kind == "identity" else "--",
                            color="black",
                        )
                    )
            if k < len(rows) - 1:  # the strip goes on in the next row
                ax.text(len(row) - 0.3, y, "→", ha="left", va="center", fontsize=9)
            y -= row_gap
        y += row_gap - 0.45 - net_gap - 0.45
    handles = [
        Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="black", label=f"{w} channels") for w, c in WIDTH_COLORS.items() if w >= 64
    ]
    handles += [
        Rectangle((0, 0), 1, 1, facecolor=OTHER_COLOR, edgecolor="black", label="pool (narrow), fc"),
        Line2D([], [], color="black", label="identity shortcut"),
        Line2D([], [], color="black", linestyle="--", label="zero-padding or projection"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8, frameon=False)
    ax.set(xlim=(-0.6, per_row + 0.2), ylim=(y + 0.2, 0.1))
    ax.axis("off")
    ax.set_title(
        "Fig. 3, compact: one box per layer, coloured by width;\nunder the boxes, the output map size (pixels)", fontsize=10
    )
    return fig


# Chapter 3's shortcut drawing: shortcut kind -> (colour, line style, width, legend label).
SHORTCUT_STYLE = {
    "identity": ("#777777", "-", 1.2, "identity"),
    "zero-padding": ("#e6a000", "--", 2.2, "zero-padding, stride 2 (A)"),
    "projection": ("#2b83ba", "-", 2.8, "projection: 1x1 conv + BN (B, C)"),
    "scaled": ("#d7191c", ":", 2.2, "scaled (the sequel's Fig. 2(b))"),
    "gated": ("#7b3294", ":", 2.2, "gated (the sequel's Fig. 2(d))"),
}


def draw_shortcuts(ax: Axes, model: ResNet, stacked: bool = False) -> None:
    """A CIFAR-10 ResNet as its blocks in stages, each shortcut an arc over its block, coloured by kind
    (Sec. 3.3: identity, zero-padding for option A, projection for B and C); read from ``model``.
    ``stacked``: one stage under the other, a drawing narrow enough to stay legible in a phone's column."""
    x, y, right = 0.0, 0.0, 0.0
    for i, stage in enumerate(model.stages):
        if stacked:
            x, y = 0.0, -1.5 * i
        start = x
        for block in stage:
            ax.add_patch(Rectangle((x, y), 0.8, 0.5, facecolor="#e8e8e8", edgecolor="black"))
            ax.text(
                x + 0.4,
                y + 0.25,
                "\n".join(conv_label(c).split(",")[0] for c in convs(block)),
                ha="center",
                va="center",
                fontsize=7,
            )
            color, style, width, _ = SHORTCUT_STYLE[shortcut_kind(block)]
            ax.add_patch(
                FancyArrowPatch(
                    (x - 0.05, y + 0.5),
                    (x + 0.85, y + 0.5),
                    connectionstyle="arc3,rad=-0.8",
                    arrowstyle="-|>",
                    mutation_scale=9,
                    color=color,
                    linestyle=style,
                    linewidth=width,
                )
            )
            x += 1.0
        first = convs(stage[0])[0]
        size = 32 // 2**i
        ax.text(
            (start + x - 0.2) / 2,
            y - 0.15,
            f"stage {i + 1}: {size}x{size}, {first.out_channels} channels",
            ha="center",
            va="top",
            fontsize=8,
        )
        x += 0.6
        right = max(right, x)
    ax.set(xlim=(-0.3, right - 0.3), ylim=(y - 0.55, 1.05), aspect="equal")
    ax.axis("off")
    # the legend: Sec. 3.3's three kinds, and the sequel's only where this net has them
    drawn = {shortcut_kind(block) for stage in model.stages for block in stage}
    kinds = [k for k in SHORTCUT_STYLE if k in ("identity", "zero-padding", "projection") or k in drawn]
    handles = [Line2D([], [], color=c, linestyle=ls, linewidth=w, label=lab) for c, ls, w, lab in map(SHORTCUT_STYLE.get, kinds)]
    if stacked:  # one kind a line, just above the drawing
        ax.legend(handles=handles, loc="lower center", ncol=1, fontsize=8, bbox_to_anchor=(0.5, 1.0), frameon=False)
    else:
        ax.legend(handles=handles, loc="upper center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, 1.45), frameon=False)


# The sequel's Fig. 4: one colour per kind of layer in a unit.
UNIT_COLORS = {"BN": "#c6dbef", "ReLU": "#c7e9c0"}


def _step_label(graph_module: fx.GraphModule, node: fx.Node) -> str:
    """A traced operation as the sequel's Fig. 4 names it: "weight" (with the paper's "3x3, 16"), "BN", "ReLU"."""
    if node.op == "call_module":
        module = graph_module.get_submodule(node.target)
        if isinstance(module, nn.Conv2d):
            return "weight\n" + conv_label(module)
        if isinstance(module, nn.BatchNorm2d):
            return "BN"
        if isinstance(module, nn.ReLU):
            return "ReLU"
        return type(module).__name__
    if node.op == "call_function" and node.target is F.relu:
        return "ReLU"
    return getattr(node.target, "__name__", str(node.target))


class _UnitTracer(fx.Tracer):
    """Traces a unit's forward pass, its shortcut kept whole (one node, whatever it holds)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return module_qualified_name == "shortcut" or super().is_leaf_module(m, module_qualified_name)


def unit_steps(block: nn.Module) -> tuple[list[str], list[str]]:
    """The layers of one residual unit in the order its ``forward`` applies them, traced with ``torch.fx``:
    those of the residual branch F (before the addition) and those after the addition.

    For the first paper's unit (the sequel's Fig. 4(a)): weight, BN, ReLU, weight, BN, then ReLU after the
    addition; for the full pre-activation unit (Fig. 4(e)): BN, ReLU, weight, BN, ReLU, weight, nothing after.
    The shortcut is not listed (``models.shortcut_kind`` names it); where a pre-activation unit's projection starts
    after its first BN + ReLU, those two are listed all the same (the residual branch applies them)."""
    traced = fx.GraphModule(block, _UnitTracer().trace(block))
    nodes = list(traced.graph.nodes)
    adds = [n for n in nodes if n.op == "call_function" and n.target in (operator.add, operator.iadd)]
    if len(adds) != 1:
        raise ValueError(f"{type(block).__name__}: not a residual unit (its forward has {len(adds)} additions)")
    add = adds[0]
    shortcut_nodes = {n for n in nodes if n.op == "call_module" and n.target == "shortcut"}
    branch: set[fx.Node] = set()
    stack = [a for a in add.args if isinstance(a, fx.Node)]
    while stack:  # everything the addition depends on, but the input itself and the shortcut
        n = stack.pop()
        if n.op == "placeholder" or n in shortcut_nodes or n in branch:
            continue
        branch.add(n)
        stack.extend(a for a in n.args if isinstance(a, fx.Node))
    after = nodes[nodes.index(add) + 1 :]
    residual = [_step_label(traced, n) for n in nodes if n in branch]
    return residual, [_step_label(traced, n) for n in after if n.op not in ("output", "placeholder")]


def draw_unit(ax: Axes, block: nn.Module, title: str = "") -> None:
    """One residual unit as the sequel draws it (Fig. 4): ``x_l`` at the top, the residual branch's layers
    (``unit_steps``) down to the addition, the shortcut beside them, whatever follows the addition, ``x_l+1``.
    The original unit and the pre-activation unit have six layers each and come out the same height."""
    residual, after = unit_steps(block)
    kind = shortcut_kind(block)
    step, x, y = 0.75, 0.0, 0.0

    def column(y: float, labels: list[str]) -> float:  # one box per layer down the main path; the bottom's y
        for label in labels:
            _arrow(ax, (x, y), (x, y - step + 0.25))
            y -= step
            color = UNIT_COLORS.get(label, WIDTH_COLORS.get(16) if label.startswith("weight") else OTHER_COLOR)
            _box(ax, x, y, label, color, w=1.7, h=0.5)
            y -= 0.25
        return y

    ax.text(x, y + 0.1, "$x_l$", ha="center", va="bottom", fontsize=11)
    y = column(y, residual)
    _arrow(ax, (x, y), (x, y - 0.38))
    add_y = y - 0.5
    ax.add_patch(Circle((x, add_y), 0.12, facecolor="white", edgecolor="black"))
    ax.text(x, add_y, "+", ha="center", va="center", fontsize=11)
    side = x + 1.45  # the shortcut: grey and bold where it is clean, as the sequel's grey arrows
    color, width = ("#888888", 3.0) if kind == "identity" else ("black", 1.2)
    ax.plot([x, side, side], [0.0, 0.0, add_y], color=color, linewidth=width, solid_capstyle="butt")
    _arrow(ax, (side, add_y), (x + 0.12, add_y), color=color, linewidth=width)
    ax.text(side + 0.1, (0.0 + add_y) / 2, kind or "", ha="left", va="center", fontsize=9)
    y = column(add_y - 0.12, after)
    if not after:
        ax.text(x - 0.15, y - 0.3, "nothing after\nthe addition", ha="right", va="center", fontsize=8, style="italic")
    end = y - 0.55
    _arrow(ax, (x, y), (x, end + 0.05))
    ax.text(x, end, "$x_{l+1}$", ha="center", va="top", fontsize=11)
    ax.set_title(title, fontsize=10)
    xlim, ylim = (-2.4, 2.6), (end - 0.5, 0.6)
    # a white background the size of the axes: a figure cropped to its drawing ("tight") keeps that size,
    # so the original and the pre-activation unit come out as images of one size
    ax.add_patch(
        Rectangle((xlim[0], ylim[0]), xlim[1] - xlim[0], ylim[1] - ylim[0], facecolor="white", edgecolor="none", zorder=-1)
    )
    ax.set(xlim=xlim, ylim=ylim, aspect="equal")
    ax.axis("off")


def unit_figure(block: nn.Module, title: str = "") -> Figure:
    """``draw_unit`` on a figure of its own, the same size for every unit (for a toggle between them)."""
    fig, ax = plt.subplots(figsize=(4.2, 5.6))
    draw_unit(ax, block, title)
    return fig
