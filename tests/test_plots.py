"""Figures drawn like the paper's: dashed training error, bold test error; Fig. 7 sorted; captions name sources."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

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
