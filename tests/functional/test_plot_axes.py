"""The loss panel's axes on screen: labels on the rows they name, for every built-in and size."""

from __future__ import annotations

import itertools
import math

import pytest
from textual.pilot import Pilot

from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Phase
from core.teaching import boundary
from core.text.format import fmt
from tests.functional.plot_audit import axis_problems, inside, parse_number
from tui.app import MIN_HEIGHT, MIN_WIDTH, BackpropApp
from tui.panels.loss_panel import LossPanel

SIZES = ((80, 24), (120, 40), (70, 20))


def panel_of(app: BackpropApp) -> LossPanel:
    return app.query_one(LossPanel)


def titles(app: BackpropApp) -> tuple[str, str]:
    panel = panel_of(app)
    return str(panel.border_title or ""), str(panel.border_subtitle or "")


def plot(app: BackpropApp) -> tuple[list[str], int, int]:
    """The panel's inside, the y axis column and the x axis line's index."""
    lines = inside(app, panel_of(app))
    axis_row = max(i for i, line in enumerate(lines) if "└" in line)
    return lines, lines[axis_row].index("└"), axis_row


def y_labels(lines: list[str], col: int, axis_row: int) -> list[tuple[int, float]]:
    """(line index, value) of each labelled row."""
    out = []
    for i in range(axis_row):
        value = parse_number(lines[i][:col])
        if value is not None:
            out.append((i, value))
    return out


def row_of(value: float, labels: list[tuple[int, float]], log: bool = False) -> int:
    """The line a value belongs on, read off the labels alone (they are an affine map)."""
    f = math.log10 if log else float
    (i0, v0), (i1, v1) = labels[0], labels[-1]
    return round(i0 + (f(value) - f(v0)) * (i1 - i0) / (f(v1) - f(v0)))


def is_log(title: str) -> bool:
    return "log" in title.replace("·", " ").split()


def marker_row(lines: list[str], col: int) -> int:
    rows = [i for i, line in enumerate(lines) if "●" in line[col + 1 :]]
    assert len(rows) == 1, lines
    return rows[0]


async def settle(pilot: Pilot[object]) -> None:
    await pilot.pause()


async def finish_fast_forward(app: BackpropApp, pilot: Pilot[object]) -> None:
    for _ in range(400):
        await pilot.pause(0.05)
        if app.fast_forward is None:
            return
    raise AssertionError("fast-forward did not finish")


async def audit(app: BackpropApp, pilot: Pilot[object], size: tuple[int, int], moment: str) -> None:
    await pilot.resize_terminal(*size)
    await settle(pilot)
    if size[0] < MIN_WIDTH or size[1] < MIN_HEIGHT:
        return
    title, _ = titles(app)
    lines = inside(app, panel_of(app))
    problems = axis_problems(lines, title)
    assert not problems, (app.session.scenario.name, moment, size, title, lines, problems)
    assert "…" not in title


@pytest.mark.parametrize("name", BUILTINS)
async def test_every_builtin_has_sound_axes_at_every_moment(name: str) -> None:
    # Each moment at one size, rotating with the scenario: every pair is covered, cheaply.
    turn = BUILTINS.index(name)

    def size(moment: int) -> tuple[int, int]:
        return SIZES[(turn + moment) % len(SIZES)]

    app = BackpropApp(load_builtin(name), ascii_only=name == "hidden-neuron")  # one in --ascii
    async with app.run_test(size=size(0)) as pilot:
        await audit(app, pilot, size(0), "start")
        await pilot.press("space", "space", "space")
        assert app.snapshot.phase is Phase.BACKWARD
        await audit(app, pilot, size(1), "3 spaces")
        await show(pilot, "landscape")
        await audit(app, pilot, size(2), "landscape, backward phase")
        two_inputs = boundary.applies(app.session.scenario.architecture)
        if two_inputs:
            await show(pilot, "boundary")
            await audit(app, pilot, size(2), "boundary, backward phase")
        await show(pilot, "curve")
        await pilot.press("enter", "enter", "enter", "enter")
        await audit(app, pilot, size(3), "a few steps")
        await pilot.press("f")
        await finish_fast_forward(app, pilot)
        await audit(app, pilot, size(4), "after f")
        await show(pilot, "landscape")
        await audit(app, pilot, size(5), "landscape after f")
        if two_inputs:
            await show(pilot, "boundary")
            await audit(app, pilot, size(6), "boundary after f")


async def show(pilot: Pilot[object], view: str) -> None:
    """l until the loss panel shows `view` (l cycles curve → landscape → boundary)."""
    for _press in range(3):
        if getattr(pilot.app, "view", None) == view:
            return
        await pilot.press("l")
    assert getattr(pilot.app, "view", None) == view


async def test_the_first_loss_sits_on_the_row_labelled_nearest_it() -> None:
    # Issue 11: textbook-2-2-2 after three spaces, J = 0.298 sat on the row labelled 0.348.
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space", "space", "space")
        await settle(pilot)
        lines, col, axis_row = plot(app)
        labels = y_labels(lines, col, axis_row)
        j = app.snapshot.evaluation.loss
        assert j == pytest.approx(0.298371, abs=1e-6)  # the textbook's E_total
        nearest = min(labels, key=lambda lv: abs(lv[1] - j))
        assert marker_row(lines, col) == nearest[0], lines
        printed = [lines[i][:col].strip() for i, _ in labels]
        assert len(set(printed)) == len(printed)
        assert "0.3" in printed  # an exact nice value, not 0.298 or 0.348


async def test_the_story_shows_every_label_and_whole_steps() -> None:
    # Issue 11: after three spaces the labels were 0.735, 0.653, 0.572, 0.408: 0.490 missing.
    app = BackpropApp(load_builtin("single-weight"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space", "space", "space")
        await settle(pilot)
        lines, col, axis_row = plot(app)
        labels = y_labels(lines, col, axis_row)
        steps = {round(b[1] - a[1], 9) for a, b in itertools.pairwise(labels)}
        rows = {b[0] - a[0] for a, b in itertools.pairwise(labels)}
        assert len(steps) == 1 and len(rows) == 1, lines
        assert marker_row(lines, col) == row_of(0.49, labels)  # J = (1.5·0.8 − 0.5)² = 0.49
        await pilot.press("enter", "enter", "enter", "enter", "enter")
        await settle(pilot)
        lines, col, axis_row = plot(app)
        xs = lines[axis_row + 1].split()
        assert xs and all(x.isdigit() for x in xs), xs  # step numbers, no 0.25 or 124.8
        assert xs[0] == "0"


async def test_every_point_of_the_curve_is_drawn_on_its_row() -> None:
    # The story's losses after k updates: J = (1.5w − 0.5)², then w ← w − 0.1·(4.5w − 1.5).
    w, losses = 0.8, []
    for _ in range(8):
        losses.append((1.5 * w - 0.5) ** 2)
        w -= 0.1 * (4.5 * w - 1.5)
    app = BackpropApp(load_builtin("single-weight"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["enter"] * 7, "space", "space")  # step 7, its loss revealed
        await settle(pilot)
        lines, col, axis_row = plot(app)
        labels = y_labels(lines, col, axis_row)
        ticks = [i for i, ch in enumerate(lines[axis_row]) if ch == "┬"]
        steps = [int(x) for x in lines[axis_row + 1].split()]
        assert len(ticks) == len(steps) >= 2
        per_step = (ticks[-1] - ticks[0]) / (steps[-1] - steps[0])
        log = is_log(titles(app)[0])
        assert log  # 0.49 down to 1e-4 in seven steps: more than three orders of magnitude
        for k, j in enumerate(losses):
            row, column = row_of(j, labels, log), round(ticks[0] + (k - steps[0]) * per_step)
            near = lines[row][column - 1 : column + 2]
            assert near.strip(), (k, j, row, column, lines)
        assert marker_row(lines, col) == row_of(losses[-1], labels, log)
        assert fmt(losses[-1], 4) in titles(app)[0]


async def test_xor_after_fast_forward_ends_on_its_row() -> None:
    # Issue 11: labels 0.78 / 0.52 / 0.15 while the curve ended at 0.02 on the 0.15 row.
    app = BackpropApp(load_builtin("xor"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f")
        await finish_fast_forward(app, pilot)
        await settle(pilot)
        lines, col, axis_row = plot(app)
        labels = y_labels(lines, col, axis_row)
        title = titles(app)[0]
        log = is_log(title)
        last = app.snapshot.history.losses[app.snapshot.revealed_losses - 1]
        assert marker_row(lines, col) == row_of(last, labels, log)
        assert axis_problems(lines, title) == []


async def test_the_landscape_keeps_its_slope_number_whole() -> None:
    # Issue 11: "J along w1 · slope ∂J/∂w1 =…" cut the number the view exists to show.
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space", "space", "space", "l")
        await settle(pilot)
        slope = app.snapshot.evaluation.grads[0]
        assert slope == pytest.approx(0.000438568, rel=1e-5)  # the textbook's ∂E/∂w1
        title, subtitle = titles(app)
        assert fmt(slope, 4) in subtitle, subtitle
        assert "…" not in title + subtitle
        assert "linear" in title
        width = panel_of(app).outer_size.width
        assert len(title) <= width - 6 and len(subtitle) <= width - 6


async def test_the_first_loss_is_more_than_a_dot() -> None:
    for ascii_only, marker in ((False, "●"), (True, "O")):
        app = BackpropApp(load_builtin("single-weight"), ascii_only=ascii_only)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("space", "space")  # the loss phase: one point on the curve
            await settle(pilot)
            lines = inside(app, panel_of(app))
            assert sum(line.count(marker) for line in lines) == 1, lines
            if ascii_only:
                assert all(line.isascii() for line in lines), lines


def test_the_audit_catches_the_old_defects() -> None:
    # The screens quoted in issue 11 (plotext's own ticks), as the audit should see them.
    old = [
        "     ┌─────────────────────────┐",
        "0.448┤                         │",
        "0.348┤⠂                        │",
        "0.199┤                         │",
        "     └┬─────┬─────┬─────┬─────┬┘",
        "    0.00  0.25  0.50  0.75 1.00 ",
    ]
    problems = axis_problems(old + [""] * 2, "Loss J per step · 0.2984")
    text = "\n".join(problems)
    assert "not evenly spaced" in text
    assert "fractional step numbers" in text
    assert "plotting rows" in text
    assert "linear or log" in text
    good = [
        "0.5┤                            ",
        "0.4┤                            ",
        "0.3┤●                           ",
        "0.2┤                            ",
        "0.1┤                            ",
        "0.0┤                            ",
        "   └┬──────────────────────────┬",
        "    0                          1",
    ]
    assert axis_problems(good, "Loss J · linear · 0.2984") == []
    moved = [line.replace("●", " ") for line in good]
    moved[3] = "0.2┤●                           "
    assert "drawn on row" in "\n".join(axis_problems(moved, "Loss J · linear · 0.2984"))
