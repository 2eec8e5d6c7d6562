"""CIFAR-10 sources, integrity checks, subsets and the paper's augmentation."""

import shutil

import numpy as np
import pytest
import torch

from resnet_book import data as datamod
from resnet_book.data import Augmenter, DatasetError, SamplePlan, load_cifar10, synthetic_cifar10

SHARED = datamod.REPO_ROOT.parent / "shared" / "datasets" / datamod.JPEG_NAME


def write_fake_binary(folder, per_file=20):
    """A tiny dataset in the authors' binary layout: label byte + 3072 pixel bytes per record."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in datamod.BINARY_TRAIN + [datamod.BINARY_TEST]:
        records = rng.integers(0, 256, (per_file, datamod.RECORD), dtype=np.uint8)
        records[:, 0] = np.arange(per_file) % 10
        records.tofile(folder / name)


@pytest.fixture(autouse=True)
def small_batch_files(monkeypatch):
    """The fake batch files hold 20 records, not CIFAR-10's 10,000."""
    monkeypatch.setattr(datamod, "BATCH_RECORDS", 20)


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("RESNET_BOOK_CIFAR10_JPEG", raising=False)
    monkeypatch.setattr(datamod, "REPO_ROOT", datamod.REPO_ROOT / "nonexistent")  # hide ../shared


def test_real_cifar10_comes_first(tmp_path, no_env, capsys):
    write_fake_binary(tmp_path / datamod.BINARY_DIR)
    data = load_cifar10(tmp_path, download=False)
    assert data.name == "cifar10" and len(data.train_labels) == 100 and len(data.test_labels) == 20
    assert data.train_images.shape[1:] == (3, 32, 32) and data.train_images.dtype == torch.uint8
    assert "real CIFAR-10" in capsys.readouterr().out


def test_download_is_tried_before_the_offline_copy(tmp_path, no_env, monkeypatch):
    tried = []

    def fake_download(data_dir, timeout=20.0):
        tried.append(data_dir)
        write_fake_binary(data_dir / datamod.BINARY_DIR)
        return data_dir / datamod.BINARY_DIR

    monkeypatch.setattr(datamod, "download_cifar10_binary", fake_download)
    monkeypatch.setenv("RESNET_BOOK_CIFAR10_JPEG", str(SHARED))
    assert load_cifar10(tmp_path).name == "cifar10" and tried == [tmp_path]


def test_offline_copy_when_real_cifar10_is_unavailable(tmp_path, no_env, monkeypatch, capsys):
    monkeypatch.setattr(datamod, "download_cifar10_binary", lambda d, timeout=20.0: None)
    monkeypatch.setenv("RESNET_BOOK_CIFAR10_JPEG", str(SHARED))
    data = load_cifar10(tmp_path, train_per_class=3, test_per_class=2)
    assert data.name == "cifar10-jpeg[3/2 per class]"
    assert torch.equal(data.train_labels, torch.arange(10).repeat_interleave(3))
    assert len(data.test_labels) == 20
    assert "offline JPEG copy 'cifar10-jpeg'" in capsys.readouterr().out


def test_no_source_is_a_clear_error(tmp_path, no_env):
    with pytest.raises(DatasetError, match="CIFAR-10 not found.*RESNET_BOOK_CIFAR10_JPEG"):
        load_cifar10(tmp_path, download=False)


def test_truncated_binary_file_is_refused_by_name(tmp_path, no_env):
    folder = tmp_path / datamod.BINARY_DIR
    write_fake_binary(folder)
    with open(folder / "data_batch_3.bin", "r+b") as f:
        f.truncate(datamod.RECORD * 5 + 17)
    with pytest.raises(DatasetError, match="data_batch_3.bin.*truncated or corrupt"):
        load_cifar10(tmp_path, download=False)


def test_corrupt_offline_copy_is_refused_by_name(tmp_path, no_env, monkeypatch):
    bad = tmp_path / "cifar10-jpeg.npz"
    shutil.copy(SHARED, bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 64)
    monkeypatch.setenv("RESNET_BOOK_CIFAR10_JPEG", str(bad))
    with pytest.raises(DatasetError, match="cifar10-jpeg.npz: checksum mismatch"):
        load_cifar10(tmp_path, download=False)


def test_the_shared_offline_copy_is_there():
    """CI needs ../shared/datasets: fail loudly (never skip) if it is missing."""
    assert SHARED.is_file(), f"{SHARED} is missing: the offline CIFAR-10 copy must sit beside the repository"


def test_validation_split_is_45k_5k_shaped():
    data = datamod.validation_split(synthetic_cifar10(train_per_class=100, test_per_class=1))
    assert len(data.train_labels) == 900 and len(data.test_labels) == 100
    assert torch.equal(torch.bincount(data.test_labels), torch.full((10,), 10))


def test_sample_plan_is_a_pure_function_of_the_seed_and_covers_each_epoch():
    a, b, c = SamplePlan.make(1, 50, 120), SamplePlan.make(1, 50, 120), SamplePlan.make(2, 50, 120)
    assert torch.equal(a.index, b.index) and torch.equal(a.flip, b.flip) and not torch.equal(a.index, c.index)
    assert sorted(a.index[:50].tolist()) == list(range(50)) == sorted(a.index[50:100].tolist())
    assert a.dy.min() >= 0 and a.dy.max() <= 8 and a.dx.max() <= 8


def coordinate_images(n=4):
    """Images whose pixels spell their own row, column and image index."""
    rows = torch.arange(32).view(1, 1, 32, 1).expand(n, 1, 32, 32)
    cols = torch.arange(32).view(1, 1, 1, 32).expand(n, 1, 32, 32)
    idx = torch.arange(n).view(n, 1, 1, 1).expand(n, 1, 32, 32) * 50
    return torch.cat([rows + 1, cols + 1, idx + 1], 1).to(torch.uint8)


def test_augmentation_pads_crops_flips_and_keeps_labels():
    images = coordinate_images()
    data = datamod.CIFAR10(images, torch.tensor([3, 1, 4, 1]), images, torch.tensor([3, 1, 4, 1]), "coords", "test")
    data.mean = torch.zeros_like(data.mean)  # read raw values back
    aug = Augmenter(data)
    plan = SamplePlan(
        index=torch.tensor([2, 0]), dy=torch.tensor([0, 8]), dx=torch.tensor([8, 3]), flip=torch.tensor([False, True])
    )
    x, y = aug(plan, torch.tensor([0, 1]))
    raw = (x * 255).round().long()
    assert x.shape == (2, 3, 32, 32) and y.tolist() == [4, 3]  # labels follow their images
    # sample 0: image 2, crop starting 4 pixels above and 4 to the right of the original: top 4 rows padding
    assert (raw[0, :, :4] == 0).all() and (raw[0, :, :, 28:] == 0).all()
    assert raw[0, 0, 4, 0] == 1 and raw[0, 1, 4, 0] == 4 + 1 and raw[0, 2, 4, 0] == 2 * 50 + 1
    # sample 1: image 0, shifted down 4 and left 1, then flipped horizontally
    unflipped = raw[1].flip(-1)
    assert unflipped[0, 0, 1] == 4 + 1 and unflipped[1, 0, 0] == 0  # row 4; column -1 is padding
    assert unflipped[1, 0, 1] == 1 and (raw[1, :, 28:] == 0).all()


def test_augmented_values_are_mean_subtracted():
    data = synthetic_cifar10(train_per_class=4, test_per_class=1)
    aug = Augmenter(data)
    plan = SamplePlan(torch.tensor([5]), torch.tensor([4]), torch.tensor([4]), torch.tensor([False]))
    x, _ = aug(plan, torch.tensor([0]))
    torch.testing.assert_close(x[0], data.train_images[5].float() / 255 - data.mean)
