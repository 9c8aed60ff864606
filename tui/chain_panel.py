"""The chain rule for the selected parameter, with the numbers in it, as core explains it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from core.explain import Line, explain, render
from core.session import Snapshot
from core.text import fmt, to_ascii

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
        width = max(self.scrollable_content_region.width - 1, 20)
        lines: list[Line] = []
        n = len(snap.scenario.samples)
        if n > 1:
            data = snap.scenario.samples[self.sample]
            xs = ", ".join(fmt(v) for v in data.x)
            ys = ", ".join(fmt(v) for v in data.y)
            lines.append([(f"sample {self.sample + 1} of {n}: x = ({xs}), y = ({ys})", "plain")])
        lines += render(ex, width, SECTIONS)
        title = f"Chain rule · {ex.param.name}"
        self.border_title = to_ascii(title) if self.ascii_only else title
        self.query_one("#chain-body", Static).update(self._text(lines))
        overflow = len(lines) > self.scrollable_content_region.height
        self.border_subtitle = "↑↓ more" if overflow else ""

    def _text(self, lines: list[Line]) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, line in enumerate(lines):
            for text, tag in line:
                out.append(to_ascii(text) if self.ascii_only else text, STYLES.get(tag, ""))
            if i < len(lines) - 1:
                out.append("\n")
        return out
