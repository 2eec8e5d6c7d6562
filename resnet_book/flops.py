"""Parameters and FLOPs (the paper's "FLOPs" are multiply-adds) counted with fvcore.

How the counts meet Table 1. fvcore counts one multiply-add as one flop for convolutions and fc layers,
and also counts batch norm and average pooling (a few per element). For the paper's nets (projection
shortcuts where dimensions increase, option B; bottlenecks strided on their first 1x1 conv) fvcore gives
1.819, 3.671, 3.879, 7.602, 11.327 x 10^9 at 224x224; Table 1 prints 1.8, 3.6, 3.8, 7.6, 11.3. The paper
does not say how it rounded. Truncating to one decimal reproduces all five; rounding would print 3.7 for
ResNet-34 and 3.9 for ResNet-50, and the convolution-only counts (3.86 for ResNet-50, 7.57 for ResNet-101)
meet Table 1 under neither rule. Truncation is thus inferred from this agreement, not stated by the paper:
``paper_precision`` truncates, and the chapters show the unrounded counts beside it.

Why torchvision's numbers differ (4.1, 7.8, 11.5 for ResNet-50/101/152): torchvision's ``Bottleneck``
strides the 3x3 conv of a down-sampling block instead of the first 1x1 ("ResNet v1.5"), so the first 1x1,
no longer strided, runs on the map before it is halved: four times its multiply-adds in the first block of
conv3_x, conv4_x and conv5_x (the strided 3x3 still outputs the halved map and costs the same). The
parameters are identical (the same weights, a different stride). Its basic blocks (18, 34)
match the paper with option B.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from .models import count_parameters, get_model
from .tables import Table


def count_flops(model: nn.Module, input_size: int = 32, by_module: bool = False) -> int | dict:
    """Multiply-adds of one forward pass of one ``3 x input_size x input_size`` image (fvcore)."""
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            # fvcore scripts a loss with torch.jit when imported, which newer torch marks deprecated
            warnings.filterwarnings("ignore", message=".*torch.jit.*deprecated", category=FutureWarning)
            from fvcore.nn import FlopCountAnalysis

            x = torch.zeros(1, 3, input_size, input_size, device=next(model.parameters()).device)
            analysis = FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False)  # add, relu, max_pool: not multiply-adds
            analysis.uncalled_modules_warnings(False)
            return analysis.by_module() if by_module else analysis.total()
    finally:
        model.train(was_training)


def paper_precision(flops: float) -> float:
    """``flops`` in units of 10^9, truncated to one decimal as Table 1 prints them (see module doc)."""
    return math.floor(flops / 1e8 + 1e-9) / 10


@dataclass
class CostRow:
    """Parameters and FLOPs of one model, with the FLOPs of each stage (stem, stage 1, ..., fc)."""

    name: str
    params: int
    flops: int | None  # None where only parameters were counted
    stages: dict[str, int] = field(default_factory=dict)
    paper_flops: float | None = None
    paper_params_m: float | None = None


@dataclass
class CostTable:
    """A list of ``CostRow`` that prints as text and renders as an HTML table in a notebook."""

    rows: list[CostRow]
    input_size: int

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, name: str) -> CostRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def _columns(self) -> tuple[list[str], list[list[str]]]:
        stage_names = list(self.rows[0].stages) if self.rows else []
        head = ["model", "params (M)", "FLOPs (x10^9)"] + [f"{s} (x10^6)" for s in stage_names]
        if any(r.paper_flops is not None for r in self.rows):
            head += ["FLOPs, paper's precision", "paper"]
        if any(r.paper_params_m is not None for r in self.rows):
            head += ["paper params (M)"]
        body = []
        for r in self.rows:
            line = [r.name, f"{r.params / 1e6:.3f}", "" if r.flops is None else f"{r.flops / 1e9:.3f}"]
            line += [f"{r.stages.get(s, 0) / 1e6:.1f}" for s in stage_names]
            if "paper" in head:
                ours = "" if r.flops is None else f"{paper_precision(r.flops):.1f}"
                line += [ours, "" if r.paper_flops is None else f"{r.paper_flops}"]
            if "paper params (M)" in head:
                line += ["" if r.paper_params_m is None else f"{r.paper_params_m}"]
            body.append(line)
        return head, body

    def table(self):
        """As a ``tables.Table`` (text and HTML), captioned with the input size."""
        return Table(*self._columns(), caption=f"input {self.input_size}x{self.input_size}")

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def stage_flops(model: nn.Module, input_size: int, per_module: dict | None = None) -> dict[str, int]:
    """FLOPs of the stem, each stage and the head (pool + fc) of a ``resnet_book`` ResNet."""
    if per_module is None:
        per_module = count_flops(model, input_size, by_module=True)
    stages = {"stem": per_module.get("stem", 0)}
    for i in range(len(model.stages)):
        stages[f"stage{i + 1}"] = per_module.get(f"stages.{i}", 0)
    stages["head"] = per_module.get("avgpool", 0) + per_module.get("fc", 0)
    return stages


def cost_table(
    models: dict[str, nn.Module] | list[str],
    input_size: int = 32,
    paper_flops: dict[str, float] | None = None,
    paper_params_m: dict[str, float] | None = None,
    with_flops: bool = True,
) -> CostTable:
    """Parameters and FLOPs of several models at one input size, with a per-stage breakdown.

    ``models`` is a list of names for ``get_model`` or a dict name -> module. ``paper_flops`` /
    ``paper_params_m`` put the paper's column beside ours, e.g. ``resnet_book.paper.TABLE1_FLOPS``.
    """
    if isinstance(models, (list, tuple)):
        models = {name: get_model(name) for name in models}
    rows = []
    for name, model in models.items():
        per_module = count_flops(model, input_size, by_module=True) if with_flops else {}  # one trace
        stages = stage_flops(model, input_size, per_module) if with_flops and hasattr(model, "stages") else {}
        rows.append(
            CostRow(
                name=name,
                params=count_parameters(model),
                flops=per_module[""] if with_flops else None,
                stages=stages,
                paper_flops=(paper_flops or {}).get(name),
                paper_params_m=(paper_params_m or {}).get(name),
            )
        )
    return CostTable(rows, input_size)


def table1(input_size: int = 224) -> CostTable:
    """Table 1 recomputed: the ImageNet ResNets with the paper's projection shortcuts (option B)."""
    from .paper import TABLE1_FLOPS

    models = {name: get_model(name, shortcut="B") for name in TABLE1_FLOPS}
    return cost_table(models, input_size, paper_flops=TABLE1_FLOPS)


def table6_params() -> CostTable:
    """Table 6's parameter column recomputed for the CIFAR-10 ResNets (option A); FLOPs skipped."""
    from .paper import TABLE6

    params = {k: v["params_m"] for k, v in TABLE6.items()}
    return cost_table(list(TABLE6), 32, paper_params_m=params, with_flops=False)
