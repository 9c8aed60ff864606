"""The stepping state machine: phases, history, undo, status; each state an immutable Snapshot."""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

from core.model import optimizers
from core.model.kernel import CHECK, UNSUPPORTED, Limits, trainer_for
from core.model.network import Evaluation, apply_update, classification_accuracy, evaluate
from core.model.optimizers import OptimizerState
from core.model.scenario import Scenario
from core.stepping.history import History, HistoryView, checkpoint_interval
from core.stepping.substeps import DELTA, FORWARD, GRADIENT, LOSS, UPDATE, Plan, SubStep, plan
from core.text.format import fmt
from core.text.i18n import _

LOSS_BLOWUP = 1e3  # loss this many times its starting value (or 1) means diverged
STEP_BLOWUP = 1e3  # a parameter moving this many times (1 + largest |θ|) in one step: diverged
PARAM_LIMIT = 1e6


class Phase(Enum):
    READY = "ready"
    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"
    UPDATE = "update"

    @property
    def next(self) -> Phase:
        return _NEXT[self]


_NEXT = {
    Phase.READY: Phase.FORWARD,
    Phase.FORWARD: Phase.LOSS,
    Phase.LOSS: Phase.BACKWARD,
    Phase.BACKWARD: Phase.UPDATE,
    Phase.UPDATE: Phase.FORWARD,
}
_ORDER = {p: i for i, p in enumerate(Phase)}
_PHASE_OF = {
    FORWARD: Phase.FORWARD,
    LOSS: Phase.LOSS,
    DELTA: Phase.BACKWARD,
    GRADIENT: Phase.BACKWARD,
    UPDATE: Phase.UPDATE,
}


class StatusKind(Enum):
    TRAINING = "training"
    CONVERGED = "converged"
    DIVERGED = "diverged"


@dataclass(frozen=True)
class Status:
    kind: StatusKind = StatusKind.TRAINING
    reason: str = ""
    hint: str = ""

    @property
    def done(self) -> bool:
        return self.kind is not StatusKind.TRAINING


class PhaseOrderError(ValueError):
    """A phase was asked for out of order (e.g. backward before the loss)."""


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One state of a session, as the panels and exports see it. Never mutated."""

    scenario: Scenario
    step: int  # updates applied so far
    phase: Phase
    learning_rate: float
    params: tuple[float, ...]  # the current values
    evaluation: Evaluation  # this step's forward/loss/backward (in UPDATE: at the values before it)
    status: Status
    history: HistoryView
    can_undo: bool
    fine: bool = False  # fine stepping: a sub-step (one neuron or parameter) at a time
    substep: int = -1  # fine: the position in `plan` of the last sub-step done (-1: none yet)
    plan: Plan | None = None  # fine: this network's sub-steps
    optimizer_state: OptimizerState = field(default_factory=OptimizerState)  # with `params`
    shown_state: OptimizerState = field(default_factory=OptimizerState)  # with `evaluation`

    @property
    def batch(self) -> range:
        """The samples whose gradient the update from `evaluation.params` uses (all, or a batch)."""
        return update_batch(self.scenario, self.shown_state)

    @cached_property
    def update_grads(self) -> tuple[float, ...]:
        """The gradient that update uses: the session's own computation (`update_grads`)."""
        return update_grads(self.scenario, self.evaluation, self.shown_state)

    @property
    def shows_activations(self) -> bool:
        """The forward pass is on screen (fine: all of it)."""
        return self.phase is not Phase.READY and self._complete(FORWARD)

    @property
    def shows_loss(self) -> bool:
        return _ORDER[self.phase] >= _ORDER[Phase.LOSS] and self._complete(LOSS)

    @property
    def shows_gradients(self) -> bool:
        return _ORDER[self.phase] >= _ORDER[Phase.BACKWARD] and self._complete("backward")

    def _complete(self, group: str) -> bool:
        return self.plan is None or not self.fine or self.substep >= self.plan.ends[group]

    @property
    def current(self) -> SubStep | None:
        """Fine stepping: the sub-step just done (None before the first of a step)."""
        if self.plan is None or not self.fine or self.substep < 0:
            return None
        return self.plan.steps[self.substep]

    def _done(self, key: tuple[str, int, int]) -> bool | None:
        """Fine stepping: whether this sub-step is done in this step (None: not fine, or a frozen
        parameter, which has no sub-step of its own)."""
        position = None if self.plan is None or not self.fine else self.plan.where.get(key)
        if position is None:
            return None
        return self.phase is not Phase.READY and position <= self.substep

    def shows_value(self, layer: int, k: int) -> bool:
        """Neuron k of `layer` has its z and activation on screen (inputs always)."""
        done = self._done((FORWARD, layer, k)) if layer else True
        return self.phase is not Phase.READY if done is None else done

    def shows_output_loss(self, k: int) -> bool:
        done = self._done((LOSS, self.scenario.architecture.depth, k))
        return _ORDER[self.phase] >= _ORDER[Phase.LOSS] if done is None else done

    def shows_delta(self, layer: int, k: int) -> bool:
        done = self._done((DELTA, layer, k))
        return self.shows_gradients if done is None else done

    def shows_gradient(self, index: int) -> bool:
        """∂J/∂θ of parameter `index` is on screen (a frozen one once every gradient is)."""
        done = self._done((GRADIENT, self.scenario.architecture.params[index].layer, index))
        return self.shows_gradients if done is None else done

    @property
    def shows_update(self) -> bool:
        return self.phase is Phase.UPDATE

    @property
    def revealed_losses(self) -> int:
        """How many entries of the loss history the student has seen computed."""
        seen = self.phase in (Phase.LOSS, Phase.BACKWARD) and self.shows_loss
        return self.step + (1 if seen else 0)

    @cached_property
    def loss_curve(self) -> tuple[tuple[int, float], ...]:
        return self.history.curve(self.revealed_losses)

    @cached_property
    def accuracy(self) -> float | None:
        """The share of samples classified right by this step's forward pass (None: the loss
        is not a classifier's)."""
        return classification_accuracy(self.scenario.loss, self.evaluation, self.scenario.samples)

    @property
    def previous_params(self) -> tuple[float, ...]:
        """The values this step's computation used (before the update)."""
        return self.evaluation.params


def update_batch(scenario: Scenario, state: OptimizerState) -> range:
    """The samples of the next update after `state.t` updates (all of them without batches)."""
    return optimizers.batch_range(state.t, len(scenario.samples), scenario.optimizer.batch_size)


def update_grads(scenario: Scenario, ev: Evaluation, state: OptimizerState) -> tuple[float, ...]:
    """∂J/∂θ the next update from `ev.params` uses: the data set's, or its batch's mean."""
    return batch_grads(scenario, ev.params, ev.grads, state)


def batch_grads(
    scenario: Scenario,
    params: tuple[float, ...],
    grads: tuple[float, ...],
    state: OptimizerState,
) -> tuple[float, ...]:
    """`update_grads` from θ and the data set's gradient there (`grads`)."""
    batch = update_batch(scenario, state)
    if len(batch) == len(scenario.samples):
        return grads
    part = scenario.samples[batch.start : batch.stop]
    return evaluate(scenario.architecture, scenario.loss, params, part).grads


def update_params(
    scenario: Scenario,
    params: Sequence[float],
    grads: Sequence[float],
    lr: float,
    state: OptimizerState,
) -> tuple[tuple[float, ...], OptimizerState]:
    """One update by the scenario's optimizer (plain SGD: `apply_update`, no state)."""
    config = scenario.optimizer
    trainable = scenario.architecture.trainable
    if config.plain:
        return apply_update(params, grads, lr, trainable), state
    new, after = optimizers.step(config, params, grads, lr, trainable, state)
    # Without slots or batches nothing is carried (not even t): the history keeps θ alone.
    return new, after if config.stateful else state


def split_row(scenario: Scenario, row: Sequence[float]) -> tuple[tuple[float, ...], OptimizerState]:
    """A history row's θ and optimizer state (a stateless optimizer's is always fresh)."""
    config, n = scenario.optimizer, len(scenario.initial_params)
    params = tuple(row[:n])
    if len(row) == n:
        return params, optimizers.initial_state(config, n)
    return params, optimizers.from_flat(config, n, row[n:])


def update_row(
    scenario: Scenario, row: Sequence[float], lr: float
) -> tuple[Evaluation, OptimizerState, tuple[float, ...], OptimizerState]:
    """The update from a history row, as the session made it: the evaluation and state it
    started from, and the values and state it produced."""
    params, state = split_row(scenario, row)
    ev = evaluate(scenario.architecture, scenario.loss, params, scenario.samples)
    new, after = update_params(scenario, params, update_grads(scenario, ev, state), lr, state)
    return ev, state, new, after


@dataclass
class _Position:
    """Where the session was before a move, enough to go back there exactly."""

    step: int
    phase: Phase
    lr: float
    diverged: Status | None
    diverged_at: int
    params: tuple[float, ...] | None = None  # last history entry, before an edit
    history: History | None = None  # the whole history, before a reset
    sub: int | None = None  # fine stepping's position (None: the phase whole)


@dataclass
class _StepRun:
    """`count` whole steps taken in a row from UPDATE(first), UPDATE(first + 1), …"""

    first: int
    count: int
    lr: float


class Session:
    """Gradient descent on a scenario, one phase or step at a time, with unlimited undo."""

    def __init__(
        self,
        scenario: Scenario,
        learning_rate: float | None = None,
        start_state: OptimizerState | None = None,
    ) -> None:
        """`start_state`: the optimizer's state at step 0 (None: fresh); see `starting_at`."""
        self.scenario = scenario
        self._net = scenario.architecture
        self._trainable = scenario.architecture.trainable
        self._lr = scenario.learning_rate if learning_rate is None else learning_rate
        self._undo: list[_Position | _StepRun] = []
        config = scenario.optimizer
        self._n = len(scenario.initial_params)
        self._width = self._n + optimizers.state_width(config, self._n)
        fresh = optimizers.initial_state(config, self._n)
        if start_state is not None and (
            start_state.name != config.name or len(start_state.slots) != len(fresh.slots)
        ):
            raise ValueError(f"an optimizer state of {start_state.name} does not fit this run")
        self._start_state = fresh if start_state is None or not config.stateful else start_state
        # Runs of whole steps go through code compiled for this network (None: too big for it).
        self._trainer = trainer_for(
            scenario.architecture, scenario.loss, len(scenario.samples), config
        )
        self._packed = None if self._trainer is None else self._trainer.pack(scenario.samples)
        self._fine = False
        self._plan: Plan | None = None  # made when fine stepping is first turned on
        self._sub: int | None = None  # fine: the last sub-step done (None: the whole phase)
        self._start()

    @classmethod
    def starting_at(
        cls,
        scenario: Scenario,
        params: Sequence[float],
        state: OptimizerState | None = None,
        learning_rate: float | None = None,
    ) -> Session:
        """A run of `scenario` (perhaps `dataclasses.replace`d with another optimizer, rate or
        batch size) whose step 0 is `params` with the optimizer `state` (None: fresh; a state of
        another optimizer does not fit and raises ValueError): what a branch starts from."""
        import dataclasses

        start = dataclasses.replace(scenario, initial_params=tuple(params))
        return cls(start, learning_rate, state)

    def _row(self, params: tuple[float, ...], state: OptimizerState) -> tuple[float, ...]:
        """A history row: θ, then the optimizer's state where it keeps one."""
        return params if self._width == self._n else (*params, *state.flat())

    def _split(self, row: tuple[float, ...]) -> tuple[tuple[float, ...], OptimizerState]:
        if self._width == self._n:  # stateless: nothing is carried
            return row, self._start_state
        return split_row(self.scenario, row)

    def _replay(self, row: tuple[float, ...], lr: float) -> tuple[float, ...]:
        """One update, exactly as the session made it (the history recomputes steps with it)."""
        if self.scenario.optimizer.plain:
            return apply_update(row, self._gradients(row), lr, self._trainable)
        params, state = self._split(row)
        grads = update_grads(self.scenario, self._evaluate(params), state)
        return self._row(*update_params(self.scenario, params, grads, lr, state))

    def _gradients(self, params: tuple[float, ...]) -> tuple[float, ...]:
        """∂J/∂θ at `params`, by the compiled kernel where it runs (bit for bit evaluate's, and
        on a data set of 150 samples fifty times faster: undo replays up to hundreds of steps)."""
        trainer, data = self._trainer, self._packed
        if trainer is not None and data is not None:
            rows: list[tuple[float, ...]] = []
            # One step at rate 0 leaves every value as it is (p − 0.0·0.0 is p) and hands out
            # the gradients there.
            zeros = (0.0,) * len(params)
            result = trainer.trace(params, zeros, 0.0, 1, data, rows.append, None)
            if result.reason != UNSUPPORTED and rows:
                n = len(params)
                return tuple(rows[0][2 + n : 2 + 2 * n])
        return self._evaluate(params).grads

    def _interval(self) -> int:
        return checkpoint_interval(len(self.scenario.initial_params), len(self.scenario.samples))

    def _start(self) -> None:
        self._history = History(self._n, self._replay, self._interval(), self._width)
        self._eval = self._evaluate(self.scenario.initial_params)
        self._state = self._start_state
        self._history.append(self._row(self._eval.params, self._state), self._eval.loss)
        self._shown = self._eval
        self._shown_state = self._state
        self._step = 0
        self._phase = Phase.READY
        self._sub = None
        self._diverged: Status | None = None
        self._diverged_at = -1
        self._snapshot: Snapshot | None = None
        self._check_divergence(None)

    @classmethod
    def restore(
        cls,
        scenario: Scenario,
        learning_rate: float,
        phase: Phase,
        checkpoints: array[float],
        edits: Mapping[int, tuple[float, ...]],
        recent: tuple[tuple[float, ...], tuple[float, ...]],
        losses: array[float],
        rates: array[float],
    ) -> Session:
        """A session rebuilt from a saved history; undo walks back through its steps.

        Raises ValueError if the parts do not fit together or the network.
        """
        n = len(scenario.initial_params)
        count = len(losses)
        if phase is Phase.UPDATE and count < 2:
            raise ValueError("an update phase needs a step before it")
        if phase is Phase.READY and count > 1:
            phase = Phase.UPDATE  # READY happens only at step 0 (or after an edit)
        session = cls(scenario, learning_rate)
        history = History.from_parts(
            n,
            session._replay,
            session._interval(),
            checkpoints,
            edits,
            recent,
            losses,
            rates,
            session._width,
        )
        session._history = history
        session._step = count - 1
        session._phase = phase
        # Step 0's state is where reset returns to (a branch's, taken over from its parent).
        session._start_state = session._split(history.row_at(0))[1]
        last, session._state = session._split(history.row_at(count - 1))
        session._eval = session._evaluate(last)
        before = history.params_at(count - 2) if count > 1 else None
        session._shown = (
            session._evaluate(before) if phase is Phase.UPDATE and before else (session._eval)
        )
        session._shown_state = session._state
        if phase is Phase.UPDATE and before:
            session._shown_state = session._split(history.row_at(count - 2))[1]
        for k in range(count - 1):
            top = session._undo[-1] if session._undo else None
            if k == 0:
                session._undo.append(_Position(0, Phase.READY, rates[0], None, -1))
            elif isinstance(top, _StepRun) and top.lr == rates[k]:
                top.count += 1
            else:
                session._undo.append(_StepRun(k, 1, rates[k]))
        if phase is not Phase.UPDATE and count > 1:
            session._undo.append(_Position(count - 1, Phase.UPDATE, learning_rate, None, -1))
        session._check_divergence(before)
        session._snapshot = None
        return session

    def _evaluate(self, params: tuple[float, ...]) -> Evaluation:
        s = self.scenario
        return evaluate(s.architecture, s.loss, params, s.samples)

    # -- reading ----------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = Snapshot(
                scenario=self.scenario,
                step=self._step,
                phase=self._phase,
                learning_rate=self._lr,
                params=self._eval.params,
                evaluation=self._shown,
                status=self._status(),
                history=self._history.view(),
                can_undo=bool(self._undo),
                fine=self._fine,
                substep=self._position_now() if self._fine else -1,
                plan=self._plan if self._fine else None,
                optimizer_state=self._state,
                shown_state=self._shown_state,
            )
        return self._snapshot

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def step_count(self) -> int:
        return self._step

    @property
    def learning_rate(self) -> float:
        return self._lr

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def status(self) -> Status:
        return self._status()

    @property
    def fine(self) -> bool:
        return self._fine

    def set_fine(self, on: bool) -> Snapshot:
        """Fine stepping on or off; the phase under way counts as done either way (not undone)."""
        if on and self._plan is None:
            self._plan = plan(self._net)
        self._fine = on
        self._sub = None
        return self._changed()

    def _position_now(self) -> int:
        """Fine stepping: the last sub-step done in this step (-1 before the first)."""
        if self._phase is Phase.READY or self._plan is None:
            return -1
        return self._plan.ends[self._phase.value] if self._sub is None else self._sub

    # -- moving -----------------------------------------------------------------------------

    def advance(self) -> Snapshot:
        """The next phase: forward → loss → backward → update → forward …; in fine stepping,
        the next sub-step (one neuron, output or parameter)."""
        self._push()
        if self._fine:
            self._advance_sub()
        else:
            self._advance()
        return self._changed()

    def _advance_sub(self) -> None:
        assert self._plan is not None
        here = -1 if self._phase is Phase.UPDATE else self._position_now()
        position = here + 1
        kind = self._plan.steps[position].kind
        if _PHASE_OF[kind] is not self._phase:
            self._advance()  # into the sub-step's phase: at the update, the update itself
        self._sub = position

    def forward(self) -> Snapshot:
        return self._phase_call(Phase.FORWARD)

    def compute_loss(self) -> Snapshot:
        return self._phase_call(Phase.LOSS)

    def backward(self) -> Snapshot:
        return self._phase_call(Phase.BACKWARD)

    def update(self) -> Snapshot:
        return self._phase_call(Phase.UPDATE)

    def _phase_call(self, wanted: Phase) -> Snapshot:
        if self._phase.next is not wanted:
            raise PhaseOrderError(
                f"cannot run {wanted.value} after {self._phase.value}; "
                f"the next phase is {self._phase.next.value}"
            )
        self._push()
        self._advance()  # a whole phase, in fine stepping too
        return self._changed()

    def step(self) -> Snapshot:
        """Finish the current step (or take a whole new one) up to and including its update."""
        self._push()
        self._advance()
        while self._phase is not Phase.UPDATE:
            self._advance()
        return self._changed()

    def run(
        self,
        steps: int,
        *,
        stop_when_done: bool = True,
        progress: Callable[[int], None] | None = None,
        every: int = 1000,
    ) -> Snapshot:
        """Take up to `steps` whole steps; stop early on convergence or divergence."""
        done = 0
        while done < steps:
            if stop_when_done and self._status().done:
                break
            taken = 0
            if self._phase is Phase.UPDATE and self._undo:
                chunk = steps - done
                if progress is not None:
                    chunk = min(chunk, every - done % every)
                taken = self._run_compiled(chunk, stop_when_done)
            if not taken:
                self._one_step()
                taken = 1
            done += taken
            if progress is not None and done % every == 0:
                progress(done)
        return self._changed()

    def _one_step(self) -> None:
        """One whole step, recorded for undo as part of a run of steps where it continues one."""
        if self._phase is Phase.UPDATE and self._undo:
            self._extend_run(1)
        else:
            self._push()
        self._advance()
        while self._phase is not Phase.UPDATE:
            self._advance()

    def _extend_run(self, count: int) -> None:
        top = self._undo[-1]
        if isinstance(top, _StepRun) and top.first + top.count == self._step and top.lr == self._lr:
            top.count += count
        else:
            self._undo.append(_StepRun(self._step, count, self._lr))

    def _run_compiled(self, steps: int, stop_when_done: bool) -> int:
        """Up to `steps` whole steps from UPDATE through the compiled trainer; how many it took.

        The trainer's numbers are bit for bit those of `_advance`; it records each step in the
        history as `_advance` does and hands back any step that its cheap divergence screen
        does not pass, which `_check_divergence` then judges exactly. Returns 0 (nothing done)
        where there is no trainer for this network or its values are not all finite floats.
        """
        if self._trainer is None or self._packed is None:
            return 0
        s = self.scenario
        old = self._eval
        history = self._history
        limits = None
        if self._diverged is None:
            start = LOSS_BLOWUP * max(history.losses[0], 1.0)
            limits = Limits(start, PARAM_LIMIT, STEP_BLOWUP)
        result = self._trainer.run(
            old.params,
            update_grads(s, old, self._state),  # with mini-batches, the first update's batch's
            self._lr,
            steps,
            self._packed,
            (history.rates.append, history.put_params, history.put_loss),
            limits,
            (s.loss_tolerance, s.gradient_tolerance) if stop_when_done else None,
            self._state.flat() if s.optimizer.stateful else (),
        )
        taken = result.taken
        if not taken:
            return 0
        self._extend_run(taken)
        self._step += taken
        old_state = self._state
        if taken == 1:
            self._shown, self._shown_state = old, old_state
        else:
            before, self._shown_state = self._split(history.row_at(self._step - 1))
            self._shown = self._evaluate(before)
        self._state = self._split(history.row_at(self._step))[1]
        self._eval = self._evaluate(result.params)
        if result.reason == CHECK:
            self._check_divergence(self._shown.params)
        return taken

    def undo(self) -> Snapshot:
        """Go back to exactly the state before the last move (phase, step, edit, rate or reset)."""
        if not self._undo:
            return self.snapshot
        top = self._undo[-1]
        position: _Position
        if isinstance(top, _StepRun):
            top.count -= 1
            if top.count == 0:
                self._undo.pop()
            position = _Position(
                top.first + top.count,
                Phase.UPDATE,
                top.lr,
                self._diverged,
                self._diverged_at,
            )
        else:
            self._undo.pop()
            position = top
        self._restore(position)
        return self._changed()

    def reset(self) -> Snapshot:
        """Back to the starting values at step 0, keeping the current learning rate (undoable)."""
        self._undo.append(self._position(history=self._history))
        self._start()
        return self._changed()

    def set_learning_rate(self, lr: float) -> Snapshot:
        """Takes effect at the next update; what is already computed stays as it was."""
        if not (math.isfinite(lr) and lr > 0.0):
            raise ValueError(f"learning rate must be a positive finite number, got {lr!r}")
        self._push()
        self._lr = lr
        return self._changed()

    def set_parameter(self, index: int, value: float) -> Snapshot:
        """Give one parameter a new value; the current step starts again from its forward pass."""
        if not math.isfinite(value):
            raise ValueError(f"a parameter must be a finite number, got {value!r}")
        self._undo.append(self._position(params=self._row(self._eval.params, self._state)))
        params = list(self._eval.params)
        params[index] = value
        self._eval = self._evaluate(tuple(params))
        self._shown = self._eval
        self._shown_state = self._state
        self._history.replace_last(self._row(self._eval.params, self._state), self._eval.loss)
        self._phase = Phase.READY
        self._sub = None
        if self._diverged_at >= self._step:
            self._diverged, self._diverged_at = None, -1
        self._check_divergence(None)
        return self._changed()

    # -- internals --------------------------------------------------------------------------

    def _advance(self) -> None:
        self._sub = None
        nxt = self._phase.next
        if nxt is Phase.UPDATE:
            old = self._eval
            grads = update_grads(self.scenario, old, self._state)
            params, state = update_params(self.scenario, old.params, grads, self._lr, self._state)
            new = self._evaluate(params)
            self._history.rates.append(self._lr)
            self._history.append(self._row(new.params, state), new.loss)
            self._step += 1
            self._shown = old
            self._eval = new
            self._shown_state, self._state = self._state, state
            self._phase = nxt
            self._check_divergence(old.params)
            return
        if self._phase is Phase.UPDATE:
            self._shown = self._eval
            self._shown_state = self._state
        self._phase = nxt

    def _position(
        self, params: tuple[float, ...] | None = None, history: History | None = None
    ) -> _Position:
        return _Position(
            self._step,
            self._phase,
            self._lr,
            self._diverged,
            self._diverged_at,
            params,
            history,
            self._sub if self._fine else None,
        )

    def _push(self) -> None:
        self._undo.append(self._position())

    def _restore(self, pos: _Position) -> None:
        if pos.history is not None:
            self._history = pos.history
        self._history.truncate(pos.step + 1)
        if pos.params is not None:
            loss = self._evaluate(pos.params[: self._n]).loss
            self._history.replace_last(pos.params, loss)
        self._step = pos.step
        self._phase = pos.phase
        self._sub = pos.sub if self._fine else None  # a position inside a phase: fine only
        self._lr = pos.lr
        params, self._state = self._split(self._history.row_at(pos.step))
        self._eval = self._evaluate(params)
        if pos.phase is Phase.UPDATE:
            before, self._shown_state = self._split(self._history.row_at(pos.step - 1))
            self._shown = self._evaluate(before)
        else:
            self._shown = self._eval
            self._shown_state = self._state
        self._diverged = pos.diverged
        self._diverged_at = pos.diverged_at
        if self._diverged_at > pos.step:
            self._diverged, self._diverged_at = None, -1

    def _changed(self) -> Snapshot:
        self._snapshot = None
        return self.snapshot

    def _check_divergence(self, before: tuple[float, ...] | None) -> None:
        if self._diverged is not None:
            return
        ev = self._eval
        reason = ""
        biggest = max((abs(p) for p in ev.params), default=0.0)
        if not (
            math.isfinite(ev.loss)
            and all(math.isfinite(g) for g in ev.grads)
            and math.isfinite(biggest)
        ):
            reason = _("values overflowed (no longer finite)")
        elif ev.loss > LOSS_BLOWUP * max(self._history.losses[0], 1.0):
            reason = _("the loss grew over {factor}×").format(factor=f"{LOSS_BLOWUP:g}")
        elif biggest > PARAM_LIMIT:
            reason = _("a parameter passed ±{limit}").format(limit=fmt(PARAM_LIMIT))
        elif before is not None:
            scale = 1.0 + max(abs(p) for p in before)
            jump = max(abs(a - b) for a, b in zip(ev.params, before))
            if jump > STEP_BLOWUP * scale:
                reason = _("one update moved a parameter over 1000× its size")
        if reason:
            hint = _("learning rate {lr} is too large: − lowers it, u undoes").format(
                lr=fmt(self._lr)
            )
            self._diverged = Status(StatusKind.DIVERGED, reason, hint)
            self._diverged_at = self._step

    def _status(self) -> Status:
        if self._diverged is not None:
            return self._diverged
        ev = self._eval
        s = self.scenario
        # The numbers go through the Training panel's formatter at its precision: rounding is
        # monotone, so "≤" holds as printed, and J reads the same here as there. In UPDATE and
        # the FORWARD after it the panels still show the step's old values: say which J this is.
        updated = self._step > 0 and self._phase in (Phase.UPDATE, Phase.FORWARD)
        if ev.loss <= s.loss_tolerance:
            text = (
                _("the updated values give J = {loss} ≤ {tol}")
                if updated
                else _("J = {loss} ≤ {tol}")
            )
            return Status(
                StatusKind.CONVERGED, text.format(loss=fmt(ev.loss), tol=fmt(s.loss_tolerance))
            )
        trained = [abs(g) for g, t in zip(ev.grads, self._trainable) if t]
        if trained and max(trained) <= s.gradient_tolerance:
            text = (
                _(
                    "the updated values are a flat spot: every gradient within ±{tol} "
                    "(largest ±{grad}), J = {loss}"
                )
                if updated
                else _("a flat spot: every gradient within ±{tol} (largest ±{grad}), J = {loss}")
            )
            return Status(
                StatusKind.CONVERGED,
                text.format(
                    tol=fmt(s.gradient_tolerance), grad=fmt(max(trained)), loss=fmt(ev.loss)
                ),
            )
        return Status()


RATE_LADDER = tuple(float(f"{m}e{e}") for e in range(-5, 3) for m in (1, 2, 5))


def next_rate(lr: float, up: bool) -> float:
    """The next learning rate on a 1-2-5 ladder above (or below) `lr`."""
    if up:
        return next((r for r in RATE_LADDER if r > lr * (1 + 1e-9)), RATE_LADDER[-1])
    return next((r for r in reversed(RATE_LADDER) if r < lr * (1 - 1e-9)), RATE_LADDER[0])
