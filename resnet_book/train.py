"""The paper's CIFAR-10 training recipe (Sec. 4.2) in one trainer, used by chapters, the CLI and the benchmark.

SGD with momentum 0.9, weight decay 1e-4, mini-batch 128, learning rate 0.1 divided by 10 at 32k and 48k
iterations, stop at 64k; ResNet-110 warms up at 0.01 until its training error is below 80 %. ``Config``
(``resnet_book.recipe``) holds the recipe, ``preset`` the named schedules, ``Trainer`` runs one network.

Speed on a GPU comes from removing work, each trick behind a switch of ``Config``:

* the data set lives on the GPU as uint8 and is augmented there in one gather (``data.Augmenter``);
* bf16 autocast and channels_last (``amp``, ``channels_last``);
* ``cuda_graph``: the whole step (augmentation, forward, backward, SGD update, the running sums of loss
  and errors) is captured once in a CUDA graph and replayed; the learning rate is a device tensor, so the
  schedule changes it without a new capture. The step costs one launch instead of hundreds, and the host
  synchronises only when it logs.

On a CPU the same step runs eagerly in float32. One SGD update (``sgd_update``) serves both paths and
equals ``torch.optim.SGD(momentum, weight_decay)`` (tests check it).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import pickle
import signal
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from . import data as datamod
from .packed import PackedResNet
from .recipe import Config, check_pack, preset, run_name
from .runs import check_writable, write_atomically


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device`` (default: cuda if available), refused by name if this machine lacks it."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: use 'cpu' or 'cuda' (or 'cuda:N')") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: this machine has no CUDA GPU; use 'cpu'")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r}: training runs on 'cpu' or 'cuda'")
    return resolved


# ------------------------------------------------------------------------------------------ one step


def sgd_update(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    bufs: list[torch.Tensor],
    lr: torch.Tensor,
    momentum: float,
    weight_decay: float,
) -> None:
    """SGD with momentum and L2 weight decay, as ``torch.optim.SGD``: v = m v + (g + wd w); w -= lr v.

    ``lr`` is a 0-dim tensor so a CUDA graph that contains this update follows the schedule.
    Momentum buffers start at zero, which makes the first update ``v = g + wd w`` as in torch.optim.SGD.
    """
    with torch.no_grad():
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
        torch._foreach_mul_(bufs, momentum)
        torch._foreach_add_(bufs, grads)
        torch._foreach_sub_(params, torch._foreach_mul(bufs, lr))


CHECKPOINT_FORMAT = "resnet_book.checkpoint/2"


def per_run_scores(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For logits ``(batch, runs, classes)`` and labels ``(batch,)`` shared by the runs or ``(batch, runs)``,
    each its own: each run's loss per image ``(batch, runs)`` and its wrong answers ``(runs,)``."""
    y = y[:, None].expand(-1, out.shape[1]) if y.dim() == 1 else y
    losses = F.cross_entropy(out.transpose(1, 2), y, reduction="none")
    return losses, (out.argmax(2) != y).sum(0)


class TrainingDiverged(RuntimeError):
    """The training loss became NaN, infinite, or far above chance level; no record is written, and the
    last checkpoint (if one was written) is kept."""


class CheckpointError(ValueError):
    """A checkpoint cannot be read or belongs to another run; the message names the file."""


# A network that guesses uniformly among 10 classes has loss ln 10 = 2.3 (chance level). A window whose mean
# training loss is above DIVERGED_LOSS is diverged: at lr 100 the loss reaches 1e17 at chance-level error,
# while no window of the recorded runs (data/runs) is above 2.2, and ResNet-8 at lr 1 starts at 4.5.
DIVERGED_LOSS = 10 * math.log(10)


@dataclass
class History:
    """What the trainer logs every ``eval_every`` iterations (the paper's dashed and bold curves)."""

    entries: list[dict] = field(default_factory=list)
    warmup_end: int | None = None  # iteration at which the warm-up learning rate ended


def _bf16_supported(device: torch.device) -> bool:
    """Native bf16 (Ampere and newer): older GPUs such as Colab's T4 train in float32 instead."""
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # older torch
        return torch.cuda.get_device_capability(device)[0] >= 8


def amp_choice(requested: bool | None, cuda: bool, bf16: bool) -> tuple[bool, str | None]:
    """Whether to train in bf16 autocast, and what to tell the reader when the GPU cannot.

    Automatic (``requested`` None): bf16 on a GPU with native bf16 (Ampere and newer), float32 elsewhere.
    A GPU without it, such as Colab's usual T4, would only emulate bf16, slower than float32.
    """
    if requested is not None:
        return requested, None
    if cuda and not bf16:
        return False, "no native bf16 on this GPU (a T4, say): the fast path trains in float32"
    return cuda, None


@dataclass(frozen=True)
class Engine:
    """How fast a run is trained, not what it is: each switch changes the arithmetic only up to rounding
    (the benchmark measures each one, ``resnet_book.bench``), so a checkpoint resumes under other switches.
    None is automatic: on for CUDA, off on CPU."""

    amp: bool | None = None  # bf16 autocast where the GPU has native bf16 (not Colab's T4: float32 there)
    channels_last: bool | None = None
    cuda_graph: bool | None = None  # the whole step (forward, backward, SGD, next batch) as one CUDA graph
    # cuDNN tries its algorithms once per shape and keeps the fastest (shapes never change here). On an
    # H100 the sweep (without it) ran a pack of two ResNet-56s (B+C) at 61 it/s, the benchmark (with it) a
    # pack of two (plain + A) at 116 it/s: how much of that gap is cuDNN's, not the projections', is unmeasured
    cudnn_benchmark: bool | None = None
    # inductor (torch.compile) for the model's forward and backward: fuses BN, ReLU and the shortcut
    # addition into a few kernels. Measured on ResNet-20 only (H100, data/benchmarks): +28 % alone, +38 % in a
    # pack of four, loss curve within bf16 noise over 400 iterations. Off by default (CLI: --inductor) until
    # it is measured on the deeper nets and its paper-schedule error is compared with the fast path's.
    compile: bool = False
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if int(self.eval_batch_size) < 1:
            raise ValueError(f"Engine.eval_batch_size must be >= 1, got {self.eval_batch_size}")


class Trainer:
    """Trains one network with ``Config`` on a ``CIFAR10``; checkpoints, resumes, logs, stops cleanly.

    Use ``run()`` for a whole run; ``advance`` / ``log`` let a sweep interleave several trainers on
    one GPU (each on its own CUDA stream). Given a list of configs, it trains them as one network
    (``resnet_book.packed``); ``members()`` gives each run's view (config, history, model).

    ``model=net`` trains ``net`` instead of the named ``config.model`` (e.g. a shortcut variant of the sequel,
    ``models.shortcut_variant``), with the config's recipe and data: one run, not checkpointed, never recorded
    (``runs.make_record`` refuses it, since its record would name a model it is not).
    """

    def __init__(
        self,
        config: Config | Sequence[Config],
        data: datamod.CIFAR10,
        device: str | torch.device | None = None,
        checkpoint: str | Path | None = None,
        resume: bool = True,
        callback: Callable[["Trainer", dict], None] | None = None,
        engine: Engine = Engine(),
        model: torch.nn.Module | None = None,
    ) -> None:
        self.configs = [config] if isinstance(config, Config) else list(config)
        self.engine = engine
        self.own_model = model is not None  # a net that is not one of the named models
        if self.own_model:
            check_own_model(model, self.configs, checkpoint)
        if len(self.configs) > 1:
            check_pack(self.configs)
        self.config = cfg = self.configs[0]  # the schedule (shared by a pack)
        self.device = resolve_device(device)
        cuda = self.device.type == "cuda"
        self.amp, note = amp_choice(engine.amp, cuda, cuda and _bf16_supported(self.device))
        if note:
            print(f"{torch.cuda.get_device_name(self.device)}: {note}")
        self.channels_last = cuda if engine.channels_last is None else engine.channels_last
        self.use_graph = cuda if engine.cuda_graph is None else engine.cuda_graph
        self.use_compile = engine.compile
        if cuda and (engine.cudnn_benchmark is None or engine.cudnn_benchmark):
            torch.backends.cudnn.benchmark = True  # process-wide: it only picks faster algorithms
        if self.use_graph and not cuda:
            raise ValueError("cuda_graph=True needs a CUDA device")
        self.data = data.to(self.device)
        self.callback = callback
        self.checkpoint_path = Path(checkpoint) if checkpoint else None
        self.stream = torch.cuda.Stream(self.device) if cuda else None

        # a pack of runs with other seeds: each run its own mini-batches, so the stem sees each run's own images
        self.own_inputs = len({c.seed for c in self.configs}) > 1
        if self.own_model:  # trained in place of the named model (one config: check_own_model)
            self.model = model.to(self.device)
        else:
            models = []
            for c in self.configs:  # each run starts from the weights it would have alone
                torch.manual_seed(c.seed)
                models.append(c.net.build(num_classes=10).to(self.device))
            self.model = (
                models[0]
                if len(models) == 1
                else PackedResNet(models, [c.model for c in self.configs], own_inputs=self.own_inputs)
            )
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # the training forward; evaluation runs the eager model (BN in inference mode)
        self.forward = torch.compile(self.model) if self.use_compile else self.model
        self.params = [p for p in self.model.parameters()]
        self.dtype = self.params[0].dtype  # float32 (bf16 autocast's outputs come back to it); float64 in exactness tests
        self.bufs = [torch.zeros_like(p) for p in self.params]
        self.lr_t = torch.tensor(cfg.lr_at(0, cfg.warmup_lr is not None), device=self.device)
        # per run: summed loss and wrong answers since the last log
        self.sums = torch.zeros(len(self.configs), 2, device=self.device, dtype=self.dtype)
        self.step_t = torch.zeros((), dtype=torch.long, device=self.device)
        self.batch_ar = torch.arange(cfg.batch_size, device=self.device)
        self.augment = datamod.Augmenter(self.data)
        plans = {  # which image, crop and flip each sample gets: from the seed alone, one plan per seed
            seed: datamod.SamplePlan.make(seed, len(self.data.train_labels), cfg.iterations * cfg.batch_size, self.device)
            for seed in dict.fromkeys(c.seed for c in self.configs)
        }
        self.plans = [plans[c.seed] for c in self.configs] if self.own_inputs else [plans[cfg.seed]]
        self.iteration = 0
        self.histories = [History() for _ in self.configs]
        self.warming_up = cfg.warmup_lr is not None
        self.wall_seconds = 0.0  # over every segment of the run, resumed ones included
        self.resumed_from: int | None = None
        self.trained_with: list[str] = []  # other runs that shared the GPU (a sweep's streams), for the record
        self._lr_value = float(self.lr_t)
        self._graph: torch.cuda.CUDAGraph | None = None
        self._last_log = 0
        if self.checkpoint_path is not None:
            if self.checkpoint_path.is_dir():
                raise CheckpointError(
                    f"{self.checkpoint_path}: a folder, not a checkpoint file; remove it or choose another path"
                )
            check_writable(self.checkpoint_path.parent, "checkpoint")  # now, not at the first save
            if resume and self.checkpoint_path.exists():
                self.load_checkpoint(self.checkpoint_path)

    @property
    def history(self) -> History:
        """The run's history (for a pack, the first run's; see ``members()``)."""
        return self.histories[0]

    # ------------------------------------------------------------------ the step, eager or graphed
    def _step(self) -> None:
        """One iteration on the device, no host sync: batch, forward, backward, update, running sums."""
        cfg = self.config
        positions = self.step_t * cfg.batch_size + self.batch_ar
        if self.own_inputs:  # each run's own batch, side by side in channels: (B, 3 x runs, H, W), labels (B, runs)
            xs, ys = zip(*(self.augment(plan, positions) for plan in self.plans))
            x, y = torch.cat(xs, 1), torch.stack(ys, 1)
        else:
            x, y = self.augment(self.plans[0], positions)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp, cache_enabled=False):
            out = self.forward(x).to(self.dtype).view(len(y), len(self.configs), -1)  # (batch, runs, classes)
        losses, wrong = per_run_scores(out, y)
        losses = losses.mean(0)  # each run's mean loss; their sum gives each run exactly its own gradient
        grads = torch.autograd.grad(losses.sum(), self.params)
        sgd_update(self.params, list(grads), self.bufs, self.lr_t, cfg.momentum, cfg.weight_decay)
        self.sums += torch.stack([losses.detach() * len(y), wrong.to(self.dtype)], 1)
        self.step_t += 1

    def _capture(self) -> None:
        """Capture ``_step`` in a CUDA graph; warm-up steps run on a copy of the state that is restored."""
        saved = [t.detach().clone() for t in self._state_tensors()]
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                self._step()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=side):
            self._step()
        with torch.no_grad():
            for t, s in zip(self._state_tensors(), saved):
                t.copy_(s)
        self._graph = graph

    def _state_tensors(self) -> list[torch.Tensor]:
        return self.params + self.bufs + list(self.model.buffers()) + [self.sums, self.step_t]

    def _on_stream(self):
        """Everything of this run goes to its own CUDA stream (so a sweep can interleave runs)."""
        return torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext()

    def ready(self) -> bool:
        """Whether the steps queued so far have run (never blocks; always true on a CPU)."""
        return self.stream is None or self.stream.query()

    def _sync(self) -> None:
        if self.stream is not None:
            self.stream.synchronize()

    def advance(self, n: int) -> None:
        """Queue ``n`` iterations (fewer at the end of the run); changes the learning rate on schedule."""
        with self._on_stream():
            for _ in range(min(n, self.config.iterations - self.iteration)):
                lr = self.config.lr_at(self.iteration, self.warming_up)
                if lr != self._lr_value:
                    self.lr_t.fill_(lr)
                    self._lr_value = lr
                if self.use_graph:
                    if self._graph is None:
                        self._capture()
                    self._graph.replay()
                else:
                    self._step()
                self.iteration += 1

    @property
    def done(self) -> bool:
        return self.iteration >= self.config.iterations

    def next_stop(self) -> int:
        """The next iteration at which the host must look: a log point or a warm-up check."""
        cfg = self.config
        stop = min(cfg.iterations, (self.iteration // cfg.eval_every + 1) * cfg.eval_every)
        if self.warming_up:
            stop = min(stop, (self.iteration // cfg.warmup_check_every + 1) * cfg.warmup_check_every)
        return stop

    # ------------------------------------------------------------------ evaluation and logging
    @torch.no_grad()
    def evaluate_all(self) -> list[tuple[float, float]]:
        """(error, loss) of every run of the trainer on the whole test split, single 32x32 view (Sec. 4.2),
        BN in inference mode."""
        self.model.eval()
        wrong, loss, images, labels = 0.0, 0.0, self.data.test_images, self.data.test_labels
        try:
            with self._on_stream():
                size = self.engine.eval_batch_size
                for i in range(0, len(labels), size):
                    x = self.data.normalize(images[i : i + size])
                    y = labels[i : i + size]
                    if self.own_inputs:  # every run sees the same test images
                        x = x.repeat(1, len(self.configs), 1, 1)
                    if self.channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
                        out = self.model(x).to(self.dtype).view(len(y), len(self.configs), -1)
                    losses, wrong_here = per_run_scores(out, y)
                    wrong += wrong_here
                    loss += losses.sum(0)
            self._sync()
            n = len(labels)
            return [(w / n, s / n) for w, s in zip(wrong.tolist(), loss.tolist())]
        finally:
            self.model.train()

    def _read_sums(self, reset: bool) -> tuple[list[list[float]], int]:
        """Per run [summed loss, wrong answers], and images, since the last log (the window's one host sync)."""
        self._sync()
        sums = self.sums.tolist()
        count = (self.iteration - self._last_log) * self.config.batch_size
        if reset:
            with self._on_stream():
                self.sums.zero_()
        return sums, count

    def check_warmup(self) -> None:
        """Sec. 4.2: end the warm-up once the training error since the last check is below 80 %."""
        if not self.warming_up or self.iteration % self.config.warmup_check_every:
            return
        sums, count = self._read_sums(reset=False)  # peek: the history entry still gets them
        if count and sums[0][1] / count < self.config.warmup_until_error:  # a warming-up run is never packed
            self.warming_up = False
            self.history.warmup_end = self.iteration

    def log(self, elapsed: float = 0.0) -> dict | list[dict] | None:
        """At a log point: one history entry (train error since the last entry, test error now).

        For a pack, one entry per run (a list, in the order of the configs)."""
        cfg = self.config
        if self.iteration == self._last_log or (self.iteration % cfg.eval_every and not self.done):
            return None
        sums, count = self._read_sums(reset=True)
        for c, (loss_sum, _) in zip(self.configs, sums):
            loss = loss_sum / count
            if not loss <= DIVERGED_LOSS:  # NaN too
                raise TrainingDiverged(
                    f"{self.run_name(c)}: diverged, the training loss became {loss:.4g} (chance level is "
                    f"{math.log(10):.2f}) between iterations {self._last_log:,} and {self.iteration:,} at lr "
                    f"{self._lr_value:g}; {self._kept_checkpoint()}. Lower the learning rate (lr) and start over"
                )
        entries = []
        for history, (loss_sum, wrong), (test_error, test_loss) in zip(self.histories, sums, self.evaluate_all()):
            entries.append(
                {
                    "iteration": self.iteration,
                    "lr": self._lr_value,  # the rate of the window's last iteration
                    "train_loss": loss_sum / count,
                    "train_error": wrong / count,
                    "test_loss": test_loss,
                    "test_error": test_error,
                    "seconds": round(self.wall_seconds + elapsed, 3),
                }
            )
            history.entries.append(entries[-1])
        self._last_log = self.iteration
        if self.checkpoint_path and (self.iteration % cfg.checkpoint_every == 0 or self.done):
            self.save_checkpoint(self.checkpoint_path, elapsed)
        entry = entries[0] if len(entries) == 1 else entries
        if self.callback is not None:
            self.callback(self, entry)
        return entry

    # ------------------------------------------------------------------ checkpoints
    def _kept_checkpoint(self) -> str:
        """What survives a diverged run, in words."""
        if self.checkpoint_path is None or not self.checkpoint_path.is_file():
            return "no checkpoint was written, no record either"
        return f"no record was written; the last checkpoint, {self.checkpoint_path}, is kept"

    def state_dict(self, elapsed: float = 0.0) -> dict:
        self._sync()
        return {
            "format": CHECKPOINT_FORMAT,
            "configs": [asdict(c) for c in self.configs],
            "iteration": self.iteration,
            "model": self.model.state_dict(),
            "momentum": [b.detach().clone() for b in self.bufs],
            "histories": [copy.deepcopy(h.entries) for h in self.histories],
            "warmup_end": self.history.warmup_end,
            "warming_up": self.warming_up,
            "wall_seconds": self.wall_seconds + elapsed,
            "trained_with": list(self.trained_with),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "dataset": self.data.name,
        }

    def save_checkpoint(self, path: Path, elapsed: float = 0.0) -> None:
        """Atomically write model, momentum, history, RNG states (``torch.save``, tensors and plain data)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        state = self.state_dict(elapsed)
        write_atomically(path, lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self, path: Path) -> None:
        """Resume from ``path`` (``weights_only=True``): the run continues as if never interrupted.

        A file that does not load, a checkpoint of another run, or of the same run on another dataset
        (real CIFAR-10 found after a start on the JPEG copy, say) raises ``CheckpointError`` naming it."""
        fix = "delete it to start the run over"
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, ValueError) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if "Weights only load failed" in reason:  # torch's advice (weights_only=False) is not ours to give
                reason = "it holds objects other than tensors and plain data"
            raise CheckpointError(f"{path}: not a readable checkpoint ({reason}); {fix}") from None
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise CheckpointError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint (found {found!r}); {fix}")
        if state.get("dataset") != self.data.name:
            raise CheckpointError(
                f"{path}: this run was trained on {state.get('dataset')!r} and would continue on "
                f"{self.data.name!r}; {fix}, or continue it where {state.get('dataset')!r} is found (real "
                "CIFAR-10 comes first: RESNET_BOOK_DATA_DIR chooses the folder it is looked for in)"
            )
        if len(state["configs"]) != len(self.configs):
            raise CheckpointError(f"{path}: checkpoint of {len(state['configs'])} packed runs, not {len(self.configs)}; {fix}")
        for cfg, theirs in zip(self.configs, state["configs"]):
            mine = cfg.identity()
            theirs["milestones"] = tuple(theirs.get("milestones", ()))
            differ = [k for k in mine if k not in theirs or mine[k] != theirs[k]]
            if differ:
                raise CheckpointError(
                    f"{path}: checkpoint of a different run ({', '.join(differ)} differ); {fix}, or pass the options "
                    "it was started with"
                )
        self.model.load_state_dict(state["model"])
        with torch.no_grad():
            for b, s in zip(self.bufs, state["momentum"]):
                b.copy_(s)
        self.iteration = self._last_log = int(state["iteration"])
        self.step_t.fill_(self.iteration)
        self.histories = [History(list(h)) for h in state["histories"]]
        self.history.warmup_end = state["warmup_end"]
        self.warming_up = bool(state["warming_up"])
        self.wall_seconds = float(state["wall_seconds"])
        self.trained_with = list(state["trained_with"])  # runs that shared the GPU in earlier segments
        torch.set_rng_state(state["rng_cpu"].cpu())
        if state["rng_cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng_cuda"].cpu(), self.device)
        self.resumed_from = self.iteration

    # ------------------------------------------------------------------ a whole run
    def run(self, max_seconds: float | None = None, progress: bool = True, stop: Callable[[], bool] | None = None) -> "Trainer":
        """Train to the end of the schedule, or until ``max_seconds`` or ``stop()`` (then checkpoint and return).

        ``stop`` is asked at every log point, e.g. ``StopOnInterrupt``: Ctrl-C saves, then returns."""
        from tqdm.auto import tqdm

        bar = tqdm(
            total=self.config.iterations,
            initial=self.iteration,
            disable=not progress,
            desc=self.label,
            unit="it",
            dynamic_ncols=True,
        )
        start = time.perf_counter()
        try:
            while not self.done:
                before = self.iteration
                self.advance(self.next_stop() - self.iteration)
                self.check_warmup()
                elapsed = time.perf_counter() - start
                entry = self.log(elapsed)
                bar.update(self.iteration - before)
                if entry is not None:
                    bar.set_postfix_str(progress_text(entry))
                if not self.done and (max_seconds is not None and elapsed > max_seconds or stop is not None and stop()):
                    self.stop_at_time_limit(elapsed)
                    break
        finally:
            bar.close()
            self.wall_seconds += time.perf_counter() - start
        return self

    def stop_at_time_limit(self, elapsed: float) -> None:
        """Checkpoint at a log point so the resumed run logs exactly as an uninterrupted one."""
        while self.iteration % self.config.eval_every and not self.done:
            self.advance(self.next_stop() - self.iteration)
            self.check_warmup()
            self.log(elapsed)
        if self.checkpoint_path:
            self.save_checkpoint(self.checkpoint_path, elapsed)

    def final(self) -> dict:
        """Final training error (the last history window) and test error, fractions in [0, 1]."""
        return _final(self.history)

    def members(self) -> list["Trainer | PackMember"]:
        """One view per run: the trainer itself, or for a pack each run's config, history and model."""
        if len(self.configs) == 1:
            return [self]
        return [PackMember(self, g) for g in range(len(self.configs))]

    @property
    def label(self) -> str:
        """e.g. ``resnet56-A`` or, for a pack, ``plain56-plain + resnet56-A``."""
        return " + ".join(self.run_name(c) for c in self.configs)

    def run_name(self, cfg: Config) -> str:
        """A run's name in this trainer: with its seed where the runs of the pack have several."""
        if self.own_model:
            return f"{cfg.model}, own net"  # not the named model's run (its shortcut option may not apply)
        return run_name(cfg, seed=self.own_inputs)


def check_own_model(model: object, configs: list[Config], checkpoint: str | Path | None) -> None:
    """What ``Trainer(config, data, model=net)`` accepts: one ``nn.Module`` for one config, no checkpoint.

    A checkpoint names its run by the config alone, so it could resume a named model's weights into this
    net (or this net's into the named model): refused, as are packs (each run of a pack is a named model)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (the net to train), got {type(model).__name__}")
    if len(configs) != 1:
        raise ValueError(f"model=: one net trains one run; got {len(configs)} configs (a pack trains named models only)")
    if checkpoint is not None:
        raise ValueError(
            f"model=: a net that is not one of the named models is not checkpointed (checkpoint={str(checkpoint)!r}): "
            f"its checkpoint could resume into the named {configs[0].model!r} or the other way round"
        )


def progress_text(entry: dict | list[dict]) -> str:
    """Progress-bar text: train and test error of the last entry (every run's test error in a pack)."""
    if isinstance(entry, dict):
        return f"train_err={entry['train_error']:.3f}, test_err={entry['test_error']:.3f}"
    return "test_err=" + "/".join(f"{e['test_error']:.3f}" for e in entry)


def _final(history: History) -> dict:
    last = history.entries[-1]
    return {"train_error": last["train_error"], "test_error": last["test_error"], "train_loss": last["train_loss"]}


class PackMember:
    """One run of a packed ``Trainer``: its own config, history and (unpacked) model; the rest is shared."""

    def __init__(self, trainer: Trainer, g: int) -> None:
        self.trainer, self.g = trainer, g
        self.config = trainer.configs[g]
        self.history = trainer.histories[g]
        others = [c for i, c in enumerate(trainer.configs) if i != g]
        self.trained_with = [trainer.run_name(c) for c in others] + trainer.trained_with
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = self.trainer.model.unpack(self.g)
        return self._model

    def final(self) -> dict:
        return _final(self.history)

    def __getattr__(self, name: str):  # data, device, fast-path switches, wall time: the pack's
        return getattr(self.trainer, name)


def train(
    config: Config | str = "quick",
    model: str | None = None,
    data: datamod.CIFAR10 | None = None,
    device: str | torch.device | None = None,
    **kwargs,
) -> Trainer:
    """Train one network and return its ``Trainer`` (history, final errors, model).

    ``train("quick", "plain20")`` loads CIFAR-10 (see ``resnet_book.data``) and runs the quick preset.
    Keyword arguments go to ``Trainer`` (``checkpoint``, ``callback``) and ``Trainer.run`` (``max_seconds``,
    ``progress``).
    """
    if isinstance(config, str):
        config = preset(config, model or "resnet20")
    elif model is not None:
        config = replace(config, model=model)
    if data is None:
        dev = resolve_device(device)
        data = datamod.load_cifar10(
            train_per_class=config.train_per_class,
            test_per_class=config.test_per_class,
            split=config.split,
            device=dev,
        )
    run_kwargs = {k: kwargs.pop(k) for k in ("max_seconds", "progress") if k in kwargs}
    return Trainer(config, data, device, **kwargs).run(**run_kwargs)


def seconds_per_iteration(cfg: Config, device: str | torch.device = "cpu", steps: int = 2) -> float:
    """Seconds of one training step of ``cfg``'s net at its batch size, timed on random images after one
    warm-up step: enough to tell a reader, before a run starts, whether it takes minutes or days."""
    device = resolve_device(device)
    model = cfg.net.build().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    x = torch.randn(cfg.batch_size, 3, datamod.SIZE, datamod.SIZE, device=device)
    y = torch.randint(0, 10, (cfg.batch_size,), device=device)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times[1:])


def duration_text(seconds: float) -> str:
    """``'40 seconds'``, ``'12 minutes'``, ``'5.3 hours'``, ``'2.1 days'``: a duration as a reader says it."""
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}" if unit != "minutes" else f"{seconds / size:.0f} minutes"
    return f"{seconds:.0f} seconds"


class StopOnInterrupt:
    """While active (``with``), the first Ctrl-C only asks the run to stop: calling the object says whether
    it was pressed, and ``Trainer.run`` / a sweep then stop at the next log point with a checkpoint, so the
    work since the last one is kept. A second Ctrl-C interrupts at once (work since the last checkpoint lost)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nCtrl-C: stopping at the next log point with a checkpoint (Ctrl-C again: quit without it)",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> "StopOnInterrupt":
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self._previous)


_locks: dict[Path, int] = {}  # held for the life of the process


def lock_run(checkpoint: Path) -> None:
    """Take ``<checkpoint>.lock`` for this process: one process trains a run at a time. A second process on
    the same run is refused by name, and the lock is freed when the holder exits, even by ``kill -9``."""
    import fcntl  # POSIX (Linux, macOS, Colab): imported here so the rest of the module loads anywhere

    lock = checkpoint.with_name(checkpoint.name + ".lock")
    if lock in _locks:
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise CheckpointError(
            f"{lock}: another process (pid {holder}) is training this run; wait for it to finish or stop it"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _locks[lock] = fd
