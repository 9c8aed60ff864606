"""Side-by-side runs: branching, switching, undo to and across the branch point."""

from __future__ import annotations

import dataclasses

import pytest

from core.files.loader import load_builtin
from core.stepping.branches import Change, Runs, branch_session, parse_change
from core.stepping.session import Phase, Session


def story_update(w: float, lr: float) -> float:
    """The story's update, by hand: ∂J/∂w = 2(1.5w − 0.5)·1.5 = 4.5w − 1.5."""
    return w - lr * (4.5 * w - 1.5)


def story_runs(steps: int = 0) -> Runs:
    runs = Runs(Session(load_builtin("single-weight")))
    for _ in range(steps):
        runs.session.step()
    return runs


def test_a_branch_starts_from_the_parents_values_with_its_own_rate() -> None:
    runs = story_runs(3)
    w3 = runs.session.snapshot.params[0]
    assert w3 == pytest.approx(0.410975, abs=1e-12)  # the story: 0.8, 0.59, 0.4745, 0.410975
    branch = runs.branch(Change("lr", 0.5))
    assert runs.active == 1 and runs.session is branch
    assert branch.snapshot.params == (w3,) and branch.snapshot.step == 0
    assert branch.learning_rate == 0.5 and runs.current.at == 3
    w = w3
    for _ in range(4):
        snap = branch.step()
        w = story_update(w, 0.5)
        assert snap.params[0] == pytest.approx(w, rel=1e-12)
    # lr 0.5 multiplies the distance to 1/3 by 1 − 0.5·4.5 = −1.25 each step: it grows.
    assert abs(w - 1 / 3) > abs(w3 - 1 / 3)
    # The main run did not move.
    assert runs.main.snapshot.step == 3 and runs.main.snapshot.params == (w3,)


def test_a_branch_equals_a_session_started_there_with_that_setting() -> None:
    runs = Runs(Session(load_builtin("textbook-2-2-2")))
    runs.session.run(5)
    start = runs.session.snapshot.params
    runs.branch(Change("lr", 0.1))
    runs.session.run(7)
    scenario = dataclasses.replace(load_builtin("textbook-2-2-2"), initial_params=start)
    alone = Session(scenario, 0.1)
    alone.run(7)
    assert runs.session.snapshot.params == alone.snapshot.params
    assert list(runs.session.snapshot.history.losses) == list(alone.snapshot.history.losses)


def test_switching_cycles_through_the_runs() -> None:
    runs = story_runs(1)
    runs.branch(Change("lr", 0.5))
    runs.switch()
    runs.branch(Change("lr", 0.2))
    assert [b.label() for b in runs.branches] == ["main", "lr 0.5", "lr 0.2"]
    assert runs.active == 2
    assert runs.switch() is runs.main
    assert runs.switch() is runs.branches[1].session


def test_undo_walks_back_to_the_branch_point_then_removes_the_branch() -> None:
    runs = story_runs(2)
    runs.branch(Change("lr", 0.5))
    runs.session.advance()  # forward
    runs.session.step()  # through the update
    runs.session.step()
    assert runs.session.snapshot.step == 2
    for expected in (1, 0, 0):
        snap, removed = runs.undo()
        assert removed is None and snap.step == expected
    assert not runs.session.can_undo  # back at the branch point
    snap, removed = runs.undo()
    assert removed is not None and removed.label() == "lr 0.5"
    assert len(runs) == 1 and runs.active == 0 and snap is runs.main.snapshot
    # Undo goes on in the main run, across the step the branch started from.
    snap, removed = runs.undo()
    assert removed is None and snap.step == 1 and snap.phase is Phase.UPDATE


def test_undo_in_the_main_run_keeps_its_branches() -> None:
    runs = story_runs(3)
    runs.branch(Change("lr", 0.5))
    runs.session.step()
    runs.switch()
    runs.undo()
    runs.undo()
    assert runs.main.snapshot.step == 1 and len(runs) == 2  # back below the branch point
    assert runs.branches[1].at == 3 and runs.branches[1].session.snapshot.step == 1


def test_removing_a_branch_removes_its_branches_and_renumbers_the_rest() -> None:
    runs = story_runs(1)
    runs.branch(Change("lr", 0.5))  # 1
    runs.session.step()
    runs.branch(Change("lr", 0.2))  # 2, from 1 at its step 1: step 2 of the main run's count
    assert runs.current.at == 2 and runs.current.parent == 1
    runs.switch()  # to main
    runs.branch(Change("lr", 0.05))  # 3
    runs.active = 1
    runs.undo()  # lr 0.5's step
    _, removed = runs.undo()
    assert removed is not None and removed.label() == "lr 0.5"
    assert [b.label() for b in runs.branches] == ["main", "lr 0.05"]
    assert runs.branches[1].parent == 0 and runs.active == 0


def test_racing_lists_the_runs_still_training() -> None:
    runs = story_runs(0)
    runs.branch(Change("lr", 5.0))
    for s in runs.racing():
        s.run(10)
    assert runs.session.status().kind.value == "diverged"
    assert runs.racing() == [runs.main]


def test_the_view_is_kept_until_a_run_changes() -> None:
    runs = story_runs(1)
    runs.branch(Change("lr", 0.5))
    view = runs.view()
    assert runs.view() is view
    assert [r.label for r in view.runs] == ["main", "lr 0.5"] and view.current.at == 1
    runs.session.step()
    assert runs.view() is not view and runs.view().current.snapshot.step == 1
    runs.session.set_learning_rate(0.2)
    assert runs.view().current.label == "lr 0.2"  # the legend says the rate it uses now


def test_an_optimizer_or_batch_branch_carries_the_setting() -> None:
    snap = Session(load_builtin("xor")).snapshot
    assert branch_session(snap, Change("optimizer", "adam")).scenario.optimizer.name == "adam"
    assert branch_session(snap, Change("batch", 2)).scenario.optimizer.batch_size == 2


@pytest.mark.parametrize(
    ("kind", "text", "wanted"),
    [("lr", " 0.5 ", Change("lr", 0.5)), ("optimizer", "Adam", Change("optimizer", "adam")),
     ("batch", "2", Change("batch", 2)), ("batch", "0", Change("batch", 0))],
)  # fmt: skip
def test_parse_change_reads_what_a_student_types(kind: str, text: str, wanted: Change) -> None:
    assert parse_change(kind, text, samples=4) == wanted


@pytest.mark.parametrize(
    ("kind", "text"),
    [("lr", "x"), ("lr", "-1"), ("lr", "inf"), ("lr", "0"), ("optimizer", "lbfgs"),
     ("batch", "5"), ("batch", "-1"), ("batch", "1.5")],
)  # fmt: skip
def test_parse_change_refuses_bad_values(kind: str, text: str) -> None:
    with pytest.raises(ValueError):
        parse_change(kind, text, samples=4)


def test_a_momentum_branch_starts_with_no_velocity_and_follows_torchs_rule() -> None:
    runs = story_runs(2)
    w = runs.session.snapshot.params[0]
    runs.branch(Change("optimizer", "momentum"))
    v = 0.0
    for _ in range(3):
        snap = runs.session.step()
        v = 0.9 * v + (4.5 * w - 1.5)  # torch.optim.SGD: v ← μ·v + g (dampening 0), θ ← θ − lr·v
        w -= 0.1 * v
        assert snap.params[0] == pytest.approx(w, rel=1e-12)


def test_a_rate_branch_of_a_momentum_run_keeps_its_velocity() -> None:
    from core.model.optimizers import OptimizerConfig

    scenario = dataclasses.replace(
        load_builtin("single-weight"), optimizer=OptimizerConfig("momentum")
    )
    runs = Runs(Session(scenario))
    w, v = 0.8, 0.0
    for _ in range(2):
        runs.session.step()
        v = 0.9 * v + (4.5 * w - 1.5)
        w -= 0.1 * v
    runs.branch(Change("lr", 0.05))
    for _ in range(2):
        snap = runs.session.step()
        v = 0.9 * v + (4.5 * w - 1.5)  # the velocity built up before the branch goes on
        w -= 0.05 * v
        assert snap.params[0] == pytest.approx(w, rel=1e-12)


def test_a_batch_branch_steps_on_consecutive_batches() -> None:
    from core.model.network import evaluate

    scenario = load_builtin("xor")
    runs = Runs(Session(scenario))
    runs.branch(Change("batch", 2))
    params = list(runs.session.snapshot.params)
    lr, h = runs.session.learning_rate, 1e-6
    for k in range(3):  # batches: samples 0-1, 2-3, then 0-1 again
        part = scenario.samples[2 * (k % 2) : 2 * (k % 2) + 2]

        def j(p: list[float], part: tuple = part) -> float:  # type: ignore[type-arg]
            return evaluate(scenario.architecture, scenario.loss, p, part).loss

        grads = []
        for i in range(len(params)):  # central differences of the batch's mean loss
            up, down = list(params), list(params)
            up[i] += h
            down[i] -= h
            grads.append((j(up) - j(down)) / (2 * h))
        trained = scenario.architecture.trainable
        params = [p - lr * g if t else p for p, g, t in zip(params, grads, trained)]
        snap = runs.session.step()
        assert snap.params == pytest.approx(params, abs=1e-8)


def test_a_runs_path_is_its_weight_and_loss_step_by_step() -> None:
    from core.stepping.branches import path

    runs = story_runs(4)
    ws = [0.8, 0.59, 0.4745, 0.410975, 0.37603625]  # the story's table
    assert runs.session.snapshot.revealed_losses == 4  # step 4's J shows with its forward pass
    got = path(runs.session.snapshot, 0)
    assert [w for w, _ in got] == pytest.approx(ws[:4], rel=1e-12)
    assert [j for _, j in got] == pytest.approx([(1.5 * w - 0.5) ** 2 for w in ws[:4]])
    long = Runs(Session(load_builtin("single-weight")))
    long.session.run(100, stop_when_done=False)
    sampled = path(long.session.snapshot, 0, points=10)
    assert 10 <= len(sampled) <= 11 and sampled[0][0] == 0.8


def test_saved_branches_come_back_exactly_and_go_on_as_before() -> None:
    import json

    from core.files import branches_io, persist

    runs = Runs(Session(load_builtin("xor")))
    runs.session.run(3)
    runs.branch(Change("optimizer", "adam"))
    runs.session.run(5)
    runs.session.advance()  # mid-step: the forward phase
    runs.branch(Change("lr", 0.05))  # a rate branch of the adam run keeps m, v and t
    runs.session.run(2)
    runs.switch()  # the main run is active
    doc = json.loads(json.dumps(branches_io.dump(runs)))
    main, _ = persist.loads(persist.dumps(runs.main.snapshot))
    back = branches_io.restore(main, doc)
    assert back.active == 0 and [b.label() for b in back.branches] == ["main", "adam", "lr 0.05"]
    assert [(b.parent, b.at) for b in back.branches] == [(-1, 0), (0, 3), (1, 8)]
    for old, new in zip(runs.branches, back.branches):
        a, b = old.session.snapshot, new.session.snapshot
        assert (a.step, a.phase, a.params) == (b.step, b.phase, b.params)
        assert a.optimizer_state == b.optimizer_state
        assert old.session.scenario.optimizer == new.session.scenario.optimizer
        # and they go on the same, bit for bit
        assert old.session.run(4).params == new.session.run(4).params


@pytest.mark.parametrize(
    "broken",
    [None, {"branches": 1}, {"active": 0, "branches": [{"change": {"kind": "lr", "value": -1}}]},
     {"active": 5, "branches": []}],
)  # fmt: skip
def test_a_broken_record_of_branches_is_refused_with_a_value_error(broken: object) -> None:
    from core.files import branches_io

    with pytest.raises(ValueError):
        branches_io.restore(Session(load_builtin("xor")), broken)


def test_reset_in_a_resumed_branch_goes_back_to_its_start_with_its_optimizer_state() -> None:
    import json

    from core.files import branches_io, persist

    runs = Runs(Session(load_builtin("xor")))
    runs.branch(Change("optimizer", "adam"))
    runs.session.run(4)
    runs.branch(Change("lr", 0.05))  # starts from adam's m, v and t after 4 updates
    runs.session.run(3)
    started = runs.current.session.snapshot.history  # the rate branch's step 0 is adam's step 4
    doc = json.loads(json.dumps(branches_io.dump(runs)))
    main, _ = persist.loads(persist.dumps(runs.main.snapshot))
    back = branches_io.restore(main, doc)
    for runs_now in (runs, back):
        runs_now.session.reset()
    fresh, resumed = runs.session.snapshot, back.session.snapshot
    assert resumed.step == 0 and resumed.params == started.params_at(0)
    assert resumed.optimizer_state == fresh.optimizer_state  # not a fresh adam
    assert fresh.optimizer_state.t == 4.0
    assert back.session.run(3).params == runs.session.run(3).params
