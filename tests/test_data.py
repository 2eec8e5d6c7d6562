"""CIFAR-10 sources, integrity checks, subsets and the paper's augmentation."""

import hashlib
import http.server
import io
import shutil
import tarfile
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from fakes import write_fake_binary

from resnet_book import data as datamod
from resnet_book.data import Augmenter, DatasetError, SamplePlan, load_cifar10, synthetic_cifar10


def write_fake_jpeg_copy(path, train_per_class=4, test_per_class=2):
    """A small offline copy in the layout of ``cifar10-jpeg.npz`` (see its README): each split's JPEG files
    concatenated, with offsets and labels, stored sorted by class; returns the images as encoded."""
    from torchvision.io import encode_jpeg

    arrays, originals = {"classes": np.array(datamod.CLASSES)}, {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = np.repeat(np.arange(10, dtype=np.uint8), per_class)
        images = synthetic_cifar10(per_class, 1, seed=len(split)).train_images
        blobs = [encode_jpeg(image, quality=75).numpy() for image in images]
        arrays[f"{split}_jpeg"] = np.concatenate(blobs)
        arrays[f"{split}_offsets"] = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
        arrays[f"{split}_labels"] = labels
        originals[split] = images
    np.savez(path, **arrays)
    return originals


def accept_as_the_known_copy(monkeypatch, path):
    """The reader only takes the one offline copy it knows (size and md5): let this file stand in for it."""
    monkeypatch.setattr(datamod, "JPEG_SIZE", path.stat().st_size)
    monkeypatch.setattr(datamod, "JPEG_MD5", datamod._md5(path))


@pytest.fixture
def jpeg_copy(tmp_path, monkeypatch):
    """A small offline copy, accepted as the known file."""
    path = tmp_path / "offline" / datamod.JPEG_NAME
    path.parent.mkdir()
    write_fake_jpeg_copy(path)
    accept_as_the_known_copy(monkeypatch, path)
    return path


@pytest.fixture(autouse=True)
def small_batch_files(monkeypatch):
    """The fake batch files hold 20 records, not CIFAR-10's 10,000."""
    monkeypatch.setattr(datamod, "BATCH_RECORDS", 20)


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("RESNET_BOOK_CIFAR10_JPEG", raising=False)
    monkeypatch.setattr(datamod, "REPO_ROOT", datamod.REPO_ROOT / "nonexistent")  # hide a copy beside the repository


def test_real_cifar10_comes_first(tmp_path, no_env, capsys):
    write_fake_binary(tmp_path / datamod.BINARY_DIR)
    data = load_cifar10(tmp_path, download=False)
    assert data.name == "cifar10" and len(data.train_labels) == 100 and len(data.test_labels) == 20
    assert data.train_images.shape[1:] == (3, 32, 32) and data.train_images.dtype == torch.uint8
    assert "real CIFAR-10" in capsys.readouterr().out


def test_download_is_tried_before_the_offline_copy(tmp_path, no_env, monkeypatch, jpeg_copy):
    tried = []

    def fake_download(data_dir, timeout=20.0):
        tried.append(data_dir)
        write_fake_binary(data_dir / datamod.BINARY_DIR)
        return data_dir / datamod.BINARY_DIR

    monkeypatch.setattr(datamod, "download_cifar10_binary", fake_download)
    monkeypatch.setenv("RESNET_BOOK_CIFAR10_JPEG", str(jpeg_copy))
    assert load_cifar10(tmp_path).name == "cifar10" and tried == [tmp_path]


def test_offline_copy_when_real_cifar10_is_unavailable(tmp_path, no_env, monkeypatch, capsys, jpeg_copy):
    monkeypatch.setattr(datamod, "download_cifar10_binary", lambda d, timeout=20.0: None)
    monkeypatch.setenv("RESNET_BOOK_CIFAR10_JPEG", str(jpeg_copy))
    data = load_cifar10(tmp_path, train_per_class=3, test_per_class=2)
    assert data.name == "cifar10-jpeg[3/2 per class]"
    assert torch.equal(data.train_labels, torch.arange(10).repeat_interleave(3))
    assert len(data.test_labels) == 20
    assert "offline JPEG copy 'cifar10-jpeg'" in capsys.readouterr().out


def test_offline_copy_decodes_to_its_images_in_class_order(tmp_path, no_env, monkeypatch):
    path = tmp_path / datamod.JPEG_NAME
    originals = write_fake_jpeg_copy(path)
    accept_as_the_known_copy(monkeypatch, path)
    data = datamod.read_cifar10_jpeg(path, train_per_class=2)
    assert data.name == "cifar10-jpeg" and data.classes == datamod.CLASSES
    assert torch.equal(data.train_labels, torch.arange(10).repeat_interleave(2))
    keep = torch.arange(40).view(10, 4)[:, :2].flatten()  # the first 2 of each class's 4
    # JPEG blurs the noise but keeps each image's mean colour, which the class sets: right images, right order
    error = (data.train_images.float().mean((2, 3)) - originals["train"][keep].float().mean((2, 3))).abs().max()
    assert error < 3, f"an image's mean colour is {error:.1f} grey levels off the encoded image's"
    assert len(data.test_labels) == 20


def test_offline_copy_is_found_beside_the_repository(tmp_path, no_env, monkeypatch, jpeg_copy):
    """With no environment variable and nothing in the data folder, the copy beside the repository is used."""
    root = tmp_path / "clone" / "repo"
    (root.parent / "shared" / "datasets").mkdir(parents=True)
    jpeg_copy.rename(root.parent / "shared" / "datasets" / datamod.JPEG_NAME)
    monkeypatch.setattr(datamod, "REPO_ROOT", root)
    data = load_cifar10(tmp_path / "empty", download=False)
    assert data.name == "cifar10-jpeg" and len(data.train_labels) == 40 and len(data.test_labels) == 20


def test_pages_are_told_the_source_not_the_machine(tmp_path, no_env, monkeypatch, capsys, jpeg_copy):
    """What ``load_cifar10`` prints ends up on the book's pages: no path, no network error of the builder."""

    def offline(url, timeout=None):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("RESNET_BOOK_CIFAR10_JPEG", str(jpeg_copy))
    data = load_cifar10(tmp_path)
    out = capsys.readouterr().out + repr(data)
    assert "could not be downloaded" in out and "offline JPEG copy" in out and "cifar10-jpeg:" in out
    assert str(tmp_path) not in out and "Errno" not in out and "Name or service" not in out


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


def test_corrupt_offline_copy_is_refused_by_name(tmp_path, no_env, monkeypatch, jpeg_copy):
    bad = tmp_path / "cifar10-jpeg.npz"
    shutil.copy(jpeg_copy, bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 64)
    monkeypatch.setenv("RESNET_BOOK_CIFAR10_JPEG", str(bad))
    with pytest.raises(DatasetError, match="cifar10-jpeg.npz: checksum mismatch"):
        load_cifar10(tmp_path, download=False)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda a: a.pop("test_labels"), "not a readable cifar10-jpeg archive"),
        (lambda a: a.update(train_offsets=a["train_offsets"][::-1].copy()), "offsets do not partition"),
        (lambda a: a["train_jpeg"].__setitem__(slice(2, 200), 7), "does not decode"),
    ],
    ids=["missing key", "bad offsets", "bad jpeg"],
)
def test_a_malformed_copy_with_a_matching_checksum_is_refused_by_name(tmp_path, no_env, monkeypatch, damage, message):
    """Past the checksum, the reader still checks the archive's keys, offsets and images."""
    good = tmp_path / "good.npz"
    write_fake_jpeg_copy(good)
    with np.load(good, allow_pickle=False) as z:
        arrays = {key: z[key] for key in z.files}
    damage(arrays)
    bad = tmp_path / datamod.JPEG_NAME
    np.savez(bad, **arrays)
    accept_as_the_known_copy(monkeypatch, bad)
    with pytest.raises(DatasetError, match=f"{datamod.JPEG_NAME}: .*{message}"):
        datamod.read_cifar10_jpeg(bad)


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
    assert torch.equal(x[0], data.train_images[5].float() / 255 - data.mean)  # the same elementwise ops: exact


# ------------------------------------------------------------------------------------ the real download


def binary_tarball(tmp_path) -> bytes:
    """``cifar-10-binary.tar.gz`` in the real layout (a ``cifar-10-batches-bin/`` folder), small batch files."""
    folder = write_fake_binary(tmp_path / "made" / datamod.BINARY_DIR)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=datamod.BINARY_DIR)
    return buffer.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves one body, announcing ``length`` bytes (more than it sends when the test cuts it short)."""

    body, length = b"", 0

    def do_GET(self):  # noqa: N802 (the base class's name)
        self.send_response(200)
        self.send_header("Content-Length", str(self.length))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve(monkeypatch):
    """``serve(body, length=None)``: CIFAR-10's URL answered by a server on 127.0.0.1 with ``body``."""
    servers = []

    def start(body: bytes, length: int | None = None) -> None:
        handler = type("Handler", (_Handler,), {"body": body, "length": length or len(body)})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        url = f"http://127.0.0.1:{httpd.server_address[1]}/cifar-10-binary.tar.gz"
        monkeypatch.setattr(datamod, "BINARY_URL", url)

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_real_cifar10_is_downloaded_checked_unpacked_and_read(tmp_path, no_env, monkeypatch, serve, capsys):
    tarball = binary_tarball(tmp_path)
    serve(tarball)
    monkeypatch.setattr(datamod, "BINARY_MD5", hashlib.md5(tarball).hexdigest())
    data_dir = tmp_path / "datasets"
    data = load_cifar10(data_dir)
    assert data.name == "cifar10" and len(data.train_labels) == 100 and len(data.test_labels) == 20
    assert "real CIFAR-10" in capsys.readouterr().out
    assert sorted(p.name for p in data_dir.iterdir()) == ["cifar-10-batches-bin", "cifar-10-binary.tar.gz"]


@pytest.mark.parametrize("damage", ["cut short", "corrupt"])
def test_a_bad_download_is_refused_by_name_and_left_nowhere(tmp_path, no_env, monkeypatch, serve, damage):
    tarball = binary_tarball(tmp_path)
    monkeypatch.setattr(datamod, "BINARY_MD5", hashlib.md5(tarball).hexdigest())
    if damage == "cut short":  # the connection drops: fewer bytes than announced
        serve(tarball[: len(tarball) // 2], length=len(tarball))
    else:  # every byte arrives, some of them wrong
        serve(tarball[:100] + bytes(b ^ 0xFF for b in tarball[100:140]) + tarball[140:])
    data_dir = tmp_path / "datasets"
    with pytest.raises(DatasetError, match="cifar-10-binary.tar.gz: the download arrived cut short or corrupt"):
        load_cifar10(data_dir)
    assert list(data_dir.iterdir()) == [], "a bad download must not stay behind as if complete"
