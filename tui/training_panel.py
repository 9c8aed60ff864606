"""Scenario, step, phase, learning rate, loss, auto-run and the training status."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import ProgressBar, Static

from core.session import Phase, Snapshot, StatusKind
from core.text import fmt, to_ascii

PHASES = (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE)


class TrainingPanel(Vertical):
    snapshot: reactive[Snapshot | None] = reactive(None)
    auto: reactive[bool] = reactive(False)
    speed: reactive[float] = reactive(2.0)
    fast_forward: reactive[float | None] = reactive(None)  # progress 0..1 while running
    ascii_only: reactive[bool] = reactive(False)

    def compose(self) -> ComposeResult:
        yield Static(id="training-body")
        yield ProgressBar(total=1.0, show_eta=False, id="ff-progress")

    def on_mount(self) -> None:
        self.border_title = "Training"
        self._refresh_body()

    def watch_snapshot(self) -> None:
        self._refresh_body()

    def watch_auto(self) -> None:
        self._refresh_body()

    def watch_speed(self) -> None:
        self._refresh_body()

    def watch_fast_forward(self, progress: float | None) -> None:
        bar = self.query_one(ProgressBar)
        bar.display = progress is not None
        if progress is not None:
            bar.update(progress=progress)
        self._refresh_body()

    def _refresh_body(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        out = Text(no_wrap=True, overflow="ellipsis")

        def add(text: str, style: str = "") -> None:
            out.append(to_ascii(text) if self.ascii_only else text, style)

        add(snap.scenario.name, "bold")
        add("\n")
        for p in PHASES:
            style = "reverse bold" if p is snap.phase else ("" if _done(snap.phase, p) else "dim")
            add(p.value, style)
            if p is not PHASES[-1]:
                add(" ")
        add(f"\nstep {snap.step} · lr {fmt(snap.learning_rate)}\nloss J ")
        if snap.shows_loss:
            add(fmt(snap.evaluation.loss), "bold")
        elif snap.step:
            add(fmt(snap.history.losses[snap.step - 1]), "bold")
            add(" (last step)", "dim")
        else:
            add("?", "bold")
        add("\n")
        if self.fast_forward is not None:
            add("fast-forward…  esc or f stops", "bold")
        else:
            add(f"auto {'ON' if self.auto else 'off'}", "bold" if self.auto else "")
            add(f" · {fmt(self.speed)} steps/s")
        add("\n")
        status = snap.status
        if status.kind is StatusKind.CONVERGED:
            add("✔ converged: ", "bold green")
            add(status.reason)
        elif status.kind is StatusKind.DIVERGED:
            add("✗ diverged: ", "bold red")
            add(status.reason)
            add("\n" + status.hint, "italic")
        else:
            add("training…" if self.auto else "training")
        self.query_one("#training-body", Static).update(out)


def _done(current: Phase, phase: Phase) -> bool:
    order = list(Phase)
    return current is not Phase.READY and order.index(phase) <= order.index(current)
