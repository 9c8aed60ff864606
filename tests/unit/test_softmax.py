"""Softmax with cross-entropy: a hand-computed example, stability, finite differences, the
kernel's bit-for-bit equality, the Jacobian the chain rule shows, the quiz's mistakes, accuracy."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from core.files.loader import ScenarioError, load_file
from core.model.activations import ACTIVATIONS, softmax, softmax_jacobian
from core.model.kernel import trainer_for
from core.model.losses import LOSSES, accuracy, percent
from core.model.network import (
    Architecture,
    Sample,
    apply_update,
    classification_accuracy,
    evaluate,
    params_accuracy,
)
from core.stepping.session import Session
from core.teaching import quiz
from core.teaching.explain import explain, plain, render

CE = LOSSES["cross_entropy"]
SOFTMAX = ACTIVATIONS["softmax"]
TANH = ACTIVATIONS["tanh"]


def one_layer(bias: bool = True) -> Architecture:
    return Architecture((2, 3), (SOFTMAX,), bias)


def test_a_hand_computed_example() -> None:
    # Weights 0, biases (0, ln 2, ln 3): e^z = (1, 2, 3), so ŷ = (1/6, 2/6, 3/6). With the target
    # the second class, L = −log(1/3) = ln 3 and δ = ŷ − y = (1/6, −2/3, 1/2). Input x = (1, 0):
    # the weights from x1 get δ, those from x2 get 0, the biases δ.
    params = [0.0] * 6 + [0.0, math.log(2.0), math.log(3.0)]
    ev = evaluate(one_layer(), CE, params, [Sample((1.0, 0.0), (0.0, 1.0, 0.0))])
    assert ev.samples[0].a[1] == pytest.approx([1 / 6, 1 / 3, 1 / 2], abs=1e-15)
    assert ev.loss == pytest.approx(math.log(3.0), abs=1e-15)
    delta = [1 / 6, -2 / 3, 1 / 2]
    expected = [delta[0], 0.0, delta[1], 0.0, delta[2], 0.0, *delta]
    assert ev.grads == pytest.approx(expected, abs=1e-15)
    assert ev.samples[0].delta[1] == pytest.approx(delta, abs=1e-15)


def test_two_samples_average_by_hand() -> None:
    # z = (0, 0) gives ŷ = (½, ½) whatever x is: L = ln 2 for either target, δ = ±½.
    net = Architecture((1, 2), (SOFTMAX,), True)
    samples = [Sample((2.0,), (1.0, 0.0)), Sample((-1.0,), (0.0, 1.0))]
    ev = evaluate(net, CE, [0.0, 0.0, 0.0, 0.0], samples)
    assert ev.loss == pytest.approx(math.log(2.0), abs=1e-15)
    # ∂J/∂w1 = mean of δ₁·x: (−½·2 + ½·(−1))/2 = −0.75; w2 the opposite; b: (−½ + ½)/2 = 0.
    assert ev.grads == pytest.approx([-0.75, 0.75, 0.0, 0.0], abs=1e-15)


def test_a_probability_that_rounds_to_zero_leaves_the_loss_finite() -> None:
    # z = (0, 1000, −1000), target the first: ŷ₁ = e^−1000 rounds to 0, yet L = lse − z₁ = 1000.
    params = [0.0] * 6 + [0.0, 1000.0, -1000.0]
    ev = evaluate(one_layer(), CE, params, [Sample((1.0, 1.0), (1.0, 0.0, 0.0))])
    assert ev.samples[0].a[1][0] == 0.0
    assert ev.loss == 1000.0
    assert ev.grads[-3:] == (-1.0, 1.0, 0.0)
    # Huge pre-activations never overflow softmax itself.
    assert softmax([1e308, 0.0]) == [1.0, 0.0]


def finite_difference(net, params, samples, i, h=1e-6):  # type: ignore[no-untyped-def]
    up, down = list(params), list(params)
    up[i] += h
    down[i] -= h
    return (evaluate(net, CE, up, samples).loss - evaluate(net, CE, down, samples).loss) / (2 * h)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes", [(2, 3), (2, 3, 3), (3, 4, 2, 4)])
def test_gradients_match_central_differences(sizes: tuple[int, ...], bias: bool) -> None:
    rng = random.Random(hash(sizes) & 0xFFFF)
    acts = (*([TANH] * (len(sizes) - 2)), SOFTMAX)
    net = Architecture(sizes, acts, bias)
    params = [rng.uniform(-1.5, 1.5) for _ in net.params]
    samples = []
    for _ in range(4):
        weights = [rng.random() + 0.05 for _ in range(sizes[-1])]
        y = tuple(w / sum(weights) for w in weights)  # soft targets, adding up to 1
        samples.append(Sample(tuple(rng.uniform(-2, 2) for _ in range(sizes[0])), y))
    ev = evaluate(net, CE, params, samples)
    for i in range(len(params)):
        numeric = finite_difference(net, params, samples, i)
        assert abs(ev.grads[i] - numeric) <= 1e-7 * max(1.0, abs(numeric)), net.params[i].name


def test_the_jacobian_is_softmaxs_central_differences() -> None:
    z = [0.3, -1.2, 2.0, 0.5]
    p = softmax(z)
    jac = softmax_jacobian(p)
    h = 1e-6
    for j in range(len(z)):
        up, down = list(z), list(z)
        up[j] += h
        down[j] -= h
        column = [(a - b) / (2 * h) for a, b in zip(softmax(up), softmax(down))]
        assert [row[j] for row in jac] == pytest.approx(column, abs=1e-9)
    # Each column adds up to 0: the probabilities always add up to 1.
    assert all(abs(sum(row[j] for row in jac)) < 1e-15 for j in range(len(z)))


def one_hot_samples(rng: random.Random, n: int, inputs: int, classes: int) -> list[Sample]:
    out = []
    for _ in range(n):
        c = rng.randrange(classes)
        y = tuple(1.0 if k == c else 0.0 for k in range(classes))
        out.append(Sample(tuple(rng.uniform(-2, 2) for _ in range(inputs)), y))
    return out


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("n", [1, 3, 20])  # 20: more than the kernel writes out, looped over
def test_the_kernel_steps_are_evaluates_bit_for_bit(n: int, bias: bool) -> None:
    rng = random.Random(n + 100 * bias)
    net = Architecture((2, 3, 3), (TANH, SOFTMAX), bias)
    samples = one_hot_samples(rng, n, 2, 3)
    params = tuple(rng.uniform(-3, 3) for _ in net.params)
    trainer = trainer_for(net, CE, n)
    assert trainer is not None
    data = trainer.pack(samples)
    assert data is not None
    ev = evaluate(net, CE, params, samples)
    rows: list[tuple[float, ...]] = []
    trainer.trace(ev.params, ev.grads, 0.7, 15, data, rows.append, None, accuracy=True)
    assert len(rows) == 15
    for row in rows:
        ev = evaluate(net, CE, apply_update(ev.params, ev.grads, 0.7, net.trainable), samples)
        acc = classification_accuracy(CE, ev, samples)
        assert acc is not None
        expected = (ev.loss, *ev.params, *ev.grads, acc)
        assert [v.hex() for v in row[1:]] == [v.hex() for v in expected]


def test_accuracy_by_threshold_and_by_argmax() -> None:
    bce = LOSSES["binary_cross_entropy"]
    # Threshold 0.5: 0.7 vs 1 right, 0.2 vs 1 wrong, 0.5 vs 1 right (≥), 0.4 vs 0 right.
    assert accuracy(bce, [[0.7], [0.2], [0.5], [0.4]], [[1.0], [1.0], [1.0], [0.0]]) == 0.75
    # Argmax: right, wrong, right.
    outputs = [[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]
    targets = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    assert accuracy(CE, outputs, targets) == pytest.approx(2 / 3)
    assert accuracy(LOSSES["mse"], outputs, targets) is None
    assert percent(2 / 3) == "66%" and percent(1.0) == "100%" and percent(149 / 150) == "99%"


def test_accuracy_at_the_parameters_of_a_hand_made_network() -> None:
    # z = (x, −x): the first class wins exactly where x > 0.
    net = Architecture((1, 2), (SOFTMAX,), False)
    samples = [
        Sample((1.0,), (1.0, 0.0)),  # right
        Sample((-1.0,), (1.0, 0.0)),  # wrong
        Sample((2.0,), (0.0, 1.0)),  # wrong
        Sample((-2.0,), (0.0, 1.0)),  # right
    ]
    assert params_accuracy(net, CE, [1.0, -1.0], samples) == 0.5
    assert params_accuracy(net, CE, [-1.0, 1.0], samples) == 0.5
    ev = evaluate(net, CE, [1.0, -1.0], samples)
    assert classification_accuracy(CE, ev, samples) == 0.5


SCENARIO = """
learning_rate = 0.5
loss = "cross_entropy"
[network]
layers = [2, 3]
activations = ["softmax"]
weights = [[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]
biases = [[0.0, 0.6931471805599453, 1.0986122886681098]]
[[samples]]
x = [1.0, 0.0]
y = [0.0, 1.0, 0.0]
"""


def scenario_file(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "softmax.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_chain_rule_of_an_output_weight_is_p_minus_y_and_its_jacobian(
    tmp_path: Path,
) -> None:
    session = Session(load_file(scenario_file(tmp_path)))
    for _ in range(3):  # forward, loss, backward
        session.advance()
    snap = session.snapshot
    net = snap.scenario.architecture
    index = net.weight_index(1, 1, 0)  # x1 → ŷ2: δ₂·x₁ = (1/3 − 1)·1 = −2/3
    ex = explain(snap, index)
    assert [t.symbol for t in ex.chain.terms] == ["∂J/∂z_ŷ2", "∂z_ŷ2/∂w3"]
    assert ex.chain.terms[0].formula == "(ŷ2 − y2)"
    assert ex.chain.value == pytest.approx(-2 / 3, abs=1e-15)
    # The Jacobian's column 2 (by hand: ŷ = (1/6, 1/3, 1/2)) and the sum it makes.
    column = [eq.value for eq in ex.softmax[:-1]]
    assert column == pytest.approx([-1 / 18, 2 / 9, -1 / 6], abs=1e-15)
    assert ex.softmax[-1].value == pytest.approx(-2 / 3, abs=1e-15)
    text = "\n".join(plain(render(ex, 60)))
    assert "∂ŷ2/∂z_ŷ2 = ŷ2(1 − ŷ2)" in text and "∂ŷ1/∂z_ŷ2 = −ŷ1·ŷ2" in text


def test_the_quiz_names_the_softmax_mistakes(tmp_path: Path) -> None:
    session = Session(load_file(scenario_file(tmp_path)))
    session.advance()
    session.advance()  # the loss: the gradient question is due
    snap = session.snapshot
    net = snap.scenario.architecture
    q = quiz.Question.GRADIENT
    # Bias b2 of ŷ2: right ŷ2 − y2 = −2/3; with ŷ for ŷ − y, 1/3; from ŷ2 alone, −(1 − 1/3).
    b2 = net.bias_index(1, 1)
    assert quiz.grade(snap, b2, q, -2 / 3).correct
    grade = quiz.grade(snap, b2, q, 1 / 3)
    assert grade.mistake is not None and grade.mistake.key == "softmax_p_not_p_minus_y"
    # For the first output the target is 0: its diagonal-only δ is 0 instead of ŷ1 = 1/6.
    b1 = net.bias_index(1, 0)
    assert quiz.grade(snap, b1, q, 1 / 6).correct
    grade = quiz.grade(snap, b1, q, 0.0)
    assert grade.mistake is not None and grade.mistake.key == "softmax_other_classes"


def test_the_snapshot_has_the_accuracy(tmp_path: Path) -> None:
    snap = Session(load_file(scenario_file(tmp_path))).snapshot
    assert snap.accuracy == 0.0  # ŷ3 = 1/2 is the largest; the target is the second class
    plain_loss = scenario_file(tmp_path, SCENARIO.replace("cross_entropy", "mse")).read_text()
    plain_loss = plain_loss.replace('"softmax"', '"identity"')
    snap = Session(load_file(scenario_file(tmp_path, plain_loss))).snapshot
    assert snap.accuracy is None


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [
        ('loss = "cross_entropy"', 'loss = "mse"', "loss", "needs loss = 'cross_entropy'"),
        ('activations = ["softmax"]', 'activations = ["sigmoid"]', "loss", "needs softmax"),
        (
            'layers = [2, 3]\nactivations = ["softmax"]',
            'layers = [2, 3, 3]\nactivations = ["softmax", "softmax"]',
            "network.activations[0]",
            "only be the output layer's",
        ),
        ("y = [0.0, 1.0, 0.0]", "y = [0.5, 1.0, 0.0]", "samples[0].y", "add up to 1"),
        ("y = [0.0, 1.0, 0.0]", "y = [0.0, 1.5, -0.5]", "samples[0].y[1]", "between 0 and 1"),
    ],
)
def test_the_loader_refuses_softmax_misuse_in_one_line(
    tmp_path: Path, old: str, new: str, key: str, fragment: str
) -> None:
    assert old in SCENARIO
    text = SCENARIO.replace(old, new)
    if "[2, 3, 3]" in new:  # a hidden layer needs its weights and biases too
        text = text.split("weights")[0] + "[[samples]]" + text.split("[[samples]]")[1]
    path = scenario_file(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_file(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}: "), message
    assert fragment in message, message


def test_softmax_needs_two_outputs(tmp_path: Path) -> None:
    text = """
learning_rate = 0.5
loss = "cross_entropy"
[network]
layers = [2, 1]
activations = ["softmax"]
[[samples]]
x = [1.0, 0.0]
y = [1.0]
"""
    with pytest.raises(ScenarioError, match=r"network\.layers: softmax needs at least 2 outputs"):
        load_file(scenario_file(tmp_path, text))


def test_the_replays_gradients_are_evaluates_bit_for_bit() -> None:
    # Undo replays steps with the kernel's gradients (Session._gradients): they must be the
    # generic path's, every bit, on every built-in and at values far from the start.
    from core.files.loader import BUILTINS, load_builtin

    for name in BUILTINS:
        sc = load_builtin(name)
        session = Session(sc)
        rng = random.Random(name)
        for _ in range(3):
            params = tuple(p + rng.uniform(-1, 1) for p in sc.initial_params)
            want = evaluate(sc.architecture, sc.loss, params, sc.samples).grads
            got = session._gradients(params)
            assert [g.hex() for g in got] == [g.hex() for g in want], name
