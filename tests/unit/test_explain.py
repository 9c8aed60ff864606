"""The explanation's factors multiply and add to exactly the gradient the update used."""

from __future__ import annotations

import math

import pytest

from core.files.loader import BUILTINS, load_builtin
from core.stepping.session import Phase, Session
from core.teaching.explain import explain


def product(values):
    result = values[0]
    for v in values[1:]:
        result = result * v
    return result


def check_exact(snap, index):
    ev = snap.evaluation
    for s in range(len(ev.samples)):
        ex = explain(snap, index, s)
        factors = [t.value for t in ex.chain.terms]
        assert None not in factors
        if ex.path_sum is not None:
            paths = [product([t.value for t in p.terms]) for p in ex.path_sum.paths]
            assert paths == [p.value for p in ex.path_sum.paths]
            # The hidden neuron's ∂L/∂h is the sum of its paths, bit for bit.
            assert sum(paths) == ex.path_sum.value == factors[0]
        assert product(factors) == ex.chain.value == ev.samples[s].grads[index]
        assert ex.sample_gradients[s] == ex.chain.value
    ex = explain(snap, index, 0)
    total = ex.sample_gradients[0]
    for g in ex.sample_gradients[1:]:
        total = total + g
    assert total / len(ex.sample_gradients) == ex.gradient == ev.grads[index]


@pytest.mark.parametrize("name", BUILTINS)
def test_factors_reproduce_every_gradient_exactly(name: str) -> None:
    session = Session(load_builtin(name))
    for _ in range(3):
        snap = session.step()
        for index in range(len(snap.params)):
            check_exact(snap, index)


@pytest.mark.parametrize("name", BUILTINS)
def test_update_line_is_the_update_applied(name: str) -> None:
    session = Session(load_builtin(name))
    snap = session.step()
    for info in snap.scenario.architecture.params:
        ex = explain(snap, info.index)
        old = snap.previous_params[info.index]
        if info.trainable:
            assert ex.update.value == snap.params[info.index]
            assert old - snap.learning_rate * ex.gradient == ex.update.value
        else:
            assert snap.params[info.index] == old


def test_factors_unknown_until_their_phase() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    w1 = session.snapshot.scenario.param_names.index("w1")
    ex = explain(session.snapshot, w1)
    assert all(t.value is None for t in ex.chain.terms) and ex.gradient is None
    ex = explain(session.forward(), w1)
    assert ex.chain.terms[0].value is None  # ∂J/∂h1 needs the backward pass
    assert ex.chain.terms[1].value is not None and ex.chain.terms[2].value is not None
    assert ex.loss.value is None
    ex = explain(session.compute_loss(), w1)
    assert ex.loss.value is not None and ex.gradient is None
    ex = explain(session.backward(), w1)
    assert ex.gradient is not None and ex.update.value is None
    snap = session.update()
    assert snap.phase is Phase.UPDATE
    assert explain(snap, w1).update.value == snap.params[w1]


def test_hidden_weight_of_deep_network_sums_over_paths() -> None:
    from core.model.activations import ACTIVATIONS
    from core.model.losses import LOSSES
    from core.model.network import Architecture, Sample
    from core.model.scenario import Scenario

    net = Architecture(
        (2, 3, 2, 2), (ACTIVATIONS["tanh"], ACTIVATIONS["sigmoid"], ACTIVATIONS["identity"]), True
    )
    params = tuple(math.cos(i) for i in range(len(net.params)))
    sc = Scenario(
        "deep",
        "",
        net,
        LOSSES["mse"],
        0.1,
        params,
        (Sample((0.3, -0.2), (0.1, 0.4)), Sample((0.9, 0.5), (-0.3, 0.2))),
    )
    snap = Session(sc).step()
    for index in range(len(params)):
        check_exact(snap, index)
    ex = explain(snap, 0)
    assert ex.path_sum is not None and len(ex.path_sum.paths) == 2


def test_compact_layouts_keep_every_path_and_the_sum() -> None:
    from core.teaching.explain import COMPACT_LEVELS, plain, render

    session = Session(load_builtin("textbook-2-2-2"))
    session.forward()
    session.compute_loss()
    ex = explain(session.backward(), 0)  # w1
    sizes = []
    for level in COMPACT_LEVELS:
        lines = plain(render(ex, 42, ("paths", "chain"), compact=level))
        text = "\n".join(lines)
        # Mazur's figures: the paths via o1 and o2, ∂E/∂out_h1 and ∂E/∂w1.
        for number in ("0.0553994", "(−0.0190491)", "= 0.0363503", "= 0.000438568"):
            assert number in text, (level, number, text)
        assert text.index("0.0363503") < text.index("∂J/∂w1")  # the sum, then its use
        assert all(len(line) <= 42 for line in lines), (level, text)
        sizes.append(len(lines))
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0]


def test_mean_is_the_mean_loss_then_the_mean_gradient() -> None:
    from core.teaching.explain import plain, render

    snap = Session(load_builtin("xor")).step()
    ex = explain(snap, 0)
    both = plain(render(ex, 60, ("mean",)))
    assert both == plain(render(ex, 60, ("mean_loss", "mean_gradient")))
    assert both[0].startswith("J = mean of L over 4 samples")
