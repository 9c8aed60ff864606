"""Textual's Linux/macOS driver, letting go of a terminal that has gone (SafeLinuxDriver) and
sending only the cells that changed (DiffDriver, see tui.driver.diff_output).

Used for a real terminal only (tui.cli.run_app); BACKPROP_TUI_FULL_REDRAW=1 turns the diff off.
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import threading
from codecs import getincrementaldecoder
from typing import IO, TYPE_CHECKING, Any

from textual import events
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from tui.driver.diff_output import DiffWriter

if TYPE_CHECKING:
    from textual.app import App

FULL_REDRAW_ENV = "BACKPROP_TUI_FULL_REDRAW"
STOP_WAIT = 0.5  # seconds the exit waits for the writer to send what is queued
PUT_WAIT = 0.25  # a full queue (a slow terminal) is looked at again this often


def wanted(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Whether the app should draw through DiffDriver: a POSIX terminal, no driver named by the
    environment (textual-serve names its web driver in TEXTUAL_DRIVER), and no escape hatch."""
    return (
        os.name == "posix"
        and not environ.get("TEXTUAL_DRIVER")
        and environ.get(FULL_REDRAW_ENV, "").strip() in ("", "0")
    )


class _Writer(WriterThread):
    """Textual's writer thread, which drops its output once the terminal has gone (EIO, EPIPE)
    instead of dying and leaving a full queue for the exit to wait on forever."""

    def __init__(self, file: IO[str], on_gone: Any) -> None:
        super().__init__(file)
        self.gone = threading.Event()
        self._on_gone = on_gone

    def write(self, text: str) -> None:
        # A full queue is a slow terminal: wait for it (that paces the app), unless it goes.
        while not self.gone.is_set():
            try:
                self._queue.put(text, timeout=PUT_WAIT)
            except queue.Full:
                continue
            return

    def run(self) -> None:
        try:
            super().run()
        except Exception:  # EIO/EPIPE from the terminal, a closed file: it is no more
            self.gone.set()
            self._on_gone()
            while self._queue.get() is not None:  # nobody may wait on a full queue
                pass

    def stop(self) -> None:
        self.stopped()

    def stopped(self) -> bool:
        """Stop the thread; False if it could not finish within STOP_WAIT (a stalled terminal)."""
        if not self.is_alive():
            return True
        try:
            self._queue.put(None, timeout=STOP_WAIT)
        except queue.Full:
            return False
        self.join(STOP_WAIT)
        return not self.is_alive()


class SafeLinuxDriver(LinuxDriver):
    """LinuxDriver whose every exit path exits: when the terminal goes (hang-up), output is
    dropped, input stops, and the app is told to end; a SIGCONT with no SIGTSTP before it (a
    hang-up sends SIGHUP then SIGCONT) does not start a second application mode."""

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        self._writer: Any = None  # a _Writer once in application mode
        self._suspended = False
        self._gone_told = False
        super().__init__(app, debug=debug, mouse=mouse, size=size)

    # LinuxDriver.start_application_mode creates a WriterThread and starts it; this property
    # puts ours in its place before it starts (anything else, e.g. a test's, is kept as it is).
    @property
    def _writer_thread(self) -> Any:
        return self._writer

    @_writer_thread.setter
    def _writer_thread(self, writer: Any) -> None:
        if type(writer) is WriterThread:
            writer = _Writer(writer._file, self._terminal_gone)
        self._writer = writer

    def _terminal_gone(self) -> None:
        """From the writer or input thread: the terminal has gone; the app keeps it and ends."""
        if self._gone_told:
            return
        self._gone_told = True
        ending = getattr(self._app, "lifecycle", None)
        if ending is not None:
            ending.end(signal.SIGHUP)
        else:
            self._loop.call_soon_threadsafe(self._app.exit)

    def _sigtstp_application(self, *args: Any) -> None:
        self._suspended = True
        super()._sigtstp_application(*args)

    def _sigcont_application(self, *args: Any) -> None:
        if not self._suspended:
            return  # not back from our own ctrl+z: nothing to resume
        self._suspended = False
        if isinstance(self._writer, _Writer) and self._writer.gone.is_set():
            return
        super()._sigcont_application(*args)

    def close(self) -> None:
        writer = self._writer
        if not isinstance(writer, _Writer):
            super().close()
        elif not writer.stopped():
            ending = getattr(self._app, "lifecycle", None)
            if ending is not None:
                ending.stuck = True

    def run_input_thread(self) -> None:
        """LinuxDriver's, but an end of input from the terminal (EOF or EIO: it has gone) stops
        reading and tells the app, where Textual's would read the same EOF in a busy loop."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def read() -> bool:
            """Process what there is to read; False once the input has ended."""
            for _key, mask in selector.select(0.1):
                if mask & selectors.EVENT_READ:
                    try:
                        data = os.read(self.fileno, 1024 * 4)
                    except OSError:
                        data = b""
                    if not data:
                        return False
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)
            return True

        try:
            while not self.exit_event.is_set():
                if not read():
                    if self.input_tty:
                        self._terminal_gone()
                    self.exit_event.wait()  # piped input ended: wait for the exit, not spin
                    return
            selector.unregister(self.fileno)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass


class DiffDriver(SafeLinuxDriver):
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
