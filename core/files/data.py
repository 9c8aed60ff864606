"""Samples from a CSV file or a generator: the `[data]` table of a scenario file.

Plain values out (rows of inputs and targets, class names); `core.files.loader` checks the table
and turns every `DataError` into its one-line ScenarioError.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_CSV_BYTES = 1024 * 1024
MAX_ROWS = 1024  # the loader's MAX_SAMPLES
MAX_CELL = 100  # characters of a cell shown in a message


class DataError(ValueError):
    """Data that cannot be used; str() is one line for the user."""


@dataclass(frozen=True)
class Table:
    """A CSV file's header and rows of text cells; `lines` are the file's line numbers."""

    name: str  # how messages call the file
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]

    def column(self, name: str) -> int:
        if name not in self.header:
            shown = ", ".join(self.header[:12]) + (", …" if len(self.header) > 12 else "")
            raise DataError(f"{self.name}: no column {name!r} (its columns: {shown})")
        return self.header.index(name)

    def numbers(self, name: str) -> list[float]:
        k = self.column(name)
        values = []
        for row, line in zip(self.rows, self.lines):
            cell = row[k].strip()
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise DataError(
                    f"{self.name}: line {line}, column {name!r}: "
                    f"{cell[:MAX_CELL]!r} is not a finite number"
                )
            values.append(value)
        return values

    def labels(self, name: str) -> list[str]:
        k = self.column(name)
        return [row[k].strip() for row in self.rows]

    def is_numeric(self, name: str) -> bool:
        try:
            self.numbers(name)
        except DataError:
            return False
        return True


def read_csv(path: Path, name: str) -> Table:
    """The file's header and rows, within the limits; raises DataError."""
    try:
        if not path.is_file():
            raise DataError(f"{name}: no such file")
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise DataError(
                f"{name}: the file is {size:,} bytes; data files are limited to "
                f"{MAX_CSV_BYTES // 1024} KiB"
            )
        raw = path.read_bytes()[: MAX_CSV_BYTES + 1]
    except OSError as err:
        raise DataError(f"{name}: cannot read: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{name}: not UTF-8 text (byte offset {err.start})") from None
    return parse_csv(text, name)


def parse_csv(text: str, name: str) -> Table:
    """A header line, then rows of as many cells; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text))
    header: tuple[str, ...] | None = None
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = tuple(c.strip() for c in cells)
                continue
            if len(cells) != len(header):
                raise DataError(
                    f"{name}: line {reader.line_num}: {len(cells)} cells, "
                    f"the header has {len(header)}"
                )
            if len(rows) == MAX_ROWS:
                raise DataError(f"{name}: more than {MAX_ROWS} rows; the limit is {MAX_ROWS}")
            rows.append(tuple(cells))
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataError(f"{name}: line {reader.line_num}: not valid CSV: {err}") from None
    if header is None or not rows:
        raise DataError(f"{name}: no rows (a header line, then one row per sample)")
    return Table(name, header, tuple(rows), tuple(lines))


def classes_of(labels: Sequence[str]) -> tuple[str, ...]:
    """The class names in sorted order: the order of the one-hot targets."""
    return tuple(sorted(set(labels)))


def encode(index: int, n_classes: int, n_outputs: int) -> tuple[float, ...]:
    """Class `index` as targets: one-hot, or 0/1 for two classes and one output."""
    if n_outputs == 1 and n_classes == 2:
        return (float(index),)
    return tuple(1.0 if k == index else 0.0 for k in range(n_outputs))


def standardise(columns: list[list[float]]) -> list[tuple[float, float]]:
    """Each column shifted and scaled in place to mean 0, sd 1; their (mean, sd) before."""
    stats = []
    for values in columns:
        n = len(values)
        mean = sum(values) / n
        sd = math.sqrt(sum([(v - mean) ** 2 for v in values]) / n)
        scale = sd if sd > 0.0 else 1.0  # a constant column becomes all 0
        values[:] = [(v - mean) / scale for v in values]
        stats.append((mean, sd))
    return stats


# -- generated 2-D data sets --------------------------------------------------------------------

Point = tuple[float, float, int]  # x1, x2, class


def _circle(rng: random.Random, k: int, noise: float) -> Point:
    # Class 0 inside radius 0.5, class 1 on the ring from 0.7 to 1.
    low, high = (0.0, 0.5) if k % 2 == 0 else (0.7, 1.0)
    r, t = rng.uniform(low, high), rng.uniform(0.0, 2.0 * math.pi)
    return r * math.cos(t) + rng.gauss(0.0, noise), r * math.sin(t) + rng.gauss(0.0, noise), k % 2


def _xor(rng: random.Random, k: int, noise: float) -> Point:
    # Uniform in the square, kept 0.05 off the axes; class 1 where the signs differ.
    x1 = rng.uniform(0.05, 1.0) * rng.choice((-1.0, 1.0))
    x2 = rng.uniform(0.05, 1.0) * rng.choice((-1.0, 1.0))
    label = int((x1 > 0.0) != (x2 > 0.0))
    return x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise), label


def _gaussians(rng: random.Random, k: int, noise: float) -> Point:
    # Two round clusters of sd 0.25 + noise, at (−0.5, −0.5) (class 0) and (0.5, 0.5).
    c = -0.5 if k % 2 == 0 else 0.5
    sd = 0.25 + noise
    return c + rng.gauss(0.0, sd), c + rng.gauss(0.0, sd), k % 2


def _spiral(rng: random.Random, k: int, noise: float, n: int) -> Point:
    # Two arms of 1.75 turns from the centre out to radius 1, the second turned by π.
    i = k // 2
    r = i / max(n // 2, 1)
    t = 1.75 * 2.0 * math.pi * r + (0.0 if k % 2 == 0 else math.pi)
    return r * math.sin(t) + rng.gauss(0.0, noise), r * math.cos(t) + rng.gauss(0.0, noise), k % 2


GENERATORS: dict[str, Callable[[random.Random, int, float, int], Point]] = {
    "circle": lambda rng, k, noise, n: _circle(rng, k, noise),
    "xor": lambda rng, k, noise, n: _xor(rng, k, noise),
    "gaussians": lambda rng, k, noise, n: _gaussians(rng, k, noise),
    "spiral": _spiral,
}
GENERATED_CLASSES = ("0", "1")


def generate(kind: str, n: int, noise: float, seed: int) -> list[Point]:
    """`n` points of the named 2-D data set, the same for the same seed (classes alternate)."""
    rng = random.Random(seed)
    make = GENERATORS[kind]
    return [make(rng, k, noise, n) for k in range(n)]
