"""The speed benchmark runs on tiny counts, and what it times computes what the engine computes.

No assertion here is about speed: only that the contenders do the same arithmetic.
"""

from __future__ import annotations

import pytest

from benchmarks import core as bench
from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Session

TINY = bench.Counts(engine=20, bare=5, torch=3, floor=20, repeats=1)


def test_hand_unrolled_floor_matches_the_engine() -> None:
    scenario = load_builtin(bench.FLOOR_SCENARIO)
    assert bench.floor_check(scenario, 100) <= bench.FLOOR_TOLERANCE
    params, _ = bench.floor_run(scenario, 0)
    assert params == scenario.initial_params


def test_floor_refuses_other_networks() -> None:
    with pytest.raises(ValueError):
        bench.floor_run(load_builtin("xor"), 1)


@pytest.mark.parametrize("name", BUILTINS)
def test_bare_loop_and_recorded_run_agree_exactly(name: str) -> None:
    scenario = load_builtin(name)
    assert bench.bare_run(scenario, 200) == bench.engine_run(scenario, 200)


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("lr", [None, 1e6])
def test_run_records_what_single_steps_record(name: str, lr: float | None) -> None:
    # Session.run (what the benchmark times) against one step at a time, bit for bit,
    # through convergence or divergence.
    fast, slow = Session(load_builtin(name), lr), Session(load_builtin(name), lr)
    a = fast.run(300, stop_when_done=False)
    for _ in range(300):
        b = slow.step()
    assert fast._history.checkpoints.tobytes() == slow._history.checkpoints.tobytes()
    # Every step's parameters, the stored ones and the ones the history replays.
    assert [repr(p) for p in fast._history.iter_params()] == [
        repr(p) for p in slow._history.iter_params()
    ]
    assert fast._history.losses.tobytes() == slow._history.losses.tobytes()
    assert fast._history.rates.tobytes() == slow._history.rates.tobytes()
    assert (a.step, a.phase, a.status) == (b.step, b.phase, b.status)
    # repr: after divergence the values may be NaN, which is never == itself.
    assert repr(a.evaluation) == repr(b.evaluation)
    assert repr(a.previous_params) == repr(b.previous_params)


def test_measure_and_render_without_torch() -> None:
    said: list[str] = []
    report = bench.measure(TINY, use_torch=False, say=said.append)
    assert [r.scenario for r in report.rows] == list(BUILTINS)
    assert all(r.torch is None and r.engine > 0 and r.bare > 0 for r in report.rows)
    assert report.floor > 0 and report.floor_difference <= bench.FLOOR_TOLERANCE
    text = "\n".join(bench.render(report, TINY))
    assert "floor/engine" in text and "skipped" in text


# PyTorch is not a test dependency: `python -m benchmarks.core` checks, where it is importable,
# that it computes the same gradients as the engine (to 1e-12) before timing it.


def test_the_lab_harness_reads_the_step_from_the_training_panels_title() -> None:
    from benchmarks.lab import last_step

    screen = "╭─ XOR · step 12 ───╮\n│ lr 1 · loss J 0.6931 │\n converged at step 876"
    assert last_step(screen) == 12
    assert last_step("no title yet") is None
