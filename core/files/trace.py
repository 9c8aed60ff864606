"""A headless trace written row by row as the training kernel computes it, in flat memory.

`write_trace` trains as `backprop-tui SCENARIO --headless` does (whole steps from the starting
values, stopping after the step at which the run diverges) and writes the same CSV or JSON as
`core.files.export.to_csv` / `to_json` of that run, byte for byte, without keeping a history: each
chunk of steps comes out of the compiled kernel (`core.model.kernel.Trainer.trace`) as rows of
floats that are formatted and written at once (JSON rows also carry each neuron's ∂J/∂z). The
numbers are the kernel's, which are bit for bit those of `core.model.network.evaluate` (a network
too big for the kernel goes through that).

Ctrl+C (SIGINT, in the main thread) is held until the chunk being computed is written: the rows
so far come out whole, a JSON document is closed so that it still parses (with
`"interrupted": true` after its steps; an interrupt during its first pass, which is quick,
writes no steps), and the result says `interrupted` (the command line then exits with 130).
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
import math
import signal
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Protocol, TextIO

from core.model import optimizers
from core.model.kernel import CHECK, UNSUPPORTED, Limits, RunResult, delta_columns, trainer_for
from core.model.network import Evaluation, apply_update, classification_accuracy, evaluate
from core.model.optimizers import OptimizerState
from core.model.scenario import Scenario
from core.stepping.history import checkpoint_interval
from core.stepping.session import (
    LOSS_BLOWUP,
    PARAM_LIMIT,
    STEP_BLOWUP,
    Phase,
    Session,
    Status,
    StatusKind,
    batch_grads,
    update_params,
)
from core.text.i18n import _

FORMATS = ("csv", "json")
CHUNK = 2048  # steps computed between two writes (and between two looks for Ctrl+C)


class Writable(Protocol):
    """Where a trace goes: a text stream, or anything with its write."""

    def write(self, text: str, /) -> int: ...


# (step, loss, *params, *grads), as the kernel hands it out; with δs, see kernel.delta_columns.
Row = tuple[float, ...]  # a frozen parameter as its text (the kernel writes it once)
Progress = Callable[[int, int], None]  # (steps computed, steps to compute)


@dataclass(frozen=True)
class TraceResult:
    rows: int  # rows written (besides any header)
    steps: int  # updates taken
    status: Status  # the run's status after them, as the session would report it
    interrupted: bool  # Ctrl+C stopped it early


def write_trace(
    scenario: Scenario,
    lr: float | None,
    steps: int,
    fmt: str,
    out: Writable,
    every: int = 1,
    progress: Progress | None = None,
) -> TraceResult:
    """Train up to `steps` steps at `lr` (None: the scenario's) and write the trace to `out` as
    "csv" or "json": every `every`-th step's row, and the last. Raises ValueError on bad
    arguments."""
    if fmt not in FORMATS:
        raise ValueError(f"no streamed trace in the format {fmt!r} (choose from csv, json)")
    if every < 1:
        raise ValueError(f"--every must be a whole number of at least 1, got {every}")
    if steps < 0:
        raise ValueError(f"--steps must not be negative, got {steps}")
    writer: _Format = _Csv(scenario) if fmt == "csv" else _Json(scenario)
    with _held_interrupt() as interrupted, _without_cycle_collection():
        result = _write(scenario, lr, steps, writer, out, every, progress, interrupted)
    if progress is not None:
        progress(1, 1)
    return result


def _write(
    scenario: Scenario,
    lr: float | None,
    steps: int,
    writer: _Format,
    out: Writable,
    every: int,
    progress: Progress | None,
    interrupted: Callable[[], bool],
) -> TraceResult:
    run = _Run(scenario, lr, writer.deltas)
    out.write(writer.header(run.lr))
    written = 1
    out.write(writer.rows([run.first]))
    last: list[Row] = [run.first]
    for chunk in run.chunks(steps, True, interrupted):
        first = run.taken - len(chunk) + 1
        kept = chunk[-first % every :: every]  # the steps that are multiples of `every`
        if kept:
            out.write(writer.rows(kept))
            written += len(kept)
        last = chunk[-1:]
        if progress is not None:
            progress(run.taken, steps)
    if run.taken % every:
        out.write(writer.rows(last))
        written += 1
    # A Ctrl+C after the last step changes nothing: the trace is whole.
    stopped = interrupted() and run.taken < steps and run.status.kind is not StatusKind.DIVERGED
    out.write(writer.footer(stopped, run.status))
    return TraceResult(written, run.taken, run.status, stopped)


class _Run:
    """One headless run: its first row, then its steps in chunks, and its status after them."""

    def __init__(self, scenario: Scenario, lr: float | None, deltas: bool = False) -> None:
        self.scenario = scenario
        self.deltas = deltas  # rows hold each neuron's ∂J/∂z (where kernel.delta_columns says)
        # Without biases the δs follow the gradients; with them, they are the bias gradients.
        self.extra = deltas and not scenario.architecture.bias
        session = Session(scenario, lr)  # step 0 judged exactly as the headless session does
        self.lr = session.learning_rate
        ev = session.snapshot.evaluation
        # A classifier's rows end with the accuracy (kernel.Trainer.trace's `accuracy`).
        self.classifier = scenario.loss.correct is not None
        self.first: Row = (
            0,
            ev.loss,
            *ev.params,
            *ev.grads,
            *(ev.deltas if self.extra else ()),
            *self._accuracy(ev),
        )
        self.params, self.grads = ev.params, ev.grads
        self.status = session.status()
        self.taken = 0
        self.limits = Limits(LOSS_BLOWUP * max(ev.loss, 1.0), PARAM_LIMIT, STEP_BLOWUP)
        self.state = session.snapshot.optimizer_state  # the optimizer's, after `taken` steps
        self.stateful = scenario.optimizer.stateful
        self.trainer = trainer_for(
            scenario.architecture, scenario.loss, len(scenario.samples), scenario.optimizer
        )
        self.data = None if self.trainer is None else self.trainer.pack(scenario.samples)

    def row(self, params: tuple[float, ...], state: OptimizerState) -> tuple[float, ...]:
        """The session's history row of these values (θ, then any optimizer state)."""
        return (*params, *state.flat()) if self.stateful else params

    def chunks(
        self, steps: int, rows: bool | None, interrupted: Callable[[], bool]
    ) -> Iterator[list[Row]]:
        """Take up to `steps` steps (stopping after one that diverges, or at an interrupt),
        yielding each chunk's rows (an empty list when `rows` is None)."""
        n = len(self.params)
        while self.taken < steps and self.status.kind is not StatusKind.DIVERGED:
            if interrupted():
                break
            count = min(CHUNK, steps - self.taken)
            chunk: list[Row] = []
            result = self._kernel(count, chunk.append if rows else None)
            if result is None:
                result = self._generic(count, chunk.append if rows else None)
            self.taken += result.taken
            self.params = result.params
            if rows:
                self.grads = chunk[-1][2 + n : 2 + 2 * n]
            else:
                self.grads = evaluate(
                    self.scenario.architecture,
                    self.scenario.loss,
                    result.params,
                    self.scenario.samples,
                ).grads
            if result.reason == CHECK:
                assert result.before is not None
                after = self.row(result.params, self.state)
                self.status = judge(self.scenario, self.lr, result.before, after)
            else:
                self.status = Status()
            yield chunk
        if self.taken and self.status.kind is not StatusKind.DIVERGED:
            # The last step passed the divergence test: only the convergence test is left.
            last = self.row(self.params, self.state)
            self.status = judge(self.scenario, self.lr, last, last)

    def _accuracy(self, ev: Evaluation) -> tuple[float, ...]:
        if not self.classifier:
            return ()
        acc = classification_accuracy(self.scenario.loss, ev, self.scenario.samples)
        return (acc if acc is not None else math.nan,)

    def _kernel(self, count: int, put: Callable[[Row], None] | None) -> RunResult | None:
        if self.trainer is None or self.data is None:
            return None
        result = self.trainer.trace(
            self.params,
            batch_grads(self.scenario, self.params, self.grads, self.state),  # the first update's
            self.lr,
            count,
            self.data,
            put,
            self.limits,
            self.taken + 1,
            self.deltas,
            self.state.flat() if self.stateful else (),
            self.classifier,
        )
        if result.reason == UNSUPPORTED:
            return None
        if self.stateful:
            self.state = optimizers.from_flat(
                self.scenario.optimizer, len(self.params), result.state
            )
            if result.before is not None:  # judging needs θ before; the state is only carried
                result = dataclasses.replace(result, before=(*result.before, *result.state))
        return result

    def _generic(self, count: int, put: Callable[[Row], None] | None) -> RunResult:
        """The same steps through `evaluate` (a network too big to compile, or odd values)."""
        sc = self.scenario
        net, trainable = sc.architecture, sc.architecture.trainable
        params, grads = self.params, self.grads
        lim = self.limits
        big = max(abs(p) for p in params)
        for k in range(1, count + 1):
            before, state = params, self.state
            if sc.optimizer.plain:
                new = apply_update(params, grads, self.lr, trainable)
            else:  # the update's gradient is its batch's; the row's, the data set's
                used = batch_grads(sc, params, grads, state)
                new, self.state = update_params(sc, params, used, self.lr, state)
            ev = evaluate(net, sc.loss, new, sc.samples)
            params, grads = ev.params, ev.grads
            if put is not None:
                deltas = ev.deltas if self.extra else ()
                put((self.taken + k, ev.loss, *params, *grads, *deltas, *self._accuracy(ev)))
            # The kernel's screen: it passes only where the session finds no divergence.
            finite = math.isfinite(ev.loss) and all(map(math.isfinite, grads))
            biggest = max(abs(p) for p in params)
            jump = max(abs(a - b) for a, b in zip(params, before))
            if not (
                finite
                and ev.loss <= lim.loss_limit
                and biggest <= lim.param_limit
                and jump <= lim.step_blowup * (1.0 + big)
            ):
                return RunResult(k, params, CHECK, self.row(before, state))
            big = biggest
        return RunResult(count, params, 0)


def judge(scenario: Scenario, lr: float, before: Sequence[float], after: Sequence[float]) -> Status:
    """The session's status after the step from `before` to `after` (history rows: θ, then
    any optimizer state), from the session's own divergence and convergence tests (a session
    restored at that step)."""
    n = len(scenario.initial_params)
    interval = checkpoint_interval(n, len(scenario.samples))
    start = evaluate(
        scenario.architecture, scenario.loss, scenario.initial_params, scenario.samples
    ).loss
    end = evaluate(scenario.architecture, scenario.loss, after[:n], scenario.samples).loss
    stored = array("d", (*before, *after) if interval == 1 else before)
    session = Session.restore(
        scenario,
        lr,
        Phase.UPDATE,
        stored,
        {},
        (tuple(before), tuple(after)),
        array("d", (start, end)),
        array("d", (lr,)),
    )
    return session.status()


# -- formats ----------------------------------------------------------------------------------


class _Format:
    deltas = False  # whether rows carry each neuron's ∂J/∂z

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.names = scenario.param_names
        # A classifier's rows end with the accuracy at the row's parameters.
        self.classifier = scenario.loss.correct is not None

    def header(self, lr: float) -> str:
        raise NotImplementedError

    def rows(self, rows: list[Row]) -> str:
        raise NotImplementedError

    def footer(self, interrupted: bool, status: Status) -> str:
        return ""


def _not_finite(text: str) -> bool:
    """Whether a row's text holds inf or nan (no key, name or other number's text has them)."""
    return "inf" in text or "nan" in text


class _Csv(_Format):
    """`core.files.export.to_csv`: step, loss, the parameters, their gradients; floats by repr."""

    def header(self, lr: float) -> str:
        buf = io.StringIO()
        names = self.names
        csv.writer(buf, lineterminator="\n").writerow(
            [
                "step",
                "loss",
                *names,
                *(f"grad_{n}" for n in names),
                *(["accuracy"] * self.classifier),
            ]
        )
        return buf.getvalue()

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        # One row's text: each number by str, which is repr for a float (a frozen parameter
        # comes from the kernel as that text already). repr never writes a comma, quote or
        # newline, so no field needs csv's quoting. One % a row is most of a trace's time.
        columns = 2 + 2 * len(self.names) + self.classifier  # a classifier's ends: accuracy
        self.template = ",".join(["%s"] * columns) + "\n"

    def rows(self, rows: list[Row]) -> str:
        template = self.template
        return "".join([template % row for row in rows])


class _Json(_Format):
    """`core.files.export.to_json` (indented by 2, not-finite numbers as null) and a newline; the
    status comes after the steps, so the trace is written in one pass."""

    deltas = True

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self.started = False

        def members(names: Sequence[str]) -> str:
            keys = [json.dumps(n, ensure_ascii=False).replace("%", "%%") for n in names]
            return ",\n".join(f"{' ' * 8}{k}: %s" for k in keys)

        values = members(self.names)
        neurons = members(scenario.architecture.neuron_names)
        # With biases the δs are the bias gradients (kernel.delta_columns): their reprs are
        # picked out of the row's again, not computed twice. Without, they end the row.
        self.pick_deltas: Callable[[Row], Row] | None = None
        if scenario.architecture.bias:
            # Picked after `_ordered` has moved a classifier's accuracy in after the loss.
            columns = tuple(c + self.classifier for c in delta_columns(scenario.architecture))
            self.pick_deltas = itemgetter(*columns) if len(columns) > 1 else _one(columns[0])
        # One step's object, as json.dumps(indent=2) writes it two levels down.
        accuracy = '      "accuracy": %s,\n' if self.classifier else ""
        self.template = (
            f'    {{\n      "step": %s,\n      "loss": %s,\n{accuracy}'
            f'      "params": {{\n{values}\n      }},\n'
            f'      "grads": {{\n{values}\n      }},\n'
            f'      "deltas": {{\n{neurons}\n      }}\n    }}'
        )

    def header(self, lr: float) -> str:
        sc = self.scenario
        top = json.dumps(
            {
                "scenario": sc.name,
                "learning_rate": lr,
                "loss": sc.loss.name,
                "optimizer": sc.optimizer.settings(),
            },
            ensure_ascii=False,
            indent=2,
            allow_nan=False,
        )
        return top[: -len("\n}")] + ',\n  "steps": ['

    def rows(self, rows: list[Row]) -> str:
        template = self.template
        pick = self.pick_deltas
        if self.classifier:  # the accuracy ends the row; in the object it follows the loss
            rows = [(r[0], r[1], r[-1], *r[2:-1]) for r in rows]
        if pick is None:
            lines = [template % row for row in rows]
        else:
            lines = [template % (row + pick(row)) for row in rows]
        joined = ",\n".join(lines)
        if _not_finite(joined):  # JSON has no inf or nan: such a number is written null
            joined = ",\n".join(template % _nulls(row, pick) for row in rows)
        if self.started:
            return ",\n" + joined
        self.started = True
        return "\n" + joined

    def footer(self, interrupted: bool, status: Status) -> str:
        more = ',\n  "interrupted": true' if interrupted else ""
        return f'\n  ],\n  "status": {json.dumps(status.kind.value)}{more}\n}}\n'


def _one(index: int) -> Callable[[Row], Row]:
    """itemgetter of one index, giving a tuple as itemgetter of several does."""
    return lambda values: (values[index],)


def _nulls(row: Row, pick: Callable[[Row], Row] | None) -> tuple[object, ...]:
    """A row's values for the JSON template with inf and nan as null."""
    values = row if pick is None else row + pick(row)
    return tuple("null" if isinstance(v, float) and not math.isfinite(v) else v for v in values)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """A chunk's rows are tuples of numbers and text, which make no reference cycles; with the
    cyclic collector on, keeping thousands of them alive has it rescan them again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- Ctrl+C and progress ----------------------------------------------------------------------


@contextmanager
def _held_interrupt() -> Iterator[Callable[[], bool]]:
    """While inside, SIGINT only raises a flag (read with the function given), so that the
    writer stops between two chunks; outside the main thread SIGINT is left as it is."""
    hits: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def hold(signum: int, frame: object) -> None:
        hits.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, previous)


LONG_RUN = 1.0  # seconds before a progress line is worth showing


def terminal_progress(stream: TextIO, every: float = 0.2) -> Progress | None:
    """A progress line on `stream` (rewritten in place, at most every `every` seconds, from the
    first second on) if it is a terminal, else None. Call it with (total, total) to clear it."""
    if not stream.isatty():
        return None
    start = time.monotonic()
    shown = [start + LONG_RUN - every]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total:
            if shown[0] > start + LONG_RUN - every:
                stream.write("\r\033[K")
                stream.flush()
            return
        if now - shown[0] < every:
            return
        shown[0] = now
        percent = math.floor(100 * done / max(total, 1))
        line = _("writing the trace: {percent}% done").format(percent=percent)
        stream.write(f"\r{line}\033[K")
        stream.flush()

    return show
