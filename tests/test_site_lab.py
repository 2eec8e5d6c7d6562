"""The degradation lab on the BUILT site (``_build/html``): chapter 1's plain and residual nets, trained in the page.

The lab (``_static/lab/lab.js`` on TensorFlow.js, ``_static/vendor/tfjs``) is driven in headless Chromium as a
reader would: set the two depths and the shortcut switch, press Start, wait.  With the lab's defaults and a
fixed seed, the deep plain net must end with a higher training error than the shallow one and its residual
twin (the same layers, shortcuts on) no higher than the shallow one: the degradation problem and its fix
(Sec. 1, Fig. 1; Sec. 4.2, Fig. 6), reproduced at a small scale.  The page must stay responsive while it
trains, stop when asked, request nothing from another host and log no error.  Uses the browser helpers of
test_site.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_site import SITE, browser, open_page, require_built_site, server  # noqa: F401
from toc import toc_files

pytestmark = [pytest.mark.book, pytest.mark.browser, pytest.mark.slow]

LAB_PAGE = "chapters/1_degradation.html"
LINKING_PAGE = "chapters/2_residual_learning.html"
LAB_SCRIPTS = ("_static/vendor/tfjs/tf-core-cpu.min.js", "_static/lab/lab.js")
LAB_MARK = 'class="resnet-lab"'

# The lab's defaults (DEFAULTS in lab.js): an 8-layer net against a 32-layer one, 30 epochs, seed 1.
SHALLOW, DEEP, EPOCHS, SEED = 8, 32, 30, 1
# A run is 240 mini-batch steps of each net. On two CPU cores under a load of eight busy processes the
# 32-layer net took about 0.25 s a step, 60 s a run; an idle laptop core is several times faster.
# Six times the slow case bounds a run, and a run that does not end (a frozen lab) fails the test.
RUN_TIMEOUT_MS = 360_000


def lab_state(page) -> dict:
    return page.evaluate(
        """() => {
            const lab = document.querySelector('.resnet-lab');
            return {state: lab.getAttribute('data-state'), result: JSON.parse(lab.getAttribute('data-result') || '[]')};
        }"""
    )


def set_net(page, name: str, depth: int, shortcuts: bool) -> None:
    """Move net ``name``'s depth slider (as a drag does: an input event) and set its shortcut switch."""
    page.evaluate(
        """([name, depth]) => {
            const slider = document.querySelector('[data-lab="depth-' + name + '"]');
            slider.value = String(depth);
            slider.dispatchEvent(new Event('input', {bubbles: true}));
        }""",
        [name, depth],
    )
    page.locator(f'[data-lab="shortcuts-{name}"]').set_checked(shortcuts)
    shown = page.locator(f'[data-lab="depth-{name}"] + output').inner_text()
    assert shown == f"{depth} layers", f"net {name}'s slider shows {shown!r} after moving it to {depth}"


def train(page) -> list[dict]:
    """Press Start, wait until both nets are trained; the per-epoch training errors of each net."""
    page.locator('[data-lab="start"]').click()
    page.wait_for_function(
        "() => ['done', 'failed', 'stopped'].includes(document.querySelector('.resnet-lab').getAttribute('data-state'))",
        timeout=RUN_TIMEOUT_MS,
        polling=500,
    )
    state = lab_state(page)
    assert state["state"] == "done", f"the lab ended {state['state']!r}, not done"
    return state["result"]


HEARTBEAT = """() => {
    window.labBeats = {last: performance.now(), longest: 0, start: performance.now()};
    window.labBeat = setInterval(() => {
        const now = performance.now();
        labBeats.longest = Math.max(labBeats.longest, now - labBeats.last);
        labBeats.last = now;
    }, 20);
}"""


def open_lab(browser, server):  # noqa: F811
    visit = open_page(browser, server, LAB_PAGE)
    visit.page.wait_for_selector('.resnet-lab[data-state="ready"]', timeout=20_000)
    return visit


def test_the_lab_loads_only_where_it_is_and_chapter_2_links_to_it():
    """Its scripts are on the lab's page, once each, and on no other page (the site's pages stay light)."""
    require_built_site()
    root, chapters = toc_files()
    pages = {f"{p}.html": (SITE / f"{p}.html").read_text() for p in [root, *chapters]}
    assert LAB_MARK in pages[LAB_PAGE], f"{LAB_PAGE} holds no lab"
    for path, html in pages.items():
        for script in LAB_SCRIPTS:
            expected = 1 if LAB_MARK in html else 0
            assert html.count(script) == expected, f"{path} loads {script} {html.count(script)} times, expected {expected}"
    assert "1_degradation.html#degradation-lab" in pages[LINKING_PAGE], f"{LINKING_PAGE} does not link to the lab"
    assert (SITE / "_static" / "vendor" / "tfjs" / "LICENSE").is_file()


def test_the_deep_plain_net_falls_behind_and_its_residual_twin_keeps_up(server, browser):  # noqa: F811
    """Sec. 1 / Fig. 1 and Fig. 6, small: deeper plain trains worse; the same layers with shortcuts do not."""
    visit = open_lab(browser, server)
    page = visit.page
    try:
        page.locator('[data-lab="seed"]').fill(str(SEED))
        set_net(page, "A", SHALLOW, False)
        set_net(page, "B", DEEP, False)
        page.evaluate(HEARTBEAT)
        shallow, plain = train(page)
        set_net(page, "B", DEEP, True)
        shallow_again, residual = train(page)
        beats = page.evaluate("() => { clearInterval(labBeat); return labBeats; }")

        for net, depth, shortcuts in ((shallow, SHALLOW, False), (plain, DEEP, False), (residual, DEEP, True)):
            assert (net["depth"], net["shortcuts"]) == (depth, shortcuts), net
            assert len(net["errors"]) == EPOCHS and all(0 <= e <= 100 for e in net["errors"]), net
        # Seeded data, weights and batch order: the same net with the same seed trains to the same curve.
        assert shallow_again["errors"] == shallow["errors"], "the 8-layer net trained differently with the same seed"
        final = {
            "shallow plain": shallow["errors"][-1],
            "deep plain": plain["errors"][-1],
            "deep residual": residual["errors"][-1],
        }
        # Each is the error on all 512 training points, a multiple of 100/512 %. No tolerance: the runs are
        # deterministic (seeded; one JavaScript thread; IEEE float32 arithmetic, the same on every CPU).
        assert final["deep plain"] > final["shallow plain"], f"no degradation: {final}"
        assert final["deep residual"] <= final["shallow plain"], f"the residual twin does not keep up: {final}"

        # Never frozen: the lab yields after every few milliseconds of training, so a 20 ms timer keeps
        # firing. A page frozen by a run would show one gap as long as that run (240 rounds of a step of
        # each net); a tenth of the two runs' time is 48 rounds, ahead of one round (a yield) on any machine.
        elapsed = beats["last"] - beats["start"]
        assert beats["longest"] < elapsed / 10, f"the page froze for {beats['longest']:.0f} ms of {elapsed:.0f} ms"

        assert not visit.external(), f"the lab requested other hosts: {visit.external()}"
        assert not visit.failed, f"local requests failed: {visit.failed}"
        assert not visit.errors, "errors in the browser console:\n" + "\n".join(visit.errors)
    finally:
        page.context.close()


def test_the_lab_stops_when_asked_and_resets(server, browser):  # noqa: F811
    visit = open_lab(browser, server)
    page = visit.page
    try:
        set_net(page, "B", DEEP, False)
        start = page.locator('[data-lab="start"]')
        start.click()
        page.wait_for_function(
            "() => JSON.parse(document.querySelector('.resnet-lab').getAttribute('data-result') || '[]')"
            ".some(r => r.errors.length >= 1)",
            timeout=RUN_TIMEOUT_MS,
        )
        assert start.inner_text() == "Stop"
        start.click()
        # A stop takes effect at the next yield, at most one round of steps later (well under a second).
        page.wait_for_selector('.resnet-lab[data-state="stopped"]', timeout=30_000)
        stopped = lab_state(page)["result"]
        assert all(len(r["errors"]) < EPOCHS for r in stopped), f"stopped, yet trained to the end: {stopped}"
        assert start.inner_text() == "Start"
        page.locator('[data-lab="reset"]').click()
        page.wait_for_selector('.resnet-lab[data-state="ready"]', timeout=10_000)
        assert lab_state(page)["result"] == []
        assert page.locator(".resnet-lab-legend li").count() == 0, "Reset left curves on the chart"
        assert not visit.external(), visit.external()
        assert not visit.errors, "errors in the browser console:\n" + "\n".join(visit.errors)
    finally:
        page.context.close()


def test_lab_defaults_are_the_tested_ones():
    """The numbers this test relies on are the lab's own defaults (a changed default must change the test)."""
    source = (Path(__file__).resolve().parents[1] / "_static" / "lab" / "lab.js").read_text()
    for key, value in {"depthA": SHALLOW, "depthB": DEEP, "epochs": EPOCHS, "seed": SEED}.items():
        assert f"{key}: {value}," in source, f"lab.js's default {key} is not {value}"
