"""A live cell's run stops cleanly at its safety limit on a CPU and says so; otherwise it runs to its end."""

import pytest

from resnet_book import data as datamod
from resnet_book import live
from resnet_book.train import Config, Trainer


@pytest.fixture(scope="module")
def tiny():
    return datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)


def config() -> Config:
    return Config(model="resnet8", batch_size=16, iterations=8, milestones=(4,), eval_every=2, checkpoint_every=2)


def test_a_live_run_without_a_limit_reaches_its_end_silently(tiny, capsys):
    t = live.run(Trainer(config(), tiny, "cpu"), seconds=None)
    assert t.done and t.iteration == 8 and capsys.readouterr().out == ""
    assert live.iterations_text([t]) == "8"


def test_a_live_run_past_its_limit_stops_at_a_log_point_and_says_so(tiny, capsys):
    t = live.run(Trainer(config(), tiny, "cpu"), seconds=0)  # past the limit at the first log point
    assert not t.done and t.iteration == 2 and [e["iteration"] for e in t.history.entries] == [2]
    said = capsys.readouterr().out
    assert said.startswith("resnet8-A: stopped at iteration 2 of 8 after") and said.count("\n") == 1
    assert live.iterations_text([t, live.run(Trainer(config(), tiny, "cpu"), seconds=None)]) == "2 to 8"
