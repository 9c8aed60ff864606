"""Key h: each hidden neuron's output over the input plane, beside the network's own output.

The maps follow training while the dialog is open (auto-run goes on behind it).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.stepping.session import Snapshot
from core.teaching import boundary as plane
from core.text.format import fmt
from core.text.i18n import N_, _
from tui.dialogs.base import Dialog
from tui.panels.plane import boundary_lines, glyph, map_cells, to_lines, with_samples

TILE = (20, 6)  # columns, character rows of one map
GAP = 2


class NeuronMapsScreen(Dialog[None]):
    """Read only: esc, enter, h or q close it."""

    BINDINGS = [Binding("escape,enter,h,q", "cancel", N_("Close"))]

    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap
        self._key: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="maps-box") as box:
            box.border_title = self.t(_("What each neuron has learnt"))
            yield Static(id="maps-why", markup=False)
            yield Static(id="maps-body", markup=False)
            yield Static(self.t(_("esc, enter or h closes")), id="maps-hint", markup=False)

    def on_mount(self) -> None:
        self._draw()
        self.watch(self.app, "snapshot", self._follow, init=False)

    def _follow(self, snap: Snapshot | None) -> None:
        if snap is not None:
            self.snap = snap
            self._draw()

    def _plain(self) -> bool:
        return bool(getattr(self.app, "ascii_only", False) or self.app.no_color)

    def _draw(self) -> None:
        snap, plain = self.snap, self._plain()
        key = (snap.scenario, snap.params, plain, self.app.size.width)
        if key == self._key:
            return  # the parameters did not change: the maps would be the same
        self._key = key
        x, y = plane.tile_axes(snap.scenario.samples, *TILE)
        halves = plane.halves_within(snap.scenario, x, y, 1 if plain else 2)
        if halves is None:
            text = _("Too many parameters to map the plane at this size.")
            self.query_one("#maps-why", Static).update(self.t(text))
            return
        b = plane.boundary(snap.scenario, snap.params, x, y, halves)
        tiles = [
            (self.t(_("output {name}").format(name=_output_name(snap))), boundary_lines(b, plain))
        ]
        for m in b.neurons:
            cells = map_cells(m.shades, b.halves, plain)
            tiles.append((m.name, to_lines(with_samples(cells, b))))
        room = max(TILE[0], min(78, self.app.size.width) - 4)
        per_line = max(1, (room + GAP) // (TILE[0] + GAP))
        self.query_one("#maps-why", Static).update(self.t(_why(b, snap, plain)))
        self.query_one("#maps-body", Static).update(_layout(tiles, per_line))


def _output_name(snap: Snapshot) -> str:
    net = snap.scenario.architecture
    return net.neuron_name(net.depth, 0) if net.sizes[-1] == 1 else _("class")


def _why(b: plane.Boundary, snap: Snapshot, plain: bool) -> str:
    x0, x1 = fmt(b.x.centre(0), 3), fmt(b.x.centre(b.x.cells - 1), 3)
    y0, y1 = fmt(b.y.centre(0), 3), fmt(b.y.centre(b.y.cells - 1), 3)
    step = _("step {step}").format(step=snap.step)
    plane_text = _("Each map: x1 from {x0} to {x1} across, x2 from {y0} to {y1} up.").format(
        x0=x0, x1=x1, y0=y0, y1=y1
    )
    if b.outputs == 1:
        low, high = plane.target_range(snap.scenario.samples)
        samples = _("Samples: {o} y = {low}, {x} y = {high}.").format(
            o=glyph(1, 0), x=glyph(1, 1), low=fmt(low), high=fmt(high)
        )
    else:
        samples = _("Samples: the digit of their class.")
    if plain:
        shade = _("Hidden neurons: the denser the character, the higher the output.")
    else:
        shade = _("Hidden neurons: blue where the output is low, orange where it is high.")
    return f"{step} · {plane_text} {samples} {shade}"


def _layout(tiles: list[tuple[str, list[Text]]], per_line: int) -> Text:
    """Tiles side by side, `per_line` a line, each under its name."""
    out = Text(no_wrap=True, end="")
    for start in range(0, len(tiles), per_line):
        group = tiles[start : start + per_line]
        if start:
            out.append("\n")
        names = [name[: TILE[0]].ljust(TILE[0]) for name, _lines in group]
        out.append((" " * GAP).join(names).rstrip() + "\n")
        for r in range(TILE[1]):
            for i, (_name, lines) in enumerate(group):
                if i:
                    out.append(" " * GAP)
                out.append(lines[r])
            out.append("\n")
    out.rstrip()
    return out
