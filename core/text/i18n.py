"""Languages: gettext catalogs shipped in core/text/locale; English is the source text.

`_` translates now; `N_` only marks a string for extraction (translated later by `_`).
`python -m core.text.i18n` compiles the .po catalogs to the .mo files gettext reads.
"""

from __future__ import annotations

import ast
import gettext
import os
import struct
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "backprop"
LANGUAGES = ("en", "zh")
LOCALE_DIR = Path(__file__).with_name("locale")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _(message: str) -> str:
    return _translation.gettext(message)


def N_(message: str) -> str:
    return message


def set_language(language: str) -> None:
    global _translation, _language
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (choose from {', '.join(LANGUAGES)})")
    _language = language
    if language == "en":
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, LOCALE_DIR, [language])


def language() -> str:
    return _language


def detect(environ: Mapping[str, str] = os.environ) -> str:
    """The language of the user's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English."""
    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(key, "")
        if value and value not in ("C", "POSIX"):
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr of a .po file (no plurals or contexts: this project uses neither)."""
    entries: dict[str, str] = {}
    key: str | None = None
    msgid: list[str] = []
    msgstr: list[str] = []
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if line.startswith("msgid "):
            if key is None and msgid:
                entries["".join(msgid)] = "".join(msgstr)
            msgid, msgstr, key = [ast.literal_eval(line[6:])], [], "id"
        elif line.startswith("msgstr "):
            msgstr, key = [ast.literal_eval(line[7:])], "str"
        elif line.startswith('"') and key is not None:
            (msgid if key == "id" else msgstr).append(ast.literal_eval(line))
        elif (not line or line.startswith("#")) and key == "str":
            entries["".join(msgid)] = "".join(msgstr)
            msgid, msgstr, key = [], [], None
    return entries


def compile_mo(entries: Mapping[str, str]) -> bytes:
    """The GNU .mo bytes for these translations (empty translations are left out)."""
    pairs = sorted((k, v) for k, v in entries.items() if v)
    ids = [k.encode("utf-8") for k, _v in pairs]
    strs = [v.encode("utf-8") for _k, v in pairs]
    n = len(pairs)
    header = 7 * 4
    id_table = header
    str_table = id_table + n * 8
    data = str_table + n * 8
    offsets = []
    blob = b""
    for s in ids + strs:
        offsets.append((len(s), data + len(blob)))
        blob += s + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, n, id_table, str_table, 0, 0)
    for length, offset in offsets:
        out += struct.pack("<2I", length, offset)
    return out + blob


def compile_catalogs() -> list[Path]:
    written = []
    for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_mo(parse_po(po.read_text("utf-8"))))
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(path)
