"""The real backprop-tui in a pseudo-terminal, measured as a lab server sees it.

    python -m benchmarks.lab            # about 2 minutes
    python -m benchmarks.lab --quick    # about 1 minute, shorter windows, fewer repeats
    python -m benchmarks.lab --view boundary   # items 2-3 with the decision boundary shown

Runs `python -m tui` (no Pilot) at 80x24 with TERM=xterm-256color and prints, each beside a
baseline measured in the same run:

1. start-up to the first complete frame, against a minimal Textual app showing one Label;
2. bytes written to the terminal per whole step (enter) and per phase (space), against the
   first full frame;
3. CPU of the session, as a share of one core, while auto-running at 10 steps/s and idle;
4. CPU cost of a whole step after 100,000 steps of history against after 100;
5. resident memory (RSS) after 100,000 steps against after 100.

The scenario (default `xor`) is copied with its stop tolerances set to 0, so that it never
converges inside a window, and `max_steps` set to what each measurement needs (`f` then
fast-forwards exactly that many steps).

How it measures:

- The harness answers Textual's query for synchronized output (DEC mode 2026), as kitty,
  WezTerm, iTerm2, foot or Windows Terminal do, so that Textual brackets every frame with
  `ESC[?2026h … ESC[?2026l` and frames can be told apart. Those 16 bytes a frame are NOT
  counted: every byte figure is what a terminal without the mode (xterm itself) receives.
- The harness keeps a model of the screen (cursor moves and text, as Textual writes them) and
  looks for text there, not in the byte stream, so an app that sends only changed cells is
  still understood.
- The first complete frame is the frame after which every row has been drawn and the text drawn
  last is on the screen (the footer's `palette`; the baseline's label). The clock runs from just
  before the process is spawned to the arrival of that frame's last byte; the median of several
  interleaved starts is reported, with the CPU time the process had used by then (less
  sensitive to a busy machine than the wall clock).
- The "first full frame" of item 2 is the first frame that writes every row of the screen.
- After a key, the harness reads until the terminal has been quiet for 0.25 s; everything
  written in between is that key's bytes, frames and CPU.
- CPU is the time on CPU of all the process's threads (/proc/PID/task/*/schedstat, in ns;
  /proc/PID/stat ticks where that is missing), over a measured window or per key.
- COLORTERM, NO_COLOR, TEXTUAL_*, COLUMNS and LINES are removed from the child's environment
  (over SSH only TERM arrives): the app draws with the 256-colour palette and takes its size
  from the pty; LANGUAGE=en, as the harness reads English text off the screen. The child
  runs in the directory above this file, so `-m tui` is this tree's. Its bytecode goes to a
  temporary PYTHONPYCACHEPREFIX (PYTHONDONTWRITEBYTECODE is dropped), and one untimed start
  of each app comes first: the timed starts load compiled bytecode, as an installed app does,
  and nothing is written into the source tree.
- Also reported, without targets: the time to the last start-up redraw and the bytes of the
  whole start-up, a resize's bytes, the output rate and RSS growth while auto-running (a leak
  shows there), and the wall time from a key to its last frame.

Every figure is a report: the exit status is 0 whatever the targets say, and 1 only if the
harness itself fails (e.g. the app does not draw a frame).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rich.cells import cell_len

from core.files.loader import BUILTINS, load_file

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)  # columns, rows
TERM = "xterm-256color"
APP = [sys.executable, "-m", "tui"]
FOOTER_TEXT = "palette"  # the right end of the footer: the last text of a full frame
BASELINE_TEXT = "backprop-tui lab baseline"
BASELINE_SOURCE = f"""
from textual.app import App, ComposeResult
from textual.widgets import Label


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Label({BASELINE_TEXT!r})


Minimal().run()
"""
VIEWS = ("curve", "landscape", "boundary")  # the loss panel's views, in the order l cycles them
START_VIEW = "curve"  # --view: set by main()
SPEEDS_UP_TO = "10 steps/s"  # auto-run speed for the CPU measurement
QUIET = 0.25  # seconds without output that end a key's redraw
QUIET_START = 0.4  # …and the start-up
KEY_LIMIT = 5.0  # longest wait for one key's redraw
NOTIFY_SECONDS = 5.0  # the "Stopped after" toast's timeout in tui/app.py

# Set by run(), both in a temporary directory: XDG_STATE_HOME, so that a session the app keeps
# on quit or hang-up never lands in the user's state directory; PYTHONPYCACHEPREFIX, so that
# every start after the first loads compiled bytecode, as an installed app does, even where
# PYTHONDONTWRITEBYTECODE is set, without writing __pycache__ into the source tree.
CHILD_ENV: dict[str, str] = {}

SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # DECRPM: mode 2026 known, currently reset
SYNC_START = b"\x1b[?2026h"
SYNC_END = b"\x1b[?2026l"
_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
_PAINT = re.compile(
    r"\x1b\[(\d+);(\d+)H"  # cursor position (1-based)
    r"|\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b."  # the rest
    r"|([^\x1b]+)"  # text
)
_STEP = re.compile(r"· step (\d+)\b")  # the Training panel's title: "XOR · step 12"

# Targets from the issue.
START_TARGET = 1.5
STEP_SHARE_TARGET = 0.35
STEP_BYTES_TARGET = 6 * 1024
CPU_RUN_TARGET = 0.10
CPU_IDLE_TARGET = 0.01
HISTORY_TARGET = 1.2
RSS_RATIO_TARGET = 1.2
RSS_LIMIT = 80 * 1024 * 1024
SERVER_CORES = 2
STUDENTS = 20


@dataclass(frozen=True)
class Plan:
    starts: int  # start-ups of each app
    steps: int  # enter presses for bytes per step
    phases: int  # space presses for bytes per phase
    idle: float  # seconds
    running: float  # seconds of auto-run measured (after a second of warm-up)
    history_keys: int  # enter presses timed after 100 and after 100,000 steps
    short: int = 100
    long: int = 100_000


FULL = Plan(starts=5, steps=20, phases=12, idle=10.0, running=10.0, history_keys=20)
QUICK = Plan(starts=3, steps=8, phases=8, idle=4.0, running=4.0, history_keys=10)


_SCHEDSTAT = os.path.exists("/proc/self/schedstat")


class HarnessError(RuntimeError):
    pass


# -- the pseudo-terminal ----------------------------------------------------------------------


class Screen:
    """What the terminal shows, as text: enough of a terminal for Textual's frames.

    The harness looks for text on the screen, not in the bytes, so that an app that sends only
    the cells that changed is still understood.
    """

    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.cells = [[" "] * cols for _ in range(rows)]
        self.y = self.x = 0

    def feed(self, data: str) -> None:
        cells, cols, rows = self.cells, self.cols, self.rows
        for m in _PAINT.finditer(data):
            if m.group(1) is not None:
                self.y, self.x = int(m.group(1)) - 1, int(m.group(2)) - 1
            elif m.group(3) is not None:
                for ch in m.group(3):
                    if ch == "\r":
                        self.x = 0
                    elif ch == "\n":
                        self.y += 1
                    else:
                        width = cell_len(ch)
                        if 0 <= self.y < rows and 0 <= self.x < cols:
                            cells[self.y][self.x] = ch
                            if width == 2 and self.x + 1 < cols:
                                cells[self.y][self.x + 1] = ""
                        self.x += width

    def text(self) -> str:
        return "\n".join("".join(row) for row in self.cells)


@dataclass
class Frame:
    end: float  # monotonic time its last byte arrived
    size: int  # bytes, without the two sync markers
    rows: frozenset[int]  # screen rows it writes to (1-based)
    screen: str  # the screen's text once it was drawn
    cpu: float  # the process's CPU seconds when it arrived


@dataclass
class Mark:
    """A place in a terminal's output, to measure what came after it."""

    at: float
    offset: int
    frames: int
    cpu: float


@dataclass
class Delta:
    seconds: float  # wall time from the mark to the end of the last frame after it
    bytes: int  # without sync markers
    frames: list[Frame]
    cpu: float  # seconds on CPU


class Terminal:
    """One process in a pseudo-terminal of SIZE: its output, split into frames, and its CPU."""

    def __init__(self, command: Sequence[str], size: tuple[int, int] = SIZE) -> None:
        cols, rows = size
        self.rows = rows
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TEXTUAL") and k not in ("COLORTERM", "NO_COLOR", "FORCE_COLOR")
        }
        env.pop("COLUMNS", None)  # the size comes from the pty, as over SSH (and resizes work)
        env.pop("LINES", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # see CHILD_ENV
        env["TERM"] = TERM
        env["LANGUAGE"] = "en"  # the harness reads the English screen ("· step N", …)
        env.update(CHILD_ENV)
        self.output = bytearray()
        self.screen = Screen(cols, rows)
        self.frames: list[Frame] = []
        self._parsed = 0  # output before this offset has been split into frames
        # The last frame, if it came outside the sync markers: (its index, its bytes so far).
        self._outside: tuple[int, bytes] | None = None
        self._answered = False
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(command),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
            cwd=ROOT,  # so that `-m tui` runs the code beside this file
        )
        os.close(slave)
        self.last_data = self.started
        self._cpu = 0.0

    # reading

    def _read_once(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(wait, 0.0))
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:  # the process is gone
            chunk = b""
        now = time.monotonic()
        if not chunk:
            if self.proc.poll() is None:
                return False
            raise HarnessError(
                f"the process exited with status {self.proc.returncode}: "
                + plain(bytes(self.output[-4000:]))[-600:]
            )
        self.output += chunk
        self.last_data = now
        if not self._answered and SYNC_QUERY in self.output:
            self._answered = True
            os.write(self.master, SYNC_REPLY)
        self._split_frames(now)
        return True

    def _split_frames(self, now: float) -> None:
        out = self.output
        while True:
            start = out.find(SYNC_START, self._parsed)
            # Before the terminal has answered the query for synchronized output, Textual may
            # draw its first frame without the markers: that counts as a frame too.
            if start < 0:
                cut = out.rfind(b"\x1b", self._parsed)  # an escape may be cut off: wait for it
                self._frame_outside(len(out) if cut < 0 else cut, now)
                return
            self._frame_outside(start, now)
            end = out.find(SYNC_END, start)
            if end < 0:
                return
            self._frame(bytes(out[start + len(SYNC_START) : end]), now)
            self._parsed = end + len(SYNC_END)

    def _frame_outside(self, upto: int, now: float) -> None:
        """Output between synchronized frames, up to `upto`: a frame if it draws anything (one
        frame, however many reads it takes to arrive)."""
        body = bytes(self.output[self._parsed : upto])
        if not _MOVE.search(body):
            return
        self._parsed = upto
        if self._outside is not None:
            start, previous = self._outside
            self.frames.pop()
            body = previous + body
        else:
            start = len(self.frames)
        self._frame(body, now)
        self._outside = (start, body)

    def _frame(self, body: bytes, now: float) -> None:
        moves = list(_MOVE.finditer(body))
        # The last move of a frame puts the cursor back; it draws nothing.
        if moves and moves[-1].end() == len(body):
            moves.pop()
        rows = frozenset(int(m.group(1)) for m in moves)
        self.screen.feed(body.decode("utf-8", "replace"))
        self.frames.append(Frame(now, len(body), rows, self.screen.text(), self.cpu()))
        self._outside = None

    def read_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._read_once(left)

    def settle(self, quiet: float = QUIET, limit: float = KEY_LIMIT) -> bool:
        """Read until nothing has come for `quiet` seconds; False if still busy at `limit`."""
        began = time.monotonic()
        end = began + limit
        while True:
            now = time.monotonic()
            if now >= end:
                return False
            wait = min(max(self.last_data, began) + quiet - now, end - now)
            if wait <= 0 and not self._read_once(0):
                return True
            if wait > 0:
                self._read_once(wait)

    def until(self, check: Callable[[], bool], limit: float, what: str) -> None:
        end = time.monotonic() + limit
        while not check():
            left = end - time.monotonic()
            if left <= 0:
                raise HarnessError(f"gave up after {limit:g} s waiting for {what}")
            self._read_once(min(left, 0.05))

    # writing and measuring

    def resize(self, cols: int, rows: int) -> None:
        """Resize the terminal and tell the process, as a terminal emulator does."""
        self.screen = Screen(cols, rows)
        self.rows = rows
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.kill(self.proc.pid, signal.SIGWINCH)

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def mark(self) -> Mark:
        return Mark(time.monotonic(), len(self.output), len(self.frames), self.cpu())

    def since(self, mark: Mark) -> Delta:
        frames = self.frames[mark.frames :]
        raw = bytes(self.output[mark.offset :])
        size = (
            len(raw) - len(SYNC_START) * raw.count(SYNC_START) - len(SYNC_END) * raw.count(SYNC_END)
        )
        seconds = (frames[-1].end if frames else mark.at) - mark.at
        return Delta(seconds, size, frames, self.cpu() - mark.cpu)

    def key(self, key: str, quiet: float = QUIET) -> Delta:
        """Press `key` and read until the redraw is over (on a busy machine, a late one too)."""
        mark = self.mark()
        self.press(key)
        end = time.monotonic() + KEY_LIMIT
        while len(self.frames) == mark.frames and (left := end - time.monotonic()) > 0:
            self._read_once(min(left, 0.05))
        if not self.settle(quiet):
            raise HarnessError(f"still drawing {KEY_LIMIT:g} s after the key {key!r}")
        return self.since(mark)

    def cpu(self) -> float:
        """Seconds on CPU of every thread of the process so far (ns resolution)."""
        pid = self.proc.pid
        if not _SCHEDSTAT:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                self._cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                pass  # gone: the last figure stands
            return self._cpu
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return self._cpu
        total = 0
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that just ended
        self._cpu = max(self._cpu, total / 1e9)
        return self._cpu

    def rss(self) -> tuple[int, int]:
        """Resident set size now and at its peak, in bytes."""
        found = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    found[name] = int(value.split()[0]) * 1024
        return found["VmRSS"], found["VmHWM"]

    def shown_since(self, frames: int, text: str) -> bool:
        """Whether the screen showed `text` after any frame since the `frames`-th."""
        return any(text in f.screen for f in self.frames[frames:])

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.close(self.master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def plain(data: bytes) -> str:
    """The printable text of terminal output, escape sequences removed."""
    return "".join(m.group(3) or "" for m in _PAINT.finditer(data.decode("utf-8", "replace")))


# -- scenarios --------------------------------------------------------------------------------


def scenario_text(spec: str) -> str:
    if spec in BUILTINS:
        builtin = resources.files("core.files").joinpath("scenarios", f"{spec}.toml")
        return builtin.read_text("utf-8")
    return Path(spec).read_text("utf-8")


def without_table(text: str, table: str) -> str:
    """The TOML text without the table `[table]` (its header and its keys)."""
    out, skipping = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped == f"[{table}]"
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def endless(spec: str, max_steps: int, folder: Path) -> str:
    """A copy of the scenario that never converges and fast-forwards `max_steps` steps."""
    text = without_table(scenario_text(spec), "stop")
    text += f"\n[stop]\nloss_below = 0.0\ngradient_below = 0.0\nmax_steps = {max_steps}\n"
    path = folder / f"lab-{max_steps}.toml"
    path.write_text(text, "utf-8")
    load_file(path)  # refuses it with a clear message now, not in the pseudo-terminal
    return str(path)


# -- the measurements -------------------------------------------------------------------------


@dataclass
class Start:
    first: float  # seconds to the first complete frame
    first_cpu: float  # CPU seconds the process had used by then
    settled: float  # seconds to the last byte before QUIET_START of quiet
    bytes: int  # everything written until settled
    frames: int


def complete(term: Terminal, needle: str) -> Frame | None:
    """The frame that completed the screen: after it, every row has been drawn, and `needle`."""
    painted: set[int] = set()
    seen = False
    for frame in term.frames:
        painted |= frame.rows
        seen = seen or needle in frame.screen
        if seen and len(painted) >= term.rows:
            return frame
    return None


def first_full(term: Terminal) -> Frame | None:
    """The first frame that paints every row of the screen."""
    return next((f for f in term.frames if len(f.rows) >= term.rows), None)


def start(command: Sequence[str], needle: str) -> Start:
    with Terminal(command) as term:
        term.until(
            lambda: complete(term, needle) is not None, 30.0, f"a complete frame with {needle!r}"
        )
        if not term.settle(QUIET_START, 10.0):
            raise HarnessError("still drawing 10 s after the first frame")
        frame = complete(term, needle)
        assert frame is not None
        delta = term.since(Mark(term.started, 0, 0, 0.0))
        return Start(
            frame.end - term.started,
            frame.cpu,
            term.last_data - term.started,
            delta.bytes,
            len(term.frames),
        )


@dataclass
class Starts:
    app: list[Start]
    baseline: list[Start]


def measure_starts(plan: Plan, scenario: str, say: Callable[[str], None]) -> Starts:
    app_command = [*APP, scenario]
    baseline_command = [sys.executable, "-c", BASELINE_SOURCE]
    # One of each untimed (to warm the file cache and compile the bytecode), then interleaved.
    start(baseline_command, BASELINE_TEXT)
    start(app_command, FOOTER_TEXT)
    result = Starts([], [])
    for i in range(plan.starts):
        result.baseline.append(start(baseline_command, BASELINE_TEXT))
        result.app.append(start(app_command, FOOTER_TEXT))
        say(
            f"  start {i + 1}/{plan.starts}: app {result.app[-1].first:.3f} s, "
            f"baseline {result.baseline[-1].first:.3f} s"
        )
    return result


@dataclass
class Keys:
    name: str
    deltas: list[Delta]

    @property
    def sizes(self) -> list[int]:
        return [d.bytes for d in self.deltas]


@dataclass
class Stepping:
    full_frame: int  # bytes of the first frame that writes every row
    enter: Keys
    space: Keys
    idle_cpu: float  # share of one core
    idle_seconds: float
    idle_bytes: int
    run_cpu: float
    run_seconds: float
    run_steps: int
    run_bytes: int
    run_frames: int
    run_rss_growth: int  # bytes of RSS gained over the auto-run window
    resize: Delta  # back to 80x24 from a row more


def last_step(text: str) -> int | None:
    found = _STEP.findall(text)
    return int(found[-1]) if found else None


def measure_session(plan: Plan, scenario: str, say: Callable[[str], None]) -> Stepping:
    with Terminal([*APP, scenario]) as term:
        term.until(
            lambda: complete(term, FOOTER_TEXT) is not None, 30.0, "the first complete frame"
        )
        term.settle(QUIET_START, 10.0)
        full = first_full(term)
        if full is None:
            raise HarnessError("no frame painted the whole screen")
        for _ in range(VIEWS.index(START_VIEW)):
            term.key("l")  # --view: the loss panel's view for the rest of the session
        if START_VIEW == "boundary" and "Decision boundary" not in term.screen.text():
            raise HarnessError("the loss panel does not show the decision boundary")

        say(f"  idle for {plan.idle:g} s")
        mark = term.mark()
        term.read_for(plan.idle)
        idle = term.since(mark)
        idle_seconds = time.monotonic() - mark.at

        say(f"  {plan.steps} × enter, {plan.phases} × space")
        enter = Keys("enter", [term.key("\r") for _ in range(plan.steps)])
        space = Keys("space", [term.key(" ") for _ in range(plan.phases)])
        # Finish the step the spaces left half done, so that auto-run starts cleanly.
        term.key("\r")

        for _ in range(6):
            if SPEEDS_UP_TO in term.screen.text():
                break
            term.key("]")
        else:
            raise HarnessError(f"auto-run never reached {SPEEDS_UP_TO}")
        frames = len(term.frames)
        term.press("a")
        term.read_for(1.0)  # warm-up
        if not term.shown_since(frames, "auto ON"):
            raise HarnessError("auto-run did not start")
        say(f"  auto-run at {SPEEDS_UP_TO} for {plan.running:g} s")
        before = last_step(term.screen.text())
        rss_before = term.rss()[0]
        mark = term.mark()
        term.read_for(plan.running)
        running = term.since(mark)
        rss_after = term.rss()[0]
        run_seconds = time.monotonic() - mark.at
        after = last_step(term.screen.text())
        steps = (after or 0) - (before or 0)
        term.press("a")
        term.until(lambda: "auto off" in term.screen.text(), 10.0, "auto-run to stop")
        term.settle(0.5, 10.0)

        # A window resized to a row more and back: what a student's resize costs.
        term.resize(SIZE[0], SIZE[1] + 1)
        term.settle(0.5, 10.0)
        mark = term.mark()
        term.resize(*SIZE)
        term.settle(0.5, 10.0)
        resize = term.since(mark)
        return Stepping(
            full_frame=full.size,
            enter=enter,
            space=space,
            idle_cpu=idle.cpu / idle_seconds,
            idle_seconds=idle_seconds,
            idle_bytes=idle.bytes,
            run_cpu=running.cpu / run_seconds,
            run_seconds=run_seconds,
            run_steps=steps,
            run_bytes=running.bytes,
            run_frames=len(running.frames),
            run_rss_growth=rss_after - rss_before,
            resize=resize,
        )


@dataclass
class HistoryCost:
    steps: int
    fast_forward: float  # seconds the fast-forward took
    cpu: list[float]  # seconds on CPU per enter press
    latency: list[float]  # seconds from the key to the end of its last frame
    rss: int
    peak: int

    @property
    def cpu_per_step(self) -> float:
        return statistics.median(self.cpu)


def measure_history(
    plan: Plan, spec: str, steps: int, folder: Path, say: Callable[[str], None]
) -> HistoryCost:
    path = endless(spec, steps, folder)
    with Terminal([*APP, path]) as term:
        term.until(
            lambda: complete(term, FOOTER_TEXT) is not None, 30.0, "the first complete frame"
        )
        term.settle(QUIET_START, 10.0)
        mark = term.mark()
        term.press("f")
        needle = f"Stopped after {steps:,} steps"

        def finished() -> bool:
            # The toast, or the step counter at the limit once the progress line has gone.
            screen = term.screen.text()
            return term.shown_since(mark.frames, needle) or (
                last_step(screen) == steps and "fast-forward" not in screen
            )

        term.until(finished, 600.0, f"{steps:,} steps of fast-forward")
        fast_forward = time.monotonic() - mark.at
        # Let the toast time out (its removal redraws) before timing steps.
        term.read_for(NOTIFY_SECONDS + 0.5)
        term.settle(0.5, 10.0)
        say(f"  {steps:,} steps in {fast_forward:.1f} s; {plan.history_keys} × enter")
        keys = [term.key("\r") for _ in range(plan.history_keys)]
        rss, peak = term.rss()
        shown = last_step(term.screen.text())
        if shown != steps + plan.history_keys:
            raise HarnessError(
                f"expected step {steps + plan.history_keys:,}, the panel shows {shown}"
            )
        return HistoryCost(
            steps,
            fast_forward,
            [k.cpu for k in keys],
            [k.seconds for k in keys],
            rss,
            peak,
        )


# -- the report -------------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    value: str
    baseline: str
    ratio: str
    target: str
    verdict: str  # PASS, MISS or "" (for information)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def build_report(
    starts: Starts,
    session: Stepping,
    short: HistoryCost,
    long: HistoryCost,
    scenario: str,
    load: tuple[float, float],
) -> Report:
    report = Report()
    add = report.rows.append

    app_first = statistics.median(s.first for s in starts.app)
    base_first = statistics.median(s.first for s in starts.baseline)
    ratio = app_first / base_first
    add(
        Row(
            "1 start-up to first complete frame",
            f"{app_first:.3f} s",
            f"{base_first:.3f} s (one Label)",
            f"{ratio:.2f}×",
            f"≤ {START_TARGET}×",
            verdict(ratio <= START_TARGET),
        )
    )
    app_cpu = statistics.median(s.first_cpu for s in starts.app)
    base_cpu = statistics.median(s.first_cpu for s in starts.baseline)
    add(
        Row(
            "  …CPU time to it",
            f"{app_cpu:.3f} s",
            f"{base_cpu:.3f} s",
            f"{app_cpu / base_cpu:.2f}×",
            "",
            "",
        )
    )
    app_settled = statistics.median(s.settled for s in starts.app)
    base_settled = statistics.median(s.settled for s in starts.baseline)
    add(
        Row(
            "  …to the last start-up redraw",
            f"{app_settled:.3f} s",
            f"{base_settled:.3f} s",
            f"{app_settled / base_settled:.2f}×",
            "",
            "",
        )
    )
    app_start = starts.app[len(starts.app) // 2]
    base_start = starts.baseline[len(starts.baseline) // 2]
    add(
        Row(
            "  start-up bytes (frames)",
            f"{kb(app_start.bytes)} ({app_start.frames})",
            f"{kb(base_start.bytes)} ({base_start.frames})",
            f"{app_start.bytes / max(base_start.bytes, 1):.1f}×",
            "",
            "",
        )
    )

    full = session.full_frame
    for keys, what in ((session.enter, "whole step (enter)"), (session.space, "phase (space)")):
        sizes = keys.sizes
        median = statistics.median(sizes)
        share = median / full
        frames = statistics.median(len(d.frames) for d in keys.deltas)
        add(
            Row(
                f"2 bytes per {what}, median",
                f"{kb(median)} ({frames:g} frames)",
                f"{kb(full)} full frame",
                f"{share:.0%}",
                f"≤ {STEP_SHARE_TARGET:.0%} & ≤ {kb(STEP_BYTES_TARGET)}",
                verdict(share <= STEP_SHARE_TARGET and median <= STEP_BYTES_TARGET),
            )
        )
        add(
            Row(
                "  …max",
                kb(max(sizes)),
                "",
                f"{max(sizes) / full:.0%}",
                "",
                "",
            )
        )

    resize = session.resize
    add(
        Row(
            "  resize (80x25 → 80x24)",
            f"{kb(resize.bytes)} ({len(resize.frames)} frames)",
            "",
            f"{resize.bytes / full:.0%}",
            "",
            "",
        )
    )

    rate = session.run_steps / session.run_seconds
    add(
        Row(
            "3 CPU auto-running 10 steps/s",
            f"{session.run_cpu:.1%} ({rate:.1f} steps/s)",
            "one core",
            f"{session.run_cpu:.3f}",
            f"≤ {CPU_RUN_TARGET:.0%}",
            verdict(session.run_cpu <= CPU_RUN_TARGET),
        )
    )
    add(
        Row(
            "  …output while auto-running",
            f"{kb(session.run_bytes / session.run_seconds)}/s",
            "",
            "",
            "",
            "",
        )
    )
    add(
        Row(
            "3 CPU idle",
            f"{session.idle_cpu:.2%}",
            "one core",
            f"{session.idle_cpu:.4f}",
            f"≤ {CPU_IDLE_TARGET:.0%}",
            verdict(session.idle_cpu <= CPU_IDLE_TARGET),
        )
    )
    growth = session.run_rss_growth
    add(
        Row(
            "  …RSS growth while auto-running",
            f"{mb(growth)} in {session.run_steps} steps",
            "",
            f"{kb(growth / max(session.run_steps, 1))}/step",
            "≈ 0",
            "",
        )
    )
    students = SERVER_CORES / session.run_cpu if session.run_cpu > 0 else float("inf")
    add(
        Row(
            f"  students auto-running on {SERVER_CORES} cores",
            f"{students:.0f}",
            "",
            "",
            f"≥ {STUDENTS}",
            verdict(students >= STUDENTS),
        )
    )

    ratio = long.cpu_per_step / short.cpu_per_step
    add(
        Row(
            f"4 CPU per step after {long.steps:,} steps",
            f"{long.cpu_per_step * 1e3:.1f} ms",
            f"{short.cpu_per_step * 1e3:.1f} ms after {short.steps:,}",
            f"{ratio:.2f}×",
            f"≤ {HISTORY_TARGET}×",
            verdict(ratio <= HISTORY_TARGET),
        )
    )
    long_latency = statistics.median(long.latency)
    short_latency = statistics.median(short.latency)
    add(
        Row(
            "  …key to last frame",
            f"{long_latency * 1e3:.0f} ms",
            f"{short_latency * 1e3:.0f} ms",
            f"{long_latency / short_latency:.2f}×",
            "",
            "",
        )
    )
    ratio = long.rss / short.rss
    add(
        Row(
            f"5 RSS after {long.steps:,} steps",
            mb(long.rss),
            f"{mb(short.rss)} after {short.steps:,}",
            f"{ratio:.2f}×",
            f"≤ {RSS_RATIO_TARGET}× & < {mb(RSS_LIMIT)}",
            verdict(ratio <= RSS_RATIO_TARGET and long.rss < RSS_LIMIT),
        )
    )
    add(Row("  …peak RSS", mb(long.peak), mb(short.peak), f"{long.peak / short.peak:.2f}×", "", ""))

    report.notes += [
        f"scenario {scenario} (stop tolerances 0), loss panel view {START_VIEW}; "
        f"{SIZE[0]}x{SIZE[1]}, TERM={TERM}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; load average "
        f"{load[0]:.1f} before, {load[1]:.1f} after"
        + (
            " (busy: wall-clock figures such as start-up are inflated)"
            if max(load) > 0.75 * (os.cpu_count() or 1)
            else ""
        ),
        f"step sizes (enter), bytes: {' '.join(map(str, session.enter.sizes))}",
        f"phase sizes (space), bytes: {' '.join(map(str, session.space.sizes))}",
        f"auto-run: {session.run_steps} steps and {session.run_frames} frames in "
        f"{session.run_seconds:.1f} s; idle: {session.idle_bytes} bytes in "
        f"{session.idle_seconds:.1f} s",
        f"fast-forward: {short.steps:,} steps in {short.fast_forward:.2f} s, "
        f"{long.steps:,} in {long.fast_forward:.2f} s",
        f"CPU per step (ms) after {short.steps:,}: "
        + " ".join(f"{c * 1e3:.1f}" for c in short.cpu),
        f"CPU per step (ms) after {long.steps:,}: " + " ".join(f"{c * 1e3:.1f}" for c in long.cpu),
    ]
    return report


def render(report: Report) -> list[str]:
    head = Row("metric", "measured", "baseline", "ratio", "target", "")
    rows = [head, *report.rows]
    columns = list(
        zip(*((r.metric, r.value, r.baseline, r.ratio, r.target, r.verdict) for r in rows))
    )
    widths = [max(len(c) for c in col) for col in columns]
    lines = []
    for i, row in enumerate(rows):
        cells = (row.metric, row.value, row.baseline, row.ratio, row.target, row.verdict)
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    misses = sum(r.verdict == "MISS" for r in report.rows)
    lines.append("")
    lines += [f"- {note}" for note in report.notes]
    lines.append("")
    lines.append(f"{misses} target(s) missed" if misses else "every target met")
    return lines


def load_average() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run(plan: Plan, scenario: str, say: Callable[[str], None]) -> Report:
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="backprop-lab-") as tmp:
        folder = Path(tmp)
        CHILD_ENV["XDG_STATE_HOME"] = str(folder / "state")
        CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        endless_path = endless(scenario, plan.long, folder)
        say("1. start-up (app and a one-Label Textual app, interleaved)")
        starts = measure_starts(plan, endless_path, say)
        say("2-3. bytes per key, CPU idle and auto-running")
        session = measure_session(plan, endless_path, say)
        say(f"4-5. history of {plan.short:,} and {plan.long:,} steps")
        short = measure_history(plan, scenario, plan.short, folder, say)
        long = measure_history(plan, scenario, plan.long, folder, say)
    return build_report(starts, session, short, long, scenario, (load_before, load_average()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.lab",
        description="Time the real backprop-tui in a pseudo-terminal, as a lab server sees it.",
    )
    parser.add_argument("--quick", action="store_true", help="shorter windows, fewer repeats")
    parser.add_argument(
        "--scenario",
        default="xor",
        help="built-in name or .toml path; its stop rules are replaced (default: xor)",
    )
    parser.add_argument(
        "--view",
        choices=VIEWS,
        default="curve",
        help="the loss panel's view while keys and auto-run are measured (boundary: two inputs)",
    )
    args = parser.parse_args(argv)
    global START_VIEW
    START_VIEW = args.view
    plan = QUICK if args.quick else FULL
    if not sys.platform.startswith("linux"):
        print("benchmarks.lab reads /proc: it runs on Linux only", file=sys.stderr)
        return 1

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    began = time.monotonic()
    try:
        report = run(plan, args.scenario, say)
    except (HarnessError, OSError, ValueError) as err:
        print(f"benchmarks.lab: {err}", file=sys.stderr)
        return 1
    say(f"({time.monotonic() - began:.0f} s)")
    print("\n".join(render(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
