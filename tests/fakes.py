"""Small data sets in CIFAR-10's real formats, made by the tests themselves.

A reader's clone has neither this project's offline copy nor, in the tests, a reason to download 170 MB:
tests that need data on disk write these instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from resnet_book import data as datamod

CLI_RECORDS_PER_FILE = 100  # 500 training and 100 test images: the quick preset's per-class subset


def write_fake_binary(folder: Path, per_file: int = 20) -> Path:
    """A tiny dataset in the authors' binary layout: label byte + 3072 pixel bytes per record."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in datamod.BINARY_TRAIN + [datamod.BINARY_TEST]:
        records = rng.integers(0, 256, (per_file, datamod.RECORD), dtype=np.uint8)
        records[:, 0] = np.arange(per_file) % 10
        records.tofile(folder / name)
    return folder


def cli_command(*args: str) -> list[str]:
    """``python -m resnet_book ARGS`` for a data folder of fake batch files (CIFAR-10's hold 10,000 records)."""
    run = (
        "import sys; from resnet_book import data; "
        f"data.BATCH_RECORDS = {CLI_RECORDS_PER_FILE}; "
        "from resnet_book.__main__ import main; sys.exit(main(sys.argv[1:]))"
    )
    return [sys.executable, "-c", run, *args]


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of ``cli_command``: a data folder of fake binary CIFAR-10, no download, no offline copy."""
    data_dir = tmp_path / "datasets"
    if not (data_dir / datamod.BINARY_DIR).is_dir():
        write_fake_binary(data_dir / datamod.BINARY_DIR, per_file=CLI_RECORDS_PER_FILE)
    env = {k: v for k, v in os.environ.items() if k != "RESNET_BOOK_CIFAR10_JPEG"}
    return env | {"RESNET_BOOK_DATA_DIR": str(data_dir)}


def write_seeds(folder: Path, model: str, test_errors: list[float], shortcut: str | None = "A") -> list[Path]:
    """Records of several seeds of one net in ``folder``, copied from its committed seed-0 record, seed ``i``
    ending at ``test_errors[i]`` (a fraction): its test-error curve shifted by the same amount, its layer
    responses scaled by ``1 + i / 10``. What ``data/runs`` will hold once more seeds are recorded."""
    import copy
    import json

    from resnet_book import runs
    from resnet_book.models import Net

    base = runs.find_run(model, shortcut=shortcut, seed=0).record
    paths = []
    for seed, error in enumerate(test_errors):
        record = copy.deepcopy(base)
        shift = error - base["final"]["test_error"]
        for entry in record["history"]:
            entry["test_error"] = min(1.0, max(0.0, entry["test_error"] + shift))
        record["final"]["test_error"] = record["history"][-1]["test_error"] = error  # exactly, as the trainer writes it
        if "layer_response_std" in record["final"]:
            record["final"]["layer_response_std"] = [s * (1 + seed / 10) for s in record["final"]["layer_response_std"]]
        record.update(id=Net.parse(model, shortcut, family="cifar").record_id(record["preset"], seed), seed=seed)
        folder.mkdir(parents=True, exist_ok=True)
        paths.append(folder / f"{record['id']}.json")
        paths[-1].write_text(json.dumps(record), encoding="utf-8")
    return paths
