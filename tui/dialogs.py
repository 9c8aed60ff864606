"""Modal screens: help, typing a new value, opening a scenario, answering a quiz question."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from core.i18n import N_, _
from core.loader import BUILTINS, ScenarioError, load, load_builtin
from core.quiz import Grade, Question, grade, parse_answer
from core.scenario import Scenario
from core.session import Snapshot
from core.text import fmt, wrap

FEEDBACK_WIDTH = 64  # the quiz box is 70 wide

HELP: list[tuple[str, str]] = [
    ("#", N_("Stepping")),
    ("space", N_("next phase: forward → loss → backward → update")),
    ("enter", N_("one whole step (finish the current one)")),
    ("a", N_("auto-run on/off")),
    ("[ ]", N_("auto-run slower / faster")),
    ("f", N_("fast-forward to convergence (esc or f stops it)")),
    ("u", N_("undo (any phase, step, edit or reset)")),
    ("r", N_("reset to the starting values (keeps the rate)")),
    ("#", N_("Looking closer")),
    ("tab", N_("next parameter (shift+tab: previous; or click one)")),
    (", .", N_("previous / next sample (when there are several)")),
    ("l", N_("loss curve ↔ loss landscape along the parameter")),
    ("↑ ↓", N_("scroll the chain rule")),
    ("n", N_("show / hide the lesson notes")),
    ("#", N_("Changing things")),
    ("+ −", N_("learning rate up / down a 1-2-5 ladder")),
    ("=", N_("type a new value for the selected parameter")),
    ("t", N_("quiz on/off: predict the gradient and the new value")),
    ("o", N_("open a built-in scenario or a .toml file")),
    ("s", N_("save the trace and the chain rule (Markdown) here")),
    ("ctrl+p", N_("command palette: every action by name, and themes")),
    ("?", N_("this help")),
    ("q", N_("quit (the session is kept: backprop-tui --resume)")),
    ("#", N_("Reading the screen")),
    ("", N_("Network: each neuron sits beside what it sums, z = Σ x·w + b.")),
    ("", N_("Signs are written out (+/−); the selected parameter is in")),
    ("", N_("reverse video and its chain rule's path is bold.")),
    ("", N_("In the backward phase each parameter shows its gradient ∂.")),
    ("", N_('Chain rule: "?" marks a factor not computed yet.')),
]


def help_text() -> Text:
    keys_width = max(cell_len(k) for k, _d in HELP if k != "#") + 2
    out = Text()
    for i, (keys, line) in enumerate(HELP):
        if i:
            out.append("\n")
        if keys == "#":  # a heading
            if i:
                out.append("\n")
            out.append(_(line), "bold")
            continue
        out.append("  " + keys + " " * (keys_width - cell_len(keys)), "bold")
        out.append(_(line))
    return out


class _Dialog(ModalScreen[ScreenResultType]):
    """A modal that closes once: a second enter, click or esc in the same moment is ignored."""

    _answered = False

    def close(self, result: ScreenResultType) -> None:
        if not self._answered and self.is_current:
            self._answered = True
            self.dismiss(result)

    def action_cancel(self) -> None:
        self.close(None)  # type: ignore[arg-type]


class HelpScreen(_Dialog[None]):
    BINDINGS = [Binding("escape,question_mark,q", "cancel", N_("Close"))]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = _("Help · esc closes")
            yield Static(help_text())


class EditValueScreen(_Dialog[float | None]):
    """Asks for a new value; bad text gets a message and changes nothing."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, name: str, current: float) -> None:
        super().__init__()
        self.param_name = name
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box") as box:
            box.border_title = _("New value for {name}").format(name=self.param_name)
            yield Label(
                _("now {value} · enter sets it · esc cancels").format(value=repr(self.current))
            )
            yield Input(value=repr(self.current), id="edit-input", select_on_focus=True)
            yield Label("", id="edit-error")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            value = parse_answer(event.value)
        except ValueError as err:
            self.query_one("#edit-error", Label).update(str(err))
            return
        self.close(value)


class OpenScenarioScreen(_Dialog[Scenario | None]):
    """Pick a built-in, or type the path of a .toml file."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def compose(self) -> ComposeResult:
        with Vertical(id="open-box") as box:
            box.border_title = _("Open a scenario · esc cancels")
            yield OptionList(
                *(
                    Option(f"{name}  {load_builtin(name).description}", id=name)
                    for name in BUILTINS
                ),
                id="open-list",
            )
            yield Input(placeholder=_("or a path to a .toml file, then enter"), id="open-path")
            yield Label("", id="open-error")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.close(load_builtin(event.option.id))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        looks_like_path = "/" in text or text.endswith(".toml")
        try:
            scenario = load(str(Path(text).expanduser()) if looks_like_path else text)
        except ScenarioError as err:
            self.query_one("#open-error", Label).update(str(err))
            return
        self.close(scenario)


class QuizScreen(_Dialog[Grade | None]):
    """One question: type a prediction, see it graded, then the phase shows the worked answer."""

    BINDINGS = [Binding("escape", "skip", N_("Skip"))]

    def __init__(self, snap: Snapshot, index: int, question: Question, sample: int) -> None:
        super().__init__()
        self.snap, self.index, self.question, self.sample = snap, index, question, sample
        self.result: Grade | None = None

    def compose(self) -> ComposeResult:
        name = self.snap.scenario.param_names[self.index]
        with Vertical(id="quiz-box") as box:
            box.border_title = _("Quiz · step {step}").format(step=self.snap.step + 1)
            if self.question is Question.GRADIENT:
                what = _("Predict the gradient before the backward pass shows it:")
            else:
                what = _("Predict the new value before the update shows it:")
            yield Label(what)
            yield Label(self.question.prompt(name), id="quiz-prompt")
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
            feedback.update(Text(str(err), "bold"))
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
