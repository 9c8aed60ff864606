"""Numbers agree: the network panel's short numbers are the chain rule's rounded, its weights
keep their source labels, and the status line's comparison holds as printed."""

from __future__ import annotations

import dataclasses
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Phase, Session, Snapshot, StatusKind
from core.teaching.explain import explain, plain, render
from core.text.format import fmt
from tui.panels.network_panel import LEVELS, NetworkPanel
from tui.panels.training_panel import TrainingPanel

WIDTH_80X24 = 78  # the network panel's inside at 80 columns (a border each side)
NUMBER = re.compile(r"[−+-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?")


def number(text: str) -> float:
    return float(text.strip("()").replace("−", "-"))


def rounded(text: str, digits: int) -> float:
    """A decimal as written, rounded half up to `digits` significant digits (as on paper)."""
    d = Decimal(text.strip("()").replace("−", "-"))
    if d == 0:
        return 0.0
    unit = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return float(d.quantize(unit, rounding=ROUND_HALF_UP))


def update_numbers(snap: Snapshot, index: int) -> tuple[str, str]:
    """The gradient and the new value as the chain rule panel writes them (6 digits)."""
    (line,) = plain(render(explain(snap, index), None, ("update",)))
    # "w1 ← w1 − lr·∂J/∂w1 = 0.15 − 0.5 · 0.000438568 = 0.149781"
    numbers, new = line.rsplit(" = ", 1)
    gradient = numbers.rsplit(" · ", 1)[1]
    return gradient, new


def panel(snap: Snapshot) -> NetworkPanel:
    widget = NetworkPanel()
    widget.snapshot = snap
    return widget


def runs(name: str) -> list[Snapshot]:
    """UPDATE snapshots: the first step, a later one, the end of a run to convergence."""
    session = Session(load_builtin(name))
    shots = [session.step(), session.run(40)]
    shots.append(session.run(session.scenario.max_steps))
    return shots


@pytest.mark.parametrize("name", BUILTINS)
def test_the_network_panels_numbers_are_the_chain_rules_rounded(name: str) -> None:
    for snap in runs(name):
        assert snap.phase is Phase.UPDATE
        widget = panel(snap)
        for level, (value_digits, grad_digits) in enumerate(LEVELS):
            for p in snap.scenario.architecture.params:
                if not p.trainable:
                    continue
                gradient, new = update_numbers(snap, p.index)
                parts = widget._param_cell(snap, p.index, False, level).parts
                assert number(parts[1]) == rounded(new, value_digits), (p.name, parts, new)
                assert parts[2].startswith("∂")
                assert number(parts[2][1:]) == rounded(gradient, grad_digits), (p.name, parts)


def test_rounding_goes_by_the_long_number_shown_not_by_the_float() -> None:
    # 0.12345 as a float is a hair below 0.12345 would round to 0.1234 directly; the chain rule
    # shows 0.12345, which rounds half up to 0.1235: the short number must be that one.
    assert fmt(0.1234499999999) == "0.12345"
    assert fmt(0.1234499999999, 4) == "0.1235"
    assert fmt(0.125, 2) == "0.13"  # half up, as taught, not to even
    assert fmt(-0.410975, 4) == "−0.411"


def weight_labels(snap: Snapshot) -> list[str]:
    net = snap.scenario.architecture
    return [
        f"{net.neuron_name(p.layer - 1, p.source)}·{p.name}"
        for p in net.params
        if p.kind == "weight"
    ]


def wide_values() -> list[tuple[str, Snapshot]]:
    out = []
    for name in ("textbook-2-2-2", "xor"):
        session = Session(load_builtin(name))
        out.append((f"{name} converged", session.run(session.scenario.max_steps)))
    for value in (-123.456, -123456.789, 1e-30):
        session = Session(load_builtin("textbook-2-2-2"))
        session.set_parameter(5, value)  # w6
        out.append((f"w6 = {value}", session.step()))
    return out


@pytest.mark.parametrize(("label", "snap"), wide_values(), ids=lambda v: str(v)[:24])
def test_weights_keep_their_source_labels_when_values_get_wide(label: str, snap: Snapshot) -> None:
    widget = panel(snap)
    text = widget._draw(snap, WIDTH_80X24).plain
    assert max(len(line) for line in text.splitlines()) <= WIDTH_80X24
    for wanted in weight_labels(snap):
        assert wanted in text, (label, wanted, text)
    # Narrower, down to the table of parameters: the labels stay, and it grows no taller.
    height = len(text.splitlines())
    for width in (68, 60, 50, 40):
        narrow = widget._draw(snap, width).plain
        assert len(narrow.splitlines()) <= height, (width, narrow)
        assert max(len(line) for line in narrow.splitlines()) <= width, narrow
        weights = re.findall(r"(\S*?)(w\d+) [−+]", narrow)
        assert weights, narrow
        labels = {w.split("·")[1]: w for w in weight_labels(snap)}
        for source, name in weights:
            assert f"{source}{name}" == labels[name], (width, narrow)
    # The title names the rounding the drawing used.
    value_digits, grad_digits = LEVELS[widget._level]
    title = widget._title(snap)
    assert f"rounded to {value_digits} digits, ∂ to {grad_digits}" in title


def test_a_roomy_panel_uses_the_most_digits() -> None:
    snap = Session(load_builtin("textbook-2-2-2")).step()
    widget = panel(snap)
    widget._draw(snap, 200)
    assert widget._level == 0
    assert "+0.1498" in widget._draw(snap, 200).plain  # w1 = 0.149781 to 4 digits


# -- the status line ------------------------------------------------------------------------


def comparison(reason: str) -> tuple[float, float, str]:
    """The number before and after the reason's "≤", as printed."""
    before, after = reason.split("≤", 1)
    left = NUMBER.findall(before)[-1]
    right = NUMBER.findall(after.replace("±", ""))[0]
    return number(left), number(right), left


@pytest.mark.parametrize("name", BUILTINS)
def test_converged_reason_holds_as_printed_and_matches_the_training_panel(name: str) -> None:
    session = Session(load_builtin(name))
    snap = session.run(session.scenario.max_steps)
    assert snap.status.kind is StatusKind.CONVERGED, name
    loss, tolerance, _shown = comparison(snap.status.reason)
    assert loss <= tolerance, snap.status.reason
    # In the update phase the panels still show the step's old J: the reason says it is the
    # updated values' J, and it is that J (the last one recorded), at the panel's precision.
    assert "updated values" in snap.status.reason
    assert f"J = {fmt(snap.history.losses[snap.step])} " in snap.status.reason
    # Once the loss is computed again, the reason's J is the Training panel's J, digit for digit.
    session.forward()
    snap = session.compute_loss()
    assert snap.status.reason.startswith(f"J = {fmt(snap.evaluation.loss)} ≤")


def test_a_loss_just_under_the_tolerance_is_not_printed_as_equal_or_over() -> None:
    # The textbook converges with J = 9.997e−5 against 1e−4: three digits would print 0.0001.
    session = Session(load_builtin("textbook-2-2-2"))
    session.run(session.scenario.max_steps)
    session.forward()
    reason = session.compute_loss().status.reason
    loss, tolerance, shown = comparison(reason)
    assert loss < tolerance and shown != "0.0001", reason


def test_flat_spot_reason_shows_the_largest_gradient_within_the_tolerance() -> None:
    story = load_builtin("single-weight")
    scenario = dataclasses.replace(story, loss_tolerance=0.0, gradient_tolerance=1e-3)
    session = Session(scenario)
    snap = session.run(1000)
    assert snap.status.kind is StatusKind.CONVERGED
    reason = snap.status.reason
    largest = NUMBER.findall(reason.split("largest ±", 1)[1])[0]
    tolerance = NUMBER.findall(reason.split("within ±", 1)[1])[0]
    # ∂J/∂w = 4.5w − 1.5 at the values now (the story's derivative).
    w = snap.params[0]
    assert number(largest) == pytest.approx(abs(4.5 * w - 1.5), rel=1e-5)
    assert number(largest) <= number(tolerance) == 1e-3


class Panels(App[None]):
    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap

    def compose(self) -> ComposeResult:
        yield TrainingPanel()

    def on_mount(self) -> None:
        self.query_one(TrainingPanel).snapshot = self.snap


async def test_the_training_panel_and_the_reason_print_the_same_j() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    session.run(session.scenario.max_steps)
    session.forward()
    snap = session.compute_loss()
    async with Panels(snap).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(pilot.app.query_one("#training-body", Static).content)
    shown = re.search(r"loss J (\S+)", text)
    assert shown, text
    assert f"J = {shown.group(1)} ≤ 0.0001" in " ".join(text.split())
