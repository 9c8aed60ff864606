"""Writing files safely: atomically, and never over an existing file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_new(directory: str | os.PathLike[str], stem: str, suffix: str, text: str) -> Path:
    """Write `text` to the first free `stem-NNN.suffix` in `directory`; returns the path.

    The content goes to a temporary file first and is then linked into place, so a reader
    (or a crash) sees the whole file or none of it, and an existing file is never replaced.
    """
    folder = Path(directory)
    fd, tmp = tempfile.mkstemp(prefix=".backprop-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        for number in range(1, 10_000):
            target = folder / f"{stem}-{number:03d}{suffix}"
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            return target
        raise FileExistsError(f"no free file name for {stem}-NNN{suffix} in {folder}")
    finally:
        os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace `path` with `text` all at once (for files the app owns, like the saved session)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".backprop-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
