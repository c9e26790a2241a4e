"""The safe file reader and the folder walk: regular files only, no link followed, no FIFO."""

from __future__ import annotations

import os
from pathlib import Path

from services.ingest.readers import (
    iter_files,
    lstat_signature,
    read_file,
    read_item,
    skip_label,
    walk,
)


def test_a_regular_file_is_read_with_its_signature(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    read = read_file(path, 100)
    st = path.stat()
    assert (read.data, read.skipped, read.error) == (b"hello", None, None)
    assert read.signature == (5, st.st_mtime_ns) == lstat_signature(path)


def test_a_large_file_is_read_one_byte_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 5000)
    assert len(read_file(path, 1000).data) == 1001


def test_a_fifo_is_skipped_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    # Opening a FIFO nobody writes to would block this test forever.
    read = read_file(fifo, 100)
    assert read.skipped == "fifo, not a regular file"
    assert read.data == b""
    assert skip_label(read.skipped) == "fifo"
    assert lstat_signature(fifo) == "fifo"


def test_a_symlink_is_skipped_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"not yours")
    link = tmp_path / "in" / "link.txt"
    link.parent.mkdir()
    link.symlink_to(outside)
    read = read_file(link, 100)
    assert read.skipped == "symlink, not a regular file"
    assert read.data == b""
    item = read_item(link, 100)
    assert (item.skipped, item.data, item.error) == ("symlink, not a regular file", b"", None)


def test_a_device_is_skipped(tmp_path: Path) -> None:
    read = read_file(Path("/dev/zero"), 100)
    assert read.skipped == "character device, not a regular file"
    assert skip_label(read.skipped) == "character_device"


def test_a_vanished_file_is_skipped_and_an_unreadable_one_is_an_error(tmp_path: Path) -> None:
    assert read_file(tmp_path / "gone.txt", 100).skipped == "vanished before it was read"
    locked = tmp_path / "locked.txt"
    locked.write_bytes(b"x")
    locked.chmod(0)
    try:
        read = read_file(locked, 100)
        if os.geteuid() != 0:  # root reads anything
            assert read.error is not None
            assert "Permission denied" in read.error
    finally:
        locked.chmod(0o644)


def test_the_walk_yields_links_for_the_reader_and_never_enters_a_linked_directory(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "foreign.txt").write_bytes(b"foreign")
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "good.txt").write_bytes(b"good")
    (folder / ".hidden.txt").write_bytes(b"hidden")
    (folder / "dirlink").symlink_to(elsewhere, target_is_directory=True)
    (folder / "filelink.txt").symlink_to(elsewhere / "foreign.txt")
    os.mkfifo(folder / "pipe")
    found = [p.relative_to(folder).as_posix() for p in walk(folder)]
    assert found == ["dirlink", "filelink.txt", "pipe", "sub/good.txt"]
    skipped = {p.name: read_item(p, 100).skipped for p in walk(folder)}
    assert skipped == {
        "dirlink": "symlink, not a regular file",
        "filelink.txt": "symlink, not a regular file",
        "pipe": "fifo, not a regular file",
        "good.txt": None,
    }


def test_a_link_named_on_the_command_line_is_resolved(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_bytes(b"data")
    link = tmp_path / "named.txt"
    link.symlink_to(target)
    [path] = list(iter_files([link]))
    assert read_item(path, 100).data == b"data"
