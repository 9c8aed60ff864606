"""The real command in a pseudo-terminal at 80x24: it starts, steps, and quits with status 0."""

from __future__ import annotations

from tests.functional.pty_driver import Terminal


def test_starts_steps_and_quits_cleanly() -> None:
    term = Terminal([], size=(80, 24))
    try:
        assert term.wait_for(b"Chain rule", 20), term.output[-2000:]
        term.press(" ")
        term.press(" ")
        assert term.wait_for(b"0.49")  # the loss appears after the loss phase
        term.press("q")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output
