"""Modal screens: help, typing a new value, opening a scenario."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from core.loader import BUILTINS, ScenarioError, load, load_builtin
from core.scenario import Scenario

HELP = """\
[b]Stepping[/b]
  space        next phase: forward → loss → backward → update
  enter        one whole step (finish the current one)
  a            auto-run on/off        [ ]  slower / faster
  f            fast-forward to convergence (esc or f stops it)
  u            undo (any phase, step, edit or reset)
  r            reset to the starting values (keeps the rate)

[b]Looking closer[/b]
  tab          next parameter         shift+tab  previous
  , .          previous / next sample (when there are several)
  l            loss curve ↔ loss landscape along the parameter
  ↑ ↓ pgup pgdn  scroll the chain rule

[b]Changing things[/b]
  + −          learning rate up / down a 1-2-5 ladder
  =            type a new value for the selected parameter
  o            open a built-in scenario or a .toml file
  s            save the trace (JSON) to a new file here

  ctrl+p       command palette: every action by name, and themes
  ?            this help              q  quit

[b]Reading the screen[/b]
  Network: each neuron sits beside the weighted inputs it sums,
  z = Σ x·w + b. Signs are written out (+/−). The selected
  parameter is in reverse video; its chain rule's path is bold.
  In the backward phase each parameter shows its gradient ∂.
  Chain rule: "?" marks a factor not computed yet in this phase.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help · esc closes"
            yield Static(HELP, markup=True)


class EditValueScreen(ModalScreen[float | None]):
    """Asks for a new value; bad text gets a message and changes nothing."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, name: str, current: float) -> None:
        super().__init__()
        self.param_name = name
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box") as box:
            box.border_title = f"New value for {self.param_name}"
            yield Label(f"now {self.current!r} · enter sets it · esc cancels")
            yield Input(value=repr(self.current), id="edit-input", select_on_focus=True)
            yield Label("", id="edit-error")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        try:
            value = float(text)
        except ValueError:
            self._error(f"{text!r} is not a number; try e.g. 0.25 or -1e-3")
            return
        if value != value or value in (float("inf"), float("-inf")):
            self._error("the value must be a finite number")
            return
        self.dismiss(value)

    def _error(self, message: str) -> None:
        self.query_one("#edit-error", Label).update(message)


class OpenScenarioScreen(ModalScreen[Scenario | None]):
    """Pick a built-in, or type the path of a .toml file."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="open-box") as box:
            box.border_title = "Open a scenario · esc cancels"
            yield OptionList(
                *(
                    Option(f"{name}  {load_builtin(name).description}", id=name)
                    for name in BUILTINS
                ),
                id="open-list",
            )
            yield Input(placeholder="or a path to a .toml file, then enter", id="open-path")
            yield Label("", id="open-error")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(load_builtin(event.option.id))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        try:
            scenario = load(
                str(Path(text).expanduser()) if "/" in text or text.endswith(".toml") else text
            )
        except ScenarioError as err:
            self.query_one("#open-error", Label).update(str(err))
            return
        self.dismiss(scenario)
