"""Scenario, step, phase, learning rate, loss, auto-run, quiz score and the training status.

Three lines that never wrap (numbers get fewer digits rather than a second line); the scenario
and step are in the border title, the quiz score and what to do after divergence below it."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from core.model.losses import percent
from core.model.optimizers import batch_count
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
    # The watchers repaint what changed (the body, a title): a repaint of it all costs a frame.
    snapshot: reactive[Snapshot | None] = reactive(None, repaint=False)
    auto: reactive[bool] = reactive(False)
    speed: reactive[float] = reactive(2.0)
    fast_forward: reactive[float | None] = reactive(None)  # progress 0..1 while running
    quiz: reactive[bool] = reactive(False)
    score: reactive[Score] = reactive(Score())
    ascii_only: reactive[bool] = reactive(False)
    run_line: reactive[str] = reactive("")  # with branches: which run the keys drive (the app's)
    step_offset: reactive[int] = reactive(0)  # a branch's step 0 is this step of the main run

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

    def watch_run_line(self) -> None:
        self._refresh_body()

    def watch_step_offset(self) -> None:
        self._refresh_body()

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def _width(self) -> int:
        return max(self.content_size.width, 20)

    def _fits(self, text: str) -> bool:
        return width_of(self._t(text)) <= self._width()

    def _loss_line(self, snap: Snapshot) -> str:
        lr = fmt(snap.learning_rate)
        # Another optimizer than plain descent goes first: "adam · lr 0.1 · loss J 0.49".
        config = snap.scenario.optimizer
        ahead = "" if config.plain else config.name + ("+wd" if config.weight_decay else "") + " · "
        acc = snap.accuracy if snap.shows_loss else None
        if acc is not None:
            # Accuracy beside the loss; a narrow panel first loses digits, then the words. Where
            # even that leaves no room beside an optimizer's name, the status line takes it.
            full, short = (
                _("lr {lr} · loss J {loss} · acc {acc}"),
                _("lr {lr} · J {loss} · acc {acc}"),
            )
            for template in (full, short):
                for digits in DIGITS:
                    line = ahead + template.format(
                        lr=lr, loss=fmt(snap.evaluation.loss, digits), acc=percent(acc)
                    )
                    if self._fits(line):
                        return line
        if snap.shows_loss:
            loss, template = snap.evaluation.loss, _("lr {lr} · loss J {loss}")
            short = _("lr {lr} · J {loss}")  # with the optimizer's name, if the long one is not
        elif snap.step:
            loss, template = snap.history.losses[snap.step - 1], _("lr {lr} · last step's J {loss}")
            short = template
        else:
            return ahead + _("lr {lr} · loss J ?").format(lr=lr)
        tries = dict.fromkeys(((ahead, template), (ahead, short), ("", template)))
        for prefix, text in tries:
            for digits in DIGITS:
                line = prefix + text.format(lr=lr, loss=fmt(loss, digits))
                if self._fits(line):
                    return line
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
        step = " · " + _("step {step}").format(step=snap.step + self.step_offset)
        room = max(self.outer_size.width - 6, 8) - width_of(step)  # corners, spaces, a rule each
        name = snap.scenario.name
        if width_of(name) > room:
            while name and width_of(name) + 1 > room:
                name = name[:-1]
            name = name.rstrip() + "…"
        self.border_title = self._t(name + step)
        below = [self.run_line] if self.run_line else []
        config = snap.scenario.optimizer
        if config.batch_size and config.batch_size < len(snap.scenario.samples):
            # Which batch the shown update takes its gradient from; J is still all samples'.
            count = batch_count(len(snap.scenario.samples), config.batch_size)
            below.append(
                _("batch {k}/{count} · J: all {n}").format(
                    k=snap.batch.start // config.batch_size + 1,
                    count=count,
                    n=len(snap.scenario.samples),
                )
            )
        if self.quiz:
            below.append(
                _("quiz: {right}/{asked} right").format(
                    right=self.score.right, asked=self.score.asked
                )
            )
        if snap.status.kind is StatusKind.DIVERGED:
            below.append(_("− lowers lr · u undoes"))
        self.border_subtitle = self._t(" · ".join(below))

    def _fine_line(self, snap: Snapshot, add: Callable[[str, str], None]) -> None:
        """Fine stepping: where in the step this is, e.g. `backward · δ of h2 · 4 of 12`."""
        step = snap.current
        add(_(PHASE_NAMES[snap.phase]), "reverse bold")
        if step is None or snap.plan is None:
            phase = _(PHASE_NAMES[snap.phase])
            for rest in (_("fine steps: space moves one"), _("fine steps")):
                if self._fits(phase + " · " + rest):
                    break
            add(" · " + rest, "")
            return
        k, n = snap.plan.counts(snap.substep)
        where = " · " + _("{k} of {n}").format(k=k, n=n)
        label = " · " + step.label
        phase = _(PHASE_NAMES[snap.phase])
        for rest in (label + where, label, where):
            if self._fits(phase + rest):
                break
        add(rest, "bold")

    def _refresh_body(self) -> None:

        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        self._titles(snap)
        out = Text(no_wrap=True, overflow="crop")

        def add(text: str, style: str = "") -> None:
            out.append(self._t(text), style)

        if snap.fine:
            self._fine_line(snap, add)
        else:
            for p in PHASES:
                style = (
                    "reverse bold" if p is snap.phase else ("" if _done(snap.phase, p) else "dim")
                )
                add(_(PHASE_NAMES[p]), style)
                if p is not PHASES[-1]:
                    add(" ")
        loss_line = self._loss_line(snap)
        add("\n" + loss_line)
        text, style, detail = self._status_line(snap)
        acc = snap.accuracy if snap.shows_loss else None
        said = _("acc {acc}").format(acc=percent(acc)) if acc is not None else ""
        if said and not loss_line.endswith(said) and self._fits(text + " · " + said):
            text += " · " + said
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
