"""Pilot tests: every key and palette command, checked against core's state and the panels."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from core.files.loader import load_builtin
from core.stepping.session import Phase, StatusKind
from tui import keys
from tui.app import SPEEDS, BackpropApp
from tui.dialogs.branch import BranchScreen
from tui.dialogs.edit import EditValueScreen
from tui.dialogs.help import HelpScreen
from tui.dialogs.open import OpenScenarioScreen
from tui.panels.chain_panel import ChainRulePanel
from tui.panels.loss_panel import LossPanel
from tui.panels.network_panel import NetworkPanel

SIZE = (80, 24)


def chain_text(app: BackpropApp) -> str:
    return str(app.query_one("#chain-body").content)


def training_text(app: BackpropApp) -> str:
    return str(app.query_one("#training-body").content)


def network_text(app: BackpropApp) -> str:
    return str(app.query_one(NetworkPanel).render())


async def test_space_fills_in_the_chain_rule_phase_by_phase(tmp_path: Path) -> None:
    app = BackpropApp(save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert app.snapshot.phase is Phase.READY
        assert "ŷ ?" in network_text(app)
        await pilot.press("space")
        assert app.snapshot.phase is Phase.FORWARD
        assert "ŷ +1.2" in network_text(app)
        assert "ŷ = x·w = 1.5·0.8 = 1.2" in chain_text(app)
        assert "= ? · 1.5" in chain_text(app)
        await pilot.press("space")
        assert app.snapshot.phase is Phase.LOSS
        assert "2(1.2 − 0.5) · 1.5" in chain_text(app)
        assert "J = (ŷ − y)² = (1.2 − 0.5)² = 0.49" in chain_text(app)
        assert "loss J 0.49" in training_text(app)
        await pilot.press("space")
        assert app.snapshot.phase is Phase.BACKWARD
        assert "= 2.1" in chain_text(app)
        assert "0.8 − 0.1 · 2.1 = ?" in chain_text(app)
        assert "∂+2.1" in network_text(app)
        await pilot.press("space")
        assert app.snapshot.phase is Phase.UPDATE
        assert "w ← w − lr·∂J/∂w = 0.8 − 0.1 · 2.1 = 0.59" in chain_text(app)
        assert "w +0.59" in network_text(app)
        assert app.snapshot.step == 1


async def test_enter_undo_reset() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter")
        assert app.snapshot.step == 2
        assert app.snapshot.params[0] == pytest.approx(0.4745, abs=1e-15)
        await pilot.press("u")
        assert app.snapshot.step == 1 and app.snapshot.phase is Phase.UPDATE
        await pilot.press("r")
        assert app.snapshot.step == 0 and app.snapshot.params == (0.8,)
        await pilot.press("u")  # undo the reset
        assert app.snapshot.step == 1
        await pilot.press("u", "u")
        assert app.snapshot.step == 0 and not app.snapshot.can_undo
        await pilot.press("u")  # nothing left: no error, nothing changes
        assert app.snapshot.step == 0


async def test_learning_rate_ladder() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("plus")
        assert app.snapshot.learning_rate == 0.2
        assert "lr 0.2" in training_text(app)
        await pilot.press("minus", "minus")
        assert app.snapshot.learning_rate == 0.05
        await pilot.press("enter")
        assert app.snapshot.params[0] == pytest.approx(0.8 - 0.05 * 2.1, abs=1e-15)


async def test_tab_selects_parameters_and_the_chain_follows() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space")
        assert "Chain rule · w1" in str(app.query_one(ChainRulePanel).border_title)
        for _ in range(4):
            await pilot.press("tab")
        assert app.selected == 4
        assert "∂J/∂w5 = ∂J/∂ŷ1 · ∂ŷ1/∂z_ŷ1 · ∂z_ŷ1/∂w5" in chain_text(app)
        assert "0.082167" in chain_text(app)
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab")
        assert app.selected == 0
        # A hidden weight: the sum over both output paths, with every number.
        text = chain_text(app)
        assert "∂J/∂h1 = ∂J/∂ŷ1·∂ŷ1/∂z_ŷ1·∂z_ŷ1/∂h1" in text  # compact at 80x24
        assert "0.0553994 + (−0.0190491)" in text
        assert "= 0.0363503" in text
        await pilot.press("shift+tab")
        assert app.selected == len(app.snapshot.params) - 1  # wraps around


async def test_click_selects_a_parameter() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(NetworkPanel)
        hits = {param: (x0, y) for y, x0, _, param in panel._hits}
        x, y = hits[5]
        await pilot.click(NetworkPanel, offset=(x + 1, y + 1))  # +1: the border
        assert app.selected == 5


async def test_samples_cycle_with_comma_and_full_stop() -> None:
    app = BackpropApp(load_builtin("xor"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        assert "sample 1 of 4" in chain_text(app)
        await pilot.press("full_stop", "full_stop")
        assert app.sample == 2
        assert "sample 3 of 4: x = (1, 0), y = (1)" in chain_text(app)
        assert "sample 3/4" in str(app.query_one(NetworkPanel).border_title)
        await pilot.press("comma", "comma", "comma")
        assert app.sample == 3


async def test_single_sample_greys_out_sample_keys() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("full_stop")
        assert app.sample == 0
        assert app.check_action("sample", (1,)) is None
        assert app.check_action("undo", ()) is None


async def test_edit_value_with_good_and_bad_text() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("equals_sign")
        assert isinstance(app.screen, EditValueScreen)
        await pilot.press("ctrl+a", *"abc", "enter")
        assert isinstance(app.screen, EditValueScreen)
        assert "not a number" in str(app.screen.query_one("#edit-error").content)
        assert app.snapshot.params == (0.8,)
        input_ = app.screen.query_one("#edit-input")
        input_.value = "0.3333333333333333"
        await pilot.press("enter")
        assert not isinstance(app.screen, EditValueScreen)
        assert app.snapshot.params == (1 / 3,)
        assert app.snapshot.phase is Phase.READY
        await pilot.press("equals_sign", "escape")
        assert app.snapshot.params == (1 / 3,)
        await pilot.press("u")
        assert app.snapshot.params == (0.8,)


async def test_landscape_view_toggles() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space", "l")
        assert app.view == "landscape"
        title = str(app.query_one(LossPanel).border_title)
        subtitle = str(app.query_one(LossPanel).border_subtitle)
        assert "J along w" in title and "slope ∂J/∂w = 2.1" in subtitle
        await pilot.press("l")
        assert app.view == "curve"
        assert "Loss J" in str(app.query_one(LossPanel).border_title)


async def test_save_writes_a_new_file_each_time(tmp_path: Path) -> None:
    app = BackpropApp(save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter", "s", "s")
        files = sorted(tmp_path.glob("backprop-trace-*.md"))
        assert [f.name for f in files] == ["backprop-trace-001.md", "backprop-trace-002.md"]
        report = files[0].read_text()
        assert "| 1 | 0.49 | 0.8 | 2.1 | 0.59 |" in report
        assert "| 2 | 0.148225 | 0.59 | 1.155 | 0.4745 |" in report
        assert "w ← w − lr·∂J/∂w = 0.8 − 0.1 · 2.1 = 0.59" in report
        assert not list(tmp_path.glob(".backprop-*"))  # no temporary file left behind


async def test_save_into_an_unwritable_place_notifies_and_goes_on(tmp_path: Path) -> None:
    app = BackpropApp(save_dir=tmp_path / "missing")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "enter")
        assert app.snapshot.step == 1
        assert any("Could not save" in n.message for n in app._notifications)


async def test_open_a_builtin_and_a_file(tmp_path: Path) -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        assert isinstance(app.screen, OpenScenarioScreen)
        await pilot.press("down", "down", "down", "down", "enter")  # down first reaches the list
        await pilot.pause()
        assert app.snapshot.scenario.name == "Textbook 2-2-2"
        bad = tmp_path / "bad.toml"
        bad.write_text("learning_rate = 'fast'\n")
        await pilot.press("o")
        app.screen.query_one("#open-path").value = str(bad)
        app.screen.query_one("#open-path").focus()
        await pilot.press("enter")
        assert isinstance(app.screen, OpenScenarioScreen)
        assert "learning_rate" in str(app.screen.query_one("#open-error").content)
        good = tmp_path / "mine.toml"
        good.write_text(
            'name = "Mine"\nlearning_rate = 0.1\n[network]\nlayers = [1, 1]\n'
            'activations = ["identity"]\nbias = false\nweights = [[[2.0]]]\n'
            "[[samples]]\nx = [1.0]\ny = [1.0]\n"
        )
        app.screen.query_one("#open-path").value = str(good)
        await pilot.press("enter")
        await pilot.pause()
        assert app.snapshot.scenario.name == "Mine"
        assert app.snapshot.params == (2.0,)


async def test_help_opens_and_closes() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_quit(key: str) -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
    assert app.return_code == 0


async def test_auto_run_steps_by_itself_and_stops_at_convergence() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(len(SPEEDS)):
            await pilot.press("right_square_bracket")
        assert app.speed == SPEEDS[-1]
        await pilot.press("a")
        for _ in range(100):
            await pilot.pause(0.05)
            if not app.auto:
                break
        assert not app.auto
        assert app.snapshot.status.kind is StatusKind.CONVERGED
        assert app.snapshot.params[0] == pytest.approx(1 / 3, abs=1e-5)
        await pilot.press("left_square_bracket")
        assert app.speed == SPEEDS[-2]


async def test_auto_run_can_be_switched_off() -> None:
    app = BackpropApp(load_builtin("xor"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause(0.7)
        await pilot.press("a")
        step = app.snapshot.step
        assert step >= 1 and not app.auto
        await pilot.pause(0.7)
        assert app.snapshot.step == step


async def test_fast_forward_runs_to_convergence() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        for _ in range(200):
            await pilot.pause(0.05)
            if app.fast_forward is None:
                break
        assert app.fast_forward is None
        assert app.snapshot.status.kind is StatusKind.CONVERGED
        assert app.snapshot.step > 1000
        assert "converged" in training_text(app)


async def test_fast_forward_can_be_interrupted() -> None:
    scenario = load_builtin("textbook-2-2-2")
    from dataclasses import replace

    slow = replace(scenario, loss_tolerance=0.0, gradient_tolerance=0.0, max_steps=10_000_000)
    app = BackpropApp(slow)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        assert app.fast_forward is not None
        await pilot.press("escape")
        assert app.fast_forward is None
        step = app.snapshot.step
        assert 0 < step < 10_000_000
        await pilot.pause(0.2)
        assert app.snapshot.step == step


async def test_divergence_stops_auto_run_and_says_why() -> None:
    app = BackpropApp(learning_rate=1.0)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(len(SPEEDS)):
            await pilot.press("right_square_bracket")
        await pilot.press("a")
        for _ in range(100):
            await pilot.pause(0.05)
            if not app.auto:
                break
        assert app.snapshot.status.kind is StatusKind.DIVERGED
        assert "diverged" in training_text(app)
        assert "too large" in training_text(app)
        await pilot.press("u")
        assert app.snapshot.status.kind is StatusKind.TRAINING


async def test_resize_below_the_minimum_and_back() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.resize_terminal(50, 15)
        await pilot.pause()
        assert not app.query_one("#main").display or app.query_one("#main").region.area == 0
        assert "at least 70×20 (now 50×15)" in str(app.query_one("#too-small").content)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.query_one("#main").region.area > 0
        await pilot.press("space")
        assert app.snapshot.phase is Phase.FORWARD


PALETTE = [
    ("Next phase", lambda a: a.snapshot.phase is Phase.FORWARD),
    ("One whole step", lambda a: a.snapshot.step == 1),
    ("Learning rate up", lambda a: a.snapshot.learning_rate == 0.2),
    ("Learning rate down", lambda a: a.snapshot.learning_rate == 0.1),
    ("Undo", lambda a: a.snapshot.learning_rate == 0.2),
    ("Reset", lambda a: a.snapshot.step == 0),
    ("Next parameter", lambda a: a.selected == 1),
    ("Previous parameter", lambda a: a.selected == 0),
    ("Next sample", lambda a: a.sample == 1),
    ("Previous sample", lambda a: a.sample == 0),
    ("Loss curve / landscape / boundary", lambda a: a.view == "landscape"),
    ("Auto-run faster", lambda a: a.speed == SPEEDS[3]),
    ("Auto-run slower", lambda a: a.speed == SPEEDS[2]),
    ("Quiz on/off", lambda a: a.quiz),
    ("Quiz on/off", lambda a: not a.quiz),
    ("Fine steps on/off", lambda a: a.session.fine and a.snapshot.fine),
    ("Fine steps on/off", lambda a: not a.snapshot.fine),
    ("Lesson notes on/off", lambda a: not a.lesson),
    ("Maximize panel", lambda a: a.screen.maximized is a.query_one(ChainRulePanel)),
    ("Maximize panel", lambda a: a.screen.maximized is None),
    ("Auto-run on/off", lambda a: a.auto),
    ("Auto-run on/off", lambda a: not a.auto),
    ("Save trace", lambda a: len(list(a.save_dir.glob("backprop-trace-*.md"))) == 1),
    ("Help", lambda a: isinstance(a.screen, HelpScreen)),
]
DIALOGS = {
    "Edit value": EditValueScreen,
    "Open scenario": OpenScenarioScreen,
    "Branch the run": BranchScreen,
}


async def test_every_palette_command_does_what_it_says(tmp_path: Path) -> None:
    app = BackpropApp(load_builtin("weight-and-bias"), save_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        ours = [c.title for c in keys.COMMANDS]
        assert set(ours) <= set(commands)  # every one of ours is in the palette
        tested = {title for title, _check in PALETTE} | set(DIALOGS) | {"Fast-forward"}
        tested.add("Gradient check")  # needs the backward phase: test_gradcheck_key.py
        tested.add("Next run")  # needs a branch: test_branches_ui.py
        tested.add("Hidden neuron maps")  # needs two inputs: test_boundary_view.py
        assert set(ours) == tested  # and each is checked below
        for title, check in PALETTE:
            await commands[title].callback()
            await pilot.pause()
            assert check(app), title
        await pilot.press("escape")
        for title, screen in DIALOGS.items():
            await commands[title].callback()
            await pilot.pause()
            assert isinstance(app.screen, screen), title
            await pilot.press("escape")
        await commands["Fast-forward"].callback()
        for _ in range(100):
            await pilot.pause(0.05)
            if app.fast_forward is None and app.snapshot.status.kind is StatusKind.CONVERGED:
                break
        assert app.snapshot.status.kind is StatusKind.CONVERGED


async def test_the_palette_itself_finds_and_runs_a_command() -> None:
    app = BackpropApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        app.screen.query_one(Input).value = "One whole step"
        await pilot.pause(0.2)
        await pilot.press("enter")
        await pilot.pause()
        assert app.snapshot.step == 1


BIG = """
name = "Big"
learning_rate = 0.1
loss = "mse"
[network]
layers = [6, 12, 12, 4]
activations = ["tanh", "tanh", "sigmoid"]
seed = 3
[[samples]]
x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
y = [0.0, 1.0, 0.0, 1.0]
"""


async def test_a_network_too_big_to_draw_becomes_a_table() -> None:
    from core.files.loader import parse

    app = BackpropApp(parse(BIG, "big.toml"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space")
        text = network_text(app)
        lines = text.splitlines()
        assert "┐" not in text  # no brackets: the table, not the drawing
        assert all(len(line) <= 78 for line in lines)
        # At 80x24 three rows of three fit under the neurons (the note once said w1–w18
        # while the panel's max-height hid w13–w18).
        assert "292 parameters; showing w1–w9" in text and "w1 " in text
        await pilot.press("tab")
        assert "Chain rule · w2" in str(app.query_one(ChainRulePanel).border_title)
        app.selected = app.snapshot.scenario.param_names.index("b1")
        await pilot.pause()
        assert "b1 " in network_text(app)  # the window follows the selection
