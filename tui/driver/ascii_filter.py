"""--ascii: every glyph outside printable ASCII becomes an ASCII look-alike of the same width.

The look-alikes come from core.text.format's one transliteration table; text that is laid out
after the change (the panels, dialogs, footer keys) is spelled out with to_ascii instead.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from core.text.format import to_ascii_cells

__all__ = ["AsciiFilter", "to_ascii_cells"]


class AsciiFilter(LineFilter):
    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            seg
            if seg.control or seg.text.isascii()
            else Segment(to_ascii_cells(seg.text), seg.style, seg.control)
            for seg in segments
        ]
