"""The app under another optimizer: the Training panel names it and the batch, the chain-rule
panel writes out its update at 80x24, and undo brings its state back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.widgets import Static

from core.files.loader import load_builtin
from core.model.optimizers import OptimizerConfig
from core.stepping.session import Phase, Snapshot
from tui.app import BackpropApp
from tui.panels.training_panel import TrainingPanel

SIZE = (80, 24)


def text(app: BackpropApp, selector: str) -> str:
    return str(app.query_one(selector, Static).content)


def snapshot(app: BackpropApp) -> Snapshot:
    assert app.snapshot is not None
    return app.snapshot


async def test_momentum_on_the_story(tmp_path: Path) -> None:
    sc = load_builtin("single-weight")
    sc = dataclasses.replace(sc, optimizer=OptimizerConfig("momentum"), lessons={})
    app = BackpropApp(sc, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert snapshot(app).phase is Phase.UPDATE
        assert "momentum · lr 0.1 · J 0.49" in text(app, "#training-body")  # "loss" makes room
        chain = text(app, "#chain-body")
        assert "v ← μ·v + ∂J/∂w = 0.9·0 + 2.1 = 2.1" in chain
        assert "w ← w − lr·v = 0.8 − 0.1·2.1 = 0.59" in chain
        after_one = snapshot(app).optimizer_state
        assert after_one.t == 1 and abs(after_one.slots[0][0] - 2.1) < 1e-12
        await pilot.press("enter")
        assert "v ← μ·v + ∂J/∂w = 0.9·2.1 + 1.155 = 3.045" in text(app, "#chain-body")
        await pilot.press("u")
        await pilot.pause()
        assert snapshot(app).optimizer_state == after_one


async def test_adam_with_batches_at_80x24(tmp_path: Path) -> None:
    sc = load_builtin("xor")
    config = OptimizerConfig("adam", batch_size=3, weight_decay=0.01)
    app = BackpropApp(dataclasses.replace(sc, optimizer=config, lessons={}), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        panel = app.query_one(TrainingPanel)
        assert "batch 1/2 · J: all 4" in str(panel.border_subtitle)
        assert "adam+wd · lr 1" in text(app, "#training-body")
        chain = text(app, "#chain-body")
        # The update phase shows the optimizer's lines first: the batch's gradient, then g.
        assert chain.startswith("sample 1 of 4") or "∂J_B/∂w1 = mean of ∂L/∂w1" in chain
        assert "∂J_B/∂w1 = mean of ∂L/∂w1 over batch 1/2" in chain
        assert "g = ∂J_B/∂w1 + λ·w1" in chain
        await pilot.press("enter")
        assert "batch 2/2 · J: all 4" in str(panel.border_subtitle)
