"""The chain rule for the selected parameter, with the numbers in it, as core explains it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from core.explain import Line, explain, render
from core.i18n import _
from core.session import Snapshot
from core.text import fmt, to_ascii
from tui.titles import set_titles

# The chain rule and the update first; then where its factors came from.
SECTIONS = ("chain", "mean", "update", "paths", "forward", "loss")

STYLES = {
    "symbol": "bold",
    "formula": "italic",
    "number": "",
    "unknown": "bold reverse",
    "result": "bold",
    "plain": "",
}


class ChainRulePanel(VerticalScroll):
    """Scrolls when the explanation is taller than the panel (arrow keys, page keys, wheel)."""

    snapshot: reactive[Snapshot | None] = reactive(None)
    selected: reactive[int] = reactive(0)
    sample: reactive[int] = reactive(0)
    ascii_only: reactive[bool] = reactive(False)

    _line_count = -1

    def compose(self) -> ComposeResult:
        yield Static(id="chain-body")

    def watch_snapshot(self) -> None:
        self._refresh_body()

    def watch_selected(self) -> None:
        self._refresh_body()

    def watch_sample(self) -> None:
        self._refresh_body()

    def on_resize(self) -> None:
        self._refresh_body()

    def _refresh_body(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        ex = explain(snap, self.selected, self.sample)
        width = max(self.scrollable_content_region.width, 20)
        lines: list[Line] = []
        n = len(snap.scenario.samples)
        if n > 1:
            data = snap.scenario.samples[self.sample]
            xs = ", ".join(fmt(v) for v in data.x)
            ys = ", ".join(fmt(v) for v in data.y)
            head = _("sample {k} of {n}: x = ({xs}), y = ({ys})").format(
                k=self.sample + 1, n=n, xs=xs, ys=ys
            )
            lines.append([(head, "plain")])
        lines += render(ex, width, SECTIONS)
        title = _("Chain rule · {name}").format(name=ex.param.name)
        set_titles(
            self,
            self._t(title),
            self._t(_("↑↓ more")) if len(lines) > self.scrollable_content_region.height else "",
        )
        # A layout pass only when the body's height changes: it costs ~10 ms a step.
        self.query_one("#chain-body", Static).update(
            self._text(lines), layout=len(lines) != self._line_count
        )
        self._line_count = len(lines)

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def _text(self, lines: list[Line]) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, line in enumerate(lines):
            for text, tag in line:
                out.append(to_ascii(text) if self.ascii_only else text, STYLES.get(tag, ""))
            if i < len(lines) - 1:
                out.append("\n")
        return out
