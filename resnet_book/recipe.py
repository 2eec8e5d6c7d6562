"""The paper's CIFAR-10 recipe (Sec. 4.2) as a value: ``Config``, the named schedules, what a run *is*;
and its ImageNet recipe (Sec. 3.4) beside it: ``ImageNetConfig`` and ``IMAGENET_PRESETS``.

Its numbers come from ``paper.CIFAR_RECIPE`` (one source); ``preset`` gives a named schedule (``paper``,
``quick``, ``colab``, and ``mini``: the miniature a CPU shows the paper's effects with) for a model, scaled as a whole when its length changes. ``Config.identity`` is what a
run is (every field but checkpoint spacing and the preset's name; the speed switches are not in a
``Config`` at all but in ``train.Engine``): a checkpoint resumes only into the same identity,
and runs of a pack share all of it but model, shortcut and seed (``check_pack``). The trainer
(``resnet_book.train``) runs a ``Config``; the records (``resnet_book.runs``) store its schedule (``runs.record_schedule``). The
ImageNet engine (``resnet_book.imagenet``) runs an ``ImageNetConfig``, its numbers from ``paper.IMAGENET_RECIPE``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, replace
from typing import Sequence

from .models import Net
from .paper import CIFAR_RECIPE as PAPER
from .paper import IMAGENET_RECIPE as PAPER_IMAGENET

# The longest schedule a Config accepts: 4x the paper's 64k iterations (its sample plan alone, three int64s
# and a flag per sample, is then 0.8 GB); a typo such as 1000000000000 is refused instead of filling memory.
MAX_ITERATIONS = 256_000
# The image sides a run may train at: CIFAR-10's 32 pixels, or averaged down 2x2 or 4x4 (a miniature).
IMAGE_SIZES = (32, 16, 8)
# The seeds torch.manual_seed takes: any 64-bit number, signed or not.
SEEDS = range(-(2**63), 2**64)


@dataclass(frozen=True)
class Config:
    """One training run: what it trains and how (the recipe), not how fast (``train.Engine``).

    The defaults are the paper's (Sec. 4.2, ``paper.CIFAR_RECIPE``). Frozen: a variant is a new value,
    ``dataclasses.replace(cfg, seed=1)``."""

    model: str = "resnet20"
    shortcut: str | None = None  # None: the model's default (option A for CIFAR ResNets)
    seed: int = 0
    batch_size: int = PAPER["batch_size"]  # 128
    lr: float = PAPER["lr"]  # 0.1 ...
    lr_factor: float = PAPER["lr_factor"]  # ... divided by 10 ...
    milestones: tuple[int, ...] = PAPER["milestones"]  # ... at 32k and 48k iterations
    iterations: int = PAPER["iterations"]  # 64k
    momentum: float = PAPER["momentum"]  # 0.9
    weight_decay: float = PAPER["weight_decay"]  # 1e-4
    warmup_lr: float | None = None  # ResNet-110: 0.01 ...
    warmup_until_error: float = PAPER["warmup"]["until_train_error"]  # ... until the training error is below 80 %
    warmup_check_every: int = 50
    eval_every: int = 500  # one history entry (and a test-set evaluation) every this many iterations
    checkpoint_every: int = 4_000
    train_per_class: int | None = None  # None: all 5,000 images of each class
    test_per_class: int | None = None
    split: str = "test"  # "test": 50k/10k; "val": the paper's 45k/5k split
    # The miniature's levers (the ``mini`` preset; the paper's values are the defaults): the first stage's
    # filters (Sec. 4.2: 16, then 32 and 64), the side of the images (32; 16 averages each 2x2 pixel
    # block, and the padding of the crop shrinks with it), and a linear warm-up of the learning rate over
    # the first iterations (the paper has none but ResNet-110's, ``warmup_lr``).
    width: int = 16
    image_size: int = 32
    warmup_iterations: int = 0
    preset: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        for name in ("batch_size", "iterations", "eval_every", "checkpoint_every", "warmup_check_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"Config.{name} must be >= 1, got {getattr(self, name)}")
        if isinstance(self.width, bool) or not isinstance(self.width, int) or not 1 <= self.width <= 1024:
            raise ValueError(
                f"Config.width (the first stage's filters; the paper's 16) must be from 1 to 1024, got {self.width!r}"
            )
        if self.image_size not in IMAGE_SIZES:
            raise ValueError(
                f"Config.image_size must be one of {', '.join(map(str, IMAGE_SIZES))} (CIFAR-10's 32 pixels, "
                f"averaged down), got {self.image_size!r}"
            )
        if (
            isinstance(self.warmup_iterations, bool)
            or not isinstance(self.warmup_iterations, int)
            or not (0 <= self.warmup_iterations < self.iterations)
        ):
            raise ValueError(
                f"Config.warmup_iterations must be a whole number from 0 to iterations - 1 ({self.iterations - 1:,}), "
                f"got {self.warmup_iterations!r}"
            )
        if self.iterations > MAX_ITERATIONS:
            raise ValueError(f"Config.iterations must be <= {MAX_ITERATIONS:,} (4x the paper's 64k), got {self.iterations:,}")
        if not (0 < self.lr < math.inf):
            raise ValueError(f"Config.lr must be a finite number > 0, got {self.lr}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed not in SEEDS:
            raise ValueError(
                f"Config.seed must be a whole number from -2^63 to 2^64 - 1 (torch.manual_seed's), got {self.seed!r}"
            )
        self.net  # a bad model name or shortcut fails here, with its reason

    @property  # parsed once per name (``_parse``); a cached field would show in vars(config), which copies use
    def net(self) -> Net:
        """The CIFAR-10 network this run trains (``shortcut=None``: the paper's choice for it)."""
        try:
            return _parse(self.model, self.shortcut)
        except TypeError:  # an unhashable name: Net.parse refuses it with its reason
            return Net.parse(self.model, self.shortcut, family="cifar")

    def record_id(self) -> str:
        """The run's record id, the name of its record and checkpoint: ``resnet20-A-paper-seed0``."""
        return self.net.record_id(self.preset, self.seed)

    def identity(self) -> dict:
        """What the run *is*: every field but the bookkeeping (``BOOKKEEPING``; the engine's speed switches
        live apart, in ``train.Engine``).
        A checkpoint resumes only into a config with the same identity, so a changed schedule never
        continues silently; runs of a pack share all of it but ``PACK_MAY_DIFFER``."""
        return {k: v for k, v in asdict(self).items() if k not in BOOKKEEPING}

    def lr_at(self, iteration: int, warming_up: bool) -> float:
        """The learning rate of ``iteration`` (0-based): step decay at the milestones, warm-up first (Sec.
        4.2's constant ``warmup_lr`` while ``warming_up``; the miniature's linear ramp to ``lr``)."""
        if warming_up and self.warmup_lr is not None:
            return self.warmup_lr
        if iteration < self.warmup_iterations:
            return self.lr * (iteration + 1) / self.warmup_iterations
        return self.lr * self.lr_factor ** sum(iteration >= m for m in self.milestones)

    def learning_rates(self) -> list[float]:
        """The learning rate of every iteration past Sec. 4.2's warm-up (``lr_at``), computed once for a run:
        the trainer looks its step's rate up, and uses ``warmup_lr`` instead while it is warming up (that warm-up
        ends when the training error drops, which only the run can tell)."""
        return [self.lr_at(i, False) for i in range(self.iterations)]


@functools.lru_cache(maxsize=None)
def _parse(model: str, shortcut: str | None) -> Net:
    """A CIFAR-10 net's name parsed once (``Net`` is frozen, so every config of that name shares it)."""
    return Net.parse(model, shortcut, family="cifar")


# Bookkeeping, not what the run is: the same run checkpoints every other iteration or carries another
# preset name.
BOOKKEEPING = ("checkpoint_every", "preset")

WARMUP_MODELS = PAPER["warmup"]["models"]  # Sec. 4.2: 110 (and, trained "the same", 1202) warm up


def warms_up(model: str) -> bool:
    """Sec. 4.2's warm-up (lr 0.01 until the training error is below 80 %) for ResNet-110 and -1202. The
    sequel's pre-activation ResNet-110 gets it too, so its record compares like for like with ours."""
    net = Net.parse(model, family="cifar")
    return net.kind == "resnet" and not net.bottleneck and f"resnet{net.depth}" in WARMUP_MODELS


PRESETS: dict[str, dict] = {
    # Sec. 4.2 exactly: 64k iterations of batch 128 on all 50k training images, tested on all 10k.
    "paper": dict(),
    # A chapter cell on a 2-core CPU in about a minute: 5,000 training images (500 per class), the same
    # step decay compressed into 160 iterations, tested on 1,000 images.
    "quick": dict(
        iterations=160,
        milestones=(80, 120),
        eval_every=40,
        checkpoint_every=40,
        train_per_class=500,
        test_per_class=100,
        warmup_check_every=10,
    ),
    # A Colab GPU in a few minutes: all the data, 1/8 of the paper's schedule.
    "colab": dict(iterations=8_000, milestones=(4_000, 6_000), eval_every=250, checkpoint_every=1_000),
    # The miniature: the paper's experiment small enough for two CPU cores in about a minute a net, found by
    # measurement (chapter 1 shows its records). Half the width (8, 16, 32 filters), 16x16 images (2-pixel
    # padding), 5,000 training images (500 per class), tested on 1,000; 700 iterations of batch 128 (about
    # 18 passes), the step decay at 1/2 and 3/4 of them, after a 70-iteration linear warm-up.
    "mini": dict(
        iterations=700,
        milestones=(350, 525),
        warmup_iterations=70,
        eval_every=50,
        checkpoint_every=350,
        train_per_class=500,
        test_per_class=100,
        warmup_check_every=10,
        width=8,
        image_size=16,
    ),
}


def preset(name: str, model: str = "resnet20", **overrides) -> Config:
    """A named schedule (``paper``, ``quick``, ``colab``) for ``model``, with the paper's warm-up for 110+.

    ``iterations=N`` shortens or stretches the whole schedule: the milestones (and a linear warm-up) scale with it (Sec. 4.2's
    decays at 1/2 and 3/4 of the run stay at 1/2 and 3/4), a log point (and checkpoint) comes at least
    every N/4 iterations, and the preset becomes ``custom`` (its record is not the named preset's), unless
    those are given too."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: valid are {', '.join(PRESETS)}")
    settings = dict(PRESETS[name], model=model, preset=name)
    if warms_up(model):
        settings["warmup_lr"] = PAPER["warmup"]["lr"]  # 0.01
    base = Config(**{k: v for k, v in settings.items() if k != "model"})
    iterations = overrides.get("iterations", base.iterations)
    if iterations != base.iterations:
        every = max(1, min(base.eval_every, iterations // 4))
        settings.update(
            milestones=tuple(round(m * iterations / base.iterations) for m in base.milestones),
            warmup_iterations=round(base.warmup_iterations * iterations / base.iterations),
            eval_every=every,
            checkpoint_every=every,
            preset="custom",
        )
    settings.update(overrides)
    return Config(**settings)


# what may differ between the runs of a pack (``packed``): everything else is one shared schedule
PACK_MAY_DIFFER = ("model", "shortcut", "seed")


def check_pack(configs: Sequence[Config]) -> None:
    """Runs can be packed if they have one depth and one schedule, and none warms up (Sec. 4.2's
    ResNet-110 warm-up ends when its own training error drops below 80 %, so it trains alone)."""
    first = configs[0].identity()
    for cfg in configs[1:]:
        differ = [k for k, v in cfg.identity().items() if k not in PACK_MAY_DIFFER and v != first[k]]
        if differ:
            raise ValueError(f"runs of a pack share everything but {', '.join(PACK_MAY_DIFFER)}; {', '.join(differ)} differ")
    names = [run_name(c, seed=True) for c in configs]
    if len(set(names)) < len(names):
        raise ValueError(f"a pack holds each run once; got {', '.join(names)}")
    depths = {c.net.depth for c in configs}
    if len(depths) > 1:
        raise ValueError(f"runs of a pack have one depth; got {sorted(depths)}")
    if configs[0].warmup_lr is not None:
        raise ValueError(f"{configs[0].model} warms up (Sec. 4.2) until its own error drops: train it alone, not in a pack")


def run_names(configs: Sequence[Config]) -> list[str]:
    """Each run's name in a pack of ``configs`` (one config: a pack of one), the pack checked first
    (``check_pack``): ``run_name``, with its seed where the pack holds several seeds."""
    if len(configs) > 1:
        check_pack(configs)
    seeds = len({c.seed for c in configs}) > 1
    return [run_name(c, seed=seeds) for c in configs]


def run_name(cfg: Config, seed: bool = False) -> str:
    """``model-shortcut`` (``plain`` for a plain net; a CIFAR ResNet's default is option A), ``-seedN`` added
    with ``seed``."""
    return cfg.net.run_name(cfg.seed if seed else None)


# ------------------------------------------------------------------ ImageNet (Sec. 3.4)
@dataclass
class ImageNetConfig:
    """One ImageNet run (``resnet_book.imagenet``). Defaults: Sec. 3.4; ``IMAGENET_PRESETS`` holds the Imagenette schedule."""

    model: str = "resnet34"
    shortcut: str | None = None  # None: the paper's default (A for 18/34, B for 50/101/152; Table 3)
    data: str = "imagenette"  # "imagenette" (torchvision, 10 ImageNet classes) or a folder (imagenet.LAYOUT)
    preset: str = "paper"
    seed: int = 0
    batch_size: int = PAPER_IMAGENET["batch_size"]  # 256 in all, over every GPU
    lr: float = PAPER_IMAGENET["lr"]  # 0.1
    momentum: float = PAPER_IMAGENET["momentum"]  # 0.9
    weight_decay: float = PAPER_IMAGENET["weight_decay"]  # 1e-4
    iterations: int = PAPER_IMAGENET["iterations"]  # "up to 60 x 10^4 iterations"
    milestones: tuple[int, ...] | None = None  # None: the plateau rule, lr / 10 when the error plateaus
    patience: int = 5  # plateau rule: evaluations without a 0.1-point gain before lr / 10
    eval_every: int = 5_000  # about one ImageNet epoch at batch 256
    scale: tuple[int, int] = (256, 480)  # shorter side, scale augmentation
    crop: int = 224
    test_size: int = 256  # 10-crop: the crops come from the centre test_size x test_size of the image
    mean_images: int = 10_000  # training images averaged into the per-pixel mean
    freeze_bn: bool = False  # not the recipe: BN on its running statistics (see --freeze-bn)


IMAGENET_PRESETS: dict[str, dict] = {
    "paper": {},
    # Imagenette (9,469 training images): 5,000 iterations of 256 (135 epochs), fixed steps at half and
    # three quarters, so that plain-18, plain-34 and ResNet-34 fit in about an hour on one fast GPU.
    "imagenette": {"iterations": 5_000, "milestones": (2_500, 3_750), "eval_every": 250, "mean_images": 2_000},
}


def imagenet_preset(name: str | None = None, model: str = "resnet34", data: str = "imagenette", **overrides) -> ImageNetConfig:
    """The ImageNet run of ``model`` on ``data`` (Sec. 3.4), as ``preset`` gives a CIFAR-10 one: the named
    schedule (by default ``imagenette`` on Imagenette, ``paper`` on ImageNet), then any override of the
    schedule (``iterations=10``) makes it ``custom``; ``shortcut`` and ``seed`` name the run and change nothing."""
    name = name or ("imagenette" if data == "imagenette" else "paper")
    if name not in IMAGENET_PRESETS:
        raise ValueError(f"unknown ImageNet preset {name!r}: valid are {', '.join(IMAGENET_PRESETS)}")
    run = {k: overrides.pop(k) for k in ("shortcut", "seed") if k in overrides}
    cfg = ImageNetConfig(model=model, data=data, preset=name, **run, **IMAGENET_PRESETS[name])
    return replace(cfg, **overrides, preset="custom") if overrides else cfg
