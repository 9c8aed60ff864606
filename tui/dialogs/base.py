"""What every dialog shares: it closes once, and writes its text as this terminal can show it."""

from __future__ import annotations

from textual.screen import ModalScreen, ScreenResultType

from core.text.format import to_ascii


class Dialog(ModalScreen[ScreenResultType]):
    """A modal that closes once: a second enter, click or esc in the same moment is ignored.

    tab and shift+tab move focus within it: the app's own keys do not act behind a dialog
    (BackpropApp.check_action)."""

    _answered = False

    def close(self, result: ScreenResultType) -> None:
        if not self._answered and self.is_current:
            self._answered = True
            self.dismiss(result)

    def action_cancel(self) -> None:
        self.close(None)  # type: ignore[arg-type]

    def t(self, text: str) -> str:
        """Text as this terminal can show it (--ascii spells the glyphs out)."""
        return to_ascii(text) if getattr(self.app, "ascii_only", False) else text
