"""Border titles that repaint only when they change (setting one always repaints the widget)."""

from __future__ import annotations

from textual.widget import Widget


def set_titles(widget: Widget, title: str, subtitle: str | None = None) -> None:
    if widget.border_title != title:
        widget.border_title = title
    if subtitle is not None and widget.border_subtitle != subtitle:
        widget.border_subtitle = subtitle
