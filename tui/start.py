"""The backprop-tui command's first code: a Ctrl+C while the app's modules are still loading
ends it quietly with status 130, as one at any later moment does."""

from __future__ import annotations

import os
import signal
from types import FrameType


def _interrupted(signum: int, frame: FrameType | None) -> None:
    # Nothing exists yet to keep or give back, so end at once: an exception raised here would
    # surface as a traceback through the import machinery (or, in Python 3.11, a RuntimeError).
    os.write(2, b"backprop-tui: interrupted\n")
    os._exit(130)


def main() -> int:
    signal.signal(signal.SIGINT, _interrupted)
    from tui.cli import main as cli_main  # textual and the app: most of the start-up

    # From here on tui.cli handles Ctrl+C itself (KeyboardInterrupt, then the app's own ending).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return cli_main()
