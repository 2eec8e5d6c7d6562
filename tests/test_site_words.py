"""No page speaks of how the book was made (#31): a reader needs a run's cost and its command, not the time
limits of the machines the book was written on.

The words below are the ones such sentences used ("leases", "GPU session", "sittings", "GPU time per ...",
"allowance"). The first test reads the built pages (``_build/html``, marker ``book``: ``make book`` first),
outputs included, which is where a printed line would show; the second reads the pages' sources (``intro.md``
and every chapter's cells), so that ``make unit`` catches a typed sentence before any build.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"

# A Colab session is the reader's own (Colab's word for a runtime), so it is not one of them.
PROCESS_WORDS = re.compile(
    r"\b(?:leases?|leased|sittings?|allowances?)\b|\bGPU[- ]time per\b|(?<!Colab )\bsessions?\b|\bdevice time\b",
    re.IGNORECASE,
)


def page_text(markup: str) -> str:
    """What a reader sees of a built page: its ``<main>`` (the theme's menus aside), without scripts (the
    widgets' saved state), styles and tags."""
    main = re.search(r"<main\b.*?</main>", markup, re.S)
    text = main.group(0) if main else markup
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def found(text: str) -> list[str]:
    """Each process word in ``text`` with a few words around it, so a failure says where to look."""
    return [" ".join(text[max(0, m.start() - 60) : m.end() + 60].split()) for m in PROCESS_WORDS.finditer(text)]


def test_the_word_list_catches_the_sentences_it_is_for_and_spares_the_reader_s_own():
    assert found("each run fits one 25-minute lease") and found("the GPU session that made it")
    assert found("in three sittings") and found("GPU time per sitting") and found("the allowance left")
    assert not found("please release the runtime, then a Colab session") and not found("one pleased reader")


@pytest.mark.book
def test_no_built_page_speaks_of_how_the_book_was_made():
    pages = sorted(SITE.glob("**/*.html"))
    pages = [p for p in pages if "_static" not in p.parts and "_sources" not in p.parts]
    if not pages:
        pytest.fail(f"no built pages in {SITE}: run `make book` before the tests (`make test` does both)", pytrace=False)
    hits = [f"{p.relative_to(SITE)}: ...{hit}..." for p in pages for hit in found(page_text(p.read_text()))]
    assert not hits, "a page speaks of how the book was made:\n" + "\n".join(hits)


def test_no_page_source_speaks_of_how_the_book_was_made():
    root, chapters = toc_files()
    sources = {f"{root}.md": (ROOT / f"{root}.md").read_text()}
    for chapter in chapters:
        cells = json.loads((ROOT / f"{chapter}.ipynb").read_text())["cells"]
        sources[f"{chapter}.ipynb"] = "\n".join("".join(cell["source"]) for cell in cells)
    hits = [f"{name}: ...{hit}..." for name, text in sources.items() for hit in found(text)]
    assert not hits, "a page's source speaks of how the book was made:\n" + "\n".join(hits)
