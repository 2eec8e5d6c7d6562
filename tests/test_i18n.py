"""The Chinese edition (README: Translations): its catalogs, and its pages as a reader sees them.

The catalogs (``locales/zh_CN/LC_MESSAGES``, one ``.po`` per page) need no build, so ``make unit`` checks
them: every entry translated and none fuzzy (Sphinx shows an untranslated or fuzzy entry in English, with
no warning), display math left empty (a translated ``$$`` block renders as ``\\[::\\]``), and each
translation keeping the markup of its English text: inline math, code spans, roles, link targets and URLs
(a lost reference fails the build; a lost backtick renders raw, silently).

The built tests (``book``: ``make book`` first) check that the catalogs match the pages as they are now
(``make book`` extracts the English text into ``_build/gettext``: a changed paragraph fails here until
``make translations`` and a translation bring it back), and open every Chinese page in headless Chromium
(``browser``): it loads offline, says it is ``zh-CN``, its language switch leads to the same page of the
English edition and back, its toggles switch figures, nothing of the build machine shows, and the search
finds a Chinese query that Sphinx's own query splitting would not.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlsplit

import polib
import pytest
from toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import editions  # noqa: E402
import test_site as en  # noqa: E402

server, browser = en.server, en.browser  # fixtures: the built site on 127.0.0.1, headless Chromium

LANGUAGE = editions.CHINESE.language
CATALOGS = ROOT / "locales" / LANGUAGE / "LC_MESSAGES"
GLOSSARY = ROOT / "locales" / LANGUAGE / "glossary.md"
ROOT_PAGE, CHAPTERS = toc_files()
PAGES = [ROOT_PAGE, *CHAPTERS]
SITE = ROOT / "_build" / "html"
TEMPLATES = ROOT / "_build" / "gettext"  # the English text as `make book` last extracted it (.pot)


def catalog(page: str) -> polib.POFile:
    path = CATALOGS / f"{page}.po"
    assert path.is_file(), f"no catalog for {page}: run `make translations` (it creates {path.relative_to(ROOT)})"
    return polib.pofile(str(path))


def page_sources() -> dict[str, str]:
    """Each page's own text: ``intro.md``, a chapter's markdown cells."""
    import json

    sources = {ROOT_PAGE: (ROOT / f"{ROOT_PAGE}.md").read_text(encoding="utf-8")}
    for chapter in CHAPTERS:
        cells = json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
        sources[chapter] = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return sources


DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)


def display_math(page: str, sources: dict[str, str]) -> set[str]:
    """The page's ``$$`` blocks, whitespace collapsed."""
    return {" ".join(m.group(1).split()) for m in DISPLAY_MATH.finditer(sources[page])}


def is_display_math(msgid: str, blocks: set[str]) -> bool:
    """A display-math entry: a ``$$`` block of the page, or any entry keeping line breaks (a block of math
    or LaTeX, such as an output's ``text/latex``: Sphinx collapses a paragraph's lines into one)."""
    return "\n" in msgid or " ".join(msgid.split()) in blocks


# The markup a translation must keep, token for token: roles ({ref}`...`), inline math ($...$), code spans,
# the targets of links ([text](target): the text is translated) and bare URLs.
ROLE = re.compile(r"\{(?P<name>[\w:.+-]+)\}`(?P<content>[^`]+)`")
ROLE_TARGET = re.compile(r"<([^<>]+)>$")  # {ref}`title <target>`: the title is translated, the target kept
INLINE_MATH = re.compile(r"(?<![$\\])\$(?!\$)(?:[^$\\]|\\.)+?(?<!\\)\$(?!\$)")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
URL = re.compile(r"(?<![(<])https?://[^\s)>\]]+")


def markup(text: str) -> Counter:
    """The tokens of ``text`` that a translation must carry over unchanged (each as often)."""
    tokens: Counter = Counter()
    rest = text
    for m in ROLE.finditer(rest):
        target = ROLE_TARGET.search(m["content"])
        tokens[("role", f"{{{m['name']}}} {target.group(1) if target else m['content']}")] += 1
    rest = ROLE.sub(" ", rest)  # a role's target is no code span
    for pattern, kind in ((CODE_SPAN, "code"), (INLINE_MATH, "math")):
        for m in pattern.finditer(rest):
            tokens[(kind, m.group(0))] += 1
        rest = pattern.sub(" ", rest)  # a code span's $ is no math
    for m in LINK_TARGET.finditer(rest):
        tokens[("link", m.group(1))] += 1
    for m in URL.finditer(rest):
        tokens[("url", m.group(0))] += 1
    return tokens


def markup_problems(msgid: str, msgstr: str) -> list[str]:
    """What ``msgstr`` lost or broke of ``msgid``'s markup."""
    lost = markup(msgid) - markup(msgstr)
    problems = [f"lost {kind} {token}" for (kind, token) in sorted(lost)]
    if msgstr.count("`") != msgid.count("`"):
        problems.append(f"{msgstr.count('`')} backticks, the English has {msgid.count('`')}")
    if msgstr.count("**") % 2:
        problems.append("unbalanced **")
    return problems


def test_the_markup_check_catches_what_breaks_a_page():
    msgid = "See {ref}`degradation-lab`, $\\mathcal{F}(x)$ and `resnet_book.models` ([paper](https://arxiv.org/abs/1512.03385))."
    good = "见 {ref}`degradation-lab`、$\\mathcal{F}(x)$ 与 `resnet_book.models`（[论文](https://arxiv.org/abs/1512.03385)）。"
    assert markup_problems(msgid, good) == []
    assert markup_problems(msgid, good.replace("{ref}`degradation-lab`", "实验"))  # a reference lost
    titled = "the {ref}`lab of chapter 1 <degradation-lab>`"
    assert markup_problems(titled, "{ref}`第 1 章的实验 <degradation-lab>`") == []  # its title translated
    assert markup_problems(titled, "{ref}`第 1 章的实验 <lab>`")
    assert markup_problems(msgid, good.replace("$\\mathcal{F}(x)$", "F(x)"))  # inline math lost
    assert markup_problems(msgid, good.replace("`resnet_book.models`", "`resnet_book.models"))  # a backtick
    assert markup_problems(msgid, good.replace("(https://arxiv.org/abs/1512.03385)", "(https://arxiv.org)"))
    assert markup_problems("**Start** now", "按 **Start") == ["unbalanced **"]
    blocks = {"y = x"}
    assert is_display_math("\ny = x\n", blocks) and is_display_math("y = x", blocks)
    assert not is_display_math("the sum $y = x$", blocks)


def test_every_page_has_a_catalog():
    missing = [page for page in PAGES if not (CATALOGS / f"{page}.po").is_file()]
    assert not missing, f"pages without a catalog in {CATALOGS.relative_to(ROOT)}: {missing} (run `make translations`)"


@pytest.mark.parametrize("page", PAGES)
def test_catalog_is_complete(page):
    """No entry untranslated or fuzzy (both show as English on the Chinese page), display math left empty,
    and every translation keeps its English text's markup."""
    po = catalog(page)
    blocks = display_math(page, page_sources())
    problems = []
    for entry in po:
        if entry.obsolete:
            continue
        where = f"line {entry.linenum}: {entry.msgid[:70]!r}"
        if is_display_math(entry.msgid, blocks):
            if entry.msgstr:
                problems.append(f"{where}: display math must stay untranslated (leave msgstr empty)")
            continue
        if entry.fuzzy:
            problems.append(f"{where}: fuzzy (the English changed: check the translation, then remove the flag)")
        elif not entry.msgstr.strip():
            problems.append(f"{where}: untranslated")
        else:
            problems += [f"{where}: {p}" for p in markup_problems(entry.msgid, entry.msgstr)]
    assert not problems, f"{CATALOGS.relative_to(ROOT)}/{page}.po:\n" + "\n".join(problems)


def test_the_glossary_terms_are_used():
    """Where an English text uses a term of the glossary's checked rows (marked ✓), its translation uses the
    glossary's Chinese for it, so a term reads the same on every page (unless it keeps the English words, as
    in a paper's title or a quote)."""
    checked = editions.glossary(GLOSSARY, checked_only=True)
    assert len(checked) >= 8, f"{GLOSSARY.relative_to(ROOT)}: the checked terms are missing"
    problems = []
    for page in PAGES:
        for entry in catalog(page):
            if entry.obsolete or not entry.msgstr:
                continue
            english = ROLE.sub(" ", CODE_SPAN.sub(" ", entry.msgid))
            for term, chinese in checked.items():
                used = len(re.findall(rf"\b{term}", english, re.IGNORECASE))
                kept = len(re.findall(rf"\b{term}", entry.msgstr, re.IGNORECASE))  # a title, a quote: English
                if used > kept and chinese not in entry.msgstr:
                    problems.append(f"{page}.po line {entry.linenum}: {term!r} without {chinese!r}: {entry.msgstr[:60]!r}")
    assert not problems, "\n".join(problems)


def test_the_switch_links_the_same_page_of_the_other_edition():
    english, chinese = editions.ENGLISH, editions.CHINESE
    assert editions.switch_href(english, chinese, "intro") == "zh/intro.html"
    assert editions.switch_href(english, chinese, "chapters/1_degradation") == "../zh/chapters/1_degradation.html"
    assert editions.switch_href(chinese, english, "intro") == "../intro.html"
    assert editions.switch_href(chinese, english, "chapters/1_degradation") == "../../chapters/1_degradation.html"
    assert editions.edition_of("zh_CN") == chinese and editions.edition_of(None) == english


def test_the_makefile_builds_the_edition_into_its_folder():
    makefile = (ROOT / "Makefile").read_text()
    assert f"-D language={LANGUAGE}" in makefile and f"_build/html/{editions.CHINESE.folder}" in makefile


# ---- the built site -------------------------------------------------------------------------------------


@pytest.mark.book
def test_catalogs_match_the_pages_as_built():
    """``make book`` extracts the English text (``_build/gettext``); a paragraph edited since the catalogs
    were updated has no entry yet, and would show in English."""
    if not TEMPLATES.is_dir():
        pytest.fail(f"{TEMPLATES} is missing: run `make book` before the tests (`make test` does both)", pytrace=False)
    problems = []
    for page in PAGES:
        known = {e.msgid for e in catalog(page) if not e.obsolete}
        new = [e.msgid for e in polib.pofile(str(TEMPLATES / f"{page}.pot")) if e.msgid and e.msgid not in known]
        problems += [f"{page}: {msgid[:80]!r}" for msgid in new]
    assert not problems, "English text with no entry in the catalogs (run `make translations`, translate):\n" + "\n".join(
        problems
    )


# A translation that parses as another kind of node than its English (a title "1. ..." read as a list, a
# paragraph split in two) is dropped by Sphinx without a warning, and the page shows the English.
PLAIN_RUN = re.compile(r"[^$`*\[\](){}<>|\\]{12,}")


def english_left(msgid: str, msgstr: str) -> str | None:
    """The longest run of plain English in ``msgid`` (no markup), unless the translation keeps it (a quote)."""
    runs = sorted((" ".join(r.split()) for r in PLAIN_RUN.findall(msgid)), key=len, reverse=True)
    if not runs or len(runs[0]) < 12 or runs[0] in " ".join(msgstr.split()):
        return None
    return runs[0]


@pytest.mark.book
@pytest.mark.parametrize("page", PAGES)
def test_every_translation_shows_on_the_chinese_page(page):
    from bs4 import BeautifulSoup  # pydata-sphinx-theme's dependency

    path = SITE / editions.CHINESE.folder / f"{page}.html"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make book` first", pytrace=False)
    main = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").find("main")
    for shared in main.select("div.cell_input, div.cell_output, script, style"):  # code and outputs are English
        shared.decompose()
    text = " ".join(main.get_text(" ").split())
    shown = [
        left
        for entry in catalog(page)
        if entry.msgstr and not entry.obsolete and (left := english_left(entry.msgid, entry.msgstr)) and left in text
    ]
    assert not shown, f"{path.relative_to(SITE)} shows English whose translation Sphinx dropped:\n" + "\n".join(shown)


ZH_PAGES = [f"{editions.CHINESE.folder}/{p}.html" for p in PAGES]
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def site():
    """The built site on 127.0.0.1 (tests/test_site.py's server and browser, both editions)."""
    missing = [p for p in ZH_PAGES if not (SITE / p).is_file()]
    if missing:
        pytest.fail(f"the Chinese edition is not built ({missing}): run `make book` first", pytrace=False)


@pytest.mark.book
@pytest.mark.browser
@pytest.mark.parametrize("path", ZH_PAGES)
def test_chinese_page_as_a_reader_sees_it(site, server, browser, path):
    """As tests/test_site.py's visit of the English page, plus: the page says it is zh-CN and reads in Chinese,
    and its switch leads to the same English page, whose switch leads back."""
    english = path.split("/", 1)[1]
    visit = en.open_page(browser, server, path)
    page = visit.page
    try:
        en.wait_for_widgets_and_math(page, path)
        problems = [f"requested another host (the site must work offline): {url}" for url in visit.external()]
        problems += [f"local request failed: {failed}" for failed in visit.failed]
        problems += [f"image or figure without a size: {bad}" for bad in en.unsized_images_and_figures(page)]
        lang = page.evaluate("() => document.documentElement.lang")
        if lang != editions.CHINESE.tag:
            problems.append(f'<html lang="{lang}">, expected "{editions.CHINESE.tag}"')
        heading = page.evaluate("() => (document.querySelector('main h1') || {}).textContent || ''")
        if not HAN.search(heading):
            problems.append(f"the title is not translated: {heading!r}")
        view = page.evaluate(en.READER_VIEW)
        problems += [f"shows the build machine: {m.group(0)}" for m in en.BUILD_MACHINE.finditer(view["text"])]
        problems += [f"output line runs past the page's width: {line}" for line in view["overflowing"]]
        problems += en.widget_state_problems((SITE / path).read_text())
        problems += en.drawing_problems(page, english)
        problems += en.toggle_problems(page, english)
        problems += en.phone_problems(page, path)  # at a phone's width, as the English page
        problems += [f"browser console: {error}" for error in visit.errors]
        for here, there in ((path, english), (english, path)):  # to the English page and back, at a phone's width
            if page.url != f"{server}/{here}":
                page.goto(f"{server}/{here}", wait_until="domcontentloaded")
            page.locator("a.edition-switch__link").first.click()
            page.wait_for_load_state("domcontentloaded")
            if urlsplit(page.url).path != f"/{there}":
                problems.append(f"the switch on {here} leads to {urlsplit(page.url).path}, not /{there}")
        assert not problems, f"{path}:\n" + "\n".join(problems)
    finally:
        page.context.close()


# A term of the glossary (a word of the index), and two queries that Sphinx's own splitting keeps as one term,
# found nowhere: two words with a particle between them, and a phrase the index holds as two words.
SEARCHES = {
    "训练误差": "chapters/1_degradation.html",
    "恒等捷径的训练误差": "chapters/3_shortcuts.html",
    "退化问题": "chapters/1_degradation.html",
}


@pytest.mark.book
@pytest.mark.browser
@pytest.mark.parametrize("query", SEARCHES)
def test_chinese_search_finds_the_page(site, server, browser, query):
    folder = editions.CHINESE.folder
    visit = en.open_page(browser, server, f"{folder}/search.html?q={quote(query)}")
    page = visit.page
    try:
        page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0", timeout=20_000)
        found = page.evaluate("() => [...document.querySelectorAll('#search-results li a')].map(a => a.href)")
        paths = {urlsplit(url).path for url in found}
        assert f"/{folder}/{SEARCHES[query]}" in paths, f"{query}: {sorted(paths)}"
        assert not visit.errors and not visit.external(), visit.errors + visit.external()
    finally:
        page.context.close()
