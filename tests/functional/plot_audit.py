"""Read a plot off the screen and say what is wrong with its axes (used by the screen audits).

`axis_problems` takes the text lines inside the loss panel's border, as a student sees them, and
checks that the y labels are nice, evenly spaced values on a linear (or log₁₀) map of their rows,
that the x labels of a step curve are whole numbers, that the plot has the rows it should, and that
the highlighted point sits on the row its value (from the title) belongs to.
"""

from __future__ import annotations

import itertools
import math
import re

from textual.app import App
from textual.widget import Widget

POINT_MARKERS = "●O"  # the one-cell marker of the point the title's number belongs to
AXIS_CHARS = "┤│|+"
CORNER_CHARS = "└+"
MIN_PLOT_ROWS = 6
NUMBER = re.compile(r"^[−-]?(\d+(\.\d*)?|\.\d+)(e[−-]?\d+)?$")


def screen_lines(app: App[object]) -> list[str]:
    """The screen as text, one string per row (after the app's filters, e.g. --ascii)."""
    strips = app.screen._compositor.render_strips()
    return ["".join(seg.text for seg in strip if not seg.control) for strip in strips]


def inside(app: App[object], widget: Widget) -> list[str]:
    """The text between a widget's borders, as rendered on screen."""
    lines = screen_lines(app)
    region = widget.region
    top, left = region.y + 1, region.x + 1
    return [line[left : region.right - 1] for line in lines[top : region.bottom - 1]]


def parse_number(text: str) -> float | None:
    text = text.strip()
    if not NUMBER.match(text):
        return None
    return float(text.replace("−", "-"))


def _title_value(title: str) -> tuple[float, float] | None:
    """The number the title ends with (the marked point's value) and half its last digit."""
    words = title.replace("=", " ").split()
    value = parse_number(words[-1]) if words else None
    if value is None:
        return None
    mantissa, _, exponent = words[-1].replace("−", "-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return value, 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _is_125(step: float) -> bool:
    mantissa = step / 10.0 ** math.floor(math.log10(step) + 1e-9)
    return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5, 10))


def axis_problems(lines: list[str], title: str | None = None) -> list[str]:
    """What is wrong with the plot drawn in `lines` (the inside of the loss panel); [] if nothing.

    Pass the panel's border title when you can: it tells a step curve from the landscape, linear
    from log, and gives the value of the marked point, which is then checked against its row.
    """
    problems: list[str] = []
    axis_row = next(
        (i for i in range(len(lines) - 1, -1, -1) if re.search(r"[└+][─┬┴\-+]{2,}", lines[i])),
        None,
    )
    if axis_row is None:
        return problems if not any(c in "".join(lines) for c in "┤") else ["no x axis line"]
    col = re.search(r"[└+][─┬┴\-+]{2,}", lines[axis_row]).start()  # type: ignore[union-attr]
    rows: list[str] = []
    for line in reversed(lines[:axis_row]):
        if len(line) > col and line[col] in AXIS_CHARS:
            rows.append(line)
        else:
            break
    rows.reverse()  # rows[0] is the top row; row index from the bottom is len(rows) - 1 - i
    if len(rows) < min(MIN_PLOT_ROWS, len(lines) - 2):
        problems.append(
            f"{len(rows)} plotting rows in {len(lines)} lines (want "
            f"{min(MIN_PLOT_ROWS, len(lines) - 2)}: at most 2 lines for the x axis and its labels)"
        )
    labels: list[tuple[int, float, str]] = []  # (row from the bottom, value, as printed)
    for i, line in enumerate(rows):
        text = line[:col].strip()
        if not text:
            continue
        value = parse_number(text)
        if value is None:
            problems.append(f"y label {text!r} is not a number")
            continue
        labels.append((len(rows) - 1 - i, value, text))
    labels.sort()
    said = _said_scale(title)
    scales = _scales_of(labels)
    scale = said if said in scales else scales[0] if scales else None
    if len(labels) < 2 and rows and any(_canvas(r, col) for r in rows):
        problems.append(f"only {len(labels)} y label(s) for {len(rows)} rows of data")
    elif len(labels) >= 2:
        printed = [t for _, _, t in labels]
        if len(set(printed)) < len(printed):
            problems.append(f"y labels repeat as printed: {printed}")
        if scale is None:
            problems.append(
                "y labels are not evenly spaced on their rows (linear or log): "
                + ", ".join(f"{t}@row{r}" for r, _, t in labels)
            )
        elif said is not None and said not in scales:
            problems.append(f"the title says {said} but the y labels are {scale}")
        else:
            problems += _nice_steps(labels, scale)
    if said is None and title is not None and labels:
        problems.append(f"the title does not say linear or log: {title!r}")
    problems += _x_problems(lines, axis_row, col, title)
    said_value = _title_value(title) if title else None
    if said_value is not None and scale is not None and len(labels) >= 2:
        problems += _marker_problems(rows, col, labels, scale, *said_value)
    return problems


def _canvas(line: str, col: int) -> str:
    return line[col + 1 :].strip()


BOUNDARY_TITLES = ("Decision boundary", "Boundary", "决策边界", "边界")


def is_boundary(title: str | None) -> bool:
    """The decision boundary: a map of the input plane, its axes x1 and x2, both linear."""
    return title is not None and title.startswith(BOUNDARY_TITLES)


def _said_scale(title: str | None) -> str | None:
    if not title:
        return None
    if is_boundary(title):
        return "linear"
    words = set(re.split(r"[\s·*()]+", title.lower()))
    if "log" in words or "对数" in title:
        return "log"
    if "linear" in words or "线性" in title:
        return "linear"
    return None


def _scales_of(labels: list[tuple[int, float, str]]) -> list[str]:
    """The maps (linear, log) on which the labels' values are an affine function of their rows.

    Two labels fit either; a log axis also needs positive values.
    """

    def affine(points: list[tuple[int, float]]) -> bool:
        (r0, v0), (r1, v1) = points[0], points[-1]
        if r1 == r0 or v1 == v0:
            return False
        per_row = (v1 - v0) / (r1 - r0)
        tolerance = 1e-6 * max(abs(v) for _, v in points) + 1e-12
        return all(abs(v0 + (r - r0) * per_row - v) <= tolerance for r, v in points)

    if len(labels) < 2:
        return ["linear", "log"]
    scales = []
    if affine([(r, v) for r, v, _ in labels]):
        scales.append("linear")
    if all(v > 0 for _, v, _ in labels) and affine([(r, math.log10(v)) for r, v, _ in labels]):
        scales.append("log")
    return scales


def _nice_steps(labels: list[tuple[int, float, str]], scale: str) -> list[str]:
    (_, v0, t0), (_, v1, t1) = labels[0], labels[1]
    if scale == "log":
        decades = math.log10(v1) - math.log10(v0)
        first = math.log10(v0)
        if abs(decades - round(decades)) > 1e-6 or abs(first - round(first)) > 1e-6:
            return [f"log labels {t0}, {t1} are not at powers of ten"]
        return []
    if not _is_125(v1 - v0):
        return [f"y label step {v1 - v0:g} ({t0} → {t1}) is not 1, 2 or 5 × 10^k"]
    return []


def _x_problems(lines: list[str], axis_row: int, col: int, title: str | None) -> list[str]:
    if axis_row + 1 >= len(lines):
        return ["no x labels under the x axis"]
    words = lines[axis_row + 1].split()
    values = [parse_number(w) for w in words]
    if None in values:
        return [f"x labels that are not numbers: {words}"]
    problems = []
    nums = [v for v in values if v is not None]
    if any(b <= a for a, b in itertools.pairwise(nums)):
        problems.append(f"x labels do not increase: {words}")
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(nums)]
    if len(set(gaps)) > 1:
        problems.append(f"x labels are not evenly spaced: {words}")
    if _is_step_curve(lines[axis_row + 1], col, nums, title):
        fractional = [w for w, v in zip(words, nums) if v != int(v) or "." in w]
        if fractional:
            problems.append(f"fractional step numbers on the x axis: {fractional}")
    return problems


def _is_step_curve(label_line: str, col: int, nums: list[float], title: str | None) -> bool:
    if title is not None:
        if is_boundary(title):
            return False
        return not (title.startswith("J(") or title.startswith("J along") or "沿" in title)
    # Without a title: a step axis starts at step 0 at the y axis.
    return bool(nums) and nums[0] == 0 and len(label_line) - len(label_line.lstrip()) <= col + 1


def _marker_problems(
    rows: list[str],
    col: int,
    labels: list[tuple[int, float, str]],
    scale: str,
    value: float,
    rounding: float,
) -> list[str]:
    """The marked point must sit on the row its value belongs to (within the title's rounding)."""
    marked = [
        (len(rows) - 1 - i, line.index(ch, col + 1))
        for i, line in enumerate(rows)
        for ch in POINT_MARKERS
        if ch in line[col + 1 :]
    ]
    if not marked:
        return ["the marked point (●) is not drawn"]
    (r0, v0, _), (r1, v1, _) = labels[0], labels[-1]
    f = math.log10 if scale == "log" else (lambda v: v)
    if scale == "log" and value <= 0:
        return [f"the title's value {value} cannot be on a log axis"]
    per_row = (f(v1) - f(v0)) / (r1 - r0)
    expected = r0 + (f(value) - f(v0)) / per_row
    slack = rounding / abs(per_row) if scale == "linear" else rounding / value / math.log(10)
    row = marked[0][0]
    if abs(row - expected) > 0.5 + slack + 1e-6:
        return [
            f"the point {value:g} is drawn on row {row} but the labels put it on row {expected:.2f}"
        ]
    return []
