"""Fine stepping in the app: d and --fine, space/enter/undo, what the panels say, the quiz."""

from __future__ import annotations

import math

from textual.widgets import Input

from core.files.loader import load_builtin
from core.stepping.session import Phase
from tests.functional.screen import screen_text
from tui.app import BackpropApp
from tui.dialogs.quiz import QuizScreen
from tui.panels.network_panel import NetworkPanel


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# Textbook 2-2-2 by hand: h1 = σ(0.05·0.15 + 0.1·0.2 + 0.35), and so on up.
H1, H2 = _sigmoid(0.3775), _sigmoid(0.3925)
O1 = _sigmoid(0.4 * H1 + 0.45 * H2 + 0.6)
O2 = _sigmoid(0.5 * H1 + 0.55 * H2 + 0.6)
D_O1 = (O1 - 0.01) * O1 * (1 - O1)
D_O2 = (O2 - 0.99) * O2 * (1 - O2)
D_H1 = H1 * (1 - H1) * (0.4 * D_O1 + 0.5 * D_O2)


def g6(x: float) -> str:
    return f"{x:.6g}".replace("-", "−")


def text_of(app: BackpropApp) -> str:
    return "\n".join(screen_text(app))


def training_line(app: BackpropApp) -> str:
    return str(app.query_one("#training-body").render()).split("\n")[0]


async def test_d_toggles_fine_steps_and_space_moves_one_neuron() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d")
        await pilot.pause()
        assert app.session.fine and app.snapshot is not None and app.snapshot.fine
        await pilot.press("space")
        await pilot.pause()
        assert training_line(app) == "forward · h1 · 1 of 4"
        network = app.query_one(NetworkPanel).render().plain
        assert "▶h1 +0.5933" in network and "h2 ?" in network  # h2 is not computed yet
        await pilot.press(*["space"] * 8)
        await pilot.pause()
        assert training_line(app) == "backward · δ of h1 · 3 of 12"
        await pilot.press("u")
        await pilot.pause()
        assert training_line(app) == "backward · δ of ŷ2 · 2 of 12"
        await pilot.press("d")
        await pilot.pause()
        assert not app.session.fine
        assert training_line(app).startswith("forward loss backward update")


async def test_enter_takes_the_whole_step_in_fine_mode() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"), fine=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        snap = app.snapshot
        assert snap is not None and snap.step == 1 and snap.phase is Phase.UPDATE
        assert training_line(app) == "update · every parameter"
        await pilot.press("space")
        await pilot.pause()
        assert app.snapshot.phase is Phase.FORWARD and app.snapshot.substep == 0  # type: ignore[union-attr]


async def test_the_screen_at_a_hidden_delta() -> None:
    """At 80x24: the δ sub-step's formula and numbers (worked out by hand above), the δs
    read marked, every δ so far beside its neuron."""
    app = BackpropApp(load_builtin("textbook-2-2-2"), fine=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["space"] * 9)
        await pilot.pause()
        text = text_of(app)
        assert "δ_h1 = h1(1 − h1) · (w5·δ_ŷ1 + w7·δ_ŷ2)" in text
        assert f"{g6(H1 * (1 - H1))} · (0.4·{g6(D_O1)}" in text
        assert f"= {g6(D_H1)}" in text
        network = app.query_one(NetworkPanel).render().plain.split("\n")
        assert "▶h1" in network[0]
        assert "•┐•ŷ1" in network[0] and "•┐•ŷ2" in network[3]  # w5, w7 and the δs they carry
        assert "δ+0.138" in network[2] and "δ−0.0381" in network[5]  # δ_ŷ1, δ_ŷ2 stay
        assert "δ+0.00877" in network[1]  # δ_h1 beside h1, now computed
        assert "δ" not in network[4]  # δ_h2: not yet


async def test_the_output_delta_in_the_chain_panel() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"), fine=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["space"] * 7)
        await pilot.pause()
        text = text_of(app)
        assert "δ_ŷ1 = (ŷ1 − y1) · ŷ1(1 − ŷ1)" in text
        assert "0.741365 · 0.186816 = 0.138499" in text


async def test_ascii_reads_the_marks() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"), fine=True, ascii_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["space"] * 9)
        await pilot.pause()
        lines = screen_text(app)
        assert all(line.isascii() for line in lines), [ln for ln in lines if not ln.isascii()]
        text = "\n".join(lines)
        assert ">h1" in text and "*+*y^1" in text
        assert "delta_h1 = h1(1 - h1) * (w5*delta_y^1" in text
        assert "delta+0.138" in text


async def test_deep_and_xor_fit_at_80x24() -> None:
    for name, presses in (("deep-sigmoid", 16), ("xor", 12)):
        app = BackpropApp(load_builtin(name), fine=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*["space"] * presses)
            await pilot.pause()
            network = app.query_one(NetworkPanel)
            lines = network.render().plain.split("\n")
            assert max(len(line) for line in lines) <= network.content_size.width, name
            assert any("▶" in line for line in lines), name
            assert "δ" in training_line(app) or "∂J/∂" in training_line(app), name


async def test_quiz_asks_each_neuron_before_it_is_shown() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"), fine=True, quiz=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        assert "h1 = ?" in text_of(app)
        behind = app.query_one(NetworkPanel).render().plain
        assert "h1 ?" in behind  # not shown until answered
        app.screen.query_one("#quiz-input", Input).value = f"{H1:.6f}"
        await pilot.press("enter")
        await pilot.pause()
        assert "Right" in text_of(app)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, QuizScreen)
        assert "▶h1 +0.5933" in app.query_one(NetworkPanel).render().plain
        assert app.score.asked == 1 and app.score.right == 1


async def test_quiz_on_a_delta_names_the_dropped_slope_and_esc_stays() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"), fine=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["space"] * 8, "t")
        await pilot.pause()
        await pilot.press("space")  # δ of h1 is due
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen) and "δ_h1 = ?" in text_of(app)
        app.screen.query_one("#quiz-input", Input).value = f"{0.4 * D_O1 + 0.5 * D_O2:.6g}"
        await pilot.press("enter")
        await pilot.pause()
        assert "missing activation derivative" in text_of(app)
        await pilot.press("enter")
        await pilot.pause()
        assert training_line(app) == "backward · δ of h1 · 3 of 12"
        await pilot.press("space")  # δ of h2: skipped with esc, it stays unshown
        await pilot.pause()
        assert isinstance(app.screen, QuizScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, QuizScreen)
        assert training_line(app) == "backward · δ of h1 · 3 of 12"
        assert app.session.snapshot.substep == 8


async def test_fine_steps_are_kept_with_the_session(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.files import persist

    state = tmp_path / "session.json"
    app = BackpropApp(load_builtin("xor"), fine=True, state_file=state)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space", "space")
        await pilot.press("q")
    session, ui = persist.load(state)
    assert ui["fine"] is True and not session.fine  # the mode is the app's to restore
    again = BackpropApp(session=session, ui=ui)
    assert again.session.fine and again.snapshot is not None and again.snapshot.fine
    assert again.snapshot.phase is Phase.FORWARD  # the phase (its sub-steps count as done)
