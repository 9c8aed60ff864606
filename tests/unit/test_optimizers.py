"""The optimizers against their published definitions (torch.optim's docs), worked by hand."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

import pytest

from core.files.loader import load_builtin
from core.files.persist import dumps, loads
from core.model.network import evaluate
from core.model.optimizers import OPTIMIZER_NAMES, OptimizerConfig, batch_range
from core.model.scenario import Scenario
from core.stepping.session import Phase, Session, Snapshot
from core.teaching import quiz
from core.teaching.explain import explain, plain, render


def with_optimizer(name: str, scenario: str = "single-weight", **settings: Any) -> Scenario:
    sc = load_builtin(scenario)
    return dataclasses.replace(sc, optimizer=OptimizerConfig(name=name, **settings))


def weights(name: str, steps: int, **settings: Any) -> list[float]:
    """The story's w after 0, 1, … updates under an optimizer."""
    session = Session(with_optimizer(name, **settings))
    seen = [session.snapshot.params[0]]
    for _ in range(steps):
        seen.append(session.step().params[0])
    return seen


def story_grad(w: float) -> float:
    return 4.5 * w - 1.5  # ∂J/∂w of J = (1.5w − 0.5)² (the story)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def test_momentum_by_hand() -> None:
    # v1 = g0 = 2.1, w1 = 0.8 − 0.1·2.1; v2 = 0.9·2.1 + g1, g1 = 4.5·0.59 − 1.5 = 1.155.
    w = weights("momentum", 2)
    assert close(w[1], 0.59) and close(w[2], 0.59 - 0.1 * (0.9 * 2.1 + 1.155))
    assert close(w[2], 0.2855)


def test_nesterov_by_hand() -> None:
    # The step uses g + μ·v with v the new velocity: 2.1 + 0.9·2.1.
    w = weights("nesterov", 2)
    assert close(w[1], 0.401)
    g1 = story_grad(0.401)
    v2 = 0.9 * 2.1 + g1
    assert close(w[2], 0.401 - 0.1 * (g1 + 0.9 * v2))


def test_rmsprop_by_hand() -> None:
    w = weights("rmsprop", 2, alpha=0.9, eps=1e-6)
    s1 = 0.1 * 2.1**2
    assert close(w[1], 0.8 - 0.1 * 2.1 / (math.sqrt(s1) + 1e-6))
    g1 = story_grad(w[1])
    s2 = 0.9 * s1 + 0.1 * g1**2
    assert close(w[2], w[1] - 0.1 * g1 / (math.sqrt(s2) + 1e-6))


def test_adam_by_hand_two_steps() -> None:
    w = weights("adam", 2)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1
    g0 = 2.1
    m, v = (1 - b1) * g0, (1 - b2) * g0 * g0
    # The first bias-corrected step is lr·g/(|g| + ε): almost exactly lr.
    assert close(w[1], 0.8 - lr * (m / (1 - b1)) / (math.sqrt(v / (1 - b2)) + eps))
    assert abs(w[1] - 0.7) < 1e-8
    g1 = story_grad(w[1])
    m, v = b1 * m + (1 - b1) * g1, b2 * v + (1 - b2) * g1 * g1
    m_hat, v_hat = m / (1 - b1**2), v / (1 - b2**2)
    assert close(w[2], w[1] - lr * m_hat / (math.sqrt(v_hat) + eps))


def test_weight_decay_adds_lambda_theta_to_the_gradient() -> None:
    w = weights("sgd", 1, weight_decay=0.5)
    assert close(w[1], 0.8 - 0.1 * (2.1 + 0.5 * 0.8))
    w = weights("momentum", 2, weight_decay=0.5)
    v1 = 2.1 + 0.4
    g1 = story_grad(w[1]) + 0.5 * w[1]
    assert close(w[2], w[1] - 0.1 * (0.9 * v1 + g1))


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_frozen_parameters_never_move(name: str) -> None:
    sc = with_optimizer(name, "textbook-2-2-2", weight_decay=0.1, batch_size=1)
    session = Session(sc)
    frozen = [i for i, t in enumerate(sc.architecture.trainable) if not t]
    assert frozen
    end = session.run(20).params
    assert [end[i] for i in frozen] == [sc.initial_params[i] for i in frozen]
    assert end != sc.initial_params


def test_batches_are_consecutive_the_last_smaller_then_the_first_again() -> None:
    assert [list(batch_range(t, 5, 2)) for t in range(4)] == [[0, 1], [2, 3], [4], [0, 1]]
    assert batch_range(3, 5, 0) == range(5) and batch_range(0, 5, 5) == range(5)


def test_each_update_uses_its_batch_while_the_loss_is_the_whole_sets() -> None:
    sc = with_optimizer("sgd", "xor", batch_size=3)
    session = Session(sc)
    params = sc.initial_params
    lr = sc.learning_rate
    trainable = sc.architecture.trainable
    for batch in ([0, 1, 2], [3], [0, 1, 2]):
        part = [sc.samples[i] for i in batch]
        g = evaluate(sc.architecture, sc.loss, params, part).grads
        params = tuple(p - lr * gi if t else p for p, gi, t in zip(params, g, trainable))
        snap = session.step()
        assert snap.params == params
        assert list(snap.batch) == batch
        whole = evaluate(sc.architecture, sc.loss, params, sc.samples)
        assert session.snapshot.history.losses[-1] == whole.loss


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_undo_reset_and_save_restore_the_optimizer_state_exactly(name: str) -> None:
    sc = with_optimizer(name, "xor", batch_size=3, weight_decay=0.01)
    session = Session(sc)
    session.run(300)  # past a checkpoint: older steps are replayed with their state
    at = session.snapshot
    session.run(7)
    ahead = session.snapshot
    for _ in range(7):
        session.undo()
    back = session.snapshot
    assert (back.params, back.optimizer_state) == (at.params, at.optimizer_state)
    assert back.history.params_at(150) == ahead.history.params_at(150)
    resumed, _ = loads(dumps(ahead))
    assert resumed.snapshot.optimizer_state == ahead.optimizer_state
    assert resumed.run(5).params == session.run(12).params
    session.reset()
    assert session.snapshot.optimizer_state.t == 0
    assert session.run(3).optimizer_state.t == 3


def test_the_update_phase_pairs_the_old_state_with_the_old_values() -> None:
    session = Session(with_optimizer("adam"))
    session.step()
    for _ in range(3):
        session.advance()
    snap = session.advance()
    assert snap.phase is Phase.UPDATE and snap.step == 2
    assert (snap.shown_state.t, snap.optimizer_state.t) == (1, 2)


def test_a_branch_starts_from_given_values_and_state() -> None:
    sc = with_optimizer("momentum", "xor")
    main = Session(sc)
    main.run(10)
    snap = main.snapshot
    branch = Session.starting_at(sc, snap.params, snap.optimizer_state)
    assert branch.run(5).params == main.run(5).params
    other = dataclasses.replace(sc, optimizer=OptimizerConfig("adam"))
    with pytest.raises(ValueError):
        Session.starting_at(other, snap.params, snap.optimizer_state)
    assert Session.starting_at(other, snap.params).snapshot.optimizer_state.t == 0


# -- against PyTorch itself, where it is installed ---------------------------------------------


def torch_run(
    config: OptimizerConfig, lr: float, start: list[float], grads: list[list[float]]
) -> list[list[float]]:
    torch = pytest.importorskip("torch")
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    wd = config.weight_decay
    optim = {
        "sgd": lambda: torch.optim.SGD([p], lr=lr, weight_decay=wd),
        "momentum": lambda: torch.optim.SGD([p], lr=lr, momentum=config.momentum, weight_decay=wd),
        "nesterov": lambda: torch.optim.SGD(
            [p], lr=lr, momentum=config.momentum, nesterov=True, weight_decay=wd
        ),
        "rmsprop": lambda: torch.optim.RMSprop(
            [p], lr=lr, alpha=config.alpha, eps=config.eps, weight_decay=wd
        ),
        "adam": lambda: torch.optim.Adam(
            [p], lr=lr, betas=(config.beta1, config.beta2), eps=config.eps, weight_decay=wd
        ),
    }[config.name]()
    seen = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        optim.step()
        seen.append(p.detach().tolist())
    return seen


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_the_same_numbers_as_torch_optim(name: str, wd: float) -> None:
    from core.model.optimizers import initial_state, step

    rng = random.Random(7)
    config = OptimizerConfig(
        name, momentum=0.8, alpha=0.95, beta1=0.85, beta2=0.99, weight_decay=wd
    )
    start = [rng.uniform(-2, 2) for _ in range(3)]
    grads = [[rng.uniform(-3, 3) for _ in range(3)] for _ in range(25)]
    expected = torch_run(config, 0.05, start, grads)
    params, state = tuple(start), initial_state(config, 3)
    for g, want in zip(grads, expected):
        params, state = step(config, params, g, 0.05, (True,) * 3, state)
        assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14) for a, b in zip(params, want))


# -- the [optimizer] table -------------------------------------------------------------------

STORY = """
learning_rate = 0.1
[network]
layers = [1, 1]
activations = ["identity"]
bias = false
weights = [[[0.8]]]
[[samples]]
x = [1.5]
y = [0.5]
[[samples]]
x = [1.0]
y = [0.2]
"""


def test_the_optimizer_table_is_read() -> None:
    from core.files.loader import parse

    text = STORY + '[optimizer]\nname = "adam"\nbeta1 = 0.8\neps = 1e-6\nbatch_size = 1\n'
    config = parse(text, "t.toml").optimizer
    assert (config.name, config.beta1, config.beta2, config.eps) == ("adam", 0.8, 0.999, 1e-6)
    assert config.batch_size == 1 and parse(STORY, "t.toml").optimizer == OptimizerConfig()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('name = "adma"', "optimizer.name: unknown optimizer 'adma' (did you mean adam?"),
        ("lr = 0.1", "optimizer.lr: unknown key"),
        ("beta2 = 1.0", "optimizer.beta2: must be at least 0 and below 1, got 1"),
        ("momentum = -0.5", "optimizer.momentum: must be at least 0 and below 1, got -0.5"),
        ("eps = 0", "optimizer.eps: must be greater than 0"),
        ("weight_decay = -1", "optimizer.weight_decay: must not be negative"),
        ("batch_size = 3", "optimizer.batch_size: must be between 0 and 2, got 3"),
        ("batch_size = -1", "optimizer.batch_size: must be between 0 and 2, got -1"),
        ('alpha = "x"', "optimizer.alpha: expected a number"),
    ],
)
def test_bad_optimizer_settings_are_one_line_errors(table: str, message: str) -> None:
    from core.files.loader import ScenarioError, parse

    with pytest.raises(ScenarioError) as err:
        parse(STORY + "[optimizer]\n" + table + "\n", "t.toml")
    assert f"t.toml: {message}" in str(err.value) and "\n" not in str(err.value)


# -- the update written out, and the quiz ------------------------------------------------------


def update_text(snap: Snapshot, index: int = 0) -> list[str]:
    return plain(render(explain(snap, index), sections=["update"]))


def test_momentums_update_is_written_out_with_its_numbers() -> None:
    session = Session(with_optimizer("momentum"))
    assert update_text(session.step()) == [
        "v ← μ·v + ∂J/∂w = 0.9·0 + 2.1 = 2.1",
        "w ← w − lr·v = 0.8 − 0.1·2.1 = 0.59",
    ]
    lines = update_text(session.step())
    assert lines[0] == "v ← μ·v + ∂J/∂w = 0.9·2.1 + 1.155 = 3.045"
    assert lines[1] == "w ← w − lr·v = 0.59 − 0.1·3.045 = 0.2855"


def test_adams_lines_are_its_published_moments_at_step_two() -> None:
    session = Session(with_optimizer("adam", weight_decay=0.5))
    session.step()
    snap = session.step()
    ex = explain(snap, 0)
    b1, b2, lam = 0.9, 0.999, 0.5
    w0, w1 = 0.8, session.snapshot.history.params_at(1)[0]
    g0, g1 = 2.1 + lam * w0, story_grad(w1) + lam * w1
    m = b1 * (1 - b1) * g0 + (1 - b1) * g1
    v = b2 * (1 - b2) * g0 * g0 + (1 - b2) * g1 * g1
    values = {eq.lhs: eq.value for eq in ex.optimizer}
    assert [eq.lhs for eq in ex.optimizer] == ["g", "m", "v", "m̂", "v̂"]
    assert close(values["g"], g1) and close(values["m"], m) and close(values["v"], v)  # type: ignore[arg-type]
    assert close(values["m̂"], m / (1 - b1**2)) and close(values["v̂"], v / (1 - b2**2))  # type: ignore[arg-type]
    assert ex.update.value == snap.params[0]
    assert update_text(snap)[0].startswith("g = ∂J/∂w + λ·w = ")


def test_a_batchs_gradient_is_the_one_written_out() -> None:
    session = Session(with_optimizer("sgd", "xor", batch_size=3))
    session.step()
    snap = session.step()  # the second batch: sample 4 alone
    lines = update_text(snap)
    assert lines[0].startswith("∂J_B/∂w1 = mean of ∂L/∂w1 over batch 2/2: sample 4")
    assert explain(snap, 0).update.formula == "w1 − lr·∂J_B/∂w1"


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_every_optimizers_written_update_and_quiz_answer_are_the_sessions(name: str) -> None:
    sc = with_optimizer(name, "xor", batch_size=3, weight_decay=0.01)
    session = Session(sc)
    session.run(5)
    for _ in range(3):
        snap = session.advance()
    assert snap.phase is Phase.BACKWARD
    answers = [quiz.expected(snap, i, quiz.Question.NEW_VALUE) for i in range(len(snap.params))]
    done = session.advance()
    assert answers == list(done.params)
    for i in range(len(done.params)):
        assert explain(done, i).update.value == done.params[i]
    plain_step = snap.params[0] - snap.learning_rate * snap.evaluation.grads[0]
    graded = quiz.grade(snap, 0, quiz.Question.NEW_VALUE, plain_step)
    if not quiz._same(snap, 0, quiz.Question.NEW_VALUE, plain_step, answers[0]):
        near_old = quiz._same(snap, 0, quiz.Question.NEW_VALUE, plain_step, snap.params[0])
        assert graded.mistake is not None
        assert graded.mistake.key == ("not_updated" if near_old else "plain_step")


@pytest.mark.parametrize("seed", range(2))
def test_random_moves_undo_back_exactly_under_adam_with_batches(seed: int) -> None:
    sc = with_optimizer("adam", "xor", batch_size=3, weight_decay=0.01)
    session = Session(sc)
    rng = random.Random(seed)

    def seen(snap: Snapshot) -> str:
        return repr(
            (
                snap.step,
                snap.phase,
                snap.params,
                snap.evaluation.params,
                snap.learning_rate,
                snap.optimizer_state,
                snap.shown_state,
                list(snap.history.losses),
            )
        )

    states: list[str | None] = [seen(session.snapshot)]
    for _ in range(40):
        before = session.snapshot.step
        move = rng.choice(["advance", "step", "run", "rate", "edit", "reset"])
        if move == "advance":
            snap = session.advance()
        elif move == "step":
            snap = session.step()
        elif move == "run":
            snap = session.run(rng.randint(1, 40), stop_when_done=False)
        elif move == "rate":
            snap = session.set_learning_rate(rng.choice([0.1, 0.5, 2.0]))
        elif move == "edit":
            snap = session.set_parameter(rng.randrange(9), rng.uniform(-1, 1))
        else:
            snap = session.reset()
        hist = snap.history
        assert hist.params_at(snap.step) == snap.params
        assert hist.state_at(snap.step) == snap.optimizer_state.flat()
        if move == "run":  # a run's steps are undone one by one: skip those in between
            states.extend([None] * (snap.step - before - 1))
        states.append(seen(snap))
    while session.can_undo:
        states.pop()
        snap = session.undo()
        while states and states[-1] is None:
            states.pop()
            snap = session.undo()
        assert seen(snap) == states[-1]


# -- the command line ------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from tui.cli import main

    try:
        code = main(list(args))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_optimizer_options_reach_the_json_trace(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _err = cli(
        capsys, "xor", "--optimizer", "rmsprop", "--batch-size", "3", "--weight-decay", "0.1",
        "--steps", "3", "--format", "json",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0
    assert doc["optimizer"] == {
        "name": "rmsprop", "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.1, "batch_size": 3,
    }  # fmt: skip
    # Entry k: the whole data set's loss at the values after k updates.
    sc = with_optimizer("rmsprop", "xor", batch_size=3, weight_decay=0.1)
    history = Session(sc).run(3).history
    for k, entry in enumerate(doc["steps"]):
        params = tuple(entry["params"].values())
        assert params == history.params_at(k)  # the session's k-th values (batch k's update)
        whole = evaluate(sc.architecture, sc.loss, params, sc.samples)
        assert (entry["loss"], tuple(entry["grads"].values())) == (whole.loss, whole.grads)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "adamw"], "argument --optimizer: invalid choice: 'adamw'"),
        (["xor", "--batch-size", "5", "--headless"], "--batch-size: XOR has 4 samples"),
        (["--batch-size", "-1"], "argument --batch-size: must be 0 (all samples) or more"),
        (["--weight-decay", "x"], "argument --weight-decay: expected a number"),
        (["--resume", "--optimizer", "adam"], "--optimizer does not go with --resume"),
    ],
)
def test_bad_optimizer_options_are_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_rmsprops_square_is_written_as_one() -> None:
    snap = Session(with_optimizer("rmsprop")).step()
    # From v = 0: v = (1 − α)·g² = 0.01·4.41, g = 2.1 (the story).
    assert update_text(snap)[0] == "v ← α·v + (1 − α)·(∂J/∂w)² = 0.99·0 + (1 − 0.99)·2.1² = 0.0441"


def test_any_optimizer_table_is_refused_in_one_line_or_trains() -> None:
    from core.files.loader import ScenarioError, parse

    rng = random.Random(3)
    values = ['"adam"', '"sgd"', '"rmsprop"', '"x"', "0", "1", "-1", "0.5", "0.999", "1e-300",
              "1e308", "inf", "nan", "true", "[]", "{}", "2", "-0.0"]  # fmt: skip
    keys = ["name", "momentum", "alpha", "beta1", "beta2", "eps", "weight_decay", "batch_size"]
    for _ in range(300):
        chosen = rng.sample(keys, rng.randint(1, 4))
        table = "".join(f"{k} = {rng.choice(values)}\n" for k in chosen)
        try:
            sc = parse(STORY + "[optimizer]\n" + table, "t.toml")
        except ScenarioError as err:
            assert "\n" not in str(err) and str(err).startswith("t.toml: optimizer")
            continue
        session = Session(sc)
        session.run(30, stop_when_done=False)
        assert session.snapshot.step == 30
