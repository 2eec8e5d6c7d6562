"""The BUILT site (``_build/html``, made by ``make book``), opened in headless Chromium as a reader would.

Every page of ``_toc.yml`` must load with no request to another host (the site works offline), every
image and figure must have a size, widgets and math must render, and nothing may log an error.  The
shortcut chapter's A/B/C buttons and the depth chapter's menu must switch figures with no kernel
(``resnet_book.widgets.toggle`` and ``dropdown``).

Needs Debian's ``chromium`` (``apt-get install chromium``); playwright drives it, no browser download.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.book, pytest.mark.browser]
SITE = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
HOST = "127.0.0.1"

# The two harmless messages of a default Jupyter Book build (sphinx-thebe's THEBE_JS_URL declared twice,
# pydata-sphinx-theme's "invalid theme mode") are fixed at their source in _ext/book_site.py, so any
# console error at all fails the test.


ROOT_PAGE, CHAPTERS = toc_files()
PAGES = [ROOT_PAGE, *CHAPTERS]  # intro, chapters/1_degradation, ... in _toc.yml order


def require_built_site() -> None:
    missing = [p for p in PAGES if not (SITE / f"{p}.html").is_file()]
    if not SITE.is_dir() or missing:
        pytest.fail(
            f"the built site is missing ({SITE} lacks {missing or 'everything'}): "
            "run `make book` before the tests (`make test` does both)",
            pytrace=False,
        )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base class)
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``_build/html`` served on 127.0.0.1 on a free port, in a thread; yields the base URL."""
    require_built_site()
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{HOST}:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is needed: apt-get install chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What happened while one page was open."""

    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    failed: list[str] = field(default_factory=list)  # local requests that failed or answered >= 400

    def external(self) -> list[str]:
        """Requested URLs on another host than the local server (data: and blob: are local)."""
        return [url for url in self.requests if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != HOST]


def open_page(browser, base: str, path: str) -> Visit:
    """Open ``path`` with every request recorded; requests to other hosts are recorded, then refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    visit = Visit(page)

    def route(r) -> None:
        visit.requests.append(r.request.url)
        if urlsplit(r.request.url).hostname == HOST:
            r.continue_()
        else:
            r.abort()  # offline: the test must not depend on, or wait for, the outside world

    context.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and visit.errors.append(f"console: {m.text} @ {m.location}"))
    page.on("pageerror", lambda e: visit.errors.append(f"uncaught: {e}"))
    page.on(
        "requestfailed",
        lambda r: urlsplit(r.url).hostname == HOST and visit.failed.append(f"{r.url} ({r.failure})"),
    )
    page.on(
        "response",
        lambda r: r.status >= 400 and urlsplit(r.url).hostname == HOST and visit.failed.append(f"{r.url} ({r.status})"),
    )
    page.goto(f"{base}/{path}", wait_until="networkidle")
    return visit


RENDER_STATE = """() => ({
    views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
    rendered: [...document.querySelectorAll('.widget-subarea')].filter(e => e.children.length).length,
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
})"""


def wait_for_widgets_and_math(page, path: str) -> None:
    """The html-manager replaces each widget-view script by a rendered view; MathJax typesets math."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"""() => {{
                const s = ({RENDER_STATE})();
                return s.rendered >= s.views && (s.math === 0 || s.typeset > 0);
            }}""",
            timeout=20_000,
        )
    except PlaywrightTimeout:
        pytest.fail(f"{path}: widgets or math did not render offline: {page.evaluate(RENDER_STATE)}")
    page.wait_for_load_state("networkidle")


def unsized_images_and_figures(page) -> list[str]:
    return page.evaluate(
        """() => {
            const bad = [];
            for (const img of document.querySelectorAll('img')) {
                if (!img.complete || img.naturalWidth === 0 || img.naturalHeight === 0)
                    bad.push('img ' + (img.getAttribute('src') || '').slice(0, 120));
            }
            for (const fig of document.querySelectorAll('figure, .cell_output img, .widget-image')) {
                const box = fig.getBoundingClientRect();
                const shown = fig.offsetParent !== null;
                if (shown && (box.width === 0 || box.height === 0))
                    bad.push(fig.tagName.toLowerCase() + '.' + fig.className + ' has no size');
            }
            return bad;
        }"""
    )


def test_widget_pages_embed_their_state_and_load_the_local_html_manager_once():
    """A page whose notebook made widgets carries their state; the vendored html-manager draws them."""
    require_built_site()
    for path in (f"{p}.html" for p in PAGES):
        html = (SITE / path).read_text()
        if "application/vnd.jupyter.widget-view+json" not in html:
            continue
        assert "application/vnd.jupyter.widget-state+json" in html, f"{path}: widget state not embedded"
        assert "_static/vendor/html-manager/embed.js" in html, f"{path}: not the local html-manager"
        assert html.count("html-manager/embed.js") == 1, f"{path}: html-manager loaded twice"


def test_every_page_states_the_licences_in_its_footer():
    """_config.yml's ``html.extra_footer``: whoever reuses a page learns its terms (README: Licence)."""
    require_built_site()
    for path in (f"{p}.html" for p in PAGES):
        found = re.search(r'<div class="extra_footer">(.*?)</div>', (SITE / path).read_text(), re.S)
        assert found, f"{path}: no licence in the footer"
        footer = found.group(1)
        assert 'href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>' in footer, f"{path}: {footer}"
        assert "MIT License" in footer, f"{path}: the code's licence is not named: {footer}"


# The images on show (the Stack's selected child) in a widget box.
SHOWN_IN = """box => [...box.querySelectorAll('img')].filter(img => {
        const r = img.getBoundingClientRect();
        return img.offsetParent !== null && r.width > 0 && r.height > 0;
    }).map(img => img.src)"""


def figures_by_choice(page, state_js: str, choices: list[str], choose) -> dict[str, tuple[str, ...]]:
    """Make each choice in turn (``choose(page, choice)``) and return the figures shown for each (one, or the
    parts of a composite split so that each stays legible on a phone, as chapter 3's options)."""
    shown = {}
    for choice in choices:
        choose(page, choice)
        page.wait_for_timeout(300)
        state = page.evaluate(state_js)
        assert "error" not in state, state["error"]
        assert state["srcs"], f"with {choice} chosen, no figure on show"
        assert state.get("active", [choice]) == [choice], f"with {choice} chosen, active: {state['active']}"
        shown[choice] = tuple(state["srcs"])
    return shown


SHORTCUTS_PAGE = "chapters/3_shortcuts.html"
UNITS_PAGE = "chapters/7_identity_mappings.html"


def buttons_state(labels: list[str], description: str | None = None) -> str:
    """JS: the toggle buttons labelled exactly ``labels`` (and, where a page has several such groups, with the
    ``description`` left of them), the figure on show next to them, the active button."""
    return (
        """() => {
    const shownIn = SHOWN_IN;
    const labels = JSON.stringify(LABELS);
    const description = DESCRIPTION;
    const described = g => {
        const label = g.querySelector('.widget-label');
        return description === null || (label !== null && label.textContent.trim() === description);
    };
    const groups = [...document.querySelectorAll('.widget-toggle-buttons')].filter(g =>
        JSON.stringify([...g.querySelectorAll('button')].map(b => b.textContent.trim())) === labels && described(g));
    if (groups.length === 0) return {error: 'no toggle buttons labelled ' + labels + ' described ' + description};
    groups[0].setAttribute('data-test-buttons', '');
    const active = [...groups[0].querySelectorAll('button.mod-active')].map(b => b.textContent.trim());
    return {srcs: shownIn(groups[0].parentElement), active: active};
}""".replace("SHOWN_IN", SHOWN_IN)
        .replace("LABELS", json.dumps(labels))
        .replace("DESCRIPTION", json.dumps(description))
    )


def click_option(page, label: str) -> None:
    group = page.locator(".widget-toggle-buttons[data-test-buttons]")
    if group.count():  # tagged by the first look (the first option is on show when the page opens)
        group.get_by_role("button", name=label, exact=True).click()


DEPTH_PAGE = "chapters/5_depth_scaling.html"

# The dropdown labelled "layers": its options and the figure on show under it.
DEPTH_MENU = """() => {
    const shownIn = SHOWN_IN;
    const menus = [...document.querySelectorAll('.widget-dropdown')].filter(d =>
        d.querySelector('label') && d.querySelector('label').textContent.trim() === 'layers');
    if (menus.length === 0) return {error: 'no dropdown labelled layers'};
    const select = menus[0].querySelector('select');
    select.setAttribute('data-test-depths', '');
    return {options: [...select.options].map(o => o.textContent.trim()), srcs: shownIn(menus[0].parentElement)};
}""".replace("SHOWN_IN", SHOWN_IN)


# What a reader sees of a page: its text and the width of every output block.
READER_VIEW = """() => {
    const main = document.querySelector('main') || document.body;
    const overflowing = [...main.querySelectorAll('.cell_output pre, .output pre')]
        .filter(pre => pre.offsetParent !== null && pre.scrollWidth > pre.clientWidth + 1)
        .map(pre => pre.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 120));
    return {text: main.innerText, overflowing: overflowing};
}"""

# The build machine, as it must never show on a page: an absolute path of a Unix machine, a traceback, a
# network error. (A URL's path is no filesystem path: the lookbehind skips "//host/..." and "://...".)
BUILD_MACHINE = re.compile(
    r"(?<![\w.:/-])/(?:home|root|tmp|work|opt|mnt|srv|var|usr|Users)/[\w.-]+"
    r"|Traceback \(most recent call last\)|\[Errno -?\d+\]|Name or service not known|Temporary failure in name"
)


# The paper's drawings: page -> the code of the cell that draws it (what its input contains). Fig. 7 (chapter 5)
# is one of the toggles below.
DRAWINGS = {
    "chapters/1_degradation.html": {"Fig. 1": "plots.fig1("},
    "chapters/2_residual_learning.html": {"Fig. 2": "diagrams.fig2()"},
    "chapters/3_shortcuts.html": {"Fig. 3": "diagrams.fig3()"},
    "chapters/4_bottleneck.html": {"Fig. 5": "diagrams.fig5()"},
}

# The images in the output of each cell whose input contains the code: natural and shown sizes.
CELL_IMAGES = """code => [...document.querySelectorAll('div.cell')]
    .filter(c => c.querySelector('.cell_input') && c.querySelector('.cell_input').textContent.includes(code))
    .map(c => [...c.querySelectorAll('.cell_output img')].map(img => {
        const r = img.getBoundingClientRect();
        return {natural: [img.naturalWidth, img.naturalHeight], shown: [r.width, r.height],
                visible: img.offsetParent !== null};
    }))"""

# Toggle buttons (labels, and the description left of them where a page has several such groups) that must
# switch precomputed figures without a kernel (jslink'd Stack): Sec. 3.3's A/B/C (each option: its shortcuts
# drawn, its curves, and its costs as an HTML table), Fig. 7's nets (the paper's five first), the sequel's
# units (drawn from the code, their gradients, the live run's curves).
TOGGLES = {
    SHORTCUTS_PAGE: [(["A", "B", "C"], None)],
    DEPTH_PAGE: [(["the paper's five nets", "every recorded net"], None)],
    UNITS_PAGE: [(["original", "pre-activation"], d) for d in ("unit", "units", "trained")],
}


def drawing_problems(page, path: str) -> list[str]:
    """Each drawing is the one visible, readable image output of the cell that draws it."""
    problems = []
    for figure, code in DRAWINGS.get(path, {}).items():
        cells = page.evaluate(CELL_IMAGES, code)
        if len(cells) != 1:
            problems.append(f"expected one cell calling {code}, found {len(cells)}")
        elif len(cells[0]) != 1:
            problems.append(f"the {figure} cell shows {len(cells[0])} images, expected 1")
        elif not (cells[0][0]["visible"] and min(cells[0][0]["natural"]) >= 200 and min(cells[0][0]["shown"]) >= 150):
            problems.append(f"{figure} is not drawn at a readable size: {cells[0][0]}")
    return problems


def toggle_problems(page, path: str) -> list[str]:
    """Each toggle of the page opens on its first option and shows another figure for every click; the depth
    menu of chapter 5 shows its own figure for every depth."""
    problems = []
    for labels, description in TOGGLES.get(path, []):
        page.evaluate(
            "() => document.querySelectorAll('[data-test-buttons]').forEach(g => g.removeAttribute('data-test-buttons'))"
        )
        shown = figures_by_choice(page, buttons_state(labels, description), labels, click_option)
        if len(set(shown.values())) != len(labels):
            problems.append(f"toggle {labels} ({description}): the figure did not change: {shown}")
    if path == DEPTH_PAGE:
        state = page.evaluate(DEPTH_MENU)
        assert "error" not in state, f"{DEPTH_PAGE}: {state['error']}"
        options = state["options"]
        shown = figures_by_choice(
            page, DEPTH_MENU, options, lambda p, o: p.locator("select[data-test-depths]").select_option(label=o)
        )
        if len(options) < 2 or len(set(shown.values())) != len(options):
            problems.append(f"the depth menu ({options}) did not switch the figure: {shown}")
    return problems


# A phone's screen (CSS pixels of a common 6.1-inch phone): the page is looked at once more at this width.
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "_build" / "screenshots-390"  # one full-page screenshot per page, to look at

# Legibility of a figure in the phone's column. The browser sees a figure's pixels, not its fonts: it reads the
# PNG's resolution (the pHYs chunk matplotlib writes; 100 dpi, matplotlib's default, where there is none) and
# takes the figure's body text at matplotlib's default size, BODY_PT (tick labels, axis labels, titles of the
# book's figures). That text, natural size BODY_PT * dpi / 72 px (13.9 px at 100 dpi), times the factor the
# column shrinks the image by (shown width / natural width), must be at least MIN_TEXT_PX CSS pixels.
BODY_PT = 10
MIN_TEXT_PX = 7

# At the phone's width: every figure (image, widget image) on show, and the column it sits in; the width of the
# page's content against the screen's, and what runs past its right edge (outside any box that scrolls or
# clips it); every row of toggle buttons and whether its buttons sit on more than one line.
NARROW_VIEW = """async () => {
    const column = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
    const col = column.getBoundingClientRect();
    const wide = [...column.querySelectorAll('img, figure, .widget-image')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0)
        .filter(e => { const r = e.getBoundingClientRect(); return r.left < col.left - 1 || r.right > col.right + 1; })
        .map(e => e.tagName.toLowerCase() + ' ' + Math.round(e.getBoundingClientRect().width) + ' px: '
             + (e.getAttribute('src') || e.className || '').slice(0, 60));
    const wrapped = [...document.querySelectorAll('.widget-toggle-buttons')]
        .filter(g => g.offsetParent !== null)
        .filter(g => new Set([...g.querySelectorAll('button')].map(b => Math.round(b.getBoundingClientRect().top))).size > 1)
        .map(g => [...g.querySelectorAll('button')].map(b => b.textContent.trim()).join(' / '));
    const screen = document.documentElement.clientWidth;
    const held = e => { for (let a = e; a && a !== document.body; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.position === 'fixed' || (a !== e && ['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX))) return true;
    } return false; };
    const over = new Set([...document.body.querySelectorAll('*')]
        .filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > screen + 0.5 && !held(e)));
    const past = [...over].filter(e => !over.has(e.parentElement))  // the outermost: what a fix would change
        .map(e => e.tagName.toLowerCase() + '.' + String(e.className).split(' ')[0] + ' '
             + Math.round(e.getBoundingClientRect().right - screen) + ' px past: '
             + (e.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 80));
    const dpiOf = async src => {  // from the PNG's pHYs chunk (pixels per metre), null without one
        const b = new Uint8Array(await (await fetch(src)).arrayBuffer());
        const u32 = i => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
        for (let i = 8; i + 8 <= b.length; i += 12 + u32(i)) {
            const type = String.fromCharCode(...b.subarray(i + 4, i + 8));
            if (type === 'pHYs') return b[i + 16] === 1 ? u32(i + 8) * 0.0254 : null;
            if (type === 'IDAT') return null;
        }
        return null;
    };
    const figures = [];
    for (const img of column.querySelectorAll('img')) {
        if (img.offsetParent === null || img.naturalWidth === 0) continue;
        figures.push({src: (img.getAttribute('src') || '').slice(0, 60), natural: img.naturalWidth,
                      shown: img.getBoundingClientRect().width, dpi: await dpiOf(img.src)});
    }
    return {column: Math.round(col.width), wide: wide, wrapped: wrapped, figures: figures,
            content: document.documentElement.scrollWidth, screen: screen, past: past};
}"""


def body_text_px(figure: dict) -> float:
    """CSS pixels of a figure's body text as shown: BODY_PT at the PNG's dpi, shrunk with the image."""
    return BODY_PT * (figure["dpi"] or 100) / 72 * figure["shown"] / figure["natural"]


def phone_problems(page, path: str) -> list[str]:
    """The page at a phone's width (issue #31, readable on a phone): one full-page screenshot; the page no
    wider than the screen (no sideways scrolling); no figure wider than the column (a composite figure is
    split or stacked, a table is HTML that reflows); every figure legible in it; no row of toggle buttons
    wrapped onto a second line.

    Legible: the figure's body text (``BODY_PT``, matplotlib's default size, at the PNG's dpi) is shown at
    ``MIN_TEXT_PX`` = 7 CSS px or more. Why 7: browsers floor the text of a page at 6 px (Chromium's minimum
    logical font size) as the least a reader can make out, and a 390-px phone draws a CSS pixel with 2 to 3
    of its own, so 7 px is small print that stays sharp, and half the figure's natural 13.9 px: a 100-dpi
    figure may shrink by up to half into the 358-px column, i.e. be up to about 710 px (7 inches) wide. The
    book's figures of one panel, or of two one above the other, are 5 to 7 inches wide and show it at 7.5 px
    or more; figures of 8 to 11 inches (two panels side by side, Fig. 3's long strips) showed it at 5.2 to
    6.5 px. The browser cannot see font sizes, so this assumes a figure's text is not set below the default:
    tests/test_plots.py checks every text of the package's figures (8-pt legends included) against 7 px."""
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)  # the theme's layout settles at the new width
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / (path.replace("/", "_").removesuffix(".html") + ".png")), full_page=True)
    view = page.evaluate(NARROW_VIEW)
    problems = []
    if view["content"] > view["screen"]:
        problems.append(
            f"at {PHONE['width']} px, the page is {view['content'] - view['screen']} px wider than the screen: "
            + "; ".join(view["past"] or ["(nothing found past the edge)"])
        )
    problems += [f"at {PHONE['width']} px, wider than the column ({view['column']} px): {w}" for w in view["wide"]]
    problems += [
        f"at {PHONE['width']} px, a figure's {BODY_PT}-pt text shows at {body_text_px(f):.1f} px (< {MIN_TEXT_PX}): "
        f"{f['natural']} px wide at {f['dpi'] or 100:.0f} dpi, shown {f['shown']:.0f} px: {f['src']}"
        for f in view["figures"]
        if body_text_px(f) < MIN_TEXT_PX
    ]
    problems += [f"at {PHONE['width']} px, toggle buttons wrap onto two rows: {b}" for b in view["wrapped"]]
    return problems


def widget_state_problems(html: str) -> list[str]:
    """Every widget view on the page has its model in the page's saved widget state (a notebook that failed
    while executing saves none, and its widgets stay blank)."""
    views = re.findall(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', html, re.S)
    if not views:
        return []
    state = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    if state is None:
        return [f"{len(views)} widget views but no saved widget state"]
    models = json.loads(state.group(1)).get("state", {})
    missing = [json.loads(v)["model_id"] for v in views if json.loads(v)["model_id"] not in models]
    return [f"widget views without a saved model: {missing}"] if missing else []


@pytest.mark.parametrize("path", [f"{p}.html" for p in PAGES])
def test_page_as_a_reader_sees_it(server, browser, path):
    """One visit per page, everything a reader would notice: it loads offline (no request to another host, no
    failed local request), widgets and math render, every image has a size, the console shows no error,
    nothing of the build machine shows (a path, a traceback, a network error: issue #18), no output line is
    cut off, every widget kept its saved state, the paper's drawings are readable, the page's toggles
    switch figures with no kernel, and at a phone's width (one screenshot) the page scrolls only up and down,
    no figure is wider than the column or too small to read in it, and no row of toggle buttons wraps."""
    visit = open_page(browser, server, path)
    page = visit.page
    try:
        assert page.title(), f"{path}: page has no title"
        wait_for_widgets_and_math(page, path)
        problems = [f"requested another host (the site must work offline): {url}" for url in visit.external()]
        problems += [f"local request failed: {failed}" for failed in visit.failed]
        problems += [f"image or figure without a size: {bad}" for bad in unsized_images_and_figures(page)]
        view = page.evaluate(READER_VIEW)
        problems += [
            f"shows the build machine: {leak}" for leak in sorted({m.group(0) for m in BUILD_MACHINE.finditer(view["text"])})
        ]
        problems += [f"output line runs past the page's width: {line}" for line in view["overflowing"]]
        problems += widget_state_problems((SITE / path).read_text())
        problems += drawing_problems(page, path)
        problems += toggle_problems(page, path)
        problems += phone_problems(page, path)  # last look: at a phone's width
        problems += [f"browser console: {error}" for error in visit.errors]  # last: the clicks may log too
        assert not problems, f"{path}:\n" + "\n".join(problems)
    finally:
        page.context.close()


def test_every_toggle_and_drawing_names_a_page_of_the_book():
    """The checks above are keyed by page: a renamed page must not silently drop its checks."""
    pages = {f"{p}.html" for p in PAGES}
    assert set(DRAWINGS) | set(TOGGLES) | {DEPTH_PAGE} <= pages
