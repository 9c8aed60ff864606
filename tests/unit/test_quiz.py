"""Quiz grading: right answers, and each named mistake recognised from an answer worked out by hand.

The mistaken answers are computed here from the scenarios' own numbers (the story's x, y, w; Matt
Mazur's published 2-2-2 values), not taken from the engine, so a wrong diagnosis cannot agree
with itself.
"""

from __future__ import annotations

import json
import math
import sys

import pytest

from core.files.loader import BUILTINS, load_builtin
from core.model.network import evaluate
from core.stepping.session import Session, Snapshot
from core.teaching.quiz import (
    SHOWN_TOL,
    Grade,
    Question,
    Score,
    due,
    expected,
    grade,
    mistakes,
    parse_answer,
)

GRADIENT, NEW_VALUE = Question.GRADIENT, Question.NEW_VALUE


def at(name: str, question: Question) -> Snapshot:
    """The snapshot at which `question` is asked in the first step: LOSS or BACKWARD."""
    s = Session(load_builtin(name))
    s.forward()
    snap = s.compute_loss()
    return snap if question is GRADIENT else s.backward()


def idx(snap: Snapshot, name: str) -> int:
    return snap.scenario.param_names.index(name)


def key(snap: Snapshot, name: str, question: Question, answer: float, sample: int = 0) -> str:
    """The recognised mistake's key for a wrong answer ("" when none is recognised)."""
    g = grade(snap, idx(snap, name), question, answer, sample)
    assert not g.correct, g
    return g.mistake.key if g.mistake else ""


def numeric_gradient(snap: Snapshot, index: int, samples=None, h: float = 1e-6) -> float:
    """∂J/∂θ by central differences of the loss alone: no backward pass involved."""
    sc = snap.scenario
    data = sc.samples if samples is None else samples

    def loss(value: float) -> float:
        params = list(snap.evaluation.params)
        params[index] = value
        return evaluate(sc.architecture, sc.loss, params, data).loss

    x = snap.evaluation.params[index]
    return (loss(x + h) - loss(x - h)) / (2 * h)


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# -- right answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_right_answers_exact_and_within_tolerance(name: str) -> None:
    loss_snap, back_snap = at(name, GRADIENT), at(name, NEW_VALUE)
    lr = loss_snap.learning_rate
    for info in loss_snap.scenario.architecture.params:
        i = info.index
        g = numeric_gradient(loss_snap, i)
        # The central difference carries J's rounding over 2h: about √n ulps of J for n samples
        # (100 points of a generated set make it 2e-9, above 1e-6 of a gradient of 5e-5).
        n = len(loss_snap.scenario.samples)
        noise = 2 * math.sqrt(n) * sys.float_info.epsilon * max(1.0, loss_snap.evaluation.loss)
        tol = max(1e-12, noise / 2e-6)
        assert expected(loss_snap, i, GRADIENT) == pytest.approx(g, rel=1e-6, abs=tol)
        assert grade(loss_snap, i, GRADIENT, expected(loss_snap, i, GRADIENT)).correct
        assert grade(loss_snap, i, GRADIENT, g).correct
        assert grade(loss_snap, i, GRADIENT, g * 1.005).correct
        assert not grade(loss_snap, i, GRADIENT, g * 1.05).correct

        old = loss_snap.evaluation.params[i]
        new = old - lr * g if info.trainable else old
        assert expected(back_snap, i, NEW_VALUE) == pytest.approx(new, rel=1e-9, abs=1e-9)
        assert grade(back_snap, i, NEW_VALUE, expected(back_snap, i, NEW_VALUE)).correct
        assert grade(back_snap, i, NEW_VALUE, new).correct
        if info.trainable:
            step = new - old
            assert grade(back_snap, i, NEW_VALUE, old + step * 1.005).correct
            # Unless 5% of the step is within the rounding of the old value as shown (a tiny
            # step on a data set of 100 points), it is wrong.
            if 0.05 * abs(step) > SHOWN_TOL * abs(old):
                assert not grade(back_snap, i, NEW_VALUE, old + step * 1.05).correct
        else:
            assert not grade(back_snap, i, NEW_VALUE, old + 0.01).correct


@pytest.mark.parametrize("name", BUILTINS)
def test_no_mistake_gives_the_right_answer_or_repeats_another(name: str) -> None:
    for question in (GRADIENT, NEW_VALUE):  # the sub-steps' questions: test_substeps.py
        snap = at(name, question)
        for i in range(len(snap.params)):
            found = mistakes(snap, i, question)
            right = expected(snap, i, question)
            for m in found:
                assert m.value != right
                assert not grade(snap, i, question, m.value).correct, (i, m)
            values = [m.value for m in found]
            assert len(values) == len(set(values))


def test_questions_are_due_before_their_phase() -> None:
    s = Session(load_builtin("single-weight"))
    assert due(s.snapshot) is None
    assert due(s.forward()) is None
    assert due(s.compute_loss()) is GRADIENT
    assert due(s.backward()) is NEW_VALUE
    assert due(s.update()) is None
    assert GRADIENT.prompt("w") == "∂J/∂w = ?"
    assert NEW_VALUE.prompt("w1") == "w1 after the update = ?"


def test_grade_records_step_and_parameter() -> None:
    s = Session(load_builtin("single-weight"))
    s.step()
    s.forward()
    g = grade(s.compute_loss(), 0, GRADIENT, 1.155)
    assert (g.step, g.param, g.question, g.correct) == (2, "w", GRADIENT, True)
    assert g.expected == pytest.approx(1.155)


def test_new_value_after_the_update_uses_the_rate_it_was_made_with() -> None:
    s = Session(load_builtin("single-weight"))
    s.step()
    snap = s.set_learning_rate(0.5)
    assert expected(snap, 0, NEW_VALUE) == snap.params[0] == pytest.approx(0.59)


# -- the story: x = 1.5, y = 0.5, w = 0.8, lr = 0.1 ---------------------------------------------

X, Y, W, LR = 1.5, 0.5, 0.8, 0.1
G = 2 * (X * W - Y) * X  # 2.1


def test_story_gradient() -> None:
    snap = at("single-weight", GRADIENT)
    assert math.isclose(G, 2.1)
    assert grade(snap, 0, GRADIENT, 2.1).correct
    assert grade(snap, 0, GRADIENT, 2.11).correct  # within 1%
    assert key(snap, "w", GRADIENT, -2.1) == "wrong_sign"
    assert key(snap, "w", GRADIENT, 1.05) == "missing_factor_2"
    assert key(snap, "w", GRADIENT, 2.5) == ""
    assert key(snap, "w", GRADIENT, 1.4) == ""  # ∂J/∂ŷ alone: not a named mistake
    g = grade(snap, 0, GRADIENT, -2.1)
    assert g.mistake is not None and g.mistake.name == "wrong sign"
    assert g.mistake.value == pytest.approx(-2.1) and "−∂J/∂w" in g.mistake.explanation


def test_story_new_value() -> None:
    snap = at("single-weight", NEW_VALUE)
    assert grade(snap, 0, NEW_VALUE, 0.59).correct
    assert grade(snap, 0, NEW_VALUE, 0.591).correct
    cases = {
        W - G: "lr_not_applied",  # −1.3
        W + LR * G: "wrong_sign",  # 1.01
        W: "not_updated",
        W - LR * LR * G: "lr_twice",  # 0.779
        W - 2 * LR * G: "stepped_twice",  # 0.38
        -LR * G: "step_only",  # −0.21
        W - LR * G / 2: "missing_factor_2",  # 0.695, the gradient's mistake carried over
    }
    assert math.isclose(W - G, -1.3)
    for answer, name in cases.items():
        assert key(snap, "w", NEW_VALUE, answer) == name, answer
    assert key(snap, "w", NEW_VALUE, 0.5) == ""


# -- a hidden neuron: x → σ → ŷ = w2·h, J = (ŷ − y)², lr 0.5 ------------------------------------


def test_hidden_neuron_missing_sigma_prime_and_updated_weight() -> None:
    x, y, w1, w2, lr = 1.5, 0.5, 0.8, 0.5, 0.5
    h = sigmoid(x * w1)
    dj = 2 * (w2 * h - y)
    slope = h * (1 - h)
    right = dj * w2 * slope * x
    snap = at("hidden-neuron", GRADIENT)
    assert grade(snap, idx(snap, "w1"), GRADIENT, right).correct
    assert key(snap, "w1", GRADIENT, dj * w2 * x) == "missing_activation_derivative"
    w2_new = w2 - lr * dj * h
    assert key(snap, "w1", GRADIENT, dj * w2_new * slope * x) == "updated_weight"
    assert key(snap, "w1", GRADIENT, right / 2) == "missing_factor_2"
    # The output is the identity: nothing further along the chain to forget.
    keys = {m.key for m in mistakes(snap, idx(snap, "w1"), GRADIENT)}
    assert "missing_downstream_derivative" not in keys
    keys = {m.key for m in mistakes(snap, idx(snap, "w2"), GRADIENT)}
    assert not keys & {"missing_activation_derivative", "updated_weight"}

    snap = at("hidden-neuron", NEW_VALUE)
    assert grade(snap, idx(snap, "w1"), NEW_VALUE, w1 - lr * right).correct
    answer = w1 - lr * dj * w2_new * slope * x
    assert key(snap, "w1", NEW_VALUE, answer) == "updated_weight"


# -- Matt Mazur's 2-2-2 example, from his published numbers -------------------------------------

X1 = 0.05
T1, T2 = 0.01, 0.99
W5, W7 = 0.40, 0.50
OUT_H1 = 0.593269992
OUT_O1, OUT_O2 = 0.75136507, 0.772928465
W5_NEW, W7_NEW = 0.35891648, 0.511301270
DELTA_O1 = (OUT_O1 - T1) * OUT_O1 * (1 - OUT_O1)
DELTA_O2 = (OUT_O2 - T2) * OUT_O2 * (1 - OUT_O2)
SLOPE_H1 = OUT_H1 * (1 - OUT_H1)
GRAD_W1 = 0.000438568  # Mazur's ∂E/∂w1


def test_textbook_w1_with_the_updated_w5_w7() -> None:
    snap = at("textbook-2-2-2", GRADIENT)
    assert grade(snap, idx(snap, "w1"), GRADIENT, GRAD_W1).correct
    # The classic mistake: ∂E/∂out_h1 from the new w5, w7 instead of those of the forward pass.
    wrong = (DELTA_O1 * W5_NEW + DELTA_O2 * W7_NEW) * SLOPE_H1 * X1
    assert wrong == pytest.approx(0.000365, abs=1e-6)
    assert key(snap, "w1", GRADIENT, wrong) == "updated_weight"

    snap = at("textbook-2-2-2", NEW_VALUE)
    assert grade(snap, idx(snap, "w1"), NEW_VALUE, 0.149780716).correct
    assert key(snap, "w1", NEW_VALUE, 0.15 - 0.5 * wrong) == "updated_weight"
    assert key(snap, "w1", NEW_VALUE, 0.15) == "not_updated"


def test_textbook_activation_derivatives_and_the_half() -> None:
    snap = at("textbook-2-2-2", GRADIENT)
    de_dh1 = DELTA_O1 * W5 + DELTA_O2 * W7
    assert key(snap, "w1", GRADIENT, de_dh1 * X1) == "missing_activation_derivative"
    no_output_slopes = ((OUT_O1 - T1) * W5 + (OUT_O2 - T2) * W7) * SLOPE_H1 * X1
    assert key(snap, "w1", GRADIENT, no_output_slopes) == "missing_downstream_derivative"
    assert key(snap, "w1", GRADIENT, 2 * GRAD_W1) == "missing_half"
    assert key(snap, "w1", GRADIENT, -GRAD_W1) == "wrong_sign"
    # An output weight: ∂E/∂w5 = 0.082167041; without σ′ it is (out_o1 − t1)·out_h1.
    assert grade(snap, idx(snap, "w5"), GRADIENT, 0.082167041).correct
    assert key(snap, "w5", GRADIENT, (OUT_O1 - T1) * OUT_H1) == "missing_activation_derivative"
    assert key(snap, "w5", GRADIENT, 2 * 0.082167041) == "missing_half"


def test_textbook_frozen_bias_keeps_its_value() -> None:
    snap = at("textbook-2-2-2", NEW_VALUE)
    grad_b1 = (DELTA_O1 * W5 + DELTA_O2 * W7) * SLOPE_H1
    assert grade(snap, idx(snap, "b1"), NEW_VALUE, 0.35).correct
    # b1's gradient is about 0.00877: an update by lr 0.5 would move it by 0.0044.
    assert key(snap, "b1", NEW_VALUE, 0.35 - 0.5 * grad_b1) == "frozen_updated"


# -- several samples ---------------------------------------------------------------------------


def test_weight_and_bias_one_sample_or_the_sum() -> None:
    # Samples (1.5, 0.5) and (−0.5, −0.5), w = 0.8, b = 0: ∂L/∂w is 2.1 and −0.1, mean 1.0.
    s1 = 2 * (1.5 * 0.8 - 0.5) * 1.5
    s2 = 2 * (-0.5 * 0.8 + 0.5) * -0.5
    snap = at("weight-and-bias", GRADIENT)
    assert grade(snap, idx(snap, "w"), GRADIENT, (s1 + s2) / 2).correct
    assert key(snap, "w", GRADIENT, s1) == "one_sample"
    assert key(snap, "w", GRADIENT, s2, sample=1) == "one_sample"
    assert key(snap, "w", GRADIENT, s2) == "one_sample"  # any sample, the shown one first
    assert key(snap, "w", GRADIENT, s1 + s2) == "sum_not_mean"
    g = grade(snap, idx(snap, "w"), GRADIENT, s2, sample=1)
    assert g.mistake is not None and "sample 2" in g.mistake.explanation
    snap = at("weight-and-bias", NEW_VALUE)
    assert grade(snap, idx(snap, "w"), NEW_VALUE, 0.7).correct
    assert key(snap, "w", NEW_VALUE, 0.8 - 0.1 * s1) == "one_sample"


def test_xor_one_sample() -> None:
    snap = at("xor", GRADIENT)
    sc = snap.scenario
    for name in ("w1", "w5"):
        i = idx(snap, name)
        assert grade(snap, i, GRADIENT, numeric_gradient(snap, i)).correct
        # Sample 4, (1, 1) → 0, alone: its loss's slope by central differences.
        only = numeric_gradient(snap, i, samples=sc.samples[3:])
        assert key(snap, name, GRADIENT, only, sample=3) == "one_sample"


# -- input and score ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2.1", 2.1),
        (" -0.5 ", -0.5),
        ("1e-3", 1e-3),
        ("−0.5", -0.5),
        ("+.5", 0.5),
        ("3.", 3.0),
        ("2E+2", 200.0),
        ("０．５", 0.5),
        ("－2", -2.0),
    ],
)
def test_parse_answer_accepts(text: str, value: float) -> None:
    assert parse_answer(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "not a number"),
        ("", "type a number"),
        ("   ", "type a number"),
        ("nan", "not a number"),
        ("inf", "not a number"),
        ("-infinity", "not a number"),
        ("1e999", "finite"),
        ("4,5", "4.5"),
        ("1,000.5", "no commas"),
        ("1 2", "not a number"),
        ("0x10", "not a number"),
        ("1_000", "not a number"),
        ("2.1.3", "not a number"),
    ],
)
def test_parse_answer_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_answer(text)


def test_score_adds_up_and_saves() -> None:
    snap = at("single-weight", GRADIENT)
    score = Score()
    assert (score.asked, score.right) == (0, 0)
    first = score.add(grade(snap, 0, GRADIENT, 2.1))
    second = first.add(grade(snap, 0, GRADIENT, -2.1))
    assert (score.asked, first.asked, second.asked) == (0, 1, 2)  # each add is a new Score
    assert second.right == 1 and second.summary() == "1/2 right"
    doc = second.to_dict()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["asked"] == 2 and doc["right"] == 1
    assert doc["answers"][1] == {
        "step": 1,
        "param": "w",
        "question": "gradient",
        "answer": -2.1,
        "expected": pytest.approx(2.1),
        "correct": False,
        "mistake": "wrong_sign",
    }
    assert isinstance(second.grades[0], Grade)
