"""The network's output over the input plane (networks with two inputs): the decision boundary.

The plane's axes are ours (core.teaching.axes): column c holds x1 = x.centre(c), character row r
(from the bottom) holds x2 around y.centre(r), split into `halves` values a row (two for half-block
cells, the upper first). Every value is the network's own forward pass at that point
(core.model.network.forward, the one evaluate runs), as the network panel would show it.

Shades, a number in [0, 1] per point: for one output, ŷ scaled so the smallest target is 0 and the
largest 1, clipped (with targets 0 and 1 that is ŷ itself); the class is shade ≥ 0.5. For several
outputs the class is the largest output, its shade that output scaled the same way. A hidden
neuron's map shades its activation over the activation's range (σ: 0..1, tanh: −1..1; otherwise
the map's own smallest..largest value).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.model.network import Architecture, Sample, forward_columns
from core.model.scenario import Scenario
from core.teaching.axes import Axis, linear_axis, spread_axis

MARGIN = 0.15  # share of the samples' span the plane reaches beyond them on each side
LEVELS = 10  # shades are drawn in this many steps (the ASCII ramp has one character each)
RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "softmax": (0.0, 1.0)}
# Evaluations cost parameters each; a map gets at most this many parameter-points in all, so a
# big network draws a coarser map rather than stalling the app (see `halves_within`).
WORK = 2**19

Map = tuple[tuple[float, ...], ...]  # [value row from the top][column]


@dataclass(frozen=True)
class Point:
    """The samples that fall in one character cell, and the class most of them have."""

    column: int
    row: int  # character row from the top
    label: int
    count: int


@dataclass(frozen=True)
class NeuronMap:
    name: str
    shades: Map


@dataclass(frozen=True)
class Boundary:
    x: Axis  # x1, one cell a column
    y: Axis  # x2, one cell a character row (cell 0 at the bottom)
    halves: int  # values per character row
    shades: Map  # rows * halves rows, from the top
    labels: tuple[tuple[int, ...], ...]  # the class the network gives each point
    outputs: int  # one output: classes 0 and 1 by shade; several: a class per output
    points: tuple[Point, ...]
    neurons: tuple[NeuronMap, ...]  # every hidden neuron, in the network panel's order


def applies(net: Architecture) -> bool:
    """The input plane is a picture of the inputs only for two of them."""
    return net.sizes[0] == 2


def input_ranges(samples: Sequence[Sample]) -> tuple[tuple[float, float], tuple[float, float]]:
    """(low, high) of x1 and of x2 over the samples, widened by MARGIN of the span each side."""
    ranges = []
    for i in (0, 1):
        low, high = min(s.x[i] for s in samples), max(s.x[i] for s in samples)
        pad = MARGIN * (high - low) or 0.5  # a single value: half a unit either side
        ranges.append((low - pad, high + pad))
    return ranges[0], ranges[1]


# The axes change with the data set and the panel's size only; making them costs more than the
# map itself (spread_axis tries every 1-2-5 spacing from a small one up), so they are kept.
@functools.lru_cache(maxsize=8)
def plane_axes(samples: tuple[Sample, ...], width: int, rows: int) -> tuple[Axis, Axis]:
    """x2 on `rows` character rows (1-2-5 steps), x1 on the columns its labels leave of `width`."""
    (x_low, x_high), (y_low, y_high) = input_ranges(samples)
    y = linear_axis(y_low, y_high, rows)
    label = max((len(t) for t in y.labels), default=0)
    x = spread_axis(x_low, x_high, max(2, width - label - 1))
    return x, y


@functools.lru_cache(maxsize=8)
def tile_axes(samples: tuple[Sample, ...], columns: int, rows: int) -> tuple[Axis, Axis]:
    """The same plane on exactly `columns` × `rows` cells, for small unlabelled maps."""
    (x_low, x_high), (y_low, y_high) = input_ranges(samples)
    return spread_axis(x_low, x_high, columns), spread_axis(y_low, y_high, rows)


def halves_within(scenario: Scenario, x: Axis, y: Axis, wanted: int) -> int | None:
    """The most values a row (up to `wanted`) whose map stays within WORK; None if none does."""
    per_half = x.cells * y.cells * len(scenario.initial_params)
    return next((h for h in range(wanted, 0, -1) if h * per_half <= WORK), None)


def value_positions(x: Axis, y: Axis, halves: int) -> tuple[list[float], list[float]]:
    """x1 of each column, x2 of each value row from the top (halves split a row evenly)."""
    xs = [x.centre(c) for c in range(x.cells)]
    ys = [
        y.centre(r) + y.step * (0.5 - (h + 0.5) / halves)
        for r in range(y.cells - 1, -1, -1)
        for h in range(halves)
    ]
    return xs, ys


def target_class(y: Sequence[float], low: float, high: float) -> int:
    """A sample's class: its target past the middle of the targets' range, or its largest."""
    if len(y) > 1:
        return max(range(len(y)), key=lambda k: y[k])
    return int(scale(y[0], low, high) >= 0.5)


def scale(value: float, low: float, high: float) -> float:
    """value on low..high as 0..1, clipped (nan counts as the middle: nothing to say)."""
    return scaled((value,), low, high)[0]


def scaled(values: Sequence[float], low: float, high: float) -> list[float]:
    """Each value as `scale` puts it (nan is the one value not equal to itself)."""
    span = high - low
    return [0.5 if v != v else min(1.0, max(0.0, (v - low) / span)) for v in values]


def level(shade: float) -> int:
    """Which of LEVELS steps a shade is drawn in: 0 for 0 .. LEVELS − 1 for 1."""
    return min(LEVELS - 1, int(shade * LEVELS))


def target_range(samples: Sequence[Sample]) -> tuple[float, float]:
    values = [v for s in samples for v in s.y]
    low, high = min(values), max(values)
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def boundary(
    scenario: Scenario, params: Sequence[float], x: Axis, y: Axis, halves: int
) -> Boundary:
    """The output (and each hidden neuron) at every point of the plane the axes cover."""
    net, samples = scenario.architecture, scenario.samples
    xs, ys = value_positions(x, y, halves)
    layers = forward_columns(net, params, [(x1, x2) for x2 in ys for x1 in xs])
    low, high = target_range(samples)
    outputs = layers[-1]  # one list an output neuron, over the points
    if net.sizes[-1] == 1:
        flat = scaled(outputs[0], low, high)
        labels = [int(s >= 0.5) for s in flat]
    else:
        points = list(zip(*outputs))
        labels = [max(range(len(o)), key=o.__getitem__) for o in points]
        flat = [scale(o[k], low, high) for o, k in zip(points, labels)]
    width = len(xs)
    return Boundary(
        x,
        y,
        halves,
        _rows(flat, width),
        tuple(tuple(labels[i : i + width]) for i in range(0, len(labels), width)),
        net.sizes[-1],
        _points(samples, x, y, low, high),
        _neurons(net, layers, width),
    )


def _rows(flat: Sequence[float], width: int) -> Map:
    return tuple(tuple(flat[i : i + width]) for i in range(0, len(flat), width))


def _points(
    samples: Sequence[Sample], x: Axis, y: Axis, low: float, high: float
) -> tuple[Point, ...]:
    """Each cell holding samples, with its most common class (the first seen on a tie)."""
    cells: dict[tuple[int, int], Counter[int]] = {}
    for s in samples:
        where = (x.cell(s.x[0]), y.cells - 1 - y.cell(s.x[1]))
        cells.setdefault(where, Counter())[target_class(s.y, low, high)] += 1
    return tuple(
        Point(c, r, counts.most_common(1)[0][0], sum(counts.values()))
        for (c, r), counts in sorted(cells.items(), key=lambda item: (item[0][1], item[0][0]))
    )


def _neurons(
    net: Architecture, layers: Sequence[Sequence[Sequence[float]]], width: int
) -> tuple[NeuronMap, ...]:
    maps = []
    for layer in range(1, net.depth):
        bounds = RANGES.get(net.activations[layer - 1].name)
        for j in range(net.sizes[layer]):
            values = layers[layer][j]
            finite = [v for v in values if math.isfinite(v)]
            low, high = bounds or (min(finite, default=0.0), max(finite, default=1.0))
            if high <= low:
                low, high = low - 0.5, low + 0.5
            shades = scaled(values, low, high)
            maps.append(NeuronMap(net.neuron_name(layer, j), _rows(shades, width)))
    return tuple(maps)
