"""Textual's Linux/macOS driver, sending only the cells that changed (see tui.diff_output).

Used for a real terminal only (tui.cli.run_app); BACKPROP_TUI_FULL_REDRAW=1 turns it off.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from tui.diff_output import DiffWriter

if TYPE_CHECKING:
    from textual.app import App

FULL_REDRAW_ENV = "BACKPROP_TUI_FULL_REDRAW"


def wanted(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Whether the app should draw through DiffDriver: a POSIX terminal, no driver named by the
    environment (textual-serve names its web driver in TEXTUAL_DRIVER), and no escape hatch."""
    return (
        os.name == "posix"
        and not environ.get("TEXTUAL_DRIVER")
        and environ.get(FULL_REDRAW_ENV, "").strip() in ("", "0")
    )


class DiffDriver(LinuxDriver):
    """LinuxDriver whose output goes through a DiffWriter, which forgets on every resize."""

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.diff = DiffWriter()
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread inside write(), to spot a signal handler

    def write(self, data: str) -> None:
        me = threading.get_ident()
        if self._owner == me:
            # Re-entered from a signal handler (SIGTSTP/SIGCONT) in the middle of a write: send
            # it as it is, and make the interrupted write pass its chunk through too.
            self.diff.reset()
            super().write(data)
            return
        with self._lock:
            self._owner = me
            try:
                out = self.diff.rewrite(data)
                if out:
                    super().write(out)
            finally:
                self._owner = None

    def _real_size(self, fallback: tuple[int, int]) -> tuple[int, int]:
        """The size of the terminal written to (Textual asks stdout, and honours COLUMNS)."""
        try:
            columns, lines = os.get_terminal_size(self._file.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            return fallback
        return columns, lines

    def _get_terminal_size(self) -> tuple[int, int]:
        # Called at start-up and on every SIGWINCH (from the signal handler: resize() only
        # leaves a request), before the app hears of the new size.
        size = super()._get_terminal_size()
        self.diff.resize(self._real_size(size))
        return size

    def process_message(self, message: Message) -> None:
        # Resizes reported in-band (DEC mode 2048) arrive here, on the input thread.
        if isinstance(message, events.Resize):
            self.diff.resize(self._real_size((message.size.width, message.size.height)))
        super().process_message(message)

    def start_application_mode(self) -> None:
        self.diff.reset()  # also after a suspend (ctrl+z): the screen was someone else's
        super().start_application_mode()  # type: ignore[no-untyped-call]
