"""The decision boundary's grid: every value an independent forward pass at its point."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from core.files.loader import load_builtin, load_file
from core.model.network import Sample
from core.teaching import boundary as plane


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def xor_by_hand(params: tuple[float, ...], x1: float, x2: float) -> tuple[float, float, float]:
    """h1, h2, ŷ of the 2-2-1 sigmoid XOR network, written out (w1..w6, b1..b3 as the spec
    numbers them: w1 x1→h1, w2 x2→h1, w3 x1→h2, w4 x2→h2, w5 h1→ŷ, w6 h2→ŷ)."""
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = params
    h1 = sigmoid(w1 * x1 + w2 * x2 + b1)
    h2 = sigmoid(w3 * x1 + w4 * x2 + b2)
    return h1, h2, sigmoid(w5 * h1 + w6 * h2 + b3)


XOR_TRAINED = (4.477, 4.478, 6.446, 6.456, -10.07, 9.376, -6.85, -2.816, -4.282)


def test_the_plane_reaches_a_margin_beyond_the_samples() -> None:
    sc = load_builtin("xor")
    # Samples span 0..1 on both inputs; 15 % of that span on either side.
    first, second = plane.input_ranges(sc.samples)
    assert first == pytest.approx((-0.15, 1.15)) and second == pytest.approx((-0.15, 1.15))
    one = (Sample((2.0, -1.0), (1.0,)),)
    assert plane.input_ranges(one) == ((1.5, 2.5), (-1.5, -0.5))  # half a unit around a point


def test_the_axes_fill_the_panel_and_hold_the_samples() -> None:
    sc = load_builtin("xor")
    x, y = plane.plane_axes(sc.samples, 32, 6)
    width = max(len(t) for t in y.labels)
    assert x.cells == 32 - width - 1  # the y labels and the axis line take the rest
    assert y.cells == 6
    for axis in (x, y):
        bottom = axis.centre(0) - axis.step / 2
        top = axis.centre(axis.cells - 1) + axis.step / 2
        assert bottom <= -0.15 and top >= 1.15


@pytest.mark.parametrize("params", ["initial", XOR_TRAINED])
@pytest.mark.parametrize("halves", [1, 2])
def test_every_value_is_the_forward_pass_at_its_point(params: object, halves: int) -> None:
    sc = load_builtin("xor")
    theta = sc.initial_params if params == "initial" else XOR_TRAINED
    x, y = plane.plane_axes(sc.samples, 30, 6)
    b = plane.boundary(sc, theta, x, y, halves)
    assert len(b.shades) == 6 * halves and all(len(row) == x.cells for row in b.shades)
    assert b.outputs == 1
    h1_map, h2_map = b.neurons
    assert (h1_map.name, h2_map.name) == ("h1", "h2")
    for i in range(6 * halves):
        # Value row i from the top: character row r from the bottom, part k of it from its top.
        r, k = 5 - i // halves, i % halves
        top_of_row = y.first + r * y.step + y.step / 2
        x2 = top_of_row - (k + 0.5) * y.step / halves
        for c in range(x.cells):
            x1 = x.first + c * x.step
            h1, h2, out = xor_by_hand(theta, x1, x2)
            # Targets are 0 and 1, so the shade is ŷ itself, and class 1 is ŷ ≥ 0.5.
            assert b.shades[i][c] == pytest.approx(out, abs=1e-12)
            assert b.labels[i][c] == (out >= 0.5)
            # σ's range is 0..1: a hidden neuron's shade is its activation.
            assert h1_map.shades[i][c] == pytest.approx(h1, abs=1e-12)
            assert h2_map.shades[i][c] == pytest.approx(h2, abs=1e-12)


def test_trained_xor_puts_each_sample_on_its_own_side() -> None:
    sc = load_builtin("xor")
    x, y = plane.plane_axes(sc.samples, 40, 8)
    b = plane.boundary(sc, XOR_TRAINED, x, y, 1)
    # Each XOR sample gets a cell of its own, with its target as the class.
    expected = {(0.0, 0.0): 0, (0.0, 1.0): 1, (1.0, 0.0): 1, (1.0, 1.0): 0}
    assert len(b.points) == 4
    for (x1, x2), label in expected.items():
        column = round((x1 - x.first) / x.step)
        row = y.cells - 1 - round((x2 - y.first) / y.step)
        point = next(p for p in b.points if (p.column, p.row) == (column, row))
        assert (point.label, point.count) == (label, 1)
        assert b.labels[point.row][point.column] == label  # trained: the map agrees


def test_samples_sharing_a_cell_show_the_most_common_class() -> None:
    crowd = (
        Sample((0.0, 0.0), (0.0,)),
        Sample((0.001, 0.0), (1.0,)),
        Sample((0.002, 0.001), (1.0,)),
        Sample((1.0, 1.0), (0.0,)),
    )
    sc = replace(load_builtin("xor"), samples=crowd)
    x, y = plane.plane_axes(crowd, 20, 6)
    b = plane.boundary(sc, sc.initial_params, x, y, 1)
    assert sorted((p.label, p.count) for p in b.points) == [(0, 1), (1, 3)]


def test_several_outputs_give_the_largest_as_the_class() -> None:
    sc = load_builtin("textbook-2-2-2")  # two inputs, two sigmoid outputs, one sample
    x, y = plane.plane_axes(sc.samples, 20, 6)
    b = plane.boundary(sc, sc.initial_params, x, y, 1)
    assert b.outputs == 2
    w1, w2, w3, w4, w5, w6, w7, w8, b1, b2, b3, b4 = sc.initial_params
    low, high = 0.01, 0.99  # the targets: shades are outputs scaled to this range
    for i, row in enumerate(b.shades):
        x2 = y.centre(y.cells - 1 - i)
        for c, shade in enumerate(row):
            x1 = x.centre(c)
            h1, h2 = sigmoid(w1 * x1 + w2 * x2 + b1), sigmoid(w3 * x1 + w4 * x2 + b2)
            o = (sigmoid(w5 * h1 + w6 * h2 + b3), sigmoid(w7 * h1 + w8 * h2 + b4))
            k = 0 if o[0] >= o[1] else 1
            assert b.labels[i][c] == k
            assert shade == pytest.approx(min(1.0, max(0.0, (o[k] - low) / (high - low))))
    # The one sample's target (0.01, 0.99) is class 2 (index 1).
    assert [p.label for p in b.points] == [1]


def test_the_grid_is_a_function_of_its_inputs() -> None:
    sc = load_builtin("xor")
    x, y = plane.plane_axes(sc.samples, 30, 6)
    assert plane.boundary(sc, XOR_TRAINED, x, y, 2) == plane.boundary(sc, XOR_TRAINED, x, y, 2)


def test_shades_and_levels() -> None:
    assert plane.scale(0.25, 0.0, 1.0) == 0.25
    assert plane.scale(-3.0, 0.0, 1.0) == 0.0 and plane.scale(math.inf, 0.0, 1.0) == 1.0
    assert plane.scale(math.nan, 0.0, 1.0) == 0.5  # nothing to say: the middle
    assert plane.scale(0.0, -1.0, 1.0) == 0.5
    assert [plane.level(s) for s in (0.0, 0.0999, 0.1, 0.5, 0.95, 1.0)] == [0, 0, 1, 5, 9, 9]


def test_only_two_inputs_have_a_plane() -> None:
    assert plane.applies(load_builtin("xor").architecture)
    assert plane.applies(load_builtin("textbook-2-2-2").architecture)
    assert not plane.applies(load_builtin("single-weight").architecture)
    assert not plane.applies(load_builtin("deep-sigmoid").architecture)


SOFTMAX = """
name = "Three classes"
learning_rate = 0.5
loss = "cross_entropy"

[network]
layers = [2, 3]
activations = ["softmax"]
weights = [[[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]]
biases = [[0.0, 0.2, 0.1]]

[[samples]]
x = [1.0, 0.0]
y = [1.0, 0.0, 0.0]

[[samples]]
x = [0.0, 1.0]
y = [0.0, 1.0, 0.0]

[[samples]]
x = [-1.0, -1.0]
y = [0.0, 0.0, 1.0]
"""


def test_softmax_gives_the_most_probable_class_and_its_probability(tmp_path: Path) -> None:
    path = tmp_path / "three.toml"
    path.write_text(SOFTMAX)
    sc = load_file(path)
    x, y = plane.plane_axes(sc.samples, 24, 8)
    b = plane.boundary(sc, sc.initial_params, x, y, 2)
    assert b.outputs == 3
    xs, ys = plane.value_positions(x, y, 2)
    for i, x2 in enumerate(ys):
        for c, x1 in enumerate(xs):
            z = (x1, x2 + 0.2, -x1 - x2 + 0.1)  # the weights and biases above, by hand
            top = max(z)
            e = [math.exp(v - top) for v in z]
            p = [v / sum(e) for v in e]
            k = p.index(max(p))
            assert b.labels[i][c] == k
            assert b.shades[i][c] == pytest.approx(p[k], abs=1e-12)  # targets 0/1: p itself
    # Each sample is drawn as its own class (the index of its target's 1).
    assert sorted(p.label for p in b.points) == [0, 1, 2]


def test_a_big_network_gets_a_coarser_map_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_builtin("xor")  # 9 parameters
    x, y = plane.plane_axes(sc.samples, 30, 6)
    one_half = x.cells * y.cells * 9  # parameter-points of a map with one value a row
    assert plane.halves_within(sc, x, y, 2) == 2
    monkeypatch.setattr(plane, "WORK", 2 * one_half - 1)
    assert plane.halves_within(sc, x, y, 2) == 1
    monkeypatch.setattr(plane, "WORK", one_half - 1)
    assert plane.halves_within(sc, x, y, 2) is None


@pytest.mark.parametrize("name", ["xor", "circle", "iris", "deep-sigmoid", "textbook-2-2-2"])
def test_the_columns_forward_pass_is_the_forward_pass_at_each_point(name: str) -> None:
    """forward_columns (a layer at a time over every point) gives forward's very numbers."""
    from core.model.network import forward, forward_columns

    sc = load_builtin(name)
    net = sc.architecture
    n_in = net.sizes[0]
    inputs = [tuple(math.sin(3.1 * k + i) * (1 + k % 3) for i in range(n_in)) for k in range(40)]
    inputs += [s.x for s in sc.samples]
    points = forward(net, sc.initial_params, inputs)
    layers = forward_columns(net, sc.initial_params, inputs)
    assert len(layers) == net.depth + 1
    for layer, size in enumerate(net.sizes):
        assert len(layers[layer]) == size
        for j in range(size):
            assert layers[layer][j] == [float(a[layer][j]) for a in points]
