"""core.teaching.depth: gradient size per layer, and backprop's multiplications against paths'.

The counts, by hand. L layers after the inputs, n_l neurons in layer l, s_l = 1 for a layer with
an activation (σ′ is a factor), 0 for the identity (no factor is written), as the chain panel does.

Backprop, one sample: an output δ = ∂J/∂ŷ·σ′ costs s_L; a hidden δ = σ′·Σ_j w·δ_j costs n_(l+1)
(the w·δ) + s_l; each ∂J/∂w = δ·a costs 1; ∂J/∂b = δ costs 0. So
    backprop = Σ_l n_l·s_l + Σ_(l<L) n_l·n_(l+1) + Σ_l n_l·n_(l-1).
Paths: a weight into layer l has P_l = n_(l+1)···n_L paths to the outputs, each the product of
a, the σ′ of layers l..L, the L − l weights above and ∂J/∂ŷ: 2 + S_l + (L − l) factors with
S_l = s_l + … + s_L, one multiplication fewer; a trained bias has no a, one factor fewer. So
    paths = Σ_l P_l·(n_l·n_(l-1)·(1 + S_l + L − l) + [trained biases]·n_l·(S_l + L − l)).

The story, 1-1 identity, no bias: backprop 0 + 0 + 1 = 1 (∂J/∂w = ∂J/∂ŷ·x); paths 1·1·(1 + 0 + 0)
= 1: one path, one multiplication; backprop saves nothing.
One hidden neuron, 1-1-1 sigmoid then identity: backprop 1 + 1 + 2 = 4; paths: w2 1·(1 + 0 + 0)
= 1, w1 1·(1 + 1 + 1) = 3: 4, the four-factor chain's three multiplications and w2's one.
Textbook 2-2-2, sigmoid, biases fixed: backprop (2 + 2) + 2·2 + (4 + 4) = 16; paths: w5..w8
P = 1, 1 + 1 + 0 = 2 each: 8; w1..w4 P = 2, 1 + 2 + 1 = 4 each: 4·2·4 = 32; 40 in all.
The same with trained biases: backprop still 16; paths + b3, b4 2·1·(1 + 0) = 2 and b1, b2
2·2·(2 + 1) = 12: 54.
Deep 1-4-4-4-1 sigmoid with biases: backprop (4 + 4 + 4 + 1) + (16 + 16 + 4) + (4 + 16 + 16 + 4)
= 13 + 36 + 40 = 89. Paths, layer by layer (P = 16, 4, 1, 1; 1 + S + L − l = 8, 6, 4, 2):
weights 4·16·8 + 16·4·6 + 16·1·4 + 4·1·2 = 512 + 384 + 64 + 8 = 968; biases (S + L − l = 7, 5, 3,
1) 4·16·7 + 4·4·5 + 4·1·3 + 1·1·1 = 448 + 80 + 12 + 1 = 541; 1,509 in all.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest

from core.files import headless
from core.files.loader import BUILTINS, load_builtin
from core.model.activations import ACTIVATIONS, Activation
from core.model.network import Architecture, apply_update, evaluate
from core.model.scenario import Scenario
from core.teaching.depth import BAR_LEVELS, bar_level, layer_sizes, multiplications

SIG, IDENT = ACTIVATIONS["sigmoid"], ACTIVATIONS["identity"]


@pytest.mark.parametrize(
    ("name", "backprop", "paths"),
    [
        ("single-weight", 1, 1),
        ("hidden-neuron", 4, 4),
        ("textbook-2-2-2", 16, 40),
        ("deep-sigmoid", 89, 1509),
    ],
)
def test_the_counts_of_the_builtins_are_the_hand_counts(
    name: str, backprop: int, paths: int
) -> None:
    count = multiplications(load_builtin(name).architecture)
    assert (count.backprop, count.paths) == (backprop, paths)


def test_trained_biases_add_paths_but_no_backprop_multiplications() -> None:
    net = Architecture((2, 2, 2), (SIG, SIG), bias=True, train_biases=True)
    count = multiplications(net)
    assert (count.backprop, count.paths) == (16, 54)


def _enumerated_paths(net: Architecture) -> int:
    """Every path of every trained parameter written out, its factors counted one by one."""
    depth, total = net.depth, 0
    for info in net.params:
        if not info.trainable:
            continue
        layer = info.layer
        above = [range(net.sizes[k]) for k in range(layer + 1, depth + 1)]
        for route in itertools.product(*above):
            neurons = [info.to, *route]  # one neuron per layer l..L
            factors = 1 if info.kind == "weight" else 0  # a, the input the weight multiplies
            factors += sum(not net.activations[k - 1].is_identity for k in range(layer, depth + 1))
            factors += len(neurons) - 1  # the weight between each pair of layers on the path
            factors += 1  # ∂J/∂ŷ
            total += factors - 1
    return total


@pytest.mark.parametrize(
    ("sizes", "acts", "bias"),
    [
        ((1, 1), (IDENT,), True),
        ((2, 3, 1), (SIG, IDENT), True),
        ((3, 2, 4, 2), (SIG, SIG, SIG), True),
        ((1, 4, 4, 4, 1), (SIG, SIG, SIG, SIG), False),
        ((2, 2, 3, 2, 1), (SIG, IDENT, SIG, IDENT), True),
    ],
)
def test_the_path_count_agrees_with_enumerating_every_path(
    sizes: tuple[int, ...], acts: tuple[Activation, ...], bias: bool
) -> None:
    net = Architecture(sizes, acts, bias=bias)
    assert multiplications(net).paths == _enumerated_paths(net)


def test_the_paths_grow_with_depth_faster_than_backprop() -> None:
    """Each layer more of 4 multiplies the paths by about 4; backprop adds a constant."""
    counts = [
        multiplications(Architecture((1, *([4] * k), 1), (SIG,) * (k + 1))) for k in range(1, 6)
    ]
    backprop_steps = {b.backprop - a.backprop for a, b in itertools.pairwise(counts)}
    assert len(backprop_steps) == 1  # a hidden layer of 4 more always adds the same
    assert all(b.paths > 4 * a.paths for a, b in itertools.pairwise(counts))


# -- the sizes per layer ----------------------------------------------------------------------

H = 1e-6


def _central_differences(name: str) -> tuple[Scenario, list[float]]:
    sc = load_builtin(name)
    net, params = sc.architecture, list(sc.initial_params)
    grads = []
    for i in range(len(params)):
        up, down = params.copy(), params.copy()
        up[i] += H
        down[i] -= H
        j_up = evaluate(net, sc.loss, up, sc.samples).loss
        j_down = evaluate(net, sc.loss, down, sc.samples).loss
        grads.append((j_up - j_down) / (2 * H))
    return sc, grads


def test_the_deep_scenarios_sizes_agree_with_central_differences_and_shrink() -> None:
    sc, fd = _central_differences("deep-sigmoid")
    net = sc.architecture
    sizes = layer_sizes(net, evaluate(net, sc.loss, sc.initial_params, sc.samples))
    assert [s.layer for s in sizes] == [1, 2, 3, 4]
    for s in sizes:
        weights = [fd[p.index] for p in net.params if p.kind == "weight" and p.layer == s.layer]
        # ∂z/∂b = 1, so a bias's gradient is its neuron's δ.
        biases = [fd[p.index] for p in net.params if p.kind == "bias" and p.layer == s.layer]
        want = math.sqrt(sum(g * g for g in weights) / len(weights))
        mean = sum(abs(g) for g in biases) / len(biases)
        assert s.weight_rms == pytest.approx(want, rel=1e-5)
        assert s.delta_mean == pytest.approx(mean, rel=1e-5)
    # The point of the scenario: from the output layer back to the first, each one smaller.
    rms = [s.weight_rms for s in sizes]
    deltas = [s.delta_mean for s in sizes]
    assert rms == sorted(rms) and len(set(rms)) == len(rms)
    assert deltas == sorted(deltas) and len(set(deltas)) == len(deltas)
    assert rms[-1] > 50 * rms[0]
    levels = [bar_level(r, max(rms)) for r in rms]
    assert levels == sorted(levels) and levels[0] < levels[-1] - 2  # seen on the bars too


def test_mean_delta_is_of_the_data_sets_delta_with_several_samples() -> None:
    """XOR's four samples: mean |δ| per layer is of ∂J/∂z = the mean of the samples' δ, which
    for a bias's neuron is ∂J/∂b: central differences give it without backprop."""
    sc, fd = _central_differences("xor")
    net = sc.architecture
    sizes = layer_sizes(net, evaluate(net, sc.loss, sc.initial_params, sc.samples))
    for s in sizes:
        biases = [fd[p.index] for p in net.params if p.kind == "bias" and p.layer == s.layer]
        assert s.delta_mean == pytest.approx(sum(map(abs, biases)) / len(biases), rel=1e-5)


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (1.0, BAR_LEVELS),
        (2.0, BAR_LEVELS),  # above the top (cannot happen on screen) is still full
        (0.1, BAR_LEVELS - 2),  # two levels a decade
        (10**-0.5, BAR_LEVELS - 1),
        (0.01, BAR_LEVELS - 4),
        (1e-3, BAR_LEVELS - 6),
        (1e-9, 1),  # far smaller, but not zero: the lowest bar, not none
        (0.0, 0),
        (math.nan, 0),
        (math.inf, BAR_LEVELS),
    ],
)
def test_bar_levels_are_log_scale(value: float, level: int) -> None:
    assert bar_level(value, 1.0) == level


# -- the scenario -----------------------------------------------------------------------------


def test_the_deep_scenario_is_built_in_after_xor() -> None:
    assert BUILTINS[BUILTINS.index("xor") + 1] == "deep-sigmoid"
    sc = load_builtin("deep-sigmoid")
    assert sc.architecture.sizes == (1, 4, 4, 4, 1)
    assert all(a is SIG for a in sc.architecture.activations)


def test_it_trains_headless(capsys: pytest.CaptureFixture[str]) -> None:
    assert headless.run(load_builtin("deep-sigmoid"), steps=5) == 0
    out = capsys.readouterr().out
    # The first of the column-split tables has the loss: steps 0..5, falling.
    rows = [row for row in out.splitlines() if re.match(r"\| \d ", row)][:6]
    losses = [float(row.split("|")[2]) for row in rows]
    assert [int(row.split("|")[1]) for row in rows] == list(range(6))
    assert losses == sorted(losses, reverse=True) and len(set(losses)) == 6


def _train(sc: Scenario) -> tuple[int, tuple[float, ...]]:
    net, params = sc.architecture, sc.initial_params
    for step in range(sc.max_steps + 1):
        ev = evaluate(net, sc.loss, params, sc.samples)
        if ev.loss < sc.loss_tolerance:
            return step, params
        params = apply_update(params, ev.grads, sc.learning_rate, net.trainable)
    raise AssertionError("did not converge within max_steps")


def test_the_lessons_claims_hold() -> None:
    """Every number the English lesson states, against the computation or the hand counts."""
    sc = load_builtin("deep-sigmoid")
    net, p0 = sc.architecture, sc.initial_params
    ev = evaluate(net, sc.loss, p0, sc.samples)
    trace = ev.samples[0]
    en = sc.lessons["en"]
    assert "ŷ ≈ 0.667" in en.note(0, "forward") and round(trace.a[4][0], 3) == 0.667
    hidden = [a for layer in trace.a[1:4] for a in layer]
    assert min(hidden) > 0.33 and max(hidden) < 0.65
    assert all(0.22 < a * (1 - a) <= 0.25 for a in hidden)
    sizes = layer_sizes(net, ev)
    note = en.note(0, "backward")
    for s, shown in zip(sizes, ("0.00042", "0.0011", "0.0036", "0.028")):
        assert shown in note and f"{s.weight_rms:.2g}" == f"{float(shown):.2g}"
    for s, shown in zip(sizes, ("0.00038", "0.0020", "0.0070", "0.052")):
        assert shown in note and f"{s.delta_mean:.2g}" == f"{float(shown):.2g}"
    assert "about 70 times" in note and round(sizes[-1].weight_rms / sizes[0].weight_rms, -1) == 70
    count = en.note(1, "backward")
    assert "89 multiplications" in count and "1,509" in count and "53 gradients" in count
    assert len(p0) == 53
    # w1 (x → h1): one path per choice of h5..h8, h9..h12: 16; x, 4 σ′, 3 weights, ∂J/∂ŷ: 9.
    assert "16 paths" in count and "9 factors" in count
    steps, params = _train(sc)
    update = en.note(0, "update")
    assert f"({steps} steps)" in update
    moved = {
        layer: max(
            abs(params[p.index] - p0[p.index])
            for p in net.params
            if p.layer == layer and p.kind == "weight"
        )
        for layer in (1, 4)
    }
    assert moved[1] < 0.007 and round(moved[4], 2) == 0.34
    assert "less than 0.007" in update and "up to 0.34" in update


def test_the_lesson_has_every_phase_and_step_in_english_and_chinese() -> None:
    lessons = load_builtin("deep-sigmoid").lessons
    en, zh = lessons["en"], lessons["zh"]
    assert {p for p, _t in en.phases} == {"ready", "forward", "loss", "backward", "update"}
    assert [p for p, _t in zh.phases] == [p for p, _t in en.phases]
    assert [(s, p) for s, p, _t in zh.steps] == [(s, p) for s, p, _t in en.steps]
    for (_p, text_en), (_q, text_zh) in zip(en.phases, zh.phases):
        assert re.search(r"[\u4e00-\u9fff]", text_zh) and text_zh != text_en
    # The Chinese notes state the same numbers as the English ones.
    for (_s, _p, text_en), (_s2, _p2, text_zh) in zip(en.steps, zh.steps):
        numbers = re.findall(r"\d[\d,.]*\d|\d", text_en)
        assert all(n in text_zh for n in numbers), text_zh
