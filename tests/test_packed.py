"""Packed runs (several nets of one depth as one grouped network) train exactly like the runs alone.

A pack computes every run's sums in another order than the run alone does (grouped convolutions, one
einsum for the heads), and which order depends on the CPU's kernels (AVX2 or AVX-512) and its threads. In
float32 a rounding of 6e-8 after a few SGD steps at lr 0.1 on these tiny nets has grown to 3e-7..2e-4,
varying with the machine: too close to what a bug would change to tell them apart. So these tests compare
in float64 (``torch.set_default_dtype``, which the models, the data and the trainer follow): its rounding
is 1.1e-16, the same growth leaves it below 1e-12 (measured: 9e-16 at most), and ``EXACT`` = 1e-9 keeps three orders
of margin on any kernel while a real fault (a wrong batch, seed, weight or gradient) moves a loss by more
than 1e-2 (float32 and float64 runs of one seed already end 0.12 apart after four steps).
"""

import pytest
import torch

from resnet_book import data as datamod
from resnet_book.checkpoints import claim
from resnet_book.models import get_model
from resnet_book.packed import PackedResNet
from resnet_book.train import Config, Trainer, trained_runs

RUNS = [("plain8", None), ("resnet8", "A"), ("resnet8", "B"), ("resnet8", "C")]
EXACT = dict(atol=1e-9, rtol=1e-9)  # float64: see the module's docstring
pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


def alone(seed: int = 0) -> list:
    models = []
    for name, shortcut in RUNS:
        torch.manual_seed(seed)
        models.append(get_model(name, shortcut=shortcut))
    return models


@pytest.mark.parametrize("training", [True, False])
def test_a_pack_computes_each_runs_own_output(training):
    models = alone()
    pack = PackedResNet(models).train(training)
    x = torch.randn(8, 3, 32, 32)
    out = pack(x)
    assert out.shape == (8, len(RUNS), 10) and out.dtype == torch.float64
    for g, m in enumerate(models):
        torch.testing.assert_close(out[:, g], m.train(training)(x), **EXACT)


def test_unpack_gives_back_each_run_with_its_shortcut():
    models = alone()
    pack = PackedResNet(models)
    for g, m in enumerate(models):
        back = pack.unpack(g)
        assert back.shortcut_option == RUNS[g][1]
        for (k, a), b in zip(back.state_dict().items(), m.state_dict().values()):
            assert torch.equal(a, b), k


def test_a_pack_needs_one_depth():
    with pytest.raises(ValueError, match="one depth"):
        PackedResNet([get_model("resnet8"), get_model("resnet14")])
    with pytest.raises(ValueError, match="share everything but model, shortcut, seed; lr differ"):
        Trainer([Config(model="resnet8"), Config(model="plain8", lr=0.2)], datamod.synthetic_cifar10(2, 1), "cpu")
    with pytest.raises(ValueError, match="each run once; got resnet8-A-seed1, resnet8-A-seed1"):
        Trainer(
            [Config(model="resnet8", seed=1), Config(model="resnet8", shortcut="A", seed=1)],
            datamod.synthetic_cifar10(2, 1),
            "cpu",
        )
    with pytest.raises(ValueError, match="warms up"):
        Trainer(
            [Config(model="resnet8", warmup_lr=0.01), Config(model="plain8", warmup_lr=0.01)],
            datamod.synthetic_cifar10(2, 1),
            "cpu",
        )


def assert_trains_like_alone(configs: list[Config], pack: Trainer, data: datamod.CIFAR10) -> None:
    for cfg, member in zip(configs, trained_runs(pack)):
        single = Trainer(cfg, data, "cpu").run(progress=False)
        assert member.model.shortcut_option == single.model.shortcut_option
        for a, b in zip(single.history.entries, member.history.entries):
            assert a["iteration"] == b["iteration"]
            for key in ("train_error", "test_error"):  # counts of wrong answers: equal
                assert a[key] == b[key], (cfg.model, cfg.shortcut, key)
            for key in ("train_loss", "test_loss"):
                assert a[key] == pytest.approx(b[key], abs=EXACT["atol"], rel=EXACT["rtol"]), (cfg.model, cfg.shortcut, key)
        for (k, a), b in zip(single.model.state_dict().items(), member.model.state_dict().values()):
            torch.testing.assert_close(a, b, **EXACT, msg=k)


SETTINGS = dict(batch_size=8, iterations=4, milestones=(2,), eval_every=2, checkpoint_every=2)  # a decay, a resume


@pytest.mark.slow
def test_packed_training_equals_training_each_run_alone(tmp_path):
    """Same seed, same batches, same updates: every run's history and weights match its run alone."""
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    configs = [Config(model=m, shortcut=s, **SETTINGS) for m, s in RUNS]
    pack = Trainer(configs, data, "cpu", checkpoint=claim(tmp_path / "pack.pt")).run(progress=False)
    assert pack.done and (tmp_path / "pack.pt").exists()
    assert not pack.own_inputs and pack.model.stem_conv.groups == 1  # one batch, read once by the stem
    assert_trains_like_alone(configs, pack, data)
    # resuming the pack from its checkpoint needs the same runs
    with pytest.raises(ValueError, match="3 packed runs, not 4|4 packed runs, not 3"):
        Trainer(configs[:3], data, "cpu", checkpoint=claim(tmp_path / "pack.pt"))


@pytest.mark.slow
def test_seeds_packed_each_train_like_that_seed_alone(tmp_path):
    """Issue #13: repeats of one net (other seeds) packed: each run has its own initial weights and its own
    mini-batches, and ends exactly as the same seed trained alone; a checkpoint resumes the pack."""
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    configs = [Config(model="resnet8", seed=s, **SETTINGS) for s in (0, 1, 2)] + [Config(model="plain8", seed=1, **SETTINGS)]
    first = Trainer(configs, data, "cpu", checkpoint=claim(tmp_path / "seeds.pt"))
    assert first.own_inputs and first.model.stem_conv.groups == 4
    assert "each on its own images" in repr(first.model)
    first.advance(2)
    first.end_window()  # a log point: checkpoint at iteration 2
    pack = Trainer(configs, data, "cpu", checkpoint=claim(tmp_path / "seeds.pt")).run(progress=False)
    assert pack.resumed_from == 2 and pack.done
    assert_trains_like_alone(configs, pack, data)
    histories = [[e["train_loss"] for e in h.entries] for h in pack.histories]
    assert histories[0] != histories[1]  # another seed: another run, not a copy
    member = trained_runs(pack)[1]
    assert member.trained_with[:3] == ["resnet8-A-seed0", "resnet8-A-seed2", "plain8-plain-seed1"]


def test_a_pack_refuses_the_sequel_s_shortcut_variants():
    """A pack adds the identity or a projection per run (``models.shortcut_kind``); a scaled or gated
    shortcut is neither, and would be trained as a plain identity if it were packed."""
    from resnet_book.models import shortcut_kind, shortcut_variant
    from resnet_book.packed import PackedBlock

    scaled, gated = (shortcut_variant("resnet8", v).stages[0][0] for v in ("scaled", "gated"))
    assert (shortcut_kind(scaled), shortcut_kind(gated)) == ("scaled", "gated")
    for block in (scaled, gated):
        with pytest.raises(ValueError, match="a pack holds the paper's shortcuts"):
            PackedBlock([block, block])
