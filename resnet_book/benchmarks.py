"""Benchmark records: the trainer's speed against a plain PyTorch loop, one file per GPU in ``data/benchmarks/``.

``python -m resnet_book bench`` (``resnet_book.bench``) measures and writes them; the plan of a sweep, the
estimates (``resnet_book.estimates``) and the pages read them from here, without loading the trainer.

Schema (``resnet_book.benchmark/1``); images/s are training images per second at batch 128 (of a pack:
all its runs together), losses are training losses, ``?`` marks a field that not every record has:

.. code-block:: text

    schema        "resnet_book.benchmark/1"
    gpu, torch, commit, resnet_book, date   str   where and from what it was measured (provenance)
    dataset       str    "cifar10" or "cifar10-jpeg"
    batch_size    int    128 (Sec. 4.2)
    steps_timed   int    timed iterations per measurement (after 30 untimed ones)
    cudnn_benchmark  bool
    models        {<model>: row}, at least one CIFAR-10 net ("resnet20", "resnet56", ...):
      ours_img_s       the trainer, every switch on
      reference_img_s  the plain PyTorch loop
      speedup          ours_img_s / reference_img_s
      packed?          {twins?, options?, seeds?, options_inductor?}: img/s of packs (LABELS["packed"])
      packed_speedup?  {twins?, options?}: the pack's img/s / reference_img_s
      levers?          {eager_fp32, eager_bf16_channels_last, graph_fp32, graph_bf16,
                        graph_bf16_channels_last, graph_bf16_channels_last_inductor?}: img/s of one run
                        with those switches (LABELS["levers"]); graph_bf16_channels_last is ours_img_s
      profile?         {graph?, eager?, graph_inductor?}: ``profile``'s result (per step, over 20)
    equivalence   {model, every, curves: {fast, eager, fast_fp32?, fast_inductor?}: the loss every
                   ``every`` iterations from one seed (LABELS["curves"]), max_abs_diff (fast vs eager),
                   bf16_noise? (fast vs fast_fp32), inductor_max_abs_diff? (fast vs fast_inductor)}
    divergence?   {model, iterations, nudge, packed_vs_alone, nudged_vs_alone}: ``divergence``'s result
    packed_equivalence?  {every, alone: {<model>: losses}, packed: {<model>: losses}, max_abs_diff}
    sweep?        {models: [str], seconds, img_s_total}: the nine Fig. 6 runs side by side, one stream each
    sweep_estimate?  {alone?, packed?}: {packed: bool, seconds_per_job: {"<model> + <model>": s},
                     minutes_total}: the nine-run sweep estimated job by job, twins packed or not
    failures      {<field>: str}: a measurement that failed on this torch/GPU, e.g.
                  {"models.resnet20.levers.graph_bf16_channels_last_inductor": "RuntimeError: ..."}; the
                  field itself is then absent: a number's place never holds a string

Where a number goes there is a finite number (> 0 for images/s, seconds and ratios); no other field is
allowed (a misspelt key would read as "not measured"). The schema is the spec ``SPEC`` (written as the run records' is, ``resnet_book.records``). ``load_benchmarks`` refuses, naming the file and
the field, a record that breaks any of this, or a file that is not UTF-8 JSON. Display labels are not in
the record: ``LABELS`` holds them, for the pages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .models import Net
from .provenance import REPO_ROOT
from .records import Kind, RecordError, finite, kind

SCHEMA = "resnet_book.benchmark/1"
OUT = REPO_ROOT / "data" / "benchmarks"
EARLIER = OUT / "earlier"  # records replaced by a newer one of the same GPU, kept for what they showed

# the record's keys -> what a page calls them, group by group (in the order a page shows them)
LABELS: dict[str, dict[str, str]] = {
    "levers": {
        "eager_fp32": "eager fp32",
        "eager_bf16_channels_last": "eager bf16 + channels_last",
        "graph_fp32": "cuda graph fp32",
        "graph_bf16": "cuda graph bf16",
        "graph_bf16_channels_last": "cuda graph bf16 + channels_last",
        "graph_bf16_channels_last_inductor": "cuda graph bf16 + channels_last + inductor",
    },
    "packed": {
        "twins": "2 runs (plain + ResNet)",
        "options": "4 runs (plain, A, B, C)",
        "seeds": "3 seeds (one net, each run its own batches)",
        "options_inductor": "4 runs + inductor",
    },
    "curves": {"fast": "fast", "eager": "eager", "fast_fp32": "fast fp32", "fast_inductor": "fast+inductor"},
    "divergence": {"nudged_vs_alone": "nudged vs alone", "packed_vs_alone": "packed vs alone"},
    "profile": {"graph": "cuda graph", "eager": "no graph", "graph_inductor": "cuda graph + inductor"},
    "kernels": {
        "batch_norm": "batch norm",
        "convolution": "convolution",
        "sgd_update": "SGD update",
        "fc": "fc (matmul)",
        "memory_copy": "memory copy",
        "elementwise": "elementwise (ReLU, addition, ...)",
        "other": "other",
    },
}


class BenchmarkRecordError(RecordError):
    """A benchmark record breaks the schema; the message names the file and the field."""


KIND = Kind(SCHEMA, "benchmark record", BenchmarkRecordError, "; restore the file (git checkout -- data/benchmarks) or remove it")

# ------------------------------------------------------------------------------ the schema, as a spec
FAILED = " (a measurement that failed is left out and named in 'failures')"
POSITIVE, AT_LEAST_0 = finite(0, strict=True, text_hint=FAILED), finite(0, text_hint=FAILED)
TEXT, COUNT, FLAG = kind(str), kind(int), kind(bool)
_ESTIMATE = {"packed": FLAG, "seconds_per_job": {"*": POSITIVE}, "minutes_total": POSITIVE}
_PROFILE = {
    "model": TEXT,
    "device": TEXT,
    "steps": COUNT,
    "unit": TEXT,
    "switches": {"cuda_graph": FLAG, "bf16": FLAG, "channels_last": FLAG, "inductor": FLAG},
    "wall_us_per_step": POSITIVE,
    "kernels_per_step": POSITIVE,
    "kernel_us_per_step": POSITIVE,
    "busy?": AT_LEAST_0,
    "us_per_step_by_kind": {f"{k}?": AT_LEAST_0 for k in LABELS["kernels"]},
    "top": [(TEXT, AT_LEAST_0, AT_LEAST_0)],
}
_ROW = {
    "ours_img_s": POSITIVE,
    "reference_img_s": POSITIVE,
    "speedup": POSITIVE,
    "packed?": {f"{k}?": POSITIVE for k in LABELS["packed"]},
    "packed_speedup?": {"twins?": POSITIVE, "options?": POSITIVE},
    "levers?": {f"{k}{'?' * k.endswith('inductor')}": POSITIVE for k in LABELS["levers"]},
    "profile?": {f"{k}?": _PROFILE for k in LABELS["profile"]},
}
# what a benchmark record of any device says of where and how it was measured
_MEASURED = {
    "torch": TEXT,
    "commit": TEXT,
    "resnet_book": TEXT,
    "date": TEXT,
    "dataset": TEXT,
    "batch_size": COUNT,
    "steps_timed": COUNT,
}
SPEC = {
    "schema": TEXT,
    "gpu": TEXT,
    **_MEASURED,
    "cudnn_benchmark": FLAG,
    "models": {"*": _ROW},
    "equivalence": {
        "model": TEXT,
        "every": COUNT,
        "curves": {"fast": [POSITIVE], "eager": [POSITIVE], "fast_fp32?": [POSITIVE], "fast_inductor?": [POSITIVE]},
        "max_abs_diff": AT_LEAST_0,
        "bf16_noise?": AT_LEAST_0,
        "inductor_max_abs_diff?": AT_LEAST_0,
    },
    "divergence?": {
        "model": TEXT,
        "iterations": COUNT,
        "nudge": POSITIVE,
        "packed_vs_alone": [AT_LEAST_0],
        "nudged_vs_alone": [AT_LEAST_0],
    },
    "packed_equivalence?": {"every": COUNT, "alone": {"*": [POSITIVE]}, "packed": {"*": [POSITIVE]}, "max_abs_diff": AT_LEAST_0},
    "sweep?": {"models": [TEXT], "seconds": POSITIVE, "img_s_total": POSITIVE},
    "sweep_estimate?": {"alone?": _ESTIMATE, "packed?": _ESTIMATE},
    "failures": {"*": TEXT},
}


def _spec_at(field: str) -> Any:
    """The spec of a dotted field ("models.resnet20.levers.graph_fp32"), or None if the schema has no such field."""
    spec: Any = SPEC
    for key in field.split("."):
        if not isinstance(spec, dict):
            return None
        spec = next((spec[k] for k in (key, f"{key}?", "*") if k in spec), None)
    return spec


def _check_measured(kind: Kind, spec: dict, record: Any, where: str, missing_hint: str = "") -> None:
    """What both kinds of benchmark record must be: of their schema, by their spec, with at least one net."""
    if isinstance(record, dict) and "schema" not in record:
        raise kind.fail(where, "schema", f"is missing: not a {kind.schema} record{missing_hint}")
    kind.check(spec, record, where)
    if record["schema"] != kind.schema:
        raise kind.fail(where, "schema", f"must be {kind.schema!r}, got {record['schema']!r}")
    if not record["models"]:
        raise kind.fail(where, "models", "is empty: a record measures at least one net")


def validate(record: Any, where: str = "benchmark record") -> dict:
    """Check a record against ``resnet_book.benchmark/1``; raise ``BenchmarkRecordError`` naming ``where``
    and the field. A failed measurement must be named in ``failures`` and absent from its place."""
    _check_measured(KIND, SPEC, record, where, " (an older format? convert it)")
    for model in record["models"]:
        try:
            Net.parse(model, family="cifar")
        except ValueError as err:
            raise KIND.fail(where, f"models.{model}", f"is not a CIFAR-10 net: {err}") from None
    for field, reason in record["failures"].items():
        if _spec_at(field) is None:
            raise KIND.fail(where, f"failures.{field}", f"names no field of {SCHEMA}")
        if not reason:
            raise KIND.fail(where, f"failures.{field}", "must say why the measurement failed")
        if measured(record, field) is not None:
            raise KIND.fail(where, f"failures.{field}", "names a field that holds a measurement: failed or measured, not both")
    return record


def measured(record: dict, field: str) -> Any:
    """The value at a dotted ``field`` of a record (``"models.resnet20.packed.options"``), or None where it
    was not measured; then ``record["failures"].get(field)`` says whether it failed, and why."""
    value: Any = record
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def load_benchmark(path: str | Path) -> dict:
    """Read and validate one record; a broken file raises ``BenchmarkRecordError`` naming it.

    The file's name must be the record's (``record_name``): its GPU's, and in a folder named ``earlier``
    (``EARLIER``) its GPU's and commit's. A copy saved as ``<gpu> (1).json``, with other numbers in it, is
    refused, not read as a second record of its GPU."""
    path = Path(path)
    record = KIND.read(path, validate)
    earlier = path.parent.name == EARLIER.name
    name = record_name(record["gpu"], record["commit"] if earlier else None)
    if path.name != name:
        what = "GPU and commit" if earlier else "GPU"
        raise KIND.fail(
            str(path),
            "gpu",
            f"is {record['gpu']!r}, so the record is named {name}, not {path.name}: a copy or a renamed record; "
            f"remove it, or name the file after its {what}",
        )
    return record


def load_benchmarks(directory: str | Path = OUT) -> list[dict]:
    """Every benchmark record in ``directory`` (not its subfolders), checked, by file name: the current one
    of each GPU in ``data/benchmarks``; ``load_benchmarks(EARLIER)`` gives the earlier ones. One broken
    record stops the listing with its name: a page never silently drops or swaps a measurement."""
    return [load_benchmark(p) for p in sorted(Path(directory).glob("*.json"))]


def record_name(gpu: str, commit: str | None = None) -> str:
    """``nvidia-h100-80gb-hbm3.json``: a record's file name, from its GPU (and, for an earlier record in
    ``EARLIER``, the short commit it was measured at: ``nvidia-h100-80gb-hbm3-fb6e0eb.json``)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", gpu).strip("-").lower()
    return f"{slug}-{commit[:7]}.json" if commit else f"{slug}.json"


# -------------------------------------------------------------------------------- CPU benchmark records

CPU_SCHEMA = "resnet_book.cpu-benchmark/1"
CPU_OUT = OUT / "cpu"  # apart from the GPU records, which the estimates read

CPU_LABELS: dict[str, str] = {
    "eager_fp32": "float32 (the CPU default)",
    "channels_last": "float32 + channels_last",
    "bf16": "bf16 autocast",
    "bf16_channels_last": "bf16 autocast + channels_last",
    "compile": "float32 + torch.compile",
}


class CPUBenchmarkRecordError(RecordError):
    """A CPU benchmark record breaks its schema; the message names the file and the field."""


CPU_KIND = Kind(
    CPU_SCHEMA,
    "CPU benchmark record",
    CPUBenchmarkRecordError,
    "; restore the file (git checkout -- data/benchmarks) or remove it",
)
_CPU_ROW = {
    "preset": TEXT,
    "width": COUNT,
    "image_size": COUNT,
    "reference_img_s": POSITIVE,
    "ours_img_s": POSITIVE,
    "speedup": POSITIVE,
    "levers": {f"{k}?": POSITIVE for k in CPU_LABELS},
    "compile_seconds?": POSITIVE,
    "macs_per_image?": COUNT,
}
CPU_SPEC = {
    "schema": TEXT,
    "cpu": TEXT,
    "threads": COUNT,
    **_MEASURED,
    "repeats": COUNT,
    "conv_gflops?": {"fp32": POSITIVE, "bf16?": POSITIVE},
    "models": {"*": _CPU_ROW},
    "bf16_check?": {
        "model": TEXT,
        "preset": TEXT,
        "iterations": COUNT,
        "final_train_error": {"fp32": finite(0), "bf16": finite(0)},
        "curves": {"fp32": [finite(0)], "bf16": [finite(0)]},
    },
    "failures": {"*": TEXT},
}


def validate_cpu(record: Any, where: str = "CPU benchmark record") -> dict:
    """Check a record against ``resnet_book.cpu-benchmark/1``: the trainer's images/s against a plain PyTorch
    CPU loop (``bench.run_cpu_benchmark``), per net and preset (``"<model> <preset>"``), each lever alone."""
    _check_measured(CPU_KIND, CPU_SPEC, record, where)
    for key, row in record["models"].items():
        model, _, preset = key.partition(" ")
        try:
            Net.parse(model, family="cifar")
        except ValueError as err:
            raise CPU_KIND.fail(where, f"models.{key}", f"is not a CIFAR-10 net: {err}") from None
        if preset != row["preset"]:
            raise CPU_KIND.fail(where, f"models.{key}", f"must be named '<model> <preset>' ({model} {row['preset']})")
        if abs(row["speedup"] - row["ours_img_s"] / row["reference_img_s"]) > 1e-6 * row["speedup"]:
            raise CPU_KIND.fail(where, f"models.{key}.speedup", "is not ours_img_s / reference_img_s")
    for field, reason in record["failures"].items():
        if not reason:
            raise CPU_KIND.fail(where, f"failures.{field}", "must say why the measurement failed")
    return record


def training_gflops(row: dict, images_per_second: float) -> float:
    """The arithmetic a CPU did per second while training at ``images_per_second``, in GFLOP/s: 6 flops per
    multiply-add of one forward pass (2 forward; 4 backward, for the gradients of the inputs and of the
    weights), the usual count (Kaplan et al. 2020, Sec. 2.1). Against ``conv_gflops`` it says how much
    faster any loop could still make that net on that CPU."""
    return 6 * row["macs_per_image"] * images_per_second / 1e9


def cpu_record_name(cpu: str, threads: int) -> str:
    """``amd-epyc-2-threads.json``: a CPU record's file name, from its CPU and torch's threads."""
    return f"{re.sub(r'[^A-Za-z0-9]+', '-', cpu).strip('-').lower()}-{threads}-threads.json"


def load_cpu_benchmarks(directory: str | Path = CPU_OUT) -> list[dict]:
    """Every CPU benchmark record in ``directory``, checked and named after its CPU and threads, by file name."""
    records = []
    for path in sorted(Path(directory).glob("*.json")):
        record = CPU_KIND.read(path, validate_cpu)
        name = cpu_record_name(record["cpu"], record["threads"])
        if path.name != name:
            raise CPU_KIND.fail(str(path), "cpu", f"names the record {name}, not {path.name}: a copy or a renamed record")
        records.append(record)
    return records
