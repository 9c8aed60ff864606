"""The lesson: the scenario's short note for this phase (and step), beside the other panels."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from core.stepping.session import Snapshot, StatusKind
from core.text.format import to_ascii, width_of, wrap
from core.text.i18n import _, language

FOLDED_ROWS = 2  # a folded lesson (a short terminal) keeps at least this many lines


class LessonPanel(Static):
    # The watchers repaint what changed (the body, a title): a repaint of it all costs a frame.
    snapshot: reactive[Snapshot | None] = reactive(None, repaint=False)
    ascii_only: reactive[bool] = reactive(False)

    _shown: str | None = None
    _lines: list[str] = []  # the note wrapped to the panel's width
    _rows: int | None = None  # lines granted while folded (None: as many as it has)
    _height: int | None = None  # the height set while folded

    def on_mount(self) -> None:
        self.border_title = self._t(_("Lesson · n hides"))
        self._show()

    def watch_snapshot(self) -> None:
        self._show()

    def on_resize(self) -> None:
        self._show()

    @property
    def folded(self) -> bool:
        """In a short terminal the lesson has no border and only the rows the chain rule leaves."""
        return self.is_mounted and self.screen.has_class("-short")

    @property
    def least_rows(self) -> int:
        return min(FOLDED_ROWS, max(len(self._lines), 1))

    def grant(self, rows: int | None) -> None:
        """Show at most `rows` lines (None: all of the note)."""
        if rows != self._rows:
            self._rows = rows
            self._paint()

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def note(self, snap: Snapshot) -> str:
        if snap.status.kind is StatusKind.DIVERGED:
            # The scenario's note would describe a training that converges.
            return _(
                "Training diverged: with this learning rate each step overshoots and the loss "
                "grows. Press − to lower the rate and u to undo the steps that blew up."
            )
        lessons = snap.scenario.lessons
        lesson = lessons.get(language()) or lessons.get("en")
        return lesson.note(snap.step, snap.phase.value) if lesson else ""

    def _show(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        # Wrapped here, not by Textual, so Chinese (no spaces) breaks between characters.
        lines = wrap(self._t(self.note(snap)), self._width())
        if lines != self._lines:
            self._lines = lines
            column = self.parent
            share = getattr(column, "share_rows", None)
            if callable(share):
                share()  # it grants the rows, and paints
        self._paint()

    def _width(self) -> int:
        return max(self.content_size.width, 20)

    def _paint(self) -> None:
        lines = list(self._lines)
        folded = self.folded and self._rows is not None
        if folded and self._rows is not None and len(lines) > self._rows:
            lines = lines[: self._rows]
            lines[-1] = _ellipsized(lines[-1], self._width(), self._t(" …"))
        text = "\n".join(lines)
        height = max(len(lines), 1) if folded else None
        if height != self._height:  # folded, a height of its own; else the stylesheet's
            self._height = height
            if height is None:
                self.styles.clear_rule("height")
            else:
                self.styles.height = height
        if text != self._shown:  # an unchanged note costs nothing on the link
            self._shown = text
            self.update(text)


def _ellipsized(line: str, width: int, mark: str) -> str:
    """The line cut to end in `mark` a column short of `width`, never inside a word or number."""
    out = line
    while out and width_of(out) + width_of(mark) + 1 > width:
        cut = out.rfind(" ")
        if cut > 0 and width_of(out[-1]) == 1:
            out = out[:cut].rstrip()  # drop the last word
        else:
            out = out[:-1]  # Chinese: drop a character, but not half of a number
            while out and (out[-1].isdigit() or out[-1] == "."):
                out = out[:-1]
    return out.rstrip() + mark
