"""The paper's ImageNet recipe (Sec. 3.4) on one GPU or many: ``python -m resnet_book imagenet``.

One process, or one per GPU under ``torchrun`` (``DistributedDataParallel``, the way torchvision's
``references/classification/train.py`` trains ResNets), on one node or several::

    python -m resnet_book imagenet --model resnet34                     # Imagenette, one GPU
    torchrun --nproc_per_node 8 -m resnet_book imagenet --model resnet34 --data /data/imagenet
    torchrun --nnodes 4 --nproc_per_node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \\
        -m resnet_book imagenet --model resnet50 --data /data/imagenet

The recipe (Sec. 3.4): the shorter side resized to a random length in [256, 480] (scale augmentation), a
random 224x224 crop or its horizontal flip, AlexNet's colour augmentation (ref. [21]), the per-pixel mean
subtracted; SGD with a batch of 256 in all (split evenly over the GPUs), momentum 0.9, weight decay 1e-4,
lr 0.1 divided by 10 when the validation error plateaus, up to 60x10^4 iterations; no dropout. Testing:
the 10-crop protocol of Table 2 and 3 (ref. [21]: the four corner and the centre 224 crops of the 256x256
centre of the image, and their flips, logits averaged) and a single 224 centre crop.

Each GPU normalises its BN layers over its own share of the batch (ordinary ``BatchNorm2d`` under DDP,
not ``SyncBatchNorm``), as in the paper's multi-GPU training. On GPUs the step runs in bf16 with
channels_last; DataLoader workers decode the JPEGs. Every random number of the data (the order, each
image's scale, crop, flip and colour shift) comes from (seed, epoch, image), so a run does not depend on
how many GPUs or workers draw it, and a restarted run continues exactly where it stopped.

Rank 0 writes a checkpoint (atomically, with its checksum: ``checkpoints.save``) at every evaluation; the same
command, or torchrun's elastic restart, continues from it (several nodes need ``--checkpoint-dir`` on a
filesystem they all see). The finished run is written once to ``data/runs/imagenet/<id>.json``: the fields of
``resnet_book.runs``, with ``family: "imagenet"``, top-5 and centre-crop errors in ``final``, world size,
nodes and backend in ``provenance``, checked against the ImageNet family's spec (``runs.IMAGENET_SPEC``)
before it is written. As ``python -m resnet_book train`` does, it refuses values out of range at the door
(``--lr nan``, ``--iterations 0``), stops a run whose training loss diverges (``train.TrainingDiverged``: no
record, the last checkpoint kept), and names a checkpoint it cannot read (``checkpoints.CheckpointError``),
each in one line.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from . import checkpoints
from . import runs as runsmod
from .checkpoints import CheckpointError
from .data import DatasetError, default_data_dir
from .models import Net, get_model
from .provenance import REPO_ROOT, provenance
from .recipe import SEEDS, ImageNetConfig  # the recipe, beside CIFAR-10's (Sec. 3.4)
from .records import check_writable, write_json
from .train import DIVERGED_LOSS, TrainingDiverged

IMAGENET_RUNS = runsmod.RUNS_DIR / "imagenet"
IMAGENET_CHECKPOINTS = REPO_ROOT / "data" / "checkpoints" / "imagenet"
CHECKPOINT_FORMAT = "resnet_book.imagenet/1"
LAYOUT = "<folder>/train/<class>/<image>.JPEG and <folder>/val/<class>/<image>.JPEG (torchvision's ImageFolder)"

# AlexNet's colour augmentation (ref. [21]): each image's pixels shift along the principal components of
# ImageNet's RGB values, by N(0, 0.1)-scaled eigenvalues. The PCA (pixels in [0, 1]) as published with
# fb.resnet.torch, Facebook's reproduction of this paper.
PCA_EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
PCA_EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])
LIGHTING_STD = 0.1


# ------------------------------------------------------------------ processes
@dataclass
class World:
    """This process's place in the job, from torchrun's environment (one process when run without it)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    nodes: int = 1
    backend: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def log(self, text: str) -> None:
        if self.rank == 0:
            print(text, flush=True)

    def decide(self, value: int) -> int:
        """Rank 0's ``value`` on every rank (whether to resume, whether the run is recorded)."""
        if self.size == 1:
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self.device)
        dist.broadcast(t, 0)
        return int(t.item())

    def sum(self, values: list[float]) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.size > 1:
            dist.all_reduce(t)
        return t.tolist()


def setup_world(device: str | None = None) -> World:
    """Join torchrun's process group: NCCL on CUDA GPUs; gloo otherwise, and it says so."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: this machine (or this torch build) has no CUDA GPU; use --device cpu")
    cuda = torch.cuda.is_available() and device != "cpu"
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return World(device=torch.device(device or ("cuda" if cuda else "cpu")))
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank, local_size = int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("LOCAL_WORLD_SIZE", size))
    if cuda:
        torch.cuda.set_device(local_rank)
    backend = "nccl" if cuda and dist.is_nccl_available() else "gloo"
    dist.init_process_group(backend)
    world = World(
        rank,
        size,
        local_rank,
        max(1, size // local_size),
        backend,
        torch.device("cuda", local_rank) if cuda else torch.device("cpu"),
    )
    if backend == "gloo":
        why = "no CUDA GPU" if not cuda else "this torch has no NCCL"
        world.log(f"NCCL unavailable ({why}): using the gloo backend on {world.device.type.upper()}")
    return world


def check_batch(batch_size: int, world_size: int) -> int:
    """Each process's share of the batch; a world size that does not divide the batch is refused."""
    if batch_size % world_size:
        raise ValueError(
            f"--batch-size {batch_size} is not divisible by the world size {world_size}: every process takes an "
            f"equal share of the batch; use a multiple of {world_size}, or a number of GPUs that divides {batch_size}"
        )
    return batch_size // world_size


# ------------------------------------------------------------------ data
def open_split(data: str, split: str, world: World):
    """The ``split`` ("train" or "val") of Imagenette or of a folder in ``LAYOUT``, without transforms."""
    from torchvision.datasets import ImageFolder, Imagenette

    if data == "imagenette":
        root = default_data_dir()
        if world.local_rank == 0:  # one download per node; the node's other processes wait
            try:
                Imagenette(root, split=split, size="320px", download=True)
            except (OSError, RuntimeError) as err:
                url = Imagenette._ARCHIVES["320px"][0]
                raise DatasetError(
                    f"Imagenette could not be downloaded into {root} ({err}); extract {url} there, or pass --data FOLDER"
                ) from None
        if world.size > 1:
            dist.barrier()
        return Imagenette(root, split=split, size="320px")
    folder = Path(data) / split
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder; --data expects {LAYOUT.replace('<folder>', data)}")
    try:
        return ImageFolder(str(folder))
    except (FileNotFoundError, RuntimeError) as err:
        raise DatasetError(f"{folder}: not an image folder ({err}); --data expects {LAYOUT}") from None


def dataset_name(data: str) -> str:
    return "imagenette-320px" if data == "imagenette" else f"imagefolder:{Path(data).resolve().name}"


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed for image ``index`` of ``epoch`` (-1: the epoch's order); torch's CPU generator keeps
    only 32 bits of a seed, so the three numbers are hashed, not packed."""
    return int.from_bytes(hashlib.blake2b(f"{seed},{epoch},{index}".encode(), digest_size=4).digest(), "little")


class TrainView(Dataset):
    """Sec. 3.4's training view of image ``index`` in ``epoch``, as uint8, with its colour shift ``alpha``:
    shorter side random in ``scale``, a random ``crop`` x ``crop`` crop, flipped with probability 1/2.
    Its random numbers come from (seed, epoch, index) alone."""

    def __init__(self, base, cfg: ImageNetConfig) -> None:
        self.base, self.cfg = base, cfg

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key: tuple[int, int]):
        from torchvision.transforms.v2 import functional as TF

        epoch, index = key
        g = torch.Generator().manual_seed(sample_seed(self.cfg.seed, epoch, index))
        image, label = self.base[index]
        lo, hi = self.cfg.scale
        image = TF.resize(image, int(torch.randint(lo, hi + 1, (1,), generator=g)))
        w, h, c = image.width, image.height, self.cfg.crop
        top = int(torch.randint(0, h - c + 1, (1,), generator=g))
        left = int(torch.randint(0, w - c + 1, (1,), generator=g))
        x = TF.pil_to_tensor(image.crop((left, top, left + c, top + c)))
        if torch.rand(1, generator=g).item() < 0.5:
            x = x.flip(-1)
        return x, label, torch.randn(3, generator=g) * LIGHTING_STD


class TestView(Dataset):
    """The test view: shorter side ``size``, the centre ``size`` x ``size`` square, uint8 (ref. [21])."""

    def __init__(self, base, size: int) -> None:
        self.base, self.size = base, size

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        from torchvision.transforms.v2 import functional as TF

        image, label = self.base[index]
        return TF.pil_to_tensor(TF.center_crop(TF.resize(image, self.size), self.size)), label


class GlobalBatches(Sampler):
    """Batch ``k`` of the run is the ``k``-th slice of ``batch_size`` images of its epoch's permutation
    (seeded by the epoch); process ``rank`` takes every ``world``-th image of it. So ``W`` processes with
    batch ``b`` each see exactly the images one process with batch ``W * b`` sees, and a run restarted at
    iteration ``start`` draws what it would have drawn. Endless; the trainer counts iterations."""

    def __init__(self, n: int, batch_size: int, world: World, seed: int, start: int) -> None:
        self.n, self.batch_size, self.world, self.seed, self.start = n, batch_size, world, seed, start
        self.per_epoch = n // batch_size

    def __iter__(self):
        iteration, epoch, perm = self.start, -1, None
        while True:
            e, j = divmod(iteration, self.per_epoch)
            if e != epoch:
                epoch, g = e, torch.Generator().manual_seed(sample_seed(self.seed, e, -1))
                perm = torch.randperm(self.n, generator=g)
            batch = perm[j * self.batch_size : (j + 1) * self.batch_size][self.world.rank :: self.world.size]
            yield [(epoch, int(i)) for i in batch]
            iteration += 1


def per_pixel_mean(base, cfg: ImageNetConfig, workers: int) -> torch.Tensor:
    """Sec. 3.4's per-pixel mean (3 x crop x crop, pixels in [0, 1]): the centre crops of
    ``cfg.mean_images`` training images spread evenly over the set."""
    n = min(cfg.mean_images, len(base))
    subset = Subset(TestView(base, cfg.test_size), [round(i * len(base) / n) for i in range(n)])
    total = torch.zeros(3, cfg.crop, cfg.crop, dtype=torch.float64)
    for x, _ in DataLoader(subset, batch_size=64, num_workers=workers):
        total += center(x, cfg.crop).double().sum(0)
    return (total / n / 255).to(torch.get_default_dtype())  # float32, as the network


def center(x: torch.Tensor, crop: int) -> torch.Tensor:
    top, left = (x.shape[-2] - crop) // 2, (x.shape[-1] - crop) // 2
    return x[..., top : top + crop, left : left + crop]


def ten_crops(x: torch.Tensor, crop: int) -> list[torch.Tensor]:
    """The 10 views of ref. [21]: four corner crops and the centre crop, and their horizontal flips."""
    h, w = x.shape[-2:]
    top, bottom, left, right = slice(0, crop), slice(h - crop, h), slice(0, crop), slice(w - crop, w)
    five = [x[..., top, left], x[..., top, right], x[..., bottom, left], x[..., bottom, right], center(x, crop)]
    return five + [v.flip(-1) for v in five]


def prepare(x: torch.Tensor, mean: torch.Tensor, alpha: torch.Tensor | None = None, channels_last: bool = False) -> torch.Tensor:
    """uint8 images to the network's input: [0, 1], the colour shift ``alpha`` along ImageNet's RGB
    principal components (ref. [21]) if given, minus the per-pixel mean (Sec. 3.4)."""
    x = x.to(mean.dtype) / 255
    if alpha is not None:
        x = x + ((alpha * PCA_EIGVAL.to(x.device)) @ PCA_EIGVEC.to(x.device).T)[:, :, None, None]
    x = x - mean
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@torch.no_grad()
def crop_logits(
    model: nn.Module, x: torch.Tensor, mean: torch.Tensor, crop: int, ten: bool, channels_last: bool = False
) -> torch.Tensor:
    """Logits of test views ``x`` (uint8, the centre ``test_size`` squares): of the centre ``crop``, or
    the mean of the ten crops' logits (10-crop testing, Table 2 and 3)."""
    views = ten_crops(x, crop) if ten else [center(x, crop)]
    amp = torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.device.type == "cuda")
    with amp:
        logits = [model(prepare(v, mean, channels_last=channels_last)).to(mean.dtype) for v in views]  # bf16 back
        return torch.stack(logits).mean(0)


def evaluate_crops(model: nn.Module, loader, mean: torch.Tensor, cfg: ImageNetConfig, world: World, ten: bool) -> dict:
    """Top-1 and top-5 error and loss on this process's share of the validation set, summed over all."""
    was_training = model.training
    model.eval()
    sums = [0.0, 0.0, 0.0, 0.0]  # loss, top-1 errors, top-5 errors, images
    channels_last = world.device.type == "cuda"
    for x, y in loader:
        x, y = x.to(world.device, non_blocking=True), y.to(world.device, non_blocking=True)
        out = crop_logits(model, x, mean, cfg.crop, ten, channels_last)
        top5 = out.topk(min(5, out.shape[1]), 1).indices
        sums[0] += F.cross_entropy(out, y, reduction="sum").item()
        sums[1] += (top5[:, 0] != y).sum().item()
        sums[2] += (~(top5 == y[:, None]).any(1)).sum().item()
        sums[3] += len(y)
    set_train(model, was_training, cfg.freeze_bn)
    loss, top1, top5, n = world.sum(sums)
    return {"loss": loss / n, "error": top1 / n, "top5_error": top5 / n}


def set_train(model: nn.Module, training: bool, freeze_bn: bool) -> None:
    model.train(training)
    if training and freeze_bn:
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()


# ------------------------------------------------------------------ the run
def run_id(cfg: ImageNetConfig, shortcut: str | None) -> str:
    return Net.parse(cfg.model, shortcut, family="imagenet").record_id(cfg.preset, cfg.seed)


def train_imagenet(
    cfg: ImageNetConfig,
    out: Path = IMAGENET_RUNS,
    checkpoint_dir: Path = IMAGENET_CHECKPOINTS,
    workers: int = 8,
    stop_after: int | None = None,
    device: str | None = None,
) -> Path | None:
    """Train (or continue) one run; returns the record's path, or None if stopped by ``stop_after``."""
    world = setup_world(device)
    try:
        return _train(cfg, world, Path(out), Path(checkpoint_dir), workers, stop_after)
    finally:
        if world.size > 1:
            dist.destroy_process_group()


def check_config(cfg: ImageNetConfig, world: World) -> int:
    """Each process's share of the batch; sizes that cannot work and unknown nets are refused at once."""
    for key in ("batch_size", "iterations", "eval_every", "crop", "test_size", "mean_images"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be a whole number >= 1, got {value!r}")
    if not 0 < cfg.lr < math.inf:
        raise ValueError(f"--lr must be a finite number > 0, got {cfg.lr}")
    if cfg.seed not in SEEDS:
        raise ValueError(f"--seed must be from -2^63 to 2^64 - 1 (torch.manual_seed's range), got {cfg.seed}")
    per_rank = check_batch(cfg.batch_size, world.size)
    if min(cfg.scale[0], cfg.test_size) < cfg.crop or cfg.scale[0] > cfg.scale[1]:
        raise ValueError(
            f"--scale {cfg.scale[0]} {cfg.scale[1]}, --test-size {cfg.test_size}: the shorter side "
            f"must be at least the crop ({cfg.crop}), MIN <= MAX (paper: 256 480, 256, 224)"
        )
    get_model(cfg.model, shortcut=cfg.shortcut, family="imagenet", num_classes=1)  # a bad name fails before the data
    return per_rank


def open_data(cfg: ImageNetConfig, world: World, per_rank: int):
    """Train and val splits, checked: the same classes, and at least one batch of training images."""
    train_base, val_base = open_split(cfg.data, "train", world), open_split(cfg.data, "val", world)
    if val_base.classes != train_base.classes:
        raise DatasetError(
            f"{cfg.data}: val's {len(val_base.classes)} classes are not train's "
            f"{len(train_base.classes)}; --data expects {LAYOUT}"
        )
    if len(train_base) < cfg.batch_size:
        raise DatasetError(
            f"{cfg.data}: {len(train_base)} training images, fewer than one batch of {cfg.batch_size} "
            f"({per_rank} per process x {world.size}); use a smaller --batch-size or more images"
        )
    return train_base, val_base


def restore_checkpoint(path: Path, cfg: ImageNetConfig, world: World, model: nn.Module, opt, plateau) -> dict | None:
    """The checkpoint's state (``weights_only=True``) loaded into model, optimizer and plateau rule, if
    rank 0 sees one; every process must see it too (one disk, or a filesystem the nodes share)."""
    if not world.decide(int(path.exists())):
        return None
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: rank 0 sees this checkpoint, rank {world.rank} does not; put "
            "--checkpoint-dir on a filesystem every node shares"
        )
    state = checkpoints.read(path, world.device, CHECKPOINT_FORMAT)
    if state.get("config") != asdict(cfg):
        raise CheckpointError(
            f"{path}: a checkpoint of another run or other settings; remove it, or run the command it was made with"
        )
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    plateau.load_state_dict(state["plateau"])
    world.log(f"{path}: resuming at iteration {state['iteration']:,}")
    return state


def _train(
    cfg: ImageNetConfig, world: World, out: Path, checkpoint_dir: Path, workers: int, stop_after: int | None
) -> Path | None:
    per_rank = check_config(cfg, world)
    check_writable(out, "run records")  # before hours of training, not after
    check_writable(checkpoint_dir, "checkpoint")
    train_base, val_base = open_data(cfg, world, per_rank)
    torch.manual_seed(cfg.seed)
    model = get_model(cfg.model, shortcut=cfg.shortcut, num_classes=len(train_base.classes), family="imagenet")
    name, shortcut = run_id(cfg, model.shortcut_option), model.shortcut_option
    record_path, ckpt = out / f"{name}.json", Path(checkpoint_dir) / f"{name}.pt"
    if world.decide(int(record_path.exists())):
        world.log(f"{record_path}: already recorded; remove it to train this run again")
        return record_path
    cuda = world.device.type == "cuda"
    model.to(world.device, memory_format=torch.channels_last if cuda else torch.contiguous_format)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    # The plateau rule (torch's ReduceLROnPlateau): lr / 10 once the centre-crop validation error has not
    # fallen 0.1 points (absolute) below its best for `patience` evaluations in a row.
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=0.1, patience=cfg.patience, threshold=1e-3, threshold_mode="abs"
    )
    state = restore_checkpoint(ckpt, cfg, world, model, opt, plateau)
    if state is not None:
        mean = state["mean"].to(world.device)
    else:
        state = {"iteration": 0, "history": [], "wall_seconds": 0.0}
        mean = per_pixel_mean(train_base, cfg, workers) if world.rank == 0 else torch.zeros(3, cfg.crop, cfg.crop)
        mean = mean.to(world.device)
        if world.size > 1:
            dist.broadcast(mean, 0)  # rank 0's mean, computed once
    ddp = DistributedDataParallel(model, device_ids=[world.local_rank] if cuda else None) if world.size > 1 else model
    set_train(ddp, True, cfg.freeze_bn)

    loader_args = {"num_workers": workers, "pin_memory": cuda, "persistent_workers": workers > 0}
    start = iteration = state["iteration"]
    batches = GlobalBatches(len(train_base), cfg.batch_size, world, cfg.seed, start)
    train_loader = DataLoader(TrainView(train_base, cfg), batch_sampler=batches, **loader_args)
    val_share = Subset(TestView(val_base, cfg.test_size), range(world.rank, len(val_base), world.size))
    val_loader = DataLoader(val_share, batch_size=per_rank, **loader_args)
    world.log(
        f"{name}: {len(train_base):,} training images, {len(train_base.classes)} classes, {world.size} "
        f"process(es) on {world.nodes} node(s), batch {per_rank} per process, device {world.device}"
    )

    history, t0 = state["history"], time.perf_counter()
    sums = torch.zeros(3, dtype=torch.float64, device=world.device)  # loss, errors, images since the last entry
    for x, y, alpha in train_loader:
        if iteration >= cfg.iterations:
            break
        if cfg.milestones is not None:
            for g in opt.param_groups:
                g["lr"] = cfg.lr * 0.1 ** sum(iteration >= m for m in cfg.milestones)
        x, y, alpha = (t.to(world.device, non_blocking=True) for t in (x, y, alpha))
        with torch.autocast(world.device.type, dtype=torch.bfloat16, enabled=cuda):
            logits = ddp(prepare(x, mean, alpha, channels_last=cuda))
            loss = F.cross_entropy(logits.float(), y)  # the mean over this process's share; DDP averages shares
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sums[0] += loss.detach().double() * len(y)
        sums[1] += (logits.argmax(1) != y).sum()
        sums[2] += len(y)
        iteration += 1
        if iteration % cfg.eval_every and iteration != cfg.iterations:
            continue
        train_loss, train_wrong, n = world.sum(sums.tolist())
        sums.zero_()
        lr = opt.param_groups[0]["lr"]
        check_diverged(name, train_loss / n, len(train_base.classes), history, iteration, lr, ckpt)
        test = evaluate_crops(model, val_loader, mean, cfg, world, ten=False)
        if cfg.milestones is None:
            plateau.step(test["error"])
        seconds = state["wall_seconds"] + time.perf_counter() - t0
        history.append(
            {
                "iteration": iteration,
                "lr": lr,
                "train_loss": train_loss / n,
                "train_error": train_wrong / n,
                "test_loss": test["loss"],
                "test_error": test["error"],
                "seconds": round(seconds, 2),
            }
        )
        world.log(
            f"iteration {iteration:,}: lr {lr:g}, train error {train_wrong / n:.4f}, val error (centre crop) {test['error']:.4f}"
        )
        if world.rank == 0:
            snapshot = {
                "config": asdict(cfg),
                "iteration": iteration,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "plateau": plateau.state_dict(),
                "history": history,
                "mean": mean.cpu(),
                "wall_seconds": seconds,
            }
            checkpoints.save(ckpt, snapshot, CHECKPOINT_FORMAT)  # with its checksum, as a CIFAR-10 run's
        if world.size > 1:
            dist.barrier()  # the checkpoint is on disk before any process goes on (or stops)
        if stop_after is not None and iteration - start >= stop_after and iteration < cfg.iterations:
            world.log(f"stopped at iteration {iteration:,} (--stop-after); run the same command again to continue")
            return None

    final = {
        "ten_crop": evaluate_crops(model, val_loader, mean, cfg, world, ten=True),
        "center_crop": evaluate_crops(model, val_loader, mean, cfg, world, ten=False),
    }
    wall = state["wall_seconds"] + time.perf_counter() - t0
    if world.rank == 0:
        record = runsmod.validate(imagenet_record(cfg, shortcut, history, final, world, wall, resumed=start > 0, workers=workers))
        write_json(record_path, record)
        ten = final["ten_crop"]
        print(f"{record_path}: val error 10-crop {ten['error']:.4f} (top-5 {ten['top5_error']:.4f})", flush=True)
    return record_path


def check_diverged(name: str, loss: float, classes: int, history: list[dict], iteration: int, lr: float, ckpt: Path) -> None:
    """``train.TrainingDiverged`` once a window's mean training loss is NaN, infinite or far above chance
    level: ``train.DIVERGED_LOSS`` is 10x the chance level of CIFAR-10's 10 classes, and here 10x that of
    the run's own classes (ln 1000 = 6.9 on ImageNet). Raised before the window is logged or checkpointed,
    on every process alike (the loss is summed over all of them)."""
    limit = DIVERGED_LOSS / math.log(10) * math.log(max(classes, 2))
    if loss <= limit:  # NaN fails this too
        return
    kept = f"the last checkpoint, {ckpt}, is kept" if ckpt.is_file() else "no checkpoint was written"
    raise TrainingDiverged(
        f"{name}: diverged, the training loss became {loss:.4g} (chance level is {math.log(max(classes, 2)):.2f}) "
        f"between iterations {history[-1]['iteration'] if history else 0:,} and {iteration:,} at lr {lr:g}; no record "
        f"was written, {kept}. Lower the learning rate (--lr) and start over"
    )


def imagenet_record(
    cfg: ImageNetConfig,
    shortcut: str | None,
    history: list[dict],
    final: dict,
    world: World,
    wall: float,
    resumed: bool,
    workers: int,
) -> dict:
    """The run record: ``resnet_book.runs``'s fields; ``test_error`` is the 10-crop top-1 error (Table 2, 3)."""
    last = history[-1]
    return {
        "schema": runsmod.SCHEMA,
        "family": "imagenet",
        "id": run_id(cfg, shortcut),
        "model": cfg.model,
        "shortcut": shortcut,
        "dataset": dataset_name(cfg.data),
        "seed": cfg.seed,
        "preset": cfg.preset,
        "schedule": {
            "iterations": cfg.iterations,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "lr_factor": 0.1,
            "milestones": list(cfg.milestones) if cfg.milestones is not None else None,
            "plateau": None
            if cfg.milestones is not None
            else {"patience": cfg.patience, "threshold": 1e-3, "on": "val error, centre crop"},
            "weight_decay": cfg.weight_decay,
            "momentum": cfg.momentum,
            "warmup": None,
            "eval_every": cfg.eval_every,
            "scale": list(cfg.scale),
            "crop": cfg.crop,
            "test_size": cfg.test_size,
            "colour_augmentation": LIGHTING_STD,
            "mean_images": cfg.mean_images,
            "bn": "frozen (running statistics)" if cfg.freeze_bn else "per GPU",
        },
        "history": history,
        "final": {
            "train_error": last["train_error"],
            "train_loss": last["train_loss"],
            "test_error": final["ten_crop"]["error"],
            "test_top5_error": final["ten_crop"]["top5_error"],
            "center_crop_error": final["center_crop"]["error"],
            "center_crop_top5_error": final["center_crop"]["top5_error"],
        },
        "provenance": {
            **provenance(world.device),
            "wall_seconds": round(wall, 2),
            "fast_path": {"bf16": world.device.type == "cuda", "channels_last": world.device.type == "cuda", "workers": workers},
            "resumed": resumed,
            "trained_concurrently_with": [],
            "world_size": world.size,
            "nodes": world.nodes,
            "backend": world.backend,
        },
    }
