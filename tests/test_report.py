"""Sentences a chapter prints about trends are computed right (``resnet_book.report``)."""

import pytest

from resnet_book import report, runs


def test_trend_needs_every_step():
    assert report.trend({20: 1.0, 32: 2.0, 44: 3.0}) == "rises"
    assert report.trend({20: 3.0, 32: 2.0}) == "falls"
    assert report.trend({20: 1.46, 32: 0.53, 44: 0.25, 56: 0.43}) == "mixed"
    assert report.trend_line({44: 0.25, 56: 0.43}) == "rises: 44: 0.25 %, 56: 0.43 %"
    assert report.trend_line({20: 0.5, 56: 0.25}, unit="", digits=3) == "falls: 20: 0.500, 56: 0.250"


def test_steps_against_names_the_step_that_breaks_the_order():
    assert report.steps_against({20: 1.46, 32: 0.53, 44: 0.25, 56: 0.43}, "falls") == [(44, 56)]
    assert report.steps_against({20: 1.0, 32: 2.0}, "rises") == []
    with pytest.raises(ValueError, match="'falls' or 'rises'"):
        report.steps_against({}, "down")


def test_first_phase_averages_the_first_learning_rate_only():
    run = runs.find_run("resnet20")
    window = [e["train_error"] for e in run.history if 5_000 < e["iteration"] <= 32_000]
    assert report.first_phase(run) == pytest.approx(100 * sum(window) / len(window))
    with pytest.raises(ValueError, match=run.id):
        report.first_phase(run, (70_000, 80_000))


def test_percent_and_how_trained_read_the_record():
    run = runs.find_run("resnet56")
    assert report.percent(run, "train_error") == f"{100 * run.final['train_error']:.2f}"
    assert report.percent(None) == "not recorded yet"
    assert report.how_trained(run) == "packed with " + ", ".join(run.packed_with)


# What the chapters state in words about the records, checked here so the prose cannot go stale.


def test_chapter_2_resnet56_trains_worse_at_lr_01_than_resnet20_and_44_and_ends_between_them():
    phase = {d: report.first_phase(runs.find_run(f"resnet{d}")) for d in (20, 44, 56)}
    options = [report.first_phase(runs.find_run("resnet20", shortcut=o)) for o in "ABC"]
    assert phase[56] > phase[20] and phase[56] > phase[44]
    assert phase[56] - phase[44] > 3 * (max(options) - min(options))  # "several times that spread"
    train = {d: runs.find_run(f"resnet{d}").final["train_error"] for d in (20, 44, 56)}
    assert train[44] < train[56] < train[20]


def test_chapters_2_and_5_resnet_test_error_falls_from_20_to_110_except_44_to_56():
    errors = report.final_errors({d: runs.find_run(f"resnet{d}") for d in (20, 32, 44, 56, 110)}, "test_error")
    assert report.steps_against(errors, "falls") == [(44, 56)]


def test_show_source_shows_the_packages_code_for_each_object():
    from resnet_book import models

    html = report.show_source(models.ZeroPadShortcut, models.make_shortcut).data
    assert "<b>ZeroPadShortcut</b>" in html and "<b>make_shortcut</b>" in html
    assert "extra" in html and "changes" in html  # lines of the two sources, highlighted


def test_chapter_5_fig7_resnets_respond_less_than_twins_and_less_with_depth_as_do_plain_nets():
    def mean_std(name):
        stds = runs.find_run(name).final["layer_response_std"]
        return sum(stds) / len(stds)

    resnet = {d: mean_std(f"resnet{d}") for d in (20, 32, 44, 56, 110)}
    plain = {d: mean_std(f"plain{d}") for d in (20, 32, 44, 56)}
    assert all(resnet[d] < plain[d] for d in plain)
    assert report.trend(resnet) == "falls" and report.trend(plain) == "falls"
