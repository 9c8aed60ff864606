"""core.teaching.axes: nice ticks, each on the row it names, under plotext's value→row mapping."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from plotext._utility import get_matrix_data

from core.teaching.axes import (
    MAX_LABELS,
    linear_axis,
    log_axis,
    number_label,
    power_label,
    spread_axis,
)


def is_125(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    return any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5, 10))


def plotext_cell(value: float, limits: tuple[float, float], cells: int, factor: int) -> int:
    """The cell plotext draws a value in: its sub-cell index, divided by sub-cells per cell."""
    return get_matrix_data([value], list(limits), cells * factor)[0] // factor


def parse(label: str) -> float:
    return float(label.replace("−", "-"))


@pytest.mark.parametrize(
    ("value", "step", "text"),
    [
        (0.1, 0.1, "0.1"),
        (0.30000000000000004, 0.1, "0.3"),
        (0.0, 0.1, "0.0"),
        (1e-17, 0.1, "0.0"),
        (-0.2, 0.1, "−0.2"),
        (0.05, 0.05, "0.05"),
        (40.0, 20.0, "40"),
        (2e-6, 1e-6, "2e−6"),
        (1.5e-6, 5e-7, "1.5e−6"),
        (3e6, 1e6, "3e6"),
    ],
)
def test_number_labels_are_exact_and_short(value: float, step: float, text: str) -> None:
    assert number_label(value, step) == text


def test_power_labels() -> None:
    assert [power_label(e) for e in (-5, -2, -1, 0, 1, 3, 4)] == [
        "1e−5",
        "0.01",
        "0.1",
        "1",
        "10",
        "1000",
        "1e4",
    ]


def test_one_value_lands_on_the_row_labelled_nearest_it() -> None:
    # The issue: J = 0.298 alone sat on the row labelled 0.348. Rows of 0.1: it belongs to 0.3.
    axis = linear_axis(0.298, 0.298, 6, floor=0.0)
    row = axis.cell(0.298)
    assert axis.labels[axis.tick_cells().index(row)] == "0.3"
    assert all(parse(t) >= 0 for t in axis.labels)


def test_the_story_after_three_spaces_shows_every_row() -> None:
    # The story's first losses 0.735, 0.653, 0.572, 0.490, 0.408: no label may go missing.
    axis = linear_axis(0.408, 0.735, 6, floor=0.0)
    assert [parse(t) for t in axis.labels] == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    for value, label in [(0.735, "0.7"), (0.49, "0.5"), (0.408, "0.4")]:
        assert axis.labels[axis.tick_cells().index(axis.cell(value))] == label


def check_linear(axis, low: float, high: float) -> None:  # type: ignore[no-untyped-def]
    assert is_125(axis.step)
    # Every value from low to high is within half a step of its row's centre, inside the plot.
    for value in (low, high, (low + high) / 2):
        cell = axis.cell(value)
        assert 0 <= cell < axis.cells
        assert abs(axis.centre(cell) - value) <= axis.step / 2 * (1 + 1e-9)
    # At most MAX_LABELS, unless only labelling every row keeps the labels 1-2-5 apart.
    assert 2 <= len(axis.ticks) <= MAX_LABELS or len(axis.ticks) == axis.cells
    values = [parse(t) for t in axis.labels]
    assert values == pytest.approx(list(axis.ticks), rel=1e-12, abs=1e-15 * axis.step)
    gaps = {round((b - a) / axis.step, 3) for a, b in itertools.pairwise(values)}
    assert len(gaps) == 1 and is_125(gaps.pop() * axis.step)
    assert len(set(axis.labels)) == len(axis.labels)


def test_linear_axes_for_random_ranges() -> None:
    rng = random.Random(7)
    for _ in range(1500):
        cells = rng.randint(2, 40)
        centre = rng.choice([0.0, 1.0, -1.0]) * 10 ** rng.uniform(-6, 6)
        span = max(10 ** rng.uniform(-6, 6), 1e-6 * abs(centre))  # labels of ≤ 7 digits
        low = centre + rng.uniform(-1, 0) * span
        high = low + span * rng.uniform(0.01, 1)
        check_linear(linear_axis(low, high, cells), low, high)


def test_linear_axis_is_as_fine_as_the_rows_allow() -> None:
    # 0.02..0.78 on 6 rows: rows of 0.1 cannot hold it (0.0..0.5 at most), rows of 0.2 can.
    assert linear_axis(0.02, 0.78, 6, floor=0.0).step == pytest.approx(0.2)
    assert linear_axis(0.02, 0.78, 9, floor=0.0).step == pytest.approx(0.1)


def test_floor_keeps_a_loss_axis_off_negative_values() -> None:
    axis = linear_axis(0.001, 0.05, 8, floor=0.0)
    assert axis.first >= 0
    assert linear_axis(0.0, 0.0, 6, floor=0.0).first == 0
    assert linear_axis(-3.0, 2.0, 6, floor=0.0).first < 0  # data below the floor are shown


@pytest.mark.parametrize("factor", [1, 2, 4])
def test_plotext_draws_each_value_on_the_cell_we_say(factor: int) -> None:
    rng = random.Random(factor)
    for _ in range(200):
        cells = rng.randint(2, 40)
        low = rng.uniform(-5, 5)
        high = low + 10 ** rng.uniform(-3, 3)
        axis = linear_axis(low, high, cells)
        limits = axis.limits(factor)
        # Ticks: plotext places them with one sub-cell per cell.
        assert [plotext_cell(t, limits, cells, 1) for t in axis.ticks] == axis.tick_cells()
        for _ in range(20):
            value = rng.uniform(low, high)
            offset = (value - axis.first) / axis.step % 1
            if abs(offset - 0.5) < 1e-6:
                continue  # exactly between two rows: either is right
            assert plotext_cell(value, limits, cells, factor) == axis.cell(value)


def test_log_axis_labels_powers_of_ten_on_their_rows() -> None:
    axis = log_axis(1e-5, 0.7, 6)
    assert axis.log
    assert axis.labels == ("1e−5", "1e−4", "1e−3", "0.01", "0.1", "1")
    for label, cell in zip(axis.labels, axis.tick_cells()):
        assert axis.centre(cell) == pytest.approx(math.log10(parse(label)))
    for value in (1e-5, 0.7):
        assert 0 <= axis.cell(axis.to_plot(value)) < axis.cells


def test_log_axis_for_random_ranges() -> None:
    rng = random.Random(3)
    for _ in range(300):
        cells = rng.randint(2, 30)
        low = 10 ** rng.uniform(-300, 300)
        high = low * 10 ** rng.uniform(0, 20)
        axis = log_axis(low, high, cells)
        for value in (low, high):
            assert 0 <= axis.cell(axis.to_plot(value)) < axis.cells
        assert 2 <= len(axis.ticks) <= MAX_LABELS
        exponents = [math.log10(parse(t)) for t in axis.labels]
        assert all(e == pytest.approx(round(e)) for e in exponents)
        assert len({round(b - a) for a, b in itertools.pairwise(exponents)}) == 1


def test_step_axis_has_whole_numbers_that_fit() -> None:
    for last in (0, 1, 3, 7, 42, 999, 12345):
        for columns in (20, 26, 40, 60):
            axis = spread_axis(0, max(last, 1), columns, whole=True)
            values = [parse(t) for t in axis.labels]
            assert values[0] == 0 and all(v == int(v) for v in values), axis.labels
            assert all("." not in t for t in axis.labels)
            widths = max(len(t) for t in axis.labels)
            cells = axis.tick_cells()
            assert all(b - a >= widths + 1 for a, b in itertools.pairwise(cells)), (axis, last)
            # Each label names the column its step is drawn in: within half a column.
            for value, cell in zip(values, cells):
                assert abs(axis.first + cell * axis.step - value) <= axis.step / 2 + 1e-9
