"""Sweeps: packs of runs, the order of jobs, the pool that trains them together, the plan of GPU time."""

import pytest

from resnet_book import data as datamod
from resnet_book.benchmarks import load_benchmarks
from resnet_book.checkpoints import claim
from resnet_book.estimates import estimate_seconds, images_per_second
from resnet_book.sweeps import SWEEPS, job_cost, packs, plan, run_pool
from resnet_book.train import Config, Trainer


def test_sweep_packs_runs_of_one_depth_and_leaves_warm_up_runs_alone():
    jobs = packs(SWEEPS["all"], 4)
    assert jobs[0] == [("resnet20", "A"), ("plain20", None), ("resnet20", "B"), ("resnet20", "C")]
    assert [("resnet56", "A"), ("plain56", None), ("resnet56", "B"), ("resnet56", "C")] in jobs
    assert jobs[-1] == [("resnet110", "A")]  # its warm-up ends on its own error: never packed
    assert sorted(run for job in jobs for run in job) == sorted(SWEEPS["all"])
    assert packs(SWEEPS["all"], 1) == [[run] for run in SWEEPS["all"]]
    seeds = [(m, s, seed) for seed in (0, 1, 2) for m, s in SWEEPS["fig6-resnet"]]
    jobs = packs(seeds, 3)
    assert [("resnet20", "A", 0), ("resnet20", "A", 1), ("resnet20", "A", 2)] in jobs  # the repeats of a net
    assert [[("resnet110", "A", seed)] for seed in (0, 1, 2)] == [j for j in jobs if j[0][0] == "resnet110"]
    # the sequel's nets are not of the basic blocks a pack is made of: each trains alone
    assert packs([("preact-resnet56", "A"), ("resnet56", "A"), ("preact-resnet56", "B")], 4) == [
        [("preact-resnet56", "A")],
        [("resnet56", "A")],
        [("preact-resnet56", "B")],
    ]


def test_the_sweep_starts_the_longest_job_first_counting_what_packing_saves():
    jobs = sorted(
        packs([("resnet56", "A"), ("plain56", None), ("resnet56", "B"), ("resnet56", "C"), ("resnet110", "A")], 2),
        key=job_cost,
        reverse=True,
    )
    assert jobs == [[("resnet110", "A")], [("resnet56", "A"), ("plain56", None)], [("resnet56", "B"), ("resnet56", "C")]]
    assert job_cost([("resnet56", "A")] * 4) > job_cost([("resnet110", "A")]) > job_cost([("resnet56", "A")] * 2)


def test_runs_trained_together_log_as_runs_trained_alone():
    """Runs in one pool (each at its own pace) log as training each alone would."""
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    configs = [
        Config(model="resnet8", batch_size=16, iterations=8, milestones=(4,), eval_every=2),
        Config(model="plain14", batch_size=16, iterations=4, milestones=(2,), eval_every=2),
    ]
    together = [Trainer(c, data, "cpu") for c in configs]
    assert run_pool([lambda t=t: t for t in together], len(together), None) == 2
    for cfg, t in zip(configs, together):
        alone = Trainer(cfg, data, "cpu").run(progress=False)
        strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h.entries]  # noqa: E731
        assert t.done and strip(t.history) == strip(alone.history)
        assert t.trained_with == [o.label for o in together if o is not t]


def test_a_pool_of_one_slot_runs_jobs_one_after_another_and_starts_none_after_its_time_limit(tmp_path):
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)

    def make(model):  # a sweep's job: starts its trainer when the pool runs it
        config = Config(model=model, batch_size=16, iterations=6, milestones=(3,), eval_every=2, checkpoint_every=2)
        return lambda: Trainer(config, data, "cpu", checkpoint=claim(tmp_path / f"{model}.pt"))

    done = []
    assert run_pool([make("resnet8"), make("plain8")], 1, None, done.append) == 2
    assert [t.config.model for t in done] == ["resnet8", "plain8"] and all(t.trained_with == [] for t in done)
    (tmp_path / "resnet8.pt").unlink()
    assert run_pool([make("resnet8"), make("plain8")], 1, 0, done.append) == 0  # time is up: nothing starts
    assert not (tmp_path / "resnet8.pt").exists() and len(done) == 2


def test_the_plan_reads_the_measured_speed_and_says_which_jobs_fit_a_budget():
    """Issue #13: the queue is planned from measured throughput before GPU time is spent."""
    (h100,) = [r for r in load_benchmarks() if r["gpu"] == "NVIDIA H100 80GB HBM3"]
    rates = images_per_second(h100)
    assert set(rates) == {20, 56, 110} and set(rates[56]) == {1, 2, 4}
    one_56 = estimate_seconds([("resnet56", "A")], rates, 64_000)
    assert one_56 == pytest.approx(64_000 * 128 / h100["models"]["resnet56"]["ours_img_s"])  # measured: as is
    three = estimate_seconds([("resnet56", "A", s) for s in (0, 1, 2)], rates, 64_000)
    two, four = (estimate_seconds([("resnet56", "A")] * k, rates, 64_000) for k in (2, 4))
    assert two < three < four  # a pack of 3 between the measured packs of 2 and 4
    assert estimate_seconds([("resnet20", "A")], rates, 64_000) < estimate_seconds([("resnet32", "A")], rates, 64_000) < one_56
    jobs = [[("resnet110", "A", 1)], [("resnet56", "A", s) for s in (1, 2, 3, 4)], [("resnet20", "A", 1)]]
    rows = plan(jobs, rates, 64_000, budget_minutes=25)
    assert [r["sitting"] for r in rows] == [1, 2, 2] and all(r["fits"] for r in rows)
    assert not plan([[("resnet110", "A", 1)]], rates, 256_000, 25)[0]["fits"]  # 4x the schedule: over the budget
    assert [r["sitting"] for r in plan(jobs, rates, 64_000)] == [1, 1, 1]  # no budget: one sitting
