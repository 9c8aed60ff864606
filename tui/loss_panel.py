"""The loss per step, or the loss along the selected parameter with the tangent (key l)."""

from __future__ import annotations

from textual.reactive import reactive
from textual_plotext import PlotextPlot

from core.i18n import _
from core.landscape import landscape, log_axis, plottable, wants_log_scale
from core.session import Snapshot
from core.text import fmt, to_ascii
from tui.titles import set_titles


class LossPanel(PlotextPlot):
    snapshot: reactive[Snapshot | None] = reactive(None)
    selected: reactive[int] = reactive(0)
    view: reactive[str] = reactive("curve")  # "curve" | "landscape"
    ascii_only: reactive[bool] = reactive(False)

    def watch_snapshot(self) -> None:
        self._replot()

    def watch_selected(self) -> None:
        if self.view == "landscape":
            self._replot()

    def watch_view(self) -> None:
        self._replot()

    def on_resize(self) -> None:
        self._replot()

    def _marker(self) -> str:
        return "*" if self.ascii_only else "braille"

    def _replot(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        plt = self.plt
        plt.clear_figure()  # size and theme are set again when the widget renders
        landscape_view = self.view == "landscape"
        title = self._plot_landscape(snap) if landscape_view else self._plot_curve(snap)
        set_titles(self, to_ascii(title) if self.ascii_only else title)
        self.refresh()

    def _plot_curve(self, snap: Snapshot) -> str:
        plt = self.plt
        points = max(2 * self.size.width, 16)
        curve = snap.history.curve(snap.revealed_losses, points)
        if not curve:
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            return _("Loss J per step")
        last = curve[-1][1]
        steps, losses = plottable([s for s, _ in curve], [v for _, v in curve])
        # plotext's own log scale trips over its own state; plot log₁₀ J with labelled ticks.
        log = wants_log_scale(losses)
        plt.xlim(0, max(curve[-1][0], 1))
        plt.ylim(None, None)
        if log:
            # Only as many ticks as there are rows for; plotext drops extras unpredictably.
            losses, ticks, labels = log_axis(losses, max(2, (self.size.height - 3) // 2))
            plt.yticks(ticks, labels)
        if steps:
            plt.plot(steps, losses, marker=self._marker())
        title = _("Loss J per step") + f" · {fmt(last, 4)}"
        return title + (" · log" if log else "")

    def _plot_landscape(self, snap: Snapshot) -> str:
        plt = self.plt
        land = landscape(snap, self.selected)
        name = snap.scenario.param_names[self.selected]
        xs, ys = plottable(land.xs, land.losses)
        if not xs:
            return _("J along {name}: no finite values to draw").format(name=name)
        plt.xlim(xs[0], xs[-1])
        plt.ylim(None, None)
        plt.plot(xs, ys, marker=self._marker())
        if land.tangent is not None:
            (x0, y0), (x1, y1) = land.tangent
            plt.plot([x0, x1], [y0, y1], marker=self._marker(), color="red")
        x, y = land.current
        plt.scatter([x], [y], marker="O" if self.ascii_only else "●", color="yellow")
        title = _("J along {name}").format(name=name)
        if land.slope is not None:
            title += " · " + _("slope ∂J/∂{name} = {value}").format(
                name=name, value=fmt(land.slope, 4)
            )
        return title
