"""framework.safe_files: non-regular paths are refused before a byte is read, text is located."""

from __future__ import annotations

import os

import pytest
from helpers import fails_instead_of_hanging

from framework.errors import DataError
from framework.safe_files import (first_line, open_regular, read_bytes, read_text,
                                  regular_file)


@pytest.fixture
def odd_paths(tmp_path):
    """A FIFO, a directory and a dangling symbolic link, each named like a data file."""
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    return {"a FIFO": tmp_path / "fifo.csv", "a directory": tmp_path / "folder.csv",
            "a dangling symbolic link": tmp_path / "dangling.csv"}


@pytest.mark.parametrize("reader", [regular_file, open_regular, read_bytes, read_text,
                                    first_line])
def test_non_regular_files_are_refused_naming_the_path_and_kind(odd_paths, reader):
    for kind, path in odd_paths.items():
        with fails_instead_of_hanging(), pytest.raises(DataError) as error:
            reader(path, "test file")
        assert str(path) in str(error.value) and kind in str(error.value)


def test_missing_file_and_regular_file(tmp_path):
    with pytest.raises(DataError, match="missing.csv: test file does not exist"):
        read_bytes(tmp_path / "missing.csv", "test file")
    good = tmp_path / "good.csv"
    good.write_bytes(b"a,b\r\n1,2\n")
    link = tmp_path / "link.csv"
    link.symlink_to(good)
    assert regular_file(link, "test file") == link  # a link to a regular file is fine
    assert first_line(link, "test file") == "a,b"
    assert read_text(good, "test file") == "a,b\r\n1,2\n"
    with open_regular(good, "test file") as handle:
        assert handle.read() == b"a,b\r\n1,2\n"


def test_non_utf8_text_names_file_line_and_byte_offset(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_bytes(b"address,label\n1abc,mining\n1def,gam\xe9bling\n")
    with pytest.raises(DataError, match=r"labels\.csv, line 3, byte offset 34: test file is "
                                        r"not UTF-8 text \(byte e9"):
        read_text(bad, "test file")
    header = tmp_path / "header.csv"
    header.write_bytes(b"acc\xffount,SW\n")
    with pytest.raises(DataError, match=r"header\.csv, line 1, byte offset 3"):
        first_line(header, "test file")
