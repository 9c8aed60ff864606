"""Quiz mode: the answer the student should give, what each recognisable mistake gives, a score.

Two questions are asked about the selected parameter θ in every step: its gradient ∂J/∂θ
before the backward pass reveals it (phase LOSS), and its new value before the update shows it
(phase BACKWARD). A wrong answer is compared with the value each classic mistake would have
produced, each computed here from the same forward and backward numbers as the right answer,
so the UI only has to show the name and the explanation.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.model import optimizers
from core.model.network import SampleTrace
from core.stepping.session import Phase, Snapshot
from core.text.format import DIGITS, fmt
from core.text.i18n import _

# An answer is right when it is within REL_TOL of the gradient (for a new value: of the step
# θ_new − θ_old it implies) or within ABS_TOL. The absolute tolerance is small because hidden
# gradients are small: in the textbook 2-2-2 network ∂J/∂w1 = 0.000439, and the classic mistake
# (already-updated w5, w7) gives 0.000365. A new value is judged by its step because the step
# can be far below 1% of the value: answering the old value must not count as updating it.
REL_TOL = 0.01
ABS_TOL = 1e-6
# A new value may also be off by the rounding of the old value as shown (DIGITS significant).
SHOWN_TOL = 10.0 ** (1 - DIGITS)
ONE_SAMPLE_CANDIDATES = 8  # samples whose own gradient is checked as "one sample, not the mean"


class Question(Enum):
    GRADIENT = "gradient"  # ∂J/∂θ, asked at phase LOSS (before BACKWARD shows it)
    NEW_VALUE = "new value"  # θ after the update, asked at phase BACKWARD (before UPDATE)
    VALUE = "value"  # fine stepping: a neuron's activation, before its sub-step shows it
    DELTA = "delta"  # fine stepping: a neuron's δ = ∂J/∂z, before its sub-step shows it

    def prompt(self, name: str) -> str:
        if self is Question.GRADIENT:
            return _("∂J/∂{name} = ?").format(name=name)
        if self is Question.VALUE:
            return _("{name} = ?").format(name=name)
        if self is Question.DELTA:
            return _("δ_{name} = ?").format(name=name)
        return _("{name} after the update = ?").format(name=name)


NEURON_QUESTIONS = (Question.VALUE, Question.DELTA)


def due(snap: Snapshot) -> Question | None:
    """The question to ask before the next phase is shown, if any (fine stepping asks about
    each sub-step instead: `due_substep`)."""
    if snap.fine:
        return None
    if snap.phase is Phase.LOSS:
        return Question.GRADIENT
    if snap.phase is Phase.BACKWARD:
        return Question.NEW_VALUE
    return None


def due_substep(snap: Snapshot, index: int) -> Question | None:
    """Fine stepping: the question about the sub-step `snap` has just computed (and the screen
    does not show yet): each neuron's value and δ, the selected parameter's gradient and update."""
    step = snap.current
    if step is None:
        return None
    if step.kind == "forward":
        return Question.VALUE
    if step.kind == "delta":
        return Question.DELTA
    if step.kind == "gradient" and step.index == index:
        return Question.GRADIENT
    if step.kind == "update":
        return Question.NEW_VALUE
    return None


def subject(snap: Snapshot, index: int, question: Question) -> str:
    """What is asked about: the sub-step's neuron, or parameter `index`."""
    if question in NEURON_QUESTIONS and snap.current is not None:
        return snap.current.name
    return snap.scenario.param_names[index]


@dataclass(frozen=True)
class Mistake:
    key: str  # stable identifier, for the trace and translations: "wrong_sign", …
    name: str  # "wrong sign"
    explanation: str  # one or two sentences for the student
    value: float  # the answer this mistake produces


@dataclass(frozen=True)
class Grade:
    question: Question
    param: str
    step: int  # the update the question is about (1 for the first)
    answer: float
    expected: float
    correct: bool
    mistake: Mistake | None  # the recognised mistake, for a wrong answer


# -- answers -----------------------------------------------------------------------------------


def _rate(snap: Snapshot) -> float:
    """The learning rate of this step's update (once applied, the one it used)."""
    return snap.history.rates[snap.step - 1] if snap.shows_update else snap.learning_rate


def expected(snap: Snapshot, index: int, question: Question, sample: int = 0) -> float:
    """The right answer, from the same evaluation the session uses for the update (a neuron's
    value or δ: the shown sample's)."""
    ev = snap.evaluation
    if question in NEURON_QUESTIONS:
        step = snap.current
        assert step is not None
        trace = ev.samples[sample]
        values = trace.a if question is Question.VALUE else trace.delta
        return values[step.layer][step.index]
    g = ev.grads[index]
    if question is Question.GRADIENT:
        return g
    old = ev.params[index]
    if not snap.scenario.architecture.params[index].trainable:
        return old
    config = snap.scenario.optimizer
    if not config.plain:  # the session's own update: its batch's gradient, its state
        grad = snap.update_grads[index]
        return optimizers.worked(config, _rate(snap), old, grad, snap.shown_state, index)[-1][2]
    return old - _rate(snap) * g


def tolerance(snap: Snapshot, index: int, question: Question, value: float) -> float:
    """How far an answer may be from `value` and still count as giving it."""
    if question is not Question.NEW_VALUE:
        return max(ABS_TOL, REL_TOL * abs(value))
    old = snap.evaluation.params[index]
    return max(ABS_TOL, REL_TOL * abs(value - old), SHOWN_TOL * abs(old))


def _same(snap: Snapshot, index: int, question: Question, a: float, b: float) -> bool:
    tol = max(tolerance(snap, index, question, a), tolerance(snap, index, question, b))
    return abs(a - b) <= tol


# -- mistakes ----------------------------------------------------------------------------------


def _sample_gradient(
    snap: Snapshot,
    trace: SampleTrace,
    index: int,
    weights: Sequence[float],
    own_slope: bool = True,
    downstream_slopes: bool = True,
    output: Sequence[float] | None = None,
) -> float:
    """One sample's ∂L/∂θ by the backward pass, with the given weights and factors left out
    (`output`: a wrong ∂L/∂ŷ, or ∂L/∂z after softmax, to start from)."""
    net = snap.scenario.architecture
    info = net.params[index]
    sizes = net.sizes
    upstream: Sequence[float] = trace.dloss_da[net.depth] if output is None else output
    for layer in range(net.depth, info.layer, -1):
        slopes = trace.slope[layer] if downstream_slopes else [1.0] * sizes[layer]
        deltas = [u * s for u, s in zip(upstream, slopes)]
        upstream = [
            sum([d * weights[net.weight_index(layer, k, i)] for k, d in enumerate(deltas)])
            for i in range(sizes[layer - 1])
        ]
    g = upstream[info.to]
    if own_slope:
        g *= trace.slope[info.layer][info.to]
    if info.kind == "weight":
        g *= trace.a[info.layer - 1][info.source]
    return g


def _gradient(
    snap: Snapshot,
    index: int,
    weights: Sequence[float] | None = None,
    own_slope: bool = True,
    downstream_slopes: bool = True,
    output: Callable[[Sequence[float], Sequence[float]], list[float]] | None = None,
) -> float:
    """∂J/∂θ, the mean over the samples, recomputed as `_sample_gradient` is told (`output`:
    the wrong output slope from a sample's ŷ and y)."""
    ev = snap.evaluation
    w = ev.params if weights is None else weights
    ys = [s.y for s in snap.scenario.samples]
    total = [
        _sample_gradient(
            snap,
            t,
            index,
            w,
            own_slope,
            downstream_slopes,
            None if output is None else output(t.a[-1], y),
        )
        for t, y in zip(ev.samples, ys)
    ]
    return sum(total) / len(total)


def _softmax_mistakes(snap: Snapshot, index: int) -> list[Mistake]:
    """After softmax with cross-entropy ∂L/∂zₖ = ŷₖ − yₖ: the ways to get it wrong."""
    name = snap.scenario.architecture.params[index].name
    return [
        Mistake(
            "softmax_p_not_p_minus_y",
            _("used ŷ instead of ŷ − y"),
            _(
                "After softmax with cross-entropy, ∂L/∂z = ŷ − y: the target comes off each "
                "output's probability before the chain goes on to {name}."
            ).format(name=name),
            _gradient(snap, index, output=lambda p, y: list(p)),
        ),
        Mistake(
            "softmax_other_classes",
            _("forgot the other classes' terms"),
            _(
                "Every zₖ moves every ŷᵢ (∂ŷᵢ/∂zₖ = −ŷᵢŷₖ for i ≠ k): summing over all the "
                "outputs gives ∂L/∂zₖ = ŷₖ − yₖ, not −yₖ(1 − ŷₖ) from ŷₖ alone."
            ),
            # Only the diagonal of the Jacobian: ∂L/∂ŷₖ · ŷₖ(1 − ŷₖ) = −yₖ(1 − ŷₖ).
            _gradient(snap, index, output=lambda p, y: [-t * (1.0 - q) for q, t in zip(p, y)]),
        ),
    ]


def _gradient_mistakes(snap: Snapshot, index: int, sample: int) -> list[Mistake]:
    sc = snap.scenario
    net = sc.architecture
    info = net.params[index]
    name = info.name
    ev = snap.evaluation
    g = ev.grads[index]
    n = len(ev.samples)
    out = [
        Mistake(
            "wrong_sign",
            _("wrong sign"),
            _(
                "That is −∂J/∂{name}: a factor has the wrong sign (e.g. y − ŷ instead of ŷ − y)."
            ).format(name=name),
            -g,
        )
    ]
    if sc.loss.name in ("squared_error", "mse"):
        out.append(
            Mistake(
                "missing_factor_2",
                _("missing factor 2"),
                _("The derivative of (ŷ − y)² is 2(ŷ − y): that is half of ∂J/∂{name}.").format(
                    name=name
                ),
                g / 2,
            )
        )
    elif sc.loss.name == "half_squared_error":
        out.append(
            Mistake(
                "missing_half",
                _("missing ½"),
                _(
                    "The ½ in ½(ŷ − y)² cancels the 2 of the power rule, so ∂J/∂ŷ = ŷ − y: "
                    "that is twice ∂J/∂{name}."
                ).format(name=name),
                2 * g,
            )
        )
    if net.activations[-1].is_softmax:
        out += _softmax_mistakes(snap, index)
    layer, j = info.layer, info.to
    act = net.activations[layer - 1]
    # Softmax's own factor is inside ŷ − y (see _softmax_mistakes), not a separate slope.
    if not act.is_identity and not act.is_softmax:
        a_name, z_name = net.neuron_name(layer, j), net.preactivation_name(layer, j)
        out.append(
            Mistake(
                "missing_activation_derivative",
                _("missing activation derivative"),
                _("{a} = {f}({z}), so the chain has the factor ∂{a}/∂{z} = {slope}.").format(
                    a=a_name, f=act.symbol, z=z_name, slope=act.slope_text(a_name, z_name)
                ),
                _gradient(snap, index, own_slope=False),
            )
        )
    above = range(layer + 1, net.depth + 1)
    if any(
        not net.activations[k - 1].is_identity and not net.activations[k - 1].is_softmax
        for k in above
    ):
        out.append(
            Mistake(
                "missing_downstream_derivative",
                _("missing activation derivative further along the chain"),
                _(
                    "Every path from {name} to J passes through the activations of the layers "
                    "above; each brings its own ∂a/∂z factor."
                ).format(name=name),
                _gradient(snap, index, downstream_slopes=False),
            )
        )
    if layer < net.depth:
        lr = _rate(snap)
        updated = [p - lr * gr if t else p for p, gr, t in zip(ev.params, ev.grads, net.trainable)]
        names = ", ".join(
            net.params[net.weight_index(layer + 1, k, j)].name for k in range(net.sizes[layer + 1])
        )
        out.append(
            Mistake(
                "updated_weight",
                _("used an already-updated weight"),
                _(
                    "The backward pass uses the weights of the forward pass ({names}), not their "
                    "new values: every update comes after the whole backward pass."
                ).format(names=names),
                _gradient(snap, index, weights=updated),
            )
        )
    if n > 1:
        # The sample shown first; of a data set only a few more (each is a candidate to compare).
        for s in [sample, *(k for k in range(n) if k != sample)][:ONE_SAMPLE_CANDIDATES]:
            out.append(
                Mistake(
                    "one_sample",
                    _("one sample instead of the mean"),
                    _(
                        "That is sample {k}'s ∂L/∂{name}; J is the mean over the {n} samples, "
                        "so ∂J/∂{name} is the mean of their gradients."
                    ).format(k=s + 1, name=name, n=n),
                    ev.samples[s].grads[index],
                )
            )
        out.append(
            Mistake(
                "sum_not_mean",
                _("sum instead of the mean"),
                _(
                    "J is the mean over the {n} samples: divide the sum of their gradients by {n}."
                ).format(n=n),
                n * g,
            )
        )
    return out


def _update_mistakes(snap: Snapshot, index: int, sample: int) -> list[Mistake]:
    info = snap.scenario.architecture.params[index]
    name = info.name
    ev = snap.evaluation
    old, g, lr = ev.params[index], ev.grads[index], _rate(snap)
    if not info.trainable:
        return [
            Mistake(
                "frozen_updated",
                _("updated a frozen parameter"),
                _("{name} is not trained in this scenario: it keeps its value {value}.").format(
                    name=name, value=fmt(old)
                ),
                old - lr * g,
            )
        ]
    if not snap.scenario.optimizer.plain:
        return _optimizer_mistakes(snap, index)
    rule = f"{name} ← {name} − lr·∂J/∂{name}"
    out = [
        Mistake(
            "not_updated",
            _("not updated"),
            _("That is {name} before the update: {rule}.").format(name=name, rule=rule),
            old,
        ),
        Mistake(
            "lr_not_applied",
            _("learning rate not applied"),
            _("The step is lr·∂J/∂{name}, not ∂J/∂{name} itself: {rule}.").format(
                name=name, rule=rule
            ),
            old - g,
        ),
        Mistake(
            "lr_twice",
            _("learning rate applied twice"),
            _("The gradient is multiplied by lr once: {rule}.").format(rule=rule),
            old - lr * lr * g,
        ),
        Mistake(
            "stepped_twice",
            _("update applied twice"),
            _("One step per update: {rule}.").format(rule=rule),
            old - 2 * lr * g,
        ),
        Mistake(
            "wrong_sign",
            _("wrong sign"),
            _("Gradient descent subtracts: {rule}. Adding moves up the slope.").format(rule=rule),
            old + lr * g,
        ),
        Mistake(
            "step_only",
            _("the change, not the new value"),
            _(
                "−lr·∂J/∂{name} is how much {name} changes; its new value is the old one plus "
                "that change."
            ).format(name=name),
            -lr * g,
        ),
    ]
    # A mistake in the gradient, carried into the update.
    for m in _gradient_mistakes(snap, index, sample):
        out.append(
            Mistake(m.key, m.name, _("In the gradient: ") + m.explanation, old - lr * m.value)
        )
    return out


def _value_mistakes(snap: Snapshot, sample: int) -> list[Mistake]:
    """A neuron's value a = f(z): the classic slips of the forward pass."""
    step = snap.current
    assert step is not None
    net = snap.scenario.architecture
    act = net.activations[step.layer - 1]
    trace = snap.evaluation.samples[sample]
    z = trace.z[step.layer][step.index]
    name, z_name = step.name, net.preactivation_name(step.layer, step.index)
    out = []
    if not act.is_identity:
        out.append(
            Mistake(
                "missing_activation",
                _("activation not applied"),
                _("That is {z}, the weighted sum; {a} = {f}({z}).").format(
                    z=z_name, a=name, f=act.symbol
                ),
                z,
            )
        )
    if net.bias:
        b = snap.evaluation.params[net.bias_index(step.layer, step.index)]
        if act.layer_fn is not None:  # softmax: the neuron's share of the whole layer
            zs = list(trace.z[step.layer])
            zs[step.index] = z - b
            without = act.layer_fn(zs)[step.index]
        else:
            without = act.fn(z - b)
        out.append(
            Mistake(
                "missing_bias",
                _("bias left out"),
                _("{z} adds the neuron's bias to the weighted inputs.").format(z=z_name),
                without,
            )
        )
    return out


def _delta_mistakes(snap: Snapshot, sample: int) -> list[Mistake]:
    """δ = ∂J/∂z: σ′ dropped or taken at the wrong point, a path not summed, an updated weight,
    the sign, a loss factor, the mean for the sample."""
    step = snap.current
    assert step is not None
    net = snap.scenario.architecture
    ev = snap.evaluation
    layer, j, name = step.layer, step.index, step.name
    act = net.activations[layer - 1]
    trace = ev.samples[sample]
    delta = trace.delta[layer][j]
    upstream = trace.dloss_da[layer][j]  # ∂J/∂a: what σ′ multiplies
    slope = trace.slope[layer][j]
    z, a = trace.z[layer][j], trace.a[layer][j]
    out = [
        Mistake(
            "wrong_sign",
            _("wrong sign"),
            _(
                "That is −δ_{name}: a factor has the wrong sign (e.g. y − ŷ instead of ŷ − y)."
            ).format(name=name),
            -delta,
        )
    ]
    if act.is_softmax:  # δ = ŷ − y, cross-entropy's slope with softmax's Jacobian folded in
        out.append(
            Mistake(
                "softmax_p_not_p_minus_y",
                _("used ŷ instead of ŷ − y"),
                _(
                    "After softmax with cross-entropy, ∂L/∂z = ŷ − y: the target comes off each "
                    "output's probability before the chain goes on to {name}."
                ).format(name=name),
                a,
            )
        )
    elif not act.is_identity:
        z_name = net.preactivation_name(layer, j)
        slope_text = act.slope_text(name, z_name)
        out += [
            Mistake(
                "missing_activation_derivative",
                _("missing activation derivative"),
                _("δ_{a} = ∂J/∂{z}: the chain has the factor ∂{a}/∂{z} = {slope}.").format(
                    a=name, z=z_name, slope=slope_text
                ),
                upstream,
            ),
            Mistake(
                "slope_wrong_point",
                _("activation derivative taken at the wrong point"),
                _("∂{a}/∂{z} = {slope} takes {a}'s value; that put in {z}'s.").format(
                    a=name, z=z_name, slope=slope_text
                ),
                upstream * act.slope(z, z),
            ),
            Mistake(
                "slope_wrong_point",
                _("activation derivative taken at the wrong point"),
                _("{f}′ belongs at {z}: ∂{a}/∂{z} = {slope}; that took {f}′ of {a} itself.").format(
                    f=act.symbol, z=z_name, a=name, slope=slope_text
                ),
                upstream * act.slope(a, act.fn(a)),
            ),
        ]
    if layer < net.depth:
        above = range(net.sizes[layer + 1])
        weights = [net.weight_index(layer + 1, k, j) for k in above]
        deltas = trace.delta[layer + 1]
        if len(weights) > 1:
            for k, w in zip(above, weights):
                out.append(
                    Mistake(
                        "path_not_summed",
                        _("a path not summed"),
                        _(
                            "{h} feeds every neuron above it: δ_{h} sums w·δ over all of them, not "
                            "only {k}."
                        ).format(h=name, k=net.neuron_name(layer + 1, k)),
                        slope * ev.params[w] * deltas[k],
                    )
                )
        lr = _rate(snap)
        new = [ev.params[w] - lr * ev.grads[w] for w in weights]
        out.append(
            Mistake(
                "updated_weight",
                _("used an already-updated weight"),
                _(
                    "The backward pass uses the weights of the forward pass, not their new values: "
                    "every update comes after the whole backward pass."
                ),
                slope * sum([w * d for w, d in zip(new, deltas)]),
            )
        )
    else:
        loss = snap.scenario.loss.name
        if loss in ("squared_error", "mse"):
            out.append(
                Mistake(
                    "missing_factor_2",
                    _("missing factor 2"),
                    _("The derivative of (ŷ − y)² is 2(ŷ − y)."),
                    delta / 2,
                )
            )
        elif loss == "half_squared_error":
            out.append(
                Mistake(
                    "missing_half",
                    _("missing ½"),
                    _("The ½ in ½(ŷ − y)² cancels the 2 of the power rule: ∂J/∂ŷ = ŷ − y."),
                    2 * delta,
                )
            )
    n = len(ev.samples)
    if n > 1:
        position = net.neuron_names.index(name)
        out.append(
            Mistake(
                "mean_not_sample",
                _("the mean over the samples, not this sample's"),
                _(
                    "The question is sample {k}'s δ_{name}; ∂J/∂z is the mean of the samples' δ."
                ).format(k=sample + 1, name=name),
                ev.deltas[position],
            )
        )
    return out


def _optimizer_mistakes(snap: Snapshot, index: int) -> list[Mistake]:
    """Under another optimizer than plain descent: its state and batch are easy to forget."""
    name = snap.scenario.param_names[index]
    old, g, lr = snap.evaluation.params[index], snap.evaluation.grads[index], _rate(snap)
    optimizer = snap.scenario.optimizer.name
    return [
        Mistake(
            "not_updated",
            _("not updated"),
            _("That is {name} before the update.").format(name=name),
            old,
        ),
        Mistake(
            "plain_step",
            _("a plain gradient-descent step"),
            _(
                "{optimizer} does not step by lr·∂J/∂{name}: follow its own update lines "
                "(its state, and the batch's gradient)."
            ).format(optimizer=optimizer, name=name),
            old - lr * g,
        ),
    ]


def mistakes(snap: Snapshot, index: int, question: Question, sample: int = 0) -> list[Mistake]:
    """The recognisable mistakes and the answer each gives, most likely first.

    Left out: those that give the right answer (within tolerance) and those that give the same
    answer as one before them. `sample` is the sample shown, checked first for "one sample".
    """
    if question is Question.GRADIENT:
        found = _gradient_mistakes(snap, index, sample)
    elif question is Question.VALUE:
        found = _value_mistakes(snap, sample)
    elif question is Question.DELTA:
        found = _delta_mistakes(snap, sample)
    else:
        found = _update_mistakes(snap, index, sample)
    right = expected(snap, index, question, sample)
    kept: list[Mistake] = []
    for m in found:
        if not math.isfinite(m.value) or _same(snap, index, question, m.value, right):
            continue
        if any(_same(snap, index, question, m.value, k.value) for k in kept):
            continue
        kept.append(m)
    return kept


def grade(snap: Snapshot, index: int, question: Question, answer: float, sample: int = 0) -> Grade:
    """Right or wrong, and for a wrong answer the first mistake that gives it, if any does."""
    right = expected(snap, index, question, sample)
    correct = abs(answer - right) <= tolerance(snap, index, question, right)
    mistake = None
    if not correct:
        mistake = next(
            (
                m
                for m in mistakes(snap, index, question, sample)
                if abs(answer - m.value) <= tolerance(snap, index, question, m.value)
            ),
            None,
        )
    step = snap.step if snap.shows_update else snap.step + 1
    name = subject(snap, index, question)
    return Grade(question, name, step, answer, right, correct, mistake)


# -- input -------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_answer(text: str) -> float:
    """A typed answer as a number: "2.1", " -0.5 ", "1e-3", "−0.5", "０．５" (full width).

    A comma is refused rather than guessed at ("4,5" could be 4.5 or 45): the message asks for
    a point. Raises ValueError with a message for the student.
    """
    s = unicodedata.normalize("NFKC", text).strip().replace("−", "-")
    if not s:
        raise ValueError(_("type a number, e.g. 2.1, −0.5 or 1e-3"))
    if "," in s:
        if s.count(",") == 1 and "." not in s:
            raise ValueError(
                _("use a point for decimals: {good}, not {bad}").format(
                    good=s.replace(",", "."), bad=s
                )
            )
        raise ValueError(_("use a point for decimals and no commas: {text}").format(text=s))
    if not _NUMBER.fullmatch(s):
        raise ValueError(
            _("not a number: {text} (type e.g. 2.1, −0.5 or 1e-3)").format(text=repr(text.strip()))
        )
    value = float(s)
    if not math.isfinite(value):
        raise ValueError(_("{text} is too large: type a finite number").format(text=text.strip()))
    return value


# -- score -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """Every graded answer of a session, oldest first."""

    grades: tuple[Grade, ...] = ()

    @property
    def asked(self) -> int:
        return len(self.grades)

    @property
    def right(self) -> int:
        return sum(g.correct for g in self.grades)

    def add(self, grade: Grade) -> Score:
        return Score((*self.grades, grade))

    def summary(self) -> str:
        return f"{self.right}/{self.asked} right"

    def to_dict(self) -> dict[str, Any]:
        """For the saved trace (JSON)."""
        return {
            "asked": self.asked,
            "right": self.right,
            "answers": [
                {
                    "step": g.step,
                    "param": g.param,
                    "question": g.question.value,
                    "answer": g.answer,
                    "expected": g.expected if math.isfinite(g.expected) else None,
                    "correct": g.correct,
                    "mistake": None if g.mistake is None else g.mistake.key,
                }
                for g in self.grades
            ],
        }
