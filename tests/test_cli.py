"""The command line end to end on a small dataset in CIFAR-10's binary format (``fakes``): record, stop, resume.

Commands run in this process (``main([...])``, as a shell would call it, output captured), but for the kill -9
test, whose victim must be a process of its own."""

import json
import subprocess

import pytest
from fakes import CLI_RECORDS_PER_FILE, cli_command, cli_env

from resnet_book import data as datamod
from resnet_book.__main__ import main
from resnet_book.data import REPO_ROOT
from resnet_book.runs import load_run


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """``cli("train", ...)``: the command line's exit code, stdout and stderr, on the fake binary CIFAR-10."""
    env = cli_env(tmp_path)
    monkeypatch.delenv("RESNET_BOOK_CIFAR10_JPEG", raising=False)
    monkeypatch.setenv("RESNET_BOOK_DATA_DIR", env["RESNET_BOOK_DATA_DIR"])
    monkeypatch.setattr(datamod, "BATCH_RECORDS", CLI_RECORDS_PER_FILE)

    def run(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's errors
            code = exit_.code
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    run.env = env
    return run


def quick(tmp_path, iterations: int, runs: str = "runs", checkpoints: str = "ckpt") -> list[str]:
    """The options of a short CPU run whose records and checkpoints go under ``tmp_path``."""
    where = ["--out", str(tmp_path / runs), "--checkpoint-dir", str(tmp_path / checkpoints)]
    return ["--preset", "quick", "--iterations", str(iterations), "--device", "cpu", *where]


@pytest.mark.slow
def test_train_writes_a_valid_record_and_resumes_after_a_time_limit(cli, tmp_path):
    common = quick(tmp_path, iterations=8)
    # a time limit of zero stops at the first log point with a checkpoint...
    first = cli("train", "resnet8", *common, "--max-minutes", "0")
    assert first.returncode == 0, first.stderr
    assert "stopped at iteration" in first.stdout and list((tmp_path / "ckpt").glob("*.pt"))
    assert "real CIFAR-10" in first.stdout  # the data folder's binary files, found before any download
    assert "8 iterations to go on this CPU at about" in first.stdout and "Ctrl-C" in first.stdout  # before it starts
    assert not list((tmp_path / "runs").glob("*"))  # checked writable up front, no record yet
    assert [p.name for p in (tmp_path / "ckpt").glob("*.pt")] == ["resnet8-A-custom-seed0.pt"]
    # ...and the same command (naming the default option A or not) continues from there to a valid record
    second = cli("train", "resnet8", "--shortcut", "A", *common)
    assert second.returncode == 0, second.stderr
    assert "resuming from" in second.stdout
    run = load_run(tmp_path / "runs" / "resnet8-A-custom-seed0.json")
    assert run.dataset == "cifar10[500/100 per class]" and run.provenance["resumed"]
    assert run.schedule["iterations"] == 8 and len(run.final["layer_response_std"]) == 7
    assert "it/s" in first.stderr + second.stderr  # the progress bar


@pytest.mark.slow
def test_a_preact_net_trains_and_is_recorded_by_its_name(cli, tmp_path):
    """Issue #16: the sequel's pre-activation nets train from the command line like the paper's."""
    common = quick(tmp_path, iterations=4)
    result = cli("train", "preact-resnet8", *common)
    assert result.returncode == 0, result.stderr
    run = load_run(tmp_path / "runs" / "preact-resnet8-A-custom-seed0.json")
    assert run.label == "pre-act ResNet-8 (A)" and run.net.preact
    assert "layer_response_std" not in run.final  # Fig. 7's quantity is the original block's


@pytest.mark.slow
def test_several_seeds_train_packed_and_are_recorded_one_by_one(cli, tmp_path):
    """Issue #13: ``--seed 0 1`` trains the repeats of a net as one pack, each its own run and record."""
    common = quick(tmp_path, iterations=4)
    result = cli("train", "resnet8", "--seed", "0", "1", *common)
    assert result.returncode == 0, result.stderr
    seed0, seed1 = (load_run(tmp_path / "runs" / f"resnet8-A-custom-seed{s}.json") for s in (0, 1))
    assert (seed0.seed, seed1.seed) == (0, 1) and seed0.history != seed1.history
    assert seed0.packed_with == ["resnet8-A-seed1"] and seed1.packed_with == ["resnet8-A-seed0"]
    assert [p.name for p in (tmp_path / "ckpt").glob("*.pt")] == ["resnet8-A-custom-seed0+resnet8-A-custom-seed1.pt"]
    again = cli("train", "resnet8", "--seed", "2", "1", *common)  # seed 1 is recorded: nothing trains
    assert again.returncode == 2 and "resnet8-A-custom-seed1.json: already recorded" in again.stderr
    warm = cli("train", "resnet110", "--seed", "0", "1", *common)
    assert warm.returncode == 2 and "its seeds train alone: one --seed per command" in warm.stderr


def test_sweep_skips_recorded_runs(cli, tmp_path):
    out = tmp_path / "runs"
    out.mkdir()
    for name in ("resnet20-A-paper-seed0", "plain20-plain-paper-seed0"):
        (out / f"{name}.json").write_text(json.dumps({"id": name}))
    result = cli("sweep", "fig6", "--out", str(out), "--max-minutes", "0", "--checkpoint-dir", str(tmp_path / "c"))
    assert "resnet20-A-paper-seed0: already recorded, skipped" in result.stdout
    assert "plain20-plain-paper-seed0: already recorded, skipped" in result.stdout


def test_a_dry_run_plans_the_sweep_without_training(cli, tmp_path):
    result = cli("sweep", "fig6", "--seed", "1", "2", "--pack", "4", "--dry-run", "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("6 jobs, 64,000 iterations each; minutes estimated from the benchmark on NVIDIA H100")
    # the longest job first: the four runs of depth 56 as one pack; ResNet-110 (warm-up) alone
    assert lines[1].endswith("min  resnet56-A-seed1 + plain56-plain-seed1 + resnet56-A-seed2 + plain56-plain-seed2")
    assert [line.split("min  ")[1] for line in lines if "resnet110" in line] == ["resnet110-A-seed1", "resnet110-A-seed2"]
    assert lines[-1].startswith("total ") and "CIFAR-10" not in result.stdout  # no data loaded, nothing trained
    assert not (tmp_path / "runs").exists()


def test_bad_model_is_a_clear_error(cli):
    result = cli("train", "resnet21", "--preset", "quick", "--device", "cpu")
    assert result.returncode == 2 and "unknown model 'resnet21'" in result.stderr
    assert "CIFAR-10" not in result.stdout  # the name is checked before the data set loads


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_result(cli, tmp_path):
    """kill -9 after the first checkpoint, run the same command again: same history as an uninterrupted run."""
    import signal
    import time

    def args(name):
        return ["train", "resnet8", *quick(tmp_path, iterations=8, runs=name, checkpoints=f"{name}-ckpt")]

    assert cli(*args("whole")).returncode == 0
    victim = subprocess.Popen(  # a process of its own: it is killed
        cli_command(*args("killed")), cwd=REPO_ROOT, env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while not list((tmp_path / "killed-ckpt").glob("*.pt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    again = cli(*args("killed"))
    assert again.returncode == 0, again.stderr
    resumed_at = int(again.stdout.split("at iteration ")[1].split()[0])
    assert 0 < resumed_at < 8  # it really was killed mid-run
    whole = load_run(tmp_path / "whole" / "resnet8-A-custom-seed0.json")
    resumed = load_run(tmp_path / "killed" / "resnet8-A-custom-seed0.json")
    strip = lambda run: [{k: v for k, v in e.items() if k != "seconds"} for e in run.history]  # noqa: E731
    assert strip(resumed) == strip(whole) and resumed.final["test_error"] == whole.final["test_error"]
    assert resumed.final["layer_response_std"] == whole.final["layer_response_std"]


@pytest.mark.slow
def test_a_sigterm_d_run_stops_with_a_checkpoint_and_resumes_to_the_same_result(cli, tmp_path):
    """Issue #29: SIGTERM (``kill PID``, a scheduler's stop) to a real process after its first checkpoint: it
    stops at the next log point with a checkpoint, exit status 143, and the same command continues it to the
    history of an uninterrupted run."""
    import signal
    import time

    def args(name):
        return ["train", "resnet8", *quick(tmp_path, iterations=16, runs=name, checkpoints=f"{name}-ckpt")]

    assert cli(*args("whole")).returncode == 0
    victim = subprocess.Popen(
        cli_command(*args("stopped")), cwd=REPO_ROOT, env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while not list((tmp_path / "stopped-ckpt").glob("*.pt")) and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGTERM)
    _, err = victim.communicate(timeout=300)
    assert victim.returncode == 143, err
    assert "stopped by SIGTERM at iteration" in err and not list((tmp_path / "stopped").glob("*.json"))
    again = cli(*args("stopped"))
    assert again.returncode == 0, again.stderr
    resumed_at = int(again.stdout.split("at iteration ")[1].split()[0])
    assert 0 < resumed_at < 16 and resumed_at % 4 == 0  # it stopped mid-run, at a log point
    strip = lambda run: [{k: v for k, v in e.items() if k != "seconds"} for e in run.history]  # noqa: E731
    whole = load_run(tmp_path / "whole" / "resnet8-A-custom-seed0.json")
    resumed = load_run(tmp_path / "stopped" / "resnet8-A-custom-seed0.json")
    assert strip(resumed) == strip(whole) and resumed.final["layer_response_std"] == whole.final["layer_response_std"]


def test_the_speed_switches_reach_the_engine_not_the_recipe(monkeypatch):
    import resnet_book.__main__ as cli

    seen = []
    monkeypatch.setattr(
        cli, "cmd_train", lambda args: seen.append((cli.make_config(args, args.model, None, 0), cli.make_engine(args))) or 0
    )
    assert cli.main(["train", "resnet20", "--inductor"]) == 0
    assert cli.main(["train", "resnet20"]) == 0
    assert cli.main(["train", "resnet20", "--no-cuda-graph"]) == 0
    assert [(e.compile, e.cuda_graph) for _, e in seen] == [(True, None), (False, None), (False, False)]
    assert seen[0][0] == seen[1][0] == seen[2][0]  # one recipe: the same run, so the same checkpoint and record
