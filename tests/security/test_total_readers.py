"""Finding 3: a synced output or log line never crashes results, status or the monitor; it is a bad row or a note."""

from __future__ import annotations

import json

import pytest
from wbtest_security import assert_clean

from workbench import _names
from workbench.errors import OutputError
from workbench.monitor.model import MonitorModel
from workbench.results import load_result, results
from workbench.state import ScanState


def record(bundle, job_id, **changes) -> dict:
    rec = json.loads(bundle.result_path(job_id).read_text())
    rec.update(changes)
    return rec


def test_a_record_nested_200000_deep_is_a_bad_row(done, cli):
    jid = done.job_ids[0]
    done.result_path(jid).write_text('{"format": 1, "job_id": "%s", "scalars": {"y": %s%s}}' % (jid, "[" * 200_000, "]" * 200_000))
    with pytest.raises(OutputError, match="nests values too deeply"):
        load_result(done, jid)
    table = results(done)
    assert list(table["status"]) == ["bad", "completed", "completed"] and "too deeply" in table["error"].iloc[0]
    proc = cli("results", "b")
    assert_clean(proc)
    assert proc.returncode == 0
    model = MonitorModel(done)
    delta = model.collect()
    assert any(r.job_id == jid and "too deeply" in r.error for r in delta.results)


def test_an_output_name_with_a_nul_is_a_bad_row(done, cli):
    jid = done.job_ids[1]
    done.result_path(jid).write_text(json.dumps(record(done, jid, scalars={"y\x00z": 1.0})))
    table = results(done)
    assert list(table["status"]) == ["completed", "bad", "completed"] and "is not an identifier" in table["error"].iloc[1]
    assert_clean(cli("results", "b"))


def test_a_record_with_2100_outputs_is_refused_and_later_results_still_read(done, cli):
    jid = done.job_ids[2]
    done.result_path(jid).write_text(json.dumps(record(done, jid, scalars={f"s{i}": i for i in range(2_100)})))
    proc = cli("results", "b")
    assert_clean(proc)
    assert proc.returncode == 0
    table = results(done)
    assert list(table["status"]) == ["completed", "completed", "bad"] and "2,100 scalar outputs" in table["error"].iloc[2]
    # Many records that each add new names: refused once the bundle's columns would pass the cap.
    for k, j in enumerate(done.job_ids[:2]):
        done.result_path(j).write_text(json.dumps(record(done, j, scalars={f"k{k}_{i}": i for i in range(600)})))
    table = results(done, full=True)  # files rewritten in place
    assert list(table["status"]).count("bad") >= 2 and "more than the 1,000 a bundle may have" in " ".join(map(str, table["error"]))
    assert_clean(cli("results", "b"))


def test_a_damaged_termination_event_is_skipped_with_a_note(done, cli):
    log = done.log_path
    text = log.read_text()
    # The last job's termination, its return value damaged.
    head, sep, last = text.rpartition("005 (")
    log.write_text(head + sep + last.replace("(return value 0)", "(return value 0x)", 1))
    st = ScanState(done, cache=False)
    st.update()
    assert any("damaged" in p for p in st.problems)
    for args in (("status", "b"), ("run", "b", "--no-progress")):
        proc = cli(*args)
        assert_clean(proc)
        assert proc.returncode == 0, proc.stderr
    MonitorModel(done).collect()


def test_an_image_size_event_with_garbage_numbers_is_skipped(done, cli):
    log = done.log_path
    ev = ("006 (001.000.000) 2026-12-03 20:27:32 Image size of job updated: 12x\n\tNaNq  -  MemoryUsage of job (MB)\n"
          "\tabc  -  ResidentSetSize of job (KB)\n...\n")  # fmt: skip
    log.write_text(log.read_text() + ev)
    st = ScanState(done, cache=False)
    st.update()
    assert st.counts()["completed"] == 3
    proc = cli("status", "b")
    assert_clean(proc)
    assert proc.returncode == 0


def test_the_htcondor2_reader_notes_what_it_cannot_read(done):
    pytest.importorskip("htcondor2")
    log = done.log_path
    log.write_bytes(log.read_bytes() + b"005 (001.000.000) 2026-12-03 20:27:32 Job terminated.\n\t(1) \xff\xfe\x80 value\n...\n")
    st = ScanState(done, reader="htcondor2", cache=False)
    st.update()
    assert st.counts()["completed"] == 3


def test_a_crafted_state_cache_is_ignored(done, cli):
    st = ScanState(done)
    st.update()
    st.save()
    cache = done.path / _names.STATE_CACHE
    import numpy as np

    with np.load(cache) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(str(data["meta"]))
    meta["offset"] = "not a number"
    data["meta"] = np.asarray(json.dumps(meta))
    with open(cache, "wb") as f:
        np.savez(f, **data)
    again = ScanState(done)
    again.update()
    assert again.counts()["completed"] == 3
    assert_clean(cli("status", "b"))
