"""Every chapter of the book runs top to bottom, as a reader (or CI, like d2l.ai) would run it.

Each notebook of ``_toc.yml`` is executed with nbclient in the ``python3`` kernel of this environment,
from ``chapters/`` (the working directory the book build uses), and no cell may output an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT_S = 600


NOTEBOOKS = [ROOT / f"{f}.ipynb" for f in toc_files()[1]]  # the chapters, in book order


def test_toc_lists_the_five_chapters_the_sequel_then_the_appendices():
    assert [nb.stem for nb in NOTEBOOKS] == [
        "1_degradation",
        "2_residual_learning",
        "3_shortcuts",
        "4_bottleneck",
        "5_depth_scaling",
        "6_identity_mappings",
        "6_speed",
        "7_imagenet",
    ]


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_top_to_bottom_without_errors(path: Path):
    assert path.is_file(), f"{path.relative_to(ROOT)} is in _toc.yml but does not exist"
    nb = nbformat.read(path, as_version=4)
    # NATIVE_KERNEL_NAME ("python3") is the ipykernel of the Python running the tests: the venv's.
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=NATIVE_KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},  # run from chapters/
    )
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{path.relative_to(ROOT)} failed (python {sys.executable}):\n{err}", pytrace=False)
    errors = error_outputs(nb)
    assert not errors, f"{path.relative_to(ROOT)} has error outputs:\n" + "\n".join(errors)
