"""The stepping state machine: undo, reset, learning-rate changes, edits, divergence."""

from __future__ import annotations

import math

import pytest

from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Phase, PhaseOrderError, Session, Snapshot, StatusKind


def state(snap: Snapshot):
    """Everything a snapshot shows, as plain values for exact comparison."""
    return (
        snap.step,
        snap.phase,
        snap.learning_rate,
        snap.params,
        snap.evaluation,
        snap.status,
        snap.loss_curve,
        snap.history.count,
    )


def test_phase_calls_must_come_in_order(story: Session) -> None:
    with pytest.raises(PhaseOrderError):
        story.backward()
    story.forward()
    with pytest.raises(PhaseOrderError):
        story.update()
    story.compute_loss()
    story.backward()
    assert story.update().phase is Phase.UPDATE


@pytest.mark.parametrize("name", BUILTINS)
def test_undo_walks_back_through_every_phase_and_step_exactly(name: str) -> None:
    session = Session(load_builtin(name))
    seen = [state(session.snapshot)]
    moves = [session.advance] * 6 + [session.step, session.step] + [session.advance] * 2
    for move in moves:
        seen.append(state(move()))
    taken = session.run(25).step - seen[-1][0]
    assert taken > 0
    for _ in range(taken):
        session.undo()
    assert state(session.snapshot) == seen[-1]
    for expected in reversed(seen[:-1]):
        assert state(session.undo()) == expected
    assert not session.can_undo


def test_reset_restores_the_start_and_can_be_undone(story: Session) -> None:
    start = state(story.snapshot)
    story.run(7)
    before = state(story.snapshot)
    assert state(story.reset()) == start
    assert state(story.undo()) == before


def test_reset_keeps_the_current_learning_rate(story: Session) -> None:
    story.set_learning_rate(0.2)
    story.run(3)
    snap = story.reset()
    assert snap.learning_rate == 0.2 and snap.step == 0 and snap.params == (0.8,)


def test_learning_rate_change_takes_effect_on_the_next_update_only(story: Session) -> None:
    story.forward()
    story.compute_loss()
    before = story.backward()
    snap = story.set_learning_rate(0.2)
    # What is already computed stays as it was.
    assert snap.evaluation is before.evaluation
    assert snap.params == before.params
    snap = story.update()
    assert snap.params[0] == pytest.approx(0.8 - 0.2 * 2.1, abs=1e-15)
    assert snap.history.rates[0] == 0.2
    story.undo()  # the update
    story.undo()  # the rate change
    assert story.learning_rate == 0.1


def test_set_parameter_restarts_the_step_and_undo_restores(story: Session) -> None:
    story.step()
    before = state(story.snapshot)
    snap = story.set_parameter(0, 1 / 3)
    assert snap.phase is Phase.READY and snap.params == (1 / 3,)
    assert snap.evaluation.loss == pytest.approx(0.0, abs=1e-30)
    assert state(story.undo()) == before
    with pytest.raises(ValueError):
        story.set_parameter(0, math.inf)


def test_story_at_learning_rate_one_diverges() -> None:
    session = Session(load_builtin("single-weight"), learning_rate=1.0)
    snap = session.run(10_000)
    assert snap.status.kind is StatusKind.DIVERGED
    assert "learning rate" in snap.status.hint
    assert snap.step < 20
    # Undo returns to the last state that had not diverged, with finite values.
    back = session.undo()
    assert back.status.kind is StatusKind.TRAINING
    assert all(math.isfinite(p) for p in back.params)


@pytest.mark.parametrize("name", ["textbook-2-2-2", "xor", "hidden-neuron"])
def test_sigmoid_networks_at_a_million_diverge_without_exceptions(name: str) -> None:
    session = Session(load_builtin(name), learning_rate=1e6)
    snap = session.run(1000)
    assert snap.status.kind is StatusKind.DIVERGED
    # Stepping on by hand after divergence raises nothing either.
    for _ in range(20):
        session.advance()


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_converges(name: str) -> None:
    session = Session(load_builtin(name))
    snap = session.run(session.scenario.max_steps)
    assert snap.status.kind is StatusKind.CONVERGED


def test_run_stops_at_convergence_and_undo_goes_one_step_at_a_time(story: Session) -> None:
    snap = story.run(1000)
    n = snap.step
    assert snap.status.kind is StatusKind.CONVERGED
    assert story.run(10).step == n  # nothing more to do
    assert story.undo().step == n - 1


def test_loss_curve_is_downsampled_and_keeps_the_last_point() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    snap = session.run(5000, stop_when_done=False)
    curve = snap.loss_curve
    assert len(curve) <= 402
    assert curve[0] == (0, snap.history.losses[0])
    assert curve[-1][0] == snap.revealed_losses - 1
