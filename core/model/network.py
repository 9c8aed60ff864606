"""Fully connected networks: parameter layout, forward pass and backward pass in plain Python."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import mul

from core.model.activations import Activation
from core.model.losses import Loss, accuracy

# Python 3.12 made builtin sum() of floats compensated; before it adds left to right.
SEQUENTIAL_SUM = sys.version_info < (3, 12)


@dataclass(frozen=True)
class Sample:
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True)
class ParamInfo:
    """Where a parameter sits: weight (layer, to ← from) or bias (layer, neuron)."""

    index: int
    name: str
    kind: str  # "weight" | "bias"
    layer: int  # the receiving layer, 1 = first layer after the inputs
    to: int  # receiving neuron within its layer
    source: int  # sending neuron within layer - 1 (weights only; -1 for biases)
    trainable: bool


@dataclass(frozen=True)
class Architecture:
    """Layer sizes (inputs first), an activation per later layer, and whether there are biases."""

    sizes: tuple[int, ...]
    activations: tuple[Activation, ...]
    bias: bool = True
    train_biases: bool = True
    params: tuple[ParamInfo, ...] = field(init=False)
    weight_offsets: tuple[int, ...] = field(init=False)
    bias_offsets: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        sizes = self.sizes
        n_weights = sum(sizes[k] * sizes[k - 1] for k in range(1, len(sizes)))
        n_biases = sum(sizes[1:]) if self.bias else 0
        infos: list[ParamInfo] = []
        w_offsets: list[int] = [0]
        for layer in range(1, len(sizes)):
            w_offsets.append(len(infos))
            for to in range(sizes[layer]):
                for source in range(sizes[layer - 1]):
                    number = len(infos) + 1
                    name = "w" if n_weights == 1 else f"w{number}"
                    infos.append(ParamInfo(len(infos), name, "weight", layer, to, source, True))
        b_offsets: list[int] = [0]
        count = 0
        for layer in range(1, len(sizes)):
            b_offsets.append(len(infos))
            if not self.bias:
                continue
            for to in range(sizes[layer]):
                count += 1
                name = "b" if n_biases == 1 else f"b{count}"
                infos.append(ParamInfo(len(infos), name, "bias", layer, to, -1, self.train_biases))
        object.__setattr__(self, "params", tuple(infos))
        object.__setattr__(self, "weight_offsets", tuple(w_offsets))
        object.__setattr__(self, "bias_offsets", tuple(b_offsets))

    @property
    def depth(self) -> int:
        """Number of layers after the inputs."""
        return len(self.sizes) - 1

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def trainable(self) -> tuple[bool, ...]:
        return tuple(p.trainable for p in self.params)

    def param_index(self, name: str) -> int:
        for info in self.params:
            if info.name == name:
                return info.index
        raise KeyError(name)

    def weight_index(self, layer: int, to: int, source: int) -> int:
        return self.weight_offsets[layer] + to * self.sizes[layer - 1] + source

    def bias_index(self, layer: int, to: int) -> int:
        return self.bias_offsets[layer] + to

    def neuron_name(self, layer: int, index: int) -> str:
        """x / x1…, h / h1… (numbered across hidden layers), ŷ / ŷ1…"""
        if layer == 0:
            return "x" if self.sizes[0] == 1 else f"x{index + 1}"
        if layer == self.depth:
            return "ŷ" if self.sizes[-1] == 1 else f"ŷ{index + 1}"
        hidden = self.sizes[1:-1]
        if sum(hidden) == 1:
            return "h"
        return f"h{sum(hidden[: layer - 1]) + index + 1}"

    @property
    def neuron_names(self) -> tuple[str, ...]:
        """Every neuron after the inputs, layer by layer: the order of `Evaluation.deltas`."""
        return tuple(
            self.neuron_name(layer, j)
            for layer in range(1, self.depth + 1)
            for j in range(self.sizes[layer])
        )

    def target_name(self, index: int) -> str:
        return "y" if self.sizes[-1] == 1 else f"y{index + 1}"

    def preactivation_name(self, layer: int, index: int) -> str:
        """With the identity the neuron is its own pre-activation, so z is not named."""
        name = self.neuron_name(layer, index)
        return name if self.activations[layer - 1].is_identity else f"z_{name}"


@dataclass(frozen=True)
class SampleTrace:
    """Everything one sample's forward and backward pass computed, per layer (0: the inputs)."""

    z: tuple[Sequence[float], ...]  # pre-activations (z[0] is empty)
    a: tuple[Sequence[float], ...]  # activations (a[0] is x)
    loss: float
    dloss_da: tuple[Sequence[float], ...]  # ∂L/∂a: the loss slope at the outputs, path sums below
    slope: tuple[Sequence[float], ...]  # ∂a/∂z
    delta: tuple[Sequence[float], ...]  # ∂L/∂z = ∂L/∂a · ∂a/∂z
    grads: Sequence[float]  # ∂L/∂θ for every parameter


@dataclass(frozen=True)
class Evaluation:
    """Forward, loss and backward for one parameter vector over the whole data set."""

    params: tuple[float, ...]
    samples: tuple[SampleTrace, ...]
    loss: float  # J, the mean of the sample losses
    grads: tuple[float, ...]  # ∂J/∂θ, the mean of the sample gradients

    @property
    def deltas(self) -> tuple[float, ...]:
        """∂J/∂z of every neuron after the inputs (`Architecture.neuron_names`' order): the mean
        of the samples' δ, summed and divided as the gradients are (so the kernel's agree)."""
        per_sample = [[d for layer in t.delta for d in layer] for t in self.samples]
        total = per_sample[0]
        for deltas in per_sample[1:]:
            total = [s + d for s, d in zip(total, deltas)]
        n = len(per_sample)
        return tuple(s / n for s in total)


def evaluate(
    net: Architecture, loss: Loss, params: Sequence[float], samples: Sequence[Sample]
) -> Evaluation:
    """Forward pass, loss and backward pass for every sample; gradients averaged over samples."""
    depth = net.depth
    rows, biases = _layers(net, params)
    traces = tuple(_sample_trace(net, loss, rows, biases, sample, depth) for sample in samples)
    n = len(traces)
    total = list(traces[0].grads)
    for trace in traces[1:]:
        total = [s + g for s, g in zip(total, trace.grads)]
    grads = tuple(s / n for s in total)
    mean_loss = sum([t.loss for t in traces]) / n
    return Evaluation(tuple(params), traces, mean_loss, grads)


def _layers(
    net: Architecture, params: Sequence[float]
) -> tuple[list[list[Sequence[float]]], list[Sequence[float]]]:
    """Each layer's weight rows (one per receiving neuron) and biases, from the flat vector."""
    sizes = net.sizes
    rows: list[list[Sequence[float]]] = [[]]
    biases: list[Sequence[float]] = [()]
    for layer in range(1, net.depth + 1):
        n_in, n_out = sizes[layer - 1], sizes[layer]
        w0 = net.weight_offsets[layer]
        rows.append([params[w0 + j * n_in : w0 + (j + 1) * n_in] for j in range(n_out)])
        if net.bias:
            b0 = net.bias_offsets[layer]
            biases.append(params[b0 : b0 + n_out])
        else:
            biases.append((0.0,) * n_out)
    return rows, biases


def _forward(
    net: Architecture,
    rows: list[list[Sequence[float]]],
    biases: list[Sequence[float]],
    x: Sequence[float],
) -> tuple[list[Sequence[float]], list[Sequence[float]]]:
    """Pre-activations z and activations a of every layer for one input (z[0] empty, a[0] x)."""
    acts = net.activations
    a: list[Sequence[float]] = [x]
    z: list[Sequence[float]] = [()]
    prev: Sequence[float] = x
    for layer in range(1, net.depth + 1):
        act = acts[layer - 1]
        zl = [sum(map(mul, row, prev)) + b for row, b in zip(rows[layer], biases[layer])]
        prev = act.layer_fn(zl) if act.layer_fn is not None else [act.fn(v) for v in zl]
        z.append(zl)
        a.append(prev)
    return z, a


def forward(
    net: Architecture, params: Sequence[float], inputs: Sequence[Sequence[float]]
) -> list[list[Sequence[float]]]:
    """The activations of every layer (a[0] the input) at each input: evaluate's forward pass
    alone (for a picture of many points, forward_columns is quicker)."""
    rows, biases = _layers(net, params)
    return [_forward(net, rows, biases, x)[1] for x in inputs]


def forward_columns(
    net: Architecture, params: Sequence[float], inputs: Sequence[Sequence[float]]
) -> list[list[list[float]]]:
    """The activations of every layer at many inputs, one list a neuron over all of them
    (layers[l][j][k]: neuron j of layer l at input k): forward's numbers, a layer at a time."""
    if not SEQUENTIAL_SUM or not inputs:  # compensated sum(): only a point at a time agrees
        points = forward(net, params, inputs)
        return [
            [[a[layer][j] for a in points] for j in range(size)]
            for layer, size in enumerate(net.sizes)
        ]
    rows, biases = _layers(net, params)
    prev = [list(column) for column in zip(*inputs)]
    layers = [prev]
    for layer in range(1, net.depth + 1):
        act = net.activations[layer - 1]
        zs = []
        for row, b in zip(rows[layer], biases[layer]):
            # sum(map(mul, row, a)) + b of _forward, term by term in its order.
            z = [row[0] * v for v in prev[0]]
            for w, column in zip(row[1:], prev[1:]):
                z = [s + w * v for s, v in zip(z, column)]
            zs.append([s + b for s in z])
        if act.layer_fn is not None:
            at_points = [act.layer_fn(list(point)) for point in zip(*zs)]
            prev = [list(column) for column in zip(*at_points)]
        else:
            fn = act.fn
            prev = [[fn(v) for v in z] for z in zs]
        layers.append(prev)
    return layers


def _sample_trace(
    net: Architecture,
    loss: Loss,
    rows: list[list[Sequence[float]]],
    biases: list[Sequence[float]],
    sample: Sample,
    depth: int,
) -> SampleTrace:
    acts = net.activations
    z, a = _forward(net, rows, biases, sample.x)
    out = a[depth]
    m = len(out)
    # With softmax the loss is taken from z (log-sum-exp): ŷ may round to 0 where z is finite.
    fn_z = loss.fn_z
    sample_loss = fn_z(z[depth], sample.y) if fn_z is not None else loss.fn(out, sample.y)

    dloss: list[Sequence[float]] = [()] * (depth + 1)
    slopes: list[Sequence[float]] = [()] * (depth + 1)
    deltas: list[Sequence[float]] = [()] * (depth + 1)
    w_grads: list[list[float]] = [[] for _ in range(depth + 1)]
    b_grads: list[Sequence[float]] = [()] * (depth + 1)
    upstream: Sequence[float] = [loss.slope(p, t, m) for p, t in zip(out, sample.y)]
    for layer in range(depth, 0, -1):
        fp = acts[layer - 1].slope
        sl = [fp(zv, av) for zv, av in zip(z[layer], a[layer])]
        dl = [u * s for u, s in zip(upstream, sl)]
        dloss[layer] = upstream
        slopes[layer] = sl
        deltas[layer] = dl
        below = a[layer - 1]
        w_grads[layer] = [d * x for d in dl for x in below]
        b_grads[layer] = dl
        if layer > 1:
            layer_rows = rows[layer]
            # ∂L/∂a_i sums the paths through every neuron j of the layer above: δ_j · w_ji.
            upstream = [
                sum([d * row[i] for d, row in zip(dl, layer_rows)]) for i in range(len(below))
            ]
    grads: list[float] = []
    for layer in range(1, depth + 1):
        grads.extend(w_grads[layer])
    if net.bias:
        for layer in range(1, depth + 1):
            grads.extend(b_grads[layer])
    return SampleTrace(
        tuple(z), tuple(a), sample_loss, tuple(dloss), tuple(slopes), tuple(deltas), grads
    )


def classification_accuracy(loss: Loss, ev: Evaluation, samples: Sequence[Sample]) -> float | None:
    """The share of samples the evaluated network classifies right (None: not a classifier)."""
    return accuracy(loss, [t.a[-1] for t in ev.samples], [s.y for s in samples])


def params_accuracy(
    net: Architecture, loss: Loss, params: Sequence[float], samples: Sequence[Sample]
) -> float | None:
    """Accuracy at `params` by the forward pass alone (no evaluation kept)."""
    if loss.correct is None:
        return None
    outs = [a[-1] for a in forward(net, params, [s.x for s in samples])]
    return accuracy(loss, outs, [s.y for s in samples])


# The update, as the training kernel writes it for each trained parameter: the very
# expression of apply_update (tests/unit/test_kernel_tables.py checks they agree).
UPDATE_CODE = "{p} - {lr} * {g}"


def apply_update(
    params: Sequence[float], grads: Sequence[float], lr: float, trainable: Sequence[bool]
) -> tuple[float, ...]:
    """One gradient-descent step θ ← θ − lr·∂J/∂θ on the trainable parameters (the only
    definition: the session, its replays, the exports and the kernel all take this one)."""
    return tuple(
        p - lr * g if train else p for p, g, train in zip(params, grads, trainable, strict=True)
    )
