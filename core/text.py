"""How numbers and formulas are written: one place for the UI, the headless trace and exports."""

from __future__ import annotations

import math
import unicodedata

MINUS = "−"
DIGITS = 6  # significant digits on screen; the trace uses more

_ASCII = {
    "∂": "d",
    "ŷ": "y^",
    "·": "*",
    "−": "-",
    "←": "<-",
    "→": "->",
    "σ": "sig",
    "Σ": "sum",
    "²": "^2",
    "½": "1/2",
    "≈": "~",
    "≤": "<=",
    "≥": ">=",
    "×": "x",
    "…": "...",
    "′": "'",
    "—": "-",
    "–": "-",
    "∞": "inf",
    "✓": "ok",
    "✗": "x",
    "▸": ">",
    "•": "*",
    "█": "#",
    "─": "-",
    "│": "|",
    "┐": "+",
    "┘": "+",
    "┤": "|",
    "┌": "+",
    "└": "+",
    "├": "|",
    "▶": ">",
    "○": "o",
    "●": "*",
    "✔": "ok",
}
_ASCII_TABLE = str.maketrans(_ASCII)


def fmt(x: float, digits: int = DIGITS) -> str:
    """A number with at most `digits` significant digits, a true minus sign, no float noise."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    if x == 0.0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", MINUS)


def compact(x: float, digits: int = 3) -> str:
    """The shorter of fixed and scientific notation, for tight columns (0.000439 → 4.39e-4)."""
    fixed = fmt(x, digits)
    if x == 0.0 or not math.isfinite(x):
        return fixed
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
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
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


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


def to_ascii(text: str) -> str:
    """Transliterate the maths glyphs for terminals and fonts without them."""
    return text.translate(_ASCII_TABLE)
