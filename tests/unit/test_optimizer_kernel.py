"""The training kernel under every optimizer: bit for bit what one step at a time computes."""

from __future__ import annotations

import dataclasses
import io

import pytest

from core.files import export, trace
from core.files.loader import load_builtin
from core.model.kernel import UNROLL_SAMPLES
from core.model.optimizers import OPTIMIZER_NAMES, OptimizerConfig
from core.model.scenario import Scenario
from core.stepping.session import Session, StatusKind


def scenario(name: str, optimizer: str, wd: float = 0.0, batch: int = 0) -> Scenario:
    config = OptimizerConfig(optimizer, weight_decay=wd, batch_size=batch)
    return dataclasses.replace(load_builtin(name), optimizer=config)


@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
@pytest.mark.parametrize("name", ["textbook-2-2-2", "xor"])
@pytest.mark.parametrize(("lr", "wd"), [(None, 0.0), (None, 0.01), (1e3, 0.01)])
def test_run_records_what_single_steps_record(
    optimizer: str, name: str, lr: float | None, wd: float
) -> None:
    sc = scenario(name, optimizer, wd)
    fast, slow = Session(sc, lr), Session(sc, lr)
    assert fast._trainer is not None  # the kernel takes every optimizer
    a = fast.run(300, stop_when_done=False)
    for _ in range(300):
        b = slow.step()
    # The rows hold θ and the optimizer's state; repr: diverged values may be NaN.
    assert [repr(r) for r in fast._history.iter_rows()] == [
        repr(r) for r in slow._history.iter_rows()
    ]
    assert fast._history.checkpoints.tobytes() == slow._history.checkpoints.tobytes()
    assert fast._history.losses.tobytes() == slow._history.losses.tobytes()
    assert (a.step, a.phase, a.status) == (b.step, b.phase, b.status)
    assert repr(a.evaluation) == repr(b.evaluation)
    assert repr((a.optimizer_state, a.shown_state)) == repr((b.optimizer_state, b.shown_state))
    if lr is not None and optimizer in ("sgd", "momentum", "nesterov"):
        assert a.status.kind is StatusKind.DIVERGED  # the divergence screen was crossed too


def same_runs(sc: Scenario, lr: float | None, steps: int = 300) -> None:
    """Session.run (the kernel) against one step at a time (the generic path), bit for bit."""
    fast, slow = Session(sc, lr), Session(sc, lr)
    assert fast._trainer is not None
    a = fast.run(steps, stop_when_done=False)
    for _ in range(steps):
        b = slow.step()
    assert [repr(r) for r in fast._history.iter_rows()] == [
        repr(r) for r in slow._history.iter_rows()
    ]
    assert fast._history.losses.tobytes() == slow._history.losses.tobytes()
    assert (a.step, a.status, repr(a.evaluation)) == (b.step, b.status, repr(b.evaluation))
    assert repr((a.optimizer_state, a.shown_state)) == repr((b.optimizer_state, b.shown_state))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("lr", [None, 1e3])
def test_mini_batches_in_the_kernel(optimizer: str, batch: int, lr: float | None) -> None:
    same_runs(scenario("xor", optimizer, 0.01, batch), lr)  # 4 samples: the last batch smaller


@pytest.mark.parametrize("batch", [3, 7])
def test_mini_batches_of_looped_samples(batch: int) -> None:
    sc = scenario("xor", "momentum", 0.0, batch)
    many = dataclasses.replace(sc, samples=sc.samples * 5)  # 20: past the unrolled samples
    assert len(many.samples) > UNROLL_SAMPLES
    same_runs(many, None, 120)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("batch", [0, 3])
def test_the_streamed_trace_is_the_sessions_export(optimizer: str, batch: int) -> None:
    sc = scenario("xor", optimizer, 0.01, batch)
    out = io.StringIO()
    trace.write_trace(sc, None, 600, "json", out)
    session = Session(sc)
    for _ in range(600):
        session.step()
    assert out.getvalue() == export.to_json(session.snapshot) + "\n"
