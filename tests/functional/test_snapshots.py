"""What the screen shows, as SVG snapshots at 80x24 and 120x40 (accept with --snapshot-update)."""

from __future__ import annotations

import pytest

from core.loader import load_builtin
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
