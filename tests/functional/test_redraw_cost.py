"""What a step costs to redraw, counted (not timed): layout passes of the whole screen and
rebuilds of the footer, which the lab benchmark's CPU figures rest on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from core.files.loader import load_builtin
from tui.app import BackpropApp
from tui.panels.chain_panel import ChainRulePanel
from tui.panels.key_footer import KeyFooter


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times a screen has laid itself out, from now on."""
    count = [0]
    original = Screen._refresh_layout

    def counted(self: Screen[Any], *args: Any, **kwargs: Any) -> None:
        count[0] += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    yield count


def keys_shown(app: BackpropApp) -> list[FooterKey]:
    return list(app.query_one(KeyFooter).query(FooterKey))


async def test_the_footer_shows_its_keys_from_the_start() -> None:
    app = BackpropApp(load_builtin("single-weight"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        descriptions = [k.description for k in keys_shown(app)]
        assert "Step" in descriptions and "Quit" in descriptions


async def test_the_footer_is_rebuilt_only_when_a_key_it_shows_changes() -> None:
    app = BackpropApp(load_builtin("single-weight"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        before = keys_shown(app)
        assert [k.has_class("-disabled") for k in before if k.description == "Undo"] == [True]
        await pilot.press("space")  # the forward pass: now there is something to undo
        await pilot.pause()
        after = keys_shown(app)
        assert [k.has_class("-disabled") for k in after if k.description == "Undo"] == [False]
        assert after != before
        await pilot.press("space", "space", "enter")  # no key appears, goes or greys out
        await pilot.pause()
        assert keys_shown(app) == after  # the very same widgets


async def test_a_hundred_steps_of_xor_lay_the_screen_out_a_few_times_at_most(
    layouts: list[int],
) -> None:
    """A number one digit longer may wrap a line of the chain rule once; the body keeps its
    height after that instead of laying the screen out again when it is a line shorter
    (14 layout passes before it did, 6 since: two each time a line first wraps, and one
    lesson note that changes length)."""
    app = BackpropApp(load_builtin("xor"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        layouts[0] = 0
        for _ in range(100):
            await pilot.press("enter")
        await pilot.pause()
        chain = app.query_one(ChainRulePanel)
        assert chain.rows > chain.scrollable_content_region.height  # the case: it scrolls
        assert layouts[0] <= 8
