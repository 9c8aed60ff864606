"""How the terminal app ends: SIGHUP, SIGTERM and SIGINT at any moment, and a watchdog.

Every ending, once the app exists, keeps the session (once) and ends the process: if the orderly
exit has not finished GRACE seconds after the ending began, the watchdog keeps it and calls
os._exit. Imported before the app (tui.cli.run_app installs it first): no Textual here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

GRACE = 1.2  # seconds from the start of an ending to the hard exit
KEEP_WAIT = 0.4  # seconds the watchdog waits for a save already under way (the keeper's wait)
SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
# What Textual's LinuxDriver.stop_application_mode writes, for a terminal left behind by a hard
# exit: keyboard protocol off, main screen, cursor shown, focus reports, mouse and paste off.
RESTORE = (
    "\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"
    "\x1b[?1016l\x1b[?2004l\x1b[?2048l\x1b[?7h"
)


def exit_code(signum: int) -> int:
    """The shell's convention for an ending caused by a signal."""
    return 128 + signum


class Ending:
    """The one ending of a run of the app: what caused it, the exit code, and the watchdog."""

    def __init__(
        self,
        *,
        grace: float = GRACE,
        hard_exit: Callable[[int], object] = os._exit,
        restore: bool = True,
    ) -> None:
        self.grace = grace
        self._hard_exit = hard_exit
        self._restore = restore  # give the terminal back before a hard exit
        self.signum: int | None = None  # the first signal received (None: none, or keys)
        self.terminal_gone = False  # SIGHUP, or the driver saw EIO/EOF: write nothing more
        self.stuck = False  # the driver could not stop its writer (a terminal that reads nothing)
        self.code: int | None = None  # the exit code once an ending has begun
        self.keeper: Callable[[float], object] | None = None  # saves the session (once)
        self._request: Callable[[], object] | None = None  # asks the running app to end
        self._loop: Any = None  # the app's asyncio loop, once it runs
        self._previous: dict[int, Any] = {}
        self._armed = threading.Event()
        self._armed_at = 0.0
        self._finished = False
        self._tty_attrs: list[Any] | None = None
        self._watchdog: threading.Thread | None = None

    # -- set-up and tear-down ----------------------------------------------------------------

    def install(self) -> None:
        """Handle the signals from now on, and start the (sleeping) watchdog."""
        try:
            import termios

            self._tty_attrs = termios.tcgetattr(sys.__stdin__.fileno())  # type: ignore[union-attr]
        except Exception as err:  # not a terminal (termios.error), or no stdin
            self._tty_attrs = None
            if err.args[:1] == (errno.EIO,):  # a terminal that has already hung up
                self.end(signal.SIGHUP)
        # Started now, not from a signal handler: starting a thread there could wait on a lock
        # that the interrupted code holds.
        self._watchdog = threading.Thread(target=self._watch, name="backprop-watchdog", daemon=True)
        self._watchdog.start()
        for sig in SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread: the caller's own handlers stay
                break

    def finish(self) -> None:
        """run_app is returning: give back the signals; the watchdog no longer ends the process
        (unless the interpreter then hangs on its way out)."""
        for sig, previous in self._previous.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, previous)
        self._previous.clear()
        self._finished = True
        if not self._armed.is_set():
            self._armed.set()  # wakes the watchdog, which returns

    def attach(self, loop: Any, request: Callable[[], object]) -> None:
        """The app's loop runs: a signal now asks it to end via `request` (run on the loop)."""
        self._request = request
        self._loop = loop
        if self.signum is not None:  # a signal came during start-up
            self._call(request)

    # -- endings -----------------------------------------------------------------------------

    def arm(self, code: int) -> None:
        """An ending has begun: the process ends within `grace` seconds, one way or another."""
        if self.code is None:
            self.code = code
        if not self._armed.is_set():
            self._armed_at = time.monotonic()
            self._armed.set()

    def end(self, signum: int) -> None:
        """A signal, or the driver losing the terminal: the app keeps the session and leaves.
        Safe from a signal handler and from any thread (it takes no lock)."""
        if signum == signal.SIGHUP:
            self.terminal_gone = True
        if self.signum is None:
            self.signum = signum
        self.arm(exit_code(signum))
        if self._request is not None:
            self._call(self._request)

    def leave_now(self, code: int) -> None:
        """End the process at once (the session is kept; the interpreter's exit would hang)."""
        self._hard_exit(code)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.end(signum)

    def _call(self, callback: Callable[[], object]) -> None:
        # RuntimeError: the loop has closed; run_app is past the app and keeps the session itself.
        with contextlib.suppress(AttributeError, RuntimeError):
            self._loop.call_soon_threadsafe(callback)

    def keep(self) -> None:
        """Save the session if a keeper is known; never raises."""
        keeper = self.keeper
        if keeper is None:
            return
        with contextlib.suppress(Exception):  # on the way out, with nowhere to report it
            keeper(KEEP_WAIT)

    # -- the watchdog ------------------------------------------------------------------------

    def _watch(self) -> None:
        self._armed.wait()
        if self._finished:
            return
        left = self._armed_at + self.grace - time.monotonic()
        if left > 0:
            time.sleep(left)
        if self._finished and threading.main_thread().is_alive():
            return  # run_app returned in time and its caller carries on
        self.keep()
        if self._restore and not self.terminal_gone:
            self._restore_terminal()
        self._hard_exit(self.code if self.code is not None else 1)

    def _restore_terminal(self) -> None:
        """Best effort, never blocking: the terminal as it was before the app took it."""
        try:
            if self._tty_attrs is not None:
                import termios

                termios.tcsetattr(sys.__stdin__.fileno(), termios.TCSANOW, self._tty_attrs)  # type: ignore[union-attr]
            fd = sys.__stderr__.fileno()  # type: ignore[union-attr]
            if os.isatty(fd) and select.select([], [fd], [], 0)[1]:
                os.write(fd, RESTORE.encode("ascii"))
        except Exception:  # a terminal that is going away
            pass
