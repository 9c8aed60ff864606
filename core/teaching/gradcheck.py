"""The gradient check: ∂J/∂θ from the backward pass beside the central difference of J itself,
the way practitioners check a backward pass."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from core.model.network import Evaluation, evaluate
from core.model.scenario import Scenario
from core.stepping.session import Snapshot
from core.text.format import fmt
from core.text.i18n import _

H_SCALE = 1e-5  # h = H_SCALE · max(1, |θ|): near the cube root of the float epsilon, scaled to θ
AGREE = 1e-6  # relative differences up to this mean the two agree
# J(θ ± h) each carry a rounding error of a few ulps of J per operation; this many ulps of J,
# over the distance 2h, bounds what rounding can do to the central difference.
ROUNDING_ULPS = 64.0
NON_SMOOTH = frozenset({"relu", "leaky_relu"})  # activations whose slope jumps at z = 0
FORMULA_H = "1e−5·max(1, |{name}|)"
SHOWN_DIGITS = 12  # ∂J/∂θ and the central difference: enough to see where they part


class Verdict(Enum):
    AGREE = "agree"
    ROUNDING = "rounding"  # differ, but by less than rounding in J(θ ± h) can explain
    KINK = "kink"  # a ReLU input crosses 0 between θ − h and θ + h
    DISAGREE = "disagree"
    NOT_FINITE = "not finite"


@dataclass(frozen=True)
class GradientCheck:
    """One parameter's check: both derivatives, the numbers between, and what they say."""

    name: str
    theta: float
    h: float
    loss_plus: float  # J(θ + h)
    loss_minus: float  # J(θ − h)
    central: float  # (J(θ + h) − J(θ − h)) / 2h
    backward: float  # ∂J/∂θ as the backward pass computed it
    relative: float  # |a − b| / max(|a|, |b|, 1e-300)
    rounding: float  # how far rounding in J(θ ± h) can move the central difference
    kink: bool

    @property
    def verdict(self) -> Verdict:
        numbers = (self.loss_plus, self.loss_minus, self.central, self.backward)
        if not all(math.isfinite(x) for x in numbers):
            return Verdict.NOT_FINITE
        if self.relative <= AGREE:
            return Verdict.AGREE
        if abs(self.central - self.backward) <= self.rounding:
            return Verdict.ROUNDING
        return Verdict.KINK if self.kink else Verdict.DISAGREE

    @property
    def digits(self) -> int:
        """Significant digits the two have in common, as the relative difference counts them."""
        if self.relative <= 0.0:
            return 16
        if not math.isfinite(self.relative):
            return 0
        return max(0, min(16, math.floor(-math.log10(self.relative))))


def step_size(theta: float) -> float:
    return H_SCALE * max(1.0, abs(theta))


def check_at(
    scenario: Scenario, params: Sequence[float], index: int, gradient: float
) -> GradientCheck:
    """The check of parameter `index` at `params` against `gradient` (the backward pass's)."""
    net, loss, samples = scenario.architecture, scenario.loss, scenario.samples
    theta = params[index]
    h = step_size(theta)
    up, down = list(params), list(params)
    up[index] = theta + h
    down[index] = theta - h
    plus = evaluate(net, loss, up, samples)
    minus = evaluate(net, loss, down, samples)
    # Divide by the distance between the two points as stored, not by the 2h asked for.
    distance = up[index] - down[index]
    central = (plus.loss - minus.loss) / distance
    relative = abs(central - gradient) / max(abs(central), abs(gradient), 1e-300)
    eps = sys.float_info.epsilon
    rounding = ROUNDING_ULPS * eps * (abs(plus.loss) + abs(minus.loss)) / distance
    return GradientCheck(
        name=net.param_names[index],
        theta=theta,
        h=h,
        loss_plus=plus.loss,
        loss_minus=minus.loss,
        central=central,
        backward=gradient,
        relative=relative,
        rounding=rounding,
        kink=_crosses_kink(scenario, plus, minus),
    )


def check(snap: Snapshot, index: int, gradient: float | None = None) -> GradientCheck:
    """The check at the values the snapshot's backward pass used (before the update in the
    update phase), against its ∂J/∂θ unless another `gradient` is given."""
    ev = snap.evaluation
    grad = ev.grads[index] if gradient is None else gradient
    return check_at(snap.scenario, ev.params, index, grad)


def _crosses_kink(scenario: Scenario, plus: Evaluation, minus: Evaluation) -> bool:
    """Some neuron with a ReLU-like activation has z > 0 at one end of [θ − h, θ + h], not the
    other: there the slope jumps, and a central difference averages the two sides."""
    acts = scenario.architecture.activations
    for a, b in zip(plus.samples, minus.samples):
        for layer in range(1, len(a.z)):
            if acts[layer - 1].name not in NON_SMOOTH:
                continue
            if any((p > 0.0) != (m > 0.0) for p, m in zip(a.z[layer], b.z[layer])):
                return True
    return False


def verdict_text(gc: GradientCheck) -> str:
    name = gc.name
    verdict = gc.verdict
    if verdict is Verdict.AGREE:
        if gc.relative <= 0.0:
            return _("agree in every digit: the backward pass is right here")
        return _("agree to {n} digits: the backward pass is right here").format(n=gc.digits)
    if verdict is Verdict.ROUNDING:
        return _(
            "agree within rounding: ∂J/∂{name} is too small next to J for J({name} + h) and "
            "J({name} − h) to resolve (rounding can move the difference by {bound})"
        ).format(name=name, bound=fmt(gc.rounding, 2))
    if verdict is Verdict.KINK:
        return _(
            "differ at a kink: a ReLU input z crosses 0 between {name} − h and {name} + h, "
            "where its slope jumps; the central difference straddles the jump"
        ).format(name=name)
    if verdict is Verdict.DISAGREE:
        return _(
            "disagree (relative difference above {limit}): the backward pass does not match J"
        ).format(limit=fmt(AGREE))
    return _("cannot check: J or ∂J/∂{name} is not finite here").format(name=name)


def lines(gc: GradientCheck) -> list[str]:
    """The check written out, translated: h, J on either side, both derivatives, the verdict."""
    name = gc.name
    h = f"h = {FORMULA_H.format(name=name)} = {fmt(gc.h, 3)}"
    return [
        f"{name} = {fmt(gc.theta, SHOWN_DIGITS)}, {h}",
        f"J({name} + h) = {fmt(gc.loss_plus, 16)}",
        f"J({name} − h) = {fmt(gc.loss_minus, 16)}",
        _("central difference (J({name} + h) − J({name} − h))/2h = {value}").format(
            name=name, value=fmt(gc.central, SHOWN_DIGITS)
        ),
        _("backward pass ∂J/∂{name} = {value}").format(
            name=name, value=fmt(gc.backward, SHOWN_DIGITS)
        ),
        _("relative difference |a − b|/max(|a|, |b|) = {value}").format(value=fmt(gc.relative, 2)),
        verdict_text(gc),
    ]
