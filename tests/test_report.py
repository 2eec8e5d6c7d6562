"""Sentences a chapter prints about trends are computed right (``resnet_book.report``)."""

import pytest

from resnet_book import report, runs


def test_trend_needs_every_step():
    assert report.trend({20: 1.0, 32: 2.0, 44: 3.0}) == "rises"
    assert report.trend({20: 3.0, 32: 2.0}) == "falls"
    assert report.trend({20: 1.46, 32: 0.53, 44: 0.25, 56: 0.43}) == "mixed"
    assert report.trend_line({44: 0.25, 56: 0.43}) == "rises: 44: 0.25 %, 56: 0.43 %"


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
