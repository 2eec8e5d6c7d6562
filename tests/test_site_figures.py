"""The paper's drawings and the new figures are on the BUILT site (``_build/html``), drawn and visible.

Fig. 1 (chapter 1), Fig. 2 (chapter 2), Fig. 3 (chapter 3) and Fig. 5 (chapter 4) are each the image output
of the cell that calls ``plots.fig1`` / ``resnet_book.diagrams``; Fig. 7 (chapter 5) shows the paper's five
nets first and switches to every recorded net without a kernel (a case of test_site's toggle test). Uses the
browser helpers of test_site.py.
"""

from __future__ import annotations

import pytest
from test_site import browser, open_page, server, wait_for_widgets_and_math  # noqa: F401

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
