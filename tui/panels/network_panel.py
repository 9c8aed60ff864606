"""The network: neurons with their values, every weight and bias, the selected chain's path."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from core.stepping.session import Snapshot
from core.teaching.depth import bar_levels, layer_sizes
from core.teaching.explain import Flow, chain_path, substep_flow
from core.text.format import MINUS, compact, to_ascii, width_of
from core.text.i18n import _
from tui.panels.titles import set_titles

# (value digits, gradient digits), tried in turn until the drawing fits: the numbers get
# shorter, never the names (h2·w6 without its h2 would seem to come from h1).
LEVELS = ((4, 3), (4, 2), (3, 2), (2, 1))
TABLE_LEVEL = 1
GRAPH_ROWS = 16  # taller drawings become a table
GRAPH_LAYERS = 5
TABLE_ROWS = 6  # rows of parameters the table shows at a time
# A short terminal (80x24) keeps the loss plot's ten rows only if the network takes at most the
# rows the 2-2-2's drawing does; the table then flows the neurons onto fewer rows.
SHORT_TABLE_ROWS = 6
SHORT_BELOW = 32  # terminal rows: the app's -tall breakpoint
MIN_TABLE_ROWS = 3  # fewer rows of parameters than this: the neurons flow instead
# Fine stepping marks, never by colour alone: the neuron (or parameter) being computed, and
# what it reads (the inputs it sums; in the backward pass the δs above, through their weights).
CURRENT, READ = "▶", "•"
BARS = "▁▂▃▄▅▆▇█"  # depth.bar_levels 1..8
ASCII_BARS = "_.:-=+%#"  # the same levels for terminals without block glyphs: more ink, larger


@dataclass(frozen=True)
class Cell:
    text: str
    style: str = ""
    param: int | None = None  # the parameter a click on this cell selects
    parts: tuple[str, ...] = ()  # name, value, gradient: lined up within a column


Column = list[list[Cell]]  # rows of cells


class NetworkPanel(Widget):
    """Layers left to right; each neuron beside the weighted inputs it sums (its z = Σ x·w + b)."""

    # No layout pass on every step: the drawing's height changes only with the scenario.
    snapshot: reactive[Snapshot | None] = reactive(None)
    selected: reactive[int] = reactive(0)
    sample: reactive[int] = reactive(0)
    ascii_only: reactive[bool] = reactive(False, layout=True)

    class Selected(Message):
        """The student clicked a parameter."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._hits: list[tuple[int, int, int, int]] = []  # (row, x0, x1, param)
        self._cache: tuple[tuple[object, ...], Text] | None = None
        self._level = 0  # the LEVELS entry of the last drawing, which the title states

    def watch_snapshot(self, old: Snapshot | None, new: Snapshot | None) -> None:
        if new is not None and (old is None or old.scenario is not new.scenario):
            self.refresh(layout=True)
        self._retitle()

    def watch_sample(self) -> None:
        self._retitle()

    def _retitle(self) -> None:
        if self.snapshot is not None:
            set_titles(self, self._title(self.snapshot), self._subtitle(self.snapshot))

    def render(self) -> Text:
        snap = self.snapshot
        if snap is None:
            return Text("")
        width = max(self.content_size.width, 10)
        # Textual renders more often than the state changes (layout, repaints): draw once.
        key = (id(snap), self.selected, self.sample, self.ascii_only, width, self._short())
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        text = self._draw(snap, width)
        if self._cache is not None and len(self._cache[1].plain.split("\n")) != len(
            text.plain.split("\n")
        ):
            # Taller or shorter (a resize past the short breakpoint): the panel's height follows.
            self.refresh(layout=True)
        self._cache = (key, text)
        self._retitle()
        return text

    def _draw(self, snap: Snapshot, width: int) -> Text:
        net = snap.scenario.architecture
        tall = max(
            net.sizes[k] * max(net.sizes[k - 1] + net.bias, 2) for k in range(1, len(net.sizes))
        )
        budget = net.depth + 1 + TABLE_ROWS
        if tall <= GRAPH_ROWS and len(net.sizes) <= GRAPH_LAYERS:
            for level in range(len(LEVELS)):
                rows = self._graph(snap, level)
                if max((_row_width(r) for r in rows), default=0) <= width:
                    self._level = level
                    return self._assemble(rows)
            budget = len(rows)  # as tall as the drawing: the panel keeps its height
        if self._short():
            budget = min(budget, SHORT_TABLE_ROWS)
        rows, self._level = self._table(snap, width, budget)
        return self._assemble(rows)

    def _short(self) -> bool:
        # The terminal's height, not the screen's -short class: that comes with the first
        # resize event, after the first layout has already measured this panel.
        return self.is_mounted and self.app.size.height < SHORT_BELOW

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def _title(self, snap: Snapshot) -> str:
        n = len(snap.scenario.samples)
        title = _("Network")
        if n > 1:
            title += " · " + _("sample {k}/{n}").format(k=self.sample + 1, n=n)
        # Say that these are roundings of the chain rule's numbers, and to how many digits.
        value_digits, grad_digits = LEVELS[self._level]
        title += " · " + _("rounded to {v} digits, ∂ to {g}").format(v=value_digits, g=grad_digits)
        return to_ascii(title) if self.ascii_only else title

    def _subtitle(self, snap: Snapshot) -> str:
        """Once gradients are computed, each layer's rms ∂J/∂w with a log-scale bar, so that
        gradients shrinking towards the inputs are seen; the widest form that fits, else none."""
        net = snap.scenario.architecture
        if net.depth < 2 or not snap.shows_gradients:
            return ""
        sizes = layer_sizes(net, snap.evaluation)
        levels = bar_levels([s.weight_rms for s in sizes])
        bars, sep = (ASCII_BARS, ", ") if self.ascii_only else (BARS, " · ")
        room = max(self.outer_size.width - 6, 8)  # corners, spaces, a rule each
        for label, digits in (
            (_("rms ∂J/∂w by layer:"), 2),
            (_("rms ∂J/∂w by layer:"), 1),
            (_("rms ∂J/∂w:"), 1),
        ):
            items = []
            for s, level in zip(sizes, levels):
                bar = bars[level - 1] if level else " "
                items.append(f"{s.layer} {bar} {compact(s.weight_rms, digits)}")
            text = self._t(label + " " + sep.join(items))
            if width_of(text) <= room:
                return text
        return ""

    # -- building ---------------------------------------------------------------------------

    def _styles(self, snap: Snapshot) -> tuple[frozenset[tuple[int, int]], frozenset[int]]:
        return chain_path(snap, self.selected)

    def _param_cell(
        self,
        snap: Snapshot,
        index: int,
        on_path: bool,
        level: int = TABLE_LEVEL,
        source: bool = False,
    ) -> Cell:
        """`x1·w1 +0.15 ∂+4.39e−4`: (source,) name, signed value, and the gradient once computed."""
        net = snap.scenario.architecture
        info = net.params[index]
        value_digits, grad_digits = LEVELS[level]
        name = info.name
        if source and info.kind == "weight":
            name = f"{net.neuron_name(info.layer - 1, info.source)}·{name}"
        parts = [name, _signed(snap.params[index], value_digits)]
        if not info.trainable:
            parts.append(_("fixed"))
        elif snap.shows_gradient(index):
            parts.append("∂" + _signed(snap.evaluation.grads[index], grad_digits))
        style = "bold" if on_path else ""
        if index == self.selected:
            style = "reverse bold"
        parts = [self._t(p) for p in parts]
        return Cell(" ".join(parts), style, index, tuple(parts))

    def _neuron_cell(
        self, snap: Snapshot, layer: int, k: int, on_path: bool, level: int = TABLE_LEVEL
    ) -> Cell:
        net = snap.scenario.architecture
        name = net.neuron_name(layer, k)
        trace = snap.evaluation.samples[self.sample]
        digits = LEVELS[level][0]
        if layer == 0:
            value = _signed(snap.scenario.samples[self.sample].x[k], digits)
        elif snap.shows_value(layer, k):
            value = _signed(trace.a[layer][k], digits)
        else:
            value = "?"
        return Cell(self._t(f"{name} {value}"), "bold underline" if on_path else "")

    def _mark(self, flow: Flow | None, neuron: tuple[int, int]) -> str:
        if flow is None:
            return " "
        return CURRENT if neuron in flow.current else READ if neuron in flow.read else " "

    def _delta_text(self, snap: Snapshot, layer: int, k: int, level: int) -> str:
        """Fine stepping: the neuron's δ once computed (this sample's), which stays beside it."""
        if not snap.fine or not snap.shows_delta(layer, k):
            return ""
        delta = snap.evaluation.samples[self.sample].delta[layer][k]
        return self._t("δ" + _signed(delta, LEVELS[level][1]))

    def _graph(self, snap: Snapshot, level: int) -> list[list[Cell]]:
        """Each neuron beside a bracket of what it sums: its weighted inputs, then its bias."""
        net = snap.scenario.architecture
        path_neurons, path_params = self._styles(snap)
        flow = substep_flow(snap)
        columns: list[Column] = [
            [
                [self._neuron_cell(snap, 0, i, (0, i) in path_neurons, level)]
                for i in range(net.sizes[0])
            ]
        ]
        for layer in range(1, net.depth + 1):
            n_in = net.sizes[layer - 1]
            is_output = layer == net.depth
            block = max(n_in + int(net.bias), 2 if is_output else 1)
            edges: Column = []
            neurons: Column = []
            for j in range(net.sizes[layer]):
                terms = [net.weight_index(layer, j, i) for i in range(n_in)]
                if net.bias:
                    terms.append(net.bias_index(layer, j))
                for r in range(block):
                    if r < len(terms):
                        index = terms[r]
                        cell = self._param_cell(snap, index, index in path_params, level, True)
                        bracket = _bracket(r, len(terms))
                        if flow is not None and index == flow.param:
                            bracket, cell = CURRENT + bracket[1:], _bold(cell)
                        elif flow is not None and index in flow.params:
                            bracket, cell = READ + bracket[1:], _bold(cell)
                        edges.append([cell, Cell(self._t(bracket))])
                    else:
                        edges.append([Cell("")])
                on_path = (layer, j) in path_neurons
                # The mark takes the gap before the neuron: the drawing is no wider for it.
                mark = self._mark(flow, (layer, j))
                neuron = self._neuron_cell(snap, layer, j, on_path, level)
                style = (
                    neuron.style if mark == " " else "bold reverse" if mark == CURRENT else "bold"
                )
                rows: Column = [
                    [Cell(self._t(mark), "" if mark == " " else "bold"), Cell(neuron.text, style)]
                ]
                if is_output:
                    target = snap.scenario.samples[self.sample].y[j]
                    target_text = f"{net.target_name(j)} {_signed(target, LEVELS[level][0])}"
                    rows.append(
                        [
                            Cell(" "),
                            Cell(
                                self._t(target_text),
                                "dim",
                            ),
                        ]
                    )
                delta = self._delta_text(snap, layer, j, level)
                if delta and len(rows) < block:
                    rows.append([Cell(" "), Cell(delta, "italic")])
                elif delta:  # no row to spare: beside the neuron's value
                    rows[0] = [*rows[0], Cell(" " + delta, "italic")]
                rows += [[Cell(" ")] for _row in range(block - len(rows))]
                neurons += rows
            columns += [_align(edges), neurons]
        # No gap between a bracket and the neurons: their cells begin with the mark's place.
        return _join(columns, gaps=[0 if n % 2 else 1 for n in range(len(columns))])

    def _table(self, snap: Snapshot, width: int, budget: int) -> tuple[list[list[Cell]], int]:
        """For networks too big to draw: parameters in columns, in at most `budget` rows (the
        numbers shortened to fit them, else a window around the selection); and the level."""
        _neurons, path_params = self._styles(snap)
        flow = substep_flow(snap)
        for level in range(len(LEVELS)):
            cells = [
                self._marked(flow, self._param_cell(snap, i, i in path_params, level, True))
                for i in range(len(snap.params))
            ]
            per_row, widths = _columns(cells, width)
            table_rows = -(-len(cells) // per_row)
            neurons = self._neuron_rows(snap, level, width, flow=False)
            if len(neurons) + table_rows > budget and len(neurons) + 1 + MIN_TABLE_ROWS > budget:
                neurons = self._neuron_rows(snap, level, width, flow=True)
            if len(neurons) + table_rows <= budget:
                break
        # Never fewer than MIN_TABLE_ROWS rows of parameters: the panel grows (to its max-height).
        budget = max(budget, min(len(neurons) + table_rows, len(neurons) + 1 + MIN_TABLE_ROWS))
        lead = len(neurons)
        rows = [[Cell(line, "dim")] for line in neurons]
        room = max(1, budget - lead - 1)
        first = 0
        if lead + table_rows > budget:
            # Fine stepping's gradient is where the eye goes; else the selected parameter.
            focus = self.selected if flow is None or flow.param is None else flow.param
            first = min(max(0, focus // per_row - room // 2), table_rows - room)
            shown = cells[first * per_row : (first + room) * per_row]
            param_names = snap.scenario.param_names
            note = _("{n} parameters; showing {a}–{b} (tab moves)").format(
                n=len(cells),
                a=param_names[shown[0].param or 0],
                b=param_names[shown[-1].param or 0],
            )
            if self.ascii_only:  # an en dash would become a minus: w1-w30 reads as a subtraction
                note = note.replace("–", "..")
            rows.append([Cell(self._t(note), "dim italic")])
        else:
            room = table_rows
        for start in range(first * per_row, min(len(cells), (first + room) * per_row), per_row):
            row: list[Cell] = []
            for cell, cell_width in zip(cells[start : start + per_row], widths):
                row += [Cell(_pad(cell.text, cell_width), cell.style, cell.param), Cell("  ")]
            rows.append(row[:-1])
        return rows, level

    def _marked(self, flow: Flow | None, cell: Cell) -> Cell:
        """A table's parameter with the fine-stepping mark in front, if it has one."""
        if flow is None or cell.param is None:
            return cell
        mark = CURRENT if cell.param == flow.param else READ if cell.param in flow.params else ""
        if not mark:
            return cell
        return Cell(self._t(mark) + cell.text, _bold(cell).style, cell.param, cell.parts)

    def _neuron_rows(self, snap: Snapshot, level: int, width: int, flow: bool) -> list[str]:
        """The neurons' values: a row per layer, or (`flow`) every layer on as few rows as the
        width allows, layers set apart by │."""
        net = snap.scenario.architecture
        marks = substep_flow(snap)
        layers = [
            [self._neuron_text(snap, layer, k, level, marks) for k in range(net.sizes[layer])]
            for layer in range(1, net.depth + 1)
        ]
        # Lines break between neurons, never inside one's numbers (a cut number is a wrong one).
        lines: list[str] = []
        current = ""
        for names in layers:
            if not flow and current:
                lines.append(current)
                current = ""
            for k, name in enumerate(names):
                sep = "" if not current else (self._t(" │ ") if k == 0 else "  ")
                if current and cell_len(current + sep + name) > width:
                    lines.append(current)
                    current = name
                else:
                    current += sep + name
        lines.append(current)
        return lines

    def _neuron_text(
        self, snap: Snapshot, layer: int, k: int, level: int, flow: Flow | None
    ) -> str:
        text = self._neuron_cell(snap, layer, k, False, level).text
        if not snap.fine:
            return text
        delta = self._delta_text(snap, layer, k, level)
        mark = self._mark(flow, (layer, k)).strip()
        return self._t(mark) + text + (" " + delta if delta else "")

    def _assemble(self, rows: list[list[Cell]]) -> Text:
        self._hits = []
        out = Text(no_wrap=True, overflow="crop")
        for y, row in enumerate(rows):
            x = 0
            for cell in row:
                text = cell.text
                out.append(text, cell.style)
                if cell.param is not None:
                    self._hits.append((y, x, x + cell_len(text), cell.param))
                x += cell_len(text)
            if y < len(rows) - 1:
                out.append("\n")
        return out

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for y, x0, x1, param in self._hits:
            if offset.y == y and x0 <= offset.x < x1:
                self.post_message(self.Selected(param))
                return


def _columns(cells: list[Cell], width: int) -> tuple[int, list[int]]:
    """The most cells a row can take within `width` (two spaces apart, each column as wide as
    its widest cell), and the columns' widths."""
    sizes = [cell_len(c.text) for c in cells]
    for per_row in range(min(len(cells), width // (min(sizes) + 2) + 1), 0, -1):
        widths = [max(sizes[c::per_row]) for c in range(per_row)]
        if sum(widths) + 2 * (per_row - 1) <= width:
            return per_row, widths
    return 1, [max(sizes)]


def _signed(x: float, digits: int) -> str:
    """The shorter of fixed and scientific notation, with its sign (readable without colour)."""
    text = compact(x, digits)
    return text if text.startswith(MINUS) or text == "nan" else "+" + text


def _bracket(r: int, n: int) -> str:
    if n == 1:
        return "──"
    if r == 0:
        return "─┐"
    return "─┘" if r == n - 1 else "─┤"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_len(text))


def _row_width(row: list[Cell]) -> int:
    return sum(cell_len(c.text) for c in row)


def _align(column: Column) -> Column:
    """Pad every row's first cell, part by part, so the column's rows line up."""
    if not column:
        return column
    widths: list[int] = []
    for row in column:
        for i, part in enumerate(row[0].parts):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], cell_len(part))
    lined = []
    for row in column:
        first = row[0]
        if first.parts:
            text = " ".join(_pad(p, w) for p, w in zip(first.parts, widths)).rstrip()
            first = Cell(text, first.style, first.param, first.parts)
        lined.append([first, *row[1:]])
    lead = max(cell_len(r[0].text) for r in lined)
    return [[Cell(_pad(r[0].text, lead), r[0].style, r[0].param), *r[1:]] for r in lined]


def _bold(cell: Cell) -> Cell:
    style = cell.style if "reverse" in cell.style else "bold"
    return Cell(cell.text, style, cell.param, cell.parts)


def _join(columns: list[Column], gaps: list[int]) -> list[list[Cell]]:
    height = max(len(c) for c in columns)
    widths = [max((_row_width(r) for r in c), default=0) for c in columns]
    rows: list[list[Cell]] = []
    for y in range(height):
        row: list[Cell] = []
        for n, (col, width) in enumerate(zip(columns, widths)):
            # A column after a gapless one begins with its mark's place, rows past its end too.
            blank = " " if n and gaps[n - 1] == 0 else ""
            cells = col[y] if y < len(col) else [Cell(blank)]
            row += cells
            if n < len(columns) - 1:  # no gap after the last column: a column more may fit
                row.append(Cell(" " * (width - _row_width(cells) + gaps[n])))
        rows.append(row)
    return rows
