"""Divergence everywhere: every built-in at a huge learning rate, in auto-run and fast-forward.

Both must stop by themselves with the status 'diverged' and say so; the panels may then show
'nan' or '∞' only with 'diverged' beside them (checked for every parameter, every phase and
both views of the loss panel); undo brings back the last finite state exactly, and with it
panels free of any non-number.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Phase, Snapshot, StatusKind
from tests.fuzz import (
    GARBAGE,
    app_problems,
    bits,
    network_text,
    panel_texts,
    press,
    settle,
    snapshot_problems,
    state_key,
)
from tui.app import SPEEDS, BackpropApp

HUGE = 1e300  # the first update overflows: ∞ and then nan on the panels
SIZE = (100, 32)


def finite(snap: Snapshot) -> bool:
    ev = snap.evaluation
    values = (*snap.params, *ev.params, *ev.grads, ev.loss)
    return all(math.isfinite(v) for v in values)


async def run_until_stopped(pilot: Any, app: BackpropApp, seconds: float = 15) -> None:
    for _ in range(int(seconds / 0.02)):
        await asyncio.sleep(0.02)
        if not app.auto and app.fast_forward is None:
            break
    await settle(pilot)


async def walk_every_view(pilot: Any, app: BackpropApp) -> int:
    """Every parameter in every phase, and the landscape of each phase: no garbage without
    'diverged' beside it."""
    checked = 0
    for _ in range(4):  # forward, loss, backward, update (the phase key works when diverged)
        for _ in range(len(app.snapshot.params)):
            problems = app_problems(app, plot=True)
            assert not problems, (app.snapshot.phase, app.selected, problems)
            checked += 1
            await press(pilot, "tab")
        await press(pilot, "l")  # the landscape along the selected parameter
        problems = app_problems(app, plot=True)
        assert not problems, (app.snapshot.phase, "landscape", app.selected, problems)
        await press(pilot, "l", "space")
    return checked


@pytest.mark.parametrize("mode", ["auto", "fast-forward"])
@pytest.mark.parametrize("name", BUILTINS)
async def test_a_huge_learning_rate_diverges_stops_and_undoes(
    name: str, mode: str, tmp_path: Path
) -> None:
    app = BackpropApp(load_builtin(name), learning_rate=HUGE, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        shown: list[Snapshot] = [app.snapshot]
        app.watch(app, "snapshot", lambda s: shown.append(s) if s is not None else None)
        if mode == "auto":
            for _ in SPEEDS:
                await press(pilot, "right_square_bracket")
            await press(pilot, "a")
        else:
            await press(pilot, "f")
        await run_until_stopped(pilot, app)
        snap = app.snapshot
        assert not app.auto and app.fast_forward is None, "it did not stop by itself"
        assert snap.status.kind is StatusKind.DIVERGED, snap.status
        assert snap is app.session.snapshot
        assert not snapshot_problems(snap, exact=True)
        texts = panel_texts(app)
        assert "diverged" in texts["training"] and "too large" in texts["training"]
        assert any("Diverged" in n.message for n in app._notifications)
        # Stopped: nothing moves any more.
        await asyncio.sleep(0.3)
        await settle(pilot)
        assert app.snapshot is snap
        # Training keys are off while diverged; the phase key still walks through the step.
        assert app.check_action("step", ()) is None and app.check_action("auto", ()) is None
        assert not app_problems(app), app_problems(app)
        for state in shown:
            assert not snapshot_problems(state, exact=False), snapshot_problems(state, False)

        # Undo: back to the last state before the step that diverged, exactly.
        await press(pilot, "u")
        back = app.snapshot
        assert back.status.kind is not StatusKind.DIVERGED
        assert finite(back)
        assert back.step == snap.step - 1
        assert bits(back.params) == bits(snap.history.params_at(snap.step - 1))
        # A state shown before, or one inside the run of steps (then its history entry).
        assert back.phase is Phase.UPDATE or state_key(back) in {state_key(s) for s in shown}
        texts = panel_texts(app)
        texts["network"] = network_text(app)[0]
        assert not any(GARBAGE.search(t) for t in texts.values()), texts
        assert not app_problems(app)
        app.exit(0)


@pytest.mark.parametrize("name", BUILTINS)
async def test_diverged_panels_show_garbage_only_beside_the_status(
    name: str, tmp_path: Path
) -> None:
    """After an overflow: every parameter, phase and view, then undo back to finite numbers."""
    app = BackpropApp(load_builtin(name), learning_rate=HUGE, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "enter")
        assert app.snapshot.status.kind is StatusKind.DIVERGED
        checked = await walk_every_view(pilot, app)
        assert checked == 4 * len(app.snapshot.params)
        # The phase key took further steps past the divergence (into nan); undo them all.
        while app.snapshot.status.kind is StatusKind.DIVERGED:
            await press(pilot, "u")
        assert finite(app.snapshot) and app.snapshot.step == 0
        texts = panel_texts(app)
        assert not any(GARBAGE.search(t) for t in texts.values()), texts
        await press(pilot, "s")  # the trace of a diverged run can be saved, and is valid
        assert len(list(tmp_path.iterdir())) == 1
        app.exit(0)


async def test_a_slow_divergence_in_the_middle_of_a_fast_forward(tmp_path: Path) -> None:
    """Steps 1 to ~140 fine, then the loss passes 1000× its start: the compiled run stops."""
    scenario = dataclasses.replace(load_builtin("single-weight"), max_steps=100_000)
    app = BackpropApp(scenario, learning_rate=0.45, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "f")
        await run_until_stopped(pilot, app)
        snap = app.snapshot
        assert snap.status.kind is StatusKind.DIVERGED
        assert 50 < snap.step < 1000, snap.step
        losses = snap.history.losses
        limit = 1000 * max(losses[0], 1.0)  # core.stepping.session.LOSS_BLOWUP over the start, or 1
        assert losses[snap.step] > limit >= losses[snap.step - 1]
        await press(pilot, "u")
        back = app.snapshot
        assert back.step == snap.step - 1 and back.status.kind is StatusKind.TRAINING
        assert bits(back.params) == bits(snap.history.params_at(snap.step - 1))
        # And on from there: the same divergence, at the same step, bit for bit.
        await press(pilot, "enter")
        assert app.snapshot.status.kind is StatusKind.DIVERGED
        assert bits(app.snapshot.params) == bits(snap.params) and app.snapshot.step == snap.step
        app.exit(0)
