"""Activation functions, each beside its local derivative (micrograd style)."""

from __future__ import annotations

import math
from collections.abc import Callable
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


@dataclass(frozen=True)
class Activation:
    """An activation a = f(z) with its slope da/dz written in terms of z and a."""

    name: str
    fn: Callable[[float], float]
    slope: Callable[[float, float], float]
    symbol: str  # how f is written: σ, tanh, relu ...
    slope_formula: str  # da/dz with {a} and {z} placeholders for the neuron's symbols

    @property
    def is_identity(self) -> bool:
        return self.name == "identity"

    def slope_text(self, a: str, z: str) -> str:
        return self.slope_formula.format(a=a, z=z)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", identity, identity_slope, "", "1"),
        Activation("sigmoid", sigmoid, sigmoid_slope, "σ", "{a}(1 − {a})"),
        Activation("tanh", tanh, tanh_slope, "tanh", "(1 − {a}²)"),
        Activation("relu", relu, relu_slope, "relu", "[{z} > 0]"),
        Activation("leaky_relu", leaky_relu, leaky_relu_slope, "lrelu", "[{z} > 0] or 0.01"),
    )
}
