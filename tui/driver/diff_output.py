"""Send the terminal only the cells that changed.

Textual repaints every cell of every widget it refreshes: one training step changes about 150 of
the 1,920 cells of an 80×24 screen, but Textual writes 8-9 KB, which a slow SSH link feels.
`DiffWriter` keeps a model of what the terminal shows (each cell's character and its complete
SGR style) and rewrites each chunk of output Textual writes into just the cells that change.

What Textual 8.2.8's LinuxDriver writes, and so what is modelled exactly:

- frames (`_compositor.LayoutUpdate` / `ChopsUpdate`): for each line, a cursor move
  `ESC[y;xH`, then Rich's segments, each `ESC[<attrs>m text ESC[0m` (or bare text), a `\\n`
  between lines (never after the last), and a final move that puts the cursor back; when the
  terminal answers the DEC mode 2026 query, `ESC[?2026h` and `ESC[?2026l` come around each
  frame, as writes of their own;
- mode switches and queries (mouse, focus, bracketed paste, kitty keyboard, `ESC[?7l`, DECRQM),
  the pointer shape (OSC 22), titles and the clipboard (OSC 52), the bell: nothing drawn.

Everything else is not understood: such a chunk is passed on unchanged and the model forgets what
the sequence may have touched (everything: cells, cursor, style), so nothing is ever skipped on a
guess. A few sequences would change how later text is drawn (character sets, insert mode,
scrolling regions, unknown DEC modes, DCS/APC strings): after one of those the writer passes
everything through for good. So do alternate-screen switches and clears reset the model, and the
driver resets it on every resize.

SGR is tracked cumulatively: a cell's style is the list of SGR parameters applied since the last
reset (`ESC[0m`), which re-sent after a reset reproduces the terminal's attributes exactly,
whatever they mean. Wide characters (CJK) take two cells; a wide character half overwritten makes
its other half unknown. Combining marks join the cell before them; other zero-width characters
(joiners, variation selectors) make the cell and the cursor unknown.

The output for a chunk: per changed run of cells, one cursor move, the styles, the text; a gap of
unchanged cells is re-sent when that costs fewer bytes than a new cursor move; then the cursor
and the style are put back where Textual's own output leaves them. If the diff cannot reproduce
Textual's result exactly (a cell the model cannot know), the chunk goes through as it is.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from typing import Final

from rich.cells import get_character_cell_size

__all__ = ["DiffWriter"]

# A cell is (character, style). Characters: None for unknown, "" for the right half of a wide
# character; styles: the SGR parameters since the last reset ("" for none).
Row = list[str | None]

_TOKEN: Final = re.compile(
    r"(?P<text>[^\x00-\x1f\x7f-\x9f]+)"
    r"|\x1b\[(?P<csi>[0-?]*[ -/]*[@-~])"
    r"|\x1b\](?P<osc>[^\x07\x1b]*)(?:\x07|\x1b\\)"
    r"|\x1b(?P<string>[PX^_][^\x1b]*(?:\x1b\\)?)"
    r"|\x1b(?P<esc>[ -/]*[0-~])"
    r"|(?P<ctl>[\x00-\x1f\x7f-\x9f])",
    re.DOTALL,
)
_CUP: Final = re.compile(r"(\d*)(?:;(\d*))?[Hf]")
_SGR: Final = re.compile(r"[0-9;:]*m")
_PRIVATE_MODE: Final = re.compile(r"\?([0-9;]+)([hl])")

# DEC private modes that draw nothing and leave how text is drawn alone: cursor keys, line wrap
# (text past the last column is never modelled), cursor blink and visibility, mouse reporting,
# focus events, bracketed paste, synchronized output (2026), in-band resize (2048).
_HARMLESS_MODES: Final = frozenset(
    {1, 7, 12, 25, 1000, 1002, 1003, 1004, 1005, 1006, 1007, 1015, 1016, 2004, 2026, 2048}
)
_SCREEN_MODES: Final = frozenset({47, 1047, 1048, 1049})  # alternate screen: reset the model
# Queries and keyboard settings: nothing drawn. DECRQM (`$p`), kitty keyboard (`>…u`, `<…u`,
# `=…u`, `?u`), status and attribute reports (`n`, `c`), xterm key modifiers (`>…m`),
# cursor shape (` q`).
_HARMLESS_CSI: Final = re.compile(
    r"\??[0-9;]*\$p|[<>=?][0-9;]*u|\??[0-9;]*n|[>=]?[0-9;]*c|>[0-9;]*m|[0-9]* q"
)
# OSC that draw nothing: titles, cwd, notifications, palette queries and settings, pointer shape,
# clipboard, shell marks.
_HARMLESS_OSC: Final = frozenset(
    {"0", "1", "2", "4", "7", "9", "10", "11", "12", "22", "52", "104", "110", "111", "112", "133"}
)
_GLUE: Final = frozenset({"\u200d", "\ufe0f", "\ufe0e"})  # joiners and variation selectors


_NARROW: set[str] = set()  # characters seen to be one cell wide (and not joiners)


def _all_narrow(text: str) -> bool:
    """Whether every character of `text` takes exactly one cell (as Rich measures it)."""
    for ch in set(text):
        if ch in _NARROW:
            continue
        if ch in _GLUE or get_character_cell_size(ch) != 1 or unicodedata.combining(ch):
            return False
        _NARROW.add(ch)
    return True


class _Unknown(Exception):
    """The chunk cannot be diffed exactly: pass it through."""


_SGR_CACHE: dict[tuple[str, str | None], str | None] = {}


def _sgr(params: str, state: str | None) -> str | None:
    """The style after `ESC[<params>m` from `state` (None: unknown, also for a malformed one)."""
    key = (params, state)
    try:
        return _SGR_CACHE[key]
    except KeyError:
        pass
    if len(_SGR_CACHE) > 4096:
        _SGR_CACHE.clear()
    style = _SGR_CACHE[key] = _parse_sgr(params, state)
    return style


def _parse_sgr(params: str, state: str | None) -> str | None:
    groups: list[str] | None = None if state is None else ([state] if state else [])
    parts = params.split(";")
    i = 0
    while i < len(parts):
        p = parts[i]
        i += 1
        if ":" in p:  # sub-parameters (e.g. 4:3, 38:2::r:g:b): one self-contained attribute
            if groups is not None:
                groups.append(p)
            continue
        if not p or int(p) == 0:
            groups = []
            continue
        if p in ("38", "48", "58"):  # extended colour: 5;n or 2;r;g;b
            kind = parts[i] if i < len(parts) else ""
            count = 2 if kind == "5" else 4 if kind == "2" else 0
            args = parts[i : i + count]
            if not count or len(args) < count or not all(a.isdigit() for a in args):
                return None
            p = ";".join((p, *args))
            i += count
        if groups is not None:
            groups.append(p)
    if groups is None:
        return None
    style = ";".join(groups)
    return style if len(style) <= 200 else None


def _sgr_to(current: str | None, style: str) -> str:
    """The bytes that take the terminal from style `current` (None: unknown) to `style`."""
    if current == style:
        return ""
    if not style:
        return "\x1b[0m"
    if current == "":
        return f"\x1b[{style}m"
    return f"\x1b[0;{style}m"


class DiffWriter:
    """Rewrites what Textual writes into the cells that change; see the module's docstring.

    `rewrite` is not thread-safe (the driver calls it under a lock); `resize` and `reset` only
    leave a request, so that a signal handler or another thread may call them at any time.
    """

    def __init__(self, size: tuple[int, int] | None = None) -> None:
        self.disabled = False  # set for good after a sequence that changes how text is drawn
        self._width = self._height = 0
        self._chars: list[Row] = []
        self._styles: list[Row] = []
        self._y: int | None = None  # cursor row, 0-based (None: unknown)
        self._x: int | None = None  # cursor column; == width after text that ends in the last
        self._style: str | None = None  # the terminal's SGR state (None: unknown)
        self._link = False  # an OSC 8 hyperlink is open: the cells drawn now are not modelled
        self._requests = 0  # bumped by resize() and reset(), from any thread or signal handler
        self._handled = 0
        self._next_size: tuple[int, int] | None = None
        self._full_reset = False
        if size is not None:
            self.resize(size)

    # -- requests (any thread, signal handlers) ---------------------------------------------

    def resize(self, size: tuple[int, int]) -> None:
        """The terminal is now `size` (columns, rows): forget the cells and the cursor (a resize
        leaves the current SGR attributes alone); applied on next use."""
        self._next_size = size
        self._requests += 1

    def reset(self) -> None:
        """Forget everything (e.g. something else may have written to the terminal)."""
        self._full_reset = True
        self._requests += 1

    def _apply_requests(self, requests: int) -> None:
        if requests == self._handled:
            return
        self._handled = requests
        if self._next_size is not None:
            self._width, self._height = self._next_size
        style = self._style
        self._forget()
        if self._full_reset:
            self._full_reset = False
        else:
            self._style = style

    def _forget(self) -> None:
        width, height = self._width, self._height
        self._chars = [[None] * width for _ in range(height)]
        self._styles = [[None] * width for _ in range(height)]
        self._y = self._x = None
        self._style = None

    # -- the rewrite -------------------------------------------------------------------------

    def rewrite(self, data: str) -> str:
        """What to send instead of `data`: the same screen, cursor and style, in fewer bytes."""
        started = self._requests  # a request after this is seen at the end, and next time
        self._apply_requests(started)
        if self.disabled or not self._width or not self._height or not data:
            return data
        try:
            tokens = self._tokens(data)
        except _Unknown:
            # Not understood: pass it on; the model is forgotten where it went astray (inside
            # _tokens) and the rest of the chunk was modelled from there on.
            return data
        try:
            out = self._diff(tokens)
        except _Unknown:
            return data
        if self._requests != started:  # a resize arrived meanwhile: play safe
            return data
        return out

    def _tokens(self, data: str) -> list[tuple[str, str]]:
        """(kind, value) pairs: "text", "cup", "sgr", "lf", "cr", "keep" (drawing nothing)."""
        tokens: list[tuple[str, str]] = []
        append = tokens.append
        pos = 0
        unknown = False
        for m in _TOKEN.finditer(data):
            if m.start() != pos:  # cannot happen with this pattern; be sure anyway
                unknown = True
            pos = m.end()
            kind = m.lastgroup
            value = m.group(kind or 0)
            if kind == "text":
                append(("text", value))
            elif kind == "csi":
                final = value[-1]
                if final == "m" and _SGR.fullmatch(value):
                    append(("sgr", value))
                    continue
                if final == "H" and _CUP.fullmatch(value):
                    append(("cup", value))
                    continue
                verdict = self._classify_csi(value)
                if verdict == "forget":
                    unknown = True
                    self._forget()
                    tokens.clear()  # only modelled from here on
                    continue
                append((verdict, m.group(0) if verdict == "keep" else value))
            elif kind == "osc":
                number, _, rest = value.partition(";")
                if number == "8":
                    # A hyperlink opens (or closes, with an empty URI): cells drawn while it is
                    # open carry it, which the model does not record.
                    unknown = True
                    append(("link", rest.partition(";")[2]))
                    continue
                if number not in _HARMLESS_OSC:
                    unknown = True
                    self._forget()
                    tokens.clear()
                    continue
                append(("keep", m.group(0)))
            elif kind == "ctl":
                if value == "\n":
                    append(("lf", value))
                elif value == "\r":
                    append(("cr", value))
                elif value == "\x07":
                    append(("keep", value))
                else:
                    if value in "\x0e\x0f\x1b":  # shifts to other character sets; a lone ESC
                        self.disabled = True
                    unknown = True
                    self._forget()
                    tokens.clear()
            else:  # ESC sequences and DCS/APC/PM/SOS strings
                if kind == "string" or value[0] in " ()*+-./#%[]" or value in "78NOno|}~":
                    # Character sets, saved cursors, graphics, tmux passthrough, a sequence
                    # cut short: what comes next may be drawn differently.
                    self.disabled = True
                unknown = True
                self._forget()
                tokens.clear()
        if pos != len(data):
            unknown = True
        if unknown:
            if self.disabled:
                self._forget()
            else:
                # Model the rest (after the last thing not understood), so that the next chunk
                # can be diffed again; whatever it draws, this chunk goes through as it is.
                with contextlib.suppress(_Unknown):
                    self._diff(tokens)
            raise _Unknown
        return tokens

    def _classify_csi(self, value: str) -> str:
        final = value[-1]
        if final == "m" and _SGR.fullmatch(value):
            return "sgr"
        if final in "Hf" and _CUP.fullmatch(value):
            return "cup"
        mode = _PRIVATE_MODE.fullmatch(value)
        if mode:
            numbers = {int(n) for n in mode.group(1).split(";") if n}
            if numbers <= _HARMLESS_MODES:
                return "keep"
            if not numbers <= _HARMLESS_MODES | _SCREEN_MODES:
                self.disabled = True  # origin mode, margins, …: later text lands elsewhere
            return "forget"
        if _HARMLESS_CSI.fullmatch(value):
            return "keep"
        if final in "hlrsu" or value.startswith("?"):
            # Insert mode and other ANSI modes, scrolling margins, saved cursor or private
            # modes: later text would be drawn differently.
            self.disabled = True
        return "forget"

    def _diff(self, tokens: list[tuple[str, str]]) -> str:
        """Apply the tokens to the model, and give the output for the cells they change.

        What draws nothing stays where it is (e.g. the synchronized-output markers around a
        frame); each run of drawing between such tokens is diffed on its own. Raises _Unknown
        (once every token has been applied to the model) if any run cannot be diffed exactly.
        """
        out: list[str] = []
        segment: list[tuple[str, str]] = []
        exact = True

        def flush() -> None:
            nonlocal exact
            try:
                out.append(self._segment(segment))
            except _Unknown:
                exact = False
            segment.clear()

        for token in tokens:
            if token[0] == "keep":
                if segment:
                    flush()
                out.append(token[1])
            else:
                segment.append(token)
        if segment:
            flush()
        if not exact:
            raise _Unknown
        return "".join(out)

    # -- one run of drawing ------------------------------------------------------------------

    def _segment(self, tokens: list[tuple[str, str]]) -> str:
        width, height = self._width, self._height
        chars, styles = self._chars, self._styles
        start_cursor = (self._y, self._x)
        start_style = self._style
        before: dict[int, dict[int, tuple[str | None, str | None]]] = {}
        exact = True  # False once a cell or the cursor becomes unknown
        for kind, value in tokens:
            if kind == "text":
                exact = self._draw(value, before) and exact
            elif kind == "sgr":
                self._style = _sgr(value[:-1], self._style)
            elif kind == "cup":
                m = _CUP.fullmatch(value)
                assert m is not None
                y = int(m.group(1) or 1) - 1
                x = int(m.group(2) or 1) - 1
                if 0 <= y < height and 0 <= x < width:
                    self._y, self._x = y, x
                else:  # the terminal clamps it; do not guess
                    self._y = self._x = None
            elif kind == "link":
                self._link = bool(value)
                exact = False  # the cells it marks are not modelled: pass the chunk through
            elif kind == "cr":
                self._x = 0 if self._y is not None else None
            elif kind == "lf":
                if self._y is None or self._y >= height - 1:  # unknown, or it would scroll
                    self._forget_all(before)
                    exact = False
                else:
                    self._y += 1
                    self._x = None  # "\n" may or may not return to column 0 (the tty's ONLCR)
        if not exact:
            raise _Unknown

        # Which cells now differ from what the terminal shows; runs of them, row by row.
        out: list[str] = []
        current = start_style
        for y in sorted(before):
            row_before = before[y]
            row_chars, row_styles = chars[y], styles[y]
            changed = sorted(
                x
                for x, (ch, st) in row_before.items()
                if ch is None or ch != row_chars[x] or st != row_styles[x]
            )
            if not changed:
                continue
            if any(row_chars[x] is None for x in changed):
                raise _Unknown  # a cell Textual's output leaves unknown cannot be reproduced

            for a, b in self._runs(y, changed, row_before):
                out.append(f"\x1b[{y + 1};{a + 1}H")
                for x in range(a, b + 1):
                    ch = row_chars[x]
                    if ch == "":
                        continue
                    if ch is None:
                        raise _Unknown
                    style = row_styles[x]
                    assert style is not None
                    if style != current:
                        out.append(_sgr_to(current, style))
                        current = style
                    out.append(ch)

        end_style, end_cursor = self._style, (self._y, self._x)
        moved = bool(out)
        if current != end_style:
            if end_style is None:
                raise _Unknown
            out.append(_sgr_to(current, end_style))
        if moved or end_cursor != start_cursor:
            end_y, end_x = end_cursor
            if end_y is None or end_x is None or end_x >= width:
                raise _Unknown
            out.append(f"\x1b[{end_y + 1};{end_x + 1}H")
        return "".join(out)

    def _runs(
        self, y: int, changed: list[int], row_before: dict[int, tuple[str | None, str | None]]
    ) -> list[list[int]]:
        """The runs of cells to send on row `y`, as [first, last] columns: the changed cells,
        never cutting a wide character (as the terminal shows it now, or will), and joined up
        across a gap when re-sending the gap costs no more than moving the cursor."""
        width, row_chars = self._width, self._chars[y]

        def old(x: int) -> str | None:  # the character the terminal shows now
            return row_before[x][0] if x in row_before else row_chars[x]

        runs: list[list[int]] = []
        for x in changed:
            if runs and x <= runs[-1][1] + 1:
                runs[-1][1] = x
            else:
                runs.append([x, x])
        merged: list[list[int]] = []
        for run in runs:
            a, b = run
            while a > 0 and (row_chars[a] == "" or old(a) == ""):
                a -= 1
            while b + 1 < width and (row_chars[b + 1] == "" or old(b + 1) == ""):
                b += 1
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        bridged = [merged[0]]
        for run in merged[1:]:
            last = bridged[-1]
            if self._bridge_cost(y, last[1], run[0]) <= len(f"\x1b[{y + 1};{run[0] + 1}H"):
                last[1] = run[1]
            else:
                bridged.append(run)
        return bridged

    def _bridge_cost(self, y: int, left: int, right: int) -> int:
        """Bytes to re-send the cells strictly between columns `left` and `right` (and switch
        styles on the way), or a large number if one of them is unknown."""
        chars, styles = self._chars[y], self._styles[y]
        if right - left > 16:
            return 1 << 30
        cost = 0
        current = styles[left]
        for x in range(left + 1, right + 1):
            ch = chars[x]
            if ch is None:
                return 1 << 30
            style = styles[x]
            if style != current:
                cost += len(_sgr_to(current, style or ""))
                current = style
            if x < right:
                cost += len(ch.encode())
        # Moving instead would also have to set the style of the first cell after the gap.
        return cost - len(_sgr_to(styles[left], styles[right] or ""))

    def _forget_all(self, before: dict[int, dict[int, tuple[str | None, str | None]]]) -> None:
        for y in range(self._height):
            row = before.setdefault(y, {})
            for x in range(self._width):
                if x not in row:
                    row[x] = (self._chars[y][x], self._styles[y][x])
            self._chars[y] = [None] * self._width
        self._y = self._x = None

    def _draw(self, text: str, before: dict[int, dict[int, tuple[str | None, str | None]]]) -> bool:
        """Put `text` on the model at the cursor; False if a cell or the cursor became unknown."""
        y, x, width = self._y, self._x, self._width
        if y is None or x is None:
            # Somewhere unknown: anything may have changed.
            self._forget_all(before)
            return False
        chars, styles = self._chars[y], self._styles[y]
        row = before.setdefault(y, {})
        style = self._style if not self._link else None

        def touch(c: int) -> None:
            if c not in row:
                row[c] = (chars[c], styles[c])

        if text.isascii() or _NARROW.issuperset(text) or _all_narrow(text):
            n = len(text)
            end = x + n
            if end > width:
                return self._overflow(y, x, before)
            if chars[x] == "":  # the right half of a wide character: its left half goes too
                touch(x - 1)
                chars[x - 1] = None
            if end < width and chars[end] == "":  # a wide character's left half is overwritten
                touch(end)
                chars[end] = None
            if style is None:
                for c in range(x, end):
                    touch(c)
                chars[x:end] = [None] * n
                self._x = end
                return False
            new = list(text)
            if chars[x:end] != new or styles[x:end] != [style] * n:
                for c in range(x, end):
                    if chars[c] != new[c - x] or styles[c] != style:
                        touch(c)
                chars[x:end] = new
                styles[x:end] = [style] * n
            self._x = end
            return True

        exact = True
        previous = -1  # the cell this text drew last, for a combining mark
        for ch in text:
            if ch in _GLUE:
                # Joiners and variation selectors: the terminal may widen the glyph before.
                if previous >= 0:
                    touch(previous)
                    chars[previous] = None
                self._x = None
                return False
            size = get_character_cell_size(ch)
            if size == 0:
                if previous >= 0 and unicodedata.combining(ch) and chars[previous]:
                    touch(previous)
                    chars[previous] = (chars[previous] or "") + ch
                    continue
                if previous >= 0:
                    touch(previous)
                    chars[previous] = None
                self._x = None
                return False
            if x + size > width:
                return self._overflow(y, x, before)
            if chars[x] == "":
                touch(x - 1)
                chars[x - 1] = None
            end = x + size
            if end < width and chars[end] == "":
                touch(end)
                chars[end] = None
            touch(x)
            chars[x], styles[x] = (ch, style) if style is not None else (None, None)
            if size == 2:
                touch(x + 1)
                chars[x + 1], styles[x + 1] = ("", style) if style is not None else (None, None)
            if style is None:
                exact = False
            previous = x
            x = end
        self._x = x
        return exact

    def _overflow(
        self, y: int, x: int, before: dict[int, dict[int, tuple[str | None, str | None]]]
    ) -> bool:
        """Text past the last column: it wraps (and may scroll) or piles up in the last cell,
        depending on the terminal's modes. Forget everything."""
        self._forget_all(before)
        return False
