"""The dialog for branching the run: choose the setting to change (up/down), type its value."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from core.model.optimizers import OPTIMIZER_NAMES
from core.stepping.branches import Change, parse_change
from core.stepping.session import Snapshot, next_rate
from core.text.format import fmt
from core.text.i18n import N_, _
from tui.dialogs.base import Dialog

KIND_NAMES = {"lr": N_("learning rate"), "optimizer": N_("optimizer"), "batch": N_("batch size")}


def current_value(snap: Snapshot, kind: str) -> str:
    """The setting the run uses now, as the dialog shows it."""
    if kind == "lr":
        return fmt(snap.learning_rate)
    if kind == "optimizer":
        return snap.scenario.optimizer.name
    return str(snap.scenario.optimizer.batch_size or _("all"))


def suggestion(snap: Snapshot, kind: str) -> str:
    """A value worth comparing with: a rung up the rate ladder, the next optimizer, batch 1."""
    if kind == "lr":
        return fmt(next_rate(next_rate(snap.learning_rate, True), True))
    if kind == "optimizer":
        names = OPTIMIZER_NAMES
        return names[(names.index(snap.scenario.optimizer.name) + 1) % len(names)]
    return "1" if snap.scenario.optimizer.batch_size != 1 else "0"


class BranchScreen(Dialog[Change | None]):
    """Asks what to change in the new branch; bad text gets a message and branches nothing."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel")),
        Binding("up", "choose(-1)", show=False),  # the value keeps the focus; up/down choose
        Binding("down", "choose(1)", show=False),
    ]

    def __init__(self, snap: Snapshot, kinds: tuple[str, ...], step: int) -> None:
        super().__init__()
        self.snap = snap
        self.kinds = kinds
        self.step = step  # counted from the main run's start

    def compose(self) -> ComposeResult:
        with Vertical(id="branch-box") as box:
            box.border_title = self.t(_("Branch the run at step {step}").format(step=self.step))
            yield Label(self.t(_("up/down: what to change · type the value · enter branches")))
            yield OptionList(
                *(
                    Option(
                        self.t(
                            _("{what} (now {value})").format(
                                what=_(KIND_NAMES[k]), value=current_value(self.snap, k)
                            )
                        ),
                        id=k,
                    )
                    for k in self.kinds
                ),
                id="branch-kinds",
            )
            yield Input(value=suggestion(self.snap, self.kinds[0]), id="branch-input")
            yield Static("", id="branch-error", markup=False)

    def on_mount(self) -> None:
        kinds = self.query_one(OptionList)
        kinds.highlighted = 0
        kinds.can_focus = False  # keyboard: the value has the focus, up/down move the choice
        entry = self.query_one(Input)
        entry.cursor_blink = False
        entry.focus()
        entry.select_all()

    def kind(self) -> str:
        return self.kinds[self.query_one(OptionList).highlighted or 0]

    def action_choose(self, delta: int) -> None:
        kinds = self.query_one(OptionList)
        kinds.highlighted = ((kinds.highlighted or 0) + delta) % len(self.kinds)
        self._offer()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._offer()  # also a click on a choice

    def _offer(self) -> None:
        entry = self.query_one(Input)
        entry.value = suggestion(self.snap, self.kind())
        entry.focus()
        entry.select_all()  # enter takes the suggestion; typing replaces it
        self.query_one("#branch-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            change = parse_change(self.kind(), event.value, len(self.snap.scenario.samples))
        except ValueError as err:
            self.query_one("#branch-error", Static).update(self.t(str(err)))
            return
        self.close(change)
