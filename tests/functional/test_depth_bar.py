"""The gradient size per layer under the network, and the multiplication count in the help."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from core.files.loader import load_builtin
from tests.functional.screen import press_and_capture
from tui.app import BackpropApp
from tui.dialogs.help import HelpScreen

SIZE = (80, 24)
# layer, bar, rms: "1 ▄ 3.9e−4"
ITEM = re.compile(r"(\d) (\S) (\d[\d.]*(?:e[−-]\d+)?)")


async def test_the_bars_show_in_the_backward_phase_and_not_before(tmp_path: Path) -> None:
    app = BackpropApp(load_builtin("deep-sigmoid"), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        for phase in ("forward", "loss"):
            shot = await press_and_capture(pilot, phase, "space")
            assert shot.panels["network"].subtitle == "", phase
        shot = await press_and_capture(pilot, "backward", "space")
        assert app.session.snapshot.phase.value == "backward"
        net = shot.panels["network"]
        edge = shot.row(net.region.bottom - 1, net.region.x, net.region.right)
        # Written out in full in the border, at 80 columns, with every layer's size.
        assert "rms ∂J/∂w by layer:" in edge and "…" not in edge
        items = ITEM.findall(edge)
        assert [int(layer) for layer, _bar, _v in items] == [1, 2, 3, 4]
        bars = "▁▂▃▄▅▆▇█"
        heights = [bars.index(bar) for _layer, bar, _v in items]
        assert heights == sorted(heights) and heights[-1] == len(bars) - 1
        assert heights[0] < heights[-1]  # the first layer's bar is visibly lower
        values = [float(v.replace("−", "-")) for _layer, _bar, v in items]
        assert values == sorted(values)
        shot = await press_and_capture(pilot, "update", "space")
        assert shot.panels["network"].subtitle.startswith("rms ∂J/∂w by layer:")
        shot = await press_and_capture(pilot, "next forward", "space")
        assert shot.panels["network"].subtitle == ""


async def test_no_bars_without_a_hidden_layer(tmp_path: Path) -> None:
    app = BackpropApp(load_builtin("single-weight"), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        shot = await press_and_capture(pilot, "backward", "space", "space", "space")
        assert app.session.snapshot.shows_gradients
        assert shot.panels["network"].subtitle == ""


async def test_ascii_bars_are_ascii(tmp_path: Path) -> None:
    app = BackpropApp(load_builtin("deep-sigmoid"), ascii_only=True, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        shot = await press_and_capture(pilot, "backward", "space", "space", "space")
        subtitle = shot.panels["network"].subtitle
        assert subtitle.startswith("rms dJ/dw by layer:") and subtitle.isascii()
        items = ITEM.findall(subtitle)
        assert len(items) == 4
        ramp = "_.:-=+%#"
        heights = [ramp.index(bar) for _layer, bar, _v in items]
        assert heights == sorted(heights) and heights[0] < heights[-1] == len(ramp) - 1


async def test_the_help_counts_this_networks_multiplications(tmp_path: Path) -> None:
    """1-4-4-4-1 with biases: 89 and 1,509 (derived by hand in tests/unit/test_depth.py)."""
    app = BackpropApp(load_builtin("deep-sigmoid"), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=76, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#help-body", Static).content)
        text = " ".join(console.export_text().split())
        assert "one sample: 89 by the backward pass; 1,509 writing out each path's" in text


async def test_the_deep_table_fits_80x24_and_its_note_names_what_is_shown(tmp_path: Path) -> None:
    """The 2-2-2's drawing is 6 rows; the deep table must not take more (the loss plot keeps its
    ten rows), and the window the note names must be the one on screen, not cut off below."""
    app = BackpropApp(load_builtin("deep-sigmoid"), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        shot = await press_and_capture(pilot, "backward", "space", "space", "space")
        rows = shot.inside("network")
        assert len(rows) == 6
        assert shot.panels["loss"].region.height >= 10
        note = next(row for row in rows if "parameters; showing" in row)
        first, last = (int(n) for n in re.search(r"w(\d+)–w(\d+)", note).groups())  # type: ignore[union-attr]
        shown = [int(n) for row in rows for n in re.findall(r"·w(\d+) ", row)]
        assert shown == list(range(first, last + 1))
        assert all(f"h{k} " in "".join(rows) for k in range(1, 13))  # every neuron's value
