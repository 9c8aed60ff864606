"""How numbers and formulas are written: one place for the UI, the headless trace and exports."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

MINUS = "−"
DIGITS = 6  # significant digits on screen; the trace uses more

# The one transliteration table for terminals and fonts without these glyphs. Each glyph has
# its spelling, for text laid out after the change (to_ascii), and, where the spelling is
# longer, a one-cell stand-in for the screen filter, which cannot change a line's width.
_ASCII: dict[str, str | tuple[str, str]] = {
    "∂": "d",
    "δ": ("delta", "D"),  # not d: that is already ∂
    "ŷ": ("y^", "y"),
    "·": "*",
    "−": "-",
    "←": ("<-", "<"),
    "→": ("->", ">"),
    "↔": ("<->", "="),
    "↑": "^",
    "↓": "v",
    "σ": ("sig", "s"),
    "Σ": ("sum", "E"),
    "²": ("^2", "2"),
    "½": ("1/2", "h"),
    "≈": "~",
    "≤": ("<=", "<"),
    "≥": (">=", ">"),
    "×": "x",
    "…": ("...", "."),
    "′": "'",
    "—": "-",
    "–": "-",
    "∞": ("inf", "~"),
    "✓": ("ok", "v"),
    "✔": ("ok", "v"),
    "✗": "x",
    "⏎": ("enter", "<"),
    "▸": ">",
    "▶": ">",
    "•": "*",
    "○": "o",
    "●": "*",
    "█": "#",
    "─": "-",
    "│": "|",
    "┐": "+",
    "┘": "+",
    "┤": "|",
    "┌": "+",
    "└": "+",
    "├": "|",
    "±": ("+/-", "~"),
    "α": ("alpha", "a"),
    "β": ("beta", "b"),
    "ε": ("eps", "e"),
    "θ": ("theta", "O"),  # not t: Adam's step count is t
    "λ": ("lambda", "L"),
    "μ": ("mu", "u"),
    "√": ("sqrt", "V"),
    "\u0302": ("^", ""),  # the hat of m̂ and v̂, written after its letter; on screen no cell
    "₀": "0",
    "₁": "1",
    "₂": "2",
    "ₖ": "k",
    "ⱼ": "j",
    "\u00a0": " ",
}
_SPELLING = {k: v if isinstance(v, str) else v[0] for k, v in _ASCII.items()}
_CELL = {k: v if isinstance(v, str) else v[1] for k, v in _ASCII.items()}
_ASCII_TABLE = str.maketrans(_SPELLING)


def fmt(x: float, digits: int = DIGITS) -> str:
    """A number with at most `digits` significant digits, a true minus sign, no float noise.

    Fewer than DIGITS: the DIGITS-digit text rounded half up, so a short number on one panel is
    always the long one of another panel with digits dropped (0.1234449 → 0.123445 → 0.1234)."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    if x == 0.0:
        return "0"
    text = f"{_rounded(x, digits):.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", MINUS)


def _rounded(x: float, digits: int) -> float:
    """x rounded to `digits` significant digits by way of its DIGITS-digit text, half up."""
    if digits >= DIGITS:
        return x
    shown = Decimal(f"{x:.{DIGITS}g}")
    unit = Decimal(1).scaleb(shown.adjusted() - digits + 1)
    return float(shown.quantize(unit, rounding=ROUND_HALF_UP))


def compact(x: float, digits: int = 3) -> str:
    """The shorter of fixed and scientific notation, for tight columns (0.000439 → 4.39e-4)."""
    fixed = fmt(x, digits)
    if x == 0.0 or not math.isfinite(x):
        return fixed
    mantissa, exponent = f"{_rounded(x, digits):.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    sci = f"{mantissa}e{int(exponent)}".replace("-", MINUS)
    return sci if len(sci) < len(fixed) else fixed


def signed(x: float, digits: int = DIGITS) -> str:
    """A number that always shows its sign, so sign is readable without colour."""
    text = fmt(x, digits)
    return text if text.startswith(MINUS) or text == "nan" else "+" + text


def operand(x: float, digits: int = DIGITS) -> str:
    """A number as it stands inside a formula: negatives in parentheses."""
    text = fmt(x, digits)
    return f"({text})" if text.startswith(MINUS) else text


def width_of(text: str) -> int:
    """Terminal columns: CJK and other wide characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


@functools.cache
def _char_width(ch: str) -> int:
    # Cached: the maths glyphs (∂ · − ŷ) recur in every line that is measured for wrapping.
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` columns, broken at spaces or between CJK characters
    (Chinese has no spaces to break at; a closing mark never starts a line)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in _words(paragraph):
            if line and width_of(line) + width_of(word.rstrip()) > width:
                lines.append(line.rstrip())
                line = word.lstrip()
            else:
                line += word
        lines.append(line.rstrip())
    return lines


_NO_LINE_START = set("，。：；、！？）」』》…,.:;!?)")


def _words(text: str) -> list[str]:
    """Pieces a line may break between: a word with its trailing space, or one CJK character."""
    words: list[str] = []
    current = ""
    for ch in text:
        if _wide(ch) or (ch in _NO_LINE_START and current and _wide(current[-1])):
            if ch in _NO_LINE_START and words:
                words[-1] += current + ch if current else ch
                current = ""
                continue
            if current:
                words.append(current)
            current = ""
            words.append(ch)
        elif ch == " ":
            words.append(current + ch)
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    return words


_BARE_ROOT = re.compile(r"sqrt([A-Za-z0-9][A-Za-z0-9_^]*)")  # √v̂ spelled sqrtv^


def to_ascii(text: str) -> str:
    """Transliterate the maths glyphs for terminals and fonts without them."""
    spelled = text.translate(_ASCII_TABLE)
    return _BARE_ROOT.sub(r"sqrt(\1)", spelled) if "√" in text else spelled


def _ascii_cell(ch: str) -> str:
    """The ASCII stand-in of one character, as wide as it is."""
    if " " <= ch <= "~":
        return ch
    if ch in _CELL:
        return _CELL[ch]
    code = ord(ch)
    if 0x2500 <= code <= 0x257F:  # box drawing
        name = unicodedata.name(ch, "")
        if "HORIZONTAL" in name and "VERTICAL" not in name:
            return "-"
        if "VERTICAL" in name and "HORIZONTAL" not in name:
            return "|"
        return "+"
    if 0x2580 <= code <= 0x259F:  # block elements (scroll bars, bars)
        return "#" if code in (0x2588, 0x2589, 0x258A, 0x258B, 0x258C, 0x2590) else " "
    if 0x2800 <= code <= 0x28FF:  # braille dots (plots)
        return "." if code != 0x2800 else " "
    width = width_of(ch)
    if width == 0:
        return ""  # a combining mark: the cell belongs to the character before it
    decomposed = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    if decomposed and width == 1:
        return decomposed[0]
    return "?" * max(1, width)


_CELL_CACHE: dict[str, str] = {}


def to_ascii_cells(text: str) -> str:
    """Like to_ascii, but each character keeps its width: for text already laid out on screen."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        mapped = _CELL_CACHE.get(ch)
        if mapped is None:
            mapped = _CELL_CACHE[ch] = _ascii_cell(ch)
        out.append(mapped)
    return "".join(out)
