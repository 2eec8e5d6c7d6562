"""Every network of the paper, built from data (block type + blocks per stage), torchvision-style.

He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.

* CIFAR-10 nets (Sec. 4.2): a 3x3 conv with 16 filters, then three stages of ``n`` basic blocks
  (2n layers each) on 32, 16, 8 pixel maps with 16, 32, 64 filters, global average pooling and a
  10-way fc: ``6n + 2`` weighted layers.  ``resnet20`` ... ``resnet1202``; ``plain20`` ... their twins.
* ImageNet nets (Table 1): 7x7/2 conv with 64 filters, 3x3/2 max pool, four stages (conv2_x..conv5_x)
  of basic blocks (18, 34 layers) or bottleneck blocks (50, 101, 152 layers), average pool, 1000-way fc.

A *plain* net is the same code with the shortcut switched off (``shortcut=None``), so a ResNet with
option A (parameter-free shortcuts) has exactly its plain twin's parameters, as Sec. 4.1 states.

The sequel, He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks" (ECCV 2016,
arXiv:1603.05027), moves BN and ReLU in front of each conv ("full pre-activation", its Fig. 1(b) and
Fig. 4(e)): nothing follows the addition, so ``x_{l+1} = x_l + F(x_l)`` exactly (its Eqn. (3)).
``get_model(..., preact=True)`` builds those nets (``PreActBlock``, ``PreActBottleneck``), and
``bottleneck=True`` the sequel's CIFAR-10 bottleneck nets with ``9n + 2`` layers (ResNet-164, -1001).

Where torchvision's ``resnet.py`` differs from the paper: its ``Bottleneck`` puts the stride-2 of a
down-sampling block on the 3x3 conv ("ResNet v1.5"); the paper puts it on the first 1x1 conv.  Here the
paper's placement is the default and ``stride_at="3x3"`` gives torchvision's (see ``resnet_book.flops``
for what it costs).  torchvision also always uses projection shortcuts (option B).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Shortcut = Literal["A", "B", "C"]
SHORTCUTS = ("A", "B", "C")
STRIDE_AT = ("1x1", "3x3")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding; no bias, a BN follows (Sec. 3.4)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A (Sec. 3.3): the identity, with extra zero channels where the dimensions increase.

    Parameter-free. Where the map size halves, the shortcut takes every second pixel (stride 2).
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.extra = out_planes - in_planes
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # zeros appended along channels

    def extra_repr(self) -> str:
        return f"zero channels={self.extra}, stride={self.stride}"


class Projection(nn.Sequential):
    """Options B and C (Sec. 3.3, Eqn. 2): ``W_s x`` as a 1x1 conv (stride 2 across map sizes) + BN."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


def make_shortcut(shortcut: Shortcut | None, in_planes: int, out_planes: int, stride: int) -> nn.Module | None:
    """The shortcut of one block: ``None`` for a plain net, else identity, zero-pad or projection."""
    if shortcut is None:
        return None
    changes = stride != 1 or in_planes != out_planes
    if shortcut == "C" or (shortcut == "B" and changes):
        return Projection(in_planes, out_planes, stride)
    if changes:  # option A where dimensions increase
        return ZeroPadShortcut(in_planes, out_planes, stride)
    return nn.Identity()


class BasicBlock(nn.Module):
    """Two 3x3 convs (Fig. 2, Fig. 5 left): ``y = relu(F(x) + x)`` with ``F = BN(W2 relu(BN(W1 x)))``."""

    expansion = 1
    convs = 2

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        shortcut: Shortcut | None = "A",
        stride_at: str = "1x1",  # unused: a basic block has a single place for its stride
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = make_shortcut(shortcut, in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))  # F(x, {W_i})
        if self.shortcut is not None:
            out = out + self.shortcut(x)  # Eqn. (1): y = F(x, {W_i}) + x  (Eqn. (2) with W_s x)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 (reduce) - 3x3 - 1x1 (restore, 4x wider) (Sec. 4.1 "Deeper Bottleneck Architectures", Fig. 5).

    The paper strides the first 1x1 of a down-sampling block (``stride_at="1x1"``); torchvision strides
    the 3x3 (``stride_at="3x3"``), which costs more FLOPs because the first 1x1 then runs on the un-halved map.
    """

    expansion = 4
    convs = 3

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        shortcut: Shortcut | None = "B",
        stride_at: str = "1x1",
    ) -> None:
        super().__init__()
        s1, s3 = (stride, 1) if stride_at == "1x1" else (1, stride)
        self.conv1 = conv1x1(in_planes, planes, s1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, s3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = make_shortcut(shortcut, in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))  # F(x, {W_i})
        if self.shortcut is not None:
            out = out + self.shortcut(x)  # Eqn. (1)/(2)
        return self.relu(out)


def make_preact_shortcut(shortcut: Shortcut, in_planes: int, out_planes: int, stride: int) -> nn.Module:
    """The shortcut of a pre-activation unit: identity, zero-padding (A) or a bare 1x1 conv (B, C).

    The projection has no BN of its own: its input is the unit's pre-activated ``relu(BN(x))`` and its
    output is summed with the residual, which the next unit's BN normalises (the sequel's CIFAR code).
    """
    if shortcut not in SHORTCUTS:
        raise ValueError(f"a pre-activation unit needs a shortcut, one of {SHORTCUTS}; got {shortcut!r}")
    changes = stride != 1 or in_planes != out_planes
    if shortcut == "C" or (shortcut == "B" and changes):
        return conv1x1(in_planes, out_planes, stride)
    if changes:
        return ZeroPadShortcut(in_planes, out_planes, stride)
    return nn.Identity()


class _PreActUnit(nn.Module):
    """What the two pre-activation units share: ``x + F(x)``, nothing after the addition.

    Where the shortcut is not the identity (the first unit of a stage), it starts after the unit's first
    BN + ReLU, which both paths then share, as in the authors' code ("both_preact"); elsewhere the
    shortcut carries ``x`` itself, untouched, from unit to unit (the sequel's Eqn. (4)).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = F.relu(self.bn1(x))
        out = self.residual(pre)  # F(x_l)
        carried = x if isinstance(self.shortcut, nn.Identity) else self.shortcut(pre)
        return carried + out  # x_{l+1} = x_l + F(x_l): no ReLU after the addition


class PreActBlock(_PreActUnit):
    """Full pre-activation basic unit (sequel's Fig. 4(e)): ``x + W2 relu(BN(W1 relu(BN(x))))``."""

    expansion = 1
    convs = 2

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: Shortcut = "A", stride_at: str = "1x1") -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.shortcut = make_preact_shortcut(shortcut, in_planes, planes, stride)

    def residual(self, pre: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.bn2(self.conv1(pre))))


class PreActBottleneck(_PreActUnit):
    """Full pre-activation bottleneck unit: BN-ReLU-1x1, BN-ReLU-3x3, BN-ReLU-1x1 (4x wider), plus ``x``.

    The sequel's ResNet-164 and ResNet-1001 on CIFAR-10 are built from it (``9n + 2`` layers).
    """

    expansion = 4
    convs = 3

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: Shortcut = "B", stride_at: str = "1x1") -> None:
        super().__init__()
        s1, s3 = (stride, 1) if stride_at == "1x1" else (1, stride)
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = conv1x1(in_planes, planes, s1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, s3)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.shortcut = make_preact_shortcut(shortcut, in_planes, planes * self.expansion, stride)

    def residual(self, pre: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.bn2(self.conv1(pre))))
        return self.conv3(F.relu(self.bn3(out)))


PREACT_BLOCKS = (PreActBlock, PreActBottleneck)


class CifarStem(nn.Sequential):
    """Sec. 4.2: "The first layer is 3x3 convolutions" with 16 filters, BN, ReLU.

    A pre-activation net's stem is the conv alone: its first unit begins with BN and ReLU.
    """

    def __init__(self, planes: int = 16, preact: bool = False) -> None:
        super().__init__()
        self.conv = conv3x3(3, planes)
        if not preact:
            self.bn = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)


class ImageNetStem(nn.Sequential):
    """Table 1, conv1: 7x7, 64, stride 2; then conv2_x's 3x3 max pool, stride 2."""

    def __init__(self, planes: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, planes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


@dataclass(frozen=True)
class Architecture:
    """A network as data: which stem, which block, how many blocks per stage, how wide each stage."""

    family: Literal["cifar", "imagenet"]
    block: type[BasicBlock] | type[Bottleneck] | type[PreActBlock] | type[PreActBottleneck]
    blocks_per_stage: tuple[int, ...]
    widths: tuple[int, ...]

    @property
    def depth(self) -> int:
        """Weighted layers: convs in the blocks, the first conv and the fc (Sec. 4.2: 6n + 2)."""
        return self.block.convs * sum(self.blocks_per_stage) + 2

    @property
    def preact(self) -> bool:
        """Built of the sequel's full pre-activation units."""
        return self.block in PREACT_BLOCKS


# Table 1: blocks per stage of the ImageNet nets.
IMAGENET = {
    18: Architecture("imagenet", BasicBlock, (2, 2, 2, 2), (64, 128, 256, 512)),
    34: Architecture("imagenet", BasicBlock, (3, 4, 6, 3), (64, 128, 256, 512)),
    50: Architecture("imagenet", Bottleneck, (3, 4, 6, 3), (64, 128, 256, 512)),
    101: Architecture("imagenet", Bottleneck, (3, 4, 23, 3), (64, 128, 256, 512)),
    152: Architecture("imagenet", Bottleneck, (3, 8, 36, 3), (64, 128, 256, 512)),
}
IMAGENET_PLAIN = (18, 34)  # the plain nets of Table 2
# The paper's shortcut choice per ImageNet depth: A for Table 2 (18, 34), B for 50/101/152 (Sec. 4.1).
IMAGENET_DEFAULT_SHORTCUT: dict[int, Shortcut] = {18: "A", 34: "A", 50: "B", 101: "B", 152: "B"}
# Sec. 4.2: n = 3, 5, 7, 9, 18, 200 -> 20, 32, 44, 56, 110, 1202 layers.
CIFAR_PAPER_DEPTHS = (20, 32, 44, 56, 110, 1202)


def _cifar_units(depth: int, bottleneck: bool = False) -> int:
    """``n``, the units per map size of a CIFAR-10 net of ``depth`` layers (6n+2, or 9n+2 of bottlenecks)."""
    n, rest = divmod(depth - 2, 9 if bottleneck else 6)
    if rest or n < 1:
        if bottleneck:
            raise ValueError(
                f"a CIFAR-10 bottleneck net has 9n+2 layers for n >= 1 (11, 20, 29, ...; the sequel's are "
                f"164 and 1001); got depth {depth}"
            )
        raise ValueError(
            f"a CIFAR-10 net has 6n+2 layers for n >= 1 (8, 14, 20, 26, 32, ...; the paper's are "
            f"{', '.join(map(str, CIFAR_PAPER_DEPTHS))}); got depth {depth}"
        )
    return n


def cifar_architecture(depth: int, bottleneck: bool = False, preact: bool = False, width: int = 16) -> Architecture:
    """Sec. 4.2: 6n + 2 layers, n basic blocks on each of the 32, 16 and 8 pixel maps, with 16, 32 and 64
    filters (``width``: the first stage's; the miniature's is 8).

    ``bottleneck=True``: the sequel's 9n + 2 layers, n bottleneck units per map size, 4x wider outputs
    (64, 128, 256). ``preact=True``: the sequel's full pre-activation units.
    """
    block = (PreActBottleneck if preact else Bottleneck) if bottleneck else (PreActBlock if preact else BasicBlock)
    n = _cifar_units(depth, bottleneck)
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width (the first stage's filters; the paper's 16) must be a whole number >= 1, got {width!r}")
    return Architecture("cifar", block, (n, n, n), (width, 2 * width, 4 * width))


class Stage(nn.Sequential):
    """The blocks that share one map size (Table 1's conv2_x ... conv5_x; Sec. 4.2's 32, 16, 8 pixel maps)."""

    def __init__(self, blocks: list[nn.Module], description: str) -> None:
        super().__init__(*blocks)
        self.description = description

    def extra_repr(self) -> str:
        return self.description


class ResNet(nn.Module):
    """One class for every depth: stem, stages of blocks, global average pool, fc (Table 1, Sec. 4.2).

    ``shortcut=None`` builds the plain twin. The first block of every stage but the first halves the
    map with stride 2 (conv3_1, conv4_1, conv5_1 in Table 1; the 16 and 8 pixel maps in Sec. 4.2).
    """

    def __init__(
        self,
        arch: Architecture,
        shortcut: Shortcut | None = "A",
        num_classes: int = 10,
        stride_at: str = "1x1",
    ) -> None:
        super().__init__()
        self.arch = arch
        self.shortcut_option = shortcut
        stem_width = arch.widths[0]
        self.stem = CifarStem(stem_width, arch.preact) if arch.family == "cifar" else ImageNetStem(stem_width)
        in_planes = stem_width
        stages = []
        for i, (blocks, planes) in enumerate(zip(arch.blocks_per_stage, arch.widths)):
            stride = 1 if i == 0 else 2
            stage = []
            for b in range(blocks):
                stage.append(arch.block(in_planes, planes, stride if b == 0 else 1, shortcut, stride_at))
                in_planes = planes * arch.block.expansion
            if arch.family == "cifar":
                size = 32 // 2**i
                where = f"{size}x{size} maps, {planes} filters, {blocks} blocks (Sec. 4.2)"
            else:
                size = 56 // 2**i
                where = f"conv{i + 2}_x: {size}x{size} maps at 224x224 input, {blocks} blocks (Table 1)"
            stages.append(Stage(stage, where))
        self.stages = nn.Sequential(*stages)
        # The sequel: after the last addition, one BN + ReLU before pooling (nothing else follows an addition).
        self.final = nn.Sequential(nn.BatchNorm2d(in_planes), nn.ReLU(inplace=True)) if arch.preact else nn.Identity()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        self.reset_parameters()

    def extra_repr(self) -> str:
        a = self.arch
        kind = "plain" if self.shortcut_option is None else f"shortcut option {self.shortcut_option} (Sec. 3.3)"
        if a.preact:
            kind += ", full pre-activation units (Identity Mappings, Fig. 4(e))"
        if a.family == "cifar":
            layers = f"{3 * a.block.convs}n+2"
            return f"CIFAR-10 net, {layers} = {a.depth} weighted layers with n = {a.blocks_per_stage[0]}, {kind}"
        return f"ImageNet net, {a.depth} layers, {a.block.__name__} x {list(a.blocks_per_stage)} (Table 1), {kind}"

    def reset_parameters(self) -> None:
        """He initialisation (Sec. 3.4, ref. [13]) for convs; BN starts as the identity map."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final(self.stages(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# A network's name: ``resnet56``, ``plain20``; the sequel's nets are ``preact-resnet110`` (full
# pre-activation units) and ``resnet164-bottleneck`` / ``preact-resnet164-bottleneck`` (9n+2 layers of
# bottleneck units).
# ``\d`` matches any Unicode digit ("resnet８", full-width): ``Net.parse`` then names the one spelling of
# the net (ASCII digits, no leading zero), so one net has one record id and one name in its record.
_NAME = re.compile(r"(?P<preact>preact-)?(?P<kind>resnet|plain)(?P<depth>\d+)(?P<bottleneck>-bottleneck)?")
# The deepest network trained here: the paper's ResNet-1202 (Sec. 4.2). resnet99999998 would build for hours.
MAX_DEPTH = 1202


def _shown(name: object) -> str:
    """A name as an error message quotes it: its first 40 characters where it is longer (a 5,000-digit depth)."""
    text = repr(name)
    return text if len(text) <= 48 else f"{text[:40]}...' ({len(str(name)):,} characters)"


def _spelled(match: re.Match) -> str | None:
    """The one spelling of a matched name (``resnet008`` and ``resnet８`` are ``resnet8``); None if its depth
    has too many digits to be a net's."""
    digits = match["depth"]
    if len(digits) > 4_000:  # int() refuses more than 4,300 digits
        return None
    return f"{match['preact'] or ''}{match['kind']}{int(digits)}{match['bottleneck'] or ''}"


def _valid_names() -> str:
    return (
        "resnet{6n+2} or plain{6n+2} for n >= 1 (CIFAR-10, Sec. 4.2; the paper's: "
        + ", ".join(f"resnet{d}" for d in CIFAR_PAPER_DEPTHS)
        + "), resnet18/34/50/101/152 and plain18/34 (ImageNet, Table 1); the sequel's preact-resnet{6n+2}, "
        "resnet{9n+2}-bottleneck and preact-resnet{9n+2}-bottleneck (CIFAR-10)"
    )


@dataclass(frozen=True)
class Net:
    """Which network a run, a record or a figure means, parsed from its name without building it.

    ``Net.parse("resnet56")`` is ResNet-56 with the paper's shortcut (option A on CIFAR-10) filled in, so
    two spellings of one net compare equal; ``name`` is what ``Config.model`` and a record's ``model``
    hold, ``label`` what a figure prints, ``record_id`` a record's file name, ``build()`` the network.
    A plain net has ``shortcut=None``; a ResNet always has one (A, B or C, Sec. 3.3).
    """

    kind: Literal["resnet", "plain"]
    depth: int
    family: Literal["cifar", "imagenet"] = "cifar"
    shortcut: Shortcut | None = "A"
    preact: bool = False  # the sequel's full pre-activation units (CIFAR-10)
    bottleneck: bool = False  # the sequel's CIFAR-10 bottleneck nets, 9n+2 layers

    @classmethod
    def parse(
        cls,
        name: str,
        shortcut: Shortcut | None = None,
        family: Literal["cifar", "imagenet"] | None = None,
        preact: bool = False,
        bottleneck: bool = False,
    ) -> "Net":
        """Check a name (and options) as ``get_model`` takes them; the error names what is wrong.

        ``shortcut=None`` is the paper's choice for the net (A on CIFAR-10 and for ResNet-18/34, B for
        ResNet-50/101/152 and the sequel's bottleneck nets); plain nets take none."""
        match = _NAME.fullmatch(name) if isinstance(name, str) else None
        if match is None:
            raise ValueError(f"unknown model {_shown(name)}: valid names are {_valid_names()}")
        kind, digits = match["kind"], match["depth"]
        if not digits.isascii() or (digits.startswith("0") and len(digits) > 1):
            spelled = _spelled(match)
            use = f"write it {spelled!r}" if spelled else "write its depth"
            raise ValueError(
                f"model {_shown(name)}: {use} (ASCII digits, no leading zero), the one spelling its records are found by"
            )
        if len(digits) > len(str(MAX_DEPTH)):  # before int(): Python refuses to convert more than 4,300 digits
            raise ValueError(
                f"{name if len(name) <= 40 else _shown(name)}: deeper than {MAX_DEPTH} layers, the paper's deepest (ResNet-1202, Sec. 4.2)"
            )
        depth = int(digits)
        preact, bottleneck = preact or bool(match["preact"]), bottleneck or bool(match["bottleneck"])
        if family not in (None, "cifar", "imagenet"):
            raise ValueError(f"unknown family {family!r}: valid are 'cifar', 'imagenet'")
        if family is None:
            family = "cifar" if (preact or bottleneck) else "imagenet" if depth in IMAGENET else "cifar"
        if (preact or bottleneck) and family == "imagenet":
            raise ValueError(f"{name}: preact and bottleneck select CIFAR-10 nets (the sequel's); not family='imagenet'")
        if preact and kind == "plain":
            raise ValueError(f"{name} is a plain net: pre-activation units need a shortcut (use resnet{depth})")
        if family == "imagenet":
            if depth not in (IMAGENET_PLAIN if kind == "plain" else tuple(IMAGENET)):
                raise ValueError(f"unknown model {name!r} for ImageNet: valid names are {_valid_names()}")
        elif depth > MAX_DEPTH:
            raise ValueError(f"{name}: deeper than {MAX_DEPTH} layers, the paper's deepest (ResNet-1202, Sec. 4.2)")
        else:
            try:
                _cifar_units(depth, bottleneck)
            except ValueError as err:
                raise ValueError(f"unknown model {name!r}: {err}; valid names are {_valid_names()}") from None
        if kind == "plain":
            if shortcut is not None:
                raise ValueError(f"{name} is a plain net: it has no shortcuts (got shortcut={shortcut!r})")
        elif shortcut is None:
            shortcut = IMAGENET_DEFAULT_SHORTCUT[depth] if family == "imagenet" else "B" if bottleneck else "A"
        elif shortcut not in SHORTCUTS:
            raise ValueError(
                f"unknown shortcut {shortcut!r}: valid are 'A' (zero-padding), 'B' (projection where "
                "dimensions increase), 'C' (all projections) (Sec. 3.3)"
            )
        return cls(kind, depth, family, shortcut, preact, bottleneck)

    @classmethod
    def of(cls, model: "ResNet") -> "Net":
        """The ``Net`` a built network is."""
        a = model.arch
        bottleneck = a.family == "cifar" and a.block in (Bottleneck, PreActBottleneck)
        kind = "plain" if model.shortcut_option is None else "resnet"
        return cls(kind, a.depth, a.family, model.shortcut_option, a.preact, bottleneck)

    @property
    def name(self) -> str:
        """``resnet56``, ``plain20``, ``preact-resnet110``, ``preact-resnet164-bottleneck`` (the family is
        not in the name: ``resnet50`` is the ImageNet net unless ``family="cifar"`` is given)."""
        return f"{'preact-' if self.preact else ''}{self.kind}{self.depth}{'-bottleneck' if self.bottleneck else ''}"

    @property
    def label(self) -> str:
        """As the paper writes it: ``ResNet-56``, ``plain-20``; ``pre-act ResNet-110``, ``ResNet-164 (bottleneck)``."""
        label = f"{'plain' if self.kind == 'plain' else 'ResNet'}-{self.depth}"
        if self.bottleneck:
            label += " (bottleneck)"
        return f"pre-act {label}" if self.preact else label

    def run_name(self, seed: int | None = None) -> str:
        """``resnet56-A``, ``plain56-plain``; ``-seedN`` added with a seed."""
        name = f"{self.name}-{self.shortcut or 'plain'}"
        return name if seed is None else f"{name}-seed{seed}"

    def record_id(self, preset: str, seed: int) -> str:
        """A run record's id and file name (``resnet_book.runs``): ``resnet20-A-paper-seed0``."""
        return f"{self.name}-{self.shortcut or 'plain'}-{preset}-seed{seed}"

    @property
    def arch(self) -> Architecture:
        if self.family == "imagenet":
            return IMAGENET[self.depth]
        return cifar_architecture(self.depth, bottleneck=self.bottleneck, preact=self.preact)

    def build(self, num_classes: int | None = None, stride_at: str = "1x1", width: int | None = None) -> "ResNet":
        """The network itself (10 classes on CIFAR-10, 1,000 on ImageNet by default); ``width``: a CIFAR-10
        net's first-stage filters (None: the paper's 16)."""
        if stride_at not in STRIDE_AT:
            raise ValueError(f"unknown stride_at {stride_at!r}: valid are '1x1' (paper), '3x3' (torchvision)")
        if num_classes is None:
            num_classes = 1000 if self.family == "imagenet" else 10
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        arch = self.arch
        if width is not None:
            if self.family != "cifar":
                raise ValueError(f"width is a CIFAR-10 net's; {self.name} is an ImageNet net (Table 1 fixes its widths)")
            arch = cifar_architecture(self.depth, bottleneck=self.bottleneck, preact=self.preact, width=width)
        return ResNet(arch, shortcut=self.shortcut, num_classes=num_classes, stride_at=stride_at)


def list_models() -> list[str]:
    """The paper's networks. Any ``resnet{6n+2}`` / ``plain{6n+2}`` is accepted by ``get_model`` too."""
    cifar = [f"{kind}{d}" for kind in ("plain", "resnet") for d in CIFAR_PAPER_DEPTHS]
    imagenet = [f"plain{d}" for d in IMAGENET_PLAIN] + [f"resnet{d}" for d in IMAGENET]
    return cifar + imagenet


def get_model(
    name: str,
    *,
    shortcut: Shortcut | None = None,
    num_classes: int | None = None,
    family: Literal["cifar", "imagenet"] | None = None,
    stride_at: str = "1x1",
    preact: bool = False,
    bottleneck: bool = False,
    width: int | None = None,
) -> ResNet:
    """Build a network of the paper by name, e.g. ``get_model("resnet56")``.

    Args:
        name: ``resnet{d}`` or ``plain{d}``. ``d`` in 18, 34, 50, 101, 152 is the ImageNet net of
            Table 1 (torchvision's names); any other ``d = 6n + 2`` is the CIFAR-10 net of Sec. 4.2.
            Depths 50 and 152 are also 6n+2: pass ``family="cifar"`` for the CIFAR-10 net. The sequel's
            nets by name: ``preact-resnet110``, ``preact-resnet164-bottleneck`` (or the keywords below).
        shortcut: ``"A"`` zero-padding, ``"B"`` projections where dimensions increase, ``"C"`` all
            projections (Sec. 3.3). Default: the paper's choice (A on CIFAR-10 and for ResNet-18/34,
            B for ResNet-50/101/152). Plain nets have none.
        num_classes: width of the last fc; default 10 (CIFAR-10) or 1000 (ImageNet).
        family: ``"cifar"`` or ``"imagenet"``; default from the depth as above.
        stride_at: where a bottleneck strides, ``"1x1"`` (paper) or ``"3x3"`` (torchvision).
        preact: full pre-activation units of the sequel (Identity Mappings, Fig. 4(e)), CIFAR-10 ResNets
            only, e.g. ``get_model("resnet110", preact=True)``.
        bottleneck: CIFAR-10 nets of bottleneck units with ``9n + 2`` layers (the sequel's ResNet-164 and
            ResNet-1001, shortcut B by default), e.g. ``get_model("resnet164", bottleneck=True, preact=True)``.
        width: a CIFAR-10 net's first-stage filters (default the paper's 16; the miniature's 8).
    """
    net = Net.parse(name, shortcut=shortcut, family=family, preact=preact, bottleneck=bottleneck)
    return net.build(num_classes=num_classes, stride_at=stride_at, width=width)


@dataclass(frozen=True)
class LayoutRow:
    """One row of Table 1 (or of Sec. 4.2's table): a part of the net, the map it outputs, its layers."""

    name: str  # Table 1's layer name (conv1, conv2_x, ...), or a CIFAR-10 net's stage
    output: str  # the output map, e.g. "56x56"
    layers: str  # the paper's notation, e.g. "[3x3, 64; 3x3, 64] x 2"
    blocks: int  # blocks in this part (0 for the stem and the head)


def layout(model: ResNet, input_size: int) -> list[LayoutRow]:
    """Table 1's columns for one net, read from the built ``model``: each part's output map and layers.

    The map sizes are those of a forward pass of one ``input_size`` x ``input_size`` image (on the meta
    device: shapes only, no arithmetic); the layers are the kernel sizes and widths of each stage's first
    block, "x n" its number of blocks.
    """
    import copy

    net = copy.deepcopy(model).to("meta").eval()
    outputs: dict[str, tuple[int, ...]] = {}
    parts = {"conv1": net.stem.conv, "stem": net.stem, **{f"stage{i}": s for i, s in enumerate(net.stages)}}
    hooks = [
        m.register_forward_hook(lambda _m, _i, out, k=k: outputs.__setitem__(k, tuple(out.shape[1:]))) for k, m in parts.items()
    ]
    try:
        net(torch.zeros(1, 3, input_size, input_size, device="meta"))
    finally:
        for h in hooks:
            h.remove()

    def size(key: str) -> str:
        return "x".join(map(str, outputs[key][1:]))

    def label(conv: nn.Conv2d) -> str:
        return f"{conv.kernel_size[0]}x{conv.kernel_size[1]}, {conv.out_channels}"

    stem = net.stem.conv
    imagenet = net.arch.family == "imagenet"
    first = f"{label(stem)}, stride {stem.stride[0]}"
    rows = [LayoutRow("conv1", size("conv1"), first, 0)]
    for i, stage in enumerate(net.stages):
        block = stage[0]
        convs = "; ".join(label(m) for m in block.children() if isinstance(m, nn.Conv2d))
        text = f"[{convs}] x {len(stage)}"
        if imagenet and i == 0:
            text = f"3x3 max pool, stride 2; {text}"
        rows.append(LayoutRow(f"conv{i + 2}_x" if imagenet else f"stage {i + 1}", size(f"stage{i}"), text, len(stage)))
    rows.append(LayoutRow("", "1x1", f"average pool, {net.fc.out_features}-d fc, softmax", 0))
    return rows


def count_parameters(model: nn.Module) -> int:
    """Number of learned parameters (BN's running statistics are buffers, not parameters)."""
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------------------------
# The sequel's ablation of the shortcut (Identity Mappings, Sec. 3.1, Fig. 2, Table 1)
#
# ResNet-110 of the first paper's units (Fig. 2 there: BN after each conv, ReLU after the addition) with every
# shortcut changed. Each variant is a module that replaces a BasicBlock's ``shortcut``, so the block's forward
# pass, ``relu(F(x) + h(x))``, is unchanged and only ``h`` differs.


class ScaledShortcut(nn.Module):
    """The sequel's Fig. 2(b), constant scaling: ``h(x) = lambda * x`` (its Eqn. (6)), F left unscaled.

    Over ``L - l`` units the shortcut alone carries ``lambda ** (L - l)`` of the gradient (its Eqn. (8))."""

    def __init__(self, shortcut: nn.Module, scale: float) -> None:
        super().__init__()
        self.shortcut = shortcut  # the identity (or option A's zero-padding where the dimensions increase)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.shortcut(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class GatedShortcut(nn.Module):
    """The sequel's Fig. 2(d), shortcut-only gating: ``h(x) = (1 - g(x)) * x``, ``g(x) = sigmoid(W_g x + b_g)``.

    ``W_g`` is a 1x1 conv with a bias (Sec. 3.1, "Exclusive gating"), strided like the unit, He-initialised
    like every conv here; ``b_g`` starts at ``gate_bias``: 0 makes ``1 - g(x)`` about 0.5 at first (the
    sequel's 12.86 % row), -6 nearly the identity (its 6.91 % row)."""

    def __init__(self, shortcut: nn.Module, in_planes: int, out_planes: int, stride: int, gate_bias: float) -> None:
        super().__init__()
        self.shortcut = shortcut
        self.gate = nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=True)
        nn.init.kaiming_normal_(self.gate.weight, mode="fan_out", nonlinearity="relu")
        nn.init.constant_(self.gate.bias, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (1 - torch.sigmoid(self.gate(x))) * self.shortcut(x)


# variant -> the sequel's figure for it. "1x1 conv" is the first paper's option C (the sequel says so).
SHORTCUT_VARIANTS = {"scaled": "Fig. 2(b)", "gated": "Fig. 2(d)", "1x1 conv": "Fig. 2(e)"}


def shortcut_kind(block: nn.Module) -> str | None:
    """What a block's shortcut is, in the one vocabulary the package uses (diagrams draw it, packs group by
    it): None (a plain net's block: no shortcut), "identity", "zero-padding" (option A where the dimensions
    increase) or "projection" (options B and C, Eqn. (2)); "scaled" or "gated" for the sequel's variants
    (``shortcut_variant``)."""
    s = getattr(block, "shortcut", None)
    if s is None:
        return None
    if isinstance(s, ScaledShortcut):
        return "scaled"
    if isinstance(s, GatedShortcut):
        return "gated"
    if isinstance(s, (Projection, nn.Conv2d)):  # a pre-activation unit's projection is a bare 1x1 conv
        return "projection"
    return "zero-padding" if isinstance(s, ZeroPadShortcut) else "identity"


def shortcut_variant(name: str, variant: str, *, scale: float = 0.5, gate_bias: float = 0.0, width: int | None = None) -> ResNet:
    """A CIFAR-10 ResNet of the first paper's units with every shortcut changed as in the sequel's Table 1.

    Args:
        name: a CIFAR-10 ResNet, ``resnet{6n+2}`` (the sequel's is ``resnet110``).
        variant: ``"scaled"`` (Fig. 2(b): ``h(x) = scale * x``), ``"gated"`` (Fig. 2(d): ``h(x) = (1 - g(x)) x``,
            bias of ``g`` starting at ``gate_bias``) or ``"1x1 conv"`` (Fig. 2(e): a 1x1 conv + BN on every
            shortcut, i.e. ``get_model(name, shortcut="C")``).
        width: the first stage's filters (default the paper's 16), as ``get_model``'s.

    With the same ``torch.manual_seed`` the convolutions of ``F`` start from the same draws as
    ``get_model(name)``'s: the gates are drawn after them. Shortcuts that increase the dimensions (option A's
    zero-padding) are scaled or gated too: Table 1 changes every unit.
    """
    if variant not in SHORTCUT_VARIANTS:
        raise ValueError(f"unknown shortcut variant {variant!r}: valid are {', '.join(map(repr, SHORTCUT_VARIANTS))}")
    if not isinstance(name, str) or not name.startswith("resnet"):
        raise ValueError(f"{name!r}: a shortcut variant needs a CIFAR-10 ResNet, resnet{{6n+2}} (the sequel's: resnet110)")
    if variant == "1x1 conv":
        return get_model(name, shortcut="C", family="cifar", width=width)
    model = get_model(name, family="cifar", width=width)
    for stage in model.stages:
        for block in stage:
            if variant == "scaled":
                block.shortcut = ScaledShortcut(block.shortcut, scale)
            else:
                stride = block.conv1.stride[0]
                block.shortcut = GatedShortcut(
                    block.shortcut, block.conv1.in_channels, block.conv2.out_channels, stride, gate_bias
                )
    return model
