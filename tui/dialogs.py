"""Modal screens: help, typing a new value, opening a scenario, answering a quiz question."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, ScreenResultType
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from core.i18n import N_, _
from core.loader import BUILTINS, ScenarioError, load, load_builtin, load_file
from core.quiz import Grade, Question, grade, parse_answer
from core.scenario import Scenario
from core.session import Snapshot
from core.text import fmt, to_ascii, width_of, wrap
from tui import keys

FEEDBACK_WIDTH = 64  # the quiz box is 70 wide
INDENT = 2  # the help's lines start here; a wrapped line continues under its description
MAX_FILES = 50  # .toml files of the current folder listed in the open dialog

READING = (
    N_("Network: each neuron sits beside what it sums, z = Σ x·w + b."),
    N_(
        "Signs are written out (+/−); the selected parameter is in reverse video "
        "and its chain rule's path is bold."
    ),
    N_("In the backward phase each parameter shows its gradient ∂."),
    N_(
        "The network rounds the chain rule's numbers (6 digits) half up, "
        "to the digits its title states."
    ),
    N_('Chain rule: "?" marks a factor not computed yet.'),
    N_("In a dialog tab moves between its parts, enter confirms and esc closes."),
)


def help_text(ascii_only: bool = False) -> RenderableType:
    """Every key from the action table, then how to read the screen; wrapped lines keep
    their indent (a grid's second column), so no fragment lands at column 0."""
    t = to_ascii if ascii_only else str
    sections = [*keys.help_lines(ascii_only), (_("Reading the screen"), [])]
    keys_width = max(width_of(k) for _s, lines in sections for k, _l in lines)
    parts: list[RenderableType] = []
    for i, (heading, lines) in enumerate(sections):
        parts.append(Text(("\n" if i else "") + t(heading), "bold"))
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(width=keys_width, no_wrap=True, style="bold")
        grid.add_column(ratio=1, overflow="fold")
        for key, line in lines:
            grid.add_row(t(key), t(line))
        if lines:
            parts.append(Padding(grid, (0, 0, 0, INDENT)))
    parts.append(Padding(Text("\n".join(t(_(p)) for p in READING)), (0, 0, 0, INDENT)))
    return Group(*parts)


class _Dialog(ModalScreen[ScreenResultType]):
    """A modal that closes once: a second enter, click or esc in the same moment is ignored.

    tab and shift+tab move focus within it: the app's own keys do not act behind a dialog
    (BackpropApp.check_action)."""

    _answered = False

    def close(self, result: ScreenResultType) -> None:
        if not self._answered and self.is_current:
            self._answered = True
            self.dismiss(result)

    def action_cancel(self) -> None:
        self.close(None)  # type: ignore[arg-type]

    def t(self, text: str) -> str:
        """Text as this terminal can show it (--ascii spells the glyphs out)."""
        return to_ascii(text) if getattr(self.app, "ascii_only", False) else text


class HelpScreen(_Dialog[None]):
    BINDINGS = [Binding("escape,question_mark,q,enter", "cancel", N_("Close"))]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = self.t(_("Help · esc closes"))
            yield Static(help_text(getattr(self.app, "ascii_only", False)), id="help-body")


class EditValueScreen(_Dialog[float | None]):
    """Asks for a new value; bad text gets a message and changes nothing."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, name: str, current: float) -> None:
        super().__init__()
        self.param_name = name
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box") as box:
            box.border_title = self.t(_("New value for {name}").format(name=self.param_name))
            yield Label(
                self.t(
                    _("now {value} · enter sets it · esc cancels").format(value=repr(self.current))
                )
            )
            yield Input(value=repr(self.current), id="edit-input", select_on_focus=True)
            yield Static("", id="edit-error")  # a Static wraps a long message; a Label cuts it

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            value = parse_answer(event.value)
        except ValueError as err:
            self.query_one("#edit-error", Static).update(self.t(str(err)))
            return
        self.close(value)


class PathSuggester(Suggester):
    """Completes a typed path to the first folder or .toml file it names (right arrow takes it)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.folder = folder  # where a relative path starts

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.isspace():
            return None
        typed = self.folder / Path(os.path.expanduser(value))
        folder, stem = (typed, "") if value.endswith(("/", os.sep)) else (typed.parent, typed.name)
        try:
            names = sorted(
                entry.name + ("/" if entry.is_dir() else "")
                for entry in os.scandir(folder)
                if entry.name.startswith(stem)
                and (stem.startswith(".") or not entry.name.startswith("."))
                and (entry.is_dir() or entry.name.endswith(".toml"))
            )
        except OSError:
            return None
        if not names:
            return None
        return value + names[0][len(stem) :]


def toml_files(folder: Path) -> list[Path]:
    """The scenario files a student is likely to mean: the .toml files right here."""
    try:
        found = sorted(p for p in folder.glob("*.toml") if p.is_file())
    except OSError:
        return []
    return found[:MAX_FILES]


class OpenScenarioScreen(_Dialog[Scenario | None]):
    """Type the path of a .toml file, or pick a built-in or a file of this folder from the list."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel")),
        Binding("down", "to_list", show=False),  # from the path (the list takes its own down)
    ]

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()
        self.folder = folder if folder is not None else Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(id="open-box") as box:
            box.border_title = self.t(_("Open a scenario · enter opens · esc cancels"))
            yield Label(self.t(_("A path (right arrow completes it), or down for the list:")))
            yield Input(
                placeholder=self.t(_("path to a .toml file, then enter")),
                id="open-path",
                suggester=PathSuggester(self.folder),
            )
            options = [
                Option(self.t(f"{name}  {load_builtin(name).description}"), id="builtin:" + name)
                for name in BUILTINS
            ]
            options += [
                Option(self.t(f"{path.name}  " + _("(a file in this folder)")), id=f"file:{path}")
                for path in toml_files(self.folder)
            ]
            yield OptionList(*options, id="open-list")
            yield Static("", id="open-error")  # a Static wraps the message; a Label cut it

    def on_mount(self) -> None:
        path = self.query_one(Input)
        path.cursor_blink = False
        path.focus()  # typed text goes to the path

    def action_to_list(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            options.highlighted = 0
        options.focus()

    def show_error(self, message: str) -> None:
        self.query_one("#open-error", Static).update(self.t(message))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        option = event.option.id or ""
        kind, _sep, what = option.partition(":")
        try:
            scenario = load_builtin(what) if kind == "builtin" else load_file(what)
        except ScenarioError as err:
            self.show_error(str(err))
            return
        self.close(scenario)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.show_error(_("Type a path to a .toml file, or press down to pick from the list."))
            return
        looks_like_path = os.sep in text or "/" in text or text.endswith(".toml")
        if looks_like_path:
            path = Path(text).expanduser()
            if not path.is_absolute() and self.folder.resolve() != Path.cwd().resolve():
                path = self.folder / path
            text = str(path)
        try:
            scenario = load(text)
        except ScenarioError as err:
            self.show_error(str(err))
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
            else:
                what = _("Predict the new value before the update shows it:")
            yield Label(self.t(what))
            yield Label(self.t(self.question.prompt(name)), id="quiz-prompt")
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
