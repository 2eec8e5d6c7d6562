"""Sphinx extension: the book's editions, English and Simplified Chinese, from one source.

The English edition is the site's root (``_build/html``), each translation a folder beside its pages
(``_build/html/zh``), built by ``sphinx-build -D language=zh_CN`` from the gettext catalogs in
``locales/zh_CN/LC_MESSAGES`` (the Makefile's ``book`` target; the README's *The Chinese edition*).  The code
cells, their outputs, figures and widget state are the English build's: the translated build reads the
same execution cache and executes nothing.

1. A language switch on every page.  ``edition-switch.html`` (in ``_ext/templates``, placed first in the
theme's ``article_header_end`` by ``_config.yml``) links to the same page in the other edition, with a
relative link, so it works offline and on any host.

2. What the Chinese pages say of themselves.  ``lang="zh-CN"`` comes from Sphinx's ``language``; the
book's title, the search box's placeholder and a banner on every page (code, output and the words in
figures are English; the Colab button opens the English notebook) are set here, as they come from no
page's text.

3. Chinese search.  Sphinx's zh indexer segments the text with jieba (``jieba`` in requirements.txt;
without it no Chinese word of a page is indexed), and the book's glossary
(``locales/zh_CN/glossary.md``) is its user dictionary, so the book's terms are words of the index.  A
query is not segmented by Sphinx's JavaScript: 恒等捷径的训练误差 is one term, found nowhere.  ``ZH_SPLIT_QUERY``
splits a run of Han characters into the fewest words the index holds, dropping the single characters
the index cannot hold (Sphinx indexes no word shorter than two).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.search.zh import SearchChinese

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Edition:
    language: str  # Sphinx's language
    folder: str  # where its pages are, under the English site's root ("" for the English edition)
    tag: str  # the HTML lang of its pages (BCP 47)
    label: str  # the switch's text, in the edition's own language
    title: str = ""  # html_title, where it differs from _config.yml's
    search_bar_text: str = ""
    banner: str = ""  # the theme's announcement, on every page


ENGLISH = Edition("en", "", "en", "English")
CHINESE = Edition(
    "zh_CN",
    "zh",
    "zh-CN",
    "中文",
    title="复现深度残差学习",
    search_bar_text="搜索本书……",
    banner=(
        "本书中文版由英文版的同一份源文件生成：正文已译成中文，代码、运行输出和图中的文字保持英文；"
        "章节页上的 Colab 按钮打开的是英文笔记本。"
    ),
)
EDITIONS = (ENGLISH, CHINESE)


def edition_of(language: str | None) -> Edition:
    """The edition that a build of Sphinx's ``language`` makes (English for None, "en" or any other)."""
    for edition in EDITIONS:
        if language and (language == edition.language or language.replace("-", "_") == edition.language):
            return edition
    return ENGLISH


def page_url(edition: Edition, pagename: str) -> str:
    """The page's file, relative to the English site's root."""
    return f"{edition.folder}/{pagename}.html" if edition.folder else f"{pagename}.html"


def switch_href(current: Edition, target: Edition, pagename: str) -> str:
    """A relative link from ``pagename`` of the ``current`` edition to the same page of ``target``."""
    depth = pagename.count("/") + (1 if current.folder else 0)  # folders between the page and the site's root
    return "../" * depth + page_url(target, pagename)


def add_switch(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """``book_editions``: the other editions' labels and links, for ``edition-switch.html``."""
    current = edition_of(app.config.language)
    context["book_editions"] = [
        {"label": e.label, "href": switch_href(current, e, pagename), "lang": e.tag} for e in EDITIONS if e != current
    ]


def configure(app: Sphinx, config: Config) -> None:
    """The switch's template; a translated edition's title, search placeholder and banner."""
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    edition = edition_of(config.language)
    if edition == ENGLISH:
        return
    options = dict(config.html_theme_options or {})
    options["search_bar_text"] = edition.search_bar_text
    options["announcement"] = edition.banner
    config.html_theme_options = options
    config.html_title = edition.title
    glossary = ROOT / "locales" / edition.language / "glossary.md"
    if glossary.is_file():
        words = Path(app.doctreedir) / "search-words.txt"
        words.parent.mkdir(parents=True, exist_ok=True)
        words.write_text("".join(f"{w} 1000 n\n" for w in glossary_terms(glossary)), encoding="utf-8")
        config.html_search_options = {**(config.html_search_options or {}), "dict": str(words)}


def own_output_folder(app: Sphinx) -> None:
    """A translated or gettext build writes its notebooks apart from the English build's.

    myst-nb writes each page's notebook, outputs merged from the execution cache, into
    ``<outdir>/../jupyter_execute``: for the builds beside ``_build/html`` that is the English build's folder,
    which keeps the notebooks as they executed (tests/test_notebooks.py reads them). A build that only
    reuses the cache would overwrite them with copies whose execution counts the cache does not keep."""
    if app.builder.name != "gettext" and edition_of(app.config.language) == ENGLISH:
        return
    config = getattr(app.env, "mystnb_config", None)
    if config is not None:
        folder = Path(app.outdir).parent / f"jupyter_execute-{Path(app.outdir).name}"
        app.env.mystnb_config = config.copy(output_folder=str(folder.resolve()))


GLOSSARY_ROW = re.compile(r"^\|(?P<english>[^|]+)\|(?P<chinese>[^|]+)\|(?P<checked>[^|]*)\|")


def glossary(path: Path, checked_only: bool = False) -> dict[str, str]:
    """The glossary's table: English term -> Chinese term (its first two columns; the third marks with ✓ the
    terms that tests/test_i18n.py checks in every translation)."""
    terms = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = GLOSSARY_ROW.match(line.strip())
        if row is None:
            continue
        english, chinese = row["english"].strip(), row["chinese"].strip()
        if not english or set(english) <= set("-: ") or english.lower() == "english":
            continue
        if row["checked"].strip() == "✓" or not checked_only:
            terms[english] = chinese
    return terms


def glossary_terms(path: Path) -> list[str]:
    """The Chinese words of the glossary (each term, and each of a term's alternatives split at '/' or '，')."""
    words = set()
    for chinese in glossary(path).values():
        for word in re.split(r"[/，,、（）()\s]+", chinese):
            if re.fullmatch(r"[\u4e00-\u9fff]{2,}", word):
                words.add(word)
    return sorted(words)


# The query splitter of language_data.js (Sphinx 7.4's searchtools.js defines ``splitQuery`` only when it is
# undefined, and calls the global at query time, so this ``var`` wins whichever script loads first).
ZH_SPLIT_QUERY = r"""
var splitQuery = function (query) {
  var terms = query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu).filter(function (t) { return t; });
  var index = (typeof Search !== "undefined" && Search._index) || null;
  if (!index) return terms;
  var has = function (word) {
    var w = word.toLowerCase();
    return Object.prototype.hasOwnProperty.call(index.terms, w) || Object.prototype.hasOwnProperty.call(index.titleterms, w);
  };
  var out = [];
  terms.forEach(function (term) {
    (term.match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu) || []).forEach(function (run) {
      if (!/\p{Script=Han}/u.test(run) || has(run)) { out.push(run); return; }
      // fewest unknown characters, then fewest pieces: cost[i] covers run[0, i)
      var chars = Array.from(run), n = chars.length, cost = [[0, 0]], step = [0];
      for (var i = 1; i <= n; i++) {
        cost[i] = [cost[i - 1][0] + 1, cost[i - 1][1] + 1]; step[i] = i - 1;  // chars[i - 1] unknown
        for (var j = Math.max(0, i - 12); j <= i - 2; j++) {
          if (!has(chars.slice(j, i).join(""))) continue;
          var c = [cost[j][0], cost[j][1] + 1];
          if (c[0] < cost[i][0] || (c[0] === cost[i][0] && c[1] < cost[i][1])) { cost[i] = c; step[i] = j; }
        }
      }
      var pieces = [], unknown = "";
      for (var k = n; k > 0; k = step[k]) pieces.unshift(chars.slice(step[k], k).join(""));
      var flush = function () { if (unknown.length > 1) out.push(unknown); unknown = ""; };  // a lone character: no word
      pieces.forEach(function (piece) {
        if (piece.length > 1) { flush(); out.push(piece); } else unknown += piece;
      });
      flush();
    });
  });
  return out;
};
"""


class BookChinese(SearchChinese):
    """Sphinx's Chinese search (jieba), with the query splitter above."""

    js_splitter_code = ZH_SPLIT_QUERY

    def init(self, options: dict[str, str]) -> None:
        try:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # not its "Building prefix dict" lines on every build
        except ImportError:
            pass
        super().init(options)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", configure)
    app.connect("builder-inited", own_output_folder, priority=900)  # after myst-nb's (500) sets the folder
    app.connect("html-page-context", add_switch, priority=100)  # before the theme drops empty templates
    app.add_search_language(BookChinese)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
