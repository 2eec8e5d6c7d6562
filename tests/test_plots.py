"""Figures drawn like the paper's: dashed training error, bold test error; Fig. 7 sorted; captions name sources."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from resnet_book import diagrams, plots, runs  # noqa: E402


def test_error_curves_dashed_training_bold_test_in_percent():
    run = runs.find_run("resnet20")
    fig = plots.error_curves([run])
    train, test = fig.axes[0].lines
    assert train.get_linestyle() == "--" and test.get_linestyle() == "-"
    assert test.get_linewidth() > train.get_linewidth()
    assert test.get_ydata()[-1] == 100 * run.final["test_error"] and test.get_label() == "ResNet-20 (A)"
    assert test.get_xdata()[-1] == 6.4  # iterations in units of 1e4, as the paper's axis
    plt.close(fig)


def test_twin_curves_grey_plain_and_coloured_resnet():
    fig = plots.twin_curves(runs.find_run("plain20"), runs.find_run("resnet20"))
    colours = [line.get_color() for line in fig.axes[0].lines]
    assert colours[:2] == [plots.PLAIN_COLOR] * 2 and colours[2:] == [plots.color_for("resnet20")] * 2
    plt.close(fig)


def test_layer_responses_in_order_and_sorted():
    run = runs.find_run("resnet32")
    fig = plots.draw_layer_responses([run])
    ordered, sorted_ = fig.axes[0].lines[0].get_ydata(), fig.axes[1].lines[0].get_ydata()
    assert list(ordered) == run.final["layer_response_std"] and list(sorted_) == sorted(ordered, reverse=True)
    plt.close(fig)


def test_caption_names_record_gpu_and_dataset():
    run = runs.find_run("plain44")
    text = str(plots.Caption([run]))
    assert run.id in text and run.provenance["gpu"] in text and "cifar10-jpeg" in text


def test_caption_is_one_line_with_the_sources_folded_under_it():
    """Under a figure: one line (how many records, which data, what is not recorded yet); the full list of
    sources in a folded <details> in HTML, and listed under that line as text."""
    recorded = [runs.find_run("plain20"), runs.find_run("plain44")]
    caption = plots.Caption(recorded, not_recorded=["plain-1202"])
    assert caption.summary == "Sources: 2 recorded runs in data/runs (cifar10-jpeg); not recorded yet: plain-1202"
    html = caption._repr_html_()
    assert html.startswith("<details") and f"<summary>{caption.summary}</summary>" in html and "<details open" not in html
    assert all(run.id in html.split("</summary>", 1)[1] for run in recorded)  # shown when folded out
    lines = str(caption).splitlines()
    assert lines[0] == caption.summary and len(lines) == 3 and all(run.id in str(caption) for run in recorded)
    assert str(plots.Caption([], not_recorded=["ResNet-1202"])) == "Not recorded yet: ResNet-1202"


def test_error_curves_of_several_seeds_draw_the_mean_and_a_min_max_band(tmp_path):
    from fakes import write_seeds
    from matplotlib.collections import PolyCollection

    write_seeds(tmp_path, "resnet56", [0.11, 0.12, 0.13])
    seeds = runs.find_runs("resnet56", directory=tmp_path)
    fig = plots.error_curves([seeds, runs.find_run("resnet20")])
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # training and test error of ResNet-56; none for ResNet-20's one run
    assert {tuple(b.get_facecolor()[0][:3]) for b in bands} == {matplotlib.colors.to_rgb(plots.color_for("resnet56"))}
    test = [line for line in ax.lines if line.get_label().startswith("ResNet-56")][0]
    assert test.get_ydata()[-1] == pytest.approx(12.0)  # the mean of 11, 12, 13 %
    top = bands[1].get_paths()[0].vertices[:, 1]
    assert max(top) >= 13.0 - 1e-9 and test.get_label() == "ResNet-56 (A), mean of 3"  # the band reaches the worst seed
    assert len(ax.lines) == 4  # one dashed and one bold curve per net, not per seed
    plt.close(fig)


def test_one_seed_draws_no_band_and_the_same_curves_as_a_single_run(tmp_path):
    from fakes import write_seeds

    write_seeds(tmp_path, "resnet56", [0.11])
    run = runs.find_run("resnet56", directory=tmp_path)
    alone, as_list = plots.error_curves([run]), plots.error_curves([[run]])
    for fig in (alone, as_list):
        assert not fig.axes[0].collections
    assert [list(line.get_ydata()) for line in alone.axes[0].lines] == [list(line.get_ydata()) for line in as_list.axes[0].lines]
    plt.close(alone), plt.close(as_list)


def test_twin_curves_and_fig7_take_the_seeds_of_a_net(tmp_path):
    from fakes import write_seeds

    write_seeds(tmp_path, "resnet20", [0.08, 0.09])
    seeds = runs.find_runs("resnet20", directory=tmp_path)
    fig = plots.twin_curves(runs.find_run("plain20"), seeds)
    assert len(fig.axes[0].collections) == 2 and [c.get_label() for c in fig.axes[0].lines][3] == "ResNet-20 (A), mean of 2"
    plt.close(fig)
    fig = plots.draw_layer_responses([seeds])
    stds = seeds[0].final["layer_response_std"]  # seed 1's are 1.1 times seed 0's (fakes.write_seeds)
    assert list(fig.axes[0].lines[0].get_ydata()) == pytest.approx([1.05 * s for s in stds])
    assert len(fig.axes[0].lines) == 1
    plt.close(fig)
    assert str(plots.Caption([seeds])).count("Source: ") == 2


# Pieces of presentation the chapters call instead of drawing them again (issue #15).


def _texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


def _costs():
    """Shortcut costs of ResNet-20, 56 and 34 per option, made up (tracing ResNet-34 at 224 is slow)."""
    from resnet_book.analysis import ShortcutCost

    def cost(params, projections, stage):
        return ShortcutCost(params, 10 * params, ((0, 0), (stage, 2 * stage), (stage, 2 * stage)), projections)

    sizes = {"resnet20": 270_000, "resnet56": 850_000, "resnet34": 21_800_000}
    return {
        (n, o): cost(p + extra, k, s)
        for n, p in sizes.items()
        for o, extra, k, s in (("A", 0, 0, 0), ("B", 3_000, 2, 1_000), ("C", 10_000, 9, 2_000))
    }


def test_shortcut_option_draws_the_recorded_curves_in_the_options_colour():
    from resnet_book import report, tables

    seeds = runs.find_runs("resnet20", shortcut="B")
    drawing, fig, table = plots.shortcut_option("B", seeds, _costs())
    curves = fig.axes[0]
    assert {line.get_color() for line in curves.lines} == {plots.OPTION_COLORS["B"]}
    assert report.summary(seeds) in curves.get_title() and "ResNet-20 (B)" in curves.get_title()
    assert "not recorded yet" not in _texts(fig)
    # the costs are an HTML table (it reflows on a phone), not a table drawn inside the figure
    assert isinstance(table, tables.Table) and not any(ax.tables for f in (drawing, fig) for ax in f.axes)
    assert table.head == ["", "stage 1", "stage 2", "stage 3", "total"]
    assert {"ResNet-20 params", "ResNet-56 FLOPs", "1,000", "2,000"} <= {cell for row in table.rows for cell in row}
    assert "ResNet-34 at 224x224 (2 projections): +0.00 M params" in table.caption  # 3,000 params over A
    assert "<table" in table._repr_html_()
    plt.close(drawing), plt.close(fig)


def test_shortcut_option_parts_stay_narrow_enough_for_a_phone():
    """Drawn at 100 dpi (``widgets.toggle``), the drawing of the shortcuts fits a 390-px screen's column
    (about 360 px) at full size, and the curves shrink by at most a third there."""
    import io

    from matplotlib.image import imread

    drawing, fig, _ = plots.shortcut_option("B", runs.find_runs("resnet20", shortcut="B"), _costs())
    widths = []
    for f in (drawing, fig):
        buffer = io.BytesIO()
        f.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        widths.append(imread(io.BytesIO(buffer.getvalue())).shape[1])
        plt.close(f)
    assert widths[0] <= 360 and widths[1] <= 540, widths


# Legible on a phone (issue #31). A figure's PNG (100 dpi, tight box: as the chapters' inline figures and
# widgets.toggle render it) shrinks to fit the column of a 390-px screen, 358 CSS px (the theme's margins taken
# off: tests/test_site.py measures it); a text of s pt is then s * 100 / 72 px times that shrinking factor.
PHONE_COLUMN = 358
MIN_TEXT_PX = 7  # tests/test_site.py's MIN_TEXT_PX, justified in its phone_problems


def smallest_text_on_a_phone(fig, dpi: int = 100) -> tuple[float, int]:
    """The smallest text of ``fig`` (ticks, labels, titles, legends, annotations) in CSS px as a phone's
    column shows it, and the PNG's width in px."""
    import io

    from matplotlib.image import imread
    from matplotlib.text import Text

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    width = imread(io.BytesIO(buffer.getvalue())).shape[1]
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * dpi / 72 * min(1.0, PHONE_COLUMN / width), width


def _surface(scale):
    from resnet_book.analysis import LossSurface

    coords = [i / 5 - 1 for i in range(11)]
    return LossSurface(coords, [[0.5 + scale * (a * a + b * b) for a in coords] for b in coords])


def _shortcuts_stacked():
    from resnet_book.models import get_model

    fig, ax = plt.subplots(figsize=(3.7, 3.4))  # chapter 3 draws option B so, above the options' toggle
    diagrams.draw_shortcuts(ax, get_model("resnet20", shortcut="B"), stacked=True)
    return fig


PHONE_FIGURES = {  # the package's figures as the chapters show them
    "Fig. 1 (chapter 1)": lambda: plots.fig1(runs.find_run("plain20"), runs.find_run("plain56")),
    "Fig. 6 curves": lambda: plots.error_curves([runs.find_runs("resnet20"), runs.find_runs("resnet56")]),
    "twin curves (chapter 5)": lambda: plots.twin_curves(runs.find_runs("plain20"), runs.find_runs("resnet20")),
    "Fig. 5's costs (chapter 4)": lambda: plots.block_costs(
        {"basic, 64-d": [("3x3, 64", 36_864, 115.6e6)] * 2, "bottleneck, 256-d": [("1x1, 64", 16_384, 51.4e6)] * 3},
        "Fig. 5: a basic block on 64 channels and a bottleneck on 256 cost about the same",
    ),
    "loss surfaces (chapter 2)": lambda: plots.loss_surfaces({"plain-56": _surface(2000.0), "ResNet-56": _surface(30.0)}),
    "Fig. 2 (chapter 2)": diagrams.fig2,
    "Fig. 3 (chapter 3)": diagrams.fig3,
    "Fig. 5 (chapter 4)": diagrams.fig5,
    "option B's shortcuts (chapter 3)": _shortcuts_stacked,
    "option B's curves (chapter 3)": lambda: plots.shortcut_option("B", runs.find_runs("resnet20", shortcut="B"), _costs())[1],
}


@pytest.mark.parametrize("name", PHONE_FIGURES)
def test_every_text_of_the_figure_is_legible_in_a_phones_column(name):
    """Every word of the figure, its 8-pt legends and 7.5-pt labels included, shows at 7 CSS px or more in the
    column of a 390-px screen: a two-panel figure 9 to 11 inches wide (Fig. 1's, Fig. 5's costs side by side)
    showed its legends at 4 to 5 px there, so they are drawn one panel above the other."""
    fig = PHONE_FIGURES[name]()
    px, width = smallest_text_on_a_phone(fig)
    plt.close("all")
    assert px >= MIN_TEXT_PX, f"{name}: its smallest text shows at {px:.1f} px in a {PHONE_COLUMN}-px column ({width} px wide)"


def test_shortcut_option_without_a_record_says_so_beside_the_papers_table_3():
    drawing, fig, table = plots.shortcut_option("C", [], _costs())
    curves = fig.axes[0]
    assert not curves.lines and not curves.get_xticks().size
    text = _texts(fig)
    assert "ResNet-20 (C) on CIFAR-10:\nnot recorded yet" in text
    assert "ResNet-34 C" in text and "top-1 24.19 %, top-5 7.40 %" in text  # Table 3, option C
    assert "(9 projections)" in table.caption
    plt.close(drawing), plt.close(fig)


def test_stacked_bars_stack_each_blocks_layers_and_write_the_total():
    blocks = {
        "basic, 64-d": [("3x3, 64", 36_864, 115.6e6), ("3x3, 64", 36_864, 115.6e6)],
        "bottleneck, 256-d": [("1x1, 64", 16_384, 51.4e6), ("3x3, 64", 36_864, 115.6e6), ("1x1, 256", 16_384, 51.4e6)],
    }
    fig = plots.block_costs(blocks, "Fig. 5")
    params, flops = fig.axes
    bars = params.patches
    assert [b.get_height() for b in bars] == pytest.approx([36.864, 36.864, 16.384, 36.864, 16.384])
    assert bars[3].get_y() == pytest.approx(16.384)  # the 3x3 sits on the first 1x1
    assert matplotlib.colors.to_hex(bars[2].get_facecolor()) == plots.FIG5_COLORS["1x1, 64"]
    totals = [t.get_text() for t in flops.texts if t.get_va() == "bottom"]  # on top of each bar
    assert totals == ["231.2", "218.4"]  # multiply-adds (x10^6) per block
    assert [t.get_text() for t in params.get_xticklabels()] == list(blocks) and fig.texts[0].get_text() == "Fig. 5"
    plt.close(fig)


def test_grouped_bars_put_one_bar_per_series_around_each_group():
    fig, ax = plt.subplots()
    plots.grouped_bars(ax, ["stem", "fc"], {"resnet34": [118, 0.5], "resnet50": [118, 2.0]}, ["red", "blue"], width=0.4)
    xs = [round(b.get_x() + b.get_width() / 2, 6) for b in ax.patches]
    assert xs == [-0.2, 0.8, 0.2, 1.2] and [b.get_height() for b in ax.patches] == [118, 0.5, 118, 2.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["stem", "fc"]
    assert [h.get_label() for h in ax.get_legend_handles_labels()[0]] == ["resnet34", "resnet50"]
    plt.close(fig)


def test_live_figure_redraws_the_trainers_curves_in_place(monkeypatch):
    from types import SimpleNamespace

    from IPython import display

    shown, updates = [], []
    handle = SimpleNamespace(
        update=lambda fig: updates.append(
            (fig.axes[0].get_title(), len(fig.axes[0].lines), {line.get_color() for line in fig.axes[0].lines})
        )
    )
    monkeypatch.setattr(display, "display", lambda obj, display_id: shown.append(obj) or handle)
    trainers, open_before = {}, plt.get_fignums()
    live = plots.LiveFigure(trainers, title="live", colors={"plain-20": "#123456"})
    assert "first evaluation" in shown[0].data  # a placeholder until there is a curve
    entry = {"iteration": 5, "train_error": 0.8, "test_error": 0.85}
    trainers["plain-20"] = SimpleNamespace(history=SimpleNamespace(entries=[entry]), config=SimpleNamespace(model="plain20"))
    live.redraw(trainers["plain-20"], entry)
    assert updates == [("live", 2, {"#123456"})]  # its training and test error, in its colour, in the same output
    assert plt.get_fignums() == open_before  # closed: shown through the handle only


def test_live_figure_outside_a_notebook_redraws_without_failing():
    live = plots.LiveFigure({})  # IPython's display returns no handle outside a notebook
    assert live.handle is None
    live.redraw()


def test_live_curves_take_a_colour_per_label_for_nets_of_one_depth():
    from types import SimpleNamespace

    entries = [{"iteration": 10, "train_error": 0.9, "test_error": 0.8}, {"iteration": 20, "train_error": 0.7, "test_error": 0.6}]
    trainer = SimpleNamespace(config=SimpleNamespace(model="resnet20"), history=SimpleNamespace(entries=entries))
    fig = plots.live_curves({"a": trainer, "b": trainer}, colors={"b": "#123456"})
    colours = [line.get_color() for line in fig.axes[0].lines]
    assert colours == [plots.color_for("resnet20")] * 2 + ["#123456"] * 2
    assert list(fig.axes[0].lines[1].get_ydata()) == [80.0, 60.0]
    plt.close(fig)


def test_a_live_run_stopped_at_its_first_evaluation_still_shows_a_point():
    """A line through one point draws nothing: every evaluation of a live run carries a marker."""
    from types import SimpleNamespace

    entries = [{"iteration": 50, "train_error": 0.9, "test_error": 0.8}]
    trainer = SimpleNamespace(config=SimpleNamespace(model="plain56"), history=SimpleNamespace(entries=entries))
    fig = plots.live_curves({"plain-56": trainer})
    assert [line.get_marker() for line in fig.axes[0].lines] == ["o", "o"]
    assert [list(line.get_ydata()) for line in fig.axes[0].lines] == [[90.0], [80.0]]
    plt.close(fig)


def test_the_miniature_s_recorded_seeds_share_a_live_run_s_axis_of_iterations():
    seeds = runs.find_runs("plain56", preset="mini")
    assert len(seeds) >= 5  # the verdict a page prints needs them
    fig = plots.error_curves([seeds], per=1)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "iteration" and max(ax.lines[-1].get_xdata()) == 700
    assert ax.get_legend().get_texts()[0].get_text() == f"plain-56, mean of {len(seeds)}"
    plt.close(fig)
    # the paper-schedule figures never take them in: find_runs looks up the paper's schedule by default
    assert all(r.preset == "paper" for r in runs.find_runs("plain56"))
