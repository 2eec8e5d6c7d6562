"""resnet_book.widgets: the figure switchers must work on the static site (jslink, PNG images)."""

import io

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from resnet_book.widgets import PNG_SIGNATURE, dropdown, to_png, toggle  # noqa: E402


def _figure(value: float):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar(["x"], [value])
    return fig


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    plt.imsave(buffer, [[0.0] * width] * height, format="png")
    return buffer.getvalue()


@pytest.mark.parametrize("make", [toggle, dropdown])
def test_options_in_order_and_one_png_per_option(make):
    box = make({"A": _figure(1), "B": _figure(2), "C": _png(3, 2)}, description="Shortcut")
    selector, stack = box.children
    assert list(selector.options) == ["A", "B", "C"]
    assert selector.index == 0 and stack.selected_index == 0
    assert selector.description == "Shortcut"
    assert isinstance(stack, widgets.Stack)
    assert [type(child) for child in stack.children] == [widgets.Image] * 3
    assert all(bytes(child.value).startswith(PNG_SIGNATURE) for child in stack.children)
    assert all(child.format == "png" for child in stack.children)


def test_toggle_is_buttons_and_dropdown_is_menu():
    assert isinstance(toggle({"A": _png(1, 1)}).children[0], widgets.ToggleButtons)
    assert isinstance(dropdown({"20": _png(1, 1)}).children[0], widgets.Dropdown)


@pytest.mark.parametrize("make", [toggle, dropdown])
def test_selector_index_is_jslinked_to_stack(make):
    """A browser-side link (no kernel on the static site), from the selector's index to the Stack."""
    box = make({"A": _png(1, 1), "B": _png(2, 2)})
    selector, stack = box.children
    link = box.link
    assert isinstance(link, widgets.widget_link.Link)
    assert link.source == (selector, "index")
    assert link.target == (stack, "selected_index")


def test_images_differ_per_option():
    box = toggle({"A": _figure(1), "B": _figure(5)})
    a, b = (bytes(child.value) for child in box.children[1].children)
    assert a != b


def test_consumed_figures_are_closed():
    """Otherwise the notebook would show every figure a second time below the widget."""
    figs = {"A": _figure(1), "B": _figure(2)}
    toggle(figs)
    open_numbers = set(plt.get_fignums())
    assert all(fig.number not in open_numbers for fig in figs.values())


def test_rejects_non_png_and_empty():
    with pytest.raises(ValueError, match="PNG"):
        to_png(b"GIF89a....")
    with pytest.raises(TypeError):
        to_png("figure.png")
    with pytest.raises(ValueError):
        toggle({})


@pytest.fixture
def ipywidgets7(monkeypatch):
    """ipywidgets 7 (Colab's 7.7.1) has no Stack: the switchers must not need one there."""
    monkeypatch.delattr(widgets, "Stack")


@pytest.mark.parametrize("make", [toggle, dropdown])
def test_without_a_stack_the_kernel_swaps_the_figure_shown(ipywidgets7, make):
    pngs = {"A": _png(1, 1), "B": _png(2, 2), "C": _png(3, 3)}
    box = make(dict(pngs))
    selector, shown = box.children
    assert isinstance(shown, widgets.Image) and box.link is None
    assert bytes(shown.value) == pngs["A"]
    for label in ("C", "B", "A"):
        selector.index = list(pngs).index(label)
        assert bytes(shown.value) == pngs[label], f"with {label} chosen"


def test_toggle_buttons_are_as_wide_as_their_labels():
    """On a 390-px screen a row of fixed-width buttons wraps onto a second row; these size to their labels."""
    buttons = toggle({"A": _png(1, 1), "B": _png(2, 2), "C": _png(3, 3)}, description="Shortcut").children[0]
    assert buttons.style.button_width == "auto" and buttons.style.description_width == "initial"


class _Table:
    def _repr_html_(self) -> str:
        return "<table><tr><td>cost</td></tr></table>"


def test_an_option_may_show_several_figures_and_an_html_table():
    """A composite figure split into parts that stay legible in a narrow column: figures as PNGs, a table as
    HTML (it reflows), in a Box that wraps."""
    box = toggle({"A": [_figure(1), _figure(2), _Table()], "B": [_png(2, 2), _Table()]})
    views = box.children[1].children
    assert [[type(part) for part in view.children] for view in views] == [
        [widgets.Image, widgets.Image, widgets.HTML],
        [widgets.Image, widgets.HTML],
    ]
    assert views[0].children[2].value == _Table()._repr_html_() and views[0].layout.flex_flow == "row wrap"
    with pytest.raises(ValueError):
        toggle({"A": []})


def test_without_a_stack_the_kernel_swaps_a_view_of_several_parts(ipywidgets7):
    box = toggle({"A": [_png(1, 1), _Table()], "B": [_png(2, 2), _Table()]})
    selector, shown = box.children
    assert isinstance(shown, widgets.VBox) and box.link is None
    first = shown.children[0]
    selector.index = 1
    assert shown.children[0] is not first and bytes(shown.children[0].children[0].value) == _png(2, 2)
