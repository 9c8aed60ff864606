"""Writing files safely: atomically, and never over an existing file."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

# os.link fails with these where the filesystem has no hard links (FAT and exFAT on USB sticks,
# some network shares); write_new then claims the name with an exclusive create instead.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})


def write_new(directory: str | os.PathLike[str], stem: str, suffix: str, text: str) -> Path:
    """Write `text` to the first free `stem-NNN.suffix` in `directory`; returns the path.

    The content goes to a temporary file first and is then linked into place, so a reader
    (or a crash) sees the whole file or none of it, and an existing file is never replaced.
    Without hard links, the name is claimed by creating it exclusively (empty) and the whole
    file is then renamed onto the claim: an existing file is still never replaced.
    """
    folder = Path(directory)
    fd, tmp = tempfile.mkstemp(prefix=".backprop-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        links = True
        for number in range(1, 10_000):
            target = folder / f"{stem}-{number:03d}{suffix}"
            if links:
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    continue
                except OSError as err:
                    if err.errno not in _NO_HARD_LINKS:
                        raise
                    links = False
                else:
                    return target
            try:
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                continue
            try:
                os.replace(tmp, target)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            return target
        raise FileExistsError(f"no free file name for {stem}-NNN{suffix} in {folder}")
    finally:
        Path(tmp).unlink(missing_ok=True)


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
