"""Activation functions, each beside its local derivative (micrograd style).

`ACTIVATIONS` is the one table of them: for each, the function and its slope that
`core.model.network.evaluate` calls, how the explanations write them, and the expressions the
training kernel (`core.model.kernel`) writes out inline — the same operations in the same order, so
both compute the same bits (tests/unit/test_kernel_tables.py checks it). Softmax is a function
of the whole layer (`layer_fn`); the kernel writes it out beside cross-entropy, its one loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

LEAK = 0.01


def sigmoid(z: float) -> float:
    # Never exp() a positive number: math.exp raises OverflowError above ~709.
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def sigmoid_slope(z: float, a: float) -> float:
    return a * (1.0 - a)


def tanh(z: float) -> float:
    return math.tanh(z)


def tanh_slope(z: float, a: float) -> float:
    return 1.0 - a * a


def relu(z: float) -> float:
    return z if z > 0.0 else 0.0


def relu_slope(z: float, a: float) -> float:
    return 1.0 if z > 0.0 else 0.0


def leaky_relu(z: float) -> float:
    return z if z > 0.0 else LEAK * z


def leaky_relu_slope(z: float, a: float) -> float:
    return 1.0 if z > 0.0 else LEAK


def identity(z: float) -> float:
    return z


def identity_slope(z: float, a: float) -> float:
    return 1.0


def softmax(z: Sequence[float]) -> list[float]:
    """e^zₖ / Σⱼ e^zⱼ, shifted by max z so that no exp() overflows (the shift cancels)."""
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


def log_sum_exp(z: Sequence[float]) -> float:
    """log Σⱼ e^zⱼ without overflow: softmax's log ŷₖ is zₖ − log_sum_exp(z)."""
    top = max(z)
    return top + math.log(sum([math.exp(v - top) for v in z]))


def softmax_jacobian(p: Sequence[float]) -> list[list[float]]:
    """∂ŷᵢ/∂zⱼ = ŷᵢ(δᵢⱼ − ŷⱼ), row i, column j, from softmax's outputs ŷ."""
    return [
        [pi * ((1.0 if i == j else 0.0) - pj) for j, pj in enumerate(p)] for i, pi in enumerate(p)
    ]


def softmax_element(z: float) -> float:
    raise TypeError("softmax is a function of the whole layer: call its layer_fn")


def softmax_slope(z: float, a: float) -> float:
    # Softmax's Jacobian is folded into cross-entropy's slope (the only loss it goes with):
    # ∂L/∂zₖ = ŷₖ − yₖ comes out of the loss's slope, and this factor is 1.
    return 1.0


@dataclass(frozen=True)
class Activation:
    """An activation a = f(z) with its slope da/dz written in terms of z and a."""

    name: str
    fn: Callable[[float], float]
    slope: Callable[[float, float], float]
    symbol: str  # how f is written: σ, tanh, relu ...
    slope_formula: str  # da/dz with {a} and {z} placeholders for the neuron's symbols
    # What the kernel writes for fn and slope: Python expressions in {z} (and {a}, the value of
    # fn), which may use exp, tanh and LEAK. "" for code: a is z itself; for slope_code: 1.0.
    code: str = ""
    slope_code: str = ""
    # A function of the whole layer's z (softmax), where fn is not elementwise; None otherwise.
    layer_fn: Callable[[Sequence[float]], list[float]] | None = None

    @property
    def is_identity(self) -> bool:
        return self.name == "identity"

    @property
    def is_softmax(self) -> bool:
        """Softmax's slope is folded into cross-entropy's: the chain has one factor ŷ − y."""
        return self.layer_fn is not None

    def slope_text(self, a: str, z: str) -> str:
        return self.slope_formula.format(a=a, z=z)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", identity, identity_slope, "", "1"),
        Activation(
            "sigmoid",
            sigmoid,
            sigmoid_slope,
            "σ",
            "{a}(1 − {a})",
            "1.0 / (1.0 + exp(-{z})) if {z} >= 0.0 else (_e := exp({z})) / (1.0 + _e)",
            "{a} * (1.0 - {a})",
        ),
        Activation("tanh", tanh, tanh_slope, "tanh", "(1 − {a}²)", "tanh({z})", "1.0 - {a} * {a}"),
        Activation(
            "relu",
            relu,
            relu_slope,
            "relu",
            "[{z} > 0]",
            "{z} if {z} > 0.0 else 0.0",
            "1.0 if {z} > 0.0 else 0.0",
        ),
        Activation(
            "leaky_relu",
            leaky_relu,
            leaky_relu_slope,
            "lrelu",
            "[{z} > 0] or 0.01",
            "{z} if {z} > 0.0 else LEAK * {z}",
            "1.0 if {z} > 0.0 else LEAK",
        ),
        Activation(
            "softmax",
            softmax_element,
            softmax_slope,
            "softmax",
            "1",
            layer_fn=softmax,
        ),
    )
}

# Activations that only an output layer may have, with the one loss each goes with.
OUTPUT_ONLY = {"softmax": "cross_entropy"}
