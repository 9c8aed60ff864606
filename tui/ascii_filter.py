"""--ascii: every glyph outside printable ASCII becomes an ASCII look-alike of the same width."""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

_LOOKALIKE = {
    "∂": "d",
    "ŷ": "y",
    "·": "*",
    "−": "-",
    "←": "<",
    "→": ">",
    "σ": "s",
    "Σ": "E",
    "²": "2",
    "½": "h",
    "≤": "<",
    "≥": ">",
    "×": "x",
    "…": ".",
    "′": "'",
    "✔": "v",
    "✗": "x",
    "⏎": "R",
    "•": "*",
    "●": "o",
    "○": "o",
    "▶": ">",
    "▸": ">",
    "–": "-",
    "—": "-",
    "↑": "^",
    "↓": "v",
    "↔": "=",
    "\u00a0": " ",
}


def _ascii_char(ch: str) -> str:
    if " " <= ch <= "~":
        return ch
    if ch in _LOOKALIKE:
        return _LOOKALIKE[ch]
    code = ord(ch)
    if 0x2500 <= code <= 0x257F:  # box drawing
        name = unicodedata.name(ch, "")
        if "HORIZONTAL" in name and "VERTICAL" not in name:
            return "-"
        if "VERTICAL" in name and "HORIZONTAL" not in name:
            return "|"
        return "+"
    if 0x2580 <= code <= 0x259F:  # block elements (scroll bars, bars)
        return "#" if code in (0x2588, 0x2589, 0x258A, 0x258B, 0x258C, 0x2590) else " "
    if 0x2800 <= code <= 0x28FF:  # braille dots (plots)
        return "." if code != 0x2800 else " "
    decomposed = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    if decomposed and cell_len(ch) == 1:
        return decomposed[0]
    return "?" * max(1, cell_len(ch))


_CACHE: dict[str, str] = {}


def to_ascii_cells(text: str) -> str:
    if text.isascii():
        return text
    out = []
    for ch in text:
        mapped = _CACHE.get(ch)
        if mapped is None:
            mapped = _CACHE[ch] = _ascii_char(ch)
        out.append(mapped)
    return "".join(out)


class AsciiFilter(LineFilter):
    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            seg
            if seg.control or seg.text.isascii()
            else Segment(to_ascii_cells(seg.text), seg.style, seg.control)
            for seg in segments
        ]
