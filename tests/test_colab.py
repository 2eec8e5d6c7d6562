"""The Colab path: a reader clicks the launch button of a chapter page and runs the notebook in Colab.

Two things must agree with the repository named in ``_config.yml`` (``repository.url`` and ``branch``):
the launch link of every chapter page of the built site, and the first cell of every chapter, which in
Colab (only) clones that repository and installs the package, because a notebook opened in Colab arrives
without the rest of the repository. A moved repository changed in one place but not the others would
give readers a dead button or a notebook that cannot import ``resnet_book``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
CHAPTERS = toc_files()[1]


def test_the_book_names_a_github_repository_and_colab():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL), REPO_URL
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_launches_its_own_notebook_in_colab(chapter: str):
    page = SITE / f"{chapter}.html"
    if not page.is_file():
        pytest.fail(f"{page} is missing: run `make book` before the tests (`make test` does both)", pytrace=False)
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    expected = f"https://colab.research.google.com/github/{owner_repo}/blob/{BRANCH}/{chapter}.ipynb"
    links = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', page.read_text()))
    assert links == {expected}, f"{chapter}: Colab links {links or 'none'}, expected {expected}"
    assert (ROOT / f"{chapter}.ipynb").is_file()  # the path Colab fetches from the repository


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_first_cell_installs_the_configured_repository_in_colab_only(chapter: str):
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    tags = set(cell.metadata.get("tags", []))
    assert {"colab-setup", "hide-input"} <= tags, f"{chapter}: first code cell is not the folded Colab set-up"
    src = cell.source
    assert 'if "google.colab" in sys.modules' in src, f"{chapter}: the set-up must run in Colab only"
    clone = re.search(r"!git clone .*?(https://\S+) (/content/\S+)", src)
    assert clone, f"{chapter}: no `git clone` of the repository"
    assert clone.group(1).rstrip("/") == REPO_URL, f"{chapter} clones {clone.group(1)}, _config.yml says {REPO_URL}"
    target = clone.group(2)
    assert re.search(rf"!pip install .*{re.escape(target)}\s", src), f"{chapter}: does not install {target}"
    assert f'sys.path.insert(0, "{target}")' in src  # importable without restarting the kernel
    assert f'os.chdir("{target}/chapters")' in src  # relative paths as in the build


def test_intro_links_the_same_repository():
    assert f"]({REPO_URL})" in (ROOT / "intro.md").read_text()
