"""A table that renders as HTML in a notebook and as aligned text elsewhere: the paper's numbers beside ours.

At the bottom of the package (it imports nothing of it), so any layer can return one: ``flops`` for its
FLOPs tables, the chapters through ``plots.Table``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


class Table:
    """A small table that renders as HTML in a notebook (and as text elsewhere): the paper beside ours."""

    def __init__(self, head: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "") -> None:
        self.head, self.rows, self.caption = list(head), [[str(c) for c in r] for r in rows], caption

    def __str__(self) -> str:
        widths = [max(len(x) for x in col) for col in zip(self.head, *self.rows)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(self.head, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in self.rows]
        return (self.caption + "\n" if self.caption else "") + "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        pad = "padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: left"
        cap = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        th = "".join(f'<th style="{pad}">{escape(h)}</th>' for h in self.head)
        trs = "".join("<tr>" + "".join(f'<td style="{pad}">{escape(c)}</td>' for c in r) + "</tr>" for r in self.rows)
        return f'<table style="border-collapse: collapse">{cap}<thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>'
