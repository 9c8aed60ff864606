"""The loss along one parameter with the others held fixed: the story's picture of descent."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.model.network import evaluate
from core.stepping.session import Snapshot

POINTS = 61
MIN_POINTS = 9
# Evaluations cost parameters × samples each; the view gets about this much in all, so that a
# big network draws a coarser landscape instead of freezing the app (61 points for the
# built-ins, 9 for the largest the loader allows).
WORK = 2**21
SPAN = 1e3  # the window reaches at most this many times (1 + |θ|) away from θ


@dataclass(frozen=True)
class Landscape:
    index: int
    xs: tuple[float, ...]
    losses: tuple[float, ...]
    current: tuple[float, float]  # (θ, J) where the step's computation stands
    slope: float | None  # ∂J/∂θ there, once the backward pass has computed it
    tangent: tuple[tuple[float, float], tuple[float, float]] | None


def landscape(snap: Snapshot, index: int, points: int | None = None) -> Landscape:
    """J(θ) on a window that holds the current value and the path the parameter took."""
    sc = snap.scenario
    if points is None:
        work = max(1, len(sc.initial_params) * len(sc.samples))
        points = max(MIN_POINTS, min(POINTS, WORK // work))
    base = list(snap.evaluation.params)
    here = base[index]
    nothing = Landscape(index, (), (), (here, snap.evaluation.loss), None, None)
    if not (math.isfinite(here) and math.isfinite(snap.evaluation.loss)):
        return nothing  # the point itself is off any chart: nothing to draw it against
    # Wide enough to show the bowl around the current value, the path so far and the next step,
    # but not the jumps of a diverging run: they would stretch the axes over hundreds of orders
    # of magnitude (no plot can label that in a panel; plotext divides by zero trying).
    limit = SPAN * (1.0 + abs(here))
    path = [
        p for p in snap.history.trajectory(index) if math.isfinite(p) and abs(p - here) <= limit
    ]
    step = abs(snap.learning_rate * snap.evaluation.grads[index])
    half = max(1.0, abs(here), min(3.0 * step, limit) if math.isfinite(step) else 0.0)
    low = min(*path, here - half)
    high = max(*path, here + half)
    if not math.isfinite(high - low):
        return nothing  # a window wider than the largest float: plots cannot scale to it
    xs = tuple(low + (high - low) * i / (points - 1) for i in range(points))
    losses = []
    for x in xs:
        base[index] = x
        losses.append(evaluate(sc.architecture, sc.loss, base, sc.samples).loss)
    current = (here, snap.evaluation.loss)
    slope = snap.evaluation.grads[index] if snap.shows_gradients else None
    tangent = None
    if slope is not None:
        reach = 0.15 * (high - low)
        ends = (
            (here - reach, current[1] - slope * reach),
            (here + reach, current[1] + slope * reach),
        )
        if all(math.isfinite(v) for end in ends for v in end):
            tangent = ends  # (a slope of ∞ or nan has no line to draw; its value is still given)
    return Landscape(index, xs, tuple(losses), current, slope, tangent)


def wants_log_scale(values: tuple[float, ...] | list[float]) -> bool:
    """A loss spanning three or more orders of magnitude reads better on a log axis."""
    positive = [v for v in values if v > 0.0 and v == v and v != float("inf")]
    return len(positive) == len(values) > 1 and max(positive) > 1e3 * min(positive)


def plottable(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """The points a plot can draw: both coordinates finite."""
    keep = [(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)]
    return [x for x, _ in keep], [y for _, y in keep]
