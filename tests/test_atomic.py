"""Atomic writes: a file is whole under its final name, or the old one stays."""

from __future__ import annotations

import threading

import pytest

from workbench._atomic import atomic_open, atomic_write, temporary_sibling


def test_a_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    atomic_write(target, '{"new": 1}')
    assert target.read_text() == '{"new": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(b"complete old state")
    with pytest.raises(RuntimeError, match="disk gone"):
        with atomic_open(target, fsync=True) as f:
            f.write(b"half of the new st")
            raise RuntimeError("disk gone")
    assert target.read_bytes() == b"complete old state"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_text_mode_and_the_suffix_of_the_temporary(tmp_path):
    target = tmp_path / "notes.txt"
    with atomic_open(target, "w", encoding="utf-8", suffix=".wbpart") as f:
        seen = sorted(p.name for p in tmp_path.iterdir())
        f.write("ü")
    assert len(seen) == 1 and seen[0].startswith(".notes.txt.") and seen[0].endswith(".wbpart")
    assert target.read_text(encoding="utf-8") == "ü"


def test_each_thread_writes_its_own_temporary(tmp_path):
    names = []
    t = threading.Thread(target=lambda: names.append(temporary_sibling(tmp_path / "x")))
    t.start()
    t.join()
    names.append(temporary_sibling(tmp_path / "x"))
    assert names[0] != names[1] and all(n.name.startswith(".x.") for n in names)


def test_appending_is_refused(tmp_path):
    with pytest.raises(ValueError, match="whole files"):
        with atomic_open(tmp_path / "x", "ab"):
            pass
