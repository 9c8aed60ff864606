"""The narrow-valley built-in: every figure its lessons state, checked by a calculation of its own.

J(w, b) = (1/n)·Σ(x·w + b − y)² over x = 4, 5, 6 on the line y = 2x + 1. Its Hessian is constant:
∂²J/∂w² = (2/n)·Σx², ∂²J/∂w∂b = (2/n)·Σx, ∂²J/∂b² = 2, with eigenvalues from the quadratic
formula. The step counts come from the optimizers written out here from their published
definitions (torch.optim's pseudo-code), with the gradient of J in closed form.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from core.files.loader import BUILTINS, load_builtin
from core.model.network import evaluate
from core.model.optimizers import OptimizerConfig
from core.stepping.session import Session, StatusKind, next_rate
from core.text.format import to_ascii

NAME = "narrow-valley"
XS = (4.0, 5.0, 6.0)
YS = (9.0, 11.0, 13.0)
TOLERANCE = 1e-6  # the scenario's stop.loss_below
LR = 0.035


def loss(w: float, b: float) -> float:
    return sum((x * w + b - y) ** 2 for x, y in zip(XS, YS)) / len(XS)


def gradient(w: float, b: float) -> tuple[float, float]:
    n = len(XS)
    gw = sum(2.0 * (x * w + b - y) * x for x, y in zip(XS, YS)) / n
    gb = sum(2.0 * (x * w + b - y) for x, y in zip(XS, YS)) / n
    return gw, gb


def eigenvalues() -> tuple[float, float]:
    n = len(XS)
    a, c, d = 2.0 * sum(x * x for x in XS) / n, 2.0 * sum(XS) / n, 2.0
    trace, det = a + d, a * d - c * c
    root = math.sqrt(trace * trace - 4.0 * det)
    return (trace + root) / 2.0, (trace - root) / 2.0


def steps_to_converge(name: str, lr: float, limit: int = 20_000) -> int:
    """Updates until J ≤ TOLERANCE: SGD; SGD with momentum 0.9 (dampening 0: v = g at the first
    step); Adam with β1 0.9, β2 0.999, ε 1e-8 and bias correction."""
    theta = [0.0, 0.0]
    v = [0.0, 0.0]
    m = [0.0, 0.0]
    for t in range(1, limit + 1):
        g = gradient(*theta)
        for i in range(2):
            if name == "sgd":
                theta[i] -= lr * g[i]
            elif name == "momentum":
                v[i] = g[i] if t == 1 else 0.9 * v[i] + g[i]
                theta[i] -= lr * v[i]
            else:
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                m_hat, v_hat = m[i] / (1 - 0.9**t), v[i] / (1 - 0.999**t)
                theta[i] -= lr * m_hat / (math.sqrt(v_hat) + 1e-8)
        if loss(*theta) <= TOLERANCE:
            return t
    raise AssertionError(f"{name} at lr {lr} did not converge in {limit} steps")


def our_steps(optimizer: str, lr: float) -> tuple[int, StatusKind]:
    """The step at which our session stops, and why."""
    scenario = load_builtin(NAME)
    scenario = dataclasses.replace(scenario, optimizer=OptimizerConfig(optimizer))
    session = Session(scenario, lr)
    snap = session.run(20_000)
    return snap.step, snap.status.kind


def lesson_text(lang: str) -> str:
    lesson = load_builtin(NAME).lessons[lang]
    return " ".join([text for _, text in lesson.phases] + [t for _, _, t in lesson.steps])


def test_registered_with_the_data_of_the_lesson() -> None:
    sc = load_builtin(NAME)
    assert NAME in BUILTINS
    assert [s.x for s in sc.samples] == [(x,) for x in XS]
    assert [s.y for s in sc.samples] == [(2.0 * x + 1.0,) for x in XS] == [(y,) for y in YS]
    assert sc.param_names == ("w", "b") and sc.initial_params == (0.0, 0.0)
    assert sc.learning_rate == LR and sc.loss_tolerance == TOLERANCE
    assert sc.optimizer.name == "sgd"  # the student branches to momentum
    assert loss(2.0, 1.0) == 0.0


def test_the_hessian_by_hand_and_by_finite_differences() -> None:
    big, small = eigenvalues()
    assert big == pytest.approx(53.3, abs=0.05)
    assert small == pytest.approx(0.050, abs=0.0005)
    assert big / small == pytest.approx(1065, abs=0.5)  # "about 1,065 times as steep"
    # The same matrix from central differences of our gradients (J is quadratic: exact up to
    # rounding), so the hand formula is the Hessian of the loss the app computes.
    sc = load_builtin(NAME)
    h = 1e-3

    def grads(w: float, b: float) -> tuple[float, ...]:
        return evaluate(sc.architecture, sc.loss, (w, b), sc.samples).grads

    col_w = [(p - q) / (2 * h) for p, q in zip(grads(0.5 + h, 0.3), grads(0.5 - h, 0.3))]
    col_b = [(p - q) / (2 * h) for p, q in zip(grads(0.5, 0.3 + h), grads(0.5, 0.3 - h))]
    n = len(XS)
    assert col_w == pytest.approx([2 * sum(x * x for x in XS) / n, 2 * sum(XS) / n])
    assert col_b == pytest.approx([2 * sum(XS) / n, 2.0])


def test_the_stability_limit_of_plain_descent() -> None:
    limit = 2.0 / eigenvalues()[0]
    assert limit == pytest.approx(0.0375, abs=5e-5)
    assert LR < limit < next_rate(LR, up=True) == 0.05  # + takes it over the edge
    step, kind = our_steps("sgd", 0.05)
    assert kind is StatusKind.DIVERGED and step <= 10  # "within a few steps"
    # What one step gains along the valley, lr·λmin: "≈ 0.18%".
    assert LR * eigenvalues()[1] == pytest.approx(0.0018, abs=0.00005)
    for lang in ("en", "zh"):
        assert "0.18%" in lesson_text(lang)


@pytest.mark.parametrize(
    ("optimizer", "lr", "steps"), [("sgd", LR, 2596), ("momentum", LR, 219), ("adam", 1.0, 311)]
)
def test_steps_to_converge_as_the_lesson_says(optimizer: str, lr: float, steps: int) -> None:
    assert steps_to_converge(optimizer, lr) == steps
    assert our_steps(optimizer, lr) == (steps, StatusKind.CONVERGED)
    shown = f"{steps:,}"
    assert shown in lesson_text("en") and shown in lesson_text("zh")


def test_the_first_steps_as_the_notes_give_them() -> None:
    assert loss(0.0, 0.0) == pytest.approx(371 / 3) == pytest.approx(123.7, abs=0.05)
    gw, gb = gradient(0.0, 0.0)
    assert gw == pytest.approx((-72 - 110 - 156) / 3) == pytest.approx(-112.7, abs=0.05)
    assert gb == pytest.approx(-22.0)
    w1, b1 = -LR * gw, -LR * gb
    assert w1 == pytest.approx(3.943, abs=5e-4) and b1 == pytest.approx(0.77)
    w2 = w1 - LR * gradient(w1, b1)[0]
    assert w2 == pytest.approx(0.532, abs=5e-4)
    session = Session(load_builtin(NAME))
    session.step()
    session.step()
    assert session.snapshot.params == pytest.approx((w2, b1 - LR * gradient(w1, b1)[1]))
    for lang in ("en", "zh"):
        text = lesson_text(lang)
        for figure in ("123.7", "112.7", "3.943", "0.532", "0.0375", "53.3", "0.050", "1,065"):
            assert figure in text, (lang, figure)


def test_the_english_notes_survive_ascii() -> None:
    """--ascii turns each glyph into its spelling: none may be left as an unknown character."""
    text = to_ascii(lesson_text("en"))
    assert text.isascii(), sorted({c for c in text if not c.isascii()})
