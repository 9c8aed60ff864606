"""The loss panel's third view, the decision boundary, and the h dialog, as a student sees them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from core.files.loader import load_builtin, load_file
from core.teaching import boundary as plane
from tests.functional.plot_audit import axis_problems, inside, parse_number
from tui.app import BackpropApp
from tui.dialogs.neuron_maps import NeuronMapsScreen
from tui.panels.loss_panel import LossPanel
from tui.panels.plane import HALF, SHADES

SIZE = (80, 24)
# XOR's samples and their classes: the glyph drawn for each (o: y = 0, x: y = 1).
XOR = {(0.0, 0.0): "o", (0.0, 1.0): "x", (1.0, 0.0): "x", (1.0, 1.0): "o"}


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def xor_output(params: tuple[float, ...], x1: float, x2: float) -> float:
    """ŷ of the 2-2-1 sigmoid network, by hand (w1..w6, b1..b3 in the spec's order)."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = params
    h1, h2 = sigmoid(w1 * x1 + w2 * x2 + b1), sigmoid(w3 * x1 + w4 * x2 + b2)
    return sigmoid(w5 * h1 + w6 * h2 + b3)


def panel(app: Any) -> LossPanel:
    return app.screen_stack[0].query_one(LossPanel)  # type: ignore[no-any-return]


async def fast_forward(app: BackpropApp, pilot: Pilot[object]) -> None:
    await pilot.press("f")
    for _ in range(400):
        await pilot.pause(0.05)
        if app.fast_forward is None and app.session.status().done:
            return
    raise AssertionError("fast-forward did not finish")


def read_plane(lines: list[str]) -> tuple[int, dict[float, int], dict[float, int]]:
    """The y axis column, and the line of each y label and the column each x label centres on."""
    axis_row = max(i for i, line in enumerate(lines) if "└" in line or "+-" in line)
    col = max(lines[axis_row].find("└"), lines[axis_row].find("+"))
    rows = {}
    for i in range(axis_row):
        value = parse_number(lines[i][:col])
        if value is not None:
            rows[value] = i
    columns = {}
    labels = lines[axis_row + 1]
    start = 0
    for word in labels.split():
        at = labels.index(word, start)
        start = at + len(word)
        value = parse_number(word)
        assert value is not None, labels
        columns[value] = at + len(word) // 2  # a label centres on the column it names
    return col, rows, columns


async def test_l_cycles_three_views_with_two_inputs_and_two_without() -> None:
    app = BackpropApp(load_builtin("xor"))
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        for _ in range(4):
            await pilot.pause()
            seen.append((app.view, str(panel(app).border_title)))
            await pilot.press("l")
        assert [v for v, _t in seen] == ["curve", "landscape", "boundary", "curve"]
        assert seen[2][1] == "Decision boundary"
        assert seen[0][1].startswith("Loss J") and seen[3][1].startswith("Loss J")
    app = BackpropApp(load_builtin("single-weight"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l")
        assert app.view == "curve"  # no input plane for one input: curve ↔ landscape
        assert app.check_action("neuron_maps", ()) is None  # h is greyed out too


async def test_a_boundary_left_open_falls_back_to_the_curve_for_one_input() -> None:
    app = BackpropApp(load_builtin("xor"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l")
        app.open_scenario(load_builtin("single-weight"))
        await pilot.pause()
        assert str(panel(app).border_title).startswith("Loss J")  # not a map of nothing
        await pilot.press("l")
        assert app.view == "landscape"


@pytest.mark.parametrize("ascii_only", [False, True])
async def test_the_samples_sit_where_the_axes_say(ascii_only: bool) -> None:
    app = BackpropApp(load_builtin("xor"), ascii_only=ascii_only)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l")
        await pilot.pause()
        lines = inside(app, panel(app))
        assert axis_problems(lines, str(panel(app).border_title)) == []
        col, rows, columns = read_plane(lines)
        assert {0.0, 1.0} <= set(rows) and {0.0, 1.0} <= set(columns), (rows, columns, lines)
        for (x1, x2), glyph in XOR.items():
            assert lines[rows[x2]][columns[x1]] == glyph, (x1, x2, lines)
        glyphs = sum(line[col + 1 :].count(g) for line in lines for g in "ox")
        assert glyphs == 4
        subtitle = str(panel(app).border_subtitle)
        assert "o" in subtitle and "x" in subtitle and "y = 0" in subtitle


@pytest.mark.parametrize("mode", ["ascii", "no_color"])
async def test_without_colour_the_map_is_a_ramp_of_shades(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == "no_color":
        monkeypatch.setenv("NO_COLOR", "1")
    app = BackpropApp(load_builtin("xor"), ascii_only=mode == "ascii")
    async with app.run_test(size=SIZE) as pilot:
        await fast_forward(app, pilot)
        await pilot.press("l", "l")
        await pilot.pause()
        lines = inside(app, panel(app))
        col, rows, columns = read_plane(lines)
        params = app.snapshot.params
        # Each cell is the ramp's character for ŷ at the cell's centre (the samples aside). The
        # centres from the labels: columns one x step apart, rows one y step apart.
        (x_lo, c_lo), (x_hi, c_hi) = min(columns.items()), max(columns.items())
        (y_lo, r_lo), (y_hi, r_hi) = min(rows.items()), max(rows.items())
        per_column, per_row = (x_hi - x_lo) / (c_hi - c_lo), (y_hi - y_lo) / (r_hi - r_lo)
        checked = 0
        for r, line in enumerate(lines[: max(rows.values()) + 1]):
            for c in range(col + 1, len(line)):
                if line[c] in "ox":
                    continue
                x1 = x_lo + (c - c_lo) * per_column
                x2 = y_lo + (r - r_lo) * per_row
                shade = min(1.0, max(0.0, xor_output(params, x1, x2)))
                assert line[c] == SHADES[min(9, int(shade * 10))], (r, c, x1, x2, shade)
                checked += 1
        assert checked > 100
        assert HALF not in "".join(lines)
        # Trained: the two kinds of sample are on shades at opposite ends of the ramp.
        ends = {line[c] for line in lines for c in range(col + 1, len(line))}
        assert " " in ends and "@" in ends


async def test_the_map_follows_training_and_is_remade_only_when_the_parameters_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    original = plane.boundary

    def counting(*args: Any) -> plane.Boundary:
        calls.append(args[1])
        return original(*args)

    monkeypatch.setattr(plane, "boundary", counting)
    app = BackpropApp(load_builtin("xor"), ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l")
        await pilot.pause()
        before = inside(app, panel(app))
        made = len(calls)
        assert made >= 1
        await pilot.press("space", "space", "space")  # forward, loss, backward: same values
        await pilot.pause()
        assert len(calls) == made
        await fast_forward(app, pilot)
        await pilot.pause()
        assert len(calls) > made and calls[-1] == app.snapshot.params
        assert inside(app, panel(app)) != before


async def test_h_shows_each_hidden_neuron_and_follows_training() -> None:
    app = BackpropApp(load_builtin("xor"), ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, NeuronMapsScreen)
        body = str(app.screen.query_one("#maps-body").render())
        names = body.splitlines()[0].split()
        assert names == ["output", "y^", "h1", "h2"]  # --ascii spells ŷ out
        why = str(app.screen.query_one("#maps-why").render())
        assert "step 0" in why and "x1 from -0.15 to 1.15" in why
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, NeuronMapsScreen)
        await fast_forward(app, pilot)
        await pilot.press("h")
        await pilot.pause()
        after = str(app.screen.query_one("#maps-body").render())
        assert after != body
        step = app.snapshot.step
        assert f"step {step}" in str(app.screen.query_one("#maps-why").render())


async def test_the_palette_opens_the_neuron_maps() -> None:
    app = BackpropApp(load_builtin("xor"))
    async with app.run_test(size=SIZE) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        await commands["Hidden neuron maps"].callback()
        await pilot.pause()
        assert isinstance(app.screen, NeuronMapsScreen)


async def test_a_class_per_output_is_drawn_with_digits(tmp_path: Path) -> None:
    from tests.unit.test_boundary import SOFTMAX

    path = tmp_path / "three.toml"
    path.write_text(SOFTMAX)
    for ascii_only in (False, True):
        app = BackpropApp(load_file(path), ascii_only=ascii_only)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("l", "l")
            await pilot.pause()
            assert str(panel(app).border_title) == "Decision boundary"
            assert str(panel(app).border_subtitle).startswith("1 to 3")
            lines = inside(app, panel(app))
            assert axis_problems(lines, "Decision boundary") == []
            _col, rows, columns = read_plane(lines)
            # Samples (1, 0) → class 1, (0, 1) → class 2, (−1, −1) → class 3.
            for (x1, x2), digit in {(1.0, 0.0): "1", (0.0, 1.0): "2", (-1.0, -1.0): "3"}.items():
                assert lines[rows[x2]][columns[x1]] == digit, (x1, x2, lines)


async def test_a_network_too_big_to_map_says_so(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(
        'loss = "mse"\nlearning_rate = 0.1\n[network]\nlayers = [2, 60, 60, 1]\n'
        'activations = ["tanh", "tanh", "identity"]\nseed = 1\n'
        "[[samples]]\nx = [0.0, 1.0]\ny = [1.0]\n[[samples]]\nx = [1.0, 0.0]\ny = [0.0]\n"
    )
    app = BackpropApp(load_file(path))
    async with app.run_test(size=(120, 40)) as pilot:  # 3,901 parameters × a large plane
        await pilot.press("l", "l")
        await pilot.pause()
        assert app.view == "boundary"
        text = " ".join(line.strip() for line in inside(app, panel(app)))
        assert "Too many parameters to map the plane at this size." in text, text
