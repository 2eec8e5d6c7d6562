"""The paper's drawings and the new figures are on the BUILT site (``_build/html``), drawn and visible.

Fig. 1 (chapter 1), Fig. 2 (chapter 2), Fig. 3 (chapter 3) and Fig. 5 (chapter 4) are each the image output
of the cell that calls ``plots.fig1`` / ``resnet_book.diagrams``; Fig. 7 (chapter 5) shows the paper's five
nets first and switches to every recorded net without a kernel. Uses the browser helpers of test_site.py.
"""

from __future__ import annotations

import json

import pytest
from test_site import SHOWN_IN, browser, figures_by_choice, open_page, server, wait_for_widgets_and_math  # noqa: F401

# page -> the code that draws the figure (what its cell's input contains)
DRAWINGS = {
    "Fig. 1": ("chapters/1_degradation.html", "plots.fig1("),
    "Fig. 2": ("chapters/2_residual_learning.html", "diagrams.fig2()"),
    "Fig. 3": ("chapters/3_shortcuts.html", "diagrams.fig3()"),
    "Fig. 5": ("chapters/4_bottleneck.html", "diagrams.fig5()"),
}

# The images in the output of each cell whose input contains the code: natural and shown sizes.
CELL_IMAGES = """code => [...document.querySelectorAll('div.cell')]
    .filter(c => c.querySelector('.cell_input') && c.querySelector('.cell_input').textContent.includes(code))
    .map(c => [...c.querySelectorAll('.cell_output img')].map(img => {
        const r = img.getBoundingClientRect();
        return {natural: [img.naturalWidth, img.naturalHeight], shown: [r.width, r.height],
                visible: img.offsetParent !== null};
    }))"""


@pytest.mark.parametrize("figure", list(DRAWINGS))
def test_drawing_is_the_visible_image_output_of_its_cell(server, browser, figure):  # noqa: F811
    path, code = DRAWINGS[figure]
    visit = open_page(browser, server, path)
    page = visit.page
    try:
        wait_for_widgets_and_math(page, path)
        cells = page.evaluate(CELL_IMAGES, code)
        assert len(cells) == 1, f"{path}: expected one cell calling {code}, found {len(cells)}"
        images = cells[0]
        assert len(images) == 1, f"{path}: the {figure} cell shows {len(images)} images, expected 1"
        (image,) = images
        assert image["visible"] and min(image["natural"]) >= 200 and min(image["shown"]) >= 150, (
            f"{path}: {figure} is not drawn at a readable size: {image}"
        )
        assert not visit.errors, f"{path}: errors in the browser console:\n" + "\n".join(visit.errors)
    finally:
        page.context.close()


FIG7_PAGE = "chapters/5_depth_scaling.html"
FIG7_CHOICES = ["the paper's five nets", "every recorded net"]

# The toggle buttons of Fig. 7: the figure on show next to them and the active button.
FIG7_BUTTONS = """() => {
    const shownIn = SHOWN_IN;
    const labels = JSON.stringify(CHOICES);
    const groups = [...document.querySelectorAll('.widget-toggle-buttons')].filter(g =>
        JSON.stringify([...g.querySelectorAll('button')].map(b => b.textContent.trim())) === labels);
    if (groups.length === 0) return {error: 'no toggle buttons labelled ' + labels};
    groups[0].setAttribute('data-test-fig7', '');
    const active = [...groups[0].querySelectorAll('button.mod-active')].map(b => b.textContent.trim());
    return {srcs: shownIn(groups[0].parentElement), active: active};
}""".replace("SHOWN_IN", SHOWN_IN).replace("CHOICES", json.dumps(FIG7_CHOICES))


def test_fig7_shows_the_papers_five_nets_first_and_switches_to_every_recorded_net(server, browser):  # noqa: F811
    visit = open_page(browser, server, FIG7_PAGE)
    page = visit.page
    try:
        page.wait_for_selector(".widget-toggle-button", timeout=20_000)
        first = page.evaluate(FIG7_BUTTONS)
        assert "error" not in first, f"{FIG7_PAGE}: {first['error']}"
        assert first["active"] == [FIG7_CHOICES[0]], f"{FIG7_PAGE}: Fig. 7 opens on {first['active']}"

        def click(p, label):
            p.locator(".widget-toggle-buttons[data-test-fig7]").get_by_role("button", name=label, exact=True).click()

        shown = figures_by_choice(page, FIG7_BUTTONS, FIG7_CHOICES, click)
        assert len(set(shown.values())) == 2, f"Fig. 7 did not change between {FIG7_CHOICES}"
        assert not visit.external(), visit.external()
    finally:
        page.context.close()
