"""Robustness tests: random keys, odd scenario files, divergence, failing disks, security.

This module holds what the fuzz tests share: a driver that feeds the app input events faster
than `Pilot.press` (which waits for the CPU to go idle, about 80-110 ms a key here, so that
thousands of events would take minutes), and the invariants checked after every event.

`send` posts an event to the app exactly as the terminal driver does (`App.post_message`),
and `settle` waits until the app and every widget of the current screen have emptied their
message queues: the event has been handled and its watchers have run. Rendering is left to
Textual's refresh timer, which runs in between as it would with a fast typist.
"""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections.abc import Iterable
from typing import Any

from textual import events
from textual.geometry import Size
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.pilot import Pilot

from core.stepping.session import Phase, Snapshot, StatusKind

# Numbers that are not numbers, as the panels would write them (core.text.format.fmt, to_ascii).
GARBAGE = re.compile(r"\bnan\b|∞|\binf\b", re.IGNORECASE)


def key_event(key: str) -> events.Key:
    """The Key event a terminal would produce for `key` (as Pilot.press builds it)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


def send(pilot: Pilot[Any], event: events.Event) -> None:
    app = pilot.app
    event.set_sender(app)
    app.post_message(event)


async def settle(pilot: Pilot[Any], rounds: int = 50) -> None:
    """Wait until every message queue of the app and its current screen is empty."""
    app = pilot.app
    for _ in range(rounds):
        if app._exception is not None or not app.is_running:
            return
        await pilot._wait_for_screen(timeout=10)
        if app._exception is not None or not app.is_running:
            return
        pumps = [app, *app.screen.walk_children(with_self=True)]
        if all(p._message_queue.empty() for p in pumps):
            return


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Each key, then wait for it to be handled (stopping at a crash)."""
    for key in keys:
        if pilot.app._exception is not None:
            return
        send(pilot, key_event(key))
        await settle(pilot)


async def burst(pilot: Pilot[Any], keys: Iterable[str]) -> None:
    """The keys all at once (a paste, a held-down key), then wait for them all to be handled."""
    for key in keys:
        send(pilot, key_event(key))
    await settle(pilot)


async def click(pilot: Pilot[Any], x: int, y: int, button: int = 1) -> None:
    """Mouse down and up at a screen offset; the app makes the Click of them as it does live."""
    for cls in (events.MouseDown, events.MouseUp):
        send(pilot, cls(None, x, y, 0, 0, button, False, False, False, x, y))
    await settle(pilot)


async def scroll(pilot: Pilot[Any], x: int, y: int, down: bool) -> None:
    cls = events.MouseScrollDown if down else events.MouseScrollUp
    send(pilot, cls(None, x, y, 0, 0, 0, False, False, False, x, y))
    await settle(pilot)


async def resize(pilot: Pilot[Any], width: int, height: int) -> None:
    size = Size(width, height)
    pilot.app._driver._size = size  # the headless driver's idea of the terminal
    send(pilot, events.Resize(size, size))
    await settle(pilot)


# -- what must hold after every event -------------------------------------------------------


def _finite(values: Iterable[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def bits(values: Iterable[float]) -> bytes:
    """Numbers as their exact bits: equal when they are the same numbers, nan included."""
    return array("d", values).tobytes()


def snapshot_problems(snap: Snapshot, exact: bool) -> list[str]:
    """What is wrong with a snapshot; `exact`: it is the session's current one, so its
    history arrays must hold exactly `count` entries (a shown one may lag behind them)."""
    problems = []
    hist = snap.history
    n = len(snap.scenario.initial_params)
    if snap.step != hist.count - 1:
        problems.append(f"step {snap.step} but {hist.count} history entries")
    if len(snap.params) != n:
        problems.append(f"{len(snap.params)} values for {n} parameters")
    if exact:
        sizes = (len(hist.losses), len(hist.rates))
        if sizes != (hist.count, hist.count - 1):
            problems.append(f"history arrays {sizes} for {hist.count} entries")
    elif len(hist.losses) < hist.count or len(hist.rates) < hist.count - 1:
        problems.append("history arrays shorter than the history")
    if hist.count and bits(hist.params_at(snap.step)) != bits(snap.params):
        problems.append("the values are not the last history entry")
    if snap.phase is Phase.UPDATE:
        if snap.step < 1:
            problems.append("an update at step 0")
        elif bits(snap.evaluation.params) != bits(hist.params_at(snap.step - 1)):
            problems.append("the update's computation is not at the previous values")
    else:
        if bits(snap.evaluation.params) != bits(snap.params):
            problems.append(f"{snap.phase.value}: the computation is not at the current values")
        if hist.count and not _same(snap.evaluation.loss, hist.losses[snap.step]):
            problems.append("the loss is not the history's")
    if snap.can_undo is False and (snap.step, snap.phase) != (0, Phase.READY):
        problems.append(f"nothing to undo at step {snap.step}, {snap.phase.value}")
    if snap.status.kind is not StatusKind.DIVERGED:
        ev = snap.evaluation
        if not (
            _finite(snap.params)
            and _finite(ev.params)
            and _finite(ev.grads)
            and math.isfinite(ev.loss)
        ):
            problems.append(f"non-finite numbers with status {snap.status.kind.value}")
        if hist.count and not math.isfinite(hist.losses[snap.step]):
            problems.append("a non-finite loss in the history without 'diverged'")
    if not (math.isfinite(snap.learning_rate) and snap.learning_rate > 0):
        problems.append(f"learning rate {snap.learning_rate!r}")
    return problems


def panel_texts(app: Any) -> dict[str, str]:
    """The text each panel shows now (from the main screen, whatever dialog is on top)."""
    from tui.panels.chain_panel import ChainRulePanel
    from tui.panels.loss_panel import LossPanel

    main = app.screen_stack[0]
    return {
        "chain": str(main.query_one("#chain-body").content),
        "chain title": str(main.query_one(ChainRulePanel).border_title or ""),
        "training": str(main.query_one("#training-body").content),
        "loss title": str(main.query_one(LossPanel).border_title or ""),
    }


def network_text(app: Any) -> tuple[str, int]:
    """The network panel's text and how many parameters it shows selected (reverse video)."""
    from tui.panels.network_panel import NetworkPanel

    panel = app.screen_stack[0].query_one(NetworkPanel)
    text = panel.render()
    selected = sum(1 for span in text.spans if "reverse" in str(span.style))
    return str(text), selected


def plot_problem(app: Any) -> str | None:
    """Draw the loss panel's plot now, as its next frame would: what goes wrong, if anything."""
    from tui.panels.loss_panel import LossPanel

    panel = app.screen_stack[0].query_one(LossPanel)
    try:
        panel.render()
    except Exception as err:  # plotext raises whatever its arithmetic runs into
        return f"the loss panel cannot draw ({panel.border_title}): {err!r}"
    return None


def app_problems(app: Any, network: bool = True, plot: bool = False) -> list[str]:
    """The invariants of the running app: core's state, the selection and the panels."""
    if app._exception is not None or not app.is_running:
        return [f"the app stopped: {app._exception!r}"]
    problems = []
    session = app.session
    current = session.snapshot
    problems += [f"session: {p}" for p in snapshot_problems(current, exact=True)]
    shown = app.snapshot
    if shown is not current:
        problems += [f"shown: {p}" for p in snapshot_problems(shown, exact=False)]
        busy = app.fast_forward is not None or app.auto  # both draw every few steps
        if not busy and shown.scenario is current.scenario:
            problems.append("the panels show an old snapshot while nothing is running")
    n = len(current.params)
    if not (isinstance(app.selected, int) and 0 <= app.selected < n):
        problems.append(f"selected {app.selected!r} of {n} parameters")
    if not 0 <= app.sample < len(session.scenario.samples):
        problems.append(f"sample {app.sample!r} of {len(session.scenario.samples)}")
    texts = panel_texts(app)
    diverged = shown.status.kind is StatusKind.DIVERGED
    if "diverged" in texts["training"] and not diverged:
        problems.append("the training panel says diverged, the status does not")
    if diverged and "diverged" not in texts["training"]:
        problems.append("diverged, but the training panel does not say so")
    if plot and (problem := plot_problem(app)):
        problems.append(problem)
    if network:
        texts["network"], selected = network_text(app)
        if selected != 1:
            problems.append(f"{selected} parameters shown selected in the network panel")
    for name, text in texts.items():
        if GARBAGE.search(text) and "diverged" not in texts["training"]:
            problems.append(f"{name} shows {GARBAGE.search(text)[0]!r} without 'diverged'")
    return problems


def history_params(hist: Any) -> Iterable[tuple[float, ...]]:
    """Every step's parameters of a history view, in order (replayed once where the history
    keeps only some of them)."""
    every = getattr(hist, "iter_params", None)
    if every is not None:
        return every()
    return (hist.params_at(k) for k in range(hist.count))


def state_key(snap: Snapshot) -> tuple[object, ...]:
    """What undo must bring back exactly."""
    return (snap.step, snap.phase, snap.learning_rate, bits(snap.params), snap.status.kind)
