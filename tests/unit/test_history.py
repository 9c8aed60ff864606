"""The history keeps some steps' parameters and replays the others: bit for bit the same."""

from __future__ import annotations

import math

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
