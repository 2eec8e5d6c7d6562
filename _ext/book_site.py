"""Sphinx extension: the book's site works offline and its pages log no errors.

1. Vendored scripts only where needed.  Jupyter Book 1.x adds *every* ``.js`` and ``.css`` file found under ``_static/`` to the
``html_js_files`` / ``html_css_files`` of every page.  The vendored files are loaded on purpose, and
only where needed: the ipywidgets html-manager by myst-nb (``nb_ipywidgets_js``, pages with widgets)
and MathJax by ``sphinx.ext.mathjax`` (``mathjax_path``, pages with math; MathJax itself loads its TeX
extensions on demand).  Loaded a second time, the html-manager renders every widget twice.  The
degradation lab (``_static/lab/``: plain and residual nets trained in the browser, chapter 1) and the
TensorFlow.js bundle it runs on (``vendor/tfjs/``, 386 kB) go only on a page that holds a lab
(``<div class="resnet-lab">``).

2. A bridge between the two: the html-manager (1.0.15) typesets widget labels with
MathJax 2's ``MathJax.Hub.Queue`` whenever ``window.MathJax`` exists, and the book loads MathJax 3,
which has no ``Hub``: on a page with both math and widgets that threw an uncaught TypeError.  A few
lines forward those calls to MathJax 3's ``typesetPromise``.  The html-manager renders on the window
``load`` event, after MathJax 3 (a deferred script) has replaced ``window.MathJax`` with itself, so
the bridge is attached at ``DOMContentLoaded``, in between.

3. No console errors from the theme's defaults.  sphinx-thebe adds its inline configuration
(``const THEBE_JS_URL = ...``) to the page twice under Jupyter Book, and the second copy throws a
SyntaxError on every page; identical inline scripts are dropped.  pydata-sphinx-theme logs "invalid
theme mode" when its ``default_mode`` (an ``html_context`` value) is unset; it is set to ``auto`` (light or dark as the reader's system).

4. Chapters re-run when what they read changes.  Sphinx re-reads a page only when its source changed,
and myst-nb's execution cache is keyed on a notebook's code, so a new run record or a changed plot
function left every unchanged chapter with its old outputs.  The inputs (``data/runs`` and its
subfolders, ``data/benchmarks``, the ``resnet_book`` package, and which CIFAR-10 copy the live cells
find) are hashed, and the execution cache lives in a folder named by that hash (older ones are removed).
That folder is myst-nb's ``nb_execution_cache_path``, a config value registered with ``rebuild="env"``:
when it changes, Sphinx re-reads every page, and the new, empty cache makes each notebook execute.
Anything at a record's path counts, a folder or a link to nothing included: a chapter would fail on it.

5. A failed chapter fails every build until it runs.  myst-nb caches a notebook only once it executed
without error, but Sphinx re-reads a page only when its source (or the config) changed: after a build
that failed on a broken record, the next one, with nothing changed, re-read nothing and exited 0.  Pages
whose last execution failed are read again (``env-get-outdated``), so they execute, and fail, again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

# _static/ folders whose files are loaded only where needed, never on every page
ON_DEMAND_PREFIXES = ("vendor/", "lab/")
LAB_MARK = 'class="resnet-lab"'  # the lab's container in a page's body
LAB_JS = ("vendor/tfjs/tf-core-cpu.min.js", "lab/lab.js")  # in this order: the lab needs the global ``tf``
LAB_CSS = ("lab/lab.css",)

MATHJAX2_HUB_BRIDGE = """
document.addEventListener("DOMContentLoaded", function () {
  var mathjax = window.MathJax;
  if (!mathjax || mathjax.Hub) return;
  mathjax.Hub = {
    Queue: function (job) {  // MathJax 2: Queue(["Typeset", MathJax.Hub, element])
      var element = Array.isArray(job) ? job[2] : undefined;
      var ready = (mathjax.startup && mathjax.startup.promise) || Promise.resolve();
      ready
        .then(function () {
          if (mathjax.typesetPromise) return mathjax.typesetPromise(element ? [element] : undefined);
        })
        .catch(function (err) { console.warn("MathJax could not typeset a widget:", err); });
    },
  };
});
"""


def _is_vendored(entry: str | tuple) -> bool:
    name = entry[0] if isinstance(entry, (tuple, list)) else entry
    return str(name).startswith(ON_DEMAND_PREFIXES)


def drop_vendored(app: Sphinx, config: Config) -> None:
    """Remove ``_static/vendor/**`` and ``_static/lab/**`` from the scripts and stylesheets put on every page."""
    config.html_js_files = [e for e in config.html_js_files if not _is_vendored(e)]
    config.html_css_files = [e for e in config.html_css_files if not _is_vendored(e)]


def add_lab(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """The lab's scripts and stylesheet on the pages that hold a lab, and on no other page."""
    if LAB_MARK not in (context.get("body") or ""):
        return
    for name in LAB_JS:
        app.add_js_file(name)  # in html-page-context: for this page only (Sphinx restores the list after it)
    for name in LAB_CSS:
        app.add_css_file(name)


def set_theme_mode(app: Sphinx, config: Config) -> None:
    """``default_mode: auto`` unless the book sets one (Jupyter Book leaves it empty)."""
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "auto")
    config.html_context = context


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Keep the first of identical ``<script>`` entries (same file or same inline body, same attributes)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        filename = getattr(script, "filename", script) or ""  # an inline script has None or ""
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: it is the builder's list, to which myst-nb then adds the page's own


INPUTS = ("data/runs/**/*.json", "data/benchmarks/**/*.json", "resnet_book/**/*.py")  # earlier/, imagenet/ too
# Where the live cells find CIFAR-10 (resnet_book.data: the data folder, the offline copy); their size and
# time stand for them (a dataset is far larger than a record, and is never edited in place).
DATASETS = ("data/datasets/cifar-10-batches-bin/*", "data/datasets/*.npz", "../shared/datasets/*.npz")
DATASET_VARIABLES = ("RESNET_BOOK_DATA_DIR", "RESNET_BOOK_CIFAR10_JPEG")


def _fingerprint(path: Path, whole: bool) -> bytes:
    """What the hash takes of one path: its bytes (``whole``) or size and time; for something a chapter
    cannot read as a file (a folder, a link to nothing, no permission), what it is instead."""
    try:
        if path.is_dir():
            return b"<folder>"
        if whole:
            return path.read_bytes()
        stat = path.stat()
        return f"{stat.st_size} {stat.st_mtime_ns}".encode()
    except OSError as err:
        return f"<unreadable: {err.strerror}>".encode()


def inputs_hash(root: Path) -> str:
    """sha256 over the names and bytes of the files the chapters read (a new, changed or removed file changes it)."""
    digest = hashlib.sha256()
    for patterns, whole in ((INPUTS, True), (DATASETS, False)):
        for path in sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_symlink() or p.exists()}):
            name = os.path.relpath(path, root)
            digest.update(name.encode() + b"\0" + _fingerprint(path, whole) + b"\0")
    for variable in DATASET_VARIABLES:
        digest.update(f"{variable}={os.environ.get(variable, '')}".encode() + b"\0")
    return digest.hexdigest()[:16]


def failed_pages(app: Sphinx, env, added: set, changed: set, removed: set) -> list[str]:
    """``env-get-outdated``: the pages whose notebook failed when last executed (myst-nb's execution data),
    read again so they execute again; a build never passes on a page that failed before."""
    metadata = getattr(env, "nb_metadata", None) or {}
    return sorted(doc for doc, data in metadata.items() if (data.get("exec_data") or {}).get("succeeded") is False)


def cache_per_inputs(app: Sphinx, config: Config) -> None:
    """myst-nb's execution cache in ``_build/.jupyter_cache/<inputs hash>``; caches of other inputs go."""
    app.book_inputs = inputs_hash(Path(app.srcdir))
    caches = Path(app.outdir).parent / ".jupyter_cache"
    if caches.is_dir():
        for old in caches.iterdir():
            if old.name != app.book_inputs:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
    config.nb_execution_cache_path = str(caches / app.book_inputs)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", cache_per_inputs)
    app.connect("env-get-outdated", failed_pages)
    app.connect("config-inited", drop_vendored)
    app.connect("config-inited", set_theme_mode)
    # Early (priority < 500): Sphinx stops calling html-page-context handlers once one returns a value.
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    app.connect("html-page-context", add_lab)
    app.add_js_file(None, body=MATHJAX2_HUB_BRIDGE)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
