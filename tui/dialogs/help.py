"""The help dialog: every key from the action table, then how to read the screen."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.model.network import Architecture
from core.teaching.depth import multiplications
from core.text.format import to_ascii, width_of
from core.text.i18n import N_, _
from tui import keys
from tui.dialogs.base import Dialog

INDENT = 2  # the help's lines start here; a wrapped line continues under its description

READING = (
    N_("Network: each neuron sits beside what it sums, z = Σ x·w + b."),
    N_(
        "Signs are written out (+/−); the selected parameter is in reverse video "
        "and its chain rule's path is bold."
    ),
    N_("In the backward phase each parameter shows its gradient ∂."),
    N_(
        "With hidden layers, the network's bottom border then gives each layer's rms ∂J/∂w "
        "(layer 1: the weights from the inputs) and a bar on a log scale: two levels lower "
        "is 10 times smaller."
    ),
    N_(
        "The network rounds the chain rule's numbers (6 digits) half up, "
        "to the digits its title states."
    ),
    N_('Chain rule: "?" marks a factor not computed yet.'),
    N_(
        "Fine steps (d): ▶ marks the neuron (or parameter) just computed and • what it read; "
        "each δ = ∂J/∂z stays beside its neuron."
    ),
    N_("In a dialog tab moves between its parts, enter confirms and esc closes."),
)


def count_line(net: Architecture) -> str:
    """Why backprop is fast, for this network: its multiplications against every path's."""
    count = multiplications(net)
    return _(
        "Multiplications for all this network's gradients, one sample: {backprop} by the "
        "backward pass; {paths} writing out each path's chain separately."
    ).format(backprop=f"{count.backprop:,}", paths=f"{count.paths:,}")


def help_text(ascii_only: bool = False, net: Architecture | None = None) -> RenderableType:
    """Every key from the action table, then how to read the screen (and, given the network,
    its multiplication count); wrapped lines keep their indent, so none lands at column 0."""
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
    reading = [_(p) for p in READING] + ([count_line(net)] if net is not None else [])
    parts.append(Padding(Text("\n".join(t(p) for p in reading)), (0, 0, 0, INDENT)))
    return Group(*parts)


class HelpScreen(Dialog[None]):
    BINDINGS = [Binding("escape,question_mark,q,enter", "cancel", N_("Close"))]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = self.t(_("Help · esc closes"))
            snap = getattr(self.app, "snapshot", None)
            net = snap.scenario.architecture if snap is not None else None
            yield Static(help_text(getattr(self.app, "ascii_only", False), net), id="help-body")
