"""Read the app's screen back as text, cell by cell, with each panel's region: for screen audits."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from textual.app import App
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets._footer import FooterKey

# The panels of the main screen, by the name the audit uses, and how to find each.
PANELS = {
    "network": "#network",
    "chain": "#chain",
    "training": "#training",
    "loss": "#loss",
    "lesson": "#lesson",
    "footer": "Footer",
}
BORDERED = ("network", "chain", "training", "loss", "lesson")
# Dialogs: the bordered box each one draws.
DIALOG_BOXES = ("#help-box", "#edit-box", "#open-box", "#quiz-box", "#gradcheck-box")


@dataclass(frozen=True)
class Panel:
    name: str
    region: Region  # the widget's outer region, border included, in screen cells
    title: str  # border title and subtitle as plain text ("" when none)
    subtitle: str
    content: Region  # inside the border, padding and scroll bars
    bordered: bool = True  # the widget's style draws a border


@dataclass(frozen=True)
class Shot:
    """One rendered screen: `cells[y][x]` is what terminal cell (x, y) shows."""

    label: str  # scenario · size · where in the walk
    width: int
    height: int
    cells: tuple[tuple[str, ...], ...]  # a wide character fills its cell; the next holds ""
    panels: dict[str, Panel] = field(default_factory=dict)
    ascii_only: bool = False
    dialog: str = ""  # the dialog on top, if any ("help")
    training_lines: tuple[str, ...] = ()  # the Training panel's text, one entry a logical line
    state: dict[str, object] = field(default_factory=dict)  # facts from the app, for checks

    @property
    def lines(self) -> list[str]:
        return ["".join(row) for row in self.cells]

    def row(self, y: int, x0: int = 0, x1: int | None = None) -> str:
        """The text of row y from cell x0 up to (not including) cell x1."""
        return "".join(self.cells[y][x0 : self.width if x1 is None else x1])

    def inside(self, name: str) -> list[str]:
        """The rows within a panel's border (padding included), as text."""
        r = self.panels[name].region
        return [self.row(y, r.x + 1, r.right - 1) for y in range(r.y + 1, r.bottom - 1)]

    def text(self) -> str:
        """The screen for an assertion message: the label, then numbered rows."""
        rows = "\n".join(f"{y:2d}|{line}|" for y, line in enumerate(self.lines))
        return f"--- {self.label} ({self.width}x{self.height}) ---\n{rows}"


def to_cells(line: str) -> list[str]:
    cells: list[str] = []
    for ch in line:
        width = cell_len(ch)
        if width == 0 and cells:
            cells[-1] += ch  # a combining mark joins the character before it
        elif width == 2:
            cells += [ch, ""]
        else:
            cells.append(ch)
    return cells


def screen_text(app: App[Any]) -> list[str]:
    """The screen as plain text rows, rendered as App.export_screenshot renders it."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    rows = console.export_text(styles=False).split("\n")
    if rows and rows[-1] == "":
        rows.pop()  # print's own newline
    return rows


def _plain(content: object) -> str:
    if isinstance(content, str):
        return content
    plain = getattr(content, "plain", None)
    return plain if isinstance(plain, str) else ""


def _panel(name: str, widget: Widget) -> Panel:
    return Panel(
        name,
        widget.region,
        _plain(getattr(widget, "_border_title", None)),
        _plain(getattr(widget, "_border_subtitle", None)),
        widget.scrollable_content_region,
        widget.styles.border_top[0] not in ("", "none", "hidden"),
    )


def capture(app: App[Any], label: str) -> Shot:
    """What the terminal shows now, with where each panel (or the open dialog) is."""
    width, height = app.size
    rows = screen_text(app)
    cells = [to_cells(row) for row in rows]
    if len(cells) != height or any(len(row) != width for row in cells):
        shape = sorted({len(row) for row in cells})
        raise AssertionError(
            f"{label}: rendered {len(cells)} rows of widths {shape}, not {width}x{height}"
        )
    panels: dict[str, Panel] = {}
    dialog = ""
    if len(app.screen_stack) > 1:
        dialog = type(app.screen).__name__
        for selector in DIALOG_BOXES:
            for widget in app.screen.query(selector):
                panels[selector.lstrip("#")] = _panel(selector.lstrip("#"), widget)
    else:
        for name, selector in PANELS.items():
            for widget in app.screen.query(selector):
                if widget.display and widget.region.area:
                    panels[name] = _panel(name, widget)
    training: tuple[str, ...] = ()
    for body in app.screen_stack[0].query("#training-body"):
        training = tuple(_plain(getattr(body, "content", None)).split("\n"))
    snap = getattr(app, "snapshot", None)
    state: dict[str, object] = {}
    if snap is not None:
        state = {
            "scenario": snap.scenario.name,
            "phase": snap.phase.value,
            "step": snap.step,
            "status": snap.status.kind.value,
            "view": getattr(app, "view", ""),
            "selected": getattr(app, "selected", 0),
            "snapshot": snap,
        }
    if not dialog:
        # What the footer was given to show; the audit checks that all of it fits on the row.
        state["footer_keys"] = [
            (str(key.key_display), str(key.description))
            for key in app.screen.query(FooterKey)
            if key.display
        ]
    if dialog:
        messages = [
            _plain(getattr(w, "content", None))
            for w in app.screen.query("#open-error, #edit-error")
        ]
        state["dialog_messages"] = [m for m in messages if m.strip()]
    return Shot(
        label,
        width,
        height,
        tuple(tuple(row) for row in cells),
        panels,
        bool(getattr(app, "ascii_only", False)),
        dialog,
        training,
        state,
    )


async def settle(pilot: Pilot[Any]) -> None:
    """Let layout and repaints catch up, and drop toasts (they overlay panels on purpose)."""
    app = pilot.app
    await pilot.pause()
    if app._notifications:
        app.clear_notifications()
        await pilot.pause()


async def press_and_capture(pilot: Pilot[Any], label: str, *keys: str) -> Shot:
    if keys:
        await pilot.press(*keys)
    await settle(pilot)
    shot = capture(pilot.app, label)
    # Under load the footer's keys can exist a frame before they are painted: wait for them.
    for _ in range(20):
        if not (shot.state.get("footer_keys") and "footer" in shot.panels):
            break
        if shot.row(shot.panels["footer"].region.y).strip():
            break
        await pilot.pause(0.05)
        shot = capture(pilot.app, label)
    return shot
