"""Sentences a chapter prints about trends are computed right (``resnet_book.report``)."""

import pytest

from resnet_book import paper, report, runs


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


# Several seeds of one net (issue #13): Table 6's "best (mean ± std)" and "A beats B" beside the spread.


@pytest.fixture
def seeds(tmp_path):
    """ResNet-110 as the paper reports it (best 6.43), ResNet-44 and 56 with three seeds each."""
    from fakes import write_seeds

    write_seeds(tmp_path, "resnet110", [0.0655, 0.0643, 0.0670, 0.0661, 0.0676])
    write_seeds(tmp_path, "resnet44", [0.100, 0.102, 0.104])
    write_seeds(tmp_path, "resnet56", [0.110, 0.111, 0.112])
    return {d: runs.find_runs(f"resnet{d}", directory=tmp_path) for d in (44, 56, 110)}


def unwrapped(text: object) -> str:
    return " ".join(str(text).split())


def test_seed_stats_are_best_mean_and_sample_std_over_runs(seeds):
    s = report.seed_stats(seeds[110])
    assert s.n == 5 and s.best == pytest.approx(6.43) and s.mean == pytest.approx(6.61)
    # deviations from 6.61: -0.18, -0.06, 0, 0.09, 0.15; squares sum to 0.0666; n - 1 = 4
    assert s.std == pytest.approx((0.0666 / 4) ** 0.5)  # 0.129, not the population std 0.115
    assert s.spread == pytest.approx(0.33)
    one = report.seed_stats(seeds[110][0])
    assert one.n == 1 and one.std is None and one.spread is None and one.mean == pytest.approx(6.55)
    assert report.seed_stats(seeds[44], "train_error").n == 3


def test_summary_for_none_one_and_several_runs(seeds):
    assert report.summary(seeds[110]) == "6.43 (6.61 ± 0.13, 5 runs)"
    assert paper.table6_text("resnet110") == "6.43 (6.61 ± 0.16, 5 runs)"  # the paper's, printed the same way
    assert paper.table6_text("resnet56") == "6.97"
    assert report.summary(seeds[110][:1]) == "6.55 (1 run)"
    assert report.summary(seeds[110][0]) == "6.55 (1 run)"
    assert report.summary([]) == report.summary(None) == report.NOT_RECORDED == "not recorded yet"
    real = runs.find_run("resnet20")
    assert report.summary(real, "train_error") == f"{report.percent(real, 'train_error')} (1 run)"


def test_final_errors_of_several_seeds_are_their_means_and_steps_follow(seeds):
    errors = report.final_errors({44: seeds[44], 56: seeds[56], 110: seeds[110], 32: None, 20: []}, "test_error")
    assert errors == pytest.approx({44: 10.2, 56: 11.1, 110: 6.61})
    assert report.steps(errors) == pytest.approx([0.9, -4.49])
    assert report.steps_against(errors, "falls") == [(44, 56)]


def test_compare_says_whether_the_gap_is_larger_than_the_spread_between_seeds(seeds):
    c = report.compare(seeds[56], seeds[44], names=("ResNet-56", "ResNet-44"))
    assert c.gap == pytest.approx(0.9) and c.spread == pytest.approx(0.4) and c.larger_than_spread
    assert unwrapped(c) == (
        "ResNet-56 ends 0.90 points above ResNet-44 (means of 3 and 3 runs); seeds of one net differ by "
        "up to 0.40 points: the gap is larger than that"
    )
    assert max(len(line) for line in str(c).splitlines()) <= 96  # a printed line fits the page
    indented = report.wrap(c, "    ").splitlines()
    assert indented[0].startswith("    ResNet-56") and indented[1].startswith("      by up to")
    assert max(len(line) for line in indented) <= 96 and unwrapped("\n".join(indented)) == c.sentence
    close = report.compare(seeds[44][:2], seeds[44][1:], names=("A", "B"))  # 10.0, 10.2 against 10.2, 10.4
    assert close.gap == pytest.approx(-0.2) and close.spread == pytest.approx(0.2)
    assert str(close).startswith("A ends 0.20 points below B (means of 2 and 2 runs)")
    assert close.larger_than_spread is False and "within it, so these runs do not order the two" in str(close)


def test_compare_with_one_run_each_says_the_spread_is_not_measured_yet():
    r56, r44 = runs.find_run("resnet56"), runs.find_run("resnet44")
    c = report.compare(r56, r44, verb="trains", key=report.first_phase)
    gap = report.first_phase(r56) - report.first_phase(r44)
    assert c.spread is None and c.larger_than_spread is None and c.n == (1, 1)
    assert unwrapped(c) == (
        f"ResNet-56 (A) trains {abs(gap):.2f} points {'above' if gap > 0 else 'below'} ResNet-44 (A) (one run each)"
    )
    with pytest.raises(ValueError, match="at least one run"):
        report.compare([], r44)


def test_spread_note_over_several_nets(seeds):
    assert report.spread_note([runs.find_run("resnet20"), None, [runs.find_run("resnet32")]]) == "one run per net"
    groups = [seeds[44], seeds[56], seeds[110][:1]]
    assert report.spread_note(groups) == "seeds of one net differ by up to 0.40 points (2 of 3 nets have 2+ runs)"
    assert unwrapped(report.spread_note(groups, gaps=[0.9, -0.3])).endswith("the smallest gap, 0.30 points, is within it")
    assert unwrapped(report.spread_note(groups, gaps=[0.9])).endswith("0.90 points, is larger than that")


# Table cells and lines the chapters print (issue #15: one place for "not recorded yet" and its kin).


def test_number_formats_a_value_or_says_what_is_missing():
    assert report.number(6.4321, ".2f") == "6.43" and report.number(1234.5, ",.0f") == "1,234"
    assert report.number(None, ".3f") == "not recorded yet"  # a net without a record
    assert report.number(None, ".2f", "-") == "-"  # a number the paper does not print
    assert report.number(0.0, ".1f", "-") == "0.0"  # zero is a value, not a missing one


def test_increase_and_beside_compare_a_cost_with_its_base():
    assert report.increase(272_474, 269_722) == "+1.0 %" and report.increase(90, 100) == "-10.0 %"
    assert report.beside(2_000, 3_920) == ["2,000", "3,920", "1.96x"]
    assert report.beside(21.8e6, 38.0e6, ",.1f", unit=1e6) == ["21.8", "38.0", "1.74x"]


def _packed(path, packed_with):
    """Rewrite a record's provenance as trained alone (``[]``) or packed with ``packed_with``."""
    import json

    record = json.loads(path.read_text(encoding="utf-8"))
    record["provenance"]["fast_path"] = {"packed_runs": 1 + len(packed_with)}
    record["provenance"]["trained_concurrently_with"] = list(packed_with)
    path.write_text(json.dumps(record), encoding="utf-8")


def test_record_ids_and_how_trained_say_it_once_for_the_seeds_of_a_net(tmp_path):
    from fakes import write_seeds

    paths = write_seeds(tmp_path, "resnet56", [0.110, 0.111, 0.112])
    for path in paths:
        _packed(path, [])
    seeds = runs.find_runs("resnet56", directory=tmp_path)
    assert report.record_ids(seeds) == "resnet56-A-paper, seeds 0, 1, 2"
    assert report.record_ids(seeds[1]) == report.record_ids(seeds[1:2]) == "resnet56-A-paper-seed1"
    assert report.how_trained(seeds) == "alone (each of 3 seeds)"
    assert report.how_trained(seeds[0]) == report.how_trained(seeds[:1]) == "alone"
    _packed(paths[1], ["plain56-plain-paper-seed1"])
    seeds = runs.find_runs("resnet56", directory=tmp_path)
    assert report.how_trained(seeds) == "seed 0: alone; seed 1: packed with plain56-plain-paper-seed1; seed 2: alone"
    assert report.record_ids([]) == report.how_trained(None) == "not recorded yet"


def test_shortcut_cost_rows_and_note_sum_the_stages_and_subtract_option_a():
    from resnet_book.analysis import ShortcutCost

    b = ShortcutCost(params=272_474, flops=41_218_688, stages=((0, 0), (576, 147_456), (2_176, 139_264)), projections=2)
    assert report.shortcut_cost_rows({"ResNet-20": b}) == [
        ["ResNet-20 params", "0", "576", "2,176", "2,752"],
        ["ResNet-20 FLOPs", "0.00 M", "0.15 M", "0.14 M", "0.29 M"],
    ]
    a = ShortcutCost(params=21_797_672, flops=3_671_000_000, stages=(), projections=0)
    c = ShortcutCost(params=22_867_000, flops=3_900_000_000, stages=(), projections=16)
    assert report.shortcut_cost_note(c, a) == (
        "ResNet-34 at 224x224 (16 projections): +1.07 M params,\n+0.23 G FLOPs over option A (21.8 M params, 3.67 G)"
    )


def test_seedwise_pairs_the_same_seeds_and_counts_where_the_order_holds(seeds, tmp_path):
    from fakes import write_seeds

    # ResNet-56 against ResNet-44, seed by seed: 11.0-10.0, 11.1-10.2, 11.2-10.4 points
    s = report.seedwise(seeds[56], seeds[44], "test_error", names=("ResNet-56", "ResNet-44"))
    assert s.gaps == pytest.approx((1.0, 0.9, 0.8)) and s.above == 3
    assert s.sentence == "ResNet-56 ends above ResNet-44 in 3 of 3 seeds, by 0.9 points on average (from +0.8 to +1.0)"
    below = report.seedwise(seeds[44], seeds[56], "test_error", names=("ResNet-44", "ResNet-56"))
    assert below.sentence.startswith("ResNet-44 ends below ResNet-56 in 3 of 3 seeds, by 0.9 points")
    # only the seeds both nets have count: ResNet-110's seeds 3 and 4 have no ResNet-44 twin
    assert len(report.seedwise(seeds[110], seeds[44], "test_error").gaps) == 3
    write_seeds(tmp_path / "other", "resnet44", [0.105, 0.101, 0.103])  # +0.5, -0.1, -0.1 against seeds[44]
    mixed = report.seedwise(runs.find_runs("resnet44", directory=tmp_path / "other"), seeds[44], "test_error", names=("a", "b"))
    assert mixed.above == 1 and mixed.sentence.startswith("a ends above b in 1 of 3 seeds, by 0.1 points")
    assert report.seedwise([], seeds[44], names=("a", "b")).sentence == "a against b: not recorded yet"


def test_paper_rows_read_as_the_paper_writes_them_not_as_keys():
    """Chapter 3's Table 3 and chapter 6's Table 4 print these labels, never "resnet34 A"."""
    assert [report.paper_row(k) for k in paper.TABLE3][:5] == [
        "plain-34",
        "ResNet-34 (A)",
        "ResNet-34 (B)",
        "ResNet-34 (C)",
        "ResNet-50",
    ]
    assert report.paper_row("VGG-16") == "VGG-16" and report.paper_row("VGG (ILSVRC'14)") == "VGG (ILSVRC'14)"
    rows = [report.paper_row(k) for k in [*paper.TABLE3, *paper.TABLE4]]
    assert not any(row.startswith("resnet") or row == "plain34" for row in rows), rows


def test_the_spread_hedge_is_said_while_a_net_has_one_run_and_goes_when_seeds_land(seeds):
    """Said once per page instead of in every cell ("1 run", "one run each" point to it); empty once every
    net has two or more seeds."""
    one = report.spread_hedge([seeds[44], seeds[110][:1], None])
    assert one == 'Nets marked "1 run" or "one run each" have one recorded run: the spread between seeds is not measured yet.'
    assert report.spread_hedge([seeds[44], seeds[56], None, []]) == ""
