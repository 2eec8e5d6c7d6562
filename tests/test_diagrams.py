"""The paper's drawings (``resnet_book.diagrams``) show what ``get_model`` builds, and Fig. 1 shows the records."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from resnet_book import diagrams, plots, runs  # noqa: E402
from resnet_book.models import get_model  # noqa: E402


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_fig2_plain_block_has_no_addition_and_residual_block_adds_the_identity():
    fig = diagrams.fig2()
    plain, residual = ([t.get_text() for t in ax.texts] for ax in fig.axes)
    assert "+" not in plain and "H(x)" in plain
    assert "+" in residual and "F(x) + x" in residual and "x\nidentity" in residual
    # both draw the two 3x3, 64 layers of the second conv2_x block of ResNet-34
    assert [t for t in residual if t.startswith("weight layer")] == ["weight layer\n3x3, 64"] * 2
    assert [t for t in plain if t.startswith("weight layer")] == ["weight layer\n3x3, 64"] * 2
    plt.close(fig)


def test_fig5_draws_the_layers_of_the_models_blocks():
    fig = diagrams.fig5()
    basic, bottleneck = ([t.get_text() for t in ax.texts] for ax in fig.axes)
    assert [t for t in basic if t.startswith("weight layer")] == ["weight layer\n3x3, 64"] * 2
    assert [t for t in bottleneck if t.startswith("weight layer")] == [
        "weight layer\n1x1, 64",
        "weight layer\n3x3, 64",
        "weight layer\n1x1, 256",
    ]
    assert "64-d" in basic and "256-d" in bottleneck
    plt.close(fig)


def test_fig2_and_fig5_arrows_do_not_cross_a_box_label():
    """Every vertical arrow of a block runs between boxes: none passes through a layer's label."""
    for fig in (diagrams.fig2(), diagrams.fig5()):
        for ax in fig.axes:
            labels = [t.get_position()[1] for t in ax.texts if t.get_text().startswith("weight layer")]
            for arrow in (p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"):
                (x0, y0), (x1, y1) = arrow._posA_posB
                if x0 == x1:  # the main path (the shortcut's arrow is horizontal)
                    # a box is 0.6 high, its label at its centre: the arrow may touch its edge, not enter it
                    assert not any(min(y0, y1) < y + 0.29 and max(y0, y1) > y - 0.29 for y in labels), (y0, y1, labels)
        plt.close(fig)


def test_fig5_explains_its_colours():
    fig = diagrams.fig5()
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["64 output channels", "256 output channels"]
    assert "width" in legend.get_title().get_text()
    plt.close(fig)


def test_fig3_gives_the_output_map_sizes_of_table1():
    vgg, plain, residual = diagrams.fig3_strips()

    def runs(sizes):  # the sizes in order, each run once
        return [s for i, s in enumerate(sizes) if s is not None and (i == 0 or sizes[i - 1] != s)]

    assert runs(vgg.sizes) == [224, 112, 56, 28, 14, 7]
    assert runs(plain.sizes) == runs(residual.sizes) == [112, 56, 28, 14, 7, 1]
    assert len(residual.sizes) == len(residual.layers)
    assert (vgg.flops, plain.flops, residual.flops) == (19.6, 3.6, 3.6)  # Table 1
    fig = diagrams.fig3()
    shown = texts(fig)
    for size in ("224", "112", "56", "28", "14", "7"):
        assert size in shown
    assert any("19.6 billion FLOPs" in t for t in shown)
    plt.close(fig)


def test_draw_block_labels_a_projection_shortcut():
    block = get_model("resnet20", shortcut="B").stages[1][0]  # 16 -> 32 channels, stride 2
    fig, ax = plt.subplots()
    diagrams.draw_block(ax, block)
    assert "x\nprojection" in [t.get_text() for t in ax.texts]
    plt.close(fig)


@pytest.mark.parametrize("name", ["resnet34", "plain34"])
def test_fig3_strip_has_the_models_depth_widths_and_blocks(name):
    model = get_model(name)
    strip = diagrams.model_strip(model, name)
    assert strip.weighted == 34
    convs3 = [w for label, w in strip.layers if label == "3x3 conv"]
    expected = [w for blocks, w in zip(model.arch.blocks_per_stage, model.arch.widths) for _ in range(2 * blocks)]
    assert convs3 == expected  # 3, 4, 6, 3 blocks of two 3x3 convs at 64, 128, 256, 512
    kinds = [kind for *_, kind in strip.shortcuts]
    if name == "plain34":
        assert kinds == []
    else:  # one shortcut per block; zero-padding (dashed) exactly where a stage starts: conv3_1, conv4_1, conv5_1
        assert len(kinds) == sum(model.arch.blocks_per_stage) == 16
        assert kinds.count("zero-padding") == 3 and kinds.count("identity") == 13


def test_fig3_draws_a_box_per_layer_and_dashes_only_where_dimensions_increase():
    strips = diagrams.fig3_strips()
    assert [s.weighted for s in strips] == [19, 34, 34]
    fig = diagrams.fig3(strips)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if type(p).__name__ == "Rectangle"]
    arcs = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(boxes) == sum(len(s.layers) for s in strips)
    assert len(arcs) == 16 and sum(a.get_linestyle() != "-" for a in arcs) == 3
    plt.close(fig)


def test_fig1_panels_are_the_records_training_and_test_error():
    shallow, deep = runs.find_run("plain20"), runs.find_run("plain56")
    fig = plots.fig1(shallow, deep)
    (train20, train56), (test20, test56) = (ax.lines for ax in fig.axes)
    assert train56.get_ydata()[-1] == 100 * deep.final["train_error"]
    assert test20.get_ydata()[-1] == 100 * shallow.final["test_error"]
    assert [train20.get_label(), train56.get_label()] == ["20-layer", "56-layer"]
    plt.close(fig)


@pytest.mark.parametrize("option, kinds", [("A", ["zero-padding"] * 2), ("B", ["projection"] * 2), ("C", ["projection"] * 9)])
def test_draw_shortcuts_colours_each_arc_by_the_blocks_shortcut(option, kinds):
    fig, ax = plt.subplots()
    diagrams.draw_shortcuts(ax, get_model("resnet20", shortcut=option))
    arcs = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arcs) == 9  # ResNet-20: 3 blocks in each of 3 stages
    identity = matplotlib.colors.to_rgba(diagrams.SHORTCUT_STYLE["identity"][0])
    other = [a for a in arcs if a.get_edgecolor() != identity]
    expected = matplotlib.colors.to_rgba(diagrams.SHORTCUT_STYLE[kinds[0]][0])
    assert len(other) == len(kinds) and all(a.get_edgecolor() == expected for a in other)
    assert "stage 2: 16x16, 32 channels" in [t.get_text() for t in ax.texts]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]  # Sec. 3.3's kinds only: no sequel in chapter 3
    assert legend == [diagrams.SHORTCUT_STYLE[k][3] for k in ("identity", "zero-padding", "projection")]
    plt.close(fig)


def box_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text() in ("BN", "ReLU") or t.get_text().startswith("weight")]


def test_unit_steps_read_the_order_of_each_units_forward_pass():
    """The sequel's Fig. 4(a) and (e): the same six layers, in another order, nothing after the addition in (e)."""
    original = diagrams.unit_steps(get_model("resnet20").stages[0][1])
    preact = diagrams.unit_steps(get_model("resnet20", preact=True).stages[0][1])
    assert original == (["weight\n3x3, 16", "BN", "ReLU", "weight\n3x3, 16", "BN"], ["ReLU"])
    assert preact == (["BN", "ReLU", "weight\n3x3, 16", "BN", "ReLU", "weight\n3x3, 16"], [])
    bottleneck = diagrams.unit_steps(get_model("resnet29", preact=True, bottleneck=True).stages[1][0])
    assert bottleneck[0][-1] == "weight\n1x1, 128" and len(bottleneck[0]) == 9 and bottleneck[1] == []
    # a shortcut's own layers (a projection's conv, a gate) are not the residual branch's
    assert diagrams.unit_steps(get_model("resnet20", shortcut="C").stages[1][0]) == (
        ["weight\n3x3, 32", "BN", "ReLU", "weight\n3x3, 32", "BN"],
        ["ReLU"],
    )
    with pytest.raises(ValueError, match="not a residual unit"):
        diagrams.unit_steps(get_model("plain20").stages[0][1])


def test_unit_figures_draw_the_traced_layers_and_come_out_one_size():
    """A toggle between the two units shows two images of one size, each with the layers its unit runs."""
    import io

    from PIL import Image

    from resnet_book.widgets import to_png

    figs = {
        kw.get("preact", False): diagrams.unit_figure(get_model("resnet20", **kw).stages[0][1], "t\nt")
        for kw in ({}, {"preact": True})
    }
    original, preact = (box_labels(figs[k].axes[0]) for k in (False, True))
    assert original == ["weight\n3x3, 16", "BN", "ReLU", "weight\n3x3, 16", "BN", "ReLU"]
    assert preact == ["BN", "ReLU", "weight\n3x3, 16", "BN", "ReLU", "weight\n3x3, 16"]
    assert "nothing after\nthe addition" in texts(figs[True]) and "nothing after\nthe addition" not in texts(figs[False])
    assert "identity" in texts(figs[False]) and "identity" in texts(figs[True])
    sizes = {Image.open(io.BytesIO(to_png(fig))).size for fig in figs.values()}
    assert len(sizes) == 1, sizes


def test_the_sequels_variants_are_drawn_as_scaled_and_gated_not_as_identities():
    from resnet_book.models import shortcut_variant

    for variant in ("scaled", "gated"):
        net = shortcut_variant("resnet20", variant)
        assert diagrams.shortcut_kind(net.stages[0][1]) == variant
        fig, ax = plt.subplots()
        diagrams.draw_shortcuts(ax, net)
        assert diagrams.SHORTCUT_STYLE[variant][3] in [t.get_text() for t in ax.get_legend().get_texts()]
        plt.close(fig)
