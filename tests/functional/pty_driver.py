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


class Terminal:
    def __init__(
        self,
        args: list[str],
        size: tuple[int, int] = (80, 24),
        env: Mapping[str, str] | None = None,
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
        self.proc = subprocess.Popen(
            [*COMMAND, *args],
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

    def read(self, seconds: float) -> bytes:
        """Everything written within `seconds`."""
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

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)
