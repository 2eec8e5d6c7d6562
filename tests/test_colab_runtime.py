"""Every chapter, run as Colab runs it, in Colab's own packages (issue #12).

``make test`` builds ``.venv-colab`` from ``tests/colab-requirements.txt``: Python 3.13 with Colab's
ipywidgets 7.7.1, ipykernel 6.17.1, torch 2.11, matplotlib 3.10, numpy 2.1. Each chapter is then executed
the way a reader's launch button runs it:

* alone, in an empty folder (Colab fetches one notebook, not the repository);
* in a kernel of that environment where ``google.colab`` is already imported (an IPython start-up file),
  so the chapter's first cell does its Colab set-up: ``git clone`` of the repository named in
  ``_config.yml`` (answered here from this checkout's committed ``HEAD`` through git's ``insteadOf``, as no
  network reaches GitHub here) and ``pip install`` of it, under the folder Colab calls ``/content`` (a
  temporary folder here: the cell's ``/content`` is the one string the harness changes); as in one Colab
  runtime, the first chapter's set-up clones and installs, and every chapter after it finds the clone;
* with the data of this machine passed on by name (``RESNET_BOOK_DATA_DIR`` / ``RESNET_BOOK_CIFAR10_JPEG``),
  as Colab would download CIFAR-10 itself;
* with ``RESNET_BOOK_LIVE_SECONDS=0``: each live training run stops at its first log point (the book's build
  runs them in full; here every cell still runs, in Colab's packages, in a fraction of the time).

It fails on any error, and if the first cell replaced Colab's ipywidgets (upgrading the widget stack under
a running kernel makes every widget disappear in Colab's front end).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from toc import toc_files

from resnet_book import data as datamod

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.colab
COLAB_PYTHON = ROOT / ".venv-colab" / "bin" / "python"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
CHAPTERS = toc_files()[1]
COLAB_VERSIONS = {"python": "3.13", "ipywidgets": "7.7.1", "ipykernel": "6.17.1", "torch": "2.11.0"}


def colab_python() -> Path:
    if not COLAB_PYTHON.is_file():
        pytest.fail(f"{COLAB_PYTHON} is missing: `make test` builds it (tests/colab-requirements.txt)", pytrace=False)
    return COLAB_PYTHON


def colab(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([colab_python(), "-c", code], capture_output=True, text=True, timeout=600, **kwargs)


VERSIONS = """import json, platform, ipywidgets, ipykernel, torch
print(json.dumps({"python": platform.python_version(), "ipywidgets": ipywidgets.__version__,
                  "ipykernel": ipykernel.__version__, "torch": torch.__version__}))"""


def versions(**kwargs) -> dict[str, str]:
    result = colab(VERSIONS, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_environment_is_colabs():
    found = versions()
    for package, version in COLAB_VERSIONS.items():
        assert found[package].startswith(version), f"{package} {found[package]}, Colab has {version}"


def test_the_figure_switchers_work_with_colabs_ipywidgets():
    """ipywidgets 7.7.1 has no Stack: a toggle must still show one figure and switch it when clicked."""
    code = """import io, matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
from resnet_book.widgets import dropdown, toggle
def png(v):
    b = io.BytesIO(); plt.imsave(b, [[v, 1 - v]], format="png"); return b.getvalue()
pngs = {"A": png(0.1), "B": png(0.5), "C": png(0.9)}
for make in (toggle, dropdown):
    selector, shown = make(dict(pngs)).children
    for i, label in enumerate(pngs):
        selector.index = i
        assert bytes(shown.value) == pngs[label], (make.__name__, label)
print("switched")"""
    result = colab(code, cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and "switched" in result.stdout, result.stderr


PIP_AS_COLAB = {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # not this machine's pip set-up


def test_the_package_unit_tests_pass_under_colabs_python(colab_setup):
    """The models, data, records and trainer under Python 3.13, torch 2.11, numpy 2.1 (CPU), with what the
    package's install brought (fvcore) from the chapters' set-up."""
    files = ["tests/test_models.py", "tests/test_data.py", "tests/test_runs.py", "tests/test_flops.py"]
    result = subprocess.run(
        [colab_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *files],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def data_env() -> dict[str, str]:
    """Where this machine's CIFAR-10 is, for the kernel (Colab downloads its own)."""
    env = {"RESNET_BOOK_DATA_DIR": str(datamod.default_data_dir())}
    copy = next((p for p in datamod.jpeg_candidates(datamod.default_data_dir()) if p.is_file()), None)
    if copy is not None:
        env["RESNET_BOOK_CIFAR10_JPEG"] = str(copy)
    return env


@pytest.fixture(scope="module")
def colab_kernel(tmp_path_factory) -> tuple[str, Path]:
    """A kernelspec for ``.venv-colab`` whose kernels start with ``google.colab`` imported."""
    base = tmp_path_factory.mktemp("colab")
    fake = base / "fake-modules" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text('"""Stands in for Colab\'s module: the chapters only ask whether it is imported."""\n')
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # as in a Colab kernel\n")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert head.returncode == 0, f"the Colab-like run clones this checkout's HEAD: {head.stderr}"
    env = (
        {
            "PYTHONPATH": str(base / "fake-modules"),
            "IPYTHONDIR": str(base / "ipython"),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.file://{ROOT}.insteadOf",
            "GIT_CONFIG_VALUE_0": REPO_URL,
            "PATH": f"{colab_python().parent}{os.pathsep}{os.environ['PATH']}",  # `!pip` is the runtime's pip
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            # every live run stops at its first log point (resnet_book.live): the same code as the book's
            # build, which runs them in full, in a fraction of the time
            "RESNET_BOOK_LIVE_SECONDS": "0",
        }
        | PIP_AS_COLAB
        | data_env()
    )
    spec = base / "jupyter" / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(colab_python()), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab-like", "language": "python", "env": env}))
    return str(base / "jupyter"), base


def colab_notebook(chapter: str, content: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """The chapter as Colab opens it, its ``/content`` moved to ``content``; and its set-up cell."""
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    setup = nb.cells[next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")]
    assert "/content/" in setup.source, f"{chapter}: the first code cell does not set up /content"
    setup.source = setup.source.replace("/content/", f"{content}/")
    return nb, setup


def execute(nb: nbformat.NotebookNode, folder: Path, jupyter_path: str, chapter: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", jupyter_path)
        client = NotebookClient(nb, timeout=900, kernel_name="colab", resources={"metadata": {"path": str(folder)}})
        try:
            client.execute()
        except CellExecutionError as err:
            pytest.fail(f"{chapter} fails as in Colab:\n{str(err)[-3000:]}", pytrace=False)


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs)  # `!` commands print to the cell, stdout or not


@pytest.fixture(scope="module")
def colab_setup(colab_kernel) -> Path:
    """A Colab runtime after a reader ran the first chapter's set-up cell: the repository cloned under its
    ``/content`` and the package installed with pip, once, as a runtime does it; nothing of Colab's replaced.
    Returns that ``/content``."""
    jupyter_path, base = colab_kernel
    content, session = base / "content", base / "first"
    content.mkdir()
    session.mkdir()
    first = CHAPTERS[0]
    nb, setup = colab_notebook(first, content)
    nb.cells = [setup]
    execute(nb, session, jupyter_path, first)
    assert (content / "resnet-book" / "resnet_book").is_dir(), "the set-up cell did not clone the book"
    said = printed(setup)
    assert not any(word in said.lower() for word in ("warning", "deprecat", "error")), f"{first}: noisy set-up:\n{said}"
    found = versions()
    assert all(found[k].startswith(v) for k, v in COLAB_VERSIONS.items()), f"the install replaced Colab's: {found}"
    return content


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: Path(c).name)
def test_chapter_runs_as_in_colab(chapter, colab_kernel, colab_setup, tmp_path):
    """Each chapter, alone in its folder, in the runtime set up above: its own set-up cell finds the clone
    (and says nothing), then every cell runs, on Colab's ipywidgets."""
    jupyter_path, _ = colab_kernel
    nb, setup = colab_notebook(chapter, colab_setup)
    nb.cells.append(
        nbformat.v4.new_code_cell("import ipywidgets, sys\nprint(ipywidgets.__version__, 'resnet_book' in sys.modules)")
    )
    execute(nb, tmp_path, jupyter_path, chapter)  # the notebook alone, as the launch button opens it
    assert printed(setup) == "", f"{chapter}: the set-up cell did more than find the clone:\n{printed(setup)}"
    last = printed(nb.cells[-1]).split()
    assert last == ["7.7.1", "True"], f"{chapter}: after the first cell, ipywidgets {last[:1]} (Colab ships 7.7.1)"
    assert versions()["ipywidgets"] == "7.7.1", f"{chapter}: a cell replaced Colab's ipywidgets"
