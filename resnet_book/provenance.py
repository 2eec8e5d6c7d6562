"""Where a result comes from: the machine, the software, the code's commit, the date.

Run records (``resnet_book.runs``), benchmark records (``resnet_book.bench``) and ImageNet records carry
the same fields, built here, at the bottom of the package (it imports nothing of it but its version).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent


def machine_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    """The commit the code came from: ``$RESNET_BOOK_COMMIT`` (set where no .git travels), else git."""
    if env := os.environ.get("RESNET_BOOK_COMMIT"):
        return env
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(device: torch.device) -> dict:
    """The fields every record carries: machine, device type (and a CPU's threads), torch, commit, date,
    package, Python."""
    from . import __version__

    return {
        "gpu": machine_name(device),
        "device": device.type,
        **({"threads": torch.get_num_threads()} if device.type == "cpu" else {}),
        "torch": torch.__version__,
        "commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "resnet_book": __version__,
        "python": platform.python_version(),
    }
