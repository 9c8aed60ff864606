"""Lab conditions, with the real command in a pseudo-terminal: terminals, --ascii, --no-mouse,
hang-ups with --resume, and --serve."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.files import persist
from tests.functional.pty_driver import Terminal

ESCAPES = re.compile(
    rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|[@-Z\\-_])"
)
MOUSE_ON = (b"\x1b[?1000h", b"\x1b[?1002h", b"\x1b[?1003h", b"\x1b[?1006h", b"\x1b[?1015h")


def run_and_quit(args: list[str], env: dict[str, str], tmp_path: Path) -> Terminal:
    term = Terminal(args, size=(80, 24), env={"XDG_STATE_HOME": str(tmp_path), **env})
    try:
        assert term.wait_for(b"Chain rule", 20), term.output[-1500:]
        term.press(" ")
        term.press(" ")
        assert term.wait_for(b"0.49"), term.output[-1500:]
        term.shown = term.screen_text()
        term.press("q")
        assert term.wait(10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output
    return term


@pytest.mark.parametrize(
    "term_name", ["xterm-256color", "xterm", "screen", "tmux-256color", "linux", "vt100"]
)
def test_every_lab_terminal_starts_steps_and_quits(term_name: str, tmp_path: Path) -> None:
    run_and_quit([], {"TERM": term_name}, tmp_path)


def test_no_color_still_shows_phase_and_selection(tmp_path: Path) -> None:
    term = run_and_quit([], {"NO_COLOR": "1"}, tmp_path)
    # Textual renders NO_COLOR as shades of grey: every RGB colour has r == g == b.
    out = bytes(term.output)
    rgb = re.findall(rb"[34]8;2;(\d+);(\d+);(\d+)", out)
    indexed = [int(n) for n in re.findall(rb"[34]8;5;(\d+)", out)]
    greys = {0, 7, 8, 15, 16, 231, *range(232, 256)}
    assert rgb or indexed
    assert all(r == g == b for r, g, b in rgb)
    assert all(n in greys for n in indexed), sorted(set(indexed) - greys)
    # Reverse video and bold still mark the selection and the phase; signs are written out.
    assert re.search(rb"\x1b\[[0-9;]*\b7[;m]", bytes(term.output))
    assert b"+0.8" in term.output


def test_ascii_writes_nothing_outside_printable_ascii(tmp_path: Path) -> None:
    term = run_and_quit(["--ascii"], {}, tmp_path)
    text = ESCAPES.sub(b"", bytes(term.output))
    strange = sorted({b for b in text if b >= 0x7F or (b < 0x20 and b not in b"\r\n\t\x08")})
    assert not strange, [hex(b) for b in strange]
    assert "dJ/dw = dJ/dy^ * dy^/dw" in term.shown  # the maths, transliterated


def test_no_mouse_sends_no_mouse_tracking(tmp_path: Path) -> None:
    plain = run_and_quit([], {}, tmp_path)
    assert any(seq in plain.output for seq in MOUSE_ON)  # the check can fail
    quiet = run_and_quit(["--no-mouse"], {}, tmp_path)
    assert not any(seq in quiet.output for seq in MOUSE_ON)


@pytest.mark.parametrize("how", ["hangup", "ctrl+c"])
def test_losing_the_terminal_keeps_the_session_for_resume(how: str, tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path)}
    term = Terminal([], size=(80, 24), env=env)
    try:
        assert term.wait_for(b"Chain rule", 20)
        for key in ("\r", "\r", "\r"):
            term.press(key)
        term.press("+")
        term.press(" ")  # mid-step: the forward pass of step 4
        assert term.wait_for(b"lr 0.2")
        if how == "hangup":
            os.killpg(term.proc.pid, signal.SIGHUP)
        else:
            term.press("\x03")
        code = term.wait(10)
    finally:
        term.close()
    assert code is not None
    session, ui = persist.load(tmp_path / "backprop-tui" / "session.json")
    snap = session.snapshot
    # The story: three steps at 0.1 give 0.410975; the rate then went up one rung.
    assert snap.step == 3
    assert snap.params[0] == pytest.approx(0.410975, abs=1e-15)
    assert snap.learning_rate == 0.2
    assert snap.phase.value == "forward"
    assert ui["selected"] == 0
    again = Terminal(["--resume"], size=(80, 24), env=env)
    try:
        assert again.wait_for(b"step 3", 20), again.output[-1500:]
        assert again.wait_for(b"lr 0.2")
        again.press("u")  # undo reaches back through the restored steps
        again.press("u")
        assert again.wait_for(b"step 2")
        again.press("q")
        assert again.wait(10) == 0
    finally:
        again.close()


def test_resume_without_a_saved_session_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--resume"],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("backprop-tui: error: no saved session to resume")
    assert len(result.stderr.strip().splitlines()) == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_on_loopback_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        status = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                    status = reply.status
                    page = reply.read()
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        assert b"backprop-tui" in page
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read() if proc.stderr else b""
    assert b"Traceback" not in err and b"warning" not in err


def test_serve_warns_when_not_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--serve", "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert "warning: serving on 0.0.0.0" in err
