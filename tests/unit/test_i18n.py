"""The Chinese catalog: complete, placeholders intact, compiled file up to date."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.text import i18n

ROOT = Path(__file__).resolve().parents[2]
PO = i18n.LOCALE_DIR / "zh" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def marked_strings() -> Iterator[tuple[str, str]]:
    """Every literal passed to _() or N_() in core/ and tui/, with where it is."""
    for path in sorted([*ROOT.glob("core/**/*.py"), *ROOT.glob("tui/**/*.py")]):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}"


@pytest.fixture
def zh() -> Iterator[None]:
    i18n.set_language("zh")
    yield
    i18n.set_language("en")


def test_every_marked_string_has_a_chinese_translation() -> None:
    catalog = i18n.parse_po(PO.read_text("utf-8"))
    missing = [where + " " + text for text, where in marked_strings() if not catalog.get(text)]
    assert not missing, "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    catalog = i18n.parse_po(PO.read_text("utf-8"))
    for msgid, msgstr in catalog.items():
        if msgid and msgstr:
            assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_the_compiled_catalog_matches_the_po_file() -> None:
    mo = PO.with_suffix(".mo").read_bytes()
    compiled = i18n.compile_mo(i18n.parse_po(PO.read_text("utf-8")))
    assert mo == compiled, "run python -m core.text.i18n"


def test_switching_language(zh: None) -> None:
    assert i18n.language() == "zh"
    assert i18n._("Phase") != "Phase"
    assert "w" in i18n._("Chain rule · {name}").format(name="w")
    i18n.set_language("en")
    assert i18n._("Phase") == "Phase"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({}, "en"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LANGUAGE": "en", "LC_ALL": "zh_CN.UTF-8"}, "en"),
    ],
)
def test_language_from_the_locale(env: dict[str, str], expected: str) -> None:
    assert i18n.detect(env) == expected


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        i18n.set_language("fr")
