"""Scenario, step, phase, learning rate, loss, auto-run, quiz score and the training status."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import ProgressBar, Static

from core.i18n import N_, _
from core.quiz import Score
from core.session import Phase, Snapshot, StatusKind
from core.text import fmt, to_ascii

PHASES = (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE)
PHASE_NAMES = {
    Phase.READY: N_("ready"),
    Phase.FORWARD: N_("forward"),
    Phase.LOSS: N_("loss"),
    Phase.BACKWARD: N_("backward"),
    Phase.UPDATE: N_("update"),
}


class TrainingPanel(Vertical):
    snapshot: reactive[Snapshot | None] = reactive(None)
    auto: reactive[bool] = reactive(False)
    speed: reactive[float] = reactive(2.0)
    fast_forward: reactive[float | None] = reactive(None)  # progress 0..1 while running
    quiz: reactive[bool] = reactive(False)
    score: reactive[Score] = reactive(Score())
    ascii_only: reactive[bool] = reactive(False)

    _shown = ""
    _lengths: list[int] = []

    def compose(self) -> ComposeResult:
        yield Static(id="training-body")
        yield ProgressBar(total=1.0, show_eta=False, id="ff-progress")

    def on_mount(self) -> None:
        self.border_title = self._t(_("Training"))
        self._refresh_body()

    def watch_snapshot(self) -> None:
        self._refresh_body()

    def watch_auto(self) -> None:
        self._refresh_body()

    def watch_speed(self) -> None:
        self._refresh_body()

    def watch_quiz(self) -> None:
        self._refresh_body()

    def watch_score(self) -> None:
        self._refresh_body()

    def watch_fast_forward(self, progress: float | None) -> None:
        bar = self.query_one(ProgressBar)
        bar.display = progress is not None
        if progress is not None:
            bar.update(progress=progress)
        self._refresh_body()

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def _refresh_body(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        out = Text(no_wrap=False, overflow="fold")

        def add(text: str, style: str = "") -> None:
            out.append(self._t(text), style)

        add(snap.scenario.name, "bold")
        add("\n")
        for p in PHASES:
            style = "reverse bold" if p is snap.phase else ("" if _done(snap.phase, p) else "dim")
            add(_(PHASE_NAMES[p]), style)
            if p is not PHASES[-1]:
                add(" ")
        add("\n" + _("step {step} · lr {lr}").format(step=snap.step, lr=fmt(snap.learning_rate)))
        add("\n" + _("loss J") + " ")
        if snap.shows_loss:
            add(fmt(snap.evaluation.loss), "bold")
        elif snap.step:
            add(fmt(snap.history.losses[snap.step - 1]), "bold")
            add(" " + _("(last step)"), "dim")
        else:
            add("?", "bold")
        add("\n")
        if self.fast_forward is not None:
            add(_("fast-forward…  esc or f stops"), "bold")
        else:
            state = _("auto ON") if self.auto else _("auto off")
            add(state, "bold" if self.auto else "")
            add(" · " + _("{speed} steps/s").format(speed=fmt(self.speed)))
        if self.quiz:
            add(
                "\n"
                + _("quiz: {right}/{asked} right").format(
                    right=self.score.right, asked=self.score.asked
                ),
                "bold",
            )
        add("\n")
        status = snap.status
        if status.kind is StatusKind.CONVERGED:
            add("✔ " + _("converged:") + " ", "bold green")
            add(status.reason)
        elif status.kind is StatusKind.DIVERGED:
            add("✗ " + _("diverged:") + " ", "bold red")
            add(status.reason)
            add("\n" + status.hint, "italic")
        else:
            add(_("training…") if self.auto else _("training"))
        if out.markup != self._shown:
            # A layout pass only if a line's length changed (it may wrap to more lines).
            lengths = [len(line) for line in out.plain.split("\n")]
            self.query_one("#training-body", Static).update(out, layout=lengths != self._lengths)
            self._shown, self._lengths = out.markup, lengths


def _done(current: Phase, phase: Phase) -> bool:
    order = list(Phase)
    return current is not Phase.READY and order.index(phase) <= order.index(current)
