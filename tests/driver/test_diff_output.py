"""Sending only the cells that changed (tui.driver.diff_output, tui.driver.diff_driver).

Unit level: chunks as Textual writes them go through a DiffWriter, and both streams — what
Textual wrote and what the writer sent instead — are played into a VT emulator (pyte): after
every chunk the two screens must be identical, character and attributes, cell by cell.

End to end: the real command in pseudo-terminals, once with BACKPROP_TUI_FULL_REDRAW=1 and once
without, driven by the same keys (and a resize), must leave identical screens, the diffed one
having sent far fewer bytes.
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import select
import signal
import struct
import termios
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyte
import pytest
from rich.cells import set_cell_size
from rich.color import ColorSystem
from rich.style import Style
from textual import events
from textual.drivers.linux_driver import LinuxDriver
from wcwidth import wcwidth

from tests.functional.pty_driver import Terminal
from tui.driver.diff_driver import FULL_REDRAW_ENV, DiffDriver, wanted
from tui.driver.diff_output import DiffWriter

SYNC_START, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"
W, H = 20, 6

# -- helpers ----------------------------------------------------------------------------------


def cells(screen: pyte.Screen) -> list[list[tuple[object, ...]]]:
    return [
        [
            (c.data, c.fg, c.bg, c.bold, c.italics, c.reverse, c.underscore, c.strikethrough)
            for c in (screen.buffer[y][x] for x in range(screen.columns))
        ]
        for y in range(screen.lines)
    ]


class XtermScreen(pyte.Screen):  # type: ignore[misc]
    """pyte, but a wide character half overwritten loses its other half, as in xterm (pyte
    leaves a stale half behind)."""

    def draw(self, data: str) -> None:
        for ch in data:
            size = wcwidth(ch)
            x, line = self.cursor.x, self.buffer[self.cursor.y]
            if size > 0 and x < self.columns:
                if x > 0 and line[x].data == "":
                    line[x - 1] = self.default_char
                end = x + size
                if end < self.columns and line[end].data == "":
                    line[end] = self.default_char
            super().draw(ch)


class Replay:
    """Two emulators: one fed Textual's chunks, one fed the writer's output for them."""

    def __init__(self, size: tuple[int, int] = (W, H), prime: bool = True) -> None:
        self.writer = DiffWriter(size)
        self.raw, self.diffed = XtermScreen(*size), XtermScreen(*size)
        self._raw, self._diffed = pyte.Stream(self.raw), pyte.Stream(self.diffed)
        self.sent: list[str] = []
        if prime:
            # The SGR state is unknown until a reset: the first frame Textual draws after
            # starting goes through whole (test_the_style_is_unknown_at_first).
            self.feed("\x1b[0m")

    def feed(self, *chunks: str) -> str:
        """Send the chunks; check the screens match after each; the last chunk's output."""
        out = ""
        for chunk in chunks:
            out = self.writer.rewrite(chunk)
            self.sent.append(out)
            # The tty turns "\n" into "\r\n" (ONLCR), for both streams.
            self._raw.feed(chunk.replace("\n", "\r\n"))
            self._diffed.feed(out.replace("\n", "\r\n"))
            assert self.diffed.display == self.raw.display, (chunk, out)
            assert cells(self.diffed) == cells(self.raw), (chunk, out)
            assert (self.diffed.cursor.x, self.diffed.cursor.y) == (
                self.raw.cursor.x,
                self.raw.cursor.y,
            ), (chunk, out)
        return out

    def resize(self, cols: int, rows: int) -> None:
        self.writer.resize((cols, rows))
        self.raw.resize(rows, cols)
        self.diffed.resize(rows, cols)


def styled(text: str, style: str | None = None) -> str:
    """A Rich segment as Textual writes it: `ESC[<attrs>m text ESC[0m`, or bare text."""
    if not style:
        return text
    return Style.parse(style).render(text, color_system=ColorSystem.EIGHT_BIT)


def frame(
    lines: dict[int, Sequence[tuple[str, str | None]]], cursor: tuple[int, int] = (0, 0)
) -> str:
    """A frame as Textual's LayoutUpdate writes it: per line (0-based here) a move to its start,
    its segments, "\\n" between lines, then the cursor put back."""
    parts = []
    rows = sorted(lines)
    for i, y in enumerate(rows):
        parts.append(f"\x1b[{y + 1};1H")
        parts.extend(styled(text, style) for text, style in lines[y])
        if i < len(rows) - 1:
            parts.append("\n")
    parts.append(f"\x1b[{cursor[1] + 1};{cursor[0] + 1}H")
    return "".join(parts)


def full(rows: Sequence[str], style: str | None = "white on blue") -> str:
    return frame({y: [(set_cell_size(row, W), style)] for y, row in enumerate(rows)})


BLANK = [""] * H
MOVE = re.compile(r"\x1b\[\d+;\d+H")

# -- the writer, chunk by chunk ---------------------------------------------------------------


def test_first_frame_is_drawn_whole_and_an_unchanged_one_costs_nothing() -> None:
    r = Replay()
    first = full(["hello", "world"])
    out = r.feed(first)
    assert "hello" in out and "world" in out
    assert len(out) <= len(first)  # same cells, fewer style switches
    assert r.feed(first) == ""


def test_the_style_is_unknown_at_first() -> None:
    r = Replay(prime=False)
    first = full(["hello", "world"])
    assert r.feed(first) == first  # its first cells are drawn in a style that is not known
    again = r.feed(first)
    assert "hello" in again and "world" not in again  # those are sent once more
    assert r.feed(first) == ""


def test_one_changed_cell_is_one_move_and_one_character() -> None:
    r = Replay()
    r.feed(full(["step 1 · lr 0.1", "loss 0.49"]))
    out = r.feed(full(["step 2 · lr 0.1", "loss 0.49"]))
    assert out == "\x1b[1;6H\x1b[37;44m2\x1b[0m\x1b[1;1H"


def test_a_style_change_alone_is_sent() -> None:
    r = Replay()
    r.feed(frame({0: [("ab", "white on blue"), ("cd", "white on blue")]}))
    out = r.feed(frame({0: [("ab", "white on blue"), ("cd", "bold white on blue")]}))
    assert "cd" in out and "ab" not in out


def test_small_gaps_are_re_sent_and_large_ones_jumped() -> None:
    r = Replay()
    r.feed(full(["aaaaaaaaaaaaaaaaaaaa"], style=None))
    near = r.feed(full(["aXaaXaaaaaaaaaaaaaaa"], style=None))
    assert len(MOVE.findall(near)) == 2  # one run, and the cursor put back
    assert "XaaX" in near
    far = r.feed(full(["bXaaXaaaaaaaaaaaaaab"], style=None))
    assert len(MOVE.findall(far)) == 3  # two runs, and the cursor put back


def test_sgr_is_tracked_cumulatively_not_per_sequence() -> None:
    r = Replay()
    r.feed(frame({0: [("xy", None)]}))
    # Bold, then red on top of it: the cell is bold and red.
    r.feed("\x1b[1;1H\x1b[1m\x1b[31mx\x1b[0m\x1b[1;1H")
    # The same cell drawn again the way Rich would: nothing to send.
    assert r.feed("\x1b[1;1H\x1b[1;31mx\x1b[0m\x1b[1;1H") == ""
    # A colour with zeros in it is not a reset.
    r.feed("\x1b[1;1H\x1b[1;38;2;0;0;0;48;5;0mx\x1b[0m\x1b[1;1H")
    out = r.feed("\x1b[1;1H\x1b[38;2;0;0;0;48;5;0mx\x1b[0m\x1b[1;1H")
    assert "x" in out  # not bold any more: sent again


def test_style_left_open_at_the_end_of_a_chunk_is_kept_for_the_next() -> None:
    r = Replay()
    r.feed(frame({0: [("abc", None)]}))
    r.feed("\x1b[1;1H\x1b[7mX")  # reverse video left on
    r.feed("Y\x1b[0m\x1b[1;1H")  # …and the next chunk draws with it
    assert r.feed("\x1b[1;1H\x1b[7mXY\x1b[0m\x1b[1;1H") == ""


def test_unknown_cells_in_a_gap_are_jumped_over() -> None:
    r = Replay()
    r.feed(full(["abcdefgh"], style=None))
    link = "\x1b[1;3H\x1b]8;;https://example.org\x1b\\cd\x1b]8;;\x1b\\\x1b[1;1H"
    assert r.feed(link) == link  # cells 3-4 are not modelled now
    out = r.feed("\x1b[1;1HAb\x1b[1;5HEfgh\x1b[1;1H")
    assert out == "\x1b[1;1HA\x1b[1;5HE\x1b[1;1H"


def test_sync_markers_stay_around_the_diffed_frame() -> None:
    r = Replay()
    r.feed(full(["one", "two"]))
    # As Textual writes them: the markers on their own…
    assert r.feed(SYNC_START) == SYNC_START
    r.feed(full(["one", "tWo"]))
    assert r.feed(SYNC_END) == SYNC_END
    # …or all in one chunk.
    out = r.feed(SYNC_START + full(["One", "tWo"]) + SYNC_END)
    assert out.startswith(SYNC_START) and out.endswith(SYNC_END)
    assert "O" in out and "tWo" not in out
    assert r.feed(SYNC_START + full(["One", "tWo"]) + SYNC_END) == SYNC_START + SYNC_END


def test_mode_switches_pass_and_keep_the_model() -> None:
    r = Replay()
    first = full(["abc"])
    r.feed(first)
    for seq in ("\x1b[?25l", "\x1b[?1000h\x1b[?1003h", "\x1b]0;title\x07", "\x1b[>25u", "\x07"):
        assert r.feed(seq) == seq
    assert r.feed(first) == ""


@pytest.mark.parametrize(
    ("seq", "forgotten"),
    [
        ("\x1b[2J", ["abcdef", "ghijkl"]),  # clear
        ("\x1b[K", ["abcdef", "ghijkl"]),  # erase to the end of the line
        ("\x1b[3S", ["abcdef", "ghijkl"]),  # scroll up
        ("\x1b[?1049h", ["abcdef", "ghijkl"]),  # alternate screen
        ("\x1b[?1049l", ["abcdef", "ghijkl"]),
        ("\x1b[2A", ["abcdef", "ghijkl"]),  # relative move
        ("\x1bc", ["abcdef", "ghijkl"]),  # full reset
        # A hyperlink: the cells drawn while it is open are not modelled.
        ("\x1b]8;;https://example.org\x1b\\link\x1b]8;;\x1b\\", ["abcd"]),
    ],
)
def test_what_is_not_understood_passes_and_is_forgotten(seq: str, forgotten: list[str]) -> None:
    r = Replay()
    first = full(["abcdef", "ghijkl"])
    r.feed(first)
    chunk = "\x1b[1;1H" + seq + "\x1b[1;1H"
    assert r.feed(chunk) == chunk
    again = r.feed(first)
    assert all(text in again for text in forgotten)  # nothing skipped on a guess


@pytest.mark.parametrize(
    "seq", ["\x1b(0", "\x1b[4h", "\x1b[2;5r", "\x1b[?6h", "\x1b7", "\x1bPtmux;x\x1b\\", "\x0e"]
)
def test_what_changes_later_drawing_turns_diffing_off(seq: str) -> None:
    r = Replay()
    first = full(["abc"])
    r.feed(first)
    r.feed(seq + "\x1b[1;1H")
    assert r.writer.disabled
    assert r.feed(first) == first
    r.feed("\x1b(B\x1b[4l\x1b[r\x1b[?6l\x0f")  # back to normal for the emulators


def test_a_frame_after_a_forget_is_passed_then_diffing_resumes() -> None:
    r = Replay()
    r.feed(full(["abc"]))
    r.feed("\x1b[2J")
    # The style state is unknown now: a frame whose first SGR is not a reset goes through…
    first = full(["abc", "def"])
    assert r.feed(first) == first
    # …and what it drew after its first reset is known: only the first row is sent again…
    again = r.feed(first)
    assert "abc" in again and "def" not in again
    # …and then the writer is back to the changed cells.
    assert r.feed(full(["abc", "dEf"])) == "\x1b[2;2H\x1b[37;44mE\x1b[0m\x1b[1;1H"


def test_resize_forgets_everything() -> None:
    r = Replay()
    first = full(["abc"])
    r.feed(first)
    r.resize(W, H + 2)
    assert "abc" in r.feed(first)


def test_text_past_the_last_column_or_a_newline_at_the_bottom_is_passed() -> None:
    r = Replay()
    r.feed(full(["abc"]))
    past = f"\x1b[1;{W - 1}Hxyz\x1b[1;1H"
    assert r.feed(past) == past
    r.feed(full(["abc"]))
    scroll = f"\x1b[{H};1Hbottom\n\x1b[1;1H"
    assert r.feed(scroll) == scroll


def test_wide_characters() -> None:
    r = Replay()
    r.feed(full(["第 1 步 · lr 0.1", "学习率 0.1"]))
    out = r.feed(full(["第 2 步 · lr 0.1", "学习率 0.1"]))
    assert "2" in out and "步" not in out and "学" not in out
    # Characters moving by one cell over wide ones: every half is accounted for.
    r.feed(full(["a中文b", "中文ab"]))
    r.feed(full(["中文ab", "a中文b"]))
    r.feed(full(["中a文b", "ab中文"]))
    # A wide character half overwritten by Textual itself: passed through, not guessed.
    r.feed(frame({0: [("中文", None)]}))
    half = "\x1b[1;2Hx\x1b[1;1H"
    assert r.feed(half) == half
    # A wide character cannot start in the last column.
    last = f"\x1b[1;{W}H中\x1b[1;1H"
    assert r.feed(last) == last


def test_zero_width_characters() -> None:
    r = Replay()
    r.feed(full(["cafe"]))
    out = r.feed(full(["cafe\u0301"]))  # a combining accent joins the cell before it
    assert "e\u0301" in out
    assert r.feed(full(["cafe\u0301"])) == ""
    joined = full(["\U0001f469\u200d\U0001f4bb"])  # a joiner: the terminal decides the width
    assert r.feed(joined) == joined


def test_a_move_outside_the_screen_is_not_trusted() -> None:
    r = Replay()
    r.feed(full(["abc"]))
    outside = f"\x1b[{H + 5};1Hzzz\x1b[1;1H"
    assert r.feed(outside) == outside


SAMPLE = "abc xyz 0.123 ─│╭╮ ⠁⠂⣀ ∂J/∂w σ θ 第步学习 ·−"
STYLES = [
    None,
    "white on blue",
    "bold white on blue",
    "reverse",
    "red on black",
    "italic underline",
]


def random_chops(rng: random.Random) -> str:
    """A ChopsUpdate-like chunk: a few pieces of rows rewritten, sometimes everything."""
    rows = range(H) if rng.random() < 0.2 else sorted(rng.sample(range(H), rng.randint(1, H)))
    parts = []
    for y in rows:
        x = rng.randrange(W)
        parts.append(f"\x1b[{y + 1};{x + 1}H")
        room = W - x
        while room > 0:
            text = "".join(rng.choice(SAMPLE) for _ in range(rng.randint(1, 6)))
            fitted = ""
            for ch in text:
                size = 2 if "\u4e00" <= ch <= "\u9fff" else 1
                if size > room:
                    break
                fitted += ch
                room -= size
            if not fitted:
                break
            parts.append(styled(fitted, rng.choice(STYLES)))
            if rng.random() < 0.3:
                break
        parts.append("\n" if y < H - 1 and rng.random() < 0.5 else "")
    parts.append(f"\x1b[{rng.randint(1, H)};{rng.randint(1, W)}H")
    chunk = "".join(parts)
    roll = rng.random()
    if roll < 0.05:
        chunk = "\x1b[2J" + chunk
    elif roll < 0.1:
        chunk = SYNC_START + chunk + SYNC_END
    elif roll < 0.13:
        chunk += "\x1b[1;1H\x1b[1m"  # a style left open for the next chunk
    return chunk


def random_row(rng: random.Random) -> list[tuple[str, str | None]]:
    """Segments filling exactly one row."""
    segments, room = [], W
    while room > 0:
        want, text = rng.randint(1, 8), ""
        while want > 0:
            ch = rng.choice(SAMPLE)
            size = 2 if "\u4e00" <= ch <= "\u9fff" else 1
            if size > min(want, room):
                ch, size = " ", 1
            text += ch
            want -= size
            room -= size
            if room == 0:
                break
        segments.append((text, rng.choice(STYLES)))
    return segments


def evolving(rng: random.Random, screen: list[list[tuple[str, str | None]]]) -> str:
    """As Textual repaints: a few segments change, and whole rows or their ends are re-sent
    from a segment boundary (most of what is sent has not changed)."""
    for _ in range(rng.randint(0, 3)):
        row = screen[rng.randrange(H)]
        i = rng.randrange(len(row))
        text, style = row[i]
        if rng.random() < 0.5:
            style = rng.choice(STYLES)
        else:  # the same width, other characters
            text = "".join(
                rng.choice("0123456789.-+ ")
                for _ in range(sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in text))
            )
        row[i] = (text, style)
    if rng.random() < 0.1:
        screen[rng.randrange(H)] = random_row(rng)
    parts = []
    for y in sorted(rng.sample(range(H), rng.randint(1, H))):
        row = screen[y]
        i = rng.randrange(len(row)) if rng.random() < 0.5 else 0
        x = sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for text, _ in row[:i] for c in text)
        parts.append(f"\x1b[{y + 1};{x + 1}H")
        parts.extend(styled(text, style) for text, style in row[i:])
        parts.append("\n" if y < H - 1 else "")
    parts.append(f"\x1b[{rng.randint(1, H)};{rng.randint(1, W)}H")
    chunk = "".join(parts)
    return SYNC_START + chunk + SYNC_END if rng.random() < 0.3 else chunk


@pytest.mark.parametrize("seed", range(8))
def test_random_frames_leave_identical_screens(seed: int) -> None:
    rng = random.Random(seed)
    r = Replay()
    screen = [random_row(rng) for _ in range(H)]
    raw = sent = 0
    for _ in range(120):
        chunk = random_chops(rng) if rng.random() < 0.15 else evolving(rng, screen)
        out = r.feed(chunk)
        raw += len(chunk)
        sent += len(out)
    assert sent < 0.6 * raw  # and it saved something


# -- hooking it in ----------------------------------------------------------------------------


def test_the_driver_is_used_only_for_a_real_terminal() -> None:
    assert wanted({}) == (os.name == "posix")
    assert not wanted({"TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"})
    assert not wanted({FULL_REDRAW_ENV: "1"})
    assert wanted({FULL_REDRAW_ENV: "0"}) == (os.name == "posix")


async def test_the_driver_forgets_on_every_resize_and_passes_re_entrant_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textual.app import App
    from textual.geometry import Size

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    try:
        driver = DiffDriver(App())  # it sets SIGTSTP/SIGCONT handlers: put them back after
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    sent: list[str] = []
    driver._writer_thread = type("Writer", (), {"write": staticmethod(sent.append)})()
    monkeypatch.setattr(driver, "_real_size", lambda fallback: (W, H))
    monkeypatch.setattr(driver, "send_message", lambda message: None)
    first = full(["abc", "def"])

    def resent() -> bool:
        """Whether the same frame once more is sent again (the model was forgotten)."""
        sent.clear()
        driver.write(first)
        return "abc" in "".join(sent)

    driver._get_terminal_size()  # as at start-up
    driver.write("\x1b[0m")
    assert resent()
    assert not resent()
    driver._get_terminal_size()  # as from the SIGWINCH handler
    assert resent()
    assert not resent()
    driver.process_message(events.Resize(Size(W, H), Size(W, H)))  # a resize reported in-band
    assert resent()
    assert not resent()
    # A write from a signal handler (SIGTSTP, SIGCONT) in the middle of another goes as it is,
    # and the model is forgotten.
    driver._owner = threading.get_ident()
    sent.clear()
    driver.write("\x1b[1;1Hx")
    assert sent == ["\x1b[1;1Hx"]
    driver._owner = None
    driver.write("\x1b[0m")
    assert resent()
    assert not resent()
    # Back from a suspend (ctrl+z): the screen was someone else's.
    monkeypatch.setattr(LinuxDriver, "start_application_mode", lambda self: None)
    driver.start_application_mode()
    driver.write("\x1b[0m")
    assert resent()
    assert not resent()


def test_run_app_passes_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui import cli
    from tui.app import BackpropApp

    seen: list[object] = []
    monkeypatch.setattr(BackpropApp, "run", lambda self, **kw: seen.append(self.driver_class))
    monkeypatch.setattr(BackpropApp, "keep_session", lambda self: None)
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.delenv(FULL_REDRAW_ENV, raising=False)
    args = cli.build_parser().parse_args([])
    scenario = cli.load(args.scenario)
    cli.run_app(scenario, args)
    monkeypatch.setenv(FULL_REDRAW_ENV, "1")
    cli.run_app(scenario, args)
    monkeypatch.setenv(FULL_REDRAW_ENV, "")
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    cli.run_app(scenario, args)
    assert seen[0] is DiffDriver
    assert seen[1] is not DiffDriver and seen[2] is not DiffDriver


# -- end to end: the real command -------------------------------------------------------------

SYNC_QUERY, SYNC_REPLY = b"\x1b[?2026$p", b"\x1b[?2026;2$y"


class Run:
    """One `backprop-tui` in a pty, answering the synchronized-output query if asked to."""

    def __init__(self, args: list[str], env: dict[str, str], sync: bool) -> None:
        # COLUMNS/LINES empty: Textual takes its size from the pty, so that resizes reach it.
        self.term = Terminal(args, size=(80, 24), env={"COLUMNS": "", "LINES": "", **env})
        self.sync = sync
        self.answered = False
        self.size = (80, 24)
        self.resized_at: list[tuple[int, tuple[int, int]]] = []  # (offset, new size)
        self.marks: list[int] = []

    def pump(self) -> bool:
        """Read what is there; whether anything came."""
        try:
            chunk = os.read(self.term.master, 65536)
        except OSError:
            return False
        self.term.output += chunk
        if self.sync and not self.answered and SYNC_QUERY in self.term.output:
            self.answered = True
            os.write(self.term.master, SYNC_REPLY)
        return bool(chunk)

    def resize(self, cols: int, rows: int) -> None:
        self.resized_at.append((len(self.term.output), (cols, rows)))
        size = struct.pack("HHHH", rows, cols, 0, 0)
        fcntl.ioctl(self.term.master, termios.TIOCSWINSZ, size)
        os.kill(self.term.proc.pid, signal.SIGWINCH)
        self.size = (cols, rows)

    def screen(self) -> pyte.Screen:
        screen = XtermScreen(80, 24)
        stream = pyte.ByteStream(screen)
        out = bytes(self.term.output)
        start = 0
        for offset, (cols, rows) in self.resized_at:
            stream.feed(out[start:offset])
            screen.resize(rows, cols)
            start = offset
        stream.feed(out[start:])
        return screen


def settle(runs: Iterable[Run], first: float = 3.0, quiet: float = 0.35) -> None:
    """Read until every run has written something (up to `first` s) and then been quiet."""
    runs = list(runs)
    began = time.monotonic()
    heard = {id(r): False for r in runs}
    last = began
    while True:
        now = time.monotonic()
        waiting = not all(heard.values()) and now - began < first
        if not waiting and now - last >= quiet:
            return
        if now - began > 20:
            raise AssertionError("still drawing after 20 s")
        ready, _, _ = select.select([r.term.master for r in runs], [], [], 0.05)
        for r in runs:
            if r.term.master in ready and r.pump():
                heard[id(r)] = True
                last = time.monotonic()


def drive(runs: list[Run], keys: Sequence[str]) -> None:
    settle(runs, first=20)
    for r in runs:
        r.marks.append(len(r.term.output))
    for key in keys:
        for r in runs:
            if key == "RESIZE":
                r.resize(90, 28)
            else:
                os.write(r.term.master, key.encode())
        settle(runs)
        for r in runs:
            r.marks.append(len(r.term.output))


def assert_same_screens(full: Run, diffed: Run) -> None:
    a, b = full.screen(), diffed.screen()
    assert b.display == a.display, "\n".join(b.display) + "\n----\n" + "\n".join(a.display)
    assert cells(b) == cells(a)
    assert b.display[0].strip() and any("Chain" in line or "链式" in line for line in b.display)


CASES = {
    # name: (arguments, keys, answer the synchronized-output query)
    "xor": (
        ["xor"],
        [" ", " ", " ", " ", "\t", "\r", "l", "\t", " ", "u", "?", "\x1b", "RESIZE", "\r", "l"],
        True,
    ),
    "zh": (["--lang", "zh"], [" ", " ", "\r", "?", "\x1b", "RESIZE", " "], True),
    "ascii": (["--ascii", "textbook-2-2-2"], [" ", "\t", "\r", "l", "\r"], False),
}


def test_the_real_app_draws_the_same_screens_with_far_fewer_bytes(tmp_path: Path) -> None:
    runs: dict[tuple[str, bool], Run] = {}
    try:
        for name, (args, _keys, sync) in CASES.items():
            for diff in (False, True):
                env = {"XDG_STATE_HOME": str(tmp_path / f"{name}-{diff}")}
                env[FULL_REDRAW_ENV] = "" if diff else "1"
                runs[name, diff] = Run(args, env, sync)
        # Each case's two runs are driven in lockstep; the cases one after the other.
        for name, (_args, keys, _sync) in CASES.items():
            drive([runs[name, False], runs[name, True]], keys)
        for name in CASES:
            full, diffed = runs[name, False], runs[name, True]
            assert b"Traceback" not in full.term.output + diffed.term.output
            assert_same_screens(full, diffed)
            # Bytes after the first frame: under 40 % of a full redraw's.
            sent_full = len(full.term.output) - full.marks[0]
            sent_diff = len(diffed.term.output) - diffed.marks[0]
            assert sent_diff < 0.4 * sent_full, (name, sent_diff, sent_full)
            # …and for every step or phase, each key on its own.
            keys = CASES[name][1]
            for i, key in enumerate(keys):
                if key in (" ", "\r"):
                    one_full = full.marks[i + 1] - full.marks[i]
                    one_diff = diffed.marks[i + 1] - diffed.marks[i]
                    assert one_diff < 0.4 * one_full, (name, i, key, one_diff, one_full)
    finally:
        for r in runs.values():
            r.term.close()


# Something else writes to the terminal behind the app's back (wall, a background job): text,
# an erased line, a style left switched on.
GARBAGE = b"\x1b[5;10H\x1b[1;31mBroadcast message from root\x1b[12;1H\x1b[2K\x1b[20;30Hxyz"


def test_ctrl_l_redraws_every_cell_after_something_else_wrote_to_the_terminal(
    tmp_path: Path,
) -> None:
    run = Run(["textbook-2-2-2"], {"XDG_STATE_HOME": str(tmp_path), FULL_REDRAW_ENV: ""}, True)

    def press(key: str) -> None:
        os.write(run.term.master, key.encode())
        settle([run])

    try:
        drive([run], [" ", " "])
        for key in ("", "?"):  # on the main screen, then with a dialog over it
            if key:
                press(key)
            before = run.screen()
            run.term.output += GARBAGE  # as the terminal received it
            garbled = run.screen()
            assert garbled.display != before.display and "Broadcast" in "".join(garbled.display)
            press("\x0c")  # ctrl+l
            after = run.screen()
            assert after.display == before.display, "\n".join(after.display)
            wrong = [
                (y, x, a, b)
                for y, (row_a, row_b) in enumerate(zip(cells(after), cells(before)))
                for x, (a, b) in enumerate(zip(row_a, row_b))
                if a != b
            ]
            assert not wrong, wrong[:5]
        assert b"Traceback" not in run.term.output
    finally:
        run.term.close()
