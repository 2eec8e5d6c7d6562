"""Several runs of a sweep trained as one network: the speed trick for small nets on a big GPU.

At batch 128 a CIFAR-10 net of Sec. 4.2 leaves an H100 mostly idle: every kernel is tiny and the step
is bound by how many kernels run one after another, not by arithmetic. Runs of the same depth (ResNet-56
and its plain twin, or shortcut options A, B and C) can be trained as *one* network that is G times
wider and has the same number of kernels:

* every 3x3 and 1x1 conv is a grouped conv: group ``g`` holds run ``g``'s filters and sees only run
  ``g``'s channels; BN normalises each channel on its own, ReLU is elementwise, the fc is one matrix per
  run; the stem is one conv with every run's filters over the images the runs share (a grouped conv
  where each run has its own, see below);
* the loss is the sum of the runs' losses, so each run gets exactly its own gradient, and the SGD update
  (momentum, weight decay) is elementwise, so each run's update is the one it would get alone;
* a block whose runs use different shortcuts adds each shortcut through a 0/1 mask per channel: a plain
  run adds nothing, option A adds the (zero-padded) identity, B and C add the projection.

Each run starts from the weights it would have alone (built with ``torch.manual_seed(seed)``, then
packed). Runs that share the seed see the same mini-batches, and the stem reads the one batch. Runs of one
net with *other seeds* (``own_inputs``: the repeats behind a "mean +- std") each see their own mini-batches:
the input holds every run's batch side by side in channels, ``(batch, 3 x runs, H, W)``, and the stem is a
grouped conv too. ``unpack(g)`` gives run ``g`` back as an ordinary ``ResNet``. Tests check that a packed
run trains like the same run alone.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from .models import BasicBlock, Net, Projection, ResNet, get_model, shortcut_kind


def _grouped_conv(c: nn.Conv2d, runs: int, shared_input: bool = False) -> nn.Conv2d:
    """One conv holding ``runs`` copies of ``c``'s filters: grouped, or over a shared input (the stem)."""
    groups = 1 if shared_input else runs
    return nn.Conv2d(c.in_channels * groups, c.out_channels * runs, c.kernel_size, c.stride, c.padding, groups=groups, bias=False)


def _packed_bn(bn: nn.BatchNorm2d, runs: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(bn.num_features * runs, bn.eps, bn.momentum)


class PackedBlock(nn.Module):
    """G basic blocks of one position in G runs: ``y = relu(F(x) + m_id * x + m_proj * W_s x)``."""

    def __init__(self, blocks: list[BasicBlock]) -> None:
        super().__init__()
        b = blocks[0]
        self.groups = len(blocks)
        self.conv1, self.bn1 = _grouped_conv(b.conv1, self.groups), _packed_bn(b.bn1, self.groups)
        self.conv2, self.bn2 = _grouped_conv(b.conv2, self.groups), _packed_bn(b.bn2, self.groups)
        self.relu = nn.ReLU(inplace=True)
        self.in_planes, self.planes, self.stride = b.conv1.in_channels, b.conv2.out_channels, b.conv1.stride[0]
        self.kinds = kinds = [shortcut_kind(k) for k in blocks]
        if not set(kinds) <= {None, "identity", "zero-padding", "projection"}:  # the sequel's variants train alone
            raise ValueError(f"a pack holds the paper's shortcuts (identity, zero-padding, projection) or none, not {kinds}")
        uses_identity = [k in ("identity", "zero-padding") for k in kinds]
        uses_projection = [k == "projection" for k in kinds]
        self.adds_identity = any(uses_identity)
        self.projection = None
        if any(uses_projection):  # runs without one get an unused, masked-out slice that stays zero
            conv, bn = next(k.shortcut for k, uses in zip(blocks, uses_projection) if uses)
            self.projection = nn.Sequential(_grouped_conv(conv, self.groups), _packed_bn(bn, self.groups))
            nn.init.zeros_(self.projection[0].weight)
        self.register_buffer("identity_mask", self._mask(uses_identity), persistent=False)
        self.register_buffer("projection_mask", self._mask(uses_projection), persistent=False)

    def extra_repr(self) -> str:
        return "shortcut per run: " + ", ".join(k or "none" for k in self.kinds)

    def _mask(self, uses: list[bool]) -> torch.Tensor | None:
        """1 on the channels of the runs that use a shortcut, 0 elsewhere; None if all or none use it."""
        if all(uses) or not any(uses):
            return None
        return torch.cat([torch.full((self.planes,), float(u)) for u in uses])[None, :, None, None]

    def _identity(self, x: torch.Tensor) -> torch.Tensor:
        """Option A per run: the identity, subsampled and zero-padded within each run's channels."""
        if self.stride == 1 and self.in_planes == self.planes:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        n, _, h, w = x.shape
        x = nn.functional.pad(x.reshape(n, self.groups, self.in_planes, h, w), (0, 0, 0, 0, 0, self.planes - self.in_planes))
        return x.reshape(n, self.groups * self.planes, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.adds_identity:
            s = self._identity(x)
            out = out + (s if self.identity_mask is None else s * self.identity_mask.to(s.dtype))
        if self.projection is not None:
            p = self.projection(x)
            out = out + (p if self.projection_mask is None else p * self.projection_mask.to(p.dtype))
        return self.relu(out)


class PackedResNet(nn.Module):
    """G CIFAR-10 nets of one depth (plain or any shortcut) as one network; output ``(batch, G, classes)``."""

    def __init__(self, models: list[ResNet], names: list[str] | None = None, own_inputs: bool = False) -> None:
        super().__init__()
        if len(models) < 1:
            raise ValueError("a pack needs at least one network")
        first = models[0]
        for m in models:
            if m.arch.block is not BasicBlock:
                raise ValueError(f"a pack holds CIFAR-10 nets of the paper's basic blocks, not {m.arch.block.__name__}")
            if m.arch != first.arch or m.arch.family != "cifar":
                raise ValueError(
                    "a pack holds CIFAR-10 nets of one depth (their layers must line up); got "
                    + ", ".join(f"{m.arch.family} depth {m.arch.depth}" for m in models)
                )
            if m.fc.out_features != first.fc.out_features:
                raise ValueError("the nets of a pack must have the same number of classes")
        self.groups = g = len(models)
        self.names = names or [Net.of(m).name for m in models]
        self.shortcut_options = [m.shortcut_option for m in models]
        self.arch = first.arch
        self.own_inputs = own_inputs  # input (batch, 3 x runs, H, W): each run its own images
        self.stem_conv = _grouped_conv(first.stem.conv, g, shared_input=not own_inputs)
        self.stem_bn = _packed_bn(first.stem.bn, g)
        self.relu = nn.ReLU(inplace=True)
        blocks = [list(m.stages.modules()) for m in models]
        blocks = [[b for b in bs if isinstance(b, BasicBlock)] for bs in blocks]
        self.blocks = nn.Sequential(*(PackedBlock(list(column)) for column in zip(*blocks)))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc_weight = nn.Parameter(torch.stack([m.fc.weight.detach() for m in models]))  # (G, classes, C)
        self.fc_bias = nn.Parameter(torch.stack([m.fc.bias.detach() for m in models]))  # (G, classes)
        self.to(first.fc.weight.device)
        with torch.no_grad():
            for i, m in enumerate(models):
                for mine, packed in self._pairs(m, i):
                    packed.copy_(mine)

    def extra_repr(self) -> str:
        runs = ", ".join(f"{n}{'' if s is None else '-' + s}" for n, s in zip(self.names, self.shortcut_options))
        inputs = ", each on its own images" if self.own_inputs else ""
        return f"{self.groups} runs packed as one network{inputs}: {runs}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.relu(self.stem_bn(self.stem_conv(x))))
        x = torch.flatten(self.avgpool(x), 1).view(len(x), self.groups, -1)  # (batch, G, C)
        return torch.einsum("bgc,gkc->bgk", x, self.fc_weight.to(x.dtype)) + self.fc_bias.to(x.dtype)

    def _pairs(self, model: ResNet, g: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(tensor of run ``g``'s own net, its slice of the pack) for every parameter and BN statistic."""

        def bn(mine: nn.BatchNorm2d, packed: nn.BatchNorm2d):
            c = mine.num_features
            for name in ("weight", "bias", "running_mean", "running_var"):
                yield getattr(mine, name), getattr(packed, name)[g * c : (g + 1) * c]
            yield mine.num_batches_tracked, packed.num_batches_tracked

        def conv(mine: nn.Conv2d, packed: nn.Conv2d):
            c = mine.out_channels
            yield mine.weight, packed.weight[g * c : (g + 1) * c]

        yield from conv(model.stem.conv, self.stem_conv)
        yield from bn(model.stem.bn, self.stem_bn)
        mine_blocks = [b for b in model.stages.modules() if isinstance(b, BasicBlock)]
        for mine, packed in zip(mine_blocks, self.blocks):
            yield from conv(mine.conv1, packed.conv1)
            yield from bn(mine.bn1, packed.bn1)
            yield from conv(mine.conv2, packed.conv2)
            yield from bn(mine.bn2, packed.bn2)
            if isinstance(mine.shortcut, Projection):
                yield from conv(mine.shortcut[0], packed.projection[0])
                yield from bn(mine.shortcut[1], packed.projection[1])
        yield model.fc.weight, self.fc_weight[g]
        yield model.fc.bias, self.fc_bias[g]

    @torch.no_grad()
    def unpack(self, g: int) -> ResNet:
        """Run ``g`` as an ordinary ``ResNet`` (a copy, on the pack's device, in the pack's memory format)."""
        if not 0 <= g < self.groups:
            raise IndexError(f"run {g} of a pack of {self.groups}")
        model = get_model(
            self.names[g], shortcut=self.shortcut_options[g], num_classes=self.fc_weight.shape[1], family="cifar"
        ).to(self.fc_weight.device)
        if self.stem_conv.weight.is_contiguous(memory_format=torch.channels_last):
            model = model.to(memory_format=torch.channels_last)
        for mine, packed in self._pairs(model, g):
            mine.copy_(packed)
        model.train(self.training)
        return model
