"""Depth: how big each layer's gradients are, and how many multiplications backprop saves.

The per-layer sizes make vanishing gradients visible; the counts say why backprop is fast: it
reuses each δ for every path through its neuron instead of multiplying each path out again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.model.network import Architecture, Evaluation

BAR_LEVELS = 8
LEVELS_PER_DECADE = 2  # a bar one level lower is √10 ≈ 3.2 times smaller


@dataclass(frozen=True)
class LayerSize:
    """One layer of weights (1 = those from the inputs): the sizes of its gradients."""

    layer: int
    weight_rms: float  # root mean square of ∂J/∂w over the layer's weights
    delta_mean: float  # mean over the layer's neurons of |δ| = |∂J/∂z| (J: the data set's loss)


def layer_sizes(net: Architecture, evaluation: Evaluation) -> tuple[LayerSize, ...]:
    """Each layer's gradient size, from the evaluation whose gradients the update uses."""
    n = len(evaluation.samples)
    sizes = []
    for layer in range(1, net.depth + 1):
        start = net.weight_offsets[layer]
        grads = evaluation.grads[start : start + net.sizes[layer] * net.sizes[layer - 1]]
        rms = math.sqrt(math.fsum(g * g for g in grads) / len(grads))
        # δ of the data set's J is the mean of the samples' δ, as its gradients are.
        deltas = [
            math.fsum(s.delta[layer][k] for s in evaluation.samples) / n
            for k in range(net.sizes[layer])
        ]
        mean = math.fsum(abs(d) for d in deltas) / len(deltas)
        sizes.append(LayerSize(layer, rms, mean))
    return tuple(sizes)


def bar_level(value: float, top: float) -> int:
    """0..BAR_LEVELS on a log scale: `top` is full, each level down LEVELS_PER_DECADE times
    smaller per decade; anything non-zero keeps at least one level, so it is not taken for 0."""
    if math.isnan(value) or value <= 0.0:
        return 0
    if math.isinf(value) or not math.isfinite(top) or value >= top:
        return BAR_LEVELS
    steps = round(LEVELS_PER_DECADE * math.log10(top / value))
    return max(1, BAR_LEVELS - steps)


def bar_levels(values: Sequence[float]) -> list[int]:
    """Each value's bar_level against the largest finite one (the full bar)."""
    top = max((v for v in values if math.isfinite(v)), default=math.inf)
    return [bar_level(v, top) for v in values]


@dataclass(frozen=True)
class Multiplications:
    """For one sample: the backward pass's multiplications, and those of every path's chain
    written out separately, for the gradients of all weights and trained biases."""

    backprop: int
    paths: int


def multiplications(net: Architecture) -> Multiplications:
    """Counted as the chain panel writes the factors: an identity layer has no σ′ factor.

    Backprop: an output neuron's δ = ∂J/∂ŷ·σ′ (1); a hidden neuron's δ = σ′·Σ w·δ (one per
    neuron above, and 1 for σ′); a weight's ∂J/∂w = δ·a (1); a bias's ∂J/∂b = δ (0).
    Paths: a parameter into layer l has one path per choice of a neuron in each layer above,
    each path a product of a (weights only), σ′ of layers l..L, the L − l weights above and ∂J/∂ŷ.
    """
    depth = net.depth
    sizes = net.sizes
    slope = [0] + [0 if act.is_identity else 1 for act in net.activations]
    backprop = 0
    for layer in range(1, depth + 1):
        above = sizes[layer + 1] if layer < depth else 0
        backprop += sizes[layer] * (above + slope[layer])  # the δs
        backprop += sizes[layer] * sizes[layer - 1]  # δ·a per weight
    paths = 0
    trained_biases = net.bias and net.train_biases
    for layer in range(1, depth + 1):
        count = math.prod(sizes[layer + 1 :])
        factors = sum(slope[layer:]) + (depth - layer) + 1  # σ′s, weights above, ∂J/∂ŷ
        paths += sizes[layer] * sizes[layer - 1] * count * factors  # and a: factors + 1 - 1
        if trained_biases:
            paths += sizes[layer] * count * (factors - 1)
    return Multiplications(backprop, paths)
