"""Issues #19 and #29: every bad input refused by name, nothing lost, nothing shown wrong.

Records, checkpoints (bit flips, hand-made ones, a full disk, saves cut short), the lock (every way in, seeds
in any order), divergence, the command line (Ctrl-C, SIGTERM, a sweep meeting a run trained elsewhere) and the
binary CIFAR-10 reader, each tried as a hostile but fair user would. No test needs a dataset: CLI runs load
``synthetic_cifar10`` in place of CIFAR-10.
"""

import contextlib
import copy
import dataclasses
import errno
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import resnet_book.__main__ as cli
from resnet_book import checkpoints, jobs, records, runs, sweeps
from resnet_book import data as datamod
from resnet_book import train as trainmod
from resnet_book.checkpoints import CheckpointError, RunLocked, claim
from resnet_book.checkpoints import lock as lock_run
from resnet_book.data import DatasetError
from resnet_book.runs import RunRecordError, load_run
from resnet_book.train import Config, Trainer, TrainingDiverged


@pytest.fixture(scope="module")
def tiny():
    return datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)


@pytest.fixture
def good():
    return copy.deepcopy(runs.load_run(runs.RUNS_DIR / "resnet20-A-paper-seed0.json").record)


def tiny_config(**kw) -> Config:
    return Config(
        **{**dict(model="resnet8", batch_size=16, iterations=8, milestones=(6,), eval_every=4, checkpoint_every=4), **kw}
    )


def history_of(record_path) -> list[dict]:
    """A recorded run's history without its wall-clock seconds: what an interrupted run must reproduce exactly."""
    return [{k: v for k, v in e.items() if k != "seconds"} for e in load_run(record_path).history]


HOLDER = """
import fcntl, os, sys
for path in sys.argv[1:]:  # checkpoints.lock's protocol: flock on <checkpoint>.lock, the holder's pid inside
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, str(os.getpid()).encode())
print("locked", flush=True)
input()
"""


@contextlib.contextmanager
def held_lock(*paths):
    """Another process (plain Python: it starts in milliseconds) holds the locks of the checkpoints ``paths``
    until the block ends; yields its pid."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, *map(str, paths)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder.pid
    finally:
        holder.communicate("\n", timeout=60)


# ------------------------------------------------------------------------------------------- records


def _ends_at(record: dict, test_error: float) -> None:
    """A record whose run ended at another test error, and says so in both places (final and history)."""
    record["final"]["test_error"] = record["history"][-1]["test_error"] = test_error


def test_every_committed_record_loads_and_ids_are_file_names():
    recorded = runs.list_runs()
    assert len(recorded) >= 11 and all(r.id == r.path.stem for r in recorded)


@pytest.mark.parametrize(
    "name, change, field",
    [
        # a copy saved by a file manager, with another number: it would sort first in a table
        ("resnet20-A-paper-seed0 (1)", lambda r: _ends_at(r, 0.05), "id"),
        # a file named for resnet20 whose model is resnet32: ResNet-32's row would show ResNet-20's error
        ("resnet20-A-paper-seed0", lambda r: r.update(model="resnet32"), "id"),
        ("resnet20-A-paper-seed0", lambda r: r.update(shortcut="B"), "id"),
        ("resnet20-A-paper-seed0", lambda r: r.update(seed=1), "id"),
        ("resnet20-A-paper-seed0", lambda r: r.pop("preset"), "preset"),
        ("resnet20-A-paper-seed0", lambda r: r.update(preset="fast"), "preset"),
        ("resnet20-A-paper-seed0", lambda r: r.update(model="resnet99999998"), "model"),
        # other spellings of resnet20: find_run("resnet20") would not find them (issue #29)
        ("resnet20-A-paper-seed0", lambda r: r.update(model="resnet020"), "model"),
        ("resnet20-A-paper-seed0", lambda r: r.update(model="resnet２０"), "model"),  # full-width digits
    ],
)
def test_a_record_that_disagrees_with_its_name_is_refused(good, tmp_path, name, change, field):
    change(good)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(good))
    with pytest.raises(RunRecordError) as err:
        load_run(path)
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def test_a_copy_beside_the_original_stops_the_listing_by_name(good, tmp_path):
    runs.save_run(good, tmp_path)
    _ends_at(good, 0.05)
    (tmp_path / "resnet20-A-paper-seed0 (1).json").write_text(json.dumps(good))
    with pytest.raises(RunRecordError, match=r"seed0 \(1\)\.json: field 'id'"):
        runs.find_run("resnet20", directory=tmp_path)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda r: r["final"]["layer_response_std"].__setitem__(2, math.nan), "final.layer_response_std[2]"),
        (lambda r: r["history"][1].update(test_loss=math.inf), "history[1].test_loss"),
        (lambda r: r["history"][1].update(lr=math.nan), "history[1].lr"),
        (lambda r: r["final"].update(train_loss=math.nan), "final.train_loss"),
    ],
)
def test_non_finite_numbers_are_refused_in_memory_and_on_disk(good, tmp_path, change, field):
    change(good)
    with pytest.raises(RunRecordError, match=re.escape(f"field '{field}' must be a finite number")):
        runs.save_run(good, tmp_path)  # a record made in memory is never written
    path = tmp_path / "resnet20-A-paper-seed0.json"
    path.write_text(json.dumps(good))  # Python writes NaN / Infinity, which JSON does not have
    with pytest.raises(RunRecordError, match=r"seed0\.json: not valid JSON \((NaN|Infinity) is not a JSON number"):
        load_run(path)


@pytest.mark.parametrize(
    "change, field, says",
    [
        (lambda r: r["final"].update(test_error=0.05), "final.test_error", "the history's last entry (iteration 64,000) has"),
        (lambda r: r["final"].update(train_error=0.5), "final.train_error", "the history's last entry (iteration 64,000) has"),
        (lambda r: r.update(history=r["history"][:2]), "history", "ends at iteration 1,000 of a 64,000-iteration schedule"),
        (lambda r: r["schedule"].update(iterations=128_000), "history", "ends at iteration 64,000 of a 128,000-iteration"),
        (lambda r: r["schedule"].update(lr=math.inf), "schedule.lr", "must be a finite number"),  # 1e999 on disk
        (lambda r: r["provenance"].update(wall_seconds=-1.0), "provenance.wall_seconds", "must be a number of seconds >= 0"),
        (lambda r: r["schedule"].update(batch_size=0), "schedule.batch_size", "must be a whole number >= 1"),
        (lambda r: r["history"][3].update(iteration=2000.5), "history[3].iteration", "must be a whole number >= 1"),
        (lambda r: r.update(dataset="imagenet"), "dataset", "not a dataset this package trains on"),
        (lambda r: r.update(dataset="CIFAR-10 (real)"), "dataset", "not a dataset this package trains on"),
        (lambda r: r.update(dataset="cifar10-jpeg[500/100 per class]"), "dataset", "but schedule.train_per_class is None"),
    ],
)
def test_a_record_that_contradicts_itself_is_refused(good, tmp_path, change, field, says):
    """Issue #29: finals against the history, the history against the schedule, every number finite, the
    dataset one the package knows; in memory (before a save) and on disk."""
    change(good)
    with pytest.raises(RunRecordError, match=re.escape(f"field '{field}' ") + ".*" + re.escape(says)):
        runs.save_run(good, tmp_path)
    path = tmp_path / "resnet20-A-paper-seed0.json"
    path.write_text(json.dumps(good).replace("Infinity", "1e999"))  # json reads 1e999 as infinity
    with pytest.raises(RunRecordError, match=re.escape(f"{path}: field '{field}' ") + ".*" + re.escape(says)):
        load_run(path)


def test_every_recorded_run_and_benchmark_passes_the_consistency_rules():
    """The rules above describe what the trainer writes: every committed record keeps passing them."""
    from resnet_book import benchmarks

    assert len(runs.list_runs()) >= 11 and len(benchmarks.load_benchmarks()) >= 1
    assert len(benchmarks.load_benchmarks(benchmarks.EARLIER)) >= 1
    for record in runs.RUNS_DIR.glob("**/*.json"):  # ImageNet records too, once there are some
        assert load_run(record).id == record.stem


def _slowed_copy(folder, name: str) -> dict:
    """The H100 benchmark with every speed cut tenfold, saved in ``folder`` under ``name``."""
    from resnet_book import benchmarks

    (record,) = [r for r in benchmarks.load_benchmarks() if r["gpu"] == "NVIDIA H100 80GB HBM3"]
    slowed = json.loads(json.dumps(record), parse_float=lambda x: float(x) / 10)
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(slowed))
    return slowed


@pytest.mark.parametrize(
    "name, says",
    [
        (
            "nvidia-h100-80gb-hbm3 (1).json",
            "so the record is named nvidia-h100-80gb-hbm3.json, not nvidia-h100-80gb-hbm3 (1).json",
        ),
        ("a100.json", "so the record is named nvidia-h100-80gb-hbm3.json, not a100.json"),
        ("earlier/nvidia-h100-80gb-hbm3.json", "so the record is named nvidia-h100-80gb-hbm3-edac31d.json"),
    ],
)
def test_a_benchmark_copy_under_another_name_is_refused_by_the_chapters_and_the_plan(tmp_path, monkeypatch, capsys, name, says):
    """Issue #29: a copy of the H100 record with its speeds cut tenfold made ResNet-110's estimate 114.6
    minutes instead of 11.5; a benchmark record must be named after its GPU (and commit, among earlier ones)."""
    from resnet_book import benchmarks

    _slowed_copy(tmp_path, name)
    folder = (tmp_path / name).parent
    with pytest.raises(
        benchmarks.BenchmarkRecordError, match=re.escape(f"{tmp_path / name}: field 'gpu' ") + ".*" + re.escape(says)
    ):
        benchmarks.load_benchmarks(folder)
    original = benchmarks.load_benchmarks
    monkeypatch.setattr(benchmarks, "load_benchmarks", lambda directory=folder: original(directory))
    assert cli.main(["sweep", "fig6", "--dry-run", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / name}: field 'gpu'") and "\n" not in err


@pytest.mark.parametrize(
    "content",
    [
        lambda r: json.dumps(r).encode("utf-16"),
        lambda r: bytes(range(256)) * 4,
    ],
    ids=["utf-16", "binary"],
)
def test_a_record_that_is_not_utf8_is_refused_by_name(good, tmp_path, content):
    path = tmp_path / "resnet20-A-paper-seed0.json"
    path.write_bytes(content(good))
    with pytest.raises(RunRecordError, match=r"seed0\.json: not UTF-8 text"):
        load_run(path)


def test_a_record_is_not_overwritten_unless_asked(good, tmp_path):
    path = runs.save_run(good, tmp_path)
    before = path.read_text()
    good["provenance"]["date"] = "2030-01-01T00:00:00+00:00"
    with pytest.raises(FileExistsError, match=r"seed0\.json: already recorded; pass overwrite=True \(--force"):
        runs.save_run(good, tmp_path)
    assert path.read_text() == before
    runs.save_run(good, tmp_path, overwrite=True)
    assert load_run(path).provenance["date"] == "2030-01-01T00:00:00+00:00"


def test_two_writers_and_a_reader_never_collide(good, tmp_path):
    """Every save has its own temporary name: no FileNotFoundError on replace, no half-written file read."""
    path = runs.save_run(good, tmp_path)
    errors = []

    def write():
        try:
            for _ in range(40):
                runs.save_run(good, tmp_path, overwrite=True)
        except Exception as err:  # noqa: BLE001 - any error fails the test below
            errors.append(err)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    while any(w.is_alive() for w in writers):
        load_run(path)  # raises on a partial file
    for w in writers:
        w.join()
    assert errors == [] and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# --------------------------------------------------------------------------------------- checkpoints


def _truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _pickled_object(path):
    import pickle

    path.write_bytes(pickle.dumps(threading.Lock, protocol=2))  # not tensors and plain data: weights_only refuses it


def _bit_flipped(path):
    """One bit of the first convolution's weights flipped in the file, as a failing disk or copy would: torch's
    zip has CRCs but its loader checks none, so without a checksum the run resumed silently (issue #29)."""
    weight = torch.load(path, weights_only=True)["model"]["stem.conv.weight"]
    data = bytearray(path.read_bytes())
    at = data.find(weight.numpy().tobytes())
    assert at > 0
    data[at + 101] ^= 0x10
    path.write_bytes(bytes(data))


def _edited(path):
    """A value changed by hand and saved again with torch.save: the checksum covers plain data too."""
    state = torch.load(path, weights_only=True)
    state["iteration"] = 2
    torch.save(state, path)


def _no_checksum(path):
    state = torch.load(path, weights_only=True)
    del state["checksum"]
    torch.save(state, path)


@pytest.mark.parametrize(
    "spoil, problem",
    [
        (_truncated, "not a readable checkpoint"),
        (lambda p: p.write_bytes(b"\x00garbage" * 100), "not a readable checkpoint"),
        (lambda p: p.write_bytes(b""), "not a readable checkpoint"),
        (_pickled_object, "holds objects other than tensors"),
        (lambda p: torch.save({"format": "something/1"}, p), "not a resnet_book.checkpoint/3 checkpoint"),
        (lambda p: torch.save([1, 2], p), "not a resnet_book.checkpoint/3 checkpoint"),
        (_bit_flipped, "corrupt, its contents do not match the checksum saved with them"),
        (_edited, "corrupt, its contents do not match the checksum saved with them"),
        (_no_checksum, "corrupt, a resnet_book.checkpoint/3 checkpoint without its checksum"),
    ],
    ids=["truncated", "garbage", "empty", "pickled-object", "other-format", "not-a-dict", "bit-flip", "edited", "no-checksum"],
)
def test_a_bad_checkpoint_is_refused_naming_the_file(tiny, tmp_path, spoil, problem):
    path = tmp_path / "run.pt"
    t = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path))
    t.advance(4)
    t.end_window()
    spoil(path)
    with pytest.raises(CheckpointError) as err:
        Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path))
    message = str(err.value)
    assert message.startswith(f"{path}: ") and problem in message and "delete it" in message
    assert "weights_only=False" not in message and "\n" not in message


def test_a_run_resumed_on_another_dataset_is_refused(tiny, tmp_path):
    path = tmp_path / "run.pt"
    Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path)).run(max_seconds=0, progress=False)
    real = datamod.CIFAR10(tiny.train_images, tiny.train_labels, tiny.test_images, tiny.test_labels, "cifar10", "x")
    with pytest.raises(CheckpointError, match=r"run\.pt: this run was trained on 'synthetic' and would continue on 'cifar10'"):
        Trainer(tiny_config(), real, "cpu", checkpoint=claim(path))


@pytest.mark.parametrize("where", ["folder at the path", "file as the folder"])
def test_an_unusable_checkpoint_path_is_refused_before_training(tiny, tmp_path, where):
    if where == "folder at the path":
        path = tmp_path / "run.pt"
        path.mkdir()
        expected = CheckpointError
    else:  # a file where the folder should be (works as root too, unlike chmod)
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "run.pt"
        expected = OSError
    with pytest.raises(expected, match=re.escape(str(path.parent if expected is OSError else path))):
        Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path))


def test_checkpoint_saves_leave_no_temporary_files(tiny, tmp_path):
    Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(tmp_path / "run.pt")).run(progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt", "run.pt.lock"]  # the run's lock, no .tmp


def test_a_second_process_on_the_same_run_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from resnet_book.checkpoints import lock as lock_run; from pathlib import Path; "
            f"lock_run(Path({str(path)!r})); print('locked', flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=datamod.REPO_ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointError, match=rf"run\.pt\.lock: another process \(pid {holder.pid}\) is training this run"):
            lock_run(path)
    finally:
        holder.communicate("\n", timeout=60)
    lock_run(path)  # freed when the holder exits


def _state(tiny, tmp_path) -> tuple:
    """A real checkpoint's state at iteration 4, and the path it was saved at."""
    path = tmp_path / "run.pt"
    t = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path))
    t.advance(4)
    t.end_window()
    state = torch.load(path, weights_only=True)
    return {k: v for k, v in state.items() if k not in ("format", "checksum")}, path


@pytest.mark.parametrize("field", list(checkpoints.FIELDS))
def test_a_checkpoint_without_a_field_is_refused_naming_it(tiny, tmp_path, field):
    """Issue #29: a hand-made checkpoint (saved with a valid checksum) missing a field: no KeyError."""
    state, path = _state(tiny, tmp_path)
    del state[field]
    checkpoints.save(path, state)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: field {field!r} is missing; delete it")):
        Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path))


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda s: s.update(iteration="4"), "field 'iteration' is str, not int"),
        (lambda s: s.update(iteration=True), "field 'iteration' is bool, not int"),
        (lambda s: s.update(iteration=-4), "field 'iteration' is -4, below 0"),
        (lambda s: s.update(model=[1, 2]), "field 'model' is list, not dict"),
        (lambda s: s.update(rng_cuda=7), "field 'rng_cuda' is int, not Tensor or None"),
        (lambda s: s.update(configs=[]), "field 'configs' does not hold a config (a dict) per run"),
        (lambda s: s.update(histories=[]), "field 'histories' holds 0 entries, not a history (a list) for each of its 1 runs"),
        (lambda s: s.update(trained_with="x"), "field 'trained_with' is str, not list"),
        (lambda s: s["model"].pop("stem.conv.weight"), "does not fit this run's network (Error(s) in loading state_dict"),
        (lambda s: s["model"].update({"stem.conv.weight": torch.zeros(3)}), "does not fit this run's network (Error(s)"),
        (lambda s: s["momentum"].pop(), "does not fit this run's network (22 momentum buffers for 23 parameters)"),
        (lambda s: s["momentum"].__setitem__(0, torch.zeros(2)), "a momentum buffer of shape (2,) for a parameter of shape"),
    ],
)
def test_a_hand_made_checkpoint_of_the_wrong_shape_is_refused_naming_what(tiny, tmp_path, change, says):
    state, path = _state(tiny, tmp_path)
    change(state)
    checkpoints.save(path, state)
    with pytest.raises(CheckpointError) as err:
        Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path))
    message = str(err.value)
    assert message.startswith(f"{path}: ") and says in message and message.endswith("delete it to start the run over")


def test_a_checkpoint_of_format_2_without_a_checksum_still_resumes(tiny, tmp_path):
    state, path = _state(tiny, tmp_path)
    del state["trained_with"]  # the first format-2 checkpoints had no such field
    torch.save({"format": "resnet_book.checkpoint/2", **state}, path)
    assert Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path)).resumed_from == 4


def test_the_checksum_is_the_same_on_any_device_and_after_a_load(tiny, tmp_path):
    state, path = _state(tiny, tmp_path)
    saved = torch.load(path, weights_only=True)
    assert saved["checksum"] == checkpoints.checksum(saved) == checkpoints.checksum(state)
    state["histories"][0][0]["train_loss"] += 1e-12  # one float's last digits: another checksum
    assert checkpoints.checksum(state) != saved["checksum"]


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_names_the_file_and_keeps_the_earlier_checkpoint(tiny, tmp_path, monkeypatch):
    """Issue #29: a raw torch traceback before; now records.DiskFull (an OSError) with the file and the space left,
    the earlier checkpoint intact and no temporary file, whether the disk fills in torch.save or in the write."""
    state, path = _state(tiny, tmp_path)
    before = path.read_bytes()
    real_write = Path.write_bytes

    def half_then_full(self, data):  # half the file written, then the disk is full
        real_write(self, bytes(data)[: len(data) // 2])
        _no_space()

    for where, patch in (("torch.save", lambda: monkeypatch.setattr(torch, "save", _no_space)),
                         ("the write", lambda: monkeypatch.setattr(Path, "write_bytes", half_then_full))):  # fmt: skip
        patch()
        with pytest.raises(records.DiskFull) as err:
            checkpoints.save(path, state)
        monkeypatch.undo()
        assert isinstance(err.value, OSError), where
        assert re.fullmatch(
            re.escape(f"{path}: no space left to write it (") + r"[\d.]+ (bytes|KB|MB|GB|TB)"
            + re.escape(f" free in {tmp_path}); the earlier checkpoint is kept and the run continues from it; free some "
                        "space, then run the same command again"),
            str(err.value),
        ), str(err.value)  # fmt: skip
        assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["run.pt", "run.pt.lock"]


def test_a_full_disk_ends_a_command_in_one_line_and_the_run_continues_after(capsys, offline, tmp_path, monkeypatch):
    real_save, saves = torch.save, []

    def full_after_the_first(obj, f, *args, **kwargs):
        saves.append(1)
        if len(saves) > 1:
            _no_space()
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_after_the_first)
    assert cli.main(["train", "resnet8", *offline]) == 2  # a checkpoint every iteration: the second save fails
    checkpoint = tmp_path / "ckpt" / "resnet8-A-custom-seed0.pt"
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert err.startswith(f"error: {checkpoint}: no space left to write it (") and "free some space" in err
    assert "Traceback" not in err and torch.load(checkpoint, weights_only=True)["iteration"] == 1
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == [checkpoint.name, checkpoint.name + ".lock"]
    monkeypatch.setattr(torch, "save", real_save)
    assert cli.main(["train", "resnet8", *offline]) == 0
    assert load_run(tmp_path / "runs" / "resnet8-A-custom-seed0.json").provenance["resumed"]


def test_a_full_disk_while_recording_names_the_record(good, tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "write_text", _no_space)
    with pytest.raises(records.DiskFull, match=re.escape("seed0.json: no space left to write it (")) as err:
        runs.save_run(good, tmp_path)
    assert "nothing was written in its place" in str(err.value) and list(tmp_path.iterdir()) == []


def test_saves_cut_short_by_kill_9_are_cleaned_up_at_the_next_start(capsys, offline, tmp_path):
    """Issue #29: ``kill -9`` during a save left ``.<name>.<pid>-<hex>.tmp`` files behind for good."""
    checkpoint = tmp_path / "ckpt" / "resnet8-A-custom-seed0.pt"
    record = tmp_path / "runs" / "resnet8-A-custom-seed0.json"
    others = [tmp_path / "ckpt" / "plain8-plain-custom-seed0.pt", tmp_path / "runs" / "resnet8-A-custom-seed00.json"]
    orphans = [records.temporary_name(p) for p in (checkpoint, record, checkpoint)]
    kept = [records.temporary_name(p) for p in others]  # another run's: it may be being written right now
    for tmp in orphans + kept:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(b"half a file")
    assert cli.main(["train", "resnet8", *offline, "--max-minutes", "0"]) == 0
    out = capsys.readouterr().out
    assert not any(p.exists() for p in orphans) and all(p.exists() for p in kept)
    for tmp in orphans:
        assert f"{tmp}: removed, the temporary file of a save of" in out
    assert torch.load(checkpoint, weights_only=True)["iteration"] == 1


def test_every_way_to_train_a_run_takes_its_lock(tiny, tmp_path, monkeypatch):
    """Issue #29: ``train.train`` and a ``Trainer`` given a checkpoint trained beside another process."""
    monkeypatch.setattr(datamod, "load_cifar10", lambda **kw: tiny)
    path = tmp_path / "resnet8-A-custom-seed0.pt"
    ways = {
        "Trainer": lambda: Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path)),
        "train.train": lambda: trainmod.train(tiny_config(), data=tiny, device="cpu", checkpoint=path, progress=False),
        "jobs.train_and_record": lambda: jobs.train_and_record(
            [tiny_config()], out=tmp_path / "runs", checkpoint_dir=tmp_path, device="cpu"
        ),
    }
    with held_lock(path) as pid:
        for way, start in ways.items():
            with pytest.raises(RunLocked, match=re.escape(f"{path}.lock: another process (pid {pid}) is training")):
                start()
    assert not path.exists()


@pytest.mark.parametrize("held", ["the pack typed the other way", "one of its runs alone"])
def test_a_pack_s_lock_does_not_depend_on_the_order_of_its_seeds(capsys, offline, tmp_path, held):
    """Issue #29: ``--seed 1 0`` took another lock (and checkpoint) than ``--seed 0 1``; a run is locked
    whether it trains alone or in a pack."""
    names = ["resnet8-A-custom-seed0+resnet8-A-custom-seed1", "resnet8-A-custom-seed0"]
    with held_lock(tmp_path / "ckpt" / f"{names[held == 'one of its runs alone']}.pt") as pid:
        assert cli.main(["train", "resnet8", *offline, "--seed", "1", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and f"(pid {pid}) is training this run" in err and "\n" not in err
    assert cli.main(["train", "resnet8", *offline, "--seed", "1", "0", "--max-minutes", "0"]) == 0
    assert [p.name for p in (tmp_path / "ckpt").glob("*.pt")] == [f"{names[0]}.pt"]


# ---------------------------------------------------------------------------------------- divergence


@pytest.mark.parametrize("checkpoint", [False, True])
def test_a_loss_far_above_chance_level_stops_the_run_before_a_record(tiny, tmp_path, checkpoint):
    """lr 100: the loss explodes without becoming NaN; the run stops as diverged, with no history entry."""
    path = tmp_path / "run.pt"
    t = Trainer(tiny_config(), tiny, "cpu", checkpoint=claim(path) if checkpoint else None)
    if checkpoint:  # a good checkpoint at iteration 4, then the learning rate explodes
        t.advance(4)
        t.end_window()
    t.lrs = dataclasses.replace(t.config, lr=100.0).learning_rates()  # the schedule, which the trainer reads at its start
    with pytest.raises(TrainingDiverged, match="diverged, the training loss became .*chance level is 2.30") as err:
        t.run(progress=False)
    assert len(t.history.entries) == (1 if checkpoint else 0)  # nothing logged past the divergence
    kept = "the last checkpoint, .*run.pt, is kept" if checkpoint else "no checkpoint was written"
    assert re.search(kept, str(err.value))
    if checkpoint:
        assert torch.load(path, weights_only=True)["iteration"] == 4


# -------------------------------------------------------------------------------------- command line


@pytest.fixture
def offline(monkeypatch, tiny, tmp_path):
    """CLI runs on synthetic data in ``tmp_path``; returns the common arguments."""
    monkeypatch.setattr(datamod, "load_cifar10", lambda **kw: tiny)
    return [
        "--preset",
        "quick",
        "--iterations",
        "4",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "runs"),
        "--checkpoint-dir",
        str(tmp_path / "ckpt"),
    ]


@pytest.mark.parametrize(
    "args, says",
    [
        (["train", "resnet8", "--iterations", "0"], "--iterations: must be >= 1, got 0"),
        (["train", "resnet8", "--iterations", "-5"], "--iterations: must be >= 1, got -5"),
        (["train", "resnet8", "--iterations", "1e12"], "--iterations: '1e12' is not a whole number"),
        (["train", "resnet8", "--max-minutes", "nan"], "--max-minutes: must be a finite number of minutes >= 0, got nan"),
        (["train", "resnet8", "--max-minutes", "-5"], "--max-minutes: must be a finite number of minutes >= 0, got -5"),
        (["sweep", "fig6", "--concurrent", "0"], "--concurrent: must be >= 1, got 0"),
        (["sweep", "fig6", "--pack", "0"], "--pack: must be >= 1, got 0"),
        (["sweep", "fig6", "--pack", "-1"], "--pack: must be >= 1, got -1"),
    ],
)
def test_bad_values_are_refused_by_the_parser(capsys, args, says):
    with pytest.raises(SystemExit) as exit:
        cli.main(args)
    assert exit.value.code == 2 and says in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, says",
    [
        (["train", "resnet8", "--iterations", "1000000000000"], "Config.iterations must be <= 256,000"),
        (["train", "resnet99999998"], "resnet99999998: deeper than 1202 layers"),
        (["train", "resnet8", "--device", "bogus"], "unknown device 'bogus': use 'cpu' or 'cuda'"),
        (["train", "resnet8", "--resume", "missing.pt"], "missing.pt: no such checkpoint to resume from"),
        *([] if torch.cuda.is_available() else [(["train", "resnet8", "--device", "cuda"], "this machine has no CUDA GPU")]),
    ],
)
def test_bad_runs_end_in_one_line_naming_the_value(capsys, offline, args, says):
    assert cli.main(args[:2] + offline + args[2:]) == 2
    out = capsys.readouterr()
    assert out.err.strip().splitlines() == [out.err.strip()] and says in out.err
    assert "Traceback" not in out.err


@pytest.mark.parametrize(
    "args, says",
    [
        (["train", "resnet8", "--seed", str(2**64)], "--seed: must be from -2^63 to 2^64 - 1 (torch.manual_seed's range)"),
        (["train", "resnet8", "--seed", str(-(2**63) - 1)], "--seed: must be from -2^63 to 2^64 - 1"),
        (["train", "resnet8", "--seed", "9" * 5000], "--seed: '999999999999999999999999999999'... (5,000 characters) is too"),
        (["train", "resnet8", "--iterations", "9" * 5000], "--iterations: '99999"),
    ],
)
def test_numbers_out_of_any_range_are_refused_by_the_parser(capsys, args, says):
    """Issue #29: a seed torch cannot take ('Overflow when unpacking long long'), a number Python will not read."""
    with pytest.raises(SystemExit) as exit:
        cli.main(args)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and says in err and "Overflow" not in err and "set_int_max_str_digits" not in err


@pytest.mark.parametrize(
    "args, says",
    [
        (["train", "resnet008"], "model 'resnet008': write it 'resnet8' (ASCII digits, no leading zero)"),
        (["train", "resnet８"], "model 'resnet８': write it 'resnet8'"),  # a full-width digit
        (["train", "plain٨"], "model 'plain٨': write it 'plain8'"),  # an Arabic-Indic digit
        (["train", "resnet" + "9" * 5000], "(5,006 characters): deeper than 1202 layers"),
        (["train", "resnet8", "--seed", *map(str, range(11))], "11 runs packed as one job (resnet8-A-custom-seed0 and 10 more)"),
    ],
)
def test_names_too_odd_or_too_long_end_in_one_line(capsys, offline, tmp_path, args, says):
    """Issue #29: one spelling per net (else ``train resnet008`` records a run ``find_run("resnet8")`` does not
    find); a 5000-digit depth, and 11 seeds ('File name too long'), in one line each."""
    assert cli.main(args[:2] + offline + args[2:]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and says in err and len(err) < 400
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("*.json"))


def test_a_run_record_given_to_resume_is_named_a_record_and_kept(capsys, offline, tmp_path):
    record = tmp_path / "resnet8-A-custom-seed0.json"  # a record, named as a checkpoint would be but .json
    record.write_bytes((runs.RUNS_DIR / "resnet20-A-paper-seed0.json").read_bytes())
    before = record.read_bytes()
    assert cli.main(["train", "resnet8", *offline, "--resume", str(record)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {record}: a run record (JSON), not a checkpoint; --resume takes the checkpoint a stopped run "
        "wrote (by default data/checkpoints/<id>.pt), and a finished run needs none"
    )
    assert "delete" not in err and record.read_bytes() == before


def test_an_unwritable_records_folder_is_refused_before_training(capsys, offline, tmp_path):
    (tmp_path / "file").write_text("")
    assert cli.main(["train", "resnet8", *offline, "--out", str(tmp_path / "file" / "runs")]) == 2
    assert "the run records folder is not writable" in capsys.readouterr().err
    assert not (tmp_path / "ckpt").exists() or not list((tmp_path / "ckpt").glob("*.pt"))


def test_a_finished_run_is_recorded_once_unless_forced(capsys, offline, tmp_path):
    assert cli.main(["train", "resnet8", *offline]) == 0
    record = tmp_path / "runs" / "resnet8-A-custom-seed0.json"
    first = record.read_text()
    assert cli.main(["train", "resnet8", *offline]) == 2
    assert f"{record}: already recorded; pass --force" in capsys.readouterr().err and record.read_text() == first
    assert cli.main(["train", "resnet8", *offline, "--force"]) == 0
    assert load_run(record).provenance["date"] >= json.loads(first)["provenance"]["date"]


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_continue(capsys, offline, tmp_path, monkeypatch):
    """The first Ctrl-C stops at the next log point with a checkpoint; the same command continues exactly."""
    import os
    import signal

    original = Trainer.log

    def log_then_ctrl_c(self, elapsed=0.0):
        entry = original(self, elapsed)
        if self.iteration == 1:
            os.kill(os.getpid(), signal.SIGINT)  # as a reader pressing Ctrl-C mid-run
        return entry

    monkeypatch.setattr(Trainer, "log", log_then_ctrl_c)
    handler = signal.getsignal(signal.SIGINT)
    assert cli.main(["train", "resnet8", *offline]) == 130  # --iterations 4: a log point every iteration
    err = capsys.readouterr().err
    checkpoint = tmp_path / "ckpt" / "resnet8-A-custom-seed0.pt"
    assert f"interrupted at iteration 1, checkpoint {checkpoint}; run the same command again to continue" in err
    assert torch.load(checkpoint, weights_only=True)["iteration"] == 1 and signal.getsignal(signal.SIGINT) is handler
    monkeypatch.setattr(Trainer, "log", original)
    assert cli.main(["train", "resnet8", *offline]) == 0
    assert load_run(tmp_path / "runs" / "resnet8-A-custom-seed0.json").provenance["resumed"]


def test_sigterm_stops_like_ctrl_c_and_the_run_resumes_to_the_same_history(capsys, offline, tmp_path, monkeypatch):
    """Issue #29: SIGTERM (``kill``, a scheduler's stop) killed the run, losing the work since the last
    checkpoint; now it stops at the next log point with a checkpoint, exit status 143, as Ctrl-C does."""
    whole = ["--out", str(tmp_path / "whole"), "--checkpoint-dir", str(tmp_path / "whole-ckpt")]
    assert cli.main(["train", "resnet8", *offline, *whole]) == 0
    original = Trainer.log

    def log_then_sigterm(self, elapsed=0.0):
        entry = original(self, elapsed)
        if self.iteration == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return entry

    monkeypatch.setattr(Trainer, "log", log_then_sigterm)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert cli.main(["train", "resnet8", *offline]) == 143
    err = capsys.readouterr().err
    checkpoint = tmp_path / "ckpt" / "resnet8-A-custom-seed0.pt"
    assert "SIGTERM: stopping at the next log point with a checkpoint" in err
    assert f"stopped by SIGTERM at iteration 1, checkpoint {checkpoint}; run the same command again to continue" in err
    assert torch.load(checkpoint, weights_only=True)["iteration"] == 1
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    monkeypatch.setattr(Trainer, "log", original)
    assert cli.main(["train", "resnet8", *offline]) == 0
    resumed = tmp_path / "runs" / "resnet8-A-custom-seed0.json"
    assert load_run(resumed).provenance["resumed"]
    assert history_of(resumed) == history_of(tmp_path / "whole" / "resnet8-A-custom-seed0.json")


def test_a_second_signal_quits_at_once_and_no_handler_is_set_off_the_main_thread():
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit:
        with jobs.StopOnInterrupt() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop() and stop.signal == signal.SIGTERM
            os.kill(os.getpid(), signal.SIGTERM)
    assert exit.value.code == 143 and (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    errors = []

    def in_a_thread():
        try:
            with jobs.StopOnInterrupt() as stop:
                assert not stop()
        except Exception as err:  # noqa: BLE001 - signal.signal off the main thread raises ValueError
            errors.append(err)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert errors == []


def test_a_sweep_meeting_a_run_trained_elsewhere_skips_it_and_finishes_the_others(tiny, tmp_path, monkeypatch, capsys):
    """Issue #29: the lock of another process's run raised from inside the pool, dropping the run in progress
    without a checkpoint. Now that job is skipped, the others finish, and the same sweep trains it later: every
    run ends with the history of a run trained alone."""
    monkeypatch.setattr(datamod, "load_cifar10", lambda **kw: tiny)
    long, short, elsewhere = tiny_config(iterations=16, milestones=(12,)), tiny_config(model="plain8"), tiny_config(seed=1)
    where = dict(out=tmp_path / "runs", checkpoint_dir=tmp_path / "ckpt", device="cpu")
    # two slots: the short job ends while the long one is at iteration 8, and the third starts in its slot
    with held_lock(tmp_path / "ckpt" / f"{elsewhere.record_id()}.pt") as pid:
        outcome = jobs.sweep([[long], [short], [elsewhere]], concurrent=2, **where)
    assert (outcome.jobs, outcome.finished, outcome.skipped, outcome.interrupted) == (3, 2, 1, False)
    lock = tmp_path / "ckpt" / f"{elsewhere.record_id()}.pt.lock"
    said = f"{lock}: another process (pid {pid}) is training this run; wait for it to finish or stop it; "
    assert said + f"{elsewhere.record_id()}: skipped, the sweep goes on" in capsys.readouterr().out
    assert not (where["out"] / f"{elsewhere.record_id()}.json").exists()
    again = jobs.sweep(jobs.queue([long, short, elsewhere], out=where["out"]), concurrent=2, **where)
    assert (again.jobs, again.finished, again.skipped) == (1, 1, 0)
    for cfg in (long, short, elsewhere):
        jobs.train_and_record([cfg], out=tmp_path / "alone", checkpoint_dir=tmp_path / "alone-ckpt", device="cpu")
        name = f"{cfg.record_id()}.json"
        assert history_of(where["out"] / name) == history_of(tmp_path / "alone" / name), name


def test_a_pool_whose_job_fails_to_start_stops_the_live_runs_with_a_checkpoint(tiny, tmp_path):
    """A job that cannot start (a corrupt checkpoint, say) no longer drops the run in progress beside it."""

    def broken():
        raise CheckpointError("x.pt: corrupt")

    def live():
        cfg = tiny_config(iterations=16, milestones=(12,), checkpoint_every=8)
        return Trainer(cfg, tiny, "cpu", checkpoint=claim(tmp_path / "a.pt"))

    def short():
        return Trainer(tiny_config(model="plain8"), tiny, "cpu")

    with pytest.raises(CheckpointError, match="x.pt: corrupt"):
        sweeps.run_pool([live, short, broken], 2, None)
    # the short job ended at 8 while the long one was at 8: it stopped at its next log point, 12, with a checkpoint
    assert torch.load(tmp_path / "a.pt", weights_only=True)["iteration"] == 12


def test_a_sweep_asked_to_stop_checkpoints_its_live_run_and_starts_no_other(tiny, tmp_path):
    """What Ctrl-C does to ``sweep``: the live run stops at its next log point with a checkpoint."""
    asked = []

    def make(model):  # a sweep's job: starts its trainer when the pool runs it
        return lambda: Trainer(
            tiny_config(),
            tiny,
            "cpu",
            checkpoint=claim(tmp_path / f"{model}.pt"),
            callback=lambda t, entry: asked.append(t.iteration),
        )

    assert sweeps.run_pool([make("resnet8"), make("plain8")], 1, None, stop=lambda: bool(asked)) == 0
    assert asked == [4] and torch.load(tmp_path / "resnet8.pt", weights_only=True)["iteration"] == 4
    assert not (tmp_path / "plain8.pt").exists()


def test_a_diverged_run_is_one_line_and_no_record(capsys, offline, tmp_path, monkeypatch):
    monkeypatch.setattr(
        cli,
        "make_config",
        lambda args, model, shortcut, seed, make=cli.make_config: Config(
            **{**vars(make(args, model, shortcut, seed)), "lr": 100.0}
        ),
    )
    assert cli.main(["train", "resnet8", *offline]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith("error: resnet8-A: diverged") and "the last checkpoint" in last
    assert not (tmp_path / "runs" / "resnet8-A-custom-seed0.json").exists()


# ----------------------------------------------------------------------------------- binary CIFAR-10


def _binary_folder(tmp_path, monkeypatch):
    """A fake ``cifar-10-batches-bin`` of 20 records a file (CIFAR-10's count set to 20 for the test)."""
    monkeypatch.setattr(datamod, "BATCH_RECORDS", 20)
    folder = tmp_path / datamod.BINARY_DIR
    folder.mkdir()
    for name in datamod.BINARY_TRAIN + [datamod.BINARY_TEST]:
        records = np.zeros((20, datamod.RECORD), dtype=np.uint8)
        records[:, 0] = np.arange(20) % 10
        records.tofile(folder / name)
    return folder


@pytest.mark.parametrize(
    "spoil, problem",
    [
        (
            lambda f: (f / "data_batch_1.bin").write_bytes((f / "data_batch_1.bin").read_bytes()[: 19 * datamod.RECORD]),
            "data_batch_1.bin: 58,387 bytes, not 20 CIFAR-10 records",
        ),  # cut at a record boundary
        (lambda f: (f / "data_batch_4.bin").unlink(), "data_batch_4.bin: the CIFAR-10 batch file is missing"),
        (lambda f: [p.unlink() for p in f.iterdir()], "data_batch_1.bin: the CIFAR-10 batch file is missing"),
        (
            lambda f: ((f / "test_batch.bin").unlink(), (f / "test_batch.bin").mkdir()),
            "test_batch.bin: the CIFAR-10 batch file is a folder",
        ),
    ],
    ids=["cut-at-a-record", "missing-file", "empty-folder", "folder-in-its-place"],
)
def test_a_broken_binary_cifar10_is_refused_by_name(tmp_path, monkeypatch, spoil, problem):
    folder = _binary_folder(tmp_path, monkeypatch)
    assert datamod.read_cifar10_binary(folder).name == "cifar10"
    spoil(folder)
    with pytest.raises(DatasetError, match=problem) as err:
        datamod.read_cifar10_binary(folder)
    assert f"delete the folder {folder}" in str(err.value)
