"""Side-by-side runs in the app: b branches (keyboard only), v switches, the loss panel's legend,
undo removes a branch at its start, auto-run races the runs, and resume keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.files import persist
from core.stepping.branches import path
from core.text.format import to_ascii
from tui.app import BackpropApp
from tui.dialogs.branch import BranchScreen
from tui.panels.loss_panel import LossPanel
from tui.panels.training_panel import TrainingPanel

SIZE = (80, 24)


def story_w(steps: int, lr: float, w: float = 0.8) -> float:
    """The story's weight after `steps` updates, by hand: ∂J/∂w = 4.5w − 1.5."""
    for _ in range(steps):
        w -= lr * (4.5 * w - 1.5)
    return w


def legend(panel: LossPanel) -> str:
    """The loss panel's subtitle as it reads (the border keeps it as markup)."""
    return to_ascii(str(panel.border_subtitle)).replace("\\[", "[")


async def branch(pilot, value: str, downs: int = 0) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("b")
    await pilot.pause()
    assert isinstance(pilot.app.screen, BranchScreen)
    await pilot.press(*["down"] * downs, *["backspace"] * 12, *value, "enter")
    await pilot.pause()


async def test_b_branches_with_a_typed_rate_and_v_switches() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter")
        await branch(pilot, "0.5")
        assert len(app.runs) == 2 and app.runs.active == 1
        assert app.session.learning_rate == 0.5 and app.runs.current.at == 2
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert app.session.snapshot.params[0] == pytest.approx(story_w(2, 0.5, story_w(2, 0.1)))
        assert app.runs.main.snapshot.step == 2  # the main run stayed where it was
        panel = app.query_one(TrainingPanel)
        assert "lr 0.5" in str(panel.border_subtitle)
        assert "step 4" in str(panel.border_title)  # counted as the loss curve counts
        await pilot.press("v")
        await pilot.pause()
        assert app.runs.active == 0 and app.snapshot is app.runs.main.snapshot
        assert "step 2" in str(panel.border_title)


async def test_esc_cancels_the_dialog_and_bad_values_say_why() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BranchScreen) and len(app.runs) == 1
        await pilot.press("b", *["backspace"] * 12, "-", "1", "enter")
        await pilot.pause()
        assert isinstance(app.screen, BranchScreen) and len(app.runs) == 1
        assert "positive" in str(app.screen.query_one("#branch-error").render())
        await pilot.press("escape")


async def test_v_does_nothing_with_one_run() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        assert app.check_action("switch_run", ()) is None
        await pilot.press("v")
        assert app.runs.active == 0


async def test_the_legend_names_every_run_with_its_marker_and_the_active_one() -> None:
    app = BackpropApp(ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await branch(pilot, "0.5")
        await pilot.press("enter")
        await pilot.pause()
        loss = app.query_one(LossPanel)
        assert legend(loss) == "* main  [x lr 0.5]"
        assert str(loss.border_title).startswith("lr 0.5:")
        await pilot.press("v")
        await pilot.pause()
        assert legend(loss) == "[* main]  x lr 0.5"
        await pilot.press("plus")  # the main run's rate changes: the label of the branch does not
        await pilot.pause()
        assert legend(loss) == "[* main]  x lr 0.5"


async def test_undo_walks_a_branch_back_then_removes_it() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await branch(pilot, "0.2")
        await pilot.press("enter", "u")
        await pilot.pause()
        assert len(app.runs) == 2 and app.session.snapshot.step == 0
        await pilot.press("u")
        await pilot.pause()
        assert len(app.runs) == 1 and app.snapshot is app.runs.main.snapshot
        assert app.query_one(LossPanel).runs is None
        await pilot.press("u")  # on in the main run
        await pilot.pause()
        assert app.session.snapshot.step == 0


async def test_auto_run_races_the_runs_until_each_is_done() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await branch(pilot, "0.5")
        app.speed = 50.0
        await pilot.press("a")
        for _ in range(200):
            await pilot.pause(0.05)
            if not app.auto:
                break
        assert not app.auto
        kinds = [b.session.status().kind.value for b in app.runs.branches]
        assert kinds == ["converged", "diverged"]  # lr 0.1 shrinks w − 1/3, lr 0.5 grows it
        # Both took steps side by side: the branch stopped once it blew up, the main run went on.
        assert app.runs.main.snapshot.step > app.runs.branches[1].session.snapshot.step > 5


async def test_resume_keeps_the_branches(tmp_path: Path) -> None:
    state = tmp_path / "session.json"
    app = BackpropApp(state_file=state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter")
        await branch(pilot, "0.5")
        await pilot.press("enter", "enter", "enter", "space")
        await pilot.press("v", "enter")
        await pilot.pause()
        await pilot.press("v")  # the branch is active when it quits
        await pilot.press("q")
        await pilot.pause()
    session, ui = persist.load(state)
    assert session.snapshot.step == 3
    again = BackpropApp(session=session, ui=ui)
    async with again.run_test(size=SIZE) as pilot:
        runs = again.runs
        assert len(runs) == 2 and runs.active == 1 and runs.current.at == 2
        snap = again.session.snapshot
        assert snap.step == 3 and snap.phase.value == "forward" and snap.learning_rate == 0.5
        assert snap.params[0] == pytest.approx(story_w(3, 0.5, story_w(2, 0.1)), rel=1e-12)
        assert list(snap.history.losses) == pytest.approx(
            [(1.5 * story_w(k, 0.5, story_w(2, 0.1)) - 0.5) ** 2 for k in range(4)], rel=1e-12
        )
        await pilot.press("u", "u", "u", "u")  # the forward phase, then the three steps
        await pilot.pause()
        assert again.session.snapshot.step == 0 and len(again.runs) == 2
        await pilot.press("u")
        await pilot.pause()
        assert len(again.runs) == 1


async def test_a_broken_record_of_the_branches_leaves_the_main_run() -> None:
    app = BackpropApp(ui={"runs": {"active": 3, "branches": [{"change": 1}]}})
    async with app.run_test(size=SIZE):
        assert len(app.runs) == 1


async def test_fast_forward_races_the_others_when_the_active_run_has_diverged() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await branch(pilot, "0.5")
        for _ in range(30):
            app.session.step()
        assert app.session.status().kind.value == "diverged"
        app._show(app.session.snapshot)
        assert app.check_action("fast_forward", ()) is True  # the main run is still training
        assert app.check_action("step", ()) is None  # but this one has nothing left to step
        await pilot.press("f")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.fast_forward is None:
                break
        main = app.runs.main.snapshot
        assert main.status.kind.value == "converged" and main.step > 20
        assert app.runs.active == 1 and app.session.snapshot.step == 30  # it stayed as it was
        # The loss curve has both runs; the title is the active one's.
        assert str(app.query_one(LossPanel).border_title).startswith("lr 0.5:")


@pytest.mark.parametrize("ascii_only", [False, True])
async def test_the_overlay_of_a_diverging_and_a_converging_run_has_sound_axes(
    ascii_only: bool,
) -> None:
    from tests.functional.plot_audit import axis_problems, inside

    app = BackpropApp(ascii_only=ascii_only)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter", "enter")
        await branch(pilot, "0.5")
        for _ in range(12):
            for s in app.runs.racing():
                s.step()
        app._show(app.session.snapshot)
        await pilot.pause()
        loss = app.query_one(LossPanel)
        title = str(loss.border_title)
        assert " log " in f" {title} "  # J spans decades: one growing, one shrinking
        lines = inside(app, loss)  # type: ignore[arg-type]  # (App is invariant in its result)
        assert not axis_problems(lines, title), (title, lines)
        marks = "".join(lines)
        assert "x" in marks  # the branch's own marker, and the main run's line:
        assert "*" in marks if ascii_only else any("\u2800" < c <= "\u28ff" for c in marks)


async def test_the_landscape_shows_where_each_run_went() -> None:
    from tests.functional.plot_audit import inside

    app = BackpropApp(ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b", "down", "enter")  # momentum, from step 0
        assert app.runs.current.label() == "momentum"
        for _ in range(8):
            for s in app.runs.racing():
                s.step()
        app._show(app.session.snapshot)
        await pilot.press("v", "l")  # the main run's landscape
        await pilot.pause()
        canvas = "".join(inside(app, app.query_one(LossPanel)))  # type: ignore[arg-type]
        # Momentum overshoots 1/3 (the bowl's bottom): its path has points on both sides of it.
        ws = [w for w, _ in path(app.runs.branches[1].session.snapshot, 0)]
        assert min(ws) < 1 / 3 < max(ws)
        assert "x" in canvas and "o" in canvas and "O" in canvas


async def test_opening_a_scenario_keeps_the_runs_for_undo() -> None:
    from core.files.loader import load_builtin

    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await branch(pilot, "0.5")
        app.open_scenario(load_builtin("xor"))
        await pilot.pause()
        assert len(app.runs) == 1 and app.query_one(LossPanel).runs is None
        await pilot.press("u")
        await pilot.pause()
        assert len(app.runs) == 2 and app.runs.active == 1
        assert app.session.scenario.name == "Single weight"
