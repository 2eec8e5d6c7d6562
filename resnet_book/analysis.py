"""Analyses of networks that the chapters share: layer responses (Fig. 7), gradient norms, what the
shortcut options cost (Sec. 3.3), and the loss surface around a trained net (Li et al. 2018)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .flops import count_flops
from .models import BasicBlock, Bottleneck, Projection, ResNet, count_parameters
from .runs import Run


def response_layers(model: ResNet) -> list[nn.BatchNorm2d]:
    """The BN after each 3x3 conv, in layer order: where Fig. 7 reads its responses (Sec. 4.2).

    "The responses are the outputs of each 3x3 layer, after BN and before other nonlinearity
    (ReLU/addition)." The CIFAR stem's conv is a 3x3 layer too.
    """
    if model.arch.preact:
        raise ValueError(
            "Fig. 7 reads the original block's BN outputs; a pre-activation net (the sequel's) has its BN "
            "in front of each conv, so its responses are not the paper's quantity"
        )
    layers = []
    if model.stem.conv.kernel_size == (3, 3):
        layers.append(model.stem.bn)
    for block in model.stages.modules():
        if isinstance(block, BasicBlock):
            layers += [block.bn1, block.bn2]
        elif isinstance(block, Bottleneck):
            layers.append(block.bn2)
    return layers


@torch.no_grad()
def layer_responses(model: ResNet, images: torch.Tensor, batch_size: int = 1000) -> list[float]:
    """Fig. 7: the standard deviation of each 3x3 layer's response over ``images`` (inference mode)."""
    layers = response_layers(model)
    sums = torch.zeros(len(layers), 2, dtype=torch.float64, device=images.device)
    counts = [0] * len(layers)

    def hook(i):
        def record(_module, _inp, out):
            out = out.double()
            sums[i, 0] += out.sum()
            sums[i, 1] += (out * out).sum()
            counts[i] += out.numel()

        return record

    handles = [layer.register_forward_hook(hook(i)) for i, layer in enumerate(layers)]
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(images), batch_size):
            model(images[i : i + batch_size].float())
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    n = torch.tensor(counts, dtype=torch.float64, device=images.device)
    mean = sums[:, 0] / n
    return (sums[:, 1] / n - mean * mean).clamp_min(0).sqrt().tolist()


def gradient_norms(model: ResNet, images: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """The gradient norm of each weighted layer's weights (convs then fc, in order) for one batch.

    At initialisation this shows why plain nets are hard to optimise: in a deep plain net the gradient
    reaching the first layers differs by orders of magnitude from the last ones'; identity shortcuts
    carry it back unchanged (Sec. 3.1, Eqn. (1)).
    """
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(images.float()), labels).backward()
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None]
    norms = [w.grad.norm().item() for w in weights]
    model.zero_grad(set_to_none=True)
    return norms


def mean_response_std(runs: Sequence[Run]) -> list[float]:
    """Fig. 7 over the seeds of one net: each layer's response std (``final.layer_response_std`` of the
    records, computed by ``layer_responses``), averaged over the runs layer by layer."""
    stds = [run.final.get("layer_response_std") for run in runs]
    if not stds or any(not s or len(s) != len(stds[0]) for s in stds):
        raise ValueError(f"Fig. 7 needs layer_response_std of one length in every run: {[r.id for r in runs]}")
    return [sum(layer) / len(layer) for layer in zip(*stds)]


def mean_response(run: Run) -> float:
    """Fig. 7 in one number: the mean over a net's 3x3 layers of their response std
    (``final.layer_response_std``). The paper's two findings (Sec. 4.2) compare it: a ResNet below its
    plain twin, and a deeper ResNet below a shallower one."""
    stds = run.final.get("layer_response_std")
    if not stds:
        raise ValueError(f"record {run.id} has no layer_response_std (Fig. 7)")
    return sum(stds) / len(stds)


@dataclass(frozen=True)
class ShortcutCost:
    """What a net costs with one shortcut option (Sec. 3.3, options A/B/C): its parameters and FLOPs
    (multiply-adds, fvcore), the part of them in the shortcuts of each stage, and its projections."""

    params: int
    flops: int
    stages: tuple[tuple[int, int], ...]  # per stage: (parameters, FLOPs) of its blocks' shortcuts
    projections: int  # 1x1 projections W_s (Eqn. 2): B has one per stage transition, C one per block


def shortcut_cost(model: ResNet, input_size: int = 32) -> ShortcutCost:
    """``ShortcutCost`` of ``model`` for one ``input_size`` x ``input_size`` image, from one fvcore trace.

    Option A is free (zero-padding, Sec. 3.3); B and C pay for their projections, which Sec. 4.1 finds
    "not essential" on ImageNet (Table 3) and chapter 3 counts."""
    flops = count_flops(model, input_size, by_module=True)
    stages = tuple(
        (
            sum(count_parameters(block.shortcut) for block in stage if block.shortcut is not None),
            sum(flops.get(f"stages.{i}.{j}.shortcut", 0) for j in range(len(stage))),
        )
        for i, stage in enumerate(model.stages)
    )
    projections = sum(isinstance(m, Projection) for m in model.modules())
    return ShortcutCost(count_parameters(model), flops[""], stages, projections)


# ------------------------------------------------------------------------------------------ loss surface


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A random direction in weight space scaled filter by filter to the weights (Li et al., "Visualizing the
    Loss Landscape of Neural Nets", NeurIPS 2018, Sec. 4): Gaussian entries, each filter (a conv's or the fc's
    output row) rescaled to the norm of the same filter of ``model``, so nets of different weight scales
    compare; BN's scales and shifts and the biases (1-D tensors) do not move, as in their figures."""
    direction = {}
    for name, w in model.named_parameters():
        if w.dim() <= 1:
            direction[name] = torch.zeros_like(w)
            continue
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
        dims = tuple(range(1, w.dim()))
        scale = torch.linalg.vector_norm(w.detach(), dim=dims, keepdim=True) / torch.linalg.vector_norm(d, dim=dims, keepdim=True)
        direction[name] = d * scale
    return direction


@dataclass(frozen=True)
class LossSurface:
    """The training loss at ``model + a * d1 + b * d2`` on a grid: ``loss[j][i]`` at ``a = coords[i]``,
    ``b = coords[j]`` (the trained net at the centre), with the directions of ``filter_normalized_direction``."""

    coords: list[float]
    loss: list[list[float]]

    @property
    def centre(self) -> float:
        """The loss of the trained net itself."""
        return self.loss[len(self.coords) // 2][len(self.coords) // 2]

    @property
    def highest(self) -> float:
        """The highest loss on the grid: how far the walls rise within the same filter-normalised square."""
        return max(map(max, self.loss))

    @property
    def median(self) -> float:
        """The median loss over the grid."""
        return statistics.median(value for row in self.loss for value in row)

    def line(self) -> list[float]:
        """The loss along direction 1 through the trained net (``b = 0``)."""
        return self.loss[len(self.coords) // 2]


@torch.no_grad()
def loss_surface(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int = 13, span: float = 1.0, seed: int = 0
) -> LossSurface:
    """The loss surface of trained ``model`` on ``images`` (normalised, as it trained on them) around its
    weights, in eval mode (BN's running statistics), over ``steps`` x ``steps`` points from ``-span`` to
    ``span`` along two filter-normalised random directions drawn from ``seed``. The weights are put back."""
    if steps < 3 or steps % 2 == 0:
        raise ValueError(f"steps={steps}: an odd number of at least 3, so that the trained net is the centre")
    generator = torch.Generator().manual_seed(seed)
    d1, d2 = (filter_normalized_direction(model, generator) for _ in range(2))
    params = dict(model.named_parameters())
    start = {name: p.detach().clone() for name, p in params.items()}
    coords = torch.linspace(-span, span, steps).tolist()
    was_training = model.training
    model.eval()
    loss = [[0.0] * steps for _ in range(steps)]
    try:
        for j, b in enumerate(coords):
            for i, a in enumerate(coords):
                for name, p in params.items():
                    p.copy_(start[name] + a * d1[name] + b * d2[name])
                loss[j][i] = F.cross_entropy(model(images), labels).item()
    finally:
        for name, p in params.items():
            p.copy_(start[name])
        model.train(was_training)
    return LossSurface(coords, loss)
