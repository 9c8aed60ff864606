"""The history keeps some steps' parameters and replays the others: bit for bit the same."""

from __future__ import annotations

import math

import pytest

from core.files import persist
from core.files.loader import parse
from core.stepping.history import CHECKPOINT, REPLAY_WORK
from core.stepping.session import Session

SINGLE = """learning_rate = 0.01
[network]
layers = [1, 1]
activations = ["identity"]
bias = false
weights = [[[0.8]]]
[stop]
loss_below = 0.0
gradient_below = 0.0
[[samples]]
x = [1.5]
y = [0.5]
"""


def big() -> Session:
    """64-16-1 over 16 samples: 16,912 parameter-samples a step, so checkpoints come often."""
    samples = "".join(
        f"[[samples]]\nx = [{', '.join([f'0.{k}'] * 64)}]\ny = [0.5]\n" for k in range(16)
    )
    text = (
        "learning_rate = 0.01\n[network]\nlayers = [64, 16, 1]\n"
        'activations = ["tanh", "sigmoid"]\n[stop]\nloss_below = 0.0\ngradient_below = 0.0\n'
        + samples
    )
    return Session(parse(text, "big.toml"))


def stepped(session: Session, steps: int) -> list[tuple[float, ...]]:
    """Steps 0 … steps − 1's parameters, as the live session showed them one step at a time
    (in the update phase a snapshot shows the values the update started from)."""
    seen = []
    for _ in range(steps):
        session.step()
        seen.append(session.snapshot.evaluation.params)
    return seen


def test_every_step_of_a_long_run_is_recovered_exactly() -> None:
    session = Session(parse(SINGLE, "single.toml"))
    steps = 2 * CHECKPOINT + 40
    shown = stepped(session, steps)
    history = session.snapshot.history
    assert history.interval == CHECKPOINT
    assert [history.params_at(k) for k in range(steps)] == shown
    assert list(history.iter_params())[:steps] == shown
    # The weight follows w ← w − lr·2(1.5w − 0.5)·1.5 from 0.8, by hand, to rounding.
    w = 0.8
    for k in range(steps):
        assert math.isclose(shown[k][0], w, rel_tol=1e-12), k
        w -= 0.01 * 2 * (1.5 * w - 0.5) * 1.5


def test_a_big_network_keeps_checkpoints_often_and_replays_exactly() -> None:
    session = big()
    work = len(session.scenario.initial_params) * len(session.scenario.samples)
    interval = session.snapshot.history.interval
    assert interval * work <= REPLAY_WORK
    assert 1 < interval < CHECKPOINT
    shown = stepped(session, interval + 5)
    history = session.snapshot.history
    assert [history.params_at(k) for k in range(len(shown))] == shown
    # Undo goes back through them one step at a time, to the same numbers.
    for k in range(len(shown) - 1, 0, -1):
        session.undo()
        assert session.step_count == k
        assert session.snapshot.evaluation.params == shown[k - 1]


def test_a_saved_big_network_comes_back_and_undoes_exactly() -> None:
    session = big()
    interval = session.snapshot.history.interval
    before = stepped(session, interval + 3)
    restored, _ = persist.loads(persist.dumps(session.snapshot))
    assert restored.snapshot.evaluation.params == session.snapshot.evaluation.params
    target = interval - 1  # between two checkpoints: only a replay recovers step target - 1
    while restored.step_count > target:
        restored.undo()
    assert restored.snapshot.evaluation.params == before[target - 1]


def story(lr: float, w: float, steps: int) -> list[tuple[float, float]]:
    """(w, J) at steps 0 … steps by the story's recurrence: w ← w − lr·2(1.5w − 0.5)·1.5."""
    out = []
    for _ in range(steps + 1):
        out.append((w, (1.5 * w - 0.5) ** 2))
        w -= lr * 2 * (1.5 * w - 0.5) * 1.5
    return out


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def test_an_old_snapshot_keeps_its_steps_through_undo_and_new_steps() -> None:
    session = Session(parse(SINGLE.replace("0.01", "0.1"), "single.toml"))
    for _ in range(5):
        session.step()
    old = session.snapshot.history
    assert old.count == 6
    mine = [(old.params_at(k), old.losses[k]) for k in range(6)]
    for _ in range(3):
        session.undo()
    assert session.step_count == 2
    session.set_learning_rate(0.25)
    for _ in range(5):
        session.step()  # steps 3–7 again, other values, where steps 3–5 were
    new = session.snapshot.history
    assert new.count == 8
    # The new steps follow the new rate from the story's step 2 (w = 0.4745) ...
    for k, (w, loss) in enumerate(story(0.25, 0.4745, 5), start=2):
        assert close(new.params_at(k)[0], w) and close(new.losses[k], loss), k
    # ... and the old snapshot still reads its own: lr 0.1 from 0.8, 0.59, 0.4745, 0.410975, …
    expected = story(0.1, 0.8, 5)
    assert [round(w, 10) for w, _ in expected] == [
        0.8, 0.59, 0.4745, 0.410975, 0.37603625, 0.3568199375
    ]  # fmt: skip
    for k in range(6):
        assert close(old.params_at(k)[0], expected[k][0]), k
        assert close(old.losses[k], expected[k][1]), k
    assert [(old.params_at(k), old.losses[k]) for k in range(6)] == mine  # bit for bit
    assert list(old.iter_params()) == [p for p, _ in mine]
    assert list(old.rates) == [0.1] * 5 and len(old.losses) == 6
    assert old.curve(6) == tuple((k, loss) for k, (_, loss) in enumerate(mine))


def test_a_snapshot_never_sees_steps_taken_after_it() -> None:
    session = Session(parse(SINGLE.replace("0.01", "0.1"), "single.toml"))
    session.run(5)
    snap = session.snapshot
    old = snap.history
    # Past the next kept step (256), which the view must not see.
    session.run(CHECKPOINT + 50, stop_when_done=False)
    assert session.snapshot.history.count == CHECKPOINT + 56
    assert (len(old.losses), len(old.rates), len(old.checkpoints)) == (6, 5, 1)
    assert len(list(old.losses)) == 6 and old.losses[-1] == old.losses[5]
    for past_the_end in (6, CHECKPOINT):
        with pytest.raises(IndexError):
            old.losses[past_the_end]
    with pytest.raises(IndexError):
        old.params_at(6)
    ws = {round(w, 12) for w, _ in story(0.1, 0.8, 5)}
    assert {round(w, 12) for w in old.trajectory(0)} <= ws  # no value from later steps
    # Saved, it comes back as it was when taken.
    restored, _ = persist.loads(persist.dumps(snap))
    assert restored.step_count == 5
    assert restored.snapshot.params == snap.params
    assert close(restored.snapshot.params[0], 0.3568199375)


def test_taking_a_snapshot_copies_nothing() -> None:
    session = Session(parse(SINGLE, "single.toml"))
    session.run(1000)
    first = session.snapshot.history
    session.step()
    second = session.snapshot.history
    # Both are windows on the same arrays: a snapshot costs O(1), not O(steps).
    assert first.losses.same_array(second.losses)
    assert first.rates.same_array(second.rates)
    assert first.checkpoints.same_array(second.checkpoints)
    assert (first.count, second.count) == (1001, 1002)
