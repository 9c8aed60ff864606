"""Dialogs are keyboard-first: tab stays inside them, nothing acts behind them, esc and enter."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input, OptionList

from core.files.loader import load_builtin
from core.stepping.session import Phase
from tests.functional.pty_driver import Terminal
from tui.app import BackpropApp
from tui.dialogs.edit import EditValueScreen
from tui.dialogs.help import HelpScreen
from tui.dialogs.open import OpenScenarioScreen
from tui.dialogs.quiz import QuizScreen

SIZE = (80, 24)
MINE = (
    'name = "Mine"\nlearning_rate = 0.1\n[network]\nlayers = [1, 1]\n'
    'activations = ["identity"]\nbias = false\nweights = [[[2.0]]]\n'
    "[[samples]]\nx = [1.0]\ny = [1.0]\n"
)


def screen_rows(app: BackpropApp) -> list[str]:
    """The terminal's rows as plain text, the dialog drawn over the screen behind it."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text(styles=False).split("\n")[:height]


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press(ch)


@pytest.mark.parametrize(
    ("keys", "dialog"),
    [
        (["question_mark"], HelpScreen),
        (["equals_sign"], EditValueScreen),
        (["o"], OpenScenarioScreen),
        (["t", "space", "space", "space"], QuizScreen),
    ],
)
async def test_tab_moves_focus_inside_a_dialog_and_nothing_acts_behind_it(
    keys: list[str], dialog: type
) -> None:
    app = BackpropApp(load_builtin("weight-and-bias"))  # two parameters: tab behind would show
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        assert isinstance(app.screen, dialog)
        snap = app.snapshot
        for key in ("tab", "shift+tab", "a", "r", "plus", "f", "space"):
            await pilot.press(key)
            assert app.selected == 0, key
            assert app.focused is None or app.focused.screen is app.screen, key
        assert isinstance(app.screen, dialog)
        assert app.snapshot is snap  # no step, rate, reset or auto-run behind the dialog
        assert not app.auto and app.fast_forward is None
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, dialog)
        await pilot.press("tab")  # and back on the main screen tab selects again
        assert app.selected == 1


async def test_tab_in_the_open_dialog_goes_between_the_path_and_the_list() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.focused, Input)  # typed text goes to the path
        await pilot.press("tab")
        assert isinstance(app.focused, OptionList)
        await pilot.press("shift+tab")
        assert isinstance(app.focused, Input)
        await pilot.press("down")  # down from the path goes to the list, too
        assert isinstance(app.focused, OptionList)


async def test_open_a_typed_path_with_completion(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mine.toml").write_text(MINE)
    monkeypatch.chdir(tmp_path)
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await type_text(pilot, "mi")
        await pilot.pause(0.2)  # the suggestion comes from a worker
        await pilot.press("right")  # takes the completion
        assert app.screen.query_one("#open-path", Input).value == "mine.toml"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, OpenScenarioScreen)
        assert app.snapshot.scenario.name == "Mine"
        assert app.snapshot.params == (2.0,)


async def test_a_typed_name_filters_the_list_and_completes_a_builtin() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await type_text(pilot, "tex")
        await pilot.pause(0.2)  # the suggestion comes from a worker
        listed = app.screen.query_one(OptionList)
        ids = [listed.get_option_at_index(i).id for i in range(listed.option_count)]
        assert ids == ["builtin:textbook-2-2-2"]
        await pilot.press("right")  # takes the completion
        assert app.screen.query_one("#open-path", Input).value == "textbook-2-2-2"
        await pilot.press("enter")
        await pilot.pause()
        assert app.snapshot.scenario.name == load_builtin("textbook-2-2-2").name


async def test_a_file_of_this_folder_is_in_the_list(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mine.toml").write_text(MINE)
    monkeypatch.chdir(tmp_path)
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o", "down", "end", "enter")  # the files come after the five built-ins
        await pilot.pause()
        assert app.snapshot.scenario.name == "Mine"


async def test_a_bad_path_shows_the_whole_message_and_the_dialog_stays(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rate = 'fast'\n")
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await type_text(pilot, "textbok")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OpenScenarioScreen)
        box = app.screen.query_one("#open-box").region
        inside = [row[box.x + 1 : box.right - 1] for row in screen_rows(app)[box.y : box.bottom]]
        screen = " ".join(" ".join(row.split()) for row in inside)
        # The message wraps inside the box: its end, past column 80, is on screen too.
        assert "(did you mean textbook-2-2-2?)" in screen
        assert "or give a path to a .toml file" in screen
        app.screen.query_one("#open-path", Input).value = str(bad)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OpenScenarioScreen)
        assert "learning_rate" in str(app.screen.query_one("#open-error").content)
        assert app.snapshot.scenario.name == "Single weight"  # nothing opened


async def test_open_a_builtin_from_the_list_with_the_keyboard() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        # down: to the list (single-weight), down, down: hidden-neuron, enter opens it
        await pilot.press("o", "down", "down", "down", "enter")
        await pilot.pause()
        assert app.snapshot.scenario.name == load_builtin("hidden-neuron").name


async def test_undo_after_opening_returns_to_the_old_scenario_exactly() -> None:
    app = BackpropApp(load_builtin("weight-and-bias"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter", "enter", "space", "plus", "tab", "l")
        before = app.snapshot
        assert (before.step, before.phase, before.learning_rate) == (3, Phase.FORWARD, 0.2)
        await pilot.press("o", "down", "down", "down", "down", "enter")  # textbook-2-2-2
        await pilot.pause()
        assert app.snapshot.scenario.name == load_builtin("textbook-2-2-2").name
        notes = [n.message for n in app._notifications]
        assert any("u returns to" in note and "step 3" in note for note in notes), notes
        assert app.check_action("undo", ()) is True  # its own session cannot undo yet
        await pilot.press("space", "u")  # undo in the new scenario first undoes its own phase
        assert app.snapshot.scenario.name == load_builtin("textbook-2-2-2").name
        await pilot.press("u")
        await pilot.pause()
        assert app.snapshot is before  # the same session, at step 3 in its forward phase
        assert (app.selected, app.view) == (1, "landscape")
        assert app.check_action("undo", ()) is True  # and its own history is still there
        await pilot.press("u")  # the rate change made before opening
        assert (app.snapshot.step, app.snapshot.learning_rate) == (3, 0.1)


async def test_escape_closes_every_dialog_and_enter_confirms() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("question_mark", "equals_sign", "o"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is not app.screen_stack[0], key
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is app.screen_stack[0], key
        await pilot.press("equals_sign")
        app.screen.query_one(Input).value = "0.5"
        await pilot.press("enter")
        await pilot.pause()
        assert app.snapshot.params == (0.5,)


def panel_step(app: BackpropApp) -> int:
    """The step number the Training panel shows (in its title or its text)."""
    panel = app.query_one("#training")
    text = f"{panel.border_title} {app.query_one('#training-body').content}"
    found = re.findall(r"step (\d+)", text)
    assert len(found) == 1, text
    return int(found[0])


async def test_quiz_title_and_training_panel_name_the_same_step() -> None:
    app = BackpropApp(quiz=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space")  # the first gradient is due
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        title = str(app.screen.query_one("#quiz-box").border_title)
        assert panel_step(app) == 0  # no update done yet
        assert title.endswith("update 1 (from step 0)"), title
        app.screen.query_one("#quiz-input", Input).value = "2.1"  # 2(1.2 − 0.5)·1.5
        await pilot.press("enter", "enter")
        assert [g.step for g in app.score.grades] == [1]  # the report's step column: update 1
        await pilot.press("t", "enter", "t")  # one whole step without the quiz
        await pilot.press("space", "space", "space")
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        title = str(app.screen.query_one("#quiz-box").border_title)
        assert panel_step(app) == 1
        assert title.endswith("update 2 (from step 1)"), title


async def test_ascii_footer_names_enter_in_words() -> None:
    app = BackpropApp(ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = screen_rows(app)[-1].split()
        assert "enter" in footer and "Step" in footer
        assert "R" not in footer and "⏎" not in footer
        assert footer[footer.index("Step") - 1] == "enter"
        assert all(ch.isascii() for ch in "".join(screen_rows(app)))


@pytest.mark.parametrize("ascii_only", [False, True])
async def test_help_lines_wrap_under_their_description(ascii_only: bool) -> None:
    app = BackpropApp(ascii_only=ascii_only)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        box = app.screen.query_one("#help-body")
        lines = [strip.text.rstrip() for strip in box.render_lines(box.region.reset_offset)]
        headings = {"Stepping", "Looking closer", "Changing things", "Reading the screen"}
        body = [line for line in lines if line and line not in headings]
        assert len(body) > 20
        assert all(line.startswith("  ") for line in body), body
        # A wrapped description goes on under its own column: the key column is blank.
        key_column = lines[1].index("next phase")
        continued = [line for line in body if line[:key_column].isspace()]
        assert all(line[key_column] != " " for line in continued if len(line) > key_column)
        if ascii_only:
            assert all(line.isascii() for line in lines)
            assert any(line.split()[:2] == ["up", "down"] for line in body)


def test_open_a_typed_path_in_a_real_terminal_without_the_mouse(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(MINE)
    term = Terminal(["--no-mouse"], size=SIZE, env={"XDG_STATE_HOME": str(tmp_path)})
    try:
        assert term.wait_for(b"Chain rule", 20), term.output[-2000:]
        term.press("o")
        assert term.wait_for(b"Open a scenario")
        for ch in str(tmp_path / "mine.toml"):
            term.press(ch, settle=0.02)
        term.press("\r")
        assert term.wait_for(b"Opened Mine"), term.screen_text()
        term.press("q")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output


@pytest.mark.parametrize(
    ("keys", "dialog", "phase"),
    [
        (["question_mark"], HelpScreen, Phase.UPDATE),
        (["equals_sign"], EditValueScreen, Phase.UPDATE),  # its Input would take ctrl+c (copy)
        (["o"], OpenScenarioScreen, Phase.UPDATE),
        (["t", "space", "space", "space"], QuizScreen, Phase.LOSS),  # the gradient is due
    ],
)
async def test_ctrl_c_quits_from_every_dialog_and_keeps_the_session(
    tmp_path: Path, keys: list[str], dialog: type, phase: Phase
) -> None:
    from core.files import persist

    state = tmp_path / "session.json"
    app = BackpropApp(state_file=state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", *keys)  # a step first: the kept session is not a fresh one
        await pilot.pause()
        assert isinstance(app.screen, dialog)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code == 0  # exit(0) was called, here, by ctrl+c
        assert state.exists()
    assert not app.is_running
    session, ui = persist.load(state)
    assert (session.snapshot.step, session.snapshot.phase) == (1, phase)
    assert ui["quiz"] is (dialog is QuizScreen)


async def test_q_keeps_its_meaning_inside_a_dialog() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("equals_sign")
        await pilot.pause()
        await pilot.press("q")  # typed into the value
        assert isinstance(app.screen, EditValueScreen)
        assert "q" in app.screen.query_one(Input).value
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        await pilot.press("q")  # closes the help, and only the help
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert app.return_code is None and app.is_running


async def test_ctrl_l_repaints_anywhere_and_changes_nothing() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "ctrl+l")
        await pilot.pause()
        assert app.snapshot.phase is Phase.FORWARD and app.screen is app.screen_stack[0]
        await pilot.press("equals_sign")
        await pilot.pause()
        typed = app.screen.query_one(Input).value
        await pilot.press("ctrl+l")  # priority: the Input does not take it, the dialog stays
        await pilot.pause()
        assert isinstance(app.screen, EditValueScreen)
        assert app.screen.query_one(Input).value == typed
        assert app.snapshot.phase is Phase.FORWARD and app.is_running


async def test_the_open_list_shows_a_builtin_a_line_and_the_highlighted_ones_description() -> None:
    from core.files.loader import BUILTINS

    names = list(BUILTINS)
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o", "down", "down")
        await pilot.pause()
        rows = screen_rows(app)
        box = app.screen.query_one("#open-list").region
        inside = [
            row[box.x : box.right].strip(" ▊▎▁▂▃▄▅▆▇█▀▔")  # the border and the scroll bar
            for row in rows[box.y + 1 : box.bottom - 1]
        ]
        k = min(len(names), len(inside))
        assert k >= 6  # at 80x24 the list has room for six built-ins at least
        assert inside[:k] == names[:k]  # one line each, in order, nothing wrapped
        about = app.screen.query_one("#open-about").region
        assert rows[about.y][about.x : about.right].strip() == load_builtin(names[1]).description
