"""Backward pass against central finite differences, over every activation and loss."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model.activations import ACTIVATIONS
from core.model.losses import LOSSES
from core.model.network import Architecture, Sample, evaluate

SMOOTH = ("identity", "sigmoid", "tanh")


def finite_difference(net, loss, params, samples, i, h=1e-6):
    up = list(params)
    down = list(params)
    up[i] += h
    down[i] -= h
    return (evaluate(net, loss, up, samples).loss - evaluate(net, loss, down, samples).loss) / (
        2 * h
    )


def relative_error(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


def kinked(net, params, samples, h=1e-6) -> bool:
    """True if some relu pre-activation lies within reach of the finite-difference step."""
    ev = evaluate(net, LOSSES["mse"], params, samples)
    for trace in ev.samples:
        for layer, act in enumerate(net.activations, start=1):
            if act.name in ("relu", "leaky_relu") and any(abs(z) < 1e-4 for z in trace.z[layer]):
                return True
    return False


@st.composite
def problems(draw, activation=None, loss=None):
    n_hidden = draw(st.integers(0, 2))
    sizes = [draw(st.integers(1, 3)) for _ in range(n_hidden + 2)]
    act_names = [
        activation or draw(st.sampled_from(sorted(ACTIVATIONS))) for _ in range(len(sizes) - 1)
    ]
    loss_name = loss or draw(st.sampled_from(sorted(LOSSES)))
    if loss_name == "binary_cross_entropy":
        act_names[-1] = "sigmoid"
    # Softmax only on the output layer, always with cross-entropy, and with two outputs or more.
    act_names[:-1] = ["tanh" if a == "softmax" else a for a in act_names[:-1]]
    if "softmax" in (act_names[-1],) or loss_name == "cross_entropy":
        act_names[-1], loss_name = "softmax", "cross_entropy"
        sizes[-1] = max(sizes[-1], 2)
    bias = draw(st.booleans())
    net = Architecture(tuple(sizes), tuple(ACTIVATIONS[a] for a in act_names), bias)
    value = st.floats(-1.5, 1.5, allow_nan=False)
    params = [draw(value) for _ in net.params]
    n_samples = draw(st.integers(1, 3))
    samples = []
    for _ in range(n_samples):
        x = tuple(draw(value) for _ in range(sizes[0]))
        if loss_name == "binary_cross_entropy":
            y = tuple(draw(st.floats(0, 1)) for _ in range(sizes[-1]))
        elif loss_name == "cross_entropy":  # a probability vector: the targets add up to 1
            weights = [draw(st.floats(0.0, 1.0)) + 1e-3 for _ in range(sizes[-1])]
            y = tuple(w / sum(weights) for w in weights)
        else:
            y = tuple(draw(value) for _ in range(sizes[-1]))
        samples.append(Sample(x, y))
    return net, LOSSES[loss_name], params, samples


@settings(max_examples=300, deadline=None)
@given(problems())
def test_gradients_match_central_differences(problem) -> None:
    net, loss, params, samples = problem
    if kinked(net, params, samples):
        return
    ev = evaluate(net, loss, params, samples)
    for i in range(len(params)):
        numeric = finite_difference(net, loss, params, samples, i)
        assert relative_error(ev.grads[i], numeric) <= 1e-6, (net.params[i].name, ev.grads[i])


@pytest.mark.parametrize(
    ("activation", "loss", "bias", "hidden", "n_samples"),
    [
        combo
        for combo in itertools.product(
            sorted(ACTIVATIONS), sorted(LOSSES), (False, True), (1, 2), (1, 3)
        )
        # softmax goes with cross-entropy only, and cross-entropy with softmax only
        if (combo[0] == "softmax") == (combo[1] == "cross_entropy")
    ],
)
def test_every_activation_loss_bias_depth_and_sample_count(
    activation, loss, bias, hidden, n_samples
) -> None:
    # A fixed, kink-free network for each combination, so none is left to chance.
    sizes = (2, *([3] * hidden), 2)
    acts = [ACTIVATIONS[activation]] * (len(sizes) - 1)
    if loss == "binary_cross_entropy":
        acts[-1] = ACTIVATIONS["sigmoid"]
    if activation == "softmax":  # the output layer's only: sigmoid below it
        acts[:-1] = [ACTIVATIONS["sigmoid"]] * (len(sizes) - 2)
    net = Architecture(sizes, tuple(acts), bias)
    params = [0.3 + 0.7 * math.sin(1.7 * i + 0.4) for i in range(len(net.params))]
    samples = [
        Sample((0.5 + 0.3 * s, -0.8 + 0.5 * s), (0.2 + 0.3 * s, 0.9 - 0.4 * s))
        for s in range(n_samples)
    ]
    if loss == "cross_entropy":  # targets that add up to 1, as cross-entropy's slope needs
        samples = [Sample(s.x, tuple(t / sum(s.y) for t in s.y)) for s in samples]
    assert not kinked(net, params, samples)
    ev = evaluate(net, LOSSES[loss], params, samples)
    for i in range(len(params)):
        numeric = finite_difference(net, LOSSES[loss], params, samples, i)
        assert relative_error(ev.grads[i], numeric) <= 1e-6, net.params[i].name


def test_huge_inputs_stay_finite_without_exceptions() -> None:
    for act in ("sigmoid", "tanh"):
        net = Architecture((1, 1, 1), (ACTIVATIONS[act], ACTIVATIONS["sigmoid"]), True)
        for loss in LOSSES.values():
            for big in (1e3, 1e30, 1e300, -1e300):
                ev = evaluate(net, loss, [big, big, 0.0, 0.0], [Sample((big,), (1.0,))])
                assert all(math.isfinite(g) or math.isnan(g) for g in ev.grads)
                assert math.isfinite(ev.loss)
