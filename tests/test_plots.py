"""Figures drawn like the paper's: dashed training error, bold test error; Fig. 7 sorted; captions name sources."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from resnet_book import plots, runs  # noqa: E402


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
    fig = plots.layer_responses([run])
    ordered, sorted_ = fig.axes[0].lines[0].get_ydata(), fig.axes[1].lines[0].get_ydata()
    assert list(ordered) == run.final["layer_response_std"] and list(sorted_) == sorted(ordered, reverse=True)
    plt.close(fig)


def test_caption_names_record_gpu_and_dataset():
    run = runs.find_run("plain44")
    text = plots.caption([run])
    assert run.id in text and run.provenance["gpu"] in text and "cifar10-jpeg" in text


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
    assert [list(line.get_ydata()) for line in alone.axes[0].lines] == [
        list(line.get_ydata()) for line in as_list.axes[0].lines]  # fmt: skip
    plt.close(alone), plt.close(as_list)


def test_twin_curves_and_fig7_take_the_seeds_of_a_net(tmp_path):
    from fakes import write_seeds

    write_seeds(tmp_path, "resnet20", [0.08, 0.09])
    seeds = runs.find_runs("resnet20", directory=tmp_path)
    fig = plots.twin_curves(runs.find_run("plain20"), seeds)
    assert len(fig.axes[0].collections) == 2 and [c.get_label() for c in fig.axes[0].lines][3] == "ResNet-20 (A), mean of 2"
    plt.close(fig)
    fig = plots.layer_responses([seeds])
    stds = seeds[0].final["layer_response_std"]  # seed 1's are 1.1 times seed 0's (fakes.write_seeds)
    assert list(fig.axes[0].lines[0].get_ydata()) == pytest.approx([1.05 * s for s in stds])
    assert len(fig.axes[0].lines) == 1
    plt.close(fig)
    assert plots.caption([seeds]).count("Source: ") == 2
