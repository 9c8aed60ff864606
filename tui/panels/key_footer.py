"""The footer of keys, built at once and again only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[tuple[str, str, bool, str], ...]


class KeyFooter(Footer):
    """Textual's Footer waits for the screen's first word on its bindings before it shows a
    key, then rebuilds all its keys (a layout pass of the whole screen) each time the screen
    says they were updated: after every key, twice during start-up. This one shows them from
    its first frame and rebuilds only when a key appears, goes or greys out."""

    _shown: Shown | None = None

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._bindings_ready = True  # Footer's own flag: the bindings are there from the start

    def compose(self) -> ComposeResult:
        self._shown = _shown(self.screen)
        yield from super().compose()

    def on_mount(self) -> None:
        super().on_mount()
        # The app's first state (focus, the first snapshot) lands after this compose, maybe
        # without a word on the bindings: look again once it has been drawn.
        self.call_after_refresh(lambda: self.bindings_changed(self.screen))

    def bindings_changed(self, screen: Screen[object]) -> None:
        if _shown(screen) != self._shown:
            super().bindings_changed(screen)


def _shown(screen: Screen[object]) -> Shown:
    return tuple(
        (binding.key, binding.description, enabled, tooltip)
        for (_, binding, enabled, tooltip) in screen.active_bindings.values()
        if binding.show
    )
