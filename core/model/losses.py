"""Losses of one sample, each beside its slope ∂L/∂ŷ for one output (cross-entropy's is taken
in z through the softmax it goes with: ŷ − y), and for classifiers what counts as right.

`LOSSES` is the one table of them: for each, the function and slope `core.model.network.evaluate`
calls, how the explanations write them, and the code the training kernel (`core.model.kernel`)
writes out inline — the same operations in the same order (tests/unit/test_kernel_tables.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.model.activations import log_sum_exp

# Cross-entropy looks at log(ŷ) and log(1 − ŷ): keep ŷ off 0 and 1 so they stay finite.
EPSILON = 1e-12


def _clamp(p: float) -> float:
    return min(max(p, EPSILON), 1.0 - EPSILON)


def squared_error(yhat: Sequence[float], y: Sequence[float]) -> float:
    return sum([(p - t) * (p - t) for p, t in zip(yhat, y, strict=True)])


def squared_error_slope(p: float, t: float, m: int) -> float:
    return 2.0 * (p - t)


def half_squared_error(yhat: Sequence[float], y: Sequence[float]) -> float:
    return sum([0.5 * (p - t) * (p - t) for p, t in zip(yhat, y, strict=True)])


def half_squared_error_slope(p: float, t: float, m: int) -> float:
    return p - t


def mse(yhat: Sequence[float], y: Sequence[float]) -> float:
    return squared_error(yhat, y) / len(y)


def mse_slope(p: float, t: float, m: int) -> float:
    return 2.0 * (p - t) / m


def binary_cross_entropy(yhat: Sequence[float], y: Sequence[float]) -> float:
    total = 0.0
    for p, t in zip(yhat, y, strict=True):
        q = _clamp(p)
        total -= t * math.log(q) + (1.0 - t) * math.log(1.0 - q)
    return total


def binary_cross_entropy_slope(p: float, t: float, m: int) -> float:
    q = _clamp(p)
    return (q - t) / (q * (1.0 - q))


def cross_entropy(yhat: Sequence[float], y: Sequence[float]) -> float:
    """−Σ y·log ŷ from the probabilities alone (clamped); evaluate uses cross_entropy_z."""
    return 0.0 - sum([t * math.log(max(p, EPSILON)) for p, t in zip(yhat, y, strict=True)])


def cross_entropy_z(z: Sequence[float], y: Sequence[float]) -> float:
    # log ŷₖ = zₖ − log Σ e^z, so −Σ yₖ·log ŷₖ = Σ yₖ·(lse − zₖ): finite for any finite z,
    # even where ŷₖ itself rounds to 0.
    lse = log_sum_exp(z)
    return sum([t * (lse - v) for v, t in zip(z, y, strict=True)])


def cross_entropy_slope(p: float, t: float, m: int) -> float:
    # ∂L/∂zₖ through softmax, not ∂L/∂ŷₖ: Σᵢ (−yᵢ/ŷᵢ)·ŷᵢ(δᵢₖ − ŷₖ) = ŷₖ·Σᵢyᵢ − yₖ = ŷₖ − yₖ
    # (targets sum to 1). The one definition of the output layer's δ.
    return p - t


def correct_threshold(yhat: Sequence[float], y: Sequence[float]) -> bool:
    """Every output on the target's side of 0.5."""
    return all((p >= 0.5) == (t >= 0.5) for p, t in zip(yhat, y, strict=True))


def correct_argmax(yhat: Sequence[float], y: Sequence[float]) -> bool:
    """The most probable class is the target's (ties: the first)."""
    return max(range(len(y)), key=yhat.__getitem__) == max(range(len(y)), key=y.__getitem__)


def accuracy(
    loss: Loss, outputs: Sequence[Sequence[float]], targets: Sequence[Sequence[float]]
) -> float | None:
    """The share of samples classified right, or None for a loss that is not a classifier's."""
    if loss.correct is None or not outputs:
        return None
    right = sum(1 for p, t in zip(outputs, targets, strict=True) if loss.correct(p, t))
    return right / len(outputs)


def percent(share: float) -> str:
    """An accuracy as a whole percentage, rounded down: 100% only when every sample is right."""
    return f"{math.floor(share * 100 + 1e-9)}%"


@dataclass(frozen=True)
class LossCode:
    """What the kernel writes for a loss: Python, with {p} for ŷₖ, {t} for yₖ, {k} for k and
    {m} for the number of outputs; it may use log, EPS and ONE_MINUS_EPS."""

    term: str  # one output's share of L
    slope: str  # ∂L/∂ŷₖ
    prepare: tuple[str, ...] = ()  # statements for each output before the term and slope
    total: str = "sum"  # "sum": builtin sum() of the terms; "minus": 0.0 − term − term …
    mean: bool = False  # the total divided by m
    correct: str = ""  # one output's part of Loss.correct (all outputs' joined by "and")


@dataclass(frozen=True)
class Loss:
    """A per-sample loss L(ŷ, y) and its slope ∂L/∂ŷₖ; formulas use {p} for ŷₖ, {t} for yₖ."""

    name: str
    fn: Callable[[Sequence[float], Sequence[float]], float]
    slope: Callable[[float, float, int], float]
    title: str
    term_formula: str  # one output's share of L
    slope_formula: str  # ∂L/∂ŷₖ
    code: LossCode | None = None  # None: the kernel calls fn and slope
    # The loss from the output layer's pre-activations (stable where fn of ŷ is not), for a
    # loss whose slope is taken in z (cross-entropy after softmax); None: fn of ŷ.
    fn_z: Callable[[Sequence[float], Sequence[float]], float] | None = None
    # Whether a sample is classified right, for classification losses (accuracy); else None.
    correct: Callable[[Sequence[float], Sequence[float]], bool] | None = None

    def term_text(self, p: str, t: str) -> str:
        return self.term_formula.format(p=p, t=t)

    def slope_text(self, p: str, t: str, m: int) -> str:
        text = self.slope_formula.format(p=p, t=t, m=m)
        return text.replace("/1", "") if m == 1 else text

    def total_text(self, terms: Sequence[str]) -> str:
        body = " + ".join(terms)
        if self.name == "mse":
            return body if len(terms) == 1 else f"({body})/{len(terms)}"
        if self.name == "cross_entropy":
            return f"−({body})"
        return body


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss(
            "squared_error",
            squared_error,
            squared_error_slope,
            "Σ(ŷ − y)²",
            "({p} − {t})²",
            "2({p} − {t})",
            LossCode("({p} - {t}) * ({p} - {t})", "2.0 * ({p} - {t})"),
        ),
        Loss(
            "half_squared_error",
            half_squared_error,
            half_squared_error_slope,
            "Σ½(ŷ − y)²",
            "½({p} − {t})²",
            "({p} − {t})",
            LossCode("0.5 * ({p} - {t}) * ({p} - {t})", "{p} - {t}"),
        ),
        Loss(
            "mse",
            mse,
            mse_slope,
            "mean (ŷ − y)²",
            "({p} − {t})²",
            "2({p} − {t})/{m}",
            LossCode("({p} - {t}) * ({p} - {t})", "2.0 * ({p} - {t}) / {m}", mean=True),
        ),
        Loss(
            "binary_cross_entropy",
            binary_cross_entropy,
            binary_cross_entropy_slope,
            "−Σ[y·log ŷ + (1 − y)·log(1 − ŷ)]",
            "−[{t}·log {p} + (1 − {t})·log(1 − {p})]",
            "({p} − {t}) / ({p}(1 − {p}))",
            LossCode(
                "{t} * log(q{k}) + (1.0 - {t}) * log(1.0 - q{k})",
                "(q{k} - {t}) / (q{k} * (1.0 - q{k}))",
                # _clamp: min(max(p, EPSILON), 1.0 − EPSILON), as max and min choose.
                (
                    "q{k} = EPS if EPS > {p} else {p}",
                    "q{k} = ONE_MINUS_EPS if ONE_MINUS_EPS < q{k} else q{k}",
                ),
                total="minus",
                correct="({p} >= 0.5) == ({t} >= 0.5)",  # correct_threshold's test
            ),
            correct=correct_threshold,
        ),
        Loss(
            "cross_entropy",
            cross_entropy,
            cross_entropy_slope,
            "−Σ y·log ŷ",
            "{t}·log {p}",
            "({p} − {t})",
            fn_z=cross_entropy_z,
            correct=correct_argmax,
        ),
    )
}
