"""The lesson: the scenario's short note for this phase (and step), beside the other panels."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from core.i18n import _, language
from core.session import Snapshot
from core.text import to_ascii, wrap


class LessonPanel(Static):
    snapshot: reactive[Snapshot | None] = reactive(None)
    ascii_only: reactive[bool] = reactive(False)

    _shown: str | None = None

    def on_mount(self) -> None:
        self.border_title = self._t(_("Lesson · n hides"))
        self._show()

    def watch_snapshot(self) -> None:
        self._show()

    def on_resize(self) -> None:
        self._show()

    def _t(self, text: str) -> str:
        return to_ascii(text) if self.ascii_only else text

    def _show(self) -> None:
        snap = self.snapshot
        if snap is None or not self.is_mounted:
            return
        lessons = snap.scenario.lessons
        lesson = lessons.get(language()) or lessons.get("en")
        note = self._t(lesson.note(snap.step, snap.phase.value) if lesson else "")
        # Wrapped here, not by Textual, so Chinese (no spaces) breaks between characters.
        text = "\n".join(wrap(note, max(self.content_size.width, 20)))
        if text != self._shown:  # an unchanged note costs nothing on the link
            self._shown = text
            self.update(text)
