"""Figure switchers that keep working on the static site, where no kernel runs, and in Colab.

A chapter often has one figure per option of the paper (shortcut A/B/C of Sec. 3.3 and Table 3,
the depths 20...110 of Table 6 and Fig. 6).  Instead of a Python callback (``interact``), which does
nothing once the book is a static web page, every figure is rendered to PNG up front and put in an
ipywidgets 8 ``Stack``; the selector's ``index`` is ``jslink``-ed to the Stack's ``selected_index``,
so the browser switches figures by itself.  The executed notebook stores the widget state, myst-nb
embeds it in the page, and the ipywidgets html-manager (served from ``_static/vendor``) renders it.

Colab ships ipywidgets 7.7.1, which has no ``Stack``; there a kernel runs behind the page, so the same
call shows one ``Image`` whose PNG the kernel swaps when the selection changes. The chapters call
``toggle`` and ``dropdown`` the same way in both places.

    >>> figs = {name: plot_for(name) for name in ("A", "B", "C")}   # doctest: +SKIP
    >>> toggle(figs, description="Shortcut")                          # doctest: +SKIP
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Union

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

FigureLike = Union[Figure, bytes]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def to_png(figure: FigureLike, dpi: int = 100) -> bytes:
    """PNG bytes of a matplotlib figure (which is then closed), or the PNG bytes given, checked."""
    if isinstance(figure, Figure):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(figure)  # consumed: the inline backend must not show it a second time
        return buffer.getvalue()
    if isinstance(figure, (bytes, bytearray)):
        if not bytes(figure[:8]) == PNG_SIGNATURE:
            raise ValueError("figure bytes are not a PNG image (no PNG signature)")
        return bytes(figure)
    raise TypeError(f"expected a matplotlib Figure or PNG bytes, got {type(figure).__name__}")


def _images(figures: Mapping[str, FigureLike], dpi: int) -> list[widgets.Image]:
    """One PNG ``Image`` widget per figure, in the mapping's order."""
    if not figures:
        raise ValueError("need at least one figure")
    return [widgets.Image(value=to_png(fig, dpi), format="png") for fig in figures.values()]


def _switcher(selector: widgets.Widget, images: list[widgets.Image]) -> widgets.VBox:
    """The selector above the figure it selects: switched in the browser where ipywidgets has a ``Stack``
    (8.x: the static site), else by the kernel (ipywidgets 7.x, as in Colab)."""
    if hasattr(widgets, "Stack"):
        shown = widgets.Stack(children=images, selected_index=0)
        link = widgets.jslink((selector, "index"), (shown, "selected_index"))
    else:
        shown = widgets.Image(value=images[0].value, format="png")

        def show(change: dict) -> None:
            shown.value = images[change["new"]].value

        selector.observe(show, names="index")
        link = None  # a kernel-side observer: Colab keeps a kernel behind the page
    box = widgets.VBox([selector, shown])
    box.link = link  # the browser-side link (ipywidgets 8), reachable and testable
    return box


def toggle(figures: Mapping[str, FigureLike], description: str = "", dpi: int = 100) -> widgets.VBox:
    """Toggle buttons, one per key of ``figures``, over the precomputed figures; works without a kernel.

    Args:
        figures: button label -> matplotlib ``Figure`` (rendered to PNG and closed) or PNG bytes,
            in display order, e.g. ``{"A": fig_a, "B": fig_b, "C": fig_c}`` for the shortcut options.
        description: label shown left of the buttons.
        dpi: resolution of the rendered figures.

    Returns:
        ``VBox([ToggleButtons, Stack])``; the buttons' ``index`` is ``jslink``-ed (``box.link``) to the
        Stack's ``selected_index``. With ipywidgets 7 (Colab): ``VBox([ToggleButtons, Image])``, the
        image swapped by the kernel, ``box.link`` None.
    """
    images = _images(figures, dpi)
    return _switcher(widgets.ToggleButtons(options=list(figures), index=0, description=description), images)


def dropdown(figures: Mapping[str, FigureLike], description: str = "", dpi: int = 100) -> widgets.VBox:
    """A dropdown over the precomputed figures (e.g. one per depth of Table 6); works without a kernel.

    Same arguments and result as :func:`toggle`, with a ``Dropdown`` in place of the buttons: better
    when there are many options (ResNet-20, 32, 44, 56, 110, ...).
    """
    images = _images(figures, dpi)
    return _switcher(widgets.Dropdown(options=list(figures), index=0, description=description), images)
