"""A run's final weights kept beside its record (``resnet_book.weights``), and the loss surface that reads
them (``analysis.loss_surface``, chapter 2)."""

from __future__ import annotations

import pytest
import torch

import resnet_book.__main__ as cli
from resnet_book import data as datamod
from resnet_book import weights
from resnet_book.analysis import filter_normalized_direction, loss_surface
from resnet_book.models import get_model
from resnet_book.runs import load_run


@pytest.fixture(scope="module")
def tiny():
    return datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)


@pytest.fixture
def kept(monkeypatch, tiny, tmp_path):
    """A tiny run trained by the command line with --keep-weights: (its record, the weights folder)."""
    monkeypatch.setattr(datamod, "load_cifar10", lambda **kw: tiny)
    args = ["--preset", "quick", "--iterations", "4", "--device", "cpu", "--out", str(tmp_path / "runs")]
    args += ["--checkpoint-dir", str(tmp_path / "ckpt"), "--keep-weights", str(tmp_path / "weights")]
    assert cli.main(["train", "resnet8", *args]) == 0
    return load_run(tmp_path / "runs" / "resnet8-A-custom-seed0.json"), tmp_path / "weights"


def test_kept_weights_rebuild_the_net_that_ended_the_run(kept, tiny):
    run, folder = kept
    model = weights.trained_model(run, folder)
    images = tiny.normalize(tiny.test_images)
    with torch.no_grad():
        errors = (model(images).argmax(1) != tiny.test_labels).float().mean().item()
    # float16 weights round each weight by at most 2^-11 of itself: on 50 test images the error may move
    # by a prediction or two, not more
    assert abs(errors - run.final["test_error"]) <= 2 / len(tiny.test_labels)
    assert all(t.dtype != torch.float16 for t in weights.kept_state(run, folder).values())


def test_a_flipped_bit_or_another_run_s_record_is_refused_naming_the_file(kept, tmp_path):
    run, folder = kept
    path = folder / f"{run.id}.pt"
    payload = torch.load(path, weights_only=True)
    name = next(n for n, t in payload["state"].items() if t.is_floating_point())
    payload["state"][name].view(torch.int16).view(-1)[0] ^= 1  # one bit of one weight
    torch.save(payload, path)
    with pytest.raises(weights.WeightsError, match=f"{path}: its tensors fail their checksum"):
        weights.kept_state(run, folder)

    run.record["final"]["test_error"] += 0.02  # the record of another run under the same id
    payload = torch.load(path, weights_only=True)
    payload["state"][name].view(torch.int16).view(-1)[0] ^= 1  # the bit back: the file is whole again
    torch.save(payload, path)
    with pytest.raises(weights.WeightsError, match="end another run than the record"):
        weights.kept_state(run, folder)


def test_missing_or_foreign_weights_are_named(kept, tmp_path):
    run, folder = kept
    with pytest.raises(weights.WeightsError, match="no weights kept for resnet8-A-custom-seed0"):
        weights.kept_state(run, tmp_path / "elsewhere")
    (folder / f"{run.id}.pt").write_bytes(b"not a torch file")
    with pytest.raises(weights.WeightsError, match="not a readable weights file"):
        weights.kept_state(run, folder)


def test_the_surface_is_centred_on_the_trained_net_and_leaves_its_weights_unchanged():
    torch.manual_seed(0)
    model = get_model("resnet8", width=4)
    images, labels = torch.randn(8, 3, 16, 16), torch.arange(8) % 10
    before = {n: p.clone() for n, p in model.state_dict().items()}
    surface = loss_surface(model.eval(), images, labels, steps=3, span=0.5)
    with torch.no_grad():
        centre = torch.nn.functional.cross_entropy(model(images), labels).item()
    assert surface.coords == [-0.5, 0.0, 0.5] and surface.centre == centre
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())
    assert len({round(v, 6) for row in surface.loss for v in row}) > 1  # the directions move the loss
    with pytest.raises(ValueError, match="an odd number"):
        loss_surface(model, images, labels, steps=4)


def test_a_direction_has_each_filter_s_norm_and_leaves_bn_alone():
    model = get_model("resnet8", width=4)
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    for name, w in model.named_parameters():
        if w.dim() == 1:
            assert not direction[name].any(), name
        else:
            norms = torch.linalg.vector_norm(direction[name], dim=tuple(range(1, w.dim())))
            torch.testing.assert_close(norms, torch.linalg.vector_norm(w.detach(), dim=tuple(range(1, w.dim()))))


def test_every_kept_weights_file_matches_its_committed_record():
    kept = sorted(weights.WEIGHTS_DIR.glob("*.pt"))
    assert {p.stem for p in kept} >= {"plain56-plain-mini-seed0", "resnet56-A-mini-seed0"}  # chapter 2's surface
    for path in kept:
        state = weights.kept_state(path.stem)  # checksum and the record's final errors checked
        assert state and all(t.dtype in (torch.float32, torch.int64) for t in state.values()), path.name
