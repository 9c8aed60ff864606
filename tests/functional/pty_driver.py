"""Run the real backprop-tui in a pseudo-terminal, press keys, read what it writes.

Text is looked for on an emulated screen (pyte) as well as in the bytes: the app sends only the
cells that change, so "lr 0.2" after "lr 0.1" arrives as a lone "2".
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping

import pyte

COMMAND = [sys.executable, "-m", "tui"]
# Makes the pty the controlling terminal, then becomes the app (same pid): closing the master is
# then a real hang-up (SIGHUP and SIGCONT, then EIO), as when tmux or sshd lose the terminal.
CONTROLLING = """
import fcntl, os, sys, termios
try:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
except OSError:
    pass  # hung up already: the app starts on a terminal that has gone
os.execv(sys.argv[1], sys.argv[1:])
"""


class Terminal:
    def __init__(
        self,
        args: list[str],
        size: tuple[int, int] = (80, 24),
        env: Mapping[str, str] | None = None,
        controlling: bool = False,
    ) -> None:
        self.master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLUMNS": str(cols),
            "LINES": str(rows),
            **(env or {}),
        }
        wrapper = [sys.executable, "-c", CONTROLLING] if controlling else []
        self.proc = subprocess.Popen(
            [*wrapper, *COMMAND, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.output = bytearray()
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self.shown = ""  # the screen's text when a test last kept it
        self.open = True  # the master end: closing it hangs the terminal up

    def read(self, seconds: float) -> bytes:
        """Everything written within `seconds`."""
        if not self.open:
            return b""
        got = bytearray()
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        self.output += got
        self._stream.feed(bytes(got))
        return bytes(got)

    def screen_text(self) -> str:
        return "\n".join(self.screen.display)

    def _seen(self, needle: bytes) -> bool:
        return needle in self.output or needle.decode() in self.screen_text()

    def wait_for(self, needle: bytes, seconds: float = 15.0) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._seen(needle):
                return True
            self.read(0.1)
        return self._seen(needle)

    def press(self, keys: str, settle: float = 0.3) -> bytes:
        os.write(self.master, keys.encode())
        return self.read(settle)

    def wait(self, seconds: float = 10.0) -> int | None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            code = self.proc.poll()
            if code is not None:
                self.read(0.05)
                return code
            self.read(0.05)
        return None

    def until(self, needle: bytes, seconds: float = 20.0) -> bool:
        """Read until `needle` is in the bytes, and return at once (to act right at that frame)."""
        end = time.monotonic() + seconds
        while needle not in self.output and (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            try:
                chunk = os.read(self.master, 65536) if ready else b""
            except OSError:
                chunk = b""
            if not chunk:
                break
            self.output += chunk
            self._stream.feed(chunk)
        return needle in self.output

    def hang_up(self) -> None:
        """Close the master end, as a terminal emulator or sshd does when it goes."""
        if self.open:
            self.open = False
            os.close(self.master)

    def cpu_seconds(self) -> float | None:
        """User + system CPU the app has used so far (Linux /proc), None once it has gone."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reap(self, seconds: float) -> tuple[int | None, float]:
        """Wait up to `seconds` for the app to end: (exit code as Popen gives it, or None if it
        is still there; its total CPU seconds, from the kernel's accounting at the end)."""
        end = time.monotonic() + seconds
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.read(0.05)
                return self.proc.returncode, usage.ru_utime + usage.ru_stime
            if time.monotonic() >= end:
                return None, self.cpu_seconds() or 0.0
            if self.open:
                self.read(0.02)
            else:
                time.sleep(0.02)

    def group_left(self) -> bool:
        """Whether any process of the app's session (its process group) is still there."""
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.hang_up()
