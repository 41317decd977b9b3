"""The sqlite results cache: each result file is read once, damaged ones are marked bad, the cache heals."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench import _names, store
from workbench.bundle import create
from workbench.scan import scan as make_scan
from workbench.sources import Linspace
from workbench.store import ResultStore


def _ids(bundle, *index):
    return [bundle.job_ids[i] for i in index]


def test_first_refresh_reads_each_result_once(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:6])
    with ResultStore(demo_bundle) as st:
        rep = st.refresh()
        assert sorted(rep.read) == sorted(demo_bundle.job_ids[:6])
        assert st.files_read == 6 and rep.listed and not rep.bad
        assert len(st) == 6
    assert (demo_bundle.path / _names.RESULTS_CACHE).is_file()


def test_only_new_result_files_are_read(demo_bundle, fake, age):
    fake(demo_bundle, demo_bundle.job_ids[:6])
    st = ResultStore(demo_bundle)
    st.refresh()
    assert st.files_read == 6
    new = _ids(demo_bundle, 6, 9, 14)
    fake(demo_bundle, new)
    rep = st.refresh()
    assert sorted(rep.read) == sorted(new)
    assert st.files_read == 6 + 3
    # Nothing new: the directory may be listed again (it changed a moment ago) but no file is read.
    rep = st.refresh()
    assert rep.read == () and st.files_read == 9
    st.close()


def test_reopening_reads_no_result_file(demo_bundle, fake, age):
    fake(demo_bundle, demo_bundle.job_ids)
    first = wb.results(demo_bundle)
    age(demo_bundle)
    with ResultStore(demo_bundle) as st:
        st.refresh()  # records the quiet directory
    with ResultStore(demo_bundle) as st:
        rep = st.refresh()
        assert not rep.listed and rep.read == () and st.files_read == 0
        again = assemble_table(st, demo_bundle)
    pd.testing.assert_frame_equal(first, again)


def assemble_table(st, bundle):
    from workbench.results import assemble

    return assemble(bundle, st.table(), legacy=st.legacy)


def test_a_quiet_directory_is_not_listed_until_it_changes(demo_bundle, fake, age):
    fake(demo_bundle, demo_bundle.job_ids[:3])
    age(demo_bundle)
    st = ResultStore(demo_bundle)
    assert st.refresh().listed
    assert not st.refresh().listed  # same modification time, old enough to trust
    fake(demo_bundle, _ids(demo_bundle, 3))
    rep = st.refresh()
    assert rep.listed and rep.read == (demo_bundle.job_ids[3],)
    st.close()


def test_a_rewritten_result_is_read_again(demo_bundle, fake):
    jid = demo_bundle.job_ids[2]
    fake(demo_bundle, [jid])
    df = wb.results(demo_bundle)
    amp = df.loc[df.job_id == jid, "amplitude"].item()
    fake(demo_bundle, [jid], scale=2.0)  # atomic replace: a new inode
    with ResultStore(demo_bundle) as st:
        rep = st.refresh()
        assert rep.read == (jid,)
    df = wb.results(demo_bundle)
    assert df.loc[df.job_id == jid, "amplitude"].item() == pytest.approx(2 * amp)


def test_an_in_place_overwrite_is_found_by_a_full_check(demo_bundle, fake, age):
    jid = demo_bundle.job_ids[1]
    fake(demo_bundle, demo_bundle.job_ids[:3])
    age(demo_bundle)
    st = ResultStore(demo_bundle)
    st.refresh()
    path = demo_bundle.result_path(jid)
    rec = json.loads(path.read_bytes())
    rec["scalars"]["amplitude"] = 123.0
    ino = path.stat().st_ino
    with open(path, "r+b") as f:  # like cp or scp over an old copy: same inode, same directory
        f.truncate(0)
        f.write(json.dumps(rec).encode())
    assert path.stat().st_ino == ino
    assert st.refresh().read == ()  # not seen by the cheap check, by design
    assert st.refresh(full=True).read == (jid,)
    assert st.record(jid)["scalars"]["amplitude"] == 123.0
    st.close()


def test_a_removed_result_is_dropped(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:4])
    st = ResultStore(demo_bundle)
    st.refresh()
    gone = demo_bundle.job_ids[0]
    demo_bundle.result_path(gone).unlink()
    rep = st.refresh()
    assert rep.removed == (gone,) and st.record(gone) is None
    df = wb.results(demo_bundle)
    assert df.loc[df.job_id == gone, "status"].item() == "unsubmitted"
    st.close()


def _damage(path, how):
    good = path.read_bytes()
    rec = json.loads(good)
    if how == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "binary":
        path.write_bytes(os.urandom(200))
    elif how == "not a record":
        path.write_text("[1, 2, 3]")
    elif how == "other job":
        rec["job_id"] = "0123456789abcdef"
        path.write_text(json.dumps(rec))
    elif how == "newer format":
        rec["format"] = 99
        path.write_text(json.dumps(rec))
    elif how == "unknown format":
        rec["format"] = 0
        path.write_text(json.dumps(rec))
    elif how == "list output":
        rec["scalars"]["amplitude"] = [1, 2]
        path.write_text(json.dumps(rec))
    else:  # pragma: no cover
        raise AssertionError(how)


_REASONS = {
    "truncated": "truncated or not JSON",
    "empty": "truncated or not JSON",
    "binary": "truncated or not JSON",
    "not a record": "not a workbench result record",
    "other job": "holds the result of job '0123456789abcdef'",
    "newer format": "upgrade workbench",
    "unknown format": "--convert-legacy",
    "list output": "output 'amplitude' is a list",
}


@pytest.mark.parametrize("how", list(_REASONS))
def test_a_damaged_result_marks_only_its_job_bad(demo_bundle, fake, how):
    fake(demo_bundle, demo_bundle.job_ids)
    victim = demo_bundle.job_ids[7]
    _damage(demo_bundle.result_path(victim), how)
    df = wb.results(demo_bundle)
    row = df[df.job_id == victim].iloc[0]
    assert row["status"] == "bad"
    assert _REASONS[how] in row["error"]
    assert str(demo_bundle.result_path(victim)) in row["error"]
    others = df[df.job_id != victim]
    assert (others["status"] == "completed").all() and others["error"].isna().all()
    assert np.isfinite(others["amplitude"]).all()
    # Repairing the file (a new copy arrives) makes the job good again.
    fake(demo_bundle, [victim])
    assert wb.results(demo_bundle).set_index("job_id").loc[victim, "status"] == "completed"


def test_an_oversized_result_file_is_not_read(demo_bundle, fake, monkeypatch):
    monkeypatch.setattr(store, "MAX_RESULT_BYTES", 100)
    fake(demo_bundle, demo_bundle.job_ids[:2])
    df = wb.results(demo_bundle, cache=False)
    assert (df["status"].iloc[:2] == "bad").all()
    assert "larger than a result record" in df["error"].iloc[0]


def test_block_parsing_gives_what_record_parsing_gives(tmp_path, fake, monkeypatch):
    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 40), damping=[0.05, 0.1])
    b = create(s, tmp_path / "b")
    fake(b, b.job_ids[:70], extra={"label": "x", "big": 2**70, "maybe": None})
    fast = wb.results(b, cache=False)
    monkeypatch.setattr(store, "_BLOCK_FROM", 10**9)
    slow = wb.results(b, cache=False)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast["big"].dtype == float and fast["big"].iloc[0] == float(2**70)
    assert fast["label"].iloc[0] == "x" and fast["steps"].iloc[0] == 100


def test_one_bad_record_in_a_block_spoils_only_itself(tmp_path, fake):
    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 50), damping=[0.05, 0.1])
    b = create(s, tmp_path / "b")
    fake(b, b.job_ids)
    b.result_path(b.job_ids[33]).write_bytes(b'{"format": 1, "job_id": "')
    st = ResultStore(b)
    rep = st.refresh()
    assert rep.bad == (b.job_ids[33],) and len(rep.read) == 100
    st.close()


def test_a_damaged_cache_is_rebuilt(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:5])
    wb.results(demo_bundle)
    (demo_bundle.path / _names.RESULTS_CACHE).write_bytes(b"this is not sqlite" * 100)
    df = wb.results(demo_bundle)
    assert (df["status"] == "completed").sum() == 5


def test_a_cache_of_another_schema_is_rebuilt(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:5])
    wb.results(demo_bundle)
    con = sqlite3.connect(demo_bundle.path / _names.RESULTS_CACHE)
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    con.commit()
    con.close()
    with ResultStore(demo_bundle) as st:
        assert st.refresh().read and st.files_read == 5


@pytest.mark.parametrize("old", ["key named bundle_format", "another result format"])
def test_a_cache_of_another_result_format_is_rebuilt_not_misread(demo_bundle, fake, old):
    fake(demo_bundle, demo_bundle.job_ids[:5])
    wb.results(demo_bundle)
    path = demo_bundle.path / _names.RESULTS_CACHE
    con = sqlite3.connect(path)
    assert dict(con.execute("SELECT key, value FROM meta"))["result_format"] == str(_names.RESULT_FORMAT)
    if old == "key named bundle_format":  # as caches were written before the key was renamed
        con.execute("UPDATE meta SET key = 'bundle_format' WHERE key = 'result_format'")
    else:
        con.execute("UPDATE meta SET value = ? WHERE key = 'result_format'", (str(_names.RESULT_FORMAT + 1),))
    con.execute("UPDATE results SET ok = 0, error = 'a row of the old cache'")  # what must not be shown
    con.commit()
    con.close()
    with ResultStore(demo_bundle) as st:
        assert st.refresh().read and st.files_read == 5
    df = wb.results(demo_bundle)
    assert (df["status"] == "completed").sum() == 5 and not df["error"].str.contains("old cache").any()
    con = sqlite3.connect(path)
    meta = dict(con.execute("SELECT key, value FROM meta"))
    con.close()
    assert meta["result_format"] == str(_names.RESULT_FORMAT) and "bundle_format" not in meta


def test_an_unwritable_cache_location_falls_back_to_memory(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:3])
    with ResultStore(demo_bundle, path=demo_bundle.path / "no such folder" / "c.sqlite") as st:
        assert not st.persistent
        assert len(st.refresh().read) == 3


def test_no_cache_leaves_no_file(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:3])
    df = wb.results(demo_bundle, cache=False)
    assert (df["status"] == "completed").sum() == 3
    assert not (demo_bundle.path / _names.RESULTS_CACHE).exists()


def test_two_stores_share_one_cache(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:3])
    a, b = ResultStore(demo_bundle), ResultStore(demo_bundle)
    assert len(a.refresh().read) == 3
    fake(demo_bundle, demo_bundle.job_ids[3:5])
    assert len(b.refresh().read) == 2  # a's work is not repeated
    assert a.refresh().read == ()  # b's work is not repeated either
    assert len(a) == len(b) == 5
    a.close()
    b.close()


def test_the_table_comes_from_the_snapshot_when_nothing_changed(demo_bundle, fake, monkeypatch):
    fake(demo_bundle, demo_bundle.job_ids[:5])
    st = ResultStore(demo_bundle)
    st.refresh()
    first = st.table()

    def boom(self):
        raise AssertionError("rebuilt although nothing changed")

    monkeypatch.setattr(ResultStore, "_build_table", boom)
    pd.testing.assert_frame_equal(st.table(), first)
    with ResultStore(demo_bundle) as again:
        pd.testing.assert_frame_equal(again.table(), first)
    st.close()


def test_records_keep_the_format_and_metadata(demo_bundle, fake):
    jid = demo_bundle.job_ids[0]
    fake(demo_bundle, [jid])
    with ResultStore(demo_bundle) as st:
        st.refresh()
        rec = st.record(jid)
        assert rec["format"] == _names.RESULT_FORMAT
        assert rec["host"] == "testhost" and rec["ok"] is True
        assert rec["arrays"] == ["trajectory"]
        assert rec["scalars"]["converged"] is True and rec["scalars"]["steps"] == 100
        part = st.frame(job_ids=[jid, "nope"])
        assert list(part.index) == [jid]


def test_stray_and_temporary_files_are_ignored(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:2])
    out = demo_bundle.path / "outputs"
    (out / ".partial.result.json.1234.tmp").write_text("{")
    (out / f".{demo_bundle.job_ids[2]}.result.json.abc.wbpart").write_text("{")
    (out / "notes.txt").write_text("hello")
    df = wb.results(demo_bundle)
    assert (df["status"] == "completed").sum() == 2 and not (df["status"] == "bad").any()
