"""The g key: the gradient check in a dialog, in the backward and update phases only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.files.loader import load_builtin
from core.stepping.session import Phase
from core.teaching.gradcheck import check, lines
from tests.functional.screen import screen_text
from tui.app import BackpropApp
from tui.dialogs.gradcheck import GradientCheckScreen

ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}


async def test_g_opens_the_check_only_where_the_gradient_is_shown() -> None:
    app = BackpropApp(load_builtin("single-weight"))
    async with app.run_test(size=(80, 24)) as pilot:
        for phase in (Phase.READY, Phase.FORWARD, Phase.LOSS):
            assert app.snapshot is not None and app.snapshot.phase is phase
            assert app.check_action("gradient_check", ()) is None  # greyed out
            await pilot.press("g")
            await pilot.pause()
            assert not isinstance(app.screen, GradientCheckScreen), phase
            await pilot.press("space")
        for phase, close in ((Phase.BACKWARD, "escape"), (Phase.UPDATE, "enter")):
            await pilot.pause()
            assert app.snapshot is not None and app.snapshot.phase is phase
            await pilot.press("g")
            await pilot.pause()
            assert isinstance(app.screen, GradientCheckScreen), phase
            text = "\n".join(screen_text(app))
            assert "Gradient check · w" in text
            assert "backward pass ∂J/∂w = 2.1" in text  # ∂J/∂w = 4.5·0.8 − 1.5 at w = 0.8
            assert "central difference" in text and "agree to " in text
            await pilot.press(close)
            await pilot.pause()
            assert not isinstance(app.screen, GradientCheckScreen)
            if phase is Phase.BACKWARD:
                await pilot.press("space")
        # g closes it too, and the app's keys do not act behind it.
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GradientCheckScreen)
        await pilot.press("space")
        assert app.session.phase is Phase.UPDATE
        await pilot.press("g")
        await pilot.pause()
        assert not isinstance(app.screen, GradientCheckScreen)


@pytest.mark.parametrize("size", [(80, 24), (70, 20)])
async def test_nothing_of_the_check_is_cut(size: tuple[int, int]) -> None:
    # The textbook's hidden weight has the longest numbers of the built-ins.
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=size) as pilot:
        await pilot.press("space", "space", "space", "g")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GradientCheckScreen)
        box = screen.query_one("#gradcheck-box")
        width, height = size
        assert box.region.right <= width and box.region.bottom <= height
        assert box.max_scroll_y == 0  # all of it shows, none scrolled out of sight
        inner = box.scrollable_content_region
        rows = screen_text(app)[inner.y : inner.bottom]
        shown = " ".join(row[inner.x : inner.right] for row in rows).split()
        assert app.snapshot is not None
        expected = "\n".join(lines(check(app.snapshot, 0))).split()
        assert " ".join(expected) in " ".join(shown)
        assert "esc, enter or g closes" in " ".join(shown)


def test_explain_prints_the_check_within_80_columns() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--explain", "w", "--steps", "2"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**ENV, "COLUMNS": "200"},
        timeout=60,
        check=True,
    ).stdout
    assert out.count("gradient check of w (central difference):") == 2
    # Step 1 at w = 0.8 and step 2 at w = 0.59: ∂J/∂w = 4.5w − 1.5 = 2.1, then 1.155.
    assert "backward pass ∂J/∂w = 2.1\n" in out
    assert "backward pass ∂J/∂w = 1.155\n" in out
    assert out.count("agree to ") == 2
    assert max(len(line) for line in out.splitlines()) <= 80


async def test_the_palette_command_opens_the_check_in_the_backward_phase() -> None:
    app = BackpropApp(load_builtin("weight-and-bias"))
    async with app.run_test(size=(80, 24)) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        await commands["Gradient check"].callback()  # in the ready phase: nothing to check
        await pilot.pause()
        assert not isinstance(app.screen, GradientCheckScreen)
        said = [n.message for n in app._notifications]
        assert said and "backward phase" in said[-1]  # not silently nothing
        await pilot.press("space", "space", "space", "tab")
        await commands["Gradient check"].callback()
        await pilot.pause()
        assert isinstance(app.screen, GradientCheckScreen)
        assert app.screen.result.name == "b"  # the selected parameter
        # Hand: ŷ = 0.8x, errors 1.2 − 0.5 and −0.4 + 0.5 → ∂J/∂b = mean of 2·0.7, 2·0.1 = 0.8.
        assert "backward pass ∂J/∂b = 0.8" in "\n".join(screen_text(app))
