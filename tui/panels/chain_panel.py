"""The chain rule for the selected parameter, with the numbers in it, as core explains it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from core.stepping.session import Phase, Snapshot
from core.teaching.explain import (
    COMPACT_LEVELS,
    Explanation,
    Line,
    explain,
    explain_substep,
    render,
    render_substep,
)
from core.text.format import fmt, to_ascii, width_of, wrap
from core.text.i18n import _
from tui.panels.lesson_panel import LessonPanel
from tui.panels.titles import set_titles

# The sum over paths before the chain that uses it, the update after; then where the factors
# came from. Before the backward pass, the forward pass and the loss being computed come first.
TEACHING = ("paths", "chain", "mean_gradient", "update")
DETAILS = ("forward", "loss", "mean_loss")
EARLY = (Phase.READY, Phase.FORWARD, Phase.LOSS)
NATURAL = DETAILS + TEACHING  # the order in which a step computes them

STYLES = {
    "symbol": "bold",
    "formula": "italic",
    "number": "",
    "unknown": "bold reverse",
    "result": "bold",
    "plain": "",
}


def sections(phase: Phase, long_update: bool = False) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """All sections in screen order, and those that must show unscrolled: this phase's work.
    `long_update`: an optimizer's lines (momentum, Adam…), which the update phase shows first."""
    if phase in EARLY:
        return NATURAL, DETAILS
    if long_update and phase is Phase.UPDATE:
        return ("update", *TEACHING[:-1], *DETAILS), ("update",)
    now = TEACHING if phase is Phase.UPDATE else TEACHING[:-1]
    return TEACHING + DETAILS, now


class ChainRulePanel(VerticalScroll):
    """Scrolls when the explanation is taller than the panel (arrow keys, page keys, wheel)."""

    ALLOW_MAXIMIZE = True  # m: a container would not be, by default

    # The watchers repaint what changed (the body, a title): a repaint of it all costs a frame.
    snapshot: reactive[Snapshot | None] = reactive(None, repaint=False)
    selected: reactive[int] = reactive(0, repaint=False)
    sample: reactive[int] = reactive(0, repaint=False)
    ascii_only: reactive[bool] = reactive(False)

    _line_count = -1  # lines of the body as last drawn (the explanation and any padding)
    rows = 0  # lines of the explanation as last drawn
    _tallest: tuple[object, int] = ((), 0)  # (what the layout depends on, most lines since)
    _sections: dict[tuple[str, int, int], list[Line]]  # this refresh's: see _render_sections
    _shared: tuple[int, bool] = (-1, False)  # (rows, maximized) when the lesson last fitted in

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

    def _room(self) -> int:
        """Rows the explanation may fill: beside a folded lesson, all but the lesson's few."""
        own = self.scrollable_content_region.height
        column = self.parent
        if self.has_class("-maximized") or not isinstance(column, LeftColumn):
            return own
        lesson = column.lesson
        if lesson is None or not lesson.display or not lesson.folded:
            return own
        frame = self.outer_size.height - own
        return column.content_size.height - frame - lesson.least_rows

    def _lines_for(
        self, ex: Explanation, width: int, order: tuple[str, ...], level: int
    ) -> list[Line]:
        snap = self.snapshot
        if snap is not None and snap.fine and "chain" in order:
            # Fine stepping: the selected parameter's chain points to the δ step it reuses.
            at = order.index("chain") + 1
            order = (*order[:at], "delta", *order[at:])
        step = None if snap is None else snap.current
        here = (ex.param.layer, ex.param.to)
        if step is not None and step.kind == "forward" and (step.layer, step.index) == here:
            order = tuple(o for o in order if o != "forward")  # the sub-step shows it above
        lines = self._render_sections(ex, width, order, level)
        if not self.ascii_only:
            return lines
        # ASCII spells some symbols longer (ŷ is y^): narrow the layout until it fits.
        target = width
        for _attempt in range(4):
            widest = max((width_of(to_ascii("".join(s[0] for s in ln))) for ln in lines), default=0)
            if widest <= target or width <= 20:
                break
            width = max(width - (widest - target), 20)
            lines = self._render_sections(ex, width, order, level)
        return lines

    def _render_sections(
        self, ex: Explanation, width: int, order: tuple[str, ...], level: int
    ) -> list[Line]:
        """render(ex, width, order, compact=level): each section worked out once a refresh,
        however many layouts are tried (render joins its sections' lines, nothing more)."""
        lines: list[Line] = []
        for section in order:
            key = (section, width, level)
            if key not in self._sections:
                self._sections[key] = render(ex, width, (section,), compact=level)
            lines += self._sections[key]
        return lines

    def _layout(self, ex: Explanation, width: int, room: int, phase: Phase) -> list[Line]:
        """In the order computed if all of it fits, else what this phase computes first, in the
        least compact layout that shows it without scrolling."""
        for level in COMPACT_LEVELS[:2]:
            lines = self._lines_for(ex, width, NATURAL, level)
            if len(lines) <= room:
                return lines
        order, now = sections(phase, bool(ex.optimizer))
        for level in COMPACT_LEVELS:
            if len(self._lines_for(ex, width, now, level)) <= room:
                break
        return self._lines_for(ex, width, order, level)

    def _refresh_body(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        ex = explain(snap, self.selected, self.sample)
        self._sections = {}
        width = max(self.scrollable_content_region.width, 20)
        head: list[Line] = []
        n = len(snap.scenario.samples)
        if n > 1:
            data = snap.scenario.samples[self.sample]
            xs = ", ".join(fmt(v) for v in data.x)
            ys = ", ".join(fmt(v) for v in data.y)
            text = _("sample {k} of {n}: x = ({xs}), y = ({ys})").format(
                k=self.sample + 1, n=n, xs=xs, ys=ys
            )
            head += [[(line, "plain")] for line in wrap(self._t(text), width)]
        step = explain_substep(snap, self.sample)
        if step is not None:
            # Fine stepping: what the sub-step just done computed comes first.
            shown = render_substep(step, width)
            narrower = width
            for _attempt in range(4 if self.ascii_only else 0):
                widest = max(
                    (width_of(to_ascii("".join(s[0] for s in ln))) for ln in shown), default=0
                )
                if widest <= width or narrower <= 20:
                    break
                narrower = max(narrower - (widest - width), 20)
                shown = render_substep(step, narrower)
            head += [*shown, [("", "plain")]]
        lines = head + self._layout(ex, width, self._room() - len(head), snap.phase)
        title = _("Chain rule · {name}").format(name=ex.param.name)
        if self.has_class("-maximized"):
            title += " · " + _("m or esc restores")
        set_titles(
            self,
            self._t(title),
            self._t(_("↑↓ more")) if len(lines) > self.scrollable_content_region.height else "",
        )
        # A layout pass only when the body's height changes: it costs ~10 ms a step.
        body = self._body_rows(len(lines), snap)
        self.query_one("#chain-body", Static).update(
            self._text(lines, body), layout=body != self._line_count
        )
        state = (len(lines), self.has_class("-maximized"))
        self._line_count, self.rows = body, len(lines)
        if state != self._shared and isinstance(self.parent, LeftColumn):
            self._shared = state
            self.parent.share_rows()  # the folded lesson gets what is left

    def _body_rows(self, count: int, snap: Snapshot) -> int:
        """Rows for the body of `count` lines: the panel's when they fit, else the most lines
        shown since the layout last changed. A number one digit longer that wraps a line then
        neither moves the panel's content nor costs the whole screen a layout pass."""
        visible = self.scrollable_content_region.height
        shape = (
            snap.phase,
            snap.current,
            self.selected,
            self.sample,
            self.size,
            self.has_class("-maximized"),
            self.ascii_only,
        )
        if count <= visible:
            self._tallest = (shape, 0)
            # Beside a folded lesson the body is exactly as tall as its lines (share_rows).
            return count if self._room() != visible else visible
        tallest = max(count, self._tallest[1]) if self._tallest[0] == shape else count
        self._tallest = (shape, tallest)
        return tallest

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def _text(self, lines: list[Line], rows: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, line in enumerate(lines):
            for text, tag in line:
                out.append(to_ascii(text) if self.ascii_only else text, STYLES.get(tag, ""))
            if i < len(lines) - 1:
                out.append("\n")
        out.append("\n" * (rows - len(lines)))  # blank rows below: see _body_rows
        return out


class LeftColumn(Vertical):
    """The chain rule above the lesson: a folded lesson gets the rows the chain rule leaves."""

    @property
    def lesson(self) -> LessonPanel | None:
        return next((w for w in self.children if isinstance(w, LessonPanel)), None)

    def on_resize(self) -> None:
        self.share_rows()

    def share_rows(self) -> None:
        lesson = self.lesson
        chain = next((w for w in self.children if isinstance(w, ChainRulePanel)), None)
        if lesson is None or chain is None:
            return
        if not lesson.folded or chain.has_class("-maximized"):
            lesson.grant(None)
            return
        frame = chain.outer_size.height - chain.scrollable_content_region.height
        free = self.content_size.height - frame - chain.rows
        lesson.grant(max(lesson.least_rows, free))
