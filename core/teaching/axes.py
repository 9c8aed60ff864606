"""Axis ticks we choose ourselves: nice 1-2-5 values, each drawn on the row (or column) it names.

A plot has `cells` rows (or columns); cell i holds the values within half a step of its centre,
first + i·step. `Axis.limits` are the limits to hand the plotting library so that it draws a value
on that same cell: plotext maps v to sub-cell floor(0.5 + (f·n − 1)·(v − lo)/(hi − lo)) with f
sub-cells per cell (braille: 4 rows, 2 columns; one-character markers: 1), and ticks with f = 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from core.text.format import MINUS

NICE = (1.0, 2.0, 5.0)
MAX_LABELS = 8  # more labels than this on one axis are noise, however tall the plot


@dataclass(frozen=True)
class Axis:
    first: float  # the value (log₁₀ of it on a log axis) at the centre of cell 0
    step: float  # how much one cell adds
    cells: int
    ticks: tuple[float, ...]  # the labelled values, in the same units as `first`
    labels: tuple[str, ...]
    log: bool = False

    def limits(self, factor: int = 1) -> tuple[float, float]:
        """xlim/ylim for plotext when it draws with `factor` sub-cells per cell."""
        lo = self.first - (factor - 1) / (2 * factor) * self.step
        return lo, lo + (factor * self.cells - 1) * self.step / factor

    def to_plot(self, value: float) -> float:
        """A data value in the axis's units (log₁₀ on a log axis)."""
        return math.log10(value) if self.log else value

    def cell(self, value: float) -> int:
        """The cell a value (in the axis's units) is drawn in; may lie outside 0..cells-1."""
        return math.floor((value - self.first) / self.step + 0.5)

    def centre(self, cell: int) -> float:
        return self.first + cell * self.step

    def tick_cells(self) -> list[int]:
        return [self.cell(t) for t in self.ticks]


def nice_steps(smallest: float) -> Iterator[float]:
    """1-2-5 steps (…, 0.1, 0.2, 0.5, 1, 2, …) from the largest one below `smallest` upwards."""
    exponent = math.floor(math.log10(smallest)) - 1
    while True:
        for m in NICE:
            yield m * 10.0**exponent
        exponent += 1


def _decimals(step: float) -> int:
    """Decimal places that write every multiple of a 1-2-5 step exactly."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def number_label(value: float, step: float) -> str:
    """A multiple of a 1-2-5 step written exactly and briefly (0.1 not 0.100…, 2e−6)."""
    if abs(value) < step / 2:
        value = 0.0  # not −0.0, nor 1e−17 from adding steps up
    decimals = _decimals(step)
    fixed = f"{value:.{decimals}f}"
    if value == 0.0 or (decimals <= 4 and abs(value) < 1e5):
        return fixed.replace("-", MINUS)
    exponent = math.floor(math.log10(abs(value)) + 1e-9)
    digits = max(0, exponent - math.floor(math.log10(step) + 1e-9))
    mantissa, power = f"{value:.{digits}e}".split("e")
    text = f"{mantissa}e{int(power)}"
    text = fixed if len(fixed) <= len(text) else text
    return text.replace("-", MINUS)


def power_label(exponent: int) -> str:
    """10^exponent: plain from 0.01 to 1000, else 1e−5 style."""
    if -2 <= exponent <= 3:
        return f"{10.0**exponent:.{max(0, -exponent)}f}"
    return f"1e{exponent}".replace("-", MINUS)


def _place(low: float, high: float, cells: int, step: float, floor: float | None) -> int | None:
    """The centre index of cell 0 when `cells` cells of `step` hold low..high, or None."""
    bottom = math.floor(low / step + 0.5)
    used = math.floor(high / step + 0.5) - bottom + 1
    if used > cells:
        return None
    bottom -= (cells - used) // 2  # centre the data in the spare cells
    if floor is not None:
        bottom = max(bottom, math.ceil(floor / step - 1e-9))
    return bottom


def linear_axis(
    low: float,
    high: float,
    cells: int,
    max_labels: int = MAX_LABELS,
    floor: float | None = None,
) -> Axis:
    """Cells of a 1-2-5 step holding low..high, labelled with 1-2-5 multiples of it.

    `floor`: no cell centre below it (a loss axis need not show negative values).
    """
    cells = max(1, cells)
    low, high = min(low, high), max(low, high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("an axis needs finite limits")
    if high - low <= 1e-12 * max(abs(low), abs(high)):
        half = abs(low) / 2 or 0.5  # one value: show it with room either side
        low, high = low - half, high + half
        if floor is not None and low < floor <= high - half:
            low = floor
    if floor is not None and low < floor:
        floor = None  # the data go below it: show them
    bottom = None
    for step in nice_steps((high - low) / cells):
        bottom = _place(low, high, cells, step, floor)
        if bottom is not None:
            break
    assert bottom is not None  # the steps grow until one holds the range

    # Label every k-th cell, k·step still a 1-2-5 value: at least two labels, at most max_labels
    # if a k allows it (else every cell: more labels beat labels that are not 1-2-5 apart).
    def labelled(k: int) -> list[int]:
        return [i for i in range(bottom, bottom + cells) if i % k == 0]

    fitting = [
        k
        for k in (1, 2, 4, 5, 10, 20, 25, 50)
        if _is_nice(k * step) and 2 <= len(labelled(k)) <= max(2, max_labels)
    ]
    every = fitting[0] if fitting else 1
    indices = labelled(every)
    ticks = tuple(i * step for i in indices)
    label_step = every * step
    labels = tuple(number_label(t, label_step) for t in ticks)
    return Axis(bottom * step, step, cells, ticks, labels)


def _is_nice(value: float) -> bool:
    mantissa = value / 10.0 ** math.floor(math.log10(value) + 1e-9)
    return any(abs(mantissa - m) < 1e-6 for m in NICE) or abs(mantissa - 10) < 1e-6


def log_axis(low: float, high: float, cells: int, max_labels: int = MAX_LABELS) -> Axis:
    """Cells of a fixed part of a decade (or whole decades) for positive low..high, on log₁₀.

    Labels sit at powers of ten, on the cells that hold them.
    """
    if not (low > 0 and high > 0 and math.isfinite(low) and math.isfinite(high)):
        raise ValueError("a log axis needs positive finite limits")
    cells = max(1, cells)
    lo, hi = math.log10(min(low, high)), math.log10(max(low, high))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    # A cell is 1/q of a decade or d whole decades: either way the powers of ten are centres.
    steps = [1 / q for q in (10, 5, 4, 3, 2)] + [float(d) for d in (1, 2, 3, 5, 10, 20, 50)]
    bottom, every = 0, 1
    for step in steps + [100.0 * 2**i for i in range(20)]:
        placed = _place(lo, hi, cells, step, None)
        if placed is None:
            continue
        bottom = placed
        per_decade = round(1 / step) if step < 1 else 1  # labelled cells are whole decades
        every = next(
            (
                per_decade * j
                for j in (1, 2, 5, 10, 20, 50, 100)
                if -(-cells // (per_decade * j)) <= max(2, max_labels)
            ),
            per_decade * 100,
        )
        indices = [i for i in range(bottom, bottom + cells) if i % every == 0]
        if len(indices) >= min(2, cells):
            break
    ticks = tuple(i * step for i in indices)
    labels = tuple(power_label(round(t)) for t in ticks)
    return Axis(bottom * step, step, cells, ticks, labels, log=True)


def spread_axis(low: float, high: float, cells: int, room: int = 2, whole: bool = False) -> Axis:
    """low at the centre of the first cell, high at the last; labels at 1-2-5 multiples.

    For an x axis: each label needs its width plus `room` columns; `whole` keeps labels to
    whole numbers (step counts). A tick's value is the centre of the column its label names.
    """
    cells = max(2, cells)
    if high <= low:
        high = low + 1.0
    step = (high - low) / (cells - 1)
    for spacing in nice_steps(max(step, 1e-300)):
        if whole and spacing < 1:
            continue
        values = _multiples(low, high, spacing)
        labels = [number_label(v, spacing) for v in values]
        width = max((len(t) for t in labels), default=1)
        if spacing / step >= width + room and len(values) <= MAX_LABELS:
            break
    axis = Axis(low, step, cells, (), ())
    ticks = tuple(axis.centre(axis.cell(v)) for v in values)
    return Axis(low, step, cells, ticks, tuple(labels))


def _multiples(low: float, high: float, spacing: float) -> list[float]:
    first, last = math.ceil(low / spacing - 1e-9), math.floor(high / spacing + 1e-9)
    return [i * spacing for i in range(first, last + 1)]
