"""The quiz dialog: one question, the typed prediction graded, the mistake it looks like."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from core.stepping.session import Snapshot
from core.teaching.quiz import Grade, Question, grade, parse_answer, subject
from core.text.format import fmt, wrap
from core.text.i18n import N_, _
from tui.dialogs.base import Dialog

FEEDBACK_WIDTH = 64  # the quiz box is 70 wide


class QuizScreen(Dialog[Grade | None]):
    """One question: type a prediction, see it graded, then the phase shows the worked answer."""

    BINDINGS = [Binding("escape", "skip", N_("Skip"))]

    def __init__(self, snap: Snapshot, index: int, question: Question, sample: int) -> None:
        super().__init__()
        self.snap, self.index, self.question, self.sample = snap, index, question, sample
        self.result: Grade | None = None

    def compose(self) -> ComposeResult:
        name = subject(self.snap, self.index, self.question)
        with Vertical(id="quiz-box") as box:
            # The Training panel counts updates done (step 0 until the first update shows);
            # the question is about the update that leads on from there.
            update = self.snap.step if self.snap.shows_update else self.snap.step + 1
            box.border_title = self.t(
                _("Quiz · update {update} (from step {step})").format(
                    update=update, step=update - 1
                )
            )
            if self.question is Question.GRADIENT:
                what = _("Predict the gradient before the backward pass shows it:")
            elif self.question is Question.VALUE:
                what = _("Predict the neuron's value before the forward pass shows it:")
            elif self.question is Question.DELTA:
                what = _("Predict δ = ∂J/∂z before the backward pass shows it:")
            else:
                what = _("Predict the new value before the update shows it:")
            prompt = self.question.prompt(name)
            n = len(self.snap.scenario.samples)
            if n > 1 and self.question in (Question.VALUE, Question.DELTA):
                prompt += "   " + _("(sample {k} of {n})").format(k=self.sample + 1, n=n)
            yield Label(self.t(what))
            yield Label(self.t(prompt), id="quiz-prompt")
            yield Input(id="quiz-input")
            yield Static("", id="quiz-feedback")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.result is not None:
            self.close(self.result)
            return
        feedback = self.query_one("#quiz-feedback", Static)
        try:
            answer = parse_answer(event.value)
        except ValueError as err:
            feedback.update(Text(self.t(str(err)), "bold"))
            return
        self.result = grade(self.snap, self.index, self.question, answer, self.sample)
        feedback.update(feedback_text(self.result))

    def action_skip(self) -> None:
        self.close(self.result)


def feedback_text(result: Grade) -> Text:
    out = Text()
    if result.correct:
        out.append("✔ " + _("Right:") + " ", "bold green")
        out.append(fmt(result.expected))
    else:
        out.append("✗ " + _("Not quite:") + " ", "bold red")
        out.append(
            _("you typed {answer}, the answer is {expected}.").format(
                answer=fmt(result.answer), expected=fmt(result.expected)
            )
        )
        if result.mistake is not None:
            out.append("\n" + _("Looks like: {name}.").format(name=result.mistake.name), "bold")
            out.append("\n" + "\n".join(wrap(result.mistake.explanation, FEEDBACK_WIDTH)))
    out.append("\n" + _("enter: carry on; the chain-rule panel shows the worked answer."), "dim")
    return out
