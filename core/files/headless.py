"""`backprop-tui --headless`: training without the UI, its trace printed to stdout.

The table and Markdown come from core.files.export (their columns are sized from every row);
CSV and JSON stream from core.files.trace as they are computed; `explain` writes the chain rule
of one parameter step by step. Plain values in, an exit status out: no argparse, no Textual.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from core.model.scenario import Scenario
from core.stepping.session import Session, StatusKind
from core.text.format import to_ascii

DEFAULT_STEPS = 5


class HeadlessError(Exception):
    """Options that do not go together or do not fit the scenario; the message is one line."""


def run(
    scenario: Scenario,
    lr: float | None = None,
    steps: int | None = None,
    fmt: str | None = None,
    every: int | None = None,
    explain: str | None = None,
    prog: str = "backprop-tui",
) -> int:
    """Train `scenario` at `lr` (None: its own) for `steps` steps and print the trace as `fmt`
    (table, csv, json, markdown), or the chain rule of the parameter `explain`; the exit status."""
    steps = DEFAULT_STEPS if steps is None else steps
    if explain is not None:
        from core.files import export  # only where needed: a streamed trace starts sooner

        session = Session(scenario, lr)
        names = scenario.param_names
        if explain not in names:
            raise HeadlessError(
                f"--explain: {scenario.name} has no parameter {explain!r} "
                f"(its parameters: {', '.join(names)})"
            )
        if fmt is not None:
            raise HeadlessError("--explain writes the chain rule as text; leave out --format")
        print_text(export.explain_steps(session, names.index(explain), steps, width()))
        return 0
    fmt = fmt or "table"
    every = every or 1
    if fmt == "pytorch":  # a script that trains the same run in PyTorch (pytorch_export)
        return _pytorch(scenario, lr, steps, every)
    if fmt in ("csv", "json"):
        from core.files import trace  # rows are written as they are computed: memory stays flat

        result = trace.write_trace(
            scenario,
            lr,
            steps,
            fmt,
            Output(sys.stdout),
            every=every,
            progress=trace.terminal_progress(sys.stderr),
        )
        if result.interrupted:
            print(f"{prog}: interrupted after {result.steps:,} steps", file=sys.stderr)
            return 130
        return 0
    from core.files import export

    # The table and Markdown are for people: their columns are sized from every row.
    session = Session(scenario, lr)
    for _ in range(steps):
        if session.status().kind is StatusKind.DIVERGED:
            break
        session.step()
    snap = session.snapshot
    if fmt == "markdown":
        print_text(export.to_markdown(snap, width=width(), every=every))
    else:
        print_text(export.to_table(snap, width(), every))
    return 0


def _pytorch(scenario: Scenario, lr: float | None, steps: int, every: int) -> int:
    from core.files import pytorch_export

    try:
        print_text(pytorch_export.script(scenario, lr, steps, every))
    except pytorch_export.ExportError as err:
        raise HeadlessError(f"--format pytorch: {err}") from None
    return 0


def print_text(text: str) -> None:
    """`text` on stdout, in ASCII when stdout cannot take UTF-8."""
    encoding = (sys.stdout.encoding or "ascii").lower()
    if "utf" not in encoding:
        text = to_ascii(text)
    sys.stdout.write(text)


class Output:
    """stdout for a streamed trace, in ASCII when stdout cannot take UTF-8 (as `print_text`).

    Written with os.write where there is a file descriptor: CPython's buffered writer loses
    data when Ctrl+C lands while it waits on a full pipe (`| less`), even if the handler only
    raises a flag, and the rows written so far must come out whole."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.encoding = stream.encoding or "ascii"
        self.ascii = "utf" not in self.encoding.lower()
        try:
            self.fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
            self.fd = None
        stream.flush()

    def write(self, text: str) -> int:
        if self.ascii:
            text = to_ascii(text)
        if self.fd is None:
            return self.stream.write(text)
        data = memoryview(text.encode(self.encoding, "replace"))
        while data:
            data = data[os.write(self.fd, data) :]
        return len(text)


def width() -> int:
    """Columns the printed trace may use: the terminal's, or 80 for a file, a pipe, a printer."""
    if not sys.stdout.isatty():
        return 80
    import shutil

    return max(40, shutil.get_terminal_size((80, 24)).columns)
