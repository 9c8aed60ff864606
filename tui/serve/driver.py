"""The app side of `--serve`: textual's WebDriver, made sure to end whatever the browser does.

textual-serve starts one app process per tab and talks to it over stdin/stdout. Every way out
(the tab closed, the server gone, a signal, the app quitting) arms a deadline after which the
process exits, so no app is ever left running without a browser: the deadline of the app's
tui.driver.lifecycle.Ending when it has one (tui.cli.run_app gives it one), else one of our own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from textual import events, messages
from textual.app import App
from textual.drivers.web_driver import WebDriver
from textual.geometry import Size

GRACE = 1.5  # seconds from "leave" to a forced exit (without an Ending); the server kills at 1.8
SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
MAX_CELLS = 1000  # a browser reporting more columns or rows than this is not to be believed


class ServeDriver(WebDriver):
    """WebDriver that leaves when its peer does, coalesces resizes and always obeys SIGTERM."""

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self._write = partial(self._write_or_leave, self._write)
        self._lock = threading.Lock()
        self._leaving = False
        self._deadline: threading.Timer | None = None
        self._size_pending = False
        self._posted_size: Size | None = None

    def _write_or_leave(self, write: Callable[[bytes], int], data: bytes) -> int:
        try:
            return write(data)
        except OSError:  # the server has gone (EPIPE): nobody left to draw for
            self.leave()
            return 0

    # -- starting -------------------------------------------------------------------------

    def start_application_mode(self) -> None:
        """WebDriver's start, with the first size posted before any input can overtake it."""
        # WebDriver hands SIGINT and SIGTERM to the event loop, where a loop that never yields
        # would not see them. tui.cli.run_app's Ending handles signals from outside the loop
        # (and keeps the session); without one, a thread of our own receives them.
        if self._ending() is None and hasattr(signal, "pthread_sigmask"):
            # Blocked here, before any other thread starts, so that every thread inherits it.
            signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
            threading.Thread(target=self._take_signals, name="serve-signals", daemon=True).start()
        self._write(b"__GANGLION__\n")
        self.write("\x1b[?1049h")  # alternate screen
        self._enable_mouse_support()
        self.write("\x1b[?25l")  # hide the cursor
        # WebDriver posts this size from a coroutine, so a resize read from the browser at once
        # can arrive first and the app then settles on the older size. Post it now instead.
        width, height = self._size or (80, 24)
        self._posted_size = Size(width, height)
        self._app.post_message(events.Resize(self._posted_size, self._posted_size))
        self._request_terminal_sync_mode_support()
        self._enable_bracketed_paste()
        self.flush()
        self._key_thread.start()
        # No AppBlur here, unlike WebDriver: our page focuses the terminal as it appears, and a
        # blur posted now could land after the page's "focus" and leave no widget focused.

    def stop_application_mode(self) -> None:
        if self._ending() is None:  # else run_app arms the Ending's watchdog as the app ends
            self._arm_deadline()
        with contextlib.suppress(OSError):  # the server has gone
            super().stop_application_mode()

    # -- leaving --------------------------------------------------------------------------

    def leave(self) -> None:
        """The browser or the server has gone: ask the app to exit, and make sure it does."""
        with self._lock:
            if self._leaving:
                return
            self._leaving = True
        ending = self._ending()
        if ending is not None:
            # The tab was the terminal, and it hung up: keep the session, end within its grace.
            ending.end(signal.SIGHUP)
            return
        self._arm_deadline()
        self._call_in_loop(self._app.post_message, messages.ExitApp())

    def _ending(self) -> Any:
        """tui.driver.lifecycle.Ending of the app, if it has one (tui.cli.run_app gives it one)."""
        ending = getattr(self._app, "lifecycle", None)
        return ending if callable(getattr(ending, "end", None)) else None

    def _arm_deadline(self) -> None:
        with self._lock:
            if self._deadline is not None:
                return
            self._deadline = threading.Timer(GRACE, os._exit, (0,))
            self._deadline.daemon = True
            self._deadline.start()

    def _call_in_loop(self, callback: Callable[..., object], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the app is leaving
            self._loop.call_soon_threadsafe(callback, *args)

    def _take_signals(self) -> None:
        while True:
            signal.sigwait(SIGNALS)
            with self._lock:
                self._leaving = True
            self._arm_deadline()
            # hang_up keeps the session for --resume before it exits, as in a terminal.
            self._call_in_loop(getattr(self._app, "hang_up", self._app.exit))

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        finally:
            if not self.exit_event.is_set():  # stdin closed: the server is gone
                self.leave()

    # -- messages from the server -----------------------------------------------------------

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == "resize":
            self._resize(payload.get("width"), payload.get("height"))
        elif packet_type == "quit":  # the browser's websocket closed
            self.leave()
        else:
            super().on_meta(packet_type, payload)

    def _resize(self, width: object, height: object) -> None:
        """Keep the latest size; at most one resize waits in the app's queue at a time."""
        if not (isinstance(width, int) and isinstance(height, int)):
            return
        self._size = (max(1, min(width, MAX_CELLS)), max(1, min(height, MAX_CELLS)))
        with self._lock:
            if self._size_pending or self._leaving:
                return
            self._size_pending = True
        self._call_in_loop(self._post_size)

    def _post_size(self) -> None:
        with self._lock:
            self._size_pending = False
            if self._leaving or self._size is None:
                return
        size = Size(*self._size)
        if size != self._posted_size:
            self._posted_size = size
            self._app.post_message(events.Resize(size, size))
