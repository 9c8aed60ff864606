"""Draw core.teaching.boundary's maps as character cells: half blocks in colour, or shades.

In colour a cell is '▀' with the upper value as its foreground and the lower as its background;
under --ascii or NO_COLOR a cell is one character of the ramp SHADES (one value a cell). Samples
are drawn on top as class glyphs (o / x, or digits), told apart without colour.
"""

from __future__ import annotations

import functools
import itertools

from rich.color import Color
from rich.style import Style
from rich.text import Text

from core.teaching.boundary import LEVELS, Boundary, Map, level

SHADES = " .:-=+*#%@"  # one character per level, from shade 0 to shade 1
HALF = "▀"
TWO_CLASSES = ((31, 119, 180), (255, 127, 14))  # blue for 0 (o), orange for 1 (x)
MANY_CLASSES = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
    (23, 190, 207),
)
NEUTRAL = (40, 40, 40)  # shade 0.5 of two classes, and no confidence in one of several
GLYPHS = "ox"
SAMPLE = Style(bold=True, color="white")
assert len(SHADES) == LEVELS


def glyph(outputs: int, label: int) -> str:
    """o and x for one output's two classes; 1, 2, … (then a, b, …) for a class per output."""
    if outputs == 1:
        return GLYPHS[label]
    return "123456789abcdefghijklmnopqrstuvwxyz"[label % 35]


def _blend(colour: tuple[int, int, int], strength: float) -> Color:
    r, g, b = (round(n + (c - n) * strength) for n, c in zip(NEUTRAL, colour))
    return Color.from_rgb(r, g, b)


def colour(outputs: int, label: int, shade: float) -> Color:
    """A cell's colour: for one output the shade from blue (0) through grey to orange (1), in
    LEVELS steps; for several, the class's colour as strong as its shade."""
    return _colour(outputs, label, level(shade))


@functools.cache
def _half(up: Color, down: Color) -> Style:
    return Style(color=up, bgcolor=down)


@functools.cache
def _colour(outputs: int, label: int, step: int) -> Color:
    if outputs == 1:
        half = LEVELS / 2
        strength = (abs(step - (half - 0.5)) + 0.5) / half
        return _blend(TWO_CLASSES[int(step >= half)], strength)
    return _blend(MANY_CLASSES[label % len(MANY_CLASSES)], (step + 1) / LEVELS)


Cell = tuple[str, Style | None]


def map_cells(
    shades: Map,
    halves: int,
    plain: bool,
    labels: tuple[tuple[int, ...], ...] | None = None,
    outputs: int = 1,
) -> list[list[Cell]]:
    """(character, style) per cell, by character row. With several outputs `labels` (the class
    at each value) chooses the colour; one output (or a hidden neuron) is drawn by shade."""
    rows: list[list[Cell]] = []
    for r in range(0, len(shades), halves):
        if plain:
            # Several classes have no order a ramp could show: spread them over it instead.
            if labels is not None and outputs > 1:
                row = [SHADES[level(k / (outputs - 1))] for k in labels[r]]
            else:
                row = [SHADES[level(shade)] for shade in shades[r]]
            rows.append([(ch, None) for ch in row])
            continue
        top, bottom = r, r + halves - 1

        def paint(i: int, c: int) -> Color:
            return colour(outputs, labels[i][c] if labels else 0, shades[i][c])

        rows.append([(HALF, _half(paint(top, c), paint(bottom, c))) for c in range(len(shades[r]))])
    return rows


def to_lines(cells: list[list[Cell]]) -> list[Text]:
    """One Text a row, a span per run of equal styles (fewer spans: less work to draw)."""
    lines = []
    for row in cells:
        line = Text(no_wrap=True, end="")
        for style, run in itertools.groupby(row, key=lambda cell: cell[1]):
            line.append("".join(ch for ch, _style in run), style)
        lines.append(line)
    return lines


def with_samples(cells: list[list[Cell]], b: Boundary) -> list[list[Cell]]:
    """The samples on top of a map of b's plane, on the background of the cell they cover."""
    for p in b.points:
        if 0 <= p.row < len(cells) and 0 <= p.column < len(cells[p.row]):
            under = cells[p.row][p.column][1]
            style = SAMPLE if under is None else SAMPLE + Style(bgcolor=under.bgcolor)
            cells[p.row][p.column] = (glyph(b.outputs, p.label), style)
    return cells


def boundary_lines(b: Boundary, plain: bool) -> list[Text]:
    """The output map with the samples on top."""
    return to_lines(with_samples(map_cells(b.shades, b.halves, plain, b.labels, b.outputs), b))


def with_axes(b: Boundary, cells: list[Text]) -> Text:
    """y labels and axis line to the left, the x axis line and its labels below, as plotext
    draws the loss curve's (each label on the row or centred on the column it names)."""
    y = b.y
    width = max((len(t) for t in y.labels), default=0)
    by_row = {y.cells - 1 - y.cell(t): label for t, label in zip(y.ticks, y.labels)}
    out = Text(no_wrap=True, end="")
    for r, line in enumerate(cells):
        label = by_row.get(r)
        out.append((label or "").rjust(width) + ("┤" if label else "│"))
        out.append(line)
        out.append("\n")
    ticks = set(b.x.tick_cells())
    out.append(" " * width + "└" + "".join("┬" if c in ticks else "─" for c in range(b.x.cells)))
    out.append("\n")
    row = [" "] * (width + 1 + b.x.cells)
    for cell, label in zip(b.x.tick_cells(), b.x.labels):
        start = width + 1 + cell - len(label) // 2
        for i, ch in enumerate(label):
            if 0 <= start + i < len(row):
                row[start + i] = ch
    out.append("".join(row).rstrip())
    return out
