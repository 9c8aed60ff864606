"""The loss per step, the loss along the selected parameter with the tangent, or (two inputs)
the decision boundary over the input plane: key l cycles them.

The axes are ours (core.teaching.axes): plotext draws at the limits we give it and writes the tick
labels we choose, so every label sits on the row or column it names.
"""

from __future__ import annotations

import math

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual_plotext import PlotextPlot

from core.stepping.branches import RunsView, path
from core.stepping.session import Snapshot
from core.teaching import boundary as plane
from core.teaching.axes import Axis, linear_axis, log_axis, spread_axis
from core.teaching.landscape import landscape, plottable, wants_log_scale
from core.text.format import fmt, to_ascii
from core.text.i18n import _
from tui.panels.plane import boundary_lines, glyph, with_axes
from tui.panels.titles import set_titles

OVERHEAD = 2  # rows that are not plotting area: the x axis line and its labels (no top frame)
# Side-by-side runs are told apart by their markers (colour only helps): the main run draws
# the usual line, each branch a character of its own.
RUN_MARKERS = ("x", "+", "%", "#", "@")
RUN_COLORS = ("magenta", "green", "blue", "red", "yellow")
MAIN_GLYPH = {False: "⠤", True: "*"}  # the main run's line as the legend shows it (by ascii_only)
MAIN_POINT = "o"  # the main run's marker on the landscape, where its line is the curve's


class LossPanel(PlotextPlot):
    snapshot: reactive[Snapshot | None] = reactive(None)
    selected: reactive[int] = reactive(0)
    view: reactive[str] = reactive("curve")  # "curve" | "landscape" | "boundary"
    ascii_only: reactive[bool] = reactive(False)
    runs: reactive[RunsView | None] = reactive(None)  # with branches: every run (the app's)
    _map_key: tuple[object, ...] = ()
    _map: Text | None = None

    def watch_snapshot(self) -> None:
        self._replot()

    def watch_runs(self, runs: RunsView | None) -> None:
        # The app hands the runs over just before the active run's snapshot: draw once, then.
        if runs is not None and runs.current.snapshot is self.snapshot:
            self._replot()

    def watch_selected(self) -> None:
        if self.view == "landscape":
            self._replot()

    def watch_view(self) -> None:
        self._replot()

    def watch_ascii_only(self) -> None:
        self._replot()

    def on_resize(self) -> None:
        self._replot()

    def _marker(self) -> str:
        return "*" if self.ascii_only else "braille"

    def _point_marker(self) -> str:
        """A whole cell for the point the title's number is about (a braille dot is too small)."""
        return "O" if self.ascii_only else "●"

    def _factors(self) -> tuple[int, int]:
        """Sub-cells per cell that plotext uses for the line marker, across and down."""
        return (1, 1) if self.ascii_only else (2, 4)

    def _replot(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        plt = self.plt
        plt.clear_figure()  # size and theme are set again when the widget renders
        plt.xaxes(False, False)  # no empty frame while there is nothing to draw
        plt.yaxes(False, False)
        runs = self._runs()
        if self.shown_view() == "boundary":
            titles, subtitles = self._boundary_titles(snap)
        elif self.view == "landscape":
            titles, subtitles = self._plot_landscape(snap)
        elif runs is not None:
            titles, subtitles = self._plot_runs(runs)
        else:
            titles, subtitles = self._plot_curve(snap)
        room = self.outer_size.width - 6  # Textual keeps a corner and a blank on either side
        set_titles(self, self._fit(titles, room), self._fit(subtitles, room))
        self.refresh()

    def shown_view(self) -> str:
        """The view drawn: the boundary only where there is an input plane to draw it on."""
        snap = self.snapshot
        if self.view == "boundary" and (
            snap is None or not plane.applies(snap.scenario.architecture)
        ):
            return "curve"
        return self.view

    def render(self) -> RenderResult:
        if self.shown_view() == "boundary" and self.snapshot is not None:
            return self._boundary(self.snapshot)
        return super().render()

    def _plain(self) -> bool:
        """Shades of ASCII rather than coloured half blocks: --ascii, or NO_COLOR."""
        return bool(self.ascii_only or self.app.no_color)

    def _boundary(self, snap: Snapshot) -> Text:
        """The map for the current parameters, remade only when they or the size change."""
        plain = self._plain()
        key = (snap.scenario, snap.params, self.size, plain)
        if key != self._map_key or self._map is None:
            x, y = plane.plane_axes(snap.scenario.samples, self.size.width, self._rows())
            halves = plane.halves_within(snap.scenario, x, y, 1 if plain else 2)
            if halves is None:
                text = _("Too many parameters to map the plane at this size.")
                self._map_key, self._map = key, Text(to_ascii(text) if self.ascii_only else text)
            else:
                b = plane.boundary(snap.scenario, snap.params, x, y, halves)
                self._map_key, self._map = key, with_axes(b, boundary_lines(b, plain))
        return self._map

    def _boundary_titles(self, snap: Snapshot) -> tuple[list[str], list[str]]:
        sc = snap.scenario
        outputs = sc.architecture.sizes[-1]
        if outputs > 1:
            legend = [
                _("{first} to {last}: class (largest y)").format(
                    first=glyph(outputs, 0), last=glyph(outputs, outputs - 1)
                ),
                "",
            ]
        else:
            low, high = plane.target_range(sc.samples)
            o, x = glyph(1, 0), glyph(1, 1)
            legend = [
                _("{o}: y = {low} · {x}: y = {high}").format(
                    o=o, x=x, low=fmt(low), high=fmt(high)
                ),
                f"{o} {fmt(low)} · {x} {fmt(high)}",
                "",
            ]
        return [_("Decision boundary"), _("Boundary")], legend

    def _fit(self, candidates: list[str], room: int) -> str:
        """The first (longest) wording that fits the border whole: it is never cut with "…"."""
        texts = [to_ascii(t) if self.ascii_only else t for t in candidates]
        return next((t for t in texts if cell_len(t) <= room), texts[-1] if texts else "")

    def _rows(self) -> int:
        return max(1, self.size.height - OVERHEAD)

    def _columns(self, y: Axis) -> int:
        """Canvas columns left beside the y labels and the y axis line."""
        label = max((len(t) for t in y.labels), default=0)
        return max(2, self.size.width - label - 1)

    def _draw_axes(self, x: Axis, y: Axis) -> None:
        fx, fy = self._factors()
        self.plt.xaxes(True, False)  # no frame line on top: that row goes to the plot
        self.plt.yaxes(True, False)
        self.plt.xlim(*x.limits(fx))
        self.plt.ylim(*y.limits(fy))
        self.plt.xticks(list(x.ticks), list(x.labels))
        self.plt.yticks(list(y.ticks), list(y.labels))

    def _mark(self, x: Axis, y: Axis, at: tuple[float, float], color: str) -> None:
        """A one-character marker at the centre of the cell that holds the point."""
        cx, cy = x.centre(x.cell(at[0])), y.centre(y.cell(y.to_plot(at[1])))
        self.plt.scatter([cx], [cy], marker=self._point_marker(), color=color)

    def _plot_curve(self, snap: Snapshot) -> tuple[list[str], list[str]]:
        points = max(2 * self.size.width, 16)
        curve = snap.history.curve(snap.revealed_losses, points)
        if not curve:
            return [_("Loss J per step")], [_("no loss yet"), ""]
        last_step, last = curve[-1]
        steps, losses = plottable([s for s, _ in curve], [v for _, v in curve])
        if not steps:
            return self._curve_titles(_("linear"), last), [""]
        y = _value_axis(losses, self._rows())
        if y is None:
            return self._curve_titles(_("linear"), last), [""]
        x = spread_axis(0, max(last_step, 1), self._columns(y), whole=True)
        self._draw_axes(x, y)
        self.plt.plot(steps, [y.to_plot(v) for v in losses], marker=self._marker())
        if math.isfinite(last) and steps[-1] == last_step:
            self._mark(x, y, (last_step, last), "cyan")
        return self._curve_titles(_("log") if y.log else _("linear"), last), [""]

    def _curve_titles(self, scale: str, last: float) -> list[str]:
        value = fmt(last, 4)
        return [
            _("Loss J per step · {scale} · {value}").format(scale=scale, value=value),
            _("Loss J · {scale} · {value}").format(scale=scale, value=value),
            _("J · {scale} · {value}").format(scale=scale, value=value),
        ]

    def _plot_landscape(self, snap: Snapshot) -> tuple[list[str], list[str]]:
        land = landscape(snap, self.selected)
        name = snap.scenario.param_names[self.selected]
        xs, ys = plottable(land.xs, land.losses)
        here, j = land.current
        if not xs:
            return [
                _("J along {name}: no finite values to draw").format(name=name),
                _("J({name}): nothing to draw").format(name=name),
            ], [""]
        y = _value_axis([*ys, j], self._rows(), log=False)
        if y is None:
            return [_("J({name}): nothing to draw").format(name=name)], [""]
        x = spread_axis(xs[0], xs[-1], self._columns(y))
        self._draw_axes(x, y)
        self.plt.plot(xs, ys, marker=self._marker())
        if land.tangent is not None:
            (x0, y0), (x1, y1) = land.tangent
            self.plt.plot([x0, x1], [y0, y1], marker=self._marker(), color="red")
        self._mark_runs(x, y)  # first: where runs stand together, the active one shows
        self._mark(x, y, (here, j), "yellow")
        value, scale = fmt(j, 4), _("linear")
        titles = [
            _("J along {name} · {scale} · {value}").format(name=name, scale=scale, value=value),
            _("J({name}) · {scale} · {value}").format(name=name, scale=scale, value=value),
            _("J({name}) · {value}").format(name=name, value=value),
        ]
        if land.slope is None:
            return titles, [*self._legends(), ""]
        slope = fmt(land.slope, 4)
        return titles, [
            _("slope ∂J/∂{name} = {value}").format(name=name, value=slope),
            _("slope {value}").format(value=slope),
        ]

    # -- side-by-side runs ----------------------------------------------------------------

    def _runs(self) -> RunsView | None:
        """The runs to overlay: only while there are branches and the view is of this snapshot."""
        runs = self.runs
        if runs is None or len(runs.runs) < 2 or runs.current.snapshot is not self.snapshot:
            return None
        return runs

    def _run_marker(self, index: int) -> str:
        return self._marker() if index == 0 else RUN_MARKERS[(index - 1) % len(RUN_MARKERS)]

    def _run_color(self, index: int) -> str | None:
        return None if index == 0 else RUN_COLORS[(index - 1) % len(RUN_COLORS)]

    def _legends(self) -> list[str]:
        """The legend, longest first: each run's marker and label, the active one in [ ]."""
        runs = self._runs()
        if runs is None:
            return []
        main = MAIN_POINT if self.view == "landscape" else MAIN_GLYPH[self.ascii_only]
        glyphs = [main] + [self._run_marker(i) for i in range(1, len(runs.runs))]

        def entry(i: int, text: str) -> str:
            return escape(f"[{text}]") if i == runs.active else text  # not a markup tag

        full = [entry(i, f"{glyphs[i]} {r.label}") for i, r in enumerate(runs.runs)]
        named = [full[i] if i == runs.active else glyphs[i] for i in range(len(runs.runs))]
        short = [entry(i, glyphs[i]) for i in range(len(runs.runs))]
        return ["  ".join(full), " ".join(named), " ".join(short)]

    def _plot_runs(self, runs: RunsView) -> tuple[list[str], list[str]]:
        """Every run's loss per step on one pair of axes, each from the step it branched at."""
        points = max(2 * self.size.width, 16)
        curves = []
        for run in runs.runs:
            snap = run.snapshot
            curve = snap.history.curve(snap.revealed_losses, points)
            steps, losses = plottable([run.at + s for s, _ in curve], [v for _, v in curve])
            curves.append((steps, losses))
        active = runs.current
        own = active.snapshot.history.curve(active.snapshot.revealed_losses, 2)
        last = own[-1][1] if own else math.nan
        titles = self._run_titles(active.label, last)
        values = [v for _, losses in curves for v in losses]
        y = _value_axis(values, self._rows()) if values else None
        if y is None:
            return titles, [*self._legends(), ""]
        end = max((steps[-1] for steps, _ in curves if steps), default=1)
        x = spread_axis(0, max(end, 1), self._columns(y), whole=True)
        self._draw_axes(x, y)
        order = [i for i in range(len(curves)) if i != runs.active] + [runs.active]
        for i in order:  # the active run last: on top where runs share their first steps
            steps, losses = curves[i]
            if steps:
                self.plt.plot(
                    steps,
                    [y.to_plot(v) for v in losses],
                    marker=self._run_marker(i),
                    color=self._run_color(i),
                )
        if own and math.isfinite(last):
            self._mark(x, y, (active.at + own[-1][0], last), "cyan")
        return self._run_titles(active.label, last, _("log") if y.log else _("linear")), [
            *self._legends(),
            "",
        ]

    def _run_titles(self, label: str, last: float, scale: str = "") -> list[str]:
        value = "?" if math.isnan(last) else fmt(last, 4)
        scale = scale or _("linear")
        return [
            _("{run}: loss J per step · {scale} · {value}").format(
                run=label, scale=scale, value=value
            ),
            _("{run}: J · {scale} · {value}").format(run=label, scale=scale, value=value),
            _("{run}: J {value}").format(run=label, value=value),
            _("J {value}").format(value=value),
        ]

    def _mark_runs(self, x: Axis, y: Axis) -> None:
        """Where the other runs stand (their value of the parameter, their J) and, with a single
        trained parameter (their paths then lie on this curve), the path each run took."""
        runs = self._runs()
        if runs is None:
            return
        single = sum(runs.current.snapshot.scenario.architecture.trainable) == 1
        for i, run in enumerate(runs.runs):
            points = list(path(run.snapshot, self.selected)) if single else []
            if i != runs.active:
                ev = run.snapshot.evaluation
                points.append((ev.params[self.selected], ev.loss))
            cells = [c for c in (_cell(x, y, p) for p in points) if c is not None]
            if cells:
                self.plt.scatter(
                    [x.centre(cx) for cx, _ in cells],
                    [y.centre(cy) for _, cy in cells],
                    marker=self._run_marker(i) if i else MAIN_POINT,
                    color=self._run_color(i),
                )


def _cell(x: Axis, y: Axis, point: tuple[float, float]) -> tuple[int, int] | None:
    """The cell a (θ, J) point is drawn in, if it is inside the plot."""
    theta, loss = point
    if not (math.isfinite(theta) and math.isfinite(loss)) or (y.log and loss <= 0.0):
        return None
    cx, cy = x.cell(theta), y.cell(y.to_plot(loss))
    return (cx, cy) if 0 <= cx < x.cells and 0 <= cy < y.cells else None


def _value_axis(values: list[float], rows: int, log: bool | None = None) -> Axis | None:
    """The y axis for finite values: log₁₀ when they span three orders of magnitude."""
    if log is None:
        log = wants_log_scale(values)
    low, high = min(values), max(values)
    if log:
        return log_axis(low, high, rows)
    try:
        axis = linear_axis(low, high, rows, floor=0.0)
    except (ValueError, OverflowError):
        axis = None
    if axis is None or not all(math.isfinite(v) for v in axis.limits(4)):
        return log_axis(low, high, rows) if low > 0 else None  # beyond what a linear axis spans
    return axis
