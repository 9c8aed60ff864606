"""The dialog for typing a new value of the selected parameter."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from core.teaching.quiz import parse_answer
from core.text.i18n import N_, _
from tui.dialogs.base import Dialog


class EditValueScreen(Dialog[float | None]):
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
            # A Static wraps a long message (a Label cuts it); the message quotes what was typed.
            yield Static("", id="edit-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            value = parse_answer(event.value)
        except ValueError as err:
            self.query_one("#edit-error", Static).update(self.t(str(err)))
            return
        self.close(value)
