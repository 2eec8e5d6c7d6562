"""A live cell's run stops cleanly at its safety limit on a CPU and says so; otherwise it runs to its end."""

from pathlib import Path

import pytest
import yaml

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


def test_one_helper_decides_every_chapter_s_live_run(monkeypatch):
    mini = live.config("plain56", device="cpu")
    assert mini.preset == "mini" and (mini.width, mini.image_size, mini.iterations) == (8, 16, 700)
    assert live.config("resnet20", shortcut="C", device="cpu").net.shortcut == "C"
    gpu = live.config("plain56", device="cuda")
    assert gpu.preset == "colab" and (gpu.width, gpu.image_size, gpu.train_per_class) == (16, 32, None)
    monkeypatch.setattr(live.torch.cuda, "is_available", lambda: False)
    assert live.preset_name() == "mini"
    assert live.describe(mini) == (
        "700 iterations of 128 images from 5,000 training images, learning rate 0.1 divided by 10 at 350 and "
        "525, after a 70-iteration linear warm-up; 8, 16 and 32 filters, 16x16 images"
    )
    assert live.describe(gpu).startswith("8,000 iterations of 128 images from all 50,000 training images")
    assert "filters" not in live.describe(gpu)


def test_a_live_cell_ends_with_its_iterations_and_seconds(tiny):
    done = {"a": live.run(Trainer(config(), tiny, "cpu"), seconds=None), "b": live.run(Trainer(config(), tiny, "cpu"), seconds=0)}
    text = live.timing(done)
    assert text.startswith("a, b: 2 to 8 iterations each in ") and text.endswith(" s")
    assert live.timing({"a": done["a"]}).startswith("a: 8 iterations in ")


def test_a_live_cell_shares_one_limit_among_its_nets(monkeypatch):
    """The build gives a cell 300 s however many nets it trains: the nets share ``live.SECONDS``, each what is
    left over the nets still to train (a net that ends early leaves its time to the next; one that overruns
    its share to its log point takes it from the next)."""
    clock, given = [0.0], []

    def fake_run(trainer, seconds):
        given.append(seconds)
        clock[0] += trainer  # here a "trainer" is the seconds the run takes

    monkeypatch.setattr(live, "run", fake_run)
    monkeypatch.setattr(live.time, "perf_counter", lambda: clock[0])
    cell = live.Cell(3, seconds=90)
    for took in (10, 70, 30):  # the second overruns its 40 s to a log point
        cell.run(took)
    assert given == [30, 40, 10] and cell.left == -20
    with pytest.raises(ValueError, match="given 3 runs and has trained them all"):
        cell.run(1)
    assert live.Cell(2, seconds=0).run(0) == 0 and given[-1] == 0
    # a whole cell, with a run's overrun to its next log point, at most half the time after which the build gives up
    timeout = yaml.safe_load((Path(__file__).parents[1] / "_config.yml").read_text())["execute"]["timeout"]
    assert live.SECONDS <= timeout / 2
    with pytest.raises(ValueError, match="at least one net"):
        live.Cell(0)
