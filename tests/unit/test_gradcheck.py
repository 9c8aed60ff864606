"""The gradient check: the backward pass's ∂J/∂θ against the central difference of J."""

from __future__ import annotations

import math

import pytest

from core.files.export import explain_steps
from core.files.loader import BUILTINS, load_builtin, parse
from core.model.scenario import Scenario
from core.stepping.session import Phase, Session, Snapshot
from core.teaching.gradcheck import Verdict, check, check_at, lines, step_size, verdict_text


def backward(session: Session) -> Snapshot:
    """The session walked on to its backward phase."""
    while session.phase is not Phase.BACKWARD:
        session.advance()
    return session.snapshot


def one_weight(toml_tail: str, activations: str = '["identity"]', layers: str = "[1, 1]") -> str:
    return (
        'name = "T"\nlearning_rate = 0.1\n'
        f"[network]\nlayers = {layers}\nactivations = {activations}\nbias = false\n" + toml_tail
    )


def scenario(text: str) -> Scenario:
    return parse(text, "test.toml")


def test_the_story_at_w_08_has_the_exact_central_difference() -> None:
    # J(w) = (1.5w − 0.5)², a quadratic: its central difference is exactly J′(w) = 4.5w − 1.5,
    # 2.1 at w = 0.8, with no truncation error; only rounding remains.
    gc = check(backward(Session(load_builtin("single-weight"))), 0)
    assert gc.name == "w" and gc.theta == 0.8
    assert gc.h == pytest.approx(1e-5, rel=1e-15)
    assert gc.loss_plus == pytest.approx((1.5 * 0.80001 - 0.5) ** 2, rel=1e-14)
    assert gc.loss_minus == pytest.approx((1.5 * 0.79999 - 0.5) ** 2, rel=1e-14)
    assert abs(gc.central - 2.1) <= 1e-8
    assert gc.backward == pytest.approx(2.1, rel=1e-15)
    assert gc.relative <= 1e-9
    assert gc.verdict is Verdict.AGREE
    assert verdict_text(gc).startswith("agree to ")


def test_h_scales_with_the_parameter_beyond_one() -> None:
    assert step_size(0.0) == 1e-5
    assert step_size(-0.3) == 1e-5
    assert step_size(-40.0) == pytest.approx(4e-4)


def test_the_update_phase_checks_the_values_before_the_update() -> None:
    session = Session(load_builtin("single-weight"))
    snap = session.step()  # the update phase of step 1: w is 0.59 now, the gradient was at 0.8
    assert snap.params[0] == pytest.approx(0.59)
    gc = check(snap, 0)
    assert gc.theta == 0.8 and abs(gc.central - 2.1) <= 1e-8


@pytest.mark.parametrize("steps", [0, 3])
@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_backward_pass_agrees_with_its_central_difference(
    name: str, steps: int
) -> None:
    # No built-in has a ReLU, so no kink: every parameter agrees to better than 1e-6.
    session = Session(load_builtin(name))
    for _ in range(steps):
        session.step()
    snap = backward(session)
    net = snap.scenario.architecture
    for info in net.params:
        if not info.trainable:
            continue
        gc = check(snap, info.index)
        assert gc.relative <= 1e-6, (name, steps, info.name, gc)
        assert gc.verdict is Verdict.AGREE and not gc.kink


@pytest.mark.parametrize("wrong", [2.1 * 1.01, -2.1, 2.1 / 2, 0.0])
def test_a_wrong_gradient_is_called_out(wrong: float) -> None:
    # Off by 1 %, the wrong sign, a missing factor 2, nothing at all: against cd = 2.1.
    gc = check(backward(Session(load_builtin("single-weight"))), 0, gradient=wrong)
    expected = abs(2.1 - wrong) / max(2.1, abs(wrong))
    assert gc.relative == pytest.approx(expected, rel=1e-6)
    assert gc.relative > 1e-3
    assert gc.verdict is Verdict.DISAGREE
    assert verdict_text(gc).startswith("disagree")


def test_a_relu_kink_inside_the_step_is_named() -> None:
    # ŷ = w2·relu(w1·x), x = 1, y = 0, J = ŷ². At w1 = 1e−6 the hidden z = w1 is positive, so
    # the backward pass gives ∂J/∂w1 = 2ŷ·w2·1·x = 2e−6. But h = 1e−5 puts w1 − h below 0,
    # where J = 0: the central difference is (1.1e−5)²/2e−5 = 6.05e−6.
    text = one_weight(
        "weights = [[[1e-6]], [[1.0]]]\n[[samples]]\nx = [1.0]\ny = [0.0]\n",
        '["relu", "identity"]',
        "[1, 1, 1]",
    )
    snap = backward(Session(scenario(text)))
    gc = check(snap, 0)
    assert gc.backward == pytest.approx(2e-6, rel=1e-12)
    assert gc.central == pytest.approx(6.05e-6, rel=1e-9)
    assert gc.kink and gc.verdict is Verdict.KINK
    assert "kink" in verdict_text(gc)
    # Away from the kink (w1 = 0.5) the same network agrees.
    away = check_at(snap.scenario, (0.5, 1.0), 0, 2 * 0.5)
    assert not away.kink and away.verdict is Verdict.AGREE


def test_a_gradient_too_small_for_j_to_resolve_is_put_down_to_rounding() -> None:
    # Two samples pull w opposite ways: J = ((w − 1)² + (−w − 1)²)/2 = w² + 1, ∂J/∂w = 2w.
    # At w = 1e−12 J(w ± h) differ by 4wh = 4e−17, below the spacing of floats near 1, so
    # the central difference says nothing about ∂J/∂w = 2e−12.
    text = one_weight(
        "weights = [[[1e-12]]]\n[[samples]]\nx = [1.0]\ny = [1.0]\n"
        "[[samples]]\nx = [-1.0]\ny = [1.0]\n"
    )
    gc = check(backward(Session(scenario(text))), 0)
    assert gc.backward == pytest.approx(2e-12, rel=1e-9)
    assert gc.relative > 1e-6
    assert abs(gc.central - gc.backward) <= gc.rounding < 1e-8
    assert gc.verdict is Verdict.ROUNDING
    assert verdict_text(gc).startswith("agree within rounding")


def test_a_gradient_that_is_not_finite_cannot_be_checked() -> None:
    gc = check(backward(Session(load_builtin("single-weight"))), 0, gradient=math.nan)
    assert gc.verdict is Verdict.NOT_FINITE
    assert verdict_text(gc).startswith("cannot check")


def test_the_lines_carry_every_number_of_the_check() -> None:
    out = lines(check(backward(Session(load_builtin("single-weight"))), 0))
    assert out[0] == "w = 0.8, h = 1e−5·max(1, |w|) = 1e−5"
    # (1.5·0.80001 − 0.5)² = 0.700015² = 0.490021000225; (0.699985)² = 0.489979000225.
    assert out[1].startswith("J(w + h) = 0.490021000225")
    assert out[2].startswith("J(w − h) = 0.489979000225")
    assert out[3].startswith("central difference (J(w + h) − J(w − h))/2h = 2.1")
    assert out[4] == "backward pass ∂J/∂w = 2.1"
    assert out[5].startswith("relative difference |a − b|/max(|a|, |b|) = ")
    assert out[6].startswith("agree to ")


def test_explain_writes_each_steps_check_within_the_width() -> None:
    text = explain_steps(Session(load_builtin("textbook-2-2-2")), 0, 2, width=60)
    assert text.count("gradient check of w1 (central difference):") == 2
    assert text.count("backward pass ∂J/∂w1 = ") == 2
    # The textbook's ∂J/∂w1 at the start: 0.000438568 (its w1 update 0.15 → 0.149780716).
    assert "backward pass ∂J/∂w1 = 0.000438567" in text
    assert max(len(line) for line in text.splitlines()) <= 60
