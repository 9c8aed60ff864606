"""Side-by-side runs: the main run and branches of it, each a Session with one setting changed.

A branch starts from the values its parent had at the step it branched at: its own step 0 is
that step, and its loss curve before it is the parent's. Undo in a branch walks its own history
back to the branch point; one more undo there removes the branch (and any branches of it), so
the undo key always does something and never loses the main run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from core.model.optimizers import OPTIMIZER_NAMES
from core.model.scenario import Scenario
from core.stepping.session import Session, Snapshot
from core.text.format import fmt
from core.text.i18n import _

CHANGES = ("lr", "optimizer", "batch")  # what a branch may change
MAX_RUNS = 6  # the main run and five branches: as many as the loss panel has markers for
PATH_POINTS = 40  # a run's path on the landscape: at most this many of its steps
PATH_WORK = 2**18  # parameter-samples replayed to find a path at most (else none is drawn)


@dataclass(frozen=True)
class Change:
    """One changed setting: a learning rate, an optimizer's name or a batch size (0: all)."""

    kind: str  # one of CHANGES
    value: float | str | int


def parse_change(kind: str, text: str, samples: int) -> Change:
    """The change a student typed; raises ValueError with a one-line reason."""
    text = text.strip()
    if kind == "lr":
        try:
            lr = float(text)
        except ValueError:
            raise ValueError(_("a learning rate is a number, e.g. 0.5")) from None
        if not (math.isfinite(lr) and lr > 0.0):
            raise ValueError(_("a learning rate must be a positive number"))
        return Change("lr", lr)
    if kind == "optimizer":
        if text.lower() not in OPTIMIZER_NAMES:
            names = ", ".join(OPTIMIZER_NAMES)
            raise ValueError(_("an optimizer is one of {names}").format(names=names))
        return Change("optimizer", text.lower())
    if kind == "batch":
        if not text.isdigit() or int(text) > samples:
            raise ValueError(
                _("a batch size is a whole number from 0 (all samples) to {n}").format(n=samples)
            )
        return Change("batch", int(text))
    raise ValueError(f"unknown change {kind!r}")


def branch_scenario(scenario: Scenario, params: tuple[float, ...], change: Change) -> Scenario:
    """The scenario a branch trains: it starts from `params`, with an optimizer changed."""
    # Its lessons go: they quote the numbers of the scenario's own run, from its start.
    scenario = dataclasses.replace(scenario, initial_params=params, lessons={})
    optimizer = scenario.optimizer
    if change.kind == "optimizer":
        optimizer = dataclasses.replace(optimizer, name=str(change.value))
    elif change.kind == "batch":
        optimizer = dataclasses.replace(optimizer, batch_size=int(change.value))
    return dataclasses.replace(scenario, optimizer=optimizer)


def branch_session(snap: Snapshot, change: Change) -> Session:
    """A new run from the snapshot's current values, with the change made (at its step 0).

    The optimizer's state (velocity, m and v, its update count) goes on with it, as it would
    in torch with a param group's rate or the batches changed; another optimizer starts fresh.
    """
    lr = float(change.value) if change.kind == "lr" else snap.learning_rate
    state = None if change.kind == "optimizer" else snap.optimizer_state
    scenario = branch_scenario(snap.scenario, snap.params, change)
    return Session.starting_at(scenario, snap.params, state, lr)


@dataclass
class Branch:
    session: Session
    change: Change | None  # None: the main run
    parent: int  # the run it branched from (-1: none)
    at: int  # the parent's step that is this run's step 0

    def label(self) -> str:
        """How the legend names the run; a rate is the one it uses now (+ and − change it)."""
        if self.change is None:
            return _("main")
        if self.change.kind == "lr":
            return _("lr {lr}").format(lr=fmt(self.session.learning_rate))
        if self.change.kind == "batch":
            size = int(self.change.value)
            return _("batch {size}").format(size=size) if size else _("full batch")
        return str(self.change.value)


@dataclass(frozen=True, eq=False)
class RunView:
    """One run as the panels see it: its label, where its step 0 sits, its snapshot."""

    label: str
    at: int
    snapshot: Snapshot


@dataclass(frozen=True, eq=False)
class RunsView:
    runs: tuple[RunView, ...]
    active: int

    @property
    def current(self) -> RunView:
        return self.runs[self.active]


class Runs:
    """The main run and its branches; the active one is what the keys drive."""

    def __init__(self, main: Session) -> None:
        self.branches = [Branch(main, None, -1, 0)]
        self.active = 0
        self._view: RunsView | None = None

    @property
    def session(self) -> Session:
        return self.branches[self.active].session

    @property
    def main(self) -> Session:
        return self.branches[0].session

    @property
    def current(self) -> Branch:
        return self.branches[self.active]

    def __len__(self) -> int:
        return len(self.branches)

    def branch(self, change: Change) -> Session:
        """A new branch of the active run from where it stands; it becomes the active one."""
        if len(self.branches) >= MAX_RUNS:
            raise ValueError(_("at most {n} runs side by side").format(n=MAX_RUNS))
        snap = self.session.snapshot
        new = Branch(branch_session(snap, change), change, self.active, self.global_step(snap.step))
        self.branches.append(new)
        self.active = len(self.branches) - 1
        return new.session

    def global_step(self, step: int, index: int | None = None) -> int:
        """A run's own step counted from the main run's step 0."""
        return self.branches[self.active if index is None else index].at + step

    def switch(self, delta: int = 1) -> Session:
        self.active = (self.active + delta) % len(self.branches)
        return self.session

    def undo(self) -> tuple[Snapshot, Branch | None]:
        """Undo in the active run; at its branch point, remove it. (snapshot, removed branch)"""
        if self.session.can_undo or self.active == 0:
            return self.session.undo(), None
        removed = self.current
        self.drop(self.active)
        return self.session.snapshot, removed

    def drop(self, index: int) -> None:
        """Remove a branch and every branch of it; its parent becomes active if it was."""
        if index == 0:
            raise ValueError("the main run stays")
        gone = {index}
        for i, b in enumerate(self.branches):
            if b.parent in gone:
                gone.add(i)
        parent = self.branches[index].parent
        active = self.active if self.active not in gone else parent
        keep = [i for i in range(len(self.branches)) if i not in gone]
        renumber = {old: new for new, old in enumerate(keep)}
        self.branches = [
            dataclasses.replace(self.branches[i], parent=renumber.get(self.branches[i].parent, -1))
            for i in keep
        ]
        self.active = renumber[active]

    def racing(self) -> list[Session]:
        """The runs still training: auto-run and fast-forward advance them together."""
        return [b.session for b in self.branches if not b.session.status().done]

    def view(self) -> RunsView:
        """The runs now, for the panels: the same object until a run's snapshot changes."""
        snaps = tuple(b.session.snapshot for b in self.branches)
        old = self._view
        if (
            old is None
            or old.active != self.active
            or len(old.runs) != len(snaps)
            or any(r.snapshot is not s for r, s in zip(old.runs, snaps))
            or any(r.label != b.label() for r, b in zip(old.runs, self.branches))
        ):
            old = RunsView(
                tuple(RunView(b.label(), b.at, s) for b, s in zip(self.branches, snaps)),
                self.active,
            )
            self._view = old
        return old


def path(snap: Snapshot, index: int, points: int = PATH_POINTS) -> tuple[tuple[float, float], ...]:
    """(θ[index], J) at up to `points` evenly spaced steps whose loss the run has shown, with
    the last; () where replaying the history for it would cost more than PATH_WORK."""
    hist, count = snap.history, snap.revealed_losses
    if count * hist.n * len(snap.scenario.samples) > PATH_WORK:
        return ()
    steps = set(hist.sampled_steps(count, points)) | {count - 1}
    return tuple(
        (params[index], hist.losses[k])
        for k, params in zip(range(count), hist.iter_params())
        if k in steps
    )
