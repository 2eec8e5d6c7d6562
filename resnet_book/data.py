"""CIFAR-10 as the paper uses it (Sec. 4.2), held as one uint8 tensor and augmented with batched ops.

Augmentation (Sec. 4.2): "4 pixels are padded on each side, and a 32x32 crop is randomly sampled from the
padded image or its horizontal flip", after per-pixel mean subtraction (so the padding is the mean image,
as in the authors' Torch code). Which image, crop and flip each training sample gets is drawn up front by
``SamplePlan`` from the seed alone: the same seed gives the same data stream on CPU and GPU, in the eager
and the CUDA-graph paths, and across an interrupted and resumed run.

Sources, in this order (``load_cifar10`` says which one it used):

1. Real CIFAR-10, the binary version of the dataset authors (``cifar-10-batches-bin``) in the data folder,
   downloaded there with torchvision's download utility (md5-checked) when the machine is online, as in
   Colab. The binary version is read as raw bytes: the Python version is a pickle, and this project loads
   no pickle it did not make.
2. The offline JPEG copy ``cifar10-jpeg.npz`` (quality 75, *not* bit-identical to CIFAR-10, recorded as
   dataset ``cifar10-jpeg``): the path in ``$RESNET_BOOK_CIFAR10_JPEG``, else ``<data folder>/cifar10-jpeg.npz``,
   else ``../shared/datasets/cifar10-jpeg.npz`` beside the repository.
3. Otherwise a ``DatasetError`` that says how to get the data.

``synthetic_cifar10`` makes random images for unit tests only; no loader falls back to it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tarfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .provenance import REPO_ROOT

PAD = 4  # Sec. 4.2: 4 pixels padded on each side
SIZE = 32
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


@dataclass
class CIFAR10:
    """Train and test splits as uint8 ``(N, 3, 32, 32)`` images and int64 labels, on one device."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    name: str  # "cifar10", "cifar10-jpeg", "cifar10-jpeg[500/class]", "synthetic", ...
    source: str  # the file or folder it came from
    classes: tuple[str, ...] = CLASSES
    mean: torch.Tensor = field(init=False)  # per-pixel mean of the training images, (3, 32, 32) in [0, 1]

    def __post_init__(self) -> None:
        # in the default dtype (float32): tests that compare two exact computations set float64
        self.mean = self.train_images.to(torch.get_default_dtype()).mean(0) / 255

    @property
    def device(self) -> torch.device:
        return self.train_images.device

    def to(self, device: str | torch.device) -> "CIFAR10":
        """The same data on ``device``; itself when it is there already (no copy, no new mean)."""
        target = torch.device(device)
        if target.type == self.device.type and target.index in (None, self.device.index):
            return self
        return replace(
            self,
            train_images=self.train_images.to(device),
            train_labels=self.train_labels.to(device),
            test_images=self.test_images.to(device),
            test_labels=self.test_labels.to(device),
        )

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> float, per-pixel mean subtracted (Sec. 4.2), no augmentation (test view)."""
        return images.to(self.mean.dtype) / 255 - self.mean

    def __repr__(self) -> str:  # shown on the book's pages: the data set by name, not this machine's path
        return f"CIFAR10({self.name}: {len(self.train_labels)} train, {len(self.test_labels)} test, on {self.device})"


# ---------------------------------------------------------------------------------------- augmentation


@dataclass
class SamplePlan:
    """Which training image, crop offset and flip each sample of a run gets, from the seed alone.

    Epochs are concatenated: sample ``p`` of the run is image ``perm_e[p % n]`` of epoch ``e = p // n``,
    so every batch has exactly ``batch_size`` images and no image is dropped at an epoch's end.
    """

    index: torch.Tensor  # int64 (total,)
    dy: torch.Tensor  # int64 (total,), crop offset 0..8 in the padded image
    dx: torch.Tensor
    flip: torch.Tensor  # bool (total,)

    @classmethod
    def make(cls, seed: int, n_train: int, total: int, device: str | torch.device = "cpu", pad: int = PAD) -> "SamplePlan":
        g = torch.Generator().manual_seed(seed)
        epochs = -(-total // n_train)
        index = torch.cat([torch.randperm(n_train, generator=g) for _ in range(epochs)])[:total]
        offsets = torch.randint(0, 2 * pad + 1, (2, total), generator=g)
        flip = torch.randint(0, 2, (total,), generator=g).bool()
        return cls(index.to(device), offsets[0].to(device), offsets[1].to(device), flip.to(device))

    def __len__(self) -> int:
        return len(self.index)


def sample_plans(seeds: list[int], n_train: int, total: int, device: torch.device, size: int = SIZE) -> list[SamplePlan]:
    """A ``SamplePlan`` for each of ``seeds``, in their order, for images of ``size`` pixels a side (the crop's
    padding scaled with it, ``pad_for``): one plan per seed, shared by the runs of that seed."""
    plans = {seed: SamplePlan.make(seed, n_train, total, device, pad_for(size)) for seed in dict.fromkeys(seeds)}
    return [plans[seed] for seed in seeds]


class Augmenter:
    """Turns sample positions of a ``SamplePlan`` into a normalized, padded-cropped-flipped batch.

    All batched tensor ops (one gather), so the same code runs on CPU tensors and inside a CUDA graph.
    """

    def __init__(self, data: CIFAR10) -> None:
        self.size = size = data.train_images.shape[-1]  # 32, or a miniature's smaller side
        pad = pad_for(size)
        self.images = torch.nn.functional.pad(data.train_images, (pad,) * 4)  # uint8 (N, 3, 40, 40)
        self.mean = torch.nn.functional.pad(data.mean, (pad,) * 4)  # zeros outside the image
        self.labels = data.train_labels
        device = data.device
        self.ar = torch.arange(size, device=device)
        self.channels = torch.arange(3, device=device)[None, :, None, None]

    def __call__(self, plan: SamplePlan, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids = plan.index[positions]
        rows = plan.dy[positions, None] + self.ar  # (B, 32)
        cols = plan.dx[positions, None] + torch.where(plan.flip[positions, None], self.size - 1 - self.ar, self.ar)
        r, c = rows[:, None, :, None], cols[:, None, None, :]
        x = self.images[ids[:, None, None, None], self.channels, r, c].to(self.mean.dtype) / 255
        x = x - self.mean[self.channels, r, c]
        return x, self.labels[ids]


def pad_for(size: int) -> int:
    """Sec. 4.2's 4-pixel padding of a 32-pixel image, scaled with the image (2 pixels at 16)."""
    return max(1, PAD * size // SIZE)


# --------------------------------------------------------------------------------------------- sources

BINARY_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
BINARY_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
BINARY_DIR = "cifar-10-batches-bin"
BINARY_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
BINARY_TEST = "test_batch.bin"
RECORD = 1 + 3 * SIZE * SIZE  # one label byte, then 3072 pixel bytes (R, G, B planes)
BATCH_RECORDS = 10_000  # images in each of the six batch files (tests set fewer for their small files)
JPEG_NAME = "cifar10-jpeg.npz"
JPEG_MD5 = "72a2e06cfc97c2d6236299973d30f714"  # the one offline copy this project knows (shared/datasets)
JPEG_SIZE = 55_793_123
JPEG_KEYS = ("classes", "train_jpeg", "train_offsets", "train_labels", "test_jpeg", "test_offsets", "test_labels")

log = logging.getLogger(__name__)


class DatasetError(RuntimeError):
    """A dataset is missing, corrupt or of the wrong shape; the message names the file."""


def default_data_dir() -> Path:
    """``$RESNET_BOOK_DATA_DIR``, else ``data/datasets`` of the repository checkout, else ``~/.cache``."""
    if env := os.environ.get("RESNET_BOOK_DATA_DIR"):
        return Path(env)
    if (REPO_ROOT / "data").is_dir() and (REPO_ROOT / "resnet_book").is_dir():
        return REPO_ROOT / "data" / "datasets"
    return Path.home() / ".cache" / "resnet_book" / "datasets"


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: exactly ``BATCH_RECORDS`` records, so a file cut at a record boundary is refused too."""
    again = f"delete the folder {path.parent} to download it again"
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "is missing"
        raise DatasetError(f"{path}: the CIFAR-10 batch file {problem}; {again}")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size != BATCH_RECORDS * RECORD:
        raise DatasetError(
            f"{path}: {raw.size:,} bytes, not {BATCH_RECORDS:,} CIFAR-10 records of {RECORD} bytes "
            f"({BATCH_RECORDS * RECORD:,} bytes); the file is truncated or corrupt: {again}"
        )
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        raise DatasetError(f"{path}: label {labels.max()} out of range 0-9; the file is corrupt")
    return records[:, 1:].reshape(-1, 3, SIZE, SIZE), labels


def read_cifar10_binary(folder: Path) -> CIFAR10:
    """Read the authors' binary CIFAR-10 (``cifar-10-batches-bin``): raw bytes, no pickle."""
    parts = [_read_binary_batch(folder / name) for name in BINARY_TRAIN]
    test_x, test_y = _read_binary_batch(folder / BINARY_TEST)
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    return CIFAR10(
        torch.from_numpy(train_x),
        torch.from_numpy(train_y).long(),
        torch.from_numpy(test_x),
        torch.from_numpy(test_y).long(),
        name="cifar10",
        source=str(folder),
    )


def download_cifar10_binary(data_dir: Path, timeout: float = 20.0) -> Path | None:
    """Download the binary CIFAR-10 (``BINARY_URL``) into ``data_dir``, check it and unpack it.

    Returns the unpacked folder, or None when the machine is offline (the loader then falls back to the
    offline copy). A download that arrives cut short or corrupt (length or md5 wrong) raises
    ``DatasetError`` and is deleted; the archive is unpacked into a temporary folder that is renamed into
    place only when complete, so nothing half-done is ever taken for CIFAR-10.
    """
    import shutil
    import tempfile
    import urllib.error
    import urllib.request

    from tqdm.auto import tqdm

    url, archive = BINARY_URL, data_dir / BINARY_URL.rsplit("/", 1)[1]
    partial = archive.with_name(archive.name + ".partial")
    digest, received = hashlib.md5(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            expected = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=expected, unit="B", unit_scale=True, desc="CIFAR-10 download", leave=False) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as err:  # no network, proxy, DNS, timeout: fall back
        partial.unlink(missing_ok=True)
        # The reason (a DNS or proxy error of this machine) goes to the log, not to a reader's page.
        log.info("CIFAR-10 download from %s failed: %s", url, getattr(err, "reason", err))
        print("CIFAR-10: real CIFAR-10 is not here and could not be downloaded")
        return None
    if (expected is not None and received != expected) or digest.hexdigest() != BINARY_MD5:
        partial.unlink(missing_ok=True)
        raise DatasetError(
            f"{url}: the download arrived cut short or corrupt ({received:,} bytes"
            + (f" of {expected:,}" if expected else "")
            + f", md5 {digest.hexdigest()}, expected {BINARY_MD5}); it was deleted: run again to download it anew"
        )
    partial.replace(archive)
    unpacking = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=data_dir))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(unpacking, filter="data")
        if not (unpacking / BINARY_DIR).is_dir():
            raise DatasetError(f"{archive}: no {BINARY_DIR}/ folder inside; not the binary CIFAR-10")
        (unpacking / BINARY_DIR).rename(data_dir / BINARY_DIR)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DatasetError(f"{archive}: cannot be unpacked ({err}); delete it and run again") from None
    finally:
        shutil.rmtree(unpacking, ignore_errors=True)
    return data_dir / BINARY_DIR


def jpeg_candidates(data_dir: Path) -> list[Path]:
    """Where the offline JPEG copy is looked for, in order."""
    found = []
    if env := os.environ.get("RESNET_BOOK_CIFAR10_JPEG"):
        found.append(Path(env))
    found.append(data_dir / JPEG_NAME)
    found.append(REPO_ROOT.parent / "shared" / "datasets" / JPEG_NAME)
    return found


def _decode(path: Path, jpeg: np.ndarray, offsets: np.ndarray, keep: np.ndarray) -> torch.Tensor:
    import warnings

    from torchvision.io import decode_jpeg

    if offsets[0] != 0 or offsets[-1] != jpeg.size or np.any(np.diff(offsets) <= 0):
        raise DatasetError(f"{path}: the JPEG offsets do not partition the JPEG bytes; the file is corrupt")
    blobs = [torch.from_numpy(jpeg[offsets[i] : offsets[i + 1]].copy()) for i in keep]
    try:
        with warnings.catch_warnings():  # torchvision 0.29 points to TorchCodec; decode_jpeg still works
            warnings.filterwarnings("ignore", message=".*image decoding.*deprecated", category=DeprecationWarning)
            images = decode_jpeg(blobs)
    except RuntimeError as err:
        raise DatasetError(f"{path}: a JPEG image does not decode ({err}); the file is corrupt") from None
    return torch.stack(images)


def read_cifar10_jpeg(path: Path, train_per_class: int | None = None, test_per_class: int | None = None) -> CIFAR10:
    """Read the offline JPEG copy (``np.load(allow_pickle=False)``), checking md5, keys and shapes.

    ``*_per_class`` decode only the first k images of each class (the stored order), for quick runs.
    """
    path = Path(path)
    if path.stat().st_size != JPEG_SIZE or _md5(path) != JPEG_MD5:
        raise DatasetError(
            f"{path}: checksum mismatch (expected md5 {JPEG_MD5}, {JPEG_SIZE:,} bytes); the file is "
            "truncated or corrupt: copy it again from shared/datasets/"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {key: z[key] for key in JPEG_KEYS}
    except (KeyError, ValueError, OSError, EOFError) as err:
        raise DatasetError(f"{path}: not a readable cifar10-jpeg archive ({err})") from None
    splits = []
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = arrays[f"{split}_labels"].astype(np.int64)
        keep = first_per_class(labels, per_class)
        images = _decode(path, arrays[f"{split}_jpeg"], arrays[f"{split}_offsets"], keep)
        splits += [images, torch.from_numpy(labels[keep])]
    return CIFAR10(*splits, name="cifar10-jpeg", source=str(path), classes=tuple(arrays["classes"].tolist()))


def first_per_class(labels: np.ndarray, per_class: int | None) -> np.ndarray:
    """Indices of the first ``per_class`` images of each class, in dataset order (all if None)."""
    if per_class is None:
        return np.arange(len(labels))
    if per_class < 1:
        raise ValueError(f"per-class subset must be >= 1, got {per_class}")
    keep = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)])
    return np.sort(keep)


def subset(data: CIFAR10, train_per_class: int | None, test_per_class: int | None) -> CIFAR10:
    """The first k images per class of each split; the dataset name records the subset."""
    if train_per_class is None and test_per_class is None:
        return data
    tr = torch.from_numpy(first_per_class(data.train_labels.cpu().numpy(), train_per_class)).to(data.device)
    te = torch.from_numpy(first_per_class(data.test_labels.cpu().numpy(), test_per_class)).to(data.device)
    tag = f"{train_per_class or 'all'}/{test_per_class or 'all'} per class"
    name = data.name if "[" in data.name else f"{data.name}[{tag}]"
    return CIFAR10(
        data.train_images[tr],
        data.train_labels[tr],
        data.test_images[te],
        data.test_labels[te],
        name=name,
        source=data.source,
        classes=data.classes,
    )


def validation_split(data: CIFAR10) -> CIFAR10:
    """Sec. 4.2's 45k/5k train/val split: the last 500 training images of each class become the test split."""
    labels = data.train_labels.cpu().numpy()
    val = np.concatenate([np.flatnonzero(labels == c)[-len(labels) // 100 :] for c in range(10)])
    train = np.setdiff1d(np.arange(len(labels)), val)
    tr, va = torch.from_numpy(train).to(data.device), torch.from_numpy(np.sort(val)).to(data.device)
    return CIFAR10(
        data.train_images[tr],
        data.train_labels[tr],
        data.train_images[va],
        data.train_labels[va],
        name=f"{data.name}[45k/5k val]",
        source=data.source,
        classes=data.classes,
    )


def load_cifar10(
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
    split: str = "test",
    device: str | torch.device = "cpu",
    verbose: bool = True,
) -> CIFAR10:
    """CIFAR-10 from the best available source (see module doc), optionally a per-class subset.

    Args:
        data_dir: where real CIFAR-10 lives or is downloaded to (default ``default_data_dir()``).
        download: try to download real CIFAR-10 when it is not there.
        train_per_class, test_per_class: keep only the first k images of each class (quick mode).
        split: ``"test"`` (train on 50k, evaluate on the 10k test set) or ``"val"`` (the paper's
            45k/5k train/val split).
        device: where the uint8 tensors live (``"cuda"`` keeps the whole set on the GPU).
    """
    if split not in ("test", "val"):
        raise ValueError(f"unknown split {split!r}: valid are 'test' (50k/10k) and 'val' (45k/5k)")
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    say = print if verbose else (lambda *a, **k: None)
    data = None
    binary = data_dir / BINARY_DIR
    if not binary.is_dir() and download:
        data_dir.mkdir(parents=True, exist_ok=True)
        binary = download_cifar10_binary(data_dir) or binary
    if binary.is_dir():
        data = read_cifar10_binary(binary)
        say(f"CIFAR-10: real CIFAR-10 (the authors' binary version, {BINARY_DIR})")
    else:
        for candidate in jpeg_candidates(data_dir):
            if candidate.is_file():
                per_class = (None, None) if split == "val" else (train_per_class, test_per_class)
                data = read_cifar10_jpeg(candidate, *per_class)
                say(
                    "CIFAR-10: the offline JPEG copy 'cifar10-jpeg' (JPEG quality 75),\n"
                    "  not bit-identical to CIFAR-10, so errors run higher than the paper's"
                )
                break
    if data is None:
        raise DatasetError(
            f"CIFAR-10 not found: no {binary} and no {JPEG_NAME} in "
            + ", ".join(str(p) for p in jpeg_candidates(data_dir))
            + f". Connect to the internet (it downloads {BINARY_URL}), or set RESNET_BOOK_CIFAR10_JPEG to "
            "the offline copy."
        )
    if split == "val":
        data = validation_split(data)
    data = subset(data, train_per_class, test_per_class)
    return data.to(device)


def synthetic_cifar10(train_per_class: int = 20, test_per_class: int = 10, seed: int = 0) -> CIFAR10:
    """Random images whose class shifts the mean colour: learnable, tiny, for unit tests only."""
    g = torch.Generator().manual_seed(seed)

    def split(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(10).repeat_interleave(per_class)
        noise = torch.randint(0, 96, (len(labels), 3, SIZE, SIZE), generator=g)
        tint = torch.stack([labels * 15, 150 - labels * 15, (labels % 3) * 60], 1)[:, :, None, None]
        return (noise + tint).clamp(0, 255).to(torch.uint8), labels

    return CIFAR10(*split(train_per_class), *split(test_per_class), name="synthetic", source="synthetic")


def at_size(data: CIFAR10, size: int) -> CIFAR10:
    """The images averaged down to ``size`` pixels a side (each 2x2 block one pixel for 16, rounded to
    uint8), for a miniature run; ``data`` itself at its own size. The name stays: the run's schedule
    records the size (``Config.image_size``)."""
    side = data.train_images.shape[-1]
    if size == side:
        return data
    if size > side or side % size:
        raise ValueError(f"images of {side}x{side} pixels average down to a side that divides {side}, not {size}")

    def shrink(images: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.avg_pool2d(images.to(torch.float32), side // size)
        return pooled.round_().to(torch.uint8)

    return replace(data, train_images=shrink(data.train_images), test_images=shrink(data.test_images))
