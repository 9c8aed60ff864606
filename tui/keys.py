"""One action table; the key bindings, the command palette and the help's key list come from it,
so the three can never disagree."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding, BindingType
from textual.keys import format_key

from core.text.format import to_ascii
from core.text.i18n import N_, _

STEPPING = N_("Stepping")
LOOKING = N_("Looking closer")
CHANGING = N_("Changing things")
SECTIONS = (STEPPING, LOOKING, CHANGING)


@dataclass(frozen=True)
class Action:
    key: str  # Textual key name(s), comma-separated
    action: str
    label: str  # the footer's word
    id: str
    section: str | None = None  # where the help lists it (None: not on its own line)
    help: str = ""  # the help's line
    help_with: tuple[str, ...] = ()  # ids of the bindings the same help line covers
    title: str = ""  # the command palette's title ("": not in the palette)
    summary: str = ""  # the palette's help; the key is added to it
    show: bool = True  # in the footer
    key_display: str | None = None
    priority: bool = False
    bound: bool = True  # False: a key Textual itself provides, listed in the help only
    idle: str = ""  # why it does nothing when greyed out (the palette says so when chosen then)


ACTIONS: tuple[Action, ...] = (
    Action(
        "space", "phase", N_("Phase"), "phase", STEPPING,
        N_("next phase: forward → loss → backward → update"),
        title=N_("Next phase"), summary=N_("Forward → loss → backward → update"),
    ),
    Action(
        "enter", "step", N_("Step"), "step", STEPPING,
        N_("one whole step (finish the current one)"),
        title=N_("One whole step"), summary=N_("Finish the current step"),
    ),
    Action(
        "d", "toggle_fine", N_("Fine"), "toggle_fine", STEPPING,
        N_("fine steps on/off: space moves one neuron (z, δ) or parameter at a time"),
        title=N_("Fine steps on/off"), summary=N_("Backprop neuron by neuron"), show=False,
    ),
    Action(
        "a", "auto", N_("Auto"), "auto", STEPPING, N_("auto-run on/off"),
        title=N_("Auto-run on/off"), summary=N_("Take steps by themselves"),
    ),
    Action(
        "left_square_bracket", "slower", N_("Slower"), "slower", STEPPING,
        N_("auto-run slower / faster"), help_with=("faster",),
        title=N_("Auto-run slower"), show=False, key_display="[",
    ),
    Action(
        "right_square_bracket", "faster", N_("Faster"), "faster",
        title=N_("Auto-run faster"), show=False, key_display="]",
    ),
    Action(
        "f", "fast_forward", N_("Fast"), "fast_forward", STEPPING,
        N_("fast-forward to convergence (esc or f stops it)"),
        title=N_("Fast-forward"), summary=N_("Train until it converges"),
    ),
    Action("escape", "stop", N_("Stop"), "stop", show=False),
    Action(
        "u", "undo", N_("Undo"), "undo", STEPPING,
        N_("undo (a phase or sub-step, step, edit, reset, or opening a scenario)"),
        title=N_("Undo"), summary=N_("Back one phase, step, edit or reset"),
    ),
    Action(
        "r", "reset", N_("Reset"), "reset", STEPPING,
        N_("reset to the starting values (keeps the rate)"),
        title=N_("Reset"), summary=N_("Back to the starting values"), show=False,
    ),
    Action(
        "tab", "select(1)", N_("Param"), "next_param", LOOKING,
        N_("next parameter (shift+tab: previous; or click one)"),
        title=N_("Next parameter"), summary=N_("Select the next weight or bias"), priority=True,
    ),
    Action(
        "shift+tab", "select(-1)", N_("Prev param"), "previous_param",
        title=N_("Previous parameter"), show=False, priority=True,
    ),
    Action(
        "comma", "sample(-1)", N_("Prev sample"), "previous_sample", LOOKING,
        N_("previous / next sample (when there are several)"), help_with=("next_sample",),
        title=N_("Previous sample"), show=False, key_display=",",
    ),
    Action(
        "full_stop", "sample(1)", N_("Next sample"), "next_sample",
        title=N_("Next sample"), show=False, key_display=".",
    ),
    Action(
        "l", "toggle_view", N_("Landscape"), "toggle_view", LOOKING,
        N_("loss curve → landscape along the parameter → decision boundary (two inputs)"),
        title=N_("Loss curve / landscape / boundary"), summary=N_("Switch the loss panel's view"),
        show=False,
    ),
    Action(
        "h", "neuron_maps", N_("Neurons"), "neuron_maps", LOOKING,
        N_("what each hidden neuron has learnt: its output over the input plane (two inputs)"),
        title=N_("Hidden neuron maps"), summary=N_("Each hidden neuron's output over the inputs"),
        show=False,
    ),
    Action(
        "g", "gradient_check", N_("Check"), "gradient_check", LOOKING,
        N_("gradient check: ∂J/∂θ beside the central difference (backward and update phases)"),
        title=N_("Gradient check"), summary=N_("∂J/∂θ beside (J(θ + h) − J(θ − h))/2h"),
        show=False,
        idle=N_("The gradient check needs ∂J/∂θ on screen: step on to the backward phase."),
    ),
    Action("up,down", "", "", "scroll", LOOKING, N_("scroll the chain rule"), bound=False),
    Action(
        "n", "toggle_lesson", N_("Notes"), "toggle_lesson", LOOKING,
        N_("show / hide the lesson notes"),
        title=N_("Lesson notes on/off"), summary=N_("Show or hide the lesson"), show=False,
    ),
    Action(
        "m", "maximize", N_("Maximize"), "maximize", LOOKING,
        N_("maximize the chain rule panel; m or esc restores"),
        title=N_("Maximize panel"), summary=N_("The chain rule fills the screen"), show=False,
    ),
    Action(
        "plus", "rate(1)", N_("lr+"), "rate_up", CHANGING,
        N_("learning rate up / down a 1-2-5 ladder"), help_with=("rate_down",),
        title=N_("Learning rate up"), summary=N_("One rung up the 1-2-5 ladder"),
        show=False, key_display="+",
    ),
    Action(
        "minus", "rate(-1)", N_("lr−"), "rate_down",
        title=N_("Learning rate down"), summary=N_("One rung down the 1-2-5 ladder"),
        show=False, key_display="−",
    ),
    Action(
        "b", "branch", N_("Branch"), "branch", CHANGING,
        N_("branch the run here with another setting, side by side"),
        title=N_("Branch the run"), summary=N_("Compare another setting side by side"),
        show=False,
    ),
    Action(
        "v", "switch_run", N_("Next run"), "switch_run", CHANGING,
        N_("switch runs (u at a branch's start removes it)"),
        title=N_("Next run"), summary=N_("Drive the next branch"), show=False,
    ),
    Action(
        "equals_sign", "edit", N_("Edit"), "edit", CHANGING,
        N_("type a new value for the selected parameter"),
        title=N_("Edit value"), summary=N_("Type a new value for the selected parameter"),
        show=False, key_display="=",
    ),
    Action(
        "t", "toggle_quiz", N_("Quiz"), "toggle_quiz", CHANGING,
        N_("quiz on/off: predict the gradient and the new value"),
        title=N_("Quiz on/off"), summary=N_("Predict gradients and new values"), show=False,
    ),
    Action(
        "o", "open", N_("Open"), "open", CHANGING,
        N_("open a built-in scenario or a .toml file"),
        title=N_("Open scenario"), summary=N_("A built-in or a .toml file"), show=False,
    ),
    Action(
        "s", "save", N_("Save"), "save", CHANGING,
        N_("save the trace and the chain rule (Markdown) here"),
        title=N_("Save trace"), summary=N_("Write the trace as Markdown to a new file here"),
        show=False,
    ),
    Action(
        "ctrl+p", "", "", "palette", CHANGING,
        N_("command palette: every action by name, and themes"), bound=False,
    ),
    Action(
        "question_mark", "help", N_("Help"), "help", CHANGING, N_("this help"),
        title=N_("Help"), summary=N_("Every key and what the screen shows"), key_display="?",
    ),
    Action(
        "ctrl+l", "redraw", N_("Redraw"), "redraw", LOOKING,
        N_("redraw the whole screen (if it looks garbled)"), show=False, priority=True,
    ),
    Action(
        "q", "quit", N_("Quit"), "quit", CHANGING,
        N_("quit, keeping the session (backprop-tui --resume); in a dialog q types q "
           "or closes the help, and ctrl+c quits from anywhere"),
        help_with=("interrupt",),
    ),
    # Priority: it quits from every screen, dialogs and their inputs included (Input takes
    # ctrl+c for copy otherwise; q keeps its meaning there).
    Action("ctrl+c", "quit", N_("Quit"), "interrupt", show=False, priority=True),
)  # fmt: skip

_BY_ID = {a.id: a for a in ACTIONS}
# The main screen's actions: none may act behind a dialog (ctrl+q, ctrl+c and ctrl+l act on
# every screen).
ANYWHERE = frozenset({"quit", "redraw"})
MAIN_ACTIONS = frozenset(a.action.partition("(")[0] for a in ACTIONS if a.bound) - ANYWHERE

BINDINGS: list[BindingType] = [
    Binding(
        a.key,
        a.action,
        a.label,
        show=a.show,
        key_display=a.key_display,
        priority=a.priority,
        id=a.id,
    )
    for a in ACTIONS
    if a.bound
]

ASCII_KEY_NAMES = {"up": "up", "down": "down", "left": "left", "right": "right"}


def key_name(key: str, ascii_only: bool = False, key_display: str | None = None) -> str:
    """How the help and the palette write a key: enter (a word: ⏎ is easily misread), [, ↑."""
    if key_display is not None:
        text = key_display
    elif key == "enter":
        text = "enter"
    elif ascii_only and key in ASCII_KEY_NAMES:
        text = ASCII_KEY_NAMES[key]
    else:
        text = format_key(key.rpartition("+")[2])
        if "+" in key:
            text = key.rpartition("+")[0] + "+" + text
    return to_ascii(text) if ascii_only else text


def keys_of(action: Action, ascii_only: bool = False) -> str:
    """The keys of an action as the help and the palette write them: "[ ]", "up down"."""
    keys = action.key.split(",")[:1] if action.bound else action.key.split(",")
    names = [key_name(k, ascii_only, action.key_display) for k in keys]
    names += [keys_of(_BY_ID[i], ascii_only) for i in action.help_with]
    return " ".join(names)


@dataclass(frozen=True)
class Command:
    action: str
    title: str  # in the command palette
    help: str
    idle: str = ""  # said when it is chosen while it does nothing (see Action.idle)

    def text(self, ascii_only: bool = False) -> str:
        """The palette's help line, translated, with the key."""
        action = next(a for a in ACTIONS if a.action == self.action)
        key = "(" + keys_of(replace(action, help_with=()), ascii_only) + ")"
        text = f"{_(self.help)} {key}" if self.help else key
        return to_ascii(text) if ascii_only else text


COMMANDS = [Command(a.action, a.title, a.summary, a.idle) for a in ACTIONS if a.title]


def help_lines(ascii_only: bool = False) -> list[tuple[str, list[tuple[str, str]]]]:
    """The help's key list: (section, [(keys, line)]), translated."""
    return [
        (
            _(section),
            [(keys_of(a, ascii_only), _(a.help)) for a in ACTIONS if a.section == section],
        )
        for section in SECTIONS
    ]


def translated(binding: Binding) -> Binding:
    return replace(binding, description=_(binding.description))
