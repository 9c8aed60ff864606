"""The training kernel under every optimizer: bit for bit what one step at a time computes."""

from __future__ import annotations

import dataclasses
import io

import pytest

from core.files import export, trace
from core.files.loader import load_builtin
from core.model.kernel import trainer_for
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


def test_mini_batches_take_the_generic_path() -> None:
    sc = scenario("xor", "adam", batch=2)
    assert trainer_for(sc.architecture, sc.loss, 4, sc.optimizer) is None
    assert Session(sc)._trainer is None


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
