"""The paper's CIFAR-10 training loop (Sec. 4.2): one ``Trainer``, used by chapters, the CLI and the benchmark.

SGD with momentum 0.9, weight decay 1e-4, mini-batch 128, learning rate 0.1 divided by 10 at 32k and 48k
iterations, stop at 64k; ResNet-110 warms up at 0.01 until its training error is below 80 %. ``Config``
(``resnet_book.recipe``) holds the recipe, ``preset`` the named schedules, ``Trainer`` runs it; a run's
checkpoints are ``resnet_book.checkpoints``, and its way from a name to a record is ``resnet_book.jobs``.

The loop is a sequence of *windows*: the device runs the steps up to the next point where the host must
look (``queue_window``: a log point, or a warm-up check), then the host looks once (``end_window``: the
warm-up check, the history entry with its test error, the checkpoint). A single run, a pack and a pool of
runs side by side (``sweeps.run_pool``) all train through these two.

Speed on a GPU comes from removing work, each trick behind a switch of ``Engine`` (not of the recipe):

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
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from . import checkpoints
from . import data as datamod
from .packed import PackedResNet
from .recipe import Config, preset, run_names
from .runs import History, TrainedRun


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


def per_run_scores(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For logits ``(batch, runs, classes)`` and labels ``(batch,)`` shared by the runs or ``(batch, runs)``,
    each its own: each run's loss per image ``(batch, runs)`` and its wrong answers ``(runs,)``."""
    y = y[:, None].expand(-1, out.shape[1]) if y.dim() == 1 else y
    losses = F.cross_entropy(out.transpose(1, 2), y, reduction="none")
    return losses, (out.argmax(2) != y).sum(0)


class TrainingDiverged(RuntimeError):
    """The training loss became NaN, infinite, or far above chance level; no record is written, and the
    last checkpoint (if one was written) is kept."""


# A network that guesses uniformly among 10 classes has loss ln 10 = 2.3 (chance level). A window whose mean
# training loss is above DIVERGED_LOSS is diverged: at lr 100 the loss reaches 1e17 at chance-level error,
# while no window of the recorded runs (data/runs) is above 2.2, and ResNet-8 at lr 1 starts at 4.5.
DIVERGED_LOSS = 10 * math.log(10)


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

    def on(self, device: torch.device) -> "Engine":
        """The switches on ``device``, every automatic one decided (the reader is told when a GPU lacks bf16)."""
        cuda = device.type == "cuda"
        amp, note = amp_choice(self.amp, cuda, cuda and _bf16_supported(device))
        if note:
            print(f"{torch.cuda.get_device_name(device)}: {note}")
        benchmark = cuda and self.cudnn_benchmark is not False
        if benchmark:
            torch.backends.cudnn.benchmark = True  # process-wide: it only picks faster algorithms
        graph = cuda if self.cuda_graph is None else self.cuda_graph
        if graph and not cuda:
            raise ValueError("cuda_graph=True needs a CUDA device")
        channels_last = cuda if self.channels_last is None else self.channels_last
        return replace(self, amp=amp, channels_last=channels_last, cuda_graph=graph, cudnn_benchmark=benchmark)


class Trainer:
    """Trains one network with ``Config`` on a ``CIFAR10``: ``run()``, window by window (``queue_window``, then
    ``end_window``; a pool of trainers interleaves them on one GPU, ``sweeps.run_pool``). Given a list of
    configs, it trains them as one network (``resnet_book.packed``); ``trained_runs`` gives each run as its
    record tells it. ``checkpoint`` (a path, or ``checkpoints.claim(path)``'s hand-over, which is not checked again):
    resumed from unless ``resume`` is false, saved to.

    ``model=net`` trains ``net`` instead of the named ``config.model`` (e.g. a shortcut variant of the sequel,
    ``models.shortcut_variant``), with the config's recipe and data: one run, not checkpointed, never recorded.
    """

    def __init__(
        self,
        config: Config | Sequence[Config],
        data: datamod.CIFAR10,
        device: str | torch.device | None = None,
        checkpoint: str | Path | checkpoints.Claimed | None = None,
        resume: bool = True,
        callback: Callable[["Trainer", dict], None] | None = None,
        engine: Engine = Engine(),
        model: torch.nn.Module | None = None,
    ) -> None:
        self.configs = [config] if isinstance(config, Config) else list(config)
        self.config = cfg = self.configs[0]  # the schedule (shared by a pack)
        self.own_model = model is not None  # a net that is not one of the named models
        if self.own_model:
            check_own_model(model, self.configs, checkpoint)
        if checkpoint is not None and not isinstance(checkpoint, checkpoints.Claimed):
            checkpoint = checkpoints.claim(checkpoint)  # a path given here; jobs claims before it loads the data
        # what the recipe says once, read from here on: every step's rate, each run's name (a pack checked)
        self.lrs = cfg.learning_rates()
        self.names = [f"{cfg.model}, own net"] if self.own_model else run_names(self.configs)
        self.device = resolve_device(device)
        self.engine = e = engine.on(self.device)
        self.amp, self.channels_last, self.use_graph, self.use_compile = e.amp, e.channels_last, e.cuda_graph, e.compile
        # a pack of runs with other seeds: each run its own mini-batches, so the stem sees each run's own images
        self.own_inputs = len({c.seed for c in self.configs}) > 1
        self.callback = callback
        self.stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
        self.model = model.to(self.device) if self.own_model else build_net(self.configs, self.own_inputs, self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if self.use_compile else self.model  # training; evaluation: eager
        self.params = [p for p in self.model.parameters()]
        self.dtype = self.params[0].dtype  # float32 (bf16 autocast's outputs come back to it); float64 in exactness tests
        self.bufs = [torch.zeros_like(p) for p in self.params]  # SGD's momentum
        self.data = datamod.at_size(data, cfg.image_size).to(self.device)
        self.augment = datamod.Augmenter(self.data)
        # which image, crop and flip each sample gets, from the seed alone: a pack on one batch reads the first run's
        seeds, samples = [c.seed for c in self.configs] if self.own_inputs else [cfg.seed], cfg.iterations * cfg.batch_size
        self.plans = datamod.sample_plans(seeds, len(self.data.train_labels), samples, self.device, cfg.image_size)
        self.iteration = 0
        self.warming_up = cfg.warmup_lr is not None  # Sec. 4.2's warm-up (lr_at), until the training error drops
        self._lr_value = cfg.warmup_lr if self.warming_up else self.lrs[0]
        self.lr_t = torch.tensor(self._lr_value, device=self.device)
        # per run: the loss and the wrong answers summed since the last log
        self.sums = torch.zeros(len(self.configs), 2, device=self.device, dtype=self.dtype)
        self.step_t = torch.zeros((), dtype=torch.long, device=self.device)
        self.batch_ar = torch.arange(cfg.batch_size, device=self.device)
        self.histories = [History() for _ in self.configs]
        self.wall_seconds = 0.0  # over every segment of the run, resumed ones included
        self.resumed_from: int | None = None
        self.trained_with: list[str] = []  # other runs that shared the GPU (a sweep's streams), for the record
        self._graph: torch.cuda.CUDAGraph | None = None
        self._last_log = 0
        self._clock: float | None = None  # when this segment of the run started (``start_clock``)
        self.checkpoint_path = checkpoint.path if checkpoint is not None else None
        if self.checkpoint_path is not None and resume and self.checkpoint_path.exists():
            restore(self, checkpoints.load(self.checkpoint_path, self.configs, self.data.name, self.device))

    @property
    def history(self) -> History:
        """The run's history (for a pack, the first run's; each run's: ``histories``)."""
        return self.histories[0]

    # ------------------------------------------------------------------ the loop
    def run(self, max_seconds: float | None = None, progress: bool = True, stop: Callable[[], bool] | None = None) -> "Trainer":
        """Train to the end of the schedule, or until ``max_seconds`` or ``stop()`` (asked at every log point,
        e.g. ``jobs.StopOnInterrupt``: Ctrl-C), then stop at a log point with a checkpoint."""
        bar = progress_bar(self, disable=not progress, dynamic_ncols=True)
        self.start_clock()
        try:
            while not self.done:
                self.queue_window()
                show(bar, self, self.end_window())
                if not self.done and (max_seconds is not None and self.seconds() > max_seconds or stop is not None and stop()):
                    self.stop_at_log_point()
                    break
        finally:
            bar.close()
            self.stop_clock()
        return self

    def queue_window(self) -> None:
        """Queue the steps up to the next point where the host must look: a log point or a warm-up check."""
        cfg = self.config
        stop = min(cfg.iterations, (self.iteration // cfg.eval_every + 1) * cfg.eval_every)
        if self.warming_up:
            stop = min(stop, (self.iteration // cfg.warmup_check_every + 1) * cfg.warmup_check_every)
        self.advance(stop - self.iteration)

    def end_window(self) -> dict | list[dict] | None:
        """The host's one look after a window: Sec. 4.2's warm-up check, then at a log point the history
        entry (``log``), the checkpoint when one is due, and the callback. Returns the entry, or None."""
        self.check_warmup()
        entry = self.log(self.seconds())
        if entry is not None:
            if self.checkpoint_path and (self.iteration % self.config.checkpoint_every == 0 or self.done):
                checkpoints.save(self.checkpoint_path, state_of(self))
            if self.callback is not None:
                self.callback(self, entry)
        return entry

    def stop_at_log_point(self) -> None:
        """Train on to the next log point and checkpoint there, so the resumed run logs as an uninterrupted one."""
        while self.iteration % self.config.eval_every and not self.done:
            self.queue_window()
            self.end_window()
        if self.checkpoint_path:
            checkpoints.save(self.checkpoint_path, state_of(self))

    @property
    def done(self) -> bool:
        return self.iteration >= self.config.iterations

    def start_clock(self) -> None:
        """A segment of the run starts (``run``, or a pool starting it); ``stop_clock`` adds it to ``wall_seconds``."""
        self._clock = time.perf_counter()

    def seconds(self) -> float:
        """Seconds of this segment so far (0 outside one)."""
        return 0.0 if self._clock is None else time.perf_counter() - self._clock

    def stop_clock(self) -> None:
        self.wall_seconds, self._clock = self.wall_seconds + self.seconds(), None

    # ------------------------------------------------------------------ the step, eager or graphed
    def advance(self, n: int) -> None:
        """Queue ``n`` iterations (fewer at the end of the run); changes the learning rate on schedule."""
        with self._on_stream():
            for _ in range(min(n, self.config.iterations - self.iteration)):
                lr = self.config.warmup_lr if self.warming_up else self.lrs[self.iteration]
                if lr != self._lr_value:
                    self.lr_t.fill_(lr)
                    self._lr_value = lr
                if self.use_graph:
                    if self._graph is None:  # warm-up steps on a copy of the state, which is then restored
                        state = self.params + self.bufs + list(self.model.buffers()) + [self.sums, self.step_t]
                        self._graph = cuda_graph(self._step, state, self.device)
                    self._graph.replay()
                else:
                    self._step()
                self.iteration += 1

    def _step(self) -> None:
        """One iteration of Sec. 4.2, on the device without a host sync: a mini-batch of augmented images (4-pixel
        padding, 32x32 crop, flip), forward, backward, SGD update (``sgd_update``), running sums of loss and errors."""
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

    def _on_stream(self):
        """Everything of this run goes to its own CUDA stream (so a sweep can interleave runs)."""
        return torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext()

    def ready(self) -> bool:
        """Whether the steps queued so far have run (never blocks; always true on a CPU)."""
        return self.stream is None or self.stream.query()

    def _sync(self) -> None:
        if self.stream is not None:
            self.stream.synchronize()

    # ------------------------------------------------------------------ what the host reads
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
        """At a log point: one history entry per run (train loss and error since the last entry, test error
        now: the paper's dashed and bold curves), a list for a pack. A diverged loss stops the run here."""
        if self.iteration == self._last_log or (self.iteration % self.config.eval_every and not self.done):
            return None
        sums, count = self._read_sums(reset=True)
        for name, (loss_sum, _) in zip(self.names, sums):
            if not loss_sum / count <= DIVERGED_LOSS:  # NaN too
                where = f"between iterations {self._last_log:,} and {self.iteration:,} at lr {self._lr_value:g}"
                raise TrainingDiverged(diverged(name, loss_sum / count, where, self.checkpoint_path))
        with self._on_stream():
            tests = evaluate(self.model, self.data, len(self.configs), self.engine, repeat=self.own_inputs)
        entries = []
        for history, (loss_sum, wrong), (test_error, test_loss) in zip(self.histories, sums, tests):
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
        return entries[0] if len(entries) == 1 else entries

    # ------------------------------------------------------------------ the runs it trained
    def final(self) -> dict:
        """Final training error (the last history window) and test error, fractions in [0, 1]."""
        return self.history.final()

    @property
    def label(self) -> str:
        """e.g. ``resnet56-A`` or, for a pack, ``plain56-plain + resnet56-A``."""
        return " + ".join(self.names)


def trained_runs(trainer: Trainer) -> list[TrainedRun]:
    """Each run of ``trainer`` as its record tells it (``runs.make_record``), in the order of its configs, with
    its own network (a pack's run unpacked). A net given as ``Trainer(..., model=net)`` is refused: its record
    would name the config's model (``resnet20-A``, say), which is not the net that was trained."""
    if trainer.own_model:
        raise ValueError(
            f"{trainer.label}: trained a net given as model=, not the named {trainer.config.model!r}; "
            "such a run is not recorded (a record names the model it was trained on)"
        )
    fast_path = {
        "cuda_graph": trainer.use_graph,
        "bf16": trainer.amp,
        "channels_last": trainer.channels_last,
        "inductor": trainer.use_compile,
        "packed_runs": len(trainer.configs),  # 1, or the runs trained as one network with it
    }
    return [
        TrainedRun(
            c,
            trainer.data.name,
            trainer.histories[g],
            trainer.device,
            trainer.wall_seconds,
            fast_path,
            trainer.resumed_from is not None,
            [n for i, n in enumerate(trainer.names) if i != g] + trainer.trained_with,
            trainer.model if len(trainer.configs) == 1 else trainer.model.unpack(g),
        )
        for g, c in enumerate(trainer.configs)
    ]


def state_of(trainer: Trainer) -> dict:
    """Everything a run continues from, as its checkpoint holds it: the runs' configs, iteration, weights,
    momentum, histories, warm-up state, wall time, RNG states, and the dataset's name."""
    trainer._sync()
    return {
        "configs": [asdict(c) for c in trainer.configs],
        "iteration": trainer.iteration,
        "model": trainer.model.state_dict(),
        "momentum": [b.detach().clone() for b in trainer.bufs],
        "histories": [copy.deepcopy(h.entries) for h in trainer.histories],
        "warmup_end": trainer.history.warmup_end,
        "warming_up": trainer.warming_up,
        "wall_seconds": trainer.wall_seconds + trainer.seconds(),
        "trained_with": list(trainer.trained_with),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state(trainer.device) if trainer.device.type == "cuda" else None,
        "dataset": trainer.data.name,
    }


def restore(trainer: Trainer, state: dict) -> None:
    """Continue ``trainer`` from ``state`` (``checkpoints.load``, which checked it is of these runs on this
    dataset) as if the run had never been interrupted; a state that does not fit the network (another shape) is
    refused naming the checkpoint."""
    try:
        if len(state["momentum"]) != len(trainer.bufs):
            raise ValueError(f"{len(state['momentum'])} momentum buffers for {len(trainer.bufs)} parameters")
        trainer.model.load_state_dict(state["model"])
        with torch.no_grad():
            for b, s in zip(trainer.bufs, state["momentum"]):
                if b.shape != s.shape:
                    raise ValueError(f"a momentum buffer of shape {tuple(s.shape)} for a parameter of shape {tuple(b.shape)}")
                b.copy_(s)
        trainer.iteration = trainer._last_log = trainer.resumed_from = int(state["iteration"])
        trainer.step_t.fill_(trainer.iteration)
        trainer.histories = [History(list(h)) for h in state["histories"]]
        trainer.history.warmup_end = state["warmup_end"]
        trainer.warming_up = bool(state["warming_up"]) and trainer.config.warmup_lr is not None  # a net without one never does
        trainer.wall_seconds = float(state["wall_seconds"])
        trainer.trained_with = list(state.get("trained_with", []))  # runs that shared the GPU in earlier segments
        torch.set_rng_state(state["rng_cpu"].cpu())
        if state["rng_cuda"] is not None and trainer.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng_cuda"].cpu(), trainer.device)
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise checkpoints.CheckpointError(
            f"{trainer.checkpoint_path}: does not fit this run's network ({reason[:300]}); {checkpoints.FIX}"
        ) from None


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, data: datamod.CIFAR10, runs: int, engine: Engine, repeat: bool = False
) -> list[tuple[float, float]]:
    """(error, loss) of each of the ``runs`` runs of ``model`` (one net, or a pack) on the whole test split,
    a single 32x32 view per image (Sec. 4.2), BN in inference mode. ``engine``: the switches decided
    (``Engine.on``); ``repeat``: the pack takes each run's images side by side, so each gets the test images."""
    model.eval()
    wrong, loss, images, labels = 0.0, 0.0, data.test_images, data.test_labels
    try:
        for i in range(0, len(labels), engine.eval_batch_size):
            x = data.normalize(images[i : i + engine.eval_batch_size])
            y = labels[i : i + engine.eval_batch_size]
            if repeat:
                x = x.repeat(1, runs, 1, 1)
            if engine.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(x.device.type, torch.bfloat16, enabled=engine.amp):
                out = model(x).to(x.dtype).view(len(y), runs, -1)  # bf16 back to the data's dtype
            losses, wrong_here = per_run_scores(out, y)
            wrong += wrong_here
            loss += losses.sum(0)
        n = len(labels)
        return [(w / n, s / n) for w, s in zip(wrong.tolist(), loss.tolist())]
    finally:
        model.train()


def cuda_graph(step: Callable[[], None], state: list[torch.Tensor], device: torch.device) -> torch.cuda.CUDAGraph:
    """``step`` captured in a CUDA graph; the warm-up steps before the capture run on ``state`` (every tensor
    that ``step`` changes), which is then restored, so the run starts where it was."""
    saved = [t.detach().clone() for t in state]
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=side):
        step()
    with torch.no_grad():
        for t, s in zip(state, saved):
            t.copy_(s)
    return graph


def build_net(configs: list[Config], own_inputs: bool, device: torch.device) -> torch.nn.Module:
    """Each run's named net with the weights it would have alone (built after ``torch.manual_seed(seed)``),
    packed into one network when there are several (``resnet_book.packed``)."""
    models = []
    for c in configs:
        torch.manual_seed(c.seed)
        models.append(c.net.build(num_classes=10, width=c.width).to(device))
    if len(models) == 1:
        return models[0]
    return PackedResNet(models, [c.model for c in configs], own_inputs=own_inputs)


def diverged(run: str, loss: float, where: str, checkpoint: Path | None) -> str:
    """The one line that stops a diverged run: its loss against chance level, and what is kept."""
    kept = (
        f"no record was written; the last checkpoint, {checkpoint}, is kept"
        if checkpoint is not None and checkpoint.is_file()
        else "no checkpoint was written, no record either"
    )
    return (
        f"{run}: diverged, the training loss became {loss:.4g} (chance level is {math.log(10):.2f}) {where}; {kept}. "
        "Lower the learning rate (lr) and start over"
    )


def progress_bar(trainer: Trainer, **options):
    """A tqdm bar of the trainer's iterations (the notebook's widget in Jupyter), labelled with its runs."""
    from tqdm.auto import tqdm

    return tqdm(total=trainer.config.iterations, initial=trainer.iteration, desc=trainer.label, unit="it", **options)


def show(bar, trainer: Trainer, entry: dict | list[dict] | None) -> None:
    """Bring the bar to the trainer's iteration, with the errors of a new history entry."""
    if entry is not None:
        bar.set_postfix_str(progress_text(entry), refresh=False)
    bar.update(trainer.iteration - bar.n)


def check_own_model(model: object, configs: list[Config], checkpoint: str | Path | checkpoints.Claimed | None) -> None:
    """What ``Trainer(config, data, model=net)`` accepts: one ``nn.Module`` for one config, no checkpoint.

    A checkpoint names its run by the config alone, so it could resume a named model's weights into this
    net (or this net's into the named model): refused, as are packs (each run of a pack is a named model)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (the net to train), got {type(model).__name__}")
    if len(configs) != 1:
        raise ValueError(f"model=: one net trains one run; got {len(configs)} configs (a pack trains named models only)")
    if checkpoint is not None:
        path = checkpoint.path if isinstance(checkpoint, checkpoints.Claimed) else checkpoint
        raise ValueError(
            f"model=: a net that is not one of the named models is not checkpointed (checkpoint={str(path)!r}): "
            f"its checkpoint could resume into the named {configs[0].model!r} or the other way round"
        )


def progress_text(entry: dict | list[dict]) -> str:
    """Progress-bar text: train and test error of the last entry (every run's test error in a pack)."""
    if isinstance(entry, dict):
        return f"train_err={entry['train_error']:.3f}, test_err={entry['test_error']:.3f}"
    return "test_err=" + "/".join(f"{e['test_error']:.3f}" for e in entry)


def train(
    config: Config | str = "quick",
    model: str | None = None,
    data: datamod.CIFAR10 | None = None,
    device: str | torch.device | None = None,
    **kwargs,
) -> Trainer:
    """Train one network and return its ``Trainer`` (history, final errors, model).

    ``train("quick", "plain20")`` loads CIFAR-10 (see ``resnet_book.data``) and runs the quick preset.
    Keyword arguments go to ``Trainer`` (``checkpoint``: a path here, claimed before the data is loaded,
    ``checkpoints.claim``; ``callback``) and ``Trainer.run`` (``max_seconds``, ``progress``).
    """
    if isinstance(config, str):
        config = preset(config, model or "resnet20")
    elif model is not None:
        config = replace(config, model=model)
    if kwargs.get("checkpoint") is not None:
        kwargs["checkpoint"] = checkpoints.claim(kwargs["checkpoint"])
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
