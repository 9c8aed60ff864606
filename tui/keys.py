"""The keys and the command palette's entries: one table, so the two can never disagree."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding, BindingType

from core.i18n import N_, _


@dataclass(frozen=True)
class Command:
    action: str
    title: str  # in the command palette
    help: str


BINDINGS: list[BindingType] = [
    Binding("space", "phase", N_("Phase"), id="phase"),
    Binding("enter", "step", N_("Step"), id="step"),
    Binding("a", "auto", N_("Auto"), id="auto"),
    Binding(
        "left_square_bracket", "slower", N_("Slower"), show=False, key_display="[", id="slower"
    ),
    Binding(
        "right_square_bracket", "faster", N_("Faster"), show=False, key_display="]", id="faster"
    ),
    Binding("f", "fast_forward", N_("Fast"), id="fast_forward"),
    Binding("escape", "stop", N_("Stop"), show=False, id="stop"),
    Binding("u", "undo", N_("Undo"), id="undo"),
    Binding("r", "reset", N_("Reset"), show=False, id="reset"),
    Binding("plus", "rate(1)", N_("lr+"), show=False, key_display="+", id="rate_up"),
    Binding("minus", "rate(-1)", N_("lr−"), show=False, key_display="−", id="rate_down"),
    Binding("tab", "select(1)", N_("Param"), priority=True, id="next_param"),
    Binding(
        "shift+tab", "select(-1)", N_("Prev param"), show=False, priority=True, id="previous_param"
    ),
    Binding(
        "comma", "sample(-1)", N_("Prev sample"), show=False, key_display=",", id="previous_sample"
    ),
    Binding(
        "full_stop", "sample(1)", N_("Next sample"), show=False, key_display=".", id="next_sample"
    ),
    Binding("equals_sign", "edit", N_("Edit"), show=False, key_display="=", id="edit"),
    Binding("l", "toggle_view", N_("Landscape"), show=False, id="toggle_view"),
    Binding("t", "toggle_quiz", N_("Quiz"), show=False, id="toggle_quiz"),
    Binding("n", "toggle_lesson", N_("Notes"), show=False, id="toggle_lesson"),
    Binding("s", "save", N_("Save"), show=False, id="save"),
    Binding("o", "open", N_("Open"), show=False, id="open"),
    Binding("question_mark", "help", N_("Help"), key_display="?", id="help"),
    Binding("q", "quit", N_("Quit"), id="quit"),
    Binding("ctrl+c", "quit", N_("Quit"), show=False, id="interrupt"),
]

COMMANDS = [
    Command("phase", N_("Next phase"), N_("Forward → loss → backward → update (space)")),
    Command("step", N_("One whole step"), N_("Finish the current step (enter)")),
    Command("auto", N_("Auto-run on/off"), N_("Take steps by themselves (a)")),
    Command("slower", N_("Auto-run slower"), "([)"),
    Command("faster", N_("Auto-run faster"), "(])"),
    Command("fast_forward", N_("Fast-forward"), N_("Train until it converges (f)")),
    Command("undo", N_("Undo"), N_("Back one phase, step, edit or reset (u)")),
    Command("reset", N_("Reset"), N_("Back to the starting values (r)")),
    Command("rate(1)", N_("Learning rate up"), N_("One rung up the 1-2-5 ladder (+)")),
    Command("rate(-1)", N_("Learning rate down"), N_("One rung down the 1-2-5 ladder (−)")),
    Command("select(1)", N_("Next parameter"), N_("Select the next weight or bias (tab)")),
    Command("select(-1)", N_("Previous parameter"), "(shift+tab)"),
    Command("sample(1)", N_("Next sample"), "(.)"),
    Command("sample(-1)", N_("Previous sample"), "(,)"),
    Command("edit", N_("Edit value"), N_("Type a new value for the selected parameter (=)")),
    Command("toggle_view", N_("Loss curve / landscape"), N_("Switch the loss panel's view (l)")),
    Command("toggle_quiz", N_("Quiz on/off"), N_("Predict gradients and new values (t)")),
    Command("toggle_lesson", N_("Lesson notes on/off"), N_("Show or hide the lesson (n)")),
    Command("save", N_("Save trace"), N_("Write the trace as Markdown to a new file here (s)")),
    Command("open", N_("Open scenario"), N_("A built-in or a .toml file (o)")),
    Command("help", N_("Help"), N_("Every key and what the screen shows (?)")),
]


def translated(binding: Binding) -> Binding:
    return replace(binding, description=_(binding.description))
