"""Key fuzzing: random keys, junk, clicks, resizes and pauses against every built-in scenario.

Each example runs one app on one built-in scenario and feeds it a long hypothesis-drawn
sequence of events. After every event: the app is still running without an exception, and
the invariants of `tests.fuzz.app_problems` hold (step and phase agree with the history, the
numbers are finite unless the status says diverged, one parameter is selected, no 'nan' on a
panel without 'diverged'). Every snapshot the app shows is checked as well, also those shown
inside a burst of keys or by auto-run and fast-forward between two events. At the end the whole
undo stack is walked back: every state it passes through is one that was shown before (or a
step inside a run of steps, bit for bit the history's), and the last is the very first.

Examples are expensive (an app each), so there are few of them and each is long; the seed is
fixed (derandomize) so that CI sees the same sequences every run. Shrinking is off by default
(a failing sequence of a few hundred events takes minutes to shrink); set BACKPROP_FUZZ_SHRINK=1
to get a minimal sequence, and BACKPROP_FUZZ_SCALE=10 for a longer run (ten times the examples).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from core.files.loader import BUILTINS, load_builtin
from core.model.scenario import Scenario
from core.stepping.session import Phase as StepPhase
from core.stepping.session import Snapshot, StatusKind
from tests.fuzz import (
    app_problems,
    bits,
    burst,
    click,
    history_params,
    press,
    resize,
    scroll,
    settle,
    snapshot_problems,
    state_key,
)
from tui.app import BackpropApp

SCALE = int(os.environ.get("BACKPROP_FUZZ_SCALE", "1"))
PHASES = (
    tuple(Phase)
    if os.environ.get("BACKPROP_FUZZ_SHRINK")
    else (Phase.explicit, Phase.reuse, Phase.generate)
)
FUZZ = settings(
    max_examples=SCALE,  # one sequence a built-in by default; BACKPROP_FUZZ_SCALE for more
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Fast-forward gives up after this many steps here (100,000 in the built-ins), so that walking
# back the undo stack at the end stays quick; the runs are just as real. The two one-layer
# scenarios (cheap to replay) never converge and go further: past the history's stored steps
# (every 256th), so that undo has to replay, bit for bit.
FF_LIMIT = 20
LONG_RUNS = {"single-weight": 300, "weight-and-bias": 300}

# Every key the app binds, except the ones that quit (q, ctrl+c; ctrl+q is Textual's).
BOUND = (
    "space",
    "enter",
    "a",
    "left_square_bracket",
    "right_square_bracket",
    "f",
    "escape",
    "u",
    "r",
    "plus",
    "minus",
    "tab",
    "shift+tab",
    "comma",
    "full_stop",
    "equals_sign",
    "l",
    "s",
    "o",
    "question_mark",
)
# Keys the app does not bind: typed into dialogs, scrolling the chain panel, or nothing at all.
# ctrl+p is left out (a click on the footer may still open the command palette): the palette
# runs commands by name, which tests/functional/test_app.py covers, and its list has a race of
# Textual's own with page keys typed before it is drawn.
JUNK = (
    "x",
    "e",
    "E",
    "0",
    "7",
    "9",
    "backspace",
    "delete",
    "up",
    "down",
    "left",
    "right",
    "home",
    "end",
    "pageup",
    "pagedown",
    "insert",
    "f1",
    "f12",
    "ctrl+a",
    "ctrl+e",
    "ctrl+u",
    "ctrl+z",
    "ctrl+l",
    "shift+up",
    "alt+x",
    "asterisk",
    "slash",
    "é",
    "∂",
    "ß",
    "中",
)
# Dialogs (o, =, ?) take most keys while they are open; escape closes them, so it comes often.
KEYS = (*BOUND, "escape", "escape", "escape")
# Bursts (a paste, a held-down key, keys arriving together over a slow SSH link) come often:
# each key in them is an event, and the app handles them back to back before it redraws.
KINDS = (
    ("burst",) * 10 + ("key",) * 6 + ("junk",) * 2 + ("click", "click", "scroll", "resize", "wait")
)


@st.composite
def events_(draw: Any) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(KINDS))
    if kind == "key":
        return ("key", draw(st.sampled_from(KEYS)))
    if kind == "junk":
        return ("key", draw(st.sampled_from(JUNK)))
    if kind == "burst":
        keys = st.sampled_from(KEYS) | st.sampled_from(JUNK)
        size = draw(st.integers(6, 20))
        return ("burst", tuple(draw(st.lists(keys, min_size=size, max_size=size))))
    if kind in ("click", "scroll"):
        # Where on the screen, as fractions of its size (it may have been resized).
        fx, fy = draw(st.floats(0, 0.999)), draw(st.floats(0, 0.999))
        return (kind, fx, fy)
    if kind == "resize":
        return ("resize", draw(st.integers(10, 250)), draw(st.integers(5, 80)))
    return ("wait", draw(st.sampled_from((0.05, 0.1, 0.25))))


SEQUENCES = st.lists(events_(), min_size=35, max_size=50)
STATS: dict[str, float] = {
    "examples": 0,
    "events": 0,
    "shown": 0,
    "undos": 0,
    "quits": 0,
    "longest walk": 0,
    "seconds": 0.0,
}
SCENARIOS: set[str] = set()


class Recorder:
    """Every snapshot the app shows, checked as it is shown and kept for the undo check."""

    def __init__(self, app: BackpropApp) -> None:
        self.app = app
        self.shown: dict[int, list[Snapshot]] = {}  # by id(session)
        self.problems: list[str] = []
        self.add(app.snapshot)

    def add(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        STATS["shown"] += 1
        self.shown.setdefault(id(self.app.session), []).append(snap)
        self.problems += [f"shown: {p}" for p in snapshot_problems(snap, exact=False)]

    def keys(self, session: object) -> set[tuple[object, ...]]:
        return {state_key(s) for s in self.shown.get(id(session), [])}

    def rows(self, session: object) -> set[tuple[int, bytes]]:
        """(step, values) of every history entry any shown snapshot of `session` held."""
        longest: list[Any] = []  # one view per array: appended in place, replaced when cut
        for snap in self.shown.get(id(session), []):
            hist = snap.history
            i = next((i for i, h in enumerate(longest) if h.losses.same_array(hist.losses)), None)
            if i is None:
                longest.append(hist)
            elif hist.count > longest[i].count:
                longest[i] = hist
        return {
            (k, bits(params)) for hist in longest for k, params in enumerate(history_params(hist))
        }


def limited(name: str) -> Scenario:
    """The built-in with fast-forward's limit lowered (see FF_LIMIT)."""
    scenario = dataclasses.replace(load_builtin(name), max_steps=FF_LIMIT)
    if name in LONG_RUNS:
        scenario = dataclasses.replace(
            scenario, max_steps=LONG_RUNS[name], loss_tolerance=0.0, gradient_tolerance=0.0
        )
    return scenario


async def run_sequence(name: str, actions: list[tuple[Any, ...]], save_dir: Path) -> None:
    import tui.dialogs.open

    # The open dialog (o) starts a new session on a built-in: limited the same way.
    opened = tui.dialogs.open.load_builtin
    tui.dialogs.open.load_builtin = limited  # type: ignore[assignment]
    try:
        await _run_sequence(name, actions, save_dir)
    finally:
        tui.dialogs.open.load_builtin = opened  # type: ignore[assignment]


async def _run_sequence(name: str, actions: list[tuple[Any, ...]], save_dir: Path) -> None:
    app = BackpropApp(limited(name), save_dir=save_dir)
    started = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        recorder = Recorder(app)
        app.watch(app, "snapshot", recorder.add, init=False)

        def check(i: int, action: tuple[Any, ...]) -> None:
            assert app._exception is None, f"event {i} {action}: {app._exception!r}"
            assert app.is_running, f"event {i} {action}: the app stopped"
            problems = recorder.problems + app_problems(app)
            assert not problems, f"after event {i} {action}: {problems}"

        for i, action in enumerate(actions):
            kind = action[0]
            if kind == "key":
                await press(pilot, action[1])
            elif kind == "burst":
                await burst(pilot, action[1])
            elif kind in ("click", "scroll"):
                width, height = app.size
                x, y = int(action[1] * width), int(action[2] * height)
                if kind == "click":
                    await click(pilot, x, y)
                else:
                    await scroll(pilot, x, y, down=action[1] < 0.5)
            elif kind == "resize":
                await resize(pilot, action[1], action[2])
            else:
                await asyncio.sleep(action[1])
                await settle(pilot)
            STATS["events"] += len(action[1]) if kind == "burst" else 1
            if not app.is_running and app._exception is None and app.return_code == 0:
                # Quit on purpose (the palette's Quit command, reached by a click on the
                # footer): the sequence ends there.
                STATS["quits"] += 1
                STATS["seconds"] += time.perf_counter() - started
                return
            check(i, action)

        # Stop whatever runs and close any dialog, then walk the whole undo stack back.
        for _ in range(5):
            if len(app.screen_stack) == 1:
                break
            app.pop_screen()
            await settle(pilot)
        await press(pilot, "right_square_bracket")  # nothing is open now: the main screen
        if app.auto or app.fast_forward is not None:
            await press(pilot, "escape")
        for _ in range(100):
            if app.fast_forward is None:
                break
            await asyncio.sleep(0.02)
        await settle(pilot)
        assert not app.auto and app.fast_forward is None
        check(len(actions), ("stopped",))
        session = app.session
        assert recorder.shown.get(id(session)), "the session in use was never shown"
        first = state_key(recorder.shown[id(session)][0])  # where this session started
        earlier, rows = recorder.keys(session), recorder.rows(session)

        def check_undone(where: str, snap: Snapshot) -> None:
            assert not snapshot_problems(snap, exact=True), (where, snapshot_problems(snap, True))
            key = state_key(snap)
            in_a_run = snap.phase is StepPhase.UPDATE and (snap.step, bits(snap.params)) in rows
            assert key in earlier or in_a_run, f"{where}: undo reached a state never shown: {key}"

        # The first few through the key, the rest straight on the session (runs of steps undo
        # one step at a time).
        for k in range(8):
            if not app.snapshot.can_undo:
                break
            await press(pilot, "u")
            STATS["undos"] += 1
            check(len(actions) + k, ("u",))
            check_undone(f"undo {k + 1} (key)", app.snapshot)
        count = 0
        while session.can_undo:
            snap = session.undo()
            count += 1
            check_undone(f"undo {count} (core)", snap)
        STATS["undos"] += count
        STATS["longest walk"] = max(STATS["longest walk"], count)
        final = session.snapshot
        assert state_key(final) == first
        assert final.history.count == 1
        assert bits(final.history.params_at(0)) == bits(final.params)
        assert final.status.kind is not StatusKind.DIVERGED
        await pilot.pause()
        app.exit(0)
    STATS["seconds"] += time.perf_counter() - started


@pytest.mark.parametrize("name", BUILTINS)
@FUZZ
@given(actions=SEQUENCES)
def test_random_events_keep_every_invariant(name: str, actions: list[tuple[Any, ...]]) -> None:
    note(f"{len(actions)} events on {name}")
    STATS["examples"] += 1
    SCENARIOS.add(name)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run_sequence(name, actions, Path(folder)))
        # Whatever was saved is a trace (s) or a screenshot (the palette's), each a new file.
        for path in Path(folder).iterdir():
            trace = path.name.startswith("backprop-trace-") and path.suffix in (".json", ".md")
            shot = path.name.startswith("backprop-tui") and path.suffix == ".svg"
            assert trace or shot, path


def test_fuzzing_reached_every_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    """After the fuzzing above (same session): every built-in had a sequence; the counts."""
    if not STATS["examples"]:
        pytest.skip("the key fuzzing did not run in this session")
    with capsys.disabled():
        print(
            f"\nkey fuzzing: {STATS['examples']:.0f} sequences, {STATS['events']:.0f} events, "
            f"{STATS['shown']:.0f} snapshots checked, {STATS['undos']:.0f} undos, "
            f"{STATS['quits']:.0f} quit on purpose, longest undo walk {STATS['longest walk']:.0f}, "
            f"{STATS['seconds']:.1f} s"
        )
    assert set(BUILTINS) <= SCENARIOS


# -- undo stays quick ------------------------------------------------------------------------


def test_an_undo_in_a_long_run_of_a_big_network_stays_quick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An undo must not replay hundreds of steps of a big network (the largest the loader allows
    takes 40 ms a step: an undo at step 256 froze the app for 8-12 s). Counted in evaluations
    times parameters × samples, at most 2**21 of those (about half a second).

    (core.stepping.history keeps checkpoints as often as this needs: see checkpoint_interval.)"""
    import core.stepping.session as session_module
    from core.files.loader import parse
    from core.stepping.session import Session

    samples = "".join(
        f"[[samples]]\nx = [{', '.join([f'0.{k}'] * 64)}]\ny = [0.5]\n" for k in range(16)
    )
    text = (
        'learning_rate = 0.01\n[network]\nlayers = [64, 16, 1]\nactivations = ["tanh", "sigmoid"]\n'
        "[stop]\nloss_below = 0.0\ngradient_below = 0.0\n" + samples
    )
    scenario = parse(text, "big.toml")
    work = len(scenario.initial_params) * len(scenario.samples)
    session = Session(scenario)
    session.step()
    session.run(254)  # step 255: the farthest from a stored step
    calls = 0
    real = session_module.evaluate

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module, "evaluate", counting)
    session.undo()
    assert session.step_count == 254
    assert calls * work <= 2**21, f"{calls} evaluations of {work:,} parameter-samples each"


# -- the same, deterministically, at the edges the fuzzing found -------------------------------

SIZES = [(10, 5), (250, 80), (69, 19), (250, 5)]
VISIT = ("space", "l", "question_mark", "escape", "equals_sign", "escape", "o", "escape")


@pytest.mark.parametrize("name", ["xor"])  # the largest network drawn; the fuzzing does the rest
async def test_extreme_sizes_with_every_panel_and_dialog(name: str, tmp_path: Path) -> None:
    """The smallest and largest terminals, and just below the minimum, with each dialog."""
    app = BackpropApp(load_builtin(name), save_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        for width, height in SIZES:
            await resize(pilot, width, height)
            assert app.size == (width, height)
            for key in VISIT:
                await press(pilot, key)
                assert app._exception is None, (width, height, key, app._exception)
                assert not app_problems(app), (width, height, key, app_problems(app))
            assert len(app.screen_stack) == 1
        app.exit(0)


@pytest.mark.parametrize("name", ["hidden-neuron", "textbook-2-2-2", "xor"])
async def test_shrinking_below_the_minimum_and_back(name: str, tmp_path: Path) -> None:
    """A lab terminal made too small for a moment, then big again (the networks that are drawn
    as a table when the panel is narrow)."""
    app = BackpropApp(load_builtin(name), save_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "space")
        await resize(pilot, 60, 15)
        await resize(pilot, 80, 24)
        await press(pilot, "space")
        await pilot.pause()
        assert app._exception is None, app._exception
        assert app.snapshot.phase is StepPhase.LOSS
        assert not app_problems(app)
        app.exit(0)


@pytest.mark.parametrize(
    ("opener", "keys"),
    [("o", ["down", "enter", "escape"]), ("equals_sign", ["5", "enter", "escape"])],
    ids=["open", "edit"],
)
async def test_enter_and_escape_arriving_together_close_a_dialog_once(
    opener: str, keys: list[str], tmp_path: Path
) -> None:
    """Keys typed fast (or arriving in one packet over SSH): enter, then escape at once."""
    app = BackpropApp(save_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, opener)
        await pilot.pause()  # the dialog is up, its list or input focused
        assert len(app.screen_stack) == 2
        await burst(pilot, keys)
        await pilot.pause()
        assert app._exception is None, app._exception
        assert len(app.screen_stack) == 1
        assert not app_problems(app)
        app.exit(0)
