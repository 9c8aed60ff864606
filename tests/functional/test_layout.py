"""The 80x24 layout, designed for the teaching moment: what a step computes shows unscrolled."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region

from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import StatusKind
from tests.functional.screen import capture, settle
from tui.app import BackpropApp
from tui.panels.chain_panel import ChainRulePanel
from tui.panels.lesson_panel import LessonPanel
from tui.panels.training_panel import TrainingPanel

SIZE = (80, 24)
NUMBER = r"(−?[\d.]+(?:e−?\d+)?)"
UPDATE = re.compile(rf"= {NUMBER} − 0\.1 · {NUMBER} = {NUMBER}$")


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def six(x: float) -> str:
    """A number as the chain rule writes it: 6 significant digits, a true minus sign."""
    return f"{x:.6g}".replace("-", "−")


def textbook_w1() -> dict[str, Any]:
    """Mazur's worked example by hand: the two paths from h1 to J, their sum, and ∂J/∂w1."""
    x1, x2, t1, t2 = 0.05, 0.10, 0.01, 0.99
    h1 = sigmoid(0.15 * x1 + 0.20 * x2 + 0.35)
    h2 = sigmoid(0.25 * x1 + 0.30 * x2 + 0.35)
    o1 = sigmoid(0.40 * h1 + 0.45 * h2 + 0.60)
    o2 = sigmoid(0.50 * h1 + 0.55 * h2 + 0.60)
    via_o1 = (o1 - t1) * o1 * (1 - o1) * 0.40  # through w5
    via_o2 = (o2 - t2) * o2 * (1 - o2) * 0.50  # through w7
    total = via_o1 + via_o2
    return {
        "via_o1": via_o1,
        "via_o2": via_o2,
        "sum": total,
        "w1": total * h1 * (1 - h1) * x1,
        "products": (
            f"{six(o1 - t1)}·{six(o1 * (1 - o1))}·0.4",
            f"({six(o2 - t2)})·{six(o2 * (1 - o2))}·0.5",
        ),
    }


def chain_rows(app: BackpropApp) -> list[str]:
    """The rows the chain rule panel shows on screen now, inside its border."""
    shot = capture(app, "layout")
    return shot.inside("chain")


async def test_hidden_weight_path_sum_shows_before_the_chain_that_uses_it() -> None:
    expected = textbook_w1()
    # Mazur (2015): ∂E/∂out_h1 = 0.036350306 and ∂E/∂w1 = 0.000438568.
    assert six(expected["sum"]) == "0.0363503" and six(expected["w1"]) == "0.000438568"
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space")
        await settle(pilot)
        assert app.selected == 0 and app.snapshot.phase.value == "backward"
        panel = app.query_one(ChainRulePanel)
        assert panel.scroll_y == 0
        text = "\n".join(chain_rows(app))
        wanted = [
            six(expected["via_o1"]),
            six(expected["via_o2"]),
            "= " + six(expected["sum"]),
            "∂J/∂w1 = ",
            "= " + six(expected["w1"]),
        ]
        where = [text.find(w) for w in wanted]
        assert -1 not in where, f"{wanted} at {where} in\n{text}"
        assert where == sorted(where), f"{wanted} out of order: {where}\n{text}"
        # Used in the chain only after it is derived: no 0.0363503 before the sum line.
        assert text.find(six(expected["sum"])) == where[2] + 2
        for product in expected["products"]:
            assert product in text  # each path's factors, with numbers


async def test_the_story_shows_its_whole_step() -> None:
    ws = [0.8]
    for _ in range(8):
        ws.append(ws[-1] - 0.1 * (4.5 * ws[-1] - 1.5))  # the story: ∂J/∂w = 4.5w − 1.5
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space", "space")
        done = 0
        for enters in (0, 1, 3, 6):
            await pilot.press(*["enter"] * (enters - done))
            done = enters
            await settle(pilot)
            check_story_step(app, ws[enters], ws[enters + 1])


def check_story_step(app: BackpropApp, old: float, new: float) -> None:
    """The update phase: the chain, the update's numbers on one row, and J, all on screen."""
    grad, loss = 4.5 * old - 1.5, (1.5 * old - 0.5) ** 2
    rows = [row.strip() for row in chain_rows(app)]
    assert any(row.startswith("w ← w − lr·∂J/∂w") for row in rows), rows
    # The numbers of the update on one row: "= old − 0.1 · gradient = new".
    update = [m.groups() for row in rows if (m := UPDATE.search(row))]
    assert len(update) == 1, rows
    shown = [float(x.replace("−", "-")) for x in update[0]]
    assert shown == pytest.approx([old, grad, new], rel=1e-5), rows
    j_rows = [row for row in rows if row.startswith("J = ")]
    assert j_rows, rows
    j = rows.index(j_rows[0])
    last = rows[j] if rows[j].count(" = ") > 1 else rows[j + 1]  # whole, or in two rows
    value = float(last.rpartition("= ")[2].replace("−", "-"))
    assert value == pytest.approx(loss, rel=1e-5), rows
    assert not app.query_one(ChainRulePanel).border_subtitle  # no "↑↓ more"


async def _training_checks(app: BackpropApp, label: str) -> None:
    panel = app.query_one(TrainingPanel)
    body = str(app.query_one("#training-body").content)
    lines = body.split("\n")
    assert len(lines) == 3, (label, lines)
    shot = capture(app, label)
    inside = [row.rstrip() for row in shot.inside("training")]
    assert panel.region.height == len(lines) + 2, (label, panel.region)
    for line, row in zip(lines, inside):
        assert row.strip() == line.strip(), (label, line, row)  # one row each: nothing wrapped


@pytest.mark.parametrize("name", BUILTINS)
async def test_training_lines_never_wrap_and_the_loss_plot_keeps_ten_rows(
    name: str, tmp_path: Path
) -> None:
    app = BackpropApp(load_builtin(name), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _training_checks(app, f"{name} start")
        # 6 rows of plotting, the x axis, its labels and the border.
        assert app.query_one("#loss").region.height >= 10
        await pilot.press("space", "space", "space", "t")
        await settle(pilot)
        await _training_checks(app, f"{name} backward, quiz on")
        assert app.query_one("#loss").region.height >= 10
    app = BackpropApp(load_builtin(name), 1e3, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            if app.snapshot.status.done:
                break
            await pilot.press("enter")
        await settle(pilot)
        # Sigmoid networks saturate at lr 1000 (a flat spot) rather than blow up.
        kind = app.snapshot.status.kind
        assert kind is not StatusKind.TRAINING
        await _training_checks(app, f"{name} at lr 1000")
        assert kind.value in str(app.query_one("#training-body").content)


async def test_training_converged_line_fits() -> None:
    app = BackpropApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        for _ in range(200):
            await pilot.pause(0.02)
            if app.fast_forward is None and app.snapshot.status.done:
                break
        await settle(pilot)
        assert app.snapshot.status.kind is StatusKind.CONVERGED
        await _training_checks(app, "converged")
        assert "converged" in str(app.query_one("#training-body").content)


async def test_maximize_fills_the_screen_and_restores() -> None:
    expected = textbook_w1()
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space")
        await settle(pilot)
        panel = app.query_one(ChainRulePanel)
        before = panel.region
        await pilot.press("m")
        await settle(pilot)
        assert app.screen.maximized is panel
        assert panel.region == Region(0, 0, 80, 23)  # all but the footer
        assert "m or esc restores" in str(panel.border_title)
        text = "\n".join(chain_rows(app))
        for number in (expected["via_o1"], expected["via_o2"], expected["sum"], expected["w1"]):
            assert six(number) in text
        assert not panel.border_subtitle  # the whole explanation, no scrolling
        await pilot.press("m")
        await settle(pilot)
        assert app.screen.maximized is None and panel.region == before
        assert app.query_one(LessonPanel).region.height == 2  # folded again
        await pilot.press("m", "escape")
        await settle(pilot)
        assert app.screen.maximized is None and panel.region == before


async def test_lesson_folds_at_80x24_and_opens_at_120x40() -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space")
        await settle(pilot)
        lesson = app.query_one(LessonPanel)
        folded = str(lesson.content)
        assert lesson.region.height == 2 and folded.endswith(" …")
        assert lesson.region.height == len(folded.split("\n"))  # no border: no rows for one
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        whole = " ".join(str(lesson.content).split())
        assert not whole.endswith("…") and whole.endswith("gives 0.000439.")
        assert lesson.region.height == len(str(lesson.content).split("\n")) + 2  # bordered
        await pilot.press("n")
        await settle(pilot)
        assert not lesson.display


async def test_lesson_after_divergence_does_not_promise_convergence() -> None:
    app = BackpropApp(None, 1.0)  # the story at lr 1: |1 − 4.5| > 1, each step overshoots more
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(40):
            if app.snapshot.status.kind is StatusKind.DIVERGED:
                break
            await pilot.press("enter")
        await settle(pilot)
        assert app.snapshot.status.kind is StatusKind.DIVERGED
        note = " ".join(str(app.query_one(LessonPanel).content).split())
        assert "diverged" in note and "−" in note and "u " in note
        assert "1/3" not in note


@pytest.mark.parametrize("size", [(70, 20), (120, 40)])
async def test_panels_do_not_overlap(size: tuple[int, int]) -> None:
    app = BackpropApp(load_builtin("textbook-2-2-2"))
    async with app.run_test(size=size) as pilot:
        await pilot.press("space", "space", "space")
        await settle(pilot)
        shot = capture(app, f"{size}")
        panels = list(shot.panels.values())
        screen = Region(0, 0, *size)
        for i, a in enumerate(panels):
            assert screen.contains_region(a.region), a
            for b in panels[i + 1 :]:
                assert not a.region.overlaps(b.region), (a, b)
