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


def test_the_readers_own_limit_shortens_a_live_run_and_a_bad_one_is_named(tiny, monkeypatch, capsys):
    monkeypatch.setenv(live.LIMIT_VARIABLE, "0")
    assert live.cpu_limit(None) == 0 and live.cpu_limit(30) == 0
    assert live.run(Trainer(config(), tiny, "cpu"), seconds=None).iteration == 2
    monkeypatch.setenv(live.LIMIT_VARIABLE, "100")
    assert live.cpu_limit(30) == 30 and live.cpu_limit(None) == 100
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(live.LIMIT_VARIABLE, bad)
        with pytest.raises(ValueError, match=f"RESNET_BOOK_LIVE_SECONDS='{bad}': must be a number of seconds >= 0"):
            live.cpu_limit(30)
