"""The atomic writer and the orphan clean-up (isvs_graph._io)."""

import os
import stat

import pytest

from helpers import writers_leftovers
from isvs_graph._io import atomic_write, remove_orphans


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umask_and_an_old_one_keeps_its_mode(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "new.bin") as handle:
            handle.write(b"new")
        assert mode(tmp_path / "new.bin") == 0o640
        (tmp_path / "kept.bin").write_bytes(b"old")
        os.chmod(tmp_path / "kept.bin", 0o604)
        with atomic_write(tmp_path / "kept.bin") as handle:
            handle.write(b"replaced")
        assert mode(tmp_path / "kept.bin") == 0o604
        assert (tmp_path / "kept.bin").read_bytes() == b"replaced"
    finally:
        os.umask(old)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="midway"):
        with atomic_write(target) as handle:
            handle.write(b"half")
            raise RuntimeError("midway")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_orphans_of_dead_writers_on_this_host_only_are_removed(tmp_path):
    orphan, alive, elsewhere = writers_leftovers(tmp_path)
    unrelated = tmp_path / ".a.npz.tmp-1"
    unrelated.write_bytes(b"x")
    assert remove_orphans(tmp_path) == 1
    assert not orphan.exists()
    assert alive.exists() and elsewhere.exists() and unrelated.exists()


def test_errors_name_the_file_asked_for_not_the_temporary(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"'{tmp_path / 'gone' / 'a.bin'}'$"):
        with atomic_write(tmp_path / "gone" / "a.bin") as handle:
            handle.write(b"x")
    body = []
    with pytest.raises(IsADirectoryError, match=rf"is a folder, not a file: '{tmp_path}'"):
        with atomic_write(tmp_path) as handle:  # refused before the body runs
            body.append(1)
    assert body == [] and os.listdir(tmp_path) == []


def test_a_long_name_open_takes_gets_a_temporary_too(tmp_path):
    name = tmp_path / ("n" * 240 + ".bin")  # the temporary's marks would pass 255 bytes
    with atomic_write(name) as handle:
        handle.write(b"whole")
    assert name.read_bytes() == b"whole" and os.listdir(tmp_path) == [name.name]
