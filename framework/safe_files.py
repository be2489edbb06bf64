"""Open data files only when they are regular files, and decode their text with a location.

A reader handed a FIFO blocks forever on the first read, a character device may never end, and
a directory or a dangling link fails deep inside a parser with an error that names neither the
file nor the problem. Every reader therefore passes its paths through :func:`regular_file` (or
opens them with :func:`open_regular`, which checks the opened descriptor itself, so a file
swapped for a FIFO after the check cannot block either) before reading a byte. Text is decoded
here too, so a stray non-UTF-8 byte is reported with its file, line and byte offset instead of
as a bare :class:`UnicodeDecodeError`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from framework.errors import DataError

# The longest header line we read to check a CSV layout; a real header is a few KiB at most.
MAX_HEADER_BYTES = 1 << 20

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISDIR, "a directory"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _not_regular(path: Path, what: str, mode: int) -> DataError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return DataError(f"{path}: {what} is {kind}; expected a regular file (reading a pipe or "
                     f"device could block forever)")


def _missing(path: Path, what: str, exc: OSError) -> DataError:
    if isinstance(exc, FileNotFoundError) and path.is_symlink():
        return DataError(f"{path}: {what} is a dangling symbolic link (to "
                         f"{os.readlink(path)}); expected a regular file")
    if isinstance(exc, FileNotFoundError):
        return DataError(f"{path}: {what} does not exist; expected a regular file")
    return DataError(f"{path}: cannot read {what} ({exc.strerror or exc}); expected a readable "
                     f"regular file")


def regular_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` when it names a regular file (links followed); else a DataError saying what it is.

    For readers that hand the path to a library (Arrow's CSV reader): the check runs before the
    library opens the file, so a FIFO is refused instead of blocking the run.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise _missing(path, what, exc) from exc
    if not stat.S_ISREG(mode):
        raise _not_regular(path, what, mode)
    return path


def open_regular(path: str | os.PathLike[str], what: str) -> BinaryIO:
    """A binary handle on ``path``, refused unless the opened file is a regular file.

    The open itself does not block (``O_NONBLOCK``: opening a FIFO without a writer would), and
    the type is checked on the descriptor, so nothing can swap the file between check and read.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise _missing(path, what, exc) from exc
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, what, mode)
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_bytes(path: str | os.PathLike[str], what: str) -> bytes:
    """The whole content of a regular file; any failure is a DataError naming the file."""
    try:
        with open_regular(path, what) as handle:
            return handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc


def decode_utf8(data: bytes, path: str | os.PathLike[str], what: str, offset: int = 0) -> str:
    """``data`` (found at byte ``offset`` of ``path``) as UTF-8, or a DataError saying where not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}, line {line}, byte offset {offset + exc.start}: {what} is not "
                        f"UTF-8 text (byte {data[exc.start:exc.start + 1].hex()} "
                        f"{exc.reason}); expected UTF-8") from exc


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The whole of a small regular file as UTF-8 text (for label and id lists)."""
    return decode_utf8(read_bytes(path, what), path, what)


def first_line(path: str | os.PathLike[str], what: str) -> str:
    """The first line of a regular file as UTF-8, without its line ending (a CSV header)."""
    try:
        with open_regular(path, what) as handle:
            raw = handle.readline(MAX_HEADER_BYTES)
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc
    if len(raw) == MAX_HEADER_BYTES and not raw.endswith(b"\n"):
        raise DataError(f"{path}: {what} has no line end in its first {MAX_HEADER_BYTES} bytes; "
                        f"expected a short header line")
    return decode_utf8(raw, path, what).rstrip("\r\n")
