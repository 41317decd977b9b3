"""Finding 10: malformed metadata (info.pkl, jobs.txt, points.csv) gives a clean message, never a traceback.

(The crafted ``state.npz`` is in test_total_readers.py.)
"""

from __future__ import annotations

import pytest
from wbtest_security import assert_clean

from workbench import _names, _safepickle

COMMANDS = (("status", "b"), ("results", "b"), ("run", "b", "--no-progress"))


def run_all(cli) -> list:
    procs = [cli(*args) for args in COMMANDS]
    for proc in procs:
        assert_clean(proc)
    return procs


@pytest.mark.parametrize(("key", "value"), [("name", None), ("settings", "x"), ("count", "many"), ("scan", 5),
                                            ("count", 7), ("settings", {"python": 5})])  # fmt: skip
def test_a_damaged_info_pkl(done, cli, key, value):
    info = dict(done.info)
    if value is None:
        del info[key]
    else:
        info[key] = value
    (done.path / _names.INFO).write_bytes(_safepickle.dumps(info))
    procs = run_all(cli)
    assert any(p.returncode == 2 and "damaged" in p.stderr for p in procs)


@pytest.mark.parametrize("items", [None, b"\x00\xff\xfe", b"0\n1\n2\n", b"0 x\n"])
def test_a_damaged_jobs_txt(done, cli, items):
    path = done.path / _names.ITEMS
    if items is None:
        path.unlink()
    else:
        path.write_bytes(items)
    procs = run_all(cli)
    assert procs[0].returncode == 2 and "jobs.txt" in procs[0].stderr


def test_points_csv_that_disagrees_with_jobs_txt(done, cli):
    (done.path / _names.RESULTS_CACHE).unlink(missing_ok=True)
    path = done.path / _names.POINTS
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[3:]))
    proc = run_all(cli)[1]
    assert proc.returncode == 2 and "do not list the same jobs" in proc.stderr


@pytest.mark.parametrize("record", [b"{not json", b"[1, 2]", b'{"1": "x", "2": {"pid": "a"}}', b"\x00\xff" * 10])
def test_a_damaged_run_record(done, cli, record):
    """logs/local_runs.json says which processes run the bundle: damaged, status and results go on, run says how to fix it."""
    path = done.path / _names.LOGS / _names.LOCAL_RUNS
    path.write_bytes(record)
    status, results = run_all(cli)[:2]
    assert status.returncode == 0 and "3 completed" in status.stdout, status.stdout + status.stderr
    assert results.returncode == 0
    run = cli("run", "b", "--only", "all", "--no-progress")
    assert_clean(run)
    if record.startswith(b"{") and record != b"{not json":
        # Entries that are not runs are left out: nothing is running, so the run goes ahead.
        assert run.returncode == 0 and "3 of 3 job(s) completed" in run.stdout, run.stdout + run.stderr
    else:
        assert run.returncode == 2 and "is damaged" in run.stderr and "remove the file" in run.stderr, run.stderr
        assert path.read_bytes() == record  # nothing is written over it
