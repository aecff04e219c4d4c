"""Writing output files: whole or not at all.

`write_atomically` is the one function every command uses for `--out`: it writes
to a temporary file in the same folder, flushes it to disk, and renames it into
place only when complete. On any failure (disk full included) the temporary
file is removed, no file is left at the target, and an `InputError` (exit 2)
says why. A target that exists and is not a regular file (a directory, a
device, a FIFO) is refused rather than replaced. New files are readable by the
owner only (0600): reports hold health data.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from roprules.contract.documents import InputError, file_error
from roprules.contract.errors import text


def _refuse(path: Path, reason: str, lang: str) -> InputError:
    return file_error(str(path), "bad_file", text("cannot_write", lang, reason))


def check_target(path: Path, lang: str = "en") -> None:
    """Refuse a target that cannot be replaced by a file (before any work is done)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise _refuse(path, "no such folder", lang) from None
        return
    except OSError as exc:
        raise _refuse(path, exc.strerror or "error", lang) from None
    if stat.S_ISDIR(info.st_mode):
        raise _refuse(path, "is a directory", lang)
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "not a regular file", lang)


def write_atomically(path: str | Path, data: str | bytes, *, lang: str = "en") -> Path:
    """Write `data` (text is written as UTF-8) to `path` whole, or leave nothing."""
    path = Path(path)
    check_target(path, lang)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, temp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".part"
        )
    except OSError as exc:
        raise _refuse(path, exc.strerror or "error", lang) from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, OSError):
            raise _refuse(path, exc.strerror or "error", lang) from None
        raise
    return path
