"""Every chapter of the book runs top to bottom, as a reader (or CI, like d2l.ai) would run it.

``make book`` (which ``make test`` runs first) executes each notebook of ``_toc.yml`` with myst-nb, from
``chapters/``, and keeps the executed copy in ``_build/jupyter_execute``; its execution cache is keyed on
the notebook's code and on the records and package it reads (``_ext/book_site.py``). This test checks
those executed copies instead of running every chapter a second time: each must hold the chapter's
current code, every code cell executed in order, and no error output. (``test_colab_runtime`` executes
them again, in Colab's environment.)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.book


NOTEBOOKS = [ROOT / f"{f}.ipynb" for f in toc_files()[1]]  # the chapters, in book order


def test_toc_lists_the_six_chapters_the_sequel_then_the_appendices():
    assert [nb.stem for nb in NOTEBOOKS] == [
        "1_degradation",
        "2_residual_learning",
        "3_shortcuts",
        "4_bottleneck",
        "5_depth_scaling",
        "6_imagenet_results",
        "7_identity_mappings",
        "appendix_a_speed",
        "appendix_b_imagenet",
    ]


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
    return found


EXECUTED = ROOT / "_build" / "jupyter_execute"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_top_to_bottom_without_errors(path: Path):
    assert path.is_file(), f"{path.relative_to(ROOT)} is in _toc.yml but does not exist"
    executed_path = EXECUTED / path.relative_to(ROOT)
    if not executed_path.is_file():
        pytest.fail(f"{executed_path} is missing: run `make book` before the tests (`make test` does both)", pytrace=False)
    source = nbformat.read(path, as_version=4)
    executed = nbformat.read(executed_path, as_version=4)
    code = [c.source for c in source.cells if c.cell_type == "code"]
    ran = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.source for c in ran] == code, f"{executed_path.name} is not the chapter's current code: rebuild the book"
    counts = [c.get("execution_count") for c in ran]
    assert counts == list(range(1, len(ran) + 1)), f"{path.stem}: cells not all executed in order: {counts}"
    errors = error_outputs(executed)
    assert not errors, f"{path.relative_to(ROOT)} has error outputs:\n" + "\n".join(errors)
