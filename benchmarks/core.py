"""Steps per second of the core engine, beside PyTorch eager and a hand-unrolled floor.

    python -m benchmarks.core            # about 20-40 s
    python -m benchmarks.core --quick    # a few seconds (plus PyTorch's import)

For every built-in scenario it times, in one run:

- engine: `Session(scenario).run(n, stop_when_done=False)`, the path the app's fast-forward and
  the headless trace use; it records every step for undo and the panels (parameters, loss and
  rate in the history, the undo entry, the divergence check, the final step's full traces);
- bare: `evaluate` + `apply_update` in a loop, for context (full traces, nothing recorded);
- torch: the same network in PyTorch eager (float64, one thread, full batch, plain SGD), if
  PyTorch can be imported; its first-step gradients are checked against the engine's first.

and, for the 2-2-2 textbook network, a hand-unrolled plain-Python loop (no engine, just the
arithmetic of forward pass, loss, backward pass and update, scalar by scalar) as the floor; then
the engine's steps/s under each optimizer (OPTIMIZERS: momentum, Nesterov, RMSProp, Adam, weight
decay, mini-batches) on textbook-2-2-2 and xor, and whether the compiled kernel took it.

Targets: engine ≥ 10x torch eager's steps/s on every built-in; engine within 5x of the floor.
Each figure is the best of several repeats, after a warm-up run; the exit status is 1 if a
target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from core.files.loader import BUILTINS, load_builtin
from core.model.activations import LEAK
from core.model.losses import EPSILON
from core.model.network import apply_update, evaluate
from core.model.optimizers import OPTIMIZER_NAMES, OptimizerConfig, describe
from core.model.scenario import Scenario
from core.stepping.session import Session

TORCH_TARGET = 10.0  # engine steps/s at least this many times torch eager's
FLOOR_TARGET = 5.0  # the floor's steps/s at most this many times the engine's
FLOOR_SCENARIO = "textbook-2-2-2"
GRAD_TOLERANCE = 1e-12
FLOOR_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Counts:
    """Steps per timed repeat for each contender, and how many repeats."""

    engine: int
    bare: int
    torch: int
    floor: int
    repeats: int


FULL = Counts(engine=50_000, bare=5_000, torch=1_500, floor=200_000, repeats=5)
QUICK = Counts(engine=5_000, bare=500, torch=150, floor=20_000, repeats=3)


def best_time(work: Callable[[], object], repeats: int) -> float:
    """The shortest of `repeats` timings of `work()`, after one untimed warm-up call."""
    work()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


# -- the contenders ---------------------------------------------------------------------------


def engine_run(scenario: Scenario, steps: int) -> tuple[float, ...]:
    """The engine as the app drives it: a fresh session, `steps` recorded steps."""
    return Session(scenario).run(steps, stop_when_done=False).params


def bare_run(scenario: Scenario, steps: int) -> tuple[float, ...]:
    """`evaluate` and `apply_update` alone, recording nothing."""
    net, loss, samples = scenario.architecture, scenario.loss, scenario.samples
    lr, trainable = scenario.learning_rate, net.trainable
    params = scenario.initial_params
    for _ in range(steps):
        ev = evaluate(net, loss, params, samples)
        params = apply_update(params, ev.grads, lr, trainable)
    return params


def floor_run(scenario: Scenario, steps: int) -> tuple[tuple[float, ...], float]:
    """The 2-2-2 textbook network by hand: sigmoid/sigmoid, ½ squared error, frozen biases.

    Forward pass, loss, backward pass and update written out scalar by scalar, no engine.
    Returns the parameters after `steps` steps and the loss the last step computed (at the
    values before its update).
    """
    net = scenario.architecture
    if (
        net.sizes != (2, 2, 2)
        or [a.name for a in net.activations] != ["sigmoid", "sigmoid"]
        or scenario.loss.name != "half_squared_error"
        or not net.bias
        or net.train_biases
        or len(scenario.samples) != 1
    ):
        raise ValueError(f"{scenario.name}: the floor is written for the 2-2-2 textbook network")
    w1, w2, w3, w4, w5, w6, w7, w8, b1, b2, b3, b4 = scenario.initial_params
    (x1, x2), (y1, y2) = scenario.samples[0].x, scenario.samples[0].y
    lr = scenario.learning_rate
    exp = math.exp
    loss = math.nan
    for _ in range(steps):
        h1 = 1.0 / (1.0 + exp(-(w1 * x1 + w2 * x2 + b1)))
        h2 = 1.0 / (1.0 + exp(-(w3 * x1 + w4 * x2 + b2)))
        o1 = 1.0 / (1.0 + exp(-(w5 * h1 + w6 * h2 + b3)))
        o2 = 1.0 / (1.0 + exp(-(w7 * h1 + w8 * h2 + b4)))
        loss = 0.5 * (o1 - y1) * (o1 - y1) + 0.5 * (o2 - y2) * (o2 - y2)
        d1 = (o1 - y1) * o1 * (1.0 - o1)
        d2 = (o2 - y2) * o2 * (1.0 - o2)
        e1 = (d1 * w5 + d2 * w7) * h1 * (1.0 - h1)
        e2 = (d1 * w6 + d2 * w8) * h2 * (1.0 - h2)
        w1 -= lr * e1 * x1
        w2 -= lr * e1 * x2
        w3 -= lr * e2 * x1
        w4 -= lr * e2 * x2
        w5 -= lr * d1 * h1
        w6 -= lr * d1 * h2
        w7 -= lr * d2 * h1
        w8 -= lr * d2 * h2
    return (w1, w2, w3, w4, w5, w6, w7, w8, b1, b2, b3, b4), loss


def floor_check(scenario: Scenario, steps: int) -> float:
    """Max |floor − engine| over the parameters after `steps` steps and the last step's loss."""
    params, loss = floor_run(scenario, steps)
    snap = Session(scenario).run(steps, stop_when_done=False)
    engine_loss = snap.history.losses[steps - 1]
    return max(max_difference(params, snap.params), abs(loss - engine_loss))


def max_difference(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} values against {len(b)}")
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


# -- PyTorch ----------------------------------------------------------------------------------


def import_torch() -> Any | None:
    """PyTorch if it can be imported (it is not a dependency of the project), else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Failed to initialize NumPy"
            import torch
    except (ImportError, OSError):
        return None
    torch.set_num_threads(1)
    return torch


class TorchNet:
    """The scenario's network in PyTorch eager: float64, full batch, mean loss, plain SGD."""

    def __init__(self, torch: Any, scenario: Scenario, grad_everything: bool = False) -> None:
        self.torch = torch
        self.scenario = scenario
        net = scenario.architecture
        f64 = torch.float64
        params = scenario.initial_params
        self.weights: list[Any] = []
        self.biases: list[Any | None] = []
        for layer in range(1, net.depth + 1):
            rows = [
                [params[net.weight_index(layer, j, i)] for i in range(net.sizes[layer - 1])]
                for j in range(net.sizes[layer])
            ]
            self.weights.append(torch.tensor(rows, dtype=f64, requires_grad=True))
            if net.bias:
                values = [params[net.bias_index(layer, j)] for j in range(net.sizes[layer])]
                trained = net.train_biases or grad_everything
                self.biases.append(torch.tensor(values, dtype=f64, requires_grad=trained))
            else:
                self.biases.append(None)
        self.x = torch.tensor([s.x for s in scenario.samples], dtype=f64)
        self.y = torch.tensor([s.y for s in scenario.samples], dtype=f64)
        self.lr = scenario.learning_rate
        self.trained = [*self.weights]
        if net.train_biases:
            self.trained += [b for b in self.biases if b is not None]
        functional = torch.nn.functional
        by_name: dict[str, Callable[[Any], Any]] = {
            "identity": lambda z: z,
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
            "relu": torch.relu,
            "leaky_relu": lambda z: functional.leaky_relu(z, LEAK),
        }
        self.activations = [by_name[a.name] for a in net.activations]

    def outputs(self) -> Any:
        """ŷ of every sample, a row each."""
        a = self.x
        for w, b, f in zip(self.weights, self.biases, self.activations):
            z = a @ w.T
            a = f(z if b is None else z + b)
        return a

    def loss(self, a: Any = None) -> Any:
        """J: the mean over samples of each sample's loss, as `core.model.losses` defines them
        (`a`: the outputs, if they are computed already)."""
        a = self.outputs() if a is None else a
        y, name = self.y, self.scenario.loss.name
        if name == "squared_error":
            per_sample = ((a - y) ** 2).sum(dim=1)
        elif name == "half_squared_error":
            per_sample = (0.5 * (a - y) ** 2).sum(dim=1)
        elif name == "mse":
            per_sample = ((a - y) ** 2).mean(dim=1)
        elif name == "binary_cross_entropy":
            q = a.clamp(EPSILON, 1.0 - EPSILON)
            per_sample = -(y * q.log() + (1.0 - y) * (1.0 - q).log()).sum(dim=1)
        else:
            raise ValueError(f"no PyTorch version of the loss {name!r}")
        return per_sample.mean()

    def step(self) -> None:
        self.loss().backward()
        with self.torch.no_grad():
            for p in self.trained:
                p -= self.lr * p.grad
                p.grad.zero_()

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()

    def gradients(self) -> list[float]:
        """∂J/∂θ at the current values, in the engine's parameter order (needs grad_everything
        for frozen biases)."""
        self.loss().backward()
        net = self.scenario.architecture
        out = [0.0] * len(net.params)
        for info in net.params:
            if info.kind == "weight":
                grad = self.weights[info.layer - 1].grad[info.to, info.source]
            else:
                bias = self.biases[info.layer - 1]
                assert bias is not None
                grad = bias.grad[info.to]
            out[info.index] = float(grad)
        return out


def torch_gradient_difference(torch: Any, scenario: Scenario) -> float:
    """Max |torch − engine| over the first step's gradients of every parameter."""
    engine = evaluate(
        scenario.architecture, scenario.loss, scenario.initial_params, scenario.samples
    ).grads
    return max_difference(TorchNet(torch, scenario, grad_everything=True).gradients(), engine)


# -- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    scenario: str
    params: int
    samples: int
    engine: float  # steps per second
    bare: float
    torch: float | None
    grad_difference: float | None

    @property
    def torch_ratio(self) -> float | None:
        return None if self.torch is None else self.engine / self.torch


@dataclass(frozen=True)
class OptimizerRow:
    scenario: str
    optimizer: str  # its description (core.model.optimizers.describe)
    kernel: bool  # the compiled trainer takes it (else the generic path)
    engine: float  # steps per second


# Each optimizer on these scenarios (and Adam with mini-batches, which the generic path takes).
OPTIMIZER_SCENARIOS = ("textbook-2-2-2", "xor")
OPTIMIZERS = (
    *(OptimizerConfig(name) for name in OPTIMIZER_NAMES),
    OptimizerConfig("adam", weight_decay=0.01),
    OptimizerConfig("adam", batch_size=2),
)


@dataclass(frozen=True)
class Report:
    rows: tuple[Row, ...]
    floor: float  # steps per second
    floor_engine: float  # the engine's steps/s on the floor's scenario
    floor_difference: float  # max |floor − engine| over the parameters after 100 steps
    torch_version: str | None
    optimizer_rows: tuple[OptimizerRow, ...] = ()

    @property
    def floor_ratio(self) -> float:
        return self.floor / self.floor_engine

    @property
    def passed(self) -> bool:
        torch_ok = all(r.torch_ratio is None or r.torch_ratio >= TORCH_TARGET for r in self.rows)
        return torch_ok and self.floor_ratio <= FLOOR_TARGET


def measure(
    counts: Counts,
    names: Sequence[str] = BUILTINS,
    use_torch: bool = True,
    say: Callable[[str], None] = print,
) -> Report:
    torch = import_torch() if use_torch else None
    if torch is None:
        say("PyTorch not importable: skipped" if use_torch else "PyTorch: not asked for")
    rows = []
    floor_engine = math.nan
    for name in names:
        scenario = load_builtin(name)
        engine_s = best_time(partial(engine_run, scenario, counts.engine), counts.repeats)
        bare_s = best_time(partial(bare_run, scenario, counts.bare), counts.repeats)
        torch_rate = difference = None
        if torch is not None:
            difference = torch_gradient_difference(torch, scenario)
            model = TorchNet(torch, scenario)
            torch_s = best_time(partial(model.run, counts.torch), counts.repeats)
            torch_rate = counts.torch / torch_s
        row = Row(
            name,
            len(scenario.initial_params),
            len(scenario.samples),
            counts.engine / engine_s,
            counts.bare / bare_s,
            torch_rate,
            difference,
        )
        rows.append(row)
        if name == FLOOR_SCENARIO:
            floor_engine = row.engine
        say(f"  timed {name}")
    floor_scenario = load_builtin(FLOOR_SCENARIO)
    if math.isnan(floor_engine):
        engine = partial(engine_run, floor_scenario, counts.engine)
        floor_engine = counts.engine / best_time(engine, counts.repeats)
    floor_s = best_time(partial(floor_run, floor_scenario, counts.floor), counts.repeats)
    floor_difference = floor_check(floor_scenario, 100)
    return Report(
        tuple(rows),
        counts.floor / floor_s,
        floor_engine,
        floor_difference,
        None if torch is None else str(torch.__version__),
        measure_optimizers(counts, [n for n in OPTIMIZER_SCENARIOS if n in names], say),
    )


def measure_optimizers(
    counts: Counts, names: Sequence[str], say: Callable[[str], None] = print
) -> tuple[OptimizerRow, ...]:
    """The engine's steps/s under each optimizer in OPTIMIZERS."""
    rows = []
    for name in names:
        for config in OPTIMIZERS:
            scenario = dataclasses.replace(load_builtin(name), optimizer=config)
            kernel = Session(scenario)._trainer is not None
            # The generic path is ~10x slower: fewer steps keep the run short.
            steps = counts.engine if kernel else max(counts.engine // 10, 1)
            seconds = best_time(partial(engine_run, scenario, steps), counts.repeats)
            rows.append(OptimizerRow(name, describe(config), kernel, steps / seconds))
        say(f"  timed the optimizers on {name}")
    return tuple(rows)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def render(report: Report, counts: Counts) -> list[str]:
    torch_name = f"PyTorch {report.torch_version} eager" if report.torch_version else "PyTorch"
    lines = [
        f"Python {platform.python_version()}, {torch_name}; steps per second, best of "
        f"{counts.repeats} (engine {counts.engine:,} steps a repeat, bare {counts.bare:,}, "
        f"torch {counts.torch:,}, floor {counts.floor:,})",
        "",
        f"{'scenario':<16} {'θ':>3} {'n':>3} {'engine run':>12} {'bare eval':>11} "
        f"{'torch eager':>12} {'engine/torch':>13}  target ≥{TORCH_TARGET:g}x",
    ]
    for r in report.rows:
        ratio = r.torch_ratio
        verdict = "skipped" if ratio is None else _verdict(ratio >= TORCH_TARGET)
        shown = "—" if ratio is None else f"{ratio:,.1f}x"
        lines.append(
            f"{r.scenario:<16} {r.params:>3} {r.samples:>3} {_rate(r.engine):>12} "
            f"{_rate(r.bare):>11} {_rate(r.torch):>12} {shown:>13}  {verdict}"
        )
    lines.append("")
    lines.append(
        f"floor ({FLOOR_SCENARIO}, hand-unrolled plain Python): {_rate(report.floor)} steps/s; "
        f"floor/engine = {report.floor_ratio:.2f}x  target ≤{FLOOR_TARGET:g}x  "
        f"{_verdict(report.floor_ratio <= FLOOR_TARGET)}"
    )
    lines.append("")
    lines.append(
        f"check: floor vs engine parameters after 100 steps, max |diff| = "
        f"{report.floor_difference:.3g}  "
        f"{'ok' if report.floor_difference <= FLOOR_TOLERANCE else 'MISMATCH'}"
    )
    if report.optimizer_rows:
        lines += ["", f"{'scenario':<16} {'optimizer':<56} {'path':<7} {'engine run':>12}"]
        for o in report.optimizer_rows:
            path = "kernel" if o.kernel else "generic"
            lines.append(f"{o.scenario:<16} {o.optimizer:<56} {path:<7} {_rate(o.engine):>12}")
    lines.append("")
    for r in report.rows:
        if r.grad_difference is not None:
            ok = r.grad_difference <= GRAD_TOLERANCE
            lines.append(
                f"check: torch vs engine first-step gradients ({r.scenario}), max |diff| = "
                f"{r.grad_difference:.3g}  {'ok' if ok else 'MISMATCH'}"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.core",
        description="Steps per second of the core engine against PyTorch eager and a "
        "hand-unrolled floor.",
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds instead of ~30")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    report = measure(counts, use_torch=not args.no_torch, say=say)
    print("\n".join(render(report, counts)))
    checks_ok = report.floor_difference <= FLOOR_TOLERANCE and all(
        r.grad_difference is None or r.grad_difference <= GRAD_TOLERANCE for r in report.rows
    )
    return 0 if report.passed and checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
