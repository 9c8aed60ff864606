"""Scenario, step, phase, learning rate, loss, auto-run, quiz score and the training status.

Three lines that never wrap (numbers get fewer digits rather than a second line); the scenario
and step are in the border title, the quiz score and what to do after divergence below it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from core.model.losses import percent
from core.stepping.session import Phase, Snapshot, StatusKind
from core.teaching.quiz import Score
from core.text.format import fmt, to_ascii, width_of, wrap
from core.text.i18n import N_, _

PHASES = (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE)
PHASE_NAMES = {
    Phase.READY: N_("ready"),
    Phase.FORWARD: N_("forward"),
    Phase.LOSS: N_("loss"),
    Phase.BACKWARD: N_("backward"),
    Phase.UPDATE: N_("update"),
}
DIGITS = (6, 4, 3)  # the loss's significant digits, the most that fit


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

    def on_mount(self) -> None:
        self._refresh_body()

    def on_resize(self) -> None:
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

    def watch_fast_forward(self) -> None:
        self._refresh_body()

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def _width(self) -> int:
        return max(self.content_size.width, 20)

    def _fits(self, text: str) -> bool:
        return width_of(self._t(text)) <= self._width()

    def _loss_line(self, snap: Snapshot) -> str:
        lr = fmt(snap.learning_rate)
        acc = snap.accuracy if snap.shows_loss else None
        if acc is not None:
            # Accuracy beside the loss; a narrow panel first loses digits, then the words.
            full, short = (
                _("lr {lr} · loss J {loss} · acc {acc}"),
                _("lr {lr} · J {loss} · acc {acc}"),
            )
            line = ""
            for template in (full, short):
                for digits in DIGITS:
                    line = template.format(
                        lr=lr, loss=fmt(snap.evaluation.loss, digits), acc=percent(acc)
                    )
                    if self._fits(line):
                        return line
            return line
        if snap.shows_loss:
            loss, template = snap.evaluation.loss, _("lr {lr} · loss J {loss}")
        elif snap.step:
            loss, template = snap.history.losses[snap.step - 1], _("lr {lr} · last step's J {loss}")
        else:
            return _("lr {lr} · loss J ?").format(lr=lr)
        for digits in DIGITS:
            line = template.format(lr=lr, loss=fmt(loss, digits))
            if self._fits(line):
                break
        return line

    def _status_line(self, snap: Snapshot) -> tuple[str, str, str]:
        """The status line, its style, and the reason it had no room for ("" if none)."""
        status = snap.status
        if self.fast_forward is not None:
            pct = int(self.fast_forward * 100)
            return _("fast-forward {pct}% · esc stops").format(pct=pct), "bold", ""
        if status.kind is StatusKind.CONVERGED:
            line = "✔ " + _("converged:") + " " + status.reason
            if self._fits(line):
                return line, "bold green", ""
            return "✔ " + _("converged"), "bold green", status.reason
        if status.kind is StatusKind.DIVERGED:
            # The rate that blew up, not necessarily the one now set: no number here.
            line = "✗ " + _("diverged: rate too large")
            detail = status.reason + "; " + status.hint
            return (line if self._fits(line) else "✗ " + _("diverged")), "bold red", detail
        state = _("auto ON") if self.auto else _("auto off")
        speed = _("{speed} steps/s").format(speed=fmt(self.speed))
        return state + " · " + speed, "bold" if self.auto else "", ""

    def _titles(self, snap: Snapshot) -> None:
        step = " · " + _("step {step}").format(step=snap.step)
        room = max(self.outer_size.width - 6, 8) - width_of(step)  # corners, spaces, a rule each
        name = snap.scenario.name
        if width_of(name) > room:
            while name and width_of(name) + 1 > room:
                name = name[:-1]
            name = name.rstrip() + "…"
        self.border_title = self._t(name + step)
        below = []
        if self.quiz:
            below.append(
                _("quiz: {right}/{asked} right").format(
                    right=self.score.right, asked=self.score.asked
                )
            )
        if snap.status.kind is StatusKind.DIVERGED:
            below.append(_("− lowers lr · u undoes"))
        self.border_subtitle = self._t(" · ".join(below))

    def _refresh_body(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        self._titles(snap)
        out = Text(no_wrap=True, overflow="crop")

        def add(text: str, style: str = "") -> None:
            out.append(self._t(text), style)

        for p in PHASES:
            style = "reverse bold" if p is snap.phase else ("" if _done(snap.phase, p) else "dim")
            add(_(PHASE_NAMES[p]), style)
            if p is not PHASES[-1]:
                add(" ")
        add("\n" + self._loss_line(snap))
        text, style, detail = self._status_line(snap)
        add("\n" + text, style)
        self.tooltip = self._t(detail) if detail else None
        if detail and not self.screen.has_class("-short"):
            # A tall terminal has room under the verdict for the reason, wrapped here.
            for line in wrap(self._t(detail), self._width()):
                add("\n" + line, "italic")
        if out.markup != self._shown:
            # A layout pass only if the number of lines changed.
            lengths = [len(line) for line in out.plain.split("\n")]
            self.query_one("#training-body", Static).update(
                out, layout=len(lengths) != len(self._lengths)
            )
            self._shown, self._lengths = out.markup, lengths


def _done(current: Phase, phase: Phase) -> bool:
    order = list(Phase)
    return current is not Phase.READY and order.index(phase) <= order.index(current)
