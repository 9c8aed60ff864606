"""Every ending ends: a hang-up, SIGTERM or SIGINT at any moment (start-up, the first frame,
auto-run, fast-forward, a dialog open), q and ctrl+c. The real command in a pseudo-terminal:
within 2 s nothing of ours is left, and the session is kept and loads again.

All the terminal cases run side by side once (the `endings` fixture); each test checks its own.
BACKPROP_LIFECYCLE_SCALE=N repeats them N times and tries every ending in every state.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.files import persist
from core.stepping.session import Session
from tests.functional.pty_driver import Terminal

LIMIT = 2.0  # seconds from the ending to the process gone
FRAME = b"Quit"  # the footer's last word: the first frame has been drawn
RESUME_LINE = b"session kept in ~/state/backprop-tui/session.json; backprop-tui --resume carries on"
LEFT_ALT_SCREEN = b"\x1b[?1049l"
SCALE = int(os.environ.get("BACKPROP_LIFECYCLE_SCALE", "1"))
WORKERS = 3  # cases run side by side (each mostly waits on the app)
CODES = {"hangup": 128 + signal.SIGHUP, "SIGTERM": 128 + signal.SIGTERM, "SIGINT": 130}
KEYS = {"q": "q", "ctrl+c": "\x03", "ctrl+q": "\x11"}


@dataclass(frozen=True)
class Case:
    how: str  # hangup, SIGTERM, SIGINT, or a key in KEYS
    moment: float | str = "frame"  # seconds after the start, or "frame": right at the first frame
    args: tuple[str, ...] = ()
    keys: str = ""  # typed after the moment, before the ending
    controlling: bool = True  # the pty is the app's controlling terminal (SIGHUP on hang-up)


@dataclass
class Outcome:
    case: Case
    drawn: bool  # the app had drawn something before the ending
    code: int | None  # None: still there after LIMIT seconds
    seconds: float
    cpu_after: float  # CPU seconds the app used from the ending to its end
    group_left: bool
    output: bytes
    state: Path
    trouble: str = ""  # the case could not be played out

    @property
    def kept(self) -> Session | None:
        if not self.state.exists():
            return None
        return persist.load(self.state)[0]

    def problems(self) -> list[str]:
        """What is wrong with how this ending ended ([] if nothing)."""
        found = [self.trouble] if self.trouble else []
        if self.code is None:
            found.append(f"still running {LIMIT} s after the ending")
        elif self.seconds > LIMIT:
            found.append(f"took {self.seconds:.2f} s")
        if self.group_left:
            found.append("a process of its group is left")
        if self.cpu_after > 1.0:
            found.append(f"used {self.cpu_after:.2f} s of CPU after the ending")
        if self.importing:
            return found  # Python's own traceback, before any code of ours can run
        if b"Traceback" in self.output:
            found.append(f"wrote a traceback: {self.output[-400:]!r}")
        if self.drawn and not self.state.exists():
            found.append("drew the app but did not keep the session")
        return found

    @property
    def importing(self) -> bool:
        """Ctrl+c while Python itself starts (site's .pth files), before tui.start's first
        lines: it ends with its KeyboardInterrupt traceback, by the signal (−2) or, inside
        site, status 1. Once tui.start runs, loading the app's modules ends quietly."""
        return (
            self.case.how == "SIGINT"
            and not self.drawn
            and self.code in (-signal.SIGINT, 1)
            and self.output.rstrip().endswith(b"KeyboardInterrupt")
            and b"cli.py" not in self.output
            and b"textual" not in self.output
        )


def play(case: Case, tmp: Path) -> Outcome:
    """Start the app, wait for the moment, type the keys, end it, and watch it go."""
    home = tmp / uuid.uuid4().hex[:8]
    home.mkdir()
    env = {"HOME": str(home), "XDG_STATE_HOME": str(home / "state"), "LANGUAGE": "en"}
    term = Terminal(list(case.args), size=(80, 24), env=env, controlling=case.controlling)
    trouble = ""
    try:
        if case.moment == "frame":
            if not term.until(FRAME):
                trouble = f"no first frame: {bytes(term.output[-400:])!r}"
        else:
            assert isinstance(case.moment, float)
            term.read(case.moment)
        for key in case.keys:
            term.press(key, 0.4)
        drawn = bool(term.output)
        cpu_before = term.cpu_seconds()
        started = time.monotonic()
        if case.how == "hangup":
            term.hang_up()
        elif case.how in KEYS:
            os.write(term.master, KEYS[case.how].encode())
        else:
            os.kill(term.proc.pid, getattr(signal, case.how))
        code, cpu = term.reap(LIMIT)
        seconds = time.monotonic() - started
        left = term.group_left()
    finally:
        term.close()
    state = home / "state" / "backprop-tui" / "session.json"
    output = bytes(term.output)
    cpu_after = cpu - (cpu_before or cpu)
    return Outcome(case, drawn, code, seconds, cpu_after, left, output, state, trouble)


def report(outcomes: list[Outcome]) -> str:
    return "\n".join(f"{o.case}: {'; '.join(o.problems())}" for o in outcomes if o.problems())


# The cases, by the test that checks them.
FIRST_FRAME = [Case("hangup")] * 20
NO_CONTROLLING_TTY = [Case("hangup", controlling=False)] * 2
MOMENTS = (0.0, 0.3, 1.0, "frame")
IMPORTING = (0.03, 0.06, 0.09, 0.12, 0.15)  # Ctrl+C while tui.cli and its modules load
START_UP = [
    *(Case(how, moment) for how in ("hangup", "SIGTERM", "SIGINT") for moment in MOMENTS),
    *(Case("SIGINT", moment) for moment in IMPORTING),
]
QUITTING = [Case(key, keys="\r") for key in ("q", "ctrl+c")]
MID_STEP = [Case("hangup", keys="\r\r ")]
STATES = {
    "auto-run": (("textbook-2-2-2",), "a]"),
    "fast-forward": (("xor",), "f"),
    "help": (("textbook-2-2-2",), "?"),
    "edit": (("textbook-2-2-2",), "="),
}
# Each kind of ending at least once; with SCALE > 1 every ending in every state. (With a dialog
# open, q and ctrl+c are the dialog's: ctrl+q quits from there.)
BUSY_ENDINGS = {
    "auto-run": ("SIGTERM", "q"),
    "fast-forward": ("hangup", "SIGINT"),
    "help": ("ctrl+q",),
    "edit": ("hangup", "SIGTERM"),
}
if SCALE > 1:
    BUSY_ENDINGS = {
        state: ("hangup", "SIGTERM", "SIGINT", "ctrl+q" if state in ("help", "edit") else "q")
        for state in STATES
    }
BUSY = [
    Case(how, args=STATES[state][0], keys=STATES[state][1])
    for state, hows in BUSY_ENDINGS.items()
    for how in hows
]
GROUPS = {
    "first-frame": FIRST_FRAME,
    "no-controlling-tty": NO_CONTROLLING_TTY,
    "start-up": START_UP,
    "quitting": QUITTING,
    "mid-step": MID_STEP,
    "busy": BUSY,
}


@pytest.fixture(scope="module")
def endings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Outcome]]:
    """Every group's cases, SCALE times, played side by side (slowest first)."""
    tmp = tmp_path_factory.mktemp("endings")
    work = [(name, case) for name, cases in GROUPS.items() for case in cases * SCALE]
    work.sort(key=lambda item: (item[0] != "busy", item[0] != "first-frame"))
    with ThreadPoolExecutor(WORKERS) as pool:
        played = list(pool.map(lambda item: play(item[1], tmp), work))
    found: dict[str, list[Outcome]] = {name: [] for name in GROUPS}
    for (name, _case), outcome in zip(work, played, strict=True):
        found[name].append(outcome)
    return found


# -- hang-ups ------------------------------------------------------------------------------


def test_hanging_up_right_at_the_first_frame_20_times(endings: dict[str, list[Outcome]]) -> None:
    """The issue's case: tmux killed the moment the footer appeared left 3-4 of 20 asleep."""
    outcomes = endings["first-frame"]
    assert len(outcomes) == 20 * SCALE
    assert not report(outcomes), report(outcomes)
    for o in outcomes:
        assert o.code == CODES["hangup"]
        session = o.kept
        assert session is not None and session.snapshot.step == 0


def test_losing_the_terminal_without_a_hang_up_signal(endings: dict[str, list[Outcome]]) -> None:
    """A pty that is not the app's controlling terminal gives only EOF and EIO, no SIGHUP: the
    app still ends (Textual's input thread would read that EOF in a busy loop forever)."""
    outcomes = endings["no-controlling-tty"]
    assert not report(outcomes), report(outcomes)
    assert all(o.code == CODES["hangup"] and o.kept is not None for o in outcomes)


@pytest.mark.parametrize("how", ["hangup", "SIGTERM", "SIGINT"])
def test_an_ending_at_every_moment_of_start_up(how: str, endings: dict[str, list[Outcome]]) -> None:
    outcomes = [o for o in endings["start-up"] if o.case.how == how]
    assert not report(outcomes), report(outcomes)
    for o in outcomes:
        if not o.drawn:
            # Before the app touched the terminal the signal may still find Python starting:
            # its default action ends the process then. Nothing is kept before the app exists.
            signum = signal.SIGHUP if how == "hangup" else getattr(signal, how)
            assert o.code in (CODES[how], -signum) or o.importing, o.case
            assert o.kept is None or o.kept.snapshot.step == 0
        else:
            assert o.code == CODES[how], o.case
            assert o.kept is not None
            if how != "hangup":
                assert LEFT_ALT_SCREEN in o.output  # the terminal is given back as it was
    # The sweep did reach both sides of the first frame.
    assert any(o.drawn for o in outcomes) and any(not o.drawn for o in outcomes)


# -- quitting ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
def test_quitting_says_where_the_session_is_and_how_to_resume(
    key: str, endings: dict[str, list[Outcome]]
) -> None:
    o = next(o for o in endings["quitting"] if o.case.how == key)
    assert not o.problems(), o.problems()
    assert o.code == 0
    # One line, after the terminal is given back (so it stays on the screen).
    after = o.output.rsplit(LEFT_ALT_SCREEN, 1)[1]
    assert RESUME_LINE in after and after.count(b"\n") == 1, after
    session = o.kept
    assert session is not None
    # The story's first step: w = 0.8 − 0.1 · (4.5 · 0.8 − 1.5) = 0.59.
    assert session.snapshot.step == 1
    assert session.snapshot.params[0] == pytest.approx(0.59, abs=1e-15)


def test_a_hang_up_mid_step_keeps_where_it_was(endings: dict[str, list[Outcome]]) -> None:
    """(tests/functional/test_lab.py runs --resume on such a file.)"""
    for o in endings["mid-step"]:
        assert not o.problems(), o.problems()
        assert o.code == CODES["hangup"]
        assert RESUME_LINE not in o.output  # no terminal to say it to
        session = o.kept
        assert session is not None
        # The story's table: 0.8 → 0.59 → 0.4745, then the forward pass of the third step.
        assert session.snapshot.step == 2 and session.snapshot.phase.value == "forward"
        assert session.snapshot.params[0] == pytest.approx(0.4745, abs=1e-15)


# -- busy moments --------------------------------------------------------------------------


def test_every_ending_while_busy_or_in_a_dialog(endings: dict[str, list[Outcome]]) -> None:
    outcomes = endings["busy"]
    assert not report(outcomes), report(outcomes)
    for o in outcomes:
        assert o.code == CODES.get(o.case.how, 0), o.case
        session = o.kept
        assert session is not None, o.case
        if o.case.keys in ("a]", "f"):
            assert session.snapshot.step >= 1, o.case  # it was training when it ended
        says = RESUME_LINE in o.output
        assert says == (o.case.how in ("SIGINT", "q", "ctrl+q")), o.case


# -- the parts, in-process -----------------------------------------------------------------


async def test_the_session_is_kept_once_however_many_paths_ask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.app import BackpropApp

    saves: list[Path] = []
    real_save = persist.save

    def counting(*args: object, **kwargs: object) -> Path:
        saves.append(real_save(*args, **kwargs))  # type: ignore[arg-type]
        return saves[-1]

    monkeypatch.setattr(persist, "save", counting)
    app = BackpropApp(state_file=tmp_path / "session.json")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter", "q")
    assert app.keep_session() == tmp_path / "session.json"  # as tui.cli.run_app asks again
    app.hang_up()
    assert len(saves) == 1
    assert persist.load(tmp_path / "session.json")[0].snapshot.step == 1


def test_the_resume_line_in_chinese_and_on_an_ascii_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from core.text import i18n
    from tui import cli

    path = Path.home() / ".local" / "state" / "backprop-tui" / "session.json"
    i18n.set_language("zh")
    try:
        line, plain = cli._resume_line(path)
    finally:
        i18n.set_language("en")
    assert plain == (
        "backprop-tui: session kept in ~/.local/state/backprop-tui/session.json; "
        "backprop-tui --resume carries on"
    )
    assert line != plain and "~/.local/state/backprop-tui/session.json" in line
    assert "backprop-tui --resume" in line
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(raw, encoding="ascii"))
    cli._say(line, plain)  # LANG=C with --lang zh: the English line instead of an error
    assert raw.getvalue() == (plain + "\n").encode()
    monkeypatch.setattr(sys, "stderr", None)
    cli._say(line, plain)  # no stderr at all: nothing, and no error


def test_the_watchdog_keeps_the_session_and_ends_what_hangs() -> None:
    from tui.driver.lifecycle import Ending

    exits: list[int] = []
    kept: list[int] = []
    ending = Ending(grace=0.05, hard_exit=exits.append, restore=False)
    ending.keeper = lambda wait: kept.append(1)
    before = signal.getsignal(signal.SIGTERM)
    ending.install()
    try:
        assert signal.getsignal(signal.SIGTERM) == ending._on_signal
        ending.end(signal.SIGTERM)  # as the handler does; no app loop to ask
        deadline = time.monotonic() + 2
        while not exits and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        ending.finish()
    assert exits == [143] and kept == [1]
    assert signal.getsignal(signal.SIGTERM) == before  # given back
    # An ending that finishes in time is left alone.
    calm = Ending(grace=0.05, hard_exit=exits.append, restore=False)
    calm.install()
    calm.arm(0)
    calm.finish()
    time.sleep(0.2)
    assert exits == [143]


def test_a_signal_during_start_up_reaches_the_app_once_its_loop_runs() -> None:
    from tui.driver.lifecycle import Ending

    asked: list[str] = []

    class Loop:
        def call_soon_threadsafe(self, callback: object) -> None:
            asked.append("hang_up")

    ending = Ending(hard_exit=lambda code: None)
    ending.end(signal.SIGHUP)
    assert ending.terminal_gone and ending.code == 129 and not asked
    ending.attach(Loop(), lambda: None)
    assert asked == ["hang_up"]
    ending.end(signal.SIGTERM)  # a second signal asks again, the first one's code stays
    assert asked == ["hang_up", "hang_up"] and ending.code == 129


class _Gone:
    """A terminal that has hung up: every write fails with EIO."""

    def write(self, text: str) -> int:
        raise OSError(errno.EIO, "Input/output error")

    def flush(self) -> None:
        raise OSError(errno.EIO, "Input/output error")


class _Stalled:
    """A terminal that stopped reading: a write waits until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.release.wait()
        return len(text)

    def flush(self) -> None:
        pass


def test_the_writer_lets_go_of_a_terminal_that_has_gone() -> None:
    from tui.driver.diff_driver import _Writer

    told: list[int] = []
    writer = _Writer(_Gone(), lambda: told.append(1))  # type: ignore[arg-type]
    writer.start()
    started = time.monotonic()
    for _ in range(200):  # Textual's queue holds 30: its writer would block here for ever
        writer.write("x" * 100)
    assert writer.stopped()
    assert time.monotonic() - started < 1.0
    assert told == [1] and writer.gone.is_set()


def test_stopping_the_writer_on_a_stalled_terminal_is_bounded() -> None:
    from tui.driver.diff_driver import STOP_WAIT, _Writer

    stalled = _Stalled()
    writer = _Writer(stalled, lambda: None)  # type: ignore[arg-type]
    writer.start()
    writer.write("x")  # the writer takes it, and waits in the file's write
    while writer._queue.qsize():
        time.sleep(0.01)
    for _ in range(30):  # Textual's queue holds 30: full
        writer.write("x")
    started = time.monotonic()
    assert not writer.stopped()  # it says so, and run_app leaves at once (the session kept)
    assert time.monotonic() - started < 3 * STOP_WAIT
    stalled.release.set()  # the terminal reads again: now it can stop
    assert writer.stopped() and not writer.is_alive()


async def test_a_sigcont_without_our_sigtstp_starts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hang-up sends SIGHUP then SIGCONT: Textual would start application mode again there."""
    from textual.app import App

    from tui.driver.diff_driver import SafeLinuxDriver

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    try:
        driver = SafeLinuxDriver(App())
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    resumed: list[int] = []
    monkeypatch.setattr(driver, "resume_application_mode", lambda: resumed.append(1))
    monkeypatch.setattr(driver, "suspend_application_mode", lambda: None)
    monkeypatch.setattr(os, "kill", lambda pid, sig: None)  # Textual's SIGSTOP to itself
    driver._sigcont_application()
    assert resumed == []
    driver._sigtstp_application()  # ctrl+z, then fg: that SIGCONT resumes
    driver._sigcont_application()
    assert resumed == [1]
    driver._sigcont_application()
    assert resumed == [1]
