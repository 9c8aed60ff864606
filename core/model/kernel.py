"""Whole training steps compiled to straight-line Python for one network shape and loss.

`Session.run` takes thousands of steps in a row and keeps only the parameters and the loss of
each (plus the full `Evaluation` of the last two). Walking the generic per-layer lists of
`core.model.network.evaluate` for that costs most of the time in loop overhead and in building
traces nobody reads, so this module writes out — once per architecture, loss and number of samples —
a function with one local variable per parameter, gradient and neuron that runs the steps.

What it writes for each activation, loss and the update comes from the tables beside their
Python definitions (`core.model.activations.ACTIVATIONS`, `core.model.losses.LOSSES`,
`core.model.network.UPDATE_CODE`, and for the other optimizers `core.model.optimizers.UPDATES`,
whose state rides along in locals; with mini-batches each update takes its batch's gradient,
summed from the same per-sample terms as the data set's), so the generated arithmetic is the
very arithmetic of `evaluate` and `apply_update` (or `optimizers.step`), operation for
operation and in the same order (builtin `sum` is reproduced as the left-to-right additions it
does on Python 3.11, or called as it is on later versions), so every parameter, loss and
gradient is bit for bit what the generic path computes.
Divergence is screened with a cheap test that passes only when `Session._check_divergence`
would find nothing; any step it does not pass is handed back to the session to be judged
exactly.

Besides the session's history, a run can hand out each step's loss, parameters and gradients,
and with them each neuron's ∂J/∂z if asked (`Trainer.trace`, for a trace streamed as it is
computed), or nothing at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from core.model import activations as _act
from core.model import losses as _loss
from core.model import optimizers as _opt
from core.model.activations import Activation
from core.model.losses import Loss
from core.model.network import SEQUENTIAL_SUM as _SEQUENTIAL_SUM
from core.model.network import UPDATE_CODE, Architecture, Sample
from core.model.optimizers import OptimizerConfig

SGD = OptimizerConfig()  # plain full-batch descent, the default

# Above these sizes the generated function would take too long to compile to be worth it.
MAX_PARAMS = 4096
MAX_LINES = 20_000
UNROLL_SAMPLES = 16  # more samples than this are looped over instead of written out

# Why a compiled run stopped before taking every step it was asked for.
DONE = 0  # took them all
CHECK = 1  # the last step did not pass the cheap divergence screen: judge it exactly
STOP = 2  # the last step met the stopping tolerances (loss or every trained gradient)
UNSUPPORTED = 3  # took no step: the values are not all finite floats

# What the generated function hands out after each step.
HISTORY = "history"  # put_rate(lr), put_params(params), put_loss(loss): the session's history
ROWS = "rows"  # put_params((step, loss, *params, *grads)): one row of a streamed trace
DELTA_ROWS = "delta_rows"  # ROWS, and each neuron's ∂J/∂z where `delta_columns` says
NOTHING = "nothing"  # nothing: only the last step's values come back


@dataclass(frozen=True)
class Limits:
    """What the cheap divergence screen compares against (see `Session._check_divergence`)."""

    loss_limit: float  # the loss must stay at or below this
    param_limit: float  # every |parameter| at or below this
    step_blowup: float  # no parameter moves more than this × (1 + the largest |parameter|)


@dataclass(frozen=True)
class RunResult:
    taken: int  # steps taken (each recorded in the history)
    params: tuple[float, ...]  # the parameters after them
    reason: int  # DONE, CHECK, STOP or UNSUPPORTED
    before: tuple[float, ...] | None = None  # with CHECK: the parameters before the last step
    state: tuple[float, ...] = ()  # the optimizer's state after them (OptimizerState.flat)


class Trainer:
    """Gradient-descent steps for one architecture, loss and number of samples."""

    def __init__(
        self,
        net: Architecture,
        loss: Loss,
        n_samples: int,
        optimizer: OptimizerConfig = SGD,
    ) -> None:
        self.net = net
        self.loss = loss
        self.n_samples = n_samples
        self.optimizer = optimizer  # full batch only (see trainer_for)
        self._frozen = tuple(not p.trainable for p in net.params)
        self._functions: dict[tuple[bool, bool, str, bool], Callable[..., Any]] = {}

    def pack(self, samples: Sequence[Sample]) -> tuple[float, ...] | None:
        """The samples' numbers in the order the generated code unpacks them, or None if some
        value is not a float (the generic path handles those)."""
        if len(samples) != self.n_samples:
            raise ValueError(f"compiled for {self.n_samples} samples, got {len(samples)}")
        flat = tuple(v for s in samples for v in (*s.x, *s.y))
        if not all(type(v) is float for v in flat):
            return None
        return flat

    def run(
        self,
        params: tuple[float, ...],
        grads: tuple[float, ...],
        lr: float,
        steps: int,
        data: tuple[float, ...],
        record: tuple[
            Callable[[float], None], Callable[[tuple[float, ...]], None], Callable[[float], None]
        ],
        limits: Limits | None,
        stop: tuple[float, float] | None,
        state: tuple[float, ...] = (),
    ) -> RunResult:
        """Take up to `steps` steps from `params` (whose gradients are `grads`) at rate `lr`.

        Each step is recorded through `record` (put_rate, put_params, put_loss), in that order;
        with an optimizer that keeps a state, put_params gets θ and then the state (`state`:
        the one to start from, `OptimizerState.flat`), as the session's history rows hold.
        With `limits`, a step that does not pass the divergence screen ends the run (CHECK);
        with `stop` (loss tolerance, gradient tolerance), a step that meets either ends it (STOP).
        """
        put_rate, put_params, put_loss = record
        return self._call(
            HISTORY,
            params,
            grads,
            lr,
            steps,
            data,
            put_params,
            put_loss,
            put_rate,
            limits,
            stop,
            state=state,
        )

    def trace(
        self,
        params: tuple[float, ...],
        grads: tuple[float, ...],
        lr: float,
        steps: int,
        data: tuple[float, ...],
        put_row: Callable[[tuple[float, ...]], None] | None,
        limits: Limits | None,
        first: int = 1,
        deltas: bool = False,
        state: tuple[float, ...] = (),
        accuracy: bool = False,
    ) -> RunResult:
        """Take up to `steps` steps as `run` does, recording nothing but handing `put_row` each
        step's (step, loss, *params, *grads), numbering from `first` (None: hand out nothing);
        with `deltas`, each row holds ∂J/∂z of every neuron too, where `delta_columns` says;
        with `accuracy` (a classifier's loss), each row ends with the share classified right."""
        # With biases the plain rows hold the δs already (delta_columns): one function less.
        with_deltas = deltas and not self.net.bias
        sink = NOTHING if put_row is None else DELTA_ROWS if with_deltas else ROWS
        counted = accuracy and put_row is not None and self.loss.correct is not None
        return self._call(
            sink,
            params,
            grads,
            lr,
            steps,
            data,
            put_row,
            None,
            None,
            limits,
            None,
            first,
            state,
            counted,
        )

    def _call(
        self,
        sink: str,
        params: tuple[float, ...],
        grads: tuple[float, ...],
        lr: float,
        steps: int,
        data: tuple[float, ...],
        put_params: object,
        put_loss: object,
        put_rate: object,
        limits: Limits | None,
        stop: tuple[float, float] | None,
        first: int = 1,
        state: tuple[float, ...] = (),
        accuracy: bool = False,
    ) -> RunResult:
        values = (*params, *grads, lr, *state)
        width = _opt.state_width(self.optimizer, len(params))
        if (
            steps <= 0
            or len(state) != width
            or not all(type(v) is float and math.isfinite(v) for v in values)
        ):
            return RunResult(0, params, UNSUPPORTED)
        key = (limits is not None, stop is not None, sink, accuracy)
        fn = self._functions.get(key)
        if fn is None:
            fn = self._compile(*key)
        frozen = [abs(p) for p, f in zip(params, self._frozen) if f]
        frozen_big = max(frozen) if frozen else 0.0
        lim = limits or Limits(0.0, 0.0, 0.0)
        loss_tol, grad_tol = stop or (0.0, 0.0)
        taken, new_params, reason, before, new_state = fn(
            state,
            params,
            grads,
            lr,
            steps,
            data,
            put_params,
            put_loss,
            put_rate,
            frozen_big,
            lim.loss_limit,
            lim.param_limit,
            lim.step_blowup,
            loss_tol,
            grad_tol,
            first,
        )
        return RunResult(
            cast(int, taken),
            cast(tuple[float, ...], new_params),
            cast(int, reason),
            cast("tuple[float, ...]", before) or None,
            cast("tuple[float, ...]", new_state),
        )

    def _compile(self, check: bool, stop: bool, sink: str, accuracy: bool) -> Callable[..., Any]:
        writer = _Writer(
            self.net, self.loss, self.n_samples, check, stop, sink, self.optimizer, accuracy
        )
        source, namespace = writer.source()
        code = compile(source, f"<core.model.kernel {self.net.sizes}>", "exec")
        exec(code, namespace)
        fn = cast(Callable[..., Any], namespace["_train"])
        self._functions[check, stop, sink, accuracy] = fn
        return fn


def delta_columns(net: Architecture) -> tuple[int, ...]:
    """Where each neuron's ∂J/∂z (`Evaluation.deltas`' order) sits in a row with δs.

    A neuron's bias gradient is its ∂J/∂z bit for bit (both add up the samples' δ in order
    and divide by their number), so with biases the row is a plain one; without, the δs follow
    the gradients."""
    count = len(net.params)
    if net.bias:
        return tuple(
            2 + count + net.bias_index(layer, j)
            for layer in range(1, net.depth + 1)
            for j in range(net.sizes[layer])
        )
    return tuple(range(2 + 2 * count, 2 + 2 * count + sum(net.sizes[1:])))


def trainer_for(
    net: Architecture,
    loss: Loss,
    n_samples: int,
    optimizer: OptimizerConfig = SGD,
) -> Trainer | None:
    """The compiled trainer for this shape and optimizer (shared between sessions), or None if
    too big (or with a whole-layer activation or loss from z the kernel does not know). With
    mini-batches, `run` and `trace` take the first update's batch gradient."""
    if len(net.params) > MAX_PARAMS or n_samples < 1:
        return None
    if not _Writer.supported(net, loss):
        return None
    return _trainer(net, loss, n_samples, optimizer)


@lru_cache(maxsize=64)
def _trainer(
    net: Architecture, loss: Loss, n_samples: int, optimizer: OptimizerConfig
) -> Trainer | None:
    if _Writer(net, loss, n_samples, True, True, HISTORY, optimizer).line_estimate() > MAX_LINES:
        return None
    return Trainer(net, loss, n_samples, optimizer)


def _sum(terms: Sequence[str]) -> str:
    """Python source for builtin sum() over these float terms, with its exact rounding."""
    if _SEQUENTIAL_SUM:
        return "(" + " + ".join(["0.0", *terms]) + ")"
    return "_sum((" + "".join(f"{t}, " for t in terms) + "))"


class _Writer:
    """Writes the source of `_train` for one architecture, loss and number of samples."""

    def __init__(
        self,
        net: Architecture,
        loss: Loss,
        n_samples: int,
        check: bool,
        stop: bool,
        sink: str = HISTORY,
        optimizer: OptimizerConfig = SGD,
        accuracy: bool = False,
    ):
        self.optimizer = optimizer
        # Mini-batches: each update takes its batch's gradient (G), the rows the data set's (g).
        self.batch = optimizer.batch_size if 0 < optimizer.batch_size < n_samples else 0
        self.net = net
        self.loss = loss
        self.n = n_samples
        self.check = check
        self.stop = stop
        self.sink = sink
        # Rows end with C / n, C counting the samples classified right (loss.correct).
        self.accuracy = accuracy and sink in (ROWS, DELTA_ROWS) and loss.correct is not None
        # The δs a row needs besides the gradients (see delta_columns).
        self.deltas = sink == DELTA_ROWS and not net.bias
        self.namespace: dict[str, Any] = {
            "exp": math.exp,
            "log": math.log,
            "tanh": math.tanh,
            "LEAK": _act.LEAK,
            "EPS": _loss.EPSILON,
            "ONE_MINUS_EPS": 1.0 - _loss.EPSILON,
            "_sum": sum,
            "_correct": None,
        }
        self.lines: list[str] = []

    def line_estimate(self) -> int:
        sizes = self.net.sizes
        neurons = sum(sizes[1:])
        per_sample = 6 * neurons + 2 * len(self.net.params)
        bodies = self.n if self.n <= UNROLL_SAMPLES else 2  # more are looped over
        update = len(_opt.update_lines(self.optimizer))
        per_sample += 3 * len(self.net.params) if self.batch else 0
        return bodies * per_sample + (4 + update) * len(self.net.params)

    # -- the parts of a step ----------------------------------------------------------------

    def _activation(self, layer: int, z: str, a: str) -> list[str]:
        act = self.net.activations[layer - 1]
        if self._builtin_activation(act):
            if not act.code:
                return []  # a is z itself (see _a)
            return [f"{a} = {act.code.format(z=z)}"]
        self.namespace[f"_f{layer}"] = act.fn
        return [f"{a} = _f{layer}({z})"]

    def _slope(self, layer: int, z: str, a: str) -> str | None:
        """The expression for ∂a/∂z, or None where it is exactly 1.0 (the identity)."""
        act = self.net.activations[layer - 1]
        if self._builtin_activation(act):
            return act.slope_code.format(z=z, a=a) if act.slope_code else None
        self.namespace[f"_fp{layer}"] = act.slope
        return f"_fp{layer}({z}, {a})"

    @staticmethod
    def _builtin_activation(act: Activation) -> bool:
        """Only the table's own entries have their code written out: no other text gets into
        the compiled source."""
        return _act.ACTIVATIONS.get(act.name) is act or _act.ACTIVATIONS.get(act.name) == act

    def _builtin_loss(self) -> _loss.LossCode | None:
        loss = self.loss
        known = _loss.LOSSES.get(loss.name)
        return loss.code if known is not None and known == loss else None

    @staticmethod
    def supported(net: Architecture, loss: Loss) -> bool:
        """Whole-layer activations and losses from z: only softmax and its cross-entropy."""
        layers = [act.layer_fn for act in net.activations if act.layer_fn is not None]
        return all(f is _act.softmax for f in layers) and loss.fn_z in (None, _loss.cross_entropy_z)

    def _softmax(self, layer: int) -> list[str]:
        """activations.softmax, written out: the max, the shifted exps, their sum, the shares
        (the max and the sum, T and S, also give log_sum_exp for cross-entropy)."""
        zs = [f"z{layer}_{j}" for j in range(self.net.sizes[layer])]
        lines = [f"T{layer} = {zs[0]}" if len(zs) == 1 else f"T{layer} = _max({', '.join(zs)})"]
        lines += [f"e{layer}_{j} = exp({z} - T{layer})" for j, z in enumerate(zs)]
        lines.append(f"S{layer} = {_sum([f'e{layer}_{j}' for j in range(len(zs))])}")
        lines += [f"a{layer}_{j} = e{layer}_{j} / S{layer}" for j in range(len(zs))]
        return lines

    def _a(self, layer: int, j: int, x: Sequence[str]) -> str:
        if layer == 0:
            return x[j]
        act = self.net.activations[layer - 1]
        if act.layer_fn is not None:
            return f"a{layer}_{j}"
        if self._builtin_activation(act) and not act.code:
            return f"z{layer}_{j}"
        return f"a{layer}_{j}"

    def _sample(
        self,
        x: Sequence[str],
        y: Sequence[str],
        loss_name: str,
        first: bool,
        index: int | None = None,
    ) -> None:
        """`index`: the sample's number, for mini-batches (None: the looped samples' `_s`)."""
        """One sample's forward, loss and backward pass; its gradients go into g0, g1, …"""
        net, out = self.net, self.lines
        ind = "        "
        sizes, depth = net.sizes, net.depth
        for layer in range(1, depth + 1):
            for j in range(sizes[layer]):
                terms = [
                    f"p{net.weight_index(layer, j, i)} * {self._a(layer - 1, i, x)}"
                    for i in range(sizes[layer - 1])
                ]
                bias = f"p{net.bias_index(layer, j)}" if net.bias else "0.0"
                out.append(f"{ind}z{layer}_{j} = {_sum(terms)} + {bias}")
                if net.activations[layer - 1].layer_fn is None:
                    fn = self._activation(layer, f"z{layer}_{j}", f"a{layer}_{j}")
                    out.extend(ind + line for line in fn)
            if net.activations[layer - 1].layer_fn is not None:
                out.extend(ind + line for line in self._softmax(layer))
        m = sizes[-1]
        outs = [self._a(depth, k, x) for k in range(m)]
        code = self._builtin_loss()
        # The loss of the sample, and ∂L/∂ŷ for each output (u{depth}_k).
        if self.loss.fn_z is _loss.cross_entropy_z:
            # losses.cross_entropy_z: Σ yₖ·(lse − zₖ), lse = T + log S as log_sum_exp has it;
            # its slope (in z, softmax's included) ŷₖ − yₖ.
            out.append(f"{ind}lse = T{depth} + log(S{depth})")
            terms = [f"{t} * (lse - z{depth}_{k})" for k, t in enumerate(y)]
            out.append(f"{ind}{loss_name} = {_sum(terms)}")
            for k, (o, t) in enumerate(zip(outs, y)):
                out.append(f"{ind}u{depth}_{k} = {o} - {t}")
        elif code is not None:
            for k, (o, t) in enumerate(zip(outs, y)):
                out.extend(f"{ind}{line.format(p=o, t=t, k=k, m=m)}" for line in code.prepare)
            terms = [code.term.format(p=o, t=t, k=k, m=m) for k, (o, t) in enumerate(zip(outs, y))]
            if code.total == "minus":  # total -= term, from 0.0
                total = "0.0" + "".join(f" - ({term})" for term in terms)
            else:
                total = _sum(terms)
            mean = f" / {m}" if code.mean else ""
            out.append(f"{ind}{loss_name} = {total}{mean}")
            for k, (o, t) in enumerate(zip(outs, y)):
                out.append(f"{ind}u{depth}_{k} = {code.slope.format(p=o, t=t, k=k, m=m)}")
        else:
            self.namespace["_loss_fn"] = self.loss.fn
            self.namespace["_loss_slope"] = self.loss.slope
            out.append(f"{ind}{loss_name} = _loss_fn([{', '.join(outs)}], ({', '.join(y)},))")
            for k, (o, t) in enumerate(zip(outs, y)):
                out.append(f"{ind}u{depth}_{k} = _loss_slope({o}, {t}, {m})")
        if self.accuracy:
            if code is not None and code.correct:
                test = " and ".join(
                    f"({code.correct.format(p=o, t=t, k=k, m=m)})"
                    for k, (o, t) in enumerate(zip(outs, y))
                )
            else:
                self.namespace["_correct"] = self.loss.correct
                pair = [f"({''.join(v + ', ' for v in vs)})" for vs in (outs, y)]
                test = f"_correct({pair[0]}, {pair[1]})"
            out.append(f"{ind}C = C + ({test})")  # a bool counts 1 or 0

        batch = self.batch
        trained = [p.index for p in net.params if p.trainable]

        def grad(index: int, expr: str) -> None:
            if batch:  # the sample's own term (gs: the losses' code has q) for its batch too
                out.append(f"{ind}gs{index} = {expr}")
                expr = f"gs{index}"
            if first:
                out.append(f"{ind}g{index} = {expr}")
            else:
                out.append(f"{ind}g{index} = g{index} + {expr}")

        for layer in range(depth, 0, -1):
            deltas = []
            for j in range(sizes[layer]):
                slope = self._slope(layer, f"z{layer}_{j}", self._a(layer, j, x))
                if slope is None:
                    deltas.append(f"u{layer}_{j}")  # u · 1.0 is u, bit for bit
                else:
                    out.append(f"{ind}d{layer}_{j} = u{layer}_{j} * ({slope})")
                    deltas.append(f"d{layer}_{j}")
            if self.deltas:  # ∂J/∂z: summed over the samples as a bias gradient would be
                for j in range(sizes[layer]):
                    total = deltas[j] if first else f"D{layer}_{j} + {deltas[j]}"
                    out.append(f"{ind}D{layer}_{j} = {total}")
            for j in range(sizes[layer]):
                for i in range(sizes[layer - 1]):
                    below = self._a(layer - 1, i, x)
                    grad(net.weight_index(layer, j, i), f"{deltas[j]} * {below}")
                if net.bias:
                    grad(net.bias_index(layer, j), deltas[j])
            if layer > 1:
                for i in range(sizes[layer - 1]):
                    terms = [
                        f"{deltas[j]} * p{net.weight_index(layer, j, i)}"
                        for j in range(sizes[layer])
                    ]
                    out.append(f"{ind}u{layer - 1}_{i} = {_sum(terms)}")
        if batch and trained:
            # Summed in sample order from the batch's first sample, as evaluate() sums them.
            if index is not None:
                out.append(f"{ind}if _batch == {index // batch}:")
                starts = index % batch == 0
                out.extend(
                    f"{ind}    G{i} = gs{i}" if starts else f"{ind}    G{i} = G{i} + gs{i}"
                    for i in trained
                )
            else:
                out.append(f"{ind}if _s // {batch} == _batch:")
                out.append(f"{ind}    if _s % {batch} == 0:")
                out.extend(f"{ind}        G{i} = gs{i}" for i in trained)
                out.append(f"{ind}    else:")
                out.extend(f"{ind}        G{i} = G{i} + gs{i}" for i in trained)

    # -- the function -----------------------------------------------------------------------

    def source(self) -> tuple[str, dict[str, Any]]:
        net, out, n = self.net, self.lines, self.n
        count = len(net.params)
        n_in, n_out = net.sizes[0], net.sizes[-1]
        ps = [f"p{i}" for i in range(count)]
        trained = [i for i, p in enumerate(net.params) if p.trainable]
        pack = "(" + "".join(f"{p}, " for p in ps) + ")"
        config = self.optimizer
        # The optimizer's settings and sqrt as locals, like the activations' functions.
        self.namespace.update(_opt.constants(config), sqrt=math.sqrt)
        settings = "".join(f"{k}={k}, " for k in (*_opt.CONSTANTS, "sqrt"))
        out.append(
            "def _train(state, params, grads, lr, steps, data, put_params, put_loss, put_rate, "
            "frozen_big, loss_limit, param_limit, step_blowup, loss_tol, grad_tol, first, "
            "exp=exp, log=log, tanh=tanh, LEAK=LEAK, EPS=EPS, ONE_MINUS_EPS=ONE_MINUS_EPS, "
            f"{settings}_sum=_sum, _abs=abs, _max=max, _repr=repr, _correct=_correct):"
        )
        out.append(f"    {''.join(p + ', ' for p in ps)}= params")
        out.append(f"    {''.join(f'g{i}, ' for i in range(count))}= grads")
        # The optimizer's state: t, then each parameter's slots (OptimizerState.flat).
        slots = _opt.SLOTS[config.name]
        carried = ["t", *(f"{s}{i}" for i in range(count) for s in slots)]
        if not config.stateful:
            carried = []
        if carried:
            out.append(f"    {''.join(v + ', ' for v in carried)}= state")
        state_pack = "(" + "".join(f"{v}, " for v in carried) + ")"
        row_pack = "(" + "".join(f"{v}, " for v in (*ps, *carried)) + ")"
        frozen = [i for i, p in enumerate(net.params) if not p.trainable]
        if self.sink in (ROWS, DELTA_ROWS):
            # A frozen parameter never changes: its text is written once, not once a row (repr
            # is most of what a trace costs); the writer drops the quotes a str's repr adds.
            out.extend(f"    s{i} = _repr(p{i})" for i in frozen)
        unrolled = n <= UNROLL_SAMPLES
        names: list[tuple[list[str], list[str]]] = []
        for s in range(n if unrolled else 1):
            names.append(([f"x{s}_{i}" for i in range(n_in)], [f"y{s}_{k}" for k in range(n_out)]))
        flat = [v for x, y in names for v in (*x, *y)]
        if unrolled:
            out.append(f"    {''.join(v + ', ' for v in flat)}= data")
        else:
            width = n_in + n_out
            out.append(f"    {''.join(v + ', ' for v in flat)}= data[:{width}]")
            out.append(
                f"    rest = [data[k:k + {width}] for k in range({width}, len(data), {width})]"
            )
        if self.check:
            # Negative when a frozen parameter is past the limit: then no step passes quickly.
            out.append(
                "    near = step_blowup * (1.0 + frozen_big) if frozen_big <= param_limit else -1.0"
            )
        # A bracket of settings alone ((1.0 - beta1)) is worked out once; one with t as well
        # ((1.0 - beta1 ** t)) once a step: the same operations on the same values.
        lines = _opt.update_lines(config)
        hoisted: dict[str, str] = {}
        for _target, expr in lines:
            for group in _GROUP.findall(expr):
                words = set(_NAME.findall(group))
                if words <= {*_opt.CONSTANTS, "t"} and group not in hoisted:
                    hoisted[group] = f"_k{len(hoisted)}"
        for group, name in hoisted.items():
            if "t" not in _NAME.findall(group):
                out.append(f"    {name} = {group}")
        batches = -(-n // self.batch) if self.batch else 1
        if self.batch:
            # `grads` are the first update's: its batch's. _batch: the batch of the next update.
            out.extend(f"    G{i} = g{i}" for i in trained)
            out.append(f"    _batch = int(t) % {batches}")
        out.append("    for _step in range(steps):")
        if config.stateful:
            out.append("        t = t + 1.0")
        for group, name in hoisted.items():
            if "t" in _NAME.findall(group):
                out.append(f"        {name} = {group}")
        if self.accuracy:
            out.append("        C = 0")
        for i in trained:
            if self.check:
                out.append(f"        o{i} = p{i}")
            if config.plain:
                out.append(f"        p{i} = {UPDATE_CODE.format(p=f'p{i}', lr='lr', g=f'g{i}')}")
                continue
            # The optimizer's own lines (core.model.optimizers.UPDATES), for parameter i.
            gradient = f"G{i}" if self.batch else f"g{i}"
            local = {"p": f"p{i}", "g": gradient, "mh": "_mh", "vh": "_vh"}
            local.update({s: f"{s}{i}" for s in slots})

            def named(text: str, local: dict[str, str] = local) -> str:
                return _NAME.sub(lambda m: local.get(m.group(0), m.group(0)), text)

            for target, expr in lines:
                for group, hoist in hoisted.items():
                    expr = expr.replace(group, hoist)
                out.append(f"        {named(target)} = {named(expr)}")
        if self.batch:
            out.append("        _batch = _batch + 1")
            out.append(f"        if _batch == {batches}:")
            out.append("            _batch = 0")
        if unrolled:
            for s, (x, y) in enumerate(names):
                self._sample(x, y, f"L{s}", first=s == 0, index=s)
            loss_terms = [f"L{s}" for s in range(n)]
            total = _sum(loss_terms)
        else:
            x, y = names[0]
            self._sample(x, y, "L0", first=True, index=0)
            rx = [f"xr_{i}" for i in range(n_in)]
            ry = [f"yr_{k}" for k in range(n_out)]
            if _SEQUENTIAL_SUM:
                out.append("        _total = 0.0 + L0")
            else:
                out.append("        _losses = [L0]")
            if self.batch:
                out.append("        _s = 0")
            out.append(f"        for {''.join(v + ', ' for v in (*rx, *ry))}in rest:")
            before = len(out)
            if self.batch:
                out.append("        _s = _s + 1")
            self._sample(rx, ry, "Lr", first=False)
            if _SEQUENTIAL_SUM:
                out.append("        _total = _total + Lr")
            else:
                out.append("        _losses.append(Lr)")
            out[before:] = ["    " + line for line in out[before:]]
            total = "_total" if _SEQUENTIAL_SUM else "_sum(_losses)"
        neurons = [
            f"D{layer}_{j}" for layer in range(1, net.depth + 1) for j in range(net.sizes[layer])
        ]
        if self.batch:  # each batch's mean; the last may be smaller (x / 1 is x)
            last = n - (batches - 1) * self.batch
            if last != self.batch:
                out.append(f"        if _batch == {batches - 1}:")
                out.extend(f"            G{i} = G{i} / {last}" for i in trained)
                out.append("        else:")
                out.extend(f"            G{i} = G{i} / {self.batch}" for i in trained)
            else:
                out.extend(f"        G{i} = G{i} / {self.batch}" for i in trained)
        if n > 1:
            out.append(f"        L = {total} / {n}")
            for i in range(count):
                out.append(f"        g{i} = g{i} / {n}")
            if self.deltas:
                out.extend(f"        {d} = {d} / {n}" for d in neurons)
        else:
            out.append(f"        L = {total}")  # x / 1 is x
        if self.sink == HISTORY:
            out.append("        put_rate(lr)")
            out.append(f"        put_params({row_pack})")
            out.append("        put_loss(L)")
        elif self.sink in (ROWS, DELTA_ROWS):
            shown = [f"s{i}" if i in frozen else p for i, p in enumerate(ps)]
            values = ["L", *shown, *(f"g{i}" for i in range(count))]
            if self.deltas:
                values += neurons
            if self.accuracy:
                values.append(f"C / {n}")  # as losses.accuracy divides: int by int
            row = "".join(f"{v}, " for v in values)
            out.append(f"        put_params((first + _step, {row}))")
        if self.check:
            # Every gradient and the loss are finite exactly when their sum is.
            grads_sum = " + ".join(["L", *(f"g{i}" for i in range(count))])
            out.append(f"        _s = {grads_sum}")
            # The values before the step, for judging it exactly: o{i} for the trained ones.
            kept = set(trained)
            olds = "(" + "".join(f"o{i}, " if i in kept else f"p{i}, " for i in range(count)) + ")"
            out.append("        if not (_s - _s == 0.0 and L <= loss_limit):")
            out.append(f"            return _step + 1, {pack}, {CHECK}, {olds}, {state_pack}")
            # The session's bounds: every |θ| within param_limit, every move within
            # step_blowup·(1 + the largest |θ| before the step). A frozen |θ| is never more than
            # that largest one, so moves within `near` = step_blowup·(1 + frozen_big) pass
            # without taking a maximum; only a step that does not pays for the exact test.
            inside = [f"-param_limit <= p{i} <= param_limit" for i in trained]
            moved = [f"-near <= p{i} - o{i} <= near" for i in trained]
            out.append(f"        if not ({' and '.join(['near >= 0.0', *inside, *moved])}):")
            biggest = _max_of([f"_abs(p{i})" for i in trained] + ["frozen_big"])
            largest_before = _max_of([f"_abs(o{i})" for i in trained] + ["frozen_big"])
            jump = _max_of([f"_abs(p{i} - o{i})" for i in trained]) if trained else "0.0"
            out.append(
                f"            if not ({biggest} <= param_limit"
                f" and {jump} <= step_blowup * (1.0 + {largest_before})):"
            )
            out.append(f"                return _step + 1, {pack}, {CHECK}, {olds}, {state_pack}")
        if self.stop:
            flat_enough = " and ".join(f"-grad_tol <= g{i} <= grad_tol" for i in trained)
            test = f"L <= loss_tol or ({flat_enough})" if trained else "L <= loss_tol"
            out.append(f"        if {test}:")
            out.append(f"            return _step + 1, {pack}, {STOP}, (), {state_pack}")
        out.append(f"    return steps, {pack}, {DONE}, (), {state_pack}")
        return "\n".join(out) + "\n", self.namespace


_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_GROUP = re.compile(r"\([^()]*\)")  # a bracket with no bracket inside


def _max_of(terms: Sequence[str]) -> str:
    return terms[0] if len(terms) == 1 else f"_max({', '.join(terms)})"
