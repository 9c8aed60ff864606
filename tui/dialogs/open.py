"""The dialog for opening a scenario: a typed path (completed), a built-in or a file here."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.suggester import Suggester
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from core.files.loader import BUILTINS, ScenarioError, load, load_builtin, load_file
from core.model.scenario import Scenario
from core.text.i18n import N_, _
from tui.dialogs.base import Dialog

MAX_FILES = 50  # .toml files of the current folder listed in the open dialog


class PathSuggester(Suggester):
    """Completes a typed name to the first built-in it starts, else a typed path to the first
    folder or .toml file it names (right arrow takes it)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.folder = folder  # where a relative path starts

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.isspace():
            return None
        if not any(c in value for c in "/~" + os.sep):
            builtin = next((name for name in BUILTINS if name.startswith(value)), None)
            if builtin is not None:
                return builtin
        typed = self.folder / Path(os.path.expanduser(value))
        folder, stem = (typed, "") if value.endswith(("/", os.sep)) else (typed.parent, typed.name)
        try:
            names = sorted(
                entry.name + ("/" if entry.is_dir() else "")
                for entry in os.scandir(folder)
                if entry.name.startswith(stem)
                and (stem.startswith(".") or not entry.name.startswith("."))
                and (entry.is_dir() or entry.name.endswith(".toml"))
            )
        except OSError:
            return None
        if not names:
            return None
        return value + names[0][len(stem) :]


def toml_files(folder: Path) -> list[Path]:
    """The scenario files a student is likely to mean: the .toml files right here."""
    try:
        found = sorted(p for p in folder.glob("*.toml") if p.is_file())
    except OSError:
        return []
    return found[:MAX_FILES]


class OpenScenarioScreen(Dialog[Scenario | None]):
    """Type the path of a .toml file, or pick a built-in or a file of this folder from the list."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel")),
        Binding("down", "to_list", show=False),  # from the path (the list takes its own down)
    ]

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()
        self.folder = folder if folder is not None else Path.cwd()
        self.about = dict(self._entries())  # option id → its description

    def compose(self) -> ComposeResult:
        with Vertical(id="open-box") as box:
            box.border_title = self.t(_("Open a scenario · enter opens · esc cancels"))
            yield Label(self.t(_("A path (right arrow completes it), or down for the list:")))
            yield Input(
                placeholder=self.t(_("path to a .toml file, then enter")),
                id="open-path",
                suggester=PathSuggester(self.folder),
            )
            yield OptionList(*self._options(""), id="open-list")
            yield Static("", id="open-about")  # the highlighted scenario's description
            yield Static("", id="open-error")  # a Static wraps the message; a Label cut it

    def _entries(self) -> list[tuple[str, str]]:
        """(option id, what the line below the list says of it): the built-ins, then the .toml
        files of this folder."""
        entries = [("builtin:" + name, load_builtin(name).description) for name in BUILTINS]
        entries += [
            ("file:" + str(path), _("(a file in this folder)")) for path in toml_files(self.folder)
        ]
        return entries

    def _options(self, typed: str) -> list[Option]:
        """One line a scenario, its name; those whose names hold the typed text (all of them
        when none does: a typo must not leave an empty list)."""
        named = [(Path(option_id.partition(":")[2]).name, option_id) for option_id in self.about]
        key = typed.strip().lower()
        matching = [e for e in named if key in e[0].lower()] or named
        return [Option(self.t(name), id=option_id) for name, option_id in matching]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        about = self.about.get(event.option.id or "", "")
        self.query_one("#open-about", Static).update(self.t(about))

    def on_input_changed(self, event: Input.Changed) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))

    def on_mount(self) -> None:
        path = self.query_one(Input)
        path.cursor_blink = False
        path.focus()  # typed text goes to the path

    def action_to_list(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            options.highlighted = 0
        options.focus()

    def show_error(self, message: str) -> None:
        self.query_one("#open-error", Static).update(self.t(message))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        option = event.option.id or ""
        kind, _sep, what = option.partition(":")
        try:
            scenario = load_builtin(what) if kind == "builtin" else load_file(what)
        except ScenarioError as err:
            self.show_error(str(err))
            return
        self.close(scenario)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.show_error(_("Type a path to a .toml file, or press down to pick from the list."))
            return
        looks_like_path = os.sep in text or "/" in text or text.endswith(".toml")
        if looks_like_path:
            path = Path(text).expanduser()
            if not path.is_absolute() and self.folder.resolve() != Path.cwd().resolve():
                path = self.folder / path
            text = str(path)
        try:
            scenario = load(text)
        except ScenarioError as err:
            self.show_error(str(err))
            return
        self.close(scenario)
