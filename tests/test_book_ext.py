"""The site's Sphinx extension (_ext/book_site.py): chapters re-run when the records or the package change."""

import sys
from pathlib import Path
from types import SimpleNamespace

from resnet_book.data import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "_ext"))
import book_site  # noqa: E402


def _tree(root: Path) -> None:
    (root / "data" / "runs").mkdir(parents=True)
    (root / "data" / "benchmarks").mkdir(parents=True)
    (root / "resnet_book").mkdir()
    (root / "data" / "runs" / "resnet20-A-paper-seed0.json").write_text("{}")
    (root / "resnet_book" / "plots.py").write_text("x = 1\n")


def test_the_inputs_hash_changes_with_a_new_changed_or_removed_record_or_module(tmp_path):
    _tree(tmp_path)
    seen = {book_site.inputs_hash(tmp_path)}
    (tmp_path / "data" / "runs" / "resnet56-A-paper-seed0.json").write_text("{}")  # a new record
    seen.add(book_site.inputs_hash(tmp_path))
    (tmp_path / "data" / "runs" / "resnet56-A-paper-seed0.json").write_text('{"final": {}}')  # changed
    seen.add(book_site.inputs_hash(tmp_path))
    (tmp_path / "resnet_book" / "plots.py").write_text("x = 2\n")  # the package
    seen.add(book_site.inputs_hash(tmp_path))
    (tmp_path / "data" / "runs" / "resnet20-A-paper-seed0.json").unlink()  # removed
    seen.add(book_site.inputs_hash(tmp_path))
    (tmp_path / "data" / "benchmarks" / "earlier").mkdir()  # an earlier benchmark record, read by the speed appendix
    (tmp_path / "data" / "benchmarks" / "earlier" / "gpu-fb6e0eb.json").write_text("{}")
    seen.add(book_site.inputs_hash(tmp_path))
    assert len(seen) == 6
    (tmp_path / "README.md").write_text("not read by the chapters")
    assert book_site.inputs_hash(tmp_path) in seen


def test_the_execution_cache_is_per_inputs_and_old_caches_go(tmp_path):
    _tree(tmp_path)
    old = tmp_path / "_build" / ".jupyter_cache" / "0123456789abcdef"
    old.mkdir(parents=True)
    app = SimpleNamespace(srcdir=str(tmp_path), outdir=str(tmp_path / "_build" / "html"))
    config = SimpleNamespace(nb_execution_cache_path="")
    book_site.cache_per_inputs(app, config)
    assert Path(config.nb_execution_cache_path) == tmp_path / "_build" / ".jupyter_cache" / app.book_inputs
    assert not old.exists()


def test_anything_at_a_record_path_and_the_dataset_found_change_the_hash(tmp_path, monkeypatch):
    """Issue #29: what the chapters read, wherever it is and whatever it has become. A record that is a
    folder or a link to nothing fails a chapter: it must reach the chapter, not hide behind the old cache."""
    _tree(tmp_path)
    runs = tmp_path / "data" / "runs"
    seen = [book_site.inputs_hash(tmp_path)]

    def changed() -> bool:
        seen.append(book_site.inputs_hash(tmp_path))
        return seen[-1] not in seen[:-1]

    (runs / "resnet32-A-paper-seed0.json").mkdir()  # a folder where a record goes
    assert changed()
    (runs / "resnet44-A-paper-seed0.json").symlink_to(tmp_path / "nowhere.json")  # a link to nothing
    assert changed()
    (runs / "imagenet").mkdir()
    (runs / "imagenet" / "resnet18-A-paper-seed0.json").write_text("{}")  # ImageNet records, a folder down
    assert changed()
    (tmp_path / "data" / "datasets").mkdir()
    (tmp_path / "data" / "datasets" / "cifar10-jpeg.npz").write_bytes(b"x")  # the live cells find a dataset
    assert changed()
    monkeypatch.setenv("RESNET_BOOK_DATA_DIR", str(tmp_path / "elsewhere"))  # or look for it elsewhere
    assert changed()


def test_a_page_that_failed_is_read_again_until_it_runs():
    """Issue #29: after a build that failed on a broken record, the next one (nothing changed) passed and
    kept the failed page. ``env-get-outdated`` returns the pages whose last execution failed."""
    env = SimpleNamespace(
        nb_metadata={
            "chapters/1_degradation": {"exec_data": {"succeeded": False, "error": "CellExecutionError"}},
            "chapters/2_residual_learning": {"exec_data": {"succeeded": True}},
            "intro": {},  # a page that is not a notebook
        }
    )
    assert book_site.failed_pages(None, env, set(), set(), set()) == ["chapters/1_degradation"]
    assert book_site.failed_pages(None, SimpleNamespace(), set(), set(), set()) == []  # a first build
    connected = []
    app = SimpleNamespace(
        connect=lambda event, handler, **kw: connected.append((event, handler)), add_js_file=lambda *a, **k: None
    )
    book_site.setup(app)
    assert ("env-get-outdated", book_site.failed_pages) in connected


class _Recorder:
    def __init__(self) -> None:
        self.js, self.css = [], []

    def add_js_file(self, name: str) -> None:
        self.js.append(name)

    def add_css_file(self, name: str) -> None:
        self.css.append(name)


def test_the_lab_and_its_tensorflow_go_only_on_a_page_that_holds_a_lab():
    """Jupyter Book lists every _static/**.js for every page; the lab's files are dropped there and added
    to the page with a ``<div class="resnet-lab">``, TensorFlow.js first (the lab needs the global ``tf``)."""
    config = SimpleNamespace(
        html_js_files=[("lab/lab.js", {}), ("vendor/tfjs/tf-core-cpu.min.js", {}), ("other.js", {})],
        html_css_files=[("lab/lab.css", {}), ("book.css", {})],
    )
    book_site.drop_vendored(None, config)
    assert config.html_js_files == [("other.js", {})] and config.html_css_files == [("book.css", {})]

    lab_page, other_page = _Recorder(), _Recorder()
    book_site.add_lab(lab_page, "chapters/1_degradation", "page.html", {"body": '<p>x</p><div class="resnet-lab">y</div>'}, None)
    book_site.add_lab(other_page, "chapters/2_residual_learning", "page.html", {"body": "<p>the lab of chapter 1</p>"}, None)
    assert lab_page.js == ["vendor/tfjs/tf-core-cpu.min.js", "lab/lab.js"] and lab_page.css == ["lab/lab.css"]
    assert other_page.js == [] and other_page.css == []
    for name in lab_page.js + lab_page.css:
        assert (REPO_ROOT / "_static" / name).is_file(), f"_static/{name} is missing"
