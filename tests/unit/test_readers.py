"""The readers: files (regular only, no link followed, no FIFO), named files, JSON Lines."""

from __future__ import annotations

import io
import os
from pathlib import Path

from services.ingest.readers import (
    iter_files,
    json_lines,
    lstat_signature,
    read_file,
    read_item,
    read_named,
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


async def test_json_lines_numbers_lines_skips_blank_ones_and_cuts_long_ones() -> None:
    stream = io.BytesIO(b'{"a": 1}\n\n  \n' + b"x" * 50 + b"\n{}\n")
    items = [item async for item in json_lines(stream, 10)]
    assert [(item.source, item.format) for item in items] == [
        ("stdin:1", "json"),
        ("stdin:4", "json"),
        ("stdin:5", "json"),
    ]
    assert items[0].data == b'{"a": 1}'
    assert items[1].data == b"x" * 11  # one byte past the limit: enough to say too_large
    assert items[2].data == b"{}"


def test_a_named_file_is_read_through_a_link_and_keeps_its_name(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_bytes(b"hello")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    item = read_named(link, 100)
    assert (item.data, item.source, item.error) == (b"hello", str(link), None)
    os.mkfifo(tmp_path / "pipe")
    fifo = read_named(tmp_path / "pipe", 100)
    assert fifo.error == f"cannot read {tmp_path / 'pipe'}: fifo, not a regular file"


def test_a_file_over_the_limit_is_read_one_byte_past_it_and_knows_its_size(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 100)
    item = read_item(path, 10)
    assert (len(item.data), item.received) == (11, 100)
    assert read_item(path, 1000).size is None
