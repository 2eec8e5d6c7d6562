"""The recipe and trainer: schedule, SGD update, learning, resume, divergence, time limit."""

import math

import pytest
import torch

from resnet_book import checkpoints
from resnet_book import data as datamod
from resnet_book.checkpoints import claim
from resnet_book.estimates import duration_text, seconds_per_iteration
from resnet_book.train import (
    Config,
    Engine,
    Trainer,
    TrainingDiverged,
    amp_choice,
    preset,
    sgd_update,
    trained_runs,
)


@pytest.fixture(scope="module")
def tiny():
    return datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)


def tiny_config(**kw) -> Config:
    settings = dict(model="resnet8", batch_size=16, iterations=12, milestones=(6, 9), eval_every=4, checkpoint_every=4)
    settings.update(kw)
    return Config(**settings)


def test_paper_preset_is_sec_4_2():
    cfg = preset("paper", "resnet56")
    assert (cfg.batch_size, cfg.lr, cfg.milestones, cfg.iterations) == (128, 0.1, (32_000, 48_000), 64_000)
    assert (cfg.momentum, cfg.weight_decay, cfg.warmup_lr) == (0.9, 1e-4, None)
    assert preset("paper", "resnet110").warmup_lr == 0.01
    # the sequel's pre-activation ResNet-110 warms up as ours did, so the two records compare like for like
    assert preset("paper", "preact-resnet110").warmup_lr == 0.01
    assert preset("paper", "plain110").warmup_lr is None and preset("paper", "preact-resnet56").warmup_lr is None


def test_learning_rate_steps_at_milestones():
    cfg = preset("paper")
    assert [cfg.lr_at(i, False) for i in (0, 31_999, 32_000, 47_999, 48_000, 63_999)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    )
    assert preset("paper", "resnet110").lr_at(0, warming_up=True) == 0.01


def test_unknown_preset_and_bad_config_are_refused():
    with pytest.raises(ValueError, match="unknown preset 'fast'.*paper"):
        preset("fast")
    with pytest.raises(ValueError, match="batch_size"):
        Config(batch_size=0)


def test_sgd_update_equals_torch_optim_sgd():
    torch.manual_seed(0)
    w = [torch.randn(5, 3), torch.randn(7)]
    ref = [p.clone().requires_grad_() for p in w]
    opt = torch.optim.SGD(ref, lr=0.1, momentum=0.9, weight_decay=1e-4)
    bufs = [torch.zeros_like(p) for p in w]
    for step in range(3):
        grads = [torch.randn_like(p) for p in w]
        for p, g in zip(ref, grads):
            p.grad = g.clone()
        opt.step()
        sgd_update(w, grads, bufs, torch.tensor(0.1), 0.9, 1e-4)
    for a, b in zip(w, ref):  # the same arithmetic in other ops: a rounding or two apart (float32's default tolerance)
        torch.testing.assert_close(a, b.detach())


def test_training_lowers_the_loss(tiny):
    t = Trainer(tiny_config(iterations=24, milestones=(100,), eval_every=8, lr=0.05), tiny, "cpu").run(progress=False)
    losses = [e["train_loss"] for e in t.history.entries]
    assert losses[-1] < losses[0]
    assert [e["iteration"] for e in t.history.entries] == [8, 16, 24]
    assert all(0 <= e["test_error"] <= 1 and 0 <= e["train_error"] <= 1 for e in t.history.entries)


def test_resume_equals_an_uninterrupted_run(tiny, tmp_path):
    whole = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "a.pt")).run(progress=False)
    # the same run, killed after 4 iterations (its checkpoint is all that survives), then resumed
    first = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "b.pt"))
    first.advance(4)
    first.end_window()
    del first
    resumed = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "b.pt"))
    assert resumed.resumed_from == 4
    resumed.run(progress=False)
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h.entries]  # noqa: E731
    assert strip(whole.history) == strip(resumed.history)


def test_checkpoint_of_another_run_is_refused(tiny, tmp_path):
    Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "c.pt")).run(progress=False)
    with pytest.raises(ValueError, match="different run.*seed"):
        Trainer(tiny_config(seed=1), tiny, "cpu", checkpoint=claim(tmp_path / "c.pt"))
    # every part of the recipe counts, not a hand-kept list of some (a changed schedule never resumes silently)
    for changed in (dict(lr_factor=0.5), dict(eval_every=2), dict(warmup_until_error=0.5), dict(warmup_check_every=7)):
        with pytest.raises(ValueError, match=f"different run \\({next(iter(changed))} differ"):
            Trainer(tiny_config(**changed), tiny, "cpu", checkpoint=claim(tmp_path / "c.pt"))
    # how it is trained is not what it is: other speed switches or checkpoint spacing resume
    again = Trainer(
        tiny_config(checkpoint_every=6),
        tiny,
        "cpu",
        checkpoint=claim(tmp_path / "c.pt"),
        engine=Engine(eval_batch_size=7, cuda_graph=False),
    )
    assert again.resumed_from == 12


def test_a_shorter_schedule_keeps_the_paper_s_shape():
    """``iterations`` scales the whole schedule: lr / 10 at 1/2 and 3/4 of the run, as Sec. 4.2's 32k and 48k
    of 64k, a log point at least every quarter, and the run is no longer the named preset."""
    cfg = preset("quick", "resnet20", iterations=30)
    assert (cfg.milestones, cfg.eval_every, cfg.checkpoint_every, cfg.preset) == ((15, 22), 7, 7, "custom")
    assert [cfg.lr_at(i, False) for i in (14, 15, 22)] == pytest.approx([0.1, 0.01, 0.001])
    assert preset("paper", iterations=6_400).milestones == (3_200, 4_800)
    kept = preset("quick", iterations=30, milestones=(), eval_every=15)  # what is given is kept
    assert (kept.milestones, kept.eval_every) == ((), 15)
    assert preset("quick", iterations=160) == preset("quick")  # the preset's own length: the preset itself


def test_time_limit_stops_with_a_checkpoint_that_resumes(tiny, tmp_path):
    t = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "d.pt")).run(max_seconds=0, progress=False)
    assert not t.done and t.iteration == 4 and (tmp_path / "d.pt").exists()
    again = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "d.pt"))
    assert again.resumed_from == 4 and again.run(progress=False).done


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tiny, tmp_path):
    t = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "e.pt"))
    t.advance(4)
    t.end_window()
    good = torch.load(tmp_path / "e.pt", weights_only=True)
    with torch.no_grad():
        t.model.fc.weight.fill_(math.nan)
    t.advance(4)
    with pytest.raises(TrainingDiverged, match="loss became nan .* between iterations 4 and 8.*last checkpoint.*e.pt, is kept"):
        t.log()
    kept = torch.load(tmp_path / "e.pt", weights_only=True)
    assert kept["iteration"] == 4 and torch.equal(kept["model"]["fc.weight"], good["model"]["fc.weight"])


def test_warmup_ends_once_training_error_is_below_threshold(tiny):
    cfg = tiny_config(warmup_lr=0.01, warmup_until_error=1.01, warmup_check_every=2)  # any error ends it
    t = Trainer(cfg, tiny, "cpu").run(progress=False)
    assert t.history.warmup_end == 2
    # past the warm-up, each entry's rate (its window's last iteration's) is the step decay's: 0.1, 0.01, 0.001
    assert [e["lr"] for e in t.history.entries] == [cfg.lr_at(e["iteration"] - 1, False) for e in t.history.entries]
    cfg = tiny_config(warmup_lr=0.01, warmup_until_error=0.0, warmup_check_every=2)  # never ends
    t = Trainer(cfg, tiny, "cpu").run(progress=False)
    assert t.history.warmup_end is None and all(e["lr"] == 0.01 for e in t.history.entries)


def test_callback_sees_every_history_entry(tiny):
    seen = []
    Trainer(tiny_config(), tiny, "cpu", callback=lambda tr, e: seen.append(e["iteration"])).run(progress=False)
    assert seen == [4, 8, 12]


def test_the_compile_switch_compiles_the_training_forward_only(tiny, monkeypatch):
    """``Engine(compile=True)`` hands the model to ``torch.compile`` and trains through what it returns, while
    evaluation runs the eager model (BN in inference mode). Only the wiring is tested here: compiling takes
    a minute on a CPU, and whether inductor's fused kernels keep the loss curve is the benchmark's question
    (``bench.curve_gaps``: within bf16 noise over 400 iterations on the GPU)."""
    compiled, calls = [], []

    def fake_compile(model):
        compiled.append(model)

        def forward(x):
            calls.append(len(x))
            return model(x)

        return forward

    monkeypatch.setattr(torch, "compile", fake_compile)
    eager = Trainer(tiny_config(iterations=4, eval_every=2), tiny, "cpu").run(progress=False)
    assert compiled == [] and calls == []
    t = Trainer(tiny_config(iterations=4, eval_every=2), tiny, "cpu", engine=Engine(compile=True)).run(progress=False)
    assert compiled == [t.model] and calls == [16] * 4  # every training step, no evaluation batch
    assert t.history.entries == [{**e, "seconds": f["seconds"]} for e, f in zip(eager.history.entries, t.history.entries)]


def test_a_resumed_run_remembers_which_runs_shared_the_gpu(tiny, tmp_path):
    """The record's trained_concurrently_with covers every segment, so its wall time reads right."""
    first = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "f.pt"))
    first.trained_with = ["resnet56-A + plain56-plain"]
    first.advance(4)
    first.end_window()
    assert Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "f.pt")).trained_with == ["resnet56-A + plain56-plain"]


@pytest.mark.parametrize(
    "seconds, text",
    [(40, "40 seconds"), (150, "2 minutes"), (7_199, "120 minutes"), (19_080, "5.3 hours"), (181_440, "2.1 days")],
)
def test_durations_read_as_a_reader_says_them(seconds, text):
    assert duration_text(seconds) == text


def test_one_step_is_timed_on_random_images_of_the_run_s_batch_size():
    cfg = preset("quick", "resnet8", batch_size=16)
    assert 0 < seconds_per_iteration(cfg, "cpu", steps=1) < 30


def test_bf16_only_where_the_gpu_has_it_and_the_reader_is_told_otherwise():
    assert amp_choice(None, cuda=True, bf16=True) == (True, None)  # an H100
    amp, note = amp_choice(None, cuda=True, bf16=False)  # Colab's T4
    assert amp is False and "float32" in note and "bf16" in note
    assert amp_choice(None, cuda=False, bf16=False) == (False, None)  # a CPU trains in float32 silently
    assert amp_choice(True, cuda=True, bf16=False) == (True, None)  # asked for explicitly


def test_a_net_given_as_model_is_the_one_trained(tiny):
    """``Trainer(config, data, model=net)``: the net (a shortcut variant, say) trains with the config's recipe."""
    from resnet_book.models import shortcut_variant

    net = shortcut_variant("resnet8", "scaled")
    before = [p.detach().clone() for p in net.parameters()]
    t = Trainer(tiny_config(), tiny, "cpu", model=net).run(progress=False)
    assert t.model is net and all(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert [e["iteration"] for e in t.history.entries] == [4, 8, 12]
    assert t.label == "resnet8, own net"  # not resnet8-A: that run is the named model's


def test_a_net_given_as_model_is_never_checkpointed_or_packed(tiny, tmp_path):
    """A checkpoint names its run by the config alone: it could carry a named model's weights into the net."""
    from resnet_book.models import get_model

    net = get_model("resnet8")
    Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "named.pt")).run(progress=False)
    with pytest.raises(ValueError, match="not checkpointed"):  # would resume the named model's weights
        Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "named.pt"), model=net)
    with pytest.raises(ValueError, match="not checkpointed"):
        Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "new.pt"), model=net)
    assert not (tmp_path / "new.pt").exists()
    with pytest.raises(ValueError, match="not checkpointed .checkpoint='.*plain.pt'"):  # a path, refused as plainly
        Trainer(tiny_config(), tiny, "cpu", checkpoint=tmp_path / "plain.pt", model=net)
    assert not (tmp_path / "plain.pt.lock").exists()  # refused before it is claimed
    with pytest.raises(ValueError, match="one net trains one run"):
        Trainer([tiny_config(), tiny_config(seed=1)], tiny, "cpu", model=net)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        Trainer(tiny_config(), tiny, "cpu", model="resnet8")


def test_a_trainer_given_a_path_claims_it_and_one_claimed_is_not_checked_again(tiny, tmp_path):
    """A path goes through ``checkpoints.claim`` (a folder is refused, before anything is built); what ``claim``
    handed over is taken as it is: the trainer resumes from it and saves to it."""
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(checkpoints.CheckpointError, match="a folder, not a checkpoint file"):
        Trainer(tiny_config(), tiny, "cpu", checkpoint=tmp_path / "folder.pt")
    Trainer(tiny_config(), tiny, "cpu", checkpoint=tmp_path / "run.pt").run(progress=False)
    resumed = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "run.pt"))
    assert resumed.done and resumed.resumed_from == tiny_config().iterations


def test_the_miniature_is_the_paper_s_design_scaled_down():
    cfg = preset("mini", "plain56")
    # what is scaled: width, image side, data, length (with a linear warm-up); the rest is Sec. 4.2's
    assert (cfg.width, cfg.image_size, cfg.train_per_class, cfg.iterations, cfg.milestones) == (8, 16, 500, 700, (350, 525))
    assert (cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.lr_factor) == (128, 0.1, 0.9, 1e-4, 0.1)
    assert [cfg.lr_at(i, False) for i in (0, 34, 69, 70, 349, 350, 525)] == pytest.approx(
        [0.1 / 70, 0.05, 0.1, 0.1, 0.1, 0.01, 0.001]
    )
    # a shorter miniature keeps its shape, warm-up included
    short = preset("mini", "plain20", iterations=70)
    assert (short.milestones, short.warmup_iterations) == ((35, 52), 7)
    net = cfg.net.build(width=cfg.width)
    assert [s[0].conv1.out_channels for s in net.stages] == [8, 16, 32]
    assert preset("paper").net.build().stages[0][0].conv1.out_channels == 16


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("width", 0, "width .* from 1 to 1024, got 0"),
        ("image_size", 24, "image_size must be one of 32, 16, 8 .* got 24"),
        ("warmup_iterations", 12, "warmup_iterations must be a whole number from 0 to iterations - 1 \\(11\\), got 12"),
    ],
)
def test_an_impossible_miniature_is_refused_by_name(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**{field: value})


def test_images_average_down_and_the_crop_pads_in_proportion(tiny):
    small = datamod.at_size(tiny, 16)
    block = tiny.train_images[0, :, :2, :2].float().mean((1, 2)).round()
    assert small.train_images.shape[1:] == (3, 16, 16) and torch.equal(small.train_images[0, :, 0, 0], block.to(torch.uint8))
    assert small.mean.shape == (3, 16, 16) and datamod.at_size(tiny, 32) is tiny
    assert datamod.pad_for(32) == 4 and datamod.pad_for(16) == 2
    # a crop of the padded image is 16x16, shifted by at most 2 pixels
    plan = datamod.SamplePlan.make(0, len(small.train_labels), 64, pad=2)
    x, _ = datamod.Augmenter(small)(plan, torch.arange(64))
    assert x.shape == (64, 3, 16, 16) and int(plan.dy.max()) <= 4


def test_a_miniature_run_trains_records_its_levers_and_resumes(tiny, tmp_path):
    from resnet_book.runs import make_record

    cfg = tiny_config(width=4, image_size=16, warmup_iterations=3)
    whole = Trainer(cfg, tiny, "cpu", checkpoint=claim(tmp_path / "m.pt")).run(progress=False)
    assert whole.model.stages[2][0].conv1.out_channels == 16
    schedule = make_record(trained_runs(whole)[0])["schedule"]
    assert (schedule["width"], schedule["image_size"], schedule["warmup_iterations"]) == (4, 16, 3)
    # another width is another run: its checkpoint is not resumed into it
    with pytest.raises(ValueError, match="different run \\(width differ"):
        Trainer(tiny_config(width=8, image_size=16, warmup_iterations=3), tiny, "cpu", checkpoint=claim(tmp_path / "m.pt"))


def test_a_checkpoint_from_before_the_miniature_resumes_as_the_paper_s_net(tiny, tmp_path):
    path = tmp_path / "old.pt"
    first = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path))
    first.advance(4)
    first.end_window()
    state = torch.load(path, weights_only=True)
    for cfg in state["configs"]:
        for key in ("width", "image_size", "warmup_iterations"):
            del cfg[key]
    del state["checksum"]  # as written then: format 2, no checksum
    torch.save({**state, "format": "resnet_book.checkpoint/2"}, path)
    assert Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path)).resumed_from == 4
