"""The gradient check dialog: the selected parameter's ∂J/∂θ beside the central difference."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.teaching.gradcheck import GradientCheck, lines
from core.text.i18n import N_, _
from tui.dialogs.base import Dialog


class GradientCheckScreen(Dialog[None]):
    """Read only: esc, enter or g (and q, as in the help) close it."""

    BINDINGS = [Binding("escape,enter,g,q", "cancel", N_("Close"))]

    def __init__(self, result: GradientCheck, before_update: bool = False) -> None:
        super().__init__()
        self.result = result
        self.before_update = before_update  # the update phase: checked at the values before it

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="gradcheck-box") as box:
            box.border_title = self.t(_("Gradient check · {name}").format(name=self.result.name))
            why = _(
                "The slope of J itself, measured h either side of {name}, beside what the "
                "backward pass computed: the two should agree."
            ).format(name=self.result.name)
            if self.before_update:
                why += " " + _("Both at the values before this update, as the chain rule's.")
            yield Static(self.t(why), id="gradcheck-why", markup=False)
            yield Static(self.t("\n".join(lines(self.result))), id="gradcheck-body", markup=False)
            yield Static(self.t(_("esc, enter or g closes")), id="gradcheck-hint", markup=False)
