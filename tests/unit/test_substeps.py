"""Fine stepping: the sub-steps of a step, their values, undo one sub-step at a time."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import pytest

from core.files.loader import BUILTINS, load_builtin
from core.model.network import Sample
from core.model.scenario import Scenario
from core.stepping.session import Phase, Session, Snapshot
from core.stepping.substeps import plan
from core.teaching.explain import explain, explain_substep, plain, render, render_substep
from core.teaching.quiz import Question, due, due_substep, expected, grade, mistakes

H = 1e-5
RTOL = 1e-6


def fine_session(name: str) -> Session:
    session = Session(load_builtin(name))
    session.set_fine(True)
    return session


def walk(session: Session, count: int) -> Snapshot:
    snap = session.snapshot
    for _k in range(count):
        snap = session.advance()
    return snap


def sample_loss(sc: Scenario, params: Sequence[float], s: Sample, bump: tuple[int, int, float]):  # type: ignore[no-untyped-def]
    """One sample's loss with one neuron's z shifted, by a forward pass written out here."""
    net = sc.architecture
    a = list(s.x)
    for layer in range(1, net.depth + 1):
        out = []
        for j in range(net.sizes[layer]):
            z = sum(params[net.weight_index(layer, j, i)] * a[i] for i in range(len(a)))
            if net.bias:
                z += params[net.bias_index(layer, j)]
            if bump[:2] == (layer, j):
                z += bump[2]
            out.append(net.activations[layer - 1].fn(z))
        a = out
    return sc.loss.fn(a, s.y)


def test_the_textbook_step_in_order() -> None:
    net = load_builtin("textbook-2-2-2").architecture
    steps = plan(net).steps
    # 4 neurons forward, 2 loss terms, 4 δs from the top, 8 weight gradients (biases frozen).
    assert [(s.kind, s.name) for s in steps[:10]] == [
        ("forward", "h1"),
        ("forward", "h2"),
        ("forward", "ŷ1"),
        ("forward", "ŷ2"),
        ("loss", "ŷ1"),
        ("loss", "ŷ2"),
        ("delta", "ŷ1"),
        ("delta", "ŷ2"),
        ("delta", "h1"),
        ("delta", "h2"),
    ]
    assert [s.name for s in steps[10:18]] == [f"w{k}" for k in range(1, 9)]
    assert steps[18].kind == "update" and len(steps) == 19


def test_deep_plan_goes_down_layer_by_layer() -> None:
    net = load_builtin("deep-sigmoid").architecture
    deltas = [s for s in plan(net).steps if s.kind == "delta"]
    layers = [s.layer for s in deltas]
    assert layers == sorted(layers, reverse=True) and layers[0] == net.depth


def test_space_moves_one_sub_step_and_the_panel_text() -> None:
    session = fine_session("textbook-2-2-2")
    snap = walk(session, 9)  # 4 forward, 2 loss, δ ŷ1, δ ŷ2, δ h1
    assert snap.phase is Phase.BACKWARD
    assert snap.current is not None and snap.current.label == "δ of h1"
    assert snap.plan is not None and snap.plan.counts(snap.substep) == (3, 12)
    assert snap.shows_delta(1, 0) and not snap.shows_delta(1, 1)
    assert snap.shows_delta(2, 0) and snap.shows_delta(2, 1)
    assert not snap.shows_gradient(0) and not snap.shows_gradients


def test_forward_reveals_neuron_by_neuron() -> None:
    session = fine_session("textbook-2-2-2")
    snap = walk(session, 1)
    assert snap.phase is Phase.FORWARD
    assert snap.shows_value(1, 0) and not snap.shows_value(1, 1) and not snap.shows_value(2, 0)
    assert not snap.shows_activations  # the forward pass is not all done
    snap = walk(session, 3)
    assert snap.shows_activations and not snap.shows_loss
    snap = walk(session, 1)
    assert snap.phase is Phase.LOSS and snap.shows_output_loss(0)
    assert not snap.shows_output_loss(1) and not snap.shows_loss


def test_a_whole_step_in_sub_steps_is_the_coarse_step() -> None:
    fine, coarse = fine_session("xor"), Session(load_builtin("xor"))
    steps = len(plan(fine.scenario.architecture).steps)
    for _k in range(2):
        a, b = walk(fine, steps), coarse.step()
        assert a.phase is Phase.UPDATE and a.step == b.step
        assert a.params == b.params  # bit for bit: the same update


def test_enter_finishes_the_step_from_the_middle() -> None:
    session = fine_session("textbook-2-2-2")
    walk(session, 3)
    snap = session.step()
    assert snap.phase is Phase.UPDATE and snap.step == 1
    assert snap.current is not None and snap.current.kind == "update"
    assert snap.params == Session(load_builtin("textbook-2-2-2")).step().params


def test_undo_walks_back_one_sub_step_at_a_time() -> None:
    session = fine_session("textbook-2-2-2")
    steps = len(plan(session.scenario.architecture).steps)
    seen = [(s.step, s.phase, s.substep) for s in [walk(session, 1) for _k in range(steps + 2)]]
    back = []
    for _k in range(steps + 1):
        snap = session.undo()
        back.append((snap.step, snap.phase, snap.substep))
    assert back == seen[-2::-1]
    assert session.undo().phase is Phase.READY  # and on to the very start


def test_undo_across_the_update_restores_the_values() -> None:
    session = fine_session("textbook-2-2-2")
    steps = len(plan(session.scenario.architecture).steps)
    before = walk(session, steps - 1)  # the last gradient, before the update
    walk(session, 1)
    snap = session.undo()
    assert snap.phase is Phase.BACKWARD and snap.params == before.params
    assert snap.substep == before.substep and snap.step == 0


def test_a_snapshot_never_changes() -> None:
    session = fine_session("textbook-2-2-2")
    snap = walk(session, 5)
    position, phase = snap.substep, snap.phase
    walk(session, 7)
    session.undo()
    assert (snap.substep, snap.phase) == (position, phase)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.substep = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        snap.plan.where[("forward", 1, 0)] = 3  # type: ignore[index, union-attr]


def test_turning_fine_off_and_on_keeps_the_step() -> None:
    session = fine_session("textbook-2-2-2")
    walk(session, 2)
    snap = session.set_fine(False)
    assert snap.phase is Phase.FORWARD and snap.shows_activations and snap.current is None
    assert session.advance().phase is Phase.LOSS  # a whole phase again
    snap = session.set_fine(True)
    assert snap.current is not None and snap.current.name == "ŷ2"  # the loss phase is done
    assert session.advance().current.kind == "delta"  # type: ignore[union-attr]


def test_deltas_are_finite_differences_of_the_loss_in_z() -> None:
    """Each δ sub-step's mean (∂J/∂z) against (J(z + h) − J(z − h))/2h, and the sample's δ
    against the sample's own loss."""
    for name in ("xor", "deep-sigmoid", "textbook-2-2-2"):
        session = fine_session(name)
        sc = session.scenario
        net = sc.architecture
        steps = plan(net).steps
        for position, step in enumerate(steps):
            snap = session.advance()
            if step.kind != "delta":
                continue
            assert snap.substep == position
            params = snap.evaluation.params
            bump = (step.layer, step.index)
            for k, s in enumerate(sc.samples):
                up = sample_loss(sc, params, s, (*bump, H))
                down = sample_loss(sc, params, s, (*bump, -H))
                numeric = (up - down) / (2 * H)
                value = snap.evaluation.samples[k].delta[step.layer][step.index]
                assert value == pytest.approx(numeric, rel=RTOL, abs=1e-9)
            mean = snap.evaluation.deltas[net.neuron_names.index(step.name)]
            numeric_j = sum(
                sample_loss(sc, params, s, (*bump, H)) - sample_loss(sc, params, s, (*bump, -H))
                for s in sc.samples
            ) / (2 * H * len(sc.samples))
            assert mean == pytest.approx(numeric_j, rel=RTOL, abs=1e-9)


def test_gradient_is_delta_times_input() -> None:
    session = fine_session("xor")
    net = session.scenario.architecture
    snap = session.snapshot
    for step in plan(net).steps:
        snap = session.advance()
        if step.kind != "gradient":
            continue
        info = net.params[step.index]
        for trace in snap.evaluation.samples:
            delta = trace.delta[info.layer][info.to]
            carried = trace.a[info.layer - 1][info.source] if info.kind == "weight" else 1.0
            assert trace.grads[step.index] == pytest.approx(delta * carried, rel=1e-12)


# -- the chain-rule panel's text ----------------------------------------------------------------


# Textbook 2-2-2, by hand (sigmoid, Σ ½(t − o)², inputs 0.05 0.10, targets 0.01 0.99):
# z_h1 = 0.05·0.15 + 0.1·0.2 + 0.35 = 0.3775, h1 = σ(0.3775); likewise h2, then the outputs.
def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


H1, H2 = _sigmoid(0.3775), _sigmoid(0.3925)
O1 = _sigmoid(0.4 * H1 + 0.45 * H2 + 0.6)
O2 = _sigmoid(0.5 * H1 + 0.55 * H2 + 0.6)
D_O1 = (O1 - 0.01) * O1 * (1 - O1)
D_O2 = (O2 - 0.99) * O2 * (1 - O2)
D_H1 = H1 * (1 - H1) * (0.4 * D_O1 + 0.5 * D_O2)


def test_hand_numbers() -> None:
    # The brief's figures: δ_ŷ1 = 0.741365 · 0.186816 = 0.138499.
    assert abs(O1 - 0.01 - 0.741365) < 1e-6
    assert abs(O1 * (1 - O1) - 0.186816) < 1e-6
    assert abs(D_O1 - 0.138499) < 1e-6


def g6(x: float) -> str:
    """As the panel prints a number: six significant digits, a real minus sign."""
    return f"{x:.6g}".replace("-", "−")


def substep_text(snap: Snapshot, sample: int = 0) -> str:
    sx = explain_substep(snap, sample)
    assert sx is not None
    return "\n".join(plain(render_substep(sx)))


def test_output_delta_text_is_loss_slope_times_activation_slope() -> None:
    text = substep_text(walk(fine_session("textbook-2-2-2"), 7))
    assert "δ_ŷ1 = ∂J/∂z_ŷ1 = ∂J/∂ŷ1 · σ′(z_ŷ1)" in text
    assert "δ_ŷ1 = (ŷ1 − y1) · ŷ1(1 − ŷ1) = 0.741365 · 0.186816 = 0.138499" in text


def test_hidden_delta_text_reads_the_deltas_above() -> None:
    text = substep_text(walk(fine_session("textbook-2-2-2"), 9))
    assert "δ_h1 = h1(1 − h1) · (w5·δ_ŷ1 + w7·δ_ŷ2)" in text
    numbers = f"{H1 * (1 - H1):.6g} · (0.4·{D_O1:.6g} + 0.5·(−{-D_O2:.6g}))"
    assert numbers in text
    assert text.rstrip().endswith("reused here, not recomputed.")
    assert f"= {D_H1:.6g}" in text
    assert "δ_ŷ1, δ_ŷ2: computed above" in text


def test_gradient_text_is_delta_times_input() -> None:
    text = substep_text(walk(fine_session("textbook-2-2-2"), 11))  # ∂J/∂w1
    assert f"∂J/∂w1 = δ_h1·x1 = {D_H1:.6g}·0.05 = {D_H1 * 0.05:.6g}" in text


def test_bias_gradient_and_several_samples() -> None:
    session = fine_session("xor")
    net = session.scenario.architecture
    at = next(i for i, s in enumerate(plan(net).steps) if s.kind == "gradient" and s.name == "b1")
    snap = walk(session, at + 1)
    text = substep_text(snap, sample=1)
    delta = snap.evaluation.samples[1].delta[1][0]
    factor = g6(delta) if delta >= 0 else f"({g6(delta)})"  # a negative factor in brackets
    assert f"∂L/∂b1 = δ_h1·1 = {factor}·1 = {g6(delta)}" in text
    assert "∂J/∂b1 = mean over 4 samples" in text
    assert g6(snap.evaluation.grads[net.param_index("b1")]) in text


def test_several_samples_give_the_sample_delta_and_the_mean() -> None:
    session = fine_session("xor")
    snap = walk(session, 5)  # 3 forward, 1 loss, δ of ŷ
    text = substep_text(snap, sample=2)
    trace = snap.evaluation.samples[2]
    assert "δ_ŷ = ∂L/∂z_ŷ" in text
    assert f"= {g6(trace.delta[2][0])}" in text
    mean = sum(t.delta[2][0] for t in snap.evaluation.samples) / 4
    assert "∂J/∂z_ŷ = mean over 4 samples" in text and f"= {g6(mean)}" in text


def test_selected_parameter_links_to_its_delta() -> None:
    snap = walk(fine_session("textbook-2-2-2"), 18)  # every gradient done
    lines = plain(render(explain(snap, 0), sections=("delta",)))
    assert lines[0] == f"δ_h1 = ∂J/∂h1·∂h1/∂z_h1 = {D_H1:.6g}"
    assert "the δ step; ∂J/∂w1 = δ_h1·x1" in lines[1]


# -- quiz on sub-steps --------------------------------------------------------------------------


def test_quiz_asks_each_value_and_delta_and_the_selected_gradient() -> None:
    session = fine_session("textbook-2-2-2")
    asked = []
    for _k in range(19):
        snap = session.advance()
        assert due(snap) is None  # fine stepping asks about sub-steps instead
        asked.append(due_substep(snap, 0))
    V, D, G, N = Question.VALUE, Question.DELTA, Question.GRADIENT, Question.NEW_VALUE
    assert asked == [V] * 4 + [None] * 2 + [D] * 4 + [G] + [None] * 7 + [N]


def test_quiz_grades_a_delta_and_names_the_mistakes() -> None:
    snap = walk(fine_session("textbook-2-2-2"), 9)  # δ of h1
    assert grade(snap, 0, Question.DELTA, D_H1).correct
    slope = H1 * (1 - H1)
    slips = {
        "missing_activation_derivative": D_H1 / slope,
        "wrong_sign": -D_H1,
        "path_not_summed": slope * 0.4 * D_O1,  # the path through ŷ1 only
        "slope_wrong_point": (0.4 * D_O1 + 0.5 * D_O2) * 0.3775 * (1 - 0.3775),  # z(1 − z)
    }
    for key, answer in slips.items():
        result = grade(snap, 0, Question.DELTA, answer)
        assert not result.correct and result.mistake is not None, key
        assert result.mistake.key == key
    # σ′ of h1 itself: σ(h1)(1 − σ(h1)).
    s = _sigmoid(H1)
    assert grade(snap, 0, Question.DELTA, (D_H1 / slope) * s * (1 - s)).mistake.key == (  # type: ignore[union-attr]
        "slope_wrong_point"
    )


def test_quiz_delta_with_updated_weights() -> None:
    snap = walk(fine_session("textbook-2-2-2"), 9)
    g5, g7 = snap.evaluation.grads[4], snap.evaluation.grads[6]
    answer = H1 * (1 - H1) * ((0.4 - 0.5 * g5) * D_O1 + (0.5 - 0.5 * g7) * D_O2)
    assert grade(snap, 0, Question.DELTA, answer).mistake.key == "updated_weight"  # type: ignore[union-attr]


def test_quiz_grades_a_forward_value() -> None:
    snap = walk(fine_session("textbook-2-2-2"), 1)  # h1
    assert grade(snap, 0, Question.VALUE, H1).correct
    assert grade(snap, 0, Question.VALUE, 0.3775).mistake.key == "missing_activation"  # type: ignore[union-attr]
    assert grade(snap, 0, Question.VALUE, _sigmoid(0.0275)).mistake.key == "missing_bias"  # type: ignore[union-attr]
    assert grade(snap, 0, Question.VALUE, H1).param == "h1"


@pytest.mark.parametrize("name", BUILTINS)
def test_no_sub_step_mistake_gives_the_right_answer_or_repeats_another(name: str) -> None:
    session = fine_session(name)
    for _k in range(len(session.snapshot.plan.steps)):  # type: ignore[union-attr]
        snap = session.advance()
        question = due_substep(snap, 0)
        if question not in (Question.VALUE, Question.DELTA):
            continue
        for sample in range(min(2, len(session.scenario.samples))):
            found = mistakes(snap, 0, question, sample)
            right = expected(snap, 0, question, sample)
            for m in found:
                assert not grade(snap, 0, question, m.value, sample).correct, m
            values = [m.value for m in found]
            assert len(values) == len(set(values)) and right not in values


def test_undo_after_turning_fine_off_shows_whole_phases() -> None:
    session = fine_session("textbook-2-2-2")
    walk(session, 2)  # h1, h2 of the forward pass
    session.set_fine(False)
    snap = session.undo()  # back to after h1: in coarse mode, the forward phase whole
    assert snap.phase is Phase.FORWARD and snap.shows_activations
    session.set_fine(True)
    assert session.snapshot.current.name == "ŷ2"  # type: ignore[union-attr]
