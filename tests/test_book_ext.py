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
