"""Inputs read: files found and read safely (no link followed, no FIFO opened), as Items."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

# (size, mtime in ns): what "unchanged" means for a file being written.
Signature = tuple[int, int]
# seed: the seed text format; json: an Article or a minimal object; ninjs: IPTC ninjs 2.x.
InputFormat = Literal["seed", "json", "ninjs"]
SKIP_SUFFIXES = (".tmp", ".part", ".swp", "~")

_KINDS = (
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


@dataclass(frozen=True)
class FileRead:
    """What reading one path gave: its bytes, or why it was skipped, or why it failed."""

    data: bytes = b""
    signature: Signature | None = None  # as fstat saw the file once it was read
    skipped: str | None = None  # not a file to read (link, FIFO, device, gone): the reason
    error: str | None = None  # a regular file that could not be read: the reason


def skip_label(reason: str) -> str:
    """A short, bounded metric label for a skip reason ('fifo', 'symlink', 'vanished'...)."""
    kind = reason.split(",")[0]
    return kind.replace(" ", "_") if "," in reason else reason.split(" ")[0]


def kind_of(mode: int) -> str:
    """'regular', or what else a mode from lstat/fstat says the path is."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "regular" if stat.S_ISREG(mode) else "special file"


def signature_of(st: os.stat_result) -> Signature:
    """The (size, mtime) pair a quiet period compares."""
    return st.st_size, st.st_mtime_ns


def lstat_signature(path: Path) -> Signature | str:
    """The signature of a regular file (not following links), or what the path is instead."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "vanished"
    except OSError as exc:
        return f"cannot stat: {exc.strerror or exc}"
    kind = kind_of(st.st_mode)
    return signature_of(st) if kind == "regular" else kind


def read_file(path: Path, max_bytes: int) -> FileRead:
    """Up to ``max_bytes + 1`` bytes of ``path`` if it is a regular file, never following links.

    lstat comes first so a FIFO or device is never opened; the open itself refuses links
    (O_NOFOLLOW) and cannot block (O_NONBLOCK), and fstat afterwards checks that what was
    opened is the regular file lstat saw (a swap in between is skipped, not read).
    """
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return FileRead(skipped="vanished before it was read")
    except OSError as exc:
        return FileRead(error=f"cannot read {path}: {exc.strerror or exc}")
    kind = kind_of(before.st_mode)
    if kind != "regular":
        return FileRead(skipped=f"{kind}, not a regular file")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT, errno.ENXIO):
            return FileRead(skipped="replaced while being opened")
        return FileRead(error=f"cannot read {path}: {exc.strerror or exc}")
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (
            before.st_dev,
            before.st_ino,
        ):
            return FileRead(skipped="replaced while being opened")
        try:
            # One byte past the limit is enough for the parser to say "too large".
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            return FileRead(error=f"cannot read {path}: {exc.strerror or exc}")
        return FileRead(data, signature=signature_of(os.fstat(fd)))


@dataclass(frozen=True)
class Item:
    """One input: raw bytes, where they came from, and their format (seed, JSON or ninjs)."""

    data: bytes
    source: str
    format: InputFormat = "seed"
    error: str | None = None  # the input could not even be read
    skipped: str | None = None  # not an input at all (a link, a FIFO...): why; never published
    signature: Signature | None = None  # of the file read (size, mtime), for the watch folder
    size: int | None = None  # bytes that arrived, when more than ``data`` keeps (HTTP)
    declared: int | None = None  # the Content-Length an HTTP client announced

    @property
    def received(self) -> int:
        """How many bytes the input had (``data`` may keep only the first of them)."""
        return len(self.data) if self.size is None else self.size


def read_item(path: Path, max_bytes: int) -> Item:
    """Read a regular file as an Item (links, FIFOs, devices: a skipped Item, never opened)."""
    read = read_file(path, max_bytes)
    # A file over the limit is read only one byte past it: its size is what fstat saw.
    size = read.signature[0] if read.signature and read.signature[0] > len(read.data) else None
    return Item(
        read.data,
        str(path),
        error=read.error,
        skipped=read.skipped,
        signature=read.signature,
        size=size,
    )


def read_named(path: Path, max_bytes: int) -> Item:
    """A file the user named: a link is followed (they chose it), anything unreadable an error."""
    item = read_item(Path(os.path.realpath(path)), max_bytes)
    source = str(path)
    if item.skipped is not None:
        return Item(b"", source, error=f"cannot read {source}: {item.skipped}")
    return Item(item.data, source, error=item.error, signature=item.signature, size=item.size)


def wanted(name: str) -> bool:
    """Whether a file name is an input: writers that rename into place use hidden or temp names."""
    return not name.startswith(".") and not name.endswith(SKIP_SUFFIXES)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and files under directories named (recursive, sorted, hidden ones skipped).

    A path named is taken as the user gave it (a link named is resolved); under a directory no
    link is followed: links are yielded as links, for the reader to skip with its reason.
    """
    for path in paths:
        if path.is_dir():
            yield from walk(path)
        else:
            yield Path(os.path.realpath(path)) if path.is_symlink() else path


def walk(folder: Path) -> Iterator[Path]:
    """Entries under ``folder``, sorted; linked directories are yielded, never entered."""
    # os.walk(followlinks=False) lists a linked directory among dirs but does not enter it.
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        links = [d for d in dirs if (here / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if wanted(d) and d not in links)
        for name in sorted(files + links):
            if wanted(name):
                yield here / name


def read_line(stream: BinaryIO, limit: int) -> bytes:
    """One line, cut after ``limit + 1`` bytes (the rest of a longer line is dropped)."""
    line = stream.readline(limit + 1)
    if len(line) > limit and not line.endswith(b"\n"):
        # Too large anyway: keep what the parser needs to say so, skip to the next line.
        while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
            pass
    return line


async def json_lines(
    stream: BinaryIO, limit: int, input_format: InputFormat = "json"
) -> AsyncIterator[Item]:
    """The non-blank lines of a JSON Lines stream as Items ``stdin:<line number>``."""
    loop = asyncio.get_running_loop()
    number = 0
    # Read on a thread: a slow pipe must not stop the event loop (and the acks it serves).
    while line := await loop.run_in_executor(None, read_line, stream, limit):
        number += 1
        # A line cut at the limit stays as it is (stripped, it could seem to fit).
        cut = len(line) > limit and not line.endswith(b"\n")
        if cut or line.strip():
            yield Item(line if cut else line.strip(), f"stdin:{number}", format=input_format)
