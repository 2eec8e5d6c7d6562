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
from collections.abc import Mapping, Sequence
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


Part = Union[Figure, bytes, object]  # a figure, or a table (anything with ``_repr_html_``, e.g. ``tables.Table``)
Entry = Union[Part, Sequence[Part]]  # what one option shows: one figure, or several parts one under the other


def _view(entry: Entry, dpi: int) -> widgets.Widget:
    """One option's view: a PNG ``Image`` per figure, an ``HTML`` per table (it reflows on a narrow screen, where
    a table drawn inside an image would shrink with it). Several parts share a ``Box`` that wraps: figures side
    by side where the column is wide enough, one under the other on a phone, each table on a line of its own."""
    if isinstance(entry, (list, tuple)):
        if not entry:
            raise ValueError("an option needs at least one figure or table")
        return widgets.Box(
            [_view(part, dpi) for part in entry], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start")
        )
    if hasattr(entry, "_repr_html_") and not isinstance(entry, Figure):
        return widgets.HTML(value=entry._repr_html_(), layout=widgets.Layout(width="100%"))
    return widgets.Image(value=to_png(entry, dpi), format="png", layout=widgets.Layout(max_width="100%", height="auto"))


def _views(figures: Mapping[str, Entry], dpi: int) -> list[widgets.Widget]:
    """One view per option, in the mapping's order."""
    if not figures:
        raise ValueError("need at least one figure")
    return [_view(entry, dpi) for entry in figures.values()]


def _switcher(selector: widgets.Widget, views: list[widgets.Widget]) -> widgets.VBox:
    """The selector above the view it selects: switched in the browser where ipywidgets has a ``Stack``
    (8.x: the static site), else by the kernel (ipywidgets 7.x, as in Colab)."""
    if hasattr(widgets, "Stack"):
        shown = widgets.Stack(children=views, selected_index=0)
        link = widgets.jslink((selector, "index"), (shown, "selected_index"))
    elif all(isinstance(view, widgets.Image) for view in views):
        shown = widgets.Image(value=views[0].value, format="png")

        def show(change: dict) -> None:
            shown.value = views[change["new"]].value

        selector.observe(show, names="index")
        link = None  # a kernel-side observer: Colab keeps a kernel behind the page
    else:  # views of several parts: the kernel swaps the box's child
        shown = widgets.VBox([views[0]])

        def show(change: dict) -> None:
            shown.children = (views[change["new"]],)

        selector.observe(show, names="index")
        link = None
    box = widgets.VBox([selector, shown])
    box.link = link  # the browser-side link (ipywidgets 8), reachable and testable
    return box


# Buttons as wide as their labels and the description as wide as its text, so that a row of them fits a
# phone's column (390 px) instead of wrapping onto a second row.
BUTTON_STYLE = {"button_width": "auto", "description_width": "initial"}


def toggle(figures: Mapping[str, Entry], description: str = "", dpi: int = 100) -> widgets.VBox:
    """Toggle buttons, one per key of ``figures``, over the precomputed figures; works without a kernel.

    Args:
        figures: button label -> matplotlib ``Figure`` (rendered to PNG and closed) or PNG bytes, or a list
            of them and of tables (objects with ``_repr_html_``, shown as HTML) to show one under the other,
            in display order, e.g. ``{"A": fig_a, "B": fig_b, "C": fig_c}`` for the shortcut options.
        description: label shown left of the buttons.
        dpi: resolution of the rendered figures.

    Returns:
        ``VBox([ToggleButtons, Stack])``; the buttons' ``index`` is ``jslink``-ed (``box.link``) to the
        Stack's ``selected_index``. With ipywidgets 7 (Colab): ``VBox([ToggleButtons, Image])``, the
        image swapped by the kernel (or a ``VBox`` whose child it swaps, for views of several parts),
        ``box.link`` None.
    """
    views = _views(figures, dpi)
    buttons = widgets.ToggleButtons(options=list(figures), index=0, description=description, style=BUTTON_STYLE)
    return _switcher(buttons, views)


def dropdown(figures: Mapping[str, FigureLike], description: str = "", dpi: int = 100) -> widgets.VBox:
    """A dropdown over the precomputed figures (e.g. one per depth of Table 6); works without a kernel.

    Same arguments and result as :func:`toggle`, with a ``Dropdown`` in place of the buttons: better
    when there are many options (ResNet-20, 32, 44, 56, 110, ...).
    """
    views = _views(figures, dpi)
    return _switcher(widgets.Dropdown(options=list(figures), index=0, description=description), views)
