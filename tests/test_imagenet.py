"""The ImageNet engine (``resnet_book.imagenet``) on CPU: torchrun with gloo on a tiny generated ImageFolder.

Images are 40-56 pixels, trained at a 32x32 crop (``--scale 36 44 --crop 32 --test-size 36``), so a few
iterations of ResNet-18 take seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

import resnet_book.__main__ as cli
from resnet_book import checkpoints, imagenet, runs
from resnet_book.models import get_model
from resnet_book.recipe import IMAGENET_PRESETS, ImageNetConfig, imagenet_preset
from resnet_book.records import write_atomically

REPO = Path(__file__).resolve().parent.parent
CLASSES, TRAIN_PER_CLASS, VAL_PER_CLASS = 3, 12, 4
SMALL = [
    "--model",
    "resnet18",
    "--iterations",
    "6",
    "--eval-every",
    "2",
    "--lr",
    "0.02",
    "--milestones",
    "4",
    "--scale",
    "36",
    "44",
    "--crop",
    "32",
    "--test-size",
    "36",
    "--mean-images",
    "12",
    "--workers",
    "0",
    "--batch-size",
    "8",
]


@pytest.fixture(autouse=True)
def one_thread():
    """In-process work on one thread, as each torchrun process here: two threads on a shared 2-core machine
    made a run three times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """3 classes, 12 training and 4 validation JPEGs each, of several sizes, each class its own tint."""
    root = tmp_path_factory.mktemp("imagefolder")
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", TRAIN_PER_CLASS), ("val", VAL_PER_CLASS)):
        for c in range(CLASSES):
            (root / split / f"class{c}").mkdir(parents=True)
            for i in range(n):
                h, w = 40 + 4 * (i % 3), 56 - 4 * (i % 4)
                x = torch.rand(3, h, w, generator=g) * 120
                x[c] += 120
                image = Image.fromarray(x.byte().permute(1, 2, 0).numpy())
                image.save(root / split / f"class{c}" / f"{i}.jpg", quality=90)
    return root


def launch(args: list[str], nproc: int = 1) -> subprocess.CompletedProcess:
    """``python -m resnet_book imagenet ARGS``, under ``torchrun --nproc_per_node nproc`` if nproc > 1."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    runner = [sys.executable]
    if nproc > 1:
        runner += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    return subprocess.run(
        [*runner, "-m", "resnet_book", "imagenet", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def imagenet_main(argv: list[str]) -> int:
    """``python -m resnet_book imagenet ARGV`` in this process: the subcommand of the one command line."""
    return cli.main(["imagenet", *argv])


def train(folder: Path, out: Path, nproc: int, *extra: str) -> subprocess.CompletedProcess:
    args = [*SMALL, "--data", str(folder), "--out", str(out / "runs"), "--checkpoint-dir", str(out / "ckpt"), *extra]
    result = launch(args, nproc)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def train_here(folder: Path, out: Path, capsys, *extra: str) -> str:
    """One process, in this one (no torchrun, no interpreter to start); returns what it printed."""
    args = [*SMALL, "--data", str(folder), "--out", str(out / "runs"), "--checkpoint-dir", str(out / "ckpt"), *extra]
    assert "WORLD_SIZE" not in os.environ
    capsys.readouterr()
    assert imagenet_main(args) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def weights(out: Path) -> dict:
    (path,) = (out / "ckpt").glob("*.pt")
    return torch.load(path, weights_only=True)["model"]


def record(out: Path) -> dict:
    (path,) = (out / "runs").glob("*.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def two_procs(folder, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Two processes with batch 4 each, BN frozen (see the equivalence test), uninterrupted."""
    out = tmp_path_factory.mktemp("two")
    return out, train(folder, out, 2, "--freeze-bn")


@pytest.mark.slow
def test_two_processes_of_b_train_as_one_of_2b(folder, two_procs, tmp_path, capsys):
    """DDP averages the two processes' gradients, and ``GlobalBatches`` gives them the two halves of the
    batch one process would see, so the weights after 6 steps must agree to float tolerance. BN would
    break that by design (each GPU normalises over its own half, as in the paper), so both runs use
    ``--freeze-bn``: BN on its running statistics, a fixed affine map, independent of the split."""
    out2, result = two_procs
    assert "NCCL unavailable" in result.stdout and "gloo" in result.stdout  # CPU: gloo, and it says so
    train_here(folder, tmp_path, capsys, "--freeze-bn")
    one, two = weights(tmp_path), weights(out2)
    torch.manual_seed(0)  # the runs' seed: their initial weights
    start = get_model("resnet18", num_classes=CLASSES).state_dict()
    assert (one["fc.weight"] - start["fc.weight"]).abs().max() > 1e-3  # it trained
    # The two runs differ by how the batch's mean gradient is summed (two means of 4, averaged by gloo, or one
    # mean of 8): about one float32 rounding (6e-8) of each gradient per step. With BN frozen the net is a fixed
    # smooth map, and six steps at lr 0.02 add up such roundings (lr x 6 x 1e-7 of a gradient) rather than
    # amplify them as BN at lr 0.1 does (tests/test_packed.py): rtol 1e-4 is three orders above that on any
    # kernel, and two processes that saw other images, or no averaging, move the weights by more than 1e-3.
    for k in one:
        torch.testing.assert_close(two[k], one[k], rtol=1e-4, atol=1e-5, msg=f"{k} differs between 2 x 4 and 1 x 8")
    r1, r2 = record(tmp_path), record(out2)
    assert r2["provenance"]["world_size"] == 2 and r1["provenance"]["world_size"] == 1
    assert r2["provenance"]["nodes"] == 1 and r2["provenance"]["backend"] == "gloo"
    assert [e["lr"] for e in r2["history"]] == pytest.approx([0.02, 0.02, 0.002])  # lr / 10 from iteration 4
    assert r2["id"] == "resnet18-A-custom-seed0" and r2["family"] == "imagenet"
    for e1, e2 in zip(r1["history"], r2["history"]):  # the same sums of losses as the weights above
        assert e1["train_loss"] == pytest.approx(e2["train_loss"], rel=1e-4)


def comparable(rec: dict) -> dict:
    """A record without what differs between two runs of one command: times, date, whether resumed."""
    rec = json.loads(json.dumps(rec))
    for key in ("wall_seconds", "date", "resumed"):
        rec["provenance"].pop(key)
    for entry in rec["history"]:
        entry.pop("seconds")
    return rec


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (Linux /proc)."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in map(int, children.read_text().split()):
            found += [child, *descendants(child)]
    return found


@pytest.mark.slow
def test_a_killed_torchrun_job_resumes_to_the_record_of_an_uninterrupted_one(folder, two_procs, tmp_path):
    """Preemption: every process of the job gets SIGKILL once the first checkpoint is on disk; the same
    command continues from it and records what the uninterrupted job recorded."""
    out2, _ = two_procs
    args = [
        *SMALL,
        "--freeze-bn",
        "--data",
        str(folder),
        "--out",
        str(tmp_path / "runs"),
        "--checkpoint-dir",
        str(tmp_path / "ckpt"),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    job = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "resnet_book",
            "imagenet",
            *args,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not list((tmp_path / "ckpt").glob("*.pt")) and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.02)
    for pid in [*descendants(job.pid), job.pid]:  # both workers (in sessions of their own) and torchrun
        os.kill(pid, signal.SIGKILL)
    job.wait()
    assert not list((tmp_path / "runs").glob("*.json")), "the job finished before it could be killed"
    again = launch(args, 2)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resuming at iteration " in again.stdout, again.stdout + again.stderr
    resumed_at = int(again.stdout.split("resuming at iteration ")[1].split()[0])
    assert 0 < resumed_at < 6  # it really was killed mid-run
    resumed, whole = record(tmp_path), record(out2)
    assert resumed["provenance"]["resumed"] is True
    assert comparable(resumed) == comparable(whole)


def test_a_checkpoint_changed_on_disk_is_refused_by_its_checksum(folder, tmp_path, capsys):
    """An ImageNet checkpoint is written as a CIFAR-10 run's is (``checkpoints.save``, with its checksum): a
    state that loads but is not what was written is refused, not resumed."""
    train_here(folder, tmp_path, capsys, "--stop-after", "1")
    (path,) = (tmp_path / "ckpt").glob("*.pt")
    state = torch.load(path, weights_only=True)
    assert state["format"] == imagenet.CHECKPOINT_FORMAT and state["checksum"] == checkpoints.checksum(state)
    state["iteration"] += 1  # a changed field, saved as torch would
    torch.save(state, path)
    args = [*SMALL, "--data", str(folder), "--out", str(tmp_path / "runs"), "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert imagenet_main(args) == 2
    assert "do not match the checksum saved with them" in capsys.readouterr().err


@pytest.mark.slow
def test_stop_after_then_the_same_command_records_what_one_run_does(folder, tmp_path, capsys):
    """``--stop-after`` (a sitting's time box) stops at an evaluation with a checkpoint and no record; the
    same command continues; once recorded, a run is not trained again."""
    train_here(folder, tmp_path / "whole", capsys)
    first = train_here(folder, tmp_path / "cut", capsys, "--stop-after", "3")
    assert "stopped at iteration 4" in first  # the first evaluation at or after 3 more iterations
    assert not list((tmp_path / "cut" / "runs").glob("*.json"))  # the folder is made (checked writable) at the start
    assert "resuming at iteration 4" in train_here(folder, tmp_path / "cut", capsys)
    assert comparable(record(tmp_path / "cut")) == comparable(record(tmp_path / "whole"))
    assert "already recorded" in train_here(folder, tmp_path / "cut", capsys)
    (path,) = (tmp_path / "whole" / "runs").glob("*.json")
    assert runs.load_run(path).family == "imagenet"  # checked as a CIFAR-10 record is, before it was written


def test_a_checkpoint_cut_off_while_written_leaves_the_previous_one_whole(tmp_path):
    """A job killed while rank 0 writes its checkpoint resumes from the one before."""
    path = tmp_path / "run.pt"
    write_atomically(path, lambda tmp: torch.save({"iteration": 2}, tmp))

    def killed(tmp):
        tmp.write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt  # what a signal raises in Python

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, killed)
    assert torch.load(path, weights_only=True) == {"iteration": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no half-written file left beside it


def test_ten_crop_logits_are_the_mean_of_the_ten_crops(float64):
    """Table 2 and 3's protocol: the logits of the four corner and the centre crops and their flips,
    averaged; checked against torchvision's ``ten_crop`` on each image, one crop at a time. In float64: a
    batch of crops and one crop alone sum in another order (and the order depends on the CPU's kernels);
    there that is ~1e-15 on logits of order 1, and 1e-9 is far from both it and a wrong crop (~1e-1)."""
    from torchvision.transforms.v2 import functional as TF

    torch.manual_seed(0)
    model = get_model("resnet18", num_classes=CLASSES).eval()
    x = torch.randint(0, 256, (2, 3, 40, 40), dtype=torch.uint8)
    mean = torch.rand(3, 32, 32)
    got = imagenet.crop_logits(model, x, mean, crop=32, ten=True)
    with torch.no_grad():
        by_hand = torch.stack(
            [
                torch.stack([model(((crop.double() / 255) - mean)[None])[0] for crop in TF.ten_crop(image, 32)]).mean(0)
                for image in x
            ]
        )
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, by_hand, rtol=1e-9, atol=1e-9)
    centre = imagenet.crop_logits(model, x, mean, crop=32, ten=False)
    assert not torch.allclose(centre, got)  # 10-crop is not the centre crop alone


def test_training_view_depends_on_seed_epoch_and_image_only(folder):
    from torchvision.datasets import ImageFolder

    cfg = ImageNetConfig(scale=(36, 44), crop=32)
    view = imagenet.TrainView(ImageFolder(str(folder / "train")), cfg)
    x, label, alpha = view[(0, 5)]
    assert x.shape == (3, 32, 32) and x.dtype == torch.uint8 and label == 0
    assert torch.equal(view[(0, 5)][0], x) and torch.equal(view[(0, 5)][2], alpha)  # any worker, any restart
    assert not all(torch.equal(view[(e, 5)][0], x) for e in range(1, 4))  # a new epoch, a new view


@pytest.mark.parametrize(
    "setup, args, message",
    [
        (None, ["--data", "{tmp}/nowhere"], "nowhere/train: no such folder"),
        ("empty-class", ["--data", "{tmp}"], "not an image folder"),
        ("folder", ["--batch-size", "64"], "36 training images, fewer than one batch of 64"),
        ("folder", ["--model", "resnet20"], "unknown model 'resnet20' for ImageNet"),
        ("folder", ["--device", "cuda"], "no CUDA GPU; use --device cpu"),
    ],
)
def test_clear_errors(folder, tmp_path, capsys, monkeypatch, setup, args, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the CPU machine of CI, wherever it runs
    if setup == "empty-class":
        (tmp_path / "train" / "class0").mkdir(parents=True)
        (tmp_path / "val").mkdir()
    data = str(folder) if setup == "folder" else None
    argv = [
        *SMALL,
        *(["--data", data] if data else []),
        *[a.format(tmp=tmp_path) for a in args],
        "--out",
        str(tmp_path / "runs"),
        "--checkpoint-dir",
        str(tmp_path / "ckpt"),
    ]
    assert imagenet_main(argv) == 2
    assert message in capsys.readouterr().err


def test_presets_follow_the_data_and_any_override_is_custom():
    parse = lambda *argv: cli.make_imagenet_config(cli.parser().parse_args(["imagenet", *argv]))  # noqa: E731
    paper = parse("--data", "/data/imagenet")
    assert (paper.preset, paper.iterations, paper.batch_size, paper.milestones) == ("paper", 600_000, 256, None)
    assert (paper.scale, paper.crop, paper.test_size, paper.lr, paper.weight_decay) == ((256, 480), 224, 256, 0.1, 1e-4)
    nette = parse()
    assert (nette.preset, nette.iterations, nette.milestones) == ("imagenette", 5_000, (2_500, 3_750))
    assert parse("--data", "/data/imagenet", "--iterations", "10").preset == "custom"
    assert nette == replace(ImageNetConfig(preset="imagenette"), **IMAGENET_PRESETS["imagenette"])  # the one recipe


def test_the_library_s_imagenet_preset_is_the_command_line_s():
    """``recipe.imagenet_preset`` is what the command line builds from its options; the library refuses a
    preset it does not know by name (the command line's ``choices`` never let one through)."""
    cli_cfg = cli.make_imagenet_config(
        cli.parser().parse_args(["imagenet", "--model", "resnet18", "--seed", "3", "--crop", "112"])
    )
    assert cli_cfg == imagenet_preset(None, "resnet18", seed=3, crop=112)
    assert (cli_cfg.preset, cli_cfg.crop, cli_cfg.seed, cli_cfg.iterations) == ("custom", 112, 3, 5_000)
    assert imagenet_preset("paper", shortcut="B", seed=1).preset == "paper"  # the run's name changes no schedule
    with pytest.raises(ValueError, match="unknown ImageNet preset 'fast': valid are paper, imagenette"):
        imagenet_preset("fast")


def test_world_size_must_divide_the_batch():
    assert imagenet.check_batch(256, 8) == 32
    with pytest.raises(ValueError, match="--batch-size 256 is not divisible by the world size 3"):
        imagenet.check_batch(256, 3)


# ------------------------------------------------------------------ hostile input (issue #29), in this process
@pytest.mark.parametrize(
    "args, says",
    [
        (["--lr", "nan"], "--lr: must be a finite number > 0, got nan"),
        (["--lr", "inf"], "--lr: must be a finite number > 0, got inf"),
        (["--lr", "0"], "--lr: must be a finite number > 0, got 0"),
        (["--iterations", "0"], "--iterations: must be >= 1, got 0"),
        (["--iterations", "-3"], "--iterations: must be >= 1, got -3"),
        (["--eval-every", "0"], "--eval-every: must be >= 1, got 0"),
        (["--batch-size", "0"], "--batch-size: must be >= 1, got 0"),
        (["--workers", "-1"], "--workers: must be >= 0, got -1"),
        (["--seed", str(2**64)], "--seed: must be from -2^63 to 2^64 - 1"),
        (["--iterations", "9" * 5000], "(5,000 characters) is too long for any number here"),
    ],
)
def test_bad_values_are_refused_by_the_parser(capsys, args, says):
    with pytest.raises(SystemExit) as exit:
        imagenet_main([*SMALL, *args])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and says in err and "Traceback" not in err


def test_a_config_out_of_range_is_refused_before_the_data(tmp_path):
    """``imagenet.train_imagenet(ImageNetConfig(...))`` from Python meets the same checks as the command line."""
    world = imagenet.World()
    for change, says in [({"lr": float("nan")}, "--lr must be a finite number > 0"), ({"eval_every": 0}, "--eval-every must be")]:
        with pytest.raises(ValueError, match=says):
            imagenet.check_config(ImageNetConfig(data=str(tmp_path), **change), world)


def test_a_diverged_run_stops_in_one_line_with_no_record(folder, tmp_path, capsys):
    """lr 1000: the loss explodes within the first window of 2 iterations; the run stops there, as a CIFAR-10
    run does (``train.TrainingDiverged``), before that window is logged, checkpointed or recorded."""
    argv = [*SMALL, "--data", str(folder), "--out", str(tmp_path / "runs"), "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert imagenet_main([*argv, "--lr", "1000"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: resnet18-A-custom-seed0: diverged, the training loss became") and "\n" not in err
    assert "chance level is 1.10" in err and "no checkpoint was written" in err  # 3 classes: ln 3
    assert not list((tmp_path / "runs").glob("*.json")) and not list((tmp_path / "ckpt").glob("*.pt"))


def test_an_unreadable_checkpoint_is_refused_by_name(folder, tmp_path, capsys):
    train_here(folder, tmp_path, capsys, "--stop-after", "1")  # a checkpoint at iteration 2
    (path,) = (tmp_path / "ckpt").glob("*.pt")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # cut off while copied
    args = [*SMALL, "--data", str(folder), "--out", str(tmp_path / "runs"), "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert imagenet_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: not a readable checkpoint") and "delete it to start the run over" in err
    assert "\n" not in err and "Traceback" not in err
