"""What the screen shows, as SVG snapshots at 80x24 and 120x40 (accept with --snapshot-update)."""

from __future__ import annotations

import pytest

from core.files.loader import load_builtin
from tui.app import BackpropApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
WALKS = {
    "start": [],
    "after_forward": ["space"],
    "after_backward": ["space", "space", "space"],
    "after_update": ["space", "space", "space", "space"],
    "landscape": ["space", "space", "space", "l"],
    "help": ["question_mark"],
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("walk", list(WALKS))
def test_story(snap_compare, size, walk) -> None:
    assert snap_compare(BackpropApp(), press=WALKS[walk], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_textbook_hidden_weight(snap_compare, size) -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    assert snap_compare(app, press=["space", "space", "space"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_xor_second_sample(snap_compare, size) -> None:
    app = BackpropApp(load_builtin("xor"))
    assert snap_compare(
        app, press=["enter", "space", "space", "space", "full_stop", "tab"], terminal_size=size
    )


@pytest.mark.parametrize("size", SIZES)
def test_diverged(snap_compare, size) -> None:
    app = BackpropApp(learning_rate=1.0)
    assert snap_compare(app, press=["enter"] * 4, terminal_size=size)


@pytest.mark.parametrize("size", [pytest.param((60, 18), id="60x18")])
def test_terminal_too_small(snap_compare, size) -> None:
    assert snap_compare(BackpropApp(), terminal_size=size)


@pytest.fixture
def chinese():
    from core.text.i18n import set_language

    set_language("zh")
    yield
    set_language("en")


@pytest.mark.parametrize("size", SIZES)
def test_chinese_story_after_backward(snap_compare, size, chinese) -> None:
    assert snap_compare(BackpropApp(), press=["space", "space", "space"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_chinese_textbook_with_quiz_feedback(snap_compare, size, chinese) -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"), quiz=True)

    async def answer(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("space", "space", "space")
        pilot.app.screen.query_one("#quiz-input").value = "0.000365"  # the updated-weight slip
        await pilot.press("enter")

    assert snap_compare(app, run_before=answer, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_chinese_help(snap_compare, size, chinese) -> None:
    assert snap_compare(BackpropApp(), press=["question_mark"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_english_quiz_feedback(snap_compare, size) -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"), quiz=True)

    async def answer(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("space", "space", "space")
        pilot.app.screen.query_one("#quiz-input").value = "0.000365"
        await pilot.press("enter")

    assert snap_compare(app, run_before=answer, terminal_size=size)


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24")])
def test_textbook_fine_hidden_delta(snap_compare, size) -> None:
    """Fine stepping at δ of h1: h1 marked, the δs above and w5, w7 marked, each δ beside."""
    app = BackpropApp(load_builtin("textbook-2-2-2"), fine=True)
    assert snap_compare(app, press=["space"] * 9, terminal_size=size)


async def _boundary_after_fast_forward(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await pilot.press("f")
    for _ in range(400):
        await pilot.pause(0.05)
        if app.fast_forward is None and app.session.status().done:
            break
    app.clear_notifications()  # the toast's timing is not the picture's subject
    await pilot.press("l", "l")


@pytest.mark.parametrize("size", SIZES)
def test_xor_boundary_after_fast_forward(snap_compare, size) -> None:
    app = BackpropApp(load_builtin("xor"))
    assert snap_compare(app, run_before=_boundary_after_fast_forward, terminal_size=size)


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24")])
def test_xor_boundary_ascii(snap_compare, size) -> None:
    app = BackpropApp(load_builtin("xor"), ascii_only=True)
    assert snap_compare(app, run_before=_boundary_after_fast_forward, terminal_size=size)
